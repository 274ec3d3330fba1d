/**
 * `pnpm bench`: runs every `packages/*\/bench/*.bench.ts`, alternating each
 * emulated workload with its host reference, and prints a table (figure,
 * value, reference, ratio) followed by the same as JSON.
 *   pnpm bench [substring]       only figures whose file or name contains it
 *   BENCH_JSON=out.json pnpm bench   also write the JSON to a file
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import type { BenchFigure, BenchResult } from './harness.ts'

const root = path.resolve(import.meta.dirname, '..')
const filter = process.argv[2]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Units per second of one call of `fn`. */
function rate(fn: () => number): number {
  const t0 = performance.now()
  const amount = fn()
  const dt = (performance.now() - t0) / 1000
  return amount / Math.max(dt, 1e-9)
}

function files(): string[] {
  const out: string[] = []
  for (const pkg of readdirSync(path.join(root, 'packages')).sort()) {
    const dir = path.join(root, 'packages', pkg, 'bench')
    try { statSync(dir) } catch { continue }
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.bench.ts')) out.push(path.join(dir, f))
  }
  return out
}

function human(n: number | null, unit: string): string {
  if (n === null) return '-'
  const prefixes = ['', 'k', 'M', 'G', 'T']
  let i = 0
  while (Math.abs(n) >= 1000 && i < prefixes.length - 1) { n /= 1000; i++ }
  return `${n.toFixed(2)} ${prefixes[i]}${unit}/s`
}

const results: BenchResult[] = []
for (const file of files()) {
  const mod = (await import(pathToFileURL(file).href)) as { default: BenchFigure[] }
  for (const fig of mod.default) {
    if (filter !== undefined && !file.includes(filter) && !fig.name.includes(filter)) continue
    fig.run() // warm-up
    fig.reference?.()
    const rounds = fig.rounds ?? 5
    const emu: number[] = []
    const ref: number[] = []
    for (let i = 0; i < rounds; i++) {
      emu.push(rate(() => fig.run()))
      if (fig.reference) ref.push(rate(() => fig.reference!()))
    }
    const value = median(emu)
    const reference = ref.length > 0 ? median(ref) : null
    results.push({ name: fig.name, unit: fig.unit, value, reference, ratio: reference === null ? null : value / reference })
  }
}

const rows = [['figure', 'value', 'reference', 'ratio'], ...results.map(r => [r.name, human(r.value, r.unit), human(r.reference, r.unit), r.ratio === null ? '-' : r.ratio.toFixed(4)])]
const widths = rows[0]!.map((_, c) => Math.max(...rows.map(r => r[c]!.length)))
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
  if (i === 0) console.log(widths.map(w => '-'.repeat(w)).join('  '))
}
const json = JSON.stringify({ results }, null, 2)
console.log(json)
if (process.env['BENCH_JSON']) writeFileSync(process.env['BENCH_JSON'], json + '\n')
