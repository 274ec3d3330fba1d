/**
 * Models drivers/vfio/platform/vfio_platform_common.c: what vfio-platform
 * and vfio-amba share once a device is bound — the device fd.
 *
 * - open_device (first fd): regions from the device's resources (MEM: READ,
 *   WRITE unless read-only, MMAP iff base and size are page aligned; IO:
 *   flags 0), interrupts (vfio_platform_irq.ts), then a reset.
 * - close_device (last fd): reset, regions dropped, interrupts torn down.
 * - ioctls GET_INFO, GET_REGION_INFO (offset = index << 40),
 *   GET_IRQ_INFO, SET_IRQS, RESET; anything else ENOTTY.
 * - read/write: split into 4/2/1-byte MMIO accesses by alignment (never 8),
 *   clipped at the region end; off ≥ size is EINVAL.
 * - mmap: MAP_SHARED only, a page-aligned window of an MMAP region; user
 *   loads and stores then reach the device's registers.
 * - reset handlers are looked up by the device's first `compatible`
 *   string (vfio_platform_register_reset / module_vfio_reset_handler).
 *
 * Profiles: in 'rfc-v5' (the 2014 series) there is no reset at all
 * (no RESET flag, VFIO_DEVICE_RESET is EINVAL, no reset at open/close, no
 * reset_required). See docs/decisions/0880-vfio-platform-profiles.md.
 */
import {
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  errnoName,
} from '@vfio-sim/uapi'
import { kerr } from '../../../errno.ts'
import type { Kernel } from '../../../kernel.ts'
import type { Task } from '../../../kernel/sched.ts'
import { VM, remapPfnRange, type Vma } from '../../../mm/vma.ts'
import { ofPropertyReadStrings } from '../../../of/base.ts'
import { IORESOURCE_MEM, devErr, devInfo, devWarn, type Device } from '../../base/core.ts'
import { VFIO_IRQ_SET_MINSZ, VfioDevice, vfioSetIrqsValidateAndPrepare, type VfioDeviceOps } from '../vfio.ts'
import { vfioPlatformIrqCleanup, vfioPlatformIrqInit, vfioPlatformSetIrqs } from './vfio_platform_irq.ts'
import {
  IORESOURCE_IO,
  IORESOURCE_READONLY,
  VFIO_PLATFORM_OFFSET_STRIDE,
  VFIO_PLATFORM_PAGE_SIZE,
  VFIO_PLATFORM_REGION_TYPE,
  vfioPlatformSplitOffset,
  type VfioPlatformBusGlue,
  type VfioPlatformDevice,
  type VfioPlatformRegion,
  type VfioPlatformResetFn,
} from './vfio_platform_private.ts'

// ---------------------------------------------------------------------------
// Reset handlers by compatible (vfio_platform_register_reset).

const resetRegistries = new WeakMap<Kernel, Map<string, VfioPlatformResetFn>>()

function resetRegistry(kernel: Kernel): Map<string, VfioPlatformResetFn> {
  let m = resetRegistries.get(kernel)
  if (m === undefined) {
    m = new Map()
    resetRegistries.set(kernel, m)
  }
  return m
}

/** vfio_platform_register_reset(): `fn` resets devices whose first compatible is `compat`. */
export function vfioPlatformRegisterReset(kernel: Kernel, compat: string, fn: VfioPlatformResetFn): void {
  resetRegistry(kernel).set(compat, fn)
}

/** vfio_platform_unregister_reset(). */
export function vfioPlatformUnregisterReset(kernel: Kernel, compat: string): void {
  resetRegistry(kernel).delete(compat)
}

/** vfio_platform_lookup_reset(). */
export function vfioPlatformLookupReset(kernel: Kernel, compat: string | undefined): VfioPlatformResetFn | undefined {
  return compat === undefined ? undefined : resetRegistry(kernel).get(compat)
}

// ---------------------------------------------------------------------------
// Small helpers.

