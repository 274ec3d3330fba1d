// vfio-platform device fd (spec vfio.md §10.1–10.6, §10.10): binding through
// driver_override, GET_INFO / GET_REGION_INFO / GET_IRQ_INFO, read/write
// splitting and clipping, mmap rules, reset, and every error path with its
// exact errno.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE,
  VFIO_DEVICE_FLAGS_PLATFORM, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_IOEVENTFD, VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE,
  VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
  vfio_device_info, vfio_irq_info, vfio_region_info,
} from '@vfio-sim/uapi'
import { sysMmap, sysRead, sysWrite, sysIoctl, sysClose } from '../src/syscalls/index.ts'
import { errno } from './errno-of.ts'
import { read } from './driver-core-helpers.ts'
import { EVENT_IRQS, PL330_BASE, bind, ioctlStruct, openDeviceFd, setup, vfioDevOf, type Rig } from './vfio-platform-harness.ts'

function info(r: Rig, fd: number, argsz = 16) {
  const b = vfio_device_info.encode({ argsz, flags: 0xdead, num_regions: 77, num_irqs: 77, cap_offset: 0x1234, pad: 0x5678 })
  const e = errno(() => ioctlStruct(r, fd, VFIO_DEVICE_GET_INFO, b))
  return { e, v: vfio_device_info.decode(b) }
}

function regionInfo(r: Rig, fd: number, index: number, argsz = 32) {
  const b = vfio_region_info.encode({ argsz, flags: 0, index, cap_offset: 0xabcd, size: 0n, offset: 0n })
  const e = errno(() => ioctlStruct(r, fd, VFIO_DEVICE_GET_REGION_INFO, b))
  return { e, v: vfio_region_info.decode(b) }
}

function irqInfo(r: Rig, fd: number, index: number, argsz = 16) {
  const b = vfio_irq_info.encode({ argsz, flags: 0, index, count: 0 })
  const e = errno(() => ioctlStruct(r, fd, VFIO_DEVICE_GET_IRQ_INFO, b))
  return { e, v: vfio_irq_info.decode(b) }
}

function pread(r: Rig, fd: number, n: number, pos: number): Uint8Array | string {
  const b = new Uint8Array(n)
  let got = 0
  const e = errno(() => { got = sysRead(r.task, fd, b, pos) })
  return e === 'OK' ? b.subarray(0, got) : e
}

function pwrite(r: Rig, fd: number, data: number[], pos: number): number | string {
  let got = 0
  const e = errno(() => { got = sysWrite(r.task, fd, Uint8Array.from(data), pos) })
  return e === 'OK' ? got : e
}

// ---------------------------------------------------------------- binding

test('binding: only through driver_override; the bind creates /dev/vfio/0', () => {
  const r = setup({ bind: false })
  assert.is(r.dev.driver, null, 'registering vfio-platform binds nothing by itself (no match table)')
  assert.is(r.k.devfs.lookup('vfio/0'), undefined)
  bind(r.k)
  assert.is(r.dev.driver?.name, 'vfio-platform')
  assert.ok(r.k.devfs.lookup('vfio/0') !== undefined)
  assert.is(read(r.k, 'module/vfio_platform/parameters/reset_required'), 'Y\n')
})

test('binding: a device without an IOMMU group is refused (-EINVAL), no /dev/vfio node', () => {
  const r = setup({ iommuGroup: false })
  assert.is(r.dev.driver, null)
  assert.is(vfioDevOf(r), undefined)
  assert.equal(r.k.devfs.names().filter(n => n.startsWith('vfio/')), [])
  assert.ok(r.k.dmesg().some(l => l.includes('2c0a0000.dma') && l.includes('failed with error -22')), r.k.dmesg().join('\n'))
})

test('binding (upstream): reset_required and no reset handler for the compatible → probe fails -ENOENT', () => {
  const r = setup({ pl330Reset: false })
  assert.is(r.dev.driver, null)
  const log = r.k.dmesg()
  assert.ok(log.some(l => l.endsWith('vfio-platform 2c0a0000.dma: VFIO: No reset function found for device 2c0a0000.dma')), log.join('\n'))
  assert.ok(log.some(l => l.includes('failed with error -2')), log.join('\n'))
})

