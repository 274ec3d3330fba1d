/**
 * The SMMU: register file, stream matching, stage-1 translation with a TLB,
 * fault recording and interrupts, stall/RESUME and ATOS. Masters reach the
 * interconnect through {@link Mmu400.port}; the CPU programs it through
 * {@link Mmu400.mmio}, which the board maps at the SMMU's base.
 *
 * Order of a transaction (spec §2): CLIENTPD → SMR match → S2CR (type,
 * PRIVCFG/INSTCFG overrides) → CBAR → context bank: TLB lookup or walk →
 * access flag → permissions → output. Every decision is a trace event.
 */
import {
  BusResp, RegisterFile, busAttrs,
  type AccessSize, type BusAttrs, type Interconnect, type Register, type RegisterSpec, type Tracer, type IrqLine, type Scheduler,
} from '@vfio-sim/sim'
import { atosPar, parFault } from './atos.ts'
import { resolveConfig, type Mmu400Config, type ResolvedConfig } from './config.ts'
import { Context } from './context.ts'
import { explainContextFault, explainGlobalFault } from './explain.ts'
import { FaultUnit, fsrName, gfsrName, type FaultAccess } from './faults.ts'
import { Mmu400Port, type PortHost } from './port.ts'
import { CBAR_TYPE, FSR, FSR_FAULT, GFSR, S2CR_TYPE, SCR0, SCTLR, TTBCR, mmu400Registers, type Mmu400RegisterTable } from './registers.ts'
import { HeldState, StallUnit } from './stall.ts'
import { SMMU_TRACE } from './trace.ts'
import type { TlbEntry } from './tlb.ts'
import { Walker, neededPerm } from './walk.ts'

/** Outcome of translating one access (see {@link Mmu400.translate}). */
export const Outcome = {
  /** Translated (or bypassed): forwarded to the interconnect. */
  OK: 0,
  /** Fault, terminated without abort: reads return zero, writes are ignored. */
  RAZ: 1,
  /** Fault, terminated with an abort: the master sees SLVERR. */
  ABORT: 2,
  /** Fault in stall mode: held until RESUME. */
  STALL: 3,
} as const
/** One of {@link Outcome}. */
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

const OUTCOME_NAME = ['ok', 'raz', 'abort', 'stall'] as const

/** Construction options. */
export interface Mmu400Options {
  /** The interconnect behind the SMMU: translated accesses go there, and so do page-table walks. */
  readonly bus: Interconnect
  /** Trace events go here (tracks `smmu/global`, `smmu/cbN`). */
  readonly tracer?: Tracer
  /**
   * Resume listeners of stalled masters run as scheduler events at the
   * current time; without a scheduler they run synchronously after the
   * RESUME write.
   */
  readonly scheduler?: Scheduler
  /** Counts and features; defaults give the stage-1 MMU-400 personality (docs/decisions/0200). */
  readonly config?: Mmu400Config
  /**
   * Interrupt outputs. `global[0]` is the (non-secure) global fault
   * interrupt; `context[k]` is context interrupt k (v1: CBAR.IRPTNDX = k;
   * v2: bank k). Missing lines are simply not driven. On v1, unless
   * `config.contextIrqs` says otherwise, IDR0.NUMIRPT is the number of
   * context lines given (Linux round-robins IRPTNDX over the DT's lines).
   */
  readonly irqs?: { readonly global?: readonly IrqLine[]; readonly context?: readonly IrqLine[] }
}

/** Counters for teaching and benchmarks. */
export interface Mmu400Stats {
  /** Master read/write calls. */
  transactions: number
  /** Translations of one page or span (a transfer crossing pages counts each page). */
  translations: number
  /** Translations that bypassed (CLIENTPD, unmatched stream, S2CR bypass, SCTLR.M = 0). */
  bypassed: number
  tlbHits: number
  tlbMisses: number
  /** Page-table walks (TLB misses and ATOS misses). */
  walks: number
  /** Descriptors fetched by walks. */
  descriptorReads: number
  contextFaults: number
  globalFaults: number
  stalls: number
  /** TLB invalidation operations (TLBI register writes and configuration changes). */
  tlbInvalidations: number
  /** ATOS operations (ATS1xx and GATS1xx writes). */
  atos: number
}

