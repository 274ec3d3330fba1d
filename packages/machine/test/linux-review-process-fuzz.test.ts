/**
 * Robustness: every Process method, called with random arguments (numbers
 * including NaN, ±Infinity, negatives and huge values; random strings and
 * paths; buffers; poll arrays; objects of the wrong type; random fds), on a
 * booted fvp-mmu400 may only fail with a SysError (or BlockedForeverError,
 * documented for a wait that nothing can end). Any other exception is a
 * simulator bug: a C program can pass any bit pattern and gets an errno.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { TextSink } from '@vfio-sim/sim'
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU } from '@vfio-sim/uapi'
import { BlockedForeverError, boot, SysError, type Process } from '../src/index.ts'

const PATHS = [
  '/', '/dev', '/dev/null', '/dev/vfio/vfio', '/dev/vfio', '/dev/vfio/0', '/sys', '/sys/bus', '/sys/bus/platform',
  '/sys/bus/platform/drivers_probe', '/sys/bus/platform/drivers_autoprobe', '/sys/bus/platform/uevent',
  '/sys/bus/platform/devices/2c0a0000.dma', '/sys/bus/platform/devices/2c0a0000.dma/driver_override',
  '/sys/bus/platform/devices/2c0a0000.dma/driver', '/sys/bus/platform/devices/2c0a0000.dma/uevent',
  '/sys/bus/platform/devices/2c0a0000.dma/iommu_group', '/sys/bus/platform/drivers/dma-pl330/unbind',
  '/sys/bus/platform/drivers/vfio-platform/bind', '/sys/kernel/iommu_groups', '/nope', '', '/sys/../sys/./bus/',
]

const num = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 1, 2, 3, 4095, 4096, 0x7fff_ffff, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 64, 1.5, -0),
  // VFIO's ioctl numbers (_IO(';', 100 + n)) and the generic ones the VFS answers.
  fc.integer({ min: 0x3b64, max: 0x3b78 }),
  fc.constantFrom(0x5421, 0x5450, 0x5451, 0x5452, 0x5460, 0xc004_5877, 0xc004_5878),
  fc.integer({ min: -5, max: 40 }),
  fc.integer(),
  fc.double(),
)
const str = fc.oneof(fc.constantFrom(...PATHS), fc.string(), fc.constantFrom('vfio-platform\n', '2c0a0000.dma', '0', 'add', '\n', 'a'.repeat(5000)))
const buf = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 70000 }).map(n => new Uint8Array(n)))
const pollArr = fc.array(fc.record({ fd: num, events: num }), { maxLength: 4 })
const junk = fc.constantFrom(undefined, null, {}, [], 'x', true, 7n, [{ fd: 'x' }], new Uint16Array(4), new ArrayBuffer(8))
const arg = fc.oneof({ weight: 4, arbitrary: num }, { weight: 2, arbitrary: str }, { weight: 2, arbitrary: buf }, { weight: 1, arbitrary: pollArr }, { weight: 1, arbitrary: junk })

type Call = { method: string; args: unknown[] }
const METHODS = [
  'open', 'close', 'dup', 'read', 'write', 'ioctl', 'mmap', 'munmap', 'eventfd', 'poll', 'peek', 'poke',
  'read8', 'read16', 'read32', 'read64', 'write8', 'write16', 'write32', 'write64', 'readFile', 'writeFile',
  'readlink', 'readdir', 'chmod', 'chown', 'maps',
] as const

const call: fc.Arbitrary<Call> = fc.record({ method: fc.constantFrom(...METHODS), args: fc.array(arg, { maxLength: 7 }) })

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, v, true)
  return b
}

/**
 * Gives 2c0a0000.dma to vfio-platform through sysfs and opens its group,
 * a container with TYPE1 and the device fd, so random calls reach VFIO too.
 */
function vfioSetup(p: Process, profile: string): void {
  const DEV = '2c0a0000.dma'
  try {
    p.writeFile(`/sys/bus/platform/devices/${DEV}/driver_override`, 'vfio-platform\n')
    p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', `${DEV}\n`)
    p.writeFile('/sys/bus/platform/drivers_probe', `${DEV}\n`)
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
    const group = p.readlink(`/sys/bus/platform/devices/${DEV}/iommu_group`).split('/').pop()!
    const container = p.open('/dev/vfio/vfio', 2)
    const groupFd = p.open(`/dev/vfio/${group}`, 2)
    p.ioctl(groupFd, VFIO_GROUP_SET_CONTAINER, u32(container))
    p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
    p.ioctl(groupFd, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode(`${DEV}\0`))
  } catch (e) {
    if (!(e instanceof SysError)) throw e
  }
}

/** Useful first calls so that later random fds hit real files. */
function setup(p: Process): void {
  for (const path of ['/dev/null', '/dev/vfio/vfio', '/sys/bus/platform/drivers_autoprobe', '/sys/bus']) {
    try {
      p.open(path, 2)
    } catch {
      try {
        p.open(path, 0)
      } catch {
        /* directories and read-only files */
      }
    }
  }
  p.eventfd(0, 0)
}

test('every Process method with random arguments fails only with SysError (or BlockedForeverError)', () => {
  fc.assert(
    fc.property(fc.constantFrom('rfc-v5', 'upstream'), fc.boolean(), fc.boolean(), fc.boolean(), fc.array(call, { minLength: 1, maxLength: 12 }), (profile, root, traced, vfio, calls) => {
      const m = boot({ board: 'fvp-mmu400', profile: profile as 'rfc-v5' | 'upstream' })
      // With a sink attached every call is also formatted into the trace.
      if (traced) m.kernel.sys.tracer.addSink(new TextSink(() => {}))
      if (vfio) vfioSetup(m.spawn(), profile)
      const p = m.spawn(root ? {} : { uid: 1000 })
      setup(p)
      if (vfio && root) vfioSetup(p, profile)
      for (const c of calls) {
        // No call may break the machine's virtual clock.
        if (!Number.isFinite(m.kernel.now)) throw new Error(`virtual clock is ${m.kernel.now}`)
        try {
          ;(p as unknown as Record<string, (...a: unknown[]) => unknown>)[c.method]!(...c.args)
        } catch (e) {
          if (e instanceof SysError || e instanceof BlockedForeverError) continue
          throw new Error(`${c.method}(${c.args.map(a => (a instanceof Uint8Array ? `u8[${a.length}]` : typeof a === 'bigint' ? `${a}n` : JSON.stringify(a))).join(', ')}) threw ${(e as Error)?.stack ?? String(e)}`)
        }
      }
    }),
    { numRuns: 150 },
  )
  assert.ok(true)
})

test.run()
