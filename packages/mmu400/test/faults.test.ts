import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FSR, GFSR } from '../src/index.ts'
import { RAM_BASE, fixture, leafHiLo, linuxAttach, master, type Fixture } from './helpers.ts'

const NS = 0x80 | 0x100 // FSYNR0.NSSTATE | NSATTR for a non-secure master
const fsr = (f: Fixture, cb = 0) => f.r(f.cb(cb) + 0x58) >>> 0
const far = (f: Fixture, cb = 0) => f.r64(f.cb(cb) + 0x60)
const fsynr0 = (f: Fixture, cb = 0) => f.r(f.cb(cb) + 0x68) >>> 0
const clear = (f: Fixture, cb = 0) => f.w(f.cb(cb) + 0x58, fsr(f, cb))

test('translation fault: unmapped L1 entry → TF, PLVL 1, FAR = full IOVA, CBFRSYNRA = SID, IRQ', () => {
  const f = fixture()
  linuxAttach(f, { sid: 0x13 })
  const r = master(f, 0x13).read(0x40001234, 4)
  assert.is(r.respName, 'SLVERR')
  assert.is(r.faultAddr, 0x40001234)
  assert.is(fsr(f), FSR.TF)
  assert.is(far(f), 0x40001234n)
  assert.is(fsynr0(f), 1 | NS)
  assert.is(f.r(f.gr1 + 0x400), 0x13)
  assert.is(f.cIrq.asserted, true)
  clear(f)
  assert.is(fsr(f), 0)
  assert.is(f.cIrq.asserted, false)
})

test('translation fault at level 2 and level 3 reports the level of the invalid descriptor', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x00001000, RAM_BASE) // creates L1[0] → L2 → L3
  master(f).read(0x00400000, 4) // L2 entry 2 invalid
  assert.is(fsynr0(f) & 3, 2)
  clear(f)
  master(f).read(0x00002000, 4) // L3 entry 2 invalid
  assert.is(fsynr0(f) & 3, 3)
  assert.is(fsr(f), FSR.TF)
})

test('level-3 descriptor of type 0b01 is reserved: translation fault', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  const [lo, hi] = leafHiLo(RAM_BASE, 3, { read: true, write: true })
  pt.raw(0x3000, 3, (lo & ~2) >>> 0, hi)
  assert.is(master(f).read(0x3000, 4).respName, 'SLVERR')
  assert.is(fsr(f), FSR.TF)
  assert.is(fsynr0(f) & 3, 3)
})

test('access flag fault (AF = 0) at the leaf level; AFFD disables it', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x5000, RAM_BASE + 0x1000, 3, { read: true, write: true, af: false })
  assert.is(master(f).write(0x5000, [1]).respName, 'SLVERR')
  assert.is(fsr(f), FSR.AFF)
  assert.is(fsynr0(f), 3 | 0x10 | NS, 'PLVL 3, WNR')
  clear(f)
  f.w(f.cb(0), 0x1067 | 0x8) // AFFD
  assert.ok(master(f).write(0x5000, [1]).ok)
})

test('access flag takes priority over permission', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x5000, RAM_BASE + 0x1000, 3, { read: true, write: false, af: false })
  master(f).write(0x5000, [1])
  assert.is(fsr(f), FSR.AFF)
})

test('permission fault: write to a read-only mapping (PLVL 3, WNR); block mapping gives PLVL 2', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x6000, RAM_BASE + 0x2000, 3, { read: true, write: false })
  assert.ok(master(f).read(0x6000, 4).ok)
  assert.is(master(f).write(0x6000, [1, 2]).respName, 'SLVERR')
  assert.is(fsr(f), FSR.PF)
  assert.is(fsynr0(f), 3 | 0x10 | NS)
  clear(f)
  pt.map(0x00800000, RAM_BASE + 0x00200000, 2, { read: true, write: false })
  master(f).write(0x00812345, [1])
  assert.is(fsr(f), FSR.PF)
  assert.is(fsynr0(f) & 3, 2)
  assert.is(far(f), 0x00812345n)
})

test('permission fault: unprivileged access to an IOMMU_PRIV mapping (PNU = 0); privileged succeeds', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x7000, RAM_BASE, 3, { read: true, write: true, priv: true })
  assert.ok(master(f).read(0x7000, 4, { priv: true }).ok)
  assert.is(master(f).read(0x7000, 4, { priv: false }).respName, 'SLVERR')
  assert.is(fsr(f), FSR.PF)
  assert.is(fsynr0(f), 3 | NS)
  clear(f)
  master(f).write(0x7000, [1], { priv: true })
  assert.is(fsr(f), 0)
})

