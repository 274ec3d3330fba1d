/**
 * The CLI's commands, apart from process wiring so tests can call them
 * with captured output. See cli.ts for the synopsis.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { boardNames, boardSource } from '@vfio-sim/machine'
import { disassembleToText, tryAssemble, formatListing } from '@vfio-sim/pl330'
import { loadFiles, runFiles } from './files.ts'
import { exitCode, formatReport, type ReportFormat, type ReportItem } from './report.ts'
import { runRepl } from './repl.ts'

/** Where the CLI writes, and what it knows of its terminal. */
export interface CliIo {
  stdout(s: string): void
  stderr(s: string): void
  readonly isTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdin?: Readable
}

const USAGE = `Usage: vfio-sim <command> [options]

Commands:
  run <files|dirs>...     run scenario files (every *.yaml under a directory, lib/ excepted)
  check <files|dirs>...   validate scenario files without running them
  asm <file.s>            assemble PL330 microcode (hex listing, or -o file.bin)
  disasm <file.bin>       disassemble PL330 microcode (or --hex "bc 01 ...")
  boards                  list the boards and profiles
  repl                    type steps one line at a time on a booted machine

Run 'vfio-sim <command> --help' for the options of a command.
Exit status: 0 all passed, 1 an expectation failed, 2 a malformed file or bad usage.
`

const HELP: Readonly<Record<string, string>> = {
  run: `Usage: vfio-sim run [options] <files|dirs>...

Runs each scenario on each of its variants and reports; the last line is always
"N passed, N failed".

Options:
  --format <tap|pretty|json>  report format (default: pretty on a terminal, TAP otherwise)
  --json                      same as --format json
  --trace <out.json>          write Chrome Trace Event JSON (open it in ui.perfetto.dev);
                              several runs write <out>.<n>.json
  --narrate                   print what happened inside, in plain words (to stderr
                              with TAP or JSON, so stdout stays machine-readable)
  --no-color                  no colours (also NO_COLOR=1)
  -h, --help                  show this help
`,
  check: `Usage: vfio-sim check <files|dirs>...

Parses and validates scenario files without running them. Prints file:line:col
and what was expected for each malformed file; exit 2 if any.
`,
  asm: `Usage: vfio-sim asm [options] <file.s>

Options:
  --base <addr>     bus address of the first byte (labels are relative to it)
  -o <file.bin>     write the bytes instead of printing the listing
`,
  disasm: `Usage: vfio-sim disasm [options] [<file.bin>]

Options:
  --hex "<bytes>"   disassemble these hex bytes instead of a file
  --base <addr>     bus address of the first byte
`,
  boards: `Usage: vfio-sim boards [--dts <name>]

Lists the boards a scenario may name, and the profiles. --dts prints a board's device tree.
`,
  repl: `Usage: vfio-sim repl [--board <name>] [--profile <rfc-v5|upstream>] [--iommu] [--include <lib.yaml>]...

Boots a machine and reads steps one per line, in the scenario language
(sh: cat /sys/bus/platform/devices/2c0a0000.dma/driver_override). --iommu boots
the IOMMU and VFIO modules (as a scenario's iommu: true); --include makes a
library's groups callable (call: bind-vfio, with: {bus: platform, dev: 2c0a0000.dma}).
.help lists the actions, .names the captured names, .dmesg the kernel log,
.quit leaves.
`,
}

function num(s: string | undefined): number {
  if (s === undefined) return 0
  const n = Number(s)
  if (!Number.isFinite(n)) throw new UsageError(`not a number: '${s}'`)
  return n
}

class UsageError extends Error {}

