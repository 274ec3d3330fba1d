// The debug instruction interface (DBGINST0/DBGINST1/DBGCMD): how software
// (Linux `_execute_DBGINSN`, our user-space VFIO driver) hands the DMAC one
// instruction to execute. Layout [spec §4, NXC DBGINST0/1; LNX _execute_DBGINSN]:
//   DBGINST0 = insn[1] << 24 | insn[0] << 16 | channel << 8 | debug_thread
//              (debug_thread: 0 = manager, 1 = channel)
//   DBGINST1 = insn[2] | insn[3] << 8 | insn[4] << 16 | insn[5] << 24
// then a write of 0 to DBGCMD executes it. Only DMAGO, DMASEV and DMAKILL
// are accepted, and DMAGO must target the manager thread (the channel to
// start is byte 1 of DMAGO itself); anything else is a dbg_instr fault.

import type { DecodeError, Instr } from './types.ts'
import { encodeInto } from './encode.ts'
import { decode } from './decode.ts'

/** Which thread a debug instruction is executed on. */
export type DebugTarget = { readonly thread: 'manager' } | { readonly thread: 'channel'; readonly channel: number }

/** Register values to write before `DBGCMD = 0`. */
export interface DebugInstrRegs {
  /** Value for DBGINST0 (offset 0xD08). */
  readonly dbginst0: number
  /** Value for DBGINST1 (offset 0xD0C). */
  readonly dbginst1: number
}

/**
 * DBGINST0/DBGINST1 values that make the DMAC execute `instr` on `target`.
 * Any instruction is encoded (tests need the illegal ones too); see
 * {@link dbgGo}, {@link dbgKill}, {@link dbgSev} for the legal uses.
 * Throws RangeError for an out-of-range channel number or operand.
 */
export function encodeDebugInstr(instr: Instr, target: DebugTarget): DebugInstrRegs {
  const b = new Uint8Array(6)
  encodeInto(instr, b, 0)
  let thread = 0
  let channel = 0
  if (target.thread === 'channel') {
    if (!Number.isInteger(target.channel) || target.channel < 0 || target.channel > 7) {
      throw new RangeError(`debug channel ${target.channel} out of range 0..7`)
    }
    thread = 1
    channel = target.channel
  }
  const dbginst0 = ((b[1]! << 24) | (b[0]! << 16) | (channel << 8) | thread) >>> 0
  const dbginst1 = (b[2]! | (b[3]! << 8) | (b[4]! << 16) | (b[5]! << 24)) >>> 0
  return { dbginst0, dbginst1 }
}

/**
 * DMAGO through the debug interface (always on the manager thread), as
 * Linux `_trigger` does: start `channel` at `addr`, non-secure when `ns`.
 * Example: dbgGo(0, 0x1000) = { dbginst0: 0x00A00000, dbginst1: 0x1000 }.
 */
export function dbgGo(channel: number, addr: number, ns = false): DebugInstrRegs {
  return encodeDebugInstr({ op: 'DMAGO', length: 6, channel, ns, addr: addr >>> 0 }, { thread: 'manager' })
}

/**
 * DMAKILL through the debug interface on a channel (number) or the manager.
 * Example: dbgKill(2) = { dbginst0: 0x00010201, dbginst1: 0 }.
 */
export function dbgKill(target: number | 'manager'): DebugInstrRegs {
  return encodeDebugInstr({ op: 'DMAKILL', length: 1 }, toTarget(target))
}

/** DMASEV `event` through the debug interface (manager thread unless a channel is given). */
export function dbgSev(event: number, target: number | 'manager' = 'manager'): DebugInstrRegs {
  return encodeDebugInstr({ op: 'DMASEV', length: 2, event }, toTarget(target))
}

function toTarget(t: number | 'manager'): DebugTarget {
  return t === 'manager' ? { thread: 'manager' } : { thread: 'channel', channel: t }
}

/** APB offsets of the debug registers (spec §4). */
export const DEBUG_REGS = { DBGSTATUS: 0xd00, DBGCMD: 0xd04, DBGINST0: 0xd08, DBGINST1: 0xd0c } as const

/**
 * The register writes that execute a debug instruction, in order:
 * DBGINST0, DBGINST1, then DBGCMD = 0. (Software should first check that
 * DBGSTATUS bit 0 reads 0, as Linux `_until_dmac_idle` does.)
 */
export function debugWriteSequence(r: DebugInstrRegs): { readonly offset: number; readonly value: number }[] {
  return [
    { offset: DEBUG_REGS.DBGINST0, value: r.dbginst0 },
    { offset: DEBUG_REGS.DBGINST1, value: r.dbginst1 },
    { offset: DEBUG_REGS.DBGCMD, value: 0 },
  ]
}

/** What the DMAC sees when DBGCMD is written: see {@link decodeDebugInstr}. */
export interface DebugInstr {
  /** DBGINST0 bit 0: 0 manager, 1 channel. */
  readonly thread: 'manager' | 'channel'
  /** DBGINST0 bits [10:8] (meaningful for the channel thread). */
  readonly channel: number
  /** The six instruction bytes reassembled from DBGINST0/1. */
  readonly bytes: Uint8Array
  /** Decoded instruction (or why it is not one). */
  readonly instr: Instr | DecodeError
  /** True when the instruction is one the debug interface accepts on that thread. */
  readonly allowed: boolean
}

/**
 * Decode DBGINST0/DBGINST1 as the DMAC does on a DBGCMD write. `allowed`
 * is false (→ dbg_instr fault, FTR bit 30) unless the instruction is DMAGO
 * on the manager thread, or DMASEV / DMAKILL on either thread. Never throws.
 */
export function decodeDebugInstr(dbginst0: number, dbginst1: number): DebugInstr {
  const bytes = new Uint8Array(6)
  bytes[0] = (dbginst0 >>> 16) & 0xff
  bytes[1] = (dbginst0 >>> 24) & 0xff
  bytes[2] = dbginst1 & 0xff
  bytes[3] = (dbginst1 >>> 8) & 0xff
  bytes[4] = (dbginst1 >>> 16) & 0xff
  bytes[5] = (dbginst1 >>> 24) & 0xff
  const thread = (dbginst0 & 1) !== 0 ? 'channel' : 'manager'
  const instr = decode(bytes, 0)
  const allowed = instr.op === 'DMAGO' ? thread === 'manager' : instr.op === 'DMASEV' || instr.op === 'DMAKILL'
  return { thread, channel: (dbginst0 >>> 8) & 7, bytes, instr, allowed }
}
