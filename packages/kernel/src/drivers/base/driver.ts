/**
 * Models drivers/base/driver.c: `struct device_driver`, driver_register /
 * driver_unregister (the duplicate-name check and its log line), and
 * driver_set_override(), the parser behind every bus's `driver_override`
 * store (cut at the first NUL and the first newline, nothing trimmed,
 * `len >= PAGE_SIZE - 1` → -EINVAL, "\n" clears).
 */
import type { Device } from './core.ts'
import type { BusType } from './bus.ts'
import { busAddDriver, busRemoveDriver } from './bus.ts'

/** Page size of the modelled kernel (4 KiB pages; arm64 may have 16/64 KiB). */
export const PAGE_SIZE = 4096

/** Errno values the driver core uses (include/uapi/asm-generic/errno-base.h, include/linux/errno.h). */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EPROBE_DEFER: 517,
} as const

/**
 * A driver (struct device_driver plus the bus-specific driver struct's
 * callbacks). `probe` returns 0 or a negative errno, as Linux's probe does.
 */
export interface DeviceDriver {
  /** Driver name: what `driver_override` and sysfs use ("dma-pl330", "vfio-platform"). */
  readonly name: string
  /** Name of the bus the driver registers on ("platform", "amba"). */
  readonly bus: string
  /** OF match table: compatible strings (platform). */
  readonly ofMatchTable?: readonly string[]
  /** Platform id_table: device names. */
  readonly idTable?: readonly string[]
  /** AMBA id table: `(periphid & mask) === id`. */
  readonly ambaIds?: readonly { readonly id: number; readonly mask: number }[]
  /** ->probe(): 0 or -errno. */
  probe(dev: Device): number
  /** ->remove(): cannot fail. */
  remove?(dev: Device): void
  /** The driver handles DMA ownership itself (vfio-platform, vfio-amba): no default-domain use. */
  readonly driverManagedDma?: boolean
  /** No bind/unbind files (drivers registered with platform_driver_probe). */
  readonly suppressBindAttrs?: boolean
  /** Probe deferral is turned into -ENXIO ("probe deferral not supported"). */
  readonly preventDeferredProbe?: boolean
  /** Module name for the `module` link ("vfio_platform"); absent for built-ins without one. */
  readonly module?: string
}

/**
 * driver_register(): adds the driver to its bus (creating its sysfs
 * directory and, with autoprobe on, binding matching devices), then sends
 * the driver's `add` uevent. A second driver of the same name on the bus is
 * refused with -EBUSY and "Error: Driver '%s' is already registered,
 * aborting...". Returns 0 or -errno.
 */
export function driverRegister(bus: BusType, drv: DeviceDriver): number {
  if (drv.bus !== bus.name) return -E.EINVAL
  if (bus.findDriver(drv.name) !== undefined) {
    bus.core.log('err', `Error: Driver '${drv.name}' is already registered, aborting...`)
    return -E.EBUSY
  }
  return busAddDriver(bus, drv)
}

/** driver_unregister(): unbinds every bound device, removes the sysfs directory, sends `remove`. */
export function driverUnregister(bus: BusType, drv: DeviceDriver): void {
  busRemoveDriver(bus, drv)
}

/** cstrlen: the string up to its first NUL (the store buffer is NUL-terminated by kernfs). */
export function cstr(s: string): string {
  const nul = s.indexOf('\0')
  return nul < 0 ? s : s.slice(0, nul)
}

/**
 * driver_set_override(): parses a write of `count` bytes to `driver_override`.
 * Returns the new override (null = cleared) or a negative errno.
 */
export function driverSetOverride(buf: string, count: number): string | null | number {
  if (count >= PAGE_SIZE - 1) return -E.EINVAL
  let s = cstr(buf.slice(0, count))
  if (s.length === 0) return null
  const nl = s.indexOf('\n')
  if (nl >= 0) s = s.slice(0, nl)
  return s.length === 0 ? null : s
}
