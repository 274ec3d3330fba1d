// DMA containment (issue 7): with random DMA mappings made through VFIO
// type1 and random PL330 programs started by the user process itself
// (microcode in its own mapped memory, DMAGO through the mmapped debug
// registers), every physical byte the DMAC writes lies in a page pinned for
// a writable mapping of its container at that moment, and (rfc-v5) every
// instruction byte it fetches lies in a page pinned for an EXEC mapping.
// Physical accesses are observed on the interconnect, below the SMMU; the
// allowed pages come from the reference model's mapping set, translated to
// physical pages through the process's own page tables.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SimSystem, type BusAttrs } from '@vfio-sim/sim'
import { Kernel, type KernelProfile } from '@vfio-sim/kernel'
import { buildMemcpy, dbgGo, dbgKill } from '@vfio-sim/pl330'
import { Machine, buildBoard, type Process } from '../src/index.ts'
import {
  MAP_BIT2, MAP_READ, MAP_WRITE, allMappings, fvpFacts, fvpSetupOptions, getDeviceFdCommand, mapDmaCommand, runCommands, unmapDmaCommand,
  vfioPrelude, vfioSetup, type MMapping, type VfioSession,
} from '@vfio-sim/testkit'

const PAGE = 0x1000
const DRAM = { base: 0x8000_0000, end: 0x1_0000_0000 }
const DBGSTATUS = 0xd00
const DBGCMD = 0xd04
const DBGINST0 = 0xd08
const DBGINST1 = 0xd0c

interface Access { readonly addr: number; readonly len: number; readonly write: boolean; readonly instr: boolean }

/** The VFIO-capable configuration: a fresh boot with the IOMMU and the VFIO modules (as the flagship test). */
function bootVfio(profile: KernelProfile, board: string): Machine {
  const kernel = new Kernel({ sys: new SimSystem(), profile })
  return new Machine(kernel, board, buildBoard(kernel, board, { iommu: true }))
}

interface Rig {
  readonly m: Machine
  readonly p: Process
  readonly s: VfioSession
  /** The mmapped register windows of the group's DMACs (both PL330s on the shared-group board). */
  readonly regs: readonly number[]
  readonly log: Access[]
  recording: boolean
}

function rig(profile: KernelProfile, board: string): Rig {
  const m = bootVfio(profile, board)
  // Root with every capability: RLIMIT_MEMLOCK is not what this property is about.
  const p = m.spawn()
  if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
  const facts = { ...fvpFacts(profile, board), memlockPages: null }
  const s = vfioSetup(p, facts, fvpSetupOptions(p))
  runCommands(s, vfioPrelude(s.env, 3))
  // Every DMAC of the group gets a device fd (the prelude opened the first) and its registers mmapped.
  s.env.devices.forEach((d, i) => { if (i > 0) getDeviceFdCommand(d.name, i).run(s.model, s.real) })
  const regs = s.env.devices.map((_, i) => p.mmap(0, PAGE, 3, 1 /* MAP_SHARED */, s.real.deviceFds[i]!, 0))
  const r: Rig = { m, p, s, regs, log: [], recording: false }
  // Observe the interconnect: every span the SMMU passes on (and anything else while recording).
  const bus = m.kernel.sys.bus
  const read = bus.read.bind(bus)
  const write = bus.write.bind(bus)
  bus.read = (addr: number, dst: Uint8Array, off: number, len: number, attrs: BusAttrs): number => {
    if (r.recording) r.log.push({ addr, len, write: false, instr: attrs.instr })
    return read(addr, dst, off, len, attrs)
  }
  bus.write = (addr: number, src: Uint8Array, off: number, len: number, attrs: BusAttrs): number => {
    if (r.recording) r.log.push({ addr, len, write: true, instr: attrs.instr })
    return write(addr, src, off, len, attrs)
  }
  return r
}

/** Physical page of a user page that a live mapping pinned (the process's page tables). */
function physOf(p: Process, vaddr: number): number {
  const mm = p.task.mm
  const [pg] = mm.pinUserPages(vaddr, 1, false)
  mm.unpinUserPages([pg!])
  return pg!.phys
}

function pagesOf(p: Process, maps: readonly MMapping[]): Set<number> {
  const out = new Set<number>()
  for (const mp of maps) for (let o = 0n; o < mp.size; o += BigInt(PAGE)) out.add(physOf(p, Number(mp.vaddr + o)))
  return out
}

