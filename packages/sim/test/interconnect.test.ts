// The interconnect: RAM and MMIO regions, DECERR for holes, SLVERR from
// devices, spans into devices split into aligned accesses.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BusResp, busAttrs, defineRegisters, Interconnect, RegisterFile, type AccessSize, type BusAttrs, type MmioDevice } from '../src/index.ts'

const A = busAttrs()

class Recorder implements MmioDevice {
  readonly name = 'rec'
  readonly size = 0x100
  resp: BusResp = BusResp.OKAY
  readonly log: string[] = []
  refuseAt = -1
  read(offset: number, size: AccessSize, _a: BusAttrs): number {
    this.log.push(`r${size}@${offset}`)
    if (offset === this.refuseAt) this.resp = BusResp.SLVERR
    return 0x04030201 & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff)
  }
  write(offset: number, size: AccessSize, value: number, _a: BusAttrs): void {
    this.log.push(`w${size}@${offset}=${value.toString(16)}`)
    if (offset === this.refuseAt) this.resp = BusResp.SLVERR
  }
}

test('a span into a device is split into naturally aligned 4/2/1-byte accesses', () => {
  const bus = new Interconnect()
  const dev = new Recorder()
  bus.addDevice(0x1000, dev)
  const src = Uint8Array.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77])
  assert.is(bus.write(0x1001, src, 0, 7, A), 7)
  assert.equal(dev.log, ['w1@1=11', 'w2@2=3322', 'w4@4=77665544'])
})

test('SLVERR from a device stops the span at that access', () => {
  const bus = new Interconnect()
  const dev = new Recorder()
  dev.refuseAt = 4
  bus.addDevice(0x1000, dev)
  const dst = new Uint8Array(8)
  assert.is(bus.read(0x1000, dst, 0, 8, A), 4)
  assert.is(bus.resp, BusResp.SLVERR)
  assert.is(bus.faultAddr, 0x1004)
  assert.is(dev.resp, BusResp.OKAY, 'the interconnect resets the device response')
})

test('holes answer DECERR; a span from RAM into a hole completes up to the hole', () => {
  const bus = new Interconnect()
  bus.addRam('ram', 0x8000_0000, 0x2000)
  const buf = new Uint8Array(0x3000).fill(7)
  assert.is(bus.write(0x8000_1000, buf, 0, 0x3000, A), 0x1000)
  assert.is(bus.resp, BusResp.DECERR)
  assert.is(bus.faultAddr, 0x8000_2000)
  assert.is(bus.readN(0x10, 4), 0)
  assert.is(bus.resp, BusResp.DECERR)
  assert.is(bus.writeN(0x10, 4, 1), BusResp.DECERR)
  assert.is(bus.read64(0x10), 0n)
  assert.is(bus.resp, BusResp.DECERR)
})

test('single accesses to RAM and to a register file; 64-bit accesses split where the table allows', () => {
  const bus = new Interconnect()
  bus.addRam('ram', 0, 0x1000)
  const t = defineRegisters({ name: 'r', size: 0x10, widths32: [4, 8], registers: { LO: { offset: 0 }, HI: { offset: 4 }, Q: { offset: 8, width: 64 } } })
  const f = new RegisterFile(t)
  bus.addDevice(0x4000, f)
  bus.writel(0x10, 0xdeadbeef)
  assert.is(bus.readl(0x10), 0xdeadbeef)
  bus.write64(0x4000, 0x1122_3344_5566_7788n)
  assert.is(f.get(t.reg.LO), 0x5566_7788)
  assert.is(f.get(t.reg.HI), 0x1122_3344)
  bus.write64(0x4008, 0xffff_0000_0000_0001n)
  assert.is(bus.read64(0x4008), 0xffff_0000_0000_0001n)
  assert.is(bus.readN(0x4008, 8), Number(0xffff_0000_0000_0001n))
})

test('a device without 64-bit accessors sees two 32-bit accesses, low word first', () => {
  const bus = new Interconnect()
  const dev = new Recorder()
  bus.addDevice(0x1000, dev)
  bus.write64(0x1008, 0xaaaa_bbbb_cccc_ddddn)
  assert.is(bus.read64(0x1010), 0x0403_0201_0403_0201n)
  assert.equal(dev.log, ['w4@8=ccccdddd', 'w4@12=aaaabbbb', 'r4@16', 'r4@20'])
})

test('overlapping regions are refused at board build time', () => {
  const bus = new Interconnect()
  bus.addRam('a', 0x1000, 0x1000)
  assert.throws(() => bus.addRam('b', 0x1800, 0x1000), /overlaps/)
  assert.throws(() => bus.addRam('c', 0, 0), RangeError)
})

test.run()
