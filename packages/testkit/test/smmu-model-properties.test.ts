// SMMU property tests: the model (@vfio-sim/mmu400) against the independent
// reference (referenceTranslate, built from the architecture text).
//
// Each case builds random tables with buildPageTables, programs a context
// bank over MMIO exactly as a driver would (programStage1Context: CBAR, TTBRs,
// TTBCR, MAIR, SCTLR, S2CR, SMR, sCR0 — no model internals), then runs
// transactions through a master port. Data goes to a RecordingMemory, so the
// test sees every physical access that got through the SMMU.
//
// (a) every transaction's outcome — output address, or the exact fault: FSR
//     bit, FAR, FSYNR0 (PLVL, WNR, PNU, IND), CBFRSYNRA — equals the reference;
// (b) containment: a span transfer reaches only physical addresses the
//     mapping list allows for that access, in order, and stops at the first
//     faulting byte (CFRE = 1), or completes with RAZ/WI bytes (CFRE = 0);
// (c) TLB: after unmapping and invalidating (TLBIALL / TLBIASID / TLBIVA /
//     TLBIVAL), and after new maps with no maintenance at all (no negative
//     caching), outcomes follow the tables in memory (read back by decodeTables);
// (d) ATOS: ATS1PR/PW/UR/UW leave the reference outcome in PAR and no FSR;
// (e) two banks with the same ASID, for two streams, stay isolated.
//
// These live in the testkit package because @vfio-sim/mmu400 cannot import
// @vfio-sim/testkit (testkit depends on mmu400; see docs/decisions/0301).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { BusResp, Interconnect, PhysMemory, busAttrs, type BusAttrs, type MasterPort } from '@vfio-sim/sim'
import { Mmu400 } from '@vfio-sim/mmu400'
import {
  FrameAllocator, Fsynr0, RecordingMemory, arbMappings, arbRegime, arbTableAttrs, arbTxn, buildPageTables, clearContextFault,
  decodeTables, mapInto, patternByte, plainMapping, programStage1Context, readContextFault, referenceTranslate, tlbiAll, tlbiAsid,
  tlbiVa, unmapLeaf, type BuiltTables, type Mapping, type SmmuGeometry, Sctlr, type RefOptions, type RefOutcome, type RefTxn, type Regime, type TableAttrs,
  type TranslationSetup,
} from '../src/index.ts'

const SMMU_BASE = 0x2b40_0000
const TABLES = 0x4000_0000
const TABLES_SIZE = 0x100_0000
// arbMappings' default output window: [4 GiB, 8 GiB).
const PA_BASE = 2 ** 32
const PA_WINDOW = 2 ** 32
const SID = 0x3
const CB = 1

/** One programmed context bank and the master port of its stream. */
interface Ctx {
  readonly cb: number
  readonly sid: number
  readonly tables: BuiltTables
  readonly port: MasterPort
  /** SCTLR.CFRE: faults abort (true) or complete as RAZ/WI (false). */
  readonly cfre: boolean
  /** Effective (priv, instr) after the S2CR overrides the bank was programmed with. */
  effective(t: RefTxn): RefTxn
  attrs(t: RefTxn): BusAttrs
}

/** A board: tables in RAM, a recorder behind the SMMU, context bank CB set up for stream SID. */
interface Rig extends Ctx {
  readonly geometry: SmmuGeometry
  readonly memory: PhysMemory
  readonly alloc: FrameAllocator
  readonly bus: Interconnect
  readonly rec: RecordingMemory
  readonly smmu: Mmu400
}

/** Where a context's tables live and how it is reached. */
interface CtxPlace {
  readonly cb: number
  readonly sid: number
  readonly smrIndex: number
  readonly alloc: FrameAllocator
  readonly cfre: boolean
}

