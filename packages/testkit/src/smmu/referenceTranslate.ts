/**
 * Reference model of one stage-1 translation, computed from the mapping list
 * alone (no tables, no TLB, no registers): the output address, or the exact
 * fault with the FSR bit and the FSYNR0 fields a context bank records.
 *
 * A plain reading of the architecture; each rule names its source. It
 * assumes the tables were laid out as {@link buildPageTables} does: a table
 * exists exactly where a mapping or a {@link TableAttrs} entry needs one (this
 * decides the level of a Translation fault).
 */
import type { Mapping, TableAttrs } from './descriptors.ts'
import { leafLevelOf, levelSpan, preWalkFaultLevel, regionFor, regionsOf, type TtbrRegion, type Regime } from './regime.ts'

/** One transaction as the context bank sees it (after any S2CR PRIVCFG/INSTCFG override). */
export interface RefTxn {
  readonly va: number
  readonly write: boolean
  /** Instruction fetch (AxPROT[2]). */
  readonly instr: boolean
  /** Privileged (AxPROT[0]). */
  readonly priv: boolean
}

/** Context-bank FSR fault bits (spec §1.4 FSR table). */
export const FsrBit = { TF: 1 << 1, AFF: 1 << 2, PF: 1 << 3, EF: 1 << 4, ASF: 1 << 7 } as const

/** FSYNR0 fields (spec §1.4 FSYNR0 table). */
export const Fsynr0 = { PLVL_MASK: 3, WNR: 1 << 4, PNU: 1 << 5, IND: 1 << 6, NSSTATE: 1 << 7, NSATTR: 1 << 8 } as const

/** Kinds of stage-1 fault the reference distinguishes. */
export type RefFaultKind = 'translation' | 'accessFlag' | 'permission' | 'addressSize'

/** Outcome of {@link referenceTranslate}. */
export type RefOutcome =
  | {
      readonly kind: 'ok'
      /** Output address of `txn.va`. */
      readonly pa: number
      /** The mapping that translated it. */
      readonly mapping: Mapping
      readonly level: number
    }
  | {
      readonly kind: 'fault'
      readonly fault: RefFaultKind
      /** The FSR bit this fault sets (ASF, or TF for an address-size fault on a 'tf' regime). */
      readonly fsr: number
      /** Lookup level reported in FSYNR0.PLVL. */
      readonly level: number
      /** FSYNR0 as PLVL | WNR | PNU | IND (NSSTATE/NSATTR left 0: they depend on the security setup). */
      readonly fsynr0: number
      /** FAR: the faulting input address, not page aligned. */
      readonly far: number
    }

/**
 * Readings of points the SMMU architecture text available to us leaves open
 * (docs/decisions/0301). The defaults are the kit's reading; the other values
 * describe a model that documented a different choice, so it can still be
 * checked field by field.
 */
export interface RefOptions {
  /**
   * FSYNR0.IND of a *write* that carries the instruction attribute (after the
   * S2CR.INSTCFG override). 'data' (default): writes are data, IND = 0 (spec
   * §8.3 skeleton `instr = write ? false : …`). 'presented': IND reports the
   * attribute; permissions are still those of a data write.
   */
  readonly writeInd?: 'data' | 'presented'
  /**
   * PLVL of a Translation fault found before the walk (VA outside the TTBR0
   * range, EPD0) in an AArch64 context. 'architecture' (default): level 0
   * (ARMv8 pseudocode). 'start-level': the walk's start level.
   */
  readonly aarch64PreWalkLevel?: 'architecture' | 'start-level'
}

/** Hierarchical attributes accumulated from the table descriptors above a leaf. */
interface Inherited {
  apTable0: boolean
  apTable1: boolean
  xnTable: boolean
  pxnTable: boolean
}

/** Does `m` belong to the same walk (region) as `region`? */
function inRegion(regime: Regime, region: TtbrRegion, va: number): boolean {
  return regionFor(regime, va)?.ttbr === region.ttbr
}

/**
 * Is the level-`level` descriptor covering `va` a table descriptor? With the
 * builder's layout: yes iff some mapping below `level` (leaf level deeper than
 * `level`) or some listed table at `level` or deeper lies in the same
 * level-`level` span.
 */
function isTable(regime: Regime, region: TtbrRegion, mappings: readonly Mapping[], tables: readonly TableAttrs[], level: number, va: number): boolean {
  const span = levelSpan(level)
  const slot = Math.floor(va / span)
  for (const m of mappings) {
    if (leafLevelOf(m.size) > level && Math.floor(m.va / span) === slot && inRegion(regime, region, m.va)) return true
  }
  for (const t of tables) {
    if (t.level >= level && Math.floor(t.va / span) === slot && inRegion(regime, region, t.va)) return true
  }
  return false
}

/**
 * The architectural outcome of `txn` in a context translating with `regime`
 * through tables that hold exactly `mappings` (plus the table descriptors in
 * `tables`).
 */
