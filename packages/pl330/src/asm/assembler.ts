// A two-pass assembler for PL330 microcode in the ARM DMA-330 syntax.
//   pass 1: split lines, define labels, size every statement, pair
//           DMALP/DMALPFE with DMALPEND (all sizes are fixed, so loop jumps
//           are known here);
//   pass 2: resolve label/symbol operands and encode.
// Errors are collected (line and column, 1-based) instead of stopping at
// the first one. Syntax summary in decision 0452.

import type { Cond, Instr, LoopCounter, MovReg, PeriphCond, WfpReq } from '../isa/types.ts'
import { encodeInto } from '../isa/encode.ts'
import { encodeCcr, parseCcrItem, type CcrFields } from '../isa/ccr.ts'
import { formatInstr, formatBytes, hex32 } from './format.ts'
import type { ListingLine } from './listing.ts'

/** One assembler diagnostic: 1-based line and column of the offending token. */
export class AsmError extends Error {
  /** 1-based source line. */
  readonly line: number
  /** 1-based column of the token the message is about. */
  readonly column: number
  constructor(line: number, column: number, message: string) {
    super(message)
    this.name = 'AsmError'
    this.line = line
    this.column = column
  }
  /** `line:column: message`. */
  override toString(): string {
    return `${this.line}:${this.column}: ${this.message}`
  }
}

/** Thrown by {@link assemble}: every error found in the source. */
export class AsmErrors extends Error {
  /** All errors, in source order. */
  readonly errors: readonly AsmError[]
  constructor(errors: readonly AsmError[]) {
    super(errors.map((e) => e.toString()).join('\n'))
    this.name = 'AsmErrors'
    this.errors = errors
  }
}

/** Assembler options. */
export interface AsmOptions {
  /** Bus address of the first byte; label values used as DMAMOV/DMAGO operands are base + offset. Default 0. */
  readonly base?: number
  /** Named constants usable wherever a number is (e.g. `{ SRC: 0x80000000 }`). Case-sensitive. */
  readonly symbols?: Readonly<Record<string, number>>
}

/** An assembled program. */
export interface AsmProgram {
  /** The microcode. */
  readonly bytes: Uint8Array
  /** One line per statement, with canonical text. */
  readonly listing: readonly ListingLine[]
  /** Label → offset from the start of the program. */
  readonly labels: ReadonlyMap<string, number>
  /** Legal but suspicious constructs (unclosed DMALP, reused loop counter). */
  readonly warnings: readonly AsmError[]
}

/** Result of {@link tryAssemble}. */
export type AsmResult =
  | { readonly ok: true; readonly program: AsmProgram }
  | { readonly ok: false; readonly errors: readonly AsmError[]; readonly warnings: readonly AsmError[] }

interface Token { readonly text: string; readonly col: number }

/** A statement after pass 1: its place and a function that yields its bytes in pass 2. */
interface Item {
  readonly offset: number
  readonly length: number
  readonly line: number
  /** Returns the instruction (or raw bytes), or null after reporting an error. */
  readonly finish: () => Instr | Uint8Array | null
  /** Listing text when it cannot be derived from the instruction (DMALPFE, labels). */
  readonly fixedText?: string
  /** How to print a DMALPEND. */
  readonly lpendStyle?: 'structural' | 'explicit'
}

type Loop =
  | { readonly kind: 'lp'; readonly lc: LoopCounter; readonly bodyStart: number; readonly tok: Token; readonly line: number }
  | { readonly kind: 'fe'; readonly bodyStart: number; readonly tok: Token; readonly line: number }

const LABEL_RE = /^[A-Za-z_.$][\w.$]*$/

/** Remove a comment: `;` or `//` anywhere, `#` unless it prefixes a number. */
function stripComment(s: string): string {
  for (let k = 0; k < s.length; k++) {
    const c = s[k]
    if (c === ';') return s.slice(0, k)
    if (c === '/' && s[k + 1] === '/') return s.slice(0, k)
    if (c === '#' && !/[0-9+-]/.test(s[k + 1] ?? '')) return s.slice(0, k)
  }
  return s
}

function tokenize(s: string): Token[] {
  const out: Token[] = []
  const re = /[^\s,]+/g
  let m: RegExpExecArray | null
  while ((m = re.exec(s)) !== null) out.push({ text: m[0], col: m.index + 1 })
  return out
}

