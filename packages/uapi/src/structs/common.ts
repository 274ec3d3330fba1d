// Shared pieces of the struct codecs: the capability header every info
// capability starts with, and type helpers naming a codec's field types.

import { defineStruct, type StructCodec } from '../layout.ts'

/** Decoded field object of a codec: `StructFields<typeof vfio_irq_info>`. */
export type StructFields<C> = C extends StructCodec<infer F, never> ? F : never
/** Encode input of a codec (padding/reserved fields optional): `StructInput<typeof vfio_irq_info>`. */
export type StructInput<C> = C extends StructCodec<unknown, infer I> ? I : never

/**
 * `struct vfio_info_cap_header` (8 bytes): `id` u16 @0, `version` u16 @2,
 * `next` u32 @4. `next` is the offset of the next capability from the start
 * of the *info buffer* (not of this header); 0 ends the chain.
 */
export const vfio_info_cap_header = defineStruct('vfio_info_cap_header', 8, {
  id: { type: 'u16', offset: 0 },
  version: { type: 'u16', offset: 2 },
  next: { type: 'u32', offset: 4 },
})
/** Fields of `struct vfio_info_cap_header`. */
export type vfio_info_cap_header = StructFields<typeof vfio_info_cap_header>
