// MAP_DMA / UNMAP_DMA: one test per error path of spec vfio.md §8.3/§8.4
// with the exact errno per profile, the write-back of UNMAP, memlock and
// dma_avail accounting, and failure atomicity (§15 11–14, 18–20, 22).

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  UAPI_PROFILES,
  VFIO_DMA_MAP_FLAG_EXEC,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_CHECK_EXTENSION,
  vfio_iommu_type1_dma_map,
  vfio_iommu_type1_dma_unmap,
} from '@vfio-sim/uapi'
import { ARG, BUF, FakeDomain, FakeMm, PAGE, RO_ARG, errnoOf, map, setup, stateOf, unmap } from './vfio-type1-fakes.ts'
import { VfioContainer } from '../src/drivers/vfio/container.ts'

const R = VFIO_DMA_MAP_FLAG_READ
const W = VFIO_DMA_MAP_FLAG_WRITE
const RW = R | W
const TOP = 1n << 64n

for (const profile of UAPI_PROFILES) {
  const overflow = profile === 'upstream' ? 'EOVERFLOW' : 'EINVAL'

  test(`${profile}: MAP copy-in fault → EFAULT; argsz < 32 → EINVAL; argsz > 32 is fine`, () => {
    const h = setup(profile)
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_MAP_DMA, 0x7000_0000)), 'EFAULT')
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_MAP_DMA, ARG + 4 * PAGE - 16)), 'EFAULT') // runs off the mapped page
    assert.is(map(h, RW, BUF, 0, PAGE, 31), 'EINVAL')
    assert.is(map(h, RW, BUF, 0, PAGE, 0), 'EINVAL')
    assert.is(map(h, RW, BUF, 0, PAGE, 4096), 0)
  })

  test(`${profile}: MAP flags outside the profile's mask → EINVAL`, () => {
    const h = setup(profile)
    for (const f of [1 << 3, 0x8000_0000, RW | 0x10]) assert.is(map(h, f, BUF, 0, PAGE), 'EINVAL', `flags ${f}`)
    assert.is(stateOf(h), stateOf(setup(profile)))
  })

  test(`${profile}: MAP without READ or WRITE → EINVAL`, () => {
    const h = setup(profile)
    assert.is(map(h, 0, BUF, 0, PAGE), 'EINVAL')
  })

  test(`${profile}: MAP size 0 → EINVAL`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, 0), 'EINVAL')
  })

  test(`${profile}: MAP iova, vaddr or size not aligned to the smallest IOMMU page → EINVAL`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0x800, PAGE), 'EINVAL')
    assert.is(map(h, RW, BUF + 0x10, 0, PAGE), 'EINVAL')
    assert.is(map(h, RW, BUF, 0, PAGE + 1), 'EINVAL')
    // A 64 KiB-granule IOMMU: 4 KiB alignment is not enough.
    const big = setup(profile, { dom: new FakeDomain({ pgsizeBitmap: 0x2001_0000n }) })
    assert.is(map(big, RW, BUF, 0x1000, 0x1_0000), 'EINVAL')
    assert.is(map(big, RW, BUF, 0x1_0000, 0x1000), 'EINVAL')
    assert.is(map(big, RW, BUF, 0x1_0000, 0x1_0000), 0)
  })

  test(`${profile}: MAP whose iova or vaddr range wraps past 2^64 → ${overflow}`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, TOP - BigInt(PAGE), 2 * PAGE), overflow)
    assert.is(map(h, RW, TOP - BigInt(PAGE), 0, 2 * PAGE), overflow)
  })

  test(`${profile}: MAP overlapping a mapping by one page at either end → EEXIST; touching is fine`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 4 * PAGE, 4 * PAGE), 0)
    const before = stateOf(h)
    assert.is(map(h, RW, BUF + 8 * PAGE, 7 * PAGE, 2 * PAGE), 'EEXIST')
    assert.is(map(h, RW, BUF + 8 * PAGE, 3 * PAGE, 2 * PAGE), 'EEXIST')
    assert.is(map(h, RW, BUF + 8 * PAGE, 0, 16 * PAGE), 'EEXIST')
    assert.is(map(h, RW, BUF + 8 * PAGE, 5 * PAGE, PAGE), 'EEXIST')
    assert.is(stateOf(h), before)
    assert.is(map(h, RW, BUF + 8 * PAGE, 8 * PAGE, PAGE), 0)
    assert.is(map(h, RW, BUF + 9 * PAGE, 3 * PAGE, PAGE), 0)
    assert.is(h.c.type1!.mappings().length, 3) // adjacent mappings stay separate entries
  })

  test(`${profile}: MAP of an unmapped vaddr → EFAULT; WRITE on a read-only page → EFAULT; READ of it is fine`, () => {
    const h = setup(profile)
    const before = stateOf(h)
    assert.is(map(h, RW, 0x9000_0000, 0, PAGE), 'EFAULT')
    assert.is(map(h, RW, RO_ARG, 0, PAGE), 'EFAULT')
    assert.is(map(h, W, RO_ARG, 0, PAGE), 'EFAULT')
    assert.is(stateOf(h), before)
    assert.is(map(h, R, RO_ARG, 0, PAGE), 0)
  })

  test(`${profile}: MAP beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK → ENOMEM, atomically`, () => {
    const h = setup(profile, { memlock: 4 * PAGE })
    assert.is(map(h, RW, BUF, 0, 3 * PAGE), 0)
    const before = stateOf(h)
    assert.is(map(h, RW, BUF + 8 * PAGE, 0x10_0000, 2 * PAGE), 'ENOMEM')
    assert.is(stateOf(h), before)
    assert.is(map(h, RW, BUF + 8 * PAGE, 0x10_0000, PAGE), 0)
    assert.is(h.mm.lockedVm, 4)
    // The same user pages mapped at a second IOVA count again.
    assert.is(map(h, RW, BUF, 0x20_0000, PAGE), 'ENOMEM')
  })

  test(`${profile}: with CAP_IPC_LOCK pages are still accounted but not limited`, () => {
    const h = setup(profile, { memlock: 0, capIpcLock: true })
    assert.is(map(h, RW, BUF, 0, 8 * PAGE), 0)
    assert.is(map(h, RW, BUF, 0x10_0000, 8 * PAGE), 0)
    assert.is(h.mm.lockedVm, 16)
    assert.is(unmap(h, 0, 0, 8 * PAGE).size, BigInt(8 * PAGE))
    assert.is(h.mm.lockedVm, 8)
  })

  test(`${profile}: a PFNMAP page (device MMIO mmap) is mapped without pinning or accounting`, () => {
    const h = setup(profile)
    h.mm.mmap(0x5000_0000, 2, { pfnmap: true })
    assert.is(map(h, RW, 0x5000_0000, 0, 2 * PAGE), 0)
    assert.is(h.mm.lockedVm, 0)
    assert.is(h.mm.pinCount, 0)
    assert.is(h.dom.entries.size, 2)
    assert.is(unmap(h, 0, 0, 2 * PAGE).size, BigInt(2 * PAGE))
  })

  test(`${profile}: failure atomicity — EFAULT, ENOMEM or an IOMMU error half way leave everything bit-identical`, () => {
    for (const scatter of [false, true]) {
      const h = setup(profile, { memlock: 10 * PAGE, bufPages: 0 })
      h.mm.mmap(BUF, 16, { scatter })
      assert.is(map(h, RW, BUF, 0x10_0000, 2 * PAGE), 0)
      const before = stateOf(h)
      // A hole at the 4th page.
      h.mm.pages.delete(BUF + 2 * PAGE + 3 * PAGE)
      assert.is(map(h, RW, BUF + 2 * PAGE, 0, 6 * PAGE), 'EFAULT')
      assert.is(stateOf(h), before)
      // The memlock limit reached at the 9th page.
      assert.is(map(h, RW, BUF + 6 * PAGE, 0, 9 * PAGE), 'ENOMEM')
      assert.is(stateOf(h), before)
      // The IOMMU refusing the 5th page.
      h.dom.failIova = 4n * BigInt(PAGE)
      assert.is(map(h, RW, BUF + 6 * PAGE, 0, 6 * PAGE), 'ERANGE')
      assert.is(stateOf(h), before)
      // The IOMMU refusing in a second domain.
      h.dom.failIova = undefined
      const d2 = new FakeDomain()
      h.c.attachGroup({ id: 2, domain: d2 })
      d2.failIova = 5n * BigInt(PAGE)
      const before2 = stateOf(h) + d2.snapshot()
      assert.is(map(h, RW, BUF + 6 * PAGE, 0, 6 * PAGE), 'ERANGE')
      assert.is(stateOf(h) + d2.snapshot(), before2)
    }
  })

  test(`${profile}: MAP copies nothing back; UNMAP writes back exactly 24 bytes with size = bytes unmapped`, () => {
    const h = setup(profile)
    const m = vfio_iommu_type1_dma_map.encode({ argsz: 40, flags: RW, vaddr: BigInt(BUF), iova: 0n, size: BigInt(2 * PAGE) })
    const canary = new Uint8Array(64).fill(0xa5)
    canary.set(m)
    h.mm.copyToUser(ARG, canary)
    assert.is(h.c.ioctl(h.task, VFIO_IOMMU_MAP_DMA, ARG), 0)
    assert.equal(h.mm.copyFromUser(ARG, 64), canary)
    for (const v2 of [false, true]) {
      const g = setup(profile, { v2 })
      assert.is(map(g, RW, BUF, 0, 2 * PAGE), 0)
      // v1 removes the whole mapping whose first byte is in range: size can exceed the request.
      const req = v2 ? 2 * PAGE : PAGE
      const buf = new Uint8Array(64).fill(0x5a)
      buf.set(vfio_iommu_type1_dma_unmap.encode({ argsz: 32, flags: 0, iova: 0n, size: BigInt(req) }))
      g.mm.copyToUser(ARG, buf)
      assert.is(g.c.ioctl(g.task, VFIO_IOMMU_UNMAP_DMA, ARG), 0)
      const want = buf.slice()
      new DataView(want.buffer).setBigUint64(16, BigInt(2 * PAGE), true)
      assert.equal(g.mm.copyFromUser(ARG, 64), want)
    }
  })

  test(`${profile}: UNMAP argsz < 24 → EINVAL; copy-in fault → EFAULT; failure writes nothing back`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    const r = unmap(h, 0, 0, PAGE, 23)
    assert.is(r.ret, 'EINVAL')
    assert.is(r.size, BigInt(PAGE)) // untouched
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, 0x7000_0000)), 'EFAULT')
    assert.is(h.c.type1!.mappings().length, 1)
  })

  test(`${profile}: UNMAP iova or size misaligned, or size 0 → EINVAL`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    assert.is(unmap(h, 0, 0x800, PAGE).ret, 'EINVAL')
    assert.is(unmap(h, 0, 0, PAGE - 1).ret, 'EINVAL')
    assert.is(unmap(h, 0, 0, 0).ret, 'EINVAL')
    assert.is(h.c.type1!.mappings().length, 1)
  })

  // Upstream: `copy_to_user(...) ? -EFAULT : 0`. [3.15] vfio_iommu_type1_ioctl
  // ended UNMAP_DMA (and GET_INFO) with `return copy_to_user(arg, &unmap, minsz);`:
  // the ioctl returned the number of bytes NOT copied (24 here), not -EFAULT.
  test(`${profile}: UNMAP copy-back to a read-only struct → ${profile === 'rfc-v5' ? '24 (bytes not copied, 3.15)' : 'EFAULT'} (the unmap itself happened)`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    // RO_ARG is readable but not writable; write the struct there through the fake's back door.
    h.mm.pages.get(RO_ARG)!.data.set(vfio_iommu_type1_dma_unmap.encode({ argsz: 24, flags: 0, iova: 0n, size: BigInt(PAGE) }))
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, RO_ARG)), profile === 'rfc-v5' ? 24 : 'EFAULT')
    assert.is(h.c.type1!.mappings().length, 0)
  })

  test(`${profile}: device-visible protection of a mapping`, () => {
    const h = setup(profile)
    const bit2 = profile === 'rfc-v5' ? VFIO_DMA_MAP_FLAG_EXEC : 0
    assert.is(map(h, R, BUF, 0, PAGE), 0)
    const p = h.dom.entries.get(0n)!.prot
    assert.equal(p, { read: true, write: false, cache: true, noexec: profile === 'rfc-v5' })
    if (bit2 !== 0) {
      assert.is(map(h, RW | bit2, BUF + PAGE, PAGE, PAGE), 0)
      assert.equal(h.dom.entries.get(BigInt(PAGE))!.prot, { read: true, write: true, cache: true, noexec: false })
    }
  })
}