test('XN: instruction fetch from an IOMMU_NOEXEC mapping faults (IND = 1); a data read succeeds', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x8000, RAM_BASE, 3, { read: true, write: true, noexec: true })
  assert.ok(master(f).read(0x8000, 4).ok)
  assert.is(master(f).fetch(0x8000, 4).respName, 'SLVERR')
  assert.is(fsr(f), FSR.PF)
  assert.is(fsynr0(f), 3 | 0x40 | NS)
  clear(f)
  assert.is(master(f).fetch(0x8000, 4, { priv: true }).respName, 'SLVERR')
  assert.is(fsynr0(f), 3 | 0x40 | 0x20 | NS)
})

test('fetches from a normal RW mapping succeed, privileged and not (AArch32: no implicit PXN)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x8000, RAM_BASE, 3, { read: true, write: true })
  assert.ok(master(f).fetch(0x8000, 4, { priv: true }).ok)
  assert.ok(master(f).fetch(0x8000, 4, { priv: false }).ok)
})

test('PXN alone blocks privileged fetches only; XN alone blocks both', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x9000, RAM_BASE, 3, { read: true, write: true, pxnOnly: true })
  pt.map(0xa000, RAM_BASE, 3, { read: true, write: true, xnOnly: true })
  assert.ok(master(f).fetch(0x9000, 4, { priv: false }).ok)
  assert.is(master(f).fetch(0x9000, 4, { priv: true }).respName, 'SLVERR')
  assert.is(master(f).fetch(0xa000, 4, { priv: false }).respName, 'SLVERR')
  assert.is(master(f).fetch(0xa000, 4, { priv: true }).respName, 'SLVERR')
})

test('AArch32: an instruction fetch needs read permission (unprivileged fetch of a priv-only page faults)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x9000, RAM_BASE, 3, { read: true, write: true, priv: true })
  assert.is(master(f).fetch(0x9000, 4, { priv: false }).respName, 'SLVERR')
  assert.ok(master(f).fetch(0x9000, 4, { priv: true }).ok)
})

test('S2CR.INSTCFG = data lets a fetch from a NOEXEC page through; = instruction makes reads fetches', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x8000, RAM_BASE, 3, { read: true, write: true, noexec: true })
  f.w(0xc00, (2 << 26) | 0)
  assert.ok(master(f).fetch(0x8000, 4).ok)
  f.w(0xc00, (3 << 26) | 0)
  assert.is(master(f).read(0x8000, 4).respName, 'SLVERR')
  assert.is(fsynr0(f) & 0x40, 0x40, 'IND from the overridden attribute')
  clear(f)
  // Writes stay data writes whatever INSTCFG says.
  assert.ok(master(f).write(0x8000, [1]).ok)
})

test('a write with the instruction attribute is a data write: FSYNR0.IND = 0 (decision 0204)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x8000, RAM_BASE, 3, { read: true, write: false, noexec: true })
  master(f).write(0x8000, [1], { instr: true })
  assert.is(fsr(f), FSR.PF)
  assert.is(fsynr0(f), 3 | 0x10 | NS)
})

test('a reserved level-3 descriptor with address bits beyond the OAS is a translation fault, not an address-size fault', () => {
  const f = fixture({ version: 2 })
  const pt = linuxAttach(f)
  pt.raw(0x1000, 3, (0x1000 | 0x401 | 0x40) >>> 0, 0x100)
  master(f).read(0x1000, 4)
  assert.is(fsr(f), FSR.TF)
})

test('S2CR.PRIVCFG forces privileged or unprivileged', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x7000, RAM_BASE, 3, { read: true, write: true, priv: true })
  f.w(0xc00, (3 << 24) | 0)
  assert.ok(master(f).read(0x7000, 4, { priv: false }).ok)
  f.w(0xc00, (2 << 24) | 0)
  assert.is(master(f).read(0x7000, 4, { priv: true }).respName, 'SLVERR')
  assert.is(fsynr0(f) & 0x20, 0, 'PNU from the overridden attribute')
})

