// Program builder: the microcode the Linux pl330 driver writes for one
// request (drivers/dma/pl330.c `_setup_req` → `_setup_xfer` →
// `_setup_loops` → `_loop` / `_bursts` / `_dregs`), re-derived from the
// driver's behaviour (facts only; this is our own code):
//   DMAMOV CCR; DMAMOV SAR; DMAMOV DAR;
//   while bursts remain: one `_loop` pass (nested DMALP LC0/LC1, unrolled body)
//   if a partial burst remains: DMAMOV CCR with SB=DB=beats-1; one burst
//   DMASEV ev; DMAEND
// and the memcpy geometry of `pl330_prep_dma_memcpy` / `get_burst_len`.

import type { Cond, Instr, PeriphCond } from '../isa/types.ts'
import { encodeAll } from '../isa/encode.ts'
import { encodeCcr } from '../isa/ccr.ts'
import { dbgGo, type DebugInstrRegs } from '../isa/debug.ts'
import { disassemble } from './disassembler.ts'
import type { ListingLine } from './listing.ts'

/** Transfer direction, as dmaengine's `enum dma_transfer_direction`. */
export type Direction = 'mem-to-mem' | 'mem-to-dev' | 'dev-to-mem'

/** What a Linux request program is built from. */
export interface ProgramRequest {
  /** Source bus address (SAR). */
  readonly src: number
  /** Destination bus address (DAR). */
  readonly dst: number
  /** Bytes to move (> 0). */
  readonly len: number
  /** Bytes per beat: 1, 2, 4, 8 or 16 (Linux `brst_size` = log2 of it). */
  readonly burstSize: number
  /** Beats per burst: 1..16 (Linux `brst_len`). */
  readonly burstLen: number
  /** Event number for the closing DMASEV (Linux: the thread's `ev`), 0..31. */
  readonly event: number
  /** Default 'mem-to-mem'. */
  readonly direction?: Direction
  /** Peripheral request line for the slave directions (Linux `desc->peri`). */
  readonly peripheral?: number
  /** CCR SP/DP bit 1 set (Linux `nonsecure`: the manager is non-secure). Default false. */
  readonly nonSecure?: boolean
  /** CCR SP/DP bit 0 (Linux `privileged`, never set by the driver). Default false. */
  readonly privileged?: boolean
  /** CCR SP/DP bit 2 (Linux `insnaccess`, never set by the driver). Default false. */
  readonly insnAccess?: boolean
  /** Raw SC/DC fields (Linux `scctl`/`dcctl`, default CCTRL0 = 0) and ES (`swap`, default 0). */
  readonly srcCache?: number
  readonly dstCache?: number
  readonly swap?: number
  /**
   * DMAC revision (periph_id_2[7:4]): 0 = r0p0 makes memcpy bursts
   * `DMALD; DMARMB; DMAST; DMAWMB` (Linux `_ldst_memtomem`); default 3 (r1p2).
   */
  readonly revision?: number
  /** DT quirk `arm,pl330-broken-no-flushp`: no DMAFLUSHP. */
  readonly brokenNoFlushp?: boolean
  /** DT quirk `arm,pl330-periph-burst`: peripheral bursts always use the B forms. */
  readonly periphBurst?: boolean
  /** Bus address the program will live at (listing addresses, `go`). Default 0. */
  readonly base?: number
  /** Channel to start it on: fills `BuiltProgram.go` with the DMAGO debug-register values. */
  readonly channel?: number
}

/** A built program. */
export interface BuiltProgram {
  /** The microcode bytes. */
  readonly bytes: Uint8Array
  /** The instructions, in order. */
  readonly instrs: readonly Instr[]
  /** The CCR value of the first DMAMOV CCR. */
  readonly ccr: number
  /** Full bursts moved by the loops, and beats in the final partial burst (0 if none). */
  readonly bursts: number
  readonly dregBeats: number
  /** Disassembly of `bytes` at `base`. */
  readonly listing: readonly ListingLine[]
  /** DBGINST0/1 for `DMAGO channel, base[, ns]` (as Linux `_trigger`), when `channel` was given. */
  readonly go?: DebugInstrRegs
  /** True when the program fits Linux's 256-byte request slot (`mcbufsz / 2`). */
  readonly fitsLinuxSlot: boolean
}

const LOG2: Readonly<Record<number, number>> = { 1: 0, 2: 1, 4: 2, 8: 3, 16: 4 }

function size(instrs: readonly Instr[]): number {
  let n = 0
  for (const i of instrs) n += i.length
  return n
}

