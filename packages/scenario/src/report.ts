/**
 * Reports: TAP 13 (CI, and whenever stdout is not a terminal), a readable
 * coloured report (terminals), JSON (on request). Every format ends with
 * the closing line `N passed, N failed`. The output depends only on the
 * runs, never on the host (no clock, no paths beyond those given).
 */
import { formatPos } from './errors.ts'
import type { ScenarioSyntaxError } from './errors.ts'
import type { RunReport } from './runner.ts'

/** One item of a report: a run, or a file that did not parse. */
export type ReportItem = { readonly kind: 'run'; readonly run: RunReport } | { readonly kind: 'malformed'; readonly file: string; readonly error: ScenarioSyntaxError }

/** The report formats. */
export type ReportFormat = 'tap' | 'pretty' | 'json'

/** Exit status: 2 if any file is malformed, else 1 if any run failed, else 0. */
export function exitCode(items: readonly ReportItem[]): 0 | 1 | 2 {
  if (items.some(i => i.kind === 'malformed')) return 2
  if (items.some(i => i.kind === 'run' && !i.run.ok)) return 1
  return 0
}

/** `N passed, N failed` (a malformed file counts as failed). */
export function closingLine(items: readonly ReportItem[]): string {
  const passed = items.filter(i => i.kind === 'run' && i.run.ok).length
  return `${passed} passed, ${items.length - passed} failed`
}

/** Title of a run: `name [board profile]`. */
export function runTitle(r: RunReport): string {
  return `${r.file}: ${r.name} [${r.variant.board} ${r.variant.profile}]`
}

function yamlString(s: string): string {
  return JSON.stringify(s)
}

/** TAP version 13 with YAML diagnostics for failures. */
export function formatTap(items: readonly ReportItem[]): string {
  const out = ['TAP version 13', `1..${items.length}`]
  items.forEach((it, i) => {
    const n = i + 1
    if (it.kind === 'malformed') {
      out.push(`not ok ${n} - ${it.file} (malformed)`, '  ---', `  message: ${yamlString(it.error.detail)}`, `  at: ${yamlString(`${it.error.file}:${it.error.line}:${it.error.col}`)}`, '  ...')
      return
    }
    const r = it.run
    if (r.ok) {
      out.push(`ok ${n} - ${runTitle(r)}`)
      const skipped = r.steps.filter(s => s.status === 'skip').length
      out.push(`# ${r.steps.length - skipped} steps${skipped > 0 ? `, ${skipped} skipped on this variant` : ''}, ${r.timeNs} ns virtual time`)
      return
    }
    const f = r.failure!
    out.push(`not ok ${n} - ${runTitle(r)}`, '  ---', `  message: ${yamlString(f.message)}`, `  step: ${yamlString(`${f.step.id} ${f.step.label}`)}`, `  at: ${yamlString(formatPos(f.pos))}`)
    if (f.expected !== undefined) out.push(`  expected: ${yamlString(f.expected)}`)
    if (f.actual !== undefined) out.push(`  actual: ${yamlString(f.actual)}`)
    if (f.trace.length > 0) {
      out.push('  trace:')
      for (const t of f.trace) out.push(`    - ${yamlString(t)}`)
    }
    out.push('  ...')
  })
  out.push(closingLine(items))
  return out.join('\n') + '\n'
}

const C = {
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
}
const PLAIN = { green: (s: string) => s, red: (s: string) => s, dim: (s: string) => s, bold: (s: string) => s, yellow: (s: string) => s }

/** The terminal report: one line per run, details of failures, the closing line. */
export function formatPretty(items: readonly ReportItem[], color = true): string {
  const c = color ? C : PLAIN
  const out: string[] = []
  for (const it of items) {
    if (it.kind === 'malformed') {
      out.push(`${c.red('✗')} ${it.file} ${c.red('malformed')}`)
      out.push(`    ${c.bold(it.error.message)}`)
      continue
    }
    const r = it.run
    const v = c.dim(`[${r.variant.board} ${r.variant.profile}]`)
    if (r.ok) {
      out.push(`${c.green('✓')} ${r.name} ${v} ${c.dim(`${r.file}, ${r.steps.filter(s => s.status === 'pass').length} steps`)}`)
      continue
    }
    const f = r.failure!
    out.push(`${c.red('✗')} ${r.name} ${v} ${c.dim(r.file)}`)
    for (const s of r.steps) {
      const mark = s.status === 'pass' ? c.green('✓') : s.status === 'skip' ? c.yellow('-') : c.red('✗')
      out.push(`    ${mark} ${c.dim(s.id.padStart(4))} ${s.label}`)
    }
    out.push(`    ${c.bold(formatPos(f.pos))}: ${c.red(f.message)}`)
    if (f.expected !== undefined) out.push(`      expected: ${c.green(f.expected)}`)
    if (f.actual !== undefined) out.push(`      actual:   ${c.red(f.actual)}`)
    if (f.trace.length > 0) {
      out.push(`      ${c.dim('last trace events:')}`)
      for (const t of f.trace) out.push(`        ${c.dim(t)}`)
    }
  }
  const line = closingLine(items)
  out.push('', exitCode(items) === 0 ? c.green(line) : c.red(line))
  return out.join('\n') + '\n'
}

/** JSON: `{ runs: [...], malformed: [...], passed, failed }`, then the closing line on its own line. */
export function formatJson(items: readonly ReportItem[]): string {
  const runs = items.flatMap(i => (i.kind === 'run' ? [{ ...i.run, chromeTrace: undefined }] : []))
  const malformed = items.flatMap(i => (i.kind === 'malformed' ? [{ file: i.file, line: i.error.line, col: i.error.col, message: i.error.detail }] : []))
  const passed = runs.filter(r => r.ok).length
  const body = JSON.stringify({ runs, malformed, passed, failed: items.length - passed }, null, 2)
  return `${body}\n${closingLine(items)}\n`
}

/** Formats items in one of the formats. */
export function formatReport(items: readonly ReportItem[], format: ReportFormat, color = false): string {
  return format === 'tap' ? formatTap(items) : format === 'json' ? formatJson(items) : formatPretty(items, color)
}
