/**
 * The PL330 (CoreLink DMA-330) execution model: a manager thread and up to
 * eight channel threads that fetch their microcode and move their data
 * through one bus master port, with the register file the CPU sees.
 *
 * Shape of the model (decisions 0400–0407 in docs/decisions):
 * - Execution runs in scheduler events. Each event executes rounds (one
 *   instruction of every runnable thread: manager first, then channels in
 *   number order) until the quantum of cycles is used, then schedules the
 *   next event after the cycles it used. Costs: 1 cycle per instruction, +1
 *   per data beat, a line fill costs 2 + line/bus-width cycles.
 * - Loads and stores are issued on the port when the instruction executes
 *   (one span per burst; fixed-address bursts one access per beat); data
 *   goes through the channel's MFIFO byte stream. The read/write queues of
 *   the hardware are not modelled separately: nothing is outstanding after
 *   an instruction, so barriers pass at once and DMAEND completes at once.
 * - A STALL response parks the thread (Cache miss for fetches) until the
 *   port's resume callback; the instruction is then issued again.
 * - Instruction fetches go through a per-thread instruction cache of
 *   CR1-sized lines; a fill is one port read tagged instruction, privileged,
 *   secure = !thread.ns.
 */
import {
  BusResp, RegisterFile, busRespName,
  type AccessSize, type BusAttrs, type IrqLine, type MasterPort, type MmioDevice, type Scheduler, type Tracer,
} from '@vfio-sim/sim'
import { allowedOn, decode, decodeDebugInstr, isDecodeError, lengthOf, type DecodeError, type Instr } from '../isa/index.ts'
import { FaultBit, PCELL_ID, ThreadState, faultNames, threadStateName } from './constants.ts'
import { configRegs, mfifoBytes, resolveConfig, type ConfigRegs, type Pl330Config } from './config.ts'
import { PL330_REGS, type Pl330RegSpec } from './registers.ts'
import { Block, CCR_RESET, Pl330Thread } from './thread.ts'
import { PL330_TRACE } from './trace.ts'
import { formatInstr as formatAsm } from '../asm/index.ts'

/** Options of {@link Pl330}. */
export interface Pl330Options {
  /** The master port every transaction goes through (the interconnect or an SMMU). */
  readonly port: MasterPort
  readonly scheduler: Scheduler
  readonly tracer?: Tracer
  /** `irq[0..numEvents-1]` outputs (levels). Missing entries are not driven. */
  readonly irqs?: readonly (IrqLine | undefined)[]
  /** The `irq_abort` output (level, high while any thread faults). */
  readonly abortIrq?: IrqLine
  /** Configuration (defaults: {@link DEFAULT_PL330_CONFIG}). */
  readonly config?: Partial<Pl330Config>
  /**
   * Stream ID per thread: index n < numChannels is channel n, index
   * numChannels the manager. Default: channel n → n, manager → numChannels.
   */
  readonly streamIds?: readonly number[]
  /** Use the decoded-instruction cache (decision 0406; default true). false steps every instruction through fetch and decode. */
  readonly fastPath?: boolean
  /** Device name for the register window (default "pl330"). */
  readonly name?: string
}

/** Snapshot of one thread, see {@link Pl330.threadInfo}. */
export interface Pl330ThreadInfo {
  readonly thread: number | 'manager'
  /** State name ({@link ThreadState} key) and code. */
  readonly state: string
  readonly stateCode: number
  readonly pc: number
  readonly ns: boolean
  /** Names of the FTR bits set. */
  readonly faults: readonly string[]
  readonly faultWhy: string
  readonly sar: number
  readonly dar: number
  readonly ccr: number
  readonly lc0: number
  readonly lc1: number
  /** Bytes of this thread's data in the MFIFO. */
  readonly mfifoBytes: number
}

/** Request types of the peripheral request interface (drtype). */
export type PeriphRequest = 'single' | 'burst'
/** Acknowledgements the DMAC gives a peripheral (datype): transfer done, or flush. */
export type PeriphAck = 'single' | 'burst' | 'flush'

// Module-local copies of imported constants and functions used on the hot path.
const { Stopped: STOPPED, Executing: EXECUTING, CacheMiss: CACHE_MISS, WaitingForEvent: WAIT_EVENT, WaitingForPeripheral: WAIT_PERIPH, Killing: KILLING, Faulting: FAULTING, FaultingCompleting: FAULTING_COMPLETING } = ThreadState
const F = { ...FaultBit }
const { None: B_NONE, Stall: B_STALL, FifoSpace: B_FIFO } = Block
const STALL = BusResp.STALL
const decodeInsn = decode
const lengthOfByte = lengthOf
const isError = isDecodeError
const allowed = allowedOn
/** Largest burst: 16 beats of 16 bytes. */
const MAX_BURST_BYTES = 256
const MASK32 = 0xffffffff

/**
 * One PL330. Map {@link Pl330.mmio} on the interconnect; drive
 * {@link Pl330.periphRequest} from peripheral models; call
 * {@link Pl330.reset} for a hardware reset.
 */
export class Pl330 {
  /** Resolved configuration. */
  readonly config: Pl330Config
  /** CR0–CR4, CRD and periph_id values derived from the configuration. */
  readonly configRegs: ConfigRegs
  /** The register file (model side; {@link Pl330.mmio} is the bus view). */
  readonly regs: RegisterFile<Pl330RegSpec>
  /** The register window as the interconnect sees it (secure/non-secure gating applied). */
  readonly mmio: MmioDevice
  /** The manager thread. */
  readonly manager: Pl330Thread
  /** Channel threads 0..numChannels-1. */
  readonly channels: readonly Pl330Thread[]
  /** Called when the DMAC acknowledges peripheral `p` (datype). */
  onPeripheralAck: ((p: number, ack: PeriphAck) => void) | undefined = undefined
  /** Instructions executed since construction (benches, tests). */
  instructions = 0

