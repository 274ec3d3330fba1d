// VFIO constants from include/uapi/linux/vfio.h: API version, extension and
// IOMMU-type ids, ioctl request numbers, and every flag bit of the structs
// the type1 / platform / amba paths use. Values are those of the Linux 6.1
// header on this machine (checked by test/header-parity.test.ts), plus the
// later/earlier names noted where they differ.

import { _IO } from './ioctl.ts'

/** `VFIO_API_VERSION`: what `VFIO_GET_API_VERSION` returns (0 in every kernel). */
export const VFIO_API_VERSION = 0

// ---- Extensions / IOMMU types (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU) -------

/** Type1 IOMMU, v1 unmap semantics. */
export const VFIO_TYPE1_IOMMU = 1
/** POWER sPAPR TCE IOMMU. */
export const VFIO_SPAPR_TCE_IOMMU = 2
/** Type1 IOMMU, v2 (exact-cover) unmap semantics. */
export const VFIO_TYPE1v2_IOMMU = 3
/** Extension: every domain enforces DMA cache coherence. */
export const VFIO_DMA_CC_IOMMU = 4
/** Extension: POWER EEH (upstream since 3.17). Reuses 5, which the rfc-v5 profile gives to VFIO_IOMMU_PROT_EXEC. */
export const VFIO_EEH = 5
/** Two-stage type1 (renamed `__VFIO_RESERVED_TYPE1_NESTING_IOMMU` in current trees). */
export const VFIO_TYPE1_NESTING_IOMMU = 6
/** POWER sPAPR TCE IOMMU v2. */
export const VFIO_SPAPR_TCE_v2_IOMMU = 7
/** The unsafe no-IOMMU mode. */
export const VFIO_NOIOMMU_IOMMU = 8
/** Extension: `VFIO_DMA_UNMAP_FLAG_ALL` is supported (Linux 5.12+). */
export const VFIO_UNMAP_ALL = 9
/** Extension: `VFIO_DMA_MAP_FLAG_VADDR` / `VFIO_DMA_UNMAP_FLAG_VADDR` are supported (Linux 5.12+). */
export const VFIO_UPDATE_VADDR = 10

// ---- ioctl request numbers ---------------------------------------------------

/** `VFIO_TYPE`: the ioctl magic, `';'` (0x3B). */
export const VFIO_TYPE = ';'
/** `VFIO_TYPE` as a number (0x3B). */
export const VFIO_TYPE_CODE = 0x3b
/** `VFIO_BASE`: first VFIO ioctl command number (100). */
export const VFIO_BASE = 100

/** `_IO(VFIO_TYPE, VFIO_BASE + n)`. */
const vfioIO = (n: number): number => _IO(VFIO_TYPE, VFIO_BASE + n)

