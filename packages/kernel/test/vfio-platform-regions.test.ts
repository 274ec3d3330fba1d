// Region rules of vfio-platform on hand-made platform devices (spec vfio.md
// §10.2, §10.4–10.6, §15 invariants 23–25): read-only MEM, IO (PIO)
// resources, a window that is not page aligned, a sub-page region; the
// greedy 4/2/1 access law as a property against a model; and open-time
// failures (a failing required reset, a device without `compatible`).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE,
  VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_SET_IRQS,
  VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
  vfio_region_info,
} from '@vfio-sim/uapi'
import { BusResp, type MmioDevice } from '@vfio-sim/sim'
import { Kernel, type KernelProfile } from '../src/kernel.ts'
import { spawnTask } from '../src/kernel/fork.ts'
import { platformDeviceRegister, type PlatformDevice } from '../src/drivers/base/platform.ts'
import { IORESOURCE_MEM } from '../src/drivers/base/core.ts'
import { iommuGroupAddDevice, iommuGroupAlloc } from '../src/drivers/iommu/iommu.ts'
import { vfioPlatformInit } from '../src/drivers/vfio/platform/vfio_platform.ts'
import { vfioPlatformRegisterReset } from '../src/drivers/vfio/platform/vfio_platform_common.ts'
import { IORESOURCE_IO, IORESOURCE_READONLY } from '../src/drivers/vfio/platform/vfio_platform_private.ts'
import { sysMmap, sysRead, sysWrite } from '../src/syscalls/index.ts'
import { errno } from './errno-of.ts'
import { echo } from './driver-core-helpers.ts'
import { bind, ioctlStruct, openDeviceFd, setup, type Rig } from './vfio-platform-harness.ts'

const RO_BASE = 0x1c00_0000
const ODD_BASE = 0x1c01_0800
const SMALL_BASE = 0x1c02_0000

/** A device that logs every access and answers reads with a pattern of the address. */
function recorder(log: string[]): MmioDevice {
  return {
    name: 'recorder',
    size: 0x1000,
    resp: BusResp.OKAY,
    read(off, size) {
      log.push(`r${size}@${off.toString(16)}`)
      return 0
    },
    write(off, size) {
      log.push(`w${size}@${off.toString(16)}`)
    },
  }
}

