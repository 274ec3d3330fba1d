// The assembler: ARM DMA-330 syntax, loops, CCR symbolic form, labels and
// symbols, and errors with line:column. Expected bytes are derived by hand
// from the encoding table (spec §3.1) and written next to each case.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { assemble, tryAssemble, AsmErrors, type AsmError } from '../src/asm/index.ts'

const bytesOf = (src: string, base?: number): number[] => [...assemble(src, base === undefined ? {} : { base }).bytes]
const errorsOf = (src: string): string[] => {
  const r = tryAssemble(src)
  if (r.ok) throw new Error('expected errors')
  return r.errors.map((e: AsmError) => `${e.line}:${e.column}: ${e.message}`)
}

test('the TRM peripheral example (DMALPFE, DMALP without counter, conditional forms)', () => {
  const src = `
    # Example program from the DMA-330 TRM
    DMAMOV CCR SB4 SS32 DB4 DS32   ; CCR = 0x000D4035
    DMAMOV SAR 0x1000
    DMAMOV DAR 0x4000
    DMAFLUSHP P0
    DMALPFE
      DMAWFP 0, periph
      DMALP 15
        DMALDB
        DMASTB
      DMALPENDB
      DMALDB
      DMASTPB P0
      DMALDS
      DMASTPS P0
    DMALPEND
    DMAEND`
  assert.equal(bytesOf(src), [
    0xbc, 0x01, 0x35, 0x40, 0x0d, 0x00, // SI, SS=2, SB=3, DI, DS=2, DB=3
    0xbc, 0x00, 0x00, 0x10, 0x00, 0x00,
    0xbc, 0x02, 0x00, 0x40, 0x00, 0x00,
    0x35, 0x00, // FLUSHP P0
    0x31, 0x00, // WFP P0, periph (0x14: DMALPFE target)
    0x20, 0x0e, // DMALP LC0, 15
    0x07, 0x0b, // LDB STB
    0x3b, 0x02, // DMALPENDB LC0, jump 2
    0x07, 0x2b, 0x00, 0x05, 0x29, 0x00,
    0x28, 0x0e, // DMALPEND nf=0 LC0, jump 0x22-0x14 = 14
    0x00,
  ])
})

test('mnemonics and keywords are case-insensitive; comments ; // #', () => {
  assert.equal(bytesOf('dmaLd // load\n  DmaSt ; store\n# whole-line comment\ndmawfe 3, INVALID\ndmago c1, 0x10, NS'),
    [0x04, 0x08, 0x36, 0x1a, 0xa2, 0x01, 0x10, 0, 0, 0])
})

test('number syntax: decimal, hex, binary, #-prefix, underscores', () => {
  assert.equal(bytesOf('DMAMOV SAR, #0x8000_0000\nDMAADDH DAR, 0b1000\nDMASEV #7'),
    [0xbc, 0, 0, 0, 0, 0x80, 0x56, 8, 0, 0x34, 0x38])
})

test('DMAADNH takes the negative value to add', () => {
  assert.equal(bytesOf('DMAADNH SAR, -16\nDMAADNH DAR, -65536'), [0x5c, 0xf0, 0xff, 0x5e, 0x00, 0x00])
  assert.equal(errorsOf('DMAADNH SAR, 16'), ['1:14: DMAADNH immediate (a negative value to add) 16 out of range -65536..-1'])
})

test('DMAMOV CCR symbolic form: defaults SB1 SS8 SAI DB1 DS8 DAI, every field', () => {
  assert.equal(bytesOf('DMAMOV CCR, SB1'), [0xbc, 1, 0x01, 0x40, 0, 0]) // SI | DI
  assert.equal(bytesOf('DMAMOV CCR, SAF DAF'), [0xbc, 1, 0, 0, 0, 0])
  // SB16 SS64 DB16 DS64 = Linux 0x003DC0F7
  assert.equal(bytesOf('DMAMOV CCR, SB16 SS64 DB16 DS64'), [0xbc, 1, 0xf7, 0xc0, 0x3d, 0x00])
  // SP2 DP2 → 0x00BDC2F7 (non-secure)
  assert.equal(bytesOf('DMAMOV CCR, SB16 SS64 SP2 DB16 DS64 DP2'), [0xbc, 1, 0xf7, 0xc2, 0xbd, 0x00])
  // SC7 → bits 13:11 = 7 (0x3800); DC11 (AWCACHE 1011) → field 0b111 at 27:25 (0x0E000000); ES32 → 2<<28
  assert.equal(bytesOf('DMAMOV CCR, SAF SC7 DAF DC11 ES32'), [0xbc, 1, 0x00, 0x38, 0x00, 0x2e])
  // raw number still accepted
  assert.equal(bytesOf('DMAMOV CCR, 0x00800200'), [0xbc, 1, 0x00, 0x02, 0x80, 0x00])
})

