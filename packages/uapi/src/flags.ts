// Symbolic flag tables, per struct, for scenario files and pretty printing.
// Short names (no VFIO_..._FLAG_ prefix), as a scenario writes them:
//   flags: [READ, WRITE, EXEC]   →   flagsFromNames(dmaMapFlags('rfc-v5'), ['READ', 'WRITE', 'EXEC']) === 7
// The DMA map/unmap tables depend on the profile (bit 2 is EXEC or VADDR);
// they live in profiles.ts.

import * as V from './vfio.ts'

/** A symbolic flag table: short name → bit value. */
export type FlagTable = Readonly<Record<string, number>>

/** `vfio_group_status.flags`. */
export const GROUP_STATUS_FLAGS = {
  VIABLE: V.VFIO_GROUP_FLAGS_VIABLE,
  CONTAINER_SET: V.VFIO_GROUP_FLAGS_CONTAINER_SET,
} as const

/** `vfio_device_info.flags`. */
export const DEVICE_INFO_FLAGS = {
  RESET: V.VFIO_DEVICE_FLAGS_RESET,
  PCI: V.VFIO_DEVICE_FLAGS_PCI,
  PLATFORM: V.VFIO_DEVICE_FLAGS_PLATFORM,
  AMBA: V.VFIO_DEVICE_FLAGS_AMBA,
  CCW: V.VFIO_DEVICE_FLAGS_CCW,
  AP: V.VFIO_DEVICE_FLAGS_AP,
  FSL_MC: V.VFIO_DEVICE_FLAGS_FSL_MC,
  CAPS: V.VFIO_DEVICE_FLAGS_CAPS,
  CDX: V.VFIO_DEVICE_FLAGS_CDX,
} as const

/** `vfio_region_info.flags`. */
export const REGION_INFO_FLAGS = {
  READ: V.VFIO_REGION_INFO_FLAG_READ,
  WRITE: V.VFIO_REGION_INFO_FLAG_WRITE,
  MMAP: V.VFIO_REGION_INFO_FLAG_MMAP,
  CAPS: V.VFIO_REGION_INFO_FLAG_CAPS,
} as const

/** `vfio_irq_info.flags`. */
export const IRQ_INFO_FLAGS = {
  EVENTFD: V.VFIO_IRQ_INFO_EVENTFD,
  MASKABLE: V.VFIO_IRQ_INFO_MASKABLE,
  AUTOMASKED: V.VFIO_IRQ_INFO_AUTOMASKED,
  NORESIZE: V.VFIO_IRQ_INFO_NORESIZE,
} as const

/** `vfio_irq_set.flags`: one DATA_* and one ACTION_* bit. */
export const IRQ_SET_FLAGS = {
  DATA_NONE: V.VFIO_IRQ_SET_DATA_NONE,
  DATA_BOOL: V.VFIO_IRQ_SET_DATA_BOOL,
  DATA_EVENTFD: V.VFIO_IRQ_SET_DATA_EVENTFD,
  ACTION_MASK: V.VFIO_IRQ_SET_ACTION_MASK,
  ACTION_UNMASK: V.VFIO_IRQ_SET_ACTION_UNMASK,
  ACTION_TRIGGER: V.VFIO_IRQ_SET_ACTION_TRIGGER,
} as const

/** `vfio_iommu_type1_info.flags`. */
export const IOMMU_INFO_FLAGS = {
  PGSIZES: V.VFIO_IOMMU_INFO_PGSIZES,
  CAPS: V.VFIO_IOMMU_INFO_CAPS,
} as const

/**
 * ORs the named flags of a table: `flagsFromNames(REGION_INFO_FLAGS, ['READ', 'MMAP']) === 5`.
 * @throws RangeError naming the valid flags if a name is not in the table
 *   (a scenario file with a typo must fail loudly, not map a different bit).
 */
export function flagsFromNames(table: FlagTable, names: readonly string[]): number {
  let value = 0
  for (const name of names) {
    if (!Object.hasOwn(table, name)) {
      throw new RangeError(`unknown flag ${JSON.stringify(name)}; valid flags: ${Object.keys(table).join(', ')}`)
    }
    value |= table[name]!
  }
  return value >>> 0
}

/**
 * Names of the bits set in `value`, in table order; bits the table does not
 * name are appended as one hex string (`'0x40'`). `flagNames(REGION_INFO_FLAGS, 0x43)` → `['READ', 'WRITE', '0x40']`.
 */
export function flagNames(table: FlagTable, value: number): string[] {
  const names: string[] = []
  let rest = value >>> 0
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (rest & bit) === bit) {
      names.push(name)
      rest = (rest & ~bit) >>> 0
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`)
  return names
}

/** Pretty form of a flags value: `'READ|WRITE'`, `'READ|0x40'`, or `'0'`. */
export function formatFlags(table: FlagTable, value: number): string {
  const names = flagNames(table, value)
  return names.length === 0 ? '0' : names.join('|')
}
