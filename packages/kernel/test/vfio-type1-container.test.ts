// The container state machine (spec vfio.md §5, §7; invariants §15 1–3, 7):
// GET_API_VERSION, CHECK_EXTENSION before/after SET_IOMMU per profile,
// SET_IOMMU errors, unknown-ioctl errno, group attach/detach and replay.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  UAPI_PROFILES,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GET_API_VERSION,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_ENABLE,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type UapiProfile,
} from '@vfio-sim/uapi'
import { VfioContainer } from '../src/drivers/vfio/container.ts'
import type { VfioIommuGroup, VfioTask } from '../src/drivers/vfio/iommu_types.ts'
import { ARG, BUF, FakeDomain, FakeMm, PAGE, errnoOf, map, setup, unmap } from './vfio-type1-fakes.ts'

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE

function bare(profile: UapiProfile): { c: VfioContainer; task: VfioTask; mm: FakeMm } {
  const mm = new FakeMm()
  mm.mmap(ARG, 4)
  return { c: new VfioContainer({ profile }), task: { mm, capIpcLock: false, rlimitMemlock: 1 << 23 }, mm }
}

const ext = (c: VfioContainer, task: VfioTask, id: number | bigint): number | string => errnoOf(() => c.ioctl(task, VFIO_CHECK_EXTENSION, id))

for (const profile of UAPI_PROFILES) {
  test(`${profile}: GET_API_VERSION is 0 in every state`, () => {
    const { c, task } = bare(profile)
    assert.is(c.ioctl(task, VFIO_GET_API_VERSION, 0), 0)
    const g: VfioIommuGroup = { id: 1, domain: new FakeDomain() }
    c.attachGroup(g)
    assert.is(c.ioctl(task, VFIO_GET_API_VERSION, 12345), 0)
    c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    assert.is(c.ioctl(task, VFIO_GET_API_VERSION, 0), 0)
    c.detachGroup(g)
    assert.is(c.ioctl(task, VFIO_GET_API_VERSION, 0), 0)
  })

  test(`${profile}: SET_IOMMU without a group → EINVAL; twice → EINVAL`, () => {
    const { c, task } = bare(profile)
    assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)), 'EINVAL')
    c.attachGroup({ id: 1, domain: new FakeDomain() })
    assert.is(c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0)
    assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)), 'EINVAL')
    assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EINVAL')
    assert.is(c.type1?.v2, false)
  })

  test(`${profile}: SET_IOMMU with a type type1 does not claim → ENODEV`, () => {
    for (const t of [0, 2, 4, 7, 8, 10, 11, 0x1_0000_0001]) {
      const { c, task } = bare(profile)
      c.attachGroup({ id: 1, domain: new FakeDomain() })
      assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, t)), 'ENODEV', `type ${t}`)
      assert.is(c.iommuSet, false)
    }
  })

  test(`${profile}: before SET_IOMMU, container ioctls other than the three → EINVAL (not ENOTTY)`, () => {
    const { c, task } = bare(profile)
    for (const r of [VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA, VFIO_IOMMU_ENABLE, 0x3b80, 0x1234]) {
      assert.is(errnoOf(() => c.ioctl(task, r, ARG)), 'EINVAL')
    }
    c.attachGroup({ id: 1, domain: new FakeDomain() })
    assert.is(errnoOf(() => c.ioctl(task, VFIO_IOMMU_MAP_DMA, ARG)), 'EINVAL')
  })

  test(`${profile}: with an IOMMU, unknown requests → ENOTTY`, () => {
    const h = setup(profile)
    for (const r of [VFIO_IOMMU_ENABLE, 0x3b80, 0x1234, 0x3b76]) assert.is(errnoOf(() => h.c.ioctl(h.task, r, ARG)), 'ENOTTY')
  })

  test(`${profile}: CHECK_EXTENSION never fails; integer arg compared as unsigned long`, () => {
    const { c, task } = bare(profile)
    assert.is(ext(c, task, -1), 0)
    assert.is(ext(c, task, 0x1_0000_0001n), 0)
    assert.is(ext(c, task, (1n << 64n) + 1n), 1) // wraps to 1 as an unsigned long
  })

  test(`${profile}: the last group leaving releases the IOMMU and every mapping; SET_IOMMU works again`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, 4 * PAGE), 0)
    assert.is(h.mm.lockedVm, 4)
    assert.is(h.mm.pinCount, 4)
    assert.is(h.dom.entries.size, 4)
    h.c.detachGroup(h.group)
    assert.is(h.c.iommuSet, false)
    assert.is(h.mm.lockedVm, 0)
    assert.is(h.mm.pinCount, 0)
    assert.is(h.dom.entries.size, 0)
    assert.is(map(h, RW, BUF, 0, PAGE), 'EINVAL')
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EINVAL') // no group
    h.c.attachGroup(h.group)
    assert.is(h.c.ioctl(h.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0)
    assert.equal(h.c.type1!.mappings(), [])
    assert.is(unmap(h, 0, 0, 4 * PAGE).size, 0n)
  })

  test(`${profile}: a second group gets every mapping replayed into its domain; mappings live until the last group leaves`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
    assert.is(map(h, VFIO_DMA_MAP_FLAG_READ, BUF + 8 * PAGE, 0x10_0000, 3 * PAGE), 0)
    const dom2 = new FakeDomain()
    const g2: VfioIommuGroup = { id: 8, domain: dom2 }
    h.c.attachGroup(g2)
    assert.is(dom2.snapshot(), h.dom.snapshot())
    // New mappings go to both domains.
    assert.is(map(h, RW, BUF + 16 * PAGE, 0x20_0000, PAGE), 0)
    assert.is(dom2.entries.size, 6)
    assert.is(h.dom.entries.size, 6)
    h.c.detachGroup(h.group)
    assert.is(h.c.iommuSet, true)
    assert.is(h.c.type1!.mappings().length, 3)
    assert.is(h.dom.entries.size, 0) // its domain went away with the group
    assert.is(dom2.entries.size, 6)
    assert.is(h.mm.lockedVm, 6)
    h.c.detachGroup(g2)
    assert.is(h.c.iommuSet, false)
    assert.is(dom2.entries.size, 0)
    assert.is(h.mm.lockedVm, 0)
    assert.is(h.mm.pinCount, 0)
  })

  test(`${profile}: groups sharing a domain map once; attaching the same group twice → EINVAL`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    const calls = h.dom.mapCalls
    const g2: VfioIommuGroup = { id: 9, domain: h.dom }
    h.c.attachGroup(g2)
    assert.is(h.dom.mapCalls, calls)
    assert.is(errnoOf(() => { h.c.attachGroup(g2); return 0 }), 'EINVAL')
    h.c.detachGroup(h.group)
    assert.is(h.dom.entries.size, 1) // the domain still has a group
    h.c.detachGroup(g2)
    assert.is(h.dom.entries.size, 0)
  })

  test(`${profile}: a replay failure leaves the group out and the new domain empty`, () => {
    const h = setup(profile)
    assert.is(map(h, RW, BUF, 0, PAGE), 0)
    assert.is(map(h, RW, BUF + PAGE * 4, 0x4000, PAGE), 0)
    const dom2 = new FakeDomain()
    dom2.failIova = 0x4000n
    const g2: VfioIommuGroup = { id: 8, domain: dom2 }
    assert.is(errnoOf(() => { h.c.attachGroup(g2); return 0 }), 'ERANGE')
    assert.is(dom2.entries.size, 0)
    assert.is(h.c.groups.length, 1)
    assert.is(h.c.type1!.groupCount, 1)
  })

  test(`${profile}: SET_IOMMU attaches groups added before it`, () => {
    const { c, task } = bare(profile)
    const d1 = new FakeDomain()
    const d2 = new FakeDomain({ caps: ['cache_coherency'] })
    c.attachGroup({ id: 1, domain: d1 })
    c.attachGroup({ id: 2, domain: d2 })
    c.ioctl(task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    assert.is(c.type1!.groupCount, 2)
    assert.is(c.type1!.v2, true)
  })
}

