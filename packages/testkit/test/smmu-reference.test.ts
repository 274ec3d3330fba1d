// referenceTranslate against hand-worked cases from the architecture text
// (ARMv7-A ARM B3.6.4 TTBR selection, B3.7.1 AP[2:1], B3.7.2 XN/PXN,
// B3.7.3 fault priorities; spec/smmu.md §3.2, §3.5, §3.6).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ap, FsrBit, LeafSize, aarch32Regime, aarch64Regime, mapping, referenceTranslate, tableAttrs, type RefOutcome, type RefTxn } from '../src/index.ts'

const R = { write: false, instr: false, priv: false }
const txn = (va: number, t: Partial<RefTxn> = {}): RefTxn => ({ ...R, ...t, va })
const faultOf = (o: RefOutcome): [string, number, number, number] => {
  if (o.kind !== 'fault') throw new Error(`expected a fault, got pa 0x${o.pa.toString(16)}`)
  return [o.fault, o.fsr, o.level, o.fsynr0]
}
const paOf = (o: RefOutcome): number => {
  if (o.kind !== 'ok') throw new Error(`expected success, got ${o.fault} fault`)
  return o.pa
}

const page = mapping({ va: 0x1000, pa: 0x8000_2000, size: LeafSize.SIZE_4K })
const block = mapping({ va: 0x4020_0000, pa: 0x1_2340_0000, size: LeafSize.SIZE_2M, ap: Ap.RO })
const a32 = aarch32Regime()

test('translates inside a page and a block, offset preserved', () => {
  assert.is(paOf(referenceTranslate([page], a32, txn(0x1abc))), 0x8000_2abc)
  assert.is(paOf(referenceTranslate([page, block], a32, txn(0x403f_ffff))), 0x1_235f_ffff)
})

test('Translation fault level is the first invalid descriptor (tables exist where mappings need them)', () => {
  // Same L3 table as the page: L3 descriptor invalid -> level 3. FSYNR0 = PLVL 3.
  assert.equal(faultOf(referenceTranslate([page], a32, txn(0x2000))), ['translation', FsrBit.TF, 3, 3])
  // Same L2 table, other 2 MiB: level 2.
  assert.equal(faultOf(referenceTranslate([page], a32, txn(0x20_0000))), ['translation', FsrBit.TF, 2, 2])
  // Other 1 GiB: the L1 entry is invalid -> level 1. A write sets WNR (bit 4).
  assert.equal(faultOf(referenceTranslate([page], a32, txn(0x8000_0000, { write: true }))), ['translation', FsrBit.TF, 1, 1 | 0x10])
  // Next to a 2 MiB block: the L2 table exists -> level 2.
  assert.equal(faultOf(referenceTranslate([block], a32, txn(0x4000_0000))), ['translation', FsrBit.TF, 2, 2])
  // An empty table listed explicitly moves the fault one level down.
  assert.is(faultOf(referenceTranslate([], a32, txn(0x4000_0000), [tableAttrs({ va: 0x4000_0000, level: 2 })]))[2], 3)
})

test('AArch32 TTBR0/TTBR1 split: T0SZ = 2, T1SZ = 2 leaves a hole [1 GiB, 3 GiB) -> TF level 1', () => {
  const r = aarch32Regime({ t0sz: 2, t1sz: 2 })
  const hi = mapping({ va: 0xc000_0000, pa: 0x5000_0000, size: LeafSize.SIZE_4K })
  assert.is(paOf(referenceTranslate([page, hi], r, txn(0xc000_0010))), 0x5000_0010)
  // 1 GiB regions walk from level 2 (input 30 bits): the last L2 entry is invalid -> level 2.
  assert.is(faultOf(referenceTranslate([page, hi], r, txn(0x3fff_ffff)))[2], 2)
  for (const va of [0x4000_0000, 0x8000_0000, 0xbfff_ffff]) {
    assert.equal(faultOf(referenceTranslate([page, hi], r, txn(va, { priv: true }))), ['translation', FsrBit.TF, 1, 1 | 0x20])
  }
  // EPD1: TTBR1 walks disabled -> TF level 1 even for a mapped VA.
  assert.is(faultOf(referenceTranslate([page, hi], aarch32Regime({ t0sz: 2, t1sz: 2, epd1: true }), txn(0xc000_0010)))[0], 'translation')
  // T1SZ = 0 with T0SZ = 1: TTBR1 from 2^31 to the top, no hole.
  const r2 = aarch32Regime({ t0sz: 1 })
  assert.is(paOf(referenceTranslate([hi], r2, txn(0xc000_0000))), 0x5000_0000)
})

