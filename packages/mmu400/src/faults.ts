/**
 * Fault records and interrupt levels. A context fault fills its bank's FSR,
 * FAR, FSYNR0 and GR1 CBFRSYNRA; a global fault fills sGFSR, sGFAR and
 * sGFSYNR0/1. The first fault is latched; later ones, while the status
 * register is not zero, only set MULTI. The interrupts are levels that follow
 * the status registers and their enables (docs/decisions/0201).
 */
import type { IrqLine, Register, RegisterFile, Tracer } from '@vfio-sim/sim'
import type { ResolvedConfig } from './config.ts'
import type { Context } from './context.ts'
import { FSR, FSR_FAULT, FSYNR0, GFSR, GFSR_CONFIG, GFSYNR0, SCR0 } from './registers.ts'
import { SMMU_TRACE } from './trace.ts'

/** What the fault unit needs from the SMMU. */
export interface FaultUnitDeps {
  readonly mmio: RegisterFile
  readonly regs: Readonly<Record<string, Register>>
  readonly contexts: readonly Context[]
  readonly config: ResolvedConfig
  readonly globalIrqs: readonly IrqLine[]
  readonly contextIrqs: readonly IrqLine[]
  readonly tracer: Tracer | undefined
}

/** Attributes of the faulting access, as the syndrome registers record them. */
export interface FaultAccess {
  readonly va: number
  readonly write: boolean
  /** Effective (after S2CR.PRIVCFG). */
  readonly priv: boolean
  /** Effective (after S2CR.INSTCFG; always false for writes). */
  readonly instr: boolean
  readonly secure: boolean
  readonly sid: number
}

/** Short name of an FSR fault bit, for traces. */
export function fsrName(bit: number): string {
  switch (bit) {
    case FSR.TF: return 'translation'
    case FSR.AFF: return 'access flag'
    case FSR.PF: return 'permission'
    case FSR.EF: return 'external abort on walk'
    case FSR.ASF: return 'address size'
    default: return `FSR 0x${bit.toString(16)}`
  }
}

/** Short name of an sGFSR fault bit, for traces. */
export function gfsrName(bit: number): string {
  switch (bit) {
    case GFSR.ICF: return 'ICF (invalid context)'
    case GFSR.USF: return 'USF (unidentified stream)'
    case GFSR.SMCF: return 'SMCF (stream match conflict)'
    case GFSR.UCBF: return 'UCBF (unimplemented context bank)'
    case GFSR.UCIF: return 'UCIF (unimplemented context interrupt)'
    default: return `sGFSR 0x${bit.toString(16)}`
  }
}

/** Records faults and drives the interrupt lines. */
export class FaultUnit {
  private readonly d: FaultUnitDeps
  private readonly levels: Uint8Array
  /** Current sCR0 (kept up to date by the SMMU's sCR0 hook). */
  scr0 = 0

  constructor(deps: FaultUnitDeps) {
    this.d = deps
    this.levels = new Uint8Array(Math.max(1, deps.contextIrqs.length))
  }

  private reg(name: string): Register {
    return this.d.regs[name]!
  }

  /**
   * Records a context fault of kind `bit` (an FSR bit) found at lookup
   * `level` in bank `ctx`; `stall` adds FSR.SS. Returns true if it was the
   * first (recorded) fault, false if it only set MULTI.
   */
  context(ctx: Context, bit: number, level: number, ptwf: boolean, a: FaultAccess, stall: boolean): boolean {
    const m = this.d.mmio
    const fsrReg = this.reg('FSR')
    const i = ctx.index
    const fsr = m.get(fsrReg, i)
    const first = (fsr & FSR_FAULT) === 0
    if (first) {
      m.set(fsrReg, (bit | (stall ? FSR.SS : 0)) >>> 0, i)
      m.set(this.reg('FAR'), a.va, i)
      m.set(this.reg('FSYNR0'), FaultUnit.syndrome(level, ptwf, a), i)
      m.set(this.reg('CBFRSYNRA'), a.sid & 0x7fff, i)
    } else {
      m.set(fsrReg, (fsr | FSR.MULTI | (stall ? FSR.SS : 0)) >>> 0, i)
    }
    return first
  }

  /** FSYNR0 of a context fault. */
  static syndrome(level: number, ptwf: boolean, a: FaultAccess): number {
    return (level & FSYNR0.PLVL_MASK) | (a.write ? FSYNR0.WNR : 0) | (a.priv ? FSYNR0.PNU : 0) | (a.instr ? FSYNR0.IND : 0) |
      (a.secure ? 0 : FSYNR0.NSSTATE | FSYNR0.NSATTR) | (ptwf ? FSYNR0.PTWF : 0)
  }

  /** Records a global fault of kind `bit` (an sGFSR bit). Returns true if it was the first. */
  global(bit: number, a: FaultAccess): boolean {
    const m = this.d.mmio
    const gfsrReg = this.reg('sGFSR')
    const gfsr = m.get(gfsrReg)
    if (gfsr === 0) {
      m.set(gfsrReg, bit)
      m.set(this.reg('sGFAR'), a.va)
      m.set(this.reg('sGFSYNR0'), (a.write ? GFSYNR0.WNR : 0) | (a.priv ? GFSYNR0.PNU : 0) | (a.instr ? GFSYNR0.IND : 0) | (a.secure ? 0 : GFSYNR0.NSSTATE | GFSYNR0.NSATTR))
      m.set(this.reg('sGFSYNR1'), a.sid & 0x7fff)
      return true
    }
    m.set(gfsrReg, (gfsr | GFSR.MULTI) >>> 0)
    return false
  }

  /** True if a global fault of kind `bit` aborts the transaction (GFRE, or GCFGFRE for configuration faults). */
  globalAborts(bit: number): boolean {
    return (this.scr0 & ((bit & GFSR_CONFIG) !== 0 ? SCR0.GCFGFRE : SCR0.GFRE)) !== 0
  }

  /**
   * Recomputes the interrupt levels: context line k is high while a bank
   * routed to it (v1: CBAR.IRPTNDX = k; v2: bank k) has a fault recorded and
   * SCTLR.CFIE; the global line while sGFSR has a bit whose enable is set.
   */
  updateIrqs(): void {
    const { mmio, contexts, contextIrqs, globalIrqs, config } = this.d
    const levels = this.levels
    levels.fill(0)
    const fsrReg = this.reg('FSR')
    for (const ctx of contexts) {
      if (!ctx.cfie) continue
      if ((mmio.get(fsrReg, ctx.index) & FSR_FAULT) === 0) continue
      const k = config.version === 2 ? ctx.index : ctx.irptndx
      if (k < levels.length) levels[k] = 1
    }
    for (let k = 0; k < contextIrqs.length; k++) this.drive(contextIrqs[k]!, levels[k] === 1)
    const gfsr = mmio.get(this.reg('sGFSR'))
    const cfgOn = (this.scr0 & SCR0.GCFGFIE) !== 0
    const gOn = (this.scr0 & SCR0.GFIE) !== 0
    // MULTI only ever accompanies another bit: the level follows the fault bits and their enables.
    const other = gfsr & ~GFSR_CONFIG & ~GFSR.MULTI
    const level = ((gfsr & GFSR_CONFIG) !== 0 && cfgOn) || (other !== 0 && gOn)
    const g = globalIrqs[0]
    if (g !== undefined) this.drive(g, level)
  }

  private drive(line: IrqLine, level: boolean): void {
    if (line.asserted === level) return
    line.set(level)
    const t = this.d.tracer
    if (t?.on) t.instant(SMMU_TRACE.smmu_irq, 'smmu/global', line.name, level)
  }
}
