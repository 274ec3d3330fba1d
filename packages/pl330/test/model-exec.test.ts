// Execution details: bus attributes and stream IDs of every transaction,
// unaligned and fixed bursts, endian swap, DMASTZ, loops, events and
// interrupts, peripherals, the manager thread, the watchdog.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BusAttrs, MasterPort, SimSystem } from '@vfio-sim/sim'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const MOV = (reg: 'SAR' | 'CCR' | 'DAR', imm: number): Instr => ({ op: 'DMAMOV', length: 6, reg, imm })
const LD: Instr = { op: 'DMALD', length: 1, cond: 'always' }
const ST: Instr = { op: 'DMAST', length: 1, cond: 'always' }
const STZ: Instr = { op: 'DMASTZ', length: 1 }
const END: Instr = { op: 'DMAEND', length: 1 }
const SEV = (event: number): Instr => ({ op: 'DMASEV', length: 2, event })
const WFE = (event: number): Instr => ({ op: 'DMAWFE', length: 2, event, invalidate: false })
const WFP = (periph: number, req: 'single' | 'burst' | 'periph'): Instr => ({ op: 'DMAWFP', length: 2, periph, req })
const LDP = (periph: number, cond: 'single' | 'burst'): Instr => ({ op: 'DMALDP', length: 2, periph, cond })
const STP = (periph: number, cond: 'single' | 'burst'): Instr => ({ op: 'DMASTP', length: 2, periph, cond })
const LP = (lc: 0 | 1, iterations: number): Instr => ({ op: 'DMALP', length: 2, lc, iterations })
const LPEND = (lc: 0 | 1, jump: number, forever = false): Instr => ({ op: 'DMALPEND', length: 2, lc, cond: 'always', forever, jump })
const PROG = 0x80f00000

interface Txn { write: boolean; addr: number; len: number; attrs: BusAttrs }

function recordingPort(log: Txn[]): (sys: SimSystem) => MasterPort {
  return sys => ({
    read(addr, dst, off, len, attrs) { log.push({ write: false, addr, len, attrs: { ...attrs } }); return sys.bus.read(addr, dst, off, len, attrs) },
    write(addr, src, off, len, attrs) { log.push({ write: true, addr, len, attrs: { ...attrs } }); return sys.bus.write(addr, src, off, len, attrs) },
    get resp() { return sys.bus.resp },
    get faultAddr() { return sys.bus.faultAddr },
    onResume() {},
  })
}

function run(rig: Pl330Rig, prog: Instr[], ch = 0, addr = PROG, ns = false): void {
  rig.load(addr, encodeAll(prog))
  rig.go(ch, addr, ns)
  rig.run()
}

test('fetches are instruction+privileged with the thread security; data takes CCR prot bits; stream ID per channel', () => {
  const log: Txn[] = []
  const rig = new Pl330Rig({ port: recordingPort(log) })
  // src: priv (8) + instr (10), secure; dst: NS (23), unprivileged, data. 8-byte beats ×1.
  const ccr = 0x1 | (3 << 1) | (1 << 8) | (1 << 10) | (1 << 14) | (3 << 15) | (1 << 23)
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), LD, ST, END], 2)
  const fetches = log.filter(t => t.attrs.instr && !t.write && ((t.addr & ~0xfff) >>> 0) === PROG)
  assert.ok(fetches.length >= 2)
  for (const f of fetches) {
    assert.equal(f.attrs, { instr: true, priv: true, secure: true, streamId: 2 })
    assert.is(f.len, 16, 'one 16-byte line fill')
    assert.is(f.addr % 16, 0)
  }
  const rd = log.find(t => t.addr === 0x80000000)!
  assert.equal(rd.attrs, { instr: true, priv: true, secure: true, streamId: 2 })
  const wr = log.find(t => t.write)!
  assert.equal(wr.attrs, { instr: false, priv: false, secure: false, streamId: 2 })
  assert.is(wr.len, 8)
})