/** Builds `setup`'s tables and programs bank `place.cb` for stream `place.sid` over MMIO. ASID = 1 in every bank. */
function addContext(bus: Interconnect, memory: PhysMemory, smmu: Mmu400, setup: TranslationSetup, ov: Overrides, place: CtxPlace): Ctx & { geometry: SmmuGeometry } {
  const tables = buildPageTables(memory, setup.regime, setup.mappings, { alloc: place.alloc, tables: setup.tables, asid: 1 })
  const sctlr = place.cfre ? tables.sctlr : tables.sctlr & ~Sctlr.CFRE
  const geometry = programStage1Context(bus, SMMU_BASE, {
    cb: place.cb, smrIndex: place.smrIndex, streamId: place.sid, tables, format: setup.regime.format,
    privcfg: ov.privcfg, instcfg: ov.instcfg, sctlr,
  })
  // S2CR.PRIVCFG / INSTCFG: 0b10 forces unprivileged / data, 0b11 privileged / instruction (spec §1.2 S2CR).
  const force = (cfg: number, asPresented: boolean): boolean => (cfg === 3 ? true : cfg === 2 ? false : asPresented)
  const sid = place.sid
  return {
    geometry,
    cb: place.cb,
    sid,
    tables,
    cfre: place.cfre,
    port: smmu.port(sid),
    effective: t => ({ va: t.va, write: t.write, priv: force(ov.privcfg, t.priv), instr: force(ov.instcfg, t.instr) }),
    attrs: t => busAttrs({ priv: t.priv, instr: t.instr, streamId: sid }),
  }
}

interface Overrides {
  readonly privcfg: number
  readonly instcfg: number
}

function makeRig(setup: TranslationSetup, ov: Overrides, cfre = true): Rig {
  const version = setup.regime.format === 'aarch64' ? 2 : 1
  const memory = new PhysMemory()
  const bus = new Interconnect(memory)
  bus.addRam('tables', TABLES, TABLES_SIZE)
  const rec = new RecordingMemory(PA_BASE, PA_WINDOW)
  bus.addDevice(PA_BASE, rec)
  // v2 for AArch64 regimes: IDR2.OAS = the regime's output size (TCR2.PASIZE is programmed to match).
  const oas = setup.regime.oasBits as 40 | 44 | 48
  const smmu = new Mmu400({ bus, config: version === 2 ? { version: 2, ias: 48, oas } : {} })
  bus.addDevice(SMMU_BASE, smmu.mmio)
  // The first half of the table pool; a second context (property (e)) takes the other half.
  const alloc = new FrameAllocator(memory, TABLES, TABLES_SIZE / 2)
  const ctx = addContext(bus, memory, smmu, setup, ov, { cb: CB, sid: SID, smrIndex: 2, alloc, cfre })
  return { ...ctx, memory, alloc, bus, rec, smmu }
}

const arbOverrides: fc.Arbitrary<Overrides> = fc.record({
  privcfg: fc.constantFrom(0, 0, 2, 3),
  instcfg: fc.constantFrom(0, 0, 2, 3),
})

/** Regime and mappings; AArch64 regimes run on an SMMUv2 (VA64 contexts, ASF), AArch32 on v1. */
const arbModelSetup: fc.Arbitrary<TranslationSetup> = fc
  .tuple(arbRegime(), fc.constantFrom(40, 44, 48))
  .map(([r, oas]): Regime => (r.format === 'aarch64' ? { ...r, oasBits: oas } : r))
  .chain(regime =>
    arbMappings(regime, { outOfRangePa: true }).chain(mappings =>
      arbTableAttrs(regime, mappings).map(tables => ({ regime, mappings, tables })),
    ),
  )

/**
 * Readings of the two open points (IND of an instruction-attributed write,
 * PLVL of an AArch64 fault before the walk; docs/decisions/0301). The model
 * follows the kit's defaults since commit cafdc8c.
 */
const MODEL_READING: RefOptions = {}

const hex = (n: number): string => `0x${n.toString(16)}`
const FSYNR0_NS = Fsynr0.NSSTATE | Fsynr0.NSATTR

