// Sparse physical memory against the simplest possible model: a flat buffer
// covering a window of the address space.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { PAGE_SIZE, PhysMemory } from '../src/index.ts'

const WINDOW = 5 * PAGE_SIZE

type Op =
  | { kind: 'write'; off: number; bytes: Uint8Array }
  | { kind: 'read'; off: number; len: number }
  | { kind: 'w'; off: number; size: 1 | 2 | 4 | 8; value: bigint }
  | { kind: 'r'; off: number; size: 1 | 2 | 4 | 8 }
  | { kind: 'fill'; off: number; len: number; value: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), off: fc.nat(WINDOW - 1), bytes: fc.uint8Array({ minLength: 0, maxLength: 2 * PAGE_SIZE }) })
    .map(o => ({ ...o, bytes: o.bytes.subarray(0, Math.min(o.bytes.length, WINDOW - o.off)) })),
  fc.record({ kind: fc.constant('read' as const), off: fc.nat(WINDOW - 1), len: fc.nat(2 * PAGE_SIZE) })
    .map(o => ({ ...o, len: Math.min(o.len, WINDOW - o.off) })),
  fc.record({ kind: fc.constant('w' as const), off: fc.nat(WINDOW - 8), size: fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8>, value: fc.bigInt(0n, (1n << 64n) - 1n) }),
  fc.record({ kind: fc.constant('r' as const), off: fc.nat(WINDOW - 8), size: fc.constantFrom(1, 2, 4, 8) as fc.Arbitrary<1 | 2 | 4 | 8> }),
  fc.record({ kind: fc.constant('fill' as const), off: fc.nat(WINDOW - 1), len: fc.nat(PAGE_SIZE * 2), value: fc.integer({ min: 0, max: 255 }) })
    .map(o => ({ ...o, len: Math.min(o.len, WINDOW - o.off) })),
)

/** Little-endian value of `size` bytes of the flat model at `off`. */
function flatValue(flat: Uint8Array, off: number, size: number): bigint {
  let v = 0n
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(flat[off + i]!)
  return v
}

test('random spans and single accesses match a flat buffer (pages crossed, base up to 2^48)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 2 ** 36 - 6 }).map(p => p * PAGE_SIZE + 0), // page-aligned window base
    fc.nat(PAGE_SIZE - 1),
    fc.array(opArb, { maxLength: 40 }),
    (pageBase, skew, ops) => {
      const base = Math.min(pageBase + skew, 2 ** 48 - WINDOW)
      const mem = new PhysMemory()
      const flat = new Uint8Array(WINDOW)
      for (const op of ops) {
        switch (op.kind) {
          case 'write':
            mem.write(base + op.off, op.bytes)
            flat.set(op.bytes, op.off)
            break
          case 'read': {
            const got = mem.slice(base + op.off, op.len)
            assert.equal(got, flat.slice(op.off, op.off + op.len))
            break
          }
          case 'fill':
            mem.fill(base + op.off, op.len, op.value)
            flat.fill(op.value, op.off, op.off + op.len)
            break
          case 'w': {
            const v = op.value & ((1n << BigInt(8 * op.size)) - 1n)
            if (op.size === 1) mem.write8(base + op.off, Number(v))
            else if (op.size === 2) mem.write16(base + op.off, Number(v))
            else if (op.size === 4) mem.write32(base + op.off, Number(v))
            else mem.write64(base + op.off, v)
            for (let i = 0; i < op.size; i++) flat[op.off + i] = Number((v >> BigInt(8 * i)) & 0xffn)
            break
          }
          case 'r': {
            const want = flatValue(flat, op.off, op.size)
            const got = op.size === 1 ? BigInt(mem.read8(base + op.off))
              : op.size === 2 ? BigInt(mem.read16(base + op.off))
              : op.size === 4 ? BigInt(mem.read32(base + op.off))
              : mem.read64(base + op.off)
            assert.is(got, want, `read${op.size * 8} at +${op.off}`)
            if (op.size === 8) {
              const lo = mem.read64Split(base + op.off)
              assert.is((BigInt(mem.hi) << 32n) | BigInt(lo), want)
            }
            break
          }
        }
      }
      assert.equal(mem.slice(base, WINDOW), flat)
    },
  ))
})

test('reads never allocate; writes allocate only the pages touched', () => {
  const mem = new PhysMemory()
  mem.slice(0x1_0000_0000, 3 * PAGE_SIZE)
  mem.read32(0x2000)
  mem.fill(0x5000, PAGE_SIZE, 0)
  assert.is(mem.allocatedPages, 0)
  mem.write(0x8000_0ffe, new Uint8Array([1, 2, 3]))
  assert.is(mem.allocatedPages, 2)
  assert.ok(mem.isAllocated(0x8000_0000) && mem.isAllocated(0x8000_1000))
  assert.is(mem.read16(0x8000_0fff), 0x0302)
})

test('addresses beyond 2^48 and non-integers are rejected with RangeError', () => {
  const mem = new PhysMemory()
  assert.throws(() => mem.read32(2 ** 48 - 2), RangeError)
  assert.throws(() => mem.write8(-1, 0), RangeError)
  assert.throws(() => mem.slice(0.5, 1), RangeError)
  mem.write8(2 ** 48 - 1, 0xab)
  assert.is(mem.read8(2 ** 48 - 1), 0xab)
})

test('copy is memmove: overlapping forward and backward', () => {
  const mem = new PhysMemory()
  const data = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7) & 0xff)
  mem.write(0x1000, data)
  mem.copy(0x1800, 0x1000, 6000)
  assert.equal(mem.slice(0x1800, 6000), data)
  mem.copy(0x1000, 0x1800, 6000)
  assert.equal(mem.slice(0x1000, 6000), data)
})

test.run()