/** dev_printk lines of this file carry Linux's `dev_fmt` prefix "VFIO: ". */
const vinfo = (dev: Device, t: string): void => devInfo(dev, `VFIO: ${t}`)
const vwarn = (dev: Device, t: string): void => devWarn(dev, `VFIO: ${t}`)

function u32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.length).getUint32(off, true)
}

function putU32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.length).setUint32(off, v >>> 0, true)
}

function putU64(b: Uint8Array, off: number, v: bigint): void {
  new DataView(b.buffer, b.byteOffset, b.length).setBigUint64(off, BigInt.asUintN(64, v), true)
}

/** The user address in an ioctl argument (EFAULT if it cannot be one). */
function uaddr(arg: number, len: number): number {
  if (!Number.isSafeInteger(arg) || arg < 0 || arg + len > Number.MAX_SAFE_INTEGER) return kerr('EFAULT')
  return arg
}

function copyIn(task: Task, arg: number, len: number): Uint8Array {
  return task.mm.copyFromUser(uaddr(arg, len), len)
}

function copyOut(task: Task, arg: number, data: Uint8Array): void {
  task.mm.copyToUser(uaddr(arg, data.length), data)
}

/** The platform state behind a VFIO device. */
export function vfioPlatformOf(vdev: VfioDevice): VfioPlatformDevice {
  return vdev.priv as VfioPlatformDevice
}

// ---------------------------------------------------------------------------
// Probe-time setup (vfio_platform_init_common).

/**
 * vfio_platform_init_common(): reads the device's first `compatible` and
 * looks its reset handler up. Upstream, a missing handler fails with
 * ENOENT when the glue requires one ("No reset function found for device").
 * Returns the platform state or a negative errno.
 */
export function vfioPlatformInitCommon(kernel: Kernel, dev: Device, glue: VfioPlatformBusGlue): VfioPlatformDevice | number {
  const compat = dev.ofNode === undefined ? undefined : ofPropertyReadStrings(dev.ofNode, 'compatible')?.[0]
  const vdev: VfioPlatformDevice = { dev, glue, flags: glue.flags, compat, ofReset: undefined, regions: [], irqs: [], resets: 0 }
  if (kernel.profile === 'rfc-v5') return vdev // the 2014 series had no reset support
  if (compat === undefined) {
    devErr(dev, `VFIO: Cannot retrieve compat for ${glue.name}`)
    return -22
  }
  vdev.ofReset = vfioPlatformLookupReset(kernel, compat)
  if (vdev.ofReset === undefined && glue.resetRequired) {
    devErr(dev, `VFIO: No reset function found for device ${glue.name}`)
    return -2 // -ENOENT
  }
  return vdev
}

// ---------------------------------------------------------------------------
// Regions.

function regionsInit(vdev: VfioPlatformDevice): void {
  const regions: VfioPlatformRegion[] = []
  for (let i = 0; ; i++) {
    const res = vdev.glue.getResource(i)
    if (res === undefined) break
    const addr = Number(res.start)
    const size = Number(res.end - res.start + 1n)
    if ((res.flags & IORESOURCE_MEM) !== 0) {
      let flags = VFIO_REGION_INFO_FLAG_READ
      if ((res.flags & IORESOURCE_READONLY) === 0) flags |= VFIO_REGION_INFO_FLAG_WRITE
      // Only regions addressed with page granularity may be mmapped securely.
      if (addr % VFIO_PLATFORM_PAGE_SIZE === 0 && size % VFIO_PLATFORM_PAGE_SIZE === 0) flags |= VFIO_REGION_INFO_FLAG_MMAP
      regions.push({ addr, size, flags, type: VFIO_PLATFORM_REGION_TYPE.MMIO, ioremapped: false })
    } else if ((res.flags & IORESOURCE_IO) !== 0) {
      regions.push({ addr, size, flags: 0, type: VFIO_PLATFORM_REGION_TYPE.PIO, ioremapped: false })
    } else {
      return kerr('EINVAL')
    }
  }
  vdev.regions = regions
}

// ---------------------------------------------------------------------------
// Reset.

