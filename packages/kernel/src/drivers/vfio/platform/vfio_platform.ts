/**
 * Models drivers/vfio/platform/vfio_platform.c: the `vfio-platform` driver
 * on the platform bus. It has no match table, so it binds only through
 * `driver_override` (echo vfio-platform > …/driver_override; unbind;
 * drivers_probe); it manages DMA ownership itself (driver_managed_dma).
 *
 * probe: the device's MEM/IO resources are its regions and its interrupts
 * (platform_get_irq_optional until it fails) its IRQ indexes;
 * vfio_platform_init_common looks the reset handler up by compatible —
 * upstream with `reset_required` (module parameter, default Y) a device
 * without one fails with -ENOENT; then the device is registered with the
 * VFIO core, which refuses a device without an IOMMU group (-EINVAL) and
 * creates /dev/vfio/N for the first device of a group.
 */
import { VFIO_DEVICE_FLAGS_PLATFORM, errnoNumber } from '@vfio-sim/uapi'
import { isKernelError } from '../../../errno.ts'
import type { Kernel } from '../../../kernel.ts'
import { IORESOURCE_IRQ, IORESOURCE_MEM, devErr, type Device } from '../../base/core.ts'
import { E, type DeviceDriver } from '../../base/driver.ts'
import { PlatformDevice, platformDriverRegister } from '../../base/platform.ts'
import { VfioDevice, vfioRegisterGroupDev, vfioUnregisterGroupDev } from '../vfio.ts'
import { vfioPlatformInitCommon, vfioPlatformOps } from './vfio_platform_common.ts'
import { IORESOURCE_IO, type VfioPlatformBusGlue } from './vfio_platform_private.ts'

/** Options of {@link vfioPlatformInit} (module parameters). */
export interface VfioPlatformParams {
  /** `reset_required` (default true): refuse devices without a reset handler (upstream). */
  readonly resetRequired?: boolean
}

/**
 * Registers a VFIO device for `dev` with the VFIO core, after the common
 * init. Shared by vfio-platform and vfio-amba. Returns 0 or -errno.
 */
export function vfioPlatformProbeCommon(kernel: Kernel, dev: Device, glue: VfioPlatformBusGlue, driverName: string): number {
  // Current Linux: vfio_alloc_device → init (compat, reset lookup), then vfio_register_group_dev.
  const vdev = vfioPlatformInitCommon(kernel, dev, glue)
  if (typeof vdev === 'number') return vdev
  if (dev.iommuGroup === null && kernel.profile === 'rfc-v5') {
    // The early series (and 4.x–5.x vfio_platform_probe_common) said so before giving up;
    // the VFIO core refuses such a device in any case.
    devErr(dev, `No IOMMU group for device ${glue.name}`)
  }
  const vd = new VfioDevice(kernel, dev, vfioPlatformOps(driverName), vdev)
  try {
    vfioRegisterGroupDev(kernel, vd)
  } catch (e) {
    if (isKernelError(e)) return -(errnoNumber(e.code) ?? E.EINVAL)
    throw e
  }
  dev.driverData = vd
  return 0
}

/** remove(): unregisters the VFIO device. */
export function vfioPlatformRemoveCommon(dev: Device): void {
  const vd = dev.driverData
  if (vd instanceof VfioDevice) vfioUnregisterGroupDev(vd)
  dev.driverData = undefined
}

/** The glue of a platform device: resources MEM or IO in order, interrupts in order. */
function platformGlue(dev: PlatformDevice, resetRequired: boolean): VfioPlatformBusGlue {
  const regions = dev.resources.filter(r => (r.flags & (IORESOURCE_MEM | IORESOURCE_IO)) !== 0)
  const irqs = dev.resources.filter(r => (r.flags & IORESOURCE_IRQ) !== 0).map(r => Number(r.start))
  return {
    name: dev.pdevName,
    flags: VFIO_DEVICE_FLAGS_PLATFORM,
    getResource: i => regions[i],
    getIrq: i => irqs[i] ?? -E.ENXIO,
    resetRequired,
  }
}

/** The vfio-platform driver of `kernel`. */
export function vfioPlatformDriver(kernel: Kernel, params: VfioPlatformParams = {}): DeviceDriver {
  const resetRequired = params.resetRequired ?? true
  return {
    name: 'vfio-platform',
    bus: 'platform',
    module: 'vfio_platform',
    driverManagedDma: true,
    probe(dev) {
      if (!(dev instanceof PlatformDevice)) return -E.EINVAL
      return vfioPlatformProbeCommon(kernel, dev, platformGlue(dev, resetRequired), 'vfio-platform')
    },
    remove: vfioPlatformRemoveCommon,
  }
}

/**
 * module_init of vfio_platform: registers the driver and shows the
 * parameter at /sys/module/vfio_platform/parameters/reset_required
 * (read-only, "Y"/"N"). Returns 0 or -errno.
 */
export function vfioPlatformInit(kernel: Kernel, params: VfioPlatformParams = {}): number {
  const rr = params.resetRequired ?? true
  kernel.sysfs.mkdir('module/vfio_platform/parameters')
  kernel.sysfs.remove('module/vfio_platform/parameters/reset_required')
  kernel.sysfs.addFile('module/vfio_platform/parameters/reset_required', { mode: 0o444, show: () => (rr ? 'Y\n' : 'N\n') })
  return platformDriverRegister(kernel, vfioPlatformDriver(kernel, params))
}