/** User MMIO through the mmapped registers: DMAGO `channel` at `pc` via the debug interface. */
function go(r: Rig, dmac: number, channel: number, pc: number): void {
  const p = r.p
  const regs = r.regs[dmac]!
  for (let i = 0; i < 64 && (p.read32(regs + DBGSTATUS) & 1) !== 0; i++) r.m.run({ forNs: 1000 })
  const g = dbgGo(channel, pc, true)
  p.write32(regs + DBGINST0, g.dbginst0)
  p.write32(regs + DBGINST1, g.dbginst1)
  p.write32(regs + DBGCMD, 0)
}

function kill(r: Rig, dmac: number, channel: number): void {
  const p = r.p
  const regs = r.regs[dmac]!
  for (let i = 0; i < 64 && (p.read32(regs + DBGSTATUS) & 1) !== 0; i++) r.m.run({ forNs: 1000 })
  const k = dbgKill(channel)
  p.write32(regs + DBGINST0, k.dbginst0)
  p.write32(regs + DBGINST1, k.dbginst1)
  p.write32(regs + DBGCMD, 0)
}

/** The user byte spans an IOVA range reaches through the model's mappings, if every byte is mapped with `need`. */
function userRange(live: readonly MMapping[], iova: number, len: number, need: 'read' | 'write' | 'exec'): { vaddr: number; len: number }[] | undefined {
  const out: { vaddr: number; len: number }[] = []
  let a = iova
  while (a < iova + len) {
    const m = live.find(x => BigInt(a) >= x.iova && BigInt(a) < x.iova + x.size)
    if (m === undefined || !m[need]) return undefined
    const n = Math.min(iova + len - a, Number(m.iova + m.size) - a)
    out.push({ vaddr: Number(m.vaddr) + (a - Number(m.iova)), len: n })
    a += n
  }
  return out
}

function readUser(p: Process, spans: readonly { vaddr: number; len: number }[]): Uint8Array {
  const out = new Uint8Array(spans.reduce((t, x) => t + x.len, 0))
  let o = 0
  for (const x of spans) {
    out.set(p.peek(x.vaddr, x.len), o)
    o += x.len
  }
  return out
}

/** No user page is touched by two of the ranges (nor twice by one: an aliasing mapping). */
function disjointPages(ranges: readonly (readonly { vaddr: number; len: number }[])[]): boolean {
  const seen = new Set<number>()
  for (const spans of ranges) {
    const mine = new Set<number>()
    for (const x of spans) for (let pg = Math.floor(x.vaddr / PAGE); pg <= Math.floor((x.vaddr + x.len - 1) / PAGE); pg++) mine.add(pg)
    for (const pg of mine) {
      if (seen.has(pg)) return false
      seen.add(pg)
    }
  }
  return true
}

const WINDOW = 0x10_0000
const RW_PAGES = 16

const mapArb = fc.record({
  iovaPage: fc.integer({ min: 0, max: 7 }),
  pages: fc.integer({ min: 1, max: 2 }),
  // mostly user pages that follow the IOVA (no aliasing), sometimes any page (aliases too)
  vaPage: fc.option(fc.integer({ min: 0, max: RW_PAGES - 2 }), { nil: undefined, freq: 3 }),
  flags: fc.constantFrom(MAP_READ, MAP_WRITE, MAP_READ | MAP_WRITE, MAP_READ | MAP_BIT2, MAP_READ | MAP_WRITE | MAP_BIT2),
})

const progArb = fc.record({
  kind: fc.constantFrom('memcpy', 'memcpy', 'random'),
  /** Which DMAC of the group runs it (modulo their number). */
  dmac: fc.nat({ max: 1 }),
  // the microcode goes where a live mapping points (its index modulo their number), or to a random page
  pcMapping: fc.option(fc.nat(), { nil: undefined, freq: 5 }),
  // rfc-v5: mostly start in an EXEC mapping, so programs run rather than fault at once
  pcInExec: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  mcodeVaPage: fc.integer({ min: 0, max: RW_PAGES - 1 }),
  pcPage: fc.integer({ min: 0, max: 9 }),
  src: fc.integer({ min: 0, max: 10 * PAGE - 1 }).map(x => WINDOW + (x & ~0xf)),
  dst: fc.integer({ min: 0, max: 10 * PAGE - 1 }).map(x => WINDOW + (x & ~0xf)),
  srcMapping: fc.option(fc.nat(), { nil: undefined, freq: 4 }),
  dstMapping: fc.option(fc.nat(), { nil: undefined, freq: 4 }),
  len: fc.constantFrom(16, 16, 256, 256, 4096, 8192),
  bytes: fc.uint8Array({ minLength: 8, maxLength: 48 }),
  // (fc.option's nil comes 1 time in `freq`: these are rarer than "none")
  unmapFirst: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  // an UNMAP while the program runs (after this much virtual time): later writes must respect it
  unmapDuring: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ page: fc.integer({ min: 0, max: 7 }), afterNs: fc.constantFrom(100, 1_000, 5_000, 20_000) }) }),
})

