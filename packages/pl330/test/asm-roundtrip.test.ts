// Properties of the assembler/disassembler pair and of decode:
// 1. disassemble(assemble(p)) gives back p for generated valid programs
//    (loops with explicit counters, DMALPFE loops, moves, loads, stores,
//    peripheral and event instructions). The generator writes canonical
//    source text itself, from its own small renderer;
// 2. random byte strings never make decode or disassemble throw, and the
//    disassembly re-assembles to the same bytes;
// 3. decode(encode(i)) = i for every valid instruction record.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { assemble } from '../src/asm/index.ts'
import { disassemble } from '../src/asm/index.ts'
import { decode, encode, type Instr } from '../src/isa/index.ts'

// ---- a generator of canonical programs --------------------------------

type Node =
  | { kind: 'line'; text: string; size: number }
  | { kind: 'loop'; lc: 0 | 1; iterations: number; cond: '' | 'S' | 'B'; body: Node[] }
  | { kind: 'forever'; lc: 0 | 1; cond: '' | 'S' | 'B'; body: Node[] }

const hex32 = (v: number): string => '0x' + (v >>> 0).toString(16).padStart(8, '0')
const sfx = fc.constantFrom('' as const, 'S' as const, 'B' as const)

// Canonical CCR text: SB SS [SAF] [SPn] [SCn] DB DS [DAF] [DPn] [DCn] [ESn]
const ccrText = fc.record({
  sb: fc.integer({ min: 1, max: 16 }), ss: fc.constantFrom(8, 16, 32, 64, 128), sai: fc.boolean(),
  sp: fc.integer({ min: 0, max: 7 }), sc: fc.integer({ min: 0, max: 7 }),
  db: fc.integer({ min: 1, max: 16 }), ds: fc.constantFrom(8, 16, 32, 64, 128), dai: fc.boolean(),
  dp: fc.integer({ min: 0, max: 7 }), dc: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 11), es: fc.constantFrom(8, 16, 32, 64, 128),
}).map((c) => [
  `SB${c.sb}`, `SS${c.ss}`, c.sai ? '' : 'SAF', c.sp ? `SP${c.sp}` : '', c.sc ? `SC${c.sc}` : '',
  `DB${c.db}`, `DS${c.ds}`, c.dai ? '' : 'DAF', c.dp ? `DP${c.dp}` : '', c.dc ? `DC${c.dc}` : '', c.es !== 8 ? `ES${c.es}` : '',
].filter((s) => s !== '').join(' '))

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const p5 = fc.integer({ min: 0, max: 31 })
const line = (text: string, size: number): Node => ({ kind: 'line', text, size })

const simple: fc.Arbitrary<Node> = fc.oneof(
  fc.constantFrom('DMANOP', 'DMARMB', 'DMAWMB', 'DMASTZ', 'DMAKILL', 'DMAEND').map((t) => line(t, 1)),
  sfx.map((s) => line(`DMALD${s}`, 1)),
  sfx.map((s) => line(`DMAST${s}`, 1)),
  fc.tuple(fc.constantFrom('LDP', 'STP'), fc.constantFrom('S', 'B'), p5).map(([o, s, p]) => line(`DMA${o}${s} P${p}`, 2)),
  fc.tuple(fc.constantFrom('SAR', 'DAR'), u32).map(([r, v]) => line(`DMAMOV ${r}, ${hex32(v)}`, 6)),
  ccrText.map((t) => line(`DMAMOV CCR, ${t}`, 6)),
  fc.tuple(fc.constantFrom('SAR', 'DAR'), fc.integer({ min: 0, max: 0xffff })).map(([r, v]) => line(`DMAADDH ${r}, 0x${v.toString(16)}`, 3)),
  fc.tuple(fc.constantFrom('SAR', 'DAR'), fc.integer({ min: 1, max: 0x10000 })).map(([r, v]) => line(`DMAADNH ${r}, -0x${v.toString(16)}`, 3)),
  p5.map((e) => line(`DMASEV ${e}`, 2)),
  fc.tuple(p5, fc.boolean()).map(([e, i]) => line(`DMAWFE ${e}${i ? ', invalid' : ''}`, 2)),
  fc.tuple(p5, fc.constantFrom('single', 'burst', 'periph')).map(([p, r]) => line(`DMAWFP P${p}, ${r}`, 2)),
  p5.map((p) => line(`DMAFLUSHP P${p}`, 2)),
  fc.tuple(fc.integer({ min: 0, max: 7 }), u32, fc.boolean()).map(([c, a, ns]) => line(`DMAGO C${c}, ${hex32(a)}${ns ? ', ns' : ''}`, 6)),
)

