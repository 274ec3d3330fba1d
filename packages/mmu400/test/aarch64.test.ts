import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { PhysMemory } from '@vfio-sim/sim'
import { FSR } from '../src/index.ts'
import { RAM_BASE, fixture, master, type Fixture } from './helpers.ts'

/** A 4-level AArch64 table writer (4 KiB granule, 48-bit input, start at level 0). */
class Tables64 {
  next: number
  readonly root: number
  readonly mem: PhysMemory
  constructor(mem: PhysMemory, arena: number) {
    this.mem = mem
    this.root = arena
    this.next = arena + 0x1000
    mem.fill(arena, 0x1000, 0)
  }
  map(va: number, pa: number, opts: { level?: number; ap?: number; xn?: boolean; pxn?: boolean; ng?: boolean } = {}): void {
    const leafLevel = opts.level ?? 3
    let table = this.root
    for (let l = 0; l < leafLevel; l++) {
      const idx = Math.floor(va / 2 ** (12 + 9 * (3 - l))) % 512
      const a = table + idx * 8
      const lo = this.mem.read32(a)
      if ((lo & 3) === 3) {
        table = this.mem.read32(a + 4) * 2 ** 32 + ((lo & 0xfffff000) >>> 0)
        continue
      }
      const t = this.next
      this.next += 0x1000
      this.mem.fill(t, 0x1000, 0)
      this.mem.write32(a, (t | 3) >>> 0)
      this.mem.write32(a + 4, 0)
      table = t
    }
    const idx = Math.floor(va / 2 ** (12 + 9 * (3 - leafLevel))) % 512
    const lo = (((pa % 2 ** 32) & 0xfffff000) | (leafLevel === 3 ? 3 : 1) | ((opts.ap ?? 1) << 6) | (1 << 10) | (opts.ng === false ? 0 : 1 << 11)) >>> 0
    const hi = (Math.floor(pa / 2 ** 32) | (opts.pxn ? 1 << 21 : 0) | (opts.xn ? 1 << 22 : 0)) >>> 0
    this.mem.write32(table + idx * 8, lo)
    this.mem.write32(table + idx * 8 + 4, hi)
  }
}

/** Linux's v2 AArch64 stage-1 programming: CBA2R.VA64, CBAR, TCR2 (PASIZE, AS), TCR (T0SZ, EPD1), TTBR0 with ASID, SCTLR. */
function attach64(f: Fixture, opts: { asid?: number; t0sz?: number; as16?: boolean } = {}): Tables64 {
  const pt = new Tables64(f.mem, 0x8c000000)
  f.w(0xc00, 0)
  f.w(0x800, 0x80000003)
  f.w(f.gr1 + 0x800, 1)
  f.w(f.gr1, 0x0001f300)
  f.w(f.cb(0) + 0x10, 5 | (opts.as16 ? 0x10 : 0))
  f.w(f.cb(0) + 0x30, (opts.t0sz ?? 16) | (1 << 23) | (3 << 12) | (1 << 10) | (1 << 8))
  f.w64(f.cb(0) + 0x20, BigInt(pt.root) | (BigInt(opts.asid ?? 0) << 48n))
  f.w(f.cb(0) + 0x38, 0xf404ff44)
  f.w(f.cb(0), 0x1067)
  f.w(0, (f.r(0) | 0x36) & ~1)
  return pt
}

test('v2 AArch64 context: 48-bit input walks four levels from level 0', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const pt = attach64(f)
  const va = 0x7f12_3456_7000
  pt.map(va, RAM_BASE + 0x6000)
  f.mem.write32(RAM_BASE + 0x6008, 0x64646464)
  assert.is(master(f).read32(va + 8), 0x64646464)
  assert.is(f.smmu.stats.descriptorReads, 4)
  assert.is(f.r(f.cb(0) + 0x30) >>> 31, 0, 'no EAE forced in AArch64 format')
})