for (const [profile, board] of [['rfc-v5', 'fvp-mmu400'], ['upstream', 'fvp-mmu400'], ['rfc-v5', 'fvp-mmu400-shared-group'], ['upstream', 'fvp-mmu400-shared-group']] as const) {
  test(`${profile} ${board}: device writes stay in pinned writable pages, fetches in pinned executable pages`, () => {
    let instrSeen = 0
    let writesSeen = 0
    let copiesChecked = 0
    fc.assert(fc.property(fc.array(mapArb, { minLength: 1, maxLength: 6 }), fc.array(progArb, { minLength: 1, maxLength: 3 }), (maps, progs) => {
      const r = rig(profile, board)
      const { s, p } = r
      const rwBase = s.layout.rw.base
      // Every user byte distinct from its neighbours and from other pages', so a copy is visible.
      p.poke(Number(rwBase), Uint8Array.from({ length: RW_PAGES * PAGE }, (_, i) => (i * 7 + (i >> 12) * 13 + 1) & 0xff))
      for (const mp of maps) {
        // EXEC alone is not generated (see VFIO_KNOWN_DIVERGENCES); upstream bit 2 is VADDR, so READ/WRITE only.
        const flags = profile === 'upstream' ? mp.flags & ~MAP_BIT2 : mp.flags
        const cmd = mapDmaCommand(0, { argsz: 32, flags, vaddr: rwBase + BigInt((mp.vaPage ?? 2 * mp.iovaPage) * PAGE), iova: BigInt(WINDOW + mp.iovaPage * PAGE), size: BigInt(mp.pages * PAGE) })
        cmd.run(s.model, s.real) // checked against the model like any command
      }
      progs.forEach((pg, channel) => {
        if (pg.unmapFirst !== undefined) {
          unmapDmaCommand(0, { argsz: 24, flags: 0, iova: BigInt(WINDOW + pg.unmapFirst * PAGE), size: BigInt(PAGE) }).run(s.model, s.real)
        }
        // The mappings live while this program runs (the model's view).
        let live = allMappings(s.model.s)
        const starts = profile === 'rfc-v5' && pg.pcInExec && live.some(x => x.exec) ? live.filter(x => x.exec) : live
        const target = pg.pcMapping !== undefined && starts.length > 0 ? starts[pg.pcMapping % starts.length]! : undefined
        // addresses in a mapping with the permission the access needs (when one exists), or random ones
        // (preferring mappings not already used by the microcode or the other operand)
        const used: MMapping[] = target === undefined ? [] : [target]
        const pick = (i: number | undefined, dflt: number, need: 'read' | 'write'): number => {
          const fresh = live.filter(x => x[need] && !used.includes(x))
          const c = fresh.length > 0 ? fresh : live.filter(x => x[need])
          if (i === undefined || c.length === 0) return dflt
          const m = c[i % c.length]!
          used.push(m)
          return Number(m.iova)
        }
        const src = pick(pg.srcMapping, pg.src, 'read')
        const dst = pick(pg.dstMapping, pg.dst, 'write')
        const code = pg.kind === 'memcpy' ? buildMemcpy({ src, dst, len: pg.len, event: channel, nonSecure: true }).bytes : pg.bytes
        const pc = target !== undefined ? Number(target.iova) : WINDOW + pg.pcPage * PAGE
        p.poke(target !== undefined ? Number(target.vaddr) : Number(rwBase) + pg.mcodeVaPage * PAGE, code)
        // Translation soundness (spec §15.21): a memcpy whose every byte is mapped with the
        // permission it needs, on pages used for nothing else, copies the process's bytes.
        const codeUser = userRange(live, pc, code.length, profile === 'rfc-v5' ? 'exec' : 'read')
        const srcUser = userRange(live, src, pg.len, 'read')
        const dstUser = userRange(live, dst, pg.len, 'write')
        // (only when the microcode was written where pc points: a random pc runs whatever is there)
        const sound = pg.kind === 'memcpy' && target !== undefined && pg.unmapDuring === undefined && codeUser !== undefined && srcUser !== undefined && dstUser !== undefined &&
          disjointPages([codeUser, srcUser, dstUser])
        const expected = sound ? readUser(p, srcUser) : undefined
        let writable = pagesOf(p, live.filter(x => x.write))
        let executable = pagesOf(p, live.filter(x => x.exec))
        r.log.length = 0
        r.recording = true
        const dmac = pg.dmac % r.regs.length
        go(r, dmac, channel, pc)
        if (pg.unmapDuring !== undefined) {
          r.m.run({ forNs: pg.unmapDuring.afterNs })
          r.recording = false
          check(r.log, writable, executable, channel, pg.kind)
          unmapDmaCommand(0, { argsz: 24, flags: 0, iova: BigInt(WINDOW + pg.unmapDuring.page * PAGE), size: BigInt(PAGE) }).run(s.model, s.real)
          live = allMappings(s.model.s)
          writable = pagesOf(p, live.filter(x => x.write))
          executable = pagesOf(p, live.filter(x => x.exec))
          r.log.length = 0
          r.recording = true
        }
        r.m.run({ forNs: 200_000 })
        r.recording = false
        kill(r, dmac, channel)
        r.m.run({ forNs: 10_000 })
        check(r.log, writable, executable, channel, pg.kind)
        if (expected !== undefined) {
          copiesChecked++
          assert.equal(readUser(p, dstUser!), expected, `program ${channel}: memcpy 0x${src.toString(16)} → 0x${dst.toString(16)} (${pg.len} bytes) did not copy the process's bytes`)
        }
      })
    }), {
      numRuns: 25,
      // One case always runs a complete, checkable memcpy (code in an EXEC mapping, a readable
      // source and a writable destination on separate pages), so the checks are never vacuous.
      examples: [[
        [
          { iovaPage: 0, pages: 1, vaPage: undefined, flags: MAP_READ | MAP_WRITE | MAP_BIT2 },
          { iovaPage: 2, pages: 1, vaPage: undefined, flags: MAP_READ },
          { iovaPage: 4, pages: 2, vaPage: undefined, flags: MAP_READ | MAP_WRITE },
        ],
        [{
          kind: 'memcpy', dmac: 0, pcMapping: 0, pcInExec: true, mcodeVaPage: 0, pcPage: 0, src: WINDOW, dst: WINDOW,
          srcMapping: 0, dstMapping: 0, len: 4096, bytes: new Uint8Array(8), unmapFirst: undefined, unmapDuring: undefined,
        }],
      ]],
    })
    // The property is not vacuous: the DMAC did fetch and write through mappings.
    assert.ok(instrSeen > 0, 'no instruction fetch observed on the bus')
    assert.ok(writesSeen > 0, 'no device write observed on the bus')
    assert.ok(copiesChecked > 0, 'no complete memcpy was checked')

    /** Every recorded DRAM write in a writable pinned page, every fetch in an executable one. */
    function check(log: readonly Access[], writable: Set<number>, executable: Set<number>, channel: number, kind: string): void {
      for (const a of log) {
        if (a.addr < DRAM.base || a.addr >= DRAM.end) continue
        if (a.write) {
          writesSeen++
          for (let x = a.addr - (a.addr % PAGE); x < a.addr + a.len; x += PAGE) {
            assert.ok(writable.has(x), `program ${channel} (${kind}) wrote ${a.len} bytes at phys 0x${a.addr.toString(16)}: page 0x${x.toString(16)} is not pinned for a writable mapping`)
          }
        } else if (a.instr) {
          instrSeen++
          for (let x = a.addr - (a.addr % PAGE); x < a.addr + a.len; x += PAGE) {
            assert.ok(executable.has(x), `program ${channel} fetched ${a.len} instruction bytes at phys 0x${x.toString(16)}, not an executable mapping`)
          }
        }
      }
    }
  })
}

test.run()
