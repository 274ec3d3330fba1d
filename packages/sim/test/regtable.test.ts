// The register-table DSL: access kinds under arbitrary writes, reset, strided
// arrays, 64-bit registers as halves, unknown offsets and bad widths, and
// table checks at definition time.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { BusResp, busAttrs, defineRegisters, getField, RegisterFile, setField } from '../src/index.ts'

const A = busAttrs()

const table = defineRegisters({
  name: 'demo',
  size: 0x200,
  registers: {
    CTRL: { offset: 0x00, reset: 0x11, fields: { EN: { shift: 0, width: 1 }, MODE: { shift: 4, width: 3 }, VER: { shift: 24, width: 8, access: 'ro' } } },
    STATUS: { offset: 0x04, access: 'ro', reset: 0xdead_beef },
    IRQ: { offset: 0x08, access: 'w1c', reset: 0 },
    CMD: { offset: 0x0c, access: 'wo' },
    CH: { offset: 0x100, count: 4, stride: 0x20, reset: 0x5a, doc: 'per channel' },
    BASE: { offset: 0x40, width: 64, reset: 0x1_0000_0001n },
  },
})

test('ro registers and ro fields survive any write; rw fields take exactly the written bits', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(0x00, 0x04), fc.nat(0xffff_ffff)), { maxLength: 20 }), writes => {
    const f = new RegisterFile(table)
    f.set(table.reg.CTRL, 0x3f00_0000) // VER = 0x3f, set by the model
    for (const [off, v] of writes) {
      f.write(off, 4, v, A)
      if (off === 0) {
        const r = f.read(0, 4, A)
        assert.is(getField(r, table.reg.CTRL.fields.VER), 0x3f)
        assert.is(getField(r, table.reg.CTRL.fields.EN), v & 1)
        assert.is(getField(r, table.reg.CTRL.fields.MODE), (v >>> 4) & 7)
        assert.is(r & 0x00ff_ff8e, 0, 'bits outside fields read as zero')
      }
      assert.is(f.read(4, 4, A), 0xdead_beef)
    }
  }))
})

test('w1c clears exactly the bits written as 1', () => {
  fc.assert(fc.property(fc.nat(0xffff_ffff), fc.array(fc.nat(0xffff_ffff), { maxLength: 10 }), (initial, writes) => {
    const f = new RegisterFile(table)
    f.set(table.reg.IRQ, initial)
    let model = initial >>> 0
    for (const w of writes) {
      f.write(8, 4, w, A)
      model = (model & ~w) >>> 0
      assert.is(f.read(8, 4, A), model)
    }
  }))
})

test('reset restores every reset value after arbitrary writes (strided copies too)', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(0x7f).map(x => x * 4), fc.nat(0xffff_ffff)), { maxLength: 40 }), writes => {
    const f = new RegisterFile(table)
    const before = Array.from({ length: 0x200 / 4 }, (_, i) => f.read(i * 4, 4, A))
    for (const [off, v] of writes) f.write(off, 4, v, A)
    f.reset()
    const after = Array.from({ length: 0x200 / 4 }, (_, i) => f.read(i * 4, 4, A))
    assert.equal(after, before)
  }))
  const f = new RegisterFile(table)
  for (let n = 0; n < 4; n++) assert.is(f.read(0x100 + n * 0x20, 4, A), 0x5a)
})

test('strided arrays: each copy is its own register', () => {
  const f = new RegisterFile(table)
  f.write(0x100 + 2 * 0x20, 4, 0x1234, A)
  assert.is(f.get(table.reg.CH, 2), 0x1234)
  assert.is(f.get(table.reg.CH, 1), 0x5a)
  assert.is(f.read(0x104, 4, A), 0, 'a gap inside the stride is an unknown offset')
  assert.throws(() => f.get(table.reg.CH, 4), RangeError)
})

test('write-only reads as zero; hooks see the written value', () => {
  const seen: bigint[] = []
  const f = new RegisterFile(table, { CMD: { write: (_i, v) => { seen.push(v) } } })
  f.write(0x0c, 4, 0xabc, A)
  assert.is(f.read(0x0c, 4, A), 0)
  assert.equal(seen, [0xabcn])
  assert.is(f.logCounts['wo-read'], 1)
})

