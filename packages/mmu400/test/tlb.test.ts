import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FSR } from '../src/index.ts'
import { RAM_BASE, fixture, linuxAttach, master, type Fixture } from './helpers.ts'

const tlbiva = (f: Fixture, va: number, asid: number, cb = 0) => f.w(f.cb(cb) + 0x600, ((va & 0xfffff000) | asid) >>> 0)
const sync = (f: Fixture, cb = 0) => {
  f.w(f.cb(cb) + 0x7f0, 0xffffffff)
  assert.is(f.r(f.cb(cb) + 0x7f4), 0)
}

test('the staleness lesson: changed descriptors are ignored until TLBIVA + TLBSYNC', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE + 0x1000)
  f.mem.write32(RAM_BASE + 0x1000, 0xaaaa)
  f.mem.write32(RAM_BASE + 0x2000, 0xbbbb)
  const m = master(f)
  assert.is(m.read32(0x1000), 0xaaaa)
  // Remap the IOVA to another page without invalidating: the old translation is still used.
  pt.map(0x1000, RAM_BASE + 0x2000)
  assert.is(m.read32(0x1000), 0xaaaa)
  // Unmap without invalidating: still reachable.
  pt.unmap(0x1000)
  assert.is(m.read32(0x1000), 0xaaaa)
  assert.is(f.r(f.cb(0) + 0x58), 0)
  // A TLBI for the wrong ASID does nothing.
  tlbiva(f, 0x1000, 1)
  assert.is(m.read32(0x1000), 0xaaaa)
  tlbiva(f, 0x1000, 0)
  sync(f)
  assert.is(m.read(0x1000, 4).respName, 'SLVERR')
  assert.is(f.r(f.cb(0) + 0x58), FSR.TF)
  // Map again (no invalidation needed: faults are never cached).
  f.w(f.cb(0) + 0x58, 0xffffffff)
  pt.map(0x1000, RAM_BASE + 0x2000)
  assert.is(m.read32(0x1000), 0xbbbb)
})

test('no negative caching: a fresh mapping works without any invalidation', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  assert.is(master(f).read(0x3000, 4).respName, 'SLVERR')
  pt.map(0x3000, RAM_BASE + 0x3000)
  f.mem.write32(RAM_BASE + 0x3000, 0x33)
  assert.is(master(f).read32(0x3000), 0x33)
})

test('TLBIVA invalidates a 2 MiB block containing the VA', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x00200000, RAM_BASE + 0x00200000, 2)
  master(f).read(0x00201000, 4)
  assert.is(f.smmu.contexts[0]!.tlb.size, 1)
  pt.unmap(0x00200000, 2)
  tlbiva(f, 0x003ff000, 0) // last page of the block
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
  assert.is(master(f).read(0x00201000, 4).respName, 'SLVERR')
})

test('spec §9 scenario 11: a 2 MiB block split into pages, one unmapped, walk flush by TLBIVA over the range', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x00200000, RAM_BASE + 0x00200000, 2)
  master(f).read(0x00201000, 4)
  master(f).read(0x00202000, 4)
  assert.is(f.smmu.contexts[0]!.tlb.size, 1, 'one block entry')
  // Replace the block by a level-3 table mapping every page but 0x00203000.
  const l3 = 0x8f0f0000
  f.mem.fill(l3, 0x1000, 0)
  for (let i = 0; i < 512; i++) {
    if (i === 3) continue
    const pa = RAM_BASE + 0x00200000 + i * 0x1000
    f.mem.write32(l3 + 8 * i, (pa | 0xc43) >>> 0)
  }
  const l2 = (f.mem.read32(pt.root) & 0xfffff000) >>> 0
  f.mem.write32(l2 + 8 * 1, l3 | 3)
  // Still the block until the walk flush.
  assert.ok(master(f).read(0x00203000, 4).ok)
  for (let va = 0x00200000; va < 0x00400000; va += 0x1000) tlbiva(f, va, 0)
  sync(f)
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
  f.mem.write32(RAM_BASE + 0x00204000, 0x4444)
  assert.is(master(f).read32(0x00204000), 0x4444)
  assert.is(master(f).read(0x00203000, 4).respName, 'SLVERR')
  assert.is(f.r(f.cb(0) + 0x58), FSR.TF)
  assert.is(f.r(f.cb(0) + 0x68) & 3, 3)
})

test('TLBIVA removes global (nG = 0) entries whatever the ASID', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE, 3, { read: true, write: true, global: true })
  master(f).read(0x1000, 4)
  tlbiva(f, 0x1000, 0x77)
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
})

test('TLBIVAL (Linux unmap) and TLBIVAA remove entries for the VA', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  pt.map(0x2000, RAM_BASE)
  master(f).read(0x1000, 4)
  master(f).read(0x2000, 4)
  const tlb = f.smmu.contexts[0]!.tlb
  assert.is(tlb.size, 2)
  f.w(f.cb(0) + 0x620, 0x1000 | 0) // TLBIVAL
  assert.is(tlb.size, 1)
  f.w(f.cb(0) + 0x608, 0x2000) // TLBIVAA
  assert.is(tlb.size, 0)
})

