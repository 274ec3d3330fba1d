// The Channel Control Register (CCR) as named fields, and its symbolic
// assembler form. Layout [spec §5; NXC/ZYNQ CCR; Linux CC_* shifts]:
//   [0] SI  [3:1] SS  [7:4] SB  [10:8] SP  [13:11] SC
//   [14] DI [17:15] DS [21:18] DB [24:22] DP [27:25] DC  [30:28] ES
// Symbolic form (ARM DMA-330 TRM DMAMOV syntax, also used by dma330as and
// the TRM examples "SB4 SS32 DB4 DS32"): SB<1-16> SS<8|16|32|64|128>
// SA<I|F> SP<0-7> SC<0-7> DB<1-16> DS<bits> DA<I|F> DP<0-7> DC<AWCACHE>
// ES<8|16|32|64|128>. Sizes are in bits. Omitted fields take the defaults
// SB1 SS8 SAI SP0 SC0 DB1 DS8 DAI DP0 DC0 ES8 (see decision 0451).

/** CCR contents as named fields (raw encodings except where noted). */
export interface CcrFields {
  /** SAI (true, incrementing) or SAF (false, fixed). */
  readonly srcInc: boolean
  /** SS: log2 of bytes per source beat (0 = 1 byte ... 4 = 16 bytes; 5..7 reserved). */
  readonly srcSizeLog2: number
  /** SB: source beats per burst, 1..16 (field holds len-1). */
  readonly srcBurstLen: number
  /** SP: ARPROT[2:0] (bit 2 instruction, bit 1 non-secure, bit 0 privileged). */
  readonly srcProt: number
  /** SC: ARCACHE[2:0] (ARCACHE[3] is tied low). */
  readonly srcCache: number
  /** DAI (true) or DAF (false). */
  readonly dstInc: boolean
  /** DS: log2 of bytes per destination beat. */
  readonly dstSizeLog2: number
  /** DB: destination beats per burst, 1..16. */
  readonly dstBurstLen: number
  /** DP: AWPROT[2:0]. */
  readonly dstProt: number
  /** DC: raw 3-bit field: bit 2 → AWCACHE[3], bits 1:0 → AWCACHE[1:0] (AWCACHE[2] tied low). */
  readonly dstCache: number
  /** ES: endian swap size field, 0 = none (8-bit), 1 = 16-bit ... 4 = 128-bit; 5..7 reserved. */
  readonly endianSwap: number
}

/** Split a CCR value into its fields. Bit 31 (reserved) is ignored. */
export function decodeCcr(ccr: number): CcrFields {
  return {
    srcInc: (ccr & 1) !== 0,
    srcSizeLog2: (ccr >>> 1) & 7,
    srcBurstLen: ((ccr >>> 4) & 15) + 1,
    srcProt: (ccr >>> 8) & 7,
    srcCache: (ccr >>> 11) & 7,
    dstInc: ((ccr >>> 14) & 1) !== 0,
    dstSizeLog2: (ccr >>> 15) & 7,
    dstBurstLen: ((ccr >>> 18) & 15) + 1,
    dstProt: (ccr >>> 22) & 7,
    dstCache: (ccr >>> 25) & 7,
    endianSwap: (ccr >>> 28) & 7,
  }
}

/** Default fields: what the symbolic form means when a field is omitted. */
export const CCR_DEFAULTS: CcrFields = Object.freeze({
  srcInc: true, srcSizeLog2: 0, srcBurstLen: 1, srcProt: 0, srcCache: 0,
  dstInc: true, dstSizeLog2: 0, dstBurstLen: 1, dstProt: 0, dstCache: 0, endianSwap: 0,
})

/**
 * Build a CCR value from fields (missing ones from {@link CCR_DEFAULTS}).
 * Throws RangeError for a field outside its encoding.
 */
export function encodeCcr(fields: Partial<CcrFields>): number {
  const f = { ...CCR_DEFAULTS, ...fields }
  const chk = (v: number, lo: number, hi: number, name: string): number => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`CCR ${name} ${v} out of range ${lo}..${hi}`)
    return v
  }
  return (
    (f.srcInc ? 1 : 0) |
    (chk(f.srcSizeLog2, 0, 7, 'srcSizeLog2') << 1) |
    ((chk(f.srcBurstLen, 1, 16, 'srcBurstLen') - 1) << 4) |
    (chk(f.srcProt, 0, 7, 'srcProt') << 8) |
    (chk(f.srcCache, 0, 7, 'srcCache') << 11) |
    ((f.dstInc ? 1 : 0) << 14) |
    (chk(f.dstSizeLog2, 0, 7, 'dstSizeLog2') << 15) |
    ((chk(f.dstBurstLen, 1, 16, 'dstBurstLen') - 1) << 18) |
    (chk(f.dstProt, 0, 7, 'dstProt') << 22) |
    (chk(f.dstCache, 0, 7, 'dstCache') << 25) |
    (chk(f.endianSwap, 0, 7, 'endianSwap') << 28)
  ) >>> 0
}

