/**
 * Models drivers/base/dd.c: binding a device to a driver. really_probe()'s
 * order (dma_configure, the `driver` links before ->probe(), the result
 * handling and its log lines, driver_bound() with its `bind` uevent),
 * __driver_probe_device()'s -ENODEV/-EBUSY checks, device_attach() over the
 * bus's drivers in order, driver_attach() over the bus's devices,
 * device_release_driver() with its `unbind` uevent, and deferred probe
 * (pending/active lists, retried after every successful bind).
 *
 * Return conventions follow Linux: 0 = bound, negative = an error before
 * ->probe() (or a matching failure), positive = ->probe()'s error inverted.
 */
import { type Device, type DriverCore, devDbg, devErr, devWarn, deviceUevent, sysfsCreateLink } from './core.ts'
import { E, type DeviceDriver } from './driver.ts'
import type { BusType } from './bus.ts'

/**
 * Runs a driver-core operation. When the outermost one ends, deferred
 * devices whose retry was triggered are probed again: Linux does that on a
 * workqueue right after; here it runs before the write returns, which keeps
 * every result deterministic.
 */
export function runDriverCoreOp<T>(core: DriverCore, fn: () => T): T {
  core.depth++
  let r: T
  try {
    r = fn()
  } finally {
    core.depth--
  }
  if (core.depth === 0) runDeferredProbes(core)
  return r
}

/** deferred_probe_work_func: retries the active list until no new trigger. */
function runDeferredProbes(core: DriverCore): void {
  let rounds = 0
  while (core.deferredTriggered && core.deferredProbeEnabled && rounds++ < 1000) {
    core.deferredTriggered = false
    core.deferredActive.push(...core.deferredPending.splice(0))
    core.depth++
    try {
      while (core.deferredActive.length > 0) {
        const dev = core.deferredActive.shift()!
        devDbg(dev, 'Retrying from deferred list')
        // bus_probe_device → device_initial_probe (only with autoprobe on)
        if (!dev.dead && dev.driver === null && dev.bus.driversAutoprobe) deviceAttach(dev)
      }
    } finally {
      core.depth--
    }
  }
}

/** driver_deferred_probe_add. */
export function driverDeferredProbeAdd(dev: Device): void {
  const core = dev.bus.core
  if (!core.deferredPending.includes(dev)) {
    devDbg(dev, 'Added to deferred list')
    core.deferredPending.push(dev)
  }
}

/** driver_deferred_probe_del. */
export function driverDeferredProbeDel(dev: Device): void {
  const core = dev.bus.core
  for (const list of [core.deferredPending, core.deferredActive]) {
    const i = list.indexOf(dev)
    if (i >= 0) {
      devDbg(dev, 'Removed from deferred list')
      list.splice(i, 1)
    }
  }
  dev.deferredReason = undefined
}

/** driver_deferred_probe_trigger. */
function driverDeferredProbeTrigger(core: DriverCore): void {
  core.deferredTriggered = true
}

/**
 * deferred_probe_initcall (late_initcall): retries every pending device once
 * the built-in drivers are registered. Boards call it at the end of boot.
 */
export function deferredProbeInitcall(core: DriverCore): void {
  runDriverCoreOp(core, () => driverDeferredProbeTrigger(core))
}

/** driver_sysfs_add: `drivers/<drv>/<dev>` then `<dev>/driver`. */
function driverSysfsAdd(dev: Device, drv: DeviceDriver): void {
  const bus = dev.bus
  bus.notify('bind_driver', dev)
  const kernel = bus.core.kernel
  const drvDir = `${bus.path}/drivers/${drv.name}`
  sysfsCreateLink(kernel, `${drvDir}/${dev.name}`, dev.kobjPath)
  sysfsCreateLink(kernel, `${dev.kobjPath}/driver`, drvDir)
}

/** driver_sysfs_remove. */
function driverSysfsRemove(dev: Device, drv: DeviceDriver): void {
  const kernel = dev.bus.core.kernel
  kernel.sysfs.remove(`${dev.bus.path}/drivers/${drv.name}/${dev.name}`)
  kernel.sysfs.remove(`${dev.kobjPath}/driver`)
}

/** call_driver_probe: the bus probe and the log line for its result. */
function callDriverProbe(dev: Device, drv: DeviceDriver): number {
  const r = dev.bus.probe(dev, drv)
  if (r === 0) return 0
  if (r === -E.EPROBE_DEFER) devDbg(dev, `Driver ${drv.name} requests probe deferral`)
  else if (r === -E.ENODEV || r === -E.ENXIO) devDbg(dev, `probe with driver ${drv.name} rejects match ${r}`)
  else devErr(dev, `probe with driver ${drv.name} failed with error ${r}`)
  return r
}