// ---- CHECK_EXTENSION per profile ------------------------------------------------

test('upstream: CHECK_EXTENSION before SET_IOMMU = {1:1, 3:1, 9:1, others 0}', () => {
  const { c, task } = bare('upstream')
  const want: Record<number, number> = { 1: 1, 3: 1, 9: 1 }
  for (let id = 0; id <= 12; id++) assert.is(ext(c, task, id), want[id] ?? 0, `ext ${id}`)
  c.attachGroup({ id: 1, domain: new FakeDomain() })
  for (let id = 0; id <= 12; id++) assert.is(ext(c, task, id), want[id] ?? 0, `ext ${id} with a group`)
})

test('upstream: CHECK_EXTENSION after SET_IOMMU adds DMA_CC (iff every domain is coherent) and UPDATE_VADDR', () => {
  const h = setup('upstream')
  const want: Record<number, number> = { 1: 1, 3: 1, 4: 1, 9: 1, 10: 1 }
  for (let id = 0; id <= 12; id++) assert.is(ext(h.c, h.task, id), want[id] ?? 0, `ext ${id}`)
  h.c.attachGroup({ id: 2, domain: new FakeDomain({ caps: ['cache_coherency'] }) })
  assert.is(ext(h.c, h.task, 4), 0) // coherent walks but no enforce_cache_coherency (arm-smmu v2)
})

test('upstream: SET_IOMMU(VFIO_UNMAP_ALL) is claimed by check_extension but open() refuses it → EINVAL; NESTING(6) → ENODEV', () => {
  const { c, task } = bare('upstream')
  c.attachGroup({ id: 1, domain: new FakeDomain() })
  assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, 9)), 'EINVAL')
  assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, 6)), 'ENODEV')
  assert.is(c.iommuSet, false)
})

test('rfc-v5: CHECK_EXTENSION before SET_IOMMU = {1:1, 3:1, others 0}; PROT_EXEC (5) needs an IOMMU', () => {
  const { c, task } = bare('rfc-v5')
  const want: Record<number, number> = { 1: 1, 3: 1 }
  for (let id = 0; id <= 12; id++) assert.is(ext(c, task, id), want[id] ?? 0, `ext ${id}`)
})

