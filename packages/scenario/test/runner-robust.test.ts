// A scenario can never crash the runner: random step lists (every action,
// values drawn from numbers, names, text, lists and maps) either fail to
// parse with a ScenarioSyntaxError or run to a report; random text either
// parses or gives a ScenarioSyntaxError. Nothing else escapes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { parseScenario } from '../src/parse.ts'
import { runScenario } from '../src/runner.ts'
import { ScenarioSyntaxError } from '../src/errors.ts'
import { ACTIONS } from '../src/steps.ts'
import { fileURLToPath } from 'node:url'

const scalar = fc.oneof(
  fc.integer({ min: -5, max: 0x2_0000 }),
  fc.constantFrom(0, 3, 8, 4096, 0xffffffff, '4K', '10us', 'idle', 'readable', 'seq', '$a', '$b + 8', '$nope', '${a}', '/dev/null', '/sys/bus', 'DSR', 'O_RDWR', 'EINVAL', 'absent', 'different', 'VFIO_GET_API_VERSION', 'VFIO_IOMMU_MAP_DMA', 'echo x > /dev/null', 'cat /sys/bus/platform/uevent', 'DMAEND', 'DMAMOV SAR, 1\nDMAEND\n'),
  fc.string({ maxLength: 6 }),
)
const value = fc.oneof({ depthSize: 'small' }, scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('fd', 'length', 'addr', 'flags', 'offset', 'prot', 'vaddr', 'iova', 'size', 'DSR', 'DBGCMD', 'x'), scalar, { maxKeys: 3 }))
const actionNames = Object.keys(ACTIONS).filter(a => a !== 'call')
const step = fc.record({
  action: fc.constantFrom(...actionNames),
  main: value,
  extra: fc.dictionary(fc.constantFrom('fd', 'arg', 'length', 'with', 'at', 'count', 'flags', 'u64', 'text', 'until', 'timeout', 'as', 'expect'), value, { maxKeys: 3 }),
  required: fc.array(scalar, { minLength: 3, maxLength: 3 }),
}).map(s => {
  const o: Record<string, unknown> = { [s.action]: s.main, ...s.extra }
  // Mostly well-formed steps (allowed keys, the right shape), so many get to run.
  const spec = ACTIONS[s.action]!
  for (const k of Object.keys(s.extra)) if (!Object.hasOwn(spec.keys, k) && !['as', 'expect'].includes(k) && s.required[0] !== 0) delete o[k]
  if (spec.main === 'map' && (typeof s.main !== 'object' || Array.isArray(s.main))) o[s.action] = { length: s.required[1], x: s.main }
  if (spec.main === 'list' && !Array.isArray(s.main)) o[s.action] = [s.main]
  if ((spec.main === 'text' || spec.main === 'name') && typeof s.main === 'object') o[s.action] = String(s.required[2])
  Object.entries(ACTIONS[s.action]!.keys).filter(([, r]) => r).forEach(([k], i) => { o[k] ??= s.required[i % 3] })
  if (typeof o['as'] !== 'string' || !/^[A-Za-z_]\w*$/.test(o['as'])) delete o['as']
  return o
})

let parsedCount = 0

test('random steps: a syntax error or a report, never an escaping exception', () => {
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), steps => {
    const text = stringify({ 'vfio-sim': 1, name: 'random', board: 'minimal', steps: [{ let: { a: 4096, b: 0 } }, ...steps] })
    let s
    try {
      s = parseScenario(text, 'random.yaml')
    } catch (e) {
      if (e instanceof ScenarioSyntaxError) return
      throw e
    }
    parsedCount++
    const r = runScenario(s, s.variants[0]!)
    assert.type(r.ok, 'boolean')
    if (!r.ok) assert.type(r.failure!.message, 'string')
  }), { numRuns: 150 })
  assert.ok(parsedCount >= 15, `only ${parsedCount} of the random scenarios parsed; the property would test little`)
})

test('random text: parses or gives a ScenarioSyntaxError with a position inside the file', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), text => {
    try {
      parseScenario(`vfio-sim: 1\nname: t\nsteps:\n${text}`, 't.yaml')
    } catch (e) {
      if (!(e instanceof ScenarioSyntaxError)) throw e
      assert.ok(e.line >= 1 && e.col >= 1)
      assert.ok(e.line <= 4 + text.split('\n').length, `line ${e.line}`)
    }
  }), { numRuns: 300 })
})

test('a DMA program that loops forever is stopped by the watchdog, not hung on', () => {
  const lib = fileURLToPath(new URL('../../../scenarios/lib/vfio.yaml', import.meta.url))
  const s = parseScenario(`vfio-sim: 1
name: forever
iommu: true
board: fvp-mmu400
profile: upstream
include: [${JSON.stringify(lib)}]
params: { bus: platform, dev: 2c0a0000.dma, src_iova: 0x10000000, dst_iova: 0x10001000, code_iova: 0x10002000 }
steps:
  - call: bind-vfio
  - call: container
    with: { iommu_type: VFIO_TYPE1v2_IOMMU }
  - let: { code_flags: [READ, WRITE] }
  - call: dma-buffers
  - call: device
  - asm: "DMALPFE\\nDMANOP\\nDMALPEND\\nDMAEND"
    at: $code
    base: $code_iova
  - call: start-ch0
  - run: idle
  - sh: ls /
`, 'forever.yaml')
  const r = runScenario(s, s.variants[0]!, { stepEventLimit: 5000 })
  assert.not.ok(r.ok)
  assert.match(r.failure!.message, /^WatchdogError: watchdog: this step caused more than 5000 trace events \(the last: pl330\/ch0 /)
  assert.is(r.failure!.step.label, 'run: idle')
  assert.ok(r.failure!.trace.length > 0)
})

test('iommu: false builds the board without IOMMU and VFIO, iommu: true with them', () => {
  const run = (iommu: string, expect: string): boolean => {
    const s = parseScenario(`vfio-sim: 1\nname: b\nboard: fvp-mmu400\niommu: ${iommu}\nsteps:\n  - sh: ls /dev/vfio\n    expect: ${expect}\n  - sh: readlink /sys/bus/platform/devices/2c0a0000.dma/iommu_group\n    expect: ${iommu === 'true' ? "{ match: 'iommu_groups/0$' }" : 'ENOENT'}\n`, 'b.yaml')
    const r = runScenario(s, s.variants[0]!)
    if (!r.ok) throw new Error(r.failure!.message)
    return r.ok
  }
  assert.ok(run('false', 'ENOENT'))
  assert.ok(run('true', '{ names: [vfio] }'))
})

test('run: idle on an idle machine returns at once, virtual time unchanged', () => {
  const s = parseScenario('vfio-sim: 1\nname: idle\nboard: minimal\nsteps:\n  - run: 5us\n  - run: idle\n    expect: { reason: idle, now: 5000 }\n', 'idle.yaml')
  const r = runScenario(s, s.variants[0]!)
  assert.ok(r.ok, r.failure?.message)
  assert.is(r.timeNs, 5000)
})

test.run()