test('table attributes: APTable[1] makes everything below read-only, APTable[0] privileged-only', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  // L1[1] → L2 table with APTable = 0b10 (no write), then a RW page below.
  pt.tableFor(0x40000000, 2, (1 << 30) >>> 0)
  pt.map(0x40001000, RAM_BASE, 3, { read: true, write: true })
  assert.ok(master(f).read(0x40001000, 4).ok)
  assert.is(master(f).write(0x40001000, [1]).respName, 'SLVERR')
  assert.is(fsr(f), FSR.PF)
  clear(f)
  pt.tableFor(0x80000000, 2, 1 << 29)
  pt.map(0x80001000, RAM_BASE, 3, { read: true, write: true })
  assert.is(master(f).read(0x80001000, 4).respName, 'SLVERR')
  assert.ok(master(f).read(0x80001000, 4, { priv: true }).ok)
})

test('table attributes: XNTable and PXNTable', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.tableFor(0x40000000, 2, 1 << 28) // XNTable
  pt.map(0x40001000, RAM_BASE, 3, { read: true, write: true })
  assert.is(master(f).fetch(0x40001000, 4).respName, 'SLVERR')
  clear(f)
  pt.tableFor(0x80000000, 2, 1 << 27) // PXNTable
  pt.map(0x80001000, RAM_BASE, 3, { read: true, write: true })
  assert.ok(master(f).fetch(0x80001000, 4).ok)
  assert.is(master(f).fetch(0x80001000, 4, { priv: true }).respName, 'SLVERR')
})

test('SCTLR.WXN: writable pages are not executable; UWXN: user-writable pages not privileged-executable', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: 0x1067 | (1 << 9) })
  pt.map(0x1000, RAM_BASE, 3, { read: true, write: true })
  pt.map(0x2000, RAM_BASE, 3, { read: true, write: false })
  assert.is(master(f).fetch(0x1000, 4).respName, 'SLVERR')
  clear(f)
  assert.ok(master(f).fetch(0x2000, 4).ok)
  f.w(f.cb(0), 0x1067 | (1 << 10))
  assert.ok(master(f).fetch(0x1000, 4).ok, 'UWXN leaves unprivileged fetches alone')
  assert.is(master(f).fetch(0x1000, 4, { priv: true }).respName, 'SLVERR')
})

test('external abort on a descriptor fetch: EF with PTWF, PLVL of the fetch', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  // L1[0] points to a table at an address nothing decodes.
  pt.raw(0x1000, 1, (0x10000000 | 3) >>> 0, 0)
  assert.is(master(f).read(0x1000, 4).respName, 'SLVERR')
  assert.is(fsr(f), FSR.EF)
  assert.is(fsynr0(f), 2 | 0x400 | NS)
})

test('output address beyond 40 bits: v1 reports a translation fault (no ASF), v2 reports ASF', () => {
  for (const version of [1, 2] as const) {
    const f = fixture({ version })
    const pt = linuxAttach(f)
    pt.raw(0x1000, 3, (0x1000 | 0x403 | 0x40) >>> 0, 0x100) // OA bit 40 set
    master(f).read(0x1000, 4)
    assert.is(fsr(f), version === 1 ? FSR.TF : FSR.ASF)
    assert.is(fsynr0(f) & 3, 3)
  }
})

test('blocks: 2 MiB and 1 GiB blocks translate with the right offset', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x00200000, RAM_BASE + 0x00400000, 2)
  pt.map(0x40000000, RAM_BASE, 1)
  f.mem.write32(RAM_BASE + 0x00400000 + 0x12344, 0x2222)
  f.mem.write32(RAM_BASE + 0x0abcdef0, 0x1111)
  assert.is(master(f).read32(0x00212344), 0x2222)
  assert.is(master(f).read32(0x4abcdef0), 0x1111)
})