test('TLBIASID removes the non-global entries of one ASID only; TLBIALL empties the bank', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  pt.map(0x2000, RAM_BASE, 3, { read: true, write: true, global: true })
  master(f).read(0x1000, 4)
  master(f).read(0x2000, 4)
  const tlb = f.smmu.contexts[0]!.tlb
  f.w(f.cb(0) + 0x610, 5)
  assert.is(tlb.size, 2, 'other ASID: nothing removed')
  f.w(f.cb(0) + 0x610, 0)
  assert.is(tlb.size, 1, 'the global entry stays')
  f.w(f.cb(0) + 0x618, 0)
  assert.is(tlb.size, 0)
})

test('TLB entries are per bank: invalidating bank 1 leaves bank 0', () => {
  const f = fixture()
  const pt0 = linuxAttach(f, { cb: 0, sid: 1 })
  const pt1 = linuxAttach(f, { cb: 1, sid: 2 })
  pt0.map(0x1000, RAM_BASE)
  pt1.map(0x1000, RAM_BASE)
  master(f, 1).read(0x1000, 4)
  master(f, 2).read(0x1000, 4)
  f.w(f.cb(1) + 0x618, 0)
  assert.is(f.smmu.contexts[0]!.tlb.size, 1)
  assert.is(f.smmu.contexts[1]!.tlb.size, 0)
})

test('global TLBIALLNSNH empties every bank; TLBIVMID only banks with that VMID', () => {
  const f = fixture()
  const pt0 = linuxAttach(f, { cb: 0, sid: 1 })
  const pt1 = linuxAttach(f, { cb: 1, sid: 2 })
  pt0.map(0x1000, RAM_BASE)
  pt1.map(0x1000, RAM_BASE)
  f.w(f.gr1 + 4, 0x0001f305) // CBAR1 VMID 5
  master(f, 1).read(0x1000, 4)
  master(f, 2).read(0x1000, 4)
  f.w(0x64, 5)
  assert.is(f.smmu.contexts[0]!.tlb.size, 1)
  assert.is(f.smmu.contexts[1]!.tlb.size, 0)
  master(f, 2).read(0x1000, 4)
  f.w(0x68, 0xffffffff)
  f.w(0x70, 0xffffffff)
  assert.is(f.r(0x74), 0)
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
  assert.is(f.smmu.contexts[1]!.tlb.size, 0)
})

test('TLB maintenance on a disabled bank is accepted and TLBSTATUS reads 0 (Linux domain teardown)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  master(f).read(0x1000, 4)
  f.w(f.cb(0), 0)
  f.w(f.cb(0) + 0x610, 0)
  sync(f)
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
})

test('reprogramming TTBR0 drops the bank TLB (decision 0203)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  master(f).read(0x1000, 4)
  f.w64(f.cb(0) + 0x20, BigInt(pt.root + 0x10000))
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
})

test('changing only fault reporting (CFIE, CFRE, CFCFG) keeps the TLB; changing WXN drops it', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  master(f).read(0x1000, 4)
  f.w(f.cb(0), 0x1067 & ~0x60)
  f.w(f.cb(0), 0x1067 | 0x80)
  assert.is(f.smmu.contexts[0]!.tlb.size, 1)
  f.w(f.cb(0), 0x1067 | 0x200)
  assert.is(f.smmu.contexts[0]!.tlb.size, 0)
})

test('hit, miss and walk counters', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  pt.map(0x00200000, RAM_BASE, 2)
  const m = master(f)
  m.read(0x1000, 4)
  m.read(0x1004, 4)
  m.read(0x1008, 4)
  m.read(0x00200000, 4)
  m.read(0x003ff000, 4)
  const s = f.smmu.stats
  assert.is(s.tlbMisses, 2)
  assert.is(s.tlbHits, 3)
  assert.is(s.walks, 2)
  assert.is(s.descriptorReads, 3 + 2)
})

test('capacity: a full TLB flushes itself and keeps working', () => {
  const f = fixture({ tlbEntries: 4 })
  const pt = linuxAttach(f)
  for (let i = 0; i < 10; i++) pt.map(0x1000 * (i + 1), RAM_BASE + 0x1000 * i)
  for (let i = 0; i < 10; i++) f.mem.write32(RAM_BASE + 0x1000 * i, i)
  for (let i = 0; i < 10; i++) assert.is(master(f).read32(0x1000 * (i + 1)), i)
  const c = f.smmu.contexts[0]!.tlb.counters
  assert.ok(c.capacityFlushes >= 2)
  assert.ok(f.smmu.contexts[0]!.tlb.size <= 4)
})

test.run()
