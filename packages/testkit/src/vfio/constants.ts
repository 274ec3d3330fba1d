/**
 * VFIO request numbers, flag bits and struct sizes, written out here from the
 * spec (vfio.md §3, §4) rather than imported from @vfio-sim/uapi, so that the
 * reference model is a second, independent description of the ABI.
 */

/** `_IO(';', 100 + n)`: every VFIO request is a plain `_IO()` (vfio.md §0.1, §3). */
export const VFIO_IOCTL = {
  GET_API_VERSION: 0x3b64,
  CHECK_EXTENSION: 0x3b65,
  SET_IOMMU: 0x3b66,
  GROUP_GET_STATUS: 0x3b67,
  GROUP_SET_CONTAINER: 0x3b68,
  GROUP_UNSET_CONTAINER: 0x3b69,
  GROUP_GET_DEVICE_FD: 0x3b6a,
  DEVICE_GET_INFO: 0x3b6b,
  DEVICE_GET_REGION_INFO: 0x3b6c,
  DEVICE_GET_IRQ_INFO: 0x3b6d,
  DEVICE_SET_IRQS: 0x3b6e,
  DEVICE_RESET: 0x3b6f,
  IOMMU_GET_INFO: 0x3b70,
  IOMMU_MAP_DMA: 0x3b71,
  IOMMU_UNMAP_DMA: 0x3b72,
  IOMMU_ENABLE: 0x3b73,
} as const

/** Group status flags (§3). */
export const GROUP_VIABLE = 1
/** Group status flags (§3). */
export const GROUP_CONTAINER_SET = 2

/** Device info flags (§3). */
export const DEV_FLAG_RESET = 1 << 0
/** Device info flags (§3). */
export const DEV_FLAG_PLATFORM = 1 << 2
/** Device info flags (§3). */
export const DEV_FLAG_AMBA = 1 << 3

/** Region flags (§3). */
export const REGION_READ = 1
/** Region flags (§3). */
export const REGION_WRITE = 2
/** Region flags (§3). */
export const REGION_MMAP = 4

/** IRQ info flags (§3). */
export const IRQ_INFO_EVENTFD = 1
/** IRQ info flags (§3). */
export const IRQ_INFO_MASKABLE = 2
/** IRQ info flags (§3). */
export const IRQ_INFO_AUTOMASKED = 4

/** SET_IRQS DATA / ACTION bits (§3). */
export const IRQ_SET = {
  DATA_NONE: 1 << 0,
  DATA_BOOL: 1 << 1,
  DATA_EVENTFD: 1 << 2,
  ACTION_MASK: 1 << 3,
  ACTION_UNMASK: 1 << 4,
  ACTION_TRIGGER: 1 << 5,
} as const

/** MAP_DMA flags; bit 2 is EXEC in rfc-v5 and VADDR upstream (§16, decision 0102). */
export const MAP_READ = 1
/** MAP_DMA flags. */
export const MAP_WRITE = 2
/** MAP_DMA flags: bit 2 (EXEC in rfc-v5, VADDR upstream). */
export const MAP_BIT2 = 4

/** UNMAP_DMA flags (upstream only; rfc-v5 accepts none, decision 0102). */
export const UNMAP_DIRTY = 1
/** UNMAP_DMA flags. */
export const UNMAP_ALL = 2
/** UNMAP_DMA flags. */
export const UNMAP_VADDR = 4

/** IOMMU info flags (§3). */
export const IOMMU_INFO_PGSIZES = 1
/** IOMMU info flags (§3). */
export const IOMMU_INFO_CAPS = 2

/** Extension ids (§3; 5 is VFIO_IOMMU_PROT_EXEC in rfc-v5 per decision 0102). */
export const EXT = { TYPE1: 1, SPAPR: 2, TYPE1v2: 3, DMA_CC: 4, FIVE: 5, NESTING: 6, NOIOMMU: 8, UNMAP_ALL: 9, UPDATE_VADDR: 10 } as const
