/**
 * A test-only bus master: the "DMA test device" of spec §6.1. It issues
 * reads, writes and instruction fetches with chosen attributes (stream ID,
 * privileged, instruction, secure) through any {@link MasterPort} (an SMMU
 * port, or the interconnect itself) and reports exactly what came back.
 *
 * A stalled access (resp STALL) waits for the port's resume callback, then
 * retries the bytes that had not completed, as a real master would; the
 * transfer object tells when it finished and how.
 */
import { BusResp, busAttrs, busRespName, type BusAttrs, type MasterPort } from '@vfio-sim/sim'

/** Attributes of one access; unset fields take the master's defaults. */
export interface TestAccessAttrs {
  readonly streamId?: number
  readonly priv?: boolean
  readonly instr?: boolean
  readonly secure?: boolean
}

/** Result of one synchronous access. */
export interface TestAccessResult {
  /** All bytes completed with OKAY. */
  readonly ok: boolean
  /** Bytes that completed. */
  readonly bytes: number
  /** Response of the first byte that did not complete (OKAY if all did). */
  readonly resp: BusResp
  /** Name of `resp` ("OKAY", "SLVERR", "STALL"). */
  readonly respName: string
  /** Input address of the first byte that did not complete. */
  readonly faultAddr: number
  /** Data read (reads only; zero beyond `bytes`). */
  readonly data: Uint8Array
}

/** A transfer that may stall and be resumed (see {@link TestMaster.start}). */
export interface TestTransfer {
  readonly write: boolean
  readonly addr: number
  /** Data read, or the data written. */
  readonly data: Uint8Array
  /** Bytes completed so far. */
  bytes: number
  /** True once it completed or failed (not while stalled). */
  done: boolean
  /** Last response (STALL while held). */
  resp: BusResp
  /** Number of times the transfer was stalled. */
  stalls: number
}

/** The test master. */
export class TestMaster {
  readonly port: MasterPort
  private readonly defaults: BusAttrs
  private readonly active: TestTransfer[] = []
  private readonly attrsOf = new Map<TestTransfer, BusAttrs>()

  /** `defaults`: attributes of every access unless overridden (default: stream 0, data, unprivileged, non-secure). */
  constructor(port: MasterPort, defaults: TestAccessAttrs = {}) {
    this.port = port
    this.defaults = busAttrs(defaults)
    port.onResume(() => this.retryStalled())
  }

  private attrs(a: TestAccessAttrs | undefined): BusAttrs {
    if (a === undefined) return this.defaults
    return {
      streamId: a.streamId ?? this.defaults.streamId,
      priv: a.priv ?? this.defaults.priv,
      instr: a.instr ?? this.defaults.instr,
      secure: a.secure ?? this.defaults.secure,
    }
  }

  private result(bytes: number, len: number, data: Uint8Array): TestAccessResult {
    const resp = bytes === len ? BusResp.OKAY : this.port.resp
    return { ok: bytes === len && resp === BusResp.OKAY, bytes, resp, respName: busRespName(resp), faultAddr: bytes === len ? 0 : this.port.faultAddr, data }
  }

  /** Reads `len` bytes at `addr` (one call to the port). */
  read(addr: number, len: number, attrs?: TestAccessAttrs): TestAccessResult {
    const data = new Uint8Array(len)
    const n = this.port.read(addr, data, 0, len, this.attrs(attrs))
    return this.result(n, len, data)
  }

  /** An instruction fetch of `len` bytes (a read with AxPROT[2] = 1). */
  fetch(addr: number, len: number, attrs?: TestAccessAttrs): TestAccessResult {
    return this.read(addr, len, { ...attrs, instr: true })
  }

  /** Writes `data` at `addr` (one call to the port). */
  write(addr: number, data: Uint8Array | readonly number[], attrs?: TestAccessAttrs): TestAccessResult {
    const buf = data instanceof Uint8Array ? data : Uint8Array.from(data)
    const n = this.port.write(addr, buf, 0, buf.length, this.attrs(attrs))
    return this.result(n, buf.length, buf)
  }

  /** Reads a little-endian 32-bit word; undefined if the access did not complete. */
  read32(addr: number, attrs?: TestAccessAttrs): number | undefined {
    const r = this.read(addr, 4, attrs)
    return r.ok ? new DataView(r.data.buffer).getUint32(0, true) : undefined
  }

  /** Writes a little-endian 32-bit word; returns the response. */
  write32(addr: number, value: number, attrs?: TestAccessAttrs): BusResp {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, value >>> 0, true)
    return this.write(addr, b, attrs).resp
  }

  /**
   * Starts a transfer that survives stalls: if the port answers STALL, the
   * transfer waits for the port's resume callback and then retries the
   * remaining bytes. Pass a length to read, or data to write.
   */
  start(addr: number, lenOrData: number | Uint8Array, attrs?: TestAccessAttrs): TestTransfer {
    const write = typeof lenOrData !== 'number'
    const data = write ? lenOrData : new Uint8Array(lenOrData)
    const t: TestTransfer = { write, addr, data, bytes: 0, done: false, resp: BusResp.OKAY, stalls: 0 }
    this.attrsOf.set(t, this.attrs(attrs))
    this.step(t)
    return t
  }

  private step(t: TestTransfer): void {
    const a = this.attrsOf.get(t)!
    const len = t.data.length - t.bytes
    const n = t.write ? this.port.write(t.addr + t.bytes, t.data, t.bytes, len, a) : this.port.read(t.addr + t.bytes, t.data, t.bytes, len, a)
    t.bytes += n
    t.resp = n === len ? BusResp.OKAY : this.port.resp
    if (t.resp === BusResp.STALL) {
      t.stalls++
      if (!this.active.includes(t)) this.active.push(t)
      return
    }
    t.done = true
    const i = this.active.indexOf(t)
    if (i >= 0) this.active.splice(i, 1)
  }

  /** Transfers waiting on a stall. */
  get stalledTransfers(): readonly TestTransfer[] {
    return this.active
  }

  private retryStalled(): void {
    for (const t of [...this.active]) this.step(t)
  }
}
