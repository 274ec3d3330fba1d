/**
 * Property: random sequences of map/unmap on a stage-1 table, driven the way
 * Linux's IOMMU core drives io-pgtable (iommu_map/iommu_unmap loops over
 * `iommu_pgsize`), compared after every step with an independent model:
 *
 * - the model is a Map of live leaves plus the set of table entries,
 *   updated page by page with Linux's rules (a new leaf may replace smaller
 *   leaves by freeing the table under it, never an equal or bigger leaf; an
 *   unmap inside a block splits it up to Linux 6.12 and unmaps nothing since
 *   6.13; tables are freed only when a whole entry's range is unmapped or
 *   replaced);
 * - the expected leaves of a map come from the testkit's `linuxLeavesFor`
 *   and their attribute bits from `linuxS1Mapping` (written independently
 *   from the architecture and Linux text);
 * - the descriptors in RAM are read back with the testkit's `decodeTables`.
 *
 * After each step: decoded leaves and table descriptors equal the model's,
 * `iovaToPhys` agrees at sampled addresses, and the page allocator holds
 * exactly 1 + (number of tables) io-pgtable pages. After freeing: the
 * allocator is back to its state before the table existed.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { decodeTables, linuxLeavesFor, linuxS1Mapping, plainMapping, type LeafSize, type Mapping } from '@vfio-sim/testkit'
import { isKernelError } from '../src/errno.ts'
import { IOMMU_READ, IOMMU_WRITE, allocIoPgtableOps, freeIoPgtableOps, iommuPgsize, pageTableMemory, type IoPgtableFmt, type IoPgtableOps } from '../src/drivers/iommu/io-pgtable.ts'
import { SZ_1G, SZ_2M, SZ_4K, PGSIZES_4K_2M_1G, recordingTlb, regimeFor, smmuCfg, testKernel } from './io-pgtable-helpers.ts'

// ---- The IOMMU core's loops (drivers/iommu/iommu.c __iommu_map / __iommu_unmap) ----

/** iommu_map: maps [iova, iova+size) call by call; on error unmaps what the earlier calls mapped and rethrows. */
function coreMap(ops: IoPgtableOps, iova: number, paddr: number, size: number, prot: number): void {
  let done = 0
  while (done < size) {
    const { pgsize, count } = iommuPgsize(PGSIZES_4K_2M_1G, iova + done, paddr + done, size - done)
    try {
      done += ops.mapPages(iova + done, paddr + done, pgsize, count, prot)
    } catch (e) {
      if (done > 0) coreUnmap(ops, iova, done)
      throw e
    }
  }
}

/** iommu_unmap: bytes unmapped from [iova, iova+size), stopping at the first hole. */
function coreUnmap(ops: IoPgtableOps, iova: number, size: number): number {
  let done = 0
  while (done < size) {
    const { pgsize, count } = iommuPgsize(PGSIZES_4K_2M_1G, iova + done, iova + done, size - done)
    const n = ops.unmapPages(iova + done, pgsize, count)
    if (n === 0) break
    done += n
  }
  return done
}

// ---- The model ----

interface Leaf {
  va: number
  pa: number
  size: LeafSize
  prot: number
}

const span = (lvl: number) => 2 ** (12 + 9 * (3 - lvl))
const levelOf = (size: number) => (size === SZ_4K ? 3 : size === SZ_2M ? 2 : 1)
const alignDown = (v: number, a: number) => v - (v % a)

class Model {
  readonly leaves = new Map<number, Leaf>()
  /** Table descriptors: "level:va" of the entry pointing to a table. */
  readonly tables = new Set<string>()
  readonly startLevel: number
  /** Linux >= 6.13: an unmap inside a block unmaps nothing. */
  readonly refuseSplit: boolean

  constructor(ias: number, refuseSplit: boolean) {
    this.startLevel = 4 - Math.ceil((ias - 12) / 9)
    this.refuseSplit = refuseSplit
  }