test('non-secure channel fetches are non-secure; stream IDs are configurable (manager last)', () => {
  const log: Txn[] = []
  const rig = new Pl330Rig({ port: recordingPort(log), streamIds: [10, 11, 12, 13, 14, 15, 16, 17, 99], config: { bootFromPc: true, bootAddr: PROG + 0x800 } })
  rig.run()
  const mgr = log.filter(t => t.addr === PROG + 0x800)
  assert.ok(mgr.length > 0)
  assert.equal(mgr[0]!.attrs, { instr: true, priv: true, secure: true, streamId: 99 })
  run(rig, [END], 1, PROG, true)
  const f = log.filter(t => t.addr === PROG).at(-1)!
  assert.equal(f.attrs, { instr: true, priv: true, secure: false, streamId: 11 })
})

test('unaligned incrementing burst: SAR=0x..04, 8-byte beats × 4 → 28 bytes, SAR aligned +0x20 (spec §11 test 8)', () => {
  const log: Txn[] = []
  const rig = new Pl330Rig({ port: recordingPort(log) })
  rig.load(0x80000000, Array.from({ length: 64 }, (_, i) => i + 1))
  // Destination: 4-byte beats × 7.
  const ccr = 0x1 | (3 << 1) | (3 << 4) | (1 << 14) | (2 << 15) | (6 << 18) | (1 << 9) | (1 << 23)
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000004), MOV('DAR', 0x80002000), LD, ST, END])
  assert.is(rig.readl(0x40), 0, 'no fault')
  assert.is(rig.readl(0x400), 0x80000020)
  assert.is(rig.readl(0x404), 0x8000201c)
  assert.equal(Array.from(rig.sys.memory.slice(0x80002000, 29)), [...Array.from({ length: 28 }, (_, i) => i + 5), 0])
  assert.is(log.find(t => !t.attrs.instr && !t.write)!.len, 28)
})

test('fixed-address bursts: every beat at the same address; SAR/DAR unchanged', () => {
  const log: Txn[] = []
  const rig = new Pl330Rig({ port: recordingPort(log) })
  rig.sys.memory.write32(0x80000000, 0x11223344)
  // SAF (src fixed), 4-byte beats × 4; DAI 4-byte beats × 4.
  const ccr = (2 << 1) | (3 << 4) | (1 << 14) | (2 << 15) | (3 << 18) | (1 << 9) | (1 << 23)
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80003000), LD, ST, END])
  assert.is(rig.readl(0x400), 0x80000000, 'SAR fixed')
  assert.is(rig.readl(0x404), 0x80003010)
  for (let i = 0; i < 4; i++) assert.is(rig.sys.memory.read32(0x80003000 + 4 * i), 0x11223344)
  assert.is(log.filter(t => !t.attrs.instr && !t.write && t.addr === 0x80000000).length, 4, 'four single-beat reads')
})

test('endian swap (ES = 32-bit) swaps bytes within each word on the way to the destination', () => {
  const rig = new Pl330Rig()
  rig.load(0x80000000, [1, 2, 3, 4, 5, 6, 7, 8])
  const ccr = 0x1 | (3 << 1) | (1 << 14) | (3 << 15) | (1 << 9) | (1 << 23) | (2 << 28)
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), LD, ST, END])
  assert.equal(Array.from(rig.sys.memory.slice(0x80001000, 8)), [4, 3, 2, 1, 8, 7, 6, 5])
})

test('DMASTZ writes zeros without MFIFO data', () => {
  const rig = new Pl330Rig()
  rig.load(0x80001000, new Array(40).fill(0xff))
  run(rig, [MOV('CCR', 0x003dc0f7 & ~(15 << 18) | (3 << 18)), MOV('DAR', 0x80001000), STZ, END])
  assert.is(rig.readl(0x40), 0)
  assert.equal(Array.from(rig.sys.memory.slice(0x80001000, 34)), [...new Array(32).fill(0), 0xff, 0xff])
  assert.is(rig.readl(0x404), 0x80001020)
})