function describe(t: RefTxn, o: RefOutcome): string {
  const what = `${t.write ? 'write' : 'read'}${t.instr ? ' instr' : ''}${t.priv ? ' priv' : ''} va=${hex(t.va)}`
  return o.kind === 'ok' ? `${what} -> pa ${hex(o.pa)}` : `${what} -> ${o.fault} fault L${o.level}`
}

/** The state a transaction is judged against. */
interface World {
  readonly regime: Regime
  readonly mappings: readonly Mapping[]
  readonly tables: readonly TableAttrs[]
}

/** Runs one 1-byte transaction through bank `ctx` of the rig and checks it against the reference. */
function checkOne(rig: Rig, w: World, t: RefTxn, ctx: Ctx = rig): void {
  const eff = ctx.effective(t)
  const want = referenceTranslate(w.mappings, w.regime, eff, w.tables, MODEL_READING)
  const msg = `stream ${ctx.sid}: ${describe(eff, want)}`
  const buf = new Uint8Array([0x5a])
  rig.rec.clear()
  const n = t.write ? ctx.port.write(t.va, buf, 0, 1, ctx.attrs(t)) : ctx.port.read(t.va, buf, 0, 1, ctx.attrs(t))
  const rec = readContextFault(rig.bus, SMMU_BASE, ctx.cb)
  if (want.kind === 'ok') {
    assert.is(n, 1, `${msg}: completed ${n} bytes (resp ${ctx.port.resp}, FSR ${hex(rec.fsr)})`)
    assert.is(ctx.port.resp, BusResp.OKAY, msg)
    assert.equal(rig.rec.bytes(), [{ pa: want.pa, write: t.write, value: t.write ? 0x5a : patternByte(want.pa) }], msg)
    if (!t.write) assert.is(buf[0], patternByte(want.pa), msg)
    assert.is(rec.fsr, 0, `${msg}: FSR ${hex(rec.fsr)}, want 0`)
  } else {
    if (ctx.cfre) {
      // SCTLR.CFRE = 1: the faulting transaction is aborted (spec §3.6 response table).
      assert.is(n, 0, `${msg}: completed ${n} bytes`)
      assert.is(ctx.port.resp, BusResp.SLVERR, msg)
    } else {
      // CFRE = 0: terminated as RAZ/WI — completes, reads return 0 (spec §3.6, inferred).
      assert.is(n, 1, `${msg}: RAZ/WI completes (got ${n} bytes, resp ${ctx.port.resp})`)
      assert.is(ctx.port.resp, BusResp.OKAY, msg)
      if (!t.write) assert.is(buf[0], 0, `${msg}: RAZ`)
    }
    assert.equal(rig.rec.log, [], `${msg}: nothing may reach memory`)
    assert.is(rec.fsr, want.fsr, `${msg}: FSR ${hex(rec.fsr)}, want ${hex(want.fsr)}`)
    assert.is(rec.far, want.far, `${msg}: FAR ${hex(rec.far)}, want ${hex(want.far)}`)
    assert.is(rec.fsynr0 & ~FSYNR0_NS, want.fsynr0, `${msg}: FSYNR0 ${hex(rec.fsynr0)}, want ${hex(want.fsynr0)} (NSSTATE/NSATTR not compared)`)
    assert.is(rec.cbfrsynra & 0x7fff, ctx.sid, `${msg}: CBFRSYNRA`)
    clearContextFault(rig.bus, SMMU_BASE, ctx.cb)
  }
}

test("property (a): each transaction's outcome and fault record equal referenceTranslate", () => {
  fc.assert(
    fc.property(
      arbModelSetup.chain(setup => fc.tuple(fc.constant(setup), arbOverrides, fc.array(arbTxn(setup.regime, setup.mappings), { minLength: 1, maxLength: 24 }))),
      ([setup, ov, txns]) => {
        const rig = makeRig(setup, ov)
        for (const t of txns) checkOne(rig, setup, t)
      },
    ),
    { numRuns: 100 },
  )
})

