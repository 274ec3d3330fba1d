// The TYPE1 v1 and v2 unmap laws (spec vfio.md §15 invariants 13, 16, 17)
// as properties: random MAP/UNMAP sequences run against the container and
// against a tiny model written from the invariant text alone. After every
// step the mappings, the returned size/errno, the IOMMU translations, the
// locked-page count and dma_avail must agree with the model.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { UAPI_PROFILES, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '@vfio-sim/uapi'
import { BUF, PAGE, map, setup, unmap } from './vfio-type1-fakes.ts'

/** A mapping of the model, in pages: [start, end). */
interface Extent { start: number; end: number }

/** The model: only the invariant text, in page units. */
class UnmapLawModel {
  extents: Extent[] = []
  readonly v2: boolean
  constructor(v2: boolean) {
    this.v2 = v2
  }

  /** §15.12–13: size 0 → EINVAL; overlap with any live mapping → EEXIST; else a new, separate entry. */
  map(i: number, s: number): number | string {
    if (s === 0) return 'EINVAL'
    if (this.extents.some(m => i < m.end && m.start < i + s)) return 'EEXIST'
    this.extents.push({ start: i, end: i + s })
    this.extents.sort((a, b) => a.start - b.start)
    return 0
  }

  /** §15.16 (v2) / §15.17 (v1). Returns [ret, size in pages]. */
  unmap(i: number, s: number): [number | string, number] {
    if (s === 0) return ['EINVAL', -1]
    const last = i + s
    let removed: Extent[]
    if (this.v2) {
      // -EINVAL iff some mapping straddles i or i+s; else the mappings fully inside.
      if (this.extents.some(m => (m.start < i && i < m.end) || (m.start < last && last < m.end))) return ['EINVAL', -1]
      removed = this.extents.filter(m => i <= m.start && m.end <= last)
    } else {
      // F = lowest mapping with end > i; F.start < i → success, nothing removed.
      const f = this.extents.filter(m => m.end > i).sort((a, b) => a.start - b.start)[0]
      if (f !== undefined && f.start < i) return [0, 0]
      removed = this.extents.filter(m => m.start >= i && m.start < last)
    }
    this.extents = this.extents.filter(m => !removed.includes(m))
    return [0, removed.reduce((n, m) => n + (m.end - m.start), 0)]
  }

  pages(): number {
    return this.extents.reduce((n, m) => n + (m.end - m.start), 0)
  }
}

type Op = { kind: 'map' | 'unmap'; i: number; s: number }
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<'map' | 'unmap'>('map', 'map', 'unmap'),
  i: fc.integer({ min: 0, max: 31 }),
  s: fc.integer({ min: 0, max: 8 }),
})

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE

for (const profile of UAPI_PROFILES) {
  for (const v2 of [false, true]) {
    test(`${profile} ${v2 ? 'TYPE1v2' : 'TYPE1'}: MAP/UNMAP sequences obey the ${v2 ? 'v2' : 'v1'} unmap law`, () => {
      fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), ops => {
        const h = setup(profile, { v2, bufPages: 40 })
        const model = new UnmapLawModel(v2)
        for (const op of ops) {
          if (op.kind === 'map') {
            const got = map(h, RW, BUF + op.i * PAGE, op.i * PAGE, op.s * PAGE)
            const want = model.map(op.i, op.s)
            if (got !== want) throw new Error(`map(${op.i}, ${op.s}) → ${got}, model ${want}`)
          } else {
            const got = unmap(h, 0, op.i * PAGE, op.s * PAGE)
            const [ret, pages] = model.unmap(op.i, op.s)
            if (got.ret !== ret) throw new Error(`unmap(${op.i}, ${op.s}) → ${got.ret}, model ${ret}`)
            if (ret === 0 && got.size !== BigInt(pages * PAGE)) throw new Error(`unmap(${op.i}, ${op.s}) size ${got.size}, model ${pages * PAGE}`)
          }
          const live = h.c.type1!.mappings().map(m => ({ start: Number(m.iova) / PAGE, end: Number(m.iova + m.size) / PAGE }))
          assert.equal(live, model.extents)
          assert.is(h.dom.entries.size, model.pages())
          assert.is(h.mm.lockedVm, model.pages())
          assert.is(h.mm.pinCount, model.pages())
          if (profile === 'upstream') assert.is(h.c.type1!.dmaAvail + live.length, 65535)
        }
        return true
      }), { numRuns: 150 })
    })
  }
}

// The spec's worked example (§8.4): A=[0,8K) B=[8K,16K).
test('worked example: v1 and v2 answers to unmap(4K,12K), (0,4K), (0,12K)', () => {
  for (const profile of UAPI_PROFILES) {
    const want = {
      v1: [[0, 0n, 2], [0, 8192n, 1], [0, 16384n, 0]],
      v2: [['EINVAL', 2], ['EINVAL', 2], ['EINVAL', 2]],
    }
    const reqs: [number, number][] = [[0x1000, 0x3000], [0, 0x1000], [0, 0x3000]]
    for (const v2 of [false, true]) {
      reqs.forEach(([iova, size], k) => {
        const h = setup(profile, { v2 })
        map(h, RW, BUF, 0, 0x2000)
        map(h, RW, BUF + 0x2000, 0x2000, 0x2000)
        const r = unmap(h, 0, iova, size)
        const left = h.c.type1!.mappings().length
        if (v2) assert.equal([r.ret, left], want.v2[k])
        else assert.equal([r.ret, r.size, left], want.v1[k])
      })
    }
  }
})

test.run()
