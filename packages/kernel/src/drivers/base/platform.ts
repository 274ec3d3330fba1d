/**
 * Models drivers/base/platform.c: the platform bus. platform_match()
 * (driver_override first and exclusive, then OF compatible, then the
 * id_table, then the device name), platform_probe()/platform_remove(),
 * platform_uevent() (the OF modalias, else "platform:<name>"), and the
 * device attributes `driver_override` (shows "(null)" when unset) and
 * `modalias`. Platform devices live under /sys/devices/platform.
 */
import { ofDeviceIsCompatible, ofModalias, type DtNode } from '../../of/base.ts'
import type { Kernel } from '../../kernel.ts'
import { BusType, busRegister, deviceAdd } from './bus.ts'
import { Device, DriverCore, devWarn, driverCore, sysfsRet, type Resource } from './core.ts'
import { E, PAGE_SIZE, driverRegister, driverSetOverride, type DeviceDriver } from './driver.ts'

/** A platform device (struct platform_device). `name` is pdev->name (dev_name for DT devices). */
export class PlatformDevice extends Device {
  /** pdev->name: what the id_table and the name fallback compare. */
  readonly pdevName: string

  constructor(name: string, bus: PlatformBus, parentPath: string, ofNode?: DtNode, resources: readonly Resource[] = []) {
    super(name, bus, parentPath, ofNode)
    this.pdevName = name
    this.resources.push(...resources)
  }
}

/**
 * The driver_override attribute common to platform and AMBA
 * (driver_override_show / _store with driver_set_override). Writing it
 * changes nothing else: no unbind, no probe, no uevent, no log line.
 */
export function addDriverOverrideAttr(dev: Device): void {
  dev.bus.core.kernel.sysfs.addFile(`${dev.kobjPath}/driver_override`, {
    mode: 0o644,
    show: () => `${dev.driverOverride ?? '(null)'}\n`,
    store: data => {
      // sysfs_kf_write: a zero-length write never reaches the store.
      if (data.length === 0) return 0
      // kernfs hands at most one page to a store.
      const count = Math.min(data.length, PAGE_SIZE)
      const r = driverSetOverride(data, count)
      if (typeof r === 'number') return sysfsRet(r)
      dev.driverOverride = r
      return count
    },
  })
}

/** The platform bus (platform_bus_type). */
export class PlatformBus extends BusType {
  readonly name = 'platform'

  match(dev: Device, drv: DeviceDriver): number {
    // When driver_override is set, only bind to the matching driver.
    if (dev.driverOverride !== null) return dev.driverOverride === drv.name ? 1 : 0
    if (dev.ofNode !== undefined && drv.ofMatchTable !== undefined) {
      for (const c of drv.ofMatchTable) if (ofDeviceIsCompatible(dev.ofNode, c)) return 1
    }
    const pdevName = dev instanceof PlatformDevice ? dev.pdevName : dev.name
    if (drv.idTable !== undefined) return drv.idTable.includes(pdevName) ? 1 : 0
    return pdevName === drv.name ? 1 : 0
  }

  probe(dev: Device, drv: DeviceDriver): number {
    let r = drv.probe(dev)
    if (drv.preventDeferredProbe === true && r === -E.EPROBE_DEFER) {
      devWarn(dev, 'probe deferral not supported')
      r = -E.ENXIO
    }
    return r
  }

  remove(dev: Device, drv: DeviceDriver): void {
    drv.remove?.(dev)
  }

  /** platform_uevent: the OF modalias when the device has a node, else "platform:<name>". */
  uevent(dev: Device): string[] {
    return [`MODALIAS=${platformModalias(dev)}`]
  }

  addDeviceAttrs(dev: Device): void {
    addDriverOverrideAttr(dev)
    dev.bus.core.kernel.sysfs.addFile(`${dev.kobjPath}/modalias`, { mode: 0o444, show: () => `${platformModalias(dev)}\n` })
  }
}

function platformModalias(dev: Device): string {
  if (dev.ofNode !== undefined) return ofModalias(dev.ofNode)
  return `platform:${dev instanceof PlatformDevice ? dev.pdevName : dev.name}`
}

const platformBuses = new WeakMap<DriverCore, PlatformBus>()

/** The kernel's platform bus (registered on first use: /sys/bus/platform). */
export function platformBus(kernel: Kernel): PlatformBus {
  const core = driverCore(kernel)
  let bus = platformBuses.get(core)
  if (bus === undefined) {
    bus = new PlatformBus(core)
    busRegister(bus)
    platformBuses.set(core, bus)
  }
  return bus
}

/**
 * platform_device_add(): registers a platform device named `name` under
 * `parentPath` (default /sys/devices/platform). Returns the device, or a
 * negative errno.
 */
export function platformDeviceRegister(kernel: Kernel, name: string, opts: { parentPath?: string; ofNode?: DtNode; resources?: readonly Resource[] } = {}): PlatformDevice | number {
  const bus = platformBus(kernel)
  const dev = new PlatformDevice(name, bus, opts.parentPath ?? 'devices/platform', opts.ofNode, opts.resources ?? [])
  const r = deviceAdd(dev)
  return r < 0 ? r : dev
}

/** platform_driver_register(): 0 or -errno. The driver's `bus` must be "platform". */
export function platformDriverRegister(kernel: Kernel, drv: DeviceDriver): number {
  return driverRegister(platformBus(kernel), drv)
}
