// Interrupt lines and the controller: level and edge semantics, masking,
// delivery never re-entrant, storm protection.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { InterruptController, IrqReturn, Scheduler } from '../src/index.ts'

function setup() {
  const s = new Scheduler()
  const gic = new InterruptController(8, s)
  const got: number[] = []
  return { s, gic, got }
}

test('level: delivered while asserted and enabled, again after the handler if still asserted', () => {
  const { s, gic, got } = setup()
  gic.configure(1, 'level')
  const line = gic.line(1)
  let quiet = 2 // the device goes quiet after two handler calls
  gic.setHandler(1, n => { got.push(n); if (--quiet === 0) line.set(false); return IrqReturn.HANDLED })
  gic.enable(1)
  line.set(true)
  assert.equal(got, [], 'delivery is an event, not a call inside set()')
  s.runUntilIdle()
  assert.equal(got, [1, 1])
  assert.not.ok(gic.isPending(1))
})

test('level: masked while asserted stays pending; enable delivers it', () => {
  const { s, gic, got } = setup()
  const line = gic.line(2)
  gic.setHandler(2, n => { got.push(n); line.set(false); return IrqReturn.HANDLED })
  line.set(true)
  s.runUntilIdle()
  assert.equal(got, [])
  assert.ok(gic.isPending(2))
  gic.enable(2)
  s.runUntilIdle()
  assert.equal(got, [2])
})

test('level: deasserted before enable means nothing is delivered', () => {
  const { s, gic, got } = setup()
  const line = gic.line(2)
  gic.setHandler(2, n => { got.push(n); return IrqReturn.HANDLED })
  line.set(true)
  line.set(false)
  gic.enable(2)
  s.runUntilIdle()
  assert.equal(got, [])
})

test('edge: a pulse is latched once, even while masked, and delivered once', () => {
  const { s, gic, got } = setup()
  gic.configure(3, 'edge')
  gic.setHandler(3, n => { got.push(n); return IrqReturn.HANDLED })
  const line = gic.line(3)
  line.pulse()
  line.pulse() // two edges before delivery coalesce, as a GIC's pending bit does
  assert.ok(gic.isPending(3))
  gic.enable(3)
  s.runUntilIdle()
  assert.equal(got, [3])
  line.pulse()
  s.runUntilIdle()
  assert.equal(got, [3, 3])
  line.set(true)
  line.set(true) // no new edge
  s.runUntilIdle()
  assert.equal(got, [3, 3, 3])
})

test('disable inside the handler (automask) stops redelivery of a level', () => {
  const { s, gic, got } = setup()
  const line = gic.line(4)
  gic.setHandler(4, n => { got.push(n); gic.disable(n); return IrqReturn.HANDLED })
  gic.enable(4)
  line.set(true)
  s.runUntilIdle()
  assert.equal(got, [4])
  gic.enable(4)
  s.runUntilIdle()
  assert.equal(got, [4, 4])
})

test('a level that nobody quiets is disabled after the storm limit instead of hanging', () => {
  const { s, gic, got } = setup()
  let storms = 0
  gic.onStorm = () => storms++
  gic.setHandler(5, n => { got.push(n); return IrqReturn.NONE })
  gic.enable(5)
  gic.line(5).set(true)
  s.runUntilIdle()
  assert.is(storms, 1)
  assert.not.ok(gic.isEnabled(5))
  assert.is(got.length, 100_000)
})

test('bad input numbers are RangeErrors for the kernel, not silent', () => {
  const { gic } = setup()
  assert.throws(() => gic.line(8), RangeError)
  assert.throws(() => gic.enable(-1), RangeError)
})

test.run()