  private readonly port: MasterPort
  private readonly scheduler: Scheduler
  private readonly tracer: Tracer | undefined
  private readonly irqs: readonly (IrqLine | undefined)[]
  private readonly abortIrq: IrqLine | undefined
  private readonly fastPath: boolean
  private readonly threads: readonly Pl330Thread[]
  private readonly fifoCap: number
  private readonly busBytes: number
  private readonly eventMask: number
  /** Bytes of all channels in the MFIFO. */
  private fifoUsed = 0
  private inten = 0
  /** INT_EVENT_RIS: pending events (INTEN=0) and raised interrupts (INTEN=1). */
  private ris = 0
  private irqLevels = 0
  private abortLevel = false
  /** The watchdog found a lock-up with WD.wd_irq_only = 1: irq_abort stays high. */
  private lockupIrq = false
  private stallRounds = 0
  /** Pending peripheral requests: 0 none, 1 single, 2 burst. */
  private readonly periphPending: Uint8Array
  private readonly periphLast: Uint8Array
  private runHandle: number | undefined = undefined
  /** Scratch: instruction bytes of the current fetch, and views by length. */
  private readonly ibuf = new Uint8Array(6)
  private readonly ibufViews: Uint8Array[]
  /** Scratch for staged (wrapped or byte-swapped) stores and zero stores. */
  private readonly stage = new Uint8Array(MAX_BURST_BYTES)
  private readonly zeros = new Uint8Array(MAX_BURST_BYTES)
  /** Decoded-instruction cache per thread (fast path): pc tag and instruction, direct-mapped. */
  private readonly dcTag: Float64Array[]
  private readonly dcInsn: (Instr | undefined)[][]

  constructor(opts: Pl330Options) {
    const c = resolveConfig(opts.config)
    this.config = c
    this.configRegs = configRegs(c)
    this.port = opts.port
    this.scheduler = opts.scheduler
    this.tracer = opts.tracer
    this.irqs = opts.irqs ?? []
    this.abortIrq = opts.abortIrq
    this.fastPath = opts.fastPath ?? true
    this.fifoCap = mfifoBytes(c)
    this.busBytes = c.dataWidthBits / 8
    this.eventMask = c.numEvents === 32 ? MASK32 : (1 << c.numEvents) - 1
    const sid = (i: number): number => opts.streamIds?.[i] ?? i
    this.channels = Array.from({ length: c.numChannels }, (_, n) => new Pl330Thread(n, this.fifoCap, c.icacheLines, c.icacheLineBytes, sid(n)))
    this.manager = new Pl330Thread(-1, 0, c.icacheLines, c.icacheLineBytes, sid(c.numChannels))
    this.threads = [this.manager, ...this.channels]
    this.periphPending = new Uint8Array(Math.max(1, c.numPeriphReq))
    this.periphLast = new Uint8Array(Math.max(1, c.numPeriphReq))
    this.ibufViews = [0, 1, 2, 3, 4, 5, 6].map(n => this.ibuf.subarray(0, n))
    this.dcTag = this.threads.map(() => new Float64Array(DC_SIZE).fill(-1))
    this.dcInsn = this.threads.map(() => new Array<Instr | undefined>(DC_SIZE).fill(undefined))
    this.regs = new RegisterFile(PL330_REGS, this.hooks())
    this.mmio = new Pl330Mmio(opts.name ?? 'pl330', this.regs, () => this.manager.ns)
    this.port.onResume(() => this.resume())
    this.reset()
  }

  // ------------------------------------------------------------------ reset

  /**
   * Hardware reset (the board's reset line): every thread Stopped with
   * registers at their reset values, MFIFO and caches empty, interrupts
   * low. With boot_from_pc the manager starts executing at boot_addr.
   */
  reset(): void {
    if (this.runHandle !== undefined) this.scheduler.cancel(this.runHandle)
    this.runHandle = undefined
    for (const t of this.threads) {
      t.state = STOPPED
      t.pc = 0
      t.setNs(t.isManager ? this.config.mgrNsAtReset : false)
      t.ftr = 0
      t.faultWhy = ''
      t.wakeup = 0
      t.lc0 = t.lc1 = 0
      t.sar = t.dar = 0
      t.ccr = CCR_RESET
      t.updateDataAttrs()
      t.reqBurst = t.wfpBurst = t.wfpPeriph = t.lastReq = false
      t.block = B_NONE
      t.flushFifo()
      this.invalidateIcache(t)
    }
    this.fifoUsed = 0
    this.inten = 0
    this.ris = 0
    this.lockupIrq = false
    this.stallRounds = 0
    this.periphPending.fill(0)
    this.periphLast.fill(0)
    this.regs.reset()
    this.updateIrqs()
    this.updateAbort()
    if (this.config.bootFromPc) {
      this.manager.pc = this.config.bootAddr >>> 0
      this.setState(this.manager, EXECUTING)
      this.kick()
    }
  }

  // -------------------------------------------------------------- registers

  private chan(i: number): Pl330Thread | undefined {
    return this.channels[i]
  }

