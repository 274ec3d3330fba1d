/**
 * Models drivers/vfio/platform/vfio_platform_irq.c: the interrupt side of a
 * vfio-platform / vfio-amba device.
 *
 * - At open every interrupt index gets its Linux IRQ requested with
 *   IRQF_NO_AUTOEN (off until a trigger eventfd is set); a request_irq
 *   failure is parked on the index and returned by every SET_IRQS on it.
 * - Level IRQs are AUTOMASKED: the handler masks the line
 *   (disable_irq_nosync) and signals the trigger eventfd once; further
 *   interrupts — and loopback triggers — signal nothing until the user
 *   unmasks (ioctl, or an unmask eventfd = virqfd). Edge IRQs signal every
 *   time.
 * - `masked` nests inside the trigger's enable: masking before a trigger
 *   is set keeps the line off after it is set, until UNMASK.
 *
 * SET_IRQS (spec vfio.md §10.8): ACTION MASK / UNMASK / TRIGGER (anything
 * else, including several ACTION bits, ENOTTY); MASK/UNMASK need
 * start = 0, count = 1 and a MASKABLE index (EINVAL); TRIGGER|NONE with
 * count 0 drops the trigger; otherwise start = 0, count = 1; DATA_EVENTFD
 * fd ≥ 0 installs, fd < 0 removes; NONE / BOOL(≠0) is a loopback.
 *
 * Profile 'rfc-v5' (the 2014 VOSYS series, VP5): every index is MASKABLE
 * (edge included; AUTOMASKED only for level); BOOL values other than 1 are
 * EINVAL; TRIGGER|NONE with count ≠ 0 is a loopback without a start/count
 * check; the one handler ignores an interrupt while masked. Eventfd
 * mask/unmask (virqfd) works in both profiles: see
 * docs/decisions/0880-vfio-platform-profiles.md.
 */
import { IrqReturn } from '@vfio-sim/sim'
import {
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
} from '@vfio-sim/uapi'
import { isKernelError, kerr } from '../../../errno.ts'
import { eventfdCtxFdget } from '../../../fs/eventfd.ts'
import type { Kernel } from '../../../kernel.ts'
import { IRQF } from '../../../kernel/irq/irqdesc.ts'
import type { Task } from '../../../kernel/sched.ts'
import { vfioVirqfdDisable, vfioVirqfdEnable, virqfdSlot } from '../virqfd.ts'
import type { VfioPlatformDevice, VfioPlatformIrq } from './vfio_platform_private.ts'

/** Counts the interrupts the glue reports (get_irq ≥ 0). */
function countIrqs(vdev: VfioPlatformDevice): number {
  let n = 0
  while (n < 4096 && vdev.glue.getIrq(n) >= 0) n++
  return n
}

/** The handler for interrupt index `irq` (real interrupts and loopbacks share it). */
function irqHandler(kernel: Kernel, irq: VfioPlatformIrq): IrqReturn {
  if (kernel.profile === 'rfc-v5') {
    // VP5: one handler; a masked index ignores the interrupt.
    if (irq.masked) return IrqReturn.NONE
    if ((irq.flags & VFIO_IRQ_INFO_AUTOMASKED) !== 0) {
      kernel.irq.disableNosync(irq.hwirq)
      irq.masked = true
    }
    irq.trigger?.signal()
    return IrqReturn.HANDLED
  }
  if ((irq.flags & VFIO_IRQ_INFO_AUTOMASKED) !== 0) {
    // vfio_automasked_irq_handler
    if (irq.masked) return IrqReturn.NONE
    kernel.irq.disableNosync(irq.hwirq)
    irq.masked = true
    irq.trigger?.signal()
    return IrqReturn.HANDLED
  }
  // vfio_irq_handler
  irq.trigger?.signal()
  return IrqReturn.HANDLED
}

/**
 * vfio_platform_irq_init(): one index per interrupt of the device, each
 * requested with IRQF_NO_AUTOEN. @throws KernelError EINVAL (a bad interrupt)
 */
export function vfioPlatformIrqInit(kernel: Kernel, vdev: VfioPlatformDevice): void {
  const cnt = countIrqs(vdev)
  const irqs: VfioPlatformIrq[] = []
  for (let i = 0; i < cnt; i++) {
    const hwirq = vdev.glue.getIrq(i)
    if (hwirq < 0) return kerr('EINVAL')
    let level: boolean
    try {
      level = kernel.irq.triggerType(hwirq) === 'level'
    } catch {
      return kerr('EINVAL')
    }
    let flags = VFIO_IRQ_INFO_EVENTFD
    if (level) flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED
    else if (kernel.profile === 'rfc-v5') flags |= VFIO_IRQ_INFO_MASKABLE
    const name = `vfio-irq[${hwirq}](${vdev.glue.name})`
    const irq: VfioPlatformIrq = { flags, count: 1, hwirq, name, trigger: null, masked: false, mask: virqfdSlot(), unmask: virqfdSlot() }
    try {
      kernel.irq.request(hwirq, () => irqHandler(kernel, irq), IRQF.NO_AUTOEN, name, irq)
    } catch (e) {
      if (!isKernelError(e)) throw e
      ;(irq as { name: VfioPlatformIrq['name'] }).name = { err: e.code }
    }
    irqs.push(irq)
  }
  vdev.irqs = irqs
}