test('AArch64: T0SZ = 25 (39-bit input) starts at level 1; VA beyond the input size faults', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const root = 0x8b000000
  f.mem.fill(root, 0x3000, 0)
  attach64(f, { t0sz: 25 })
  f.w64(f.cb(0) + 0x20, BigInt(root))
  // L1 index VA[38:30] = 3, a 1 GiB block.
  f.mem.write32(root + 3 * 8, (0x40000000 | 1 | (1 << 6) | (1 << 10)) >>> 0)
  f.mem.write32(root + 3 * 8 + 4, 0)
  f.mem.write32(0x40000000 + 0x100, 0)
  const r = f.smmu.translate(3 * 2 ** 30 + 0x12345, { streamId: 3 })
  assert.is(r.outcome, 'ok')
  assert.is(r.pa, 0x40000000 + 0x12345)
  assert.is(f.smmu.stats.descriptorReads, 1, 'one level-1 descriptor')
  f.w(f.cb(0) + 0x58, 0xffffffff)
  assert.is(f.smmu.translate(2 ** 39, { streamId: 3 }).outcome, 'abort')
  assert.is(f.r(f.cb(0) + 0x58), FSR.TF)
  // Faults found before the walk are level-0 faults in AArch64 (ARMv8 pseudocode).
  assert.is(f.r(f.cb(0) + 0x68) & 3, 0)
})

test('AArch64: implicit PXN for user-writable pages; privileged fetch of a RO page succeeds', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const pt = attach64(f)
  pt.map(0x1000, RAM_BASE, { ap: 1 }) // AP[2:1] = 01: RW at both levels
  pt.map(0x2000, RAM_BASE, { ap: 3 }) // RO at both levels
  assert.is(master(f).fetch(0x1000, 4, { priv: true }).respName, 'SLVERR')
  assert.ok(master(f).fetch(0x1000, 4, { priv: false }).ok)
  f.w(f.cb(0) + 0x58, 0xffffffff)
  assert.ok(master(f).fetch(0x2000, 4, { priv: true }).ok)
})

test('AArch64: 16-bit ASIDs with TCR2.AS; 64-bit TLBIVA payload (VA >> 12) | ASID << 48', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const pt = attach64(f, { asid: 0x1234, as16: true })
  const va = 0x12_3456_7000
  pt.map(va, RAM_BASE)
  master(f).read(va, 4)
  const tlb = f.smmu.contexts[0]!.tlb
  assert.is(tlb.entries()[0]!.asid, 0x1234)
  f.w64(f.cb(0) + 0x600, BigInt(va / 4096) | (0x34n << 48n))
  assert.is(tlb.size, 1, 'wrong ASID (8-bit truncation would match)')
  // Hi-lo split as a 32-bit kernel does (high word first): the entry is gone once both halves are written.
  const v = BigInt(va / 4096) | (0x1234n << 48n)
  f.w(f.cb(0) + 0x604, Number(v >> 32n))
  f.w(f.cb(0) + 0x600, Number(v & 0xffffffffn))
  assert.is(tlb.size, 0)
  // Low word first works too: the high-word write acts with the latest low word.
  master(f).read(va, 4)
  assert.is(tlb.size, 1)
  f.w(f.cb(0) + 0x600, Number(v & 0xffffffffn))
  f.w(f.cb(0) + 0x604, Number(v >> 32n))
  assert.is(tlb.size, 0)
})

test('AArch64: output above TCR2.PASIZE is an address size fault (ASF)', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const pt = attach64(f)
  f.w(f.cb(0) + 0x10, 2) // PASIZE 40 bits
  pt.map(0x1000, 2 ** 44)
  master(f).read(0x1000, 4)
  assert.is(f.r(f.cb(0) + 0x58), FSR.ASF)
})

test('AArch64: ATS1PR with a 64-bit write', () => {
  const f = fixture({ version: 2, oas: 48, ias: 48 })
  const pt = attach64(f)
  pt.map(0x7f00_0000_0000, 0x80_0000_0000)
  f.w64(f.cb(0) + 0x800, 0x7f00_0000_0000n)
  assert.is(f.r64(f.cb(0) + 0x50) & 0xfffffffff000n, 0x80_0000_0000n)
})

test.run()
