// Known descriptor bytes, computed by hand from the architecture text
// (ARMv7-A ARM B3.6.1-B3.6.2 long-descriptor formats; ARMv8-A ARM D5.3), and
// the builder -> decoder round trip.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { PhysMemory } from '@vfio-sim/sim'
import {
  Ap, FrameAllocator, LeafSize, aarch32Regime, aarch64Regime, arbSetup, buildPageTables, decodeTables, mapping, plainMapping,
  levelSpan, mapInto, regionFor, tableAttrs, unmapLeaf, type Mapping,
} from '../src/index.ts'

const POOL = 0x4000_0000

test('4 KiB RW page at VA 0x1000 -> PA 0x8000_2000 (AArch32-LPAE, T0SZ = 0)', () => {
  const mem = new PhysMemory()
  const built = buildPageTables(mem, aarch32Regime(), [mapping({ va: 0x1000, pa: 0x8000_2000, size: LeafSize.SIZE_4K })], {
    alloc: new FrameAllocator(mem, POOL, 0x10_0000),
    asid: 5,
  })
  // Frames in allocation order: L1 root (4 entries, VA[31:30]), L2, L3.
  assert.equal(built.frames, [0x4000_0000, 0x4000_1000, 0x4000_2000])
  // TTBR0 = root | ASID << 48; TTBCR = EAE (bit 31) with T0SZ = T1SZ = 0.
  assert.is(built.ttbr0, 0x0005_0000_4000_0000n)
  assert.is(built.ttbr1, 0n)
  assert.is(built.ttbcr, 0x8000_0000)
  // SCTLR = M | TRE | AFE | CFRE | CFIE | ASIDPNE = 0x1067 (Linux's stage-1 value, spec §1.4).
  assert.is(built.sctlr, 0x1067)
  // L1[VA[31:30] = 0] = table 0b11 | next 0x4000_1000.
  assert.is(mem.read64(0x4000_0000), 0x4000_1003n)
  // L2[VA[29:21] = 0] = table -> 0x4000_2000.
  assert.is(mem.read64(0x4000_1000), 0x4000_2003n)
  // L3[VA[20:12] = 1] at +8: page 0b11 | AP[1] (bit 6, unprivileged OK) 0x40 | AF (bit 10) 0x400
  // | nG (bit 11) 0x800 | OA 0x8000_2000  =  0x8000_2C43.
  assert.is(mem.read64(0x4000_2008), 0x8000_2c43n)
  assert.is(mem.read64(0x4000_2000), 0n)
})

test("Linux's IOMMU_READ|IOMMU_WRITE page (SH = outer, 2) is 0x8000_2E43", () => {
  // io-pgtable-arm S1: nG | AF | PAGE | AP_UNPRIV | SH_OS(2 << 8 = 0x200) | ATTRIDX 0.
  const mem = new PhysMemory()
  buildPageTables(mem, aarch32Regime(), [mapping({ va: 0x1000, pa: 0x8000_2000, size: LeafSize.SIZE_4K, sh: 2 })], {
    alloc: new FrameAllocator(mem, POOL, 0x10_0000),
  })
  assert.is(mem.read64(0x4000_2008), 0x8000_2e43n)
})

test('2 MiB read-only no-exec block at VA 0x4020_0000 -> PA 0x1_2340_0000', () => {
  const mem = new PhysMemory()
  buildPageTables(
    mem,
    aarch32Regime(),
    [mapping({ va: 0x4020_0000, pa: 0x1_2340_0000, size: LeafSize.SIZE_2M, ap: Ap.RO, xn: true, pxn: true, attrIndx: 1, sh: 3 })],
    { alloc: new FrameAllocator(mem, POOL, 0x10_0000) },
  )
  // L1[VA[31:30] = 1] at root + 8 -> L2 table at 0x4000_1000.
  assert.is(mem.read64(0x4000_0000), 0n)
  assert.is(mem.read64(0x4000_0008), 0x4000_1003n)
  // L2[VA[29:21] = 1] at +8: block 0b01 | AttrIndx 1 << 2 = 0x4 | AP[2:1] = 11 -> 0xC0 | SH 3 << 8 = 0x300
  // | AF 0x400 | nG 0x800 = 0xFC5, OA low 0x2340_0000, OA[39:32] = 1,
  // PXN bit 53 = hi 0x20_0000, XN bit 54 = hi 0x40_0000  =>  0x0060_0001_2340_0FC5.
  assert.is(mem.read64(0x4000_1008), 0x0060_0001_2340_0fc5n)
})