  private state(lvl: number, va: number): 'leaf' | 'table' | 'empty' {
    const a = alignDown(va, span(lvl))
    if (this.leaves.get(a)?.size === span(lvl)) return 'leaf'
    return this.tables.has(`${lvl}:${a}`) ? 'table' : 'empty'
  }

  /** Drops the table at entry (lvl, va) and everything below it. */
  private removeSubtree(lvl: number, va: number): void {
    const a = alignDown(va, span(lvl))
    const end = a + span(lvl)
    for (const key of [...this.tables]) {
      const [l, v] = key.split(':').map(Number) as [number, number]
      if (l >= lvl && v >= a && v < end) this.tables.delete(key)
    }
    for (const [v, leaf] of [...this.leaves]) if (v >= a && v < end && leaf.size < span(lvl)) this.leaves.delete(v)
  }

  /** One new leaf; false (EEXIST) if a leaf of its size or bigger is in the way. */
  private place(leaf: Leaf): boolean {
    const lt = levelOf(leaf.size)
    for (let l = this.startLevel; l < lt; l++) {
      const s = this.state(l, leaf.va)
      if (s === 'leaf') return false
      if (s === 'empty') this.tables.add(`${l}:${alignDown(leaf.va, span(l))}`)
    }
    const s = this.state(lt, leaf.va)
    if (s === 'leaf') return false
    if (s === 'table') this.removeSubtree(lt, leaf.va)
    this.leaves.set(leaf.va, leaf)
    return true
  }

  /** Replaces the block at entry (lvl, va) by a table of 512 smaller leaves. */
  private split(lvl: number, va: number): void {
    const a = alignDown(va, span(lvl))
    const blk = this.leaves.get(a)!
    this.leaves.delete(a)
    this.tables.add(`${lvl}:${a}`)
    const child = span(lvl + 1) as LeafSize
    for (let i = 0; i < 512; i++) this.leaves.set(a + i * child, { va: a + i * child, pa: blk.pa + i * child, size: child, prot: blk.prot })
  }

  /** Unmaps one page of `size` at `va`: bytes unmapped (0 at a hole). */
  private unmapOne(va: number, size: number): number {
    const lt = levelOf(size)
    for (let l = this.startLevel; l < lt; l++) {
      const s = this.state(l, va)
      if (s === 'empty') return 0
      if (s === 'leaf') {
        if (this.refuseSplit) return 0
        this.split(l, va)
      }
    }
    const s = this.state(lt, va)
    if (s === 'empty') return 0
    if (s === 'leaf') this.leaves.delete(va)
    else this.removeSubtree(lt, va)
    return size
  }

  /** iommu_unmap: page sizes from the IOVA alone (greedy), stop at the first hole. */
  unmap(iova: number, size: number): number {
    let done = 0
    if (size === 0) return 0
    for (const piece of linuxLeavesFor(iova, iova, size, IOMMU_READ)) {
      const n = this.unmapOne(piece.va, piece.size)
      if (n === 0) break
      done += n
    }
    return done
  }

  /**
   * iommu_map: the leaves `linuxLeavesFor` lists, in runs of equal size (one
   * map_pages call per run). On EEXIST, the failing call's own leaves are
   * unmapped, then the earlier calls' (as iommu_map unwinds).
   */
  map(iova: number, pa: number, size: number, prot: number): boolean {
    const leaves = linuxLeavesFor(iova, pa, size, prot)
    let callStart = iova
    for (let i = 0; i < leaves.length; i++) {
      const m = leaves[i]!
      if (i > 0 && m.size !== leaves[i - 1]!.size) callStart = m.va
      if (!this.place({ va: m.va, pa: m.pa, size: m.size, prot })) {
        this.unmap(callStart, m.va - callStart)
        this.unmap(iova, callStart - iova)
        return false
      }
    }
    return true
  }

