// One small declarative helper from which every C struct codec is built.
//
// A layout lists each field of the C struct with its C type and its offset,
// exactly as `offsetof` reports it on x86-64/arm64 (LP64, little-endian):
//
//   defineStruct('vfio_group_status', 8, {
//     argsz: { type: 'u32', offset: 0 },
//     flags: { type: 'u32', offset: 4 },
//   })
//
// Offsets are written out rather than computed so that the table reads like
// the C header plus `pahole`, and so that the header-parity test compares two
// independent descriptions (ours and gcc's) instead of one algorithm with
// itself.

/** C scalar types used by the VFIO uapi: `__u8`, `__u16`, `__u32`, `__s32`, `__u64`. */
export type CScalar = 'u8' | 'u16' | 'u32' | 's32' | 'u64'

/** Byte size of each C scalar type. */
export const CSCALAR_SIZE: Readonly<Record<CScalar, number>> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 }

/** One field of a layout: a scalar or a nested struct, at a fixed offset. */
export interface FieldSpec {
  /** C scalar type, or the codec of a nested struct (e.g. `vfio_info_cap_header`). */
  readonly type: CScalar | AnyStructCodec
  /** `offsetof(struct, field)`. */
  readonly offset: number
  /** Padding/reserved field: may be omitted when encoding (written as 0). Always present when decoding. */
  readonly optional?: true
}

/** A struct layout: field name (exactly as in C) → field spec, in declaration order. */
export type Layout = Readonly<Record<string, FieldSpec>>

/** Metadata about one field, for printing and for the header-parity test. */
export interface FieldInfo {
  readonly name: string
  /** C scalar type, or the nested struct's C name. */
  readonly ctype: string
  readonly offset: number
  readonly size: number
}

/**
 * A codec for one C struct: its `sizeof`, `offsetof` of each field, and
 * little-endian encode/decode. u64 fields are `bigint`, narrower ones `number`.
 */
export interface StructCodec<F, I = F> {
  /** The C struct name, e.g. `vfio_iommu_type1_dma_map`. */
  readonly name: string
  /** `sizeof(struct name)` (the fixed part; flexible array members add nothing). */
  readonly size: number
  /** `offsetof` of every field, including a flexible array member if the struct has one. */
  readonly offsets: Readonly<Record<string, number>>
  /** The fixed fields in declaration order. */
  readonly fields: readonly FieldInfo[]
  /** Number of bytes `encode(fields)` produces (`size`, plus a variable tail if any). */
  byteLength(fields: I): number
  /** Encodes to a fresh zero-initialised buffer of `byteLength(fields)` bytes. @throws RangeError/TypeError on a value that does not fit its C type. */
  encode(fields: I): Uint8Array
  /** Encodes into `target` at `offset`; returns the number of bytes written. @throws RangeError if `target` is too short. */
  encodeInto(fields: I, target: Uint8Array, offset?: number): number
  /**
   * Decodes the struct at `offset`.
   * @throws RangeError if fewer than the needed bytes are available. Kernel
   *   code checks `argsz` against `minsz` first (and answers `-EINVAL`), so a
   *   RangeError here means a bug in the caller, never a guest error.
   */
  decode(bytes: Uint8Array, offset?: number): F
  /**
   * Decodes as if only the first `length` bytes had been copied into a
   * zero-initialised struct: `copy_from_user(&s, arg, length)` with `s = {}`.
   * Fields (or the parts of fields) beyond `length` read as 0. Variable tails are not read.
   * @throws RangeError if `length` bytes are not available.
   */
  decodePrefix(bytes: Uint8Array, length: number, offset?: number): F
  /** Low-level: reads the fixed part from a DataView (used for nesting). */
  readFrom(view: DataView, offset: number): F
  /** Low-level: writes the fixed part into a DataView (used for nesting). */
  writeTo(view: DataView, offset: number, fields: I): void
}

/** Any struct codec, whatever its field types (for nesting). */
// Method parameters are bivariant, so every StructCodec is assignable here.
export type AnyStructCodec = StructCodec<unknown, never>

type Simplify<T> = { [K in keyof T]: T[K] } & {}

type ValueOfType<T> = T extends 'u64' ? bigint : T extends StructCodec<infer F, never> ? F : number
type InputOfType<T> = T extends 'u64' ? bigint : T extends StructCodec<unknown, infer I> ? I : number

/** The decoded object type of a layout: every field present. */
export type LayoutFields<L extends Layout> = Simplify<{ -readonly [K in keyof L]: ValueOfType<L[K]['type']> }>

/** The encode input type of a layout: padding/reserved (`optional`) fields may be omitted. */
export type LayoutInput<L extends Layout> = Simplify<
  { -readonly [K in keyof L as L[K] extends { optional: true } ? never : K]: InputOfType<L[K]['type']> } &
  { -readonly [K in keyof L as L[K] extends { optional: true } ? K : never]?: InputOfType<L[K]['type']> }
>

/** The offsets record of a layout plus any extra (flexible member) names. */
export type Offsets<L extends Layout, Extra extends string = never> = Readonly<Record<(keyof L & string) | Extra, number>>

const U64_MAX = (1n << 64n) - 1n

const INT_RANGE: Readonly<Record<Exclude<CScalar, 'u64'>, readonly [number, number]>> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
  s32: [-0x8000_0000, 0x7fff_ffff],
}

