/**
 * Configuration of one SMMU instance and the ID-register values derived from
 * it. The model is "MMU-400 register layout, SMMUv1 architecture, stage 1
 * advertised" (docs/decisions/0200-mmu400-personality.md): a real MMU-400 is
 * stage-2 only, but the workshop needs stage 1 with execute permission.
 */

/** What the board may choose. Every field has a default (see {@link MMU400_DEFAULTS}). */
export interface Mmu400Config {
  /**
   * SMMU architecture version. 1 (default) = SMMUv1: AArch32-LPAE stage-1
   * contexts only. 2 = adds CBA2Rn and TCR2, and AArch64 (VA64) contexts.
   */
  readonly version?: 1 | 2
  /** NUMCB: number of translation context banks (1–128, default 8). */
  readonly contextBanks?: number
  /** NUMSMRG: number of SMR/S2CR stream-match groups (1–128, default 16). */
  readonly smrGroups?: number
  /** NUMSIDB: number of implemented stream-ID bits (1–15, default 15). */
  readonly streamIdBits?: number
  /** NUMIRPT: number of context interrupts (default 1 on v1, one per bank on v2). */
  readonly contextIrqs?: number
  /** Stall-on-fault support (SCTLR.CFCFG writable, RESUME). Default true. */
  readonly stall?: boolean
  /** Input address size in bits, IDR2.IAS: 32, 36 or 40 (default 40). */
  readonly ias?: 32 | 36 | 40 | 42 | 44 | 48
  /** Output address size in bits, IDR2.OAS (default 40). */
  readonly oas?: 32 | 36 | 40 | 42 | 44 | 48
  /** IDR0.CTTW: coherent table walk (default true). */
  readonly coherentWalk?: boolean
  /** Address translation operations (ATS1xx, GATS1xx). Default true (IDR0.ATOSNS = 0). */
  readonly atos?: boolean
  /** TLB entries per context bank before the bank's TLB is flushed to make room (default 512). */
  readonly tlbEntries?: number
}

/** A configuration with every field resolved, plus the derived geometry. */
export interface ResolvedConfig {
  readonly version: 1 | 2
  readonly contextBanks: number
  readonly smrGroups: number
  readonly streamIdBits: number
  readonly contextIrqs: number
  readonly stall: boolean
  readonly ias: number
  readonly oas: number
  readonly coherentWalk: boolean
  readonly atos: boolean
  readonly tlbEntries: number
  /** Register page size: 4 KiB (IDR1.PAGESIZE = 0). */
  readonly pageSize: number
  /** IDR1.NUMPAGENDXB: NUMPAGE = 2^(NUMPAGENDXB+1). */
  readonly numPageNdxb: number
  /** NUMPAGE: global pages; context bank n is page NUMPAGE + n. */
  readonly numPage: number
  /** Offset of context bank 0 (NUMPAGE × page size; 0x8000 for the MMU-400). */
  readonly cbBase: number
  /** Size of the whole register window: 2 × NUMPAGE × page size (64 KiB for the MMU-400). */
  readonly windowSize: number
  /** Mask of the implemented stream-ID bits. */
  readonly sidMask: number
}

/** The defaults: the stage-1 capable MMU-400 personality of spec §8.1 column B. */
export const MMU400_DEFAULTS = {
  version: 1,
  contextBanks: 8,
  smrGroups: 16,
  streamIdBits: 15,
  stall: true,
  ias: 40,
  oas: 40,
  coherentWalk: true,
  atos: true,
  tlbEntries: 512,
} as const

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`mmu400 config: ${name} must be an integer in ${lo}..${hi}, got ${v}`)
  return v
}

/**
 * Resolves a configuration. A bad configuration is a board bug and throws
 * here, at construction, never at run time.
 */
