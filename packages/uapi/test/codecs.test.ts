// Struct codecs: byte images written by hand from the C layout, properties
// against an independent little-endian serializer (field order and widths
// copied from <linux/vfio.h>), round trips including u64 extremes and the
// variable tails, and the error behaviour on short buffers / bad values.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import * as U from '../src/index.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/[\s|]/g, ''), 'hex'))

// ---- independent model: plain little-endian byte writers -----------------------
const le = (v: bigint, n: number): number[] => Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn))
const u8 = (v: number): number[] => le(BigInt(v), 1)
const u16 = (v: number): number[] => le(BigInt(v), 2)
const u32 = (v: number): number[] => le(BigInt(v), 4)
const s32 = (v: number): number[] => le(BigInt.asUintN(32, BigInt(v)), 4)
const u64 = (v: bigint): number[] => le(v, 8)
const cat = (...parts: number[][]): string => hex(new Uint8Array(parts.flat()))

const U64_MAX = (1n << 64n) - 1n
const aU32 = fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff, 0x8000_0000), fc.integer({ min: 0, max: 0xffff_ffff }))
const aU16 = fc.integer({ min: 0, max: 0xffff })
const aS32 = fc.oneof(fc.constantFrom(-1, -0x8000_0000, 0x7fff_ffff, 0), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }))
const aU64 = fc.oneof(fc.constantFrom(0n, 1n, U64_MAX, 1n << 63n, (1n << 63n) - 1n), fc.bigInt({ min: 0n, max: U64_MAX }))

// ---- hand-written byte images ------------------------------------------------------

test('vfio_iommu_type1_dma_map: exact bytes', () => {
  const b = U.vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: 3, vaddr: 0x7f0012345000n, iova: 0x40001000n, size: 0x200000n })
  assert.is(hex(b), hex(bytes(`
    20000000 | 03000000 | 0050341200 7f0000 | 0010004000000000 | 0000200000000000`)))
  assert.is(U.vfio_iommu_type1_dma_map.size, 32)
  assert.equal(U.vfio_iommu_type1_dma_map.offsets, { argsz: 0, flags: 4, vaddr: 8, iova: 16, size: 24 })
})

test('vfio_iommu_type1_dma_unmap: exact bytes and flexible data offset', () => {
  const b = U.vfio_iommu_type1_dma_unmap.encode({ argsz: 24, flags: U.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n })
  assert.is(hex(b), '18000000' + '02000000' + '00'.repeat(16))
  assert.is(U.vfio_iommu_type1_dma_unmap.offsets.data, 24)
})

test('vfio_region_info: exact bytes (vfio-platform region 1 at 1 << 40)', () => {
  const b = U.vfio_region_info.encode({ argsz: 32, flags: 7, index: 1, cap_offset: 0, size: 0x1000n, offset: 1n << 40n })
  assert.is(hex(b), hex(bytes('20000000 07000000 01000000 00000000 | 0010000000000000 | 0000000000010000')))
})

test('vfio_irq_set: exact bytes with two eventfds (-1 de-assigns)', () => {
  const flags = U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER
  const b = U.vfio_irq_set.encode({ argsz: 28, flags, index: 0, start: 0, count: 2, data: [7, -1] })
  assert.is(hex(b), hex(bytes('1c000000 24000000 00000000 00000000 02000000 | 07000000 ffffffff')))
  assert.equal(U.vfio_irq_set.decode(b), { argsz: 28, flags: 0x24, index: 0, start: 0, count: 2, data: [7, -1] })
  assert.is(U.vfio_irq_set.size, 20)
  assert.is(U.vfio_irq_set.offsets.data, 20)
})

test('vfio_irq_set: bools are one byte each', () => {
  const flags = U.VFIO_IRQ_SET_DATA_BOOL | U.VFIO_IRQ_SET_ACTION_MASK
  const b = U.vfio_irq_set.encode({ argsz: 23, flags, index: 0, start: 1, count: 3, data: [1, 0, 1] })
  assert.is(hex(b), hex(bytes('17000000 0a000000 00000000 01000000 03000000 010001')))
})

test('vfio_info_cap_header and vfio_group_status: exact bytes', () => {
  assert.is(hex(U.vfio_info_cap_header.encode({ id: 1, version: 1, next: 0x48 })), '0100010048000000')
  assert.is(hex(U.vfio_group_status.encode({ argsz: 8, flags: 3 })), '0800000003000000')
})

