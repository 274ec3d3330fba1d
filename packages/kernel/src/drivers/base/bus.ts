/**
 * Models drivers/base/bus.c: a bus type and its sysfs directory
 * (/sys/bus/<bus>/{devices,drivers,drivers_autoprobe,drivers_probe,uevent}),
 * bus_add_device / bus_add_driver, bus_find_device_by_name (sysfs_streq),
 * and the control files with their modern (≥ v5.14) results:
 * `drivers/<drv>/bind` (-ENODEV / -EBUSY / the probe's errno, -EAGAIN for a
 * deferral), `drivers/<drv>/unbind` (-ENODEV unless bound to that driver),
 * `drivers_probe` (success unless the name is unknown (-ENODEV) or a
 * negative error surfaced (-EINVAL)), `drivers_autoprobe` ('0' → off,
 * anything else → on).
 */
import {
  Device, DriverCore, deviceAddSysfs, deviceUevent, sysfsCreateLink, sysfsRet, synthUevent,
} from './core.ts'
import { E, PAGE_SIZE, cstr, type DeviceDriver } from './driver.ts'
import { deviceAttach, deviceDriverAttach, deviceReleaseDriver, driverAttach, driverDeferredProbeDel, runDriverCoreOp } from './dd.ts'

/** Bus notifier events (include/linux/device/bus.h BUS_NOTIFY_*). */
export type BusNotifyAction =
  | 'add_device' | 'del_device' | 'removed_device'
  | 'bind_driver' | 'bound_driver' | 'unbind_driver' | 'unbound_driver' | 'driver_not_bound'

/** A bus notifier (bus_register_notifier): the IOMMU core listens for `add_device`. */
export type BusNotifier = (action: BusNotifyAction, dev: Device) => void

/**
 * Hooks the IOMMU core installs on a bus's dma_configure path
 * (of_dma_configure + iommu_device_use_default_domain). Absent: no IOMMU,
 * nothing to configure.
 */
export interface DmaHooks {
  /** of_dma_configure: 0, or -EPROBE_DEFER while the device's IOMMU has no driver yet. */
  configure?(dev: Device): number
  /** iommu_device_use_default_domain for a driver that is not driver_managed_dma: 0, -EBUSY, -EPROBE_DEFER. */
  useDefaultDomain?(dev: Device): number
  /** iommu_device_unuse_default_domain. */
  unuseDefaultDomain?(dev: Device): void
}

/** A bus type (struct bus_type + subsys_private). */
export abstract class BusType {
  abstract readonly name: string
  readonly core: DriverCore
  /** Devices in registration order (klist_devices). */
  readonly devices: Device[] = []
  /** Drivers in registration order (klist_drivers). */
  readonly drivers: DeviceDriver[] = []
  /** Devices bound to each driver, in bind order (klist_devices of the driver). */
  readonly boundDevices = new Map<DeviceDriver, Device[]>()
  /** drivers_autoprobe (default 1). */
  driversAutoprobe = true
  readonly notifiers: BusNotifier[] = []
  /** DMA/IOMMU hooks; filled in by the IOMMU core. */
  dmaHooks: DmaHooks = {}

  constructor(core: DriverCore) {
    this.core = core
  }

  /** ->match(): >0 match, 0 no match, <0 error (-EPROBE_DEFER). */
  abstract match(dev: Device, drv: DeviceDriver): number
  /** ->probe(): calls the driver's probe. */
  abstract probe(dev: Device, drv: DeviceDriver): number
  /** ->remove(). */
  abstract remove(dev: Device, drv: DeviceDriver): void
  /** ->uevent(): the bus's keys (MODALIAS=…). */
  abstract uevent(dev: Device): string[]
  /** The bus's per-device attributes (dev_groups). */
  abstract addDeviceAttrs(dev: Device): void

  /**
   * ->dma_configure (platform_dma_configure / amba_dma_configure): the IOMMU
   * hookup, then the default-domain use unless the driver manages DMA itself.
   */
  dmaConfigure(dev: Device, drv: DeviceDriver): number {
    const r = this.dmaHooks.configure?.(dev) ?? 0
    if (r !== 0) return r
    if (drv.driverManagedDma !== true) return this.dmaHooks.useDefaultDomain?.(dev) ?? 0
    return 0
  }

