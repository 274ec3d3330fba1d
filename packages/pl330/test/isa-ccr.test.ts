// CCR field helpers against the Linux constants (drivers/dma/pl330.c:
// CC_SRCINC 1<<0, CC_DSTINC 1<<14, CC_SRCPRI 1<<8, CC_DSTPRI 1<<22,
// CC_SRCNS 1<<9, CC_DSTNS 1<<23, SRCBRSTLEN_SHFT 4, DSTBRSTLEN_SHFT 18,
// SRCBRSTSIZE_SHFT 1, DSTBRSTSIZE_SHFT 15, SRCCCTRL_SHFT 11,
// DSTCCTRL_SHFT 25, SWAP_SHFT 28) and the symbolic form.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { decodeCcr, encodeCcr, formatCcr, parseCcrItem, type CcrFields } from '../src/isa/index.ts'

// Linux _prepare_ccr, written out with the constants above.
function linuxCcr(o: { srcInc: boolean; dstInc: boolean; priv: boolean; ns: boolean; len: number; sizeLog2: number; scctl: number; dcctl: number; swap: number }): number {
  let c = 0
  if (o.srcInc) c |= 1 << 0
  if (o.dstInc) c |= 1 << 14
  if (o.priv) c |= (1 << 8) | (1 << 22)
  if (o.ns) c |= (1 << 9) | (1 << 23)
  c |= ((o.len - 1) & 0xf) << 4
  c |= ((o.len - 1) & 0xf) << 18
  c |= o.sizeLog2 << 1
  c |= o.sizeLog2 << 15
  c |= o.scctl << 11
  c |= o.dcctl << 25
  c |= o.swap << 28
  return c >>> 0
}

test('encodeCcr agrees with Linux _prepare_ccr', () => {
  fc.assert(fc.property(
    fc.record({ srcInc: fc.boolean(), dstInc: fc.boolean(), priv: fc.boolean(), ns: fc.boolean(), len: fc.integer({ min: 1, max: 16 }),
      sizeLog2: fc.integer({ min: 0, max: 4 }), scctl: fc.integer({ min: 0, max: 7 }), dcctl: fc.integer({ min: 0, max: 7 }), swap: fc.integer({ min: 0, max: 4 }) }),
    (o) => {
      const prot = (o.priv ? 1 : 0) | (o.ns ? 2 : 0)
      const f: CcrFields = { srcInc: o.srcInc, dstInc: o.dstInc, srcProt: prot, dstProt: prot, srcBurstLen: o.len, dstBurstLen: o.len,
        srcSizeLog2: o.sizeLog2, dstSizeLog2: o.sizeLog2, srcCache: o.scctl, dstCache: o.dcctl, endianSwap: o.swap }
      assert.is(encodeCcr(f), linuxCcr(o))
      assert.equal(decodeCcr(linuxCcr(o)), f)
    }), { numRuns: 300 })
})

test('known values: Linux memcpy CCRs and the reset value', () => {
  assert.is(formatCcr(0x003dc0f7), 'SB16 SS64 DB16 DS64')
  assert.is(formatCcr(0x00bdc2f7), 'SB16 SS64 SP2 DB16 DS64 DP2')
  assert.is(formatCcr(0x0011c047), 'SB5 SS64 DB5 DS64')
  assert.is(formatCcr(0x00800200), 'SB1 SS8 SAF SP2 DB1 DS8 DAF DP2') // CCR reset value (both prot fields NS)
  assert.is(formatCcr(0x0000000a), null) // SS = 5: reserved, no symbolic form
  assert.is(formatCcr(0x80000000), null) // bit 31 reserved
})

test('symbolic form round-trips through parseCcrItem for every representable value', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (v) => {
    const text = formatCcr(v)
    if (text === null) return
    let fields: Partial<CcrFields> = {}
    for (const item of text.split(' ')) {
      const f = parseCcrItem(item)
      assert.type(f, 'object')
      fields = { ...fields, ...(f as Partial<CcrFields>) }
    }
    assert.is(encodeCcr(fields), v)
  }), { numRuns: 500 })
})

test('DC is written as the AWCACHE value (AWCACHE[2] tied low); field bit 2 is AWCACHE[3]', () => {
  assert.equal(parseCcrItem('DC8'), { dstCache: 4 })
  assert.equal(parseCcrItem('DC3'), { dstCache: 3 })
  assert.type(parseCcrItem('DC4'), 'string')
  assert.is(formatCcr(encodeCcr({ dstCache: 5 })), 'SB1 SS8 DB1 DS8 DC9')
})

test.run()
