// Test helpers for the driver-core, sysfs-bus and OF tests: shell-like access
// to the kernfs tree (following symlinks as the VFS would), a PrimeCell ID
// responder on the bus, and stand-in drivers.
import { BusResp, type AccessSize, type MmioDevice } from '@vfio-sim/sim'
import { Kernel } from '../src/kernel.ts'
import { Kernfs } from '../src/fs/kernfs.ts'
import { isKernelError } from '../src/errno.ts'
import type { DeviceDriver } from '../src/drivers/base/driver.ts'

/** Resolves `path` (relative to /sys, or absolute "/sys/…") following every symlink. */
export function resolve(fs: Kernfs, path: string): string {
  const parts = path.replace(/^\/sys\//, '').split('/').filter(p => p !== '')
  const out: string[] = []
  let hops = 0
  while (parts.length > 0) {
    const p = parts.shift()!
    if (p === '.') continue
    if (p === '..') {
      out.pop()
      continue
    }
    const n = fs.lookup([...out, p].join('/'))
    if (n !== undefined && n.kind === 'link') {
      if (++hops > 40) throw new Error(`ELOOP at ${path}`)
      parts.unshift(...n.target.split('/'))
      continue
    }
    out.push(p)
  }
  return out.join('/')
}

/** `cat`: the file's text, or the errno name. */
export function read(k: Kernel, path: string): string {
  const n = k.sysfs.lookup(resolve(k.sysfs, path))
  if (n === undefined) return 'ENOENT'
  if (n.kind !== 'file') return 'EISDIR'
  if (n.attr.show === undefined) return 'EIO'
  return n.attr.show()
}

/** write(2) of `data` to a sysfs file: the byte count, or the errno name. */
export function write(k: Kernel, path: string, data: string): number | string {
  const n = k.sysfs.lookup(resolve(k.sysfs, path))
  if (n === undefined) return 'ENOENT'
  if (n.kind !== 'file') return 'EISDIR'
  if (n.attr.store === undefined) return 'EIO'
  try {
    return n.attr.store(data)
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

/** `echo data > path` (adds the newline). */
export function echo(k: Kernel, path: string, data: string): number | string {
  return write(k, path, data + '\n')
}

/** readlink: the link's stored target, or undefined. */
export function readlink(k: Kernel, path: string): string | undefined {
  const parts = path.replace(/^\/sys\//, '').split('/')
  const name = parts.pop()!
  const dir = resolve(k.sysfs, parts.join('/'))
  const n = k.sysfs.lookup(`${dir}/${name}`)
  return n?.kind === 'link' ? n.target : undefined
}

/** The name of the driver a device is bound to (from its `driver` link), or null. */
export function boundDriver(k: Kernel, busName: string, dev: string): string | null {
  const t = readlink(k, `bus/${busName}/devices/${dev}/driver`)
  return t === undefined ? null : t.split('/').pop()!
}

/** A register window that answers only the PrimeCell ID registers at the top of its window (0 elsewhere). */
export class PrimeCellIdDevice implements MmioDevice {
  readonly name = 'idreg'
  readonly size: number
  resp: BusResp = BusResp.OKAY
  readonly periphid: number
  readonly cid: number

  constructor(periphid: number, cid = 0xb105f00d, size = 0x1000) {
    this.periphid = periphid
    this.cid = cid
    this.size = size
  }

  read(offset: number, _size: AccessSize): number {
    const pid = this.size - 0x20
    const cidOff = this.size - 0x10
    if (offset >= pid && offset < pid + 16) return (this.periphid >>> (8 * ((offset - pid) / 4))) & 0xff
    if (offset >= cidOff && offset < cidOff + 16) return (this.cid >>> (8 * ((offset - cidOff) / 4))) & 0xff
    return 0
  }

  write(): void {}
}

/** A stand-in driver: probe returns `result()` (0 by default), counting calls. */
export function standIn(
  name: string,
  bus: 'platform' | 'amba',
  extra: Partial<Omit<DeviceDriver, 'name' | 'bus' | 'probe'>> & { result?: () => number } = {},
): DeviceDriver & { probes: string[]; removes: string[] } {
  const probes: string[] = []
  const removes: string[] = []
  const { result, ...rest } = extra
  return {
    name, bus, ...rest,
    probes, removes,
    probe: dev => {
      probes.push(dev.name)
      return result?.() ?? 0
    },
    remove: dev => {
      removes.push(dev.name)
    },
  }
}

/** A kernel with quiet defaults. */
export function newKernel(): Kernel {
  return new Kernel()
}