// ---- rfc-v5 specifics -------------------------------------------------------------

test('rfc-v5: EXEC alone is a valid prot (IOMMU_EXEC counts), mapped readable and executable (decision 0606)', () => {
  const h = setup('rfc-v5')
  assert.is(map(h, VFIO_DMA_MAP_FLAG_EXEC, BUF, 0, PAGE), 0)
  assert.equal(h.dom.entries.get(0n)!.prot, { read: true, write: false, cache: true, noexec: false })
})

test('rfc-v5: IOMMU_CACHE only for a coherent IOMMU', () => {
  const h = setup('rfc-v5', { dom: new FakeDomain({ caps: ['dma_exec'] }) })
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  assert.is(h.dom.entries.get(0n)!.prot.cache, false)
})

test('rfc-v5: UNMAP flags must be 0 → EINVAL for ALL, VADDR, DIRTY', () => {
  const h = setup('rfc-v5')
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  for (const f of [1, 2, 4, 8]) assert.is(unmap(h, f, 0, PAGE).ret, 'EINVAL')
  assert.is(h.c.type1!.mappings().length, 1)
})

test('rfc-v5: no mapping limit (no dma_avail), no IOVA-range check (the SW-MSI window is mappable)', () => {
  const h = setup('rfc-v5', { dmaEntryLimit: 2, dom: new FakeDomain({ resv: [{ start: 0x800_0000n, length: 0x10_0000n, type: 'sw-msi' }] }) })
  for (let i = 0; i < 5; i++) assert.is(map(h, RW, BUF + i * PAGE, i * PAGE, PAGE), 0)
  assert.is(map(h, RW, BUF + 8 * PAGE, 0x800_0000, PAGE), 0)
})

