// Canonical assembler text for one instruction: what the disassembler
// prints and the assembler reads back (decision 0452 lists the syntax).

import type { Cond, Instr } from '../isa/types.ts'
import { formatCcr } from '../isa/ccr.ts'

/** How DMALPEND is printed: paired with a DMALP/DMALPFE line, or with its raw jump. */
export type LpendStyle = 'structural' | 'explicit'

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16)
}

/** "0x" + 8 hex digits, for 32-bit immediates. */
export function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0')
}

function suffix(c: Cond): string {
  return c === 'always' ? '' : c === 'single' ? 'S' : 'B'
}

/**
 * Canonical source text of an instruction, e.g. `DMALP LC1, 32`,
 * `DMAMOV CCR, SB16 SS64 DB16 DS64`, `DMAGO C0, 0x00001000, ns`.
 * DMALPEND is printed `DMALPEND[S|B] LCn` (structural: the assembler pairs
 * it with the innermost open loop) or `DMALPEND[S|B] LCn, -<jump>[, forever]`
 * (explicit backwards jump).
 */
export function formatInstr(i: Instr, lpend: LpendStyle = 'structural'): string {
  switch (i.op) {
    case 'DMAEND': case 'DMAKILL': case 'DMANOP': case 'DMARMB': case 'DMAWMB': case 'DMASTZ':
      return i.op
    case 'DMALD': case 'DMAST':
      return i.op + suffix(i.cond)
    case 'DMAADDH':
      return `DMAADDH ${i.reg}, ${hex(i.imm16)}`
    case 'DMAADNH':
      return `DMAADNH ${i.reg}, -${hex(0x10000 - i.imm16)}`
    case 'DMAFLUSHP':
      return `DMAFLUSHP P${i.periph}`
    case 'DMAGO':
      return `DMAGO C${i.channel}, ${hex32(i.addr)}${i.ns ? ', ns' : ''}`
    case 'DMALDP': case 'DMASTP':
      return `${i.op}${suffix(i.cond)} P${i.periph}`
    case 'DMALP':
      return `DMALP LC${i.lc}, ${i.iterations}`
    case 'DMALPEND': {
      const head = `DMALPEND${suffix(i.cond)} LC${i.lc}`
      return lpend === 'structural' ? head : `${head}, -${i.jump}${i.forever ? ', forever' : ''}`
    }
    case 'DMAMOV':
      if (i.reg === 'CCR') return `DMAMOV CCR, ${formatCcr(i.imm) ?? hex32(i.imm)}`
      return `DMAMOV ${i.reg}, ${hex32(i.imm)}`
    case 'DMASEV':
      return `DMASEV ${i.event}`
    case 'DMAWFE':
      return `DMAWFE ${i.event}${i.invalidate ? ', invalid' : ''}`
    case 'DMAWFP':
      return `DMAWFP P${i.periph}, ${i.req}`
  }
}

/** `.byte 0x06, 0x00` for raw bytes the ISA does not accept. */
export function formatBytes(bytes: ArrayLike<number>): string {
  const parts: string[] = []
  for (let k = 0; k < bytes.length; k++) parts.push('0x' + bytes[k]!.toString(16).padStart(2, '0'))
  return `.byte ${parts.join(', ')}`
}
