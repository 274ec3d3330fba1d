/**
 * State of one PL330 thread (the manager or a channel): plain data, no
 * wiring. The execution engine (pl330.ts) owns the behaviour.
 */
import { busAttrs, type BusAttrs } from '@vfio-sim/sim'
import { ThreadState } from './constants.ts'

/** Reset value of CCR (both prot fields non-secure; Zynq secure view, spec §1). */
export const CCR_RESET = 0x00800200

/** Why a thread is not executing although it is in a running state. */
export const Block = {
  None: 0,
  /** A bus access answered STALL; retried when the port resumes. */
  Stall: 1,
  /** DMALD waits for MFIFO space held by other channels. */
  FifoSpace: 2,
} as const
/** One of {@link Block}. */
export type Block = (typeof Block)[keyof typeof Block]

/** One thread's architectural and model state. */
export class Pl330Thread {
  /** Channel number, or -1 for the manager. */
  readonly channel: number
  readonly isManager: boolean
  /** Trace track: `pl330/manager` or `pl330/chN`. */
  readonly track: string
  /** {@link ThreadState} code. */
  state: number = ThreadState.Stopped
  pc = 0
  /** Thread security: DNS (manager) or CNS (channel, written by DMAGO). */
  ns = false
  /** Fault type bits (FTRD / FTRn). */
  ftr = 0
  /** Why the thread faulted, in words (for users and traces); '' when not faulting. */
  faultWhy = ''
  /** Event or peripheral number being waited for (DSR/CSR wakeup field). */
  wakeup = 0
  lc0 = 0
  lc1 = 0
  sar = 0
  dar = 0
  ccr = CCR_RESET
  /** Request flag set by DMAWFP: true = Burst, false = Single. */
  reqBurst = false
  /** CSR[14]: the last DMAWFP used the burst operand. */
  wfpBurst = false
  /** CSR[15]: the last DMAWFP used the periph operand. */
  wfpPeriph = false
  /** The last peripheral request consumed by DMAWFP had drlast set (ends DMALPFE loops). */
  lastReq = false
  /** Why a running thread cannot proceed (see {@link Block}). */
  block: Block = Block.None
  /** Bytes of this channel's data in the MFIFO, oldest at `fifoHead`. */
  fifoCount = 0
  fifoHead = 0
  /** This channel's MFIFO byte ring (capacity = the whole MFIFO). */
  readonly fifo: Uint8Array
  /** Instruction cache: line base address per slot (-1 = invalid). */
  readonly icTag: Float64Array
  /** Valid bytes per slot (a fill cut short by a bus error keeps what arrived). */
  readonly icValid: Int32Array
  readonly icData: Uint8Array
  /** Next slot to replace (round-robin). */
  icNext = 0
  /** Slot of the last hit (most fetches hit the same line). */
  icLast = 0
  /** Attributes of instruction fetches: instruction, privileged, thread security. */
  readonly fetchAttrs: BusAttrs
  /** Attributes of data reads (CCR[10:8]). */
  readonly readAttrs: BusAttrs
  /** Attributes of data writes (CCR[24:22]). */
  readonly writeAttrs: BusAttrs

  constructor(channel: number, fifoBytes: number, icLines: number, icLineBytes: number, streamId: number) {
    this.channel = channel
    this.isManager = channel < 0
    this.track = channel < 0 ? 'pl330/manager' : `pl330/ch${channel}`
    this.fifo = new Uint8Array(this.isManager ? 0 : fifoBytes)
    this.icTag = new Float64Array(icLines).fill(-1)
    this.icValid = new Int32Array(icLines)
    this.icData = new Uint8Array(icLines * icLineBytes)
    this.fetchAttrs = busAttrs({ instr: true, priv: true, secure: true, streamId })
    this.readAttrs = busAttrs({ streamId })
    this.writeAttrs = busAttrs({ streamId })
    this.updateDataAttrs()
  }

  /** Recomputes the data attributes from CCR (after DMAMOV CCR or reset). */
  updateDataAttrs(): void {
    const c = this.ccr
    this.readAttrs.priv = (c & (1 << 8)) !== 0
    this.readAttrs.secure = (c & (1 << 9)) === 0
    this.readAttrs.instr = (c & (1 << 10)) !== 0
    this.writeAttrs.priv = (c & (1 << 22)) !== 0
    this.writeAttrs.secure = (c & (1 << 23)) === 0
    this.writeAttrs.instr = (c & (1 << 24)) !== 0
  }

  /** Sets the thread's security (fetches follow it). */
  setNs(ns: boolean): void {
    this.ns = ns
    this.fetchAttrs.secure = !ns
  }

  /** Drops every cached instruction line of this thread. */
  invalidateIcache(): void {
    this.icTag.fill(-1)
    this.icValid.fill(0)
  }

  /** Drops this channel's MFIFO data; returns the number of bytes dropped. */
  flushFifo(): number {
    const n = this.fifoCount
    this.fifoCount = 0
    this.fifoHead = 0
    return n
  }
}