/** Result of {@link Mmu400.translate}. */
export interface TranslateResult {
  readonly outcome: 'ok' | 'raz' | 'abort' | 'stall'
  /** Output address (valid when outcome is 'ok'). */
  readonly pa: number
  /** Bytes from the input address to the end of the translated page/block (Infinity when bypassed). */
  readonly span: number
}

/** Attributes of an access for {@link Mmu400.translate}. */
export interface AccessSpec {
  readonly streamId: number
  readonly write?: boolean
  readonly priv?: boolean
  readonly instr?: boolean
  readonly secure?: boolean
}

const SID_UNKNOWN = -3
const SID_CONFLICT = -2
const SID_NONE = -1
const PAGE = 4096

/**
 * The register window as an MMIO device: the register file plus one fact
 * the hooks need, whether the current write includes the low word of a
 * 64-bit register. Command registers (TLBIVA…, ATS1xx) of AArch32 contexts
 * act on the write that includes the low word (Linux writes them as one
 * 32-bit write); those of AArch64 contexts, and GATS1xx, act on every write
 * to either half, with the latest value of the other half, so one 64-bit
 * write and both orders of two 32-bit halves end in the same state
 * (docs/decisions/0203).
 */
export class Mmu400Mmio extends RegisterFile<Record<string, RegisterSpec>> {
  /** True while handling a write that includes bits [31:0] of its register. */
  lowWord = true

  override write(offset: number, size: AccessSize, value: number, attrs: BusAttrs): void {
    this.lowWord = (offset & 4) === 0
    super.write(offset, size, value, attrs)
  }

  override write64(offset: number, value: bigint, attrs: BusAttrs): void {
    this.lowWord = true
    super.write64(offset, value, attrs)
  }
}

/**
 * An MMU-400-style SMMU (SMMUv1 architecture, stage 1 advertised).
 *
 *     const smmu = new Mmu400({ bus, tracer, config: { contextBanks: 8 }, irqs: { global: [g], context: [c] } })
 *     bus.addDevice(0x2b400000, smmu.mmio)
 *     const port = smmu.port(3)        // the PL330's stream ID
 */
export class Mmu400 implements PortHost {
  /** The resolved configuration (counts and geometry). */
  readonly config: ResolvedConfig
  /** The register table (for docs: `table.describe()`). */
  readonly table: Mmu400RegisterTable
  /** The register window, to be mapped on the interconnect at the SMMU's base. */
  readonly mmio: Mmu400Mmio
  /** Decoded context banks (state, TLB). */
  readonly contexts: readonly Context[]
  /** Counters. */
  readonly stats: Mmu400Stats = {
    transactions: 0, translations: 0, bypassed: 0, tlbHits: 0, tlbMisses: 0, walks: 0, descriptorReads: 0,
    contextFaults: 0, globalFaults: 0, stalls: 0, tlbInvalidations: 0, atos: 0,
  }

  private readonly bus: Interconnect
  private readonly tracer: Tracer | undefined
  private readonly walker: Walker
  private readonly faults: FaultUnit
  private readonly stalls: StallUnit
  private readonly r: Record<string, Register>
  /** Stream ID → SMR index, SID_NONE or SID_CONFLICT (SID_UNKNOWN until first use; reset on SMR writes). */
  private readonly sidCache: Int32Array
  private readonly s2cr: Uint32Array
  private readonly smr: Uint32Array
  private scr0 = 0
  private readonly probePort: Mmu400Port

  // Result of translateAt (no allocation on the hot path).
  private xPa = 0
  private xSpan = 0
  /** Attributes of forwarded accesses (reused; the interconnect does not keep them). */
  private readonly outAttrs: BusAttrs = busAttrs()