test('binding (upstream): reset_required=N binds without a handler; no RESET flag, RESET is EINVAL', () => {
  const r = setup({ pl330Reset: false, resetRequired: false })
  assert.is(r.dev.driver?.name, 'vfio-platform')
  assert.is(read(r.k, 'module/vfio_platform/parameters/reset_required'), 'N\n')
  const fd = openDeviceFd(r)
  assert.ok(r.k.dmesg().some(l => l.endsWith('vfio-platform 2c0a0000.dma: VFIO: no reset function found!')))
  assert.is(info(r, fd).v.flags, VFIO_DEVICE_FLAGS_PLATFORM)
  assert.is(errno(() => sysIoctl(r.task, fd, VFIO_DEVICE_RESET, 0)), 'EINVAL')
})

test('binding (rfc-v5): no reset support at all: binds without a handler, flags PLATFORM, RESET is EINVAL', () => {
  const r = setup({ profile: 'rfc-v5' })
  assert.is(r.dev.driver?.name, 'vfio-platform')
  const fd = openDeviceFd(r)
  assert.is(info(r, fd).v.flags, VFIO_DEVICE_FLAGS_PLATFORM)
  assert.is(errno(() => sysIoctl(r.task, fd, VFIO_DEVICE_RESET, 0)), 'EINVAL')
  assert.not.ok(r.k.dmesg().some(l => l.includes('reset')), 'no reset is attempted at open')
})

// ---------------------------------------------------------------- GET_INFO

test('GET_INFO: PLATFORM|RESET, 1 region, 9 IRQs; 16 bytes copied back, cap_offset untouched', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const { e, v } = info(r, fd, 24)
  assert.is(e, 'OK')
  assert.is(v.flags, VFIO_DEVICE_FLAGS_PLATFORM | VFIO_DEVICE_FLAGS_RESET)
  assert.is(v.num_regions, 1)
  assert.is(v.num_irqs, 9)
  assert.is(v.argsz, 24)
  assert.is(v.cap_offset, 0x1234)
  assert.is(v.pad, 0x5678)
})

test('GET_INFO: argsz < 16 → EINVAL, nothing written', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const { e, v } = info(r, fd, 15)
  assert.is(e, 'EINVAL')
  assert.is(v.flags, 0xdead)
})

test('GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS: a bad user pointer → EFAULT', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  for (const cmd of [VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS]) {
    assert.is(errno(() => sysIoctl(r.task, fd, cmd, 0x10)), 'EFAULT', `cmd 0x${cmd.toString(16)}`)
  }
})

test('SET_IRQS: header readable but the data[] past it is not → EFAULT (memdup_user)', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  // The 20-byte header ends exactly at the end of the 2-page scratch mapping.
  const at = r.scratch + 0x2000 - 20
  const hdr = new Uint8Array(20)
  const v = new DataView(hdr.buffer)
  v.setUint32(0, 24, true) // argsz covers one s32
  v.setUint32(4, 0x24, true) // DATA_EVENTFD | ACTION_TRIGGER
  v.setUint32(8, 1, true)
  v.setUint32(16, 1, true)
  r.task.mm.copyToUser(at, hdr)
  assert.is(errno(() => sysIoctl(r.task, fd, VFIO_DEVICE_SET_IRQS, at)), 'EFAULT')
})

// ---------------------------------------------------------------- GET_REGION_INFO

test('GET_REGION_INFO: region 0 = the 4 KiB register window: R|W|MMAP, offset 0; index and cap_offset echoed', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const { e, v } = regionInfo(r, fd, 0)
  assert.is(e, 'OK')
  assert.is(v.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP)
  assert.is(v.size, 0x1000n)
  assert.is(v.offset, 0n)
  assert.is(v.index, 0)
  assert.is(v.cap_offset, 0xabcd)
})

test('GET_REGION_INFO: index ≥ num_regions → EINVAL; argsz < 32 → EINVAL', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  assert.is(regionInfo(r, fd, 1).e, 'EINVAL')
  assert.is(regionInfo(r, fd, 0xffffffff).e, 'EINVAL')
  assert.is(regionInfo(r, fd, 0, 31).e, 'EINVAL')
})