  private hooks(): Record<string, { read?(i: number): number; write?(i: number, v: bigint, p: bigint): void }> {
    const cr = this.configRegs
    const ch = (f: (t: Pl330Thread) => number) => ({ read: (i: number): number => { const t = this.chan(i); return t === undefined ? 0 : f(t) >>> 0 } })
    return {
      DSR: { read: () => this.manager.state | (this.manager.wakeup << 4) | (this.manager.ns ? 1 << 9 : 0) },
      DPC: { read: () => this.manager.pc },
      INTEN: { read: () => this.inten, write: (_i, v) => { this.inten = Number(v) & this.eventMask; this.updateIrqs() } },
      INT_EVENT_RIS: { read: () => this.ris },
      INTMIS: { read: () => this.ris & this.inten },
      INTCLR: { write: (_i, v) => { this.ris = (this.ris & ~(Number(v) & this.inten)) >>> 0; this.updateIrqs() } },
      FSRD: { read: () => (isFaulting(this.manager) ? 1 : 0) },
      FSRC: { read: () => this.channels.reduce((a, t) => a | (isFaulting(t) ? 1 << t.channel : 0), 0) },
      FTRD: { read: () => this.manager.ftr },
      FTR: ch(t => t.ftr),
      CSR: ch(t => t.state | (t.wakeup << 4) | (t.wfpBurst ? 1 << 14 : 0) | (t.wfpPeriph ? 1 << 15 : 0) | (t.ns ? 1 << 21 : 0)),
      CPC: ch(t => t.pc),
      SAR: ch(t => t.sar),
      DAR: ch(t => t.dar),
      CCR: ch(t => t.ccr),
      LC0: ch(t => t.lc0),
      LC1: ch(t => t.lc1),
      // Debug instructions complete inside the DBGCMD write: never seen busy.
      DBGSTATUS: { read: () => 0 },
      DBGCMD: { write: (_i, v) => { if ((Number(v) & 3) === 0) this.debugExecute() } },
      CR0: { read: () => cr.cr0 },
      CR1: { read: () => cr.cr1 },
      CR2: { read: () => cr.cr2 },
      CR3: { read: () => cr.cr3 },
      CR4: { read: () => cr.cr4 },
      CRD: { read: () => cr.crd },
      PERIPH_ID: { read: (i: number) => cr.periphId[i] ?? 0 },
      PCELL_ID: { read: (i: number) => PCELL_ID[i] ?? 0 },
    }
  }

  /** WD.wd_irq_only. */
  private get wdIrqOnly(): boolean {
    return (this.regs.get(PL330_REGS.reg.WD) & 1) !== 0
  }

  /**
   * A readable snapshot of a thread (channel number, or 'manager') for
   * users, logs and the CLI: state and fault names, why it faulted, PC,
   * addresses, loop counters, MFIFO bytes held.
   */
  threadInfo(which: number | 'manager'): Pl330ThreadInfo | undefined {
    const t = which === 'manager' ? this.manager : this.channels[which]
    if (t === undefined) return undefined
    return {
      thread: which, state: threadStateName(t.state), stateCode: t.state, pc: t.pc, ns: t.ns,
      faults: faultNames(t.ftr), faultWhy: t.faultWhy, sar: t.sar, dar: t.dar, ccr: t.ccr,
      lc0: t.lc0, lc1: t.lc1, mfifoBytes: t.fifoCount,
    }
  }

  // ------------------------------------------------------------ interrupts

