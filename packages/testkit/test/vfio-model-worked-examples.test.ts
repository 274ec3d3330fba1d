// The reference model itself, checked against the spec's literal examples
// (vfio.md §0, §8.2, §8.4, §10.8, §15) before it is used to judge the
// implementation: a model that got a worked example wrong would make the
// property tests accuse correct code.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as M from '../src/vfio/model.ts'
import { fvpFacts } from '../src/vfio/harness.ts'
import { getU32, getU64, filled, putU32 } from '../src/vfio/bytes.ts'
import { IRQ_SET, MAP_READ, MAP_WRITE } from '../src/vfio/constants.ts'

const RW_BASE = 0x7000_0000n

function env(profile: M.VfioProfile): M.VfioEnv {
  return { ...fvpFacts(profile, 'fvp-mmu400'), groupId: 0, userPages: v => (v >= RW_BASE && v < RW_BASE + 0x100_0000n ? 'rw' : 'none'), memlockPages: null }
}

/** A state with container slot 0 attached to the group and SET_IOMMU(type) done. */
function active(e: M.VfioEnv, type: 1 | 3): M.VfioModel {
  let s = M.initialModel(e)
  s = M.writeOverride(s, 0, 'vfio-platform').next
  s = M.writeUnbind(s, e, 0, 'dma-pl330').next
  s = M.writeDriversProbe(s, e, 0, 'dma-pl330').next
  s = M.openContainer(s, 0).next
  s = M.openGroup(s).next
  s = M.groupSetContainer(s, e, { kind: 'container', slot: 0 }).next
  const r = M.setIommu(s, e, 0, type)
  assert.equal(r.out, { ret: 0 })
  return r.next
}

function map(s: M.VfioModel, e: M.VfioEnv, iova: bigint, size: bigint): M.VfioModel {
  const r = M.mapDma(s, e, 0, { argsz: 32, flags: MAP_READ | MAP_WRITE, vaddr: RW_BASE + iova, iova, size })
  assert.equal(r.out, { ret: 0 }, `map 0x${iova.toString(16)}`)
  return r.next
}

function unmap(s: M.VfioModel, e: M.VfioEnv, iova: bigint, size: bigint): { out: M.Outcome; size: bigint; next: M.VfioModel } {
  const r = M.unmapDma(s, e, 0, { argsz: 24, flags: 0, iova, size })
  return { out: r.out, size: 'ret' in r.out ? getU64(r.bytes!, 16) : -1n, next: r.next }
}

test('§8.4 worked example: A=[0,8K) B=[8K,16K); v1 and v2 unmap laws', () => {
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const e = env(profile)
    const two = (type: 1 | 3): M.VfioModel => map(map(active(e, type), e, 0x10_0000n, 0x2000n), e, 0x10_2000n, 0x2000n)
    const v1 = two(1)
    const a = unmap(v1, e, 0x10_1000n, 0x3000n)
    assert.equal([a.out, a.size, M.slotContainer(a.next, 0)!.mappings.length], [{ ret: 0 }, 0n, 2], `${profile} v1 unmap(4K,12K)`)
    const b = unmap(v1, e, 0x10_0000n, 0x1000n)
    assert.equal([b.out, b.size, M.slotContainer(b.next, 0)!.mappings.length], [{ ret: 0 }, 0x2000n, 1], `${profile} v1 unmap(0,4K)`)
    const c = unmap(v1, e, 0x10_0000n, 0x3000n)
    assert.equal([c.out, c.size], [{ ret: 0 }, 0x4000n], `${profile} v1 unmap(0,12K)`)
    const v2 = two(3)
    for (const [i, s] of [[0x10_1000n, 0x3000n], [0x10_0000n, 0x1000n], [0x10_0000n, 0x3000n]] as const) {
      assert.equal(unmap(v2, e, i, s).out, { errno: ['EINVAL'] }, `${profile} v2 unmap(0x${i.toString(16)}, 0x${s.toString(16)})`)
    }
    assert.equal(unmap(v2, e, 0x10_0000n, 0x4000n).size, 0x4000n)
    assert.equal(unmap(v2, e, 0x20_0000n, 0x4000n).size, 0n, 'empty range: success, size 0')
  }
})

