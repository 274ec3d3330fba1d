/**
 * Models include/linux/irqdesc.h / kernel/irq/irqdesc.c: one descriptor per
 * interrupt number, holding the chained handler actions (several with
 * IRQF_SHARED), the disable depth (disable_irq nests), and statistics.
 *
 * Interrupt numbers are the interrupt controller's input numbers (no virq
 * remapping; docs/decisions/0502).
 */
import type { IrqReturn } from '@vfio-sim/sim'

/** An interrupt handler: (irq, dev_id) → IRQ_NONE / IRQ_HANDLED. */
export type IrqHandler = (irq: number, devId: unknown) => IrqReturn

/** IRQF_* request flags (include/linux/interrupt.h). */
export const IRQF = {
  TRIGGER_RISING: 0x1,
  TRIGGER_FALLING: 0x2,
  TRIGGER_HIGH: 0x4,
  TRIGGER_LOW: 0x8,
  TRIGGER_MASK: 0xf,
  SHARED: 0x80,
  ONESHOT: 0x2000,
  /** Do not enable the line at request time (enable_irq later). */
  NO_AUTOEN: 0x80000,
} as const

/** One registered handler (struct irqaction). */
export interface IrqAction {
  readonly handler: IrqHandler
  readonly flags: number
  readonly name: string
  readonly devId: unknown
}

/** The descriptor of one interrupt. */
export interface IrqDesc {
  readonly irq: number
  actions: IrqAction[]
  /** Disable depth: 0 = enabled; each disable_irq adds one, enable_irq removes one. */
  depth: number
  /** Interrupts delivered (kstat_irqs). */
  count: number
  /** Of those, how many no handler claimed (note_interrupt). */
  unhandled: number
  /** Disabled by the spurious-interrupt detector. */
  spuriousDisabled: boolean
}
