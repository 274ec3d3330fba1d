/**
 * Values in scenario files: numbers (`4096`, `0x1000`, `4K`, `1MiB`),
 * durations (`10us`, `2ms`), names captured by earlier steps (`$buf`,
 * `$region.offset`), small sums (`$iova + 0x1000`) and `${name}`
 * interpolation inside text (`/sys/bus/platform/devices/${dev}/driver`).
 */
import type { Pos } from './errors.ts'
import type { PNode } from './yaml.ts'

/** What a name can hold. */
export type Value = number | bigint | string | boolean | Uint8Array | readonly Value[] | { readonly [k: string]: Value }

/** Names defined so far (captures, parameters). */
export type Env = Map<string, Value>

/** A failure inside a step, pointing at the node that caused it. */
export class StepError extends Error {
  readonly pos: Pos
  constructor(pos: Pos, message: string) {
    super(message)
    this.name = 'StepError'
    this.pos = pos
  }
}

const SIZE_RE = /^(\d+)\s*(K|KiB|M|MiB|G|GiB)$/
const SIZE_MUL: Readonly<Record<string, number>> = { K: 1024, KiB: 1024, M: 1024 ** 2, MiB: 1024 ** 2, G: 1024 ** 3, GiB: 1024 ** 3 }

/** A numeric literal as text: decimal, 0x hex, 0o octal, 0b binary (with optional `_`), or a size (4K). Undefined if not one. */
export function parseNumberText(text: string): number | bigint | undefined {
  const t = text.trim().replace(/_/g, '')
  let m: RegExpExecArray | null
  if (/^-?\d+$/.test(t)) return toNum(BigInt(t))
  if (/^0x[0-9a-f]+$/i.test(t) || /^0o[0-7]+$/i.test(t) || /^0b[01]+$/i.test(t)) return toNum(BigInt(t))
  if ((m = SIZE_RE.exec(t)) !== null) return Number(m[1]) * SIZE_MUL[m[2]!]!
  return undefined
}

/** A bigint as a number when it fits exactly. */
export function toNum(b: bigint): number | bigint {
  return b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b
}

const DUR_RE = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)$/
const DUR_MUL: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }

/** A duration (`250ns`, `10us`, `1.5ms`, `2s`, or a bare number of ns) in ns; undefined if not one. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  if (typeof v !== 'string') return undefined
  const m = DUR_RE.exec(v.trim())
  if (m === null) return undefined
  return Math.round(Number(m[1]) * DUR_MUL[m[2]!]!)
}

const REF_RE = /^\$(?:\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\}|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))$/

/** Looks up `a.b.c` in the environment. */
export function lookup(env: Env, path: string, pos: Pos): Value {
  const [head, ...rest] = path.split('.')
  if (!env.has(head!)) {
    const known = [...env.keys()].filter(k => !k.startsWith('__')).sort()
    throw new StepError(pos, `unknown name $${head}; defined so far: ${known.length > 0 ? known.map(k => '$' + k).join(', ') : '(none)'}`)
  }
  let v: Value = env.get(head!)!
  for (const f of rest) {
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array || Array.isArray(v) || !Object.hasOwn(v, f)) {
      throw new StepError(pos, `$${path}: ${describe(v)} has no field '${f}'`)
    }
    v = (v as Record<string, Value>)[f]!
  }
  return v
}

function describe(v: Value): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return `a struct (fields ${Object.keys(v).join(', ')})`
  return `${typeof v} ${String(v)}`
}

/** True if the text is an expression (starts with `$`). */
export function isExpr(text: string): boolean {
  return text.trimStart().startsWith('$')
}

/** Evaluates `$a + 0x10 - $b.c` (names and numbers joined by + and -). */
export function evalExpr(text: string, env: Env, pos: Pos): Value {
  const parts = text.trim().split(/\s*([+-])\s*/)
  const term = (t: string): Value => {
    const m = REF_RE.exec(t)
    if (m !== null) return lookup(env, (m[1] ?? m[2])!, pos)
    if (t.startsWith('$')) throw new StepError(pos, `in '${text}': '${t}' is not a valid $name`)
    const n = parseNumberText(t)
    if (n === undefined) throw new StepError(pos, `in '${text}': expected a $name or a number, found '${t}'`)
    return n
  }
  let acc = term(parts[0]!)
  if (parts.length === 1) return acc
  for (let i = 1; i < parts.length; i += 2) {
    const rhs = term(parts[i + 1] ?? '')
    const a = asBig(acc, pos, text)
    const b = asBig(rhs, pos, text)
    acc = toNum(parts[i] === '+' ? a + b : a - b)
  }
  return acc
}

function asBig(v: Value, pos: Pos, text: string): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  if (typeof v === 'bigint') return v
  throw new StepError(pos, `in '${text}': ${describe(v)} is not an integer`)
}

/** Replaces each `${name}` (and `$name` followed by a non-word character) in text. */
export function interpolate(text: string, env: Env, pos: Pos): string {
  return text.replace(/\$\{([A-Za-z_][\w.-]*)\}/g, (_, name: string) => show(lookup(env, name, pos)))
}

/** The text form of a value inside an interpolated string (numbers in decimal, as a shell would print). */
export function show(v: Value): string {
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (v instanceof Uint8Array) return hexBytes(v)
  return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))
}

/** `de ad be ef` */
export function hexBytes(b: Uint8Array): string {
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join(' ')
}

/** Evaluates any node: scalars (numbers, expressions, text), lists and maps. */
export function evalNode(n: PNode, env: Env): Value {
  if (n.kind === 'scalar') {
    const v = n.value
    if (typeof v === 'string') {
      if (isExpr(v)) return evalExpr(v, env, n.pos)
      if (!n.quoted) {
        const num = parseNumberText(v)
        if (num !== undefined) return num
      }
      return interpolate(v, env, n.pos)
    }
    if (v === null) return 0
    return v
  }
  if (n.kind === 'seq') return n.items.map(i => evalNode(i, env))
  const o: Record<string, Value> = {}
  for (const e of n.entries) o[e.key] = evalNode(e.value, env)
  return o
}

/** Evaluates a node that must be an integer. */
export function evalInt(n: PNode, env: Env, what: string): number | bigint {
  const v = evalNode(n, env)
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'bigint') return v
  throw new StepError(n.pos, `${what}: expected an integer, got ${describe(v)}`)
}

/** Evaluates a node that must be a safe integer (addresses, lengths, fds). */
export function evalSmall(n: PNode, env: Env, what: string): number {
  const v = evalInt(n, env, what)
  if (typeof v === 'bigint') throw new StepError(n.pos, `${what}: ${v} is too large here`)
  return v
}

/** Evaluates a node that must be text. */
export function evalText(n: PNode, env: Env, what: string): string {
  const v = evalNode(n, env)
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint') return n.kind === 'scalar' && typeof n.value === 'string' && !isExpr(n.value) ? n.value : v.toString()
  throw new StepError(n.pos, `${what}: expected text, got ${describe(v)}`)
}