/** True if the device has a reset (upstream only). */
export function vfioPlatformHasReset(kernel: Kernel, vdev: VfioPlatformDevice): boolean {
  return kernel.profile !== 'rfc-v5' && vdev.ofReset !== undefined
}

/** vfio_platform_call_reset(): 0, the handler's error, or -EINVAL without a handler. */
export function vfioPlatformCallReset(kernel: Kernel, vdev: VfioPlatformDevice): number {
  if (kernel.profile === 'rfc-v5') return -22
  if (vdev.ofReset !== undefined) {
    vinfo(vdev.dev, 'reset')
    vdev.resets++
    return vdev.ofReset(vdev)
  }
  vwarn(vdev.dev, 'no reset function found!')
  return -22
}

// ---------------------------------------------------------------------------
// open / close.

function openDevice(vd: VfioDevice): void {
  const kernel = vd.kernel
  const vdev = vfioPlatformOf(vd)
  regionsInit(vdev)
  try {
    vfioPlatformIrqInit(kernel, vdev)
  } catch (e) {
    vdev.regions = []
    throw e
  }
  if (kernel.profile === 'rfc-v5') return
  const r = vfioPlatformCallReset(kernel, vdev)
  if (r !== 0 && vdev.glue.resetRequired) {
    vwarn(vdev.dev, `reset driver is required and reset call failed in open (${r}) `)
    vfioPlatformIrqCleanup(kernel, vdev)
    vdev.regions = []
    kerr(errnoOf(r))
  }
}

function closeDevice(vd: VfioDevice): void {
  const kernel = vd.kernel
  const vdev = vfioPlatformOf(vd)
  if (kernel.profile !== 'rfc-v5') {
    const r = vfioPlatformCallReset(kernel, vdev)
    if (r !== 0 && vdev.glue.resetRequired) vwarn(vdev.dev, `reset driver is required and reset call failed in release (${r}) `)
  }
  vdev.regions = []
  vfioPlatformIrqCleanup(kernel, vdev)
}

function errnoOf(r: number): string {
  return errnoName(-r) ?? 'EIO'
}

// ---------------------------------------------------------------------------
// ioctls.

function getInfo(kernel: Kernel, vdev: VfioPlatformDevice, arg: number, task: Task): number {
  const b = copyIn(task, arg, 16)
  if (u32(b, 0) < 16) return kerr('EINVAL')
  if (vfioPlatformHasReset(kernel, vdev)) vdev.flags |= VFIO_DEVICE_FLAGS_RESET
  putU32(b, 4, vdev.flags)
  putU32(b, 8, vdev.regions.length)
  putU32(b, 12, vdev.irqs.length)
  copyOut(task, arg, b)
  return 0
}

function getRegionInfo(vdev: VfioPlatformDevice, arg: number, task: Task): number {
  const b = copyIn(task, arg, 32)
  if (u32(b, 0) < 32) return kerr('EINVAL')
  const index = u32(b, 8)
  const r = vdev.regions[index]
  if (r === undefined) return kerr('EINVAL')
  putU64(b, 24, BigInt(index) << 40n)
  putU64(b, 16, BigInt(r.size))
  putU32(b, 4, r.flags)
  copyOut(task, arg, b)
  return 0
}

function getIrqInfo(vdev: VfioPlatformDevice, arg: number, task: Task): number {
  const b = copyIn(task, arg, 16)
  if (u32(b, 0) < 16) return kerr('EINVAL')
  const irq = vdev.irqs[u32(b, 8)]
  if (irq === undefined) return kerr('EINVAL')
  putU32(b, 4, irq.flags)
  putU32(b, 12, irq.count)
  copyOut(task, arg, b)
  return 0
}

