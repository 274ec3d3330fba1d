// Test fixture for the VFIO core tests: a booted board, a software IOMMU
// driver on the board's SMMU node when no real IOMMU driver put the DMA
// controllers in IOMMU groups, and a tiny VFIO bus driver ("vfio-test",
// driver_managed_dma) whose VfioDeviceOps record what the core calls.
import {
  IommuDomain,
  Kernel,
  iommuDeviceRegister,
  iommuGroupAlloc,
  iommuGroupGet,
  kerr,
  MSI_IOVA_BASE,
  MSI_IOVA_LENGTH,
  platformDriverRegister,
  vfioInit,
  vfioRegisterGroupDev,
  vfioUnregisterGroupDev,
  VfioDevice,
  type Device,
  type DeviceDriver,
  type IommuDomainDrvOps,
  type IommuGroup,
  type IommuOps,
  type KernelProfile,
  type VfioDeviceOps,
} from '@vfio-sim/kernel'
import { O_RDWR, O_WRONLY } from '@vfio-sim/uapi'
import { SimSystem } from '@vfio-sim/sim'
import { buildBoard, Machine, SysError, type Process } from '../src/index.ts'

/** Boots `board` with (or explicitly without) the IOMMU core, arm-smmu and the VFIO modules. */
function bootBoard(profile: KernelProfile, board: string, iommu: boolean): Machine {
  const kernel = new Kernel({ sys: new SimSystem(), profile })
  return new Machine(kernel, board, buildBoard(kernel, board, { iommu }))
}

/** One translation of the software IOMMU. */
export interface FakePte {
  readonly paddr: number
  readonly prot: number
}

/** A software IOMMU: one page table (4 KiB entries) per paging domain. */
export class FakeIommu implements IommuOps {
  readonly pgsizeBitmap = 0x4020_1000n
  readonly tables = new Map<IommuDomain, Map<number, FakePte>>()
  readonly attached = new Map<Device, IommuDomain>()
  private shared: IommuGroup | undefined
  private readonly machine: Machine
  private readonly sharedGroup: boolean
  private readonly domOps: IommuDomainDrvOps
  /** The passthrough domain (default domains of the IDENTITY type). */
  readonly identityDomain: IommuDomain

  constructor(machine: Machine, sharedGroup: boolean) {
    this.machine = machine
    this.sharedGroup = sharedGroup
    this.domOps = {
      attachDev: (domain, dev) => {
        this.attached.set(dev, domain)
      },
      mapPages: (domain, iova, paddr, pgsize, pgcount, prot, mapped) => {
        const t = this.tables.get(domain)!
        for (let i = 0; i < (pgsize * pgcount) / 4096; i++) t.set(iova + i * 4096, { paddr: paddr + i * 4096, prot })
        mapped.bytes += pgsize * pgcount
      },
      unmapPages: (domain, iova, pgsize, pgcount) => {
        const t = this.tables.get(domain)!
        let n = 0
        for (let i = 0; i < (pgsize * pgcount) / 4096; i++) if (t.delete(iova + i * 4096)) n += 4096
        return n
      },
      iovaToPhys: (domain, iova) => {
        const pte = this.tables.get(domain)?.get(iova - (iova % 4096))
        return pte === undefined ? 0 : pte.paddr + (iova % 4096)
      },
      free: domain => {
        this.tables.delete(domain)
      },
    }
    this.identityDomain = new IommuDomain('IDENTITY', this, this.domOps)
  }

