/**
 * Checking a step's outcome against its `expect:`. An outcome is what the
 * step observed: success or an errno, a main value, and named facets
 * (`out`, `ret`, struct fields, register fields, `u64`, …). `expect:` is a
 * scalar (compared with the main value, or an errno name) or a map of facets.
 */
import { flagNames, type FlagTable } from '@vfio-sim/uapi'
import { evalNode, evalText, hexBytes, parseNumberText, StepError, type Env, type Value } from './values.ts'
import type { PNode } from './yaml.ts'

/** What one step observed. */
export interface Outcome {
  /** Errno name when the call failed. */
  readonly errno?: string | undefined
  /** The failing system call (for messages). */
  readonly syscall?: string | undefined
  /** The main value (`expect: X` compares with it). */
  readonly value: Value
  /** Named facets `expect: {name: X}` compares with. */
  readonly facets: Readonly<Record<string, Value>>
  /** Flag tables of facets whose values may be written as flag names. */
  readonly flagTables?: Readonly<Record<string, FlagTable>>
  /** Passing without an expect needs this true (default: no errno). */
  readonly okByDefault?: boolean
  /** What `as:` stores (default: `value`). */
  readonly captured?: Value
  /** The message when the step did not succeed without an expect (okByDefault false). */
  readonly notFound?: string
  /** Scalars `expect:` may be besides values: `absent`, `different`… → facet check. */
  readonly words?: Readonly<Record<string, (o: Outcome) => Mismatch | undefined>>
}

/** Why an expectation failed. */
export interface Mismatch {
  readonly message: string
  readonly expected: string
  readonly actual: string
}

/** Human form of a value: integers in hex and decimal, bytes as hex, text quoted. */
export function fmt(v: Value | undefined): string {
  if (v === undefined) return '(nothing)'
  if (typeof v === 'number' && Number.isInteger(v)) return v >= 10 || v < 0 ? `${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)} (${v})` : String(v)
  if (typeof v === 'bigint') return `0x${v.toString(16)} (${v})`
  if (typeof v === 'string') return JSON.stringify(v)
  if (v instanceof Uint8Array) return v.length > 64 ? `${hexBytes(v.subarray(0, 64))} … (${v.length} bytes)` : `${hexBytes(v)}`
  if (Array.isArray(v)) return `[${v.map(x => fmt(x as Value)).join(', ')}]`
  if (typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${fmt(x)}`).join(', ')} }`
  return String(v)
}

function asBig(v: Value): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  if (typeof v === 'bigint') return v
  if (typeof v === 'boolean') return undefined
  if (typeof v === 'string') {
    const n = parseNumberText(v)
    return n === undefined ? undefined : BigInt(n)
  }
  return undefined
}

function parseHexBytes(s: string): Uint8Array | undefined {
  const t = s.replace(/[\s_:]/g, '')
  if (!/^([0-9a-f]{2})*$/i.test(t)) return undefined
  return Uint8Array.from(t.match(/../g) ?? [], h => parseInt(h, 16))
}

/** Compares an expected value (as written) with an actual one. */
export function same(expected: Value, actual: Value, flags?: FlagTable): boolean {
  if (flags !== undefined && (Array.isArray(expected) || (typeof expected === 'string' && Object.hasOwn(flags, expected))) && (typeof actual === 'number' || typeof actual === 'bigint')) {
    const list = Array.isArray(expected) ? expected : [expected]
    let bits = 0
    for (const x of list) {
      if (typeof x === 'string' && Object.hasOwn(flags, x)) bits |= flags[x]!
      else if (typeof x === 'number') bits |= x
      else return false
    }
    return BigInt(bits >>> 0) === BigInt(actual)
  }
  if (actual instanceof Uint8Array) {
    let exp: Uint8Array | undefined
    if (expected instanceof Uint8Array) exp = expected
    else if (typeof expected === 'string') exp = parseHexBytes(expected)
    else if (Array.isArray(expected) && expected.every(x => typeof x === 'number')) exp = Uint8Array.from(expected as number[])
    return exp !== undefined && exp.length === actual.length && exp.every((b, i) => b === actual[i])
  }
  const a = asBig(actual)
  const e = asBig(expected)
  if (a !== undefined && e !== undefined && typeof actual !== 'string') return a === e
  if (Array.isArray(expected) && Array.isArray(actual)) return expected.length === actual.length && expected.every((x, i) => same(x as Value, actual[i] as Value))
  if (typeof expected === 'object' && typeof actual === 'object' && !Array.isArray(expected) && !(expected instanceof Uint8Array)) {
    return Object.entries(expected).every(([k, x]) => Object.hasOwn(actual, k) && same(x, (actual as Record<string, Value>)[k]!))
  }
  return expected === actual || (typeof expected !== 'object' && String(expected) === String(actual))
}

