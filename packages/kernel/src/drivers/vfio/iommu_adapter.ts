/**
 * The glue between the VFIO group layer and the IOMMU core
 * (drivers/iommu/iommu.ts): DMA ownership, one UNMANAGED paging domain per
 * group in a container, and the {@link IommuDomainOps} view type1 maps
 * through (the part of vfio_iommu_type1.c that calls iommu_*()).
 *
 * Who does what, as in Linux:
 * - SET_CONTAINER claims the group's DMA (iommu_group_claim_dma_owner:
 *   EPERM while a kernel driver uses the DMA API on a device of the group),
 *   which parks the group in its blocking domain;
 * - the group gets its own paging domain (iommu_paging_domain_alloc +
 *   iommu_attach_group); type1 maps every DMA mapping into it;
 * - leaving the container detaches, frees the domain and releases ownership
 *   (the group returns to its default domain).
 *
 * [2014] (rfc-v5) had no DMA ownership: SET_CONTAINER never checked
 * viability (GET_DEVICE_FD did). Here a group that cannot be claimed yet
 * still joins the container; its domain is attached at the first
 * GET_DEVICE_FD, which only a viable group reaches.
 */
import { kerr, isKernelError } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { Device } from '../base/core.ts'
import {
  deviceIommuCapable,
  devIommuFwspecGet,
  iommuAttachGroup,
  iommuDetachGroup,
  iommuDomainFree,
  iommuGetGroupResvRegions,
  iommuGroupClaimDmaOwner,
  iommuGroupDmaOwnerClaimed,
  iommuGroupGet,
  iommuGroupReleaseDmaOwner,
  iommuMap,
  iommuPagingDomainAlloc,
  iommuUnmap,
  type IommuDomain,
  type IommuGroup,
} from '../iommu/iommu.ts'
import { IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_READ, IOMMU_WRITE } from '../iommu/io-pgtable.ts'
import type { IommuCap, IommuDomainOps, IommuProt, IommuResvRegion, VfioIommuGroup } from './iommu_types.ts'

/** The IOMMU side of a group while it is in a container. */
export interface VfioGroupIommuBinding {
  /** What the container and type1 see: the group id, its domain, MSI isolation. */
  readonly group: VfioIommuGroup
  /** True once DMA ownership is held and the domain attached. */
  readonly attached: boolean
  /** rfc-v5: claims and attaches now if that was not possible at SET_CONTAINER. */
  ensureAttached(): void
  /** Detaches, frees the domain, releases DMA ownership. */
  release(): void
}

/** Prot object of type1 → IOMMU_* bits of iommu_map(). */
export function iommuProtBits(prot: IommuProt): number {
  return (prot.read ? IOMMU_READ : 0) | (prot.write ? IOMMU_WRITE : 0) | (prot.cache ? IOMMU_CACHE : 0) | (prot.noexec ? IOMMU_NOEXEC : 0)
}

const CAP_NAMES = {
  cache_coherency: 'CACHE_COHERENCY',
  enforce_cache_coherency: 'ENFORCE_CACHE_COHERENCY',
  dma_exec: 'DMA_EXEC',
  noexec: 'NOEXEC',
} as const

/**
 * type1's view of a real domain: map/unmap through the IOMMU core (which
 * splits into the largest page sizes and syncs the IOTLB), the domain's
 * page sizes and aperture, the group's reserved regions, the device's caps.
 */
export function vfioDomainOps(domain: IommuDomain, group: IommuGroup, dev: Device): IommuDomainOps {
  const g = domain.geometry
  const hasAperture = g.forceAperture || g.apertureEnd > g.apertureStart
  const regions: IommuResvRegion[] = iommuGetGroupResvRegions(group).map(r => ({ start: BigInt(r.start), length: BigInt(r.length), type: r.type }))
  return {
    pgsizeBitmap: domain.pgsizeBitmap,
    ...(hasAperture ? { aperture: { start: BigInt(g.apertureStart), end: BigInt(g.apertureEnd) } } : {}),
    reservedRegions: regions,
    capable: (cap: IommuCap) => deviceIommuCapable(dev, CAP_NAMES[cap]),
    map(iova, paddr, size, prot) {
      // An IOVA no double holds exactly is beyond every input address size.
      if (iova > BigInt(Number.MAX_SAFE_INTEGER)) kerr('ERANGE')
      iommuMap(domain, Number(iova), paddr, size, iommuProtBits(prot))
    },
    unmap(iova, size) {
      if (iova > BigInt(Number.MAX_SAFE_INTEGER)) return 0
      return iommuUnmap(domain, Number(iova), size)
    },
  }
}

/** The devices of the IOMMU group of `dev` ([] if it has none). */
export function vfioIommuGroupDevices(dev: Device): readonly Device[] {
  return iommuGroupGet(dev)?.devices ?? []
}

