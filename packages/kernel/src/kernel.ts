/**
 * The Kernel object: one simulated Linux instance on one board. It owns the
 * kernel-wide state every subsystem reaches through it (Linux reaches these
 * through globals): the hardware (`sys`), the behaviour profile, sysfs and
 * devtmpfs, the kernel log, the physical page allocator, and the IRQ core.
 *
 * Drivers and the VFIO layer take a Kernel; processes (packages/machine)
 * enter it through the syscall layer.
 */
import { SimSystem } from '@vfio-sim/sim'
import { DEV_NULL, Devfs } from './fs/devfs.ts'
import { Kernfs } from './fs/kernfs.ts'
import { PrintkLog, type LogLevel, type LogRecord } from './kernel/printk.ts'
import { waitEvent } from './kernel/wait.ts'
import { PageAllocator } from './mm/page_alloc.ts'
import { IrqCore } from './kernel/irq/manage.ts'
import { FIRST_PID, type TaskStruct } from './kernel/fork.ts'

export type { FileOperations } from './fs/file.ts'
export { OpenFile } from './fs/file.ts'
export type { DevNode, DevOpenContext } from './fs/devfs.ts'
export type { LogLevel } from './kernel/printk.ts'
export type { Task } from './kernel/sched.ts'

/**
 * Which Linux the kernel behaves as: 'rfc-v5' is the 2014 tree the VFIO
 * platform RFC v5 applied to (v3.1x era); 'upstream' is current mainline.
 */
export type KernelProfile = 'rfc-v5' | 'upstream'

/** Options of {@link Kernel}. */
export interface KernelOptions {
  /** The hardware; a fresh SimSystem by default. */
  readonly sys?: SimSystem
  /** Default 'rfc-v5'. */
  readonly profile?: KernelProfile
}

/** One simulated Linux kernel. */
export class Kernel {
  /** The hardware: scheduler (virtual time), tracer, memory, bus, interrupt controller. */
  readonly sys: SimSystem
  /** Behaviour profile. */
  readonly profile: KernelProfile
  /** The tree mounted at /sys. */
  readonly sysfs = new Kernfs()
  /** The tree mounted at /dev. */
  readonly devfs = new Devfs()
  /** Physical pages of the board's DRAM (discovered from the bus's RAM regions on first use). */
  readonly pages: PageAllocator
  /** The IRQ core: request_irq/free_irq/enable_irq/disable_irq over `sys.irqc`. */
  readonly irq: IrqCore
  /** Live user tasks by pid. */
  readonly tasks = new Map<number, TaskStruct>()
  private nextPid = FIRST_PID
  private readonly log: PrintkLog

  constructor(opts: KernelOptions = {}) {
    this.sys = opts.sys ?? new SimSystem()
    this.profile = opts.profile ?? 'rfc-v5'
    this.log = new PrintkLog(() => this.sys.scheduler.now)
    this.pages = new PageAllocator(this.sys.memory)
    this.pages.discover = () => this.sys.bus.map.filter(r => r.device === undefined)
    this.irq = new IrqCore(this)
    this.devfs.add('null', DEV_NULL)
  }

  /** A new pid (pids are never reused within one boot; deterministic). */
  allocPid(): number {
    return this.nextPid++
  }

  /** printk: appends a line to the kernel log at virtual time now. */
  printk(level: LogLevel, text: string): void {
    this.log.printk(level, text)
  }

  /** The kernel log as `dmesg` prints it: `[    0.000000] text` lines, oldest first. */
  dmesg(): string[] {
    return this.log.dmesg()
  }

  /** The kernel log records (time, level, text). */
  get logRecords(): readonly LogRecord[] {
    return this.log.log
  }

  /** Keep pr_debug/dev_dbg records (off by default, as without dynamic debug). */
  set dynamicDebug(on: boolean) {
    this.log.dynamicDebug = on
  }

  /** Echo every log line as it is printed (e.g. to stdout in a workshop). */
  set console(fn: ((line: string) => void) | undefined) {
    this.log.console = fn
  }

  /** Current virtual time in ns. */
  get now(): number {
    return this.sys.scheduler.now
  }

  /**
   * wait_event: runs the machine until `cond()` holds. Throws
   * BlockedForeverError if the machine goes idle first; with `deadlineNs`
   * (absolute) returns false at the deadline instead.
   */
  waitEvent(cond: () => boolean, what: string, deadlineNs?: number): boolean {
    return waitEvent(this.sys.scheduler, cond, what, deadlineNs)
  }
}