test('AP[2:1] decoding: priv RW / unpriv none, RW/RW, RO / none, RO/RO', () => {
  const cases: [Ap, boolean, boolean, boolean][] = [
    // ap, priv, write, allowed
    [Ap.PRIV_RW, true, false, true], [Ap.PRIV_RW, true, true, true], [Ap.PRIV_RW, false, false, false], [Ap.PRIV_RW, false, true, false],
    [Ap.RW, true, false, true], [Ap.RW, true, true, true], [Ap.RW, false, false, true], [Ap.RW, false, true, true],
    [Ap.PRIV_RO, true, false, true], [Ap.PRIV_RO, true, true, false], [Ap.PRIV_RO, false, false, false], [Ap.PRIV_RO, false, true, false],
    [Ap.RO, true, false, true], [Ap.RO, true, true, false], [Ap.RO, false, false, true], [Ap.RO, false, true, false],
  ]
  for (const [ap, priv, write, allowed] of cases) {
    const o = referenceTranslate([mapping({ ...page, ap })], a32, txn(0x1004, { priv, write }))
    if (allowed) assert.is(paOf(o), 0x8000_2004, `ap=${ap} priv=${priv} write=${write}`)
    else assert.equal(faultOf(o), ['permission', FsrBit.PF, 3, 3 | (write ? 0x10 : 0) | (priv ? 0x20 : 0)], `ap=${ap} priv=${priv} write=${write}`)
  }
})

test('XN blocks every fetch, PXN only privileged ones; AArch32 fetches need read permission', () => {
  const f = (m: typeof page, priv: boolean, r = a32): RefOutcome => referenceTranslate([m], r, txn(0x1000, { instr: true, priv }))
  // IND = bit 6.
  assert.equal(faultOf(f({ ...page, xn: true }, false)), ['permission', FsrBit.PF, 3, 3 | 0x40])
  assert.equal(faultOf(f({ ...page, xn: true }, true)), ['permission', FsrBit.PF, 3, 3 | 0x60])
  assert.equal(faultOf(f({ ...page, pxn: true }, true)), ['permission', FsrBit.PF, 3, 3 | 0x60])
  assert.is(paOf(f({ ...page, pxn: true }, false)), 0x8000_2000)
  // Unprivileged fetch from a privileged-only page: no read permission -> fault.
  assert.is(faultOf(f({ ...page, ap: Ap.PRIV_RW }, false))[0], 'permission')
  // Privileged fetch from a normal RW mapping succeeds in AArch32 (spec §9 scenario 6).
  assert.is(paOf(f(page, true)), 0x8000_2000)
  // A data read of an XN page is fine.
  assert.is(paOf(referenceTranslate([{ ...page, xn: true, pxn: true }], a32, txn(0x1000))), 0x8000_2000)
  // An instruction *write* is a data write: no XN check, IND = 0.
  assert.is(paOf(referenceTranslate([{ ...page, xn: true }], a32, txn(0x1000, { instr: true, write: true }))), 0x8000_2000)
  // WXN: writable -> not executable. UWXN: unprivileged-writable -> no privileged fetch.
  assert.is(faultOf(f(page, false, aarch32Regime({ wxn: true })))[0], 'permission')
  assert.is(faultOf(f(page, true, aarch32Regime({ uwxn: true })))[0], 'permission')
  assert.is(paOf(f({ ...page, ap: Ap.RO }, true, aarch32Regime({ uwxn: true, wxn: true }))), 0x8000_2000)
})

test('AArch64: privileged fetch from EL0-writable memory is implicitly PXN; EL0 fetch needs only UXN = 0', () => {
  const r = aarch64Regime()
  const f = (m: typeof page, priv: boolean): RefOutcome => referenceTranslate([m], r, txn(0x1000, { instr: true, priv }))
  assert.equal(faultOf(f(page, true)), ['permission', FsrBit.PF, 3, 3 | 0x60])
  assert.is(paOf(f({ ...page, ap: Ap.RO }, true)), 0x8000_2000)
  assert.is(paOf(f({ ...page, ap: Ap.PRIV_RW }, false)), 0x8000_2000) // execute-only for EL0
  // Out of the 48-bit input range: TF at level 0.
  assert.equal(faultOf(referenceTranslate([page], r, txn(2 ** 48))), ['translation', FsrBit.TF, 0, 0])
  // A miss in the same L3 table.
  assert.is(faultOf(referenceTranslate([page], r, txn(0x3000)))[2], 3)
})