/** driver_bound. */
function driverBound(dev: Device, drv: DeviceDriver): void {
  const bus = dev.bus
  const list = bus.boundDevices.get(drv)!
  if (list.includes(dev)) {
    devWarn(dev, `driver_bound: device ${dev.name} already bound`)
    return
  }
  list.push(dev)
  driverDeferredProbeDel(dev)
  driverDeferredProbeTrigger(bus.core)
  bus.notify('bound_driver', dev)
  deviceUevent(dev, 'bind')
}

/** really_probe(): 0, -errno (before ->probe()), or +errno (->probe() failed). */
function reallyProbe(dev: Device, drv: DeviceDriver): number {
  const bus = dev.bus
  devDbg(dev, `bus: '${bus.name}': really_probe: probing driver ${drv.name} with device`)
  dev.driver = drv
  let r = bus.dmaConfigure(dev, drv)
  if (r !== 0) {
    dev.driver = null
    return r
  }
  driverSysfsAdd(dev, drv)
  r = callDriverProbe(dev, drv)
  if (r !== 0) {
    driverSysfsRemove(dev, drv)
    bus.notify('driver_not_bound', dev)
    bus.dmaCleanup(dev, drv)
    dev.driver = null
    dev.driverData = undefined
    return -r
  }
  driverBound(dev, drv)
  devDbg(dev, `bus: '${bus.name}': really_probe: bound device ${dev.name} to driver ${drv.name}`)
  return 0
}

/** __driver_probe_device(). */
function driverProbeDeviceLocked(drv: DeviceDriver, dev: Device): number {
  if (dev.dead || !dev.registered) return -E.ENODEV
  if (dev.driver !== null) return -E.EBUSY
  return reallyProbe(dev, drv)
}

/** driver_probe_device(): as above, but a deferral (either sign) puts the device on the deferred list. */
function driverProbeDevice(drv: DeviceDriver, dev: Device): number {
  const r = driverProbeDeviceLocked(drv, dev)
  if (r === -E.EPROBE_DEFER || r === E.EPROBE_DEFER) driverDeferredProbeAdd(dev)
  return r
}

/**
 * device_driver_attach() (the `bind` file): 0 or a negative errno; probe
 * errors come back negative and a deferral becomes -EAGAIN (≥ v5.14). The
 * device is not put on the deferred list on this path.
 */
export function deviceDriverAttach(drv: DeviceDriver, dev: Device): number {
  let r = driverProbeDeviceLocked(drv, dev)
  if (r > 0) r = -r
  if (r === -E.EPROBE_DEFER) return -E.EAGAIN
  return r
}

/**
 * device_attach() / __device_attach(): tries the bus's drivers in
 * registration order. Returns 1 if bound, 0 if no driver took the device,
 * or the negative error that stopped the walk.
 */
export function deviceAttach(dev: Device): number {
  if (dev.dead) return 0
  if (dev.driver !== null) return 1
  for (const drv of [...dev.bus.drivers]) {
    const m = dev.bus.match(dev, drv)
    if (m === 0) continue
    if (m === -E.EPROBE_DEFER) {
      devDbg(dev, 'Device match requests probe deferral')
      driverDeferredProbeAdd(dev)
      return m
    }
    if (m < 0) {
      devDbg(dev, `Bus failed to match device: ${m}`)
      return m
    }
    const r = driverProbeDevice(drv, dev)
    if (r < 0) return r
    if (r === 0) return 1
    // r > 0: the driver's probe failed; the next driver tries its luck.
  }
  return 0
}

/** driver_attach() / __driver_attach(): binds `drv` to every matching unbound device of the bus; errors are ignored. */
export function driverAttach(drv: DeviceDriver, bus: BusType): void {
  for (const dev of [...bus.devices]) {
    const m = bus.match(dev, drv)
    if (m === 0) continue
    if (m === -E.EPROBE_DEFER) {
      devDbg(dev, 'Device match requests probe deferral')
      driverDeferredProbeAdd(dev)
      continue
    }
    if (m < 0) {
      devDbg(dev, `Bus failed to match device: ${m}`)
      continue
    }
    driverProbeDevice(drv, dev)
  }
}

/**
 * device_release_driver() / __device_release_driver(): removes the links,
 * calls ->remove(), releases DMA ownership, clears dev->driver, then sends
 * the `unbind` uevent (without DRIVER=). No reprobe follows.
 */
export function deviceReleaseDriver(dev: Device): void {
  const drv = dev.driver
  if (drv === null) return
  const bus = dev.bus
  driverSysfsRemove(dev, drv)
  bus.notify('unbind_driver', dev)
  bus.remove(dev, drv)
  bus.dmaCleanup(dev, drv)
  dev.driver = null
  dev.driverData = undefined
  const list = bus.boundDevices.get(drv)
  if (list !== undefined) {
    const i = list.indexOf(dev)
    if (i >= 0) list.splice(i, 1)
  }
  bus.notify('unbound_driver', dev)
  deviceUevent(dev, 'unbind')
}