function setIrqs(kernel: Kernel, vdev: VfioPlatformDevice, arg: number, task: Task): number {
  const b = copyIn(task, arg, VFIO_IRQ_SET_MINSZ)
  const hdr = { argsz: u32(b, 0), flags: u32(b, 4), index: u32(b, 8), start: u32(b, 12), count: u32(b, 16) }
  const n = vdev.irqs.length
  const { dataSize } = vfioSetIrqsValidateAndPrepare(hdr, n, n)
  const data = dataSize > 0 ? copyIn(task, arg + VFIO_IRQ_SET_MINSZ, dataSize) : new Uint8Array(0)
  return vfioPlatformSetIrqs(kernel, task, vdev, hdr.flags, hdr.index, hdr.start, hdr.count, data)
}

function ioctl(vd: VfioDevice, cmd: number, arg: number, task: Task): number {
  const kernel = vd.kernel
  const vdev = vfioPlatformOf(vd)
  switch (cmd >>> 0) {
    case VFIO_DEVICE_GET_INFO:
      return getInfo(kernel, vdev, arg, task)
    case VFIO_DEVICE_GET_REGION_INFO:
      return getRegionInfo(vdev, arg, task)
    case VFIO_DEVICE_GET_IRQ_INFO:
      return getIrqInfo(vdev, arg, task)
    case VFIO_DEVICE_SET_IRQS:
      return setIrqs(kernel, vdev, arg, task)
    case VFIO_DEVICE_RESET: {
      const r = vfioPlatformCallReset(kernel, vdev)
      return r < 0 ? kerr(errnoOf(r)) : r
    }
    default:
      return kerr('ENOTTY')
  }
}

// ---------------------------------------------------------------------------
// read / write / mmap.

/** The region and in-region offset of a file position, with Linux's checks (EINVAL). */
function regionAt(vdev: VfioPlatformDevice, pos: number, need: number): { r: VfioPlatformRegion; off: number } {
  const { index, off } = vfioPlatformSplitOffset(pos)
  const r = vdev.regions[index]
  if (r === undefined) return kerr('EINVAL')
  if ((r.flags & need) === 0) return kerr('EINVAL')
  if (r.type !== VFIO_PLATFORM_REGION_TYPE.MMIO) return kerr('EINVAL') // PIO not implemented
  if (off >= r.size) return kerr('EINVAL')
  return { r, off }
}

/** Width of the next access: 4 if aligned and ≥ 4 bytes remain, else 2, else 1 (never 8). */
export function vfioPlatformAccessWidth(off: number, remaining: number): 1 | 2 | 4 {
  if (remaining >= 4 && off % 4 === 0) return 4
  if (remaining >= 2 && off % 2 === 0) return 2
  return 1
}

function read(vd: VfioDevice, buf: Uint8Array, pos: number): number {
  const vdev = vfioPlatformOf(vd)
  const { r, off } = regionAt(vdev, pos, VFIO_REGION_INFO_FLAG_READ)
  const count = Math.min(buf.length, r.size - off)
  r.ioremapped = true
  const bus = vd.kernel.sys.bus
  let done = 0
  while (done < count) {
    const o = off + done
    const w = vfioPlatformAccessWidth(o, count - done)
    const v = bus.readN(r.addr + o, w)
    for (let i = 0; i < w; i++) buf[done + i] = (v >>> (8 * i)) & 0xff
    done += w
  }
  return done
}

function write(vd: VfioDevice, data: Uint8Array, pos: number): number {
  const vdev = vfioPlatformOf(vd)
  const { r, off } = regionAt(vdev, pos, VFIO_REGION_INFO_FLAG_WRITE)
  const count = Math.min(data.length, r.size - off)
  r.ioremapped = true
  const bus = vd.kernel.sys.bus
  let done = 0
  while (done < count) {
    const o = off + done
    const w = vfioPlatformAccessWidth(o, count - done)
    let v = 0
    for (let i = 0; i < w; i++) v |= data[done + i]! << (8 * i)
    bus.writeN(r.addr + o, w, v >>> 0)
    done += w
  }
  return done
}

/** Pages per region in vm_pgoff units: 1 << (40 − PAGE_SHIFT). */
const PGOFF_PER_REGION = VFIO_PLATFORM_OFFSET_STRIDE / VFIO_PLATFORM_PAGE_SIZE

