/**
 * Property: random sequences of iommu_map/iommu_unmap on an arm-smmu domain
 * (4K/2M/1G sizes, aligned and misaligned physical addresses, random prot)
 * against an independent model, a list of live intervals. After every step:
 *
 * - a DMA from a test master on the SMMU's port (the device's stream ID)
 *   reads, writes and fetches exactly where the live mappings allow (the
 *   permissions and XN from prot), and faults everywhere else — including
 *   the range just unmapped (so the TLB was invalidated and synced);
 * - iova_to_phys (the hardware ATOS) gives the mapped address, 0 elsewhere;
 * - the descriptors in RAM decode (testkit decodeTables) to exactly the
 *   live mappings, with Linux's attribute bits.
 *
 * At the end the domain is freed and the page allocator holds exactly the
 * pages it held before the domain was allocated.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { aarch32Regime, decodeTables, type DecodedMapping } from '@vfio-sim/testkit'
import {
  IOMMU_PROT_CACHE, IOMMU_PROT_NOEXEC, IOMMU_PROT_PRIV, IOMMU_PROT_READ, IOMMU_PROT_WRITE,
  iommuAttachGroup, iommuDetachGroup, iommuDomainFree, iommuGroupClaimDmaOwner, iommuGroupGet, iommuGroupReleaseDmaOwner,
  iommuIovaToPhys, iommuMap, iommuPagingDomainAlloc, iommuUnmap,
} from '../src/drivers/iommu/iommu.ts'
import type { ArmSmmuDomain } from '../src/drivers/iommu/arm/arm-smmu/arm-smmu.ts'
import { SZ_1G, SZ_2M, SZ_4K, testBoard } from './arm-smmu-fixture.ts'

const SID = 3
const PA_BASE = 0xc000_0000

/** A live mapping of the model. */
interface Live {
  iova: number
  pa: number
  size: number
  prot: number
}

type Op =
  | { kind: 'map'; sizeKind: 0 | 1 | 2; n: number; slot: number; region: number; iovaMis: number; paSlot: number; paMis: number; prot: number }
  | { kind: 'unmap'; pick: number; sub: boolean; a: number; b: number }

const protArb = fc.record({
  rw: fc.constantFrom(IOMMU_PROT_READ, IOMMU_PROT_WRITE, IOMMU_PROT_READ | IOMMU_PROT_WRITE),
  cache: fc.boolean(),
  noexec: fc.boolean(),
  priv: fc.integer({ min: 0, max: 4 }),
}).map(p => p.rw | (p.cache ? IOMMU_PROT_CACHE : 0) | (p.noexec ? IOMMU_PROT_NOEXEC : 0) | (p.priv === 0 ? IOMMU_PROT_PRIV : 0))

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({
    kind: fc.constant('map' as const),
    sizeKind: fc.constantFrom(0, 0, 1, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    n: fc.integer({ min: 1, max: 6 }),
    slot: fc.integer({ min: 0, max: 63 }),
    region: fc.integer({ min: 0, max: 3 }),
    iovaMis: fc.constantFrom(0, 0, 0, 1, 255),
    paSlot: fc.integer({ min: 0, max: 120 }),
    paMis: fc.constantFrom(0, 0, 1, 17),
    prot: protArb,
  }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('unmap' as const),
    pick: fc.nat(),
    sub: fc.boolean(),
    a: fc.nat(),
    b: fc.nat(),
  }) },
)

/** The model's lookup: the live mapping holding `iova`. */
function find(live: readonly Live[], iova: number): Live | undefined {
  return live.find(m => iova >= m.iova && iova < m.iova + m.size)
}

/** Merges adjacent runs with contiguous PAs and equal attributes (the page split is not observable). */
function runs<T extends { iova: number; pa: number; size: number }>(xs: readonly T[], same: (a: T, b: T) => boolean): T[] {
  const out: T[] = []
  for (const x of [...xs].sort((p, q) => p.iova - q.iova)) {
    const last = out.at(-1)
    if (last !== undefined && last.iova + last.size === x.iova && last.pa + last.size === x.pa && same(last, x)) out[out.length - 1] = { ...last, size: last.size + x.size }
    else out.push({ ...x })
  }
  return out
}

/** The leaf attributes Linux's arm_lpae_prot_to_pte gives `prot` (stage 1). */
function expectedAttrs(prot: number) {
  const rdonly = (prot & IOMMU_PROT_READ) !== 0 && (prot & IOMMU_PROT_WRITE) === 0
  const unpriv = (prot & IOMMU_PROT_PRIV) === 0
  const xn = (prot & IOMMU_PROT_NOEXEC) !== 0
  return {
    ap: (rdonly ? 2 : 0) | (unpriv ? 1 : 0), xn, pxn: xn, af: true, nG: true,
    attrIndx: (prot & IOMMU_PROT_CACHE) !== 0 ? 1 : 0, sh: (prot & IOMMU_PROT_CACHE) !== 0 ? 3 : 2, ns: false,
  }
}

type Run = { iova: number; pa: number; size: number; attrs: string }

function checkTables(d: ArmSmmuDomain, mem: Parameters<typeof decodeTables>[0], live: readonly Live[]): void {
  const dec = decodeTables(mem, aarch32Regime({ oasBits: 40 }), d.pgtblCfg.arm_lpae_s1_cfg!.ttbr)
  assert.equal(dec.invalid, [], 'no malformed descriptors')
  const got = runs<Run>(dec.mappings.map((m: DecodedMapping) => ({
    iova: m.va, pa: m.pa, size: m.size,
    attrs: JSON.stringify({ ap: m.ap, xn: m.xn, pxn: m.pxn, af: m.af, nG: m.nG, attrIndx: m.attrIndx, sh: m.sh, ns: m.ns }),
  })), (a, b) => a.attrs === b.attrs)
  const want = runs<Run>(live.map(m => ({ iova: m.iova, pa: m.pa, size: m.size, attrs: JSON.stringify(expectedAttrs(m.prot)) })), (a, b) => a.attrs === b.attrs)
  assert.equal(got, want, 'descriptors in RAM = live mappings')
}

