/**
 * A bus master's port through the SMMU. The master (the PL330, a test
 * master) reads and writes input addresses; the SMMU translates each span
 * (page by page) and forwards it to the interconnect. A fault comes back as
 * the port's `resp` (SLVERR for an abort, STALL for a held transaction), or
 * as a normal completion when the fault is configured as RAZ/WI.
 */
import { BusResp, type BusAttrs, type MasterPort } from '@vfio-sim/sim'
import type { Context } from './context.ts'

/** What the SMMU needs from its owner to run a port's transfers. */
export interface PortHost {
  transfer(port: Mmu400Port, write: boolean, addr: number, buf: Uint8Array, off: number, len: number, attrs: BusAttrs): number
}

/** One master's port. Create with {@link Mmu400.port}. */
export class Mmu400Port implements MasterPort {
  /** Stream ID this port presents; undefined = take `attrs.streamId` of each access. */
  readonly streamId: number | undefined
  resp: BusResp = BusResp.OKAY
  faultAddr = 0
  private readonly host: PortHost
  private readonly listeners: (() => void)[] = []

  // Stall bookkeeping, owned by the SMMU. A master such as the PL330 may have
  // several accesses held at once (one per channel, with different stream IDs),
  // each identified by stream ID and input page.
  /** @internal Keys (page × 2^16 + stream ID) of the held accesses. */
  readonly heldKeys: number[] = []
  /** @internal For each held access: it is the one that faulted (not one held behind it). */
  readonly heldByFault: boolean[] = []
  /** @internal For each held access: the context it waits on. */
  readonly heldCtx: Context[] = []
  /** @internal Keys of accesses RESUME terminated: their retry gets the fault response, once. */
  readonly terminatedKeys: number[] = []
  /** @internal For each terminated access: abort (CFRE = 1) rather than RAZ/WI. */
  readonly terminatedAbort: boolean[] = []

  constructor(host: PortHost, streamId: number | undefined) {
    this.host = host
    this.streamId = streamId
  }

  read(addr: number, dst: Uint8Array, dstOff: number, len: number, attrs: BusAttrs): number {
    return this.host.transfer(this, false, addr, dst, dstOff, len, attrs)
  }

  write(addr: number, src: Uint8Array, srcOff: number, len: number, attrs: BusAttrs): number {
    return this.host.transfer(this, true, addr, src, srcOff, len, attrs)
  }

  /**
   * Registers a callback run each time a stall of this port is resolved
   * (RESUME retry or terminate); the master then retries its access.
   * Listeners persist: register once (registering the same function again
   * has no effect).
   */
  onResume(listener: () => void): void {
    if (!this.listeners.includes(listener)) this.listeners.push(listener)
  }

  /** True while an access of this port is held by a stall. */
  get stalled(): boolean {
    return this.heldKeys.length > 0
  }

  /** @internal Forgets every held or terminated access (SMMU reset, probe use). */
  clearStall(): void {
    this.heldKeys.length = 0
    this.heldByFault.length = 0
    this.heldCtx.length = 0
    this.terminatedKeys.length = 0
    this.terminatedAbort.length = 0
  }

  /** @internal Runs the resume listeners. */
  notifyResume(): void {
    for (const l of this.listeners) l()
  }
}