test('TTBR0/TTBR1 split by T0SZ/T1SZ; EPD1 faults the upper region; gap faults', () => {
  const f = fixture()
  const pt0 = linuxAttach(f)
  pt0.map(0x1000, RAM_BASE + 0x1000)
  // TTBR1 tables: T1SZ = 1 → upper 2 GiB, a level-1 start with 2 entries.
  const root1 = 0x8e000000
  f.mem.fill(root1, 0x3000, 0)
  f.mem.write32(root1 + 8, (root1 + 0x1000) | 3) // L1[1] covers VA[30] = 1
  f.mem.write32(root1 + 0x1000, (root1 + 0x2000) | 3)
  const [lo, hi] = leafHiLo(RAM_BASE + 0x7000, 3, { read: true, write: true })
  f.mem.write32(root1 + 0x2000 + 8, lo)
  f.mem.write32(root1 + 0x2000 + 12, hi)
  f.w64(f.cb(0) + 0x28, BigInt(root1))
  f.mem.write32(RAM_BASE + 0x7000, 0x7777)
  f.mem.write32(RAM_BASE + 0x1000, 0x1111)
  // T0SZ = 1 (lower 2 GiB), T1SZ = 1 (upper 2 GiB).
  f.w(f.cb(0) + 0x30, 0x80000000 | 1 | (1 << 16))
  assert.is(master(f).read32(0xc0001000), 0x7777)
  assert.is(master(f).read32(0x00001000), 0x1111)
  // T0SZ = 2 (lower 1 GiB) and T1SZ = 1: the range 1 GiB..2 GiB belongs to neither.
  f.w(f.cb(0) + 0x30, 0x80000000 | 2 | (1 << 16))
  assert.is(master(f).read(0x40000000, 4).respName, 'SLVERR')
  assert.is(fsr(f), FSR.TF)
  clear(f)
  // EPD1 disables walks from TTBR1.
  f.w(f.cb(0) + 0x30, 0x80000000 | 1 | (1 << 16) | (1 << 23))
  assert.is(master(f).read(0xc0001000, 4).respName, 'SLVERR')
  assert.is(fsr(f), FSR.TF)
})

test('T0SZ as Linux writes it (32 into [5:0]) decodes as 0: full 4 GiB from TTBR0', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  f.w(f.cb(0) + 0x30, 0x80802020)
  pt.map(0xfffff000, RAM_BASE + 0x9000)
  f.mem.write32(RAM_BASE + 0x9004, 0x4242)
  assert.is(master(f).read32(0xfffff004), 0x4242)
})

test('T0SZ = 2: the walk starts at level 2 with a 1 GiB input', () => {
  const f = fixture()
  const root = 0x8d000000
  f.mem.fill(root, 0x2000, 0)
  linuxAttach(f)
  f.w64(f.cb(0) + 0x20, BigInt(root))
  f.w(f.cb(0) + 0x30, 0x80000002)
  // L2 index = VA[29:21]
  f.mem.write32(root + 8 * 5, (root + 0x1000) | 3)
  const [lo, hi] = leafHiLo(RAM_BASE + 0xa000, 3, { read: true, write: true })
  f.mem.write32(root + 0x1000 + 8 * 7, lo)
  f.mem.write32(root + 0x1000 + 8 * 7 + 4, hi)
  f.mem.write32(RAM_BASE + 0xa010, 0x5151)
  assert.is(master(f).read32(5 * 0x200000 + 7 * 0x1000 + 0x10), 0x5151)
})

test('CFRE = 0: a faulting read returns zeros and a write is discarded, the fault is still recorded', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: 0x1067 & ~0x20 })
  pt.map(0x1000, RAM_BASE + 0x1000, 3, { read: true, write: false })
  f.mem.write32(RAM_BASE + 0x1000, 0x12345678)
  const r = master(f).read(0x3000, 8)
  assert.ok(r.ok)
  assert.equal([...r.data], [0, 0, 0, 0, 0, 0, 0, 0])
  assert.is(fsr(f), FSR.TF)
  clear(f)
  assert.ok(master(f).write(0x1000, [0, 0, 0, 0]).ok)
  assert.is(f.mem.read32(RAM_BASE + 0x1000), 0x12345678)
  assert.is(fsr(f), FSR.PF)
})

test('first fault latched: a later fault only sets MULTI; FAR/FSYNR0 keep the first', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE, 3, { read: true, write: false })
  master(f).read(0x5000, 4)
  master(f).write(0x1000, [1])
  assert.is(fsr(f), (FSR.TF | FSR.MULTI) >>> 0)
  assert.is(far(f), 0x5000n)
  assert.is(fsynr0(f), 3 | NS)
  // Linux writes back what it read: everything clears.
  clear(f)
  assert.is(fsr(f), 0)
  assert.is(f.cIrq.asserted, false)
  master(f).write(0x1000, [1])
  assert.is(fsr(f), FSR.PF)
  assert.is(far(f), 0x1000n)
})

test('context interrupt: level while a fault is recorded and CFIE = 1; routed by CBAR.IRPTNDX', () => {
  const f = fixture({ contextIrqs: 2 })
  linuxAttach(f, { cb: 1, sid: 4, irptndx: 1 })
  master(f, 4).read(0x1000, 4)
  assert.is(f.cIrq.asserted, false)
  assert.is(f.cIrq1.asserted, true)
  // CFIE = 0 drops it while the fault stays recorded.
  f.w(f.cb(1), 0x1067 & ~0x40)
  assert.is(f.cIrq1.asserted, false)
  assert.is(fsr(f, 1), FSR.TF)
  f.w(f.cb(1), 0x1067)
  assert.is(f.cIrq1.asserted, true)
})

