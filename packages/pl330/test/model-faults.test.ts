// Faults and recovery (spec §7): precise fetch errors, imprecise data
// errors, read-as-zero fetches, MFIFO underflow/overflow, undefined
// opcodes, security checks, the debug interface's rules and DMAKILL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BusResp, type BusAttrs, type MasterPort } from '@vfio-sim/sim'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const MOV = (reg: 'SAR' | 'CCR' | 'DAR', imm: number): Instr => ({ op: 'DMAMOV', length: 6, reg, imm })
const LD: Instr = { op: 'DMALD', length: 1, cond: 'always' }
const ST: Instr = { op: 'DMAST', length: 1, cond: 'always' }
const END: Instr = { op: 'DMAEND', length: 1 }
const NOP: Instr = { op: 'DMANOP', length: 1 }
const SEV = (event: number): Instr => ({ op: 'DMASEV', length: 2, event })
const LP = (lc: 0 | 1, iterations: number): Instr => ({ op: 'DMALP', length: 2, lc, iterations })
const LPEND = (lc: 0 | 1, jump: number): Instr => ({ op: 'DMALPEND', length: 2, lc, cond: 'always', forever: false, jump })

const PROG = 0x80f00000
/** CCR: SAI, DAI, 8-byte beats, 16 beats (128 B per burst), secure. */
const CCR128 = 0x003dc0f7
const REG = { FSRD: 0x30, FSRC: 0x34, FTRD: 0x38, FTR0: 0x40, CSR0: 0x100, CPC0: 0x104, SAR0: 0x400, DAR0: 0x404 }

function start(rig: Pl330Rig, prog: Instr[] | number[], ch = 0, addr = PROG, ns = false): void {
  rig.load(addr, typeof prog[0] === 'number' ? (prog as number[]) : encodeAll(prog as Instr[]))
  rig.go(ch, addr, ns)
  rig.run()
}

const abortHigh = (rig: Pl330Rig): boolean => rig.sys.irqc.isPending(64)

test('instruction fetch bus error: precise instr_fetch_err, CPC on the instruction, irq_abort; DMAKILL recovers', () => {
  // RAM ends at 0x80001000; a DMAMOV starting 2 bytes before the end straddles the hole.
  const rig = new Pl330Rig({ ram: [[0x80000000, 0x1000]] })
  const at = 0x80000ffc
  rig.load(at, [0x18, 0x18, 0xbc, 0x00]) // NOP, NOP, DMAMOV SAR (4 more bytes in the hole)
  rig.go(0, at)
  rig.run()
  assert.is(rig.readl(REG.CSR0) & 15, 15, 'Faulting')
  assert.is(rig.readl(REG.FTR0), 0x00010000, 'instr_fetch_err only')
  assert.is(rig.readl(REG.CPC0), at + 2, 'PC on the faulting DMAMOV')
  assert.is(rig.readl(REG.FSRC), 1)
  assert.ok(abortHigh(rig), 'irq_abort high')
  rig.kill(0)
  assert.is(rig.readl(REG.CSR0) & 15, 0, 'Stopped after DMAKILL')
  assert.is(rig.readl(REG.FTR0), 0)
  assert.is(rig.readl(REG.FSRC), 0)
  assert.not.ok(abortHigh(rig), 'irq_abort low')
  // The channel works again.
  start(rig, [NOP, END], 0, 0x80000100)
  assert.is(rig.readl(REG.CSR0) & 15, 0)
  assert.is(rig.readl(REG.FTR0), 0)
})

test('a program in an unmapped region faults on its first instruction', () => {
  const rig = new Pl330Rig()
  rig.go(3, 0x10000000)
  rig.run()
  assert.is(rig.readl(0x100 + 3 * 8) & 15, 15)
  assert.is(rig.readl(0x40 + 3 * 4), 0x00010000)
  assert.is(rig.readl(0x104 + 3 * 8), 0x10000000)
  assert.is(rig.readl(REG.FSRC), 1 << 3)
})

