/**
 * The pieces every board shares, wired together: one scheduler (virtual
 * time), one tracer on that clock, one interconnect with its physical memory,
 * and one interrupt controller.
 */
import { Interconnect } from './interconnect.ts'
import { InterruptController } from './irq.ts'
import { PhysMemory } from './memory.ts'
import { Scheduler } from './scheduler.ts'
import { Tracer } from './trace.ts'

export interface SimSystemOptions {
  /** Number of interrupt controller inputs (default 256). */
  readonly irqs?: number
}

export class SimSystem {
  readonly scheduler = new Scheduler()
  readonly tracer = new Tracer(() => this.scheduler.now)
  readonly memory = new PhysMemory()
  readonly bus: Interconnect
  readonly irqc: InterruptController

  constructor(opts: SimSystemOptions = {}) {
    this.bus = new Interconnect(this.memory, this.tracer)
    this.irqc = new InterruptController(opts.irqs ?? 256, this.scheduler, this.tracer)
  }
}
