// Properties of the execution model:
// - the fast path (decoded-instruction cache) is invisible: random valid
//   programs on up to three channels give identical RAM, registers, IRQ
//   levels, trace (with timestamps) and virtual time with and without it;
// - a Linux-shaped memcpy of random geometry equals a plain byte copy (an
//   independent reference);
// - random bytes as microcode, and random debug instructions, never throw.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { formatTraceRecord, type TraceRecord } from '@vfio-sim/sim'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const SRC = 0x80000000
const DST = 0x80100000
const PROG = 0x80f00000
const WINDOW = 0x8000

const NOP: Instr = { op: 'DMANOP', length: 1 }
const END: Instr = { op: 'DMAEND', length: 1 }

const ccrArb = fc.record({
  si: fc.boolean(), ss: fc.integer({ min: 0, max: 3 }), sb: fc.integer({ min: 0, max: 15 }),
  di: fc.boolean(), ds: fc.integer({ min: 0, max: 3 }), db: fc.integer({ min: 0, max: 15 }),
  es: fc.constantFrom(0, 0, 1, 2, 3), ns: fc.boolean(),
}).map(c => ((c.si ? 1 : 0) | (c.ss << 1) | (c.sb << 4) | (c.ns ? 1 << 9 : 0) | (c.di ? 1 << 14 : 0) |
  (c.ds << 15) | (c.db << 18) | (c.ns ? 1 << 23 : 0) | (c.es << 28)) >>> 0)

const cond = fc.constantFrom('always', 'always', 'always', 'single', 'burst') as fc.Arbitrary<'always' | 'single' | 'burst'>
const simple: fc.Arbitrary<Instr> = fc.oneof(
  { weight: 6, arbitrary: cond.map((c): Instr => ({ op: 'DMALD', length: 1, cond: c })) },
  { weight: 6, arbitrary: cond.map((c): Instr => ({ op: 'DMAST', length: 1, cond: c })) },
  { weight: 1, arbitrary: fc.constant<Instr>({ op: 'DMASTZ', length: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom<Instr>(NOP, { op: 'DMARMB', length: 1 }, { op: 'DMAWMB', length: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((event): Instr => ({ op: 'DMASEV', length: 2, event })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((event): Instr => ({ op: 'DMAWFE', length: 2, event, invalidate: false })) },
  { weight: 1, arbitrary: fc.record({ reg: fc.constantFrom('SAR', 'DAR') as fc.Arbitrary<'SAR' | 'DAR'>, imm16: fc.integer({ min: 0, max: 0x200 }) }).map((r): Instr => ({ op: 'DMAADDH', length: 3, ...r })) },
  { weight: 1, arbitrary: ccrArb.map((imm): Instr => ({ op: 'DMAMOV', length: 6, reg: 'CCR', imm })) },
)

const size = (xs: Instr[]): number => xs.reduce((a, i) => a + i.length, 0)

function loop(lc: 0 | 1, iterations: number, body: Instr[]): Instr[] {
  return [{ op: 'DMALP', length: 2, lc, iterations }, ...body, { op: 'DMALPEND', length: 2, lc, cond: 'always', forever: false, jump: size(body) }]
}

const inner = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.array(simple, { minLength: 1, maxLength: 6 })).map(([n, b]) => loop(1, n, b))
const item = fc.oneof({ weight: 4, arbitrary: simple.map(i => [i]) }, { weight: 1, arbitrary: inner })
const outer = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.array(item, { minLength: 1, maxLength: 4 })).map(([n, items]) => loop(0, n, items.flat()))
const programArb = fc.record({
  ccr: ccrArb,
  sar: fc.integer({ min: 0, max: 0xfff }),
  dar: fc.integer({ min: 0, max: 0xfff }),
  body: fc.array(fc.oneof({ weight: 3, arbitrary: item }, { weight: 1, arbitrary: outer }), { minLength: 1, maxLength: 5 }),
}).map(p => [
  { op: 'DMAMOV', length: 6, reg: 'CCR', imm: p.ccr },
  { op: 'DMAMOV', length: 6, reg: 'SAR', imm: SRC + p.sar },
  { op: 'DMAMOV', length: 6, reg: 'DAR', imm: DST + p.dar },
  ...p.body.flat(),
  END,
] as Instr[])

interface Outcome { ram: number[]; regs: number[]; irqs: string; trace: string[]; time: number }

function runOn(fastPath: boolean, programs: Instr[][], inten: number, nsMask: number, ic: [number, number]): Outcome {
  const rig = new Pl330Rig({ fastPath, config: { irqNs: 0xf, icacheLines: ic[0], icacheLineBytes: ic[1] } })
  const trace: string[] = []
  rig.sys.tracer.addSink({ record: (r: TraceRecord) => { trace.push(`${r.ts} ${r.track} ${r.decl?.name ?? r.phase} ${formatTraceRecord(r)}`) } })
  const src = new Uint8Array(WINDOW)
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 8)) & 0xff
  rig.load(SRC, src)
  rig.writel(0x20, inten)
  programs.forEach((p, ch) => {
    rig.load(PROG + ch * 0x1000, encodeAll(p))
    rig.go(ch, PROG + ch * 0x1000, ((nsMask >> ch) & 1) === 1)
  })
  rig.run(200_000)
  const regs: number[] = []
  for (let o = 0; o < 0x1000; o += 4) regs.push(rig.readl(o))
  const irqs = Array.from({ length: 17 }, (_, n) => (rig.sys.irqc.isPending(64 + n) ? '1' : '0')).join('')
  return { ram: Array.from(rig.sys.memory.slice(DST, WINDOW)), regs, irqs, trace, time: rig.sys.scheduler.now }
}

test('fast path and stepping agree on random valid programs (RAM, registers, IRQs, trace, time)', () => {
  fc.assert(fc.property(fc.array(programArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 7 }),
    fc.tuple(fc.integer({ min: 1, max: 8 }), fc.constantFrom(4, 8, 16, 32)), (programs, inten, ns, ic) => {
    // Small instruction caches make line replacement (and stale decoded entries) likely.
    const a = runOn(false, programs, inten, ns, ic)
    const b = runOn(true, programs, inten, ns, ic)
    assert.equal(b.regs, a.regs, 'registers')
    assert.is(b.irqs, a.irqs, 'irq lines')
    assert.equal(b.trace, a.trace, 'trace')
    assert.is(b.time, a.time, 'virtual time')
    assert.equal(b.ram, a.ram, 'RAM')
  }), { numRuns: Number(process.env.PROPS_RUNS ?? 150) })
})