test('store bus error: imprecise data_write_err, DAR advanced past the burst', () => {
  const rig = new Pl330Rig()
  rig.load(0x80000000, new Array(128).fill(7))
  start(rig, [MOV('CCR', CCR128), MOV('SAR', 0x80000000), MOV('DAR', 0x10000000), LD, ST, SEV(0), END])
  assert.is(rig.readl(REG.FTR0), 0x00020000, 'data_write_err')
  assert.is(rig.readl(REG.CSR0) & 15, 15)
  assert.is(rig.readl(REG.CPC0), PROG + 20, 'imprecise: PC past the DMAST')
  assert.is(rig.readl(REG.DAR0), 0x10000080)
  assert.ok(abortHigh(rig))
  assert.is(rig.readl(0x24), 0, 'the DMASEV after it never ran')
})

test('load bus error: imprecise data_read_err', () => {
  const rig = new Pl330Rig()
  start(rig, [MOV('CCR', CCR128), MOV('SAR', 0x10000000), MOV('DAR', 0x80000000), LD, ST, END])
  assert.is(rig.readl(REG.FTR0), 0x00040000, 'data_read_err')
  assert.is(rig.readl(REG.CPC0), PROG + 19, 'PC past the DMALD')
})

test('read-as-zero instruction fetch decodes as DMAEND: stops like DMAEND, no abort, no event', () => {
  // A port that answers instruction fetches in one window with zeros (an SMMU terminating with RAZ).
  const rig = new Pl330Rig({
    port: sys => {
      const bus = sys.bus
      const port: MasterPort = {
        read(addr: number, dst: Uint8Array, off: number, len: number, attrs: BusAttrs): number {
          if (attrs.instr && addr >= 0x80f00000 && addr < 0x80f01000) {
            dst.fill(0, off, off + len)
            return len
          }
          return bus.read(addr, dst, off, len, attrs)
        },
        write: (a, s, o, l, at) => bus.write(a, s, o, l, at),
        get resp() { return bus.resp },
        get faultAddr() { return bus.faultAddr },
        onResume() {},
      }
      return port
    },
  })
  rig.writel(0x20, 1)
  start(rig, [MOV('CCR', CCR128), SEV(0), END])
  assert.is(rig.readl(REG.CSR0) & 15, 0, 'Stopped')
  assert.is(rig.readl(REG.FTR0), 0)
  assert.is(rig.readl(REG.CPC0), PROG, 'stopped on the first byte')
  assert.is(rig.readl(0x408), 0x00800200, 'the DMAMOV never ran: CCR at reset')
  assert.is(rig.readl(0x24), 0, 'no DMASEV')
  assert.not.ok(abortHigh(rig))
})

test('DMAST before any DMALD: st_data_unavailable, precise', () => {
  const rig = new Pl330Rig()
  start(rig, [MOV('CCR', CCR128), MOV('DAR', 0x80000000), ST, END])
  assert.is(rig.readl(REG.FTR0), 0x00002000, 'bit 13 st_data_unavailable')
  assert.is(rig.readl(REG.CPC0), PROG + 12, 'PC on the DMAST')
})

test('MFIFO overflow: the 17th 128-byte DMALD exceeds 2 KiB: mfifo_err (bit 12)', () => {
  const rig = new Pl330Rig()
  start(rig, [MOV('CCR', CCR128), MOV('SAR', 0x80000000), LP(0, 17), LD, LPEND(0, 1), END])
  assert.is(rig.readl(REG.FTR0), 0x00001000)
  assert.is(rig.readl(0x40c), 0, 'LC0 ran down to the 17th iteration')
  assert.is(rig.readl(REG.SAR0), 0x80000000 + 16 * 128, 'the overflowing DMALD read nothing')
  assert.is(rig.readl(REG.CPC0), PROG + 15, 'imprecise: PC past the DMALD')
})