/** Runs the CLI with arguments; returns the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    io.stdout(USAGE)
    return cmd === undefined ? 2 : 0
  }
  if (cmd === '--version' || cmd === '-v') {
    io.stdout('vfio-sim 0.1.0 (scenario format 1)\n')
    return 0
  }
  if (!Object.hasOwn(HELP, cmd)) {
    io.stderr(`vfio-sim: unknown command '${cmd}'\n\n${USAGE}`)
    return 2
  }
  try {
    return await command(cmd, rest, io)
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`vfio-sim ${cmd}: ${(e as Error).message}\n\n${HELP[cmd]}`)
      return 2
    }
    throw e
  }
}

async function command(cmd: string, args: readonly string[], io: CliIo): Promise<number> {
  switch (cmd) {
    case 'run': {
      const { values, positionals } = parseArgs({
        args: [...args], allowPositionals: true,
        options: { format: { type: 'string' }, json: { type: 'boolean' }, trace: { type: 'string' }, narrate: { type: 'boolean' }, 'no-color': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      })
      if (values.help) return help(io, cmd)
      if (positionals.length === 0) throw new UsageError('no scenario files given')
      const format = (values.json ? 'json' : values.format ?? (io.isTTY ? 'pretty' : 'tap')) as ReportFormat
      if (!['tap', 'pretty', 'json'].includes(format)) throw new UsageError(`unknown format '${format}'; expected tap, pretty or json`)
      const color = io.isTTY && !values['no-color'] && io.env['NO_COLOR'] === undefined
      const set = loadFiles(positionals)
      if (set.missing.length > 0) throw new UsageError(`no such file or directory: ${set.missing.join(', ')}`)
      const items = runFiles(set, { chromeTrace: values.trace !== undefined, narrate: values.narrate === true })
      // Narration goes before a pretty report; with TAP or JSON it goes to
      // stderr, so stdout stays machine-readable (TAP's first line is its version).
      const say = format === 'pretty' ? io.stdout : io.stderr
      if (values.narrate) {
        for (const it of items) {
          if (it.kind !== 'run') continue
          say(`# ${it.run.name} [${it.run.variant.board} ${it.run.variant.profile}]\n${it.run.narration.map(l => `# ${l}`).join('\n')}\n`)
        }
      }
      if (values.trace !== undefined) writeTraces(values.trace, items)
      io.stdout(formatReport(items, format, color))
      return exitCode(items)
    }
    case 'check': {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } })
      if (values.help) return help(io, cmd)
      if (positionals.length === 0) throw new UsageError('no scenario files given')
      const set = loadFiles(positionals)
      if (set.missing.length > 0) throw new UsageError(`no such file or directory: ${set.missing.join(', ')}`)
      for (const m of set.malformed) io.stdout(`${m.error.message}\n`)
      for (const s of set.scenarios) io.stdout(`${s.file}: ok (${s.steps.length} steps, ${s.variants.length} variant${s.variants.length === 1 ? '' : 's'})\n`)
      const items: ReportItem[] = set.malformed.map(m => ({ kind: 'malformed', file: m.file, error: m.error }))
      io.stdout(`${set.scenarios.length} valid, ${set.malformed.length} malformed\n`)
      return exitCode(items)
    }
    case 'asm': {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { base: { type: 'string' }, o: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } })
      if (values.help) return help(io, cmd)
      const file = positionals[0]
      if (file === undefined) throw new UsageError('no source file given')
      const r = tryAssemble(readFileSync(file, 'utf8'), { base: num(values.base) })
      if (!r.ok) {
        for (const e of r.errors) io.stderr(`${file}:${e.line}:${e.column}: ${e.message}\n`)
        return 2
      }
      for (const w of r.program.warnings) io.stderr(`${file}:${w.line}:${w.column}: warning: ${w.message}\n`)
      if (values.o !== undefined) writeFileSync(values.o, r.program.bytes)
      else io.stdout(formatListing(r.program.listing) + '\n')
      return 0
    }
    case 'disasm': {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { hex: { type: 'string' }, base: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
      if (values.help) return help(io, cmd)
      let bytes: Uint8Array
      if (values.hex !== undefined) {
        const t = values.hex.replace(/[\s,]|0x/g, '')
        if (!/^([0-9a-f]{2})*$/i.test(t)) throw new UsageError('--hex: expected pairs of hex digits')
        bytes = Uint8Array.from(t.match(/../g) ?? [], h => parseInt(h, 16))
      } else if (positionals[0] !== undefined) bytes = new Uint8Array(readFileSync(positionals[0]))
      else throw new UsageError('give a file or --hex')
      io.stdout(disassembleToText(bytes, { base: num(values.base) }) + '\n')
      return 0
    }
    case 'boards': {
      const { values } = parseArgs({ args: [...args], options: { dts: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
      if (values.help) return help(io, cmd)
      if (values.dts !== undefined) {
        if (!boardNames().includes(values.dts) || values.dts === 'minimal') throw new UsageError(`unknown board '${values.dts}'`)
        io.stdout(boardSource(values.dts))
        return 0
      }
      for (const b of boardNames()) {
        const model = b === 'minimal' ? 'DRAM only, no devices' : /model = "([^"]*)"/.exec(boardSource(b))?.[1] ?? ''
        io.stdout(`${b.padEnd(26)} ${model}\n`)
      }
      io.stdout('\nprofiles: rfc-v5 (the 2014 RFC, default), upstream (Linux as merged)\n')
      return 0
    }
    case 'repl': {
      const { values } = parseArgs({ args: [...args], options: { board: { type: 'string' }, profile: { type: 'string' }, iommu: { type: 'boolean' }, include: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } })
      if (values.help) return help(io, cmd)
      const board = values.board ?? 'fvp-mmu400'
      const profile = values.profile ?? 'rfc-v5'
      if (!boardNames().includes(board)) throw new UsageError(`unknown board '${board}'; known: ${boardNames().join(', ')}`)
      if (profile !== 'rfc-v5' && profile !== 'upstream') throw new UsageError(`unknown profile '${profile}'`)
      const rl = createInterface({ input: io.stdin ?? process.stdin, terminal: false })
      return runRepl(rl, { board, profile }, io, { iommu: values.iommu === true, include: values.include ?? [] })
    }
  }
  return 2
}

function help(io: CliIo, cmd: string): number {
  io.stdout(HELP[cmd]!)
  return 0
}

function writeTraces(out: string, items: readonly ReportItem[]): void {
  const runs = items.flatMap(i => (i.kind === 'run' ? [i.run] : []))
  runs.forEach((r, i) => {
    const file = runs.length === 1 ? out : out.replace(/(\.json)?$/, `.${i + 1}.json`)
    writeFileSync(file, r.chromeTrace ?? '{"traceEvents":[]}')
  })
}