  /** ->dma_cleanup. */
  dmaCleanup(dev: Device, drv: DeviceDriver): void {
    if (drv.driverManagedDma !== true) this.dmaHooks.unuseDefaultDomain?.(dev)
  }

  /** Sysfs directory of the bus ("bus/platform"). */
  get path(): string {
    return `bus/${this.name}`
  }

  /** The driver named `name` (driver_find). */
  findDriver(name: string): DeviceDriver | undefined {
    return this.drivers.find(d => d.name === name)
  }

  /** bus_find_device_by_name(): the device whose name equals `buf` under sysfs_streq. */
  findDeviceByName(buf: string): Device | undefined {
    return this.devices.find(d => sysfsStreq(d.name, buf))
  }

  notify(action: BusNotifyAction, dev: Device): void {
    for (const n of this.notifiers) n(action, dev)
  }
}

/**
 * sysfs_streq(): equal as C strings (up to the first NUL), except that one
 * trailing newline on either side is ignored.
 */
export function sysfsStreq(a: string, b: string): boolean {
  const s1 = cstr(a)
  const s2 = cstr(b)
  return s1 === s2 || s1 + '\n' === s2 || s1 === s2 + '\n'
}

/** bus_register(): creates /sys/bus/<name> and its files. */
export function busRegister(bus: BusType): void {
  const core = bus.core
  if (core.buses.has(bus.name)) throw new Error(`bus ${bus.name} already registered`)
  core.buses.set(bus.name, bus)
  const sysfs = core.kernel.sysfs
  sysfs.mkdir(`${bus.path}/devices`)
  sysfs.mkdir(`${bus.path}/drivers`)
  sysfs.addFile(`${bus.path}/uevent`, {
    mode: 0o200,
    store: data => (data.length === 0 ? 0 : sysfsRet(synthUevent(core, bus.path, 'bus', data, () => []) || Math.min(data.length, PAGE_SIZE))),
  })
  sysfs.addFile(`${bus.path}/drivers_autoprobe`, {
    mode: 0o644,
    show: () => `${bus.driversAutoprobe ? 1 : 0}\n`,
    store: data => {
      if (data.length === 0) return 0
      bus.driversAutoprobe = data[0] !== '0'
      return Math.min(data.length, PAGE_SIZE)
    },
  })
  sysfs.addFile(`${bus.path}/drivers_probe`, {
    mode: 0o200,
    store: data => (data.length === 0 ? 0 : sysfsRet(driversProbeStore(bus, data.slice(0, PAGE_SIZE)))),
  })
}

/** drivers_probe_store(): returns the byte count, -ENODEV or -EINVAL. */
export function driversProbeStore(bus: BusType, buf: string): number {
  return runDriverCoreOp(bus.core, () => {
    const dev = bus.findDeviceByName(buf)
    if (dev === undefined) return -E.ENODEV
    // bus_rescan_devices_helper: a bound device is left alone (success).
    if (dev.driver !== null) return buf.length
    const r = deviceAttach(dev)
    return r < 0 ? -E.EINVAL : buf.length
  })
}

/** bind_store(): returns the byte count or -errno. */
export function bindStore(bus: BusType, drv: DeviceDriver, buf: string): number {
  return runDriverCoreOp(bus.core, () => {
    const dev = bus.findDeviceByName(buf)
    // driver_match_device: any non-zero (even a negative error) lets the attach go ahead.
    if (dev === undefined || bus.match(dev, drv) === 0) return -E.ENODEV
    const r = deviceDriverAttach(drv, dev)
    return r === 0 ? buf.length : r
  })
}

/** unbind_store(): returns the byte count, or -ENODEV unless the device is bound to this driver. */
export function unbindStore(bus: BusType, drv: DeviceDriver, buf: string): number {
  return runDriverCoreOp(bus.core, () => {
    const dev = bus.findDeviceByName(buf)
    if (dev === undefined || dev.driver !== drv) return -E.ENODEV
    deviceReleaseDriver(dev)
    return buf.length
  })
}

/**
 * device_add() for a device on `bus`: sysfs directory and attributes, the
 * bus's `devices/` link, BUS_NOTIFY_ADD_DEVICE, the `add` uevent, then an
 * initial probe if the bus autoprobes.
 */