/** Container: returns `VFIO_API_VERSION`. 0x3B64. */
export const VFIO_GET_API_VERSION = vfioIO(0)
/** Container: `arg` is the extension id (an integer, not a pointer); returns 0/1. 0x3B65. */
export const VFIO_CHECK_EXTENSION = vfioIO(1)
/** Container: `arg` is the IOMMU type (an integer). 0x3B66. */
export const VFIO_SET_IOMMU = vfioIO(2)
/** Group: `struct vfio_group_status *`. 0x3B67. */
export const VFIO_GROUP_GET_STATUS = vfioIO(3)
/** Group: `int *` holding the container fd. 0x3B68. */
export const VFIO_GROUP_SET_CONTAINER = vfioIO(4)
/** Group: no argument. 0x3B69. */
export const VFIO_GROUP_UNSET_CONTAINER = vfioIO(5)
/** Group: `char *` device name; returns a new device fd. 0x3B6A. */
export const VFIO_GROUP_GET_DEVICE_FD = vfioIO(6)
/** Device: `struct vfio_device_info *`. 0x3B6B. */
export const VFIO_DEVICE_GET_INFO = vfioIO(7)
/** Device: `struct vfio_region_info *`. 0x3B6C. */
export const VFIO_DEVICE_GET_REGION_INFO = vfioIO(8)
/** Device: `struct vfio_irq_info *`. 0x3B6D. */
export const VFIO_DEVICE_GET_IRQ_INFO = vfioIO(9)
/** Device: `struct vfio_irq_set *` followed by its data. 0x3B6E. */
export const VFIO_DEVICE_SET_IRQS = vfioIO(10)
/** Device: no argument. 0x3B6F. */
export const VFIO_DEVICE_RESET = vfioIO(11)
/** vfio-pci device: hot-reset info. Same number as VFIO_IOMMU_GET_INFO (0x3B70). */
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioIO(12)
/** vfio-pci device: hot reset. Same number as VFIO_IOMMU_MAP_DMA (0x3B71). */
export const VFIO_DEVICE_PCI_HOT_RESET = vfioIO(13)
/** mdev device: query a graphics plane. 0x3B72. */
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioIO(14)
/** mdev device: get a dmabuf for a plane. 0x3B73. */
export const VFIO_DEVICE_GET_GFX_DMABUF = vfioIO(15)
/** vfio-pci device: ioeventfd. 0x3B74. */
export const VFIO_DEVICE_IOEVENTFD = vfioIO(16)
/** Device: feature get/set/probe. Same number as VFIO_IOMMU_DIRTY_PAGES (0x3B75). */
export const VFIO_DEVICE_FEATURE = vfioIO(17)
/** Container (type1): `struct vfio_iommu_type1_info *`. 0x3B70. */
export const VFIO_IOMMU_GET_INFO = vfioIO(12)
/** Container (type1): `struct vfio_iommu_type1_dma_map *`. 0x3B71. */
export const VFIO_IOMMU_MAP_DMA = vfioIO(13)
/** Container (type1): `struct vfio_iommu_type1_dma_unmap *`; `size` is written back. 0x3B72. */
export const VFIO_IOMMU_UNMAP_DMA = vfioIO(14)
/** Container (sPAPR only; type1 answers -ENOTTY). 0x3B73. */
export const VFIO_IOMMU_ENABLE = vfioIO(15)
/** Container (sPAPR only; type1 answers -ENOTTY). 0x3B74. */
export const VFIO_IOMMU_DISABLE = vfioIO(16)
/** Container (type1 v2): dirty page tracking. 0x3B75. */
export const VFIO_IOMMU_DIRTY_PAGES = vfioIO(17)
/** Container (sPAPR): TCE info. Same number as VFIO_IOMMU_GET_INFO (0x3B70). */
export const VFIO_IOMMU_SPAPR_TCE_GET_INFO = vfioIO(12)
/** Container (sPAPR): register memory. Same number as VFIO_IOMMU_DIRTY_PAGES (0x3B75). */
export const VFIO_IOMMU_SPAPR_REGISTER_MEMORY = vfioIO(17)
/** Container (sPAPR): unregister memory. 0x3B76. */
export const VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY = vfioIO(18)
/** Container (sPAPR): create a TCE window. 0x3B77. */
export const VFIO_IOMMU_SPAPR_TCE_CREATE = vfioIO(19)
/** Container (sPAPR): remove a TCE window. 0x3B78. */
export const VFIO_IOMMU_SPAPR_TCE_REMOVE = vfioIO(20)
/** Container/group (sPAPR): EEH PE operation. 0x3B79. */
export const VFIO_EEH_PE_OP = vfioIO(21)

/** Which kind of VFIO file a request is meant for; numbers are reused across kinds. */
export type VfioFdKind = 'container' | 'group' | 'device'

/** One VFIO ioctl: Linux name, request number, the fd kind it is defined for. */
export interface VfioIoctl {
  readonly name: string
  readonly request: number
  readonly fd: VfioFdKind
}

