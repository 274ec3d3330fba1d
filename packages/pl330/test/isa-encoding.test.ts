// Exact byte encodings of every PL330 instruction, checked by hand against
// the TRM encoding table (ARM DDI 0424 §4.3, reproduced in spec §3.1).
// Each case: source-level meaning, expected bytes, and the bit layout the
// bytes come from.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { decode, encode, lengthOf, allowedOn, ENCODINGS, isaReferenceTable, type Instr, type DecodeError } from '../src/isa/index.ts'

const cases: [Instr, number[], string][] = [
  [{ op: 'DMAADDH', length: 3, reg: 'SAR', imm16: 0x1234 }, [0x54, 0x34, 0x12], '0101 01 ra=0 0, imm16 LE'],
  [{ op: 'DMAADDH', length: 3, reg: 'DAR', imm16: 0x0080 }, [0x56, 0x80, 0x00], '0101 01 ra=1 0'],
  [{ op: 'DMAADNH', length: 3, reg: 'SAR', imm16: 0xfff0 }, [0x5c, 0xf0, 0xff], '0101 11 ra=0 0 (adds -16)'],
  [{ op: 'DMAADNH', length: 3, reg: 'DAR', imm16: 0x0000 }, [0x5e, 0x00, 0x00], '0101 11 ra=1 0 (adds -65536)'],
  [{ op: 'DMAEND', length: 1 }, [0x00], '0000 0000'],
  [{ op: 'DMAFLUSHP', length: 2, periph: 5 }, [0x35, 0x28], '0011 0101, p<<3'],
  [{ op: 'DMAGO', length: 6, channel: 3, ns: false, addr: 0x80001000 }, [0xa0, 0x03, 0x00, 0x10, 0x00, 0x80], '1010 00 ns=0 0, cn, imm32 LE'],
  [{ op: 'DMAGO', length: 6, channel: 7, ns: true, addr: 0x12345678 }, [0xa2, 0x07, 0x78, 0x56, 0x34, 0x12], '1010 00 ns=1 0'],
  [{ op: 'DMAKILL', length: 1 }, [0x01], '0000 0001'],
  [{ op: 'DMALD', length: 1, cond: 'always' }, [0x04], '0000 01 bs=0 x=0'],
  [{ op: 'DMALD', length: 1, cond: 'single' }, [0x05], '0000 01 bs=0 x=1'],
  [{ op: 'DMALD', length: 1, cond: 'burst' }, [0x07], '0000 01 bs=1 x=1'],
  [{ op: 'DMALDP', length: 2, cond: 'single', periph: 2 }, [0x25, 0x10], '0010 01 bs=0 1, p<<3'],
  [{ op: 'DMALDP', length: 2, cond: 'burst', periph: 31 }, [0x27, 0xf8], '0010 01 bs=1 1'],
  [{ op: 'DMALP', length: 2, lc: 0, iterations: 32 }, [0x20, 0x1f], '0010 00 lc=0 0, iter-1'],
  [{ op: 'DMALP', length: 2, lc: 1, iterations: 256 }, [0x22, 0xff], '0010 00 lc=1 0'],
  [{ op: 'DMALP', length: 2, lc: 1, iterations: 1 }, [0x22, 0x00], 'iter 1 → 0'],
  [{ op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: false, jump: 6 }, [0x38, 0x06], '001 nf=1 1 lc=0 bs=0 x=0'],
  [{ op: 'DMALPEND', length: 2, lc: 0, cond: 'single', forever: false, jump: 1 }, [0x39, 0x01], 'DMALPENDS lc0'],
  [{ op: 'DMALPEND', length: 2, lc: 0, cond: 'burst', forever: false, jump: 2 }, [0x3b, 0x02], 'DMALPENDB lc0'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'always', forever: false, jump: 2 }, [0x3c, 0x02], 'DMALPEND lc1 (Linux inner loop)'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'single', forever: false, jump: 3 }, [0x3d, 0x03], 'DMALPENDS lc1'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'burst', forever: false, jump: 4 }, [0x3f, 0x04], 'DMALPENDB lc1'],
  [{ op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: true, jump: 9 }, [0x28, 0x09], 'nf=0 lc=0: DMALPFE loop end'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'always', forever: true, jump: 9 }, [0x2c, 0x09], 'nf=0 lc=1'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'single', forever: true, jump: 9 }, [0x2d, 0x09], 'nf=0 lc=1 S'],
  [{ op: 'DMALPEND', length: 2, lc: 1, cond: 'burst', forever: true, jump: 9 }, [0x2f, 0x09], 'nf=0 lc=1 B'],
  [{ op: 'DMAMOV', length: 6, reg: 'SAR', imm: 0x80000000 }, [0xbc, 0x00, 0x00, 0x00, 0x00, 0x80], '1011 1100, rd=0'],
  [{ op: 'DMAMOV', length: 6, reg: 'CCR', imm: 0x003dc0f7 }, [0xbc, 0x01, 0xf7, 0xc0, 0x3d, 0x00], 'rd=1 (spec §8.4 4 KiB program)'],
  [{ op: 'DMAMOV', length: 6, reg: 'DAR', imm: 0x80100000 }, [0xbc, 0x02, 0x00, 0x00, 0x10, 0x80], 'rd=2'],
  [{ op: 'DMANOP', length: 1 }, [0x18], '0001 1000'],
  [{ op: 'DMARMB', length: 1 }, [0x12], '0001 0010'],
  [{ op: 'DMASEV', length: 2, event: 0 }, [0x34, 0x00], '0011 0100, ev<<3'],
  [{ op: 'DMASEV', length: 2, event: 31 }, [0x34, 0xf8], 'ev 31'],
  [{ op: 'DMAST', length: 1, cond: 'always' }, [0x08], '0000 10 bs=0 x=0'],
  [{ op: 'DMAST', length: 1, cond: 'single' }, [0x09], '0000 10 bs=0 x=1'],
  [{ op: 'DMAST', length: 1, cond: 'burst' }, [0x0b], '0000 10 bs=1 x=1'],
  [{ op: 'DMASTP', length: 2, cond: 'single', periph: 1 }, [0x29, 0x08], '0010 10 bs=0 1 (overlaps LPEND pattern)'],
  [{ op: 'DMASTP', length: 2, cond: 'burst', periph: 3 }, [0x2b, 0x18], '0010 10 bs=1 1'],
  [{ op: 'DMASTZ', length: 1 }, [0x0c], '0000 1100'],
  [{ op: 'DMAWFE', length: 2, event: 4, invalidate: false }, [0x36, 0x20], '0011 0110, ev<<3'],
  [{ op: 'DMAWFE', length: 2, event: 4, invalidate: true }, [0x36, 0x22], 'ev<<3 | i<<1'],
  [{ op: 'DMAWFP', length: 2, periph: 6, req: 'single' }, [0x30, 0x30], '0011 00 bs=0 p=0'],
  [{ op: 'DMAWFP', length: 2, periph: 6, req: 'burst' }, [0x32, 0x30], '0011 00 bs=1 p=0'],
  [{ op: 'DMAWFP', length: 2, periph: 6, req: 'periph' }, [0x31, 0x30], '0011 00 bs=0 p=1'],
  [{ op: 'DMAWMB', length: 1 }, [0x13], '0001 0011'],
]