export function deviceAdd(dev: Device): number {
  const bus = dev.bus
  if (bus.devices.includes(dev) || bus.findDeviceByName(dev.name) !== undefined) {
    bus.core.log('err', `sysfs: cannot create duplicate filename '/${dev.kobjPath}'`)
    return -17 // -EEXIST
  }
  return runDriverCoreOp(bus.core, () => {
    deviceAddSysfs(dev)
    bus.addDeviceAttrs(dev)
    // bus_add_device: the bus's devices/ link and the device's subsystem link.
    sysfsCreateLink(bus.core.kernel, `${bus.path}/devices/${dev.name}`, dev.kobjPath)
    sysfsCreateLink(bus.core.kernel, `${dev.kobjPath}/subsystem`, bus.path)
    bus.devices.push(dev)
    dev.registered = true
    bus.notify('add_device', dev)
    deviceUevent(dev, 'add')
    // bus_probe_device
    if (bus.driversAutoprobe) deviceAttach(dev)
    return 0
  })
}

/** device_del(): unbinds, removes the sysfs entries, sends `remove`. */
export function deviceDel(dev: Device): void {
  const bus = dev.bus
  runDriverCoreOp(bus.core, () => {
    bus.notify('del_device', dev)
    if (dev.driver !== null) deviceReleaseDriver(dev)
    driverDeferredProbeDel(dev)
    dev.dead = true
    const i = bus.devices.indexOf(dev)
    if (i >= 0) bus.devices.splice(i, 1)
    bus.core.kernel.sysfs.remove(`${bus.path}/devices/${dev.name}`)
    bus.notify('removed_device', dev)
    deviceUevent(dev, 'remove')
    bus.core.kernel.sysfs.remove(dev.kobjPath)
    dev.registered = false
    return 0
  })
}

/** bus_add_driver(): driver directory, autoprobe attach, module link, uevent/bind/unbind files, `add` uevent. */
export function busAddDriver(bus: BusType, drv: DeviceDriver): number {
  return runDriverCoreOp(bus.core, () => {
    const kernel = bus.core.kernel
    const dir = `${bus.path}/drivers/${drv.name}`
    kernel.sysfs.mkdir(dir)
    bus.drivers.push(drv)
    bus.boundDevices.set(drv, [])
    if (bus.driversAutoprobe) driverAttach(drv, bus)
    if (drv.module !== undefined) {
      kernel.sysfs.mkdir(`module/${drv.module}/drivers`)
      sysfsCreateLink(kernel, `${dir}/module`, `module/${drv.module}`)
      sysfsCreateLink(kernel, `module/${drv.module}/drivers/${bus.name}:${drv.name}`, dir)
    }
    kernel.sysfs.addFile(`${dir}/uevent`, {
      mode: 0o200,
      store: data => (data.length === 0 ? 0 : sysfsRet(synthUevent(bus.core, dir, 'drivers', data, () => []) || Math.min(data.length, PAGE_SIZE))),
    })
    if (drv.suppressBindAttrs !== true) {
      kernel.sysfs.addFile(`${dir}/bind`, {
        mode: 0o200,
        store: data => (data.length === 0 ? 0 : sysfsRet(bindStore(bus, drv, data.slice(0, PAGE_SIZE)))),
      })
      kernel.sysfs.addFile(`${dir}/unbind`, {
        mode: 0o200,
        store: data => (data.length === 0 ? 0 : sysfsRet(unbindStore(bus, drv, data.slice(0, PAGE_SIZE)))),
      })
    }
    bus.core.sendUevent(dir, 'drivers', 'add', [])
    return 0
  })
}

/** bus_remove_driver(): detaches every bound device, removes the directory, `remove` uevent. */
export function busRemoveDriver(bus: BusType, drv: DeviceDriver): void {
  if (!bus.drivers.includes(drv)) return
  runDriverCoreOp(bus.core, () => {
    const kernel = bus.core.kernel
    const dir = `${bus.path}/drivers/${drv.name}`
    for (const dev of [...(bus.boundDevices.get(drv) ?? [])]) deviceReleaseDriver(dev)
    bus.core.sendUevent(dir, 'drivers', 'remove', [])
    if (drv.module !== undefined) kernel.sysfs.remove(`module/${drv.module}/drivers/${bus.name}:${drv.name}`)
    kernel.sysfs.remove(dir)
    bus.drivers.splice(bus.drivers.indexOf(drv), 1)
    bus.boundDevices.delete(drv)
    return 0
  })
}