test('property (b): containment — span transfers reach only allowed physical addresses, in order (abort and RAZ/WI)', () => {
  fc.assert(
    fc.property(
      arbModelSetup.chain(setup =>
        fc.tuple(
          fc.constant(setup),
          arbOverrides,
          // SCTLR.CFRE: 1 = a fault aborts the transfer; 0 = faulting bytes complete as RAZ/WI and the transfer goes on.
          fc.boolean(),
          fc.array(fc.tuple(arbTxn(setup.regime, setup.mappings), fc.integer({ min: 1, max: 48 }), fc.integer({ min: 0, max: 47 })), {
            minLength: 1,
            maxLength: 16,
          }),
        ),
      ),
      ([setup, ov, cfre, txns]) => {
        const rig = makeRig(setup, ov, cfre)
        for (const [t0, len, back] of txns) {
          // Start a little before the chosen VA so spans often cross page and mapping edges.
          const t = { ...t0, va: Math.max(0, t0.va - back) }
          const eff = rig.effective(t)
          const perByte: RefOutcome[] = []
          for (let i = 0; i < len; i++) perByte.push(referenceTranslate(setup.mappings, setup.regime, { ...eff, va: t.va + i }, setup.tables, MODEL_READING))
          let okPrefix = 0
          while (okPrefix < len && perByte[okPrefix]!.kind === 'ok') okPrefix++
          const msg = `${len}-byte ${describe(eff, perByte[0]!)} (first fault at byte ${okPrefix})`

          const buf = new Uint8Array(len)
          for (let i = 0; i < len; i++) buf[i] = (i * 37 + 1) & 0xff
          rig.rec.clear()
          const n = t.write ? rig.port.write(t.va, buf, 0, len, rig.attrs(t)) : rig.port.read(t.va, buf, 0, len, rig.attrs(t))
          const seen = rig.rec.bytes()

          // Containment: every byte that reached memory is one the mappings allow for this access.
          const allowed = new Set<number>()
          for (const o of perByte) if (o.kind === 'ok') allowed.add(o.pa)
          for (const b of seen) {
            assert.ok(allowed.has(b.pa), `${msg}: reached pa ${hex(b.pa)}, not allowed`)
            assert.is(b.write, t.write, `${msg}: access kind changed at pa ${hex(b.pa)}`)
          }
          if (cfre) {
            // Exactness: the allowed prefix, byte by byte, then the abort.
            assert.is(n, okPrefix, `${msg}: bytes completed`)
            assert.is(rig.port.resp, okPrefix === len ? BusResp.OKAY : BusResp.SLVERR, `${msg}: response`)
            const want = perByte.slice(0, okPrefix).map((o, i) => {
              const pa = o.kind === 'ok' ? o.pa : -1
              return { pa, write: t.write, value: t.write ? buf[i]! : patternByte(pa) }
            })
            assert.equal(seen, want, `${msg}: accesses`)
            if (!t.write) for (let i = 0; i < okPrefix; i++) assert.is(buf[i], want[i]!.value, `${msg}: data byte ${i}`)
          } else {
            // RAZ/WI: every byte completes; only the allowed ones reach memory, faulting reads give 0.
            assert.is(n, len, `${msg}: bytes completed (RAZ/WI)`)
            assert.is(rig.port.resp, BusResp.OKAY, `${msg}: response (RAZ/WI)`)
            const want: { pa: number; write: boolean; value: number }[] = []
            perByte.forEach((o, i) => {
              if (o.kind === 'ok') want.push({ pa: o.pa, write: t.write, value: t.write ? buf[i]! : patternByte(o.pa) })
            })
            assert.equal(seen, want, `${msg}: accesses (RAZ/WI)`)
            if (!t.write) perByte.forEach((o, i) => assert.is(buf[i], o.kind === 'ok' ? patternByte(o.pa) : 0, `${msg}: data byte ${i}`))
          }
          clearContextFault(rig.bus, SMMU_BASE, CB)
        }
      },
    ),
    { numRuns: 60 },
  )
})