  /** The physical address `iova` maps to, or 0. */
  toPhys(iova: number): number {
    for (const size of [SZ_1G, SZ_2M, SZ_4K]) {
      const l = this.leaves.get(alignDown(iova, size))
      if (l !== undefined && l.size === size) return l.pa + (iova % size)
    }
    return 0
  }

  expectedMappings(ns: boolean): Mapping[] {
    return [...this.leaves.values()].sort((a, b) => a.va - b.va).map(l => linuxS1Mapping(l.va, l.pa, l.size, l.prot, { nsQuirk: ns }))
  }

  expectedTables(): string[] {
    return [...this.tables].sort()
  }
}

// ---- Operations ----

type Op =
  | { kind: 'map'; region: number; align: number; off: number; pbase: number; pshift: number; n1: number; n2: number; n4: number; prot: number }
  | { kind: 'unmap'; live: boolean; big: boolean; pick: number; region: number; align: number; off: number; n1: number; n2: number; n4: number }

const alignArb = fc.constantFrom(SZ_4K, SZ_2M, SZ_1G)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('map' as const),
      region: fc.nat(3),
      align: alignArb,
      off: fc.nat(1023),
      pbase: fc.nat(3),
      pshift: fc.constantFrom(0, 0, 0, SZ_4K, 3 * SZ_4K, SZ_2M, 5 * SZ_2M),
      n1: fc.nat(1),
      n2: fc.nat(3),
      n4: fc.nat(20),
      // Mostly with an access bit; sometimes without (EINVAL).
      prot: fc.oneof({ weight: 7, arbitrary: fc.nat(63).map(p => (p & 3 ? p : p | IOMMU_READ)) }, { weight: 1, arbitrary: fc.nat(63) }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('unmap' as const),
      live: fc.boolean(),
      big: fc.boolean(),
      pick: fc.nat(),
      region: fc.nat(3),
      align: alignArb,
      off: fc.nat(1023),
      n1: fc.nat(1),
      n2: fc.nat(3),
      n4: fc.nat(40),
    }),
  },
)

interface Config {
  fmt: IoPgtableFmt
  ias: number
  oas: number
  coherent: boolean
  ns: boolean
  blockUnmap: 'split' | 'refuse'
}

const blockUnmapArb = fc.constantFrom<'split' | 'refuse'>('split', 'refuse')
const configArb: fc.Arbitrary<Config> = fc.oneof(
  fc.record({ fmt: fc.constant('ARM_32_LPAE_S1' as const), ias: fc.constant(32), oas: fc.constant(40), coherent: fc.boolean(), ns: fc.boolean(), blockUnmap: blockUnmapArb }),
  fc.record({ fmt: fc.constant('ARM_64_LPAE_S1' as const), ias: fc.constantFrom(32, 36, 40, 48), oas: fc.constantFrom(40, 48), coherent: fc.boolean(), ns: fc.boolean(), blockUnmap: blockUnmapArb }),
)

/** Base of IOVA region `r`: the first three GiB and the last GiB of the input range. */
function regionBase(ias: number, r: number): number {
  return r < 3 ? r * SZ_1G : 2 ** ias - SZ_1G
}

function sizeOf(n1: number, n2: number, n4: number): number {
  return n1 * SZ_1G + n2 * SZ_2M + n4 * SZ_4K || SZ_4K
}

