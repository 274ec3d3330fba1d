/**
 * Models drivers/base/core.c: `struct device`, device_add/device_del, the
 * device's sysfs directory (`uevent`, `subsystem`, `of_node`, `driver`,
 * `iommu_group` links), dev_uevent(), kobject uevents (recorded, as
 * `udevadm monitor --kernel` would show them), and dev_printk prefixes.
 *
 * The driver core's state for one kernel lives in a {@link DriverCore},
 * reached with {@link driverCore}(kernel): Linux keeps it in globals.
 */
import { errnoName } from '@vfio-sim/uapi'
import { kerr } from '../../errno.ts'
import type { Kernel, LogLevel } from '../../kernel.ts'
import type { DtNode } from '../../of/base.ts'
import { ofDeviceUevent, ofNodeFullName } from '../../of/base.ts'
import type { BusType } from './bus.ts'
import type { DeviceDriver } from './driver.ts'

/** IORESOURCE_MEM (include/linux/ioport.h). */
export const IORESOURCE_MEM = 0x00000200
/** IORESOURCE_IRQ (include/linux/ioport.h). */
export const IORESOURCE_IRQ = 0x00000400

/** A resource (struct resource): an MMIO window or an interrupt. */
export interface Resource {
  readonly start: bigint
  readonly end: bigint
  readonly flags: number
  readonly name?: string
}

/** What the IOMMU core hangs on a device (the group number); filled in later by the IOMMU core. */
export interface IommuGroupRef {
  readonly id: number
}

/** One recorded uevent, as the kernel sends it on netlink. */
export interface Uevent {
  readonly seqnum: number
  readonly action: 'add' | 'remove' | 'change' | 'move' | 'online' | 'offline' | 'bind' | 'unbind'
  /** "/devices/platform/soc/2c0a0000.dma", "/bus/platform/drivers/dma-pl330". */
  readonly devpath: string
  readonly subsystem: string
  /** All KEY=VALUE pairs in order, ACTION/DEVPATH/SUBSYSTEM first and SEQNUM last. */
  readonly env: readonly string[]
}

/**
 * A device (struct device). Bus-specific devices (platform, AMBA) extend it.
 * `kobjPath` is the directory under /sys ("devices/platform/soc/2c0a0000.dma").
 */
export class Device {
  /** dev_name(). */
  readonly name: string
  readonly bus: BusType
  /** sysfs directory of the parent ("devices/platform" or "devices/platform/soc"). */
  readonly parentPath: string
  /** The device-tree node the device was created from. */
  readonly ofNode: DtNode | undefined
  /** driver_override (NULL = unset). */
  driverOverride: string | null = null
  /** The bound driver (set from just before ->probe() until unbind). */
  driver: DeviceDriver | null = null
  /** The device's IOMMU group (the IOMMU core sets it with {@link setIommuGroup}). */
  iommuGroup: IommuGroupRef | null = null
  /** Driver-private data (dev_set_drvdata). */
  driverData: unknown = undefined
  /** Registered with device_add and not yet deleted. */
  registered = false
  /** dev->p->dead: set by device_del. */
  dead = false
  /** Suppress uevents (AMBA devices whose ID cannot be read yet). */
  ueventSuppressed = false
  /** Reason recorded by dev_err_probe / deferral, for the deferred list. */
  deferredReason: string | undefined = undefined
  /** MMIO windows and interrupts (IRQ numbers are interrupt-controller inputs). */
  readonly resources: Resource[] = []

  constructor(name: string, bus: BusType, parentPath: string, ofNode?: DtNode) {
    this.name = name
    this.bus = bus
    this.parentPath = parentPath
    this.ofNode = ofNode
  }

  /** Directory of the device in sysfs, relative to /sys. */
  get kobjPath(): string {
    return `${this.parentPath}/${this.name}`
  }

  /** The device's interrupt numbers (the IRQ resources, in order). */
  get irqs(): number[] {
    return this.resources.filter(r => r.flags & IORESOURCE_IRQ).map(r => Number(r.start))
  }

  /** The device's MMIO windows. */
  get memResources(): Resource[] {
    return this.resources.filter(r => r.flags & IORESOURCE_MEM)
  }
}

/**
 * sysfs relative symlink target from the link at `linkPath` to `targetPath`
 * (both relative to /sys), as sysfs_create_link writes it: up to the common
 * ancestor, then down.
 */
export function sysfsRelTarget(linkPath: string, targetPath: string): string {
  const from = linkPath.split('/').filter(p => p !== '').slice(0, -1)
  const to = targetPath.split('/').filter(p => p !== '')
  let i = 0
  while (i < from.length && i < to.length && from[i] === to[i]) i++
  return '../'.repeat(from.length - i) + to.slice(i).join('/')
}

