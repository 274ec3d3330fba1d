/**
 * Symbolic flags of the process API, as a C program writes them:
 * `flags: [O_RDWR]`, `prot: [READ, WRITE]` (PROT_ may be left out),
 * `flags: [SHARED]` for mmap, `[EFD_NONBLOCK]`, `events: [POLLIN]`.
 */
import * as U from '@vfio-sim/uapi'
import { StepError, type Value } from './values.ts'
import type { Pos } from './errors.ts'

/** A table of symbolic names → bits, with the prefix a short name may leave out. */
export interface SymTable {
  readonly what: string
  readonly prefix: string
  readonly names: Readonly<Record<string, number>>
}

/** open(2) flags, access modes included. */
export const OPEN: SymTable = { what: 'open flag', prefix: 'O_', names: { O_RDONLY: U.O_RDONLY, O_WRONLY: U.O_WRONLY, O_RDWR: U.O_RDWR, ...U.OPEN_FLAGS } }
/** mmap(2) prot. */
export const PROT: SymTable = { what: 'PROT_ flag', prefix: 'PROT_', names: { PROT_NONE: U.PROT_NONE, ...U.PROT_FLAGS } }
/** mmap(2) flags, map types included. */
export const MAP: SymTable = { what: 'MAP_ flag', prefix: 'MAP_', names: { MAP_SHARED: U.MAP_SHARED, MAP_PRIVATE: U.MAP_PRIVATE, MAP_SHARED_VALIDATE: U.MAP_SHARED_VALIDATE, ...U.MAP_FLAGS } }
/** eventfd2(2) flags. */
export const EFD: SymTable = { what: 'EFD_ flag', prefix: 'EFD_', names: U.EFD_FLAGS }
/** poll(2) events. */
export const POLL: SymTable = {
  what: 'poll event', prefix: 'POLL',
  names: { POLLIN: U.POLLIN, POLLPRI: U.POLLPRI, POLLOUT: U.POLLOUT, POLLERR: U.POLLERR, POLLHUP: U.POLLHUP, POLLNVAL: U.POLLNVAL, POLLRDNORM: U.POLLRDNORM, POLLWRNORM: U.POLLWRNORM },
}

/** ORs a value written as a number, a name, or a list of names/numbers. */
export function symbolic(t: SymTable, v: Value, pos: Pos): number {
  const one = (x: Value): number => {
    if (typeof x === 'number' && Number.isInteger(x)) return x
    if (typeof x === 'string') {
      const name = Object.hasOwn(t.names, x) ? x : t.prefix + x
      if (Object.hasOwn(t.names, name)) return t.names[name]!
      throw new StepError(pos, `unknown ${t.what} '${x}'; expected one of: ${Object.keys(t.names).join(', ')}`)
    }
    throw new StepError(pos, `expected a ${t.what} name or a number, got ${String(x)}`)
  }
  if (Array.isArray(v)) return v.reduce<number>((a, x) => a | one(x as Value), 0) >>> 0
  return one(v) >>> 0
}

/** Like {@link symbolic} for a uapi flag table of short names (READ, WRITE, EXEC). */
export function flagValue(table: U.FlagTable, v: Value, pos: Pos, field: string): number {
  const list = Array.isArray(v) ? (v as readonly Value[]) : [v]
  let out = 0
  for (const x of list) {
    if (typeof x === 'number' && Number.isInteger(x)) out |= x
    else if (typeof x === 'string') {
      if (!Object.hasOwn(table, x)) throw new StepError(pos, `unknown flag '${x}' for ${field}; valid flags here: ${Object.keys(table).join(', ') || '(none in this profile)'}`)
      out |= table[x]!
    } else throw new StepError(pos, `${field}: expected flag names or a number`)
  }
  return out >>> 0
}