  private updateIrqs(): void {
    const level = (this.ris & this.inten & this.eventMask) >>> 0
    const changed = (level ^ this.irqLevels) >>> 0
    this.irqLevels = level
    if (changed === 0) return
    for (let n = 0; n < this.config.numEvents; n++) {
      if (((changed >>> n) & 1) === 0) continue
      const up = ((level >>> n) & 1) !== 0
      if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_irq, 'pl330/manager', `irq${n}`, up)
      this.irqs[n]?.set(up)
    }
  }

  private updateAbort(): void {
    let level = this.lockupIrq
    for (const t of this.threads) if (isFaulting(t)) level = true
    if (level === this.abortLevel) return
    this.abortLevel = level
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_irq, 'pl330/manager', 'irq_abort', level)
    this.abortIrq?.set(level)
  }

  /** Level of `irq_abort`. */
  get abortAsserted(): boolean {
    return this.abortLevel
  }

  /** Levels of `irq[n]` as a bit mask. */
  get irqMask(): number {
    return this.irqLevels
  }

  // --------------------------------------------------------------- states

  private setState(t: Pl330Thread, s: number): void {
    if (t.state === s) return
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_state, t.track, threadStateName(t.state), threadStateName(s))
    t.state = s
  }

  /**
   * Puts a thread in Faulting with fault bits `bits`. Faulting is sticky
   * until DMAKILL; a second fault adds nothing. The caller leaves the PC on
   * the instruction (precise) or past it (imprecise).
   */
  private fault(t: Pl330Thread, bits: number, why: string): void {
    if (isFaulting(t)) return
    t.ftr = (t.ftr | bits) >>> 0
    t.faultWhy = why
    t.block = B_NONE
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_fault, t.track, t.pc, t.ftr, `${faultNames(t.ftr).join('|')}: ${why}`)
    this.setState(t, FAULTING)
    this.updateAbort()
  }

  private invalidateIcache(t: Pl330Thread): void {
    t.invalidateIcache()
    this.dcTag[t.channel + 1]!.fill(-1)
  }

  /** DMAKILL: the only way out of Faulting. */
  private kill(t: Pl330Thread): void {
    if (t.state === STOPPED) return
    t.ftr = 0
    t.faultWhy = ''
    this.fifoUsed -= t.flushFifo()
    this.invalidateIcache(t)
    // A transaction held by a stalled port is still outstanding: Killing until it resumes.
    this.setState(t, t.block === B_STALL ? KILLING : STOPPED)
    if (t.block !== B_STALL) t.block = B_NONE
    this.lockupIrq = false
    this.stallRounds = 0
    this.updateAbort()
    // Freed MFIFO space may let a waiting channel continue.
    this.kick()
  }

  /** DMAEND: stop, dropping the thread's MFIFO data and cache lines. */
  private end(t: Pl330Thread): void {
    this.fifoUsed -= t.flushFifo()
    this.invalidateIcache(t)
    this.setState(t, STOPPED)
  }

  // ------------------------------------------------------------ scheduling

  private runnable(t: Pl330Thread): boolean {
    return t.state === EXECUTING && t.block !== B_STALL
  }

  private anyRunnable(): boolean {
    for (const t of this.threads) if (this.runnable(t)) return true
    return false
  }

  /** Schedules an execution event if some thread can run and none is scheduled. */
  private kick(): void {
    if (this.runHandle !== undefined || !this.anyRunnable()) return
    this.runHandle = this.scheduler.schedule(this.config.cycleNs, () => this.runEvent(), 'pl330')
  }

  private runEvent(): void {
    this.runHandle = undefined
    const budget = this.config.quantumCycles
    let cycles = 0
    this.yieldRequested = false
    while (cycles < budget) {
      let ran = false
      let progress = false
      for (const t of this.threads) {
        if (t.state !== EXECUTING || t.block === B_STALL) continue
        ran = true
        const before = this.instructions
        this.eventCycles = cycles
        cycles += this.step(t)
        if (this.yieldRequested) break
        if (this.instructions !== before || t.block !== B_FIFO) progress = true
      }
      if (this.yieldRequested) break
      if (!ran) break
      if (progress) this.stallRounds = 0
      else if (++this.stallRounds >= this.config.watchdogRounds) {
        this.watchdog()
        break
      }
    }
    if (this.anyRunnable() && !this.lockupIrq) {
      this.runHandle = this.scheduler.schedule(Math.max(1, cycles) * this.config.cycleNs, () => this.runEvent(), 'pl330')
    }
  }

  /**
   * Lock-up: every runnable channel waits for MFIFO space that nobody will
   * free. WD.wd_irq_only = 0 aborts them with lockup_err; 1 only raises
   * irq_abort (spec §7.2, NXC WD).
   */
  private watchdog(): void {
    this.stallRounds = 0
    if (this.wdIrqOnly) {
      this.lockupIrq = true
      this.updateAbort()
      return
    }
    for (const t of this.channels) {
      if (t.state === EXECUTING && t.block === B_FIFO) this.fault(t, F.lockup_err, 'watchdog: MFIFO lock-up')
    }
  }

  /** The port resolved a stall: retry every parked access. */
  private resume(): void {
    for (const t of this.threads) {
      if (t.block !== B_STALL) continue
      t.block = B_NONE
      if (t.state === KILLING) this.setState(t, STOPPED)
      else if (t.state === CACHE_MISS) this.setState(t, EXECUTING)
    }
    this.kick()
  }

  // ---------------------------------------------------------------- fetch

  /**
   * Byte at `addr` through the thread's instruction cache. Returns the
   * byte, -1 on a bus error (the thread has faulted), -2 on a stall (the
   * thread is parked in Cache miss).
   */
  private icByte(t: Pl330Thread, addr: number, pc: number): number {
    const lb = this.config.icacheLineBytes
    const base = addr - (addr % lb)
    let s = t.icLast
    if (t.icTag[s] !== base) {
      s = -1
      for (let i = 0; i < t.icTag.length; i++) if (t.icTag[i] === base) { s = i; break }
      if (s < 0) {
        s = t.icNext
        t.icNext = (s + 1) % t.icTag.length
        // The line's old contents are gone: forget instructions decoded from it.
        this.dcTag[t.channel + 1]!.fill(-1)
        t.icTag[s] = -1
        const n = this.port.read(base, t.icData, s * lb, lb, t.fetchAttrs)
        this.fetchCycles += 2 + Math.ceil(lb / this.busBytes)
        if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus, t.track, false, base, lb, 'fetch')
        if (n < lb && this.port.resp === STALL) {
          t.block = B_STALL
          this.setState(t, CACHE_MISS)
          return -2
        }
        if (n < lb && this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus_error, t.track, 'fetch', this.port.faultAddr, busRespName(this.port.resp))
        t.icTag[s] = base
        t.icValid[s] = n
      }
      t.icLast = s
    }
    const off = addr - base
    if (off >= t.icValid[s]!) {
      // Precise abort: the PC stays on the instruction.
      t.pc = pc
      this.fault(t, F.instr_fetch_err, `instruction fetch error at 0x${addr.toString(16)}`)
      return -1
    }
    return t.icData[s * lb + off]!
  }

  /** True if every instruction-cache line holding bytes `[pc, pc + len)` is resident. */
  private linesResident(t: Pl330Thread, pc: number, len: number): boolean {
    const lb = this.config.icacheLineBytes
    for (let base = pc - (pc % lb); base < pc + len; base += lb) {
      if (!t.icTag.includes(base)) return false
    }
    return true
  }

  /** Cycles spent on line fills during the current step. */
  private fetchCycles = 0

  /** Fetches and decodes the instruction at the thread's PC; undefined if the fetch faulted or stalled. */
  private fetch(t: Pl330Thread): Instr | DecodeError | undefined {
    const pc = t.pc
    const b0 = this.icByte(t, pc, pc)
    if (b0 < 0) return undefined
    this.ibuf[0] = b0
    const len = lengthOfByte(b0) || 1
    for (let i = 1; i < len; i++) {
      const b = this.icByte(t, (pc + i) >>> 0, pc)
      if (b < 0) return undefined
      this.ibuf[i] = b
    }
    const insn = decodeInsn(this.ibufViews[len]!, 0)
    // Cache only instructions this thread may execute (a hit needs no further
    // checks) and whose bytes are all still in the instruction cache: filling
    // the second line of an instruction that straddles two can evict the
    // first, and a cached decode must not outlive its lines.
    if (this.fastPath && !isError(insn) && allowed(insn.op, t.isManager ? 'manager' : 'channel') && this.linesResident(t, pc, len)) {
      const k = pc & (DC_SIZE - 1)
      this.dcTag[t.channel + 1]![k] = pc
      this.dcInsn[t.channel + 1]![k] = insn
    }
    return insn
  }

  // ------------------------------------------------------------- execution

  /**
   * True if executing `insn` now, `eventCycles` into the current event,
   * would show the outside world something too early: an interrupt or event
   * (DMASEV), a wait on one (DMAWFE, DMAWFP), a channel starting (DMAGO).
   * The event then ends before it, and the instruction runs in the next
   * event, at its modelled time: the interrupt of a 4 KiB copy comes after
   * the cycles of its bursts, not at the instant the channel started.
   * (DMAEND right after DMASEV still runs in the same event, so a thread
   * woken by that interrupt finds the channel stopped, as software that
   * takes microseconds to respond always does on hardware.)
   */
  private mustYieldBefore(insn: Instr): boolean {
    if (this.eventCycles === 0) return false
    switch (insn.op) {
      case 'DMASEV': case 'DMAWFE': case 'DMAWFP': case 'DMAGO':
        this.yieldRequested = true
        return true
      default:
        return false
    }
  }

  /** Cycles the current event had used when the current instruction began. */
  private eventCycles = 0
  /** Set by {@link Pl330.mustYieldBefore}: end the event before the current instruction. */
  private yieldRequested = false

  /** Executes one instruction of `t`; returns the cycles it took. */
  private step(t: Pl330Thread): number {
    this.fetchCycles = 0
    const pc = t.pc
    if (this.fastPath) {
      const k = pc & (DC_SIZE - 1)
      const slot = t.channel + 1
      if (this.dcTag[slot]![k] === pc) {
        const hit = this.dcInsn[slot]![k]!
        if (this.mustYieldBefore(hit)) return 0
        if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_insn, t.track, pc, formatAsm(hit, 'explicit'))
        return this.exec(t, hit)
      }
    }
    const insn = this.fetch(t)
    if (insn === undefined) return 1 + this.fetchCycles
    if (!isDecodeError(insn) && allowedOn(insn.op, t.isManager ? 'manager' : 'channel') && this.mustYieldBefore(insn)) return this.fetchCycles
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_insn, t.track, pc, isDecodeError(insn) ? `<${insn.fault} 0x${(insn.opcode & 0xff).toString(16)}>` : formatAsm(insn, 'explicit'))
    if (isDecodeError(insn)) {
      this.instructions++
      this.fault(t, insn.fault === 'operand_invalid' ? F.operand_invalid : F.undef_instr, insn.reason)
      return 1 + this.fetchCycles
    }
    if (!allowedOn(insn.op, t.isManager ? 'manager' : 'channel')) {
      this.instructions++
      this.fault(t, F.undef_instr, `${insn.op} not allowed on the ${t.isManager ? 'manager' : 'channel'} thread`)
      return 1 + this.fetchCycles
    }
    return this.exec(t, insn) + this.fetchCycles
  }

  /** Checks an event number for thread `t`; faults and returns false if it may not be used. */
  private eventOk(t: Pl330Thread, ev: number, dbg: number): boolean {
    if (ev >= this.config.numEvents) {
      this.fault(t, F.operand_invalid | dbg, `event ${ev} >= num_events ${this.config.numEvents}`)
      return false
    }
    // A secure thread may use any event; a non-secure one only events CR3 marks non-secure.
    if (t.ns && ((this.config.irqNs >>> ev) & 1) === 0) {
      this.fault(t, F.evnt_err | dbg, `non-secure thread used secure event ${ev}`)
      return false
    }
    return true
  }

  private periphOk(t: Pl330Thread, p: number): boolean {
    if (p >= this.config.numPeriphReq) {
      this.fault(t, F.operand_invalid, `peripheral ${p} >= num_periph_req ${this.config.numPeriphReq}`)
      return false
    }
    if (t.ns && ((this.config.periphNs >>> p) & 1) === 0) {
      this.fault(t, F.ch_periph_err, `non-secure channel used secure peripheral ${p}`)
      return false
    }
    return true
  }

  /** DMAGO on the manager (program or debug). `dbg` = dbg_instr bit or 0. */
  private go(channel: number, addr: number, ns: boolean, dbg: number): boolean {
    const m = this.manager
    if (channel >= this.config.numChannels) {
      this.fault(m, F.operand_invalid | dbg, `DMAGO channel ${channel} >= num_chnls ${this.config.numChannels}`)
      return false
    }
    if (m.ns && !ns) {
      this.fault(m, F.dmago_err | dbg, `non-secure manager started secure channel ${channel}`)
      return false
    }
    const c = this.channels[channel]!
    // DMAGO on a channel that is not Stopped is a NOP (decision 0403; VCML/Renode).
    if (c.state !== STOPPED) return true
    c.pc = addr >>> 0
    c.setNs(ns)
    c.reqBurst = false
    c.lastReq = false
    this.invalidateIcache(c)
    this.setState(c, EXECUTING)
    this.lockupIrq = false
    this.updateAbort()
    this.kick()
    return true
  }

  /** DMASEV after the checks. */
  private sev(ev: number): void {
    const bit = (1 << ev) >>> 0
    if ((this.inten & bit) !== 0) {
      this.ris = (this.ris | bit) >>> 0
      this.updateIrqs()
      return
    }
    // Event mode: every thread waiting for it resumes and the event is consumed;
    // with no waiter it stays pending for the next DMAWFE.
    let woke = false
    for (const t of this.threads) {
      if (t.state === WAIT_EVENT && t.wakeup === ev) {
        this.setState(t, EXECUTING)
        woke = true
      }
    }
    if (!woke) this.ris = (this.ris | bit) >>> 0
    else this.kick()
  }

  private exec(t: Pl330Thread, i: Instr): number {
    this.instructions++
    switch (i.op) {
      case 'DMAEND':
        this.end(t)
        return 1
      case 'DMAKILL':
        this.kill(t)
        return 1
      case 'DMANOP':
      case 'DMARMB':
      case 'DMAWMB':
        // Nothing is outstanding after an instruction in this model: barriers pass.
        t.pc = (t.pc + 1) >>> 0
        return 1
      case 'DMAGO':
        if (this.go(i.channel, i.addr, i.ns, 0)) t.pc = (t.pc + 6) >>> 0
        return 1
      case 'DMASEV':
        if (!this.eventOk(t, i.event, 0)) return 1
        t.pc = (t.pc + 2) >>> 0
        this.sev(i.event)
        return 1
      case 'DMAWFE': {
        if (!this.eventOk(t, i.event, 0)) return 1
        t.pc = (t.pc + 2) >>> 0
        if (i.invalidate) this.invalidateIcache(t)
        const bit = (1 << i.event) >>> 0
        if ((this.ris & ~this.inten & bit) !== 0) {
          this.ris = (this.ris & ~bit) >>> 0
          return 2
        }
        t.wakeup = i.event
        this.setState(t, WAIT_EVENT)
        return 1
      }
      case 'DMAMOV':
        if (i.reg === 'CCR') {
          // A non-secure channel may not ask for secure accesses (CCR[9], CCR[23] = 0): ch_rdwr_err, precise.
          if (t.ns && ((i.imm & (1 << 9)) === 0 || (i.imm & (1 << 23)) === 0)) {
            this.fault(t, F.ch_rdwr_err, `non-secure channel programmed secure CCR 0x${i.imm.toString(16)}`)
            return 1
          }
          t.ccr = i.imm >>> 0
          t.updateDataAttrs()
        } else if (i.reg === 'SAR') t.sar = i.imm >>> 0
        else t.dar = i.imm >>> 0
        t.pc = (t.pc + 6) >>> 0
        return 1
      case 'DMAADDH':
      case 'DMAADNH': {
        const add = i.op === 'DMAADDH' ? i.imm16 : (0xffff0000 | i.imm16) >>> 0
        if (i.reg === 'SAR') t.sar = (t.sar + add) >>> 0
        else t.dar = (t.dar + add) >>> 0
        t.pc = (t.pc + 3) >>> 0
        return 1
      }
      case 'DMALP':
        if (i.lc === 0) t.lc0 = i.iterations - 1
        else t.lc1 = i.iterations - 1
        t.pc = (t.pc + 2) >>> 0
        return 1
      case 'DMALPEND': {
        if (!this.condMet(t, i.cond)) {
          t.pc = (t.pc + 2) >>> 0
          return 1
        }
        if (i.forever) {
          // DMALPFE: loops until the peripheral flagged the last request (drlast).
          if (t.lastReq) {
            t.lastReq = false
            t.pc = (t.pc + 2) >>> 0
          } else t.pc = (t.pc - i.jump) >>> 0
          return 1
        }
        const lc = i.lc === 0 ? t.lc0 : t.lc1
        if (lc !== 0) {
          if (i.lc === 0) t.lc0 = lc - 1
          else t.lc1 = lc - 1
          // Target = address of this DMALPEND minus the backwards jump (spec §1 point 1).
          t.pc = (t.pc - i.jump) >>> 0
        } else t.pc = (t.pc + 2) >>> 0
        return 1
      }
      case 'DMALD':
        if (!this.condMet(t, i.cond)) return this.nop(t, 1)
        return this.load(t, i.cond === 'single' ? 1 : ((t.ccr >>> 4) & 15) + 1, 1, -1)
      case 'DMALDP':
        if (!this.periphOk(t, i.periph)) return 1
        if (!this.condMet(t, i.cond)) return this.nop(t, 2)
        return this.load(t, i.cond === 'single' ? 1 : ((t.ccr >>> 4) & 15) + 1, 2, i.periph)
      case 'DMAST':
        if (!this.condMet(t, i.cond)) return this.nop(t, 1)
        return this.store(t, i.cond === 'single' ? 1 : ((t.ccr >>> 18) & 15) + 1, 1, -1, false)
      case 'DMASTP':
        if (!this.periphOk(t, i.periph)) return 1
        if (!this.condMet(t, i.cond)) return this.nop(t, 2)
        return this.store(t, i.cond === 'single' ? 1 : ((t.ccr >>> 18) & 15) + 1, 2, i.periph, false)
      case 'DMASTZ':
        return this.store(t, ((t.ccr >>> 18) & 15) + 1, 1, -1, true)
      case 'DMAWFP': {
        if (!this.periphOk(t, i.periph)) return 1
        t.pc = (t.pc + 2) >>> 0
        t.wfpBurst = i.req === 'burst'
        t.wfpPeriph = i.req === 'periph'
        const p = i.periph
        if (this.periphPending[p] !== 0) {
          this.takeRequest(t, p)
          return 1
        }
        t.wakeup = p
        this.setState(t, WAIT_PERIPH)
        return 1
      }
      case 'DMAFLUSHP':
        if (!this.periphOk(t, i.periph)) return 1
        t.pc = (t.pc + 2) >>> 0
        this.periphPending[i.periph] = 0
        this.periphLast[i.periph] = 0
        this.onPeripheralAck?.(i.periph, 'flush')
        return 1
    }
  }

  private nop(t: Pl330Thread, len: number): number {
    t.pc = (t.pc + len) >>> 0
    return 1
  }

  /** Whether a conditional (S/B) instruction runs with the current request flag. */
  private condMet(t: Pl330Thread, cond: 'always' | 'single' | 'burst'): boolean {
    return cond === 'always' || (cond === 'burst') === t.reqBurst
  }

  private burstSizeOk(t: Pl330Thread, sizeLog: number): boolean {
    // Reserved sizes (5..7) and beats wider than the bus: operand_invalid (decision 0404).
    if (sizeLog > 4 || (1 << sizeLog) > this.busBytes) {
      this.fault(t, F.operand_invalid, `burst size ${1 << sizeLog} bytes exceeds the ${this.busBytes}-byte bus`)
      return false
    }
    return true
  }

  /**
   * DMALD/DMALDP: reads a burst into the channel's MFIFO. Returns cycles.
   * An unaligned incrementing burst moves beats*size − (SAR mod size)
   * bytes and leaves SAR aligned (spec §1 point 8); a fixed burst repeats
   * the same (partial) beat at SAR, which does not change.
   */
  private load(t: Pl330Thread, beats: number, len: number, periph: number): number {
    const ss = (t.ccr >>> 1) & 7
    if (!this.burstSizeOk(t, ss)) return 1
    const size = 1 << ss
    const inc = (t.ccr & 1) !== 0
    const off = t.sar & (size - 1)
    const bytes = inc ? beats * size - off : beats * (size - off)
    if (t.fifoCount + bytes > this.fifoCap) {
      // The MFIFO can never hold it: mfifo_err, imprecise (the instruction counts as issued).
      t.pc = (t.pc + len) >>> 0
      this.fault(t, F.mfifo_err, `DMALD of ${bytes} bytes overflows the ${this.fifoCap}-byte MFIFO (${t.fifoCount} held)`)
      return 1
    }
    if (this.fifoUsed + bytes > this.fifoCap) {
      // Space is held by other channels: wait (the watchdog catches a lock-up).
      t.block = B_FIFO
      this.instructions--
      return 1
    }
    t.block = B_NONE
    const cap = this.fifoCap
    let tail = (t.fifoHead + t.fifoCount) % cap
    let done = 0
    let ok = true
    if (inc) {
      while (done < bytes && ok) {
        const n = Math.min(bytes - done, cap - tail)
        const got = this.port.read((t.sar + done) >>> 0, t.fifo, tail, n, t.readAttrs)
        if (got < n) ok = false
        done += got
        tail = (tail + got) % cap
      }
    } else {
      const beat = size - off
      for (let b = 0; b < beats && ok; b++) {
        let part = 0
        while (part < beat && ok) {
          const n = Math.min(beat - part, cap - tail)
          const got = this.port.read((t.sar + part) >>> 0, t.fifo, tail, n, t.readAttrs)
          if (got < n) ok = false
          part += got
          tail = (tail + got) % cap
        }
        done += part
      }
    }
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus, t.track, false, t.sar, bytes, 'load')
    if (!ok) {
      if (this.port.resp === STALL) {
        // Held by the SMMU: issue the whole burst again on resume.
        t.block = B_STALL
        this.instructions--
        return 1
      }
      if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus_error, t.track, 'data read', this.port.faultAddr, busRespName(this.port.resp))
      this.advanceSrc(t, inc, off, beats, size)
      t.pc = (t.pc + len) >>> 0
      this.fault(t, F.data_read_err, `data read error at 0x${this.port.faultAddr.toString(16)}`)
      return 1 + beats
    }
    t.fifoCount += bytes
    this.fifoUsed += bytes
    this.advanceSrc(t, inc, off, beats, size)
    t.pc = (t.pc + len) >>> 0
    if (periph >= 0) this.onPeripheralAck?.(periph, beats === 1 ? 'single' : 'burst')
    return 1 + beats
  }

  private advanceSrc(t: Pl330Thread, inc: boolean, off: number, beats: number, size: number): void {
    if (inc) t.sar = (t.sar - off + beats * size) >>> 0
  }

  /** DMAST/DMASTP/DMASTZ: writes a burst from the MFIFO (or zeros). Returns cycles. */
  private store(t: Pl330Thread, beats: number, len: number, periph: number, zero: boolean): number {
    const ds = (t.ccr >>> 15) & 7
    if (!this.burstSizeOk(t, ds)) return 1
    const size = 1 << ds
    const inc = (t.ccr & (1 << 14)) !== 0
    const off = t.dar & (size - 1)
    const bytes = inc ? beats * size - off : beats * (size - off)
    if (!zero) {
      if (bytes > this.fifoCap) {
        t.pc = (t.pc + len) >>> 0
        this.fault(t, F.mfifo_err, `DMAST of ${bytes} bytes exceeds the ${this.fifoCap}-byte MFIFO`)
        return 1
      }
      if (t.fifoCount < bytes) {
        // Precise: the DMAST is not executed and the PC stays on it.
        this.fault(t, F.st_data_unavailable, `DMAST needs ${bytes} bytes, the MFIFO holds ${t.fifoCount}`)
        return 1
      }
    }
    // Stage the data contiguously when it wraps the ring or needs an endian swap.
    const es = (t.ccr >>> 28) & 7
    let src: Uint8Array
    let srcOff: number
    if (zero) {
      src = this.zeros
      srcOff = 0
    } else if (t.fifoHead + bytes <= this.fifoCap && (es === 0 || es > 4)) {
      src = t.fifo
      srcOff = t.fifoHead
    } else {
      const first = Math.min(bytes, this.fifoCap - t.fifoHead)
      this.stage.set(t.fifo.subarray(t.fifoHead, t.fifoHead + first), 0)
      if (first < bytes) this.stage.set(t.fifo.subarray(0, bytes - first), first)
      if (es >= 1 && es <= 4) swapElements(this.stage, bytes, 1 << es)
      src = this.stage
      srcOff = 0
    }
    let ok = true
    let done = 0
    if (inc) {
      const got = this.port.write(t.dar, src, srcOff, bytes, t.writeAttrs)
      ok = got === bytes
      done = got
    } else {
      const beat = size - off
      for (let b = 0; b < beats && ok; b++) {
        const got = this.port.write(t.dar, src, zero ? 0 : srcOff + b * beat, beat, t.writeAttrs)
        ok = got === beat
        done += got
      }
    }
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus, t.track, true, t.dar, bytes, zero ? 'store zeros' : 'store')
    if (!ok && this.port.resp === STALL) {
      t.block = B_STALL
      this.instructions--
      return 1
    }
    if (!zero) {
      t.fifoHead = (t.fifoHead + bytes) % this.fifoCap
      t.fifoCount -= bytes
      this.fifoUsed -= bytes
    }
    if (inc) t.dar = (t.dar - off + beats * size) >>> 0
    t.pc = (t.pc + len) >>> 0
    if (!ok) {
      if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_bus_error, t.track, 'data write', this.port.faultAddr, busRespName(this.port.resp))
      this.fault(t, F.data_write_err, `data write error at 0x${this.port.faultAddr.toString(16)} (${done} of ${bytes} bytes written)`)
      return 1 + beats
    }
    if (periph >= 0) this.onPeripheralAck?.(periph, beats === 1 ? 'single' : 'burst')
    return 1 + beats
  }

  // ----------------------------------------------------- peripheral requests

  /**
   * A peripheral asserts a request on interface `p` (drtype single/burst,
   * with drlast when `last`). A channel waiting in DMAWFP for `p` takes it
   * at once (the lowest-numbered waiter); otherwise it stays pending until a
   * DMAWFP or DMAFLUSHP. Out-of-range `p` is ignored.
   */
  periphRequest(p: number, type: PeriphRequest, last = false): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.config.numPeriphReq) return
    this.periphPending[p] = type === 'burst' ? 2 : 1
    this.periphLast[p] = last ? 1 : 0
    for (const t of this.channels) {
      if (t.state === WAIT_PERIPH && t.wakeup === p) {
        this.takeRequest(t, p)
        this.setState(t, EXECUTING)
        this.kick()
        return
      }
    }
  }

  /** True if peripheral `p` has a request the DMAC has not taken yet. */
  periphPendingRequest(p: number): PeriphRequest | undefined {
    const v = this.periphPending[p]
    return v === 1 ? 'single' : v === 2 ? 'burst' : undefined
  }

  private takeRequest(t: Pl330Thread, p: number): void {
    const burst = this.periphPending[p] === 2
    t.reqBurst = t.wfpPeriph ? burst : t.wfpBurst
    t.lastReq = this.periphLast[p] === 1
    this.periphPending[p] = 0
    this.periphLast[p] = 0
  }

  // ------------------------------------------------------- debug interface

  /**
   * DBGCMD = 0: execute the instruction in DBGINST0/1. Only DMAGO (on the
   * manager), DMASEV and DMAKILL are accepted; anything else faults the
   * addressed thread with undef_instr | dbg_instr (spec §4.3).
   */
  private debugExecute(): void {
    const i0 = this.regs.get(PL330_REGS.reg.DBGINST0)
    const i1 = this.regs.get(PL330_REGS.reg.DBGINST1)
    if (this.tracer?.on) this.tracer.instant(PL330_TRACE.pl330_debug, 'pl330/manager', i0, i1)
    const d = decodeDebugInstr(i0, i1)
    const t = d.thread === 'manager' ? this.manager : this.channels[d.channel]
    // A channel number the configuration lacks addresses no thread: ignored (decision 0402).
    if (t === undefined) return
    const dbg = F.dbg_instr
    const insn = d.instr
    if (isDecodeError(insn)) {
      const allowedFamily = insn.mnemonic === 'DMASEV' || insn.mnemonic === 'DMAKILL' || (insn.mnemonic === 'DMAGO' && d.thread === 'manager')
      this.fault(t, (allowedFamily && insn.fault === 'operand_invalid' ? F.operand_invalid : F.undef_instr) | dbg, `debug: ${insn.reason}`)
      return
    }
    if (!d.allowed) {
      this.fault(t, F.undef_instr | dbg, `debug interface does not accept ${insn.op} on the ${d.thread}`)
      return
    }
    if (insn.op === 'DMAGO') this.go(insn.channel, insn.addr, insn.ns, dbg)
    else if (insn.op === 'DMAKILL') this.kill(t)
    else if (insn.op === 'DMASEV' && this.eventOk(t, insn.event, dbg)) this.sev(insn.event)
  }
}