test('16 loads fill the 2 KiB MFIFO exactly; 16 stores drain it', () => {
  const rig = new Pl330Rig()
  rig.load(0x80000000, Array.from({ length: 2048 }, (_, i) => i & 0xff))
  start(rig, [MOV('CCR', CCR128), MOV('SAR', 0x80000000), MOV('DAR', 0x80010000), LP(0, 16), LD, LPEND(0, 1), LP(0, 16), ST, LPEND(0, 1), END])
  assert.is(rig.readl(REG.FTR0), 0)
  assert.is(rig.sys.memory.read8(0x80010000 + 2047), 2047 & 0xff)
})

test('undefined opcode: undef_instr, precise', () => {
  const rig = new Pl330Rig()
  start(rig, [0x18, 0x02, 0x00])
  assert.is(rig.readl(REG.FTR0), 1)
  assert.is(rig.readl(REG.CPC0), PROG + 1)
})

test('operand_invalid: DMAMOV to rd 3, DMASEV beyond num_events', () => {
  const rig = new Pl330Rig({ config: { numEvents: 4 } })
  start(rig, [0xbc, 0x03, 0, 0, 0, 0, 0x00])
  assert.is(rig.readl(REG.FTR0), 2)
  start(rig, [SEV(4), END], 1, PROG + 0x100)
  assert.is(rig.readl(0x44), 2)
})

test('a channel executing DMAGO: undef_instr', () => {
  const rig = new Pl330Rig()
  start(rig, [{ op: 'DMAGO', length: 6, channel: 1, ns: false, addr: 0 }, END])
  assert.is(rig.readl(REG.FTR0), 1)
})

test('debug interface: only DMAGO/DMASEV/DMAKILL; DMAEND faults the manager with undef_instr|dbg_instr', () => {
  const rig = new Pl330Rig()
  rig.debug(0x00000000) // DMAEND on the manager
  assert.is(rig.readl(REG.FTRD), 0x40000001)
  assert.is(rig.readl(REG.FSRD), 1)
  assert.is(rig.readl(0x000) & 15, 15, 'DSR Faulting')
  assert.ok(abortHigh(rig))
  rig.kill('manager')
  assert.is(rig.readl(REG.FTRD), 0)
  assert.is(rig.readl(REG.FSRD), 0)
  assert.not.ok(abortHigh(rig))
  // DMAGO with the channel thread bit set (as VCML's test does) faults that channel.
  rig.debug(0x00a00201, 0x80000000)
  assert.is(rig.readl(0x48), 0x40000001)
  // DMAGO to channel 8 of an 8-channel DMAC (byte 1 reserved bits set): operand_invalid|dbg_instr on the manager.
  rig.debug(0x08a00000, 0x80000000)
  assert.is(rig.readl(REG.FTRD), 0x40000002)
})

test('DMAGO to a channel the configuration lacks: operand_invalid on the manager', () => {
  const rig = new Pl330Rig({ config: { numChannels: 2 } })
  rig.go(5, PROG)
  assert.is(rig.readl(REG.FTRD), 0x40000002)
  assert.is(rig.readl(0x100 + 5 * 8), 0, 'absent channel registers read as zero')
})

test('non-secure channel: DMAMOV CCR with secure prot bits → ch_rdwr_err; non-secure CCR is fine', () => {
  const rig = new Pl330Rig()
  start(rig, [MOV('CCR', 0), END], 0, PROG, true)
  assert.is(rig.readl(REG.FTR0), 0x80)
  assert.is(rig.readl(REG.CSR0) >>> 21 & 1, 1, 'CSR.CNS')
  start(rig, [MOV('CCR', 0x00bdc2f7), END], 1, PROG + 0x100, true)
  assert.is(rig.readl(0x44), 0)
  assert.is(rig.readl(0x408 + 0x20), 0x00bdc2f7)
  start(rig, [MOV('CCR', 0), END], 2, PROG + 0x200, false)
  assert.is(rig.readl(0x48), 0, 'secure channel may program secure accesses')
})