test('rfc-v5: after SET_IOMMU, PROT_EXEC = 1 iff at least one domain has the DMA_EXEC capability', () => {
  const noExec = setup('rfc-v5', { dom: new FakeDomain({ caps: ['cache_coherency'] }) })
  assert.is(ext(noExec.c, noExec.task, 5), 0)
  noExec.c.attachGroup({ id: 2, domain: new FakeDomain({ caps: ['dma_exec'] }) })
  assert.is(ext(noExec.c, noExec.task, 5), 1)
  const h = setup('rfc-v5')
  const want: Record<number, number> = { 1: 1, 3: 1, 4: 1, 5: 1 }
  for (let id = 0; id <= 12; id++) assert.is(ext(h.c, h.task, id), want[id] ?? 0, `ext ${id}`)
  assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_SET_IOMMU, 5)), 'EINVAL') // already set
})

test('rfc-v5: SET_IOMMU(5 = PROT_EXEC) or UNMAP_ALL(9) → ENODEV (not an IOMMU type)', () => {
  for (const t of [5, 9, 6]) {
    const { c, task } = bare('rfc-v5')
    c.attachGroup({ id: 1, domain: new FakeDomain() })
    assert.is(errnoOf(() => c.ioctl(task, VFIO_SET_IOMMU, t)), 'ENODEV', `type ${t}`)
  }
})

test('rfc-v5: DIRTY_PAGES does not exist → ENOTTY; upstream v1 → EACCES, v2 START/STOP → 0', () => {
  const old = setup('rfc-v5')
  assert.is(errnoOf(() => old.c.ioctl(old.task, VFIO_IOMMU_DIRTY_PAGES, ARG)), 'ENOTTY')
  const v1 = setup('upstream', { v2: false })
  assert.is(errnoOf(() => v1.c.ioctl(v1.task, VFIO_IOMMU_DIRTY_PAGES, ARG)), 'EACCES')
  const v2 = setup('upstream')
  const put = (argsz: number, flags: number): number | string => {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setUint32(0, argsz, true)
    new DataView(b.buffer).setUint32(4, flags, true)
    v2.mm.copyToUser(ARG, b)
    return errnoOf(() => v2.c.ioctl(v2.task, VFIO_IOMMU_DIRTY_PAGES, ARG))
  }
  assert.is(put(8, 1), 0)
  assert.is(put(8, 2), 0)
  assert.is(put(7, 1), 'EINVAL')
  assert.is(put(8, 3), 'EINVAL')
  assert.is(put(8, 0), 'EINVAL')
  assert.is(put(8, 8), 'EINVAL')
  assert.is(errnoOf(() => v2.c.ioctl(v2.task, VFIO_IOMMU_DIRTY_PAGES, 0x7000_0000)), 'EFAULT')
})

// ---- attach checks (upstream) ---------------------------------------------------

test('upstream: a group without MSI isolation → EPERM unless allow_unsafe_interrupts; rfc-v5 never checks', () => {
  const unsafe: VfioIommuGroup = { id: 3, domain: new FakeDomain(), msiIsolated: false }
  const up = bare('upstream')
  up.c.attachGroup(unsafe)
  assert.is(errnoOf(() => up.c.ioctl(up.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EPERM')
  assert.is(up.c.iommuSet, false)
  const lines: string[] = []
  const logged = new VfioContainer({ profile: 'upstream', printk: (_l, t) => lines.push(t) })
  logged.attachGroup(unsafe)
  assert.is(errnoOf(() => logged.ioctl(up.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EPERM')
  assert.equal(lines, ['vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the module param "allow_unsafe_interrupts" to enable VFIO IOMMU support on this platform'])
  const allowed = new VfioContainer({ profile: 'upstream', allowUnsafeInterrupts: true })
  allowed.attachGroup(unsafe)
  assert.is(allowed.ioctl(up.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0)
  const old = bare('rfc-v5')
  old.c.attachGroup(unsafe)
  assert.is(old.c.ioctl(old.task, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0)
})

test('upstream: a new domain whose aperture or reserved regions cut an existing mapping → EINVAL', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0x1_0000_0000, PAGE), 0)
  const narrow = new FakeDomain({ aperture: { start: 0n, end: 0xffff_ffffn } })
  assert.is(errnoOf(() => { h.c.attachGroup({ id: 2, domain: narrow }); return 0 }), 'EINVAL')
  const resv = new FakeDomain({ resv: [{ start: 0x1_0000_0000n, length: 0x1000n, type: 'reserved' }] })
  assert.is(errnoOf(() => { h.c.attachGroup({ id: 3, domain: resv }); return 0 }), 'EINVAL')
  const relaxable = new FakeDomain({ resv: [{ start: 0x1_0000_0000n, length: 0x1000n, type: 'direct-relaxable' }] })
  h.c.attachGroup({ id: 4, domain: relaxable })
  assert.is(relaxable.entries.size, 1)
  assert.is(h.c.groups.length, 2)
})

test.run()
