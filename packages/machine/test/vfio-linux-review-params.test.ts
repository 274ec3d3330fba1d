// vfio_iommu_type1's `dma_entry_limit` module parameter
// (drivers/vfio/vfio_iommu_type1.c: `static unsigned int dma_entry_limit
// __read_mostly = U16_MAX; module_param_named(dma_entry_limit, …, uint, 0644)`).
// vfio_iommu_type1_open copies it into `iommu->dma_avail`, so it applies to
// containers whose SET_IOMMU comes after the write; MAP_DMA is -ENOSPC once
// dma_avail is 0. The value is parsed by kstrtouint(val, 0): decimal, 0x
// hex, 0 octal, one trailing newline; junk → EINVAL, > U32_MAX → ERANGE.
// The parameter came with Linux 5.1: the rfc-v5 profile has no such file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimSystem } from '@vfio-sim/sim'
import { Kernel, type KernelProfile } from '@vfio-sim/kernel'
import {
  O_RDWR, VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER, VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU,
} from '@vfio-sim/uapi'
import { Machine, buildBoard, type Process } from '../src/index.ts'

const DEV = '2c0a0000.dma'
const PAGE = 4096
const PARAM = '/sys/module/vfio_iommu_type1/parameters/dma_entry_limit'

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return (e as { code?: string }).code ?? String(e)
  }
  return 'no error'
}

function boot(profile: KernelProfile): { m: Machine; p: Process; gid: string } {
  const kernel = new Kernel({ sys: new SimSystem(), profile })
  const m = new Machine(kernel, 'fvp-mmu400', buildBoard(kernel, 'fvp-mmu400', { iommu: true }))
  const p = m.spawn()
  p.writeFile(`/sys/bus/platform/devices/${DEV}/driver_override`, 'vfio-platform\n')
  p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', `${DEV}\n`)
  p.writeFile('/sys/bus/platform/drivers_probe', `${DEV}\n`)
  if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
  return { m, p, gid: p.readlink(`/sys/bus/platform/devices/${DEV}/iommu_group`).split('/').pop()! }
}

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, v, true)
  return b
}

function mapOne(p: Process, c: number, vaddr: number, iova: number): void {
  const b = new Uint8Array(32)
  const v = new DataView(b.buffer)
  v.setUint32(0, 32, true)
  v.setUint32(4, 3, true)
  v.setBigUint64(8, BigInt(vaddr), true)
  v.setBigUint64(16, BigInt(iova), true)
  v.setBigUint64(24, BigInt(PAGE), true)
  p.ioctl(c, VFIO_IOMMU_MAP_DMA, b)
}

