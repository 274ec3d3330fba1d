// The --trace output is Chrome Trace Event JSON that ui.perfetto.dev opens:
// every event has ph/ts/pid/tid, slices on one track nest, metadata names
// the tracks; and a run is deterministic: the same scenario twice gives
// byte-identical TAP and trace.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { loadFiles } from '../src/files.ts'
import { runScenario } from '../src/runner.ts'
import { formatTap } from '../src/report.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const set = loadFiles([path.join(root, 'scenarios')])

interface Ev { name: string; ph: string; ts: number; pid: number; tid: number; args?: Record<string, unknown> }

/** Checks the structure; returns the events. */
function checkChrome(json: string): Ev[] {
  const doc = JSON.parse(json) as { traceEvents: Ev[] }
  assert.ok(Array.isArray(doc.traceEvents), 'traceEvents is an array')
  const stacks = new Map<string, string[]>()
  let lastTs = -Infinity
  for (const e of doc.traceEvents) {
    for (const k of ['ph', 'ts', 'pid', 'tid'] as const) assert.ok(e[k] !== undefined, `event without ${k}: ${JSON.stringify(e)}`)
    assert.type(e.ts, 'number')
    assert.ok(['B', 'E', 'i', 'M', 's', 'f', 'X'].includes(e.ph), `phase ${e.ph}`)
    if (e.ph === 'M') continue
    assert.ok(e.ts >= lastTs, `timestamps go forward (${e.ts} after ${lastTs})`)
    lastTs = e.ts
    const track = `${e.pid}/${e.tid}`
    const st = stacks.get(track) ?? []
    stacks.set(track, st)
    if (e.ph === 'B') st.push(e.name)
    if (e.ph === 'E') assert.ok(st.pop() !== undefined, `E without B on track ${track} at ${e.ts}`)
  }
  for (const [track, st] of stacks) assert.is(st.length, 0, `unclosed slices on ${track}: ${st.join(', ')}`)
  return doc.traceEvents
}

for (const s of set.scenarios) {
  const v = s.variants[0]!
  test(`${path.relative(root, s.file)}: valid Chrome trace, byte-identical TAP and trace on a second run`, () => {
    const a = runScenario(s, v, { chromeTrace: true })
    const b = runScenario(s, v, { chromeTrace: true })
    const events = checkChrome(a.chromeTrace!)
    assert.ok(events.some(e => e.ph === 'M' && e.name === 'thread_name'), 'tracks are named')
    assert.ok(events.some(e => e.ph === 'B' && e.name === 'step'), 'one slice per step')
    assert.is(b.chromeTrace, a.chromeTrace)
    assert.is(formatTap([{ kind: 'run', run: b }]), formatTap([{ kind: 'run', run: a }]))
  })
}

test('flows lead from the step that starts the DMA to the channel, and from the channel to the SMMU fault', () => {
  const s = set.scenarios.find(x => x.file.endsWith('missing-exec-fault.yaml'))!
  const r = runScenario(s, s.variants[0]!, { chromeTrace: true })
  assert.ok(r.ok)
  const events = checkChrome(r.chromeTrace!)
  const names = new Map(events.filter(e => e.ph === 'M' && e.name === 'thread_name').map(e => [`${e.pid}/${e.tid}`, String(e.args!['name'])]))
  const procs = new Map(events.filter(e => e.ph === 'M' && e.name === 'process_name').map(e => [e.pid, String(e.args!['name'])]))
  const track = (e: Ev): string => `${procs.get(e.pid)}/${names.get(`${e.pid}/${e.tid}`)}`
  const flowEvents = events.filter(e => e.ph === 's' || e.ph === 'f') as (Ev & { id: number })[]
  assert.equal(flowEvents.map(e => `${e.ph} ${track(e)}`), ['s scenario/steps', 'f pl330/ch0', 's pl330/ch0', 'f smmu/cb0'])
  assert.is(flowEvents[0]!.id, flowEvents[1]!.id)
  assert.is(flowEvents[2]!.id, flowEvents[3]!.id)
  // Every flow start has its finish.
  for (const e of events.filter(x => x.ph === 's')) assert.ok(events.some(x => x.ph === 'f' && (x as Ev & { id: number }).id === (e as Ev & { id: number }).id))
  // One track per process, per DMA channel, per context bank.
  for (const t of ['proc/100', 'pl330/ch0', 'smmu/cb0', 'scenario/steps']) assert.ok([...events].some(e => e.ph === 'M' && e.name === 'thread_name' && track(e) === t), t)
})

test('a failing run still closes its slices', () => {
  const failing = set.scenarios[0]!
  const broken = { ...failing, steps: [...failing.steps.slice(0, 1), { ...failing.steps[0]!, expect: { kind: 'scalar' as const, value: 'no such text', quoted: true, pos: failing.steps[0]!.pos } }] }
  const r = runScenario(broken, failing.variants[0]!, { chromeTrace: true })
  assert.not.ok(r.ok)
  checkChrome(r.chromeTrace!)
})

test.run()
