/**
 * Programs an SMMU (MMU-400 register layout, SMMUv1/v2 architecture) over
 * MMIO the way a driver does, written from the register descriptions in
 * spec/smmu.md §1 and Linux's sequence in §5 — not from the model. Tests use
 * it to put a context bank in front of a stream with tables from
 * {@link buildPageTables}, and to read the fault record back.
 *
 * Works over anything with 32-bit `readl`/`writel` (the interconnect does).
 */
import type { BuiltTables } from './PageTableBuilder.ts'
import type { RegimeFormat } from './regime.ts'

/** 32-bit register access, as the CPU does it (the {@link Interconnect} from `@vfio-sim/sim` fits). */
export interface RegisterBus {
  readl(addr: number): number
  writel(addr: number, value: number): void
  /** One 64-bit write, when the bus can do it (the interconnect can). */
  write64?(addr: number, value: bigint): unknown
}

/** Global register space 0 offsets (spec §1.2). */
export const SmmuGr0 = {
  SCR0: 0x000,
  IDR0: 0x020,
  IDR1: 0x024,
  IDR2: 0x028,
  SGFAR: 0x040,
  SGFSR: 0x048,
  SGFSYNR0: 0x050,
  SGFSYNR1: 0x054,
  TLBIALLNSNH: 0x068,
  STLBGSYNC: 0x070,
  STLBGSTATUS: 0x074,
  SMR: 0x800,
  S2CR: 0xc00,
} as const

/** Global register space 1 offsets (spec §1.3). */
export const SmmuGr1 = { CBAR: 0x000, CBFRSYNRA: 0x400, CBA2R: 0x800 } as const

/** Context bank offsets (spec §1.4). */
export const SmmuCb = {
  SCTLR: 0x000,
  TCR2: 0x010,
  TTBR0: 0x020,
  TTBR1: 0x028,
  TCR: 0x030,
  CONTEXTIDR: 0x034,
  MAIR0: 0x038,
  MAIR1: 0x03c,
  PAR: 0x050,
  FSR: 0x058,
  FSRRESTORE: 0x05c,
  FAR: 0x060,
  FSYNR0: 0x068,
  TLBIASID: 0x610,
  TLBIALL: 0x618,
  TLBSYNC: 0x7f0,
  TLBSTATUS: 0x7f4,
  ATS1PR: 0x800,
  ATSR: 0x8f0,
} as const

/** sCR0 bits (spec §1.2 sCR0 table). */
export const Scr0 = { CLIENTPD: 1 << 0, GFRE: 1 << 1, GFIE: 1 << 2, GCFGFRE: 1 << 4, GCFGFIE: 1 << 5, USFCFG: 1 << 10 } as const

/** Linux's stage-1 MAIR0: idx0 Normal-NC 0x44, idx1 WBRWA 0xFF, idx2 Device-nGnRE 0x04, idx3 0xF4 (spec §3.4). */
export const LINUX_MAIR0 = 0xf404ff44

/** Where the pages of an SMMU instance are, from IDR1 (spec §1.1). */
export interface SmmuGeometry {
  /** 4 KiB or 64 KiB (IDR1.PAGESIZE). */
  readonly pageSize: number
  /** 2^(NUMPAGENDXB + 1): context bank 0 is page NUMPAGE. */
  readonly numPage: number
  /** IDR1.NUMCB. */
  readonly numCb: number
  /** Address of the GR1 page. */
  readonly gr1: number
  /** Address of context bank `n`'s page. */
  cb(n: number): number
}

/** Reads IDR1 and works out the register-space geometry of the SMMU at `base`. */
export function smmuGeometry(bus: RegisterBus, base: number): SmmuGeometry {
  const idr1 = bus.readl(base + SmmuGr0.IDR1) >>> 0
  const pageSize = idr1 >>> 31 ? 0x10000 : 0x1000
  const numPage = 2 ** (((idr1 >>> 28) & 7) + 1)
  return { pageSize, numPage, numCb: idr1 & 0xff, gr1: base + pageSize, cb: n => base + (numPage + n) * pageSize }
}

/** Writes a 64-bit register as two 32-bit halves, low word first (spec §0 item 5). */
export function writeq(bus: RegisterBus, addr: number, value: bigint): void {
  bus.writel(addr, Number(value & 0xffffffffn))
  bus.writel(addr + 4, Number((value >> 32n) & 0xffffffffn))
}

