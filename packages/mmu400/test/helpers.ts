/**
 * Test fixtures: a system with RAM, an SMMU mapped on the interconnect, and
 * a tiny independent page-table writer for AArch32-LPAE stage 1 (written
 * here from the descriptor layout of spec §3.4, not with the model's code).
 */
import { Interconnect, InterruptController, PhysMemory, Scheduler, TextSink, Tracer, type IrqLine } from '@vfio-sim/sim'
import { Mmu400, TestMaster, type Mmu400Config } from '../src/index.ts'

export const SMMU_BASE = 0x2b400000
export const RAM_BASE = 0x80000000
export const RAM_SIZE = 0x10000000

export interface Fixture {
  bus: Interconnect
  mem: PhysMemory
  smmu: Mmu400
  sched: Scheduler
  tracer: Tracer
  irqc: InterruptController
  gIrq: IrqLine
  cIrq: IrqLine
  cIrq1: IrqLine
  /** CPU register access relative to the SMMU base. */
  w(off: number, v: number): void
  r(off: number): number
  w64(off: number, v: bigint): void
  r64(off: number): bigint
  cb(n: number): number
  gr1: number
}

export function fixture(config: Mmu400Config = {}, opts: { scheduler?: boolean } = {}): Fixture {
  const sched = new Scheduler()
  const tracer = new Tracer(() => sched.now)
  const mem = new PhysMemory()
  const bus = new Interconnect(mem, tracer)
  bus.addRam('ram', RAM_BASE, RAM_SIZE)
  const irqc = new InterruptController(8, sched, tracer)
  const gIrq = irqc.line(0)
  const cIrq = irqc.line(1)
  const cIrq1 = irqc.line(2)
  const smmu = new Mmu400({ bus, tracer, config, irqs: { global: [gIrq], context: (config.contextIrqs ?? 1) > 1 ? [cIrq, cIrq1] : [cIrq] }, ...(opts.scheduler ? { scheduler: sched } : {}) })
  bus.addDevice(SMMU_BASE, smmu.mmio)
  const cbBase = smmu.config.cbBase
  return {
    bus, mem, smmu, sched, tracer, irqc, gIrq, cIrq, cIrq1,
    w: (off, v) => { bus.writel(SMMU_BASE + off, v) },
    r: off => bus.readl(SMMU_BASE + off),
    w64: (off, v) => { bus.write64(SMMU_BASE + off, v) },
    r64: off => bus.read64(SMMU_BASE + off),
    cb: n => cbBase + n * 0x1000,
    gr1: 0x1000,
  }
}

/** Collects trace text lines. */
export function traceLines(f: Fixture): string[] {
  const sink = new TextSink()
  f.tracer.addSink(sink)
  return sink.lines
}

// ---- independent AArch32-LPAE page-table writer (4 KiB granule, T0SZ = 0: 4-entry L1) ----

/** Leaf descriptor options, spelled as Linux's io-pgtable-arm prot flags would set them. */
export interface Prot {
  read?: boolean
  write?: boolean
  /** IOMMU_NOEXEC: sets PXN and XN. */
  noexec?: boolean
  /** IOMMU_PRIV: AP[1] = 0. */
  priv?: boolean
  af?: boolean
  global?: boolean
  pxnOnly?: boolean
  xnOnly?: boolean
  attrIndx?: number
}

export function leafHiLo(pa: number, level: number, p: Prot): [number, number] {
  let lo = (pa % 2 ** 32) >>> 0
  const hi0 = Math.floor(pa / 2 ** 32)
  lo = (lo & 0xfffff000) >>> 0
  lo |= level === 3 ? 3 : 1
  lo |= (p.attrIndx ?? 0) << 2
  if (!p.priv) lo |= 1 << 6
  if (p.read !== false && !p.write) lo |= 1 << 7 // read-only
  if (p.af !== false) lo |= 1 << 10
  if (!p.global) lo |= 1 << 11
  let hi = hi0
  if (p.noexec || p.pxnOnly) hi |= 1 << 21
  if (p.noexec || p.xnOnly) hi |= 1 << 22
  return [lo >>> 0, hi >>> 0]
}

