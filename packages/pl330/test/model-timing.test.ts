// Virtual time: a DMASEV interrupt comes after the modelled cost of the work
// before it, not at the instant the channel started (the execution event
// ends before an instruction the outside world can see, decision 0400).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { IrqReturn } from '@vfio-sim/sim'
import { buildMemcpy } from '../src/asm/index.ts'
import { Pl330Rig, PL330_IRQ_BASE } from '../src/model/harness.ts'

test('the interrupt of a 4 KiB copy comes after its 64 bursts of 16 beats', () => {
  const rig = new Pl330Rig()
  const prog = buildMemcpy({ src: 0x8000_0000, dst: 0x8010_0000, len: 4096, event: 0, burstSize: 8, burstLen: 16 })
  rig.load(0x80f0_0000, prog.bytes)
  rig.writel(0x020, 1) // INTEN: event 0 raises irq[0]
  let irqAt = -1
  const irq0 = PL330_IRQ_BASE + 1
  rig.sys.irqc.setHandler(irq0, () => { irqAt = rig.sys.scheduler.now; rig.writel(0x02c, 1); return IrqReturn.HANDLED })
  rig.sys.irqc.enable(irq0)
  const t0 = rig.sys.scheduler.now
  rig.go(0, 0x80f0_0000)
  rig.run()
  // 32 DMALD + 32 DMAST of 16 beats each: at least 1 + 16 cycles apiece, 4 ns a cycle.
  const minNs = 64 * 17 * 4
  assert.ok(irqAt - t0 >= minNs, `irq at +${irqAt - t0} ns, expected at least ${minNs} ns`)
  assert.ok(irqAt - t0 < 2 * minNs, `irq at +${irqAt - t0} ns, expected well under ${2 * minNs} ns`)
  assert.is(rig.readl(0x100) & 15, 0, 'Stopped (DMAEND follows DMASEV in the same event)')
})

test('a channel polled while it copies is seen Executing, then Stopped', () => {
  const rig = new Pl330Rig({ config: { quantumCycles: 64 } })
  const prog = buildMemcpy({ src: 0x8000_0000, dst: 0x8010_0000, len: 64 * 1024, event: 0, burstSize: 8, burstLen: 16 })
  rig.load(0x80f0_0000, prog.bytes)
  rig.go(0, 0x80f0_0000)
  rig.sys.scheduler.runFor(2000)
  assert.is(rig.readl(0x100) & 15, 1, 'Executing 2 µs in')
  rig.run()
  assert.is(rig.readl(0x100) & 15, 0, 'Stopped at the end')
})

test.run()
