/**
 * fast-check arbitraries for SMMU stage-1 tests: regimes, non-overlapping
 * mapping sets (4 KiB / 2 MiB / 1 GiB, aligned, both TTBR halves), table
 * attributes, and transactions biased toward mapped addresses and edges.
 *
 * Addresses are generated as per-level table indices, mostly small (so
 * mappings share tables and walks end at every level) and sometimes the last
 * entries of a table (edges), then turned into a VA.
 */
import fc from 'fast-check'
import { Ap, LeafSize, type Mapping, type TableAttrs } from './descriptors.ts'
import { aarch32Regime, aarch64Regime, leafLevelOf, levelSpan, regionFor, regionsOf, tableEntries, type TtbrRegion, type Regime } from './regime.ts'
import type { RefTxn } from './referenceTranslate.ts'

/** Options of {@link arbRegime}. */
export interface RegimeArbOptions {
  /** Formats to draw from (default both). */
  readonly formats?: readonly Regime['format'][]
  /** Allow EPD0/EPD1 = 1 (default true, rarely drawn). */
  readonly epd?: boolean
  /** Allow WXN / UWXN (default true). */
  readonly wxn?: boolean
}

const rarely = (): fc.Arbitrary<boolean> => fc.integer({ min: 0, max: 7 }).map(n => n === 0)

/** A random regime: AArch32-LPAE with any T0SZ/T1SZ split (biased to Linux's 0/0), or AArch64 4 KiB. */
export function arbRegime(opts: RegimeArbOptions = {}): fc.Arbitrary<Regime> {
  const formats = opts.formats ?? ['aarch32-lpae', 'aarch64']
  const epd = opts.epd === false ? fc.constant(false) : rarely()
  const wxn = opts.wxn === false ? fc.constant(false) : rarely()
  const tsz32 = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 2 })
  const a32 = fc
    .record({ t0sz: tsz32, t1sz: tsz32, epd0: epd, epd1: epd, affd: fc.boolean(), wxn, uwxn: wxn })
    .map(r => aarch32Regime(r))
  // 16: 48-bit input (walk from L0); 25: 39-bit (from L1); 34: 30-bit (from L2).
  const a64 = fc
    .record({ t0sz: fc.constantFrom(16, 16, 25, 34), epd0: epd, affd: fc.boolean(), wxn })
    .map(r => aarch64Regime(r))
  const arbs: fc.Arbitrary<Regime>[] = []
  if (formats.includes('aarch32-lpae')) arbs.push(a32)
  if (formats.includes('aarch64')) arbs.push(a64)
  return fc.oneof(...arbs)
}

/** Options of {@link arbMappings}. */
export interface MappingArbOptions {
  /** At most this many mappings (default 10; overlapping draws are dropped). */
  readonly maxMappings?: number
  /** Leaf sizes to draw (default all three). */
  readonly sizes?: readonly LeafSize[]
  /** Output addresses lie in [paBase, paBase + paWindow) (defaults 4 GiB and 4 GiB; both multiples of 1 GiB). */
  readonly paBase?: number
  readonly paWindow?: number
  /** Sometimes draw an output address at or beyond 2^oasBits (address-size faults). Default false. */
  readonly outOfRangePa?: boolean
  /** Attribute bits to draw; `false` pins them to Linux's defaults (AF = 1, AP = RW, no XN/PXN). Default true. */
  readonly randomAttrs?: boolean
}

/** A table index at one level: small (shared tables), last entries (edges) or anywhere. */
function arbIndex(entries: number): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: Math.min(3, entries - 1) }), weight: 6 },
    { arbitrary: fc.integer({ min: Math.max(0, entries - 2), max: entries - 1 }), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: entries - 1 }), weight: 1 },
  )
}

/** First VA of the walk's table space of `region` (TTBR1's tables index VA bits below inputBits). */
function walkBase(region: TtbrRegion): number {
  return region.ttbr === 1 ? 2 ** 32 - 2 ** region.inputBits : 0
}

/** A VA in `region` aligned to a level-`level` span, drawn as table indices. */
function arbVaAt(region: TtbrRegion, level: number): fc.Arbitrary<number> {
  const parts: fc.Arbitrary<number>[] = []
  for (let l = region.startLevel; l <= level; l++) parts.push(arbIndex(tableEntries(region, l)).map(i => i * levelSpan(l)))
  return fc.tuple(...parts).map(xs => walkBase(region) + xs.reduce((a, b) => a + b, 0))
}