/** Programs: at most two nested counted loops (LC0 outer, LC1 inner, or either alone). */
function nodes(depth: number, freeCounters: (0 | 1)[]): fc.Arbitrary<Node[]> {
  const options: fc.Arbitrary<Node>[] = [simple, simple, simple]
  if (depth < 3 && freeCounters.length > 0) {
    options.push(fc.constantFrom(...freeCounters).chain((lc) =>
      fc.record({
        kind: fc.constant('loop' as const), lc: fc.constant(lc), iterations: fc.integer({ min: 1, max: 256 }), cond: sfx,
        body: nodes(depth + 1, freeCounters.filter((c) => c !== lc)),
      })))
  }
  if (depth < 3) {
    // forever loop: LC0 only when unconditional (0x29/0x2B are DMASTP)
    options.push(fc.tuple(fc.constantFrom(0 as const, 1 as const), sfx).map(([lc, cond]) => (cond !== '' ? [1 as const, cond] as const : [lc, cond] as const))
      .chain(([lc, cond]) => nodes(depth + 1, freeCounters).map((body): Node => ({ kind: 'forever', lc, cond, body }))))
  }
  return fc.array(fc.oneof(...options), { maxLength: depth === 0 ? 12 : 4 })
}

function sizeOf(ns: Node[]): number {
  let s = 0
  for (const n of ns) s += n.kind === 'line' ? n.size : (n.kind === 'loop' ? 2 : 0) + sizeOf(n.body) + 2
  return s
}

/** True when every loop body fits the 8-bit backwards jump. */
function fits(ns: Node[]): boolean {
  return ns.every((n) => n.kind === 'line' || (sizeOf(n.body) <= 255 && fits(n.body)))
}

function render(ns: Node[], out: string[] = []): string[] {
  for (const n of ns) {
    if (n.kind === 'line') out.push(n.text)
    else if (n.kind === 'loop') {
      out.push(`DMALP LC${n.lc}, ${n.iterations}`)
      render(n.body, out)
      out.push(`DMALPEND${n.cond} LC${n.lc}`)
    } else {
      out.push('DMALPFE')
      render(n.body, out)
      out.push(`DMALPEND${n.cond} LC${n.lc}`)
    }
  }
  return out
}

const programs = nodes(0, [0, 1]).filter(fits).map((ns) => render(ns))

test('the program generator really produces nested and forever loops', () => {
  const sample = fc.sample(programs, { numRuns: 200, seed: 42 })
  const nested = sample.filter((ls) => ls.some((l, k) => l.startsWith('DMALP LC') && ls.slice(k + 1).some((m) => m.startsWith('DMALP LC'))))
  assert.ok(nested.length > 5, `nested: ${nested.length}`)
  assert.ok(sample.filter((ls) => ls.includes('DMALPFE')).length > 5)
  assert.ok(sample.filter((ls) => ls.some((l) => /^DMALPEND[SB] LC/.test(l))).length > 5)
})

test('disassemble(assemble(p)) = p for generated programs', () => {
  fc.assert(fc.property(programs, fc.integer({ min: 0, max: 0xffff0000 }), (lines, base) => {
    const a = assemble(lines.join('\n'), { base })
    const back = disassemble(a.bytes, { base }).map((l) => l.text)
    assert.equal(back, lines)
  }), { numRuns: 300 })
})