  constructor(opts: Mmu400Options) {
    // v1: NUMIRPT defaults to the number of context interrupt lines the board wired.
    const wired = opts.irqs?.context?.length ?? 0
    const cfg = opts.config ?? {}
    this.config = resolveConfig(cfg.contextIrqs === undefined && (cfg.version ?? 1) === 1 && wired > 0 ? { ...cfg, contextIrqs: wired } : cfg)
    const c = this.config
    this.bus = opts.bus
    this.tracer = opts.tracer
    this.walker = new Walker(opts.bus, opts.tracer, c.version)
    const { table, ids } = mmu400Registers(c)
    this.table = table
    this.r = table.reg as Record<string, Register>
    this.contexts = Array.from({ length: c.contextBanks }, (_, i) => new Context(i, c.tlbEntries))
    this.sidCache = new Int32Array(c.sidMask + 1).fill(SID_UNKNOWN)
    this.s2cr = new Uint32Array(c.smrGroups)
    this.smr = new Uint32Array(c.smrGroups)
    this.mmio = new Mmu400Mmio(table, this.hooks())
    this.faults = new FaultUnit({
      mmio: this.mmio, regs: this.r, contexts: this.contexts, config: c, tracer: opts.tracer,
      globalIrqs: opts.irqs?.global ?? [], contextIrqs: opts.irqs?.context ?? [],
    })
    this.stalls = new StallUnit(this.mmio, this.reg('FSR'), opts.scheduler, opts.tracer)
    const top = this.r['PIDR_TOP']
    if (top !== undefined) this.mmio.setResetValue(top, (i: number) => BigInt(ids[i]!))
    this.probePort = new Mmu400Port(this, undefined)
    this.reset()
  }

  /** A port for a master. With `streamId`, every access presents it; without, each access's `attrs.streamId`. */
  port(streamId?: number): Mmu400Port {
    return new Mmu400Port(this, streamId)
  }

  /** Hardware reset: registers to their reset values, TLBs empty, stalls dropped, interrupts low. */
  reset(): void {
    this.mmio.reset()
    this.setScr0()
    for (let i = 0; i < this.config.smrGroups; i++) {
      this.smr[i] = this.mmio.get(this.r['SMR']!, i)
      this.s2cr[i] = this.mmio.get(this.r['S2CR']!, i)
    }
    this.sidCache.fill(SID_UNKNOWN)
    for (const ctx of this.contexts) {
      ctx.tlb.clear()
      this.decodeContext(ctx.index, false)
    }
    this.stalls.reset(this.contexts)
    this.faults.updateIrqs()
  }

  private setScr0(): void {
    this.scr0 = this.mmio.get(this.reg('sCR0'))
    this.faults.scr0 = this.scr0
  }

  // ---------------------------------------------------------------- registers

  private reg(name: string): Register {
    return this.r[name]!
  }

  /** Stored value of register `name` (copy `index`): for tests and teaching views. */
  read(name: string, index = 0): number {
    return this.mmio.get(this.reg(name), index)
  }

  /** Stored 64-bit value of register `name` (copy `index`). */
  read64(name: string, index = 0): bigint {
    return this.mmio.get64(this.reg(name), index)
  }