// ---------------------------------------------------------------- GET_IRQ_INFO

test('GET_IRQ_INFO: PL330 lines are levels: EVENTFD|MASKABLE|AUTOMASKED, count 1, in DT order', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  for (let i = 0; i < 9; i++) {
    const { e, v } = irqInfo(r, fd, i)
    assert.is(e, 'OK')
    assert.is(v.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED)
    assert.is(v.count, 1)
    assert.is(v.index, i)
  }
  assert.ok(r.k.irq.actionNames(EVENT_IRQS[0]!).includes(`vfio-irq[${EVENT_IRQS[0]}](2c0a0000.dma)`))
})

test('GET_IRQ_INFO: an edge line is EVENTFD only upstream, EVENTFD|MASKABLE in rfc-v5', () => {
  const up = setup({ edgeIrq: true })
  assert.is(irqInfo(up, openDeviceFd(up), 9).v.flags, VFIO_IRQ_INFO_EVENTFD)
  const v5 = setup({ edgeIrq: true, profile: 'rfc-v5' })
  const fd5 = openDeviceFd(v5)
  assert.is(irqInfo(v5, fd5, 9).v.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE)
  assert.is(irqInfo(v5, fd5, 0).v.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED)
})

test('GET_IRQ_INFO: index ≥ num_irqs → EINVAL; argsz < 16 → EINVAL', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  assert.is(irqInfo(r, fd, 9).e, 'EINVAL')
  assert.is(irqInfo(r, fd, 0, 15).e, 'EINVAL')
})

test('unknown device ioctls → ENOTTY', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  assert.is(errno(() => sysIoctl(r.task, fd, VFIO_DEVICE_IOEVENTFD, 0)), 'ENOTTY')
  assert.is(errno(() => sysIoctl(r.task, fd, 0x1234, 0)), 'ENOTTY')
})

// ---------------------------------------------------------------- read / write

test('pread: register values as the bus has them (PERIPH_ID at 0xfe0), little-endian bytes', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const b = pread(r, fd, 16, 0xfe0)
  assert.instance(b, Uint8Array)
  const want: number[] = []
  for (let i = 0; i < 4; i++) {
    const v = r.k.sys.bus.readN(PL330_BASE + 0xfe0 + 4 * i, 4)
    want.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24)
  }
  assert.equal([...(b as Uint8Array)], want)
  assert.is((b as Uint8Array)[0], 0x30)
})

test('read/write are split 4/2/1 by alignment (never 8) and clipped at the region end', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const bus = r.k.sys.bus
  const seen: string[] = []
  const readN = bus.readN.bind(bus)
  const writeN = bus.writeN.bind(bus)
  bus.readN = ((a: number, w: 1 | 2 | 4 | 8, ...rest: unknown[]) => { seen.push(`r${w}@${(a - PL330_BASE).toString(16)}`); return (readN as (...x: unknown[]) => number)(a, w, ...rest) }) as typeof bus.readN
  bus.writeN = ((a: number, w: 1 | 2 | 4 | 8, v: number, ...rest: unknown[]) => { seen.push(`w${w}@${(a - PL330_BASE).toString(16)}`); return (writeN as (...x: unknown[]) => number)(a, w, v, ...rest) }) as typeof bus.writeN
  const got = pread(r, fd, 11, 0xfe1)
  assert.is((got as Uint8Array).length, 11)
  assert.equal(seen, ['r1@fe1', 'r2@fe2', 'r4@fe4', 'r4@fe8'])
  seen.length = 0
  // 16 bytes requested 8 before the end: 8 transferred as two 32-bit reads.
  assert.is((pread(r, fd, 16, 0xff8) as Uint8Array).length, 8)
  assert.equal(seen, ['r4@ff8', 'r4@ffc'])
  seen.length = 0
  assert.is(pwrite(r, fd, [1, 2, 3], 0x21), 3)
  assert.equal(seen, ['w1@21', 'w2@22'])
  seen.length = 0
  assert.is(pwrite(r, fd, [1, 0, 0, 0, 0, 0, 0, 0, 0], 0xffb), 5)
  assert.equal(seen, ['w1@ffb', 'w4@ffc'])
})