test('random bytes: decode never throws at any offset; disassembly re-assembles to the same bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    for (let o = -1; o <= bytes.length; o++) decode(bytes, o)
    const listing = disassemble(bytes)
    const again = assemble(listing.map((l) => l.text).join('\n'))
    assert.equal([...again.bytes], [...bytes])
    let covered = 0
    for (const l of listing) { assert.is(l.offset, covered); covered += l.bytes.length }
    assert.is(covered, bytes.length)
  }), { numRuns: 500 })
})

test('byte strings rich in loop opcodes still round-trip (pairing fallback)', () => {
  const loopy = fc.constantFrom(0x20, 0x22, 0x28, 0x2c, 0x2d, 0x2f, 0x38, 0x39, 0x3b, 0x3c, 0x3d, 0x3f, 0x18, 0x04, 0x08)
  const bytes = fc.array(fc.oneof(loopy, fc.integer({ min: 0, max: 12 })), { maxLength: 48 }).map((a) => Uint8Array.from(a))
  fc.assert(fc.property(bytes, (b) => {
    const again = assemble(disassemble(b).map((l) => l.text).join('\n'))
    assert.equal([...again.bytes], [...b])
  }), { numRuns: 500 })
})

const cond = fc.constantFrom('always' as const, 'single' as const, 'burst' as const)
const pcond = fc.constantFrom('single' as const, 'burst' as const)
const instr: fc.Arbitrary<Instr> = fc.oneof(
  fc.record({ op: fc.constantFrom('DMAADDH' as const, 'DMAADNH' as const), length: fc.constant(3 as const), reg: fc.constantFrom('SAR' as const, 'DAR' as const), imm16: fc.integer({ min: 0, max: 0xffff }) }),
  fc.constantFrom<Instr>({ op: 'DMAEND', length: 1 }, { op: 'DMAKILL', length: 1 }, { op: 'DMANOP', length: 1 }, { op: 'DMARMB', length: 1 }, { op: 'DMAWMB', length: 1 }, { op: 'DMASTZ', length: 1 }),
  fc.record({ op: fc.constant('DMAFLUSHP' as const), length: fc.constant(2 as const), periph: p5 }),
  fc.record({ op: fc.constant('DMAGO' as const), length: fc.constant(6 as const), channel: fc.integer({ min: 0, max: 7 }), ns: fc.boolean(), addr: u32 }),
  fc.record({ op: fc.constantFrom('DMALD' as const, 'DMAST' as const), length: fc.constant(1 as const), cond }),
  fc.record({ op: fc.constantFrom('DMALDP' as const, 'DMASTP' as const), length: fc.constant(2 as const), cond: pcond, periph: p5 }),
  fc.record({ op: fc.constant('DMALP' as const), length: fc.constant(2 as const), lc: fc.constantFrom(0 as const, 1 as const), iterations: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ op: fc.constant('DMALPEND' as const), length: fc.constant(2 as const), lc: fc.constantFrom(0 as const, 1 as const), cond, forever: fc.boolean(), jump: fc.integer({ min: 0, max: 255 }) })
    .filter((i) => !(i.forever && i.lc === 0 && i.cond !== 'always')),
  fc.record({ op: fc.constant('DMAMOV' as const), length: fc.constant(6 as const), reg: fc.constantFrom('SAR' as const, 'CCR' as const, 'DAR' as const), imm: u32 }),
  fc.record({ op: fc.constant('DMASEV' as const), length: fc.constant(2 as const), event: p5 }),
  fc.record({ op: fc.constant('DMAWFE' as const), length: fc.constant(2 as const), event: p5, invalidate: fc.boolean() }),
  fc.record({ op: fc.constant('DMAWFP' as const), length: fc.constant(2 as const), periph: p5, req: fc.constantFrom('single' as const, 'burst' as const, 'periph' as const) }),
)

test('decode(encode(i)) = i for every valid instruction', () => {
  fc.assert(fc.property(instr, (i) => {
    assert.equal(decode(encode(i), 0), { ...i }) // fc.record builds null-prototype objects
  }), { numRuns: 1000 })
})

test.run()