test('property (c): TLB — after unmap + invalidation (ALL / ASID / VA / VAL) and after new maps without any, outcomes follow the tables', () => {
  const method = fc.constantFrom('all', 'asid', 'va', 'val')
  fc.assert(
    fc.property(
      arbModelSetup.chain(setup =>
        fc.record({
          setup: fc.constant(setup),
          ov: arbOverrides,
          warm: fc.array(arbTxn(setup.regime, setup.mappings), { minLength: 1, maxLength: 16 }),
          removeMask: fc.array(fc.boolean(), { minLength: setup.mappings.length, maxLength: setup.mappings.length }),
          // A VA anywhere inside the removed mapping: invalidate-by-VA must drop a block containing it.
          inside: fc.integer({ min: 0, max: 0x3fffffff }),
          method,
          // AArch64 TLBIVA payloads: one 64-bit write, or two 32-bit halves (low first).
          wide: fc.boolean(),
          added: arbMappings(setup.regime, { maxMappings: 6 }),
          after: fc.array(arbTxn(setup.regime, setup.mappings), { minLength: 1, maxLength: 16 }),
        }),
      ).chain(r => fc.tuple(fc.constant(r), fc.array(arbTxn(r.setup.regime, r.added), { maxLength: 8 }))),
      ([{ setup, ov, warm, removeMask, inside, method, wide, added, after }, afterNew]) => {
        const rig = makeRig(setup, ov)
        for (const t of warm) checkOne(rig, setup, t)

        // Unmap some mappings (descriptor := 0, tables stay), then invalidate.
        // TLBIASID leaves global (nG = 0) entries alone (spec §4.2), so that method only removes nG = 1 mappings.
        const removed = setup.mappings.filter((m, i) => removeMask[i] && (method !== 'asid' || m.nG))
        for (const m of removed) assert.ok(unmapLeaf(rig.memory, setup.regime, rig.tables, m) !== undefined)
        if (removed.length > 0) {
          if (method === 'all') tlbiAll(rig.bus, SMMU_BASE, CB)
          else if (method === 'asid') tlbiAsid(rig.bus, SMMU_BASE, CB, CB)
          else {
            const regs = wide ? rig.bus : { readl: (a: number) => rig.bus.readl(a), writel: (a: number, v: number) => rig.bus.writel(a, v) }
            for (const m of removed) tlbiVa(regs, SMMU_BASE, CB, setup.regime.format, m.va + (inside % m.size), CB, method === 'val')
          }
        }
        // Map new pages where nothing is mapped, with no TLB maintenance at all (Linux's map path):
        // a model that cached a fault (negative caching) fails here.
        for (const m of added) {
          try {
            mapInto(rig.memory, setup.regime, rig.tables, [m], rig.alloc)
          } catch {
            // Overlaps a live mapping or a table left by an unmap: not mapped.
          }
        }
        // The tables in memory are the truth now: decode them (decodeTables is checked by the round-trip property).
        const dec = decodeTables(rig.memory, setup.regime, rig.tables.ttbr0, rig.tables.ttbr1)
        const world: World = { regime: setup.regime, mappings: dec.mappings.map(plainMapping), tables: dec.tables }
        for (const t of [...after, ...afterNew]) checkOne(rig, world, t)
      },
    ),
    { numRuns: 60 },
  )
})

