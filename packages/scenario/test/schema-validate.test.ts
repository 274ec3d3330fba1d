// The shipped JSON Schema accepts every scenario of scenarios/ (and the
// library), and rejects files with the mistakes an editor should flag. A
// small validator for the keywords the schema uses (type, enum, const,
// anyOf, oneOf, properties, required, additionalProperties, items,
// minItems, pattern, $ref) stands in for the editor's.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { parse } from 'yaml'
import { scenarioPaths } from '../src/files.ts'

type Schema = Record<string, unknown>
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const schema = JSON.parse(readFileSync(path.join(root, 'packages/scenario/scenario.schema.json'), 'utf8')) as Schema

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** Errors of `v` against `s` (empty: valid). */
function validate(s: Schema, v: unknown, at = '$'): string[] {
  if (typeof s['$ref'] === 'string') {
    const p = (s['$ref'] as string).replace(/^#\//, '').split('/')
    let t: unknown = schema
    for (const k of p) t = (t as Schema)[k]
    return validate(t as Schema, v, at)
  }
  const errs: string[] = []
  if (s['type'] !== undefined) {
    const t = typeOf(v)
    if (!(t === s['type'] || (s['type'] === 'number' && t === 'integer'))) errs.push(`${at}: expected ${String(s['type'])}, got ${t}`)
  }
  if (Object.hasOwn(s, 'const') && v !== s['const']) errs.push(`${at}: expected ${String(s['const'])}`)
  if (Array.isArray(s['enum']) && !(s['enum'] as unknown[]).includes(v)) errs.push(`${at}: ${JSON.stringify(v)} not in enum`)
  if (typeof s['pattern'] === 'string' && typeof v === 'string' && !new RegExp(s['pattern'] as string).test(v)) errs.push(`${at}: does not match ${String(s['pattern'])}`)
  if (Array.isArray(s['anyOf']) && !(s['anyOf'] as Schema[]).some(x => validate(x, v, at).length === 0)) errs.push(`${at}: matches no anyOf alternative`)
  if (Array.isArray(s['oneOf'])) {
    const n = (s['oneOf'] as Schema[]).filter(x => validate(x, v, at).length === 0).length
    if (n !== 1) errs.push(`${at}: matches ${n} oneOf alternatives`)
  }
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>
    const props = (s['properties'] ?? {}) as Record<string, Schema>
    for (const r of (s['required'] ?? []) as string[]) if (!Object.hasOwn(o, r)) errs.push(`${at}: missing ${r}`)
    for (const [k, x] of Object.entries(o)) {
      if (Object.hasOwn(props, k)) errs.push(...validate(props[k]!, x, `${at}.${k}`))
      else if (s['additionalProperties'] === false) errs.push(`${at}: unexpected ${k}`)
      else if (typeof s['additionalProperties'] === 'object') errs.push(...validate(s['additionalProperties'] as Schema, x, `${at}.${k}`))
    }
  }
  if (Array.isArray(v)) {
    if (typeof s['minItems'] === 'number' && v.length < (s['minItems'] as number)) errs.push(`${at}: fewer than ${String(s['minItems'])} items`)
    if (s['items'] !== undefined) v.forEach((x, i) => errs.push(...validate(s['items'] as Schema, x, `${at}[${i}]`)))
  }
  return errs
}

const files = [...scenarioPaths([path.join(root, 'scenarios')]).files, path.join(root, 'scenarios/lib/vfio.yaml')]

for (const f of files) {
  test(`the schema accepts ${path.relative(root, f)}`, () => {
    const errs = validate(schema, parse(readFileSync(f, 'utf8')))
    assert.equal(errs, [])
  })
}

test('the schema flags what an editor should', () => {
  const bad = (text: string): string[] => validate(schema, parse(text))
  assert.ok(bad('vfio-sim: 1\nname: x\nsteps: [{ opne: /dev/null }]').length > 0, 'unknown action')
  assert.ok(bad('vfio-sim: 1\nname: x\nsteps: [{ open: /dev/null, flgs: [] }]').length > 0, 'unknown key')
  assert.ok(bad('vfio-sim: 1\nname: x\nsteps: [{ open: /dev/null, close: 3 }]').length > 0, 'two actions')
  assert.ok(bad('vfio-sim: 1\nname: x\nsteps: [{ ioctl: VFIO_NOPE, fd: 3 }]').length > 0, 'unknown ioctl')
  assert.ok(bad('vfio-sim: 1\nname: x\nsteps: [{ ioctl: VFIO_GET_API_VERSION }]').length > 0, 'missing fd')
  assert.ok(bad('vfio-sim: 2\nname: x\nsteps: []').length > 0, 'version')
  assert.ok(bad('vfio-sim: 1\nname: x\nboard: nope\nsteps: []').length > 0, 'board')
  assert.ok(bad('vfio-sim: 1\nname: x\nprofile: [rfc-v5, linux]\nsteps: []').length > 0, 'profile')
  assert.ok(bad('vfio-sim: 1\nname: x\niommu: { skipTlb: true }\nsteps: []').length > 0, 'iommu option')
  assert.equal(bad('vfio-sim: 1\nname: x\nsteps: [{ open: /dev/null, flags: [O_RDWR], as: fd }]'), [])
})

test.run()