test('DMASTZ at an unaligned DAR: first beat partial, DAR aligned like DMAST (decision 0990; QEMU leaves DAR + 16 = …14)', () => {
  // 8-byte beats × 2 at DAR = …04: bytes 0x04..0x0f are zeroed (12 bytes, as QEMU
  // writes too); DAR = (DAR & ~7) + 16, the DMAST update (QEMU pl330_dmast), not
  // QEMU's DMASTZ update DAR + size × beats.
  const rig = new Pl330Rig()
  rig.load(0x80001000, new Array(24).fill(0xaa))
  run(rig, [MOV('CCR', (1 << 14) | (3 << 15) | (1 << 18)), MOV('DAR', 0x80001004), STZ, END])
  assert.is(rig.readl(0x40), 0)
  assert.equal(Array.from(rig.sys.memory.slice(0x80001000, 24)), [0xaa, 0xaa, 0xaa, 0xaa, ...new Array(12).fill(0), ...new Array(8).fill(0xaa)])
  assert.is(rig.readl(0x404), 0x80001010)
})

test('DMAADDH / DMAADNH (adds imm16 − 65536)', () => {
  const rig = new Pl330Rig()
  run(rig, [MOV('SAR', 0x80000000), MOV('DAR', 0x80000000), { op: 'DMAADDH', length: 3, reg: 'SAR', imm16: 0x1234 }, { op: 'DMAADNH', length: 3, reg: 'DAR', imm16: 0xfff0 }, END])
  assert.is(rig.readl(0x400), 0x80001234)
  assert.is(rig.readl(0x404), 0x7ffffff0)
})

test('event mode (INTEN=0): DMASEV wakes a DMAWFE on another channel and the event is consumed', () => {
  const rig = new Pl330Rig()
  run(rig, [WFE(3), SEV(9), END], 0, PROG)
  assert.is(rig.readl(0x100) & 15, 4, 'Waiting for event')
  assert.is((rig.readl(0x100) >>> 4) & 31, 3, 'wakeup_number')
  run(rig, [SEV(3), END], 1, PROG + 0x100)
  assert.is(rig.readl(0x100) & 15, 0, 'woke and ran to DMAEND')
  assert.is(rig.readl(0x24), 1 << 9, 'event 3 consumed; event 9 pending (no waiter)')
  assert.not.ok(rig.sys.irqc.isPending(65 + 9), 'events are not interrupts')
  // A DMAWFE for a pending event continues at once and consumes it.
  run(rig, [WFE(9), END], 2, PROG + 0x200)
  assert.is(rig.readl(0x100 + 16) & 15, 0)
  assert.is(rig.readl(0x24), 0)
})

test('interrupt mode (INTEN=1): DMASEV raises irq[n] and does not wake DMAWFE; INTCLR lowers it', () => {
  const rig = new Pl330Rig()
  rig.writel(0x20, 1 << 3)
  run(rig, [WFE(3), END], 0, PROG)
  run(rig, [SEV(3), END], 1, PROG + 0x100)
  assert.is(rig.readl(0x100) & 15, 4, 'still waiting')
  assert.is(rig.readl(0x24), 1 << 3)
  assert.is(rig.readl(0x28), 1 << 3)
  assert.ok(rig.sys.irqc.isPending(65 + 3))
  assert.ok(rig.dma.irqMask === 1 << 3)
  rig.writel(0x2c, 1 << 3)
  assert.is(rig.readl(0x24), 0)
  assert.not.ok(rig.sys.irqc.isPending(65 + 3))
  // DMASEV through the debug interface (manager) in event mode wakes the waiter.
  rig.writel(0x20, 0)
  rig.debug(0x18340000)
  rig.run()
  assert.is(rig.readl(0x100) & 15, 0)
})

test('INTCLR has no effect on a pending event', () => {
  const rig = new Pl330Rig()
  run(rig, [SEV(2), END])
  assert.is(rig.readl(0x24), 4)
  rig.writel(0x2c, 4)
  assert.is(rig.readl(0x24), 4)
})

