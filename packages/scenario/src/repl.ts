/**
 * The REPL: the scenario step language one line at a time on a live
 * machine, for a workshop. Each line is one step written as YAML flow
 * (`sh: cat /sys/…`, `open: /dev/vfio/vfio, flags: [O_RDWR], as: c`);
 * the outcome is printed, names persist between lines.
 */
import type { Interface } from 'node:readline'
import { ScenarioSyntaxError } from './errors.ts'
import { fmt, type Outcome } from './expect.ts'
import path from 'node:path'
import { parseScenario, type Group, type Variant } from './parse.ts'
import { Session, Stop } from './runner.ts'
import { ACTIONS } from './steps.ts'

/** An `expect:` every outcome meets (errno or not). */
const ANY = { kind: 'map', entries: [], pos: { file: '<repl>', line: 1, col: 1 }, any: true } as const

/** Output of the REPL. */
export interface ReplIo {
  stdout(s: string): void
}

/** Reads lines until end of input or `.quit`; returns the exit status (0). */
export async function runRepl(lines: AsyncIterable<string> | Interface, variant: Variant, io: ReplIo, opts: { readonly iommu?: boolean; readonly include?: readonly string[] } = {}): Promise<number> {
  const session = new Session(variant, opts.iommu === true ? { iommu: true } : {})
  // Groups of the included libraries, checked like a scenario's include:.
  const include = (opts.include ?? []).map(f => path.resolve(f))
  const header = include.length > 0 ? `include: [${include.map(f => JSON.stringify(f)).join(', ')}]\n` : ''
  let groups = new Map<string, Group>()
  try {
    groups = new Map(parseScenario(`vfio-sim: 1\nname: repl\n${header}steps: []\n`, '<repl>').groups)
  } catch (e) {
    io.stdout(`error: ${(e as Error).message}\n`)
    return 2
  }
  session.useGroups(groups)
  io.stdout(`vfio-sim repl on ${variant.board} (${variant.profile}). .help for the actions, .quit to leave.\n`)
  let n = 0
  for await (const raw of lines as AsyncIterable<string>) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line === '.quit' || line === '.exit') break
    if (line === '.help') {
      for (const [k, a] of Object.entries(ACTIONS)) io.stdout(`  ${k.padEnd(8)} ${a.help}\n`)
      continue
    }
    if (line === '.names') {
      for (const [k, v] of session.env) io.stdout(`  $${k} = ${fmt(v)}\n`)
      continue
    }
    if (line === '.dmesg') {
      io.stdout(session.m.dmesg().join('\n') + '\n')
      continue
    }
    n++
    const body = line.replace(/^-\s*/, '')
    const text = `vfio-sim: 1\nname: repl\n${header}steps:\n  - ${body.startsWith('{') ? body : `{ ${body} }`}\n`
    let step
    try {
      step = parseScenario(text, '<repl>').steps[0]!
    } catch (e) {
      if (e instanceof ScenarioSyntaxError) io.stdout(`error: ${e.detail}\n`)
      else io.stdout(`error: ${(e as Error).message}\n`)
      continue
    }
    // At the prompt a failing call is a result to show, not a failed test.
    if (step.expect === undefined && step.action !== 'dmesg' && step.action !== 'trace' && step.action !== 'compare') step = { ...step, expect: ANY }
    try {
      session.lastOutcome = undefined
      session.runStep(step, String(n))
      const o = session.lastOutcome as Outcome | undefined
      if (o === undefined) io.stdout('ok\n')
      else if (o.errno !== undefined) io.stdout(`-1 ${o.errno}${o.syscall === undefined ? '' : ` (${o.syscall})`}\n`)
      else io.stdout(`${typeof o.value === 'string' ? o.value : fmt(o.captured ?? o.value)}\n`)
    } catch (e) {
      if (e instanceof Stop) {
        const f = e.failure
        io.stdout(`FAIL: ${f.message}${f.expected !== undefined ? `\n  expected: ${f.expected}\n  actual:   ${f.actual}` : ''}\n`)
      } else io.stdout(`error: ${(e as Error).message}\n`)
    }
  }
  return 0
}