  ofXlate(_dev: Device, args: readonly number[]): number {
    return args[0] ?? 0
  }
  probeDevice(): void {}
  releaseDevice(): void {}
  deviceGroup(): IommuGroup {
    if (!this.sharedGroup) return iommuGroupAlloc(this.machine.kernel)
    this.shared ??= iommuGroupAlloc(this.machine.kernel)
    return this.shared
  }
  capable(_dev: Device, cap: string): boolean {
    return cap === 'CACHE_COHERENCY' || cap === 'NOEXEC' || cap === 'DMA_EXEC'
  }
  domainAllocPaging(_dev: Device, type: 'UNMANAGED' | 'DMA'): IommuDomain {
    const d = new IommuDomain(type, this, this.domOps, this.pgsizeBitmap, { apertureStart: 0, apertureEnd: 2 ** 40 - 1, forceAperture: true })
    this.tables.set(d, new Map())
    return d
  }
  getResvRegions(): { start: number; length: number; prot: number; type: 'sw-msi' }[] {
    return [{ start: MSI_IOVA_BASE, length: MSI_IOVA_LENGTH, prot: 0, type: 'sw-msi' }]
  }

  /** The translation of `iova` for `dev` (through the domain it is attached to), or undefined. */
  translate(dev: Device, iova: number): FakePte | undefined {
    const d = this.attached.get(dev)
    return d === undefined ? undefined : this.tables.get(d)?.get(iova)
  }

  /** Pages mapped in the domain `dev` is attached to. */
  mappedPages(dev: Device): number {
    const d = this.attached.get(dev)
    return d === undefined ? 0 : (this.tables.get(d)?.size ?? 0)
  }
}

/** What the test driver's ops saw. */
export interface TestDriverLog {
  readonly calls: string[]
}

/** The "vfio-test" bus driver's ops: ioctl 0x3B6B (GET_INFO) returns 0x1234; read fills 0xAB; write echoes the count. */
export function testOps(log: TestDriverLog, opts: { failOpen?: string; noRw?: boolean } = {}): VfioDeviceOps {
  const base: VfioDeviceOps = {
    name: 'vfio-test',
    openDevice: v => {
      log.calls.push(`open ${v.name}`)
      if (opts.failOpen !== undefined) kerr(opts.failOpen)
    },
    closeDevice: v => {
      log.calls.push(`close ${v.name}`)
    },
    ioctl: (v, cmd, arg) => {
      log.calls.push(`ioctl ${v.name} 0x${cmd.toString(16)} ${arg}`)
      if (cmd === 0x3b6b) return 0x1234
      return kerr('ENOTTY')
    },
  }
  if (opts.noRw) return base
  return {
    ...base,
    read: (_v, buf, pos) => {
      log.calls.push(`read ${buf.length}@${pos}`)
      buf.fill(0xab)
      return buf.length
    },
    write: (_v, data, pos) => {
      log.calls.push(`write ${data.length}@${pos}`)
      return data.length
    },
  }
}

/** A booted board with the VFIO core, an IOMMU and the test driver. */
export interface VfioRig {
  readonly m: Machine
  readonly root: Process
  readonly iommu: FakeIommu | undefined
  readonly log: TestDriverLog
  /** dev_name → device. */
  dev(name: string): Device
  /** Binds `name` to vfio-test (driver_override, unbind the current driver, drivers_probe). */
  bindVfio(name: string): void
  /** Unbinds `name` and binds it back to its kernel driver (dma-pl330). */
  bindKernel(name: string): void
  /** The IOMMU group id of `name`. */
  groupId(name: string): number
}

/** The DMA controller of fvp-mmu400. */
export const DMA0 = '2c0a0000.dma'
/** The second DMA controller of fvp-mmu400-shared-group. */
export const DMA1 = '2c0b0000.dma'

