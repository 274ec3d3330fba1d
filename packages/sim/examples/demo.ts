/**
 * The main job, for now: a small tour of the simulation core. It builds a
 * system with DRAM and one register-mapped device, moves data across pages,
 * touches an address nothing decodes, and prints the trace it produced and
 * the device's register map. (The flagship VFIO scenario replaces this once
 * the VFIO layer lands.)
 */
import { BusResp, busAttrs, busRespName, defineRegisters, RegisterFile, SimSystem, TextSink } from '../src/index.ts'

const sys = new SimSystem()
sys.tracer.addSink(new TextSink(line => console.log('trace', line)))
sys.bus.addRam('dram', 0x8000_0000, 0x8000_0000)

const timerRegs = defineRegisters({
  name: 'demo-timer',
  size: 0x1000,
  registers: {
    CTRL: { offset: 0x0, reset: 0, fields: { ENABLE: { shift: 0, width: 1 }, IRQ_EN: { shift: 1, width: 1 } }, doc: 'control' },
    STATUS: { offset: 0x4, access: 'w1c', doc: 'bit 0: expired (write 1 to clear)' },
    COUNT: { offset: 0x8, access: 'ro', doc: 'ticks since enable' },
  },
})
let enabledAt = -1
const timer = new RegisterFile(timerRegs, {
  CTRL: { write: (_i, v) => { enabledAt = (Number(v) & 1) !== 0 ? sys.scheduler.now : -1 } },
  COUNT: { read: () => (enabledAt < 0 ? 0 : Math.floor((sys.scheduler.now - enabledAt) / 10)) },
}, e => console.log(`log   ${timerRegs.name}: ${e.kind} access at 0x${e.offset.toString(16)}`))
sys.bus.addDevice(0x1c11_0000, timer)

const attrs = busAttrs({ streamId: 0 })
const data = new TextEncoder().encode('a span that crosses a 4 KiB page boundary')
console.log(`write ${data.length} bytes at 0x80000ff0 ->`, sys.bus.write(0x8000_0ff0, data, 0, data.length, attrs), 'bytes completed')
const back = new Uint8Array(data.length)
sys.bus.read(0x8000_0ff0, back, 0, back.length, attrs)
console.log('read back:', JSON.stringify(new TextDecoder().decode(back)))
console.log('pages allocated for 2 GiB of DRAM:', sys.memory.allocatedPages)

console.log('read at 0x40000000 (nothing there) ->', sys.bus.read(0x4000_0000, back, 0, 4, attrs), 'bytes,', busRespName(sys.bus.resp))

sys.bus.writel(0x1c11_0000, 1)
sys.scheduler.runFor(1000)
console.log('timer COUNT after 1000 ns:', sys.bus.readl(0x1c11_0008))
sys.bus.readl(0x1c11_0ffc)
console.log('resp of last access:', busRespName(sys.bus.resp), sys.bus.resp === BusResp.OKAY ? '(undecoded registers read as zero)' : '')
console.log()
console.log(timerRegs.describe())