/** kernfs symlink with a target computed by {@link sysfsRelTarget}; replaces an existing link. */
export function sysfsCreateLink(kernel: Kernel, linkPath: string, targetPath: string): void {
  kernel.sysfs.remove(linkPath)
  kernel.sysfs.symlink(linkPath, sysfsRelTarget(linkPath, targetPath))
}

/** A sysfs store's result: a byte count, or a negative errno thrown as a KernelError (what write(2) returns). */
export function sysfsRet(r: number): number {
  if (r < 0) kerr(errnoName(-r) ?? 'EINVAL')
  return r
}

/**
 * The driver core's state for one kernel: buses, the uevent record, the
 * deferred-probe lists. Get it with {@link driverCore}.
 */
export class DriverCore {
  readonly kernel: Kernel
  /** Registered buses by name. */
  readonly buses = new Map<string, BusType>()
  /** Every uevent sent, oldest first. */
  readonly uevents: Uevent[] = []
  private seqnum = 0
  /** Deferred probe: devices waiting for a retry (deferred_probe_pending_list). */
  readonly deferredPending: Device[] = []
  /** Devices whose retry was triggered and is about to run (deferred_probe_active_list). */
  readonly deferredActive: Device[] = []
  /** A successful bind happened: retry the deferred devices once the current operation ends. */
  deferredTriggered = false
  /** Nesting depth of driver-core operations (the deferred retry runs at depth 0, as the workqueue would). */
  depth = 0
  /** Global switch of deferred probing (driver_deferred_probe_enable; on once boot's initcalls ran). */
  deferredProbeEnabled = true

  constructor(kernel: Kernel) {
    this.kernel = kernel
    kernel.sysfs.mkdir('devices/platform')
    kernel.sysfs.mkdir('bus')
  }

  /** printk at `level`. */
  log(level: LogLevel, text: string): void {
    this.kernel.printk(level, text)
  }

  /**
   * Sends (records) a uevent for the kobject at `kobjPath`. An `unbind` event
   * loses its MODALIAS key (zap_modalias_env), so udev does not load a module
   * because a driver went away.
   */
  sendUevent(kobjPath: string, subsystem: string, action: Uevent['action'], keys: readonly string[]): Uevent {
    const seqnum = ++this.seqnum
    const devpath = '/' + kobjPath
    const kept = action === 'unbind' ? keys.filter(k => !k.startsWith('MODALIAS=')) : keys
    const ev: Uevent = { seqnum, action, devpath, subsystem, env: [`ACTION=${action}`, `DEVPATH=${devpath}`, `SUBSYSTEM=${subsystem}`, ...kept, `SEQNUM=${seqnum}`] }
    this.uevents.push(ev)
    return ev
  }
}

const cores = new WeakMap<Kernel, DriverCore>()

/** The driver core of `kernel` (created on first use, with /sys/devices/platform and /sys/bus). */
export function driverCore(kernel: Kernel): DriverCore {
  let c = cores.get(kernel)
  if (c === undefined) {
    c = new DriverCore(kernel)
    cores.set(kernel, c)
  }
  return c
}

/**
 * dev_driver_string(): the prefix of dev_printk lines: the bound (or
 * probing) driver's name, else the bus name.
 */
export function devDriverString(dev: Device): string {
  return dev.driver !== null ? dev.driver.name : dev.bus.name
}

/** dev_printk: "<driver or bus> <device>: <text>". */
export function devPrintk(dev: Device, level: LogLevel, text: string): void {
  dev.bus.core.log(level, `${devDriverString(dev)} ${dev.name}: ${text}`)
}

/** dev_err. */
export const devErr = (dev: Device, text: string): void => devPrintk(dev, 'err', text)
/** dev_warn. */
export const devWarn = (dev: Device, text: string): void => devPrintk(dev, 'warning', text)
/** dev_info. */
export const devInfo = (dev: Device, text: string): void => devPrintk(dev, 'info', text)
/** dev_dbg (kept only with `kernel.dynamicDebug`). */
export const devDbg = (dev: Device, text: string): void => devPrintk(dev, 'debug', text)

/**
 * dev_uevent(): the keys a device's uevent carries (and its `uevent` file
 * shows): DRIVER while bound, the OF_* keys, then the bus's own keys
 * (MODALIAS, AMBA_ID, …).
 */
export function devUeventKeys(dev: Device): string[] {
  const env: string[] = []
  if (dev.driver !== null) env.push(`DRIVER=${dev.driver.name}`)
  if (dev.ofNode !== undefined) env.push(...ofDeviceUevent(dev.ofNode))
  env.push(...dev.bus.uevent(dev))
  return env
}

