/**
 * The shell-like commands of `sh:` steps, each made of the same system
 * calls a real shell makes: `echo [-n] TEXT > PATH` (open O_WRONLY, one
 * write, close; `>>` adds O_APPEND), `cat PATH…`, `readlink PATH`,
 * `ls [PATH]`, `dmesg` (the whole kernel log). The outcome carries stdout and, on failure, the errno and
 * the syscall that failed (as `echo: write error: No such device` would).
 */
import { O_APPEND, O_WRONLY } from '@vfio-sim/uapi'
import { SysError, type Process } from '@vfio-sim/machine'
import type { Outcome } from './expect.ts'

/** Splits a command line into words: '…' and "…" quote, backslash escapes. */
export function shellWords(line: string): string[] | string {
  const out: string[] = []
  let cur = ''
  let has = false
  let q: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (q !== undefined) {
      if (c === q) q = undefined
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i]
      else cur += c
    } else if (c === "'" || c === '"') {
      q = c
      has = true
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has) out.push(cur)
      cur = ''
      has = false
    } else if (c === '>') {
      if (has) out.push(cur)
      if (line[i + 1] === '>') {
        out.push('>>')
        i++
      } else out.push('>')
      cur = ''
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (q !== undefined) return `unterminated ${q} quote`
  if (has) out.push(cur)
  return out
}

/** The commands `sh:` knows. */
export const SHELL_COMMANDS = ['echo', 'cat', 'readlink', 'ls', 'dmesg'] as const

/** Checks a command line without running it; returns an error message or undefined. */
export function checkShell(line: string): string | undefined {
  const w = shellWords(line)
  if (typeof w === 'string') return w
  if (w.length === 0) return `empty command; expected one of ${SHELL_COMMANDS.join(', ')}`
  const cmd = w[0]!
  if (!(SHELL_COMMANDS as readonly string[]).includes(cmd)) return `unknown command '${cmd}'; sh: knows ${SHELL_COMMANDS.join(', ')} (use the syscall steps for anything else)`
  const redir = w.findIndex(x => x === '>' || x === '>>')
  if (cmd === 'echo') {
    if (redir < 0) return "echo needs a redirection: echo TEXT > /sys/..."
    if (redir !== w.length - 2) return 'expected exactly one path after > (echo TEXT > PATH)'
  } else if (redir >= 0) return `${cmd} does not take a redirection here`
  if ((cmd === 'cat' || cmd === 'readlink') && w.filter(x => !x.startsWith('-')).length < 2) return `${cmd} needs a path`
  return undefined
}

function fail(e: unknown, out: string): Outcome {
  if (e instanceof SysError) return { errno: e.code, syscall: e.syscall, value: out, facets: { out, errno: e.code, syscall: e.syscall } }
  throw e
}

/** Runs a command line as process `p`; `dmesg` prints `log` (the whole kernel log). */
export function runShell(p: Process, line: string, log: () => readonly string[]): Outcome {
  const w = shellWords(line) as string[]
  const cmd = w[0]!
  const ok = (out: string): Outcome => ({ value: out.replace(/\n$/, ''), facets: { out } })
  if (cmd === 'dmesg') return ok(log().map(l => l + '\n').join(''))
  if (cmd === 'echo') {
    const append = w[w.length - 2] === '>>'
    const path = w[w.length - 1]!
    let args = w.slice(1, -2)
    let newline = true
    if (args[0] === '-n') {
      newline = false
      args = args.slice(1)
    }
    const text = args.join(' ') + (newline ? '\n' : '')
    let fd: number
    try {
      fd = p.open(path, O_WRONLY | (append ? O_APPEND : 0))
    } catch (e) {
      return fail(e, '')
    }
    try {
      p.write(fd, text)
    } catch (e) {
      try { p.close(fd) } catch { /* the write's error is the one to report */ }
      return fail(e, '')
    }
    try {
      p.close(fd)
    } catch (e) {
      return fail(e, '')
    }
    return ok('')
  }
  const paths = w.slice(1).filter(x => !x.startsWith('-'))
  if (cmd === 'cat') {
    let out = ''
    for (const path of paths) {
      try {
        out += p.readFile(path)
      } catch (e) {
        return fail(e, out)
      }
    }
    return ok(out)
  }
  if (cmd === 'readlink') {
    try {
      return ok(p.readlink(paths[0]!) + '\n')
    } catch (e) {
      return fail(e, '')
    }
  }
  // ls
  try {
    const names = [...p.readdir(paths[0] ?? '/')].sort()
    return { value: names.join('\n'), facets: { out: names.map(n => n + '\n').join(''), names } }
  } catch (e) {
    return fail(e, '')
  }
}