test('non-secure manager: DMAGO of a secure channel → dmago_err; NS DMAGO works', () => {
  const rig = new Pl330Rig({ config: { mgrNsAtReset: true }, secureCpu: false })
  assert.is(rig.readl(0x000) >>> 9 & 1, 1, 'DSR.DNS')
  rig.load(PROG, [0x00])
  rig.go(0, PROG, false)
  assert.is(rig.readl(REG.FTRD), 0x40000010)
  rig.kill('manager')
  rig.go(0, PROG, true)
  rig.run()
  assert.is(rig.readl(REG.FTRD), 0)
  assert.is(rig.readl(REG.CSR0) & 15, 0)
})

test('non-secure thread on a secure event: evnt_err (bit 5)', () => {
  const rig = new Pl330Rig({ config: { irqNs: 0b10 } })
  start(rig, [SEV(1), SEV(0), END], 0, PROG, true)
  assert.is(rig.readl(REG.FTR0), 0x20)
  assert.is(rig.readl(REG.CPC0), PROG + 2, 'SEV 1 (non-secure event) ran, SEV 0 faulted')
  assert.is(rig.readl(0x24), 0b10)
})

test('faulting is sticky: DMAGO on a faulting channel is a NOP; a second fault adds no bits', () => {
  const rig = new Pl330Rig()
  start(rig, [0x02])
  rig.load(PROG + 0x100, [0x00])
  rig.go(0, PROG + 0x100)
  rig.run()
  assert.is(rig.readl(REG.CSR0) & 15, 15)
  assert.is(rig.readl(REG.CPC0), PROG)
  assert.is(rig.readl(REG.FTR0), 1)
})

test('a stalled fetch waits in Cache miss and completes after the port resumes', () => {
  let stall = true
  let resume: (() => void) | undefined
  const rig = new Pl330Rig({
    port: sys => ({
      read(addr, dst, off, len, attrs) {
        if (stall) return 0
        return sys.bus.read(addr, dst, off, len, attrs)
      },
      write: (a, s, o, l, at) => sys.bus.write(a, s, o, l, at),
      get resp() { return stall ? BusResp.STALL : sys.bus.resp },
      get faultAddr() { return sys.bus.faultAddr },
      onResume(l: () => void) { resume = l },
    }),
  })
  rig.load(PROG, encodeAll([NOP, END]))
  rig.go(0, PROG)
  rig.run()
  assert.is(rig.readl(REG.CSR0) & 15, 2, 'Cache miss')
  stall = false
  resume!()
  rig.run()
  assert.is(rig.readl(REG.CSR0) & 15, 0)
  assert.is(rig.readl(REG.CPC0), PROG + 1)
})

test('DMAKILL of a thread whose access is stalled: Killing until the port resumes', () => {
  let stall = false
  let resume: (() => void) | undefined
  const rig = new Pl330Rig({
    port: sys => ({
      read(addr, dst, off, len, attrs) {
        if (stall && !attrs.instr) return 0
        return sys.bus.read(addr, dst, off, len, attrs)
      },
      write: (a, s, o, l, at) => sys.bus.write(a, s, o, l, at),
      get resp() { return stall ? BusResp.STALL : sys.bus.resp },
      get faultAddr() { return sys.bus.faultAddr },
      onResume(l: () => void) { resume = l },
    }),
  })
  stall = true
  start(rig, [MOV('CCR', CCR128), MOV('SAR', 0x80000000), LD, END])
  assert.is(rig.readl(REG.CSR0) & 15, 1, 'Executing with the load outstanding')
  assert.is(rig.readl(REG.CPC0), PROG + 12)
  rig.kill(0)
  assert.is(rig.readl(REG.CSR0) & 15, 8, 'Killing')
  stall = false
  resume!()
  assert.is(rig.readl(REG.CSR0) & 15, 0, 'Stopped')
})

test.run()
