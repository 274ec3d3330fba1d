import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BusResp } from '@vfio-sim/sim'
import { FSR, TestMaster } from '../src/index.ts'
import { RAM_BASE, fixture, linuxAttach, master } from './helpers.ts'

const STALL_SCTLR = 0x1067 | 0x80 // + CFCFG

test('stall + RESUME retry: the handler maps the page, the master retries and completes', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR })
  f.mem.write32(RAM_BASE + 0x4000, 0x0badf00d)
  const m = master(f)
  const t = m.start(0x5000, 4)
  assert.is(t.done, false)
  assert.is(t.resp, BusResp.STALL)
  assert.is(f.r(f.cb(0) + 0x58) >>> 0, (FSR.TF | FSR.SS) >>> 0)
  assert.is(f.cIrq.asserted, true)
  // Retrying before RESUME stays stalled.
  assert.is(m.read(0x5000, 4).respName, 'STALL')
  // The fault handler of a 3.x-era driver: fix, clear FSR, RESUME retry.
  pt.map(0x5000, RAM_BASE + 0x4000)
  f.w(f.cb(0) + 0x58, f.r(f.cb(0) + 0x58))
  f.w(f.cb(0) + 0x8, 0)
  assert.is(t.done, true)
  assert.is(t.resp, BusResp.OKAY)
  assert.is(new DataView(t.data.buffer).getUint32(0, true), 0x0badf00d)
  assert.is(f.r(f.cb(0) + 0x58), 0)
  assert.is(f.cIrq.asserted, false)
})

test('stall + RESUME terminate with CFRE = 1: the master gets an abort', () => {
  const f = fixture()
  linuxAttach(f, { sctlr: STALL_SCTLR })
  const t = master(f).start(0x5000, new Uint8Array([1, 2, 3, 4]))
  assert.is(t.resp, BusResp.STALL)
  f.w(f.cb(0) + 0x8, 1)
  assert.is(t.done, true)
  assert.is(t.resp, BusResp.SLVERR)
  assert.is(t.bytes, 0)
  assert.is(f.r(f.cb(0) + 0x58) >>> 0, FSR.TF, 'SS cleared by RESUME, the fault stays recorded')
})

test('stall + RESUME terminate with CFRE = 0: reads complete as zeros', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR & ~0x20 })
  pt.map(0x4000, RAM_BASE)
  f.mem.write32(RAM_BASE, 0xffffffff)
  const t = master(f).start(0x4ffc, 8) // the second page faults
  assert.is(t.bytes, 4)
  assert.is(t.resp, BusResp.STALL)
  f.w(f.cb(0) + 0x8, 1)
  assert.is(t.done, true)
  assert.is(t.resp, BusResp.OKAY)
  assert.equal([...t.data.subarray(4)], [0, 0, 0, 0])
})

test('HUPCF = 0: another transaction in the stalled context waits too, and both finish after RESUME', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR, sid: 0x10, mask: 0x1 })
  pt.map(0x1000, RAM_BASE)
  f.mem.write32(RAM_BASE, 0x1234)
  const a = new TestMaster(f.smmu.port(0x10))
  const b = new TestMaster(f.smmu.port(0x11))
  const ta = a.start(0x9000, 4)
  const tb = b.start(0x1000, 4) // mapped, but held behind the stall
  assert.is(ta.resp, BusResp.STALL)
  assert.is(tb.resp, BusResp.STALL)
  pt.map(0x9000, RAM_BASE)
  f.w(f.cb(0) + 0x58, 0xffffffff)
  f.w(f.cb(0) + 0x8, 0)
  assert.ok(ta.done && tb.done)
  assert.is(new DataView(ta.data.buffer).getUint32(0, true), 0x1234)
  assert.is(new DataView(tb.data.buffer).getUint32(0, true), 0x1234)
})

test('HUPCF = 1: hits proceed under a stalled fault', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR | 0x100, sid: 0x10, mask: 0x1 })
  pt.map(0x1000, RAM_BASE)
  const a = new TestMaster(f.smmu.port(0x10))
  const b = new TestMaster(f.smmu.port(0x11))
  assert.is(a.start(0x9000, 4).resp, BusResp.STALL)
  assert.ok(b.read(0x1000, 4).ok)
})

