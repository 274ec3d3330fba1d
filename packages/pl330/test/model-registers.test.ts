// The register map (spec §4): configuration registers derived from the
// construction-time configuration, identification registers, read-only
// behaviour, the non-secure APB view, and the generated reference page.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { busAttrs } from '@vfio-sim/sim'
import { PL330_REGS } from '../src/model/registers.ts'
import { Pl330Rig } from '../src/model/harness.ts'

test('default configuration: CR0..CR4, CRD as QEMU/Zynq encode them (n−1 counts)', () => {
  const rig = new Pl330Rig()
  // 16 events, 4 peripherals, 8 channels, periph_req present: QEMU's cfg[0] formula.
  assert.is(rig.readl(0xe00), (15 << 17) | (3 << 12) | (7 << 4) | 1)
  assert.is(rig.readl(0xe04), 0x74, '8 lines of 16 bytes')
  assert.is(rig.readl(0xe08), 0)
  assert.is(rig.readl(0xe0c), 0)
  assert.is(rig.readl(0xe10), 0)
  // 256 lines, rd_q 16, rd_cap 8, wr_q 16, wr_cap 8, 64-bit.
  assert.is(rig.readl(0xe14), (255 << 20) | (15 << 16) | (7 << 12) | (15 << 8) | (7 << 4) | 3)
})

test('Zynq-like configuration reads back as the Zynq headers say', () => {
  const rig = new Pl330Rig({ config: { numEvents: 16, numPeriphReq: 4, numChannels: 8, dataBufferLines: 128 } })
  assert.is(rig.readl(0xe14), 0x07ff7f73)
  assert.is(rig.readl(0xe00) & ~(3 << 1), 0x001e3071)
})

test('boot tie-offs: mgr_ns_at_rst, boot_en, boot_addr, INS, PNS', () => {
  const rig = new Pl330Rig({ config: { mgrNsAtReset: true, bootFromPc: true, bootAddr: 0x80000000, irqNs: 0xf0, periphNs: 0x3, numPeriphReq: 0 }, secureCpu: false })
  const cr0 = rig.readl(0xe00)
  assert.is((cr0 >>> 2) & 1, 1)
  assert.is((cr0 >>> 1) & 1, 1)
  assert.is(cr0 & 1, 0, 'no peripheral interfaces')
  assert.is((cr0 >>> 12) & 31, 0)
  assert.is(rig.readl(0xe08), 0x80000000)
  assert.is(rig.readl(0xe0c), 0xf0)
  assert.is(rig.readl(0xe10), 0x3)
})

test('identification registers: Linux AMBA id 0x00241330 (r1p1) and pcell 0xB105F00D', () => {
  const rig = new Pl330Rig()
  const b = (o: number): number => rig.readl(o) & 0xff
  const periph = b(0xfe0) | (b(0xfe4) << 8) | (b(0xfe8) << 16) | (b(0xfec) << 24)
  assert.is(periph, 0x00241330)
  assert.is(periph & 0xfffff, 0x41330, 'Linux PERIPH_ID_VAL')
  assert.is((periph >>> 20) & 0xf, 2, 'revision r1p1')
  const pcell = b(0xff0) | (b(0xff4) << 8) | (b(0xff8) << 16) | (b(0xffc) << 24)
  assert.is(pcell >>> 0, 0xb105f00d)
  assert.is(new Pl330Rig({ config: { revision: 0 } }).readl(0xfe8), 0x04)
})

test('reset values: CCR 0x00800200 on every channel, everything else 0', () => {
  const rig = new Pl330Rig()
  for (let n = 0; n < 8; n++) {
    assert.is(rig.readl(0x408 + n * 0x20), 0x00800200)
    assert.is(rig.readl(0x400 + n * 0x20), 0)
    assert.is(rig.readl(0x100 + n * 8), 0)
  }
  for (const o of [0x000, 0x004, 0x020, 0x024, 0x028, 0x030, 0x034, 0x038, 0xd00, 0xe80]) assert.is(rig.readl(o), 0, `0x${o.toString(16)}`)
})

test('the CPU cannot write SAR/DAR/CCR/LC/PC/status; INTEN and WD are writable; write-only registers read as zero', () => {
  const rig = new Pl330Rig()
  for (const o of [0x000, 0x004, 0x024, 0x028, 0x030, 0x034, 0x038, 0x040, 0x100, 0x104, 0x400, 0x404, 0x408, 0x40c, 0x410, 0xe00, 0xe14, 0xfe0]) {
    const before = rig.readl(o)
    rig.writel(o, 0xffffffff)
    assert.is(rig.readl(o), before, `0x${o.toString(16)} is read-only`)
  }
  rig.writel(0x020, 0xffffffff)
  assert.is(rig.readl(0x020), 0xffff, 'INTEN holds one bit per event')
  rig.writel(0xe80, 0xffffffff)
  assert.is(rig.readl(0xe80), 1, 'WD.wd_irq_only')
  rig.writel(0xd08, 0x12345678)
  assert.is(rig.readl(0xd08), 0)
  assert.is(rig.readl(0x02c), 0, 'INTCLR reads as zero')
})

test('channels beyond num_chnls read as zero', () => {
  const rig = new Pl330Rig({ config: { numChannels: 2 } })
  assert.is(rig.readl(0x408 + 0x20), 0x00800200)
  assert.is(rig.readl(0x408 + 2 * 0x20), 0)
  assert.is((rig.readl(0xe00) >>> 4) & 7, 1)
})

test('non-secure APB access while the manager is secure: read-as-zero, writes ignored (nssraz)', () => {
  const rig = new Pl330Rig()
  const ns = busAttrs({ priv: true, secure: false })
  assert.is(rig.sys.bus.readN(0x2c0a0000 + 0xfe0, 4, ns), 0, 'PERIPH_ID reads 0 (RK3399 symptom)')
  rig.sys.bus.writeN(0x2c0a0000 + 0x020, 4, 1, ns)
  assert.is(rig.readl(0x020), 0, 'INTEN write ignored')
  const nsRig = new Pl330Rig({ config: { mgrNsAtReset: true }, secureCpu: false })
  assert.is(nsRig.readl(0xfe0), 0x30, 'non-secure manager: the non-secure view works')
})

test('bad configurations are rejected at construction with a clear message', () => {
  assert.throws(() => new Pl330Rig({ config: { numChannels: 9 } }), /numChannels/)
  assert.throws(() => new Pl330Rig({ config: { dataWidthBits: 48 } }), /dataWidthBits/)
  assert.throws(() => new Pl330Rig({ config: { numEvents: 0 } }), /numEvents/)
})

test('docs/reference/pl330-registers.md is the table\'s describe() output', () => {
  const doc = readFileSync(new URL('../../../docs/reference/pl330-registers.md', import.meta.url), 'utf8')
  assert.is(doc, PL330_REGS.describe())
})

test('reset(): threads stop, registers return to reset values, irqs drop', () => {
  const rig = new Pl330Rig()
  rig.writel(0x20, 1)
  rig.load(0x80000000, [0x34, 0x00, 0x02])
  rig.go(0, 0x80000000)
  rig.run()
  assert.is(rig.readl(0x28), 1)
  assert.is(rig.readl(0x40), 1)
  rig.dma.reset()
  assert.is(rig.readl(0x28), 0)
  assert.is(rig.readl(0x20), 0)
  assert.is(rig.readl(0x40), 0)
  assert.is(rig.readl(0x100), 0)
  assert.not.ok(rig.sys.irqc.isPending(64))
  assert.not.ok(rig.sys.irqc.isPending(65))
})

test.run()
