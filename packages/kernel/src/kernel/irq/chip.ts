/**
 * Models the flow handlers of kernel/irq/chip.c as the interrupt controller
 * (packages/sim InterruptController) drives them:
 *
 * - handle_level_irq: mask the line, run the actions, then unmask it unless
 *   a handler disabled the interrupt meanwhile (disable_irq_nosync: what
 *   VFIO's automasking does). A line still asserted after unmasking is
 *   delivered again.
 * - handle_edge_irq: run the actions; the controller latched the edge, and
 *   an edge arriving while the line is disabled stays latched and is
 *   delivered when it is enabled again (the IRQS_PENDING resend).
 */
import { IrqReturn, type InterruptController } from '@vfio-sim/sim'
import type { IrqDesc } from './irqdesc.ts'

/** Runs every action of `desc`; returns IRQ_HANDLED if any handler claimed it. */
export function handleIrqEvent(desc: IrqDesc): IrqReturn {
  let ret: IrqReturn = IrqReturn.NONE
  for (const a of [...desc.actions]) {
    if (a.handler(desc.irq, a.devId) === IrqReturn.HANDLED) ret = IrqReturn.HANDLED
  }
  return ret
}

/** handle_level_irq. */
export function handleLevelIrq(irqc: InterruptController, desc: IrqDesc): IrqReturn {
  irqc.disable(desc.irq) // mask_ack_irq
  const ret = handleIrqEvent(desc)
  if (desc.depth === 0 && !desc.spuriousDisabled) irqc.enable(desc.irq) // cond_unmask_irq
  return ret
}

/** handle_edge_irq. */
export function handleEdgeIrq(desc: IrqDesc): IrqReturn {
  return handleIrqEvent(desc)
}