test('1 GiB block at L1 and table attributes on the L1 table descriptor', () => {
  const mem = new PhysMemory()
  buildPageTables(
    mem,
    aarch32Regime(),
    [mapping({ va: 0xc000_0000, pa: 0x80_0000_0000, size: LeafSize.SIZE_1G, ap: Ap.PRIV_RW }), mapping({ va: 0x1000, pa: 0x2000, size: LeafSize.SIZE_4K })],
    { alloc: new FrameAllocator(mem, POOL, 0x10_0000), tables: [tableAttrs({ va: 0, level: 1, apTable: 2, xnTable: true, pxnTable: true, nsTable: true })] },
  )
  // L1[3]: block 0b01 | AF | nG, AP[2:1] = 00 -> 0xC01, OA 0x80_0000_0000 -> hi 0x80.
  assert.is(mem.read64(0x4000_0018), 0x0000_0080_0000_0c01n)
  // L1[0]: table -> 0x4000_1000 with NSTable (63), APTable = 0b10 (bit 62), XNTable (60), PXNTable (59) = 0xD800... .
  assert.is(mem.read64(0x4000_0000), 0xd800_0000_4000_1003n)
})

test('AArch64, T0SZ = 16: walk from level 0, VA 0x80_0000_1000', () => {
  const mem = new PhysMemory()
  const built = buildPageTables(mem, aarch64Regime(), [mapping({ va: 0x80_0000_1000, pa: 0xab_cdef_0000, size: LeafSize.SIZE_4K })], {
    alloc: new FrameAllocator(mem, POOL, 0x10_0000),
  })
  assert.equal(built.frames.length, 4)
  // TCR: T0SZ = 16 [5:0], TG0 = 0 (4K) [15:14], EPD1 (bit 23) = 1: this kit's AArch64 regimes have no TTBR1 walks.
  assert.is(built.ttbcr, 0x0080_0010)
  // L0 index = VA[47:39] = 1.
  assert.is(mem.read64(0x4000_0008), 0x4000_1003n)
  assert.is(mem.read64(0x4000_1000), 0x4000_2003n) // L1 index VA[38:30] = 0
  assert.is(mem.read64(0x4000_2000), 0x4000_3003n) // L2 index VA[29:21] = 0
  assert.is(mem.read64(0x4000_3008), 0xab_cdef_0c43n) // L3 index VA[20:12] = 1
})

test('AArch32 with TTBR1: T0SZ = 1, T1SZ = 1 -> TTBR1 covers VA >= 2^31 with a 2-entry L1 table', () => {
  const mem = new PhysMemory()
  const built = buildPageTables(mem, aarch32Regime({ t0sz: 1, t1sz: 1 }), [mapping({ va: 0xc000_0000, pa: 0x4000_0000_0, size: LeafSize.SIZE_1G })], {
    alloc: new FrameAllocator(mem, POOL, 0x10_0000),
  })
  assert.is(built.ttbr0, 0x4000_0000n)
  assert.is(built.ttbr1, 0x4000_1000n)
  assert.is(built.ttbcr, 0x8001_0001)
  // TTBR1's walk sees VA[30:0]: 0xC000_0000 -> index VA[30] = 1.
  assert.is(mem.read64(0x4000_1008), 0x0000_0004_0000_0c41n)
  const dec = decodeTables(mem, aarch32Regime({ t0sz: 1, t1sz: 1 }), built.ttbr0, built.ttbr1)
  assert.equal(dec.mappings.map(plainMapping), [mapping({ va: 0xc000_0000, pa: 0x4_0000_0000, size: LeafSize.SIZE_1G })])
})

test('builder refuses overlaps, misalignment and VAs in the hole', () => {
  const mem = new PhysMemory()
  const alloc = new FrameAllocator(mem, POOL, 0x10_0000)
  assert.throws(() => buildPageTables(mem, aarch32Regime(), [mapping({ va: 0x1000, pa: 0, size: LeafSize.SIZE_4K }), mapping({ va: 0, pa: 0, size: LeafSize.SIZE_2M })], { alloc }), /block|overlaps/)
  assert.throws(() => buildPageTables(mem, aarch32Regime(), [mapping({ va: 0x1000, pa: 0, size: LeafSize.SIZE_2M })], { alloc }), /aligned/)
  assert.throws(() => buildPageTables(mem, aarch32Regime({ t0sz: 2, t1sz: 2 }), [mapping({ va: 0x8000_0000, pa: 0, size: LeafSize.SIZE_4K })], { alloc }), /region/)
  assert.throws(() => buildPageTables(mem, aarch32Regime({ t0sz: 2 }), [mapping({ va: 0, pa: 0, size: LeafSize.SIZE_1G })], { alloc }), /level-1/)
})

