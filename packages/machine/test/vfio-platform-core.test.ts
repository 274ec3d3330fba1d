// vfio-platform and vfio-amba through the real VFIO core, from a booted
// board: /dev/vfio/N follows the bind, one open_device per first fd (reset at
// first open and last close), IRQ teardown on the last close, pread on the
// device fd, and vfio-amba's identity (AMBA flag, name, AMBA_NR_IRQS).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimSystem } from '@vfio-sim/sim'
import { Kernel, type KernelProfile } from '@vfio-sim/kernel'
import {
  EFD_NONBLOCK, O_RDWR,
  VFIO_DEVICE_FLAGS_AMBA, VFIO_DEVICE_FLAGS_PLATFORM, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_SET_IRQS,
  VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU,
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  vfio_device_info, vfio_irq_set,
} from '@vfio-sim/uapi'
import { Machine, buildBoard, type Process } from '../src/index.ts'

const DEV = '2c0a0000.dma'

function bootVfio(board: string, profile: KernelProfile): Machine {
  const kernel = new Kernel({ sys: new SimSystem(), profile })
  return new Machine(kernel, board, buildBoard(kernel, board, { iommu: true }))
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, v, true)
  return b
}

function busOf(board: string): { bus: string; drv: string } {
  return board.endsWith('-amba') ? { bus: 'amba', drv: 'vfio-amba' } : { bus: 'platform', drv: 'vfio-platform' }
}

function bind(p: Process, board: string): string {
  const { bus, drv } = busOf(board)
  p.writeFile(`/sys/bus/${bus}/devices/${DEV}/driver_override`, `${drv}\n`)
  p.writeFile(`/sys/bus/${bus}/drivers/dma-pl330/unbind`, `${DEV}\n`)
  p.writeFile(`/sys/bus/${bus}/drivers_probe`, `${DEV}\n`)
  return p.readlink(`/sys/bus/${bus}/devices/${DEV}/iommu_group`).split('/').pop()!
}

