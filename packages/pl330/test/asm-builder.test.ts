// The program builder against the byte strings of spec §8.4 (Linux
// drivers/dma/pl330.c output, verified there with an interpreter) and
// against the structure of Linux `_loop` / `_dregs` for other lengths.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { buildMemcpy, buildProgram, linuxMemcpyGeometry, linuxMicrocodeAddress, formatListing, listingOf } from '../src/asm/index.ts'

/**
 * A deliberately tiny interpreter for mem-to-mem programs, written from the
 * ISA text (not the model): DMAMOV, DMALP (LC = iter-1), DMALPEND (nf=1:
 * jump back to address-of-LPEND - jump while LC != 0, decrementing),
 * DMALD/DMAST (move (SB+1) << SS bytes, advance SAR/DAR), DMASEV, DMAEND.
 * Works straight from the bytes.
 */
function run(p: Uint8Array): { sar: number; dar: number; loaded: number; stored: number; sev: number[]; steps: number } {
  let pc = 0, sar = 0, dar = 0, ccr = 0, loaded = 0, stored = 0, steps = 0
  const lc = [0, 0]
  const sev: number[] = []
  const u32 = (o: number): number => (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0
  for (;;) {
    if (++steps > 5_000_000) throw new Error('runaway program')
    const b = p[pc]!
    if (b === 0xbc) {
      const v = u32(pc + 2)
      if (p[pc + 1] === 0) sar = v; else if (p[pc + 1] === 1) ccr = v; else dar = v
      pc += 6
    } else if ((b & 0xfd) === 0x20) { lc[(b >> 1) & 1] = p[pc + 1]!; pc += 2 }
    else if ((b & 0xfb) === 0x38) {
      const n = (b >> 2) & 1
      if (lc[n] !== 0) { lc[n]!--; pc -= p[pc + 1]! } else pc += 2
    } else if (b === 0x04) { const n = (((ccr >> 4) & 15) + 1) << ((ccr >> 1) & 7); loaded += n; sar += n; pc++ }
    else if (b === 0x08) { const n = (((ccr >> 18) & 15) + 1) << ((ccr >> 15) & 7); stored += n; dar += n; pc++ }
    else if (b === 0x34) { sev.push(p[pc + 1]! >> 3); pc += 2 }
    else if (b === 0x00) return { sar, dar, loaded, stored, sev, steps }
    else throw new Error(`unexpected opcode 0x${b.toString(16)} at ${pc}`)
  }
}

const hex = (s: string): number[] => s.trim().split(/\s+/).map((b) => parseInt(b, 16))

test('4 KiB memcpy 0x80000000 -> 0x80100000: the 27-byte program of spec §8.4', () => {
  const p = buildMemcpy({ src: 0x80000000, dst: 0x80100000, len: 4096, event: 0 })
  assert.equal([...p.bytes], hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 80 bc 02 00 00 10 80 22 1f 04 08 3c 02 34 00 00'))
  assert.is(p.ccr, 0x003dc0f7)
  assert.is(p.bursts, 32)
  assert.is(p.dregBeats, 0)
})

test('1 MiB memcpy: nested loops 32 x 256 (31 bytes)', () => {
  const p = buildMemcpy({ src: 0x81000000, dst: 0x82000000, len: 1 << 20, event: 0 })
  assert.equal([...p.bytes], hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 81 bc 02 00 00 00 82 20 1f 22 ff 04 08 3c 02 38 06 34 00 00'))
})

test('4136-byte memcpy: 32 bursts then a 5-beat tail with CCR 0x0011C047', () => {
  const p = buildMemcpy({ src: 0x80000000, dst: 0x80100000, len: 4136, event: 0 })
  const tail = [...p.bytes.subarray(18)]
  assert.equal(tail, hex('22 1f 04 08 3c 02 bc 01 47 c0 11 00 04 08 34 00 00'))
  assert.is(p.bytes.length, 35)
  assert.is(p.dregBeats, 5)
})

test('3 MiB + 384 B memcpy: two _loop passes (96 x 256, then 3)', () => {
  const p = buildMemcpy({ src: 0x80000000, dst: 0x90000000, len: 3 * (1 << 20) + 384, event: 0 })
  assert.equal([...p.bytes.subarray(18)], hex('20 5f 22 ff 04 08 3c 02 38 06 22 02 04 08 3c 02 34 00 00'))
})

test('non-secure manager: CCR 0x00BDC2F7 (spec §8.1)', () => {
  assert.is(buildMemcpy({ src: 0, dst: 0x1000, len: 4096, event: 3, nonSecure: true }).ccr, 0x00bdc2f7)
})

test('a single burst is emitted without a loop; event number lands in DMASEV', () => {
  const p = buildMemcpy({ src: 0x1000, dst: 0x2000, len: 128, event: 5 })
  assert.equal([...p.bytes.subarray(18)], [0x04, 0x08, 0x34, 5 << 3, 0x00])
})

test('r0p0 bursts carry barriers: DMALD; DMARMB; DMAST; DMAWMB', () => {
  const p = buildMemcpy({ src: 0x1000, dst: 0x2000, len: 256, event: 0, revision: 0 })
  assert.equal([...p.bytes.subarray(18)], hex('22 01 04 12 08 13 3c 04 34 00 00'))
})

test('>= 65536 bursts: LC0=LC1=256 with unrolled body (cyc = bursts/65536)', () => {
  // 1-byte beats, 1-beat bursts: 3 * 65536 bursts → cyc 3, then nothing left.
  const p = buildProgram({ src: 0, dst: 0x100000, len: 3 * 65536, burstSize: 1, burstLen: 1, event: 0 })
  assert.equal([...p.bytes.subarray(18)], hex('20 ff 22 ff 04 08 04 08 04 08 3c 06 38 0a 34 00 00'))
  // Large counts are capped by the 255-byte jump: cycmax = (255 - 8) / 2 = 123.
  const q = buildProgram({ src: 0, dst: 0x100000, len: 200 * 65536, burstSize: 1, burstLen: 1, event: 0 })
  const lp1 = q.instrs.findIndex((i) => i.op === 'DMALP' && i.lc === 1)
  const body = q.instrs.slice(lp1 + 1).findIndex((i) => i.op === 'DMALPEND')
  assert.is(body, 246) // 123 x (DMALD, DMAST)
})

test('memcpy geometry: alignment shrinks the beat; narrow beats force burst length 1', () => {
  assert.equal(linuxMemcpyGeometry(0x1000, 0x2000, 4096), { burstSize: 8, burstLen: 16 })
  assert.equal(linuxMemcpyGeometry(0x1004, 0x2000, 4096), { burstSize: 4, burstLen: 1 })
  assert.equal(linuxMemcpyGeometry(0x1000, 0x2000, 4096, { dataBufDepth: 16 }), { burstSize: 8, burstLen: 2 })
  assert.equal(linuxMemcpyGeometry(0x1000, 0x2000, 4096, { dataBusWidthBits: 32, dataBufDepth: 128 }), { burstSize: 4, burstLen: 16 })
})

test('dev-to-mem peripheral program: FLUSHP, WFP B, LDPB, STB per burst', () => {
  const p = buildProgram({ src: 0x1000, dst: 0x2000, len: 64, burstSize: 4, burstLen: 4, event: 1, direction: 'dev-to-mem', peripheral: 2 })
  // CCR: SAF (fixed source), DAI; SB4 SS32 DB4 DS32
  assert.is(p.ccr & 1, 0)
  assert.is((p.ccr >> 14) & 1, 1)
  // 4 bursts: DMALP LC1, 4; FLUSHP P2; WFP P2, burst; LDPB P2; STB; DMALPEND LC1
  assert.equal([...p.bytes.subarray(18)], hex('22 03 35 10 32 10 27 10 0b 3c 07 34 08 00'))
})

test('listing shows the program at its bus address', () => {
  const p = buildMemcpy({ src: 0x80000000, dst: 0x80100000, len: 4096, event: 0 })
  const text = formatListing(listingOf(p, 0x40000000))
  assert.match(text, /0x40000012 {2}22 1f {14}\s*DMALP LC1, 32/)
  assert.match(text, /DMALPEND LC1 .*; -> 0x40000014/)
  assert.match(text, /DMAMOV CCR, SB16 SS64 DB16 DS64 .*; 0x003dc0f7/)
})

test('property: every memcpy program moves exactly len bytes and ends SAR/DAR at src+len, dst+len', () => {
  const sizes = fc.constantFrom(1, 2, 4, 8, 16)
  fc.assert(fc.property(sizes, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 40000 }), fc.integer({ min: 0, max: 31 }), (size, blen, beats, ev) => {
    const len = beats * size
    const src = 0x10000000, dst = 0x20000000
    const p = buildProgram({ src, dst, len, burstSize: size, burstLen: blen, event: ev })
    const r = run(p.bytes)
    assert.is(r.loaded, len)
    assert.is(r.stored, len)
    assert.is(r.sar, src + len)
    assert.is(r.dar, dst + len)
    assert.equal(r.sev, [ev])
    // the closing instructions are DMASEV ev; DMAEND
    assert.equal([...p.bytes.subarray(p.bytes.length - 3)], [0x34, ev << 3, 0x00])
  }), { numRuns: 150 })
})

test('big transfers: 3 MiB + 384 B and 16 MiB copy exactly; 16 MiB of 1-byte bursts needs several _loop passes', () => {
  for (const len of [3 * (1 << 20) + 384, 16 << 20]) {
    const p = buildMemcpy({ src: 0, dst: 0x40000000, len, event: 1 })
    const r = run(p.bytes)
    assert.is(r.loaded, len); assert.is(r.stored, len)
  }
  const q = buildProgram({ src: 0, dst: 0x40000000, len: 300 * 65536 + 1000, burstSize: 1, burstLen: 1, event: 0 })
  assert.is(q.bursts, 300 * 65536 + 1000)
  // passes: 123, 123, 54 (x 65536 bursts, unroll capped at 123), then 3 x 256, then 232
  const outer = q.instrs.filter((i) => i.op === 'DMALP' && i.lc === 0).map((i) => (i.op === 'DMALP' ? i.iterations : 0))
  assert.equal(outer, [256, 256, 256, 3])
  assert.not.ok(q.fitsLinuxSlot) // Linux would refuse it: "Try increasing mcbufsz"
})

test('start helpers: DMAGO values for the built program and Linux request-slot addresses', () => {
  const p = buildMemcpy({ src: 0x1000, dst: 0x2000, len: 4096, event: 2, channel: 2, base: linuxMicrocodeAddress(0x60000000, 2, 1) })
  assert.is(linuxMicrocodeAddress(0x60000000, 2, 1), 0x60000500)
  assert.equal(p.go, { dbginst0: 0x02a00000, dbginst1: 0x60000500 })
  assert.is(p.listing[0]!.address, 0x60000500)
})

test('bad requests are refused', () => {
  assert.throws(() => buildMemcpy({ src: 0, dst: 0, len: 0, event: 0 }), RangeError)
  assert.throws(() => buildProgram({ src: 0, dst: 0, len: 8, burstSize: 3, burstLen: 1, event: 0 }), RangeError)
  assert.throws(() => buildProgram({ src: 0, dst: 0, len: 8, burstSize: 4, burstLen: 1, event: 0, direction: 'mem-to-dev' }), RangeError)
})

test.run()
