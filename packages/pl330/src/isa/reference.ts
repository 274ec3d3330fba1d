// The encoding table as Markdown, for docs/reference/pl330-isa.md (a test
// checks the document contains exactly this table).

import { ENCODINGS } from './table.ts'
import { Thread } from './types.ts'

/** Markdown table of every instruction family: byte-0 layout, mask, length, threads. */
export function isaReferenceTable(): string {
  const rows = ENCODINGS.map((r) => {
    const who = r.threads === Thread.BOTH ? 'manager, channel' : r.threads === Thread.MANAGER ? 'manager' : 'channel'
    const hex = (v: number): string => '0x' + v.toString(16).padStart(2, '0')
    return `| ${r.op} | \`${r.layout}\` | ${hex(r.opcode)} | ${hex(r.mask)} | ${r.length} | ${who} |`
  })
  return ['| family | byte 0 (MSB→LSB) | opcode | mask | bytes | threads |', '|---|---|---|---|---|---|', ...rows].join('\n')
}