function runSequence(cfgIn: Config, opsList: Op[]): void {
  const k = testKernel()
  const before = k.pages.snapshot()
  const cfg = smmuCfg(cfgIn.fmt, { ias: cfgIn.ias, oas: cfgIn.oas, coherent: cfgIn.coherent, ns: cfgIn.ns, tlb: recordingTlb(), blockUnmap: cfgIn.blockUnmap })
  const ops = allocIoPgtableOps(cfgIn.fmt, cfg, pageTableMemory(k))
  const regime = regimeFor(cfgIn.fmt, cfgIn.ias, cfgIn.oas)
  const ttbr = cfg.arm_lpae_s1_cfg!.ttbr
  const model = new Model(cfgIn.ias, cfgIn.blockUnmap === 'refuse')
  const top = 2 ** cfgIn.ias
  const log: string[] = []

  for (const op of opsList) {
    if (op.kind === 'map') {
      const iova = regionBase(cfgIn.ias, op.region) + ((op.off * op.align) % SZ_1G)
      let size = Math.min(sizeOf(op.n1, op.n2, op.n4), top - iova)
      const pa = SZ_1G * (1 + op.pbase) + (iova % SZ_1G) + op.pshift
      // Keep the number of 4K leaves small (a 1G range with mismatched alignment is 262144 pages).
      if (Math.abs(iova - pa) % SZ_2M !== 0 && size > 1500 * SZ_4K) size = sizeOf(0, 0, op.n4)
      log.push(`map 0x${iova.toString(16)} -> 0x${pa.toString(16)} size 0x${size.toString(16)} prot ${op.prot}`)
      const noAccess = (op.prot & (IOMMU_READ | IOMMU_WRITE)) === 0
      let ok = true
      let err: unknown
      try {
        coreMap(ops, iova, pa, size, op.prot)
      } catch (e) {
        ok = false
        err = e
      }
      if (noAccess) {
        assert.ok(isKernelError(err, 'EINVAL'), `prot without access must be EINVAL: ${String(err)}\n${log.join('\n')}`)
      } else {
        const expectOk = model.map(iova, pa, size, op.prot)
        if (!ok) assert.ok(isKernelError(err, 'EEXIST'), `unexpected error ${String(err)}\n${log.join('\n')}`)
        assert.is(ok, expectOk, `map outcome\n${log.join('\n')}`)
      }
    } else {
      let live = [...model.leaves.values()].sort((a, b) => a.va - b.va)
      // Half of the targeted unmaps aim at the biggest leaves, so blocks get split.
      if (op.big) live = live.filter(l => l.size === Math.max(...live.map(m => m.size)))
      let iova: number
      if (op.live && live.length > 0) {
        const leaf = live[op.pick % live.length]!
        iova = leaf.va + ((op.off * Math.min(op.align, leaf.size)) % leaf.size)
      } else {
        iova = regionBase(cfgIn.ias, op.region) + ((op.off * op.align) % SZ_1G)
      }
      const size = Math.min(sizeOf(op.n1, op.n2, op.n4), top - iova)
      log.push(`unmap 0x${iova.toString(16)} size 0x${size.toString(16)}`)
      const got = coreUnmap(ops, iova, size)
      assert.is(got, model.unmap(iova, size), `unmapped bytes\n${log.join('\n')}`)
    }

    // The descriptors in RAM decode to exactly the model's leaves and tables.
    const d = decodeTables(k.sys.memory, regime, ttbr)
    assert.is(d.invalid.length, 0)
    assert.equal(d.mappings.map(plainMapping), model.expectedMappings(cfgIn.ns), `leaves after\n${log.join('\n')}`)
    assert.equal(d.tables.map(t => `${t.level}:${t.va}`).sort(), model.expectedTables(), `tables after\n${log.join('\n')}`)
    // Table descriptors: address | 0b11, SW_SYNC without a coherent walker, NSTable with the quirk.
    const tableHigh = (cfgIn.coherent ? 0n : 1n << 55n) | (cfgIn.ns ? 1n << 63n : 0n)
    for (const t of d.tables) assert.is(t.raw, tableHigh | BigInt(t.next) | 3n)
    // Every table is one allocator page; the root too.
    assert.is(k.pages.usedPages - before.length, 1 + model.tables.size)
    // iova_to_phys agrees at the start, middle and last byte of a few leaves and at random IOVAs.
    const probes: number[] = []
    const leaves = [...model.leaves.values()]
    for (let i = 0; i < leaves.length; i += Math.max(1, Math.floor(leaves.length / 8))) {
      const l = leaves[i]!
      probes.push(l.va, l.va + l.size / 2 + 0x123, l.va + l.size - 1, l.va + l.size)
    }
    for (const op2 of opsList) if (op2.kind === 'map') probes.push(regionBase(cfgIn.ias, op2.region) + ((op2.off * op2.align) % SZ_1G) + 0x10)
    for (const p of probes) if (p < top) assert.is(ops.iovaToPhys(p), model.toPhys(p), `iova_to_phys(0x${p.toString(16)})\n${log.join('\n')}`)
  }

  freeIoPgtableOps(ops)
  assert.equal(k.pages.snapshot(), before, 'every table page is freed')
}