/** CCR as Linux `_prepare_ccr` builds it (same burst geometry for source and destination). */
export function linuxCcr(r: ProgramRequest): number {
  const dir = r.direction ?? 'mem-to-mem'
  const prot = (r.privileged ? 1 : 0) | (r.nonSecure ? 2 : 0) | (r.insnAccess ? 4 : 0)
  const sizeLog2 = LOG2[r.burstSize]
  if (sizeLog2 === undefined) throw new RangeError(`burstSize ${r.burstSize} must be 1, 2, 4, 8 or 16`)
  return encodeCcr({
    srcInc: dir !== 'dev-to-mem', dstInc: dir !== 'mem-to-dev',
    srcSizeLog2: sizeLog2, dstSizeLog2: sizeLog2,
    srcBurstLen: r.burstLen, dstBurstLen: r.burstLen,
    srcProt: prot, dstProt: prot,
    srcCache: r.srcCache ?? 0, dstCache: r.dstCache ?? 0, endianSwap: r.swap ?? 0,
  })
}

/**
 * Build the program Linux's pl330 driver emits for one request. Throws
 * RangeError for parameters the driver would never produce (len 0, bad
 * burst geometry, missing peripheral for a slave direction).
 */
export function buildProgram(r: ProgramRequest): BuiltProgram {
  const dir = r.direction ?? 'mem-to-mem'
  if (!Number.isInteger(r.len) || r.len <= 0) throw new RangeError(`len ${r.len} must be a positive integer (Linux rejects 0)`)
  if (!Number.isInteger(r.burstLen) || r.burstLen < 1 || r.burstLen > 16) throw new RangeError(`burstLen ${r.burstLen} must be 1..16`)
  if (!Number.isInteger(r.event) || r.event < 0 || r.event > 31) throw new RangeError(`event ${r.event} must be 0..31`)
  const peri = r.peripheral ?? -1
  if (dir !== 'mem-to-mem' && !(Number.isInteger(peri) && peri >= 0 && peri <= 31)) throw new RangeError('slave transfers need peripheral 0..31')
  const ccr = linuxCcr(r)
  const revision = r.revision ?? 3

  // One "burst unit" repeated cyc times (Linux `_bursts`).
  const bursts = (cyc: number, cond: Cond): Instr[] => {
    const out: Instr[] = []
    if (dir === 'mem-to-mem') {
      for (let k = 0; k < cyc; k++) {
        if (revision >= 1) out.push({ op: 'DMALD', length: 1, cond: 'always' }, { op: 'DMAST', length: 1, cond: 'always' })
        else out.push({ op: 'DMALD', length: 1, cond: 'always' }, { op: 'DMARMB', length: 1 }, { op: 'DMAST', length: 1, cond: 'always' }, { op: 'DMAWMB', length: 1 })
      }
      return out
    }
    // `_ldst_peripheral`: FLUSHP once, then per burst WFP; load; store.
    const pc: PeriphCond = cond === 'single' ? 'single' : 'burst'
    if (!r.brokenNoFlushp) out.push({ op: 'DMAFLUSHP', length: 2, periph: peri })
    for (let k = 0; k < cyc; k++) {
      out.push({ op: 'DMAWFP', length: 2, periph: peri, req: pc })
      out.push(dir === 'dev-to-mem' ? { op: 'DMALDP', length: 2, cond: pc, periph: peri } : { op: 'DMALD', length: 1, cond })
      out.push(dir === 'mem-to-dev' ? { op: 'DMASTP', length: 2, cond: pc, periph: peri } : { op: 'DMAST', length: 1, cond })
    }
    return out
  }
  const loopCond: Cond = r.periphBurst || r.burstLen > 1 ? 'burst' : 'single'

  // One `_loop` pass: returns instructions and the bursts they cover.
  const loop = (left: number): { code: Instr[]; done: number } => {
    if (left === 1) return { code: bursts(1, loopCond), done: 1 }
    let lc0: number, lc1: number, cyc: number
    if (left >= 256 * 256) { lc1 = 256; lc0 = 256; cyc = Math.floor(left / 65536) }
    else if (left > 256) { lc1 = 256; lc0 = Math.floor(left / 256); cyc = 1 }
    else { lc1 = left; lc0 = 0; cyc = 1 }
    // The body must stay within the 255-byte backwards jump.
    const szlp = 2 * (lc0 ? 2 : 1)
    const szlpend = 2 * (lc0 ? 2 : 1)
    const szbrst = size(bursts(1, loopCond))
    cyc = Math.min(cyc, Math.floor((255 - (szlp + szlpend)) / szbrst))
    const code: Instr[] = []
    if (lc0) code.push({ op: 'DMALP', length: 2, lc: 0, iterations: lc0 })
    code.push({ op: 'DMALP', length: 2, lc: 1, iterations: lc1 })
    const body = bursts(cyc, loopCond)
    code.push(...body)
    const inner = size(body)
    code.push({ op: 'DMALPEND', length: 2, lc: 1, cond: 'always', forever: false, jump: inner })
    if (lc0) code.push({ op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: false, jump: inner + 4 })
    return { code, done: lc1 * cyc * (lc0 || 1) }
  }

  const instrs: Instr[] = [
    { op: 'DMAMOV', length: 6, reg: 'CCR', imm: ccr },
    { op: 'DMAMOV', length: 6, reg: 'SAR', imm: r.src >>> 0 },
    { op: 'DMAMOV', length: 6, reg: 'DAR', imm: r.dst >>> 0 },
  ]
  const burstBytes = r.burstSize * r.burstLen
  const total = Math.floor(r.len / burstBytes)
  let left = total
  while (left > 0) {
    const { code, done } = loop(left)
    instrs.push(...code)
    left -= done
  }
  // `_dregs`: the partial burst, with SB=DB=beats-1 (the CCR is not restored).
  const dregBeats = Math.floor((r.len - total * burstBytes) / r.burstSize)
  if (dregBeats > 0) {
    const dccr = ((ccr & ~((0xf << 4) | (0xf << 18))) | ((dregBeats - 1) << 4) | ((dregBeats - 1) << 18)) >>> 0
    instrs.push({ op: 'DMAMOV', length: 6, reg: 'CCR', imm: dccr })
    if (dir === 'mem-to-mem') instrs.push(...bursts(1, 'always'))
    else instrs.push(...bursts(1, 'burst'))
  }
  instrs.push({ op: 'DMASEV', length: 2, event: r.event }, { op: 'DMAEND', length: 1 })
  const bytes = encodeAll(instrs)
  const base = (r.base ?? 0) >>> 0
  const listing = disassemble(bytes, { base })
  const common = { bytes, instrs, ccr, bursts: total, dregBeats, listing, fitsLinuxSlot: bytes.length <= 256 }
  return r.channel === undefined ? common : { ...common, go: dbgGo(r.channel, base, r.nonSecure ?? false) }
}

