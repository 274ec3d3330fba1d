/**
 * A translation context bank's state, decoded from its registers whenever
 * software writes one of them (SCTLR, TCR, TCR2, TTBRn, MAIR, CBAR, CBA2R),
 * so that a translation reads plain fields instead of decoding registers.
 */
import { decodeAddrSize } from './config.ts'
import { SCTLR, TTBCR } from './registers.ts'
import { Tlb } from './tlb.ts'

/** The decoded state of context bank `index`. */
export class Context {
  readonly index: number
  /** Trace track, `smmu/cbN`. */
  readonly track: string
  readonly tlb: Tlb

  // --- from SCTLR ---
  sctlr = 0
  enabled = false
  affd = false
  bigEndian = false
  cfre = false
  cfie = false
  /** Stall on fault (SCTLR.CFCFG, when the model supports stall). */
  stallOnFault = false
  hupcf = false
  wxn = false
  uwxn = false

  // --- from CBAR / CBA2R ---
  cbarType = 0
  vmid = 0
  irptndx = 0
  hyp = false
  /** AArch64 descriptor format (v2 CBA2R.VA64). */
  aarch64 = false

  // --- from TCR / TCR2 / TTBRn ---
  /** T0SZ / T1SZ as the regime reads them (3 bits AArch32, 6 bits AArch64). */
  t0sz = 0
  t1sz = 0
  epd0 = false
  epd1 = false
  /** TCR.TG0 (AArch64; 0 = 4 KiB, the only granule modelled). */
  tg0 = 0
  /** ASID in use (from TTBR1 when TCR.A1, else TTBR0). */
  asid = 0
  /** Table base addresses of TTBR0/TTBR1 (before alignment to the start-level table size). */
  ttb0 = 0
  ttb1 = 0
  /** Output address size in bits for this context. */
  oas = 40
  mair0 = 0
  mair1 = 0

  // --- stall state ---
  /** A faulting transaction is held (stall mode) until RESUME. */
  stalled = false

  constructor(index: number, tlbEntries: number) {
    this.index = index
    this.track = `smmu/cb${index}`
    this.tlb = new Tlb(tlbEntries)
  }

  /** Decodes SCTLR. `stallSupported` is false when the model has no stall. */
  setSctlr(v: number, stallSupported: boolean): void {
    this.sctlr = v >>> 0
    this.enabled = (v & SCTLR.M) !== 0
    this.affd = (v & SCTLR.AFFD) !== 0
    this.bigEndian = (v & SCTLR.E) !== 0
    this.cfre = (v & SCTLR.CFRE) !== 0
    this.cfie = (v & SCTLR.CFIE) !== 0
    this.stallOnFault = stallSupported && (v & SCTLR.CFCFG) !== 0
    this.hupcf = (v & SCTLR.HUPCF) !== 0
    this.wxn = (v & SCTLR.WXN) !== 0
    this.uwxn = (v & SCTLR.UWXN) !== 0
  }

  /** Decodes CBAR and (v2) CBA2R. */
  setCbar(cbar: number, cba2r: number): void {
    this.cbarType = (cbar >>> 16) & 3
    this.vmid = cbar & 0xff
    this.hyp = ((cbar >>> 10) & 1) !== 0
    this.irptndx = (cbar >>> 24) & 0xff
    this.aarch64 = (cba2r & 1) !== 0
  }

  /**
   * Decodes TCR, TCR2 and the TTBRs. `ttbrNLo/Hi` are the two 32-bit halves.
   * `smmuOas` is the SMMU's output size (IDR2.OAS).
   */
  setTranslation(tcr: number, tcr2: number, ttbr0Lo: number, ttbr0Hi: number, ttbr1Lo: number, ttbr1Hi: number, smmuOas: number): void {
    const a1 = (tcr & TTBCR.A1) !== 0
    this.epd0 = (tcr & TTBCR.EPD0) !== 0
    this.epd1 = (tcr & TTBCR.EPD1) !== 0
    if (this.aarch64) {
      // VMSAv8-64 TCR: T0SZ[5:0], TG0[15:14], T1SZ[21:16]; ASID 16-bit with TCR2.AS.
      this.t0sz = tcr & 0x3f
      this.t1sz = (tcr >>> 16) & 0x3f
      this.tg0 = (tcr >>> 14) & 3
      const asidMask = (tcr2 & (1 << 4)) !== 0 ? 0xffff : 0xff
      this.asid = ((a1 ? ttbr1Hi : ttbr0Hi) >>> 16) & asidMask
      // BADDR[47:1]; bit 0 is CnP.
      this.ttb0 = (ttbr0Hi & 0xffff) * 2 ** 32 + ((ttbr0Lo & ~1) >>> 0)
      this.ttb1 = (ttbr1Hi & 0xffff) * 2 ** 32 + ((ttbr1Lo & ~1) >>> 0)
      this.oas = Math.min(decodeAddrSize(tcr2 & 7), smmuOas)
    } else {
      // VMSAv7-LPAE TTBCR: T0SZ[2:0] (Linux writes 32 into [5:0]: bits [5:3] ignored), T1SZ[18:16].
      this.t0sz = tcr & TTBCR.T0SZ_MASK
      this.t1sz = (tcr >>> TTBCR.T1SZ_SHIFT) & 7
      this.tg0 = 0
      this.asid = ((a1 ? ttbr1Hi : ttbr0Hi) >>> 16) & 0xff
      // BADDR[39:x]: bits 47:40 must be zero (checked as an address-size fault at walk time).
      this.ttb0 = (ttbr0Hi & 0xffff) * 2 ** 32 + (ttbr0Lo >>> 0)
      this.ttb1 = (ttbr1Hi & 0xffff) * 2 ** 32 + (ttbr1Lo >>> 0)
      this.oas = Math.min(40, smmuOas)
    }
  }
}