/** Every VFIO ioctl of the 6.1 header, in header order. Several share a number (dispatch is per fd kind). */
export const VFIO_IOCTLS: readonly VfioIoctl[] = [
  { name: 'VFIO_GET_API_VERSION', request: VFIO_GET_API_VERSION, fd: 'container' },
  { name: 'VFIO_CHECK_EXTENSION', request: VFIO_CHECK_EXTENSION, fd: 'container' },
  { name: 'VFIO_SET_IOMMU', request: VFIO_SET_IOMMU, fd: 'container' },
  { name: 'VFIO_GROUP_GET_STATUS', request: VFIO_GROUP_GET_STATUS, fd: 'group' },
  { name: 'VFIO_GROUP_SET_CONTAINER', request: VFIO_GROUP_SET_CONTAINER, fd: 'group' },
  { name: 'VFIO_GROUP_UNSET_CONTAINER', request: VFIO_GROUP_UNSET_CONTAINER, fd: 'group' },
  { name: 'VFIO_GROUP_GET_DEVICE_FD', request: VFIO_GROUP_GET_DEVICE_FD, fd: 'group' },
  { name: 'VFIO_DEVICE_GET_INFO', request: VFIO_DEVICE_GET_INFO, fd: 'device' },
  { name: 'VFIO_DEVICE_GET_REGION_INFO', request: VFIO_DEVICE_GET_REGION_INFO, fd: 'device' },
  { name: 'VFIO_DEVICE_GET_IRQ_INFO', request: VFIO_DEVICE_GET_IRQ_INFO, fd: 'device' },
  { name: 'VFIO_DEVICE_SET_IRQS', request: VFIO_DEVICE_SET_IRQS, fd: 'device' },
  { name: 'VFIO_DEVICE_RESET', request: VFIO_DEVICE_RESET, fd: 'device' },
  { name: 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO', request: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, fd: 'device' },
  { name: 'VFIO_DEVICE_PCI_HOT_RESET', request: VFIO_DEVICE_PCI_HOT_RESET, fd: 'device' },
  { name: 'VFIO_DEVICE_QUERY_GFX_PLANE', request: VFIO_DEVICE_QUERY_GFX_PLANE, fd: 'device' },
  { name: 'VFIO_DEVICE_GET_GFX_DMABUF', request: VFIO_DEVICE_GET_GFX_DMABUF, fd: 'device' },
  { name: 'VFIO_DEVICE_IOEVENTFD', request: VFIO_DEVICE_IOEVENTFD, fd: 'device' },
  { name: 'VFIO_DEVICE_FEATURE', request: VFIO_DEVICE_FEATURE, fd: 'device' },
  { name: 'VFIO_IOMMU_GET_INFO', request: VFIO_IOMMU_GET_INFO, fd: 'container' },
  { name: 'VFIO_IOMMU_MAP_DMA', request: VFIO_IOMMU_MAP_DMA, fd: 'container' },
  { name: 'VFIO_IOMMU_UNMAP_DMA', request: VFIO_IOMMU_UNMAP_DMA, fd: 'container' },
  { name: 'VFIO_IOMMU_ENABLE', request: VFIO_IOMMU_ENABLE, fd: 'container' },
  { name: 'VFIO_IOMMU_DISABLE', request: VFIO_IOMMU_DISABLE, fd: 'container' },
  { name: 'VFIO_IOMMU_DIRTY_PAGES', request: VFIO_IOMMU_DIRTY_PAGES, fd: 'container' },
  { name: 'VFIO_IOMMU_SPAPR_TCE_GET_INFO', request: VFIO_IOMMU_SPAPR_TCE_GET_INFO, fd: 'container' },
  { name: 'VFIO_EEH_PE_OP', request: VFIO_EEH_PE_OP, fd: 'container' },
  { name: 'VFIO_IOMMU_SPAPR_REGISTER_MEMORY', request: VFIO_IOMMU_SPAPR_REGISTER_MEMORY, fd: 'container' },
  { name: 'VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY', request: VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, fd: 'container' },
  { name: 'VFIO_IOMMU_SPAPR_TCE_CREATE', request: VFIO_IOMMU_SPAPR_TCE_CREATE, fd: 'container' },
  { name: 'VFIO_IOMMU_SPAPR_TCE_REMOVE', request: VFIO_IOMMU_SPAPR_TCE_REMOVE, fd: 'container' },
]

/**
 * All Linux names of a VFIO request number, optionally only those defined
 * for one fd kind. A number can have several names: 0x3B70 is both
 * `VFIO_IOMMU_GET_INFO` (container) and `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO`
 * (device). Returns `[]` for a number that is not a VFIO request.
 */
export function vfioIoctlNames(request: number, fd?: VfioFdKind): string[] {
  return VFIO_IOCTLS.filter(i => i.request === request >>> 0 && (fd === undefined || i.fd === fd)).map(i => i.name)
}

// ---- vfio_info_cap_header -------------------------------------------------------

/** Capability id of `vfio_iommu_type1_info_cap_iova_range`. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1
/** Capability id of `vfio_iommu_type1_info_cap_migration`. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2
/** Capability id of `vfio_iommu_type1_info_dma_avail`. */
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3

// ---- vfio_group_status.flags -------------------------------------------------

/** Group is viable: every device of the IOMMU group is usable by VFIO. */
export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0
/** Group is attached to a container. */
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1

// ---- vfio_device_info.flags --------------------------------------------------

/** Device supports `VFIO_DEVICE_RESET`. */
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0
/** vfio-pci device. */
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1
/** vfio-platform device. */
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2
/** vfio-amba device (what a PL330, an AMBA PrimeCell, reports). */
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3
/** vfio-ccw device. */
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4
/** vfio-ap device. */
export const VFIO_DEVICE_FLAGS_AP = 1 << 5
/** vfio-fsl-mc device. */
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6
/** Device info supports a capability chain (`cap_offset` valid). */
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7
/** vfio-cdx device (Linux 6.5+; not in the 6.1 header). */
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8

// ---- vfio_region_info.flags --------------------------------------------------

/** Region supports read. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0
/** Region supports write. */
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1
/** Region supports mmap. */
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2
/** Region info has a capability chain. */
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3

// ---- vfio_irq_info.flags -----------------------------------------------------

/** IRQ index supports eventfd signalling. */
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0
/** IRQ index supports MASK/UNMASK. */
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1
/** IRQ is masked by VFIO after each signal (level-triggered). */
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2
/** Sub-indexes cannot be added without disabling the index (MSI). */
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3

// ---- vfio_irq_set.flags ------------------------------------------------------

/** No data follows the struct. */
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0
/** `count` × u8 booleans follow the struct. */
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1
/** `count` × s32 eventfds follow the struct (-1 = de-assign). */
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2
/** Action: mask. */
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3
/** Action: unmask. */
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4
/** Action: trigger (signal to userspace / loopback). */
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5
/** All DATA bits (0x07). */
export const VFIO_IRQ_SET_DATA_TYPE_MASK = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD
/** All ACTION bits (0x38). */
export const VFIO_IRQ_SET_ACTION_TYPE_MASK = VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER

// ---- vfio_iommu_type1_info.flags ---------------------------------------------

/** `iova_pgsizes` is valid. */
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0
/** A capability chain is present (or `argsz` was too small for it). */
export const VFIO_IOMMU_INFO_CAPS = 1 << 1

// ---- vfio_iommu_type1_dma_map.flags ------------------------------------------

/** Mapping readable from the device. */
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0
/** Mapping writable from the device. */
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1
/** (upstream profile, 5.12+) Update the vaddr of an invalidated mapping; READ/WRITE must be 0. */
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2

// ---- vfio_iommu_type1_dma_unmap.flags ----------------------------------------

/** Return the dirty bitmap of the range (a `vfio_bitmap` follows the struct). */
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0
/** (5.12+) Unmap everything; `iova` and `size` must be 0. */
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1
/** (5.12+) Invalidate vaddrs instead of unmapping. */
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2