/** rfc-v5 kernel with a platform device "test-dev" of the given resources, bound to vfio-platform. */
function custom(profile: KernelProfile, resources: { start: number; size: number; flags: number }[], log: string[] = []) {
  const k = new Kernel({ profile })
  k.sys.bus.addRam('dram', 0x8000_0000, 0x10_0000)
  for (const r of resources) if ((r.flags & IORESOURCE_MEM) !== 0) k.sys.bus.addDevice(r.start & ~0xfff, recorder(log), `rec@${r.start.toString(16)}`)
  const dev = platformDeviceRegister(k, 'test-dev', { resources: resources.map(r => ({ start: BigInt(r.start), end: BigInt(r.start + r.size - 1), flags: r.flags })) }) as PlatformDevice
  iommuGroupAddDevice(iommuGroupAlloc(k), dev)
  vfioPlatformInit(k)
  echo(k, 'bus/platform/devices/test-dev/driver_override', 'vfio-platform')
  echo(k, 'bus/platform/drivers_probe', 'test-dev')
  const task = spawnTask(k)
  const scratch = sysMmap(k, task, 0, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const r = { k, dev, task, scratch, dma: undefined } as unknown as Rig
  return { r, k, dev, log }
}

function regionInfo(r: Rig, fd: number, index: number) {
  const b = vfio_region_info.encode({ argsz: 32, flags: 0, index, cap_offset: 0, size: 0n, offset: 0n })
  const e = errno(() => ioctlStruct(r, fd, VFIO_DEVICE_GET_REGION_INFO, b))
  return { e, v: vfio_region_info.decode(b) }
}

const RESOURCES = [
  { start: RO_BASE, size: 0x1000, flags: IORESOURCE_MEM | IORESOURCE_READONLY },
  { start: 0x3f8, size: 8, flags: IORESOURCE_IO },
  { start: ODD_BASE, size: 0x800, flags: IORESOURCE_MEM },
  { start: SMALL_BASE, size: 0x100, flags: IORESOURCE_MEM },
]

test('region flags: READ-only MEM has no WRITE; IO regions have flags 0; MMAP only for page-aligned base and size; offsets i << 40', () => {
  const { r, dev } = custom('rfc-v5', RESOURCES)
  assert.ok(dev.driver !== null, 'bound')
  const fd = openDeviceFd(r)
  const want = [
    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP,
    0,
    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
  ]
  for (let i = 0; i < 4; i++) {
    const { e, v } = regionInfo(r, fd, i)
    assert.is(e, 'OK')
    assert.is(v.flags, want[i], `region ${i}`)
    assert.is(v.offset, BigInt(i) << 40n)
    assert.is(v.size, BigInt(RESOURCES[i]!.size))
  }
  assert.is(regionInfo(r, fd, 4).e, 'EINVAL')
})

test('read/write: no WRITE flag → EINVAL on write; a PIO region → EINVAL both ways', () => {
  const { r } = custom('rfc-v5', RESOURCES)
  const fd = openDeviceFd(r)
  assert.is(errno(() => sysRead(r.task, fd, new Uint8Array(4), 0)), 'OK')
  assert.is(errno(() => sysWrite(r.task, fd, new Uint8Array(4), 0)), 'EINVAL')
  assert.is(errno(() => sysRead(r.task, fd, new Uint8Array(4), 2 ** 40)), 'EINVAL')
  assert.is(errno(() => sysWrite(r.task, fd, new Uint8Array(4), 2 ** 40)), 'EINVAL')
})

test('mmap: PROT_WRITE on a read-only region, a region without MMAP, a PIO region → EINVAL; PROT_READ of the RO region works', () => {
  const { r, k } = custom('rfc-v5', RESOURCES)
  const fd = openDeviceFd(r)
  const mmap = (prot: number, off: number) => errno(() => sysMmap(k, r.task as never, 0, 0x1000, prot, MAP_SHARED, fd, off))
  assert.is(mmap(PROT_READ | PROT_WRITE, 0), 'EINVAL')
  assert.is(mmap(PROT_READ, 1 * 2 ** 40), 'EINVAL')
  assert.is(mmap(PROT_READ, 2 * 2 ** 40), 'EINVAL')
  assert.is(mmap(PROT_READ, 3 * 2 ** 40), 'EINVAL')
  assert.is(mmap(PROT_READ, 0), 'OK')
})

test('a device with no interrupts: GET_IRQ_INFO index 0 and SET_IRQS → EINVAL', () => {
  const { r } = custom('rfc-v5', RESOURCES)
  const fd = openDeviceFd(r)
  const info = new Uint8Array(16)
  new DataView(info.buffer).setUint32(0, 16, true)
  assert.is(errno(() => ioctlStruct(r, fd, VFIO_DEVICE_GET_IRQ_INFO, info)), 'EINVAL')
  const set = new Uint8Array(20)
  new DataView(set.buffer).setUint32(0, 20, true)
  new DataView(set.buffer).setUint32(4, 0x21, true)
  new DataView(set.buffer).setUint32(16, 1, true)
  assert.is(errno(() => ioctlStruct(r, fd, VFIO_DEVICE_SET_IRQS, set)), 'EINVAL')
  const di = new Uint8Array(16)
  new DataView(di.buffer).setUint32(0, 16, true)
  ioctlStruct(r, fd, VFIO_DEVICE_GET_INFO, di)
  assert.equal([...di.subarray(8, 16)], [4, 0, 0, 0, 0, 0, 0, 0], '4 regions, 0 IRQs')
})

/** Model of the access sequence: greedy 4/2/1 by alignment, clipped at the region end. */
function modelAccesses(off: number, n: number, size: number, dir: 'r' | 'w'): string[] {
  const out: string[] = []
  let o = off
  let left = Math.min(n, size - off)
  while (left > 0) {
    const w = left >= 4 && o % 4 === 0 ? 4 : left >= 2 && o % 2 === 0 ? 2 : 1
    out.push(`${dir}${w}@${o.toString(16)}`)
    o += w
    left -= w
  }
  return out
}

test('property: pread/pwrite perform the greedy 4/2/1 access sequence, clipped at the end, never 8 bytes', () => {
  const log: string[] = []
  const { r } = custom('rfc-v5', [{ start: RO_BASE + 0x1000, size: 0x1000, flags: IORESOURCE_MEM }], log)
  const fd = openDeviceFd(r)
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x1003 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (off, n, isRead) => {
    log.length = 0
    const buf = new Uint8Array(n)
    const res = errno(() => (isRead ? sysRead(r.task, fd, buf, off) : sysWrite(r.task, fd, buf, off)))
    if (off >= 0x1000) {
      assert.is(res, 'EINVAL')
      assert.equal(log, [])
      return
    }
    assert.is(res, 'OK')
    assert.equal(log, modelAccesses(off, n, 0x1000, isRead ? 'r' : 'w'))
  }), { numRuns: 300 })
})

test('upstream: a failing reset with reset_required fails the open (its errno) and logs why; the device stays closed', () => {
  const r = setup({ bind: false, pl330Reset: false })
  vfioPlatformRegisterReset(r.k, 'arm,pl330', () => -5)
  bind(r.k)
  assert.is(errno(() => openDeviceFd(r)), 'EIO')
  assert.ok(r.k.dmesg().some(l => l.endsWith('vfio-platform 2c0a0000.dma: VFIO: reset driver is required and reset call failed in open (-5) ')), r.k.dmesg().join('\n'))
  assert.equal(r.k.irq.actionNames(32 + 88), [], 'IRQs released again')
})

test('upstream: a device without a compatible string cannot be probed ("Cannot retrieve compat", -EINVAL)', () => {
  const { dev, k } = custom('upstream', RESOURCES)
  assert.is(dev.driver, null)
  assert.ok(k.dmesg().some(l => l.endsWith('vfio-platform test-dev: VFIO: Cannot retrieve compat for test-dev')), k.dmesg().join('\n'))
})

test.run()