function mmap(vd: VfioDevice, vma: Vma): void {
  const vdev = vfioPlatformOf(vd)
  const index = Math.floor(vma.pgoff / PGOFF_PER_REGION)
  if (vma.end < vma.start) return kerr('EINVAL')
  if ((vma.flags & VM.SHARED) === 0) return kerr('EINVAL')
  const r = vdev.regions[index]
  if (r === undefined) return kerr('EINVAL')
  if (vma.start % VFIO_PLATFORM_PAGE_SIZE !== 0 || vma.end % VFIO_PLATFORM_PAGE_SIZE !== 0) return kerr('EINVAL')
  if ((r.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) return kerr('EINVAL')
  if ((r.flags & VFIO_REGION_INFO_FLAG_READ) === 0 && (vma.flags & VM.READ) !== 0) return kerr('EINVAL')
  if ((r.flags & VFIO_REGION_INFO_FLAG_WRITE) === 0 && (vma.flags & VM.WRITE) !== 0) return kerr('EINVAL')
  if (r.type !== VFIO_PLATFORM_REGION_TYPE.MMIO) return kerr('EINVAL')
  const reqStart = (vma.pgoff % PGOFF_PER_REGION) * VFIO_PLATFORM_PAGE_SIZE
  const len = vma.end - vma.start
  if (r.size < VFIO_PLATFORM_PAGE_SIZE || reqStart + len > r.size) return kerr('EINVAL')
  remapPfnRange(vma, r.addr + reqStart, len)
}

/** The device-fd operations shared by vfio-platform and vfio-amba (vfio_platform_ops / vfio_amba_ops). */
export function vfioPlatformOps(name: string): VfioDeviceOps {
  return {
    name,
    openDevice: openDevice,
    closeDevice: closeDevice,
    ioctl,
    read: (vd, buf, pos) => read(vd, buf, pos),
    write: (vd, data, pos) => write(vd, data, pos),
    mmap: (vd, vma) => mmap(vd, vma),
  }
}

/**
 * A readable view of an open device for teaching views and logs: one line
 * per region ("region 0: mmio 0x2c0a0000+0x1000 R W MMAP @0x0") and per IRQ
 * index ("irq 1: hwirq 121 level AUTOMASKED masked trigger=eventfd#3
 * unmask=eventfd#5"). Empty while the device is not open.
 */
export function vfioPlatformDescribe(vd: VfioDevice): string[] {
  const vdev = vfioPlatformOf(vd)
  const out: string[] = []
  vdev.regions.forEach((r, i) => {
    const flags = [r.flags & VFIO_REGION_INFO_FLAG_READ ? 'R' : '', r.flags & VFIO_REGION_INFO_FLAG_WRITE ? 'W' : '', r.flags & VFIO_REGION_INFO_FLAG_MMAP ? 'MMAP' : '']
    const kind = r.type === VFIO_PLATFORM_REGION_TYPE.MMIO ? 'mmio' : 'pio'
    out.push(`region ${i}: ${kind} 0x${r.addr.toString(16)}+0x${r.size.toString(16)} ${flags.filter(f => f !== '').join(' ') || '-'} @0x${(BigInt(i) << 40n).toString(16)}`)
  })
  vdev.irqs.forEach((q, i) => {
    const parts = [`irq ${i}: hwirq ${q.hwirq}`, (q.flags & VFIO_IRQ_INFO_AUTOMASKED) !== 0 ? 'level AUTOMASKED' : 'edge']
    if (typeof q.name !== 'string') parts.push(`request_irq failed (${q.name.err})`)
    parts.push(q.masked ? 'masked' : 'unmasked')
    parts.push(q.trigger === null ? 'no trigger' : `trigger=eventfd#${q.trigger.id}`)
    if (q.mask.virqfd !== null) parts.push(`mask=eventfd#${q.mask.virqfd.eventfd.id}`)
    if (q.unmask.virqfd !== null) parts.push(`unmask=eventfd#${q.unmask.virqfd.eventfd.id}`)
    out.push(parts.join(' '))
  })
  return out
}
