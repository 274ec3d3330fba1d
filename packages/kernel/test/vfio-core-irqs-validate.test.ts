// vfio_set_irqs_validate_and_prepare() (drivers/vfio/vfio_main.c, spec
// vfio.md §9): exact order of the -EINVAL checks and the data size, by hand
// and against an independent model over random headers.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { isKernelError } from '../src/errno.ts'
import { vfioSetIrqsValidateAndPrepare, type VfioIrqSetHdr } from '../src/drivers/vfio/vfio.ts'

const NONE = 1
const BOOL = 2
const EVENTFD = 4
const MASK = 8
const UNMASK = 16
const TRIGGER = 32

function run(hdr: VfioIrqSetHdr, numIrqs: number, maxIrqType: number): number | string {
  try {
    return vfioSetIrqsValidateAndPrepare(hdr, numIrqs, maxIrqType).dataSize
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

const h = (argsz: number, flags: number, index: number, start: number, count: number): VfioIrqSetHdr => ({ argsz, flags, index, start, count })

test('valid headers: data size 0 / count / 4·count', () => {
  assert.is(run(h(20, NONE | TRIGGER, 0, 0, 1), 5, 5), 0)
  assert.is(run(h(21, BOOL | MASK, 0, 0, 1), 5, 5), 1)
  assert.is(run(h(24, EVENTFD | TRIGGER, 4, 0, 1), 5, 5), 4)
  assert.is(run(h(28, EVENTFD | TRIGGER, 0, 1, 2), 5, 5), 8)
  // count 0 is allowed (TRIGGER|NONE count 0 disables); start must still be < numIrqs.
  assert.is(run(h(20, NONE | TRIGGER, 0, 0, 0), 5, 5), 0)
  // Zero or several ACTION bits pass here (the driver answers -ENOTTY).
  assert.is(run(h(20, NONE, 0, 0, 1), 1, 1), 0)
  assert.is(run(h(20, NONE | MASK | UNMASK, 0, 0, 1), 1, 1), 0)
  // Extra argsz is fine.
  assert.is(run(h(100, EVENTFD | TRIGGER, 0, 0, 1), 1, 1), 4)
})

test('each -EINVAL, in Linux order', () => {
  assert.is(run(h(19, NONE | TRIGGER, 0, 0, 1), 1, 1), 'EINVAL') // argsz < minsz
  assert.is(run(h(20, NONE | TRIGGER, 1, 0, 1), 1, 1), 'EINVAL') // index ≥ max_irq_type
  assert.is(run(h(20, NONE | TRIGGER, 0, 0, 0xffff_ffff), 1, 1), 'EINVAL') // count ≥ U32_MAX − start
  assert.is(run(h(20, NONE | TRIGGER, 0, 1, 0xffff_fffe), 1, 1), 'EINVAL')
  assert.is(run(h(20, NONE | TRIGGER | 0x40, 0, 0, 1), 1, 1), 'EINVAL') // unknown flag bit
  assert.is(run(h(20, NONE | TRIGGER, 0, 1, 0), 1, 1), 'EINVAL') // start ≥ num_irqs
  assert.is(run(h(20, NONE | TRIGGER, 0, 0, 2), 1, 1), 'EINVAL') // start + count > num_irqs
  assert.is(run(h(20, TRIGGER, 0, 0, 1), 1, 1), 'EINVAL') // no DATA bit
  assert.is(run(h(24, BOOL | EVENTFD | TRIGGER, 0, 0, 1), 1, 1), 'EINVAL') // two DATA bits
  assert.is(run(h(20, BOOL | MASK, 0, 0, 1), 1, 1), 'EINVAL') // argsz − 20 < count
  assert.is(run(h(27, EVENTFD | TRIGGER, 0, 0, 2), 2, 2), 'EINVAL') // argsz − 20 < 4·count
  // With max_irq_type > num_irqs (PCI-like callers), the index bound and the start bound differ.
  assert.is(run(h(20, NONE | TRIGGER, 3, 0, 1), 1, 5), 0)
  assert.is(run(h(20, NONE | TRIGGER, 0, 1, 1), 1, 5), 'EINVAL')
})

/** The checks, restated with unbounded integers. */
function model(hdr: VfioIrqSetHdr, numIrqs: number, maxIrqType: number): number | string {
  const a = BigInt(hdr.argsz >>> 0)
  const f = hdr.flags >>> 0
  const start = BigInt(hdr.start >>> 0)
  const count = BigInt(hdr.count >>> 0)
  if (a < 20n || hdr.index >>> 0 >= maxIrqType || count >= 0xffff_ffffn - start || (f & ~0x3f) !== 0) return 'EINVAL'
  if (start >= BigInt(numIrqs) || start + count > BigInt(numIrqs)) return 'EINVAL'
  const data = f & 7
  const size = data === 1 ? 0n : data === 2 ? 1n : data === 4 ? 4n : -1n
  if (size < 0n) return 'EINVAL'
  if (size > 0n && a - 20n < count * size) return 'EINVAL'
  return Number(count * size)
}

test('random headers agree with the model (never anything but EINVAL or a size)', () => {
  const u32 = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0xffff_ffff, 0xffff_fffe, 0x8000_0000))
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 0x7f }), u32, u32, u32, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), (argsz, flags, index, start, count, n, max) => {
      const hdr = h(argsz, flags, index, start, count)
      assert.is(run(hdr, n, max), model(hdr, n, max))
    }),
  )
})

test.run()
