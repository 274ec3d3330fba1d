/**
 * A small device-tree source (.dts) parser, doing the job of scripts/dtc:
 * it turns board descriptions into the flattened tree the kernel's OF code
 * walks (drivers/of/fdt.c unflattens a DTB into the same shape). Property
 * values are stored as the DTB would hold them: cells big-endian 32-bit,
 * strings NUL-terminated, byte strings raw.
 *
 * Supported source syntax (what dtc calls the "v1" format, minus includes and
 * the preprocessor): `/dts-v1/;`, nodes `name@unit { … };` with labels
 * `label: node`, properties `name;` (empty), `name = <cells>, "str", [bytes];`,
 * cell values in decimal/hex/octal, `'c'` character cells and simple
 * parenthesised arithmetic (`(32 + 6)`), `&label` phandle references inside
 * `< >` and `&label` / `&{/path}` path references outside them, `/bits/ 8|16|32|64`,
 * repeated `/ { … };` blocks and `&label { … };` blocks (merged as dtc does),
 * `/delete-property/` and `/delete-node/`, and C/C++ comments.
 *
 * Errors throw a {@link DtsError} naming the line and column: a board file
 * is project input, not guest input.
 */

/** A node of the unflattened tree (struct device_node). */
export interface DtNode {
  /** Node name with unit address, as in the source: "dma@2c0a0000" ("" for the root). */
  readonly name: string
  readonly parent: DtNode | undefined
  readonly children: DtNode[]
  /** Properties in source order; values as DTB bytes. */
  readonly props: Map<string, Uint8Array>
  /** Labels attached to the node (without the colon). */
  readonly labels: string[]
  /** The phandle dtc assigned (0 = none: nothing refers to the node). */
  phandle: number
}

/** A parse error in a .dts file. */
export class DtsError extends Error {
  constructor(message: string, file: string, line: number, col: number) {
    super(`${file}:${line}:${col}: ${message}`)
    this.name = 'DtsError'
  }
}

type Tok =
  | { t: 'word'; v: string; line: number; col: number }
  | { t: 'str'; v: Uint8Array; line: number; col: number }
  | { t: 'punct'; v: string; line: number; col: number }
  | { t: 'ref'; v: string; line: number; col: number }
  | { t: 'label'; v: string; line: number; col: number }
  | { t: 'directive'; v: string; line: number; col: number }
  | { t: 'eof'; v: ''; line: number; col: number }

