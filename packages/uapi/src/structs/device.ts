// Device-fd info structs: vfio_device_info, vfio_region_info, vfio_irq_info.

import { defineStruct } from '../layout.ts'
import type { StructFields } from './common.ts'

/**
 * `struct vfio_device_info`, current layout (24 bytes): `argsz` @0, `flags`
 * @4 (VFIO_DEVICE_FLAGS_*), `num_regions` @8, `num_irqs` @12, `cap_offset`
 * @16, `pad` @20 (all u32). Drivers copy in/out only minsz = 16 bytes.
 *
 * Linux 6.1 headers end the struct after `cap_offset` (sizeof 20); the
 * explicit `pad` arrived with "vfio: align capability structures" (2023).
 * Field offsets are identical in both eras. See docs/decisions/0101.
 */
export const vfio_device_info = defineStruct('vfio_device_info', 24, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  num_regions: { type: 'u32', offset: 8 },
  num_irqs: { type: 'u32', offset: 12 },
  cap_offset: { type: 'u32', offset: 16 },
  pad: { type: 'u32', offset: 20, optional: true },
})
/** Fields of `struct vfio_device_info`. */
export type vfio_device_info = StructFields<typeof vfio_device_info>

/** `sizeof(struct vfio_device_info)` in Linux 6.1–6.5 headers (no `pad`). */
export const VFIO_DEVICE_INFO_SIZE_6_1 = 20

/**
 * `struct vfio_region_info` (32 bytes): `argsz` u32 @0, `flags` u32 @4
 * (VFIO_REGION_INFO_FLAG_*), `index` u32 @8, `cap_offset` u32 @12 (named
 * `resv` in 2014), `size` u64 @16, `offset` u64 @24. minsz = 32.
 */
export const vfio_region_info = defineStruct('vfio_region_info', 32, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  index: { type: 'u32', offset: 8 },
  cap_offset: { type: 'u32', offset: 12 },
  size: { type: 'u64', offset: 16 },
  offset: { type: 'u64', offset: 24 },
})
/** Fields of `struct vfio_region_info`. */
export type vfio_region_info = StructFields<typeof vfio_region_info>

/**
 * `struct vfio_irq_info` (16 bytes): `argsz` @0, `flags` @4
 * (VFIO_IRQ_INFO_*), `index` @8, `count` @12 (all u32). minsz = 16.
 */
export const vfio_irq_info = defineStruct('vfio_irq_info', 16, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  index: { type: 'u32', offset: 8 },
  count: { type: 'u32', offset: 12 },
})
/** Fields of `struct vfio_irq_info`. */
export type vfio_irq_info = StructFields<typeof vfio_irq_info>
