/**
 * A small board for PL330 tests, examples and benches: a {@link SimSystem}
 * with RAM, one PL330 mapped at 0x2c0a0000 on the interconnect (the
 * identity port), its irq[n] and irq_abort on the interrupt controller, and
 * helpers that drive the debug interface as Linux does.
 */
import { SimSystem, busAttrs, type BusAttrs, type MasterPort } from '@vfio-sim/sim'
import { Pl330, type Pl330Options } from './pl330.ts'
import type { Pl330Config } from './config.ts'

/** Options of {@link Pl330Rig}. */
export interface Pl330RigOptions {
  readonly config?: Partial<Pl330Config>
  readonly fastPath?: boolean
  /** RAM regions `[base, size]` (default one region of 1 GiB at 0x80000000). */
  readonly ram?: readonly (readonly [number, number])[]
  /** Master port for the DMAC (default: the interconnect itself). */
  readonly port?: (sys: SimSystem) => MasterPort
  readonly streamIds?: readonly number[]
  /** Registers are accessed through the secure APB interface unless false. */
  readonly secureCpu?: boolean
}

/** Base address of the PL330 window on the flagship board. */
export const PL330_BASE = 0x2c0a0000
/** Interrupt controller input of irq_abort; irq[n] are inputs IRQ_BASE + 1 + n. */
export const PL330_IRQ_BASE = 64

/** A PL330 on a minimal board. */
export class Pl330Rig {
  readonly sys: SimSystem
  readonly dma: Pl330
  /** Attributes of the CPU's register accesses. */
  readonly cpu: BusAttrs

  constructor(opts: Pl330RigOptions = {}) {
    this.sys = new SimSystem()
    for (const [base, size] of opts.ram ?? [[0x80000000, 0x40000000]]) this.sys.bus.addRam(`ram@${base.toString(16)}`, base, size)
    const numEvents = opts.config?.numEvents ?? 16
    const o: Pl330Options = {
      port: opts.port ? opts.port(this.sys) : this.sys.bus,
      scheduler: this.sys.scheduler,
      tracer: this.sys.tracer,
      irqs: Array.from({ length: numEvents }, (_, n) => this.sys.irqc.line(PL330_IRQ_BASE + 1 + n)),
      abortIrq: this.sys.irqc.line(PL330_IRQ_BASE),
      ...(opts.config ? { config: opts.config } : {}),
      ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
      ...(opts.streamIds ? { streamIds: opts.streamIds } : {}),
    }
    this.dma = new Pl330(o)
    this.sys.bus.addDevice(PL330_BASE, this.dma.mmio)
    this.cpu = busAttrs({ priv: true, secure: opts.secureCpu ?? true })
  }

  /** 32-bit register read at `offset` in the PL330 window. */
  readl(offset: number): number {
    return this.sys.bus.readN(PL330_BASE + offset, 4, this.cpu) >>> 0
  }

  /** 32-bit register write. */
  writel(offset: number, value: number): void {
    this.sys.bus.writeN(PL330_BASE + offset, 4, value >>> 0, this.cpu)
  }

  /** Executes one debug instruction as Linux `_execute_DBGINSN` does. */
  debug(dbginst0: number, dbginst1 = 0): void {
    this.writel(0xd08, dbginst0)
    this.writel(0xd0c, dbginst1)
    this.writel(0xd04, 0)
  }

  /** DMAGO channel `ch` at `pc` through the debug interface (manager thread). */
  go(ch: number, pc: number, ns = false): void {
    this.debug(((ch << 24) | ((ns ? 0xa2 : 0xa0) << 16)) >>> 0, pc >>> 0)
  }

  /** DMAKILL on channel `ch` (or the manager) through the debug interface. */
  kill(ch: number | 'manager'): void {
    this.debug(ch === 'manager' ? 0x00010000 : (0x00010001 | (ch << 8)) >>> 0)
  }

  /** Copies bytes into physical memory. */
  load(addr: number, bytes: ArrayLike<number>): void {
    this.sys.memory.write(addr, Uint8Array.from(bytes))
  }

  /** Runs the scheduler until nothing is left to do (or `maxEvents`). */
  run(maxEvents = 10_000_000): number {
    return this.sys.scheduler.runUntilIdle(undefined, maxEvents)
  }
}
