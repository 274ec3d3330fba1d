/**
 * Interrupt lines and a small interrupt controller (a GIC reduced to what the
 * kernel layer needs: per-line trigger type, enable/disable, pending, and
 * delivery to one handler per line).
 *
 * A device drives an {@link IrqLine}: `set(true/false)` for a level, or
 * `pulse()` for an edge. The controller latches edges, follows levels, and
 * delivers a pending, enabled line to its handler as a scheduler event at
 * the current time (never re-entrantly from inside the device's own MMIO
 * access). A level line that stays asserted is delivered again after the
 * handler returns, as long as it stays enabled: the handler must quiet the
 * device or disable the line, exactly as on hardware.
 */
import type { Scheduler } from './scheduler.ts'
import { defineTraceEvents, type Tracer } from './trace.ts'

/** Trigger type of a controller input (from the device tree's `interrupts`). */
export type IrqTrigger = 'level' | 'edge'

/** What a handler reports, as Linux's irqreturn_t. */
export const IrqReturn = { NONE: 0, HANDLED: 1 } as const
export type IrqReturn = (typeof IrqReturn)[keyof typeof IrqReturn]

/** Trace events of the interrupt controller. */
export const IRQ_TRACE = defineTraceEvents({
  irq_line: ['irq', 'irq:u32 level:bool', 'line {irq} -> {level}'],
  irq_deliver: ['irq', 'irq:u32', 'deliver irq {irq}'],
  irq_storm: ['irq', 'irq:u32 count:u32', 'irq {irq}: nobody cared ({count} deliveries without progress), disabled'],
})

/**
 * Linux disables a line after 99,900 of 100,000 interrupts went unhandled
 * (kernel/irq/spurious.c). We disable a line delivered this many times
 * without virtual time advancing, which would otherwise hang the simulation.
 */
export const IRQ_STORM_LIMIT = 100_000

/** The wire from a device to one controller input. */
export class IrqLine {
  private level = false
  private readonly sink: (level: boolean, edge: boolean) => void
  /** Name for traces ("pl330.irq0"). */
  readonly name: string

  constructor(name: string, sink: (level: boolean, edge: boolean) => void) {
    this.name = name
    this.sink = sink
  }

  /** Current level of the wire. */
  get asserted(): boolean {
    return this.level
  }

  /** Drives the wire to `level`. A rising edge latches an edge-triggered input. */
  set(level: boolean): void {
    if (level === this.level) return
    this.level = level
    this.sink(level, level)
  }

  /** A short pulse: one rising edge, leaving the wire low. */
  pulse(): void {
    this.level = false
    this.sink(true, true)
    this.sink(false, false)
  }
}

interface Input {
  trigger: IrqTrigger
  enabled: boolean
  level: boolean
  /** Latched edge (edge-triggered inputs). */
  edgePending: boolean
  handler: ((irq: number) => IrqReturn) | undefined
  deliveryScheduled: boolean
  storm: number
  stormTime: number
  line: IrqLine
}

/** A small interrupt controller with `count` inputs, numbered from 0. */
export class InterruptController {
  private readonly inputs: Input[]
  private readonly scheduler: Scheduler
  private readonly tracer: Tracer | undefined
  /** Called when a line is disabled for storming (the kernel logs it). */
  onStorm: ((irq: number) => void) | undefined = undefined

  constructor(count: number, scheduler: Scheduler, tracer?: Tracer) {
    this.scheduler = scheduler
    this.tracer = tracer
    this.inputs = Array.from({ length: count }, (_, n) => {
      const input: Input = {
        trigger: 'level', enabled: false, level: false, edgePending: false, handler: undefined,
        deliveryScheduled: false, storm: 0, stormTime: -1,
        line: new IrqLine(`irq${n}`, (level, edge) => this.drive(n, level, edge)),
      }
      return input
    })
  }

  /** Number of inputs. */
  get count(): number {
    return this.inputs.length
  }

  private input(n: number): Input {
    const i = this.inputs[n]
    if (i === undefined) throw new RangeError(`no interrupt input ${n}`)
    return i
  }

  /** The wire a device drives into input `n`. */
  line(n: number): IrqLine {
    return this.input(n).line
  }

  /** Sets the trigger type of input `n`. */
  configure(n: number, trigger: IrqTrigger): void {
    const i = this.input(n)
    i.trigger = trigger
    i.edgePending = false
  }

  /** Trigger type of input `n`. */
  trigger(n: number): IrqTrigger {
    return this.input(n).trigger
  }

  /** Installs (or with undefined removes) the handler of input `n`. */
  setHandler(n: number, handler: ((irq: number) => IrqReturn) | undefined): void {
    this.input(n).handler = handler
    this.kick(n)
  }

  /** Unmasks input `n`; a pending interrupt is then delivered. */
  enable(n: number): void {
    this.input(n).enabled = true
    this.kick(n)
  }

  /** Masks input `n`; the line's state is still tracked (a level stays pending). */
  disable(n: number): void {
    this.input(n).enabled = false
  }

  /** True if input `n` is unmasked. */
  isEnabled(n: number): boolean {
    return this.input(n).enabled
  }

  /** True if input `n` has an interrupt waiting (level asserted, or edge latched). */
  isPending(n: number): boolean {
    const i = this.input(n)
    return i.trigger === 'level' ? i.level : i.edgePending
  }

  /** Clears a latched edge without delivering it. */
  clearPending(n: number): void {
    this.input(n).edgePending = false
  }

  private drive(n: number, level: boolean, edge: boolean): void {
    const i = this.inputs[n]!
    i.level = level
    if (edge && i.trigger === 'edge') i.edgePending = true
    if (this.tracer?.on) this.tracer.instant(IRQ_TRACE.irq_line, 'irq', n, level)
    this.kick(n)
  }

  /** Schedules a delivery if input `n` is pending, enabled and handled. */
  private kick(n: number): void {
    const i = this.inputs[n]!
    if (i.deliveryScheduled || !i.enabled || i.handler === undefined || !this.isPending(n)) return
    i.deliveryScheduled = true
    this.scheduler.schedule(0, () => this.deliver(n), `irq${n}`)
  }

  private deliver(n: number): void {
    const i = this.inputs[n]!
    i.deliveryScheduled = false
    if (!i.enabled || i.handler === undefined || !this.isPending(n)) return
    const now = this.scheduler.now
    if (now === i.stormTime) i.storm++
    else {
      i.stormTime = now
      i.storm = 1
    }
    if (i.storm > IRQ_STORM_LIMIT) {
      i.enabled = false
      if (this.tracer?.on) this.tracer.instant(IRQ_TRACE.irq_storm, 'irq', n, i.storm)
      this.onStorm?.(n)
      return
    }
    if (i.trigger === 'edge') i.edgePending = false // acknowledged on delivery
    if (this.tracer?.on) this.tracer.instant(IRQ_TRACE.irq_deliver, 'irq', n)
    i.handler(n)
    this.kick(n)
  }
}