test('rfc-v5: a wrapping UNMAP finds nothing: success, size 0 (3.15 had no wrap check)', () => {
  const h = setup('rfc-v5', { v2: false })
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  const r = unmap(h, 0, TOP - BigInt(PAGE), 2 * PAGE)
  assert.is(r.ret, 0)
  assert.is(r.size, 0n)
  assert.is(h.c.type1!.mappings().length, 1)
})

// ---- upstream specifics -----------------------------------------------------------

test('upstream: overflow is checked before prot and alignment (6.19 order)', () => {
  const h = setup('upstream')
  assert.is(map(h, 0, BUF + 1, TOP - BigInt(PAGE), 2 * PAGE), 'EOVERFLOW')
  assert.is(map(h, 0, BUF, 0, 0), 'EINVAL')
})

test('upstream: VADDR with READ/WRITE → EINVAL; VADDR on nothing → ENOENT', () => {
  const h = setup('upstream')
  assert.is(map(h, R | VFIO_DMA_MAP_FLAG_VADDR, BUF, 0, PAGE), 'EINVAL')
  assert.is(map(h, VFIO_DMA_MAP_FLAG_VADDR, BUF, 0, PAGE), 'ENOENT')
})

test('upstream: the update-vaddr flow (UNMAP VADDR, attach → EBUSY, MAP VADDR)', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
  assert.is(map(h, VFIO_DMA_MAP_FLAG_VADDR, BUF + 8 * PAGE, 0, 2 * PAGE), 'EINVAL') // vaddr still valid
  const r = unmap(h, VFIO_DMA_UNMAP_FLAG_VADDR, 0, 2 * PAGE)
  assert.equal([r.ret, r.size], [0, BigInt(2 * PAGE)])
  assert.is(h.dom.entries.size, 2) // DMA continues
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_VADDR, 0, 2 * PAGE).ret, 'EINVAL') // already invalid
  assert.is(errnoOf(() => { h.c.attachGroup({ id: 2, domain: new FakeDomain() }); return 0 }), 'EBUSY')
  assert.is(map(h, VFIO_DMA_MAP_FLAG_VADDR, BUF + 8 * PAGE, 0, PAGE), 'EINVAL') // size differs
  assert.is(map(h, VFIO_DMA_MAP_FLAG_VADDR, BUF + 8 * PAGE, 0, 2 * PAGE), 0)
  assert.is(h.c.type1!.mappings()[0]!.vaddr, BigInt(BUF + 8 * PAGE))
  h.c.attachGroup({ id: 2, domain: new FakeDomain() })
})