test('property (d): ATOS — ATS1PR/PW/UR/UW give the reference outcome in PAR, and never touch FSR', () => {
  // ATS1xx: privileged/unprivileged × read/write, data (spec §8.2). PAR (spec §1.5, inferred layout):
  // F = bit 0; success: PA in [47:12]; fault: FSR's TF/AFF/PF/EF bits in [6:1], PLVL in [33:32].
  const ops = [
    { off: 0x800, priv: true, write: false },
    { off: 0x808, priv: true, write: true },
    { off: 0x810, priv: false, write: false },
    { off: 0x818, priv: false, write: true },
  ] as const
  fc.assert(
    fc.property(
      arbModelSetup.chain(setup =>
        fc.tuple(fc.constant(setup), fc.array(fc.tuple(arbTxn(setup.regime, setup.mappings), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 16 })),
      ),
      ([setup, txns]) => {
        const rig = makeRig(setup, { privcfg: 0, instcfg: 0 })
        const page = rig.geometry.cb(rig.cb)
        for (const [t, k] of txns) {
          const op = ops[k]!
          // The ATS1xx VA field is [47:12] here (48-bit input at most): keep the VA below 2^48.
          const va = (t.va % 2 ** 48) - (t.va % 0x1000)
          const want = referenceTranslate(setup.mappings, setup.regime, { va, write: op.write, priv: op.priv, instr: false }, setup.tables, MODEL_READING)
          const msg = `ATS1${op.priv ? 'P' : 'U'}${op.write ? 'W' : 'R'} ${describe({ va, write: op.write, priv: op.priv, instr: false }, want)}`
          // AArch32 contexts: one 32-bit write of VA[31:12] (Linux); AArch64: one 64-bit write.
          if (setup.regime.format === 'aarch32-lpae') rig.bus.writel(page + op.off, va >>> 0)
          else rig.bus.write64(page + op.off, BigInt(va))
          assert.is(rig.bus.readl(page + 0x8f0) & 1, 0, `${msg}: ATSR.ACTIVE`)
          const par = rig.bus.read64(page + 0x50)
          if (want.kind === 'ok') {
            assert.is(par & 1n, 0n, `${msg}: PAR.F (PAR 0x${par.toString(16)})`)
            assert.is(Number(par & 0xffff_ffff_f000n), want.pa, `${msg}: PAR.PA`)
          } else {
            assert.is(par & 1n, 1n, `${msg}: PAR.F (PAR 0x${par.toString(16)})`)
            if (want.fault !== 'addressSize') assert.is(Number(par & 0x7en), want.fsr & 0x7e, `${msg}: PAR fault status`)
            assert.is(Number((par >> 32n) & 3n), want.level, `${msg}: PAR PLVL (PAR 0x${par.toString(16)})`)
          }
          assert.is(rig.bus.readl(page + 0x58), 0, `${msg}: FSR must not change`)
        }
      },
    ),
    { numRuns: 60 },
  )
})

test('property (e): two context banks with the same ASID never see each other\'s translations', () => {
  // ASIDs are private to a bank (SCTLR.ASIDPNE = 1, spec §4.1): a TLB tagged by ASID alone would leak here.
  fc.assert(
    fc.property(
      arbModelSetup.chain(a =>
        fc.record({
          a: fc.constant(a),
          b: arbMappings(a.regime).chain(mappings => arbTableAttrs(a.regime, mappings).map(tables => ({ regime: a.regime, mappings, tables }))),
          ov: arbOverrides,
        }).chain(r =>
          fc.tuple(
            fc.constant(r),
            // Each transaction goes to stream A or B, drawn from either set's mappings (so A probes B's addresses).
            fc.array(fc.tuple(fc.boolean(), fc.oneof(arbTxn(r.a.regime, r.a.mappings), arbTxn(r.a.regime, r.b.mappings))), { minLength: 1, maxLength: 24 }),
          ),
        ),
      ),
      ([{ a, b, ov }, txns]) => {
        const rig = makeRig(a, ov)
        const alloc = new FrameAllocator(rig.memory, TABLES + TABLES_SIZE / 2, TABLES_SIZE / 2)
        const ctxB = addContext(rig.bus, rig.memory, rig.smmu, b, ov, { cb: CB + 1, sid: SID + 2, smrIndex: 5, alloc, cfre: true })
        for (const [toB, t] of txns) {
          if (toB) checkOne(rig, b, t, ctxB)
          else checkOne(rig, a, t, rig)
        }
      },
    ),
    { numRuns: 60 },
  )
})

test.run()
