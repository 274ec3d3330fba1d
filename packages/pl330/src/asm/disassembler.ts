// Disassembler: bytes → listing whose text the assembler accepts back and
// re-assembles to the same bytes.
// Loops are shown the way they are written (DMALP ... DMALPEND, DMALPFE ...
// DMALPEND) when the jumps pair up the way the assembler would pair them;
// otherwise DMALPEND is printed with its raw jump (`DMALPEND LC0, -6`).
// Bytes that are not an instruction are printed as `.byte` with the
// decoder's reason as comment. Never throws.

import type { DmaLpend, Instr } from '../isa/types.ts'
import { decode } from '../isa/decode.ts'
import { formatInstr, formatBytes, hex32 } from './format.ts'
import { tryAssemble } from './assembler.ts'
import type { ListingLine } from './listing.ts'

/** Disassembler options. */
export interface DisasmOptions {
  /** Bus address of the first byte (for the address column and jump comments). Default 0. */
  readonly base?: number
}

interface Entry {
  readonly offset: number
  readonly length: number
  readonly instr: Instr | null
  readonly reason: string
}

function sweep(bytes: Uint8Array): Entry[] {
  const out: Entry[] = []
  let o = 0
  while (o < bytes.length) {
    const r = decode(bytes, o)
    if (r.op === 'error') {
      const len = Math.min(r.fault === 'truncated' ? bytes.length - o : r.length, bytes.length - o)
      out.push({ offset: o, length: len, instr: null, reason: r.reason })
      o += len
    } else {
      out.push({ offset: o, length: r.length, instr: r, reason: '' })
      o += r.length
    }
  }
  return out
}

/**
 * Decide which DMALPENDs can be printed structurally: simulate the
 * assembler's loop stack. DMALPFE candidates (forever loops whose target is
 * an instruction boundary) that do not nest are dropped and the simulation
 * repeated. Returns the set of structural DMALPEND offsets and the DMALPFE
 * marker offsets.
 */
function pairLoops(entries: readonly Entry[]): { structural: Set<number>; feAt: Map<number, number[]> } {
  const boundaries = new Set(entries.map((e) => e.offset))
  const fe = new Map<number, number>() // lpend offset -> target
  for (const e of entries) {
    const i = e.instr
    if (i?.op === 'DMALPEND' && i.forever && boundaries.has(e.offset - i.jump)) fe.set(e.offset, e.offset - i.jump)
  }
  for (;;) {
    const feAt = new Map<number, number[]>()
    for (const [end, target] of fe) {
      const list = feAt.get(target) ?? []
      list.push(end)
      feAt.set(target, list)
    }
    for (const list of feAt.values()) list.sort((a, b) => b - a) // outer (later end) first
    const structural = new Set<number>()
    const failed: number[] = []
    type Open = { kind: 'lp'; lc: number; bodyStart: number } | { kind: 'fe'; end: number }
    const stack: Open[] = []
    for (const e of entries) {
      for (const end of feAt.get(e.offset) ?? []) stack.push({ kind: 'fe', end })
      const i = e.instr
      if (i?.op === 'DMALP') stack.push({ kind: 'lp', lc: i.lc, bodyStart: e.offset + 2 })
      else if (i?.op === 'DMALPEND') {
        const top = stack[stack.length - 1]
        if (!i.forever) {
          if (top?.kind === 'lp' && top.lc === i.lc && top.bodyStart === e.offset - i.jump) { stack.pop(); structural.add(e.offset) }
        } else if (fe.has(e.offset)) {
          if (top?.kind === 'fe' && top.end === e.offset) { stack.pop(); structural.add(e.offset) } else failed.push(e.offset)
        }
      }
    }
    if (failed.length === 0) return { structural, feAt }
    for (const f of failed) fe.delete(f)
  }
}

function render(bytes: Uint8Array, entries: readonly Entry[], base: number, structured: boolean): ListingLine[] {
  const { structural, feAt } = structured ? pairLoops(entries) : { structural: new Set<number>(), feAt: new Map<number, number[]>() }
  const lines: ListingLine[] = []
  const empty = new Uint8Array(0)
  for (const e of entries) {
    const address = (base + e.offset) >>> 0
    for (const _ of feAt.get(e.offset) ?? []) lines.push({ offset: e.offset, address, bytes: empty, text: 'DMALPFE', comment: '' })
    const b = bytes.subarray(e.offset, e.offset + e.length)
    const i = e.instr
    if (i === null) {
      lines.push({ offset: e.offset, address, bytes: b, text: formatBytes(b), comment: e.reason })
      continue
    }
    let comment = ''
    if (i.op === 'DMALPEND') comment = `-> ${hex32(base + e.offset - (i as DmaLpend).jump)}`
    else if (i.op === 'DMAMOV' && i.reg === 'CCR') comment = hex32(i.imm)
    const style = i.op === 'DMALPEND' && structural.has(e.offset) ? 'structural' : 'explicit'
    lines.push({ offset: e.offset, address, bytes: b, text: formatInstr(i, style), comment })
  }
  return lines
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  return true
}

/**
 * Disassemble a whole buffer. Each line has offset, address, bytes, text
 * (assembler syntax) and a comment. The text of all lines, assembled with
 * the same base, gives back exactly `bytes`.
 */
export function disassemble(bytes: Uint8Array, options: DisasmOptions = {}): ListingLine[] {
  const base = options.base ?? 0
  const entries = sweep(bytes)
  const lines = render(bytes, entries, base, true)
  // Belt and braces: if the structured text would not reassemble to the
  // same bytes, fall back to explicit jumps everywhere.
  const back = tryAssemble(lines.map((l) => l.text).join('\n'), { base })
  if (back.ok && sameBytes(back.program.bytes, bytes)) return lines
  return render(bytes, entries, base, false)
}

/** Disassemble to assembler source text (one statement per line, comments after `;`). */
export function disassembleToText(bytes: Uint8Array, options: DisasmOptions = {}): string {
  return disassemble(bytes, options).map((l) => (l.comment ? `${l.text.padEnd(36)} ; ${l.comment}` : l.text)).join('\n') + '\n'
}