/** Reads a 64-bit register as two 32-bit halves; returns a number (exact below 2^53). */
export function readq(bus: RegisterBus, addr: number): number {
  const lo = bus.readl(addr) >>> 0
  const hi = bus.readl(addr + 4) >>> 0
  return hi * 2 ** 32 + lo
}

/** What {@link programStage1Context} sets up. */
export interface ContextProgram {
  /** Context bank index (must be a stage-1-capable bank: ≥ IDR1.NUMS2CB). */
  readonly cb: number
  /** Stream-match register group to use. */
  readonly smrIndex: number
  /** Stream ID (SMR.ID) and mask (SMR.MASK, default 0). */
  readonly streamId: number
  readonly smrMask?: number
  /** Tables and register values from {@link buildPageTables}. */
  readonly tables: BuiltTables
  /** Table format; 'aarch64' also writes CBA2R.VA64 and TCR2 (SMMUv2 only). */
  readonly format: RegimeFormat
  readonly mair0?: number
  readonly mair1?: number
  /** CBAR.IRPTNDX (v1 context interrupt index, default 0). */
  readonly irptndx?: number
  /** S2CR.PRIVCFG (0 as presented, 2 unprivileged, 3 privileged) and INSTCFG (0, 2 data, 3 instruction). */
  readonly privcfg?: number
  readonly instcfg?: number
  /** Overrides {@link BuiltTables.sctlr}. */
  readonly sctlr?: number
}

/**
 * Programs one stage-1 translation context for one stream and enables the
 * SMMU (clears sCR0.CLIENTPD, fault reporting on, unmatched streams bypass).
 * Order as Linux: the bank (CBAR, CBA2R, TCR2, TTBRs, TCR, MAIRs, SCTLR last),
 * then S2CR before SMR, then sCR0 (spec §5.1 reset, §5.2 attach, §5.3).
 */
export function programStage1Context(bus: RegisterBus, base: number, p: ContextProgram): SmmuGeometry {
  const g = smmuGeometry(bus, base)
  const cb = g.cb(p.cb)
  // CBAR: TYPE = 01 (stage 1, stage 2 bypass) [17:16], BPSHCFG = 3 [9:8], MemAttr = 0xF [15:12], IRPTNDX [31:24].
  bus.writel(g.gr1 + SmmuGr1.CBAR + 4 * p.cb, ((1 << 16) | (3 << 8) | (0xf << 12) | ((p.irptndx ?? 0) << 24)) >>> 0)
  if (p.format === 'aarch64') {
    bus.writel(g.gr1 + SmmuGr1.CBA2R + 4 * p.cb, 1) // VA64
    bus.writel(cb + SmmuCb.TCR2, p.tables.tcr2)
  }
  writeq(bus, cb + SmmuCb.TTBR0, p.tables.ttbr0)
  writeq(bus, cb + SmmuCb.TTBR1, p.tables.ttbr1)
  bus.writel(cb + SmmuCb.TCR, p.tables.ttbcr)
  bus.writel(cb + SmmuCb.MAIR0, p.mair0 ?? LINUX_MAIR0)
  bus.writel(cb + SmmuCb.MAIR1, p.mair1 ?? 0)
  bus.writel(cb + SmmuCb.FSR, 0xffffffff) // W1C: start from a clean fault record
  bus.writel(cb + SmmuCb.TLBIALL, 0)
  bus.writel(cb + SmmuCb.SCTLR, p.sctlr ?? p.tables.sctlr)
  // S2CR: TYPE = 00 (translate) [17:16], CBNDX [7:0], PRIVCFG [25:24], INSTCFG [27:26].
  bus.writel(base + SmmuGr0.S2CR + 4 * p.smrIndex, (p.cb | ((p.privcfg ?? 0) << 24) | ((p.instcfg ?? 0) << 26)) >>> 0)
  // SMR: VALID [31], MASK [30:16], ID [14:0].
  bus.writel(base + SmmuGr0.SMR + 4 * p.smrIndex, (0x80000000 | ((p.smrMask ?? 0) << 16) | p.streamId) >>> 0)
  bus.writel(base + SmmuGr0.SCR0, Scr0.GFRE | Scr0.GFIE | Scr0.GCFGFRE | Scr0.GCFGFIE)
  return g
}