  private hooks(): Record<string, { write?(i: number, v: bigint, p: bigint): void; read?(i: number): number | bigint }> {
    const lo = (v: bigint) => Number(v & 0xffffffffn)
    const ctxWrite = { write: (i: number) => this.decodeContext(i, true) }
    const h: Record<string, { write?(i: number, v: bigint, p: bigint): void; read?(i: number): number | bigint }> = {
      sCR0: { write: () => { this.setScr0(); this.updateIrqs() } },
      sGFSR: { write: () => this.updateIrqs() },
      sGFSRRESTORE: { write: (_i, v) => { this.mmio.set(this.reg('sGFSR'), lo(v) & (GFSR.MULTI | 0x1ff)); this.updateIrqs() } },
      TLBIVMID: { write: (_i, v) => this.invalidateBanks('TLBIVMID', ctx => ctx.vmid === (lo(v) & 0xff)) },
      TLBIALLNSNH: { write: () => this.invalidateBanks('TLBIALLNSNH', ctx => !ctx.hyp) },
      TLBIALLH: { write: () => this.invalidateBanks('TLBIALLH', ctx => ctx.hyp) },
      SMR: { write: (i) => { this.smr[i] = this.mmio.get(this.reg('SMR'), i); this.sidCache.fill(SID_UNKNOWN) } },
      S2CR: { write: (i) => { this.s2cr[i] = this.mmio.get(this.reg('S2CR'), i) } },
      CBAR: { write: (i) => { this.decodeContext(i, true); this.updateIrqs() } },
      CBA2R: ctxWrite, SCTLR: { write: (i) => { this.decodeContext(i, true); this.updateIrqs() } },
      TCR2: ctxWrite, TTBR0: ctxWrite, TTBR1: ctxWrite, MAIR0: ctxWrite, MAIR1: ctxWrite,
      // EAE is RAO in AArch32-format contexts (LPAE-only implementation).
      TCR: { ...ctxWrite, read: (i) => (this.mmio.get(this.reg('TCR'), i) | (this.contexts[i]!.aarch64 ? 0 : TTBCR.EAE)) >>> 0 },
      FSR: { write: () => this.updateIrqs() },
      FSRRESTORE: { write: (i, v) => { this.mmio.set(this.reg('FSR'), lo(v) & FSR_FAULT, i); this.updateIrqs() } },
      RESUME: { write: (i, v) => { this.stalls.resume(this.contexts[i]!, (lo(v) & 1) === 1); this.updateIrqs() } },
      TLBIVA: { write: (i, v) => this.tlbiVa(i, v, 'TLBIVA', false) },
      TLBIVAL: { write: (i, v) => this.tlbiVa(i, v, 'TLBIVAL', false) },
      TLBIVAA: { write: (i, v) => this.tlbiVa(i, v, 'TLBIVAA', true) },
      TLBIVAAL: { write: (i, v) => this.tlbiVa(i, v, 'TLBIVAAL', true) },
      TLBIASID: { write: (i, v) => this.tlbiAsid(i, v) },
      TLBIALL: { write: (i) => this.invalidateBanks('TLBIALL', ctx => ctx.index === i) },
      ATS1PR: { write: (i, v) => this.atosWrite(i, v, 'ATS1PR', true, false) },
      ATS1PW: { write: (i, v) => this.atosWrite(i, v, 'ATS1PW', true, true) },
      ATS1UR: { write: (i, v) => this.atosWrite(i, v, 'ATS1UR', false, false) },
      ATS1UW: { write: (i, v) => this.atosWrite(i, v, 'ATS1UW', false, true) },
    }
    for (const [name, priv, write] of [['UR', false, false], ['UW', false, true], ['PR', true, false], ['PW', true, true]] as const) {
      for (const g of ['GATS1', 'GATS12']) h[g + name] = { write: (_i, v) => this.gatosWrite(v, g + name, priv, write) }
    }
    return h
  }

