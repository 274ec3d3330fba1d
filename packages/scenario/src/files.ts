/**
 * Finding and running scenario files: `run scenarios/` takes every
 * `*.yaml`/`*.yml` under the directory, sorted, except those under a `lib/`
 * directory (libraries of groups, brought in with `include:`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { ScenarioSyntaxError } from './errors.ts'
import { parseScenario, type Scenario } from './parse.ts'
import type { ReportItem } from './report.ts'
import { runScenario, type RunOptions } from './runner.ts'

/** Parsed files: the scenarios, and the malformed ones. */
export interface FileSet {
  readonly scenarios: readonly Scenario[]
  readonly malformed: readonly { readonly file: string; readonly error: ScenarioSyntaxError }[]
  /** Paths that do not exist. */
  readonly missing: readonly string[]
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) {
      if (name !== 'lib' && name !== 'node_modules') walk(full, out)
    } else if (/\.ya?ml$/.test(name)) out.push(full)
  }
}

/** Expands files and directories into scenario file paths (sorted within a directory). */
export function scenarioPaths(inputs: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = []
  const missing: string[] = []
  for (const p of inputs) {
    let st
    try {
      st = statSync(p)
    } catch {
      missing.push(p)
      continue
    }
    if (st.isDirectory()) walk(p, files)
    else files.push(p)
  }
  return { files, missing }
}

/** Reads and parses files and directories. */
export function loadFiles(inputs: readonly string[]): FileSet {
  const { files, missing } = scenarioPaths(inputs)
  const scenarios: Scenario[] = []
  const malformed: { file: string; error: ScenarioSyntaxError }[] = []
  for (const f of files) {
    try {
      scenarios.push(parseScenario(readFileSync(f, 'utf8'), f))
    } catch (e) {
      if (e instanceof ScenarioSyntaxError) malformed.push({ file: f, error: e })
      else malformed.push({ file: f, error: new ScenarioSyntaxError(f, 1, 1, `cannot read: ${(e as Error).message}`) })
    }
  }
  return { scenarios, malformed, missing }
}

/** Runs every scenario on each of its variants; malformed files become report items too. */
export function runFiles(set: FileSet, opts: RunOptions = {}): ReportItem[] {
  const items: ReportItem[] = set.malformed.map(m => ({ kind: 'malformed' as const, file: m.file, error: m.error }))
  for (const s of set.scenarios) for (const v of s.variants) items.push({ kind: 'run', run: runScenario(s, v, opts) })
  return items
}