/** AWCACHE[3:0] value (as written after DC) for the raw 3-bit dst cache field. */
export function dcFieldToAwcache(field: number): number {
  return (field & 3) | ((field & 4) << 1)
}

/** Raw 3-bit dst cache field for an AWCACHE value, or null when AWCACHE[2] is set (tied low). */
export function awcacheToDcField(awcache: number): number | null {
  if (!Number.isInteger(awcache) || awcache < 0 || awcache > 15 || (awcache & 4) !== 0) return null
  return (awcache & 3) | ((awcache >> 1) & 4)
}

/**
 * Symbolic form of a CCR value, e.g. 0x003DC0F7 → "SB16 SS64 DB16 DS64".
 * Always lists SB SS DB DS; lists SAF/DAF, SP/SC/DP/DC and ES only when
 * they differ from the defaults. Returns null when the value has no
 * symbolic form (reserved SS/DS/ES encodings or bit 31 set).
 */
export function formatCcr(ccr: number): string | null {
  const f = decodeCcr(ccr)
  if ((ccr >>> 31) !== 0 || f.srcSizeLog2 > 4 || f.dstSizeLog2 > 4 || f.endianSwap > 4) return null
  const out = [`SB${f.srcBurstLen}`, `SS${8 << f.srcSizeLog2}`]
  if (!f.srcInc) out.push('SAF')
  if (f.srcProt !== 0) out.push(`SP${f.srcProt}`)
  if (f.srcCache !== 0) out.push(`SC${f.srcCache}`)
  out.push(`DB${f.dstBurstLen}`, `DS${8 << f.dstSizeLog2}`)
  if (!f.dstInc) out.push('DAF')
  if (f.dstProt !== 0) out.push(`DP${f.dstProt}`)
  if (f.dstCache !== 0) out.push(`DC${dcFieldToAwcache(f.dstCache)}`)
  if (f.endianSwap !== 0) out.push(`ES${8 << f.endianSwap}`)
  return out.join(' ')
}

const BITS_TO_LOG2: Readonly<Record<string, number>> = { 8: 0, 16: 1, 32: 2, 64: 3, 128: 4 }

/**
 * Parse one symbolic CCR item (e.g. "SB16", "sai", "DC3") into a partial
 * field set, or return an error message. Case-insensitive.
 */
export function parseCcrItem(item: string): Partial<CcrFields> | string {
  const m = /^(SB|SS|SA|SP|SC|DB|DS|DA|DP|DC|ES)(.*)$/i.exec(item)
  if (!m) return `unknown CCR field '${item}' (expected SB SS SA SP SC DB DS DA DP DC ES)`
  const key = m[1]!.toUpperCase()
  const arg = m[2]!.toUpperCase()
  const num = /^\d+$/.test(arg) ? Number(arg) : NaN
  switch (key) {
    case 'SA':
    case 'DA':
      if (arg !== 'I' && arg !== 'F') return `${key} takes I (increment) or F (fixed): ${item}`
      return key === 'SA' ? { srcInc: arg === 'I' } : { dstInc: arg === 'I' }
    case 'SB':
    case 'DB':
      if (!(num >= 1 && num <= 16)) return `${key} burst length must be 1..16: ${item}`
      return key === 'SB' ? { srcBurstLen: num } : { dstBurstLen: num }
    case 'SS':
    case 'DS':
    case 'ES': {
      const l = BITS_TO_LOG2[arg]
      if (l === undefined) return `${key} size must be 8, 16, 32, 64 or 128 bits: ${item}`
      return key === 'SS' ? { srcSizeLog2: l } : key === 'DS' ? { dstSizeLog2: l } : { endianSwap: l }
    }
    case 'SP':
    case 'DP':
      if (!(num >= 0 && num <= 7)) return `${key} protection must be 0..7: ${item}`
      return key === 'SP' ? { srcProt: num } : { dstProt: num }
    case 'SC':
      if (!(num >= 0 && num <= 7)) return `SC is ARCACHE[3:0] with ARCACHE[3] tied low: 0..7: ${item}`
      return { srcCache: num }
    default: { // DC
      const field = num >= 0 && num <= 15 ? awcacheToDcField(num) : null
      if (field === null) return `DC is AWCACHE[3:0] with AWCACHE[2] tied low: 0-3 or 8-11: ${item}`
      return { dstCache: field }
    }
  }
}
