/**
 * Loads YAML into a small tree of plain nodes that keep their position
 * (file, line, column), so every later message can point at the exact
 * token. Built on the `yaml` package's document API and LineCounter.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isAlias, type Node as YNode, type ParsedNode } from 'yaml'
import { ScenarioSyntaxError, type Pos } from './errors.ts'

/** A YAML value with its position. */
export type PNode = PScalar | PMap | PSeq

/** A scalar: string, number, boolean or null. */
export interface PScalar {
  readonly kind: 'scalar'
  readonly value: string | number | boolean | null
  /** True when the source wrote it quoted or as a block (a string even if it looks like a number). */
  readonly quoted: boolean
  /** For a block scalar (`|`, `>`): the number of spaces its content lines are indented by. */
  readonly blockIndent?: number
  readonly pos: Pos
}

/** One `key: value` entry of a map. */
export interface PEntry {
  readonly key: string
  readonly keyPos: Pos
  readonly value: PNode
}

/** A mapping, entries in source order. */
export interface PMap {
  readonly kind: 'map'
  readonly entries: readonly PEntry[]
  readonly pos: Pos
}

/** A sequence. */
export interface PSeq {
  readonly kind: 'seq'
  readonly items: readonly PNode[]
  readonly pos: Pos
}

/** The entry of `m` named `key`, or undefined. */
export function entry(m: PMap, key: string): PEntry | undefined {
  return m.entries.find(e => e.key === key)
}

/** The value of `m[key]`, or undefined. */
export function get(m: PMap, key: string): PNode | undefined {
  return entry(m, key)?.value
}

/** Parses YAML text; syntax errors and duplicate keys become ScenarioSyntaxError. */
export function loadYaml(text: string, file: string): PNode {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: false })
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset)
    return { file, line: p.line, col: p.col }
  }
  const err = doc.errors[0]
  if (err !== undefined) {
    const p = at(err.pos[0])
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
    throw new ScenarioSyntaxError(file, p.line, p.col, `YAML: ${msg}`)
  }
  if (doc.contents === null) throw new ScenarioSyntaxError(file, 1, 1, 'empty file: expected a scenario map (vfio-sim: 1, name:, steps:)')
  const conv = (n: YNode | ParsedNode | null, fallback: number): PNode => {
    if (n === null || n === undefined) return { kind: 'scalar', value: null, quoted: false, pos: at(fallback) }
    const start = n.range?.[0] ?? fallback
    if (isAlias(n)) {
      const p = at(start)
      throw new ScenarioSyntaxError(file, p.line, p.col, 'YAML aliases (*name) are not supported in scenarios: use groups (define:/call:) to reuse steps')
    }
    if (isMap(n)) {
      const entries: PEntry[] = []
      for (const item of n.items) {
        const k = item.key as YNode | null
        const kStart = k?.range?.[0] ?? start
        if (!isScalar(k)) {
          const p = at(kStart)
          throw new ScenarioSyntaxError(file, p.line, p.col, 'expected a plain key (a word), found a complex key')
        }
        entries.push({ key: String(k.value), keyPos: at(kStart), value: conv(item.value as YNode | null, k.range?.[2] ?? kStart) })
      }
      return { kind: 'map', entries, pos: at(start) }
    }
    if (isSeq(n)) return { kind: 'seq', items: n.items.map(i => conv(i as YNode | null, start)), pos: at(start) }
    if (isScalar(n)) {
      let v = n.value
      if (typeof v === 'bigint') v = Number(v)
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') v = String(v)
      const quoted = n.type !== undefined && n.type !== 'PLAIN'
      const block = n.type === 'BLOCK_LITERAL' || n.type === 'BLOCK_FOLDED'
      if (block) {
        // The first non-blank line after the indicator fixes the indentation.
        const lines = text.slice(start).split('\n').slice(1)
        const first = lines.find(l => l.trim() !== '') ?? ''
        const blockIndent = first.length - first.trimStart().length
        return { kind: 'scalar', value: v as PScalar['value'], quoted, blockIndent, pos: at(start) }
      }
      return { kind: 'scalar', value: v as PScalar['value'], quoted, pos: at(start) }
    }
    const p = at(start)
    throw new ScenarioSyntaxError(file, p.line, p.col, 'unsupported YAML node')
  }
  return conv(doc.contents as YNode, 0)
}
