/**
 * Models kernel/printk/printk.c: the kernel log ring. Each record keeps its
 * virtual timestamp and level; `dmesg()` renders `[    5.000123] text` lines
 * exactly as `dmesg` does by default (seconds, six digits of microseconds).
 */

/** Console log levels, as KERN_EMERG … KERN_DEBUG (0 … 7). */
export const LOGLEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const
/** A printk level name. */
export type LogLevel = (typeof LOGLEVELS)[number]

/** One record of the log. */
export interface LogRecord {
  /** Virtual time in ns when it was printed. */
  readonly timeNs: number
  readonly level: LogLevel
  readonly text: string
}

/** Formats a virtual time as dmesg's `[%5lu.%06lu]` prefix. */
export function formatTimestamp(timeNs: number): string {
  const us = Math.floor(timeNs / 1000)
  const sec = Math.floor(us / 1_000_000)
  const frac = us % 1_000_000
  return `[${String(sec).padStart(5, ' ')}.${String(frac).padStart(6, '0')}]`
}

/** The log buffer. */
export class PrintkLog {
  private readonly records: LogRecord[] = []
  private readonly clock: () => number
  /**
   * When false (the default), 'debug' records are dropped, as pr_debug/dev_dbg
   * are without dynamic debug enabled.
   */
  dynamicDebug = false
  /** Optional console: called for every record kept (a workshop can echo to stdout). */
  console: ((line: string, rec: LogRecord) => void) | undefined = undefined

  constructor(clock: () => number) {
    this.clock = clock
  }

  /** Appends `text` (one record per line of a multi-line text). */
  printk(level: LogLevel, text: string): void {
    if (level === 'debug' && !this.dynamicDebug) return
    const timeNs = this.clock()
    for (const line of text.replace(/\n$/, '').split('\n')) {
      const rec: LogRecord = { timeNs, level, text: line }
      this.records.push(rec)
      this.console?.(`${formatTimestamp(timeNs)} ${line}`, rec)
    }
  }

  /** All records, oldest first. */
  get log(): readonly LogRecord[] {
    return this.records
  }

  /** Rendered lines, oldest first. */
  dmesg(): string[] {
    return this.records.map(r => `${formatTimestamp(r.timeNs)} ${r.text}`)
  }
}
