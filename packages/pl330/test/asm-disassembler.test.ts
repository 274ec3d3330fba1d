// The disassembler's text for known programs (spec §8.4 listings), for
// bytes that are not instructions, and its re-assembly guarantee.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { assemble, disassemble, disassembleToText, formatListing, listingToSource } from '../src/asm/index.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).map((b) => parseInt(b, 16)))

test('spec §8.4 1 MiB program: text, offsets and jump comments', () => {
  const b = hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 81 bc 02 00 00 00 82 20 1f 22 ff 04 08 3c 02 38 06 34 00 00')
  const l = disassemble(b)
  assert.equal(l.map((x) => x.text), [
    'DMAMOV CCR, SB16 SS64 DB16 DS64',
    'DMAMOV SAR, 0x81000000',
    'DMAMOV DAR, 0x82000000',
    'DMALP LC0, 32',
    'DMALP LC1, 256',
    'DMALD',
    'DMAST',
    'DMALPEND LC1',
    'DMALPEND LC0',
    'DMASEV 0',
    'DMAEND',
  ])
  assert.equal(l.map((x) => x.offset), [0x00, 0x06, 0x0c, 0x12, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1c, 0x1e])
  // spec: "+18 3c 02 DMALPEND lc1 -> +16", "+1A 38 06 DMALPEND lc0 -> +14"
  assert.is(l[7]!.comment, '-> 0x00000016')
  assert.is(l[8]!.comment, '-> 0x00000014')
  assert.is(l[0]!.comment, '0x003dc0f7')
})

test('base address shows in addresses and jump targets', () => {
  const l = disassemble(hex('22 1f 04 08 3c 02'), { base: 0x80000000 })
  assert.equal(l.map((x) => x.address), [0x80000000, 0x80000002, 0x80000003, 0x80000004])
  assert.is(l[3]!.comment, '-> 0x80000002')
})

test('non-instructions become .byte with the reason', () => {
  const l = disassemble(hex('02 06 bc 05 01 02 03 04 34 01 bc 00'))
  assert.equal(l.map((x) => [x.text, x.comment]), [
    ['.byte 0x02', 'undefined opcode 0x02'],
    ['.byte 0x06', 'DMALD: bs=1 x=0 form 0x06 is invalid'],
    ['.byte 0xbc, 0x05, 0x01, 0x02, 0x03, 0x04', 'DMAMOV: destination field 0x05 is not SAR(0), CCR(1) or DAR(2)'],
    ['.byte 0x34, 0x01', 'DMASEV: reserved bits [2:0] of byte 1 set (0x01)'],
    ['.byte 0xbc, 0x00', 'DMAMOV needs 6 bytes, 2 left'],
  ])
})

test('forever loops print as DMALPFE ... DMALPEND; unpairable jumps print explicitly', () => {
  // 31 00: DMAWFP P0, periph; 05: DMALDS; 29 00: DMASTPS P0; 28 05: DMALPEND nf=0 jump 5 → back to 0x00
  assert.equal(disassemble(hex('31 00 05 29 00 28 05 00')).map((x) => x.text),
    ['DMALPFE', 'DMAWFP P0, periph', 'DMALDS', 'DMASTPS P0', 'DMALPEND LC0', 'DMAEND'])
  // a DMALPEND whose target is not right after a DMALP of the same counter
  assert.equal(disassemble(hex('18 18 38 01')).map((x) => x.text), ['DMANOP', 'DMANOP', 'DMALPEND LC0, -1'])
  // a DMALP whose DMALPEND names the other counter
  assert.equal(disassemble(hex('20 03 18 3c 01')).map((x) => x.text), ['DMALP LC0, 4', 'DMANOP', 'DMALPEND LC1, -1'])
})

test('listing and source renderings re-assemble to the same bytes', () => {
  const b = hex('bc 01 f7 c0 3d 00 20 02 22 03 04 08 3c 02 38 06 02 31 00 28 02 34 28 00')
  const src = listingToSource(disassemble(b, { base: 0x1000 }))
  assert.equal([...assemble(src, { base: 0x1000 }).bytes], [...b])
  assert.equal([...assemble(disassembleToText(b)).bytes], [...b])
  const text = formatListing(disassemble(b, { base: 0x1000 }))
  assert.match(text, /^0x00001000  bc 01 f7 c0 3d 00 +DMAMOV CCR, SB16 SS64 DB16 DS64/)
  assert.match(text, /0x00001010  02 +\.byte 0x02 +; undefined opcode 0x02/)
})

test.run()
