// struct vfio_irq_set (VFIO_DEVICE_SET_IRQS): a 20-byte header followed by
// `count` elements whose type the DATA flag chooses:
//   DATA_NONE    → no data
//   DATA_BOOL    → count × __u8   (non-zero = true)
//   DATA_EVENTFD → count × __s32  (-1 = de-assign)
// Zero or several DATA bits is what the kernel rejects with -EINVAL
// (vfio_set_irqs_validate_and_prepare in drivers/vfio/vfio_main.c).

import { defineStruct, readScalar, requireBytes, viewOf, writeScalar, type StructCodec } from '../layout.ts'
import { VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_TYPE_MASK } from '../vfio.ts'

const header = defineStruct('vfio_irq_set', 20, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  index: { type: 'u32', offset: 8 },
  start: { type: 'u32', offset: 12 },
  count: { type: 'u32', offset: 16 },
})

/** Offset of the flexible `data[]` member. */
const DATA_OFFSET = 20

/**
 * Size in bytes of one `data[]` element for these flags: 0 for DATA_NONE,
 * 1 for DATA_BOOL, 4 for DATA_EVENTFD; `undefined` when zero or several
 * DATA bits are set (the kernel's -EINVAL case).
 */
export function vfioIrqSetDataSize(flags: number): 0 | 1 | 4 | undefined {
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE: return 0
    case VFIO_IRQ_SET_DATA_BOOL: return 1
    case VFIO_IRQ_SET_DATA_EVENTFD: return 4
    default: return undefined
  }
}

/** Decoded `struct vfio_irq_set` with its data: u8 bools or s32 eventfds, per the DATA flag. */
export interface vfio_irq_set {
  argsz: number
  flags: number
  index: number
  start: number
  count: number
  /** `count` elements for DATA_BOOL / DATA_EVENTFD; `[]` for DATA_NONE or an invalid DATA combination. */
  data: number[]
}

/** Encode input of `struct vfio_irq_set`. `count` is written as given (it may disagree with `data.length` on purpose, for negative tests). */
export interface vfio_irq_set_input {
  argsz: number
  flags: number
  index: number
  start: number
  count: number
  /** u8 values (DATA_BOOL) or s32 fds (DATA_EVENTFD); omit or `[]` for DATA_NONE. */
  data?: readonly number[]
}

function elementSizeForEncode(input: vfio_irq_set_input): number {
  const n = input.data?.length ?? 0
  const size = vfioIrqSetDataSize(input.flags)
  if (n > 0 && (size === undefined || size === 0)) {
    throw new RangeError(`vfio_irq_set: ${n} data elements but flags 0x${input.flags.toString(16)} select no single DATA_BOOL/DATA_EVENTFD type`)
  }
  return size ?? 0
}

function byteLength(input: vfio_irq_set_input): number {
  return DATA_OFFSET + (input.data?.length ?? 0) * elementSizeForEncode(input)
}

function writeTo(view: DataView, base: number, input: vfio_irq_set_input): void {
  header.writeTo(view, base, input)
  const size = elementSizeForEncode(input)
  const data = input.data ?? []
  for (let i = 0; i < data.length; i++) {
    writeScalar(view, base + DATA_OFFSET + i * size, size === 1 ? 'u8' : 's32', data[i], `vfio_irq_set.data[${i}]`)
  }
}

function encodeInto(input: vfio_irq_set_input, target: Uint8Array, offset = 0): number {
  const n = byteLength(input)
  requireBytes('encode vfio_irq_set', target, offset, n)
  target.fill(0, offset, offset + n)
  writeTo(viewOf(target), offset, input)
  return n
}

/**
 * Codec for `struct vfio_irq_set`: header `argsz` @0, `flags` @4, `index` @8,
 * `start` @12, `count` @16 (u32), `data[]` @20. `size` is 20 (sizeof, no data).
 * `decode` reads `count` elements when the flags select BOOL or EVENTFD and
 * throws a RangeError if the buffer does not hold them (the kernel checks
 * `argsz - minsz >= count * elemsize` first and answers -EINVAL).
 */
export const vfio_irq_set: StructCodec<vfio_irq_set, vfio_irq_set_input> & { readonly offsets: Readonly<Record<keyof vfio_irq_set, number>> } = {
  name: 'vfio_irq_set',
  size: header.size,
  offsets: { ...header.offsets, data: DATA_OFFSET },
  fields: header.fields,
  byteLength,
  encode(input) {
    const out = new Uint8Array(byteLength(input))
    encodeInto(input, out, 0)
    return out
  },
  encodeInto,
  decode(bytes, offset = 0) {
    const fixed = header.decode(bytes, offset)
    const size = vfioIrqSetDataSize(fixed.flags) ?? 0
    const data: number[] = []
    if (size > 0) {
      requireBytes(`decode vfio_irq_set data (count ${fixed.count} × ${size})`, bytes, offset, DATA_OFFSET + fixed.count * size)
      const view = viewOf(bytes)
      for (let i = 0; i < fixed.count; i++) {
        data.push(readScalar(view, offset + DATA_OFFSET + i * size, size === 1 ? 'u8' : 's32') as number)
      }
    }
    return { ...fixed, data }
  },
  decodePrefix(bytes, length, offset = 0) {
    return { ...header.decodePrefix(bytes, length, offset), data: [] }
  },
  readFrom(view, offset) {
    return { ...header.readFrom(view, offset), data: [] }
  },
  writeTo,
}
