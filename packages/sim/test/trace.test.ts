// Trace events: typed declarations, nothing recorded while off, text and
// Chrome Trace Event sinks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ChromeTraceSink, defineTraceEvents, RingSink, TextSink, Tracer } from '../src/index.ts'

const EV = defineTraceEvents({
  demo_fault: ['demo', 'addr:hex64 fsr:hex write:bool', 'fault at {addr} fsr={fsr} write={write}'],
  demo_step: ['demo', 'n:u32 what:str', 'step {n}: {what}'],
})

test('declarations are checked', () => {
  assert.throws(() => defineTraceEvents({ bad: ['x', 'a:float', ''] }), /bad argument/)
  assert.throws(() => defineTraceEvents({ bad: ['x', 'a:u32', '{b}'] }), /unknown argument/)
})

test('off: nothing recorded; on: text sink formats the declared text', () => {
  let now = 0
  const t = new Tracer(() => now)
  t.instant(EV.demo_step, 'demo/a', 1, 'ignored')
  const text = new TextSink()
  const stop = t.addSink(text)
  assert.ok(t.on)
  now = 1500
  t.instant(EV.demo_fault, 'demo/cb0', 0x1_0000_1000n, 0x2, true)
  stop()
  assert.not.ok(t.on)
  t.instant(EV.demo_step, 'demo/a', 2, 'ignored')
  assert.equal(text.lines, ['      1500 ns demo/cb0 demo_fault: fault at 0x100001000 fsr=0x2 write=1'])
})

test('Chrome trace: metadata per track, slices, flows, valid JSON', () => {
  let now = 0
  const t = new Tracer(() => now)
  const chrome = new ChromeTraceSink()
  const ring = new RingSink(2)
  t.addSink(chrome)
  t.addSink(ring)
  t.begin(EV.demo_step, 'pl330/ch0', 1, 'copy')
  t.flow('s', 7, 'pl330/ch0')
  now = 2000
  t.instant(EV.demo_fault, 'smmu/cb0', 0x1000, 0x8, false)
  t.flow('f', 7, 'smmu/cb0')
  t.end('pl330/ch0')
  const json = JSON.parse(chrome.toJSON()) as { traceEvents: Record<string, unknown>[] }
  const evs = json.traceEvents
  for (const e of evs) for (const k of ['ph', 'ts', 'pid', 'tid']) assert.ok(k in e, `${k} in ${JSON.stringify(e)}`)
  assert.equal(evs.filter(e => e['ph'] === 'M').map(e => (e['args'] as { name: string }).name), ['pl330', 'ch0', 'smmu', 'cb0'])
  const b = evs.find(e => e['ph'] === 'B')!
  const e = evs.find(e => e['ph'] === 'E')!
  assert.is(b['tid'], e['tid'])
  assert.is(e['ts'], 2)
  assert.is((evs.find(x => x['ph'] === 'i')!['args'] as Record<string, unknown>)['addr'], '0x1000')
  assert.is(ring.records.length, 2)
})

test.run()