/** A context bank's fault record. */
export interface ContextFaultRecord {
  readonly fsr: number
  /** FAR (64-bit register, as a number). */
  readonly far: number
  readonly fsynr0: number
  /** GR1 CBFRSYNRA[cb]: stream ID of the faulting transaction. */
  readonly cbfrsynra: number
}

/** Reads FSR, FAR, FSYNR0 and CBFRSYNRA of bank `cb`. */
export function readContextFault(bus: RegisterBus, base: number, cb: number): ContextFaultRecord {
  const g = smmuGeometry(bus, base)
  const page = g.cb(cb)
  return {
    fsr: bus.readl(page + SmmuCb.FSR) >>> 0,
    far: readq(bus, page + SmmuCb.FAR),
    fsynr0: bus.readl(page + SmmuCb.FSYNR0) >>> 0,
    cbfrsynra: bus.readl(g.gr1 + SmmuGr1.CBFRSYNRA + 4 * cb) >>> 0,
  }
}

/** Clears bank `cb`'s FSR the way Linux does: write back the value read (W1C). */
export function clearContextFault(bus: RegisterBus, base: number, cb: number): void {
  const page = smmuGeometry(bus, base).cb(cb)
  bus.writel(page + SmmuCb.FSR, bus.readl(page + SmmuCb.FSR) >>> 0)
}

/** CB TLB-invalidate register offsets (spec §1.4, §4.2). */
export const SmmuTlbi = { TLBIVA: 0x600, TLBIVAA: 0x608, TLBIASID: 0x610, TLBIALL: 0x618, TLBIVAL: 0x620, TLBIVAAL: 0x628 } as const

/**
 * Waits for the bank's TLB maintenance to finish: write TLBSYNC, poll
 * TLBSTATUS.SACTIVE (spec §4.3). Throws if it never clears (Linux would log
 * "TLB sync timed out").
 */
export function tlbSync(bus: RegisterBus, base: number, cb: number): void {
  const page = smmuGeometry(bus, base).cb(cb)
  bus.writel(page + SmmuCb.TLBSYNC, 0xffffffff)
  for (let i = 0; i < 1000; i++) if ((bus.readl(page + SmmuCb.TLBSTATUS) & 1) === 0) return
  throw new Error('TLB sync timed out')
}

/** TLBIALL on bank `cb`, then sync. */
export function tlbiAll(bus: RegisterBus, base: number, cb: number): void {
  bus.writel(smmuGeometry(bus, base).cb(cb) + SmmuTlbi.TLBIALL, 0)
  tlbSync(bus, base, cb)
}

/** TLBIASID for `asid` on bank `cb` (ASID in the low bits), then sync. */
export function tlbiAsid(bus: RegisterBus, base: number, cb: number, asid: number): void {
  bus.writel(smmuGeometry(bus, base).cb(cb) + SmmuTlbi.TLBIASID, asid & 0xffff)
  tlbSync(bus, base, cb)
}

/**
 * Invalidate by VA (TLBIVA, or TLBIVAL when `leafOnly`) on bank `cb`, then
 * sync. Payload as spec §0 item 4: AArch32 contexts take one 32-bit write of
 * `VA[31:12] | ASID[7:0]`; AArch64 contexts a 64-bit `(VA >> 12) | ASID << 48`
 * (one 64-bit write when the bus offers `write64`, else two halves, low first).
 */
export function tlbiVa(bus: RegisterBus, base: number, cb: number, format: RegimeFormat, va: number, asid: number, leafOnly = false): void {
  const reg = smmuGeometry(bus, base).cb(cb) + (leafOnly ? SmmuTlbi.TLBIVAL : SmmuTlbi.TLBIVA)
  if (format === 'aarch32-lpae') bus.writel(reg, (Math.floor(va / 0x1000) * 0x1000 + (asid & 0xff)) >>> 0)
  else {
    // A 64-bit kernel (the only kind that uses AArch64 contexts) does one 64-bit write.
    const v = (BigInt(Math.floor(va / 0x1000)) & 0xf_ffff_ffffn) | (BigInt(asid & 0xffff) << 48n)
    if (bus.write64 !== undefined) bus.write64(reg, v)
    else writeq(bus, reg, v)
  }
  tlbSync(bus, base, cb)
}
