/**
 * Little-endian byte helpers for the VFIO reference model: it builds the
 * struct images a process passes and the images it expects back with plain
 * DataView writes (no shared codec with the code under test).
 */

/** A zero-filled buffer of `n` bytes, then `fill` written over bytes [from, n). */
export function filled(n: number, fill: number, from = 0): Uint8Array {
  const b = new Uint8Array(n)
  b.fill(fill & 0xff, from)
  return b
}

/** Writes a u32 at `off` if the whole field fits in `b` (a shorter buffer is left as is). */
export function putU32(b: Uint8Array, off: number, v: number): void {
  if (off + 4 > b.length) return
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(off, v >>> 0, true)
}

/** Writes a u16 at `off` if it fits. */
export function putU16(b: Uint8Array, off: number, v: number): void {
  if (off + 2 > b.length) return
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(off, v & 0xffff, true)
}

/** Writes an s32 at `off` if it fits. */
export function putS32(b: Uint8Array, off: number, v: number): void {
  if (off + 4 > b.length) return
  new DataView(b.buffer, b.byteOffset, b.byteLength).setInt32(off, v | 0, true)
}

/** Writes a u64 at `off` if it fits (value taken mod 2^64). */
export function putU64(b: Uint8Array, off: number, v: bigint): void {
  if (off + 8 > b.length) return
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(off, BigInt.asUintN(64, v), true)
}

/** Reads a u32 at `off` (0 past the end). */
export function getU32(b: Uint8Array, off: number): number {
  if (off + 4 > b.length) return 0
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true)
}

/** Reads an s32 at `off` (0 past the end). */
export function getS32(b: Uint8Array, off: number): number {
  if (off + 4 > b.length) return 0
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(off, true)
}

/** Reads a u64 at `off` (0 past the end). */
export function getU64(b: Uint8Array, off: number): bigint {
  if (off + 8 > b.length) return 0n
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true)
}

/** Hex dump of the differing region of two buffers, for failure messages. */
export function diffBytes(actual: Uint8Array, expected: Uint8Array): string {
  if (actual.length !== expected.length) return `length ${actual.length} vs expected ${expected.length}`
  const first = actual.findIndex((v, i) => v !== expected[i])
  if (first < 0) return 'identical'
  const from = Math.max(0, first - 4)
  const to = Math.min(actual.length, first + 12)
  const hex = (b: Uint8Array): string => [...b.subarray(from, to)].map(x => x.toString(16).padStart(2, '0')).join(' ')
  return `first difference at byte ${first}: actual [${from}..${to}) ${hex(actual)} / expected ${hex(expected)}`
}