test('peripheral: DMAWFP waits, a burst request resumes it, DMALDPB/DMASTPB acknowledge', () => {
  const rig = new Pl330Rig()
  const acks: string[] = []
  rig.dma.onPeripheralAck = (p, a) => acks.push(`${p}:${a}`)
  rig.load(0x80000000, Array.from({ length: 64 }, (_, i) => i))
  const ccr = 0x1 | (3 << 1) | (3 << 4) | (1 << 14) | (3 << 15) | (3 << 18) | (1 << 9) | (1 << 23)
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), WFP(1, 'periph'), LDP(1, 'single'), LDP(1, 'burst'), STP(1, 'burst'), END])
  assert.is(rig.readl(0x100) & 15, 7, 'Waiting for peripheral')
  assert.is((rig.readl(0x100) >>> 4) & 31, 1)
  assert.is((rig.readl(0x100) >>> 15) & 1, 1, 'dmawfp_periph')
  rig.dma.periphRequest(1, 'burst')
  rig.run()
  assert.is(rig.readl(0x100) & 15, 0)
  assert.equal(acks, ['1:burst', '1:burst'], 'LDPS is a NOP on a burst request')
  assert.is(rig.sys.memory.read8(0x80001000 + 31), 31)
  assert.is(rig.readl(0x400), 0x80000020)
})

test('peripheral: a request before DMAWFP stays pending; DMAFLUSHP clears it; DMALPFE exits on drlast', () => {
  const rig = new Pl330Rig()
  const acks: string[] = []
  rig.dma.onPeripheralAck = (p, a) => acks.push(`${p}:${a}`)
  rig.dma.periphRequest(0, 'single')
  assert.is(rig.dma.periphPendingRequest(0), 'single')
  run(rig, [{ op: 'DMAFLUSHP', length: 2, periph: 0 }, END])
  assert.is(rig.dma.periphPendingRequest(0), undefined)
  assert.equal(acks, ['0:flush'])
  // Forever loop: WFP; NOP; LPFE. Ends when a request carries drlast.
  rig.load(PROG + 0x100, encodeAll([WFP(2, 'single'), { op: 'DMANOP', length: 1 }, LPEND(0, 3, true), END]))
  rig.go(1, PROG + 0x100)
  rig.run()
  rig.dma.periphRequest(2, 'single')
  rig.run()
  assert.is(rig.readl(0x108) & 15, 7, 'back in DMAWFP')
  rig.dma.periphRequest(2, 'single', true)
  rig.run()
  assert.is(rig.readl(0x108) & 15, 0, 'loop exited on drlast')
})

test('peripheral checks: number beyond num_periph_req → operand_invalid; NS channel on secure peripheral → ch_periph_err', () => {
  const rig = new Pl330Rig({ config: { numPeriphReq: 2, periphNs: 0b10 } })
  run(rig, [WFP(2, 'single'), END], 0)
  assert.is(rig.readl(0x40), 2)
  run(rig, [WFP(0, 'single'), END], 1, PROG + 0x100, true)
  assert.is(rig.readl(0x44), 0x40)
})

test('opcode 0x29 is DMASTPS, not a DMALPEND', () => {
  const rig = new Pl330Rig()
  const acks: string[] = []
  rig.dma.onPeripheralAck = (p, a) => acks.push(`${p}:${a}`)
  rig.load(0x80000000, [9, 9, 9, 9, 9, 9, 9, 9])
  const ccr = 0x1 | (3 << 1) | (1 << 14) | (3 << 15) | (1 << 9) | (1 << 23)
  rig.load(PROG, [...encodeAll([MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), LD]), 0x29, 0x08, 0x00])
  rig.go(0, PROG)
  rig.run()
  assert.is(rig.readl(0x40), 0)
  assert.is(rig.sys.memory.read8(0x80001007), 9)
  assert.equal(acks, ['1:single'])
})

test('manager: boot_from_pc runs a manager program that starts channels; channel-only instructions are undef on it', () => {
  const rig = new Pl330Rig({ config: { bootFromPc: true, bootAddr: PROG } })
  rig.load(PROG + 0x100, encodeAll([SEV(0), END]))
  rig.load(PROG, encodeAll([{ op: 'DMAGO', length: 6, channel: 4, ns: false, addr: PROG + 0x100 }, WFE(0), LD]))
  rig.run()
  assert.is(rig.readl(0x100 + 4 * 8) & 15, 0, 'channel 4 ran')
  assert.is(rig.readl(0x000) & 15, 15, 'manager faulted on DMALD')
  assert.is(rig.readl(0x038), 1)
  assert.is(rig.readl(0x004), PROG + 8)
})

test('DMAGO on a running channel is a NOP', () => {
  const rig = new Pl330Rig()
  run(rig, [WFE(1), END], 0, PROG)
  rig.go(0, PROG + 0x100)
  assert.is(rig.readl(0x104), PROG + 2)
  assert.is(rig.readl(0x038), 0)
})

