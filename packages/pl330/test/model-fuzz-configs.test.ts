// Robustness across configurations: random CR0/CR1/CRD-shaped configurations
// (1..8 channels, 1..32 events, 0..32 peripherals, 32/64/128-bit bus, any
// instruction cache shape, small MFIFOs), random bytes as microcode on
// several channels, random debug instructions, peripheral requests and
// register writes. Nothing throws, and what Linux's read_dmac_config and
// pl330_update read stays consistent with the configuration: thread states
// are valid codes, FSRC and INT_EVENT_RIS only use implemented bits, and
// irq_abort equals "FSRD or FSRC non-zero".
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const PROG = 0x80f00000
const STATES = [0, 1, 2, 4, 7, 8, 15]

const configArb = fc.record({
  numChannels: fc.integer({ min: 1, max: 8 }),
  numEvents: fc.integer({ min: 1, max: 32 }),
  numPeriphReq: fc.integer({ min: 0, max: 32 }),
  dataWidthBits: fc.constantFrom(32, 64, 128),
  icacheLineBytes: fc.constantFrom(4, 8, 16, 32),
  icacheLines: fc.integer({ min: 1, max: 16 }),
  dataBufferLines: fc.integer({ min: 1, max: 64 }),
  irqNs: fc.integer({ min: 0, max: 0xffffffff }),
  periphNs: fc.integer({ min: 0, max: 0xffffffff }),
  mgrNsAtReset: fc.boolean(),
})

// Valid instructions (so programs get past their first byte), with operands that
// may exceed the configuration (events, peripherals, burst sizes).
const insnArb: fc.Arbitrary<Instr> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom<Instr>({ op: 'DMALD', length: 1, cond: 'always' }, { op: 'DMAST', length: 1, cond: 'always' }, { op: 'DMASTZ', length: 1 },
    { op: 'DMALD', length: 1, cond: 'single' }, { op: 'DMAST', length: 1, cond: 'burst' }, { op: 'DMARMB', length: 1 }, { op: 'DMANOP', length: 1 }) },
  // A CCR any thread may set: sizes up to 4 bytes, non-secure prot bits, random lengths.
  { weight: 6, arbitrary: fc.record({ ss: fc.integer({ min: 0, max: 2 }), sb: fc.integer({ min: 0, max: 15 }), ds: fc.integer({ min: 0, max: 2 }), db: fc.integer({ min: 0, max: 15 }) })
    .map(({ ss, sb, ds, db }): Instr => ({ op: 'DMAMOV', length: 6, reg: 'CCR', imm: (1 | (ss << 1) | (sb << 4) | (1 << 9) | (1 << 14) | (ds << 15) | (db << 18) | (1 << 23)) >>> 0 })) },
  fc.integer({ min: 0, max: 0xffffffff }).map((imm): Instr => ({ op: 'DMAMOV', length: 6, reg: 'CCR', imm })),
  fc.integer({ min: 0, max: 0xffff }).map((imm): Instr => ({ op: 'DMAMOV', length: 6, reg: 'SAR', imm: 0x80000000 + imm })),
  fc.integer({ min: 0, max: 0xffff }).map((imm): Instr => ({ op: 'DMAMOV', length: 6, reg: 'DAR', imm: 0x80100000 + imm })),
  fc.integer({ min: 0, max: 31 }).map((event): Instr => ({ op: 'DMASEV', length: 2, event })),
  fc.integer({ min: 0, max: 31 }).map((event): Instr => ({ op: 'DMAWFE', length: 2, event, invalidate: event % 2 === 0 })),
  fc.record({ periph: fc.integer({ min: 0, max: 31 }), req: fc.constantFrom('single', 'burst', 'periph') as fc.Arbitrary<'single' | 'burst' | 'periph'> }).map((r): Instr => ({ op: 'DMAWFP', length: 2, ...r })),
  fc.record({ periph: fc.integer({ min: 0, max: 31 }), cond: fc.constantFrom('single', 'burst') as fc.Arbitrary<'single' | 'burst'> }).map((r): Instr => ({ op: 'DMALDP', length: 2, ...r })),
  fc.integer({ min: 0, max: 31 }).map((periph): Instr => ({ op: 'DMAFLUSHP', length: 2, periph })),
  fc.record({ lc: fc.constantFrom(0 as const, 1 as const), iterations: fc.integer({ min: 1, max: 256 }) }).map((r): Instr => ({ op: 'DMALP', length: 2, ...r })),
  fc.record({ lc: fc.constantFrom(0 as const, 1 as const), jump: fc.integer({ min: 0, max: 12 }), forever: fc.boolean() }).map((r): Instr => ({ op: 'DMALPEND', length: 2, cond: 'always', ...r })),
)
const COPY = encodeAll([
  { op: 'DMAMOV', length: 6, reg: 'CCR', imm: (1 | (2 << 1) | (3 << 4) | (1 << 9) | (1 << 14) | (2 << 15) | (3 << 18) | (1 << 23)) >>> 0 },
  { op: 'DMAMOV', length: 6, reg: 'SAR', imm: 0x80000000 },
  { op: 'DMAMOV', length: 6, reg: 'DAR', imm: 0x80100000 },
  { op: 'DMALP', length: 2, lc: 0, iterations: 64 },
  { op: 'DMALD', length: 1, cond: 'always' },
  { op: 'DMAST', length: 1, cond: 'always' },
  { op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: false, jump: 2 },
  { op: 'DMASEV', length: 2, event: 0 },
  { op: 'DMAEND', length: 1 },
])
const codeArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
  fc.array(insnArb, { minLength: 1, maxLength: 16 }).map(xs => encodeAll([...xs, { op: 'DMAEND', length: 1 }])),
)

