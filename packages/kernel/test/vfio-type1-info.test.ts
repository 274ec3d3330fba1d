// VFIO_IOMMU_GET_INFO byte layout for both profiles (spec vfio.md §8.2 and
// errata 1–3; invariants §15 9–11). Expected bytes are written out by hand
// from the spec's offsets, not built with the uapi cap-chain helper.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_IOMMU_GET_INFO, decodeIommuInfoCaps } from '@vfio-sim/uapi'
import { ARG, BUF, FakeDomain, PAGE, errnoOf, map, setup, type Harness } from './vfio-type1-fakes.ts'

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE
const CANARY = 0xee
const SMMU_END = (1n << 48n) - 1n

function smmuDomain(): FakeDomain {
  return new FakeDomain({ pgsizeBitmap: 0x40201000n, aperture: { start: 0n, end: SMMU_END }, resv: [{ start: 0x800_0000n, length: 0x10_0000n, type: 'sw-msi' }] })
}

/** Calls GET_INFO with `argsz` (the rest of the buffer holds canary bytes); returns the ret and 256 bytes. */
function getInfo(h: Harness, argsz: number): { ret: number | string; bytes: Uint8Array } {
  const buf = new Uint8Array(256).fill(CANARY)
  new DataView(buf.buffer).setUint32(0, argsz, true)
  h.mm.copyToUser(ARG, buf)
  const ret = errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_GET_INFO, ARG))
  return { ret, bytes: h.mm.copyFromUser(ARG, 256) }
}

/** The upstream answer for the SMMU domain with `avail` free slots, written field by field. */
function expectedUpstream(avail: number): Uint8Array {
  const b = new Uint8Array(120)
  const v = new DataView(b.buffer)
  v.setUint32(0, 120, true) // argsz = 88 + 16·2
  v.setUint32(4, 3, true) // PGSIZES | CAPS
  v.setBigUint64(8, 0x40201000n, true)
  v.setUint32(16, 24, true) // cap_offset
  // migration @24
  v.setUint16(24, 2, true); v.setUint16(26, 1, true); v.setUint32(28, 56, true)
  v.setUint32(32, 0, true)
  v.setBigUint64(40, 0x1000n, true)
  v.setBigUint64(48, 0x1000_0000n, true)
  // dma_avail @56 (12 bytes + 4 padding)
  v.setUint16(56, 3, true); v.setUint16(58, 1, true); v.setUint32(60, 72, true)
  v.setUint32(64, avail, true)
  // iova_range @72
  v.setUint16(72, 1, true); v.setUint16(74, 1, true); v.setUint32(76, 0, true)
  v.setUint32(80, 2, true)
  v.setBigUint64(88, 0n, true); v.setBigUint64(96, 0x7ff_ffffn, true)
  v.setBigUint64(104, 0x810_0000n, true); v.setBigUint64(112, SMMU_END, true)
  return b
}

test('upstream: argsz = required (88 + 16n) → the whole 8-byte-aligned chain, nothing beyond', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  const { ret, bytes } = getInfo(h, 120)
  assert.is(ret, 0)
  assert.equal(bytes.subarray(0, 120), expectedUpstream(65535))
  assert.ok(bytes.subarray(120).every(x => x === CANARY))
})

test('upstream: dma_avail follows the mappings', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  assert.is(map(h, RW, BUF, 0x10_0000, PAGE), 0)
  assert.equal(getInfo(h, 120).bytes.subarray(0, 120), expectedUpstream(65533))
  const caps = decodeIommuInfoCaps(getInfo(h, 200).bytes, 24)
  assert.equal(caps.map(c => c.kind), ['migration', 'dma_avail', 'iova_range'])
})

test('upstream: argsz larger than needed changes nothing and writes nothing past the chain', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  const { ret, bytes } = getInfo(h, 256)
  assert.is(ret, 0)
  const want = expectedUpstream(65535)
  new DataView(want.buffer).setUint32(0, 256, true) // argsz is left as given
  assert.equal(bytes.subarray(0, 120), want)
  assert.ok(bytes.subarray(120).every(x => x === CANARY))
})

for (const argsz of [16, 20, 23, 24, 100, 119]) {
  test(`upstream: argsz ${argsz} < required → success, argsz := 120, CAPS set, cap_offset 0, min(argsz, 24) bytes written`, () => {
    const h = setup('upstream', { dom: smmuDomain() })
    const { ret, bytes } = getInfo(h, argsz)
    assert.is(ret, 0)
    const n = Math.min(argsz, 24)
    const want = new Uint8Array(24)
    const v = new DataView(want.buffer)
    v.setUint32(0, 120, true)
    v.setUint32(4, 3, true)
    v.setBigUint64(8, 0x40201000n, true)
    assert.equal(bytes.subarray(0, n), want.subarray(0, n))
    assert.ok(bytes.subarray(n).every(x => x === CANARY), 'no byte beyond min(argsz, 24)')
  })
}