export function resolveConfig(c: Mmu400Config = {}): ResolvedConfig {
  const version = c.version ?? MMU400_DEFAULTS.version
  if (version !== 1 && version !== 2) throw new RangeError(`mmu400 config: version must be 1 or 2`)
  const contextBanks = intIn('contextBanks', c.contextBanks ?? MMU400_DEFAULTS.contextBanks, 1, 128)
  const smrGroups = intIn('smrGroups', c.smrGroups ?? MMU400_DEFAULTS.smrGroups, 1, 128)
  const streamIdBits = intIn('streamIdBits', c.streamIdBits ?? MMU400_DEFAULTS.streamIdBits, 1, 15)
  const contextIrqs = intIn('contextIrqs', c.contextIrqs ?? (version === 2 ? contextBanks : 1), 1, 255)
  const ias = c.ias ?? MMU400_DEFAULTS.ias
  const oas = c.oas ?? MMU400_DEFAULTS.oas
  for (const [n, v] of [['ias', ias], ['oas', oas]] as const) {
    if (![32, 36, 40, 42, 44, 48].includes(v) || (version === 1 && v > 40)) throw new RangeError(`mmu400 config: bad ${n} ${v}`)
  }
  // NUMPAGE global pages, then as many context-bank pages; at least 8 (the MMU-400 layout, CB0 at 0x8000).
  let numPageNdxb = 2
  while ((1 << (numPageNdxb + 1)) < contextBanks) numPageNdxb++
  const numPage = 1 << (numPageNdxb + 1)
  const pageSize = 0x1000
  return {
    version, contextBanks, smrGroups, streamIdBits, contextIrqs,
    stall: c.stall ?? MMU400_DEFAULTS.stall,
    ias, oas,
    coherentWalk: c.coherentWalk ?? MMU400_DEFAULTS.coherentWalk,
    atos: c.atos ?? MMU400_DEFAULTS.atos,
    tlbEntries: intIn('tlbEntries', c.tlbEntries ?? MMU400_DEFAULTS.tlbEntries, 1, 1 << 20),
    pageSize, numPageNdxb, numPage,
    cbBase: numPage * pageSize,
    windowSize: 2 * numPage * pageSize,
    sidMask: (1 << streamIdBits) - 1,
  }
}

/** IDR2-style encoding of an address size (0 = 32 bits … 5 = 48 bits). */
export function encodeAddrSize(bits: number): number {
  switch (bits) {
    case 32: return 0
    case 36: return 1
    case 40: return 2
    case 42: return 3
    case 44: return 4
    default: return 5
  }
}

/** Address size in bits of an IDR2/TCR2-style encoding (reserved encodings read as 48). */
export function decodeAddrSize(enc: number): number {
  return [32, 36, 40, 42, 44, 48, 48, 48][enc & 7]!
}

/**
 * IDR0: S1TS | SMS | PTFS_NO_AARCH32S (LPAE only) | NUMIRPT | CTTW | NUMSIDB |
 * NUMSMRG; S2TS = NTS = 0, SES = 0, ATOSNS = !atos, BTM = 0. The default
 * configuration gives 0x49015E10 (spec §8.1 B).
 */
export function idr0(c: ResolvedConfig): number {
  return (
    (1 << 30) | // S1TS
    (1 << 27) | // SMS: stream matching
    (c.atos ? 0 : 1 << 26) | // ATOSNS
    (1 << 24) | // PTFS[0] = no AArch32 short-descriptor: Linux must pick LPAE
    ((c.contextIrqs & 0xff) << 16) |
    (c.coherentWalk ? 1 << 14 : 0) |
    (c.streamIdBits << 9) |
    (c.smrGroups & 0xff)
  ) >>> 0
}

/** IDR1: 4 KiB pages, NUMPAGENDXB, NUMS2CB = 0, NUMCB. Default 0x20000008. */
export function idr1(c: ResolvedConfig): number {
  return ((c.numPageNdxb << 28) | (0 << 16) | (c.contextBanks & 0xff)) >>> 0
}

/** IDR2: IAS, OAS; on v2 also UBS = 48 bits and PTFS_4K. Default 0x22. */
export function idr2(c: ResolvedConfig): number {
  let v = encodeAddrSize(c.ias) | (encodeAddrSize(c.oas) << 4)
  if (c.version === 2) v |= (5 << 8) | (1 << 12)
  return v >>> 0
}

/** Peripheral and component ID registers, PIDR4..7, PIDR0..3, CIDR0..3 in address order (0xFD0…0xFFC). */
export function idRegisters(c: ResolvedConfig): readonly number[] {
  // ARM part 0x480 (MMU-400), JEP106 ARM; PIDR2.ARCH[7:4] = version - 1 (old drivers read it).
  const pidr2 = 0x0b | ((c.version - 1) << 4)
  return [0x44, 0, 0, 0, 0x80, 0xb4, pidr2, 0x00, 0x0d, 0xf0, 0x05, 0xb1]
}
