/**
 * The JSON Schema of scenario files, generated from the step table so it
 * cannot drift from the parser. Shipped as packages/scenario/scenario.schema.json
 * (a test checks the file equals this); point an editor's YAML support at it:
 *   # yaml-language-server: $schema=../packages/scenario/scenario.schema.json
 */
import { boardNames } from '@vfio-sim/machine'
import { ACTIONS, TOP_KEYS } from './steps.ts'
import { IOCTLS } from './ioctls.ts'

type Json = { readonly [k: string]: unknown }

/** The schema object. */
export function scenarioSchema(): Json {
  const any: Json = {}
  const strOrList = (e?: readonly string[]): Json => (e === undefined
    ? { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }
    : { anyOf: [{ enum: e }, { type: 'array', items: { enum: e } }] })
  const common: Record<string, Json> = {
    title: { type: 'string', description: 'what the step does, shown in reports' },
    as: { type: 'string', pattern: '^[A-Za-z_]\\w*$', description: 'capture the result as $name' },
    expect: { description: 'a value, an errno name (EINVAL), or a map: errno, ret, out, match, struct fields…' },
    when: { type: 'object', properties: { board: strOrList(boardNames()), profile: strOrList(['rfc-v5', 'upstream']) }, additionalProperties: false },
    proc: { type: 'string', description: 'run as the process spawned under this name' },
  }
  const steps = Object.entries(ACTIONS).map(([name, spec]) => {
    const props: Record<string, Json> = { ...common }
    props[name] = name === 'ioctl' ? { enum: [...IOCTLS.keys()], description: spec.help } : { description: spec.help }
    for (const k of Object.keys(spec.keys)) props[k] = any
    const required = [name, ...Object.entries(spec.keys).filter(([, r]) => r).map(([k]) => k)]
    return { type: 'object', title: name, description: spec.help, properties: props, required, additionalProperties: false }
  })
  const stepList = { type: 'array', items: { $ref: '#/$defs/step' } }
  const variant = { type: 'object', properties: { board: { enum: boardNames() }, profile: { enum: ['rfc-v5', 'upstream'] } }, additionalProperties: false }
  const top: Record<string, Json> = {}
  for (const [k, doc] of Object.entries(TOP_KEYS)) top[k] = { description: doc }
  top['vfio-sim'] = { const: 1, description: TOP_KEYS['vfio-sim'] }
  top['name'] = { type: 'string', description: TOP_KEYS['name'] }
  top['description'] = { type: 'string', description: TOP_KEYS['description'] }
  top['board'] = { ...strOrList(boardNames()), description: TOP_KEYS['board'] }
  top['profile'] = { ...strOrList(['rfc-v5', 'upstream']), description: TOP_KEYS['profile'] }
  top['variants'] = { type: 'array', items: variant, minItems: 1, description: TOP_KEYS['variants'] }
  top['iommu'] = {
    description: TOP_KEYS['iommu'],
    anyOf: [{ type: 'boolean' }, {
      type: 'object', additionalProperties: false,
      properties: { disableBypass: { type: 'boolean' }, skipTlbInvalidateOnUnmap: { type: 'boolean' }, softwareIovaToPhys: { type: 'boolean' }, defaultDomainType: { enum: ['DMA', 'IDENTITY'] } },
    }],
  }
  top['params'] = { type: 'object', description: TOP_KEYS['params'] }
  top['include'] = { ...strOrList(), description: TOP_KEYS['include'] }
  top['define'] = {
    type: 'object', description: TOP_KEYS['define'],
    additionalProperties: { type: 'object', properties: { params: { type: 'array', items: { type: 'string' } }, description: { type: 'string' }, steps: stepList }, required: ['steps'], additionalProperties: false },
  }
  top['steps'] = { ...stepList, description: TOP_KEYS['steps'] }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://vfio-sim.invalid/scenario.schema.json',
    title: 'vfio-sim scenario',
    description: 'A vfio-sim scenario file (docs/scenarios.md).',
    type: 'object',
    properties: top,
    required: ['vfio-sim', 'name'],
    additionalProperties: false,
    $defs: { step: { oneOf: steps } },
  }
}