test('vfio_device_info: current 24-byte layout, pad optional', () => {
  const b = U.vfio_device_info.encode({ argsz: 24, flags: U.VFIO_DEVICE_FLAGS_AMBA | U.VFIO_DEVICE_FLAGS_RESET, num_regions: 1, num_irqs: 2, cap_offset: 0 })
  assert.is(hex(b), hex(bytes('18000000 09000000 01000000 02000000 00000000 00000000')))
  assert.equal(U.vfio_device_info.decode(b).pad, 0)
  assert.is(U.VFIO_DEVICE_INFO_SIZE_6_1, 20)
})

test('vfio_iommu_type1_info: 24 bytes, caps would start at 24', () => {
  const b = U.vfio_iommu_type1_info.encode({ argsz: 24, flags: 3, iova_pgsizes: 0x40201000n, cap_offset: 24 })
  assert.is(hex(b), hex(bytes('18000000 03000000 0010204000000000 18000000 00000000')))
})

// ---- properties vs the independent serializer, and round trips ------------------

test('dma_map / dma_unmap / region_info / irq_info / iommu_info encode like the byte model; decode inverts', () => {
  fc.assert(fc.property(aU32, aU32, aU64, aU64, aU64, (argsz, flags, vaddr, iova, size) => {
    const m = { argsz, flags, vaddr, iova, size }
    const b = U.vfio_iommu_type1_dma_map.encode(m)
    assert.is(hex(b), cat(u32(argsz), u32(flags), u64(vaddr), u64(iova), u64(size)))
    assert.equal(U.vfio_iommu_type1_dma_map.decode(b), m)
    const um = { argsz, flags, iova, size }
    const ub = U.vfio_iommu_type1_dma_unmap.encode(um)
    assert.is(hex(ub), cat(u32(argsz), u32(flags), u64(iova), u64(size)))
    assert.equal(U.vfio_iommu_type1_dma_unmap.decode(ub), um)
  }))
  fc.assert(fc.property(aU32, aU32, aU32, aU32, aU64, aU64, (argsz, flags, index, cap_offset, size, offset) => {
    const r = { argsz, flags, index, cap_offset, size, offset }
    const b = U.vfio_region_info.encode(r)
    assert.is(hex(b), cat(u32(argsz), u32(flags), u32(index), u32(cap_offset), u64(size), u64(offset)))
    assert.equal(U.vfio_region_info.decode(b), r)
    const i = { argsz, flags, index, count: cap_offset }
    assert.equal(U.vfio_irq_info.decode(U.vfio_irq_info.encode(i)), i)
    assert.is(hex(U.vfio_irq_info.encode(i)), cat(u32(argsz), u32(flags), u32(index), u32(cap_offset)))
    const info = { argsz, flags, iova_pgsizes: size, cap_offset, pad: index }
    assert.is(hex(U.vfio_iommu_type1_info.encode(info)), cat(u32(argsz), u32(flags), u64(size), u32(cap_offset), u32(index)))
    assert.equal(U.vfio_iommu_type1_info.decode(U.vfio_iommu_type1_info.encode(info)), info)
    const dev = { argsz, flags, num_regions: index, num_irqs: cap_offset, cap_offset: argsz, pad: flags }
    assert.is(hex(U.vfio_device_info.encode(dev)), cat(u32(argsz), u32(flags), u32(index), u32(cap_offset), u32(argsz), u32(flags)))
    assert.equal(U.vfio_device_info.decode(U.vfio_device_info.encode(dev)), dev)
  }))
})

const aIrqSet = fc.oneof(
  fc.record({ kind: fc.constant('none' as const), count: aU32, data: fc.constant([] as number[]) }),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }).map(data => ({ kind: 'bool' as const, count: data.length, data })),
  fc.array(aS32, { maxLength: 12 }).map(data => ({ kind: 'eventfd' as const, count: data.length, data })),
)
const DATA_BIT = { none: U.VFIO_IRQ_SET_DATA_NONE, bool: U.VFIO_IRQ_SET_DATA_BOOL, eventfd: U.VFIO_IRQ_SET_DATA_EVENTFD }

