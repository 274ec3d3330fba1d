/**
 * Models kernel/irq/spurious.c note_interrupt: a line whose interrupts no
 * handler claims (99,900 of 100,000) is reported ("nobody cared") and
 * disabled, so a stuck device cannot hang the machine.
 */
import type { IrqDesc } from './irqdesc.ts'

/** Window of interrupts over which unhandled ones are counted. */
export const SPURIOUS_WINDOW = 100_000
/** Unhandled interrupts in one window that disable the line. */
export const SPURIOUS_LIMIT = 99_900

/** Records one delivery; returns true if the line must now be disabled. */
export function noteInterrupt(desc: IrqDesc, handled: boolean): boolean {
  desc.count++
  if (!handled) desc.unhandled++
  if (desc.count % SPURIOUS_WINDOW !== 0) return false
  const bad = desc.unhandled > SPURIOUS_LIMIT
  desc.unhandled = 0
  return bad
}

/** The lines __report_bad_irq prints. */
export function badIrqReport(desc: IrqDesc): string[] {
  return [
    `irq ${desc.irq}: nobody cared (try booting with the "irqpoll" option)`,
    'handlers:',
    ...desc.actions.map(a => `[<0000000000000000>] ${a.name}`),
    `Disabling IRQ #${desc.irq}`,
  ]
}
