// Accounting invariants as properties (spec vfio.md §15 11, 14, 20): the
// memlock limit and the dma_avail limit against a model written from the
// invariant text, and failure atomicity under random IOMMU/page faults.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { UAPI_PROFILES, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '@vfio-sim/uapi'
import { BUF, FakeDomain, PAGE, map, setup, stateOf, unmap } from './vfio-type1-fakes.ts'

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE

type Op = { unmap: boolean; i: number; s: number; v: number }
const opArb: fc.Arbitrary<Op> = fc.record({
  unmap: fc.boolean(),
  i: fc.integer({ min: 0, max: 15 }),
  s: fc.integer({ min: 1, max: 6 }),
  v: fc.integer({ min: 0, max: 10 }),
})

for (const profile of UAPI_PROFILES) {
  test(`${profile}: Σ pinned pages ≤ RLIMIT_MEMLOCK/PAGE_SIZE; the MAP that would exceed it fails ENOMEM (same pages count twice)`, () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 24 }), fc.array(opArb, { maxLength: 25 }), (limitPages, ops) => {
      const h = setup(profile, { memlock: limitPages * PAGE, bufPages: 16 })
      // Model: extents [start, end) in pages; a map succeeds iff it overlaps none and fits the limit.
      let live: { start: number; end: number }[] = []
      const used = (): number => live.reduce((n, m) => n + m.end - m.start, 0)
      for (const op of ops) {
        if (op.unmap) {
          // v2 exact unmap of a live extent, when there is one starting at i.
          const m = live.find(e => e.start === op.i)
          if (m === undefined) continue
          const r = unmap(h, 0, m.start * PAGE, (m.end - m.start) * PAGE)
          if (r.ret !== 0 || r.size !== BigInt((m.end - m.start) * PAGE)) return false
          live = live.filter(e => e !== m)
        } else {
          const overlaps = live.some(e => op.i < e.end && e.start < op.i + op.s)
          const want = overlaps ? 'EEXIST' : used() + op.s > limitPages ? 'ENOMEM' : 0
          const got = map(h, RW, BUF + op.v * PAGE, op.i * PAGE, op.s * PAGE)
          if (got !== want) throw new Error(`map(${op.i},${op.s}) → ${got}, model ${want} (used ${used()}, limit ${limitPages})`)
          if (got === 0) live.push({ start: op.i, end: op.i + op.s })
        }
        if (h.mm.lockedVm !== used() || h.mm.lockedVm > limitPages) return false
      }
      return true
    }), { numRuns: 120 })
  })

  test(`${profile}: a MAP failing at a random page (hole, read-only page, IOMMU error) changes nothing`, () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 11 }), fc.constantFrom('hole', 'readonly', 'iommu', 'iommu2'), fc.boolean(),
      (npages, failAt, how, scatter) => {
        fc.pre(failAt < npages)
        const h = setup(profile, { bufPages: 0 })
        h.mm.mmap(BUF, 32, { scatter })
        const d2 = new FakeDomain()
        h.c.attachGroup({ id: 2, domain: d2 })
        assert.is(map(h, RW, BUF + 20 * PAGE, 0x100_0000, 2 * PAGE), 0)
        const va = BUF + failAt * PAGE
        if (how === 'hole') h.mm.pages.delete(va)
        if (how === 'readonly') h.mm.pages.get(va)!.writable = false
        if (how === 'iommu') h.dom.failIova = BigInt(failAt * PAGE)
        if (how === 'iommu2') d2.failIova = BigInt(failAt * PAGE)
        const before = stateOf(h) + d2.snapshot()
        const ret = map(h, RW, BUF, 0, npages * PAGE)
        assert.is(ret, how === 'hole' || how === 'readonly' ? 'EFAULT' : 'ERANGE')
        assert.is(stateOf(h) + d2.snapshot(), before)
        return true
      }), { numRuns: 150 })
  })
}

test('upstream: dma_avail + live mappings == the limit; MAP at 0 available → ENOSPC with no change', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 6 }), fc.array(opArb, { maxLength: 25 }), (limit, ops) => {
    const h = setup('upstream', { dmaEntryLimit: limit, bufPages: 16 })
    let live: { start: number; end: number }[] = []
    for (const op of ops) {
      if (op.unmap) {
        const m = live.find(e => e.start === op.i)
        if (m === undefined) continue
        if (unmap(h, 0, m.start * PAGE, (m.end - m.start) * PAGE).ret !== 0) return false
        live = live.filter(e => e !== m)
      } else {
        const overlaps = live.some(e => op.i < e.end && e.start < op.i + op.s)
        const want = overlaps ? 'EEXIST' : live.length >= limit ? 'ENOSPC' : 0
        const before = stateOf(h)
        const got = map(h, RW, BUF + op.v * PAGE, op.i * PAGE, op.s * PAGE)
        if (got !== want) throw new Error(`map → ${got}, model ${want}`)
        if (got === 0) live.push({ start: op.i, end: op.i + op.s })
        else if (stateOf(h) !== before) return false
      }
      if (h.c.type1!.dmaAvail + h.c.type1!.mappings().length !== limit) return false
    }
    return true
  }), { numRuns: 120 })
})

test.run()