test('§8.2 / errata 1: upstream GET_INFO with one IOVA range chain layout (aligned caps), argsz protocol', () => {
  const e = { ...env('upstream'), iovaRanges: [[0n, 0xffff_ffffn]] as const }
  const s = active(e, 3)
  const small = filled(28, 0xaa)
  putU32(small, 0, 24)
  const r1 = M.iommuGetInfo(s, e, 0, small)
  assert.equal(getU32(r1.bytes!, 0), 104, 'required argsz = 88 + 16')
  assert.equal(getU32(r1.bytes!, 4), 3)
  assert.equal(getU32(r1.bytes!, 16), 0, 'cap_offset 0')
  assert.equal(r1.bytes![24], 0xaa, 'nothing past argsz')
  const big = filled(112, 0xaa)
  putU32(big, 0, 104)
  const r2 = M.iommuGetInfo(s, e, 0, big)
  const b = r2.bytes!
  assert.equal([getU32(b, 16), getU32(b, 24) & 0xffff, getU32(b, 28)], [24, 2, 56], 'migration @24 next 56')
  assert.equal([getU64(b, 40), getU64(b, 48)], [0x1000n, 0x1000_0000n])
  assert.equal([getU32(b, 56) & 0xffff, getU32(b, 60), getU32(b, 64)], [3, 72, 65535], 'dma_avail @56 next 72')
  assert.equal([getU32(b, 72) & 0xffff, getU32(b, 76), getU32(b, 80), getU64(b, 88), getU64(b, 96)], [1, 0, 1, 0n, 0xffff_ffffn], 'iova_range @72, ranges @88')
  assert.equal([...b.subarray(104)], [0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa])
  const tiny = filled(20, 0xaa)
  putU32(tiny, 0, 12)
  assert.equal(M.iommuGetInfo(s, e, 0, tiny).out, { errno: ['EINVAL'] }, 'argsz < 16')
})

test('rfc-v5 GET_INFO is the 16-byte struct with flags 0 (decision 0601)', () => {
  const e = env('rfc-v5')
  const s = active(e, 1)
  const b = filled(32, 0xaa)
  putU32(b, 0, 32)
  const r = M.iommuGetInfo(s, e, 0, b).bytes!
  assert.equal([getU32(r, 0), getU32(r, 4), getU64(r, 8), r[16]], [32, 0, e.pgsizeBitmap, 0xaa])
})

test('§5 / §15.2-3: CHECK_EXTENSION before SET_IOMMU, SET_IOMMU errnos', () => {
  const e = env('upstream')
  let s = M.initialModel(e)
  s = M.openContainer(s, 0).next
  assert.equal([0, 1, 2, 3, 4, 5, 9, 10].map(x => M.checkExtension(s, e, 0, x).out), [0, 1, 0, 1, 0, 0, 1, 0].map(ret => ({ ret })))
  assert.equal(M.setIommu(s, e, 0, 1).out, { errno: ['EINVAL'] }, 'no group')
  const a = active(e, 1)
  assert.equal(M.setIommu(a, e, 0, 3).out, { errno: ['EINVAL'] }, 'second SET_IOMMU')
  assert.equal(M.containerOther(s, 0).out, { errno: ['EINVAL'] }, 'unknown request without IOMMU')
  assert.equal(M.containerOther(a, 0).out, { errno: ['ENOTTY'] }, 'with IOMMU')
})

test('§0.2 / §15.7: closing the container keeps mappings while the group is attached; the last detach frees them', () => {
  const e = env('upstream')
  let s = map(active(e, 3), e, 0x10_0000n, 0x3000n)
  assert.is(s.lockedPages, 3)
  s = M.closeContainer(s, 0).next
  assert.is(s.containers.length, 1)
  assert.is(s.lockedPages, 3)
  s = M.groupUnsetContainer(s).next
  assert.is(s.containers.length, 0)
  assert.is(s.lockedPages, 0)
})

test('§15.28: automask law — k loopbacks without UNMASK signal once; with UNMASK each time, k times', () => {
  const e = env('upstream')
  let s = active(e, 3)
  s = M.groupGetDeviceFd(s, e, '2c0a0000.dma', 0).next
  const set = (flags: number, data: M.IrqData): void => {
    const r = M.deviceSetIrqs(s, e, 0, { flags, index: 1, start: 0, count: 1, argszDelta: 0, data })
    assert.equal(r.out, { ret: 0 })
    s = r.next
  }
  set(IRQ_SET.ACTION_TRIGGER | IRQ_SET.DATA_EVENTFD, { kind: 'eventfd', fd: 'efd' })
  for (let i = 0; i < 3; i++) set(IRQ_SET.ACTION_TRIGGER | IRQ_SET.DATA_NONE, { kind: 'none' })
  assert.is(s.eventCount, 1n)
  for (let i = 0; i < 3; i++) {
    set(IRQ_SET.ACTION_UNMASK | IRQ_SET.DATA_NONE, { kind: 'none' })
    set(IRQ_SET.ACTION_TRIGGER | IRQ_SET.DATA_BOOL, { kind: 'bool', value: 1 })
  }
  assert.is(s.eventCount, 4n)
  // §0.7: two ACTION bits → ENOTTY; two DATA bits → EINVAL
  const bad = M.deviceSetIrqs(s, e, 0, { flags: IRQ_SET.ACTION_MASK | IRQ_SET.ACTION_UNMASK | IRQ_SET.DATA_NONE, index: 0, start: 0, count: 1, argszDelta: 0, data: { kind: 'none' } })
  assert.equal(bad.out, { errno: ['ENOTTY'] })
  const bad2 = M.deviceSetIrqs(s, e, 0, { flags: IRQ_SET.ACTION_MASK | IRQ_SET.DATA_NONE | IRQ_SET.DATA_BOOL, index: 0, start: 0, count: 1, argszDelta: 0, data: { kind: 'none' } })
  assert.equal(bad2.out, { errno: ['EINVAL'] })
})