test('random map/unmap sequences: RAM decodes to the model after every step; no page leaks', () => {
  fc.assert(fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 14 }), (cfg, opsList) => runSequence(cfg, opsList)), { numRuns: 60 })
})

test('iommuPgsize splits a range into the same leaves as the testkit (linuxLeavesFor)', () => {
  const addr = fc.tuple(fc.nat(7), fc.nat(511), fc.nat(511)).map(([g, m, p]) => g * SZ_1G + m * SZ_2M + p * SZ_4K)
  fc.assert(
    fc.property(addr, addr, fc.tuple(fc.nat(2), fc.nat(600), fc.nat(600)), (iova, paddr, [g, m, p]) => {
      // Without a common 2M alignment every leaf is 4K: keep those ranges short.
      const size = ((iova - paddr) % SZ_2M === 0 ? g * SZ_1G + m * SZ_2M : 0) + p * SZ_4K || SZ_4K
      const expected = linuxLeavesFor(iova, paddr, size, IOMMU_READ)
      let done = 0
      let i = 0
      while (done < size) {
        const { pgsize, count } = iommuPgsize(PGSIZES_4K_2M_1G, iova + done, paddr + done, size - done)
        assert.ok(count >= 1)
        // One call covers a whole run of equal leaves: the next call uses a different size.
        for (let c = 0; c < count; c++, i++) {
          assert.is(expected[i]!.va, iova + done + c * pgsize)
          assert.is(expected[i]!.size, pgsize)
        }
        assert.ok(i === expected.length || expected[i]!.size !== pgsize, 'a call ends where the leaf size changes')
        done += pgsize * count
      }
      assert.is(i, expected.length)
    }),
  )
})

test('random bad arguments never throw anything but KernelError, and free still returns every page', () => {
  const num = fc.oneof(
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.constantFrom(0, SZ_4K, SZ_2M, SZ_1G, 0x2000, 2 ** 32, 2 ** 40, 2 ** 48, 2 ** 53, Number.MAX_SAFE_INTEGER, -1, 0.5, NaN, Infinity, -Infinity),
    fc.double(),
  )
  fc.assert(
    fc.property(fc.constantFrom<IoPgtableFmt>('ARM_32_LPAE_S1', 'ARM_64_LPAE_S1'), fc.array(fc.tuple(fc.nat(2), num, num, num, num, num), { maxLength: 12 }), (fmt, calls) => {
      const k = testKernel()
      const before = k.pages.snapshot()
      const ops = allocIoPgtableOps(fmt, smmuCfg(fmt), pageTableMemory(k))
      for (const [which, a, b, c, d, e] of calls) {
        try {
          if (which === 0) {
            // Bound the page count so a valid call stays small.
            ops.mapPages(a, b, c, Number.isFinite(d) && Math.abs(d) > 4 ? d % 5 : d, e)
          } else if (which === 1) {
            ops.unmapPages(a, b, Number.isFinite(c) && Math.abs(c) > 4 ? c % 5 : c)
          } else {
            ops.iovaToPhys(a)
          }
        } catch (err) {
          assert.ok(isKernelError(err), `non-KernelError: ${String(err)}`)
        }
      }
      freeIoPgtableOps(ops)
      assert.equal(k.pages.snapshot(), before)
    }),
    { numRuns: 200 },
  )
})

test.run()
