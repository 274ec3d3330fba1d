/**
 * Models drivers/vfio/platform/vfio_amba.c: the `vfio-amba` driver for
 * AMBA PrimeCells (the PL330 is one). Like vfio-platform it binds only
 * through `driver_override` (its id table has no usable entry), but it
 * reports VFIO_DEVICE_FLAGS_AMBA, has exactly one region (the PrimeCell's
 * register window), takes the interrupts adev->irq[0..AMBA_NR_IRQS) up to
 * the first unset one, names itself "vfio-amba-%08x" (periphid) and never
 * requires a reset handler (one found by compatible is still used).
 *
 * AMBA_NR_IRQS was 2 in 2014 headers and is 9 today: 'rfc-v5' keeps 2.
 */
import { VFIO_DEVICE_FLAGS_AMBA } from '@vfio-sim/uapi'
import type { Kernel } from '../../../kernel.ts'
import { AmbaDevice, ambaDriverRegister } from '../../amba/bus.ts'
import { E, type DeviceDriver } from '../../base/driver.ts'
import type { VfioPlatformBusGlue } from './vfio_platform_private.ts'
import { vfioPlatformProbeCommon, vfioPlatformRemoveCommon } from './vfio_platform.ts'

/** AMBA_NR_IRQS of the profile. */
export function ambaNrIrqs(kernel: Kernel): number {
  return kernel.profile === 'rfc-v5' ? 2 : 9
}

function ambaGlue(kernel: Kernel, adev: AmbaDevice): VfioPlatformBusGlue {
  const irqs = adev.irqs.slice(0, ambaNrIrqs(kernel))
  return {
    name: `vfio-amba-${(adev.periphid >>> 0).toString(16).padStart(8, '0')}`,
    flags: VFIO_DEVICE_FLAGS_AMBA,
    getResource: i => (i === 0 ? adev.res : undefined),
    // Zero is an unset IRQ for AMBA devices.
    getIrq: i => (irqs[i] !== undefined && irqs[i] !== 0 ? irqs[i]! : -E.ENXIO),
    resetRequired: false,
  }
}

/** The vfio-amba driver of `kernel`. */
export function vfioAmbaDriver(kernel: Kernel): DeviceDriver {
  return {
    name: 'vfio-amba',
    bus: 'amba',
    module: 'vfio_amba',
    driverManagedDma: true,
    probe(dev) {
      if (!(dev instanceof AmbaDevice)) return -E.EINVAL
      return vfioPlatformProbeCommon(kernel, dev, ambaGlue(kernel, dev), 'vfio-amba')
    },
    remove: vfioPlatformRemoveCommon,
  }
}

/** module_init of vfio_amba. Returns 0 or -errno. */
export function vfioAmbaInit(kernel: Kernel): number {
  return ambaDriverRegister(kernel, vfioAmbaDriver(kernel))
}