test('FSRRESTORE writes FSR (fault injection) and raises the interrupt', () => {
  const f = fixture()
  linuxAttach(f)
  f.w(f.cb(0) + 0x5c, FSR.PF)
  assert.is(fsr(f), FSR.PF)
  assert.is(f.cIrq.asserted, true)
  f.w(f.cb(0) + 0x58, FSR.PF)
  assert.is(f.cIrq.asserted, false)
})

test('every FSR fault bit (including TLBMCF, TLBLKF, UUT the model never raises itself) is W1C and drives the interrupt', () => {
  const f = fixture()
  linuxAttach(f)
  for (const bit of [FSR.TF, FSR.AFF, FSR.PF, FSR.EF, FSR.TLBMCF, FSR.TLBLKF, FSR.ASF, FSR.UUT, FSR.SS, FSR.MULTI]) {
    f.w(f.cb(0) + 0x5c, bit)
    assert.is(fsr(f), bit >>> 0)
    assert.is(f.cIrq.asserted, true)
    f.w(f.cb(0) + 0x58, 0)
    assert.is(fsr(f), bit >>> 0, 'writing 0 clears nothing')
    f.w(f.cb(0) + 0x58, bit)
    assert.is(fsr(f), 0)
    assert.is(f.cIrq.asserted, false)
  }
  // FORMAT [10:9] and the reserved bits cannot be set.
  f.w(f.cb(0) + 0x5c, 0x7ffffe00)
  assert.is(fsr(f), FSR.SS)
})

test('IRPTNDX beyond NUMIRPT: the context fault also raises a global UCIF', () => {
  const f = fixture()
  linuxAttach(f, { irptndx: 3 })
  master(f).read(0x1000, 4)
  assert.is(fsr(f), FSR.TF)
  assert.is(f.r(0x48), GFSR.UCIF)
})

test('a transfer crossing pages translates each page; a fault mid-transfer reports bytes done', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE + 0x5000)
  pt.map(0x2000, RAM_BASE + 0x3000)
  const data = Uint8Array.from({ length: 0x2000 }, (_, i) => i & 0xff)
  const r = master(f).write(0x1800, data)
  assert.is(r.respName, 'SLVERR')
  assert.is(r.bytes, 0x1800)
  assert.is(r.faultAddr, 0x3000)
  assert.equal([...f.mem.slice(RAM_BASE + 0x5800, 4)], [0, 1, 2, 3])
  assert.equal([...f.mem.slice(RAM_BASE + 0x3000, 4)], [0, 1, 2, 3].map(x => (x + 0x800) & 0xff))
  assert.is(far(f), 0x3000n)
})

test('translated address that decodes to nothing: DECERR from the interconnect, faultAddr is the IOVA', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, 0x10000000)
  const r = master(f).read(0x1010, 4)
  assert.is(r.respName, 'DECERR')
  assert.is(r.faultAddr, 0x1010)
  assert.is(fsr(f), 0)
})

test('big-endian walks (SCTLR.E)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE + 0x2000)
  // Byte-swap every descriptor of the three tables in use.
  const swap = (a: number) => {
    const b = f.mem.slice(a, 8).reverse()
    f.mem.write(a, b)
  }
  const l1 = pt.root
  const l2 = (f.mem.read32(l1) & 0xfffff000) >>> 0
  const l3 = (f.mem.read32(l2) & 0xfffff000) >>> 0
  swap(l1)
  swap(l2)
  swap(l3 + 8)
  f.w(f.cb(0), 0x1067 | 0x10)
  f.mem.write32(RAM_BASE + 0x2000, 0x600d)
  assert.is(master(f).read32(0x1000), 0x600d)
})

test('output attributes: the forwarded access carries the overridden priv/instr and the stream ID', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE)
  f.w(0xc00, (3 << 24) | (3 << 26))
  const seen: unknown[] = []
  const orig = f.bus.read.bind(f.bus)
  f.bus.read = (a, d, o, l, attrs) => { seen.push({ ...attrs }); return orig(a, d, o, l, attrs) }
  master(f).read(0x1000, 4)
  assert.equal(seen[0], { priv: true, instr: true, secure: false, streamId: 3 })
})

test.run()
