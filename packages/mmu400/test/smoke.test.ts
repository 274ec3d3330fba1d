import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RAM_BASE, fixture, linuxAttach, master } from './helpers.ts'

test('a mapped page translates, an unmapped one faults with TF', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x10000, RAM_BASE + 0x5000)
  f.mem.write32(RAM_BASE + 0x5010, 0xdeadbeef)
  const m = master(f)
  assert.is(m.read32(0x10010), 0xdeadbeef)
  const r = m.read(0x20000, 4)
  assert.is(r.respName, 'SLVERR')
  assert.is(f.r(f.cb(0) + 0x58), 0x2)
})

test.run()