/** kobject_uevent() for a device: recorded unless the device's uevents are suppressed. */
export function deviceUevent(dev: Device, action: Uevent['action']): void {
  if (dev.ueventSuppressed) return
  dev.bus.core.sendUevent(dev.kobjPath, dev.bus.name, action, devUeventKeys(dev))
}

const SYNTH_ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'] as const

/** uuid_is_valid(): 36 characters, hyphens at 8, 13, 18, 23, hex digits elsewhere. */
function uuidIsValid(s: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/.test(s)
}

/**
 * kobject_synth_uevent(): a write to a `uevent` file. One trailing newline
 * (or NUL) is dropped; the text up to the first space must be an action name
 * exactly; if arguments follow they must be a UUID, then " KEY=VALUE" pairs
 * of letters and digits (sent as SYNTH_UUID / SYNTH_ARG_KEY=VALUE; without
 * arguments SYNTH_UUID=0). The caller's keys come before the object's own,
 * as kobject_uevent_env adds envp_ext first. Failures log "synth uevent:
 * <path>: <why>" and return -EINVAL. A suppressed object sends nothing but
 * the write still succeeds.
 */
export function synthUevent(core: DriverCore, kobjPath: string, subsystem: string, data: string, keys: () => string[], suppressed = false): number {
  let buf = data
  if (buf.endsWith('\n') || buf.endsWith('\0')) buf = buf.slice(0, -1)
  const fail = (why: string): number => {
    core.log('warning', `synth uevent: /${kobjPath}: ${why}`)
    return -22
  }
  if (buf.length === 0) return fail('unknown uevent action string')
  const sp = buf.indexOf(' ')
  const action = sp < 0 ? buf : buf.slice(0, sp)
  if (!(SYNTH_ACTIONS as readonly string[]).includes(action)) return fail('unknown uevent action string')
  const extra: string[] = []
  if (sp < 0) extra.push('SYNTH_UUID=0')
  else {
    // kobject_action_args gets the arguments up to the *original* count and
    // drops one trailing newline/NUL of its own.
    let args = data.slice(sp + 1)
    if (args.endsWith('\n') || args.endsWith('\0')) args = args.slice(0, -1)
    if (args.length < 36 || !uuidIsValid(args)) return fail('incorrect uevent action arguments')
    extra.push(`SYNTH_UUID=${args.slice(0, 36)}`)
    let rest = args.slice(36)
    while (rest.length > 0) {
      const m = /^ ([A-Za-z0-9]+)=([A-Za-z0-9]+)(?= |$)/.exec(rest)
      if (m === null) return fail('incorrect uevent action arguments')
      extra.push(`SYNTH_ARG_${m[1]}=${m[2]}`)
      rest = rest.slice(m[0].length)
    }
  }
  if (!suppressed) core.sendUevent(kobjPath, subsystem, action as Uevent['action'], [...extra, ...keys()])
  return 0
}

/**
 * Creates the device's sysfs directory and core files (device_add's sysfs
 * part): `uevent`, `subsystem` and `of_node` links, plus the firmware node
 * directory the `of_node` link points into.
 */
export function deviceAddSysfs(dev: Device): void {
  const { kernel } = dev.bus.core
  const sysfs = kernel.sysfs
  sysfs.mkdir(dev.kobjPath)
  sysfs.addFile(`${dev.kobjPath}/uevent`, {
    mode: 0o644,
    show: () => devUeventKeys(dev).map(k => `${k}\n`).join(''),
    store: data => {
      if (data.length === 0) return 0
      const r = synthUevent(dev.bus.core, dev.kobjPath, dev.bus.name, data, () => devUeventKeys(dev), dev.ueventSuppressed)
      if (r < 0) {
        devErr(dev, `uevent: failed to send synthetic uevent: ${r}`)
        return sysfsRet(r)
      }
      return data.length
    },
  })
  if (dev.ofNode !== undefined) {
    const fw = `firmware/devicetree/base${ofNodeFullName(dev.ofNode) === '/' ? '' : ofNodeFullName(dev.ofNode)}`
    sysfs.mkdir(fw)
    sysfsCreateLink(kernel, `${dev.kobjPath}/of_node`, fw)
  }
}

/**
 * Sets or clears the device's IOMMU group and its `iommu_group` link
 * (iommu_group_alloc_device / __iommu_group_remove_device). The IOMMU core
 * calls this; the driver core only provides the place.
 */
export function setIommuGroup(dev: Device, group: IommuGroupRef | null): void {
  const kernel = dev.bus.core.kernel
  dev.iommuGroup = group
  if (group === null) kernel.sysfs.remove(`${dev.kobjPath}/iommu_group`)
  else sysfsCreateLink(kernel, `${dev.kobjPath}/iommu_group`, `kernel/iommu_groups/${group.id}`)
}