test('Linux-shaped memcpy of random geometry equals a byte copy', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 3000 }),
    fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }),
    (ss, sb, units, soff, doff) => {
      const bsz = 1 << ss
      const burst = bsz * (sb + 1)
      const len = units * bsz
      const src = SRC + soff * bsz
      const dst = DST + doff * bsz
      const ccr = (ccrFor(ss, sb)) >>> 0
      const bursts = Math.floor(len / burst)
      const rem = (len % burst) / bsz
      const prog: Instr[] = [
        { op: 'DMAMOV', length: 6, reg: 'CCR', imm: ccr },
        { op: 'DMAMOV', length: 6, reg: 'SAR', imm: src },
        { op: 'DMAMOV', length: 6, reg: 'DAR', imm: dst },
      ]
      let left = bursts
      while (left > 0) {
        const n1 = Math.min(left, 256)
        const n0 = Math.min(Math.floor(left / n1), 256)
        const body = loop(1, n1, [{ op: 'DMALD', length: 1, cond: 'always' }, { op: 'DMAST', length: 1, cond: 'always' }])
        prog.push(...(n0 > 1 ? loop(0, n0, body) : body))
        left -= n0 > 1 ? n0 * n1 : n1
      }
      if (rem > 0) prog.push({ op: 'DMAMOV', length: 6, reg: 'CCR', imm: ccrFor(ss, rem - 1) }, { op: 'DMALD', length: 1, cond: 'always' }, { op: 'DMAST', length: 1, cond: 'always' })
      prog.push({ op: 'DMASEV', length: 2, event: 0 }, END)
      const rig = new Pl330Rig()
      const data = Uint8Array.from({ length: len + 16 }, (_, i) => (i * 31 + 7) & 0xff)
      rig.load(src, data)
      rig.load(PROG, encodeAll(prog))
      rig.go(0, PROG)
      rig.run()
      assert.is(rig.readl(0x40), 0, 'no fault')
      assert.equal(Array.from(rig.sys.memory.slice(dst, len)), Array.from(data.subarray(0, len)))
      assert.is(rig.sys.memory.read8(dst + len), 0, 'nothing written past the end')
      assert.is(rig.readl(0x400), (src + len) >>> 0)
      assert.is(rig.readl(0x404), (dst + len) >>> 0)
      assert.is(rig.readl(0x24), 1, 'DMASEV 0 after the copy')
    }), { numRuns: 60 })
})

function ccrFor(ss: number, sb: number): number {
  return (1 | (ss << 1) | (sb << 4) | (1 << 14) | (ss << 15) | (sb << 18)) >>> 0
}

test('random bytes as microcode never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 96 }), fc.boolean(), fc.boolean(), (bytes, ns, fast) => {
    const rig = new Pl330Rig({ fastPath: fast, config: { numPeriphReq: 2, numEvents: 8 } })
    rig.load(PROG, bytes)
    rig.go(0, PROG, ns)
    rig.run(500)
    rig.dma.periphRequest(0, 'burst', true)
    rig.run(500)
    const st = rig.readl(0x100) & 15
    assert.ok([0, 1, 2, 4, 7, 8, 15].includes(st), `state ${st}`)
    rig.kill(0)
    assert.is(rig.readl(0x100) & 15, 0)
    assert.is(rig.readl(0x40), 0)
  }), { numRuns: 300 })
})

test('random debug instructions never throw; DBGSTATUS stays idle', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 8 }), cmds => {
    const rig = new Pl330Rig({ config: { numChannels: 3 } })
    for (const [i0, i1] of cmds) {
      rig.debug(i0, i1)
      rig.run(200)
      assert.is(rig.readl(0xd00), 0)
    }
  }), { numRuns: 200 })
})


test('regression: an instruction straddling two lines of a one-line cache is fetched again each time (fast path = stepping)', () => {
  // Found by the property above (seed -1741315022): DMAMOV CCR at 0x14 spans
  // lines 0x14 and 0x18 of a 1 × 4-byte cache; filling 0x18 evicts 0x14, so
  // the decoded instruction must not be reused when the loop jumps back.
  const program: Instr[] = [
    { op: 'DMAMOV', length: 6, reg: 'CCR', imm: 0 },
    { op: 'DMAMOV', length: 6, reg: 'SAR', imm: SRC },
    { op: 'DMAMOV', length: 6, reg: 'DAR', imm: DST + 0x100000 },
    ...loop(0, 2, [{ op: 'DMAMOV', length: 6, reg: 'CCR', imm: 0 }]),
    { op: 'DMASTZ', length: 1 },
    END,
  ]
  const a = runOn(false, [program], 0, 0, [1, 4])
  const b = runOn(true, [program], 0, 0, [1, 4])
  assert.equal(b.trace, a.trace)
  assert.is(b.time, a.time)
})

test.run()