const opArb = fc.oneof(
  fc.record({ k: fc.constant('go' as const), ch: fc.integer({ min: 0, max: 7 }), ns: fc.boolean(), wild: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('go' as const), ch: fc.integer({ min: 0, max: 7 }), ns: fc.boolean(), wild: fc.constant(1) }),
  fc.record({ k: fc.constant('dbg' as const), i0: fc.integer({ min: 0, max: 0xffffffff }), i1: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ k: fc.constant('kill' as const), ch: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ k: fc.constant('req' as const), p: fc.integer({ min: 0, max: 33 }), burst: fc.boolean(), last: fc.boolean() }),
  fc.record({ k: fc.constant('w' as const), off: fc.integer({ min: 0, max: 0x3ff }).map(n => n * 4), v: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ k: fc.constant('run' as const), events: fc.integer({ min: 1, max: 200 }) }),
)

test('random configurations, microcode, debug commands and register writes never throw; status stays within the configuration', () => {
  let executed = 0
  fc.assert(fc.property(configArb, fc.array(codeArb, { minLength: 1, maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), (config, codes, ops) => {
    // The CPU reaches the registers through the interface that sees them (secure unless the manager is NS).
    const rig = new Pl330Rig({ config, secureCpu: !config.mgrNsAtReset })
    // Program 0 is always a well-formed copy loop, so some channels run for a while.
    codes.unshift(COPY)
    codes.forEach((c, i) => rig.load(PROG + 0x100 * i, c))
    const chMask = (1 << config.numChannels) - 1
    const evMask = config.numEvents === 32 ? 0xffffffff : (1 << config.numEvents) - 1
    const cr0 = rig.readl(0xe00)
    assert.is(((cr0 >>> 4) & 7) + 1, config.numChannels, 'CR0 num_chnls')
    assert.is(((cr0 >>> 17) & 31) + 1, config.numEvents, 'CR0 num_events')
    assert.is(8 * (1 << (rig.readl(0xe14) & 7)), config.dataWidthBits, 'CRD data_width as Linux decodes it')
    let wdTouched = false
    for (const op of ops) {
      if (op.k === 'go') {
        // Mostly a channel that exists and a start the manager may give; sometimes not.
        const ch = op.wild === 0 ? op.ch : op.ch % config.numChannels
        rig.go(ch, PROG + 0x100 * (op.ch % codes.length), op.wild === 0 ? op.ns : op.ns || config.mgrNsAtReset)
      }
      else if (op.k === 'dbg') rig.debug(op.i0, op.i1)
      else if (op.k === 'kill') rig.kill(op.ch === 8 ? 'manager' : op.ch)
      else if (op.k === 'req') rig.dma.periphRequest(op.p, op.burst ? 'burst' : 'single', op.last)
      else if (op.k === 'w') {
        if (op.off === 0xe80) wdTouched = true
        rig.writel(op.off, op.v)
      } else rig.run(op.events)
      rig.run(20)
      assert.ok(STATES.includes(rig.readl(0x000) & 15), 'DSR state')
      for (let ch = 0; ch < config.numChannels; ch++) assert.ok(STATES.includes(rig.readl(0x100 + 8 * ch) & 15), `CS${ch} state`)
      const fsc = rig.readl(0x034)
      assert.is(fsc & ~chMask, 0, 'FSRC only has implemented channels')
      assert.is((rig.readl(0x024) & ~evMask) >>> 0, 0, 'INT_EVENT_RIS only has implemented events (pl330_update "Unexpected!")')
      if (!wdTouched) assert.is(rig.dma.abortAsserted, (rig.readl(0x030) | fsc) !== 0, 'irq_abort = FSRD | FSRC')
    }
    // Linux's recovery (pl330_dotask after a manager fault): DMAKILL every thread; all stop.
    for (let ch = 0; ch < config.numChannels; ch++) rig.kill(ch)
    rig.kill('manager')
    rig.run(10_000)
    for (let ch = 0; ch < config.numChannels; ch++) {
      // Nothing stalls on the plain bus, so no thread is left Killing.
      assert.is(rig.readl(0x100 + 8 * ch) & 15, 0, `CS${ch} after DMAKILL`)
    }
    assert.is(rig.readl(0x034), 0, 'no channel faulting after DMAKILL')
    assert.is(rig.readl(0x030), 0, 'manager not faulting after DMAKILL')
    assert.is(rig.dma.abortAsserted, false)
    executed += rig.dma.instructions
  }), { numRuns: 120 })
  // Not vacuous: the programs ran.
  assert.ok(executed > 5000, `${executed} instructions executed`)
})

test.run()