for (const [instr, bytes, why] of cases) {
  test(`encode/decode ${instr.op} ${JSON.stringify(instr)} = ${bytes.map((b) => b.toString(16)).join(' ')} (${why})`, () => {
    assert.equal([...encode(instr)], bytes)
    assert.equal(decode(Uint8Array.from(bytes), 0), instr)
    assert.is(lengthOf(bytes[0]!), bytes.length)
  })
}

test('every instruction family has at least one hand-checked case', () => {
  const seen = new Set(cases.map((c) => c[0].op))
  for (const r of ENCODINGS) assert.ok(seen.has(r.op), r.op)
})

test('0x29/0x2B decode as DMASTP, not DMALPFE (spec §1 point 2)', () => {
  assert.is(decode(Uint8Array.of(0x29, 0x00), 0).op, 'DMASTP')
  assert.is(decode(Uint8Array.of(0x2b, 0x00), 0).op, 'DMASTP')
})

test('conditional DMALPFE with lc0 is not encodable', () => {
  assert.throws(() => encode({ op: 'DMALPEND', length: 2, lc: 0, cond: 'single', forever: true, jump: 1 }), /lc1/)
})

test('undefined opcodes: exactly the spec §3.1 list', () => {
  // Spec list of undefined byte-0 values, written out independently of the table.
  const undef = new Set<number>([0x02, 0x03])
  const ranges: [number, number][] = [[0x0d, 0x11], [0x14, 0x17], [0x19, 0x1f], [0x40, 0x53], [0x57, 0x5b], [0x5f, 0x9f], [0xa3, 0xbb], [0xbd, 0xff]]
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) undef.add(i)
  for (const v of [0x21, 0x23, 0x24, 0x26, 0x37, 0x55, 0x5d, 0xa1]) undef.add(v)
  for (let b = 0; b < 256; b++) {
    const r = decode(Uint8Array.of(b, 0, 0, 0, 0, 0), 0)
    const isUndef = r.op === 'error' && r.fault === 'undef_instr'
    assert.is(isUndef, undef.has(b), `byte 0x${b.toString(16)}`)
    assert.is(lengthOf(b) === 0, undef.has(b), `lengthOf 0x${b.toString(16)}`)
  }
})

