/**
 * Models drivers/amba/bus.c: the AMBA (PrimeCell) bus. Devices are matched
 * by the peripheral ID read from the device's own ID registers through MMIO
 * (PID at size-0x20…, CID at size-0x10…, accepted only with the PrimeCell
 * or CoreSight component ID), which needs the bus clock "apb_pclk". amba_match() reads the ID first (-EPROBE_DEFER
 * while it cannot be read, and the `add` uevent is held back until it can),
 * then honours driver_override, then the driver's id table. Attributes:
 * `id`, `resource`, `driver_override` (no `modalias`); uevent keys AMBA_ID
 * (lower-case hex) and MODALIAS=amba:d%08X (upper-case).
 */
import { BusResp } from '@vfio-sim/sim'
import type { Kernel } from '../../kernel.ts'
import { ofFindNodeByPhandle, ofPropertyReadStrings, ofPropertyReadU32, ofPropertyReadU32Array, type DtNode } from '../../of/base.ts'
import { BusType, busRegister, deviceAdd } from '../base/bus.ts'
import { Device, DriverCore, IORESOURCE_MEM, deviceUevent, driverCore, type Resource } from '../base/core.ts'
import { E, driverRegister, type DeviceDriver } from '../base/driver.ts'
import { addDriverOverrideAttr } from '../base/platform.ts'

/** PrimeCell component ID (AMBA_CID) and CoreSight's (CORESIGHT_CID), include/linux/amba/bus.h. */
export const AMBA_CID = 0xb105f00d
export const CORESIGHT_CID = 0xb105900d

/** An AMBA device (struct amba_device). */
export class AmbaDevice extends Device {
  /** Peripheral ID (0 until read; may be preset from `arm,primecell-periphid`). */
  periphid = 0
  /** Component ID read with it. */
  cid = 0
  /** The register window (adev->res). */
  readonly res: Resource

  constructor(name: string, bus: AmbaBus, parentPath: string, res: Resource, ofNode?: DtNode, irqs: readonly Resource[] = []) {
    super(name, bus, parentPath, ofNode)
    this.res = res
    this.resources.push(res, ...irqs)
  }
}

/**
 * amba_get_enable_pclk(): the bus clock "apb_pclk" must exist. For a DT
 * device that means `clock-names` lists "apb_pclk" and the matching
 * `clocks` entry names a clock provider (a node with `#clock-cells`);
 * otherwise clk_get() fails with -ENOENT. Devices without a DT node pass.
 */
export function ambaGetEnablePclk(adev: AmbaDevice): number {
  const np = adev.ofNode
  if (np === undefined) return 0
  const idx = (ofPropertyReadStrings(np, 'clock-names') ?? []).indexOf('apb_pclk')
  const clocks = ofPropertyReadU32Array(np, 'clocks') ?? []
  if (idx < 0 || clocks.length === 0) return -E.ENOENT
  // Walk the specifiers: phandle followed by #clock-cells cells.
  let at = 0
  for (let i = 0; at < clocks.length; i++) {
    const provider = ofFindNodeByPhandle(np, clocks[at]!)
    const cells = provider === undefined ? undefined : ofPropertyReadU32(provider, '#clock-cells')
    if (provider === undefined || cells === undefined) return -E.ENOENT
    if (i === idx) return 0
    at += 1 + cells
  }
  return -E.ENOENT
}

/**
 * amba_read_periphid(): enables apb_pclk, then reads PID/CID through MMIO at
 * the top of the resource. Returns 0 (periphid set), the clock error, or
 * -ENODEV.
 */
export function ambaReadPeriphid(kernel: Kernel, adev: AmbaDevice): number {
  const clk = ambaGetEnablePclk(adev)
  if (clk !== 0) return clk
  const size = Number(adev.res.end - adev.res.start + 1n)
  const base = Number(adev.res.start)
  const bus = kernel.sys.bus
  let pid = 0
  let cid = 0
  for (let i = 0; i < 4; i++) {
    const p = bus.readN(base + size - 0x20 + 4 * i, 4)
    const pOk = bus.resp === BusResp.OKAY
    const c = bus.readN(base + size - 0x10 + 4 * i, 4)
    const cOk = bus.resp === BusResp.OKAY
    pid |= ((pOk ? p : 0) & 0xff) << (8 * i)
    cid |= ((cOk ? c : 0) & 0xff) << (8 * i)
  }
  pid >>>= 0
  cid >>>= 0
  if (cid === AMBA_CID || cid === CORESIGHT_CID) {
    adev.periphid = pid
    adev.cid = cid
  }
  return adev.periphid === 0 ? -E.ENODEV : 0
}

/** amba_lookup(): the first id entry with `(periphid & mask) === id`. */
export function ambaLookup(drv: DeviceDriver, adev: AmbaDevice): { id: number; mask: number } | undefined {
  return drv.ambaIds?.find(e => e.mask !== 0 && ((adev.periphid & e.mask) >>> 0) === e.id)
}

/** The AMBA bus (amba_bustype). */
export class AmbaBus extends BusType {
  readonly name = 'amba'