  /** Re-reads a bank's configuration registers; with `flush`, drops its TLB if the translation regime changed. */
  private decodeContext(i: number, flush: boolean): void {
    const ctx = this.contexts[i]
    if (ctx === undefined) return
    const m = this.mmio
    const before = flush ? this.regimeKey(ctx) : ''
    const cba2r = this.r['CBA2R'] !== undefined ? m.get(this.reg('CBA2R'), i) : 0
    ctx.setCbar(m.get(this.reg('CBAR'), i), cba2r)
    ctx.setSctlr(m.get(this.reg('SCTLR'), i), this.config.stall)
    const tcr2 = this.r['TCR2'] !== undefined ? m.get(this.reg('TCR2'), i) : 0
    const t0 = this.reg('TTBR0')
    const t1 = this.reg('TTBR1')
    ctx.setTranslation(m.get(this.reg('TCR'), i), tcr2, m.get(t0, i), m.getHi(t0, i), m.get(t1, i), m.getHi(t1, i), this.config.oas)
    ctx.mair0 = m.get(this.reg('MAIR0'), i)
    ctx.mair1 = m.get(this.reg('MAIR1'), i)
    // Entries may architecturally survive a reconfiguration; dropping them is
    // always legal and is what a learner expects (docs/decisions/0203).
    if (flush && before !== this.regimeKey(ctx) && ctx.tlb.size > 0) {
      const n = ctx.tlb.clear()
      this.stats.tlbInvalidations++
      if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_tlb_inval, ctx.track, 'config change', 0, -1, n)
    }
  }

  /** What cached entries depend on: SCTLR's translation bits (not the fault-reporting ones), the bank type and the TCR/TTBR/MAIR decode. */
  private regimeKey(ctx: Context): string {
    const sctlr = ctx.sctlr & (SCTLR.M | SCTLR.AFFD | SCTLR.E | SCTLR.WXN | SCTLR.UWXN)
    return [sctlr, ctx.cbarType, ctx.vmid, ctx.aarch64, ctx.t0sz, ctx.t1sz, ctx.epd0, ctx.epd1, ctx.tg0, ctx.asid, ctx.ttb0, ctx.ttb1, ctx.oas, ctx.mair0, ctx.mair1].join(',')
  }

  // ---------------------------------------------------------------- TLB maintenance

  private invalidateBanks(op: string, which: (ctx: Context) => boolean): void {
    this.stats.tlbInvalidations++
    for (const ctx of this.contexts) {
      if (!which(ctx)) continue
      const n = ctx.tlb.clear()
      if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_tlb_inval, ctx.track, op, 0, -1, n)
    }
  }

  /**
   * TLBIVA/VAL (by VA and ASID) and TLBIVAA/VAAL (by VA, any ASID). AArch32
   * payload: VA[31:12] | ASID[7:0] in the low word; AArch64: VA[55:12] in
   * bits [43:0], ASID in [63:48]. Our TLB holds leaves only, so the "L"
   * forms do the same.
   */
  private tlbiVa(i: number, v: bigint, op: string, allAsids: boolean): void {
    const ctx = this.contexts[i]!
    // AArch32 payloads are one 32-bit low-word write. AArch64 payloads are 64-bit:
    // act on either half with the latest value of the other, so both split orders
    // end with the right invalidation (an extra one on the way is harmless).
    if (!ctx.aarch64 && !this.mmio.lowWord) return
    let va: number
    let asid: number
    if (ctx.aarch64) {
      va = Number(v & 0xfffffffffn) * PAGE
      asid = Number((v >> 48n) & 0xffffn)
    } else {
      const w = Number(v & 0xffffffffn)
      va = (w & 0xfffff000) >>> 0
      asid = w & 0xff
    }
    const n = ctx.tlb.invalidateVa(va, asid, allAsids)
    this.stats.tlbInvalidations++
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_tlb_inval, ctx.track, op, va, allAsids ? -1 : asid, n)
  }

  private tlbiAsid(i: number, v: bigint): void {
    const ctx = this.contexts[i]!
    if (!this.mmio.lowWord) return
    const tcr2 = this.r['TCR2'] !== undefined ? this.mmio.get(this.reg('TCR2'), i) : 0
    const asid = Number(v & (ctx.aarch64 && (tcr2 & 0x10) !== 0 ? 0xffffn : 0xffn))
    const n = ctx.tlb.invalidateAsid(asid)
    this.stats.tlbInvalidations++
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_tlb_inval, ctx.track, 'TLBIASID', 0, asid, n)
  }

  // ---------------------------------------------------------------- faults

  private updateIrqs(): void {
    this.faults.updateIrqs()
  }

  /**
   * Records a global fault (docs/decisions/0201) and returns the outcome for
   * the master: abort if GFRE (GCFGFRE for configuration faults), else RAZ/WI.
   */
  private globalFault(bit: number, va: number, write: boolean, priv: boolean, instr: boolean, secure: boolean, sid: number): Outcome {
    const a: FaultAccess = { va, write, priv, instr, secure, sid }
    this.faults.global(bit, a)
    this.stats.globalFaults++
    this.updateIrqs()
    const outcome: Outcome = this.faults.globalAborts(bit) ? Outcome.ABORT : Outcome.RAZ
    this.xPa = 0
    this.xSpan = PAGE - (va % PAGE)
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_gfault, 'smmu/global', gfsrName(bit), sid, va, this.read('sGFSR'), OUTCOME_NAME[outcome])
    return outcome
  }

  /**
   * Records a context fault in `ctx` and returns the outcome: stall (CFCFG:
   * the access is held until RESUME), abort (CFRE) or RAZ/WI.
   */
  private contextFault(ctx: Context, bit: number, level: number, ptwf: boolean, va: number, write: boolean, priv: boolean, instr: boolean, secure: boolean, sid: number, port: Mmu400Port): Outcome {
    const a: FaultAccess = { va, write, priv, instr, secure, sid }
    const stall = ctx.stallOnFault
    const first = this.faults.context(ctx, bit, level, ptwf, a, stall)
    this.stats.contextFaults++
    let outcome: Outcome = ctx.cfre ? Outcome.ABORT : Outcome.RAZ
    if (stall) {
      outcome = Outcome.STALL
      this.stalls.hold(ctx, port, va, sid, true)
      this.stats.stalls++
    }
    this.xPa = 0
    this.xSpan = PAGE - (va % PAGE)
    if (this.tracer?.on) {
      const i = ctx.index
      this.tracer.instant(SMMU_TRACE.smmu_fault, ctx.track, va, this.read('FSR', i), this.read('FSYNR0', i), fsrName(bit), first, OUTCOME_NAME[outcome])
    }
    // v1: a context interrupt index the SMMU does not implement is a global fault too.
    if (this.config.version === 1 && ctx.irptndx >= this.config.contextIrqs) this.globalFault(GFSR.UCIF, va, write, priv, instr, secure, sid)
    this.updateIrqs()
    return outcome
  }

  // ---------------------------------------------------------------- translation

  private bypass(va: number, sid: number, why: string, attrs: BusAttrs, priv: boolean, instr: boolean): Outcome {
    this.stats.bypassed++
    this.xPa = va
    this.xSpan = Infinity
    const o = this.outAttrs
    o.priv = priv
    o.instr = instr
    o.secure = attrs.secure
    o.streamId = sid
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_bypass, 'smmu/global', sid, va, why)
    return Outcome.OK
  }

  private matchSmr(sid: number): number {
    const mask = this.config.sidMask
    let hit = SID_NONE
    for (let i = 0; i < this.smr.length; i++) {
      const s = this.smr[i]!
      if ((s & 0x80000000) === 0) continue
      const id = s & 0x7fff
      const m = (s >>> 16) & 0x7fff
      if (((sid ^ id) & ~m & mask) !== 0) continue
      if (hit !== SID_NONE) return SID_CONFLICT
      hit = i
    }
    return hit
  }

  /**
   * Translates one access at input address `va`. On OK the output address
   * and the bytes left in the translated page/block are in xPa/xSpan and the
   * output attributes in outAttrs; on a fault, xSpan is the rest of the 4 KiB
   * page (the span a RAZ/WI outcome covers).
   */
  private translateAt(va: number, write: boolean, attrs: BusAttrs, sid: number, port: Mmu400Port): Outcome {
    this.stats.translations++
    const tracer = this.tracer
    let priv = attrs.priv
    let instr = attrs.instr && !write
    if ((this.scr0 & SCR0.CLIENTPD) !== 0) return this.bypass(va, sid, 'sCR0.CLIENTPD', attrs, priv, instr)
    const s = sid & this.config.sidMask
    let idx = this.sidCache[s]!
    if (idx === SID_UNKNOWN) idx = this.sidCache[s] = this.matchSmr(s)
    if (idx === SID_NONE) {
      if ((this.scr0 & SCR0.USFCFG) !== 0) return this.globalFault(GFSR.USF, va, write, priv, instr, attrs.secure, sid)
      return this.bypass(va, sid, 'no SMR matches, sCR0.USFCFG = 0', attrs, priv, instr)
    }
    if (idx === SID_CONFLICT) return this.globalFault(GFSR.SMCF, va, write, priv, instr, attrs.secure, sid)
    const s2cr = this.s2cr[idx]!
    // PRIVCFG / INSTCFG override the bus attributes before any check (spec §0.9).
    const privcfg = (s2cr >>> 24) & 3
    const instcfg = (s2cr >>> 26) & 3
    if (privcfg === 3) priv = true
    else if (privcfg === 2) priv = false
    if (instcfg === 3) instr = true
    else if (instcfg === 2) instr = false
    // A write is always a data write (INSTCFG and AxPROT[2] apply to reads): FSYNR0.IND = 0 (decision 0204).
    if (write) instr = false
    const type = (s2cr >>> 16) & 3
    const cbndx = s2cr & 0xff
    if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_stream_match, 'smmu/global', sid, idx, s2cr, ['translate', 'bypass', 'fault', 'reserved'][type]!, type === 0 ? cbndx : -1)
    if (type === S2CR_TYPE.BYPASS) return this.bypass(va, sid, 'S2CR.TYPE = bypass', attrs, priv, instr)
    if (type !== S2CR_TYPE.TRANS) return this.globalFault(GFSR.ICF, va, write, priv, instr, attrs.secure, sid)
    const ctx = this.contexts[cbndx]
    if (ctx === undefined) return this.globalFault(GFSR.UCBF, va, write, priv, instr, attrs.secure, sid)
    if (ctx.stalled && !ctx.hupcf) {
      // HUPCF = 0: everything in a stalled context waits behind the faulting transaction.
      this.stalls.hold(ctx, port, va, sid, false)
      this.stats.stalls++
      this.xSpan = PAGE - (va % PAGE)
      return Outcome.STALL
    }
    if (!ctx.enabled) return this.bypass(va, sid, `cb${cbndx} SCTLR.M = 0`, attrs, priv, instr)
    // Only stage-1 bank types are implemented (IDR0.S2TS = NTS = 0): a stage-2 or nested bank is an invalid context.
    if (ctx.cbarType !== CBAR_TYPE.S1_TRANS_S2_BYPASS && ctx.cbarType !== CBAR_TYPE.S1_TRANS_S2_FAULT) {
      return this.globalFault(GFSR.ICF, va, write, priv, instr, attrs.secure, sid)
    }
    let e: TlbEntry | undefined = ctx.tlb.lookup(va, ctx.asid)
    if (e !== undefined) {
      this.stats.tlbHits++
      if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_tlb_hit, ctx.track, va, e.pa + (va - e.vaBase), e.level, e.global ? -1 : e.asid)
    } else {
      this.stats.tlbMisses++
      this.stats.walks++
      if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_tlb_miss, ctx.track, va, ctx.asid)
      const w = this.walker
      const before = w.descriptorReads
      e = w.walk(ctx, va)
      this.stats.descriptorReads += w.descriptorReads - before
      if (e === undefined) return this.contextFault(ctx, w.faultBit, w.faultLevel, w.ptwf, va, write, priv, instr, attrs.secure, sid, port)
      if (ctx.tlb.insert(e) && tracer?.on) tracer.instant(SMMU_TRACE.smmu_tlb_inval, ctx.track, 'capacity', 0, -1, ctx.tlb.capacity)
    }
    const need = neededPerm(write, priv, instr)
    const ok = (e.perms & need) !== 0
    if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_perm, ctx.track, va, `${priv ? 'privileged' : 'unprivileged'} ${write ? 'write' : instr ? 'instruction fetch' : 'read'}`, e.permText(), ok)
    if (!ok) return this.contextFault(ctx, FSR.PF, e.level, false, va, write, priv, instr, attrs.secure, sid, port)
    if (ctx.cbarType === CBAR_TYPE.S1_TRANS_S2_FAULT) return this.globalFault(GFSR.ICF, va, write, priv, instr, attrs.secure, sid)
    this.xPa = e.pa + (va - e.vaBase)
    this.xSpan = e.vaBase + e.size - va
    const o = this.outAttrs
    o.priv = priv
    o.instr = instr
    o.secure = attrs.secure
    o.streamId = sid
    return Outcome.OK
  }

  /** @internal A port's read or write: translated span by span and forwarded. */
  transfer(port: Mmu400Port, write: boolean, addr: number, buf: Uint8Array, off: number, len: number, attrs: BusAttrs): number {
    port.resp = BusResp.OKAY
    this.stats.transactions++
    const sid = port.streamId ?? attrs.streamId
    const bus = this.bus
    let done = 0
    while (done < len) {
      const va = addr + done
      let outcome: Outcome
      if (port.terminatedKeys.length === 0 && port.heldKeys.length === 0) outcome = this.translateAt(va, write, attrs, sid, port)
      else outcome = this.heldOutcome(port, va, write, attrs, sid)
      const n = Math.min(len - done, this.xSpan)
      if (outcome === Outcome.OK) {
        const pa = this.xPa
        const got = write ? bus.write(pa, buf, off + done, n, this.outAttrs) : bus.read(pa, buf, off + done, n, this.outAttrs)
        done += got
        if (got < n) {
          port.resp = bus.resp
          port.faultAddr = va + (bus.faultAddr - pa)
          return done
        }
      } else if (outcome === Outcome.RAZ) {
        if (!write) buf.fill(0, off + done, off + done + n)
        done += n
      } else {
        port.resp = outcome === Outcome.ABORT ? BusResp.SLVERR : BusResp.STALL
        port.faultAddr = va
        return done
      }
    }
    return done
  }

  /**
   * An access from a port with held or terminated accesses: the retry of a
   * terminated one gets the fault response (once); a premature retry of a
   * held one stays held; anything else translates normally.
   */
  private heldOutcome(port: Mmu400Port, va: number, write: boolean, attrs: BusAttrs, sid: number): Outcome {
    const h = this.stalls.check(port, va, sid)
    if (h === HeldState.NONE) return this.translateAt(va, write, attrs, sid, port)
    this.xSpan = PAGE - (va % PAGE)
    return h === HeldState.HELD ? Outcome.STALL : h === HeldState.TERMINATED_ABORT ? Outcome.ABORT : Outcome.RAZ
  }

  /**
   * Translates one access as a master's would be (recording faults, filling
   * the TLB, possibly stalling the SMMU's internal probe port) without
   * touching memory. For tests and teaching views.
   */
  translate(va: number, access: AccessSpec): TranslateResult {
    const attrs = busAttrs({ streamId: access.streamId, priv: access.priv ?? false, instr: access.instr ?? false, secure: access.secure ?? false })
    const p = this.probePort
    p.clearStall()
    const o = this.translateAt(va, access.write ?? false, attrs, access.streamId, p)
    return { outcome: OUTCOME_NAME[o], pa: o === Outcome.OK ? this.xPa : 0, span: this.xSpan }
  }

  /**
   * The fault records in words ("cb0: permission fault at lookup level 3, on
   * an unprivileged write from stream 0x3 at input address 0x5000 …"), one
   * line per bank with a fault and one for the global record. Empty when
   * nothing is recorded.
   */
  explainFaults(): string[] {
    const out: string[] = []
    const g = explainGlobalFault(this.read('sGFSR'), this.read('sGFSYNR0'), this.read64('sGFAR'), this.read('sGFSYNR1'))
    if (g !== undefined) out.push(g)
    for (const ctx of this.contexts) {
      const i = ctx.index
      const t = explainContextFault(i, this.read('FSR', i), this.read('FSYNR0', i), this.read64('FAR', i), this.read('CBFRSYNRA', i))
      if (t !== undefined) out.push(t)
    }
    return out
  }

  /**
   * The cached translations, one line per entry, for teaching views:
   * `cb0 asid 0: 0x1000 +4 KiB -> 0x80001000 (level 3) priv RW- user RW-`.
   */
  describeTlb(): string[] {
    const out: string[] = []
    const size = (n: number) => (n >= 2 ** 30 ? `${n / 2 ** 30} GiB` : n >= 2 ** 20 ? `${n / 2 ** 20} MiB` : `${n / 1024} KiB`)
    for (const ctx of this.contexts) {
      const list = ctx.tlb.entries().sort((a, b) => a.vaBase - b.vaBase || a.asid - b.asid)
      for (const e of list) {
        out.push(`cb${ctx.index} ${e.global ? 'global' : `asid ${e.asid}`}: 0x${e.vaBase.toString(16)} +${size(e.size)} -> 0x${e.pa.toString(16)} (level ${e.level}) ${e.permText()}`)
      }
    }
    return out
  }

  // ---------------------------------------------------------------- ATOS

  private atos(ctx: Context, va: number, priv: boolean, write: boolean): bigint {
    this.stats.atos++
    return atosPar(this.walker, ctx, va, priv, write, reads => {
      this.stats.walks++
      this.stats.descriptorReads += reads
    })
  }

  private atosWrite(i: number, v: bigint, op: string, priv: boolean, write: boolean): void {
    const ctx = this.contexts[i]!
    // As for TLBIs: AArch32 on the low word only; AArch64 on either half (the last write leaves the right PAR).
    if (!ctx.aarch64 && !this.mmio.lowWord) return
    // AArch32 contexts: a 32-bit VA in the low word; AArch64: the whole register.
    const va = ctx.aarch64 ? Number(BigInt.asUintN(48, v) & ~0xfffn) : Number(v & 0xfffff000n)
    const par = this.atos(ctx, va, priv, write)
    this.mmio.set(this.reg('PAR'), par, i)
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_atos, ctx.track, op, va, par)
  }

  private gatosWrite(v: bigint, op: string, priv: boolean, write: boolean): void {
    const cb = Number(v & 0xffn)
    const va = Number(BigInt.asUintN(48, v) & ~0xfffn)
    const ctx = this.contexts[cb]
    const par = ctx === undefined ? parFault(FSR.TF, 0) : this.atos(ctx, ctx.aarch64 ? va : va % 2 ** 32 === va ? va : 2 ** 32, priv, write)
    this.mmio.set(this.reg('GPAR'), par)
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_atos, 'smmu/global', op, va, par)
  }
}