/** Container + group + TYPE1; returns the group fd. */
function attach(p: Process, profile: KernelProfile, group: string): number {
  if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
  const container = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${group}`, O_RDWR)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32(container))
  p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
  return g
}

function deviceFd(p: Process, g: number): number {
  return p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode(DEV + '\0'))
}

function getInfo(p: Process, dev: number) {
  const b = vfio_device_info.encode({ argsz: 24, flags: 0, num_regions: 0, num_irqs: 0, cap_offset: 0 })
  p.ioctl(dev, VFIO_DEVICE_GET_INFO, b)
  return vfio_device_info.decode(b)
}

test('/dev/vfio/N appears when the device binds to vfio-platform and goes when it unbinds', () => {
  const m = bootVfio('fvp-mmu400', 'upstream')
  const p = m.spawn()
  const before = p.readdir('/dev/vfio')
  const group = bind(p, 'fvp-mmu400')
  assert.not.ok(before.includes(group), `no /dev/vfio/${group} before the bind (${before.join(',')})`)
  assert.ok(p.readdir('/dev/vfio').includes(group))
  p.writeFile('/sys/bus/platform/drivers/vfio-platform/unbind', `${DEV}\n`)
  assert.not.ok(p.readdir('/dev/vfio').includes(group))
})

test('upstream: reset at the first open and the last close only; IRQs requested while open, freed after', () => {
  const m = bootVfio('fvp-mmu400', 'upstream')
  const p = m.spawn()
  const g = attach(p, 'upstream', bind(p, 'fvp-mmu400'))
  const resets = () => m.kernel.dmesg().filter(l => l.endsWith(`vfio-platform ${DEV}: VFIO: reset`)).length
  const abortIrq = m.hw!.dmas[0]!.irqs[0]!
  assert.equal(m.kernel.irq.actionNames(abortIrq), [], 'dma-pl330 released its IRQs at unbind')
  const a = deviceFd(p, g)
  const b = deviceFd(p, g)
  assert.is(resets(), 1)
  assert.equal(m.kernel.irq.actionNames(abortIrq), [`vfio-irq[${abortIrq}](${DEV})`])
  assert.is(getInfo(p, a).flags, VFIO_DEVICE_FLAGS_PLATFORM | VFIO_DEVICE_FLAGS_RESET)
  p.close(a)
  assert.is(resets(), 1)
  p.close(b)
  assert.is(resets(), 2)
  assert.equal(m.kernel.irq.actionNames(abortIrq), [])
})

test('pread/pwrite on the device fd reach the PL330 registers (region 0 at offset 0)', () => {
  const m = bootVfio('fvp-mmu400', 'rfc-v5')
  const p = m.spawn()
  const dev = deviceFd(p, attach(p, 'rfc-v5', bind(p, 'fvp-mmu400')))
  const id = new Uint8Array(8)
  assert.is(p.read(dev, id, 0xfe0), 8)
  assert.equal([...id], [0x30, 0, 0, 0, 0x13, 0, 0, 0])
  assert.is(p.write(dev, Uint8Array.of(0x3, 0, 0, 0), 0x20), 4)
  const inten = new Uint8Array(4)
  p.read(dev, inten, 0x20)
  assert.equal([...inten], [3, 0, 0, 0])
  const tail = new Uint8Array(64)
  assert.is(p.read(dev, tail, 0xff0), 16, 'clipped at the end of the 4 KiB region')
  assert.equal([...tail.subarray(0, 16)], [0x0d, 0, 0, 0, 0xf0, 0, 0, 0, 0x05, 0, 0, 0, 0xb1, 0, 0, 0], 'PrimeCell ID B105F00D')
})

for (const profile of ['rfc-v5', 'upstream'] as const) {
  test(`vfio-amba (${profile}): AMBA flag, one region, ${profile === 'rfc-v5' ? 2 : 9} IRQs (AMBA_NR_IRQS), IRQ names "vfio-amba-<periphid>"`, () => {
    const m = bootVfio('fvp-mmu400-amba', profile)
    const p = m.spawn()
    const dev = deviceFd(p, attach(p, profile, bind(p, 'fvp-mmu400-amba')))
    const info = getInfo(p, dev)
    assert.is(info.flags, profile === 'rfc-v5' ? VFIO_DEVICE_FLAGS_AMBA : VFIO_DEVICE_FLAGS_AMBA | VFIO_DEVICE_FLAGS_RESET)
    assert.is(info.num_regions, 1)
    assert.is(info.num_irqs, profile === 'rfc-v5' ? 2 : 9)
    const id = p.readFile(`/sys/bus/amba/devices/${DEV}/id`).trim()
    const abortIrq = m.hw!.dmas[0]!.irqs[0]!
    assert.equal(m.kernel.irq.actionNames(abortIrq), [`vfio-irq[${abortIrq}](vfio-amba-${id})`])
  })
}

test('the loopback trigger through the real device fd: automasked until an unmask eventfd is written', () => {
  const m = bootVfio('fvp-mmu400', 'upstream')
  const p = m.spawn()
  const dev = deviceFd(p, attach(p, 'upstream', bind(p, 'fvp-mmu400')))
  const efd = p.eventfd(0, EFD_NONBLOCK)
  const efdU = p.eventfd(0, EFD_NONBLOCK)
  const set = (flags: number, data?: number[]) => p.ioctl(dev, VFIO_DEVICE_SET_IRQS, vfio_irq_set.encode({ argsz: 20 + (data?.length ?? 0) * 4, flags, index: 1, start: 0, count: 1, ...(data ? { data } : {}) }))
  set(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, [efd])
  set(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, [efdU])
  set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
  set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
  const b = new Uint8Array(8)
  p.read(efd, b)
  assert.is(new DataView(b.buffer).getBigUint64(0, true), 1n)
  p.write(efdU, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]))
  set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
  p.read(efd, b)
  assert.is(new DataView(b.buffer).getBigUint64(0, true), 1n)
  assert.throws(() => p.read(efdU, b), (e: Error) => e.message.startsWith('EAGAIN'))
})

test('hand-back: after the last close and an unbind, clearing driver_override lets dma-pl330 probe the quiesced DMAC again', () => {
  const m = bootVfio('fvp-mmu400', 'upstream')
  const p = m.spawn()
  const g = attach(p, 'upstream', bind(p, 'fvp-mmu400'))
  const dev = deviceFd(p, g)
  // Leave the DMAC dirty through the device fd: all interrupts enabled.
  p.write(dev, Uint8Array.of(0xff, 0, 0, 0), 0x20)
  p.close(dev)
  p.close(g)
  const inten = m.kernel.sys.bus.readN(m.hw!.dmas[0]!.base + 0x20, 4)
  assert.is(inten, 0, 'the reset at the last close cleared INTEN')
  p.writeFile('/sys/bus/platform/drivers/vfio-platform/unbind', `${DEV}\n`)
  p.writeFile(`/sys/bus/platform/devices/${DEV}/driver_override`, '\n')
  p.writeFile('/sys/bus/platform/drivers_probe', `${DEV}\n`)
  assert.ok(p.readlink(`/sys/bus/platform/devices/${DEV}/driver`).endsWith('/dma-pl330'))
})

test.run()