/** DMAC properties Linux reads from CR0/CRD to choose memcpy geometry. */
export interface DmacGeometry {
  /** Data bus width in bits (CRD data_width): 32, 64 or 128. Default 64. */
  readonly dataBusWidthBits?: number
  /** MFIFO lines (CRD data_buffer_dep + 1). Default 256 (QEMU). */
  readonly dataBufDepth?: number
  /** Channels (CR0 num_chnls + 1). Default 8. */
  readonly numChannels?: number
}

/**
 * Burst size/length Linux `pl330_prep_dma_memcpy` picks: the widest beat
 * (≤ bus width) that divides src, dst and len; then
 * `min(16, (busBytes * dataBufDepth / numChannels) >> log2(size))`, forced to
 * 1 when the beat is narrower than the bus.
 */
export function linuxMemcpyGeometry(src: number, dst: number, len: number, g: DmacGeometry = {}): { burstSize: number; burstLen: number } {
  const busBits = g.dataBusWidthBits ?? 64
  const depth = g.dataBufDepth ?? 256
  const chans = g.numChannels ?? 8
  let burst = busBits / 8
  while (((src | dst | len) & (burst - 1)) !== 0) burst /= 2
  const log2 = LOG2[burst] ?? 0
  let burstLen = Math.min(16, Math.floor(((busBits / 8) * Math.floor(depth / chans)) / 2 ** log2))
  if (burst * 8 < busBits) burstLen = 1
  return { burstSize: burst, burstLen }
}

/** Options of {@link buildMemcpy}: a request plus optional DMAC geometry when burst size/length are left out. */
export type MemcpyOptions = Omit<ProgramRequest, 'direction' | 'peripheral' | 'burstSize' | 'burstLen'> &
  { readonly burstSize?: number; readonly burstLen?: number; readonly geometry?: DmacGeometry }

/**
 * The program Linux emits for `dmaengine_prep_dma_memcpy(dst, src, len)`:
 * with burst size/length given, or chosen as the driver does from
 * `geometry` (defaults: 64-bit bus, 256-line MFIFO, 8 channels → 8 × 16).
 * Example: buildMemcpy({ src: 0x80000000, dst: 0x80100000, len: 4096, event: 0 })
 * gives the 27-byte program of spec §8.4.
 */
export function buildMemcpy(o: MemcpyOptions): BuiltProgram {
  const g = o.burstSize === undefined || o.burstLen === undefined ? linuxMemcpyGeometry(o.src, o.dst, o.len, o.geometry) : null
  const { geometry: _g, burstSize, burstLen, ...rest } = o
  return buildProgram({ ...rest, direction: 'mem-to-mem', burstSize: burstSize ?? g!.burstSize, burstLen: burstLen ?? g!.burstLen })
}

/**
 * Bus address of a channel's request slot in Linux's microcode buffer:
 * `mcode_bus + channel * mcbufsz + slot * mcbufsz / 2` with mcbufsz = 512
 * (`_reset_thread`, `MCODE_BUFF_PER_REQ * 2`).
 */
export function linuxMicrocodeAddress(mcodeBus: number, channel: number, slot: 0 | 1, mcbufsz = 512): number {
  return (mcodeBus + channel * mcbufsz + slot * (mcbufsz / 2)) >>> 0
}

/** Listing of a built program at a bus address (e.g. Linux's `mc_bus`). */
export function listingOf(p: BuiltProgram, base: number): ListingLine[] {
  return disassemble(p.bytes, { base })
}