/** Boots `board` under `profile` and sets up the VFIO core, an IOMMU and the test driver. */
export function vfioRig(
  profile: KernelProfile,
  board = 'fvp-mmu400',
  opts: { failOpen?: string; noRw?: boolean; separateGroups?: boolean; realIommu?: boolean } = {},
): VfioRig {
  // realIommu: the board's own IOMMU core + arm-smmu driver driving the MMU-400 model;
  // otherwise a board without them, and the software IOMMU below.
  const m = bootBoard(profile, board, opts.realIommu === true)
  const k = m.kernel
  vfioInit(k)
  const root = m.spawn()
  const hw = m.hw!
  const devByName = (name: string): Device => {
    const d = hw.device(name)
    if (d === undefined) throw new Error(`no device ${name}`)
    return d
  }
  const dmaNames = hw.dmas.map(d => hw.devices.find(x => x.ofNode === d.node)!.name)
  const unbind = (name: string): void => {
    const d = devByName(name)
    if (d.driver !== null) root.writeFile(`/sys/bus/platform/drivers/${d.driver.name}/unbind`, name)
  }
  let iommu: FakeIommu | undefined
  if (opts.realIommu !== true) {
    // Unbind first: the kernel driver then re-binds through the IOMMU core's DMA-ownership hooks.
    for (const n of dmaNames) unbind(n)
    iommu = new FakeIommu(m, board.includes('shared-group') && opts.separateGroups !== true)
    const smmu = hw.smmus[0]!
    const smmuDev = hw.devices.find(d => d.ofNode === smmu.node)!
    iommuDeviceRegister(k, { ops: iommu, fwnode: smmu.node, dev: smmuDev })
    for (const n of dmaNames) root.writeFile('/sys/bus/platform/drivers_probe', n)
  }
  const log: TestDriverLog = { calls: [] }
  const ops = testOps(log, opts)
  const drv: DeviceDriver = {
    name: 'vfio-test',
    bus: 'platform',
    driverManagedDma: true,
    probe(dev) {
      const v = new VfioDevice(k, dev, ops)
      try {
        vfioRegisterGroupDev(k, v)
      } catch {
        return -22
      }
      dev.driverData = v
      return 0
    },
    remove(dev) {
      vfioUnregisterGroupDev(dev.driverData as VfioDevice)
    },
  }
  const r = platformDriverRegister(k, drv)
  if (r !== 0) throw new Error(`platformDriverRegister: ${r}`)
  return {
    m,
    root,
    iommu,
    log,
    dev: devByName,
    bindVfio(name) {
      root.writeFile(`/sys/bus/platform/devices/${name}/driver_override`, 'vfio-test')
      unbind(name)
      root.writeFile('/sys/bus/platform/drivers_probe', name)
      if (devByName(name).driver?.name !== 'vfio-test') throw new Error(`${name} did not bind to vfio-test`)
    },
    bindKernel(name) {
      root.writeFile(`/sys/bus/platform/devices/${name}/driver_override`, '\n')
      unbind(name)
      root.writeFile('/sys/bus/platform/drivers_probe', name)
    },
    groupId(name) {
      const g = iommuGroupGet(devByName(name))
      if (g === null) throw new Error(`${name} has no IOMMU group\n${this.m.dmesg().slice(-8).join("\n")}`)
      return g.id
    },
  }
}

/** The errno name of a failing call. */
export function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof SysError) return e.code
    throw e
  }
  throw new Error('expected the call to fail')
}

/** A u32 little-endian array. */
export function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4)
  const dv = new DataView(b.buffer)
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true))
  return b
}

/** An int (s32) in memory, as SET_CONTAINER's argument. */
export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, v, true)
  return b
}

/** A NUL-terminated C string. */
export function cstring(s: string): Uint8Array {
  return new TextEncoder().encode(s + '\0')
}

/** Opens the container and group, sets the container and (optionally) the IOMMU type. */
export function openVfio(rig: VfioRig, p: Process, name: string, iommuType: number | null = 3): { container: number; group: number } {
  const container = p.open('/dev/vfio/vfio', O_RDWR)
  const group = p.open(`/dev/vfio/${rig.groupId(name)}`, O_RDWR)
  p.ioctl(group, 0x3b68, int32(container))
  if (iommuType !== null) p.ioctl(container, 0x3b66, iommuType)
  return { container, group }
}

export { O_RDWR, O_WRONLY }