  match(dev: Device, drv: DeviceDriver): number {
    if (!(dev instanceof AmbaDevice)) return 0
    if (dev.periphid === 0) {
      // A permanent failure to read the ID is reported as a deferral too.
      if (ambaReadPeriphid(this.core.kernel, dev) !== 0) return -E.EPROBE_DEFER
      dev.ueventSuppressed = false
      deviceUevent(dev, 'add')
    }
    if (dev.driverOverride !== null) return dev.driverOverride === drv.name ? 1 : 0
    return ambaLookup(drv, dev) !== undefined ? 1 : 0
  }

  /** amba_probe: the bus clock must be available, then the driver's probe. */
  probe(dev: Device, drv: DeviceDriver): number {
    if (dev instanceof AmbaDevice) {
      const r = ambaGetEnablePclk(dev)
      if (r !== 0) return r
    }
    return drv.probe(dev)
  }

  remove(dev: Device, drv: DeviceDriver): void {
    drv.remove?.(dev)
  }

  uevent(dev: Device): string[] {
    const id = dev instanceof AmbaDevice ? dev.periphid : 0
    return [`AMBA_ID=${hex8(id)}`, `MODALIAS=amba:d${hex8(id).toUpperCase()}`]
  }

  addDeviceAttrs(dev: Device): void {
    const sysfs = this.core.kernel.sysfs
    const adev = dev as AmbaDevice
    sysfs.addFile(`${dev.kobjPath}/id`, { mode: 0o444, show: () => `${hex8(adev.periphid)}\n` })
    sysfs.addFile(`${dev.kobjPath}/resource`, {
      mode: 0o444,
      show: () => `\t${hex16(adev.res.start)}\t${hex16(adev.res.end)}\t${hex16(BigInt(adev.res.flags))}\n`,
    })
    addDriverOverrideAttr(dev)
  }
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0')
}

function hex16(v: bigint): string {
  return v.toString(16).padStart(16, '0')
}

const ambaBuses = new WeakMap<DriverCore, AmbaBus>()

/** The kernel's AMBA bus (registered on first use: /sys/bus/amba). */
export function ambaBus(kernel: Kernel): AmbaBus {
  const core = driverCore(kernel)
  let bus = ambaBuses.get(core)
  if (bus === undefined) {
    bus = new AmbaBus(core)
    busRegister(bus)
    ambaBuses.set(core, bus)
  }
  return bus
}

/**
 * amba_device_add(): registers an AMBA device. If its periphid is not preset
 * and cannot be read now, the device is added with uevents suppressed (the
 * `add` event is sent by the first successful match). Returns the device or
 * a negative errno.
 */
export function ambaDeviceAdd(
  kernel: Kernel,
  name: string,
  opts: { parentPath?: string; start: bigint; size: bigint; irqs?: readonly number[]; ofNode?: DtNode; periphid?: number },
): AmbaDevice | number {
  const bus = ambaBus(kernel)
  const res: Resource = { start: opts.start, end: opts.start + opts.size - 1n, flags: IORESOURCE_MEM }
  const irqRes = (opts.irqs ?? []).map(n => ({ start: BigInt(n), end: BigInt(n), flags: 0x400 }))
  const adev = new AmbaDevice(name, bus, opts.parentPath ?? 'devices/platform', res, opts.ofNode, irqRes)
  if (opts.periphid !== undefined && opts.periphid !== 0) adev.periphid = opts.periphid
  if (adev.periphid === 0 && ambaReadPeriphid(kernel, adev) !== 0) adev.ueventSuppressed = true
  const r = deviceAdd(adev)
  return r < 0 ? r : adev
}

/**
 * The `amba-proxy` stub driver (amba_stub_drv_init, late_initcall_sync with
 * CONFIG_MODULES): its id table is empty, so only a driver_override can
 * make it match; its probe WARNs and returns -ENODEV. It exists so that
 * amba_match() runs (reading IDs, sending held-back `add` uevents) even when
 * every real AMBA driver is a module.
 */
export function ambaStubDriver(kernel: Kernel): DeviceDriver {
  return {
    name: 'amba-proxy',
    bus: 'amba',
    ambaIds: [],
    probe: () => {
      for (const line of [
        '------------[ cut here ]------------',
        'Stub driver should never match any device.',
        'WARNING: CPU: 0 PID: 1 at drivers/amba/bus.c amba_proxy_probe',
        '---[ end trace 0000000000000000 ]---',
      ]) kernel.printk('warning', line)
      return -E.ENODEV
    },
  }
}

/** amba_stub_drv_init: registers {@link ambaStubDriver}. */
export function ambaStubInit(kernel: Kernel): number {
  return ambaDriverRegister(kernel, ambaStubDriver(kernel))
}

/** amba_driver_register(): 0 or -errno. The driver's `bus` must be "amba". */
export function ambaDriverRegister(kernel: Kernel, drv: DeviceDriver): number {
  return driverRegister(ambaBus(kernel), drv)
}
