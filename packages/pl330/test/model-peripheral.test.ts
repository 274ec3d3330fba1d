// The peripheral request interface end to end, with the FIFO peripheral:
// a device-to-memory stream ends on drlast, a memory-to-device transfer
// feeds the device's data register; fault reasons are kept for users.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { FifoPeripheral } from '../src/model/peripheral.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const PERIPH = 0x30000000
const PROG = 0x80f00000
const MOV = (reg: 'SAR' | 'CCR' | 'DAR', imm: number): Instr => ({ op: 'DMAMOV', length: 6, reg, imm })

test('device → memory: DMAWFP periph; DMALDPB/DMALDPS; DMAST; DMALPFE until drlast', () => {
  const rig = new Pl330Rig()
  const dev = new FifoPeripheral(rig.dma, 1, 16)
  rig.sys.bus.addDevice(PERIPH, dev)
  // Source fixed at the data register, 4-byte beats × 4; destination incrementing, same geometry.
  const ccr = (2 << 1) | (3 << 4) | (1 << 14) | (2 << 15) | (3 << 18)
  const ccr1 = (2 << 1) | (1 << 14) | (2 << 15)
  const prog: Instr[] = [
    MOV('CCR', ccr), MOV('SAR', PERIPH), MOV('DAR', 0x80000000),
    { op: 'DMAFLUSHP', length: 2, periph: 1 },
    { op: 'DMAWFP', length: 2, periph: 1, req: 'periph' },
    { op: 'DMALDP', length: 2, periph: 1, cond: 'burst' },
    { op: 'DMAST', length: 1, cond: 'burst' },
    { op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: true, jump: 5 },
    // Tail: single requests move one 4-byte beat each (CCR with 1-beat bursts).
    MOV('CCR', ccr1),
    { op: 'DMAWFP', length: 2, periph: 1, req: 'periph' },
    { op: 'DMALDP', length: 2, periph: 1, cond: 'single' },
    { op: 'DMAST', length: 1, cond: 'single' },
    { op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: true, jump: 5 },
    { op: 'DMASEV', length: 2, event: 2 },
    { op: 'DMAEND', length: 1 },
  ]
  rig.load(PROG, encodeAll(prog))
  const data = Array.from({ length: 64 }, (_, i) => (i * 5 + 1) & 0xff)
  dev.feed(data.slice(0, 48))
  rig.go(0, PROG)
  rig.run()
  assert.is(rig.readl(0x100) & 15, 7, 'waiting for the peripheral once its FIFO is empty')
  dev.feed(data.slice(48, 64), true)
  rig.run()
  // The 64th byte's request carried drlast: the burst loop exits and the single loop waits.
  assert.is(rig.readl(0x100) & 15, 7)
  assert.equal(Array.from(rig.sys.memory.slice(0x80000000, 64)), data)
  dev.feed([0xa1, 0xa2, 0xa3, 0xa4], true)
  rig.run()
  assert.is(rig.readl(0x100) & 15, 0, 'single loop ended on drlast, DMAEND')
  assert.equal(Array.from(rig.sys.memory.slice(0x80000040, 4)), [0xa1, 0xa2, 0xa3, 0xa4])
  assert.is(rig.readl(0x24), 1 << 2)
  assert.equal(dev.acks, ['flush', 'burst', 'burst', 'burst', 'burst', 'single'])
})

test('memory → device: DMAWFP burst, DMALD, DMASTPB into the data register', () => {
  const rig = new Pl330Rig()
  const dev = new FifoPeripheral(rig.dma, 0, 8)
  rig.sys.bus.addDevice(PERIPH, dev)
  rig.load(0x80000000, [1, 2, 3, 4, 5, 6, 7, 8])
  const ccr = 1 | (2 << 1) | (1 << 4) | (2 << 15) | (1 << 18)
  rig.load(PROG, encodeAll([
    MOV('CCR', ccr), MOV('SAR', 0x80000000), MOV('DAR', PERIPH),
    { op: 'DMAWFP', length: 2, periph: 0, req: 'burst' },
    { op: 'DMALD', length: 1, cond: 'always' },
    { op: 'DMASTP', length: 2, periph: 0, cond: 'burst' },
    { op: 'DMAEND', length: 1 },
  ]))
  rig.go(0, PROG)
  rig.run()
  assert.is(rig.readl(0x100) & 15, 7)
  rig.dma.periphRequest(0, 'burst')
  rig.run()
  assert.equal(dev.received, [1, 2, 3, 4, 5, 6, 7, 8])
  assert.equal(dev.acks, ['burst'])
  assert.is(rig.readl(0x404), PERIPH, 'fixed destination')
})

test('a faulting thread says why; DMAKILL clears it', () => {
  const rig = new Pl330Rig()
  rig.load(PROG, [0x08, 0x00])
  rig.go(0, PROG)
  rig.run()
  assert.match(rig.dma.channels[0]!.faultWhy, /DMAST needs 1 bytes, the MFIFO holds 0/)
  const info = rig.dma.threadInfo(0)!
  assert.is(info.state, 'Faulting')
  assert.equal(info.faults, ['st_data_unavailable'])
  assert.is(info.pc, PROG)
  assert.is(rig.dma.threadInfo(9), undefined)
  assert.is(rig.dma.threadInfo('manager')!.state, 'Stopped')
  rig.kill(0)
  assert.is(rig.dma.channels[0]!.faultWhy, '')
})

test.run()
