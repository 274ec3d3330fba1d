import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimSystem, BusResp, busAttrs, defineRegisters, RegisterFile } from '../src/index.ts'

test('RAM span round trip through the interconnect, DECERR outside', () => {
  const s = new SimSystem()
  s.bus.addRam('dram', 0x8000_0000, 0x1000_0000)
  const a = busAttrs()
  const src = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff)
  assert.is(s.bus.write(0x8000_0ff0, src, 0, src.length, a), src.length)
  const dst = new Uint8Array(10000)
  assert.is(s.bus.read(0x8000_0ff0, dst, 0, dst.length, a), dst.length)
  assert.equal(dst, src)
  assert.is(s.bus.read(0x7fff_fffe, dst, 0, 4, a), 0)
  assert.is(s.bus.resp, BusResp.DECERR)
})

test('register file: rw, ro, w1c', () => {
  const t = defineRegisters({ name: 't', size: 0x100, registers: {
    A: { offset: 0, reset: 5 }, B: { offset: 4, access: 'ro', reset: 7 }, C: { offset: 8, access: 'w1c', reset: 0xff },
  } })
  const f = new RegisterFile(t)
  const a = busAttrs()
  f.write(0, 4, 0x1234, a); f.write(4, 4, 1, a); f.write(8, 4, 0x0f, a)
  assert.is(f.read(0, 4, a), 0x1234)
  assert.is(f.read(4, 4, a), 7)
  assert.is(f.read(8, 4, a), 0xf0)
  assert.is(f.read(0x40, 4, a), 0)
  assert.is(f.logCounts.unknown, 1)
})
test.run()
