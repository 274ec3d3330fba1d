// Test harness for the vfio-platform / vfio-amba kernel tests: a kernel with
// a PL330 model at 0x2c0a0000 (directly on the bus: these tests are about the
// device fd, not DMA translation), its device from a small device tree, the
// vfio drivers registered, and a task with helpers for ioctl structs.
//
// The device fd here is a minimal stand-in for the VFIO core's (open_device
// on creation, close_device on release, ops forwarded), so these tests pin the
// bus driver alone; the machine tests go through the real core.
import { Pl330 } from '@vfio-sim/pl330'
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE, vfio_irq_set, type vfio_irq_set_input } from '@vfio-sim/uapi'
import { Kernel, OpenFile, type KernelProfile } from '../src/kernel.ts'
import { spawnTask, type TaskStruct } from '../src/kernel/fork.ts'
import { parseDts } from '../src/of/dtc-parser.ts'
import { ofPlatformPopulate } from '../src/of/platform.ts'
import { sysEventfd2, sysIoctl, sysMmap, sysRead, sysWrite } from '../src/syscalls/index.ts'
import { IommuDomain, iommuDeviceRegister, iommuGroupAlloc, type IommuOps } from '../src/drivers/iommu/iommu.ts'
import type { Device } from '../src/drivers/base/core.ts'
import { VfioDevice } from '../src/drivers/vfio/vfio.ts'
import { vfioPlatformInit } from '../src/drivers/vfio/platform/vfio_platform.ts'
import { vfioAmbaInit } from '../src/drivers/vfio/platform/vfio_amba.ts'
import { vfioPlatformPl330ResetInit } from '../src/drivers/vfio/platform/reset/vfio_platform_pl330.ts'
import { echo } from './driver-core-helpers.ts'

export const PL330_BASE = 0x2c0a_0000
/** GIC SPI n = interrupt-controller input 32 + n. */
export const ABORT_IRQ = 32 + 88
export const EVENT_IRQS = [89, 90, 91, 92, 108, 109, 110, 111].map(n => 32 + n)
export const EDGE_IRQ = 32 + 120

/** Options of {@link setup}. */
export interface SetupOptions {
  readonly profile?: KernelProfile
  /** Add a tenth, rising-edge interrupt to the device (index 9). */
  readonly edgeIrq?: boolean
  /** vfio-platform's reset_required (default true). */
  readonly resetRequired?: boolean
  /** Register the PL330 reset handler (default true). */
  readonly pl330Reset?: boolean
  /** Put the device in an IOMMU group (default true). */
  readonly iommuGroup?: boolean
  /** Bind (driver_override + drivers_probe) (default true). */
  readonly bind?: boolean
}

function dts(edge: boolean, withIommu: boolean): string {
  const edgeIrq = edge ? ', <0 120 1>' : ''
  const iommus = withIommu ? 'iommus = <&fake_iommu 0>;' : ''
  return `/dts-v1/;
/ {
  #address-cells = <2>;
  #size-cells = <2>;
  interrupt-parent = <&gic>;
  fake_iommu: iommu@2b400000 {
    compatible = "vfio-sim,test-iommu";
    reg = <0x0 0x2b400000 0x0 0x1000>;
    #iommu-cells = <1>;
  };
  gic: interrupt-controller@2c001000 {
    compatible = "arm,gic-400";
    #interrupt-cells = <3>;
    interrupt-controller;
    reg = <0x0 0x2c001000 0x0 0x1000>;
  };
  dma@2c0a0000 {
    compatible = "arm,pl330";
    reg = <0x0 0x2c0a0000 0x0 0x1000>;
    interrupts = <0 88 4>, <0 89 4>, <0 90 4>, <0 91 4>, <0 92 4>, <0 108 4>, <0 109 4>, <0 110 4>, <0 111 4>${edgeIrq};
    ${iommus}
  };
};
`
}

/** A stand-in IOMMU driver: one group per device, identity default domain, cache coherent. */
function fakeIommuOps(k: Kernel): IommuOps {
  const dom = { attachDev() {} }
  const ops: IommuOps = {
    ofXlate: (_d, args) => args[0] ?? 0,
    probeDevice() {},
    releaseDevice() {},
    deviceGroup: () => iommuGroupAlloc(k),
    capable: (_d, cap) => cap === 'CACHE_COHERENCY',
    domainAllocPaging: (_d, type) => new IommuDomain(type, ops, dom, 0x1000n),
    getResvRegions: () => [],
    defDomainType: () => 'IDENTITY',
    pgsizeBitmap: 0x1000n,
  }
  ops.identityDomain = new IommuDomain('IDENTITY', ops, dom)
  return ops
}

/** What {@link setup} builds. */
export interface Rig {
  readonly k: Kernel
  readonly dev: Device
  readonly dma: Pl330
  readonly task: TaskStruct
  /** A scratch page of user memory for ioctl structs. */
  readonly scratch: number
}

