// struct vfio_group_status (VFIO_GROUP_GET_STATUS, minsz 8).

import { defineStruct } from '../layout.ts'
import type { StructFields } from './common.ts'

/** `struct vfio_group_status` (8 bytes): `argsz` u32 @0, `flags` u32 @4 (VFIO_GROUP_FLAGS_*). */
export const vfio_group_status = defineStruct('vfio_group_status', 8, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
})
/** Fields of `struct vfio_group_status`. */
export type vfio_group_status = StructFields<typeof vfio_group_status>
