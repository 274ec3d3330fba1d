/**
 * Models drivers/vfio/platform/vfio_platform_private.h: the state of one
 * device handed to vfio-platform or vfio-amba (struct
 * vfio_platform_device), its regions and interrupts, the region-offset
 * encoding of the device fd, and the reset-handler type.
 */
import type { EventfdCtx } from '../../../fs/eventfd.ts'
import type { Device } from '../../base/core.ts'
import type { VirqfdSlot } from '../virqfd.ts'
import type { Resource } from '../../base/core.ts'

/** VFIO_PLATFORM_OFFSET_SHIFT: region i lives at file offset `i << 40`. */
export const VFIO_PLATFORM_OFFSET_SHIFT = 40
/** 2^40 as a number (region offsets are exact in a double up to index 8191). */
export const VFIO_PLATFORM_OFFSET_STRIDE = 2 ** VFIO_PLATFORM_OFFSET_SHIFT

/** VFIO_PLATFORM_INDEX_TO_OFFSET. */
export function vfioPlatformIndexToOffset(index: number): bigint {
  return BigInt(index) << 40n
}

/** VFIO_PLATFORM_OFFSET_TO_INDEX and the offset inside the region (pos & VFIO_PLATFORM_OFFSET_MASK). */
export function vfioPlatformSplitOffset(pos: number): { index: number; off: number } {
  const index = Math.floor(pos / VFIO_PLATFORM_OFFSET_STRIDE)
  return { index, off: pos - index * VFIO_PLATFORM_OFFSET_STRIDE }
}

/** Page size of the modelled kernel. */
export const VFIO_PLATFORM_PAGE_SIZE = 4096

/** Region types (VFIO_PLATFORM_REGION_TYPE_*). */
export const VFIO_PLATFORM_REGION_TYPE = { MMIO: 1, PIO: 2 } as const

/** IORESOURCE_IO (include/linux/ioport.h): a port-I/O resource (a PIO region, flags 0). */
export const IORESOURCE_IO = 0x00000100
/** IORESOURCE_READONLY (include/linux/ioport.h): the region gets no WRITE flag. */
export const IORESOURCE_READONLY = 0x00004000

/** One region (struct vfio_platform_region). */
export interface VfioPlatformRegion {
  /** Physical base. */
  readonly addr: number
  readonly size: number
  /** VFIO_REGION_INFO_FLAG_* */
  readonly flags: number
  readonly type: (typeof VFIO_PLATFORM_REGION_TYPE)[keyof typeof VFIO_PLATFORM_REGION_TYPE]
  /** Set by the first read/write (the lazy ioremap); cleared at close. */
  ioremapped: boolean
}

/** One interrupt index (struct vfio_platform_irq). */
export interface VfioPlatformIrq {
  /** VFIO_IRQ_INFO_* */
  readonly flags: number
  readonly count: number
  /** The Linux interrupt number. */
  readonly hwirq: number
  /** "vfio-irq[<hwirq>](<name>)", or the errno request_irq failed with (parked, as Linux parks ERR_PTR in `name`). */
  readonly name: string | { readonly err: string }
  /** The trigger eventfd. */
  trigger: EventfdCtx | null
  /** Masked by the user or by automasking. */
  masked: boolean
  /** Mask / unmask eventfds (virqfd). */
  readonly mask: VirqfdSlot
  readonly unmask: VirqfdSlot
}

/** A reset handler: resets the device (through MMIO, as a real reset module does); 0 or a negative errno. */
export type VfioPlatformResetFn = (vdev: VfioPlatformDevice) => number

/** What the bus glue (vfio_platform.c / vfio_amba.c) supplies to the common code. */
export interface VfioPlatformBusGlue {
  /** vdev->name: pdev->name, or "vfio-amba-%08x". */
  readonly name: string
  /** VFIO_DEVICE_FLAGS_PLATFORM or VFIO_DEVICE_FLAGS_AMBA. */
  readonly flags: number
  /** get_resource(vdev, i): the i-th region resource, or undefined past the end. */
  getResource(i: number): Resource | undefined
  /** get_irq(vdev, i): the i-th interrupt, or a negative errno past the end. */
  getIrq(i: number): number
  /** reset_required. */
  readonly resetRequired: boolean
}

/** The state of one device (struct vfio_platform_device). */
export interface VfioPlatformDevice {
  readonly dev: Device
  readonly glue: VfioPlatformBusGlue
  /** VFIO_DEVICE_FLAGS_*; RESET is added (sticky) by GET_INFO when a reset exists. */
  flags: number
  /** The first `compatible` string (vdev->compat). */
  readonly compat: string | undefined
  /** The reset handler found by compatible at probe (of_reset). */
  ofReset: VfioPlatformResetFn | undefined
  /** Valid between open_device and close_device. */
  regions: VfioPlatformRegion[]
  irqs: VfioPlatformIrq[]
  /** Resets performed (first open, last close, VFIO_DEVICE_RESET). */
  resets: number
}