test('upstream: MAP VADDR from another process moves the locked-memory charge to it (ENOMEM if it cannot take it)', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, 3 * PAGE), 0)
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_VADDR, 0, 3 * PAGE).ret, 0)
  const other = new FakeMm()
  other.mmap(ARG, 1)
  const poor = { mm: other, capIpcLock: false, rlimitMemlock: 2 * PAGE }
  const req = vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_VADDR, vaddr: 0x7000_0000n, iova: 0n, size: BigInt(3 * PAGE) })
  other.copyToUser(ARG, req)
  assert.is(errnoOf(() => h.c.ioctl(poor, VFIO_IOMMU_MAP_DMA, ARG)), 'ENOMEM')
  assert.equal([h.mm.lockedVm, other.lockedVm], [3, 0])
  const rich = { mm: other, capIpcLock: false, rlimitMemlock: 3 * PAGE }
  assert.is(h.c.ioctl(rich, VFIO_IOMMU_MAP_DMA, ARG), 0)
  assert.equal([h.mm.lockedVm, other.lockedVm], [0, 3])
  // The pages stay pinned by the first process and are unpinned through it.
  assert.is(h.mm.pinCount, 3)
  assert.is(unmap(h, 0, 0, 3 * PAGE).ret, 0)
  assert.equal([h.mm.pinCount, h.mm.lockedVm, other.lockedVm], [0, 0, 0])
})