test('map/unmap sequences: DMA, ATOS and the tables in RAM agree with the live mappings', () => {
  fc.assert(fc.property(fc.constantFrom('upstream', 'rfc-v5'), fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 0xffff }), (profile, ops, seed) => {
    const b = testBoard({ profile, masters: [{ name: 'dev', iommus: [[SID]] }] })
    const { k } = b
    const g = iommuGroupGet(b.dev(0))!
    const before = k.pages.snapshot()
    iommuGroupClaimDmaOwner(g, {})
    const d = iommuPagingDomainAlloc(b.dev(0)) as ArmSmmuDomain
    iommuAttachGroup(d, g)
    const m = b.master(SID)
    const live: Live[] = []
    let marker = seed
    const probe = (iova: number): void => {
      const hit = find(live, iova)
      const pa = hit === undefined ? 0 : hit.pa + (iova - hit.iova)
      const unpriv = hit !== undefined && (hit.prot & IOMMU_PROT_PRIV) === 0
      const where = `${profile} iova 0x${iova.toString(16)} ${hit === undefined ? 'unmapped' : `→ 0x${pa.toString(16)} prot 0x${hit.prot.toString(16)}`}`
      // Read (unprivileged): mapped, and not a privileged-only mapping.
      marker = (marker * 1103515245 + 12345) >>> 0
      if (hit !== undefined) k.sys.memory.write32(pa, marker)
      assert.is(m.read32(iova), unpriv ? marker : undefined, `read ${where}`)
      // Privileged read: any mapping.
      assert.is(m.read32(iova, { priv: true }), hit !== undefined ? marker : undefined, `priv read ${where}`)
      // Write: needs WRITE.
      const canWrite = unpriv && (hit.prot & IOMMU_PROT_WRITE) !== 0
      const r = m.write32(iova, marker ^ 0x5a5a5a5a)
      assert.is(r === 0, canWrite, `write ${where}`)
      if (hit !== undefined) assert.is(k.sys.memory.read32(pa), canWrite ? (marker ^ 0x5a5a5a5a) >>> 0 : marker, `memory after write ${where}`)
      // Instruction fetch: XN iff NOEXEC (both profiles; decision 0820).
      const canExec = unpriv && (hit.prot & IOMMU_PROT_NOEXEC) === 0
      assert.is(m.fetch(iova, 4).ok, canExec, `fetch ${where}`)
      // ATOS (privileged read lookup in the hardware).
      assert.is(iommuIovaToPhys(d, iova), pa, `iova_to_phys ${where}`)
      // Let the context-fault handler run and clear FSR.
      k.sys.scheduler.runUntilIdle()
    }
    const probeRange = (iova: number, size: number): void => {
      probe(iova)
      probe(iova + size - 4)
      if (size > SZ_4K) probe(iova + Math.floor(size / 2 / 4) * 4)
    }
    for (const op of ops) {
      let touched: { iova: number; size: number } | undefined
      if (op.kind === 'map') {
        let iova: number, pa: number, size: number
        if (op.sizeKind === 2) {
          size = SZ_1G
          iova = op.region * SZ_1G
          pa = PA_BASE
        } else {
          const unit = op.sizeKind === 0 ? SZ_4K : SZ_2M
          size = op.n * unit
          const regionBase = [0, 0x3fe0_0000, 0x8000_0000, 0xffe0_0000 - 64 * SZ_2M][op.region]!
          iova = regionBase + op.slot * (op.sizeKind === 0 ? SZ_4K * 3 : SZ_2M) + op.iovaMis * SZ_4K
          pa = PA_BASE + op.paSlot * SZ_2M + op.paMis * SZ_4K
        }
        if (iova + size > 2 ** 32 || live.some(l => iova < l.iova + l.size && l.iova < iova + size)) continue
        iommuMap(d, iova, pa, size, op.prot)
        live.push({ iova, pa, size, prot: op.prot })
        touched = { iova, size }
      } else {
        if (live.length === 0) continue
        const i = op.pick % live.length
        const l = live[i]!
        let iova = l.iova
        let size = l.size
        if (op.sub) {
          const pages = l.size / SZ_4K
          const start = op.a % pages
          iova = l.iova + start * SZ_4K
          size = ((op.b % (pages - start)) + 1) * SZ_4K
        }
        assert.is(iommuUnmap(d, iova, size), size, `unmap 0x${iova.toString(16)}+0x${size.toString(16)}`)
        // The model: cut [iova, iova + size) out of the interval.
        live.splice(i, 1)
        if (iova > l.iova) live.push({ ...l, size: iova - l.iova })
        if (iova + size < l.iova + l.size) live.push({ iova: iova + size, pa: l.pa + (iova + size - l.iova), size: l.iova + l.size - iova - size, prot: l.prot })
        touched = { iova, size }
      }
      probeRange(touched.iova, touched.size)
      for (const l of live.slice(0, 4)) probeRange(l.iova, l.size)
      probe((seed * 4096 + touched.iova + 0x1234_5000) % 2 ** 32)
      checkTables(d, k.sys.memory, live)
    }
    iommuDetachGroup(d, g)
    iommuGroupReleaseDmaOwner(g)
    iommuDomainFree(d)
    assert.equal(k.pages.snapshot(), before, 'no page-table page leaked')
  }), { numRuns: 20 })
})

test.run()