/** Characters allowed in node and property names (DT spec §2.2.1, §2.2.4), plus the unit-address '@'. */
const NAME_CHAR = /[A-Za-z0-9,._+*#?@\-]/

function tokenize(src: string, file: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  const err = (msg: string): never => {
    throw new DtsError(msg, file, line, i - lineStart + 1)
  }
  while (i < src.length) {
    const c = src[i]!
    const col = i - lineStart + 1
    if (c === '\n') {
      line++
      i++
      lineStart = i
      continue
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2)
      if (end < 0) err('unterminated comment')
      for (let k = i; k < end; k++) if (src[k] === '\n') { line++; lineStart = k + 1 }
      i = end + 2
      continue
    }
    if (c === '#' && /^#(include|define|if|ifdef|ifndef|endif)\b/.test(src.slice(i, i + 8))) {
      err('preprocessor directives are not supported; write the values out')
    }
    if (c === '"') {
      const bytes: number[] = []
      i++
      while (i < src.length && src[i] !== '"') {
        let ch = src[i]!
        if (ch === '\n') err('newline in string')
        if (ch === '\\') {
          i++
          const e = src[i]!
          const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, '"': 34, "'": 39, '0': 0, a: 7, b: 8, f: 12, v: 11 }
          if (e === 'x') {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(src.slice(i + 1))
            if (hex === null) err('bad \\x escape')
            bytes.push(parseInt(hex![0], 16))
            i += hex![0].length + 1
            continue
          }
          const v = simple[e]
          if (v === undefined) err(`unknown escape \\${e}`)
          bytes.push(v!)
          i++
          continue
        }
        const code = ch.codePointAt(0)!
        if (code > 0x7f) {
          for (const b of new TextEncoder().encode(String.fromCodePoint(code))) bytes.push(b)
          i += code > 0xffff ? 2 : 1
          continue
        }
        bytes.push(code)
        i++
      }
      if (i >= src.length) err('unterminated string')
      i++
      out.push({ t: 'str', v: Uint8Array.from(bytes), line, col })
      continue
    }
    if (c === "'") {
      // Character literal: a cell value.
      const m = /^'(\\.|[^'\\])'/.exec(src.slice(i))
      if (m === null) err('bad character literal')
      const body = m![1]!
      const map: Record<string, number> = { '\\n': 10, '\\t': 9, '\\r': 13, '\\0': 0, "\\'": 39, '\\\\': 92 }
      const v = body.length === 1 ? body.charCodeAt(0) : map[body]
      if (v === undefined) err(`unknown escape ${body}`)
      out.push({ t: 'word', v: String(v), line, col })
      i += m![0].length
      continue
    }
    if (c === '&') {
      if (src[i + 1] === '{') {
        const end = src.indexOf('}', i)
        if (end < 0) err('unterminated path reference')
        out.push({ t: 'ref', v: src.slice(i + 1, end + 1), line, col })
        i = end + 1
        continue
      }
      const m = /^&([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i))
      if (m === null) {
        out.push({ t: 'punct', v: '&', line, col })
        i++
        continue
      }
      out.push({ t: 'ref', v: m[1]!, line, col })
      i += m[0].length
      continue
    }
    if (c === '/') {
      const m = /^\/(dts-v1|bits|delete-node|delete-property|memreserve|plugin)\//.exec(src.slice(i))
      if (m !== null) {
        out.push({ t: 'directive', v: m[1]!, line, col })
        i += m[0].length
        continue
      }
    }
    if ('{};=<>[](),+-*/%|^~!'.includes(c) && !(c === '-' && NAME_CHAR.test(src[i + 1] ?? '') && /[A-Za-z#]/.test(src[i + 1] ?? ''))) {
      // Shift operators and comparisons inside expressions.
      const two = src.slice(i, i + 2)
      if (two === '<<' || two === '>>') {
        // Only an operator inside parentheses; '<' '<' cannot otherwise occur in valid source.
        out.push({ t: 'punct', v: two, line, col })
        i += 2
        continue
      }
      out.push({ t: 'punct', v: c, line, col })
      i++
      continue
    }
    if (NAME_CHAR.test(c)) {
      let j = i
      while (j < src.length && NAME_CHAR.test(src[j]!)) j++
      const word = src.slice(i, j)
      if (src[j] === ':' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
        out.push({ t: 'label', v: word, line, col })
        i = j + 1
        continue
      }
      out.push({ t: 'word', v: word, line, col })
      i = j
      continue
    }
    err(`unexpected character '${c}'`)
  }
  out.push({ t: 'eof', v: '', line, col: i - lineStart + 1 })
  return out
}

/** A value piece before phandles are resolved. */
type Piece =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'cells'; bits: 8 | 16 | 32 | 64; cells: (bigint | { ref: string; line: number; col: number })[] }
  | { kind: 'pathref'; ref: string; line: number; col: number }

interface PendingNode {
  name: string
  parent: PendingNode | undefined
  children: PendingNode[]
  props: Map<string, Piece[]>
  labels: string[]
  deleted: boolean
}

class Parser {
  private pos = 0
  private readonly toks: Tok[]
  private readonly file: string
  readonly root: PendingNode = { name: '', parent: undefined, children: [], props: new Map(), labels: [], deleted: false }

  constructor(src: string, file: string) {
    this.file = file
    this.toks = tokenize(src, file)
  }

  private peek(): Tok {
    return this.toks[Math.min(this.pos, this.toks.length - 1)]!
  }

  private next(): Tok {
    const t = this.peek()
    if (this.pos < this.toks.length - 1) this.pos++
    return t
  }

  private fail(msg: string, tok: Tok = this.peek()): never {
    throw new DtsError(msg, this.file, tok.line, tok.col)
  }

