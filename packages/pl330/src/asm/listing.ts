// A listing: one line per instruction (or pseudo-instruction / raw bytes),
// shared by the assembler, the disassembler and the program builder.

/** One line of a listing. */
export interface ListingLine {
  /** Offset from the start of the program. */
  readonly offset: number
  /** Bus address (base + offset). */
  readonly address: number
  /** Bytes of this line (empty for DMALPFE and labels). */
  readonly bytes: Uint8Array
  /** Assembler-accepted text (instruction, `DMALPFE`, `.byte ...` or `label:`). */
  readonly text: string
  /** Explanation for humans (jump target, CCR value, decode error); '' if none. */
  readonly comment: string
}

/**
 * Render a listing as text, one line each:
 * `0x80000014  3c 02              DMALPEND LC1  ; -> 0x80000012`.
 */
export function formatListing(lines: readonly ListingLine[]): string {
  return lines.map((l) => {
    const addr = '0x' + (l.address >>> 0).toString(16).padStart(8, '0')
    const bytes = Array.from(l.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')
    const code = l.text.endsWith(':') ? l.text : '    ' + l.text
    const line = `${addr}  ${bytes.padEnd(18)} ${code}`
    return l.comment ? `${line.padEnd(64)} ; ${l.comment}` : line
  }).join('\n')
}

/** The assembler text of a listing (labels and instructions, comments kept). */
export function listingToSource(lines: readonly ListingLine[]): string {
  return lines.map((l) => {
    const code = l.text.endsWith(':') ? l.text : '    ' + l.text
    return l.comment ? `${code.padEnd(40)} ; ${l.comment}` : code
  }).join('\n') + '\n'
}