/** Size of the per-thread decoded-instruction cache (direct-mapped by PC). */
const DC_SIZE = 64

function isFaulting(t: Pl330Thread): boolean {
  return t.state === FAULTING || t.state === FAULTING_COMPLETING
}

/** Reverses the bytes of each `esize`-byte element of `buf[0..len)` (CCR endian_swap_size). */
function swapElements(buf: Uint8Array, len: number, esize: number): void {
  for (let e = 0; e + esize <= len; e += esize) {
    for (let a = e, b = e + esize - 1; a < b; a++, b--) {
      const x = buf[a]!
      buf[a] = buf[b]!
      buf[b] = x
    }
  }
}

/**
 * The register window on the bus. The secure APB interface sees every
 * register; a non-secure access while the manager is secure (DNS = 0) reads
 * as zero and is ignored ("nssraz", spec §4; RK3399 shows Linux then fails
 * to probe).
 */
class Pl330Mmio implements MmioDevice {
  readonly name: string
  readonly size: number
  private readonly regs: RegisterFile<Pl330RegSpec>
  private readonly mgrNs: () => boolean

  constructor(name: string, regs: RegisterFile<Pl330RegSpec>, mgrNs: () => boolean) {
    this.name = name
    this.size = regs.size
    this.regs = regs
    this.mgrNs = mgrNs
  }

  get resp(): BusResp {
    return this.regs.resp
  }

  set resp(v: BusResp) {
    this.regs.resp = v
  }

  read(offset: number, size: AccessSize, attrs: BusAttrs): number {
    if (!attrs.secure && !this.mgrNs()) return 0
    return this.regs.read(offset, size, attrs)
  }

  write(offset: number, size: AccessSize, value: number, attrs: BusAttrs): void {
    if (!attrs.secure && !this.mgrNs()) return
    this.regs.write(offset, size, value, attrs)
  }
}