test('DMAMOV CCR symbolic errors', () => {
  assert.equal(errorsOf('DMAMOV CCR, SB17'), ['1:13: SB burst length must be 1..16: SB17'])
  assert.equal(errorsOf('DMAMOV CCR, SB4 SS24'), ['1:17: SS size must be 8, 16, 32, 64 or 128 bits: SS24'])
  assert.equal(errorsOf('DMAMOV CCR, DC4'), ['1:13: DC is AWCACHE[3:0] with AWCACHE[2] tied low: 0-3 or 8-11: DC4'])
  assert.equal(errorsOf('DMAMOV CCR, SB4 SB8'), ['1:17: CCR field SB given twice'])
})

test('DMALP picks LC0 then LC1; DMALPEND closes the innermost loop; jumps measured from after DMALP', () => {
  const src = `
    DMALP 4          ; 20 03   LC0
    DMALP 8          ; 22 07   LC1
    DMALD            ; 04
    DMAST            ; 08
    DMALPEND         ; 3c 02   LC1 back to the DMALD
    DMALPEND         ; 38 06   LC0 back to the inner DMALP
    DMALP 2          ; 20 01   LC0 is free again
    DMANOP
    DMALPENDS        ; 39 01
  `
  assert.equal(bytesOf(src), [0x20, 0x03, 0x22, 0x07, 0x04, 0x08, 0x3c, 0x02, 0x38, 0x06, 0x20, 0x01, 0x18, 0x39, 0x01])
})

test('explicit counters (Linux style: single loop on LC1)', () => {
  assert.equal(bytesOf('DMALP LC1, 32\nDMALD\nDMAST\nDMALPEND LC1'), [0x22, 0x1f, 0x04, 0x08, 0x3c, 0x02])
  assert.equal(errorsOf('DMALP LC1, 2\nDMALPEND LC0'), ['2:10: DMALPEND LC0 closes the loop opened on LC1 at line 1'])
})

test('DMALPFE: unconditional end on LC0 (0x28), conditional end on LC1 (0x2D/0x2F; 0x29/0x2B are DMASTP)', () => {
  assert.equal(bytesOf('DMALPFE\nDMANOP\nDMALPEND'), [0x18, 0x28, 0x01])
  assert.equal(bytesOf('DMALPFE\nDMANOP\nDMALPENDS'), [0x18, 0x2d, 0x01])
  assert.equal(bytesOf('DMALPFE\nDMANOP\nDMALPENDB'), [0x18, 0x2f, 0x01])
  assert.equal(bytesOf('DMALPFE\nDMANOP\nDMALPEND LC1'), [0x18, 0x2c, 0x01])
  assert.equal(errorsOf('DMALPFE\nDMANOP\nDMALPENDB LC0'), ['3:11: DMALPENDB LC0 closing a DMALPFE loop is not encodable (it would be DMASTP); use LC1'])
})

test('explicit DMALPEND form: label or -jump, optionally forever', () => {
  assert.equal(bytesOf('top: DMANOP\nDMANOP\nDMALPEND LC0, top'), [0x18, 0x18, 0x38, 0x02])
  assert.equal(bytesOf('DMALPEND LC1, -0, forever'), [0x2c, 0x00])
  assert.equal(bytesOf('DMALPENDS LC1, -7, forever'), [0x2d, 0x07])
})