/** Random leaf attributes. */
function arbAttrs(random: boolean): fc.Arbitrary<Omit<Mapping, 'va' | 'pa' | 'size'>> {
  if (!random) return fc.constant({ ap: Ap.RW, xn: false, pxn: false, af: true, nG: true, attrIndx: 0, sh: 0, ns: false })
  return fc.record({
    ap: fc.constantFrom(Ap.PRIV_RW, Ap.RW, Ap.PRIV_RO, Ap.RO),
    xn: fc.boolean(),
    pxn: fc.boolean(),
    af: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    nG: fc.boolean(),
    attrIndx: fc.integer({ min: 0, max: 7 }),
    sh: fc.constantFrom(0, 2, 3),
    ns: fc.boolean(),
  })
}

/** Drops every mapping that overlaps an earlier one (in VA), keeping the list's order. */
export function dropOverlaps(ms: readonly Mapping[]): Mapping[] {
  const kept: Mapping[] = []
  for (const m of ms) if (!kept.some(k => m.va < k.va + k.size && k.va < m.va + m.size)) kept.push(m)
  return kept
}

/** Non-overlapping, aligned mappings that {@link buildPageTables} accepts for `regime`. */
export function arbMappings(regime: Regime, opts: MappingArbOptions = {}): fc.Arbitrary<Mapping[]> {
  const regions = regionsOf(regime)
  const sizes = (opts.sizes ?? [LeafSize.SIZE_4K, LeafSize.SIZE_2M, LeafSize.SIZE_1G]).filter(s =>
    regions.some(r => leafLevelOf(s) >= Math.max(1, r.startLevel)),
  )
  const paBase = opts.paBase ?? 2 ** 32
  const paWindow = opts.paWindow ?? 2 ** 32
  const oasTop = 2 ** regime.oasBits
  const one = fc
    .record({
      region: fc.constantFrom(...regions),
      size: fc.constantFrom(...sizes),
      // Weighted toward 4 KiB pages: most sizes in a real IOVA space are pages.
      pageBias: fc.integer({ min: 0, max: 3 }),
      attrs: arbAttrs(opts.randomAttrs ?? true),
      paSlot: fc.integer({ min: 0, max: 0x7fffffff }),
      wildPa: opts.outOfRangePa === true && oasTop < 2 ** 48 ? rarely() : fc.constant(false),
    })
    .chain(r => {
      const size = r.pageBias === 0 ? r.size : sizes.includes(LeafSize.SIZE_4K) ? LeafSize.SIZE_4K : r.size
      const level = leafLevelOf(size)
      if (level < Math.max(1, r.region.startLevel)) return fc.constant(undefined)
      return arbVaAt(r.region, level).map(va => {
        if (regionFor(regime, va)?.ttbr !== r.region.ttbr || va + size > r.region.end) return undefined
        const pa = r.wildPa ? oasTop + (r.paSlot % 64) * size : paBase + ((r.paSlot * size) % paWindow)
        const m: Mapping = { va, pa, size, ...r.attrs }
        return m
      })
    })
  return fc
    .array(one, { minLength: 0, maxLength: opts.maxMappings ?? 10 })
    .map(xs => dropOverlaps(xs.filter((m): m is Mapping => m !== undefined)))
}

/**
 * Table attributes for some of the table descriptors that `mappings` need,
 * plus a few tables with nothing mapped below (their walks end one level
 * deeper).
 */