test('DMA_CC: rfc-v5 asks IOMMU_CAP_CACHE_COHERENCY, upstream enforce_cache_coherency', () => {
  for (const [profile, caps, want] of [
    ['rfc-v5', ['cache_coherency'], 1], ['rfc-v5', ['enforce_cache_coherency'], 0],
    ['upstream', ['cache_coherency'], 0], ['upstream', ['enforce_cache_coherency'], 1],
  ] as const) {
    const h = setup(profile, { dom: new FakeDomain({ caps: [...caps] }) })
    assert.is(h.c.ioctl(h.task, VFIO_CHECK_EXTENSION, 4), want, `${profile} ${caps[0]}`)
  }
})

test('upstream: UNMAP VADDR that meets an invalid mapping rolls back every mark of the call', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  assert.is(map(h, RW, BUF + PAGE, PAGE, PAGE), 0)
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_VADDR, PAGE, PAGE).ret, 0)
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_VADDR, 0, 2 * PAGE).ret, 'EINVAL')
  assert.equal(h.c.type1!.mappings().map(m => m.vaddrInvalid), [false, true])
})

test('upstream: UNMAP flags: unknown → EINVAL; DIRTY with ALL or VADDR → EINVAL; DIRTY needs argsz ≥ 48 and tracking', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, PAGE), 0)
  assert.is(unmap(h, 8, 0, PAGE).ret, 'EINVAL')
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0).ret, 'EINVAL')
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR, 0, PAGE).ret, 'EINVAL')
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, PAGE, 47).ret, 'EINVAL')
  assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, PAGE, 48).ret, 'EINVAL')
  assert.is(h.c.type1!.mappings().length, 1)
})

test('upstream: UNMAP ALL needs iova = size = 0, removes everything and returns the total', () => {
  for (const v2 of [false, true]) {
    const h = setup('upstream', { v2 })
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    assert.is(map(h, RW, BUF, 0x10_0000, 3 * PAGE), 0)
    assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_ALL, 0, PAGE).ret, 'EINVAL')
    assert.is(unmap(h, VFIO_DMA_UNMAP_FLAG_ALL, PAGE, 0).ret, 'EINVAL')
    const r = unmap(h, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0)
    assert.equal([r.ret, r.size], [0, BigInt(4 * PAGE)])
    assert.is(h.c.type1!.mappings().length, 0)
    assert.is(h.c.type1!.dmaAvail, 65535)
    assert.is(h.mm.lockedVm, 0)
    assert.is(h.mm.pinCount, 0)
  }
})