export function referenceTranslate(
  mappings: readonly Mapping[],
  regime: Regime,
  txn: RefTxn,
  tables: readonly TableAttrs[] = [],
  opts: RefOptions = {},
): RefOutcome {
  // An instruction *write* is checked as a data write; IND reports the
  // effective instruction attribute (spec §3.5: INSTCFG applies to reads only,
  // inferred; §8.3 skeleton `instr = write ? false : …`).
  const instr = txn.instr && !txn.write
  const ind = opts.writeInd === 'presented' ? txn.instr : instr
  const syndrome = (txn.write ? Fsynr0.WNR : 0) | (txn.priv ? Fsynr0.PNU : 0) | (ind ? Fsynr0.IND : 0)
  const fault = (kind: RefFaultKind, fsr: number, level: number): RefOutcome => ({
    kind: 'fault',
    fault: kind,
    fsr,
    level,
    fsynr0: (level & Fsynr0.PLVL_MASK) | syndrome,
    far: txn.va,
  })

  // 1. Region selection. A VA in neither TTBR region (the hole between them,
  //    or beyond the input size) and a walk disabled by EPDn give a
  //    Translation fault before any descriptor is read (ARMv7-A ARM B3.6.4;
  //    ARMv8-A ARM D5.2.3; spec §3.2, §3.6 first row). Level: 1 for
  //    AArch32, 0 for AArch64 (see preWalkFaultLevel).
  const region = regionFor(regime, txn.va)
  const preWalkLevel =
    regime.format === 'aarch64' && opts.aarch64PreWalkLevel === 'start-level' ? regionsOf(regime)[0]!.startLevel : preWalkFaultLevel(regime)
  if (region === undefined) return fault('translation', FsrBit.TF, preWalkLevel)
  if (region.ttbr === 0 ? regime.epd0 : regime.epd1) return fault('translation', FsrBit.TF, preWalkLevel)

  // 2. The leaf covering the VA, if any.
  const m = mappings.find(x => txn.va >= x.va && txn.va < x.va + x.size && inRegion(regime, region, x.va))
  if (m === undefined) {
    // Translation fault at the level of the first invalid descriptor: the walk
    // descends while the descriptor is a table (ARMv7-A ARM B3.7.3 "Translation
    // fault"; spec §3.6 "descriptor invalid → TF, level of the bad descriptor").
    let level = region.startLevel
    while (level < 3 && isTable(regime, region, mappings, tables, level, txn.va)) level++
    return fault('translation', FsrBit.TF, level)
  }
  const level = leafLevelOf(m.size)

  // 3. Hierarchical attributes from the table descriptors above the leaf
  //    (ARMv7-A ARM B3.6.1 "Hierarchical control of access permissions";
  //    spec §3.5 accumulation: OR over the walk).
  const inh: Inherited = { apTable0: false, apTable1: false, xnTable: false, pxnTable: false }
  for (const t of tables) {
    if (t.level >= level) continue
    const span = levelSpan(t.level)
    if (Math.floor(t.va / span) !== Math.floor(txn.va / span) || !inRegion(regime, region, t.va)) continue
    inh.apTable0 ||= (t.apTable & 1) !== 0
    inh.apTable1 ||= (t.apTable & 2) !== 0
    inh.xnTable ||= t.xnTable
    inh.pxnTable ||= t.pxnTable
  }

  // 4. Output address beyond the output size: Address size fault at the leaf
  //    level (ARMv8-A ARM pseudocode: the walk checks the OA before the
  //    access-flag and permission checks; spec §3.6). An SMMUv1 has no ASF
  //    bit and reports a Translation fault (regime.addressSizeFault).
  if (m.pa >= 2 ** regime.oasBits) {
    return regime.addressSizeFault === 'asf' ? fault('addressSize', FsrBit.ASF, level) : fault('translation', FsrBit.TF, level)
  }

  // 5. Access flag: AF = 0 with SCTLR.AFFD = 0 → Access flag fault, which has
  //    priority over a Permission fault (ARMv7-A ARM B3.7.3 "Access flag
  //    fault"; spec §0 runners-up, §3.6).
  if (!m.af && !regime.affd) return fault('accessFlag', FsrBit.AFF, level)

  // 6. Permissions (ARMv7-A ARM B3.7.1 Table B3-6 AP[2:1]; B3.7.2 execute
  //    never; ARMv8-A ARM D5.4; spec §3.5, after QEMU get_S1prot).
  const ap2 = (m.ap & 2) !== 0 || inh.apTable1 // read-only
  const ap1 = (m.ap & 1) !== 0 && !inh.apTable0 // unprivileged access allowed
  const xn = m.xn || inh.xnTable
  const pxn = m.pxn || inh.pxnTable
  const privR = true
  const privW = !ap2
  const userR = ap1
  const userW = ap1 && !ap2
  let allowed: boolean
  if (instr) {
    if (regime.format === 'aarch32-lpae') {
      // AArch32: a fetch also needs read permission; PXN blocks only
      // privileged fetches; WXN / UWXN make writable memory non-executable.
      allowed = txn.priv
        ? !(xn || pxn || !privR || (regime.uwxn && userW) || (regime.wxn && privW))
        : !(xn || !userR || (regime.wxn && userW))
    } else {
      // AArch64 EL1&0: XN is UXN (unprivileged only); a privileged fetch from
      // EL0-writable memory is implicitly PXN; no read permission needed.
      allowed = txn.priv ? !(pxn || userW || (regime.wxn && privW)) : !(xn || (regime.wxn && userW))
    }
  } else if (txn.write) {
    allowed = txn.priv ? privW : userW
  } else {
    allowed = txn.priv ? privR : userR
  }
  if (!allowed) return fault('permission', FsrBit.PF, level)

  return { kind: 'ok', pa: m.pa + (txn.va - m.va), mapping: m, level }
}
