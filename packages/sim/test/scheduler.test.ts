// The scheduler: events run in (time, order scheduled) order, cancellation,
// and determinism (the same schedule gives the same order, always).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { Scheduler } from '../src/index.ts'

type Plan = { delay: number; spawn: number[]; cancel: boolean }[]

/** Runs a plan; events may schedule further events. Returns the trace of (label, time). */
function runPlan(plan: Plan): string[] {
  const s = new Scheduler()
  const log: string[] = []
  const handles: number[] = []
  plan.forEach((p, i) => {
    handles.push(s.schedule(p.delay, () => {
      log.push(`${i}@${s.now}`)
      p.spawn.forEach((d, j) => s.schedule(d, () => log.push(`${i}.${j}@${s.now}`)))
    }))
  })
  plan.forEach((p, i) => { if (p.cancel) s.cancel(handles[i]!) })
  s.runUntilIdle()
  return log
}

const planArb = fc.array(fc.record({ delay: fc.nat(50), spawn: fc.array(fc.nat(20), { maxLength: 3 }), cancel: fc.boolean() }), { maxLength: 30 })

test('top-level events run by time, ties in scheduling order; cancelled ones never run', () => {
  fc.assert(fc.property(planArb, plan => {
    const log = runPlan(plan).filter(l => !l.includes('.'))
    // Independent expectation: stable sort of the surviving events by delay.
    const want = plan.map((p, i) => ({ p, i })).filter(x => !x.p.cancel).sort((a, b) => a.p.delay - b.p.delay || a.i - b.i).map(x => `${x.i}@${x.p.delay}`)
    assert.equal(log, want)
  }))
})

test('every event (including ones scheduled by events) runs at its due time, never before now', () => {
  fc.assert(fc.property(planArb, plan => {
    const log = runPlan(plan)
    const times = log.map(l => Number(l.split('@')[1]))
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, 'time never goes backwards')
    const spawned = plan.flatMap((p, i) => (p.cancel ? [] : p.spawn.map((d, j) => `${i}.${j}@${p.delay + d}`)))
    assert.equal([...log.filter(l => l.includes('.'))].sort(), spawned.sort())
  }))
})

test('determinism: the same plan gives the same trace', () => {
  fc.assert(fc.property(planArb, plan => {
    assert.equal(runPlan(plan), runPlan(plan))
  }))
})

test('runUntil advances the clock, leaves later events pending; bad delays throw', () => {
  const s = new Scheduler()
  const seen: number[] = []
  s.schedule(10, () => seen.push(s.now))
  s.schedule(30, () => seen.push(s.now))
  assert.is(s.runUntil(20), 1)
  assert.is(s.now, 20)
  assert.is(s.pending, 1)
  assert.is(s.nextTime, 30)
  s.runFor(100)
  assert.equal(seen, [10, 30])
  assert.is(s.now, 120)
  assert.throws(() => s.schedule(-1, () => {}), RangeError)
  assert.throws(() => s.schedule(Number.NaN, () => {}), RangeError)
  assert.throws(() => s.at(5, () => {}), RangeError)
})

test('cancel of an event that already ran, or twice, is harmless', () => {
  const s = new Scheduler()
  let n = 0
  const h = s.schedule(1, () => n++)
  s.runUntilIdle()
  s.cancel(h)
  s.cancel(h)
  const h2 = s.schedule(1, () => n++)
  s.cancel(h2)
  s.cancel(h2)
  assert.is(s.pending, 0)
  s.runUntilIdle()
  assert.is(n, 1)
})

test('runUntilIdle stops when asked and after maxEvents', () => {
  const s = new Scheduler()
  let n = 0
  const tick = (): void => { n++; s.schedule(1, tick) }
  s.schedule(0, tick)
  assert.is(s.runUntilIdle(() => n === 5), 5)
  assert.is(s.runUntilIdle(undefined, 10), 10)
  assert.is(n, 15)
})

test.run()