test('upstream: UNMAP with GET_DIRTY_BITMAP reads the vfio_bitmap after the struct: unreadable → EFAULT', () => {
  const h = setup('upstream')
  const at = ARG + 4 * PAGE - 24 // the bitmap would start on the unmapped page after ARG's four
  h.mm.copyToUser(at, vfio_iommu_type1_dma_unmap.encode({ argsz: 48, flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova: 0n, size: BigInt(PAGE) }))
  assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, at)), 'EFAULT')
})

test('RLIMIT_MEMLOCK failures are logged as the kernel does (pr_warn)', () => {
  for (const profile of UAPI_PROFILES) {
    const lines: string[] = []
    const h = setup(profile, { memlock: PAGE })
    const c = new VfioContainer({ profile, printk: (level, text) => lines.push(`${level}: ${text}`) })
    c.attachGroup({ id: 3, domain: new FakeDomain() })
    c.ioctl(h.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    h.mm.copyToUser(ARG, vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: RW, vaddr: BigInt(BUF), iova: 0n, size: BigInt(2 * PAGE) }))
    assert.is(errnoOf(() => c.ioctl(h.task, VFIO_IOMMU_MAP_DMA, ARG)), 'ENOMEM')
    assert.equal(lines, [profile === 'upstream'
      ? 'warning: vfio_pin_pages_remote: RLIMIT_MEMLOCK (4096) exceeded'
      : 'warning: vfio_pin_pages: RLIMIT_MEMLOCK (4096) exceeded'])
  }
})

test('upstream: UNMAP that wraps → EOVERFLOW (selftest vfio_dma_map_limit_test.overflow)', () => {
  const h = setup('upstream')
  assert.is(unmap(h, 0, TOP - BigInt(PAGE), 2 * PAGE).ret, 'EOVERFLOW')
})

test('upstream: dma_avail — one slot per MAP, ENOSPC at the limit with no state change, freed by UNMAP', () => {
  const h = setup('upstream', { dmaEntryLimit: 3 })
  for (let i = 0; i < 3; i++) assert.is(map(h, RW, BUF + i * PAGE, i * PAGE, PAGE), 0)
  assert.is(h.c.type1!.dmaAvail, 0)
  const before = stateOf(h)
  assert.is(map(h, RW, BUF + 8 * PAGE, 8 * PAGE, PAGE), 'ENOSPC')
  assert.is(stateOf(h), before)
  // EEXIST is checked before ENOSPC.
  assert.is(map(h, RW, BUF, 0, PAGE), 'EEXIST')
  assert.is(unmap(h, 0, PAGE, PAGE).size, BigInt(PAGE))
  assert.is(h.c.type1!.dmaAvail, 1)
  assert.is(map(h, RW, BUF + 8 * PAGE, 8 * PAGE, PAGE), 0)
})

test('upstream: MAP outside the usable IOVA ranges (SW-MSI window, beyond the aperture) → EINVAL', () => {
  const dom = new FakeDomain({ aperture: { start: 0n, end: (1n << 48n) - 1n }, resv: [{ start: 0x800_0000n, length: 0x10_0000n, type: 'sw-msi' }] })
  const h = setup('upstream', { dom })
  assert.is(map(h, RW, BUF, 0x800_0000, PAGE), 'EINVAL')
  assert.is(map(h, RW, BUF, 0x80f_f000, PAGE), 'EINVAL')
  assert.is(map(h, RW, BUF, 0x7ff_f000, 2 * PAGE), 'EINVAL') // straddles into the window
  assert.is(map(h, RW, BUF, 1n << 48n, PAGE), 'EINVAL')
  assert.is(map(h, RW, BUF, 0x7ff_f000, PAGE), 0)
  assert.is(map(h, RW, BUF, 0x810_0000, PAGE), 0)
  assert.is(map(h, RW, BUF, (1n << 48n) - BigInt(PAGE), PAGE), 0)
  // A mapping whose last byte is 2^64-1 passes the overflow check and fails the range check.
  assert.is(map(h, RW, BUF, TOP - BigInt(2 * PAGE), 2 * PAGE), 'EINVAL')
})

test.run()