test('watchdog: a channel starved of MFIFO space gets lockup_err (WD=0) or only irq_abort (WD=1)', () => {
  for (const irqOnly of [false, true]) {
    const rig = new Pl330Rig()
    if (irqOnly) rig.writel(0xe80, 1)
    // Channel 0 fills the 2 KiB MFIFO and waits forever; channel 1 wants 128 more bytes.
    run(rig, [MOV('CCR', 0x003dc0f7), MOV('SAR', 0x80000000), LP(0, 16), LD, LPEND(0, 1), WFE(7), END], 0)
    run(rig, [MOV('CCR', 0x003dc0f7), MOV('SAR', 0x80000000), LD, END], 1, PROG + 0x100)
    assert.ok(rig.sys.irqc.isPending(64), 'irq_abort')
    if (irqOnly) {
      assert.is(rig.readl(0x44), 0)
      assert.is(rig.readl(0x108) & 15, 1, 'still Executing')
    } else {
      assert.is(rig.readl(0x44), 2 ** 31, 'lockup_err')
      assert.is(rig.readl(0x108) & 15, 15)
    }
    rig.kill(0)
    rig.run()
    if (irqOnly) assert.is(rig.readl(0x108) & 15, 0, 'space freed: channel 1 completes')
  }
})

test('status is visible while a transfer runs (virtual time advances per quantum)', () => {
  const rig = new Pl330Rig()
  rig.load(PROG, encodeAll([MOV('CCR', 0x003dc0f7), MOV('SAR', 0x81000000), MOV('DAR', 0x82000000), LP(0, 32), LP(1, 256), LD, ST, LPEND(1, 2), LPEND(0, 6), END]))
  rig.go(0, PROG)
  rig.sys.scheduler.runFor(20_000)
  assert.is(rig.readl(0x100) & 15, 1, 'Executing')
  const sar = rig.readl(0x400)
  assert.ok(sar > 0x81000000 && sar < 0x81100000, 'SAR part way')
  rig.run()
  assert.is(rig.readl(0x400), 0x81100000)
})

test('burst size wider than the data bus (16-byte beats on a 64-bit bus) → operand_invalid, precise', () => {
  const rig = new Pl330Rig()
  run(rig, [MOV('CCR', 1 | (4 << 1) | (1 << 14) | (3 << 15)), MOV('SAR', 0x80000000), LD, END])
  assert.is(rig.readl(0x40), 2)
  assert.is(rig.readl(0x104), PROG + 12)
  const wide = new Pl330Rig({ config: { dataWidthBits: 128 } })
  run(wide, [MOV('CCR', 1 | (4 << 1) | (1 << 14) | (4 << 15)), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), LD, ST, END])
  assert.is(wide.readl(0x40), 0, '16-byte beats are fine on a 128-bit bus')
  assert.is(wide.readl(0x404), 0x80001010)
})

