/**
 * Models kernel/irq/manage.c: request_irq/free_irq, enable_irq/disable_irq
 * (nesting depth, "Unbalanced enable" warning), irq_set_irq_type and
 * irq_get_trigger_type, over the simulated interrupt controller.
 *
 * Sharing follows __setup_irq: a second action is accepted only if both it
 * and the existing ones ask for IRQF_SHARED with the same trigger flags
 * (otherwise EBUSY and a "Flags mismatch" line).
 */
import { IrqReturn, type IrqTrigger } from '@vfio-sim/sim'
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import { handleEdgeIrq, handleLevelIrq } from './chip.ts'
import { IRQF, type IrqAction, type IrqDesc, type IrqHandler } from './irqdesc.ts'
import { badIrqReport, noteInterrupt } from './spurious.ts'

/** The IRQ core of one kernel. */
export class IrqCore {
  private readonly kernel: Kernel
  private readonly descs = new Map<number, IrqDesc>()

  constructor(kernel: Kernel) {
    this.kernel = kernel
    kernel.sys.irqc.onStorm = irq => {
      const d = this.desc(irq)
      d.spuriousDisabled = true
      d.depth++
      for (const l of badIrqReport(d)) kernel.printk('err', l)
    }
  }

  private get irqc() {
    return this.kernel.sys.irqc
  }

  private valid(irq: number): boolean {
    return Number.isInteger(irq) && irq >= 0 && irq < this.irqc.count
  }

  /** The descriptor of `irq` (created on first use, disabled: depth 1, as irq_desc starts). */
  desc(irq: number): IrqDesc {
    if (!this.valid(irq)) kerr('EINVAL', `no irq ${irq}`)
    let d = this.descs.get(irq)
    if (d === undefined) {
      d = { irq, actions: [], depth: 1, count: 0, unhandled: 0, spuriousDisabled: false }
      this.descs.set(irq, d)
    }
    return d
  }

  /**
   * request_irq: installs `handler` for `irq`. Enables the line unless
   * IRQF_NO_AUTOEN (then `enable` must follow). Trigger flags in `flags`
   * set the line's type. EINVAL for a bad irq, EBUSY if the line is taken
   * and sharing is not agreed.
   */
  request(irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): void {
    if (!this.valid(irq) || typeof handler !== 'function') kerr('EINVAL')
    const d = this.desc(irq)
    const action: IrqAction = { handler, flags, name, devId }
    if (d.actions.length > 0) {
      const old = d.actions[0]!
      const ok = (old.flags & flags & IRQF.SHARED) !== 0 && ((old.flags ^ flags) & IRQF.TRIGGER_MASK) === 0
      if (!ok) {
        this.kernel.printk('err', `genirq: Flags mismatch irq ${irq}. ${hex8(flags)} (${name}) vs. ${hex8(old.flags)} (${old.name})`)
        kerr('EBUSY')
      }
      d.actions.push(action)
      return
    }
    const trig = flags & IRQF.TRIGGER_MASK
    if (trig !== 0) this.irqc.configure(irq, (trig & (IRQF.TRIGGER_HIGH | IRQF.TRIGGER_LOW)) !== 0 ? 'level' : 'edge')
    d.actions.push(action)
    d.spuriousDisabled = false
    d.count = 0
    d.unhandled = 0
    this.irqc.setHandler(irq, () => this.deliver(d))
    if ((flags & IRQF.NO_AUTOEN) !== 0) {
      d.depth = 1
      this.irqc.disable(irq)
    } else {
      d.depth = 0
      this.irqc.enable(irq)
    }
  }

  /** free_irq: removes the action registered with `devId`; the last one shuts the line down. */
  free(irq: number, devId: unknown): void {
    if (!this.valid(irq)) return
    const d = this.desc(irq)
    const i = d.actions.findIndex(a => a.devId === devId)
    if (i < 0) {
      this.kernel.printk('warning', `Trying to free already-free IRQ ${irq}`)
      return
    }
    d.actions.splice(i, 1)
    if (d.actions.length === 0) {
      this.irqc.disable(irq)
      this.irqc.setHandler(irq, undefined)
      d.depth = 1
    }
  }

  /** disable_irq_nosync: depth++, masking the line at the first disable. Callable from a handler. */
  disableNosync(irq: number): void {
    const d = this.desc(irq)
    if (d.depth++ === 0) this.irqc.disable(irq)
  }

  /** disable_irq (there is no concurrent handler to wait for in the simulation). */
  disable(irq: number): void {
    this.disableNosync(irq)
  }

  /** enable_irq: depth--, unmasking at 0 (a latched edge or held level is then delivered). Unbalanced: a warning. */
  enable(irq: number): void {
    const d = this.desc(irq)
    if (d.depth === 0) {
      this.kernel.printk('warning', `Unbalanced enable for IRQ ${irq}`)
      return
    }
    if (--d.depth === 0 && d.actions.length > 0) {
      d.spuriousDisabled = false
      this.irqc.enable(irq)
    }
  }

  /** True if `irq` has depth 0 (enabled). */
  isEnabled(irq: number): boolean {
    return this.desc(irq).depth === 0
  }

  /** irq_set_irq_type. */
  setType(irq: number, trigger: IrqTrigger): void {
    this.desc(irq)
    this.irqc.configure(irq, trigger)
  }

  /** irq_get_trigger_type, as 'level' or 'edge'. */
  triggerType(irq: number): IrqTrigger {
    this.desc(irq)
    return this.irqc.trigger(irq)
  }

  /** Delivered-interrupt count of `irq` (/proc/interrupts). */
  count(irq: number): number {
    return this.desc(irq).count
  }

  /** Names of the actions on `irq`. */
  actionNames(irq: number): string[] {
    return this.desc(irq).actions.map(a => a.name)
  }

  private deliver(d: IrqDesc): IrqReturn {
    const level = this.irqc.trigger(d.irq) === 'level'
    const ret = level ? handleLevelIrq(this.irqc, d) : handleEdgeIrq(d)
    if (noteInterrupt(d, ret === IrqReturn.HANDLED)) {
      d.spuriousDisabled = true
      d.depth++
      this.irqc.disable(d.irq)
      for (const l of badIrqReport(d)) this.kernel.printk('err', l)
    }
    return ret
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
