// The encoding table: one row per instruction family, matched as
// `(byte0 & mask) === opcode`, first match wins. Order resolves the one
// documented overlap: DMASTPS/DMASTPB (0x29/0x2B) fall inside the DMALPEND
// pattern 001n1lbx and must be matched first (QEMU hw/dma/pl330.c keeps the
// same order and says so; spec §1 point 2).
// From the rows we build a 256-entry index so decode is one array read.

import type { InstrOp, ThreadMask } from './types.ts'
import { Thread } from './types.ts'

/** One row of the PL330 encoding table. */
export interface EncodingRow {
  /** Instruction family (`op` of the decoded record). */
  readonly op: InstrOp
  /** Byte-0 value with all variable bits zero. */
  readonly opcode: number
  /** Byte-0 bits that identify the family. */
  readonly mask: number
  /** Total instruction length in bytes (1, 2, 3 or 6). */
  readonly length: 1 | 2 | 3 | 6
  /** Thread kinds allowed to execute it (ARM "thread usage"; VCML/Renode tables). */
  readonly threads: ThreadMask
  /** Byte-0 layout as in the TRM, MSB first, for documentation and listings. */
  readonly layout: string
}

const M = Thread.MANAGER
const C = Thread.CHANNEL
const MC = Thread.BOTH

/**
 * The PL330 encoding table in decode order (ARM DDI 0424 §4.3, spec §3.1).
 * Thread usage: the manager may run DMAEND, DMAGO, DMAKILL, DMANOP, DMASEV,
 * DMAWFE; channels everything except DMAGO.
 */
export const ENCODINGS: readonly EncodingRow[] = [
  { op: 'DMAADDH', opcode: 0x54, mask: 0xfd, length: 3, threads: C, layout: '0101 01 ra 0' },
  { op: 'DMAADNH', opcode: 0x5c, mask: 0xfd, length: 3, threads: C, layout: '0101 11 ra 0' },
  { op: 'DMAEND', opcode: 0x00, mask: 0xff, length: 1, threads: MC, layout: '0000 0000' },
  { op: 'DMAFLUSHP', opcode: 0x35, mask: 0xff, length: 2, threads: C, layout: '0011 0101' },
  { op: 'DMAGO', opcode: 0xa0, mask: 0xfd, length: 6, threads: M, layout: '1010 00 ns 0' },
  { op: 'DMAKILL', opcode: 0x01, mask: 0xff, length: 1, threads: MC, layout: '0000 0001' },
  { op: 'DMALD', opcode: 0x04, mask: 0xfc, length: 1, threads: C, layout: '0000 01 bs x' },
  { op: 'DMALDP', opcode: 0x25, mask: 0xfd, length: 2, threads: C, layout: '0010 01 bs 1' },
  { op: 'DMALP', opcode: 0x20, mask: 0xfd, length: 2, threads: C, layout: '0010 00 lc 0' },
  // DMASTP before DMALPEND: 0x29/0x2B match both patterns.
  { op: 'DMASTP', opcode: 0x29, mask: 0xfd, length: 2, threads: C, layout: '0010 10 bs 1' },
  { op: 'DMALPEND', opcode: 0x28, mask: 0xe8, length: 2, threads: C, layout: '001 nf 1 lc bs x' },
  { op: 'DMAMOV', opcode: 0xbc, mask: 0xff, length: 6, threads: C, layout: '1011 1100' },
  { op: 'DMANOP', opcode: 0x18, mask: 0xff, length: 1, threads: MC, layout: '0001 1000' },
  { op: 'DMARMB', opcode: 0x12, mask: 0xff, length: 1, threads: C, layout: '0001 0010' },
  { op: 'DMASEV', opcode: 0x34, mask: 0xff, length: 2, threads: MC, layout: '0011 0100' },
  { op: 'DMAST', opcode: 0x08, mask: 0xfc, length: 1, threads: C, layout: '0000 10 bs x' },
  { op: 'DMASTZ', opcode: 0x0c, mask: 0xff, length: 1, threads: C, layout: '0000 1100' },
  { op: 'DMAWFE', opcode: 0x36, mask: 0xff, length: 2, threads: MC, layout: '0011 0110' },
  { op: 'DMAWFP', opcode: 0x30, mask: 0xfc, length: 2, threads: C, layout: '0011 00 bs p' },
  { op: 'DMAWMB', opcode: 0x13, mask: 0xff, length: 1, threads: C, layout: '0001 0011' },
]

/** Encoding row per instruction family. */
export const ENCODING_BY_OP: Readonly<Record<InstrOp, EncodingRow>> = Object.fromEntries(
  ENCODINGS.map((r) => [r.op, r]),
) as Record<InstrOp, EncodingRow>

/**
 * Row index into {@link ENCODINGS} for every byte-0 value, -1 = undefined
 * opcode. Built once from the table with first-match-wins.
 */
export const ROW_OF_BYTE0: Int8Array = (() => {
  const idx = new Int8Array(256).fill(-1)
  for (let b = 0; b < 256; b++) {
    const i = ENCODINGS.findIndex((r) => (b & r.mask) === r.opcode)
    idx[b] = i
  }
  return idx
})()

/**
 * Instruction length announced by byte 0 (1, 2, 3 or 6), or 0 when byte 0
 * is an undefined opcode. A fetcher reads byte 0, then `lengthOf` bytes.
 */
export function lengthOf(byte0: number): number {
  const i = ROW_OF_BYTE0[byte0 & 0xff] ?? -1
  return i < 0 ? 0 : ENCODINGS[i]!.length
}

/** True when a thread of the given kind may execute the instruction family. */
export function allowedOn(op: InstrOp, thread: 'manager' | 'channel'): boolean {
  const t = ENCODING_BY_OP[op].threads
  return (t & (thread === 'manager' ? Thread.MANAGER : Thread.CHANNEL)) !== 0
}

/** Instruction families the debug interface (DBGINST0/1) accepts: DMAGO, DMASEV, DMAKILL. */
export const DEBUG_OPS: readonly InstrOp[] = ['DMAGO', 'DMASEV', 'DMAKILL']