test('unmapLeaf zeroes the leaf and keeps the tables; mapInto reuses them', () => {
  const mem = new PhysMemory()
  const alloc = new FrameAllocator(mem, POOL, 0x10_0000)
  const r = aarch32Regime()
  const built = buildPageTables(mem, r, [mapping({ va: 0x1000, pa: 0x8000_2000, size: LeafSize.SIZE_4K })], { alloc })
  assert.is(unmapLeaf(mem, r, built, { va: 0x1000, size: LeafSize.SIZE_4K }), 0x4000_2008)
  assert.is(mem.read64(0x4000_2008), 0n)
  assert.is(unmapLeaf(mem, r, built, { va: 0x1000, size: LeafSize.SIZE_4K }), undefined)
  assert.is(unmapLeaf(mem, r, built, { va: 0x0, size: LeafSize.SIZE_2M }), undefined, 'a table is not a block leaf')
  let dec = decodeTables(mem, r, built.ttbr0)
  assert.equal(dec.mappings, [])
  assert.equal(dec.tables.map(t => [t.level, t.va]), [[1, 0], [2, 0]])
  mapInto(mem, r, built, [mapping({ va: 0x3000, pa: 0x9000, size: LeafSize.SIZE_4K })], alloc)
  assert.is(alloc.frames.length, 3, 'no new table')
  dec = decodeTables(mem, r, built.ttbr0)
  assert.equal(dec.mappings.map(plainMapping), [mapping({ va: 0x3000, pa: 0x9000, size: LeafSize.SIZE_4K })])
  assert.throws(() => mapInto(mem, r, built, [mapping({ va: 0, pa: 0, size: LeafSize.SIZE_2M })], alloc), /overlaps/)
})

test('decodeTables reports reserved encodings: L3 type 0b01', () => {
  const mem = new PhysMemory()
  const r = aarch32Regime()
  const built = buildPageTables(mem, r, [mapping({ va: 0x1000, pa: 0x8000_2000, size: LeafSize.SIZE_4K })], { alloc: new FrameAllocator(mem, POOL, 0x10_0000) })
  mem.write64(0x4000_2010, 0x8000_3c41n) // L3[2] with type 0b01: reserved
  const dec = decodeTables(mem, r, built.ttbr0)
  assert.equal(dec.invalid.map(i => [i.va, i.level, i.raw]), [[0x2000, 3, 0x8000_3c41n]])
  assert.is(dec.mappings.length, 1)
})

const byVa = (a: Mapping, b: Mapping): number => a.va - b.va

test('property: decodeTables(buildPageTables(mappings)) lists exactly the mappings and table attributes', () => {
  fc.assert(
    fc.property(arbSetup({}, { outOfRangePa: true }), ({ regime, mappings, tables }) => {
      const mem = new PhysMemory()
      const built = buildPageTables(mem, regime, mappings, { alloc: new FrameAllocator(mem, POOL, 0x100_0000), tables })
      const dec = decodeTables(mem, regime, built.ttbr0, built.ttbr1)
      assert.equal(dec.mappings.map(plainMapping), [...mappings].sort(byVa))
      assert.equal(dec.invalid, [])
      // Every requested table attribute is on the decoded table descriptor covering it, and no other table has attributes.
      for (const t of tables) {
        const span = levelSpan(t.level)
        const ttbr = regionFor(regime, t.va)!.ttbr
        const d = dec.tables.find(x => x.level === t.level && x.ttbr === ttbr && Math.floor(x.va / span) === Math.floor(t.va / span))
        assert.ok(d, `table at level ${t.level} va 0x${t.va.toString(16)} missing`)
        assert.equal([d.apTable, d.xnTable, d.pxnTable, d.nsTable], [t.apTable, t.xnTable, t.pxnTable, t.nsTable])
      }
      for (const d of dec.tables) {
        const hasAttrs = d.apTable !== 0 || d.xnTable || d.pxnTable || d.nsTable
        const span = levelSpan(d.level)
        if (hasAttrs) assert.ok(tables.some(t => t.level === d.level && regionFor(regime, t.va)!.ttbr === d.ttbr && Math.floor(t.va / span) === Math.floor(d.va / span)))
      }
      // One frame per root plus one per table descriptor: nothing leaked or shared.
      assert.is(built.frames.length, dec.tables.length + (built.root1 === undefined ? 1 : 2))
    }),
    { numRuns: 200 },
  )
})

test.run()
