/**
 * The one error a malformed scenario file gives: where (file:line:col, 1-based)
 * and what was expected there. The CLI prints it and exits with status 2.
 */
export class ScenarioSyntaxError extends Error {
  /** File name as given to the parser. */
  readonly file: string
  /** 1-based line. */
  readonly line: number
  /** 1-based column. */
  readonly col: number
  /** The message without the position. */
  readonly detail: string

  constructor(file: string, line: number, col: number, detail: string) {
    super(`${file}:${line}:${col}: ${detail}`)
    this.name = 'ScenarioSyntaxError'
    this.file = file
    this.line = line
    this.col = col
    this.detail = detail
  }
}

/** A 1-based position in a scenario file. */
export interface Pos {
  readonly file: string
  readonly line: number
  readonly col: number
}

/** `file:line:col`. */
export function formatPos(p: Pos): string {
  return `${p.file}:${p.line}:${p.col}`
}