/** Writes one scalar, checking that the value fits the C type. `where` names the field in error messages. */
export function writeScalar(view: DataView, offset: number, type: CScalar, value: unknown, where: string): void {
  if (type === 'u64') {
    if (typeof value !== 'bigint') throw new TypeError(`${where}: __u64 field needs a bigint, got ${typeof value}`)
    if (value < 0n || value > U64_MAX) throw new RangeError(`${where}: ${value} does not fit in __u64`)
    view.setBigUint64(offset, value, true)
    return
  }
  if (typeof value !== 'number') throw new TypeError(`${where}: __${type} field needs a number, got ${typeof value}`)
  const [lo, hi] = INT_RANGE[type]
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${where}: ${value} does not fit in __${type}`)
  }
  switch (type) {
    case 'u8': view.setUint8(offset, value); break
    case 'u16': view.setUint16(offset, value, true); break
    case 'u32': view.setUint32(offset, value, true); break
    case 's32': view.setInt32(offset, value, true); break
  }
}

/** Reads one scalar (little-endian). */
export function readScalar(view: DataView, offset: number, type: CScalar): number | bigint {
  switch (type) {
    case 'u8': return view.getUint8(offset)
    case 'u16': return view.getUint16(offset, true)
    case 'u32': return view.getUint32(offset, true)
    case 's32': return view.getInt32(offset, true)
    case 'u64': return view.getBigUint64(offset, true)
  }
}

/** A DataView over exactly `bytes` (which may be a window on a larger buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Throws a RangeError unless `need` bytes are available in `bytes` from `offset`. */
export function requireBytes(what: string, bytes: Uint8Array, offset: number, need: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + need > bytes.byteLength) {
    throw new RangeError(`${what}: needs ${need} bytes at offset ${offset}, buffer has ${bytes.byteLength}`)
  }
}

function fieldSize(spec: FieldSpec): number {
  return typeof spec.type === 'string' ? CSCALAR_SIZE[spec.type] : spec.type.size
}

/**
 * Defines a fixed-size struct codec from a layout.
 * @param name the C struct name (without `struct`)
 * @param size `sizeof(struct name)`, including tail padding
 * @param layout fields in declaration order, with their `offsetof`
 * @throws Error at definition time if a field overlaps another or lies outside `size`.
 */
export function defineStruct<const L extends Layout>(name: string, size: number, layout: L): StructCodec<LayoutFields<L>, LayoutInput<L>> & { readonly offsets: Offsets<L> } {
  const entries = Object.entries(layout)
  const fields: FieldInfo[] = entries.map(([fname, spec]) => ({
    name: fname,
    ctype: typeof spec.type === 'string' ? spec.type : spec.type.name,
    offset: spec.offset,
    size: fieldSize(spec),
  }))
  // Catch typing mistakes in a layout once, when the module loads.
  const sorted = [...fields].sort((a, b) => a.offset - b.offset)
  let end = 0
  for (const f of sorted) {
    if (f.offset < end) throw new Error(`${name}.${f.name} @${f.offset} overlaps the previous field`)
    end = f.offset + f.size
  }
  if (end > size) throw new Error(`${name}: fields end at ${end}, beyond sizeof ${size}`)
  const offsets = Object.fromEntries(fields.map(f => [f.name, f.offset])) as Offsets<L>

  const readFrom = (view: DataView, base: number): LayoutFields<L> => {
    const out: Record<string, unknown> = {}
    for (const [fname, spec] of entries) {
      out[fname] = typeof spec.type === 'string'
        ? readScalar(view, base + spec.offset, spec.type)
        : spec.type.readFrom(view, base + spec.offset)
    }
    return out as LayoutFields<L>
  }
  const writeTo = (view: DataView, base: number, input: LayoutInput<L>): void => {
    const values = input as Record<string, unknown>
    for (const [fname, spec] of entries) {
      let value = values[fname]
      if (value === undefined) {
        if (spec.optional !== true) throw new TypeError(`${name}.${fname}: missing field`)
        if (typeof spec.type !== 'string') continue // an omitted nested struct stays zero
        value = spec.type === 'u64' ? 0n : 0
      }
      if (typeof spec.type === 'string') writeScalar(view, base + spec.offset, spec.type, value, `${name}.${fname}`)
      else spec.type.writeTo(view, base + spec.offset, value as never)
    }
  }
  const encodeInto = (input: LayoutInput<L>, target: Uint8Array, offset = 0): number => {
    requireBytes(`encode ${name}`, target, offset, size)
    target.fill(0, offset, offset + size)
    writeTo(viewOf(target), offset, input)
    return size
  }
  return {
    name,
    size,
    offsets,
    fields,
    byteLength: () => size,
    encode(input) {
      const out = new Uint8Array(size)
      encodeInto(input, out, 0)
      return out
    },
    encodeInto,
    decode(bytes, offset = 0) {
      requireBytes(`decode ${name}`, bytes, offset, size)
      return readFrom(viewOf(bytes), offset)
    },
    decodePrefix(bytes, length, offset = 0) {
      if (!Number.isInteger(length) || length < 0) throw new RangeError(`decodePrefix ${name}: bad length ${length}`)
      requireBytes(`decode ${name}`, bytes, offset, length)
      const copy = new Uint8Array(size)
      copy.set(bytes.subarray(offset, offset + Math.min(length, size)))
      return readFrom(viewOf(copy), 0)
    },
    readFrom,
    writeTo,
  }
}

/**
 * `offsetofend(struct, field)` as Linux defines it: the offset just past a
 * field. Drivers compute `minsz` this way, e.g.
 * `offsetofend(vfio_iommu_type1_info, 'iova_pgsizes') === 16`.
 * @throws RangeError if the struct has no such fixed field.
 */
export function offsetofend(codec: { readonly name: string; readonly fields: readonly FieldInfo[] }, field: string): number {
  const f = codec.fields.find(x => x.name === field)
  if (f === undefined) throw new RangeError(`struct ${codec.name} has no field ${JSON.stringify(field)}`)
  return f.offset + f.size
}
