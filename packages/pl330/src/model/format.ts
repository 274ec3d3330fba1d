/**
 * One-line text of a decoded instruction for traces (ARM assembler syntax,
 * e.g. `DMALPEND lc1, 2` shows the raw backwards jump). The full
 * disassembler with labels lives in ../asm.
 */
import type { Instr } from '../isa/index.ts'

const COND = { always: '', single: 'S', burst: 'B' } as const

/** Text of one instruction, as the trace shows it. */
export function formatInstr(i: Instr): string {
  switch (i.op) {
    case 'DMAADDH':
    case 'DMAADNH':
      return `${i.op} ${i.reg}, 0x${i.imm16.toString(16)}`
    case 'DMAGO':
      return `DMAGO C${i.channel}, 0x${i.addr.toString(16)}${i.ns ? ', ns' : ''}`
    case 'DMALD':
    case 'DMAST':
      return i.op + COND[i.cond]
    case 'DMALDP':
    case 'DMASTP':
      return `${i.op}${COND[i.cond]} P${i.periph}`
    case 'DMALP':
      return `DMALP lc${i.lc}, ${i.iterations}`
    case 'DMALPEND':
      return `DMALPEND${i.forever ? 'FE' : ''}${COND[i.cond]} lc${i.lc}, ${i.jump}`
    case 'DMAMOV':
      return `DMAMOV ${i.reg}, 0x${i.imm.toString(16)}`
    case 'DMASEV':
      return `DMASEV ${i.event}`
    case 'DMAWFE':
      return `DMAWFE ${i.event}${i.invalidate ? ', invalid' : ''}`
    case 'DMAWFP':
      return `DMAWFP ${i.periph}, ${i.req}`
    case 'DMAFLUSHP':
      return `DMAFLUSHP P${i.periph}`
    default:
      return i.op
  }
}
