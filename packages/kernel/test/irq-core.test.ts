import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { IrqReturn } from '@vfio-sim/sim'
import { Kernel } from '../src/kernel.ts'
import { errno } from './errno-of.ts'
import { IRQF } from '../src/kernel/irq/irqdesc.ts'

test('request_irq enables the line; an edge reaches the handler once per pulse', () => {
  const k = new Kernel()
  const seen: unknown[] = []
  k.irq.request(40, (irq, dev) => { seen.push([irq, dev]); return IrqReturn.HANDLED }, IRQF.TRIGGER_RISING, 'test', 'dev0')
  assert.is(k.irq.triggerType(40), 'edge')
  assert.ok(k.irq.isEnabled(40))
  k.sys.irqc.line(40).pulse()
  k.sys.irqc.line(40).pulse()
  k.sys.scheduler.runUntilIdle()
  assert.equal(seen, [[40, 'dev0']]) // two pulses before delivery latch one edge
  k.sys.irqc.line(40).pulse()
  k.sys.scheduler.runUntilIdle()
  assert.is(seen.length, 2)
  assert.is(k.irq.count(40), 2)
})

test('IRQF_NO_AUTOEN: the line stays off until enable_irq; an edge meanwhile is delivered then', () => {
  const k = new Kernel()
  let n = 0
  k.irq.request(41, () => { n++; return IrqReturn.HANDLED }, IRQF.TRIGGER_RISING | IRQF.NO_AUTOEN, 'test', null)
  assert.not.ok(k.irq.isEnabled(41))
  k.sys.irqc.line(41).pulse()
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 0)
  k.irq.enable(41)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 1)
})

test('disable_irq nests; enable_irq at depth 0 warns "Unbalanced enable"', () => {
  const k = new Kernel()
  let n = 0
  k.irq.request(42, () => { n++; return IrqReturn.HANDLED }, IRQF.TRIGGER_RISING, 'test', null)
  k.irq.disable(42)
  k.irq.disable(42)
  k.sys.irqc.line(42).pulse()
  k.irq.enable(42)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 0)
  k.irq.enable(42)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 1)
  k.irq.enable(42)
  assert.equal(k.dmesg(), ['[    0.000000] Unbalanced enable for IRQ 42'])
})

test('level flow: a handler that quiets the device gets one call per assertion', () => {
  const k = new Kernel()
  const line = k.sys.irqc.line(43)
  let n = 0
  k.irq.request(43, () => { n++; line.set(false); return IrqReturn.HANDLED }, IRQF.TRIGGER_HIGH, 'dev', null)
  assert.is(k.irq.triggerType(43), 'level')
  line.set(true)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 1)
  line.set(true)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 2)
})

test('level flow: automasking with disable_irq_nosync in the handler (as VFIO does) holds the line until enable_irq', () => {
  const k = new Kernel()
  const line = k.sys.irqc.line(44)
  let n = 0
  k.irq.request(44, irq => { n++; k.irq.disableNosync(irq); return IrqReturn.HANDLED }, IRQF.TRIGGER_HIGH, 'vfio-irq', null)
  line.set(true) // the device keeps asserting
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 1)
  assert.not.ok(k.irq.isEnabled(44))
  k.irq.enable(44) // the user's UNMASK while still asserted: delivered again, masked again
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 2)
  line.set(false)
  k.irq.enable(44)
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 2)
  assert.ok(k.irq.isEnabled(44))
})

test('sharing: both must ask IRQF_SHARED with the same trigger, else EBUSY and a "Flags mismatch" line', () => {
  const k = new Kernel()
  const h = () => IrqReturn.HANDLED
  k.irq.request(45, h, IRQF.SHARED | IRQF.TRIGGER_HIGH, 'a', 1)
  k.irq.request(45, h, IRQF.SHARED | IRQF.TRIGGER_HIGH, 'b', 2)
  assert.equal(k.irq.actionNames(45), ['a', 'b'])
  assert.is(errno(() => k.irq.request(45, h, IRQF.TRIGGER_HIGH, 'c', 3)), 'EBUSY')
  assert.is(errno(() => k.irq.request(45, h, IRQF.SHARED | IRQF.TRIGGER_RISING, 'd', 4)), 'EBUSY')
  assert.equal(k.dmesg().at(-1), '[    0.000000] genirq: Flags mismatch irq 45. 00000081 (d) vs. 00000084 (a)')
  k.irq.request(46, h, 0, 'x', 1)
  assert.is(errno(() => k.irq.request(46, h, 0, 'y', 2)), 'EBUSY')
  assert.is(errno(() => k.irq.request(9999, h, 0, 'z', 2)), 'EINVAL')
})

test('free_irq removes the action; the last one masks the line; a double free warns', () => {
  const k = new Kernel()
  let n = 0
  k.irq.request(47, () => { n++; return IrqReturn.HANDLED }, IRQF.TRIGGER_RISING, 'x', 'me')
  k.irq.free(47, 'me')
  k.sys.irqc.line(47).pulse()
  k.sys.scheduler.runUntilIdle()
  assert.is(n, 0)
  assert.not.ok(k.sys.irqc.isEnabled(47))
  k.irq.free(47, 'me')
  assert.equal(k.dmesg(), ['[    0.000000] Trying to free already-free IRQ 47'])
})

test('a level line nobody handles is reported and disabled instead of hanging the machine', () => {
  const k = new Kernel()
  k.irq.request(48, () => IrqReturn.NONE, IRQF.TRIGGER_HIGH, 'deaf', null)
  k.sys.irqc.line(48).set(true)
  k.sys.scheduler.runUntilIdle(undefined, 1_000_000)
  assert.not.ok(k.irq.isEnabled(48))
  const log = k.dmesg().map(l => l.slice(15))
  assert.ok(log.includes('irq 48: nobody cared (try booting with the "irqpoll" option)'))
  assert.ok(log.includes('Disabling IRQ #48'))
  assert.ok(log.includes('[<0000000000000000>] deaf'))
})

test.run()