/** A page-table builder over PhysMemory, allocating tables from a bump pointer. */
export class PageTables {
  readonly mem: PhysMemory
  next: number
  readonly root: number
  constructor(mem: PhysMemory, arena: number) {
    this.mem = mem
    this.root = arena
    this.next = arena + 0x1000
  }
  private alloc(): number {
    const a = this.next
    this.next += 0x1000
    this.mem.fill(a, 0x1000, 0)
    return a
  }
  private put(addr: number, lo: number, hi: number): void {
    this.mem.write32(addr, lo)
    this.mem.write32(addr + 4, hi)
  }
  /** The table at `level` for va, creating tables down from the root; returns its address. */
  tableFor(va: number, level: number, tableHiBits = 0): number {
    let table = this.root
    for (let l = 1; l < level; l++) {
      const shift = 12 + 9 * (3 - l)
      const idx = Math.floor(va / 2 ** shift) % (l === 1 ? 4 : 512)
      const a = table + idx * 8
      const lo = this.mem.read32(a)
      if ((lo & 3) === 3) {
        table = (lo & 0xfffff000) >>> 0
        continue
      }
      const t = this.alloc()
      this.put(a, (t | 3) >>> 0, tableHiBits)
      table = t
    }
    return table
  }
  /** Maps one page (level 3), 2 MiB block (level 2) or 1 GiB block (level 1). */
  map(va: number, pa: number, level: 1 | 2 | 3 = 3, p: Prot = { read: true, write: true }): number {
    const table = this.tableFor(va, level)
    const shift = 12 + 9 * (3 - level)
    const idx = Math.floor(va / 2 ** shift) % (level === 1 ? 4 : 512)
    const [lo, hi] = leafHiLo(pa, level, p)
    this.put(table + idx * 8, lo, hi)
    return table + idx * 8
  }
  /** Writes a raw descriptor at level `level` for va. */
  raw(va: number, level: number, lo: number, hi: number): number {
    const table = this.tableFor(va, level)
    const shift = 12 + 9 * (3 - level)
    const idx = Math.floor(va / 2 ** shift) % (level === 1 ? 4 : 512)
    this.put(table + idx * 8, lo >>> 0, hi >>> 0)
    return table + idx * 8
  }
  unmap(va: number, level: 1 | 2 | 3 = 3): void {
    this.raw(va, level, 0, 0)
  }
}

export const PT_ARENA = 0x8f000000

/**
 * Programs the SMMU as Linux's arm-smmu does for one stage-1 domain in bank
 * `cb` with stream `sid` (spec §5, §9 scenario 2): S2CR, SMR, CBAR, TCR,
 * TTBR0, MAIR0, SCTLR 0x1067, then sCR0 with CLIENTPD cleared.
 */
export function linuxAttach(f: Fixture, opts: { cb?: number; sid?: number; mask?: number; sctlr?: number; irptndx?: number } = {}): PageTables {
  const cb = opts.cb ?? 0
  const sid = opts.sid ?? 3
  const pt = new PageTables(f.mem, PT_ARENA + cb * 0x100000)
  f.mem.fill(pt.root, 0x1000, 0)
  f.w(0xc00 + 4 * cb, cb) // S2CR: TRANS, CBNDX
  f.w(0x800 + 4 * cb, (0x80000000 | ((opts.mask ?? 0) << 16) | sid) >>> 0)
  f.w(f.gr1 + 4 * cb, (0x0001f300 | ((opts.irptndx ?? 0) << 24)) >>> 0)
  f.w(f.cb(cb) + 0x30, 0x80803520)
  f.w64(f.cb(cb) + 0x20, BigInt(pt.root) | (BigInt(cb) << 48n))
  f.w(f.cb(cb) + 0x38, 0xf404ff44)
  f.w(f.cb(cb) + 0x3c, 0)
  f.w(f.cb(cb) + 0x0, opts.sctlr ?? 0x1067)
  // sCR0: GFRE|GFIE|GCFGFRE|GCFGFIE, CLIENTPD cleared, VMIDPNE|PTM.
  const scr0 = f.r(0)
  f.w(0, ((scr0 | 0x36 | 0x1800) & ~1) >>> 0)
  return pt
}

export function master(f: Fixture, sid = 3): TestMaster {
  return new TestMaster(f.smmu.port(sid))
}