test('upstream: dma_entry_limit is 65535, root-writable; a lower limit applies to the next SET_IOMMU (ENOSPC after it)', () => {
  const { m, p, gid } = boot('upstream')
  assert.is(p.readFile(PARAM), '65535\n')
  const user = m.spawn({ uid: 1000, caps: [] })
  assert.is(errno(() => user.writeFile(PARAM, '1\n')), 'EACCES')
  // A container whose IOMMU is already set keeps the limit it was opened with.
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${gid}`, O_RDWR)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  p.writeFile(PARAM, '2\n')
  assert.is(p.readFile(PARAM), '2\n')
  p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
  const buf = p.mmap(0, 4 * PAGE, 3, 0x22, -1, 0)
  mapOne(p, c, buf, 0x10_0000)
  mapOne(p, c, buf + PAGE, 0x10_1000)
  assert.is(errno(() => mapOne(p, c, buf + 2 * PAGE, 0x10_2000)), 'ENOSPC')
  // Raising it does not change this container's dma_avail…
  p.writeFile(PARAM, '0x10')
  assert.is(p.readFile(PARAM), '16\n')
  assert.is(errno(() => mapOne(p, c, buf + 2 * PAGE, 0x10_2000)), 'ENOSPC')
  // …but a new SET_IOMMU (after the last group left) reads it again.
  p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
  for (let i = 0; i < 3; i++) mapOne(p, c, buf + i * PAGE, 0x10_0000 + i * PAGE)
  assert.ok(p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode(`${DEV}\0`)) >= 0)
})

test('upstream: dma_entry_limit is parsed by kstrtouint(…, 0): octal, hex, "+"; junk EINVAL; past U32_MAX ERANGE; unchanged on error', () => {
  const { p } = boot('upstream')
  p.writeFile(PARAM, '010\n')
  assert.is(p.readFile(PARAM), '8\n')
  p.writeFile(PARAM, '+7')
  assert.is(p.readFile(PARAM), '7\n')
  p.writeFile(PARAM, '4294967295')
  assert.is(p.readFile(PARAM), '4294967295\n')
  for (const bad of ['-1', 'abc', '12x', '0x', '1\n\n', ' 5']) assert.is(errno(() => p.writeFile(PARAM, bad)), 'EINVAL', JSON.stringify(bad))
  assert.is(errno(() => p.writeFile(PARAM, '4294967296')), 'ERANGE')
  assert.is(errno(() => p.writeFile(PARAM, '0x1ffffffff')), 'ERANGE')
  // Junk after a 33-bit number is EINVAL; after a number past 64 bits, ERANGE (_kstrtoull order).
  assert.is(errno(() => p.writeFile(PARAM, '4294967296x')), 'EINVAL')
  assert.is(errno(() => p.writeFile(PARAM, '99999999999999999999x')), 'ERANGE')
  assert.is(p.readFile(PARAM), '4294967295\n')
})

test('rfc-v5: no dma_entry_limit parameter (it came in 5.1); allow_unsafe_interrupts is there', () => {
  const { p } = boot('rfc-v5')
  assert.is(errno(() => p.readFile(PARAM)), 'ENOENT')
  assert.ok(p.readdir('/sys/module/vfio_iommu_type1/parameters').includes('allow_unsafe_interrupts'))
})

// allow_unsafe_interrupts is a bool parameter: param_set_bool. Upstream it is
// kstrtobool (lib/kstrtox.c: y/Y/1/t/T/e/E true, n/N/0/f/F/d/D false, on/off);
// the 3.15 kernel used strtobool (lib/string.c: only y/Y/1/n/N/0).
const UNSAFE = '/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'

test('upstream: allow_unsafe_interrupts accepts kstrtobool spellings: true/enable/on/t, false/disable/off/f', () => {
  const { p } = boot('upstream')
  for (const [w, r] of [['true', 'Y'], ['false', 'N'], ['enable\n', 'Y'], ['disable\n', 'N'], ['on', 'Y'], ['off', 'N'], ['T', 'Y'], ['F', 'N'], ['E', 'Y'], ['D', 'N']] as const) {
    p.writeFile(UNSAFE, w)
    assert.is(p.readFile(UNSAFE), `${r}\n`, JSON.stringify(w))
  }
  assert.is(errno(() => p.writeFile(UNSAFE, 'o')), 'EINVAL')
  assert.is(errno(() => p.writeFile(UNSAFE, 'x')), 'EINVAL')
})

test('rfc-v5: allow_unsafe_interrupts takes only y/Y/1/n/N/0 (3.15 strtobool): on, true, enable → EINVAL', () => {
  const { p } = boot('rfc-v5')
  p.writeFile(UNSAFE, 'Y\n')
  assert.is(p.readFile(UNSAFE), 'Y\n')
  p.writeFile(UNSAFE, '0')
  assert.is(p.readFile(UNSAFE), 'N\n')
  for (const w of ['on', 'true', 'enable', 't', 'off', 'false']) assert.is(errno(() => p.writeFile(UNSAFE, w)), 'EINVAL', w)
  assert.is(p.readFile(UNSAFE), 'N\n')
})

test.run()