test('with a scheduler, resume listeners run as events, not inside the RESUME write', () => {
  const f = fixture({}, { scheduler: true })
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR })
  const t = master(f).start(0x5000, 4)
  pt.map(0x5000, RAM_BASE)
  f.w(f.cb(0) + 0x58, 0xffffffff)
  f.w(f.cb(0) + 0x8, 0)
  assert.is(t.done, false)
  f.sched.runUntilIdle()
  assert.is(t.done, true)
  assert.is(t.resp, BusResp.OKAY)
})

test('RESUME with nothing stalled is ignored; without stall support CFCFG cannot be set and faults abort', () => {
  const f = fixture()
  linuxAttach(f)
  f.w(f.cb(0) + 0x8, 0)
  assert.is(f.r(f.cb(0) + 0x58), 0)
  const g = fixture({ stall: false })
  linuxAttach(g, { sctlr: STALL_SCTLR })
  assert.is(master(g).read(0x5000, 4).respName, 'SLVERR')
  assert.is(g.r(g.cb(0) + 0x58), FSR.TF)
})

test('a second fault while stalled with HUPCF = 1 sets MULTI and SS and also stalls', () => {
  const f = fixture()
  linuxAttach(f, { sctlr: STALL_SCTLR | 0x100, sid: 0x10, mask: 0x1 })
  const a = new TestMaster(f.smmu.port(0x10))
  const b = new TestMaster(f.smmu.port(0x11))
  const ta = a.start(0x9000, 4)
  const tb = b.start(0xa000, 4)
  assert.is(tb.resp, BusResp.STALL)
  assert.is(f.r(f.cb(0) + 0x58) >>> 0, (FSR.TF | FSR.SS | FSR.MULTI) >>> 0)
  f.w(f.cb(0) + 0x8, 1)
  assert.is(ta.resp, BusResp.SLVERR)
  assert.is(tb.resp, BusResp.SLVERR)
})

test('one port, two held accesses (two DMA channels): terminate ends the faulting one, retries the one held behind', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR })
  pt.map(0x1000, RAM_BASE)
  const m = master(f)
  const faulting = m.start(0x9000, 4)
  const behind = m.start(0x1000, 4)
  assert.is(faulting.resp, BusResp.STALL)
  assert.is(behind.resp, BusResp.STALL)
  assert.is(m.stalledTransfers.length, 2)
  f.w(f.cb(0) + 0x8, 1)
  assert.is(faulting.resp, BusResp.SLVERR)
  assert.is(behind.resp, BusResp.OKAY)
  assert.is(m.stalledTransfers.length, 0)
})

test('HUPCF = 1: the same port can still use other pages while one access is held', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sctlr: STALL_SCTLR | 0x100 })
  pt.map(0x1000, RAM_BASE)
  const m = master(f)
  assert.is(m.start(0x9000, 4).resp, BusResp.STALL)
  assert.ok(m.read(0x1000, 4).ok)
  assert.is(m.read(0x9000, 4).respName, 'STALL', 'a premature retry of the held access stays held')
})

test('one port, two streams in two banks (PL330 channels): a stall in one bank does not hold the other', () => {
  const f = fixture()
  linuxAttach(f, { cb: 0, sid: 0, sctlr: STALL_SCTLR })
  const pt1 = linuxAttach(f, { cb: 1, sid: 1 })
  pt1.map(0x9000, RAM_BASE)
  f.mem.write32(RAM_BASE, 0x5a5a)
  const port = f.smmu.port()
  const m = new TestMaster(port)
  const t0 = m.start(0x9000, 4, { streamId: 0 })
  assert.is(t0.resp, BusResp.STALL)
  assert.is(m.read32(0x9000, { streamId: 1 }), 0x5a5a)
  assert.ok(port.stalled)
  f.w(f.cb(1) + 0x8, 1) // RESUME on the other bank: nothing held there
  assert.is(t0.done, false)
  f.w(f.cb(0) + 0x8, 1)
  assert.is(t0.resp, BusResp.SLVERR)
  assert.not.ok(port.stalled)
})

test.run()
