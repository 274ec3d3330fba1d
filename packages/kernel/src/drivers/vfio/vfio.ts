/**
 * The VFIO core's driver-facing API (include/linux/vfio.h): what a VFIO bus
 * driver (vfio-platform, vfio-amba) implements ({@link VfioDeviceOps}) and
 * calls ({@link vfioRegisterGroupDev}, {@link vfioUnregisterGroupDev},
 * {@link vfioSetIrqsValidateAndPrepare}).
 *
 * A bus driver's probe() makes a {@link VfioDevice} for the device it binds
 * and registers it; from then on the device can be opened with
 * VFIO_GROUP_GET_DEVICE_FD on its group's /dev/vfio/N. The core counts the
 * device fds: `openDevice` runs when the first one is made and `closeDevice`
 * when the last one is released; every device-fd ioctl the core does not
 * handle itself goes to `ops.ioctl`, and read/write/mmap go to the ops.
 */
import {
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
} from '@vfio-sim/uapi'
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { Task } from '../../kernel/sched.ts'
import type { Vma } from '../../mm/vma.ts'
import type { Device } from '../base/core.ts'
import type { VfioGroup } from './group.ts'

/**
 * The operations of a VFIO device (`struct vfio_device_ops`). Every method may
 * throw a KernelError; its errno reaches the process. A missing
 * ioctl/read/write/mmap gives -EINVAL (vfio_device_fops_*).
 */
export interface VfioDeviceOps {
  /** Driver name, for messages ("vfio-platform"). */
  readonly name: string
  /** Called on the 0→1 transition of the device's open count (open_device); a throw fails GET_DEVICE_FD. */
  openDevice?(vdev: VfioDevice): void
  /** Called on the 1→0 transition (close_device): the last device fd was released. */
  closeDevice?(vdev: VfioDevice): void
  /**
   * Device-fd ioctls the core does not handle (GET_INFO, GET_REGION_INFO,
   * GET_IRQ_INFO, SET_IRQS, RESET, …). `arg` is the raw unsigned long (an
   * integer or a user address: use `task.mm.copyFromUser/copyToUser`).
   * Unknown requests: throw ENOTTY.
   */
  ioctl?(vdev: VfioDevice, cmd: number, arg: number, task: Task): number
  /** pread on the device fd: reads up to `buf.length` bytes at `pos` into `buf`; returns the count. */
  read?(vdev: VfioDevice, buf: Uint8Array, pos: number, task: Task): number
  /** pwrite on the device fd: writes `data` at `pos`; returns the count. */
  write?(vdev: VfioDevice, data: Uint8Array, pos: number, task: Task): number
  /** mmap of the device fd: sets up `vma` (vm_pgoff selects the region) or throws. */
  mmap?(vdev: VfioDevice, vma: Vma, task: Task): void
}

/**
 * One device handed to VFIO (`struct vfio_device`). The bus driver creates
 * it in probe() and registers it with {@link vfioRegisterGroupDev}.
 */
export class VfioDevice {
  /** The kernel the device lives in. */
  readonly kernel: Kernel
  /** The underlying device (dev_name() is what GET_DEVICE_FD looks up). */
  readonly dev: Device
  /** The bus driver's operations. */
  readonly ops: VfioDeviceOps
  /** Number of open device fds (`open_count`). */
  openCount = 0
  /** The VFIO group, while registered. */
  group: VfioGroup | undefined = undefined
  /** Bus driver's private data (the vfio_platform_device). */
  priv: unknown = undefined
  /** Registered and not yet unregistered. */
  registered = false

  constructor(kernel: Kernel, dev: Device, ops: VfioDeviceOps, priv?: unknown) {
    this.kernel = kernel
    this.dev = dev
    this.ops = ops
    this.priv = priv
  }

  /** dev_name() of the device. */
  get name(): string {
    return this.dev.name
  }
}

/** The fields of `struct vfio_irq_set` the validator reads (all u32). */
export interface VfioIrqSetHdr {
  readonly argsz: number
  readonly flags: number
  readonly index: number
  readonly start: number
  readonly count: number
}

/** offsetofend(struct vfio_irq_set, count). */
export const VFIO_IRQ_SET_MINSZ = 20
const U32_MAX = 0xffff_ffff

/**
 * vfio_set_irqs_validate_and_prepare() (drivers/vfio/vfio_main.c; spec
 * vfio.md §9), in Linux's order, every failure -EINVAL:
 *  1. argsz < 20, index ≥ maxIrqType, count ≥ U32_MAX − start, or a flag
 *     outside DATA_* | ACTION_*;
 *  2. start ≥ numIrqs or start + count > numIrqs;
 *  3. not exactly one DATA_* bit;
 *  4. for BOOL (1 byte each) / EVENTFD (4 bytes each): argsz − 20 < count × size.
 * ACTION bits are not checked here (the driver's switch gives -ENOTTY).
 * @returns `dataSize`: the bytes of data[] that follow the 20-byte header.
 * @throws KernelError EINVAL
 */
export function vfioSetIrqsValidateAndPrepare(hdr: VfioIrqSetHdr, numIrqs: number, maxIrqType: number): { dataSize: number } {
  const argsz = hdr.argsz >>> 0
  const flags = hdr.flags >>> 0
  const index = hdr.index >>> 0
  const start = hdr.start >>> 0
  const count = hdr.count >>> 0
  if (
    argsz < VFIO_IRQ_SET_MINSZ ||
    index >= maxIrqType ||
    count >= U32_MAX - start ||
    (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) !== 0
  ) {
    return kerr('EINVAL')
  }
  if (start >= numIrqs || start + count > numIrqs) return kerr('EINVAL')
  let size: number
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      size = 0
      break
    case VFIO_IRQ_SET_DATA_BOOL:
      size = 1
      break
    case VFIO_IRQ_SET_DATA_EVENTFD:
      size = 4
      break
    default:
      return kerr('EINVAL')
  }
  if (size === 0) return { dataSize: 0 }
  // `hdr->count * size` is a size_t product: no overflow on 64-bit.
  if (argsz - VFIO_IRQ_SET_MINSZ < count * size) return kerr('EINVAL')
  return { dataSize: count * size }
}

export { vfioRegisterGroupDev, vfioUnregisterGroupDev } from './group.ts'