/** vfio_platform_irq_cleanup(): virqfds off, IRQs freed, trigger references dropped. */
export function vfioPlatformIrqCleanup(kernel: Kernel, vdev: VfioPlatformDevice): void {
  for (const irq of vdev.irqs) {
    vfioVirqfdDisable(irq.mask)
    vfioVirqfdDisable(irq.unmask)
    if (typeof irq.name === 'string') {
      kernel.irq.free(irq.hwirq, irq)
      irq.trigger?.put()
      irq.trigger = null
    }
  }
  vdev.irqs = []
}

/** vfio_platform_mask(): idempotent. */
export function vfioPlatformMask(kernel: Kernel, irq: VfioPlatformIrq): void {
  if (!irq.masked) {
    kernel.irq.disableNosync(irq.hwirq)
    irq.masked = true
  }
}

/** vfio_platform_unmask(): idempotent; a level line still asserted is delivered again. */
export function vfioPlatformUnmask(kernel: Kernel, irq: VfioPlatformIrq): void {
  if (irq.masked) {
    kernel.irq.enable(irq.hwirq)
    irq.masked = false
  }
}

/** vfio_set_trigger(): replaces the trigger eventfd (fd < 0: just drop it). */
function setTrigger(kernel: Kernel, task: Task, irq: VfioPlatformIrq, fd: number): void {
  if (irq.trigger !== null) {
    kernel.irq.disable(irq.hwirq)
    irq.trigger.put()
    irq.trigger = null
  }
  if (fd < 0) return
  irq.trigger = eventfdCtxFdget(task, fd)
  kernel.irq.enable(irq.hwirq)
}

/** The first datum: a u8 (BOOL) or an s32 (EVENTFD). */
function datum(flags: number, data: Uint8Array): number {
  if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) return new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true)
  return data[0]!
}

/** BOOL's truth value: any non-zero byte upstream; exactly 1 in rfc-v5 (other values EINVAL). */
function boolValue(kernel: Kernel, v: number): boolean {
  if (kernel.profile === 'rfc-v5' && v !== 1) return kerr('EINVAL')
  return v !== 0
}

function setMaskOrUnmask(kernel: Kernel, task: Task, irq: VfioPlatformIrq, unmask: boolean, start: number, count: number, flags: number, data: Uint8Array): number {
  if (start !== 0 || count !== 1) return kerr('EINVAL')
  if ((irq.flags & VFIO_IRQ_INFO_MASKABLE) === 0) return kerr('EINVAL')
  const act = unmask ? (): void => vfioPlatformUnmask(kernel, irq) : (): void => vfioPlatformMask(kernel, irq)
  if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    const fd = datum(flags, data)
    const slot = unmask ? irq.unmask : irq.mask
    if (fd >= 0) vfioVirqfdEnable(task, act, slot, fd)
    else vfioVirqfdDisable(slot)
    return 0
  }
  if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0) act()
  else if ((flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && boolValue(kernel, datum(flags, data))) act()
  return 0
}

function setTriggerAction(kernel: Kernel, task: Task, irq: VfioPlatformIrq, start: number, count: number, flags: number, data: Uint8Array): number {
  if (count === 0 && (flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    setTrigger(kernel, task, irq, -1)
    return 0
  }
  if (kernel.profile === 'rfc-v5' && (flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    irqHandler(kernel, irq) // VP5: loopback without a start/count check
    return 0
  }
  if (start !== 0 || count !== 1) return kerr('EINVAL')
  if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    setTrigger(kernel, task, irq, datum(flags, data))
    return 0
  }
  if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0) irqHandler(kernel, irq)
  else if ((flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && boolValue(kernel, datum(flags, data))) irqHandler(kernel, irq)
  return 0
}

/**
 * vfio_platform_set_irqs_ioctl(): dispatch on the ACTION bits, after the
 * core validated the header and copied `data` (dataSize bytes).
 * @throws KernelError ENOTTY (no single ACTION), EINVAL, EBADF, EBUSY, or the parked request_irq error
 */
export function vfioPlatformSetIrqs(kernel: Kernel, task: Task, vdev: VfioPlatformDevice, flags: number, index: number, start: number, count: number, data: Uint8Array): number {
  const irq = vdev.irqs[index]
  if (irq === undefined) return kerr('EINVAL')
  if (typeof irq.name !== 'string') return kerr(irq.name.err)
  switch (flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) {
    case VFIO_IRQ_SET_ACTION_MASK:
      return setMaskOrUnmask(kernel, task, irq, false, start, count, flags, data)
    case VFIO_IRQ_SET_ACTION_UNMASK:
      return setMaskOrUnmask(kernel, task, irq, true, start, count, flags, data)
    case VFIO_IRQ_SET_ACTION_TRIGGER:
      return setTriggerAction(kernel, task, irq, start, count, flags, data)
    default:
      return kerr('ENOTTY')
  }
}