test('pwrite reaches the register: INTEN written through the fd reads back through the bus', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  assert.is(pwrite(r, fd, [0x05, 0, 0, 0], 0x20), 4)
  assert.is(r.k.sys.bus.readN(PL330_BASE + 0x20, 4), 5)
  assert.equal([...(pread(r, fd, 4, 0x20) as Uint8Array)], [5, 0, 0, 0])
})

test('read/write errors: off ≥ size, a missing region, a negative position → EINVAL; count 0 → 0', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  assert.is(pread(r, fd, 4, 0x1000), 'EINVAL')
  assert.is(pwrite(r, fd, [0], 0x1000), 'EINVAL')
  assert.is(pread(r, fd, 4, 2 ** 40), 'EINVAL')
  assert.is(pwrite(r, fd, [0], 2 ** 40 + 4), 'EINVAL')
  assert.is(pread(r, fd, 4, -1), 'EINVAL')
  assert.is((pread(r, fd, 0, 0x10) as Uint8Array).length, 0)
})

// ---------------------------------------------------------------- mmap

test('mmap: region 0 MAP_SHARED: user loads and stores are MMIO', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const va = sysMmap(r.k, r.task, 0, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
  const mm = r.task.mm as unknown as { load(a: number, s: 1 | 2 | 4): number; store(a: number, s: 1 | 2 | 4, v: number): void }
  assert.is(mm.load(va + 0xfe0, 4), 0x30)
  mm.store(va + 0x20, 4, 0x3)
  assert.is(r.k.sys.bus.readN(PL330_BASE + 0x20, 4), 3)
  assert.is(mm.load(va + 0x20, 4), 3)
})

test('mmap errors → EINVAL: MAP_PRIVATE, beyond the region, a region that does not exist', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const mmap = (len: number, flags: number, off: number) => errno(() => sysMmap(r.k, r.task, 0, len, PROT_READ | PROT_WRITE, flags, fd, off))
  assert.is(mmap(0x1000, MAP_PRIVATE, 0), 'EINVAL')
  assert.is(mmap(0x2000, MAP_SHARED, 0), 'EINVAL')
  assert.is(mmap(0x1000, MAP_SHARED, 0x1000), 'EINVAL')
  assert.is(mmap(0x1000, MAP_SHARED, 2 ** 40), 'EINVAL')
  assert.is(mmap(0x1000, MAP_SHARED, 0), 'OK')
})

// ---------------------------------------------------------------- reset

test('RESET (upstream): the PL330 handler quiesces the model through MMIO; also at first open and last close', () => {
  const r = setup()
  const fd = openDeviceFd(r)
  const vd = vfioDevOf(r)!
  const resets = () => r.k.dmesg().filter(l => l.endsWith('vfio-platform 2c0a0000.dma: VFIO: reset')).length
  assert.is(resets(), 1, 'reset at first open')
  // Leave the DMAC dirty: interrupts enabled and one raised, a faulting channel.
  r.k.sys.bus.writeN(PL330_BASE + 0x20, 4, 0xff)
  // An undefined debug instruction (0xff) on channel 0 faults it.
  r.k.sys.bus.writeN(PL330_BASE + 0xd08, 4, (0xff << 16) | (0 << 8) | 1)
  r.k.sys.bus.writeN(PL330_BASE + 0xd0c, 4, 0)
  r.k.sys.bus.writeN(PL330_BASE + 0xd04, 4, 0)
  assert.is(r.dma.threadInfo(0)!.state, 'Faulting')
  assert.ok(r.dma.abortAsserted)
  assert.is(sysIoctl(r.task, fd, VFIO_DEVICE_RESET, 0), 0)
  assert.is(resets(), 2)
  assert.is(r.dma.threadInfo(0)!.state, 'Stopped')
  assert.not.ok(r.dma.abortAsserted)
  assert.is(r.k.sys.bus.readN(PL330_BASE + 0x20, 4), 0, 'INTEN cleared')
  assert.is(r.k.sys.bus.readN(PL330_BASE + 0x24, 4), 0, 'no event or interrupt pending')
  sysClose(r.task, fd)
  assert.is(vd.openCount, 0)
  assert.is(resets(), 3, 'reset at last close')
})

test.run()