test('both: argsz < 16 → EINVAL with no byte written; unreadable arg → EFAULT', () => {
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const h = setup(profile, { dom: smmuDomain() })
    for (const argsz of [0, 8, 15]) {
      const { ret, bytes } = getInfo(h, argsz)
      assert.is(ret, 'EINVAL')
      assert.is(new DataView(bytes.buffer).getUint32(0, true), argsz)
      assert.ok(bytes.subarray(4).every(x => x === CANARY))
    }
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_GET_INFO, 0x7000_0000)), 'EFAULT')
  }
})

test('upstream: argsz 24 on a read-only struct → EFAULT', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_GET_INFO, 0x2_0000 /* RO_ARG, argsz read as 0 */)), 'EINVAL')
  h.mm.pages.get(0x2_0000)!.data.set([24, 0, 0, 0])
  assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_GET_INFO, 0x2_0000)), 'EFAULT')
})

test('upstream: two domains → apertures intersected, both reserved windows removed', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  h.c.attachGroup({ id: 2, domain: new FakeDomain({ aperture: { start: 0x1000n, end: 0xffff_ffffn }, resv: [{ start: 0x2000_0000n, length: 0x1000n, type: 'msi' }, { start: 0x3000_0000n, length: 0x1000n, type: 'direct-relaxable' }] }) })
  const { bytes } = getInfo(h, 256)
  const caps = decodeIommuInfoCaps(bytes, 24)
  const r = caps.find(c => c.kind === 'iova_range')
  assert.ok(r !== undefined && r.kind === 'iova_range')
  assert.equal(r.cap.iova_ranges, [
    { start: 0x1000n, end: 0x7ff_ffffn },
    { start: 0x810_0000n, end: 0x1fff_ffffn },
    { start: 0x2000_1000n, end: 0xffff_ffffn },
  ])
  assert.is(new DataView(bytes.buffer).getUint32(0, true), 256)
  assert.is(r.offset, 72)
})

test('upstream: output for argsz ≥ 16 depends on argsz only through the argsz field and min(argsz, 24); nothing beyond argsz is written', () => {
  const h = setup('upstream', { dom: smmuDomain() })
  const full = expectedUpstream(65535)
  fc.assert(fc.property(fc.integer({ min: 16, max: 250 }), argsz => {
    const { ret, bytes } = getInfo(h, argsz)
    if (ret !== 0) return false
    const limit = argsz >= 120 ? 120 : Math.min(argsz, 24)
    for (let i = limit; i < 256; i++) if (bytes[i] !== CANARY) return false
    const v = new DataView(bytes.buffer)
    if (v.getUint32(0, true) !== (argsz >= 120 ? argsz : 120)) return false
    for (let i = 4; i < limit; i++) {
      const expect = argsz >= 120 ? full[i] : (i < 16 ? full[i] : 0)
      if (bytes[i] !== expect) return false
    }
    return true
  }), { numRuns: 60 })
})

// ---- rfc-v5 ---------------------------------------------------------------------

test('rfc-v5: 16-byte answer with flags = 0 and the page sizes; argsz echoed; nothing else written', () => {
  for (const argsz of [16, 24, 100, 120, 256]) {
    const h = setup('rfc-v5', { dom: smmuDomain() })
    const { ret, bytes } = getInfo(h, argsz)
    assert.is(ret, 0)
    const v = new DataView(bytes.buffer)
    assert.is(v.getUint32(0, true), argsz)
    assert.is(v.getUint32(4, true), 0)
    assert.is(v.getBigUint64(8, true), 0x40201000n)
    assert.ok(bytes.subarray(16).every(x => x === CANARY))
  }
})

test('both: iova_pgsizes is the AND of the domains, sub-page sizes folded into PAGE_SIZE', () => {
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const h = setup(profile, { dom: new FakeDomain({ pgsizeBitmap: 0x40201800n }) })
    h.c.attachGroup({ id: 2, domain: new FakeDomain({ pgsizeBitmap: 0x0020_1800n }) })
    const v = new DataView(getInfo(h, 16).bytes.buffer)
    assert.is(v.getBigUint64(8, true), 0x0020_1000n)
    const k = setup(profile, { dom: new FakeDomain({ pgsizeBitmap: 0x2001_0000n }) })
    assert.is(new DataView(getInfo(k, 16).bytes.buffer).getBigUint64(8, true), 0x2001_0000n)
  }
})

test.run()
