/**
 * Bus transactions: what a master (the PL330, a test master, the CPU) puts on
 * the interconnect, and what comes back.
 *
 * Responses use the AXI RRESP/BRESP encodings (AMBA AXI spec, "Read and
 * write response structure"): OKAY, SLVERR (the target saw the access and
 * refused it) and DECERR (nothing decodes the address). STALL is ours: an
 * SMMU with stall-on-fault holds the transaction, and the master must wait
 * for the port's `onResume` callback before retrying; it never reaches the
 * interconnect.
 */

/** AXI-style response codes. */
export const BusResp = {
  OKAY: 0,
  EXOKAY: 1,
  SLVERR: 2,
  DECERR: 3,
  /** The transaction is held (SMMU stall); retry after the port says so. */
  STALL: 4,
} as const
/** One of {@link BusResp}. */
export type BusResp = (typeof BusResp)[keyof typeof BusResp]

/** Name of a response code, for traces and messages. */
export function busRespName(resp: number): string {
  switch (resp) {
    case BusResp.OKAY: return 'OKAY'
    case BusResp.EXOKAY: return 'EXOKAY'
    case BusResp.SLVERR: return 'SLVERR'
    case BusResp.DECERR: return 'DECERR'
    case BusResp.STALL: return 'STALL'
    default: return `RESP${resp}`
  }
}

/**
 * Attributes of one transaction (AXI AxPROT plus the stream ID the SMMU
 * matches on). Masters keep one attribute object per kind of access and reuse
 * it: nothing on the hot path allocates.
 */
export interface BusAttrs {
  /** Instruction fetch (AxPROT[2] = 1) rather than data. */
  instr: boolean
  /** Privileged (AxPROT[0] = 1) rather than unprivileged. */
  priv: boolean
  /** Secure (AxPROT[1] = 0) rather than non-secure. */
  secure: boolean
  /** Stream ID presented to the SMMU (ignored by the interconnect). */
  streamId: number
}

/** Makes an attribute object; defaults: data, unprivileged, non-secure, stream 0. */
export function busAttrs(init: Partial<BusAttrs> = {}): BusAttrs {
  return { instr: init.instr ?? false, priv: init.priv ?? false, secure: init.secure ?? false, streamId: init.streamId ?? 0 }
}

/**
 * What a bus master holds: a port onto the bus (directly the interconnect, or
 * an SMMU in front of it). Transfers are spans: `len` bytes from `addr`,
 * which may cross pages; the port splits them where it must (an SMMU
 * translates each page).
 *
 * Both calls return the number of bytes that completed, in order from `addr`.
 * When it is less than `len`, {@link MasterPort.resp} says why the next byte
 * failed (SLVERR, DECERR or STALL); otherwise `resp` is OKAY.
 */
export interface MasterPort {
  /** Reads `len` bytes at bus address `addr` into `dst[dstOff…]`. */
  read(addr: number, dst: Uint8Array, dstOff: number, len: number, attrs: BusAttrs): number
  /** Writes `len` bytes from `src[srcOff…]` to bus address `addr`. */
  write(addr: number, src: Uint8Array, srcOff: number, len: number, attrs: BusAttrs): number
  /** Response of the first byte that did not complete in the last call (OKAY if all did). */
  readonly resp: BusResp
  /** Bus address of the first byte that did not complete in the last call. */
  readonly faultAddr: number
  /**
   * Registers the callback a stalled transaction's master waits on: called
   * once the stall is resolved (RESUME retry or terminate); the master then
   * retries the access. Ports that never stall ignore it.
   */
  onResume(listener: () => void): void
}

/** Access widths of a single register access, in bytes. */
export type AccessSize = 1 | 2 | 4 | 8

/**
 * A memory-mapped device as the interconnect sees it. Offsets are relative to
 * the device's base. Reads return the value (for 8-byte reads, only when it
 * fits a double: devices with 64-bit registers implement `read64`).
 *
 * A device answers SLVERR by setting `this.resp` before returning; the
 * interconnect reads and resets it after every access. Devices never throw.
 */
export interface MmioDevice {
  /** Short name for traces and logs ("smmu", "pl330"). */
  readonly name: string
  /** Size of the device's register window in bytes. */
  readonly size: number
  read(offset: number, size: AccessSize, attrs: BusAttrs): number
  write(offset: number, size: AccessSize, value: number, attrs: BusAttrs): void
  /** 64-bit read, exact. Optional: absent means two 32-bit reads (low first). */
  read64?(offset: number, attrs: BusAttrs): bigint
  /** 64-bit write, exact. Optional: absent means two 32-bit writes (low first). */
  write64?(offset: number, value: bigint, attrs: BusAttrs): void
  /** Response of the last access: OKAY, or SLVERR when the device refused it. */
  resp: BusResp
}