/** Parse a number: optional '#', optional sign, decimal / 0x hex / 0b binary, '_' separators. */
export function parseNumber(text: string): number | null {
  let t = text.startsWith('#') ? text.slice(1) : text
  let sign = 1
  if (t.startsWith('-')) { sign = -1; t = t.slice(1) } else if (t.startsWith('+')) t = t.slice(1)
  t = t.replace(/_/g, '')
  let v: number
  if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16)
  else if (/^0b[01]+$/i.test(t)) v = parseInt(t.slice(2), 2)
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10)
  else return null
  return sign * v
}

/** Assemble and return the program or every error; never throws on bad source. */
export function tryAssemble(source: string, options: AsmOptions = {}): AsmResult {
  const base = options.base ?? 0
  const symbols = options.symbols ?? {}
  const errors: AsmError[] = []
  const warnings: AsmError[] = []
  const labels = new Map<string, number>()
  const labelLines = new Map<string, number>()
  const items: Item[] = []
  const loops: Loop[] = []
  let offset = 0
  let lineNo = 0

  const err = (col: number, msg: string): null => { errors.push(new AsmError(lineNo, col, msg)); return null }

  // A numeric operand in [lo, hi]; `prefix` (P, C, E) may precede it.
  const num = (tok: Token, lo: number, hi: number, what: string, prefix = ''): number | null => {
    const t = tok.text
    const stripped = prefix && t.length > 1 && t[0]!.toUpperCase() === prefix ? t.slice(1) : null
    const v = Object.hasOwn(symbols, t) ? symbols[t]! : (parseNumber(t) ?? (stripped === null ? null : parseNumber(stripped)))
    if (v === null) return err(tok.col, `${what}: expected a number, got '${tok.text}'`)
    if (!Number.isInteger(v) || v < lo || v > hi) return err(tok.col, `${what} ${v} out of range ${lo}..${hi}`)
    return v
  }

  // A 32-bit value that may name a label or symbol: resolved in pass 2.
  const value32 = (tok: Token, line: number): (() => number | null) => {
    const n = parseNumber(tok.text)
    if (n !== null) {
      if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) { err(tok.col, `value ${tok.text} does not fit in 32 bits`); return () => null }
      return () => n >>> 0
    }
    if (!LABEL_RE.test(tok.text)) { err(tok.col, `expected a number, label or symbol, got '${tok.text}'`); return () => null }
    return () => {
      if (Object.hasOwn(symbols, tok.text)) return symbols[tok.text]! >>> 0
      const off = labels.get(tok.text)
      if (off === undefined) { errors.push(new AsmError(line, tok.col, `undefined label or symbol '${tok.text}'`)); return null }
      return (base + off) >>> 0
    }
  }

  const counterOf = (tok: Token): LoopCounter | null => {
    const m = /^LC([01])$/i.exec(tok.text)
    return m ? (Number(m[1]) as LoopCounter) : null
  }

  const lines = source.split(/\r?\n/)
  for (const raw of lines) {
    lineNo++
    const toks = tokenize(stripComment(raw))
    // Labels: leading tokens ending in ':'.
    while (toks.length > 0 && toks[0]!.text.endsWith(':')) {
      const t = toks.shift()!
      const name = t.text.slice(0, -1)
      if (!LABEL_RE.test(name)) { err(t.col, `invalid label name '${name}'`); continue }
      if (labels.has(name)) { err(t.col, `label '${name}' already defined on line ${labelLines.get(name)}`); continue }
      labels.set(name, offset)
      labelLines.set(name, lineNo)
      items.push({ offset, length: 0, line: lineNo, finish: () => new Uint8Array(0), fixedText: `${name}:` })
    }
    if (toks.length === 0) continue
    const mn = toks[0]!
    const ops = toks.slice(1)
    const name = mn.text.toUpperCase()
    const line = lineNo
    const here = offset

    const arity = (min: number, max: number, usage: string): boolean => {
      if (ops.length < min || ops.length > max) {
        const col = ops.length > max ? ops[max]!.col : mn.col
        err(col, `${name} takes ${usage}`)
        return false
      }
      return true
    }
    const emit = (length: number, finish: () => Instr | Uint8Array | null, extra: Partial<Pick<Item, 'fixedText' | 'lpendStyle'>> = {}): void => {
      items.push({ offset: here, length, line, finish, ...extra })
      offset += length
    }
    const fixed = (i: Instr): void => emit(i.length, () => i)

    // Mnemonic families with S/B suffixes.
    const condOf = (s: string): Cond => (s === 'S' ? 'single' : s === 'B' ? 'burst' : 'always')
    let m: RegExpExecArray | null

    if (name === '.BYTE' || name === 'DCB') {
      if (!arity(1, Infinity, 'one or more byte values')) continue
      const vals = ops.map((t) => num(t, 0, 255, 'byte'))
      if (vals.some((v) => v === null)) continue
      const b = Uint8Array.from(vals as number[])
      emit(b.length, () => b)
      continue
    }
    switch (name) {
      case 'DMAEND': case 'DMAKILL': case 'DMANOP': case 'DMARMB': case 'DMAWMB': case 'DMASTZ':
        if (arity(0, 0, 'no operands')) fixed({ op: name, length: 1 } as Instr)
        continue
      case 'DMAADDH': case 'DMAADNH': {
        if (!arity(2, 2, 'a register (SAR or DAR) and a 16-bit immediate')) continue
        const reg = ops[0]!.text.toUpperCase()
        if (reg !== 'SAR' && reg !== 'DAR') { err(ops[0]!.col, `${name} register must be SAR or DAR, got '${ops[0]!.text}'`); continue }
        let imm: number | null
        if (name === 'DMAADDH') imm = num(ops[1]!, 0, 0xffff, 'DMAADDH immediate')
        else {
          // DMAADNH adds a negative value -65536..-1; the field holds value + 65536.
          const v = num(ops[1]!, -65536, -1, 'DMAADNH immediate (a negative value to add)')
          imm = v === null ? null : v + 0x10000
        }
        if (imm !== null) fixed({ op: name, length: 3, reg, imm16: imm })
        continue
      }
      case 'DMAFLUSHP': {
        if (!arity(1, 1, 'a peripheral number')) continue
        const p = num(ops[0]!, 0, 31, 'peripheral', 'P')
        if (p !== null) fixed({ op: 'DMAFLUSHP', length: 2, periph: p })
        continue
      }
      case 'DMAGO': {
        if (!arity(2, 3, 'a channel, an address and optionally ns')) continue
        const ch = num(ops[0]!, 0, 7, 'channel', 'C')
        const addr = value32(ops[1]!, line)
        let ns = false
        if (ops[2]) {
          if (ops[2].text.toLowerCase() !== 'ns') { err(ops[2].col, `expected 'ns', got '${ops[2].text}'`); continue }
          ns = true
        }
        if (ch === null) continue
        emit(6, () => { const a = addr(); return a === null ? null : { op: 'DMAGO', length: 6, channel: ch, ns, addr: a } })
        continue
      }
      case 'DMALPFE':
        if (!arity(0, 0, 'no operands')) continue
        loops.push({ kind: 'fe', bodyStart: here, tok: mn, line })
        emit(0, () => new Uint8Array(0), { fixedText: 'DMALPFE' })
        continue
      case 'DMALP': {
        if (!arity(1, 2, 'an optional loop counter (LC0 or LC1) and an iteration count 1..256')) continue
        let lc: LoopCounter | null = null
        const held = new Set(loops.filter((l) => l.kind === 'lp').map((l) => (l as { lc: LoopCounter }).lc))
        if (ops.length === 2) {
          lc = counterOf(ops[0]!)
          if (lc === null) { err(ops[0]!.col, `loop counter must be LC0 or LC1, got '${ops[0]!.text}'`); continue }
          if (held.has(lc)) warnings.push(new AsmError(line, ops[0]!.col, `LC${lc} is already counting an enclosing loop`))
        } else {
          lc = !held.has(0) ? 0 : !held.has(1) ? 1 : null
          if (lc === null) { err(mn.col, 'both loop counters are in use by enclosing loops'); continue }
        }
        const it = num(ops[ops.length - 1]!, 1, 256, 'loop iterations')
        if (it === null) continue
        loops.push({ kind: 'lp', lc, bodyStart: here + 2, tok: mn, line })
        fixed({ op: 'DMALP', length: 2, lc, iterations: it })
        continue
      }
    }
    if ((m = /^DMA(LD|ST)([SB]?)$/.exec(name)) !== null) {
      if (arity(0, 0, 'no operands')) fixed({ op: m[1] === 'LD' ? 'DMALD' : 'DMAST', length: 1, cond: condOf(m[2]!) })
      continue
    }
    if ((m = /^DMA(LDP|STP)([SB])$/.exec(name)) !== null) {
      if (!arity(1, 1, 'a peripheral number')) continue
      const p = num(ops[0]!, 0, 31, 'peripheral', 'P')
      const cond: PeriphCond = m[2] === 'S' ? 'single' : 'burst'
      if (p !== null) fixed({ op: m[1] === 'LDP' ? 'DMALDP' : 'DMASTP', length: 2, cond, periph: p })
      continue
    }
    if ((m = /^DMALPEND([SB]?)$/.exec(name)) !== null) {
      if (!arity(0, 3, 'an optional loop counter, and for the explicit form a target and optionally forever')) continue
      const cond = condOf(m[1]!)
      let lc: LoopCounter | null = null
      let k = 0
      if (ops[0] && counterOf(ops[0]) !== null) { lc = counterOf(ops[0]); k = 1 }
      else if (ops.length >= 2) { err(ops[0]!.col, `loop counter must be LC0 or LC1, got '${ops[0]!.text}'`); continue }
      if (k < ops.length) {
        // Explicit form: DMALPEND[S|B] LCn, <label | -jump>[, forever]
        if (lc === null) { err(ops[0]!.col, 'the explicit DMALPEND form needs a loop counter first (LC0 or LC1)'); continue }
        const target = ops[k]!
        let forever = false
        if (ops[k + 1]) {
          if (ops[k + 1]!.text.toLowerCase() !== 'forever') { err(ops[k + 1]!.col, `expected 'forever', got '${ops[k + 1]!.text}'`); continue }
          forever = true
        }
        if (forever && lc === 0 && cond !== 'always') { err(mn.col, `${name} LC0 with forever would be opcode 0x${(0x28 | (cond === 'single' ? 1 : 3)).toString(16)} = DMASTP; use LC1`); continue }
        const lcv = lc
        let jump: () => number | null
        const n = parseNumber(target.text)
        if (n !== null) {
          if (!(Number.isInteger(n) && n <= 0 && n >= -255) || !target.text.replace('#', '').startsWith('-')) {
            err(target.col, `backwards jump must be written -0..-255, got '${target.text}'`); continue
          }
          jump = () => -n
        } else if (LABEL_RE.test(target.text)) {
          jump = () => {
            const off = labels.get(target.text)
            if (off === undefined) { errors.push(new AsmError(line, target.col, `undefined label '${target.text}'`)); return null }
            const j = here - off
            if (j < 0 || j > 255) { errors.push(new AsmError(line, target.col, `label '${target.text}' is ${j < 0 ? 'after this DMALPEND' : `${j} bytes back; at most 255`}`)); return null }
            return j
          }
        } else { err(target.col, `expected a label or -jump, got '${target.text}'`); continue }
        emit(2, () => { const j = jump(); return j === null ? null : { op: 'DMALPEND', length: 2, lc: lcv, cond, forever, jump: j } }, { lpendStyle: 'explicit' })
        continue
      }
      // Structural form: close the innermost open loop.
      const top = loops.pop()
      if (top === undefined) { err(mn.col, `${name} without an open DMALP or DMALPFE`); continue }
      const jump = here - top.bodyStart
      if (jump > 255) {
        err(mn.col, `loop body from line ${top.line} is ${jump} bytes; DMALPEND can jump back at most 255`)
        continue
      }
      if (top.kind === 'lp') {
        if (lc !== null && lc !== top.lc) { err(ops[0]!.col, `DMALPEND LC${lc} closes the loop opened on LC${top.lc} at line ${top.line}`); continue }
        fixed({ op: 'DMALPEND', length: 2, lc: top.lc, cond, forever: false, jump })
      } else {
        // DMALPFE loop: nf=0. The lc bit is free; LC0 unless conditional
        // (0x29/0x2B, the LC0 conditional forms, are DMASTP).
        const l: LoopCounter = lc ?? (cond === 'always' ? 0 : 1)
        if (l === 0 && cond !== 'always') { err(ops[0]!.col, `${name} LC0 closing a DMALPFE loop is not encodable (it would be DMASTP); use LC1`); continue }
        items.push({ offset: here, length: 2, line, finish: () => ({ op: 'DMALPEND', length: 2, lc: l, cond, forever: true, jump }), lpendStyle: 'structural' })
        offset += 2
      }
      continue
    }
    switch (name) {
      case 'DMAMOV': {
        if (ops.length < 2) { err(mn.col, 'DMAMOV takes a register (SAR, CCR, DAR) and a value'); continue }
        const reg = ops[0]!.text.toUpperCase()
        if (reg !== 'SAR' && reg !== 'CCR' && reg !== 'DAR') { err(ops[0]!.col, `DMAMOV register must be SAR, CCR or DAR, got '${ops[0]!.text}'`); continue }
        const r = reg as MovReg
        const first = ops[1]!
        if (r === 'CCR' && /^(SB|SS|SA|SP|SC|DB|DS|DA|DP|DC|ES)/i.test(first.text) && parseNumber(first.text) === null) {
          // Symbolic CCR: each item sets one field; the rest take defaults.
          let fields: Partial<CcrFields> = {}
          let ok = true
          const seen = new Set<string>()
          for (const t of ops.slice(1)) {
            const key = t.text.slice(0, 2).toUpperCase()
            if (seen.has(key)) { err(t.col, `CCR field ${key} given twice`); ok = false; continue }
            seen.add(key)
            const f = parseCcrItem(t.text)
            if (typeof f === 'string') { err(t.col, f); ok = false } else fields = { ...fields, ...f }
          }
          if (ok) fixed({ op: 'DMAMOV', length: 6, reg: 'CCR', imm: encodeCcr(fields) })
          continue
        }
        if (ops.length > 2) { err(ops[2]!.col, `DMAMOV ${r} takes one value`); continue }
        const v = value32(first, line)
        emit(6, () => { const x = v(); return x === null ? null : { op: 'DMAMOV', length: 6, reg: r, imm: x } })
        continue
      }
      case 'DMASEV': {
        if (!arity(1, 1, 'an event number')) continue
        const e = num(ops[0]!, 0, 31, 'event', 'E')
        if (e !== null) fixed({ op: 'DMASEV', length: 2, event: e })
        continue
      }
      case 'DMAWFE': {
        if (!arity(1, 2, 'an event number and optionally invalid')) continue
        const e = num(ops[0]!, 0, 31, 'event', 'E')
        let inv = false
        if (ops[1]) {
          if (ops[1].text.toLowerCase() !== 'invalid') { err(ops[1].col, `expected 'invalid', got '${ops[1].text}'`); continue }
          inv = true
        }
        if (e !== null) fixed({ op: 'DMAWFE', length: 2, event: e, invalidate: inv })
        continue
      }
      case 'DMAWFP': {
        if (!arity(2, 2, 'a peripheral number and single, burst or periph')) continue
        const p = num(ops[0]!, 0, 31, 'peripheral', 'P')
        const req = ops[1]!.text.toLowerCase()
        if (req !== 'single' && req !== 'burst' && req !== 'periph') { err(ops[1]!.col, `DMAWFP request type must be single, burst or periph, got '${ops[1]!.text}'`); continue }
        if (p !== null) fixed({ op: 'DMAWFP', length: 2, periph: p, req: req as WfpReq })
        continue
      }
    }
    err(mn.col, `unknown mnemonic '${mn.text}'`)
  }

  for (const l of loops) {
    if (l.kind === 'fe') errors.push(new AsmError(l.line, l.tok.col, 'DMALPFE without a closing DMALPEND'))
    else warnings.push(new AsmError(l.line, l.tok.col, `DMALP LC${l.lc} has no DMALPEND: the counter is set but nothing loops`))
  }
  if (base + offset > 0x100000000) errors.push(new AsmError(lineNo, 1, 'program runs past the end of the 32-bit address space'))

  // Pass 2: resolve and encode.
  const bytes = new Uint8Array(offset)
  const listing: ListingLine[] = []
  for (const it of items) {
    const r = it.finish()
    if (r === null) continue
    let text: string
    let b: Uint8Array
    if (r instanceof Uint8Array) {
      bytes.set(r, it.offset)
      b = r
      text = it.fixedText ?? formatBytes(r)
    } else {
      encodeInto(r, bytes, it.offset)
      b = bytes.subarray(it.offset, it.offset + r.length)
      text = formatInstr(r, it.lpendStyle ?? 'structural')
    }
    let comment = ''
    if (!(r instanceof Uint8Array) && r.op === 'DMALPEND') comment = `-> ${hex32(base + it.offset - r.jump)}`
    else if (!(r instanceof Uint8Array) && r.op === 'DMAMOV' && r.reg === 'CCR') comment = hex32(r.imm)
    listing.push({ offset: it.offset, address: (base + it.offset) >>> 0, bytes: b, text, comment })
  }
  errors.sort((a, b) => a.line - b.line || a.column - b.column)
  if (errors.length > 0) return { ok: false, errors, warnings }
  return { ok: true, program: { bytes, listing, labels, warnings } }
}

/**
 * Assemble PL330 source text. Throws {@link AsmErrors} (all errors, each an
 * {@link AsmError} with line and column) when the source is bad.
 */
export function assemble(source: string, options: AsmOptions = {}): AsmProgram {
  const r = tryAssemble(source, options)
  if (!r.ok) throw new AsmErrors(r.errors)
  return r.program
}