function err(bytes: number[]): DecodeError {
  const r = decode(Uint8Array.from(bytes), 0)
  if (r.op !== 'error') throw new Error(`expected error for ${bytes}`)
  return r
}

test('operand_invalid forms', () => {
  for (const bytes of [
    [0x06], [0x0a], // DMALD/DMAST bs=1 x=0
    [0x2a, 0], [0x2e, 0], [0x3a, 0], [0x3e, 0], // DMALPEND bs=1 x=0
    [0x33, 0], // DMAWFP bs=1 p=1
    [0x34, 0x01], [0x34, 0x04], [0x35, 0x02], [0x25, 0x01], [0x29, 0x04], [0x30, 0x01], // reserved bits [2:0]
    [0x36, 0x01], [0x36, 0x04], // DMAWFE reserved bits 0 and 2
    [0xa0, 0x08, 0, 0, 0, 0], [0xa2, 0x80, 0, 0, 0, 0], // DMAGO b1[7:3] != 0
    [0xbc, 0x03, 0, 0, 0, 0], [0xbc, 0x09, 0, 0, 0, 0], // DMAMOV bad rd
  ]) {
    const e = err(bytes)
    assert.is(e.fault, 'operand_invalid', bytes.join(','))
    assert.is(e.length, bytes.length)
  }
})

test('truncated instructions and offsets past the end', () => {
  assert.is(err([0xbc, 0x01, 0, 0]).fault, 'truncated')
  assert.is(err([0xbc, 0x01, 0, 0]).length, 6)
  assert.is(decode(new Uint8Array(0), 0).op, 'error')
  assert.is(decode(Uint8Array.of(0), 5).op, 'error')
  assert.is(decode(Uint8Array.of(0), -1).op, 'error')
})

test('decode at an offset', () => {
  const b = Uint8Array.of(0x18, 0x22, 0x1f, 0x04)
  assert.equal(decode(b, 1), { op: 'DMALP', length: 2, lc: 1, iterations: 32 })
  assert.equal(decode(b, 3), { op: 'DMALD', length: 1, cond: 'always' })
})

test('thread usage: manager runs only END, GO, KILL, NOP, SEV, WFE; channels all but GO', () => {
  const mgr = ENCODINGS.filter((r) => allowedOn(r.op, 'manager')).map((r) => r.op).sort()
  assert.equal(mgr, ['DMAEND', 'DMAGO', 'DMAKILL', 'DMANOP', 'DMASEV', 'DMAWFE'])
  const ch = ENCODINGS.filter((r) => !allowedOn(r.op, 'channel')).map((r) => r.op)
  assert.equal(ch, ['DMAGO'])
})

test('docs/reference/pl330-isa.md contains the current encoding table', () => {
  const doc = readFileSync(new URL('../../../docs/reference/pl330-isa.md', import.meta.url), 'utf8')
  assert.ok(doc.includes(isaReferenceTable()), 'regenerate the table in docs/reference/pl330-isa.md from isaReferenceTable()')
})

test.run()