  private expect(v: string): void {
    const t = this.next()
    if (t.t !== 'punct' || t.v !== v) this.fail(`expected '${v}'`, t)
  }

  parse(): PendingNode {
    const first = this.next()
    if (first.t !== 'directive' || first.v !== 'dts-v1') this.fail('a .dts file starts with /dts-v1/;', first)
    this.expect(';')
    for (;;) {
      const t = this.peek()
      if (t.t === 'eof') break
      if (t.t === 'directive' && t.v === 'memreserve') {
        // /memreserve/ addr size; — accepted and ignored (no reserved-memory model).
        this.next()
        this.next()
        this.next()
        this.expect(';')
        continue
      }
      if (t.t === 'directive' && t.v === 'delete-node') {
        this.next()
        const r = this.next()
        if (r.t !== 'ref') this.fail('expected &label after /delete-node/', r)
        this.resolveRef(r.v, r).deleted = true
        this.expect(';')
        continue
      }
      if (t.t === 'punct' && t.v === '/') {
        this.next()
        this.nodeBody(this.root)
        continue
      }
      if (t.t === 'ref') {
        this.next()
        this.nodeBody(this.resolveRef(t.v, t))
        continue
      }
      this.fail('expected a root node "/ { … };" or "&label { … };"')
    }
    return this.root
  }

  private resolveRef(ref: string, tok: Tok): PendingNode {
    const found = ref.startsWith('{') ? findPath(this.root, ref.slice(1, -1)) : findLabel(this.root, ref)
    if (found === undefined) this.fail(`reference to undefined ${ref.startsWith('{') ? 'path' : 'label'} ${ref}`, tok)
    return found
  }

  /** Parses `{ props; children; };` into `node` (merging, as dtc merges repeated nodes). */
  private nodeBody(node: PendingNode): void {
    this.expect('{')
    for (;;) {
      const t = this.peek()
      if (t.t === 'punct' && t.v === '}') {
        this.next()
        this.expect(';')
        return
      }
      if (t.t === 'directive' && t.v === 'delete-property') {
        this.next()
        const n = this.next()
        if (n.t !== 'word') this.fail('expected a property name', n)
        node.props.delete(n.v)
        this.expect(';')
        continue
      }
      if (t.t === 'directive' && t.v === 'delete-node') {
        this.next()
        const n = this.next()
        if (n.t !== 'word') this.fail('expected a node name', n)
        const child = node.children.find(c => c.name === n.v && !c.deleted)
        if (child !== undefined) child.deleted = true
        this.expect(';')
        continue
      }
      const labels: string[] = []
      for (let l = this.peek(); l.t === 'label'; l = this.peek()) {
        labels.push(l.v)
        this.next()
      }
      const nameTok = this.next()
      if (nameTok.t !== 'word') this.fail('expected a property or node name', nameTok)
      const after = this.peek()
      if (after.t === 'punct' && after.v === '{') {
        let child = node.children.find(c => c.name === nameTok.v && !c.deleted)
        if (child === undefined) {
          child = { name: nameTok.v, parent: node, children: [], props: new Map(), labels: [], deleted: false }
          node.children.push(child)
        }
        for (const l of labels) if (!child.labels.includes(l)) child.labels.push(l)
        this.nodeBody(child)
        continue
      }
      if (labels.length > 0) this.fail('labels on properties are not supported', nameTok)
      if (after.t === 'punct' && after.v === ';') {
        this.next()
        node.props.set(nameTok.v, [])
        continue
      }
      this.expect('=')
      node.props.set(nameTok.v, this.value())
      this.expect(';')
    }
  }

