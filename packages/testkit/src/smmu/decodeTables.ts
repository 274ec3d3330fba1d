/**
 * Reads long-descriptor translation tables back from physical memory and
 * lists what they map: every leaf (with its own, not accumulated,
 * attributes), every table descriptor (with its hierarchical attributes) and
 * every malformed entry. Used to check that the descriptors in RAM (written by
 * {@link buildPageTables}, or by the kernel's io-pgtable code) decode to
 * exactly the live mappings.
 *
 * Format: ARMv7-A ARM B3.6.1 / ARMv8-A ARM D5.3; spec/smmu.md §3.4. Bounded:
 * at most four levels, so even looping tables terminate.
 */
import type { PhysMemory } from '@vfio-sim/sim'
import { DescBit, descAddr, descBit, type Ap, type LeafSize, type Mapping, type TableAttrs } from './descriptors.ts'
import { levelSpan, regionsOf, tableEntries, type Regime } from './regime.ts'

/** A leaf found in the tables. */
export interface DecodedMapping extends Mapping {
  /** Level of the leaf descriptor (1, 2 or 3). */
  readonly level: number
  /** Which TTBR's tables hold it. */
  readonly ttbr: 0 | 1
  /** The raw 64-bit descriptor. */
  readonly raw: bigint
  /** Physical address of the descriptor. */
  readonly descAddr: number
  /** Contiguous hint (bit 52). */
  readonly contiguous: boolean
}

/** A table descriptor found in the tables. */
export interface DecodedTable extends TableAttrs {
  readonly ttbr: 0 | 1
  /** Address of the next-level table it points to. */
  readonly next: number
  readonly raw: bigint
  readonly descAddr: number
}

/** A descriptor with bit 0 set that a walk would treat as a Translation fault (L3 type 0b01, L0 block). */
export interface DecodedInvalid {
  readonly va: number
  readonly level: number
  readonly ttbr: 0 | 1
  readonly raw: bigint
  readonly descAddr: number
}

/** Everything {@link decodeTables} found. */
export interface DecodedTables {
  /** Leaves in VA order. */
  readonly mappings: DecodedMapping[]
  /** Table descriptors (in walk order: parent before children, VA order within a table). */
  readonly tables: DecodedTable[]
  /** Reserved/invalid encodings with the valid bit set. */
  readonly invalid: DecodedInvalid[]
}

/** TTBR value → table base (BADDR bits 47:4 are enough for a 4 KiB-aligned root; the ASID [63:48] is dropped). */
function ttbrBase(ttbr: bigint): number {
  return Number(ttbr & 0x0000_ffff_ffff_fff0n)
}

/**
 * Decodes the tables of `regime` rooted at `ttbr0` (and `ttbr1` when the
 * regime has a TTBR1 region). Entries of a root table that lie outside its
 * region (TTBR0 entries shadowed by TTBR1's range) are skipped: no walk can
 * reach them.
 */
export function decodeTables(mem: PhysMemory, regime: Regime, ttbr0: bigint, ttbr1 = 0n): DecodedTables {
  const out: DecodedTables = { mappings: [], tables: [], invalid: [] }
  for (const region of regionsOf(regime)) {
    const ttbr = region.ttbr
    const walk = (table: number, level: number, vaBase: number, entries: number): void => {
      const span = levelSpan(level)
      for (let i = 0; i < entries; i++) {
        const va = vaBase + i * span
        if (level === region.startLevel && (va + span <= region.base || va >= region.end)) continue
        const at = table + i * 8
        const d = mem.read64(at)
        if ((d & 1n) === 0n) continue
        const isTableOrPage = descBit(d, DescBit.TYPE)
        if (level < 3 && isTableOrPage) {
          const next = descAddr(d)
          out.tables.push({
            va,
            level,
            ttbr,
            next,
            raw: d,
            descAddr: at,
            apTable: Number((d >> DescBit.AP_TABLE) & 3n),
            xnTable: descBit(d, DescBit.XN_TABLE),
            pxnTable: descBit(d, DescBit.PXN_TABLE),
            nsTable: descBit(d, DescBit.NS_TABLE),
          })
          walk(next, level + 1, va, 512)
        } else if ((level === 3 && isTableOrPage) || (level === 1 || level === 2)) {
          out.mappings.push({
            va,
            pa: descAddr(d) - (descAddr(d) % span),
            size: span as LeafSize,
            ap: Number((d >> DescBit.AP1) & 3n) as Ap,
            xn: descBit(d, DescBit.XN),
            pxn: descBit(d, DescBit.PXN),
            af: descBit(d, DescBit.AF),
            nG: descBit(d, DescBit.NG),
            attrIndx: Number((d >> DescBit.ATTR_INDX) & 7n),
            sh: Number((d >> DescBit.SH) & 3n),
            ns: descBit(d, DescBit.NS),
            level,
            ttbr,
            raw: d,
            descAddr: at,
            contiguous: descBit(d, DescBit.CONTIGUOUS),
          })
        } else {
          // Level 3 with type 0b01, or a level-0 block: reserved, a walk faults here.
          out.invalid.push({ va, level, ttbr, raw: d, descAddr: at })
        }
      }
    }
    // The TTBR1 region's walk sees VA bits below inputBits: its table starts at VA (top − 2^inputBits).
    const vaBase = region.ttbr === 1 ? 2 ** 32 - 2 ** region.inputBits : 0
    walk(ttbrBase(region.ttbr === 0 ? ttbr0 : ttbr1), region.startLevel, vaBase, tableEntries(region, region.startLevel))
  }
  out.mappings.sort((a, b) => a.va - b.va)
  return out
}

/** The plain {@link Mapping} fields of a decoded leaf (drops level, raw bits and addresses), for comparisons. */
export function plainMapping(m: Mapping): Mapping {
  return { va: m.va, pa: m.pa, size: m.size, ap: m.ap, xn: m.xn, pxn: m.pxn, af: m.af, nG: m.nG, attrIndx: m.attrIndx, sh: m.sh, ns: m.ns }
}