test('labels and symbols as 32-bit operands (DMAGO of a channel program at base + offset)', () => {
  const src = `
    DMAGO C2, chan_prog      ; manager program
    DMAEND
  chan_prog:
    DMAMOV SAR, SRC
    DMAEND`
  const p = assemble(src, { base: 0x40000000, symbols: { SRC: 0x80000000 } })
  assert.equal([...p.bytes], [0xa0, 0x02, 0x07, 0x00, 0x00, 0x40, 0x00, 0xbc, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00])
  assert.is(p.labels.get('chan_prog'), 7)
})

test('symbols in small operands, even when they start with the P/C/E prefix letter', () => {
  const p = assemble('DMAWFP PERIPH, burst\nDMASEV EV\nDMAGO CH, 0', { symbols: { PERIPH: 3, EV: 4, CH: 5 } })
  assert.equal([...p.bytes], [0x32, 0x18, 0x34, 0x20, 0xa0, 0x05, 0, 0, 0, 0])
})

test('.byte emits raw bytes', () => {
  assert.equal(bytesOf('.byte 0x02, 3\nDCB 255'), [2, 3, 255])
})

test('error positions (line:column) for bad sources; all errors collected', () => {
  assert.equal(errorsOf('DMAEND\n  DMAFOO 3\n'), ['2:3: unknown mnemonic \'DMAFOO\''])
  assert.equal(errorsOf('DMAMOV XAR, 1'), ['1:8: DMAMOV register must be SAR, CCR or DAR, got \'XAR\''])
  assert.equal(errorsOf('DMASEV 32'), ['1:8: event 32 out of range 0..31'])
  assert.equal(errorsOf('DMALP 0'), ['1:7: loop iterations 0 out of range 1..256'])
  assert.equal(errorsOf('DMALP 257'), ['1:7: loop iterations 257 out of range 1..256'])
  assert.equal(errorsOf('DMAGO C8, 0'), ['1:7: channel 8 out of range 0..7'])
  assert.equal(errorsOf('    DMALPEND'), ['1:5: DMALPEND without an open DMALP or DMALPFE'])
  assert.equal(errorsOf('DMAWFP 1, often'), ['1:11: DMAWFP request type must be single, burst or periph, got \'often\''])
  assert.equal(errorsOf('DMAEND 1'), ['1:8: DMAEND takes no operands'])
  assert.equal(errorsOf('DMAMOV SAR, nowhere'), ['1:13: undefined label or symbol \'nowhere\''])
  assert.equal(errorsOf('a: DMANOP\na: DMANOP'), ['2:1: label \'a\' already defined on line 1'])
  assert.equal(errorsOf('  DMALPFE\nDMANOP'), ['1:3: DMALPFE without a closing DMALPEND'])
  // several errors at once, in source order
  assert.equal(errorsOf('DMASEV 40\nDMALD 1\nDMALP 1\nDMALP 1\nDMALP 1\nDMAKILL'), [
    '1:8: event 40 out of range 0..31',
    '2:7: DMALD takes no operands',
    '5:1: both loop counters are in use by enclosing loops',
  ])
})

test('a loop body over 255 bytes is an error at its DMALPEND', () => {
  const body = Array.from({ length: 43 }, () => 'DMAMOV SAR, 0').join('\n') // 258 bytes
  assert.equal(errorsOf(`DMALP 2\n${body}\n  DMALPEND`), ['45:3: loop body from line 1 is 258 bytes; DMALPEND can jump back at most 255'])
})

test('assemble() throws AsmErrors carrying every AsmError', () => {
  try {
    assemble('DMAFOO\nDMABAR')
    assert.unreachable()
  } catch (e) {
    assert.instance(e, AsmErrors)
    const errs = (e as AsmErrors).errors
    assert.equal(errs.map((x) => [x.line, x.column]), [[1, 1], [2, 1]])
    assert.match((e as Error).message, /^1:1: unknown mnemonic 'DMAFOO'\n2:1: unknown mnemonic 'DMABAR'$/)
  }
})

test('unclosed DMALP is legal (sets the counter) but warned about', () => {
  const r = tryAssemble('DMALP LC0, 5\nDMAEND')
  assert.ok(r.ok)
  if (r.ok) {
    assert.equal([...r.program.bytes], [0x20, 0x04, 0x00])
    assert.is(r.program.warnings.length, 1)
    assert.is(r.program.warnings[0]!.line, 1)
  }
})

test.run()