test('§8.3 / §15.20: MAP failure atomicity under RLIMIT_MEMLOCK, and EOVERFLOW vs EINVAL per profile', () => {
  const e = { ...env('upstream'), memlockPages: 4 }
  let s = active(e, 3)
  s = map(s, e, 0x10_0000n, 0x3000n)
  const r = M.mapDma(s, e, 0, { argsz: 32, flags: 3, vaddr: RW_BASE, iova: 0x20_0000n, size: 0x2000n })
  assert.equal(r.out, { errno: ['ENOMEM'] })
  assert.is(r.next, s, 'no state change')
  const top = 0xffff_ffff_ffff_f000n
  assert.equal(M.mapDma(s, e, 0, { argsz: 32, flags: 3, vaddr: RW_BASE, iova: top, size: 0x2000n }).out, { errno: ['EOVERFLOW'] })
  const v5 = env('rfc-v5')
  assert.equal(M.mapDma(active(v5, 1), v5, 0, { argsz: 32, flags: 3, vaddr: RW_BASE, iova: top, size: 0x2000n }).out, { errno: ['EINVAL'] })
  // decision 0603: a wrapping rfc-v5 UNMAP finds nothing
  const u = M.unmapDma(active(v5, 1), v5, 0, { argsz: 24, flags: 0, iova: top, size: 0x2000n })
  assert.equal([u.out, getU64(u.bytes!, 16)], [{ ret: 0 }, 0n])
})

test('§10.9: a virqfd on a counting eventfd runs at once without consuming; removing it clears the counter', () => {
  const e = env('upstream')
  let s = active(e, 3)
  s = M.groupGetDeviceFd(s, e, '2c0a0000.dma', 0).next
  const irq = (flags: number, data: M.IrqData): void => {
    const r = M.deviceSetIrqs(s, e, 0, { flags, index: 0, start: 0, count: 1, argszDelta: 0, data })
    assert.equal(r.out, { ret: 0 })
    s = r.next
  }
  irq(IRQ_SET.ACTION_MASK | IRQ_SET.DATA_NONE, { kind: 'none' })
  s = M.writeVirqEventfd(s, 'ufd', 2n).next // nobody listens yet
  assert.is(s.virqCount.ufd, 2n)
  irq(IRQ_SET.ACTION_UNMASK | IRQ_SET.DATA_EVENTFD, { kind: 'eventfd', fd: 'ufd' })
  assert.equal([s.devices[0]!.irqs[0]!.masked, s.virqCount.ufd], [false, 2n], 'handler ran, count kept')
  assert.equal(M.deviceSetIrqs(s, e, 0, { flags: IRQ_SET.ACTION_UNMASK | IRQ_SET.DATA_EVENTFD, index: 0, start: 0, count: 1, argszDelta: 0, data: { kind: 'eventfd', fd: 'ufd' } }).out, { errno: ['EBUSY'] })
  irq(IRQ_SET.ACTION_UNMASK | IRQ_SET.DATA_EVENTFD, { kind: 'eventfd', fd: 'minus1' })
  assert.is(s.virqCount.ufd, 0n, 'eventfd_ctx_remove_wait_queue read the counter')
})

test('§7 / decision 0552: dma-pl330 cannot bind into a group whose DMA ownership VFIO holds (drivers_probe EINVAL)', () => {
  const e: M.VfioEnv = { ...fvpFacts('upstream', 'fvp-mmu400-shared-group'), groupId: 0, userPages: () => 'rw', memlockPages: null }
  let s = M.initialModel(e)
  for (const i of [0, 1]) {
    s = M.writeOverride(s, i, 'vfio-platform').next
    s = M.writeUnbind(s, e, i, 'dma-pl330').next
    s = M.writeDriversProbe(s, e, i, 'dma-pl330').next
  }
  s = M.openContainer(s, 0).next
  s = M.openGroup(s).next
  s = M.groupSetContainer(s, e, { kind: 'container', slot: 0 }).next
  s = M.writeUnbind(s, e, 1, 'vfio-platform').next
  s = M.writeOverride(s, 1, '\n').next
  const r = M.writeDriversProbe(s, e, 1, 'dma-pl330')
  assert.equal(r.out, { errno: ['EINVAL'] })
  assert.is(r.next.devices[1]!.driver, null)
  s = M.groupUnsetContainer(s).next
  assert.is(M.writeDriversProbe(s, e, 1, 'dma-pl330').next.devices[1]!.driver, 'dma-pl330', 'binds once VFIO let go')
})

test.run()