test('computed reads come from the hook', () => {
  let status = 7
  const f = new RegisterFile(table, { STATUS: { read: () => status } })
  assert.is(f.read(4, 4, A), 7)
  status = 9
  assert.is(f.read(4, 4, A), 9)
})

test('64-bit registers: two 32-bit halves or one 64-bit access', () => {
  const f = new RegisterFile(table)
  assert.is(f.read64(0x40, A), 0x1_0000_0001n)
  f.write(0x44, 4, 0xcafe, A)
  f.write(0x40, 4, 0xf00d, A)
  assert.is(f.get64(table.reg.BASE), 0xcafe_0000_f00dn)
  f.write64(0x40, 0xffff_ffff_ffff_ffffn, A)
  assert.is(f.read(0x40, 4, A), 0xffff_ffff)
  assert.is(f.read(0x44, 4, A), 0xffff_ffff)
  f.read64(0x44, A) // a 64-bit access to the high half is a bad width
  assert.is(f.logCounts.width, 1)
})

test('unknown offsets read zero, ignore writes and are logged; never throw', () => {
  const log: string[] = []
  const f = new RegisterFile(table, {}, e => log.push(`${e.kind}@${e.offset}`))
  fc.assert(fc.property(fc.integer({ min: -8, max: 0x400 }), fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>, fc.nat(0xffff_ffff), (off, size, v) => {
    f.write(off, size, v, A)
    f.read(off, size, A)
  }))
  f.write(0x1f0, 4, 1, A)
  assert.is(f.read(0x1f0, 4, A), 0)
  assert.ok(log.includes('unknown@496'))
})

test('bad widths: ignored by default, SLVERR when the table says so', () => {
  const f = new RegisterFile(table)
  f.write(0, 1, 0xff, A)
  assert.is(f.read(0, 4, A), 0x11)
  assert.is(f.resp, BusResp.OKAY)
  const strict = defineRegisters({ name: 's', size: 8, badWidth: 'slverr', registers: { R: { offset: 0 } } })
  const g = new RegisterFile(strict)
  g.read(0, 2, A)
  assert.is(g.resp, BusResp.SLVERR)
  const bytes = defineRegisters({ name: 'b', size: 8, widths32: [1, 2, 4], registers: { R: { offset: 0 } } })
  const h = new RegisterFile(bytes)
  h.write(1, 1, 0xab, A)
  h.write(2, 2, 0x1234, A)
  assert.is(h.read(0, 4, A), 0x1234ab00)
  assert.is(h.read(3, 1, A), 0x12)
})

test('definition checks: overlap, misalignment, field outside or overlapping, window', () => {
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 0 }, B: { offset: 0 } } }), /overlaps/)
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 0, width: 64 }, B: { offset: 4 } } }), /overlaps/)
  assert.throws(() => defineRegisters({ name: 'x', size: 64, registers: { A: { offset: 0, count: 4, stride: 8 }, B: { offset: 16 } } }), /overlaps/)
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 2 } } }), /aligned/)
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 0, fields: { F: { shift: 30, width: 4 } } } } }), /outside/)
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 0, fields: { F: { shift: 0, width: 4 }, G: { shift: 3, width: 1 } } } } }), /overlaps another field/)
  assert.throws(() => defineRegisters({ name: 'x', size: 16, registers: { A: { offset: 12, count: 2, stride: 4 } } }), /outside/)
})

test('no two registers of a valid table share a byte (checked over the decode)', () => {
  const f = new RegisterFile(table)
  const owners = new Map<number, string>()
  for (const r of table.list) for (let i = 0; i < r.count; i++) for (let b = 0; b < r.width / 8; b++) {
    const at = r.offset + i * r.stride + b
    assert.not.ok(owners.has(at), `${r.name}[${i}] overlaps ${owners.get(at)}`)
    owners.set(at, `${r.name}[${i}]`)
  }
  assert.ok(f.size === 0x200)
})

test('setField / getField and the Markdown register map', () => {
  assert.is(setField(0xffff_ffff, { shift: 4, width: 3 }, 0), 0xffff_ff8f)
  assert.is(getField(0x0000_0070, { shift: 4, width: 3 }), 7)
  const md = table.describe()
  assert.match(md, /\| 0x000 \| CTRL \| 32 \| rw \| 0x11 \| VER\[31:24\] ro, MODE\[6:4\], EN\[0\] \|/)
  assert.match(md, /0x100 \+ n×0x20 \(n < 4\) \| CHn/)
})

test.run()
