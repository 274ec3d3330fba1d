// The shipped JSON Schema equals the one generated from the step table
// (regenerate: node --conditions=source --import tsx packages/scenario/scripts/gen-schema.ts),
// and its step alternatives name every action of the parser.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { scenarioSchema } from '../src/schema.ts'
import { ACTIONS } from '../src/steps.ts'

const shipped = JSON.parse(readFileSync(new URL('../scenario.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>

test('scenario.schema.json is up to date', () => {
  // Compared as text so a stale file gives one short message, not a huge diff.
  const same = JSON.stringify(shipped) === JSON.stringify(scenarioSchema())
  assert.ok(same, 'scenario.schema.json is stale: node --conditions=source --import tsx packages/scenario/scripts/gen-schema.ts')
})

test('the schema has one step alternative per action, each requiring its action key', () => {
  const steps = ((shipped['$defs'] as Record<string, { oneOf: { title: string; required: string[] }[] }>)['step']!).oneOf
  assert.equal(steps.map(s => s.title).sort(), Object.keys(ACTIONS).sort())
  for (const s of steps) assert.ok(s.required.includes(s.title))
})

test('the schema requires the version and a name, and knows the top-level keys', () => {
  assert.equal(shipped['required'], ['vfio-sim', 'name'])
  assert.ok('steps' in (shipped['properties'] as object))
  assert.is((shipped['properties'] as Record<string, { const?: number }>)['vfio-sim']!.const, 1)
})

test.run()
