/**
 * Models drivers/iommu/iommu.c, the IOMMU core: IOMMU instances registered by
 * drivers (arm-smmu), IOMMU groups (numbered by an IDA: the lowest free id),
 * default domains, DMA ownership (the v5.19+ rules VFIO relies on), paging
 * domains with map/unmap split into the sizes the hardware supports,
 * capabilities, reserved regions, and the `/sys/kernel/iommu_groups/N`
 * directories.
 *
 * The IOMMU driver plugs in through {@link IommuOps} (struct iommu_ops) and
 * {@link IommuDomainDrvOps} (struct iommu_domain_ops). The core hooks itself
 * into the driver core through each bus's `dmaHooks` (of_dma_configure and
 * iommu_device_use_default_domain around ->probe()).
 *
 * Errors are thrown as KernelError with the errno Linux returns.
 */
import { KernelError, kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { DtNode } from '../../of/base.ts'
import { ofFindNodeByPhandle, ofPropertyReadU32, ofPropertyReadU32Array, ofDeviceIsAvailable } from '../../of/base.ts'
import type { BusType } from '../base/bus.ts'
import { type Device, devInfo, devErr, driverCore, setIommuGroup, sysfsCreateLink } from '../base/core.ts'
import { E } from '../base/driver.ts'
import { iommuPgsize } from './io-pgtable.ts'

// ---------------------------------------------------------------------------
// Flags and types (include/linux/iommu.h)

/** IOMMU_READ: the device may read through the mapping. */
export const IOMMU_PROT_READ = 1 << 0
/** IOMMU_WRITE. */
export const IOMMU_PROT_WRITE = 1 << 1
/** IOMMU_CACHE: cache-coherent transactions (normal WB memory, inner shareable). */
export const IOMMU_PROT_CACHE = 1 << 2
/**
 * IOMMU_NOEXEC: the device may not fetch instructions (ARM XN). The same bit
 * carries "no exec" in both profiles; in `rfc-v5` type1 passes it for every
 * mapping without VFIO_DMA_MAP_FLAG_EXEC (decision 0820).
 */
export const IOMMU_PROT_NOEXEC = 1 << 3
/** IOMMU_MMIO: device memory attributes. */
export const IOMMU_PROT_MMIO = 1 << 4
/** IOMMU_PRIV: privileged-only mapping. */
export const IOMMU_PROT_PRIV = 1 << 5

/** Domain types (IOMMU_DOMAIN_*). DMA is a paging domain the kernel's DMA API owns. */
export type IommuDomainType = 'DMA' | 'UNMANAGED' | 'IDENTITY' | 'BLOCKED'

/**
 * Capabilities (enum iommu_cap) a caller may ask about with
 * {@link deviceIommuCapable}. `DMA_EXEC` is the 2014 RFC's
 * IOMMU_CAP_DMA_EXEC ("the IOMMU can make mappings non-executable, and
 * executable on request"); upstream replaced it with `NOEXEC`.
 * `ENFORCE_CACHE_COHERENCY` is upstream's domain op, asked as a capability
 * here; arm-smmu v2 does not have it.
 */
export type IommuCap = 'CACHE_COHERENCY' | 'NOEXEC' | 'DMA_EXEC' | 'ENFORCE_CACHE_COHERENCY'

/** Reserved-region kinds (enum iommu_resv_type). */
export type IommuResvType = 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi'

/** A reserved IOVA region (struct iommu_resv_region); `prot` uses the IOMMU_PROT_* bits. */
export interface IommuResvRegion {
  start: number
  length: number
  prot: number
  type: IommuResvType
}

/** ARM SMMU software MSI window (MSI_IOVA_BASE / MSI_IOVA_LENGTH of arm-smmu.c). */
export const MSI_IOVA_BASE = 0x0800_0000
export const MSI_IOVA_LENGTH = 0x10_0000

/** Domain geometry (struct iommu_domain_geometry). `apertureEnd` is inclusive. */
export interface IommuDomainGeometry {
  apertureStart: number
  apertureEnd: number
  forceAperture: boolean
}

/**
 * What an IOMMU driver does for one domain (struct iommu_domain_ops). All
 * methods may throw KernelError.
 */
export interface IommuDomainDrvOps {
  /** ->attach_dev: point the device's streams at this domain. */
  attachDev(domain: IommuDomain, dev: Device): void
  /** ->map_pages: maps `pgcount` pages of `pgsize`; returns the bytes mapped (also on a throw, through `mapped.bytes`). */
  mapPages?(domain: IommuDomain, iova: number, paddr: number, pgsize: number, pgcount: number, prot: number, mapped: { bytes: number }): void
  /** ->unmap_pages: returns the bytes unmapped (0 if nothing was mapped there). Queues TLB invalidation. */
  unmapPages?(domain: IommuDomain, iova: number, pgsize: number, pgcount: number): number
  /** ->iotlb_sync: completes the invalidations queued by unmapPages. */
  iotlbSync?(domain: IommuDomain): void
  /** ->flush_iotlb_all. */
  flushIotlbAll?(domain: IommuDomain): void
  /** ->iova_to_phys: 0 if not mapped. */
  iovaToPhys?(domain: IommuDomain, iova: number): number
  /** ->free. */
  free?(domain: IommuDomain): void
}

/** An IOMMU instance (struct iommu_device): one per SMMU. */
export interface IommuDevice {
  /** The driver's ops. */
  readonly ops: IommuOps
  /** The device-tree node of the IOMMU (what `iommus` phandles point at). */
  readonly fwnode: DtNode
  /** The IOMMU's own device ("2b400000.iommu"). */
  readonly dev: Device
  /**
   * Name of the iommu class device (iommu_device_sysfs_add), e.g.
   * "smmu.0x000000002b400000": /sys/class/iommu/<name>, with a `devices/`
   * link per master and an `iommu` link in each master. None if absent.
   */
  readonly sysfsName?: string
}

/** sysfs directory of an IOMMU's class device, relative to /sys. */
function iommuSysfsDir(iommu: IommuDevice): string | undefined {
  return iommu.sysfsName === undefined ? undefined : `${iommu.dev.kobjPath}/iommu/${iommu.sysfsName}`
}

/**
 * The firmware description of a master (struct iommu_fwspec): the IOMMU it
 * sits behind and the IDs the driver's of_xlate built from `iommus`.
 */
export interface IommuFwspec {
  readonly iommu: IommuDevice
  readonly ids: number[]
}

/** What an IOMMU driver provides (struct iommu_ops). */
export interface IommuOps {
  /** of_xlate: turns one `iommus` specifier's cells into a fwspec ID (throws EINVAL for a bad specifier). */
  ofXlate(dev: Device, args: readonly number[]): number
  /** probe_device: checks the master's IDs and sets up its per-device state; throws (ENODEV, EINVAL, ENOSPC …). */
  probeDevice(dev: Device, fwspec: IommuFwspec): void
  /** release_device. */
  releaseDevice(dev: Device): void
  /** device_group: the group the device joins (an existing one, or {@link iommuGroupAlloc}). */
  deviceGroup(dev: Device): IommuGroup
  /** capable(). */
  capable(dev: Device, cap: IommuCap): boolean
  /** domain_alloc_paging: a translating domain of the device's IOMMU, of type `type` (UNMANAGED or DMA). */
  domainAllocPaging(dev: Device, type: 'UNMANAGED' | 'DMA'): IommuDomain
  /** The driver's static identity domain (bypass), if it has one. */
  identityDomain?: IommuDomain
  /** The driver's static blocked domain (streams fault), if it has one. */
  blockedDomain?: IommuDomain
  /** get_resv_regions. */
  getResvRegions(dev: Device): IommuResvRegion[]
  /** def_domain_type: the type the device's default domain must have, or undefined for the core's default. */
  defDomainType?(dev: Device): 'IDENTITY' | 'DMA' | undefined
  /** Page sizes (bit n = 2^n bytes) the IOMMU supports. */
  readonly pgsizeBitmap: bigint
}

const DOMAIN_TYPE_NAMES: Record<IommuDomainType, string> = {
  BLOCKED: 'blocked', IDENTITY: 'identity', UNMANAGED: 'unmanaged', DMA: 'DMA',
}

/** A domain's fault handler (iommu_fault_handler_t): true = handled. */
export type IommuFaultHandler = (domain: IommuDomain, iova: number, flags: 'read' | 'write') => boolean

/** An IOMMU domain (struct iommu_domain). Drivers extend it with their state. */
export class IommuDomain {
  readonly type: IommuDomainType
  /** Page sizes this domain maps with (bit n = 2^n bytes). 0 for identity/blocked domains. */
  pgsizeBitmap: bigint
  readonly geometry: IommuDomainGeometry
  /** The driver that made the domain (domain->owner). */
  readonly owner: IommuOps
  /** The driver's operations for this domain. */
  readonly ops: IommuDomainDrvOps
  /** Set once freed: further use is an error (EINVAL). */
  freed = false
  /** iommu_set_fault_handler: called on a context fault; return true if handled (else the driver logs it). */
  faultHandler: IommuFaultHandler | null = null
  /** The kernel whose log receives the core's messages about this domain (set by the driver). */
  kernel: Kernel | null = null

  constructor(type: IommuDomainType, owner: IommuOps, ops: IommuDomainDrvOps, pgsizeBitmap = 0n,
    geometry: IommuDomainGeometry = { apertureStart: 0, apertureEnd: 0, forceAperture: false }) {
    this.type = type
    this.owner = owner
    this.ops = ops
    this.pgsizeBitmap = pgsizeBitmap
    this.geometry = geometry
  }

  /** A paging domain (DMA or UNMANAGED): one that translates through page tables. */
  get isPaging(): boolean {
    return this.type === 'DMA' || this.type === 'UNMANAGED'
  }
}

/** An IOMMU group (struct iommu_group): devices the IOMMU cannot isolate from each other. */
export class IommuGroup {
  /** The number from the IDA (the N of /sys/kernel/iommu_groups/N and /dev/vfio/N). */
  readonly id: number
  /** Member devices, in the order they joined. */
  readonly devices: Device[] = []
  /** The domain kernel drivers use (DMA or IDENTITY). */
  defaultDomain: IommuDomain | null = null
  /** The domain the devices are attached to now. */
  domain: IommuDomain | null = null
  /** The domain attached while a user owns the group (the driver's blocked domain). */
  blockingDomain: IommuDomain | null = null
  /** Kernel drivers using the default domain + explicit owner claims (owner_cnt). */
  ownerCnt = 0
  /** The user (VFIO) that claimed DMA ownership, or null. */
  owner: object | null = null
  /** Driver-private data (iommu_group_get_iommudata). */
  iommuData: unknown = undefined
  readonly kernel: Kernel

  constructor(kernel: Kernel, id: number) {
    this.kernel = kernel
    this.id = id
  }

  /** sysfs directory, relative to /sys. */
  get kobjPath(): string {
    return `kernel/iommu_groups/${this.id}`
  }
}

// ---------------------------------------------------------------------------
// Per-kernel state (Linux keeps these in globals)

/** Options of the IOMMU core (kernel command line iommu.passthrough=, iommu.strict=). */
export interface IommuCoreOptions {
  /** Type of the default domains. Default: `DMA` ("Translated") upstream; `IDENTITY` in rfc-v5 (3.1x had no default domains: unattached streams bypassed). */
  defaultDomainType?: 'DMA' | 'IDENTITY'
}

class IommuCore {
  readonly kernel: Kernel
  readonly groups = new Map<number, IommuGroup>()
  readonly iommus: IommuDevice[] = []
  readonly fwspecs = new Map<Device, IommuFwspec>()
  readonly devGroups = new Map<Device, IommuGroup>()
  readonly hooked = new Set<BusType>()
  defaultDomainType: 'DMA' | 'IDENTITY'

  constructor(kernel: Kernel) {
    this.kernel = kernel
    this.defaultDomainType = kernel.profile === 'upstream' ? 'DMA' : 'IDENTITY'
  }

  /** ida_alloc: the lowest free id ≥ 0. */
  idaAlloc(): number {
    let id = 0
    while (this.groups.has(id)) id++
    return id
  }
}

const cores = new WeakMap<Kernel, IommuCore>()

function core(kernel: Kernel): IommuCore {
  let c = cores.get(kernel)
  if (c === undefined) {
    c = new IommuCore(kernel)
    cores.set(kernel, c)
  }
  return c
}

function kernelOf(dev: Device): Kernel {
  return dev.bus.core.kernel
}

/**
 * iommu_subsys_init: sets the default domain type (iommu.passthrough=) and
 * logs it as Linux does at boot. Call before IOMMU drivers probe.
 */
export function iommuSubsysInit(kernel: Kernel, opts: IommuCoreOptions = {}): void {
  const c = core(kernel)
  if (opts.defaultDomainType !== undefined) c.defaultDomainType = opts.defaultDomainType
  // From now on of_dma_configure runs at every probe: a master whose IOMMU has no
  // driver yet defers until the IOMMU registers.
  for (const bus of driverCore(kernel).buses.values()) iommuHookBus(kernel, bus)
  if (kernel.profile === 'upstream') {
    kernel.printk('info', `iommu: Default domain type: ${c.defaultDomainType === 'DMA' ? 'Translated' : 'Passthrough'}${opts.defaultDomainType !== undefined ? ' (set via kernel command line)' : ''}`)
    if (c.defaultDomainType === 'DMA') kernel.printk('info', 'iommu: DMA domain TLB invalidation policy: strict mode')
  }
}

/** The default domain type of `kernel`'s IOMMU core. */
export function iommuDefDomainType(kernel: Kernel): 'DMA' | 'IDENTITY' {
  return core(kernel).defaultDomainType
}

// ---------------------------------------------------------------------------
// Groups

/** The group with number `id`, or undefined. */
export function iommuGroupById(kernel: Kernel, id: number): IommuGroup | undefined {
  return core(kernel).groups.get(id)
}

/** All groups, by number. */
export function iommuGroups(kernel: Kernel): IommuGroup[] {
  return [...core(kernel).groups.values()].sort((a, b) => a.id - b.id)
}

/** iommu_group_get: the device's group, or null. */
export function iommuGroupGet(dev: Device): IommuGroup | null {
  return core(kernelOf(dev)).devGroups.get(dev) ?? null
}

/** The IOMMU fwspec of a device (dev_iommu_fwspec_get), or undefined. */
export function devIommuFwspecGet(dev: Device): IommuFwspec | undefined {
  return core(kernelOf(dev)).fwspecs.get(dev)
}

/**
 * iommu_group_alloc: a new empty group with the lowest free number and its
 * sysfs directory (`devices/`, `reserved_regions`, `type`).
 */
export function iommuGroupAlloc(kernel: Kernel): IommuGroup {
  const c = core(kernel)
  const g = new IommuGroup(kernel, c.idaAlloc())
  c.groups.set(g.id, g)
  const sysfs = kernel.sysfs
  sysfs.mkdir(`${g.kobjPath}/devices`)
  sysfs.addFile(`${g.kobjPath}/reserved_regions`, {
    mode: 0o444,
    show: () => iommuGetGroupResvRegions(g)
      .map(r => `0x${hex16(r.start)} 0x${hex16(r.start + r.length - 1)} ${r.type === 'sw-msi' ? 'msi' : r.type}\n`)
      .join(''),
  })
  sysfs.addFile(`${g.kobjPath}/type`, {
    mode: 0o644,
    show: () => `${g.defaultDomain === null ? 'unknown' : DOMAIN_TYPE_NAMES[g.defaultDomain.type]}\n`,
    store: data => iommuGroupStoreType(g, data),
  })
  return g
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0')
}

/**
 * iommu_group_store_type: changing the default domain type needs an empty
 * owner count (no kernel driver using DMA) — EPERM otherwise; unknown
 * values are EINVAL.
 */
function iommuGroupStoreType(g: IommuGroup, data: string): number {
  const v = data.endsWith('\n') ? data.slice(0, -1) : data
  let type: 'DMA' | 'IDENTITY' | 'auto'
  if (v === 'identity') type = 'IDENTITY'
  else if (v === 'DMA' || v === 'DMA-FQ') type = 'DMA'
  else if (v === 'auto') type = 'auto'
  else return kerr('EINVAL')
  if (g.devices.length === 0 || g.ownerCnt !== 0) return kerr('EPERM')
  const dev = g.devices[0]!
  const want = type === 'auto' ? defDomainTypeFor(dev) : type
  const forced = dev.ofNode !== undefined ? devIommuOps(dev)?.defDomainType?.(dev) : undefined
  if (forced !== undefined && forced !== want) return kerr('EINVAL')
  if (g.defaultDomain?.type !== want) {
    const old = g.defaultDomain
    const dom = allocDefaultDomain(dev, want)
    g.defaultDomain = dom
    if (g.domain === old) groupSetDomain(g, dom)
    if (old !== null) freeDomainInternal(old)
  }
  return data.length
}

function devIommuOps(dev: Device): IommuOps | undefined {
  return devIommuFwspecGet(dev)?.iommu.ops
}

function defDomainTypeFor(dev: Device): 'DMA' | 'IDENTITY' {
  return devIommuOps(dev)?.defDomainType?.(dev) ?? core(kernelOf(dev)).defaultDomainType
}

function allocDefaultDomain(dev: Device, type: 'DMA' | 'IDENTITY'): IommuDomain {
  const ops = devIommuOps(dev)
  if (ops === undefined) return kerr('ENODEV')
  if (type === 'IDENTITY') {
    if (ops.identityDomain === undefined) return kerr('EOPNOTSUPP')
    return ops.identityDomain
  }
  return ops.domainAllocPaging(dev, 'DMA')
}

/**
 * Adds a device to a group: the `iommu_group` link of the device, the
 * group's `devices/<name>` link and the log line (iommu_group_add_device).
 */
export function iommuGroupAddDevice(group: IommuGroup, dev: Device): void {
  const c = core(group.kernel)
  group.devices.push(dev)
  c.devGroups.set(dev, group)
  setIommuGroup(dev, group)
  // On a name clash the link is retried as <dev>.0, <dev>.1, …
  let name = dev.name
  for (let i = 0; group.kernel.sysfs.lookup(`${group.kobjPath}/devices/${name}`) !== undefined; i++) name = `${dev.name}.${i}`
  sysfsCreateLink(group.kernel, `${group.kobjPath}/devices/${name}`, dev.kobjPath)
  devInfo(dev, `Adding to iommu group ${group.id}`)
}

/** Removes a device from its group; an empty group is released and its number freed. */
export function iommuGroupRemoveDevice(dev: Device): void {
  const c = core(kernelOf(dev))
  const g = c.devGroups.get(dev)
  if (g === undefined) return
  devInfo(dev, `Removing from iommu group ${g.id}`)
  const i = g.devices.indexOf(dev)
  if (i >= 0) g.devices.splice(i, 1)
  c.devGroups.delete(dev)
  for (const n of g.kernel.sysfs.readdir(`${g.kobjPath}/devices`)) {
    const node = g.kernel.sysfs.lookup(`${g.kobjPath}/devices/${n}`)
    if (node?.kind === 'link' && node.target.endsWith(`/${dev.kobjPath}`)) g.kernel.sysfs.remove(`${g.kobjPath}/devices/${n}`)
  }
  setIommuGroup(dev, null)
  if (g.devices.length === 0) {
    if (g.defaultDomain !== null) freeDomainInternal(g.defaultDomain)
    if (g.blockingDomain !== null) freeDomainInternal(g.blockingDomain)
    g.defaultDomain = null
    g.blockingDomain = null
    g.domain = null
    c.groups.delete(g.id)
    g.kernel.sysfs.remove(g.kobjPath)
  }
}

// ---------------------------------------------------------------------------
// IOMMU instances, fwspecs, device probe

/**
 * iommu_device_register: makes the IOMMU known, then probes every device
 * already on the buses that sits behind it (bus_iommu_probe), and hooks the
 * buses' dma_configure path.
 */
export function iommuDeviceRegister(kernel: Kernel, iommu: IommuDevice): void {
  const c = core(kernel)
  c.iommus.push(iommu)
  const dir = iommuSysfsDir(iommu)
  if (dir !== undefined) {
    // iommu_device_sysfs_add: a class "iommu" device under the IOMMU's device.
    kernel.sysfs.mkdir(`${dir}/devices`)
    sysfsCreateLink(kernel, `${dir}/subsystem`, 'class/iommu')
    sysfsCreateLink(kernel, `class/iommu/${iommu.sysfsName}`, dir)
  }
  for (const bus of driverCore(kernel).buses.values()) {
    iommuHookBus(kernel, bus)
    for (const dev of [...bus.devices]) iommuProbeDevice(dev)
  }
}

/** iommu_device_unregister: forgets the IOMMU (its devices must already be gone). */
export function iommuDeviceUnregister(kernel: Kernel, iommu: IommuDevice): void {
  const c = core(kernel)
  for (const [dev, fw] of [...c.fwspecs]) {
    if (fw.iommu !== iommu) continue
    iommuReleaseDevice(dev)
  }
  const i = c.iommus.indexOf(iommu)
  if (i >= 0) c.iommus.splice(i, 1)
}

/** Installs the IOMMU core's dma_configure hooks and add/remove notifier on `bus` (once). */
export function iommuHookBus(kernel: Kernel, bus: BusType): void {
  const c = core(kernel)
  if (c.hooked.has(bus)) return
  c.hooked.add(bus)
  bus.dmaHooks = {
    configure: dev => ofDmaConfigure(dev),
    useDefaultDomain: dev => iommuDeviceUseDefaultDomain(dev),
    unuseDefaultDomain: dev => iommuDeviceUnuseDefaultDomain(dev),
  }
  bus.notifiers.push((action, dev) => {
    if (action === 'add_device') iommuProbeDevice(dev)
    else if (action === 'removed_device') iommuReleaseDevice(dev)
  })
}

/** The IOMMU node a device's `iommus` property names, and the specifiers (cells after each phandle). */
function ofIommuSpecifiers(dev: Device): { node: DtNode; args: number[] }[] | undefined {
  const np = dev.ofNode
  if (np === undefined) return undefined
  const cells = ofPropertyReadU32Array(np, 'iommus')
  if (cells === undefined || cells.length === 0) return undefined
  const out: { node: DtNode; args: number[] }[] = []
  for (let i = 0; i < cells.length;) {
    const node = ofFindNodeByPhandle(np, cells[i]!)
    if (node === undefined) return undefined
    const n = ofPropertyReadU32(node, '#iommu-cells') ?? 0
    if (i + 1 + n > cells.length) return undefined
    out.push({ node, args: cells.slice(i + 1, i + 1 + n) })
    i += 1 + n
  }
  return out
}

/**
 * of_dma_configure → of_iommu_configure: 0 if the device has no IOMMU or
 * its IOMMU is ready (the device is then probed into a group), -EPROBE_DEFER
 * while the IOMMU named by `iommus` has no driver yet.
 */
export function ofDmaConfigure(dev: Device): number {
  const specs = ofIommuSpecifiers(dev)
  if (specs === undefined) return 0
  const c = core(kernelOf(dev))
  for (const s of specs) {
    if (!ofDeviceIsAvailable(s.node)) return 0 // a disabled IOMMU: the device does DMA without one
    if (!c.iommus.some(i => i.fwnode === s.node)) return -E.EPROBE_DEFER
  }
  iommuProbeDevice(dev)
  return 0
}

/**
 * iommu_probe_device: builds the fwspec from `iommus`, lets the driver
 * check it (probe_device), puts the device in the group the driver chooses
 * and attaches it to the group's current domain (allocating the default
 * domain for a new group). Returns 0 or -errno; a device with no IOMMU is
 * -ENODEV and gets no group.
 */
export function iommuProbeDevice(dev: Device): number {
  const c = core(kernelOf(dev))
  if (c.devGroups.has(dev)) return 0
  const specs = ofIommuSpecifiers(dev)
  if (specs === undefined) return -E.ENODEV
  const iommu = c.iommus.find(i => i.fwnode === specs[0]!.node)
  if (iommu === undefined || specs.some(s => s.node !== iommu.fwnode)) return -E.ENODEV
  let fwspec: IommuFwspec
  try {
    fwspec = { iommu, ids: specs.map(s => iommu.ops.ofXlate(dev, s.args)) }
  } catch (e) {
    return -errnoOf(e)
  }
  c.fwspecs.set(dev, fwspec)
  try {
    iommu.ops.probeDevice(dev, fwspec)
  } catch (e) {
    c.fwspecs.delete(dev)
    return -errnoOf(e)
  }
  iommuDeviceLink(iommu, dev)
  let group: IommuGroup
  try {
    group = iommu.ops.deviceGroup(dev)
  } catch (e) {
    iommuDeviceUnlink(iommu, dev)
    iommu.ops.releaseDevice(dev)
    c.fwspecs.delete(dev)
    return -errnoOf(e)
  }
  const fresh = group.devices.length === 0
  iommuGroupAddDevice(group, dev)
  try {
    if (fresh || group.defaultDomain === null) {
      const dom = allocDefaultDomain(dev, defDomainTypeFor(dev))
      group.defaultDomain = dom
      groupSetDomain(group, dom)
    } else if (group.domain !== null) {
      group.domain.ops.attachDev(group.domain, dev)
    }
  } catch (e) {
    devErr(dev, `Failed to add to iommu group ${group.id}: ${-errnoOf(e)}`)
    iommuGroupRemoveDevice(dev)
    iommuDeviceUnlink(iommu, dev)
    iommu.ops.releaseDevice(dev)
    c.fwspecs.delete(dev)
    return -errnoOf(e)
  }
  return 0
}

/** iommu_release_device: leaves the group, then the driver forgets the device. */
export function iommuReleaseDevice(dev: Device): void {
  const c = core(kernelOf(dev))
  const fw = c.fwspecs.get(dev)
  if (fw === undefined) return
  iommuGroupRemoveDevice(dev)
  iommuDeviceUnlink(fw.iommu, dev)
  fw.iommu.ops.releaseDevice(dev)
  c.fwspecs.delete(dev)
}

/** iommu_device_link: `<iommu>/devices/<dev>` and `<dev>/iommu`. */
function iommuDeviceLink(iommu: IommuDevice, dev: Device): void {
  const dir = iommuSysfsDir(iommu)
  if (dir === undefined) return
  const kernel = kernelOf(dev)
  sysfsCreateLink(kernel, `${dir}/devices/${dev.name}`, dev.kobjPath)
  sysfsCreateLink(kernel, `${dev.kobjPath}/iommu`, dir)
}

/** iommu_device_unlink. */
function iommuDeviceUnlink(iommu: IommuDevice, dev: Device): void {
  const dir = iommuSysfsDir(iommu)
  if (dir === undefined) return
  const kernel = kernelOf(dev)
  kernel.sysfs.remove(`${dir}/devices/${dev.name}`)
  kernel.sysfs.remove(`${dev.kobjPath}/iommu`)
}

function errnoOf(e: unknown): number {
  if (e instanceof KernelError) return (E as Record<string, number>)[e.code] ?? ERRNO[e.code] ?? 22
  throw e
}

const ERRNO: Record<string, number> = { ENOMEM: 12, EFAULT: 14, EEXIST: 17, ENOSPC: 28, ERANGE: 34, EOPNOTSUPP: 95 }

// ---------------------------------------------------------------------------
// DMA ownership (iommu_device_use_default_domain & co, v5.19+)

/**
 * iommu_device_use_default_domain: a kernel driver that uses the DMA API is
 * about to probe. 0; -EPROBE_DEFER while the group has no default domain;
 * -EBUSY if a user owns the group (or it is attached elsewhere).
 */
export function iommuDeviceUseDefaultDomain(dev: Device): number {
  const g = iommuGroupGet(dev)
  if (g === null) return 0
  if (g.defaultDomain === null) return -E.EPROBE_DEFER
  if (g.ownerCnt !== 0 && (g.domain !== g.defaultDomain || g.owner !== null)) return -E.EBUSY
  g.ownerCnt++
  return 0
}

/** iommu_device_unuse_default_domain. */
export function iommuDeviceUnuseDefaultDomain(dev: Device): void {
  const g = iommuGroupGet(dev)
  if (g === null) return
  if (g.ownerCnt > 0) g.ownerCnt--
}

/**
 * iommu_group_claim_dma_owner: a user (VFIO) takes the group. EPERM if the
 * group is in use (a kernel driver uses the default domain, or a user
 * already claimed it); EBUSY if a domain other than the default is
 * attached. The blocked domain is attached: the devices cannot DMA until
 * the user attaches a domain of its own.
 */
export function iommuGroupClaimDmaOwner(group: IommuGroup, owner: object): void {
  if (owner === null || owner === undefined) return kerr('EINVAL')
  if (group.ownerCnt !== 0) return kerr('EPERM')
  if (group.domain !== null && group.domain !== group.defaultDomain) return kerr('EBUSY')
  const blocking = groupBlockingDomain(group)
  groupSetDomain(group, blocking)
  group.owner = owner
  group.ownerCnt++
}

/** iommu_group_release_dma_owner: the user is done; the group goes back to its default domain. */
export function iommuGroupReleaseDmaOwner(group: IommuGroup): void {
  if (group.ownerCnt === 0 || group.owner === null) return // WARN_ON in Linux
  group.ownerCnt = 0
  group.owner = null
  if (group.defaultDomain !== null) groupSetDomainNofail(group, group.defaultDomain)
}

/** iommu_group_dma_owner_claimed: true if a kernel driver or a user uses the group (VFIO's "not viable"). */
export function iommuGroupDmaOwnerClaimed(group: IommuGroup): boolean {
  return group.ownerCnt !== 0
}

function groupBlockingDomain(group: IommuGroup): IommuDomain {
  if (group.blockingDomain !== null) return group.blockingDomain
  const dev = group.devices[0]
  if (dev === undefined) return kerr('EINVAL')
  const ops = devIommuOps(dev)
  if (ops === undefined) return kerr('ENODEV')
  // __iommu_group_alloc_blocking_domain: the driver's blocked domain, else an empty paging domain.
  group.blockingDomain = ops.blockedDomain ?? ops.domainAllocPaging(dev, 'UNMANAGED')
  return group.blockingDomain
}

/**
 * __iommu_group_set_domain: attaches every device of the group to `domain`.
 * If a device fails, the devices already moved go back to the old domain
 * and the error is thrown.
 */
function groupSetDomain(group: IommuGroup, domain: IommuDomain): void {
  if (group.domain === domain) return
  const old = group.domain
  const done: Device[] = []
  try {
    for (const dev of group.devices) {
      domain.ops.attachDev(domain, dev)
      done.push(dev)
    }
  } catch (e) {
    if (old !== null) for (const dev of done) old.ops.attachDev(old, dev)
    throw e
  }
  group.domain = domain
}

function groupSetDomainNofail(group: IommuGroup, domain: IommuDomain): void {
  try {
    groupSetDomain(group, domain)
  } catch (e) {
    if (!(e instanceof KernelError)) throw e
    group.kernel.printk('warning', `WARNING: iommu: failed to attach group ${group.id} to its domain: ${e.code}`)
  }
}

// ---------------------------------------------------------------------------
// Domains

/** iommu_paging_domain_alloc: an UNMANAGED paging domain on the device's IOMMU (ENODEV if it has none). */
export function iommuPagingDomainAlloc(dev: Device): IommuDomain {
  const ops = devIommuOps(dev)
  if (ops === undefined) return kerr('ENODEV')
  return ops.domainAllocPaging(dev, 'UNMANAGED')
}

/** iommu_domain_free: releases the domain's page tables and hardware context. */
export function iommuDomainFree(domain: IommuDomain): void {
  if (domain.freed) return
  if (!domain.isPaging) return // static identity/blocked domains are never freed
  freeDomainInternal(domain)
}

function freeDomainInternal(domain: IommuDomain): void {
  if (domain.freed || !domain.isPaging) return
  domain.freed = true
  domain.ops.free?.(domain)
}

/**
 * iommu_attach_group: attaches a group to a domain a user allocated. EBUSY
 * if the group is attached to a domain other than its default or blocking
 * one; EINVAL if the domain belongs to a different IOMMU driver (or was
 * freed); the driver's attach error otherwise (the devices then stay where
 * they were). As in Linux (v6.x `__iommu_attach_group`) ownership is not
 * checked here: callers (VFIO) claim the group first with
 * {@link iommuGroupClaimDmaOwner} (decision 0821).
 */
export function iommuAttachGroup(domain: IommuDomain, group: IommuGroup): void {
  if (domain.freed) return kerr('EINVAL')
  if (group.domain !== null && group.domain !== group.defaultDomain && group.domain !== group.blockingDomain) return kerr('EBUSY')
  const dev = group.devices[0]
  if (dev === undefined || devIommuOps(dev) !== domain.owner) return kerr('EINVAL')
  groupSetDomain(group, domain)
}

/**
 * iommu_detach_group: the group leaves `domain` for its blocking domain if
 * a user owns it, else for its default domain (__iommu_group_set_core_domain).
 */
export function iommuDetachGroup(domain: IommuDomain, group: IommuGroup): void {
  if (group.domain !== domain) return // WARN_ON in Linux
  const next = group.owner !== null ? groupBlockingDomain(group) : group.defaultDomain
  if (next !== null) groupSetDomainNofail(group, next)
}

/** iommu_set_fault_handler (null removes it). */
export function iommuSetFaultHandler(domain: IommuDomain, handler: IommuFaultHandler | null): void {
  domain.faultHandler = handler
}

/**
 * report_iommu_fault: gives a fault to the domain's handler. Returns true if
 * the handler took it; false (Linux: -ENOSYS) makes the driver log it.
 */
export function reportIommuFault(domain: IommuDomain, iova: number, flags: 'read' | 'write'): boolean {
  return domain.faultHandler !== null && domain.faultHandler(domain, iova, flags)
}

/** The domain the device is attached to now (iommu_get_domain_for_dev). */
export function iommuGetDomainForDev(dev: Device): IommuDomain | null {
  return iommuGroupGet(dev)?.domain ?? null
}

function lowBit(bitmap: bigint): number {
  if (bitmap === 0n) return 0
  let n = 0
  while (((bitmap >> BigInt(n)) & 1n) === 0n) n++
  return 2 ** n
}

/**
 * iommu_map: maps `size` bytes at `iova` to `paddr` with `prot`
 * (IOMMU_PROT_* bits), split into the largest page sizes the domain
 * supports. EINVAL if `iova`, `paddr` or `size` is not a multiple of the
 * smallest page size, or the domain does not translate; all or nothing: on
 * an error, what was mapped is unmapped again before the throw.
 */
export function iommuMap(domain: IommuDomain, iova: number, paddr: number, size: number, prot: number): void {
  const ops = domain.ops
  if (domain.freed || ops.mapPages === undefined || domain.pgsizeBitmap === 0n) return kerr('ENODEV')
  if (!domain.isPaging) return kerr('EINVAL')
  const min = lowBit(domain.pgsizeBitmap)
  if (!Number.isSafeInteger(iova) || !Number.isSafeInteger(paddr) || !Number.isSafeInteger(size) || iova < 0 || paddr < 0 || size < 0 ||
      iova % min !== 0 || paddr % min !== 0 || size % min !== 0) {
    printkUnaligned(domain, `unaligned: iova 0x${hexOf(iova)} pa 0x${hexOf(paddr).padStart(16, '0')} size 0x${hexOf(size)} min_pagesz 0x${min.toString(16)}`)
    return kerr('EINVAL')
  }
  const origIova = iova
  let left = size
  try {
    while (left > 0) {
      const { pgsize, count } = iommuPgsize(domain.pgsizeBitmap, iova, paddr, left)
      const mapped = { bytes: 0 }
      try {
        ops.mapPages(domain, iova, paddr, pgsize, count, prot, mapped)
      } finally {
        left -= mapped.bytes
      }
      if (mapped.bytes === 0) break // a prot without READ|WRITE maps nothing (arm_lpae_map_pages returns 0)
      iova += mapped.bytes
      paddr += mapped.bytes
    }
  } catch (e) {
    if (size - left > 0) iommuUnmap(domain, origIova, size - left)
    throw e
  }
}

/** pr_err with the core's "iommu: " prefix, into the domain's kernel log. */
function printkUnaligned(domain: IommuDomain, text: string): void {
  domain.kernel?.printk('err', `iommu: ${text}`)
}

function hexOf(n: number): string {
  return Number.isFinite(n) && n >= 0 ? Math.trunc(n).toString(16) : String(n)
}

/**
 * iommu_unmap: unmaps `size` bytes at `iova`, then syncs the IOTLB. Returns
 * the bytes unmapped (0 if unaligned to the smallest page size, or nothing
 * was mapped at `iova`; it stops at the first hole). A block mapping is
 * unmapped whole when the range covers its start (may return more than
 * `size`).
 */
export function iommuUnmap(domain: IommuDomain, iova: number, size: number): number {
  const ops = domain.ops
  if (domain.freed || ops.unmapPages === undefined || domain.pgsizeBitmap === 0n || !domain.isPaging) return 0
  const min = lowBit(domain.pgsizeBitmap)
  if (!Number.isSafeInteger(iova) || !Number.isSafeInteger(size) || iova < 0 || size < 0 || iova % min !== 0 || size % min !== 0) {
    printkUnaligned(domain, `unaligned: iova 0x${hexOf(iova)} size 0x${hexOf(size)} min_pagesz 0x${min.toString(16)}`)
    return 0
  }
  let unmapped = 0
  while (unmapped < size) {
    const { pgsize, count } = iommuPgsize(domain.pgsizeBitmap, iova, iova, size - unmapped)
    if (pgsize === 0) break
    const n = ops.unmapPages(domain, iova, pgsize, count)
    if (n === 0) break
    iova += n
    unmapped += n
  }
  ops.iotlbSync?.(domain)
  return unmapped
}

/** iommu_iova_to_phys: the physical address `iova` translates to (0 if unmapped); identity domains return `iova`. */
export function iommuIovaToPhys(domain: IommuDomain, iova: number): number {
  if (domain.type === 'IDENTITY') return iova
  if (domain.type === 'BLOCKED' || domain.freed) return 0
  return domain.ops.iovaToPhys?.(domain, iova) ?? 0
}

/** iommu_flush_iotlb_all. */
export function iommuFlushIotlbAll(domain: IommuDomain): void {
  if (!domain.freed) domain.ops.flushIotlbAll?.(domain)
}

// ---------------------------------------------------------------------------
// Capabilities and reserved regions

/** device_iommu_capable: false for a device without an IOMMU. */
export function deviceIommuCapable(dev: Device, cap: IommuCap): boolean {
  const ops = devIommuOps(dev)
  if (ops === undefined || iommuGroupGet(dev) === null) return false
  return ops.capable(dev, cap)
}

/**
 * iommu_get_group_resv_regions: the reserved regions of every device in the
 * group, sorted by start; overlapping or adjacent regions of the same type
 * are merged.
 */
export function iommuGetGroupResvRegions(group: IommuGroup): IommuResvRegion[] {
  const out: IommuResvRegion[] = []
  for (const dev of group.devices) {
    const ops = devIommuOps(dev)
    if (ops === undefined) continue
    for (const r of ops.getResvRegions(dev)) insertResvRegion(out, { ...r })
  }
  return out
}

/** iommu_insert_resv_region: keeps the list sorted by start, merging same-type overlaps. */
function insertResvRegion(list: IommuResvRegion[], nr: IommuResvRegion): void {
  let i = 0
  while (i < list.length && (list[i]!.start < nr.start || (list[i]!.start === nr.start && list[i]!.length <= nr.length))) i++
  list.splice(i, 0, nr)
  // Merge neighbours of the same type that overlap or touch.
  for (let j = 0; j + 1 < list.length;) {
    const a = list[j]!
    const b = list[j + 1]!
    if (a.type === b.type && b.start <= a.start + a.length) {
      const end = Math.max(a.start + a.length, b.start + b.length)
      a.length = end - a.start
      list.splice(j + 1, 1)
    } else j++
  }
}
