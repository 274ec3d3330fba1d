/**
 * A memory-mapped "RAM" that records every access reaching it: the far side
 * of an SMMU in containment tests. Reads return a fixed pattern derived from
 * the physical address, so a test can also check that the bytes a master got
 * came from the right place.
 */
import { BusResp, type AccessSize, type BusAttrs, type MmioDevice } from '@vfio-sim/sim'

/** One recorded access: `size` bytes at physical address `pa`. */
export interface RecordedAccess {
  readonly pa: number
  readonly size: number
  readonly write: boolean
  /** Value written (writes only). */
  readonly value: number
}

/** Byte the recording memory returns at physical address `pa`. */
export function patternByte(pa: number): number {
  return (pa % 251 + Math.floor(pa / 2 ** 32) * 13) & 0xff
}

/** An MMIO device of `size` bytes mapped at `base` that records accesses. */
export class RecordingMemory implements MmioDevice {
  readonly name = 'recorder'
  readonly size: number
  readonly base: number
  resp: BusResp = BusResp.OKAY
  /** Every access so far, in order. */
  readonly log: RecordedAccess[] = []

  constructor(base: number, size: number) {
    this.base = base
    this.size = size
  }

  read(offset: number, size: AccessSize, _attrs: BusAttrs): number {
    const pa = this.base + offset
    this.log.push({ pa, size, write: false, value: 0 })
    let v = 0
    for (let i = size - 1; i >= 0; i--) v = v * 256 + patternByte(pa + i)
    return v
  }

  write(offset: number, size: AccessSize, value: number, _attrs: BusAttrs): void {
    this.log.push({ pa: this.base + offset, size, write: true, value })
  }

  /** Forgets the log. */
  clear(): void {
    this.log.length = 0
  }

  /** The log as one entry per byte, in order; `value` is the byte written (reads: the pattern byte returned). */
  bytes(): { pa: number; write: boolean; value: number }[] {
    const out: { pa: number; write: boolean; value: number }[] = []
    for (const a of this.log) {
      for (let i = 0; i < a.size; i++) {
        const value = a.write ? Math.floor(a.value / 256 ** i) & 0xff : patternByte(a.pa + i)
        out.push({ pa: a.pa + i, write: a.write, value })
      }
    }
    return out
  }
}
