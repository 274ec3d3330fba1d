// decode(bytes, offset): one instruction from a byte buffer. Guest bytes are
// untrusted, so nothing here throws: every byte sequence yields an Instr or a
// DecodeError that says which fault the hardware raises.
// Allocation: operand-less instructions (DMAEND, DMALD, ...) are frozen
// singletons; the others are one small object each. The model may cache
// decoded instructions by PC if that ever shows up in a profile.

import type {
  Cond, DecodeError, DecodeFault, Instr, InstrOp, LoopCounter,
} from './types.ts'
import { ENCODINGS, ROW_OF_BYTE0 } from './table.ts'

const END: Instr = Object.freeze({ op: 'DMAEND', length: 1 })
const KILL: Instr = Object.freeze({ op: 'DMAKILL', length: 1 })
const NOP: Instr = Object.freeze({ op: 'DMANOP', length: 1 })
const RMB: Instr = Object.freeze({ op: 'DMARMB', length: 1 })
const WMB: Instr = Object.freeze({ op: 'DMAWMB', length: 1 })
const STZ: Instr = Object.freeze({ op: 'DMASTZ', length: 1 })
const LD: Instr = Object.freeze({ op: 'DMALD', length: 1, cond: 'always' })
const LDS: Instr = Object.freeze({ op: 'DMALD', length: 1, cond: 'single' })
const LDB: Instr = Object.freeze({ op: 'DMALD', length: 1, cond: 'burst' })
const ST: Instr = Object.freeze({ op: 'DMAST', length: 1, cond: 'always' })
const STS: Instr = Object.freeze({ op: 'DMAST', length: 1, cond: 'single' })
const STB: Instr = Object.freeze({ op: 'DMAST', length: 1, cond: 'burst' })

const MOV_REGS = ['SAR', 'CCR', 'DAR'] as const

/** The shared record of every valid one-byte instruction, by byte 0 (null otherwise). */
const SINGLES: readonly (Instr | null)[] = (() => {
  const t: (Instr | null)[] = new Array<Instr | null>(256).fill(null)
  const put = (b: number, i: Instr): void => { t[b] = i }
  put(0x00, END); put(0x01, KILL); put(0x18, NOP); put(0x12, RMB); put(0x13, WMB); put(0x0c, STZ)
  put(0x04, LD); put(0x05, LDS); put(0x07, LDB); put(0x08, ST); put(0x09, STS); put(0x0b, STB)
  return t
})()

function fail(fault: DecodeFault, opcode: number, length: number, mnemonic: InstrOp | null, reason: string): DecodeError {
  return { op: 'error', fault, opcode, length, mnemonic, reason }
}

function hex2(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0')
}

/**
 * Condition from the bs/x bit pair (bits 1:0 of DMALD/DMAST/DMALPEND):
 * x=0 → always, bs=0,x=1 → single, bs=1,x=1 → burst; bs=1,x=0 → null
 * (operand_invalid, as QEMU and VCML treat it).
 */
function condOf(byte0: number): Cond | null {
  switch (byte0 & 3) {
    case 0: return 'always'
    case 1: return 'single'
    case 3: return 'burst'
    default: return null
  }
}

/** Read a little-endian uint32 (caller has checked the bounds). */
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
}

/**
 * Decode the instruction at `bytes[offset]`.
 *
 * Returns an {@link Instr} or a {@link DecodeError}: `undef_instr` for an
 * unknown byte 0, `operand_invalid` for a reserved operand encoding,
 * `truncated` when fewer than `length` bytes remain. Never throws.
 * Configuration-dependent checks (event/peripheral/channel numbers against
 * CR0, manager vs channel thread usage, security) are left to the model;
 * see {@link allowedOn} and the operand fields.
 */