/** iommu_group_dma_owner_claimed() for the IOMMU group of `dev` (false if it has none). */
export function vfioIommuGroupDmaOwnerClaimed(dev: Device): boolean {
  const g = iommuGroupGet(dev)
  return g !== null && iommuGroupDmaOwnerClaimed(g)
}

/** device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY). */
export function vfioDeviceCapableCacheCoherency(dev: Device): boolean {
  return deviceIommuCapable(dev, 'CACHE_COHERENCY')
}

/** vfio_iommu_type1 module parameters of one kernel. */
export interface VfioType1Params {
  /** allow_unsafe_interrupts (default N): accept groups without MSI isolation (upstream). */
  allowUnsafeInterrupts: boolean
  /** dma_entry_limit (upstream, default U16_MAX): `dma_avail` of each IOMMU opened after it is set. */
  dmaEntryLimit: number
}

const params = new WeakMap<Kernel, VfioType1Params>()

/** The vfio_iommu_type1 module parameters of `kernel` (also /sys/module/vfio_iommu_type1/parameters/). */
export function vfioType1Params(kernel: Kernel): VfioType1Params {
  let p = params.get(kernel)
  if (p === undefined) {
    p = { allowUnsafeInterrupts: false, dmaEntryLimit: 65535 }
    params.set(kernel, p)
  }
  return p
}

/** The group-layer object the binding belongs to (for the owner cookie and the profile). */
interface BindTarget {
  readonly kernel: Kernel
  readonly id: number
  readonly anchorDevice: Device
}

/** A paging domain used by one or more groups of one container. */
interface SharedDomain {
  readonly domain: IommuDomain
  readonly ops: IommuDomainOps
  users: number
}

/** The domains of each container (type1's domain_list, as far as the IOMMU core is concerned). */
const containerDomains = new WeakMap<object, SharedDomain[]>()

function domainsOf(container: object): SharedDomain[] {
  let l = containerDomains.get(container)
  if (l === undefined) {
    l = []
    containerDomains.set(container, l)
  }
  return l
}

/**
 * SET_CONTAINER's IOMMU half: claim DMA ownership (upstream: its EPERM/EBUSY
 * are returned), then attach the group to a paging domain: one of the
 * container's domains from the same IOMMU driver if the group can join it
 * (type1's "match an existing compatible domain": one context bank for the
 * whole container), else a new one.
 * @throws KernelError ENODEV if the device lost its IOMMU group; the IOMMU core's errors
 */
export function vfioGroupBind(target: BindTarget, container: object): VfioGroupIommuBinding {
  const dev = target.anchorDevice
  const ig = iommuGroupGet(dev)
  if (ig === null) return kerr('ENODEV')
  const upstream = target.kernel.profile === 'upstream'
  const shared = domainsOf(container)
  let owned = false
  try {
    iommuGroupClaimDmaOwner(ig, target)
    owned = true
  } catch (e) {
    // [2014]: not viable yet is not an error here (GET_DEVICE_FD checks).
    if (upstream || !isKernelError(e, 'EPERM')) throw e
  }
  let sd: SharedDomain | undefined
  if (owned) {
    for (const d of shared) {
      if (d.domain.owner !== devIommuFwspecGet(dev)?.iommu.ops) continue
      try {
        iommuAttachGroup(d.domain, ig)
        sd = d
        break
      } catch (e) {
        if (!isKernelError(e)) throw e
      }
    }
  }
  let attached = sd !== undefined
  if (sd === undefined) {
    let domain: IommuDomain
    try {
      domain = iommuPagingDomainAlloc(dev)
      if (owned) {
        iommuAttachGroup(domain, ig)
        attached = true
      }
    } catch (e) {
      if (owned) iommuGroupReleaseDmaOwner(ig)
      throw e
    }
    sd = { domain, ops: vfioDomainOps(domain, ig, dev), users: 0 }
    shared.push(sd)
  }
  sd.users++
  const mine = sd
  // [6.x] Platform devices have no MSI domain and arm64 has no arch MSI
  // isolation (msi_device_has_isolated_msi): type1 refuses them without
  // allow_unsafe_interrupts. [2014] only PCI was checked (type1 ignores it).
  const group: VfioIommuGroup = { id: ig.id, domain: mine.ops, msiIsolated: false }
  return {
    group,
    get attached() {
      return attached
    },
    ensureAttached() {
      if (!owned) {
        iommuGroupClaimDmaOwner(ig, target)
        owned = true
      }
      if (!attached) {
        iommuAttachGroup(mine.domain, ig)
        attached = true
      }
    },
    release() {
      if (attached) iommuDetachGroup(mine.domain, ig)
      attached = false
      if (--mine.users === 0) {
        iommuDomainFree(mine.domain)
        shared.splice(shared.indexOf(mine), 1)
      }
      if (owned) iommuGroupReleaseDmaOwner(ig)
      owned = false
    },
  }
}
