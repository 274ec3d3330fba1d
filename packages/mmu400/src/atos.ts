/**
 * Address translation operations (ATS1PR/PW/UR/UW and the global GATS1xx):
 * a stage-1 lookup for a chosen access, answered in PAR. No fault is
 * recorded in FSR and no interrupt is raised (spec §1.5, inferred;
 * docs/decisions/0204).
 */
import type { Context } from './context.ts'
import { CBAR_TYPE, FSR, PAR } from './registers.ts'
import type { Walker } from './walk.ts'
import { neededPerm } from './walk.ts'

/** PAR of a failed translation: F, the FSR fault bit in FST, the LPAE format bit, PLVL in [33:32]. */
export function parFault(fsrBit: number, level: number): bigint {
  return (BigInt(level & 3) << 32n) | BigInt(PAR.F | (fsrBit & 0xfe) | PAR.LPAE)
}

/**
 * Translates `va` in bank `ctx` for a read or write, privileged or not (never
 * an instruction fetch), using and filling the TLB. Returns the PAR value:
 * `PA[47:12] | SH[8:7] | NS[9] | LPAE[11] | ATTR[63:56]`, or {@link parFault}.
 * `onWalk(reads)` reports a walk and its descriptor fetches (for counters).
 */
export function atosPar(walker: Walker, ctx: Context, va: number, priv: boolean, write: boolean, onWalk: (reads: number) => void): bigint {
  if (!ctx.enabled) return BigInt(va - (va % 4096)) | BigInt(PAR.LPAE)
  if (ctx.cbarType !== CBAR_TYPE.S1_TRANS_S2_BYPASS) return parFault(FSR.TF, 1)
  let e = ctx.tlb.lookup(va, ctx.asid)
  if (e === undefined) {
    const before = walker.descriptorReads
    e = walker.walk(ctx, va)
    onWalk(walker.descriptorReads - before)
    if (e === undefined) return parFault(walker.faultBit, walker.faultLevel)
    ctx.tlb.insert(e)
  }
  if ((e.perms & neededPerm(write, priv, false)) === 0) return parFault(FSR.PF, e.level)
  const pa = e.pa + (va - e.vaBase)
  return BigInt(pa - (pa % 4096)) | BigInt((e.sh << 7) | (e.ns ? 1 << 9 : 0) | PAR.LPAE) | (BigInt(e.attr) << 56n)
}