export function decode(bytes: Uint8Array, offset: number): Instr | DecodeError {
  if (!(offset >= 0) || offset >= bytes.length) return fail('truncated', -1, 1, null, 'no instruction byte')
  const b0 = bytes[offset]!
  // Fast path: one-byte instructions are shared frozen records.
  const single = SINGLES[b0]
  if (single !== null) return single!
  const row = ROW_OF_BYTE0[b0]!
  if (row < 0) return fail('undef_instr', b0, 1, null, `undefined opcode ${hex2(b0)}`)
  const enc = ENCODINGS[row]!
  const len = enc.length
  if (offset + len > bytes.length) {
    return fail('truncated', b0, len, enc.op, `${enc.op} needs ${len} bytes, ${bytes.length - offset} left`)
  }
  const b1 = bytes[offset + 1]!
  switch (enc.op) {
    case 'DMALD':
    case 'DMAST':
      // only the invalid bs=1,x=0 forms get here (the valid ones are SINGLES)
      return invalid(enc.op, b0, len, `bs=1 x=0 form ${hex2(b0)} is invalid`)
    case 'DMAADDH':
    case 'DMAADNH':
      return { op: enc.op, length: 3, reg: (b0 & 2) !== 0 ? 'DAR' : 'SAR', imm16: b1 | (bytes[offset + 2]! << 8) }
    case 'DMAFLUSHP':
      if ((b1 & 7) !== 0) return invalid(enc.op, b0, len, reservedLow(b1))
      return { op: 'DMAFLUSHP', length: 2, periph: b1 >> 3 }
    case 'DMAGO':
      if ((b1 & 0xf8) !== 0) return invalid(enc.op, b0, len, `reserved bits [7:3] of byte 1 set (${hex2(b1)})`)
      return { op: 'DMAGO', length: 6, channel: b1 & 7, ns: (b0 & 2) !== 0, addr: u32(bytes, offset + 2) }
    case 'DMALDP':
    case 'DMASTP':
      if ((b1 & 7) !== 0) return invalid(enc.op, b0, len, reservedLow(b1))
      return { op: enc.op, length: 2, cond: (b0 & 2) !== 0 ? 'burst' : 'single', periph: b1 >> 3 }
    case 'DMALP':
      return { op: 'DMALP', length: 2, lc: ((b0 >> 1) & 1) as LoopCounter, iterations: b1 + 1 }
    case 'DMALPEND': {
      const c = condOf(b0)
      if (c === null) return invalid(enc.op, b0, len, `bs=1 x=0 form ${hex2(b0)} is invalid`)
      return {
        op: 'DMALPEND', length: 2, lc: ((b0 >> 2) & 1) as LoopCounter, cond: c,
        forever: (b0 & 0x10) === 0, jump: b1,
      }
    }
    case 'DMAMOV': {
      const rd = MOV_REGS[b1]
      if (rd === undefined) return invalid(enc.op, b0, len, `destination field ${hex2(b1)} is not SAR(0), CCR(1) or DAR(2)`)
      return { op: 'DMAMOV', length: 6, reg: rd, imm: u32(bytes, offset + 2) }
    }
    case 'DMASEV':
      if ((b1 & 7) !== 0) return invalid(enc.op, b0, len, reservedLow(b1))
      return { op: 'DMASEV', length: 2, event: b1 >> 3 }
    case 'DMAWFE':
      // bit 1 is the "invalid" (invalidate icache) flag; bits 2 and 0 reserved (QEMU: args[0] & 5).
      if ((b1 & 5) !== 0) return invalid(enc.op, b0, len, `reserved bits 2/0 of byte 1 set (${hex2(b1)})`)
      return { op: 'DMAWFE', length: 2, event: b1 >> 3, invalidate: (b1 & 2) !== 0 }
    case 'DMAWFP': {
      if ((b0 & 3) === 3) return invalid(enc.op, b0, len, 'bs=1 p=1 form 0x33 is invalid')
      if ((b1 & 7) !== 0) return invalid(enc.op, b0, len, reservedLow(b1))
      const req = (b0 & 1) !== 0 ? 'periph' : (b0 & 2) !== 0 ? 'burst' : 'single'
      return { op: 'DMAWFP', length: 2, periph: b1 >> 3, req }
    }
    default:
      // One-byte families are all in SINGLES; unreachable, kept total for the type checker.
      return invalid(enc.op, b0, len, 'unexpected encoding')
  }
}

function invalid(op: InstrOp, b0: number, len: number, why: string): DecodeError {
  return fail('operand_invalid', b0, len, op, `${op}: ${why}`)
}

function reservedLow(b1: number): string {
  return `reserved bits [2:0] of byte 1 set (${hex2(b1)})`
}

/** True when a decode result is an error. */
export function isDecodeError(r: Instr | DecodeError): r is DecodeError {
  return r.op === 'error'
}
