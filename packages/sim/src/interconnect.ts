/**
 * The interconnect: an address map of RAM regions and MMIO devices. Masters
 * without an SMMU in front of them use it directly as their
 * {@link MasterPort}; the CPU (the kernel layer's readl/writel) uses the
 * single-access calls.
 *
 * An access to an address nothing decodes answers DECERR; a device may answer
 * SLVERR. Nothing here throws on a guest's behalf.
 */
import { BusResp, busAttrs, type AccessSize, type BusAttrs, type MasterPort, type MmioDevice } from './bus.ts'
import { PhysMemory } from './memory.ts'
import { defineTraceEvents, type Tracer } from './trace.ts'

/** Trace events of the interconnect. */
export const BUS_TRACE = defineTraceEvents({
  bus_error: ['bus', 'addr:hex64 len:u32 write:bool resp:str', '{resp} on {len}-byte access at {addr} (write={write})'],
  bus_mmio_unknown: ['bus', 'dev:str offset:hex write:bool size:u32', '{dev}: access to undecoded offset {offset} (size {size}, write {write})'],
})

/** A region of the address map. */
export interface Region {
  readonly name: string
  readonly base: number
  readonly size: number
  /** Undefined for RAM (backed by {@link Interconnect.memory} at the same address). */
  readonly device: MmioDevice | undefined
}

const CPU_ATTRS: BusAttrs = busAttrs({ priv: true, secure: false })

export class Interconnect implements MasterPort {
  /** Backing store of all RAM regions, addressed physically. */
  readonly memory: PhysMemory
  private readonly regions: Region[] = []
  private lastRegion: Region | undefined = undefined
  private readonly tracer: Tracer | undefined
  resp: BusResp = BusResp.OKAY
  faultAddr = 0

  constructor(memory = new PhysMemory(), tracer?: Tracer) {
    this.memory = memory
    this.tracer = tracer
  }

  /** Regions in address order. */
  get map(): readonly Region[] {
    return this.regions
  }

  /** Adds a RAM region (`size` bytes at `base`). */
  addRam(name: string, base: number, size: number): void {
    this.add({ name, base, size, device: undefined })
  }

  /** Maps a device's register window at `base`. */
  addDevice(base: number, device: MmioDevice, name = device.name): void {
    this.add({ name, base, size: device.size, device })
  }

  private add(r: Region): void {
    if (!(r.size > 0) || r.base < 0 || r.base + r.size > 2 ** 48) throw new RangeError(`region ${r.name}: bad range`)
    for (const o of this.regions) {
      if (r.base < o.base + o.size && o.base < r.base + r.size) throw new Error(`region ${r.name} overlaps ${o.name}`)
    }
    this.regions.push(r)
    this.regions.sort((a, b) => a.base - b.base)
  }