export function setup(o: SetupOptions = {}): Rig {
  const k = new Kernel({ profile: o.profile ?? 'upstream' })
  k.sys.bus.addRam('dram', 0x8000_0000, 0x100_0000)
  const dma = new Pl330({
    port: k.sys.bus,
    scheduler: k.sys.scheduler,
    abortIrq: k.sys.irqc.line(ABORT_IRQ),
    irqs: EVENT_IRQS.map(i => k.sys.irqc.line(i)),
    config: { mgrNsAtReset: true, irqNs: 0xffff_ffff, periphNs: 0xffff_ffff },
  })
  k.sys.bus.addDevice(PL330_BASE, dma.mmio, 'pl330')
  const devs = ofPlatformPopulate(k, parseDts(dts(o.edgeIrq ?? false, o.iommuGroup ?? true), 'vfio-platform-test.dts'))
  const dev = devs.find(d => d.name === '2c0a0000.dma')!
  const iommuDev = devs.find(d => d.name === '2b400000.iommu')!
  iommuDeviceRegister(k, { ops: fakeIommuOps(k), fwnode: iommuDev.ofNode!, dev: iommuDev })
  if (o.pl330Reset ?? true) vfioPlatformPl330ResetInit(k)
  vfioPlatformInit(k, o.resetRequired === undefined ? {} : { resetRequired: o.resetRequired })
  vfioAmbaInit(k)
  if (o.bind ?? true) bind(k)
  const task = spawnTask(k)
  const scratch = sysMmap(k, task, 0, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  return { k, dev, dma, task, scratch }
}

/** The seed's flow: driver_override, then drivers_probe. Returns drivers_probe's result. */
export function bind(k: Kernel): number | string {
  echo(k, 'bus/platform/devices/2c0a0000.dma/driver_override', 'vfio-platform')
  return echo(k, 'bus/platform/drivers_probe', '2c0a0000.dma')
}

/** The VFIO device bound to the rig's device (undefined if not bound). */
export function vfioDevOf(r: Rig): VfioDevice | undefined {
  return r.dev.driverData instanceof VfioDevice ? r.dev.driverData : undefined
}

/** Opens a device fd (first open runs open_device) and installs it in the task. */
export function openDeviceFd(r: Rig): number {
  const vd = vfioDevOf(r)
  if (vd === undefined) throw new Error('device not bound to a vfio driver')
  if (vd.openCount++ === 0) {
    try {
      vd.ops.openDevice?.(vd)
    } catch (e) {
      vd.openCount--
      throw e
    }
  }
  const file = new OpenFile({
    ioctl: (_f, cmd, arg, task) => vd.ops.ioctl!(vd, cmd >>> 0, arg, task),
    read: (_f, buf, pos, task) => vd.ops.read!(vd, buf, pos, task),
    write: (_f, data, pos, task) => vd.ops.write!(vd, data, pos, task),
    mmap: (_f, vma, task) => vd.ops.mmap!(vd, vma, task),
    release: () => {
      if (--vd.openCount === 0) vd.ops.closeDevice?.(vd)
    },
  }, O_RDWR, '[vfio-device]')
  return r.task.files.install(file, true)
}

/** ioctl with a struct: copied to scratch memory, passed by address, copied back (also on failure). */
export function ioctlStruct(r: Rig, fd: number, cmd: number, bytes: Uint8Array): number {
  r.task.mm.copyToUser(r.scratch, bytes)
  try {
    return sysIoctl(r.task, fd, cmd, r.scratch)
  } finally {
    bytes.set(r.task.mm.copyFromUser(r.scratch, bytes.length))
  }
}

/** VFIO_DEVICE_SET_IRQS with `argsz` defaulting to the encoded length. */
export function setIrqs(r: Rig, fd: number, cmd: number, s: Omit<vfio_irq_set_input, 'argsz'> & { argsz?: number }): number {
  const input: vfio_irq_set_input = { ...s, argsz: s.argsz ?? vfio_irq_set.byteLength({ ...s, argsz: 0 }) }
  return ioctlStruct(r, fd, cmd, vfio_irq_set.encode(input))
}

export function eventfd(r: Rig, flags = 0): number {
  return sysEventfd2(r.k, r.task, 0, flags)
}

/** The eventfd's counter by a read (0 if it would block: the fd must be non-blocking). */
export function drain(r: Rig, fd: number): bigint {
  const b = new Uint8Array(8)
  try {
    sysRead(r.task, fd, b)
  } catch {
    return 0n
  }
  return new DataView(b.buffer).getBigUint64(0, true)
}

export function efdWrite(r: Rig, fd: number, v: bigint): void {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, v, true)
  sysWrite(r.task, fd, b)
}

/** Runs the machine until idle (IRQ delivery). */
export function settle(r: Rig): void {
  r.k.sys.scheduler.runUntilIdle()
}
