/**
 * Translation regimes and the geometry of a long-descriptor walk with the
 * 4 KiB granule, written from the architecture text (ARMv7-A ARM B3.6
 * "Long-descriptor translation table format"; ARMv8-A ARM D5 "VMSAv8-64
 * translation"; spec/smmu.md §3.1–§3.3). Independent of the SMMU model.
 *
 * Addresses are plain numbers (exact below 2^53); nothing here uses 32-bit
 * bit operations on addresses.
 */

/** Which long-descriptor translation scheme a context bank uses. */
export type RegimeFormat = 'aarch32-lpae' | 'aarch64'

/**
 * Everything about a stage-1 context that decides the outcome of a
 * translation, apart from the tables themselves: the TTBCR split and walk
 * enables, and the SCTLR bits that change fault behaviour.
 */
export interface Regime {
  readonly format: RegimeFormat
  /**
   * TTBCR.T0SZ. AArch32-LPAE: 0–7 (input size 32 − T0SZ). AArch64: 16–39
   * (input size 64 − T0SZ; 16 = 48-bit input).
   */
  readonly t0sz: number
  /** TTBCR.T1SZ (AArch32-LPAE only, 0–7). AArch64 regimes here have no TTBR1 region. */
  readonly t1sz: number
  /** TTBCR.EPD0: walks through TTBR0 disabled (Translation fault instead). */
  readonly epd0: boolean
  /** TTBCR.EPD1: walks through TTBR1 disabled. */
  readonly epd1: boolean
  /** SCTLR.AFFD: AF = 0 does not fault. */
  readonly affd: boolean
  /** SCTLR.WXN: writable implies execute-never. */
  readonly wxn: boolean
  /** SCTLR.UWXN: unprivileged-writable implies privileged execute-never (AArch32 only). */
  readonly uwxn: boolean
  /** Output address size in bits (40 for the v1 SMMU, up to 48 for AArch64). */
  readonly oasBits: number
  /**
   * How an output address at or above 2^oasBits is reported. An SMMUv1 FSR has
   * no ASF bit, so the v1 model reports it as a Translation fault
   * (spec/smmu.md §3.4/§3.6, inferred); SMMUv2 has FSR.ASF (bit 7).
   */
  readonly addressSizeFault: 'tf' | 'asf'
}

/** An AArch32-LPAE regime; defaults are Linux's (T0SZ = 0 → 4 GiB through TTBR0). */
export function aarch32Regime(init: Partial<Omit<Regime, 'format'>> = {}): Regime {
  return {
    format: 'aarch32-lpae',
    t0sz: init.t0sz ?? 0,
    t1sz: init.t1sz ?? 0,
    epd0: init.epd0 ?? false,
    epd1: init.epd1 ?? false,
    affd: init.affd ?? false,
    wxn: init.wxn ?? false,
    uwxn: init.uwxn ?? false,
    oasBits: init.oasBits ?? 40,
    addressSizeFault: init.addressSizeFault ?? 'tf',
  }
}

/** An AArch64 regime with the 4 KiB granule; default T0SZ = 16 (48-bit input, walk from level 0). */
export function aarch64Regime(init: Partial<Omit<Regime, 'format' | 't1sz' | 'uwxn'>> = {}): Regime {
  return {
    format: 'aarch64',
    t0sz: init.t0sz ?? 16,
    t1sz: 0,
    epd0: init.epd0 ?? false,
    epd1: init.epd1 ?? true,
    affd: init.affd ?? false,
    wxn: init.wxn ?? false,
    uwxn: false,
    oasBits: init.oasBits ?? 48,
    addressSizeFault: init.addressSizeFault ?? 'asf',
  }
}

/** The part of the input address space one TTBR translates. */
export interface TtbrRegion {
  /** 0 = TTBR0, 1 = TTBR1. */
  readonly ttbr: 0 | 1
  /** First VA of the region. */
  readonly base: number
  /** Input address size of the walk in bits: the region is 2^inputBits bytes (or less, see `end`). */
  readonly inputBits: number
  /** One past the last VA this region translates. */
  readonly end: number
  /** Level of the first lookup. */
  readonly startLevel: number
}

/** Bytes mapped by one descriptor at `level` (4 KiB granule): L0 512 GiB, L1 1 GiB, L2 2 MiB, L3 4 KiB. */
export function levelSpan(level: number): number {
  return 2 ** levelShift(level)
}