export function arbTableAttrs(regime: Regime, mappings: readonly Mapping[]): fc.Arbitrary<TableAttrs[]> {
  const attrs = fc.record({ apTable: fc.integer({ min: 0, max: 3 }), xnTable: rarely(), pxnTable: rarely(), nsTable: fc.boolean() })
  const onMapping =
    mappings.length === 0
      ? fc.constant(undefined)
      : fc.record({ i: fc.integer({ min: 0, max: mappings.length - 1 }), depth: fc.integer({ min: 0, max: 3 }), a: attrs }).map(({ i, depth, a }) => {
          const m = mappings[i]!
          const region = regionFor(regime, m.va)!
          const leaf = leafLevelOf(m.size)
          if (leaf <= region.startLevel) return undefined
          const level = region.startLevel + (depth % (leaf - region.startLevel))
          // The mapping's own VA names the descriptor (any VA in its span does) and keeps the TTBR region unambiguous.
          const t: TableAttrs = { va: m.va, level, ...a }
          return t
        })
  const regions = regionsOf(regime)
  const empty = fc
    .record({ region: fc.constantFrom(...regions), depth: fc.integer({ min: 0, max: 2 }) })
    .chain(({ region, depth }) => {
      const level = Math.min(2, region.startLevel + depth)
      return arbVaAt(region, level).map(va => {
        if (regionFor(regime, va)?.ttbr !== region.ttbr) return undefined
        // A block mapping at or above this level would make a table here impossible.
        const blocked = mappings.some(m => leafLevelOf(m.size) <= level && va < m.va + m.size && m.va < va + levelSpan(level))
        if (blocked) return undefined
        const t: TableAttrs = { va, level, apTable: 0, xnTable: false, pxnTable: false, nsTable: false }
        return t
      })
    })
  return fc
    .array(fc.oneof({ arbitrary: onMapping, weight: 3 }, { arbitrary: empty, weight: 1 }), { maxLength: 4 })
    .map(xs => {
      const out: TableAttrs[] = []
      for (const t of xs) {
        if (t === undefined) continue
        if (out.some(o => o.level === t.level && Math.floor(o.va / levelSpan(t.level)) === Math.floor(t.va / levelSpan(t.level)))) continue
        out.push(t)
      }
      return out
    })
}

/** A regime with mappings and table attributes, ready for {@link buildPageTables}. */
export interface TranslationSetup {
  readonly regime: Regime
  readonly mappings: Mapping[]
  readonly tables: TableAttrs[]
}

/** A whole setup: regime, mappings and table attributes. */
export function arbSetup(regimeOpts: RegimeArbOptions = {}, mappingOpts: MappingArbOptions = {}): fc.Arbitrary<TranslationSetup> {
  return arbRegime(regimeOpts).chain(regime =>
    arbMappings(regime, mappingOpts).chain(mappings => arbTableAttrs(regime, mappings).map(tables => ({ regime, mappings, tables }))),
  )
}

/** Upper end (exclusive) of the VAs worth trying for a regime. */
function vaTop(regime: Regime): number {
  return regime.format === 'aarch64' ? 2 ** (64 - regime.t0sz) * 2 : 2 ** 32
}

/** Interesting addresses: region edges and the hole's edges. */
function edgeVas(regime: Regime): number[] {
  const out = new Set<number>([0, vaTop(regime) - 1])
  for (const r of regionsOf(regime)) {
    out.add(r.base)
    out.add(r.end - 1)
    if (r.end < vaTop(regime)) out.add(r.end)
    if (r.base > 0) out.add(r.base - 1)
  }
  return [...out]
}

/**
 * A transaction for a setup: mostly inside a mapping (first byte, last byte or
 * anywhere), otherwise just outside one, a neighbour page sharing its tables,
 * a region edge, or anywhere in the input space. Attributes are random.
 */
export function arbTxn(regime: Regime, mappings: readonly Mapping[]): fc.Arbitrary<RefTxn> {
  const top = vaTop(regime)
  const anywhere = fc.tuple(fc.integer({ min: 0, max: 2 ** 24 - 1 }), fc.integer({ min: 0, max: 2 ** 24 - 1 })).map(([hi, lo]) => (hi * 2 ** 24 + lo) % top)
  const vas: fc.WeightedArbitrary<number>[] = [
    { arbitrary: fc.constantFrom(...edgeVas(regime)), weight: 1 },
    { arbitrary: anywhere, weight: 1 },
  ]
  if (mappings.length > 0) {
    const pick = fc.integer({ min: 0, max: mappings.length - 1 }).map(i => mappings[i]!)
    const inside = fc.tuple(pick, fc.oneof(fc.constant(0), fc.constant(-1), fc.integer({ min: 0, max: 0x3fffffff }))).map(([m, off]) =>
      off < 0 ? m.va + m.size - 1 : m.va + (off % m.size),
    )
    const beside = fc.tuple(pick, fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 0xfff })).map(([m, k, low]) => {
      const va = k < 0 ? m.va + k * 0x1000 + low : m.va + m.size + k * 0x1000 + low
      return Math.min(Math.max(va, 0), top - 1)
    })
    vas.push({ arbitrary: inside, weight: 6 }, { arbitrary: beside, weight: 2 })
  }
  return fc.record({ va: fc.oneof(...vas), write: fc.boolean(), instr: fc.boolean(), priv: fc.boolean() })
}