  /** The region containing `addr`, or undefined. */
  find(addr: number): Region | undefined {
    const last = this.lastRegion
    if (last !== undefined && addr >= last.base && addr < last.base + last.size) return last
    let lo = 0
    let hi = this.regions.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const r = this.regions[mid]!
      if (addr < r.base) hi = mid - 1
      else if (addr >= r.base + r.size) lo = mid + 1
      else {
        this.lastRegion = r
        return r
      }
    }
    return undefined
  }

  onResume(): void {
    // The interconnect never stalls.
  }

  read(addr: number, dst: Uint8Array, dstOff: number, len: number, attrs: BusAttrs): number {
    return this.transfer(false, addr, dst, dstOff, len, attrs)
  }

  write(addr: number, src: Uint8Array, srcOff: number, len: number, attrs: BusAttrs): number {
    return this.transfer(true, addr, src, srcOff, len, attrs)
  }

  private transfer(write: boolean, addr: number, buf: Uint8Array, off: number, len: number, attrs: BusAttrs): number {
    this.resp = BusResp.OKAY
    let done = 0
    while (done < len) {
      const a = addr + done
      const r = this.find(a)
      if (r === undefined) return this.fail(BusResp.DECERR, a, len - done, write, done)
      const n = Math.min(len - done, r.base + r.size - a)
      if (r.device === undefined) {
        if (write) this.memory.write(a, buf, off + done, n)
        else this.memory.read(a, buf, off + done, n)
        done += n
        continue
      }
      // A span into a device: naturally aligned accesses of up to 4 bytes.
      const end = done + n
      while (done < end) {
        const devOff = addr + done - r.base
        const rem = end - done
        const size: AccessSize = rem >= 4 && devOff % 4 === 0 ? 4 : rem >= 2 && devOff % 2 === 0 ? 2 : 1
        if (write) {
          let v = 0
          for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[off + done + i]!
          r.device.resp = BusResp.OKAY
          r.device.write(devOff, size, v, attrs)
        } else {
          r.device.resp = BusResp.OKAY
          const v = r.device.read(devOff, size, attrs)
          if (r.device.resp === BusResp.OKAY) for (let i = 0; i < size; i++) buf[off + done + i] = Math.floor(v / 2 ** (8 * i)) & 0xff
        }
        const resp = r.device.resp
        r.device.resp = BusResp.OKAY
        if (resp !== BusResp.OKAY) return this.fail(resp, addr + done, rem, write, done)
        done += size
      }
    }
    return done
  }

  private fail(resp: BusResp, addr: number, len: number, write: boolean, done: number): number {
    this.resp = resp
    this.faultAddr = addr
    if (this.tracer?.on) this.tracer.instant(BUS_TRACE.bus_error, 'bus', addr, len, write, resp === BusResp.DECERR ? 'DECERR' : 'SLVERR')
    return done
  }

  // --- single accesses (the CPU's readl/writel, a user's load/store on an mmap'd region) ---

  /**
   * One access of `size` bytes at `addr`. Returns the value read (zero on
   * error; {@link Interconnect.resp} tells). 8-byte reads return a number
   * that is exact only below 2^53: use {@link Interconnect.read64} for
   * 64-bit values.
   */
  readN(addr: number, size: AccessSize, attrs: BusAttrs = CPU_ATTRS): number {
    if (size === 8) return Number(this.read64(addr, attrs))
    this.resp = BusResp.OKAY
    const r = this.find(addr)
    if (r === undefined || addr + size > r.base + r.size) {
      this.fail(BusResp.DECERR, addr, size, false, 0)
      return 0
    }
    if (r.device === undefined) {
      return size === 4 ? this.memory.read32(addr) : size === 2 ? this.memory.read16(addr) : this.memory.read8(addr)
    }
    r.device.resp = BusResp.OKAY
    const v = r.device.read(addr - r.base, size, attrs)
    const resp = r.device.resp
    r.device.resp = BusResp.OKAY
    if (resp !== BusResp.OKAY) {
      this.fail(resp, addr, size, false, 0)
      return 0
    }
    return v
  }

  /** One write access of `size` (1, 2 or 4) bytes. Returns the response. */
  writeN(addr: number, size: AccessSize, value: number, attrs: BusAttrs = CPU_ATTRS): BusResp {
    if (size === 8) return this.write64(addr, BigInt(value), attrs)
    this.resp = BusResp.OKAY
    const r = this.find(addr)
    if (r === undefined || addr + size > r.base + r.size) return this.fail(BusResp.DECERR, addr, size, true, 0), this.resp
    if (r.device === undefined) {
      if (size === 4) this.memory.write32(addr, value)
      else if (size === 2) this.memory.write16(addr, value)
      else this.memory.write8(addr, value)
      return BusResp.OKAY
    }
    r.device.resp = BusResp.OKAY
    r.device.write(addr - r.base, size, value, attrs)
    const resp = r.device.resp
    r.device.resp = BusResp.OKAY
    if (resp !== BusResp.OKAY) this.fail(resp, addr, size, true, 0)
    return this.resp
  }

  /** One 64-bit read (a device without `read64` sees two 32-bit reads, low first). */
  read64(addr: number, attrs: BusAttrs = CPU_ATTRS): bigint {
    this.resp = BusResp.OKAY
    const r = this.find(addr)
    if (r === undefined || addr + 8 > r.base + r.size) {
      this.fail(BusResp.DECERR, addr, 8, false, 0)
      return 0n
    }
    if (r.device === undefined) return this.memory.read64(addr)
    if (r.device.read64 === undefined) {
      const lo = this.readN(addr, 4, attrs)
      if (this.resp !== BusResp.OKAY) return 0n
      const hi = this.readN(addr + 4, 4, attrs)
      if (this.resp !== BusResp.OKAY) return 0n
      return BigInt(lo) | (BigInt(hi) << 32n)
    }
    r.device.resp = BusResp.OKAY
    const v = r.device.read64(addr - r.base, attrs)
    const resp = r.device.resp
    r.device.resp = BusResp.OKAY
    if (resp !== BusResp.OKAY) {
      this.fail(resp, addr, 8, false, 0)
      return 0n
    }
    return BigInt.asUintN(64, v)
  }

  /** One 64-bit write (a device without `write64` sees two 32-bit writes, low first). */
  write64(addr: number, value: bigint, attrs: BusAttrs = CPU_ATTRS): BusResp {
    this.resp = BusResp.OKAY
    const v = BigInt.asUintN(64, value)
    const r = this.find(addr)
    if (r === undefined || addr + 8 > r.base + r.size) return this.fail(BusResp.DECERR, addr, 8, true, 0), this.resp
    if (r.device === undefined) {
      this.memory.write64(addr, v)
      return BusResp.OKAY
    }
    if (r.device.write64 === undefined) {
      if (this.writeN(addr, 4, Number(v & 0xffffffffn), attrs) !== BusResp.OKAY) return this.resp
      return this.writeN(addr + 4, 4, Number(v >> 32n), attrs)
    }
    r.device.resp = BusResp.OKAY
    r.device.write64(addr - r.base, v, attrs)
    const resp = r.device.resp
    r.device.resp = BusResp.OKAY
    if (resp !== BusResp.OKAY) this.fail(resp, addr, 8, true, 0)
    return this.resp
  }

  /** Convenience for the CPU: 32-bit read. */
  readl(addr: number): number {
    return this.readN(addr, 4) >>> 0
  }

  /** Convenience for the CPU: 32-bit write. */
  writel(addr: number, value: number): void {
    this.writeN(addr, 4, value >>> 0)
  }
}