  private value(): Piece[] {
    const pieces: Piece[] = []
    for (;;) {
      let bits: 8 | 16 | 32 | 64 = 32
      let t = this.next()
      if (t.t === 'directive' && t.v === 'bits') {
        const b = this.next()
        const n = b.t === 'word' ? Number(b.v) : NaN
        if (n !== 8 && n !== 16 && n !== 32 && n !== 64) this.fail('/bits/ takes 8, 16, 32 or 64', b)
        bits = n as 8 | 16 | 32 | 64
        t = this.next()
        if (t.t !== 'punct' || t.v !== '<') this.fail("expected '<' after /bits/", t)
      }
      if (t.t === 'str') pieces.push({ kind: 'bytes', bytes: concat([t.v, new Uint8Array(1)]) })
      else if (t.t === 'ref') pieces.push({ kind: 'pathref', ref: t.v, line: t.line, col: t.col })
      else if (t.t === 'punct' && t.v === '<') pieces.push({ kind: 'cells', bits, cells: this.cells(bits) })
      else if (t.t === 'punct' && t.v === '[') pieces.push({ kind: 'bytes', bytes: this.bytestring() })
      else this.fail('expected a value: <cells>, "string", [bytes] or &ref', t)
      const sep = this.peek()
      if (sep.t === 'punct' && sep.v === ',') {
        this.next()
        continue
      }
      return pieces
    }
  }

  private cells(bits: number): (bigint | { ref: string; line: number; col: number })[] {
    const out: (bigint | { ref: string; line: number; col: number })[] = []
    for (;;) {
      const t = this.peek()
      if (t.t === 'punct' && t.v === '>') {
        this.next()
        return out
      }
      if (t.t === 'ref') {
        if (bits !== 32) this.fail('phandle references need 32-bit cells', t)
        this.next()
        out.push({ ref: t.v, line: t.line, col: t.col })
        continue
      }
      const v = this.primary()
      const max = 1n << BigInt(bits)
      out.push(BigInt.asUintN(bits, v < 0n ? v + max : v))
    }
  }

  private bytestring(): Uint8Array {
    let hex = ''
    for (;;) {
      const t = this.next()
      if (t.t === 'punct' && t.v === ']') break
      if (t.t !== 'word' || !/^[0-9a-fA-F]+$/.test(t.v) || t.v.length % 2 !== 0) this.fail('bad byte string', t)
      hex += t.v
    }
    const out = new Uint8Array(hex.length / 2)
    for (let k = 0; k < out.length; k++) out[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16)
    return out
  }

  /** A number, or a parenthesised expression (dtc's integer expressions, +, -, *, /, %, <<, >>, &, |, ^, ~, unary -). */
  private primary(): bigint {
    const t = this.next()
    if (t.t === 'word') return this.number(t.v, t)
    if (t.t === 'punct' && t.v === '(') {
      const v = this.expr(0)
      this.expect(')')
      return v
    }
    if (t.t === 'punct' && t.v === '-') return -this.primary()
    if (t.t === 'punct' && t.v === '~') return ~this.primary()
    return this.fail('expected a number', t)
  }