function showWithFlags(v: Value, flags: FlagTable | undefined): string {
  if (flags !== undefined && typeof v === 'number') return `${fmt(v)} [${flagNames(flags, v).join(', ')}]`
  return fmt(v)
}

const ERRNO_RE = /^E[A-Z0-9]+$/

/** Keys whose expected value is taken as written (text), never as a number. */
const TEXT_FACETS = new Set(['out', 'text', 'bytes', 'line', 'sha256'])

/** Checks an outcome against `expect` (undefined: the default, success). */
export function check(o: Outcome, expect: PNode | undefined, env: Env): Mismatch | undefined {
  const failed = o.errno !== undefined
  const errnoText = (): string => `-1 ${o.errno}${o.syscall === undefined ? '' : ` from ${o.syscall}`}`
  if (expect === undefined) {
    if (failed) return { message: `unexpected error ${o.errno}${o.syscall === undefined ? '' : ` from ${o.syscall}()`}`, expected: 'success', actual: errnoText() }
    if (o.okByDefault === false) return { message: o.notFound ?? 'the step did not succeed', expected: 'success', actual: fmt(o.value) }
    return undefined
  }
  if ((expect as { any?: boolean }).any === true) return undefined
  if (expect.kind === 'scalar' && typeof expect.value === 'string' && !expect.quoted) {
    const w = expect.value
    if (o.words !== undefined && Object.hasOwn(o.words, w)) {
      if (failed) return { message: `unexpected error ${o.errno}`, expected: w, actual: errnoText() }
      return o.words[w]!(o)
    }
    if (ERRNO_RE.test(w)) {
      if (o.errno === w) return undefined
      return { message: failed ? `wrong errno` : `expected the call to fail with ${w}, but it succeeded`, expected: `-1 ${w}`, actual: failed ? errnoText() : fmt(o.value) }
    }
  }
  if (expect.kind !== 'map') {
    if (failed) return { message: `unexpected error ${o.errno}`, expected: fmtNode(expect, env), actual: errnoText() }
    const e = evalExpected(expect, env, 'value')
    if (!same(e, o.value)) return { message: 'value differs', expected: fmt(e), actual: fmt(o.value) }
    return undefined
  }
  const errnoN = expect.entries.find(x => x.key === 'errno')
  if (errnoN !== undefined) {
    const want = String((errnoN.value as { value?: unknown }).value)
    if (o.errno !== want) return { message: failed ? 'wrong errno' : `expected the call to fail with ${want}, but it succeeded`, expected: `-1 ${want}`, actual: failed ? errnoText() : fmt(o.value) }
  } else if (failed) {
    return { message: `unexpected error ${o.errno}${o.syscall === undefined ? '' : ` from ${o.syscall}()`}`, expected: fmtNode(expect, env), actual: errnoText() }
  }
  for (const e of expect.entries) {
    if (e.key === 'errno') continue
    if (e.key === 'match' || e.key === 'out-match') {
      const re = new RegExp(evalText(e.value, env, e.key), 'm')
      const subject = e.key === 'match' && typeof o.value === 'string' ? o.value : String(o.facets['out'] ?? o.value)
      const hit = re.exec(subject)
      if (hit === null) return { message: `no match for /${re.source}/`, expected: `/${re.source}/`, actual: fmt(subject) }
      // Named groups become names for later steps: (?<group>\d+) → $group.
      for (const [k, v] of Object.entries(hit.groups ?? {})) if (v !== undefined) env.set(k, parseNumberText(v) ?? v)
      continue
    }
    if (!Object.hasOwn(o.facets, e.key)) {
      if (failed) continue
      throw new StepError(e.keyPos, `this step has no '${e.key}' to check; it observes: ${Object.keys(o.facets).join(', ') || '(only errno)'}`)
    }
    const actual = o.facets[e.key]!
    const expected = TEXT_FACETS.has(e.key) ? evalText(e.value, env, e.key) : evalExpected(e.value, env, e.key)
    const flags = o.flagTables?.[e.key]
    if (!same(expected, actual, flags)) return { message: `${e.key} differs`, expected: showExpected(expected), actual: showWithFlags(actual, flags) }
  }
  return undefined
}

function showExpected(v: Value): string {
  if (Array.isArray(v) && v.every(x => typeof x === 'string')) return `[${v.join(', ')}]`
  return fmt(v)
}

function evalExpected(n: PNode, env: Env, _what: string): Value {
  return evalNode(n, env)
}

function fmtNode(n: PNode, env: Env): string {
  try {
    return fmt(evalNode(n, env))
  } catch {
    return '(see file)'
  }
}
