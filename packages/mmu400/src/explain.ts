/**
 * Plain-language decoding of the fault registers, for workshop learners
 * ("why did my DMA fault?"). Reads only architectural registers, so the text
 * says what a driver could learn from the same registers.
 */
import { FSR, FSYNR0, GFSR, GFSYNR0 } from './registers.ts'

const hex = (n: number | bigint) => '0x' + n.toString(16)
const article = (w: string) => (/^[aeiou]/.test(w) ? 'an ' : 'a ') + w

const FSR_TEXT: readonly [number, string][] = [
  [FSR.TF, 'translation fault'], [FSR.AFF, 'access flag fault'], [FSR.PF, 'permission fault'],
  [FSR.EF, 'external abort'], [FSR.TLBMCF, 'TLB match conflict'], [FSR.TLBLKF, 'TLB lock fault'],
  [FSR.ASF, 'address size fault'], [FSR.UUT, 'unsupported upstream transaction'],
]

const GFSR_TEXT: readonly [number, string][] = [
  [GFSR.ICF, 'invalid context fault (S2CR type fault, or a bank type the SMMU cannot translate)'],
  [GFSR.USF, 'unidentified stream fault (no SMR matched and sCR0.USFCFG = 1)'],
  [GFSR.SMCF, 'stream match conflict (several SMRs matched)'],
  [GFSR.UCBF, 'unimplemented context bank (S2CR.CBNDX >= NUMCB)'],
  [GFSR.UCIF, 'unimplemented context interrupt (CBAR.IRPTNDX >= NUMIRPT)'],
  [GFSR.CAF, 'configuration access fault'], [GFSR.EF, 'external fault'], [GFSR.PF, 'permission fault'],
  [GFSR.UUT, 'unsupported upstream transaction'],
]

/** Describes context bank `cb`'s fault record, or returns undefined when FSR records nothing. */
export function explainContextFault(cb: number, fsr: number, fsynr0: number, far: bigint, sid: number): string | undefined {
  const kinds = FSR_TEXT.filter(([bit]) => (fsr & bit) !== 0).map(([, t]) => t)
  if (kinds.length === 0 && (fsr & (FSR.SS | FSR.MULTI)) === 0) return undefined
  const access = `${fsynr0 & FSYNR0.PNU ? 'privileged' : 'unprivileged'} ${fsynr0 & FSYNR0.WNR ? 'write' : fsynr0 & FSYNR0.IND ? 'instruction fetch' : 'data read'}`
  let s = `cb${cb}: ${kinds.join(' + ') || 'fault'} at lookup level ${fsynr0 & FSYNR0.PLVL_MASK}`
  if (fsynr0 & FSYNR0.PTWF) s += ' (while fetching a page-table descriptor)'
  s += `, on ${article(access)} from stream ${hex(sid)} at input address ${hex(far)} (FSR ${hex(fsr >>> 0)}, FSYNR0 ${hex(fsynr0 >>> 0)})`
  if (fsr & FSR.MULTI) s += '; more faults happened after it (MULTI): only the first is recorded'
  if (fsr & FSR.SS) s += '; the transaction is stalled until RESUME'
  return s
}

/** Describes the global fault record, or returns undefined when sGFSR records nothing. */
export function explainGlobalFault(gfsr: number, gfsynr0: number, gfar: bigint, sid: number): string | undefined {
  const kinds = GFSR_TEXT.filter(([bit]) => (gfsr & bit) !== 0).map(([, t]) => t)
  if (kinds.length === 0) return undefined
  const access = `${gfsynr0 & GFSYNR0.PNU ? 'privileged' : 'unprivileged'} ${gfsynr0 & GFSYNR0.WNR ? 'write' : gfsynr0 & GFSYNR0.IND ? 'instruction fetch' : 'data read'}`
  let s = `global: ${kinds.join(' + ')}, on ${article(access)} from stream ${hex(sid)} at ${hex(gfar)} (sGFSR ${hex(gfsr >>> 0)})`
  if (gfsr & GFSR.MULTI) s += '; more global faults happened after it (MULTI)'
  return s
}