test('vfio_irq_set with its data tail: byte model and round trip', () => {
  fc.assert(fc.property(aIrqSet, fc.constantFrom(8, 16, 32, 0), aU32, aU32, aU32, (t, action, argsz, index, start) => {
    const flags = DATA_BIT[t.kind] | action
    const s = { argsz, flags, index, start, count: t.count, data: t.data }
    const b = U.vfio_irq_set.encode(s)
    const tail = t.kind === 'bool' ? t.data.flatMap(u8) : t.kind === 'eventfd' ? t.data.flatMap(s32) : []
    assert.is(hex(b), cat(u32(argsz), u32(flags), u32(index), u32(start), u32(t.count), tail))
    assert.is(U.vfio_irq_set.byteLength(s), b.length)
    assert.equal(U.vfio_irq_set.decode(b), s)
  }))
})

test('vfio_irq_set: data size per DATA flag, invalid combinations', () => {
  assert.is(U.vfioIrqSetDataSize(U.VFIO_IRQ_SET_DATA_NONE | U.VFIO_IRQ_SET_ACTION_UNMASK), 0)
  assert.is(U.vfioIrqSetDataSize(U.VFIO_IRQ_SET_DATA_BOOL), 1)
  assert.is(U.vfioIrqSetDataSize(U.VFIO_IRQ_SET_DATA_EVENTFD), 4)
  assert.is(U.vfioIrqSetDataSize(0), undefined)
  assert.is(U.vfioIrqSetDataSize(U.VFIO_IRQ_SET_DATA_BOOL | U.VFIO_IRQ_SET_DATA_EVENTFD), undefined)
  // Decoding an invalid DATA combination reads no tail (the kernel rejects it with -EINVAL before looking).
  const hdr = U.vfio_irq_set.encode({ argsz: 20, flags: 0x06 | 0x20, index: 0, start: 0, count: 5 })
  assert.equal(U.vfio_irq_set.decode(hdr).data, [])
  // Encoding data the flags cannot describe is a caller bug.
  assert.throws(() => U.vfio_irq_set.encode({ argsz: 24, flags: U.VFIO_IRQ_SET_DATA_NONE, index: 0, start: 0, count: 1, data: [3] }), RangeError)
  // A count larger than the buffer holds: RangeError, not an out-of-bounds read.
  const huge = U.vfio_irq_set.encode({ argsz: 20, flags: U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER, index: 0, start: 0, count: 0xffff_ffff })
  assert.throws(() => U.vfio_irq_set.decode(huge), (e: unknown) => e instanceof RangeError && /count 4294967295/.test((e as Error).message))
})

test('cap_iova_range with ranges: byte model and round trip', () => {
  const aRange = fc.record({ start: aU64, end: aU64 }).map(r => ({ ...r })) // plain prototype, for deep equality
  fc.assert(fc.property(aU16, aU16, aU32, aU32, fc.array(aRange, { maxLength: 6 }), (id, version, next, reserved, iova_ranges) => {
    const cap = { header: { id, version, next }, nr_iovas: iova_ranges.length, reserved, iova_ranges }
    const b = U.vfio_iommu_type1_info_cap_iova_range.encode(cap)
    assert.is(hex(b), cat(u16(id), u16(version), u32(next), u32(iova_ranges.length), u32(reserved), iova_ranges.flatMap(r => [...u64(r.start), ...u64(r.end)])))
    assert.equal(U.vfio_iommu_type1_info_cap_iova_range.decode(b), cap)
  }))
})

test('migration and dma_avail caps: byte model and round trip', () => {
  fc.assert(fc.property(aU16, aU16, aU32, aU32, aU64, aU64, (id, version, next, flags, pg, max) => {
    const mig = { header: { id, version, next }, flags, pgsize_bitmap: pg, max_dirty_bitmap_size: max }
    const b = U.vfio_iommu_type1_info_cap_migration.encode(mig)
    assert.is(hex(b), cat(u16(id), u16(version), u32(next), u32(flags), u32(0), u64(pg), u64(max)))
    assert.equal(U.vfio_iommu_type1_info_cap_migration.decode(b), mig)
    const avail = { header: { id, version, next }, avail: flags }
    const ab = U.vfio_iommu_type1_info_dma_avail.encode(avail)
    assert.is(hex(ab), cat(u16(id), u16(version), u32(next), u32(flags)))
    assert.equal(U.vfio_iommu_type1_info_dma_avail.decode(ab), avail)
  }))
})

// ---- errors, offsets and prefixes ------------------------------------------------

