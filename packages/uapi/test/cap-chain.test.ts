// Capability chains of VFIO_IOMMU_GET_INFO: the two layouts the spec pins
// (6.1-era packed chain and the 8-byte aligned chain of current kernels),
// a property against an offset model, and walking junk safely.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import * as U from '../src/index.ts'

const migration = (): U.IommuInfoCapInput => ({
  kind: 'migration',
  cap: { header: { id: U.VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1 }, flags: 0, pgsize_bitmap: 0x1000n, max_dirty_bitmap_size: 0x1000_0000n },
})
const dmaAvail = (avail = 65535): U.IommuInfoCapInput => ({
  kind: 'dma_avail', cap: { header: { id: U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1 }, avail },
})
const iovaRange = (ranges: U.vfio_iova_range[]): U.IommuInfoCapInput => ({
  kind: 'iova_range', cap: { header: { id: U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1 }, iova_ranges: ranges },
})

test('upstream (aligned) chain: migration @24, dma_avail @56, iova_range @72, argsz 88 + 16n', () => {
  const ranges = [{ start: 0n, end: 0x7ff_ffffn }, { start: 0x810_0000n, end: (1n << 48n) - 1n }]
  const c = U.buildIommuInfoCapChain([migration(), dmaAvail(), iovaRange(ranges)], { start: 24, align: 8 })
  assert.equal(c.offsets, [24, 56, 72])
  assert.is(c.end, 88 + 16 * ranges.length)
  const info = new Uint8Array(c.end)
  U.vfio_iommu_type1_info.encodeInto({ argsz: c.end, flags: 3, iova_pgsizes: 0x40201000n, cap_offset: 24 }, info)
  info.set(c.bytes, 24)
  const caps = U.decodeIommuInfoCaps(info, U.vfio_iommu_type1_info.decode(info).cap_offset)
  assert.equal(caps.map(x => [x.kind, x.offset, x.cap.header.next]), [['migration', 24, 56], ['dma_avail', 56, 72], ['iova_range', 72, 0]])
  const last = caps[2]!
  assert.ok(last.kind === 'iova_range')
  if (last.kind === 'iova_range') {
    assert.is(last.cap.nr_iovas, 2)
    assert.equal(last.cap.iova_ranges, ranges)
  }
  // ranges start 8-byte aligned
  assert.is((72 + U.vfio_iommu_type1_info_cap_iova_range.offsets.iova_ranges) % 8, 0)
  // dma_avail's 4 padding bytes are zero
  assert.equal([...info.subarray(68, 72)], [0, 0, 0, 0])
})

test('6.1-era (packed) chain: iova_range @68, ranges @84, argsz 84 + 16n (spec worked example)', () => {
  const c = U.buildIommuInfoCapChain([migration(), dmaAvail(), iovaRange([{ start: 0n, end: 0xffff_ffffn }])], { start: 24, align: 1 })
  assert.equal(c.offsets, [24, 56, 68])
  assert.is(c.end, 84 + 16)
  const info = new Uint8Array(100)
  info.set(c.bytes, 24)
  const walk = U.walkCapChain(info, 24)
  assert.equal(walk.map(e => [e.offset, e.header.id, e.header.version, e.header.next]), [[24, 2, 1, 56], [56, 3, 1, 68], [68, 1, 1, 0]])
})

test('no caps: empty chain; cap_offset 0 walks to nothing', () => {
  const c = U.buildIommuInfoCapChain([], { start: 24, align: 8 })
  assert.is(c.bytes.length, 0)
  assert.is(c.end, 24)
  assert.equal(U.walkCapChain(new Uint8Array(24), 0), [])
})

const aCap: fc.Arbitrary<U.IommuInfoCapInput> = fc.oneof(
  fc.constant(migration()),
  fc.integer({ min: 0, max: 65535 }).map(dmaAvail),
  fc.array(fc.record({ start: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), end: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }).map(r => ({ ...r })), { maxLength: 4 }).map(iovaRange),
)
/** Model of a cap's unpadded size, from the C structs: 32, 12, 16 + 16n. */
const modelSize = (c: U.IommuInfoCapInput): number =>
  c.kind === 'migration' ? 32 : c.kind === 'dma_avail' ? 12 : 16 + 16 * c.cap.iova_ranges.length

test('property: offsets are the running sum of padded sizes; decode gives back the caps', () => {
  fc.assert(fc.property(fc.array(aCap, { maxLength: 5 }), fc.constantFrom(1 as const, 4 as const, 8 as const), (caps, align) => {
    const c = U.buildIommuInfoCapChain(caps, { start: 24, align })
    let at = 24
    const expected: number[] = []
    for (const cap of caps) {
      expected.push(at)
      at += Math.ceil(modelSize(cap) / align) * align
    }
    assert.equal(c.offsets, expected)
    assert.is(c.end, at)
    const info = new Uint8Array(c.end)
    info.set(c.bytes, 24)
    const decoded = U.decodeIommuInfoCaps(info, caps.length === 0 ? 0 : 24)
    assert.is(decoded.length, caps.length)
    decoded.forEach((d, i) => {
      const src = caps[i]!
      assert.is(d.kind, src.kind)
      assert.is(d.offset, expected[i])
      assert.is(d.cap.header.next, i + 1 < caps.length ? expected[i + 1] : 0)
      assert.is(d.cap.header.id, src.cap.header.id)
      if (d.kind === 'iova_range' && src.kind === 'iova_range') assert.equal(d.cap.iova_ranges, src.cap.iova_ranges)
      if (d.kind === 'dma_avail' && src.kind === 'dma_avail') assert.is(d.cap.avail, src.cap.avail)
    })
  }))
})

test('walking junk: loops and out-of-bounds headers are RangeErrors, unknown ids are reported', () => {
  const buf = new Uint8Array(64)
  U.vfio_info_cap_header.encodeInto({ id: 1, version: 1, next: 40 }, buf, 24)
  U.vfio_info_cap_header.encodeInto({ id: 99, version: 1, next: 24 }, buf, 40)
  assert.throws(() => U.walkCapChain(buf, 24), (e: unknown) => e instanceof RangeError && /loops/.test((e as Error).message))
  U.vfio_info_cap_header.encodeInto({ id: 99, version: 1, next: 60 }, buf, 40)
  assert.throws(() => U.walkCapChain(buf, 24), RangeError)
  U.vfio_info_cap_header.encodeInto({ id: 99, version: 7, next: 0 }, buf, 40)
  U.vfio_info_cap_header.encodeInto({ id: 42, version: 1, next: 40 }, buf, 24)
  assert.equal(U.decodeIommuInfoCaps(buf, 24).map(c => [c.kind, c.cap.header.id]), [['unknown', 42], ['unknown', 99]])
  // An iova_range claiming more ranges than the buffer holds.
  U.vfio_info_cap_header.encodeInto({ id: 1, version: 1, next: 0 }, buf, 40)
  new DataView(buf.buffer).setUint32(48, 1000, true)
  assert.throws(() => U.decodeIommuInfoCaps(buf, 24), RangeError)
})

test.run()