  private expr(minPrec: number): bigint {
    const prec: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 }
    let lhs = this.primary()
    for (;;) {
      const t = this.peek()
      const p = t.t === 'punct' ? prec[t.v] : undefined
      if (p === undefined || p < minPrec) return lhs
      this.next()
      const rhs = this.expr(p + 1)
      if ((t.v === '<<' || t.v === '>>') && (rhs < 0n || rhs > 64n)) this.fail('shift count out of range', t)
      if (lhs > 1n << 128n || lhs < -(1n << 128n)) this.fail('integer expression out of range', t)
      switch (t.v) {
        case '|': lhs |= rhs; break
        case '^': lhs ^= rhs; break
        case '&': lhs &= rhs; break
        case '<<': lhs <<= rhs; break
        case '>>': lhs >>= rhs; break
        case '+': lhs += rhs; break
        case '-': lhs -= rhs; break
        case '*': lhs *= rhs; break
        case '/': if (rhs === 0n) this.fail('division by zero', t); lhs /= rhs; break
        case '%': if (rhs === 0n) this.fail('division by zero', t); lhs %= rhs; break
      }
    }
  }

  private number(s: string, tok: Tok): bigint {
    const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(U|UL|ULL|L|LL)?$/i.exec(s)
    if (m === null) this.fail(`bad number '${s}'`, tok)
    const body = m[1]!
    if (/^0[xX]/.test(body)) return BigInt(body)
    if (body.length > 1 && body.startsWith('0')) return BigInt('0o' + body.slice(1))
    return BigInt(body)
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

function findLabel(n: PendingNode, label: string): PendingNode | undefined {
  if (n.deleted) return undefined
  if (n.labels.includes(label)) return n
  for (const c of n.children) {
    const f = findLabel(c, label)
    if (f !== undefined) return f
  }
  return undefined
}

function findPath(root: PendingNode, path: string): PendingNode | undefined {
  let n: PendingNode | undefined = root
  for (const part of path.split('/').filter(p => p !== '')) {
    n = n.children.find(c => !c.deleted && (c.name === part || c.name.split('@')[0] === part))
    if (n === undefined) return undefined
  }
  return n
}

function pathOf(n: PendingNode): string {
  const parts: string[] = []
  for (let c: PendingNode | undefined = n; c !== undefined && c.parent !== undefined; c = c.parent) parts.unshift(c.name)
  return '/' + parts.join('/')
}

/**
 * Parses device-tree source into the unflattened tree. `file` names the
 * source in error messages. Phandles are assigned (1, 2, …) in tree order
 * to every node that a `&label` cell refers to, and a `phandle` property is
 * added to each, as dtc does.
 */
export function parseDts(src: string, file = '<dts>'): DtNode {
  const parser = new Parser(src, file)
  const root = parser.parse()
  // Collect phandle targets.
  const targets = new Set<PendingNode>()
  const errAt = (msg: string, line: number, col: number): never => {
    throw new DtsError(msg, file, line, col)
  }
  const walk = (n: PendingNode, fn: (n: PendingNode) => void): void => {
    if (n.deleted) return
    fn(n)
    for (const c of n.children) walk(c, fn)
  }
  const lookup = (ref: string, line: number, col: number): PendingNode => {
    const f = ref.startsWith('{') ? findPath(root, ref.slice(1, -1)) : findLabel(root, ref)
    return f ?? errAt(`reference to undefined ${ref.startsWith('{') ? 'path' : 'label'} ${ref}`, line, col)
  }
  walk(root, n => {
    for (const pieces of n.props.values())
      for (const p of pieces) if (p.kind === 'cells') for (const c of p.cells) if (typeof c !== 'bigint') targets.add(lookup(c.ref, c.line, c.col))
  })
  const phandles = new Map<PendingNode, number>()
  walk(root, n => {
    if (targets.has(n)) phandles.set(n, phandles.size + 1)
  })
  const build = (n: PendingNode, parent: DtNode | undefined): DtNode => {
    const node: DtNode = { name: n.name, parent, children: [], props: new Map(), labels: [...n.labels], phandle: phandles.get(n) ?? 0 }
    for (const [name, pieces] of n.props) {
      const parts: Uint8Array[] = []
      for (const p of pieces) {
        if (p.kind === 'bytes') parts.push(p.bytes)
        else if (p.kind === 'pathref') parts.push(concat([new TextEncoder().encode(pathOf(lookup(p.ref, p.line, p.col))), new Uint8Array(1)]))
        else {
          const width = p.bits / 8
          const buf = new Uint8Array(p.cells.length * width)
          const dv = new DataView(buf.buffer)
          p.cells.forEach((c, k) => {
            const v = typeof c === 'bigint' ? c : BigInt(phandles.get(lookup(c.ref, c.line, c.col))!)
            if (width === 1) dv.setUint8(k, Number(v))
            else if (width === 2) dv.setUint16(2 * k, Number(v))
            else if (width === 4) dv.setUint32(4 * k, Number(v))
            else dv.setBigUint64(8 * k, v)
          })
          parts.push(buf)
        }
      }
      node.props.set(name, concat(parts))
    }
    if (node.phandle !== 0 && !node.props.has('phandle')) {
      const b = new Uint8Array(4)
      new DataView(b.buffer).setUint32(0, node.phandle)
      node.props.set('phandle', b)
    }
    for (const c of n.children) if (!c.deleted) node.children.push(build(c, node))
    return node
  }
  return build(root, undefined)
}