/** log2 of {@link levelSpan}: 12 + 9·(3 − level). */
export function levelShift(level: number): number {
  return 12 + 9 * (3 - level)
}

/**
 * First lookup level for an input size with the 4 KiB granule:
 * `4 − ceil((inputBits − 12) / 9)` (ARMv8 ARM D5.2.6; QEMU smmu-common.c;
 * spec §3.3). 32 or 31 bits → 1; 30…25 → 2; 48…40 → 0.
 */
export function startLevelFor(inputBits: number): number {
  return 4 - Math.ceil((inputBits - 12) / 9)
}

/** The regions a regime defines (one or two). */
export function regionsOf(regime: Regime): TtbrRegion[] {
  if (regime.format === 'aarch64') {
    // Only TTBR0 is modelled: VA < 2^(64 − T0SZ). (ARMv8 ARM D5.2.3; the
    // TTBR1 half needs VAs above 2^63 that a JS number cannot hold exactly.)
    const bits = 64 - regime.t0sz
    return [{ ttbr: 0, base: 0, inputBits: bits, end: 2 ** bits, startLevel: startLevelFor(bits) }]
  }
  // AArch32-LPAE: ARMv7-A ARM B3.6.4 "Selecting between TTBR0 and TTBR1,
  // Long-descriptor translation table format" (Table B3-1); spec §3.2.
  const t0 = regime.t0sz & 7
  const t1 = regime.t1sz & 7
  const top = 2 ** 32
  if (t0 === 0 && t1 === 0) return [{ ttbr: 0, base: 0, inputBits: 32, end: top, startLevel: 1 }]
  const ttbr0End = t0 === 0 ? top - 2 ** (32 - t1) : 2 ** (32 - t0)
  const ttbr1Base = t1 === 0 ? 2 ** (32 - t0) : top - 2 ** (32 - t1)
  return [
    // TTBR0's walk always has 32 − T0SZ input bits, even when TTBR1 takes part of that range.
    { ttbr: 0, base: 0, inputBits: 32 - t0, end: ttbr0End, startLevel: startLevelFor(32 - t0) },
    { ttbr: 1, base: ttbr1Base, inputBits: 32 - t1, end: top, startLevel: startLevelFor(32 - t1) },
  ]
}

/** The region translating `va`, or undefined for the hole between TTBR0 and TTBR1 or a VA beyond the input size. */
export function regionFor(regime: Regime, va: number): TtbrRegion | undefined {
  for (const r of regionsOf(regime)) if (va >= r.base && va < r.end) return r
  return undefined
}

/**
 * Index of the descriptor for `va` in the table at `level` of a walk in
 * `region`. The walk sees only the low `inputBits` bits of the VA (for
 * TTBR1 the top bits are all ones and are dropped); at the start level the
 * index is `inputBits − shift` bits wide, below it 9 bits.
 */
export function tableIndex(region: TtbrRegion, level: number, va: number): number {
  const inVa = va % 2 ** region.inputBits
  const shift = levelShift(level)
  const bits = level === region.startLevel ? region.inputBits - shift : 9
  return Math.floor(inVa / 2 ** shift) % 2 ** bits
}

/** Number of descriptors in the table at `level` of `region` (a start-level table may be smaller than 512). */
export function tableEntries(region: TtbrRegion, level: number): number {
  return level === region.startLevel ? 2 ** (region.inputBits - levelShift(level)) : 512
}

/** Level of a leaf of `size` bytes: 4 KiB → 3, 2 MiB → 2, 1 GiB → 1. */
export function leafLevelOf(size: number): number {
  if (size === 0x1000) return 3
  if (size === 0x200000) return 2
  if (size === 0x40000000) return 1
  throw new RangeError(`unsupported leaf size 0x${size.toString(16)}`)
}

/** Level at which a fault found before any descriptor is read is reported: 1 for AArch32, 0 for AArch64. */
export function preWalkFaultLevel(regime: Regime): number {
  // ARMv8 ARM pseudocode AArch64.TranslationTableWalk: when no base is found
  // or the walk is disabled, "level = 0; // AArch32 reports this as a level
  // 1 fault". spec §3.6 (VA outside both regions / EPDn → TF, level 1).
  return regime.format === 'aarch64' ? 0 : 1
}