test('DMALDS/DMASTS on a Single request move one beat; DMALPENDB falls through on Single', () => {
  const rig = new Pl330Rig()
  rig.load(0x80000000, Array.from({ length: 64 }, (_, i) => i + 1))
  const ccr = 0x1 | (2 << 1) | (3 << 4) | (1 << 14) | (2 << 15) | (3 << 18) | (1 << 9) | (1 << 23)
  const LDS: Instr = { op: 'DMALD', length: 1, cond: 'single' }
  const STS: Instr = { op: 'DMAST', length: 1, cond: 'single' }
  const LPENDB: Instr = { op: 'DMALPEND', length: 2, lc: 0, cond: 'burst', forever: false, jump: 2 }
  run(rig, [MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', 0x80001000), LP(0, 4), LDS, STS, LPENDB, END])
  assert.is(rig.readl(0x40), 0)
  assert.is(rig.readl(0x400), 0x80000004, 'one 4-byte beat loaded')
  assert.is(rig.readl(0x404), 0x80001004, 'one 4-byte beat stored')
  assert.is(rig.readl(0x40c), 3, 'the B-conditional DMALPEND did not touch LC0')
  assert.equal(Array.from(rig.sys.memory.slice(0x80001000, 5)), [1, 2, 3, 4, 0])
})

test('DMAKILL in a channel program stops the channel; the manager waits in DMAWFE with DSR.wakeup_event', () => {
  const rig = new Pl330Rig({ config: { bootFromPc: true, bootAddr: PROG + 0x800 } })
  rig.load(PROG + 0x800, encodeAll([WFE(5), END]))
  rig.run()
  assert.is(rig.readl(0x000) & 15, 4)
  assert.is((rig.readl(0x000) >>> 4) & 31, 5)
  run(rig, [{ op: 'DMAKILL', length: 1 }, SEV(5)], 0)
  assert.is(rig.readl(0x100) & 15, 0)
  assert.is(rig.readl(0x000) & 15, 4, 'the DMASEV after DMAKILL never ran')
  rig.debug(0x28340000)
  rig.run()
  assert.is(rig.readl(0x000) & 15, 0, 'manager woke and ended')
})

test('clearing an INTEN bit turns a raised interrupt into a pending event', () => {
  const rig = new Pl330Rig()
  rig.writel(0x20, 1)
  run(rig, [SEV(0), END], 0)
  assert.ok(rig.sys.irqc.isPending(65))
  rig.writel(0x20, 0)
  assert.not.ok(rig.sys.irqc.isPending(65))
  assert.is(rig.readl(0x24), 1)
  run(rig, [WFE(0), END], 1, PROG + 0x100)
  assert.is(rig.readl(0x108) & 15, 0, 'DMAWFE consumed it')
  assert.is(rig.readl(0x24), 0)
})

test('setting INTEN over a pending event raises irq[n] (irq = RIS & INTEN, decision 0990; QEMU keeps it low)', () => {
  const rig = new Pl330Rig()
  run(rig, [SEV(4), END])
  assert.is(rig.readl(0x24), 1 << 4, 'pending event')
  assert.is(rig.readl(0x28), 0)
  assert.not.ok(rig.sys.irqc.isPending(65 + 4))
  rig.writel(0x20, 1 << 4)
  assert.is(rig.readl(0x28), 1 << 4)
  assert.ok(rig.sys.irqc.isPending(65 + 4))
  // Linux's pl330_update: ES shows it, INTCLR clears it.
  rig.writel(0x2c, 1 << 4)
  assert.is(rig.readl(0x24), 0)
  assert.not.ok(rig.sys.irqc.isPending(65 + 4))
})

test('Linux on a non-secure manager: NS CCR 0x00BDC2F7, DMAGO ns, non-secure fetches and data', () => {
  const log: Txn[] = []
  const rig = new Pl330Rig({ port: recordingPort(log), config: { mgrNsAtReset: true, irqNs: 0xffff }, secureCpu: false })
  rig.load(0x80000000, new Array(4096).fill(0x5a))
  rig.writel(0x20, 1)
  run(rig, [MOV('CCR', 0x00bdc2f7), MOV('SAR', 0x80000000), MOV('DAR', 0x80100000), LP(1, 32), LD, ST, LPEND(1, 2), SEV(0), END], 0, PROG, true)
  assert.is(rig.readl(0x40), 0)
  assert.is(rig.readl(0x28), 1)
  assert.is(rig.sys.memory.read8(0x80100fff), 0x5a)
  assert.ok(log.every(t => !t.attrs.secure), 'every transaction non-secure')
})

test('trace: every instruction, fault and IRQ change is recorded on the thread tracks', () => {
  const rig = new Pl330Rig()
  const lines: string[] = []
  rig.sys.tracer.addSink({ record: r => { if (r.decl) lines.push(`${r.track} ${r.decl.name}`) } })
  rig.writel(0x20, 1)
  run(rig, [SEV(0), END], 0)
  rig.load(PROG + 0x100, [0x02])
  rig.go(1, PROG + 0x100)
  rig.run()
  assert.ok(lines.includes('pl330/ch0 pl330_insn'))
  assert.ok(lines.includes('pl330/manager pl330_irq'))
  assert.ok(lines.includes('pl330/ch1 pl330_fault'))
  assert.ok(lines.includes('pl330/ch1 pl330_state'))
})

test.run()
