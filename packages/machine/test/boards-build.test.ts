// Boards described as device trees: what each builds, the dma-pl330 driver
// really probing the PL330 model through MMIO, the seed's admin flow, and
// determinism of the boot log.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Kernel, driverCore, isKernelError, platformDriverRegister, type DeviceDriver } from '@vfio-sim/kernel'
import { boardNames, boardSource, buildBoard, buildBoardFromSource } from '../src/boards/index.ts'
import { boot } from '../src/machine.ts'

function sysWrite(k: Kernel, path: string, data: string): number | string {
  const n = k.sysfs.lookup(resolve(k, path))
  if (n === undefined || n.kind !== 'file' || n.attr.store === undefined) return 'ENOENT'
  try {
    return n.attr.store(data)
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

function sysRead(k: Kernel, path: string): string {
  const n = k.sysfs.lookup(resolve(k, path))
  return n?.kind === 'file' && n.attr.show !== undefined ? n.attr.show() : 'ENOENT'
}

/** Follows symlinks like the VFS. */
function resolve(k: Kernel, path: string): string {
  const parts = path.split('/').filter(p => p !== '')
  const out: string[] = []
  while (parts.length > 0) {
    const p = parts.shift()!
    if (p === '..') {
      out.pop()
      continue
    }
    const n = k.sysfs.lookup([...out, p].join('/'))
    if (n?.kind === 'link') parts.unshift(...n.target.split('/'))
    else out.push(p)
  }
  return out.join('/')
}

function link(k: Kernel, path: string): string | undefined {
  const n = k.sysfs.lookup(path)
  return n?.kind === 'link' ? n.target : undefined
}

const strip = (l: string): string => l.replace(/^\[[ 0-9.]+\] /, '')

test('boardNames lists the .dts boards; an unknown name is a clear error', () => {
  assert.equal(boardNames(), ['fvp-mmu400', 'fvp-mmu400-amba', 'fvp-mmu400-shared-group'])
  assert.throws(() => buildBoard(new Kernel(), 'nope'), /unknown board 'nope'; known boards: fvp-mmu400, fvp-mmu400-amba, fvp-mmu400-shared-group/)
})

test('fvp-mmu400: DRAM, SMMU, PL330 as a platform device 2c0a0000.dma bound to dma-pl330', () => {
  const k = new Kernel()
  const b = buildBoard(k, 'fvp-mmu400')
  const ram = k.sys.bus.map.filter(r => r.device === undefined)
  assert.equal(ram.map(r => [r.base, r.size]), [[0x80000000, 0x80000000]])
  assert.is(b.smmus.length, 1)
  assert.is(b.smmus[0]!.base, 0x2b400000)
  assert.is(b.dmas.length, 1)
  assert.is(b.dmas[0]!.smmu, b.smmus[0])
  assert.equal(b.dmas[0]!.irqs, [120, 121, 122, 123, 124, 140, 141, 142, 143])
  assert.equal(k.sysfs.readdir('bus/platform/devices'), ['2b400000.iommu', '2c0a0000.dma', 'soc'])
  assert.equal(k.sysfs.readdir('bus/amba/devices'), [])
  assert.is(link(k, 'bus/platform/devices/2c0a0000.dma'), '../../../devices/platform/soc/2c0a0000.dma')
  assert.is(link(k, 'devices/platform/soc/2c0a0000.dma/driver'), '../../../../bus/platform/drivers/dma-pl330')
  assert.is(sysRead(k, 'bus/platform/devices/2c0a0000.dma/modalias'), 'of:NdmaT(null)Carm,pl330\n')
  assert.is(sysRead(k, 'bus/platform/devices/2c0a0000.dma/driver_override'), '(null)\n')
  assert.equal(k.dmesg().map(strip), [
    'Machine model: FVP Base with MMU-400 and PL330 (vfio-sim fvp-mmu400)',
    'arm-smmu 2b400000.iommu: probing hardware configuration...',
    'arm-smmu 2b400000.iommu: SMMUv1 with:',
    'arm-smmu 2b400000.iommu: \tstage 1 translation',
    'arm-smmu 2b400000.iommu: \taddress translation ops',
    'arm-smmu 2b400000.iommu: \tcoherent table walk',
    'arm-smmu 2b400000.iommu: \tstream matching with 16 register groups',
    'arm-smmu 2b400000.iommu: \t8 context banks (0 stage-2 only)',
    'arm-smmu 2b400000.iommu: \tSupported page sizes: 0x40201000',
    'arm-smmu 2b400000.iommu: \tStage-1: 40-bit VA -> 40-bit IPA',
    'platform 2c0a0000.dma: Adding to iommu group 0',
    'dma-pl330 2c0a0000.dma: Loaded driver for PL330 DMAC-241330',
    'dma-pl330 2c0a0000.dma: \tDBUFF-256x8bytes Num_Chans-8 Num_Peri-4 Num_Events-16',
    'VFIO - User Level meta-driver version: 0.3',
  ])
  // Interrupts: triggers from the DT, handlers requested by the driver under the device name.
  for (const irq of b.dmas[0]!.irqs) {
    assert.is(k.sys.irqc.trigger(irq), 'level')
    assert.equal(k.irq.actionNames(irq), ['2c0a0000.dma'])
  }
  assert.is(k.sys.irqc.trigger(70), 'level')
  assert.is(b.device('2c0a0000.dma')?.name, '2c0a0000.dma')
  // The firmware tree.
  assert.is(sysRead(k, 'firmware/devicetree/base/soc/dma@2c0a0000/compatible'), 'arm,pl330\0')
  assert.is(link(k, 'devices/platform/soc/2c0a0000.dma/of_node'), '../../../../firmware/devicetree/base/soc/dma@2c0a0000')
})

test('fvp-mmu400-amba: the PL330 is an AMBA device matched by the ID read from its registers', () => {
  const k = new Kernel()
  buildBoard(k, 'fvp-mmu400-amba')
  assert.equal(k.sysfs.readdir('bus/amba/devices'), ['2c0a0000.dma'])
  assert.not.ok(k.sysfs.readdir('bus/platform/devices').includes('2c0a0000.dma'))
  assert.is(link(k, 'bus/amba/devices/2c0a0000.dma'), '../../../devices/platform/soc/2c0a0000.dma')
  assert.is(sysRead(k, 'bus/amba/devices/2c0a0000.dma/id'), '00241330\n')
  assert.is(link(k, 'devices/platform/soc/2c0a0000.dma/driver'), '../../../../bus/amba/drivers/dma-pl330')
  assert.ok(k.dmesg().map(strip).includes('dma-pl330 2c0a0000.dma: Loaded driver for PL330 DMAC-241330'))
})

test('fvp-mmu400-shared-group: two PL330s behind one SMMU, stream IDs under one SMR', () => {
  const k = new Kernel()
  const b = buildBoard(k, 'fvp-mmu400-shared-group')
  assert.equal(b.dmas.map(d => d.base), [0x2c0a0000, 0x2c0b0000])
  assert.ok(b.dmas.every(d => d.smmu === b.smmus[0]))
  assert.equal(k.sysfs.readdir('bus/platform/drivers/dma-pl330').filter(n => n.endsWith('.dma')), ['2c0a0000.dma', '2c0b0000.dma'])
  assert.match(b.source, /iommus = <&smmu 0x10 0x1f>;/)
})

test('the PL330 is really probed: a secure-only manager reads as zero and the probe fails', () => {
  const src = boardSource('fvp-mmu400').replace('vfio-sim,boot-manager-ns;', '')
  const k = new Kernel()
  buildBoardFromSource(k, 'fvp-secure', src, { iommu: false })
  assert.equal(k.dmesg().map(strip).slice(1), [
    'dma-pl330 2c0a0000.dma: PERIPH_ID 0x0 !',
    'dma-pl330 2c0a0000.dma: probe with driver dma-pl330 failed with error -22',
  ])
  assert.is(link(k, 'devices/platform/soc/2c0a0000.dma/driver'), undefined)
  // On AMBA the bus cannot even read the ID: no add uevent, the device waits on the deferred list.
  const k2 = new Kernel()
  buildBoardFromSource(k2, 'fvp-amba-secure', boardSource('fvp-mmu400-amba').replace('vfio-sim,boot-manager-ns;', ''), { iommu: false })
  assert.equal(driverCore(k2).deferredPending.map(d => d.name), ['2c0a0000.dma'])
  assert.not.ok(driverCore(k2).uevents.some(e => e.devpath === '/devices/platform/soc/2c0a0000.dma'))
})

test("the seed's flow on fvp-mmu400 with a stand-in vfio-platform", () => {
  // The driver core alone: no IOMMU and no real VFIO modules, a stand-in driver named vfio-platform.
  const k = new Kernel()
  buildBoard(k, 'fvp-mmu400', { iommu: false })
  const probes: string[] = []
  const vfio: DeviceDriver = { name: 'vfio-platform', bus: 'platform', driverManagedDma: true, probe: d => (probes.push(d.name), 0) }
  assert.is(platformDriverRegister(k, vfio), 0)
  const dev = 'bus/platform/devices/2c0a0000.dma'
  assert.is(sysWrite(k, 'bus/platform/drivers/vfio-platform/bind', '2c0a0000.dma\n'), 'ENODEV')
  assert.is(sysWrite(k, `${dev}/driver_override`, 'vfio-platform\n'), 14)
  assert.is(sysWrite(k, 'bus/platform/drivers/vfio-platform/bind', '2c0a0000.dma\n'), 'EBUSY')
  assert.is(sysWrite(k, 'bus/platform/drivers/dma-pl330/unbind', '2c0a0000.dma\n'), 13)
  // The driver freed its interrupts.
  assert.equal(k.irq.actionNames(120), [])
  assert.is(sysWrite(k, 'bus/platform/drivers_probe', '2c0a0000.dma\n'), 13)
  assert.is(link(k, 'devices/platform/soc/2c0a0000.dma/driver'), '../../../../bus/platform/drivers/vfio-platform')
  assert.equal(probes, ['2c0a0000.dma'])
  // And back to dma-pl330: it probes the hardware again.
  assert.is(sysWrite(k, 'bus/platform/drivers/vfio-platform/unbind', '2c0a0000.dma'), 12)
  assert.is(sysWrite(k, `${dev}/driver_override`, '\n'), 1)
  const n = k.dmesg().length
  assert.is(sysWrite(k, 'bus/platform/drivers/dma-pl330/bind', '2c0a0000.dma'), 12)
  assert.is(k.dmesg().slice(n).map(strip)[0], 'dma-pl330 2c0a0000.dma: Loaded driver for PL330 DMAC-241330')
})

test('dma-pl330 interrupt handler: a faulting channel is reset with DMAKILL', () => {
  const k = new Kernel()
  const b = buildBoard(k, 'fvp-mmu400')
  const dma = b.dmas[0]!
  // Run channel 0 from an address nothing decodes (SMMU in bypass → DECERR on fetch): the channel faults, irq_abort rises.
  const cpu = (off: number, v: number): void => void k.sys.bus.writeN(dma.base + off, 4, v >>> 0)
  cpu(0xd08, (0 << 24) | (0xa2 << 16)) // DMAGO ns, channel 0
  cpu(0xd0c, 0x10000000)
  cpu(0xd04, 0)
  k.sys.scheduler.runUntil(k.sys.scheduler.now + 1_000_000)
  const lines = k.dmesg().map(strip)
  // CS: state 15 (faulting) with the NS bit 21; FTC bit 16: instruction fetch error.
  assert.ok(lines.includes('dma-pl330 2c0a0000.dma: Reset Channel-0\t CS-20000f FTC-10000'), lines.join('\n'))
  assert.is(k.sys.bus.readN(dma.base + 0x34, 4), 0, 'FSC clear after DMAKILL')
})

test('boot() of each board twice: byte-identical dmesg', () => {
  for (const name of boardNames()) {
    const a = boot({ board: name }).dmesg().join('\n')
    const b = boot({ board: name }).dmesg().join('\n')
    assert.is(a, b, name)
    assert.ok(a.includes('dma-pl330 2c0a0000.dma: Loaded driver for PL330 DMAC-241330'), name)
  }
})

test('booting each board twice gives byte-identical dmesg and uevents', () => {
  for (const name of boardNames()) {
    const runs = [0, 1].map(() => {
      const k = new Kernel()
      buildBoard(k, name)
      return { dmesg: k.dmesg().join('\n'), uevents: JSON.stringify(driverCore(k).uevents) }
    })
    assert.is(runs[0]!.dmesg, runs[1]!.dmesg, name)
    assert.is(runs[0]!.uevents, runs[1]!.uevents, name)
  }
})

test.run()