test('decode throws a clear RangeError on a short buffer, honours offset', () => {
  const b = U.vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: 1, vaddr: 1n, iova: 2n, size: 3n })
  assert.throws(() => U.vfio_iommu_type1_dma_map.decode(b.subarray(0, 31)), (e: unknown) =>
    e instanceof RangeError && /vfio_iommu_type1_dma_map: needs 32 bytes at offset 0, buffer has 31/.test((e as Error).message))
  const padded = new Uint8Array(40)
  padded.set(b, 8)
  assert.equal(U.vfio_iommu_type1_dma_map.decode(padded, 8), { argsz: 32, flags: 1, vaddr: 1n, iova: 2n, size: 3n })
  assert.throws(() => U.vfio_iommu_type1_dma_map.decode(padded, 9), RangeError)
  // A window on a larger ArrayBuffer (as a Buffer or a memory view would be) decodes from its own start.
  assert.equal(U.vfio_iommu_type1_dma_map.decode(padded.subarray(8)), { argsz: 32, flags: 1, vaddr: 1n, iova: 2n, size: 3n })
})

test('encode rejects values that do not fit their C type', () => {
  const ok = { argsz: 32, flags: 0, vaddr: 0n, iova: 0n, size: 0n }
  assert.throws(() => U.vfio_iommu_type1_dma_map.encode({ ...ok, argsz: -1 }), RangeError)
  assert.throws(() => U.vfio_iommu_type1_dma_map.encode({ ...ok, flags: 2 ** 32 }), RangeError)
  assert.throws(() => U.vfio_iommu_type1_dma_map.encode({ ...ok, size: 1n << 64n }), RangeError)
  assert.throws(() => U.vfio_iommu_type1_dma_map.encode({ ...ok, iova: -1n }), RangeError)
  assert.throws(() => U.vfio_iommu_type1_dma_map.encode({ ...ok, iova: 5 as unknown as bigint }), TypeError)
  assert.throws(() => U.vfio_irq_set.encode({ argsz: 24, flags: U.VFIO_IRQ_SET_DATA_EVENTFD, index: 0, start: 0, count: 1, data: [2 ** 31] }), RangeError)
})

test('decodePrefix behaves like copy_from_user of minsz bytes into a zeroed struct', () => {
  const full = U.vfio_device_info.encode({ argsz: 24, flags: 9, num_regions: 1, num_irqs: 2, cap_offset: 77, pad: 5 })
  assert.equal(U.vfio_device_info.decodePrefix(full, 16), { argsz: 24, flags: 9, num_regions: 1, num_irqs: 2, cap_offset: 0, pad: 0 })
  // Only 16 bytes available is enough for a 16-byte prefix.
  assert.equal(U.vfio_iommu_type1_info.decodePrefix(full.subarray(0, 16), 16).cap_offset, 0)
  assert.throws(() => U.vfio_device_info.decodePrefix(full.subarray(0, 10), 16), RangeError)
})

test('encodeInto writes at an offset and returns the byte count', () => {
  const target = new Uint8Array(40).fill(0xee)
  const n = U.vfio_group_status.encodeInto({ argsz: 8, flags: 1 }, target, 4)
  assert.is(n, 8)
  assert.is(hex(target.subarray(0, 14)), 'eeeeeeee' + '0800000001000000' + 'eeee')
  assert.throws(() => U.vfio_group_status.encodeInto({ argsz: 8, flags: 1 }, target, 33), RangeError)
})

test('offsetofend gives the minsz the kernel drivers use', () => {
  assert.is(U.offsetofend(U.vfio_iommu_type1_info, 'iova_pgsizes'), 16)
  assert.is(U.offsetofend(U.vfio_device_info, 'num_irqs'), 16)
  assert.is(U.offsetofend(U.vfio_region_info, 'offset'), 32)
  assert.is(U.offsetofend(U.vfio_irq_info, 'count'), 16)
  assert.is(U.offsetofend(U.vfio_irq_set, 'count'), 20)
  assert.is(U.offsetofend(U.vfio_iommu_type1_dma_map, 'size'), 32)
  assert.is(U.offsetofend(U.vfio_iommu_type1_dma_unmap, 'size'), 24)
  assert.is(U.offsetofend(U.vfio_group_status, 'flags'), 8)
  assert.throws(() => U.offsetofend(U.vfio_irq_set, 'data'), RangeError)
})

test.run()
