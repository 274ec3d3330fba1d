// DBGINST0/DBGINST1 values for the debug interface (spec §1 point 3, §8.5).
// Expected values are written from the register layout: DBGINST0 =
// insn[1]<<24 | insn[0]<<16 | chan<<8 | thread; DBGINST1 = insn[2..5] LE.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dbgGo, dbgKill, dbgSev, decodeDebugInstr, encodeDebugInstr, debugWriteSequence } from '../src/isa/index.ts'

test('DMAGO ch3 → 0x80001000 secure: manager thread, channel in byte 1', () => {
  // insn = a0 03 00 10 00 80
  assert.equal(dbgGo(3, 0x80001000), { dbginst0: 0x03a00000, dbginst1: 0x80001000 })
})

test('DMAGO non-secure sets bit 1 of byte 0 (0xA2), like Zephyr (secure<<17)', () => {
  assert.equal(dbgGo(1, 0x1000, true), { dbginst0: 0x01a20000, dbginst1: 0x1000 })
})

test('DMAKILL on channel 2 and on the manager', () => {
  assert.equal(dbgKill(2), { dbginst0: 0x00010201, dbginst1: 0 })
  assert.equal(dbgKill('manager'), { dbginst0: 0x00010000, dbginst1: 0 })
})

test('DMASEV 5 from the manager', () => {
  // insn = 34 28
  assert.equal(dbgSev(5), { dbginst0: 0x28340000, dbginst1: 0 })
})

test('decodeDebugInstr: allowed set and thread rule', () => {
  const go = decodeDebugInstr(0x03a00000, 0x80001000)
  assert.is(go.thread, 'manager')
  assert.equal(go.instr, { op: 'DMAGO', length: 6, channel: 3, ns: false, addr: 0x80001000 })
  assert.ok(go.allowed)
  // DMAGO on a channel thread is not allowed
  assert.not.ok(decodeDebugInstr(0x03a00001, 0).allowed)
  // DMAKILL on channel 5
  const k = decodeDebugInstr(0x00010501, 0)
  assert.ok(k.allowed); assert.is(k.channel, 5); assert.is(k.thread, 'channel')
  // DMAEND (byte 0 = 0) via debug: dbg_instr
  assert.not.ok(decodeDebugInstr(0x00000001, 0).allowed)
  // undefined opcode via debug
  const u = decodeDebugInstr(0x00ff0000, 0)
  assert.not.ok(u.allowed); assert.is(u.instr.op, 'error')
})

test('encodeDebugInstr rejects channel numbers beyond 3 bits', () => {
  assert.throws(() => encodeDebugInstr({ op: 'DMAKILL', length: 1 }, { thread: 'channel', channel: 8 }))
})

test('write sequence: DBGINST0 (0xD08), DBGINST1 (0xD0C), then DBGCMD (0xD04) = 0', () => {
  assert.equal(debugWriteSequence(dbgGo(0, 0x2000)), [
    { offset: 0xd08, value: 0x00a00000 }, { offset: 0xd0c, value: 0x2000 }, { offset: 0xd04, value: 0 },
  ])
})

test.run()
