/**
 * SMMU translation speed: translations per second on a TLB hit and on a
 * full walk (3 descriptor fetches, AArch32-LPAE), each as a 4-byte DMA read
 * through a master port. The host reference does the same 4-byte reads from
 * physical memory without the SMMU, so the ratio is the SMMU's cost.
 */
import { Interconnect, PhysMemory, busAttrs } from '@vfio-sim/sim'
import type { BenchFigure } from '../../../bench/harness.ts'
import { Mmu400 } from '../src/index.ts'

const RAM = 0x80000000
const ROOT = 0x8f000000
const PAGES = 512
const N = 200_000

function setup(tlbEntries: number) {
  const mem = new PhysMemory()
  const bus = new Interconnect(mem)
  bus.addRam('ram', RAM, 0x10000000)
  const smmu = new Mmu400({ bus, config: { tlbEntries } })
  bus.addDevice(0x2b400000, smmu.mmio)
  // One L1 entry → one L2 table → one L3 table of 512 pages (IOVA 0..2 MiB → RAM + 16 MiB).
  mem.write32(ROOT, (ROOT + 0x1000) | 3)
  mem.write32(ROOT + 0x1000, (ROOT + 0x2000) | 3)
  for (let i = 0; i < PAGES; i++) mem.write32(ROOT + 0x2000 + 8 * i, (RAM + 0x1000000 + i * 0x1000) | 0xc43)
  const w = (off: number, v: number) => bus.writel(0x2b400000 + off, v)
  w(0xc00, 0)
  w(0x800, 0x80000003)
  w(0x1000, 0x0001f300)
  w(0x8030, 0x80803520)
  w(0x8020, ROOT)
  w(0x8038, 0xf404ff44)
  w(0x8000, 0x1067)
  w(0, 0x00201836)
  return { mem, port: smmu.port(3), smmu }
}

const attrs = busAttrs({ streamId: 3 })
const buf = new Uint8Array(4)
const page = new Uint8Array(0x1000)

function refRun(mem: PhysMemory): number {
  for (let i = 0; i < N; i++) mem.read(RAM + 0x1000000 + (i % PAGES) * 0x1000 + 16, buf, 0, 4)
  return N
}

const hit = setup(1024)
const walk = setup(1) // a one-entry TLB flushes on every insert: each new page walks

const figures: BenchFigure[] = [
  {
    name: 'mmu400 translate, TLB hit (4-byte DMA reads)',
    unit: 'translations',
    run() {
      const { port } = hit
      for (let i = 0; i < N; i++) port.read((i % PAGES) * 0x1000 + 16, buf, 0, 4, attrs)
      return N
    },
    reference: () => refRun(hit.mem),
  },
  {
    name: 'mmu400 translate, TLB miss + 3-level walk',
    unit: 'translations',
    run() {
      const { port } = walk
      for (let i = 0; i < N; i++) port.read((i % PAGES) * 0x1000 + 16, buf, 0, 4, attrs)
      return N
    },
    reference: () => refRun(walk.mem),
  },
  {
    name: 'mmu400 DMA read 4 KiB pages through the SMMU (TLB hit)',
    unit: 'B',
    run() {
      const { port } = hit
      for (let i = 0; i < N / 100; i++) port.read((i % PAGES) * 0x1000, page, 0, 0x1000, attrs)
      return (N / 100) * 0x1000
    },
    reference() {
      for (let i = 0; i < N / 100; i++) hit.mem.read(RAM + 0x1000000 + (i % PAGES) * 0x1000, page, 0, 0x1000)
      return (N / 100) * 0x1000
    },
  },
]

export default figures
