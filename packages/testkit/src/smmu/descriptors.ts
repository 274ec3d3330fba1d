/**
 * Long-descriptor (LPAE / VMSAv8-64, 4 KiB granule) descriptor layout and the
 * mapping description the test kit works with. Bit positions come from the
 * architecture text: ARMv7-A ARM B3.6.1–B3.6.2 (long-descriptor formats),
 * ARMv8-A ARM D5.3 (VMSAv8-64 descriptor formats); spec/smmu.md §3.4.
 *
 * Descriptors are handled as bigint: the kit is not a hot path, and bigint
 * avoids JavaScript's signed 32-bit bit operations.
 */

/** Leaf sizes with the 4 KiB granule: L3 page, L2 block, L1 block. */
export const LeafSize = { SIZE_4K: 0x1000, SIZE_2M: 0x200000, SIZE_1G: 0x40000000 } as const
/** One of {@link LeafSize}. */
export type LeafSize = (typeof LeafSize)[keyof typeof LeafSize]

/**
 * Stage-1 data access permissions AP[2:1] (ARMv7-A ARM B3.7.1 Table B3-6,
 * "AP[2:1] access permissions model"): AP[2] = read-only, AP[1] =
 * unprivileged access allowed.
 */
export const Ap = {
  /** 0b00: privileged read/write, unprivileged no access. */
  PRIV_RW: 0,
  /** 0b01: read/write at any privilege. */
  RW: 1,
  /** 0b10: privileged read-only, unprivileged no access. */
  PRIV_RO: 2,
  /** 0b11: read-only at any privilege. */
  RO: 3,
} as const
/** One of {@link Ap} (the value of AP[2:1]). */
export type Ap = (typeof Ap)[keyof typeof Ap]

/** One leaf mapping: `size` bytes at input address `va` to output address `pa`, with its leaf attributes. */
export interface Mapping {
  readonly va: number
  readonly pa: number
  readonly size: LeafSize
  /** AP[2:1]. */
  readonly ap: Ap
  /** XN (AArch64: UXN), descriptor bit 54. */
  readonly xn: boolean
  /** PXN, descriptor bit 53. */
  readonly pxn: boolean
  /** Access flag, bit 10. */
  readonly af: boolean
  /** not-Global, bit 11. */
  readonly nG: boolean
  /** AttrIndx[2:0], bits 4:2 (MAIR byte index). */
  readonly attrIndx: number
  /** SH[1:0], bits 9:8. */
  readonly sh: number
  /** NS, bit 5. */
  readonly ns: boolean
}

/**
 * Attributes of one table descriptor: the descriptor at `level` whose range
 * contains `va` is a table descriptor (pointing to a level + 1 table) with
 * these hierarchical attributes. Listing an entry with all attributes clear
 * just says "this table exists" (what a walk sees when a table is present but
 * holds no mapping for the address).
 */
export interface TableAttrs {
  /**
   * Any VA inside the span of the descriptor (it also picks the TTBR region,
   * which matters when TTBR0's and TTBR1's tables both cover an address).
   */
  readonly va: number
  /** Level of the table descriptor (start level … 2). */
  readonly level: number
  /** APTable[1:0], bits 62:61: bit 0 = no unprivileged access below, bit 1 = no write access below. */
  readonly apTable: number
  /** XNTable (AArch64: UXNTable), bit 60. */
  readonly xnTable: boolean
  /** PXNTable, bit 59. */
  readonly pxnTable: boolean
  /** NSTable, bit 63. */
  readonly nsTable: boolean
}

/** A mapping with defaults for every attribute not given: RW for all, executable, AF = 1, nG = 1. */
export function mapping(init: Pick<Mapping, 'va' | 'pa' | 'size'> & Partial<Mapping>): Mapping {
  return {
    va: init.va,
    pa: init.pa,
    size: init.size,
    ap: init.ap ?? Ap.RW,
    xn: init.xn ?? false,
    pxn: init.pxn ?? false,
    af: init.af ?? true,
    nG: init.nG ?? true,
    attrIndx: init.attrIndx ?? 0,
    sh: init.sh ?? 0,
    ns: init.ns ?? false,
  }
}

/** Table attributes with defaults (all clear). */
export function tableAttrs(init: Pick<TableAttrs, 'va' | 'level'> & Partial<TableAttrs>): TableAttrs {
  return {
    va: init.va,
    level: init.level,
    apTable: init.apTable ?? 0,
    xnTable: init.xnTable ?? false,
    pxnTable: init.pxnTable ?? false,
    nsTable: init.nsTable ?? false,
  }
}

/** Descriptor bit positions (bigint shifts). */
export const DescBit = {
  VALID: 0n,
  /** Bit 1: table (L0–L2) / page (L3) when set, block when clear. */
  TYPE: 1n,
  ATTR_INDX: 2n,
  NS: 5n,
  AP1: 6n,
  AP2: 7n,
  SH: 8n,
  AF: 10n,
  NG: 11n,
  CONTIGUOUS: 52n,
  PXN: 53n,
  XN: 54n,
  PXN_TABLE: 59n,
  XN_TABLE: 60n,
  AP_TABLE: 61n,
  NS_TABLE: 63n,
} as const

/** Output-address field, bits 47:12 (bits 47:40 must be zero for a 40-bit OA). */
export const DESC_ADDR_MASK = 0x0000_ffff_ffff_f000n

const bit = (b: boolean, pos: bigint): bigint => (b ? 1n << pos : 0n)

/** Encodes the leaf descriptor of `m` at `level` (block at L1/L2 = 0b01, page at L3 = 0b11). */
export function encodeLeaf(m: Mapping, level: number): bigint {
  const type = level === 3 ? 0b11n : 0b01n
  return (
    type |
    (BigInt(m.attrIndx & 7) << DescBit.ATTR_INDX) |
    bit(m.ns, DescBit.NS) |
    (BigInt(m.ap & 1) << DescBit.AP1) |
    (BigInt((m.ap >> 1) & 1) << DescBit.AP2) |
    (BigInt(m.sh & 3) << DescBit.SH) |
    bit(m.af, DescBit.AF) |
    bit(m.nG, DescBit.NG) |
    (BigInt(m.pa) & DESC_ADDR_MASK) |
    bit(m.pxn, DescBit.PXN) |
    bit(m.xn, DescBit.XN)
  )
}

/** Encodes a table descriptor pointing at `next` with the hierarchical attributes of `t` (or none). */
export function encodeTable(next: number, t?: Omit<TableAttrs, 'va' | 'level'>): bigint {
  let d = 0b11n | (BigInt(next) & DESC_ADDR_MASK)
  if (t !== undefined) {
    d |= bit(t.pxnTable, DescBit.PXN_TABLE) | bit(t.xnTable, DescBit.XN_TABLE) | bit(t.nsTable, DescBit.NS_TABLE)
    d |= BigInt(t.apTable & 3) << DescBit.AP_TABLE
  }
  return d
}

/** The bit at `pos` of descriptor `d`. */
export function descBit(d: bigint, pos: bigint): boolean {
  return ((d >> pos) & 1n) === 1n
}

/** Output address bits 47:12 of a descriptor, as a number. */
export function descAddr(d: bigint): number {
  return Number(d & DESC_ADDR_MASK)
}