test('Access flag: AF = 0 faults (before permission) unless SCTLR.AFFD', () => {
  const noAf = { ...page, af: false, ap: Ap.RO }
  assert.equal(faultOf(referenceTranslate([noAf], a32, txn(0x1000, { write: true }))), ['accessFlag', FsrBit.AFF, 3, 3 | 0x10])
  assert.equal(faultOf(referenceTranslate([noAf], aarch32Regime({ affd: true }), txn(0x1000, { write: true }))), ['permission', FsrBit.PF, 3, 3 | 0x10])
  assert.is(paOf(referenceTranslate([noAf], aarch32Regime({ affd: true }), txn(0x1000))), 0x8000_2000)
})

test('table attributes: APTable[0] removes unprivileged access, APTable[1] write, XNTable/PXNTable execute', () => {
  const t = (x: Partial<Parameters<typeof tableAttrs>[0]>) => [tableAttrs({ va: 0, level: 1, ...x })]
  assert.is(faultOf(referenceTranslate([page], a32, txn(0x1000), t({ apTable: 1 })))[0], 'permission')
  assert.is(paOf(referenceTranslate([page], a32, txn(0x1000, { priv: true }), t({ apTable: 1 }))), 0x8000_2000)
  assert.is(faultOf(referenceTranslate([page], a32, txn(0x1000, { write: true, priv: true }), t({ apTable: 2 })))[0], 'permission')
  assert.is(paOf(referenceTranslate([page], a32, txn(0x1000), t({ apTable: 2 }))), 0x8000_2000)
  assert.is(faultOf(referenceTranslate([page], a32, txn(0x1000, { instr: true }), t({ xnTable: true })))[0], 'permission')
  assert.is(faultOf(referenceTranslate([page], a32, txn(0x1000, { instr: true, priv: true }), t({ pxnTable: true })))[0], 'permission')
  assert.is(paOf(referenceTranslate([page], a32, txn(0x1000, { instr: true }), t({ pxnTable: true }))), 0x8000_2000)
  // Attributes on a table in another 1 GiB do not apply.
  assert.is(paOf(referenceTranslate([page], a32, txn(0x1000), [tableAttrs({ va: 0x4000_0000, level: 1, apTable: 3, xnTable: true })])), 0x8000_2000)
})

test('output address beyond OAS: TF on an SMMUv1 AArch32 context, ASF when configured', () => {
  const wild = { ...page, pa: 2 ** 40 }
  assert.equal(faultOf(referenceTranslate([wild], a32, txn(0x1000))), ['translation', FsrBit.TF, 3, 3])
  assert.equal(faultOf(referenceTranslate([wild], aarch32Regime({ addressSizeFault: 'asf' }), txn(0x1000))), ['addressSize', FsrBit.ASF, 3, 3])
  // Address size is checked before the access flag.
  assert.is(faultOf(referenceTranslate([{ ...wild, af: false }], aarch32Regime({ addressSizeFault: 'asf' }), txn(0x1000)))[0], 'addressSize')
})

test('RefOptions: the other readings of the two open points (decision 0301)', () => {
  // IND of an instruction-attributed write: 0 by default, the attribute with writeInd = 'presented'.
  const w = txn(0x2000, { write: true, instr: true })
  assert.is(faultOf(referenceTranslate([page], a32, w))[3], 3 | 0x10)
  assert.is(faultOf(referenceTranslate([page], a32, w, [], { writeInd: 'presented' }))[3], 3 | 0x10 | 0x40)
  // Permissions stay those of a data write either way.
  assert.is(paOf(referenceTranslate([{ ...page, xn: true }], a32, txn(0x1000, { write: true, instr: true }), [], { writeInd: 'presented' })), 0x8000_2000)
  // AArch64 pre-walk fault level: 0 by default, the start level (1 for T0SZ = 25) with 'start-level'.
  const r = aarch64Regime({ t0sz: 25 })
  assert.is(faultOf(referenceTranslate([], r, txn(2 ** 39)))[2], 0)
  assert.is(faultOf(referenceTranslate([], r, txn(2 ** 39), [], { aarch64PreWalkLevel: 'start-level' }))[2], 1)
  // AArch32 is level 1 under both readings.
  assert.is(faultOf(referenceTranslate([], aarch32Regime({ t0sz: 2, t1sz: 2 }), txn(0x8000_0000), [], { aarch64PreWalkLevel: 'start-level' }))[2], 1)
})

test.run()
