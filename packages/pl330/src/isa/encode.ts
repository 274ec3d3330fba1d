// encode(instr): the bytes of one instruction. The inverse of decode for
// every valid record. Operands out of range are a programming error of the
// caller (the assembler validates source text first), so they throw a
// RangeError rather than silently truncating a field.

import type { Cond, Instr } from './types.ts'

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(what)
}

function isInt(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi
}

/** bs/x bits of DMALD/DMAST/DMALPEND for a condition. */
function condBits(c: Cond): number {
  return c === 'always' ? 0 : c === 'single' ? 1 : 3
}

function putU32(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v & 0xff
  buf[o + 1] = (v >>> 8) & 0xff
  buf[o + 2] = (v >>> 16) & 0xff
  buf[o + 3] = (v >>> 24) & 0xff
}

/** 5-bit event/peripheral number check and placement in byte 1 bits [7:3]. */
function num5(v: number, what: string): number {
  check(isInt(v, 0, 31), `${what} ${v} out of range 0..31`)
  return v << 3
}

/**
 * Write the encoding of `instr` into `buf` at `offset`; returns its length.
 * Throws RangeError for operands the encoding cannot hold (e.g. DMALP
 * iterations outside 1..256, DMALPEND jump outside 0..255, a conditional
 * DMALPEND with lc0 and forever, which would be 0x29/0x2B = DMASTP) or when
 * `buf` is too short.
 */
export function encodeInto(instr: Instr, buf: Uint8Array, offset: number): number {
  check(offset >= 0 && offset + instr.length <= buf.length, `buffer too short for ${instr.op}`)
  const o = offset
  switch (instr.op) {
    case 'DMAEND': buf[o] = 0x00; break
    case 'DMAKILL': buf[o] = 0x01; break
    case 'DMANOP': buf[o] = 0x18; break
    case 'DMARMB': buf[o] = 0x12; break
    case 'DMAWMB': buf[o] = 0x13; break
    case 'DMASTZ': buf[o] = 0x0c; break
    case 'DMALD': buf[o] = 0x04 | condBits(instr.cond); break
    case 'DMAST': buf[o] = 0x08 | condBits(instr.cond); break
    case 'DMAADDH':
    case 'DMAADNH':
      check(isInt(instr.imm16, 0, 0xffff), `${instr.op} imm16 ${instr.imm16} out of range 0..65535`)
      buf[o] = (instr.op === 'DMAADDH' ? 0x54 : 0x5c) | (instr.reg === 'DAR' ? 2 : 0)
      buf[o + 1] = instr.imm16 & 0xff
      buf[o + 2] = instr.imm16 >> 8
      break
    case 'DMAFLUSHP':
      buf[o] = 0x35
      buf[o + 1] = num5(instr.periph, 'peripheral')
      break
    case 'DMAGO':
      check(isInt(instr.channel, 0, 7), `DMAGO channel ${instr.channel} out of range 0..7`)
      check(isInt(instr.addr, 0, 0xffffffff), `DMAGO address ${instr.addr} is not a uint32`)
      buf[o] = 0xa0 | (instr.ns ? 2 : 0)
      buf[o + 1] = instr.channel
      putU32(buf, o + 2, instr.addr)
      break
    case 'DMALDP':
    case 'DMASTP':
      buf[o] = (instr.op === 'DMALDP' ? 0x25 : 0x29) | (instr.cond === 'burst' ? 2 : 0)
      buf[o + 1] = num5(instr.periph, 'peripheral')
      break
    case 'DMALP':
      check(isInt(instr.iterations, 1, 256), `DMALP iterations ${instr.iterations} out of range 1..256`)
      buf[o] = 0x20 | (instr.lc << 1)
      buf[o + 1] = instr.iterations - 1
      break
    case 'DMALPEND':
      check(isInt(instr.jump, 0, 255), `DMALPEND backwards jump ${instr.jump} out of range 0..255`)
      check(!(instr.forever && instr.lc === 0 && instr.cond !== 'always'),
        'a conditional DMALPFE loop cannot use lc0 (0x29/0x2B encode DMASTP): use lc1')
      buf[o] = 0x28 | (instr.forever ? 0 : 0x10) | (instr.lc << 2) | condBits(instr.cond)
      buf[o + 1] = instr.jump
      break
    case 'DMAMOV':
      check(isInt(instr.imm, 0, 0xffffffff), `DMAMOV immediate ${instr.imm} is not a uint32`)
      buf[o] = 0xbc
      buf[o + 1] = instr.reg === 'SAR' ? 0 : instr.reg === 'CCR' ? 1 : 2
      putU32(buf, o + 2, instr.imm)
      break
    case 'DMASEV':
      buf[o] = 0x34
      buf[o + 1] = num5(instr.event, 'event')
      break
    case 'DMAWFE':
      buf[o] = 0x36
      buf[o + 1] = num5(instr.event, 'event') | (instr.invalidate ? 2 : 0)
      break
    case 'DMAWFP':
      buf[o] = 0x30 | (instr.req === 'periph' ? 1 : instr.req === 'burst' ? 2 : 0)
      buf[o + 1] = num5(instr.periph, 'peripheral')
      break
  }
  return instr.length
}

/** The encoding of one instruction as a fresh byte array. See {@link encodeInto}. */
export function encode(instr: Instr): Uint8Array {
  const buf = new Uint8Array(instr.length)
  encodeInto(instr, buf, 0)
  return buf
}

/** Encode a sequence of instructions back to back. */
export function encodeAll(instrs: readonly Instr[]): Uint8Array {
  let n = 0
  for (const i of instrs) n += i.length
  const buf = new Uint8Array(n)
  let o = 0
  for (const i of instrs) o += encodeInto(i, buf, o)
  return buf
}
