// Robustness of the register window (brief: "random register writes of
// every width never throw"): any offset (aligned or not, past the end),
// any width 1/2/4/8, through the secure and the non-secure APB interface,
// interleaved with running programs, peripheral requests and debug
// commands. Nothing throws, and the read-only file stays read-only: the
// configuration registers never change, SAR/DAR/CCR/LC/PC change only by
// the program, irq_abort equals "FSRD or FSRC non-zero" (spec §1 point 7,
// read back through the registers, not from the model's own flag).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { busAttrs } from '@vfio-sim/sim'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig, PL330_BASE } from '../src/model/harness.ts'

const PROG = 0x80f00000
const SRC = 0x80000000
const DST = 0x80100000

// A copy loop that keeps a channel busy while registers are hammered.
const COPY: Instr[] = [
  { op: 'DMAMOV', length: 6, reg: 'CCR', imm: 0x003dc0f7 },
  { op: 'DMAMOV', length: 6, reg: 'SAR', imm: SRC },
  { op: 'DMAMOV', length: 6, reg: 'DAR', imm: DST },
  { op: 'DMALP', length: 2, lc: 0, iterations: 64 },
  { op: 'DMALD', length: 1, cond: 'always' },
  { op: 'DMAST', length: 1, cond: 'always' },
  { op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: false, jump: 2 },
  { op: 'DMASEV', length: 2, event: 1 },
  { op: 'DMAEND', length: 1 },
]

const opArb = fc.oneof(
  fc.record({ k: fc.constant('w' as const), off: fc.integer({ min: 0, max: 0x1007 }), size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), v: fc.integer({ min: 0, max: 0xffffffff }), secure: fc.boolean() }),
  fc.record({ k: fc.constant('r' as const), off: fc.integer({ min: 0, max: 0x1007 }), size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), secure: fc.boolean() }),
  // The register windows Linux and the debug path use, with random values.
  fc.record({ k: fc.constant('w' as const), off: fc.constantFrom(0x20, 0x2c, 0xd04, 0xd08, 0xd0c, 0xe80), size: fc.constant(4 as const), v: fc.integer({ min: 0, max: 0xffffffff }), secure: fc.constant(true) }),
  fc.record({ k: fc.constant('go' as const), ch: fc.integer({ min: 0, max: 7 }), ns: fc.boolean() }),
  fc.record({ k: fc.constant('req' as const), p: fc.integer({ min: -1, max: 5 }), burst: fc.boolean(), last: fc.boolean() }),
  fc.record({ k: fc.constant('run' as const), events: fc.integer({ min: 1, max: 50 }) }),
)

test('random register accesses of every width and offset, during DMA, never throw; read-only state stays read-only', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), fc.boolean(), (ops, mgrNs) => {
    const rig = new Pl330Rig({ config: { mgrNsAtReset: mgrNs, irqNs: 0xffff, periphNs: 0xf } })
    rig.load(PROG, encodeAll(COPY))
    const cfg = [0xe00, 0xe04, 0xe08, 0xe0c, 0xe10, 0xe14, 0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc]
    const cfgBefore = cfg.map(o => rig.readl(o))
    // Channel registers as the program leaves them: snapshot after each run, compare after each CPU write.
    const chanRegs = (): number[] => {
      const out: number[] = []
      for (let ch = 0; ch < 8; ch++) {
        out.push(rig.readl(0x104 + 8 * ch))
        for (let r = 0; r < 5; r++) out.push(rig.readl(0x400 + 0x20 * ch + 4 * r))
      }
      return out
    }
    // WD.wd_irq_only = 1 lets a lock-up raise irq_abort without a faulting thread.
    let wdTouched = false
    for (const op of ops) {
      if (op.k === 'w') {
        if (op.off <= 0xe83 && op.off + op.size > 0xe80) wdTouched = true
        const attrs = busAttrs({ priv: true, secure: op.secure })
        const before = chanRegs()
        const debugCmd = op.off <= 0xd07 && op.off + op.size > 0xd04
        if (op.size === 8) rig.sys.bus.write64(PL330_BASE + op.off, BigInt(op.v) * 0x100000001n, attrs)
        else rig.sys.bus.writeN(PL330_BASE + op.off, op.size, op.v, attrs)
        // Only DBGCMD (debug DMAGO/DMAKILL) may change channel state from the CPU side.
        if (!debugCmd) assert.equal(chanRegs(), before, `write 0x${op.off.toString(16)}/${op.size}`)
      } else if (op.k === 'r') {
        const attrs = busAttrs({ priv: true, secure: op.secure })
        if (op.size === 8) rig.sys.bus.read64(PL330_BASE + op.off, attrs)
        else rig.sys.bus.readN(PL330_BASE + op.off, op.size, attrs)
      } else if (op.k === 'go') rig.go(op.ch, op.ch === 0 ? PROG : PROG + 0x40 * op.ch, op.ns)
      else if (op.k === 'req') rig.dma.periphRequest(op.p, op.burst ? 'burst' : 'single', op.last)
      else rig.run(op.events)
      const faulting = (rig.readl(0x30) | rig.readl(0x34)) !== 0
      if (!wdTouched) assert.is(rig.dma.abortAsserted, faulting, 'irq_abort = FSRD | FSRC')
      assert.is(rig.readl(0xd00), 0, 'DBGSTATUS idle')
      assert.is((rig.readl(0x20) >>> 16), 0, 'INTEN has only num_events (16) bits')
    }
    assert.equal(cfg.map(o => rig.readl(o)), cfgBefore, 'configuration and ID registers')
    rig.run(100_000)
  }), { numRuns: 150 })
})

test.run()
