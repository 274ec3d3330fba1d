/**
 * What each action does on the machine. Every action returns an Outcome
 * (the errno of a failed system call is an outcome, not an exception);
 * the runner checks it against `expect:`.
 */
import { createHash } from 'node:crypto'
import { SysError, type Machine, type Process } from '@vfio-sim/machine'
import { tryAssemble } from '@vfio-sim/pl330'
import { getField, setField } from '@vfio-sim/sim'
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, POLLIN, PROT_READ, PROT_WRITE, type UapiProfile } from '@vfio-sim/uapi'
import type { Outcome } from './expect.ts'
import { IOCTLS } from './ioctls.ts'
import { REG_TABLES, resolveReg, type RegTable } from './regs.ts'
import { runShell } from './shell.ts'
import { EFD, MAP, OPEN, POLL, PROT, flagValue, symbolic } from './symbols.ts'
import { evalInt, evalNode, evalSmall, evalText, interpolate, parseDuration, parseNumberText, StepError, toNum, type Env, type Value } from './values.ts'
import { get, type PMap, type PNode } from './yaml.ts'
import type { Step } from './parse.ts'
import { IDLE_LIMIT_NS } from './limits.ts'

/** Everything an action may touch. */
export interface Ctx {
  readonly m: Machine
  readonly env: Env
  readonly procs: Map<string, Process>
  /** Register tables attached to mapped addresses (mmap … regs:). */
  readonly regMaps: Map<number, RegTable>
  readonly profile: UapiProfile
  /** Index of the first dmesg line not yet consumed by a dmesg step. */
  dmesgCursor: number
  /** Trace text lines so far, and the first not yet consumed by a trace step. */
  readonly traceLines: string[]
  traceCursor: number
}

function sysOutcome(e: unknown): Outcome {
  if (e instanceof SysError) return { errno: e.code, syscall: e.syscall, value: -1, facets: { ret: -1, errno: e.code } }
  throw e
}

function call(fn: () => Value, facets: (v: Value) => Record<string, Value> = v => ({ ret: v })): Outcome {
  try {
    const v = fn()
    return { value: v, facets: facets(v) }
  } catch (e) {
    return sysOutcome(e)
  }
}

function opt(n: PMap, key: string): PNode | undefined {
  return get(n, key)
}

function le(bytes: Uint8Array, off: number, n: number): number | bigint {
  let v = 0n
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0)
  return toNum(v)
}

function bytesFacets(b: Uint8Array): Record<string, Value> {
  const f: Record<string, Value> = { bytes: b, ret: b.length, text: new TextDecoder().decode(b) }
  if (b.length >= 4) f['u32'] = le(b, 0, 4)
  if (b.length >= 8) f['u64'] = le(b, 0, 8)
  if (b.length === 1) f['u8'] = b[0]!
  return f
}

function dataBytes(step: Step, env: Env): Uint8Array {
  const n = step.node
  const text = opt(n, 'text')
  const bytes = opt(n, 'bytes')
  const u32 = opt(n, 'u32')
  const u64 = opt(n, 'u64')
  if (text !== undefined) return new TextEncoder().encode(evalText(text, env, 'text'))
  if (bytes !== undefined) {
    const v = bytes.kind === 'scalar' ? evalText(bytes, env, 'bytes') : evalNode(bytes, env)
    if (typeof v === 'string') {
      const t = v.replace(/[\s_:]/g, '')
      if (!/^([0-9a-f]{2})*$/i.test(t)) throw new StepError(bytes.pos, `bytes: expected hex pairs such as "de ad be ef", found '${v}'`)
      return Uint8Array.from(t.match(/../g) ?? [], h => parseInt(h, 16))
    }
    if (Array.isArray(v)) return Uint8Array.from(v as number[])
    if (v instanceof Uint8Array) return v
    throw new StepError(bytes.pos, 'bytes: expected hex text or a list of byte values')
  }
  const words = (node: PNode, size: 4 | 8): Uint8Array => {
    const v = evalNode(node, env)
    const list = Array.isArray(v) ? (v as Value[]) : [v]
    const out = new Uint8Array(list.length * size)
    const dv = new DataView(out.buffer)
    list.forEach((x, i) => {
      if (typeof x !== 'number' && typeof x !== 'bigint') throw new StepError(node.pos, `expected integers, got ${String(x)}`)
      if (size === 4) dv.setUint32(i * 4, Number(x) >>> 0, true)
      else dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(x)), true)
    })
    return out
  }
  if (u32 !== undefined) return words(u32, 4)
  if (u64 !== undefined) return words(u64, 8)
  throw new StepError(step.pos, `'${step.action}' needs the data: text:, bytes:, u32: or u64:`)
}

/** Runs one action. */
export function act(step: Step, p: Process, ctx: Ctx): Outcome {
  const { env, m } = ctx
  const n = step.node
  const main = step.main
  switch (step.action) {
    case 'sh':
      return runShell(p, evalText(main, env, 'sh'), () => m.dmesg())
    case 'open': {
      const path = evalText(main, env, 'open')
      const fl = opt(n, 'flags')
      const flags = fl === undefined ? 0 : symbolic(OPEN, evalNode(fl, env), fl.pos)
      return call(() => p.open(path, flags))
    }
    case 'close':
      return call(() => (p.close(evalSmall(main, env, 'close')), 0))
    case 'read': {
      const fd = evalSmall(main, env, 'read')
      const cn = opt(n, 'count')
      const count = cn === undefined ? 8 : evalSmall(cn, env, 'count')
      const pn = opt(n, 'pos')
      const pos = pn === undefined ? undefined : evalSmall(pn, env, 'pos')
      try {
        const buf = new Uint8Array(count)
        const got = p.read(fd, buf, pos)
        const b = buf.slice(0, got)
        return { value: b, facets: bytesFacets(b) }
      } catch (e) {
        return sysOutcome(e)
      }
    }
    case 'write': {
      const fd = evalSmall(main, env, 'write')
      const data = dataBytes(step, env)
      const pn = opt(n, 'pos')
      return call(() => p.write(fd, data, pn === undefined ? undefined : evalSmall(pn, env, 'pos')))
    }
    case 'mmap': {
      const a = main as PMap
      const g = (k: string): PNode | undefined => get(a, k)
      const fdN = g('fd')
      const fd = fdN === undefined ? -1 : evalSmall(fdN, env, 'fd')
      const length = evalSmall(g('length')!, env, 'length')
      const prot = g('prot') === undefined ? PROT_READ | PROT_WRITE : symbolic(PROT, evalNode(g('prot')!, env), g('prot')!.pos)
      const flags = g('flags') === undefined ? (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED) : symbolic(MAP, evalNode(g('flags')!, env), g('flags')!.pos)
      const offset = g('offset') === undefined ? 0 : evalSmall(g('offset')!, env, 'offset')
      const addr = g('addr') === undefined ? 0 : evalSmall(g('addr')!, env, 'addr')
      const out = call(() => p.mmap(addr, length, prot, flags, fd, offset), v => ({ ret: v, addr: v }))
      const regs = opt(n, 'regs')
      if (out.errno === undefined && regs !== undefined) ctx.regMaps.set(out.value as number, REG_TABLES.get(evalText(regs, env, 'regs'))!)
      return out
    }
    case 'munmap': {
      const a = main as PMap
      const addrN = get(a, 'addr')
      const lenN = get(a, 'length')
      if (addrN === undefined || lenN === undefined) throw new StepError(main.pos, 'munmap needs {addr, length}')
      return call(() => (p.munmap(evalSmall(addrN, env, 'addr'), evalSmall(lenN, env, 'length')), 0))
    }
    case 'eventfd': {
      const fl = opt(n, 'flags')
      return call(() => p.eventfd(evalSmall(main, env, 'eventfd'), fl === undefined ? 0 : symbolic(EFD, evalNode(fl, env), fl.pos)))
    }
    case 'poll': {
      const ev = opt(n, 'events')
      const events = ev === undefined ? POLLIN : symbolic(POLL, evalNode(ev, env), ev.pos)
      const to = opt(n, 'timeout')
      const timeout = to === undefined ? 0 : to.kind === 'scalar' && to.value === 'forever' ? undefined : parseDuration(evalNode(to, env))
      if (to !== undefined && timeout === undefined && !(to.kind === 'scalar' && to.value === 'forever')) throw new StepError(to.pos, 'timeout: expected a duration (0, 10us, 1ms) or forever')
      const fds = (main as { items: readonly PNode[] }).items.map(i => ({ fd: evalSmall(i, env, 'fd'), events, revents: 0 }))
      return call(() => p.poll(fds, timeout), v => ({ ret: v, ready: v, revents: fds.map(f => f.revents ?? 0) }))
    }
    case 'ioctl':
      return ioctl(step, p, ctx)
    case 'fill': {
      const at = evalSmall(main, env, 'fill')
      const len = evalSmall(opt(n, 'length')!, env, 'length')
      const wn = opt(n, 'with')
      const w = wn === undefined ? 0 : evalNode(wn, env)
      const buf = new Uint8Array(len)
      if (w === 'seq') for (let i = 0; i < len; i++) buf[i] = i & 0xff
      else if (typeof w === 'number') buf.fill(w & 0xff)
      else if (typeof w === 'string') {
        const t = new TextEncoder().encode(w)
        if (t.length === 0) throw new StepError(wn!.pos, 'with: empty text')
        for (let i = 0; i < len; i++) buf[i] = t[i % t.length]!
      } else throw new StepError(wn!.pos, 'with: expected a byte value, seq, or text')
      return call(() => (p.poke(at, buf), 0))
    }
    case 'poke': {
      const at = evalSmall(main, env, 'poke')
      const data = dataBytes(step, env)
      return call(() => (p.poke(at, data), 0))
    }
    case 'peek': {
      const at = evalSmall(main, env, 'peek')
      const len = evalSmall(opt(n, 'length')!, env, 'length')
      try {
        const b = p.peek(at, len)
        return { value: b, facets: bytesFacets(b) }
      } catch (e) {
        return sysOutcome(e)
      }
    }
    case 'compare': {
      const a = evalSmall(main, env, 'compare')
      const b = evalSmall(opt(n, 'with')!, env, 'with')
      const len = evalSmall(opt(n, 'length')!, env, 'length')
      try {
        const x = p.peek(a, len)
        const y = p.peek(b, len)
        let diff = -1
        for (let i = 0; i < len; i++) if (x[i] !== y[i]) { diff = i; break }
        const equal = diff < 0
        const facets: Record<string, Value> = { equal, 'first-difference': diff }
        return {
          value: equal, facets, okByDefault: equal,
          words: {
            equal: () => (equal ? undefined : { message: `buffers differ at offset 0x${diff.toString(16)}`, expected: 'equal', actual: `byte 0x${diff.toString(16)}: 0x${x[diff]!.toString(16)} vs 0x${y[diff]!.toString(16)}` }),
            different: () => (equal ? { message: 'buffers are equal', expected: 'different', actual: 'equal' } : undefined),
          },
        }
      } catch (e) {
        return sysOutcome(e)
      }
    }
    case 'hash': {
      const at = evalSmall(main, env, 'hash')
      const len = evalSmall(opt(n, 'length')!, env, 'length')
      try {
        const h = createHash('sha256').update(p.peek(at, len)).digest('hex')
        return { value: h, facets: { sha256: h } }
      } catch (e) {
        return sysOutcome(e)
      }
    }
    case 'write32': {
      const { base, table, phys } = mmioTarget(step, ctx)
      for (const e of (main as PMap).entries) {
        const r = resolveReg(table, interpolate(e.key, env, e.keyPos))
        if (typeof r === 'string') throw new StepError(e.keyPos, r)
        let value: number
        if (e.value.kind === 'map') {
          if (r.reg === undefined) throw new StepError(e.value.pos, `fields need a named register`)
          value = 0
          for (const f of e.value.entries) {
            const spec = r.reg.fields[f.key]
            if (spec === undefined) throw new StepError(f.keyPos, `${r.label} has no field '${f.key}'; its fields: ${Object.keys(r.reg.fields).join(', ')}`)
            value = setField(value, spec, evalSmall(f.value, env, f.key))
          }
        } else value = Number(evalInt(e.value, env, e.key))
        try {
          if (phys) m.kernel.sys.bus.writel(base + r.offset, value >>> 0)
          else p.write32(base + r.offset, value >>> 0)
        } catch (err) {
          return sysOutcome(err)
        }
      }
      return { value: 0, facets: {} }
    }
    case 'read32': {
      const { base, table, phys } = mmioTarget(step, ctx)
      const r = resolveReg(table, evalText(main, env, 'register'))
      if (typeof r === 'string') throw new StepError(main.pos, r)
      try {
        const v = (phys ? m.kernel.sys.bus.readl(base + r.offset) : p.read32(base + r.offset)) >>> 0
        const facets: Record<string, Value> = { value: v }
        if (r.reg !== undefined) for (const [fname, f] of Object.entries(r.reg.fields)) facets[fname] = getField(v, f)
        // as: captures the value and its named fields ($r.value, $r.CBNDX).
        return { value: v, facets, captured: facets }
      } catch (e) {
        return sysOutcome(e)
      }
    }
    case 'asm': {
      const at = evalSmall(opt(n, 'at')!, env, 'at')
      const bn = opt(n, 'base')
      const base = bn === undefined ? 0 : evalSmall(bn, env, 'base')
      const sn = opt(n, 'symbols')
      const symbols: Record<string, number> = {}
      if (sn !== undefined && sn.kind === 'map') for (const e of sn.entries) symbols[e.key] = evalSmall(e.value, env, e.key)
      const r = tryAssemble(evalText(main, env, 'asm'), { base, symbols })
      if (!r.ok) throw new StepError(main.pos, `PL330 assembler: ${r.errors.map(e => `${e.line}:${e.column}: ${e.message}`).join('; ')}`)
      const labels: Record<string, Value> = {}
      for (const [k, v] of r.program.labels) labels[k] = base + v
      const prog = r.program.bytes
      try {
        p.poke(at, prog)
      } catch (e) {
        return sysOutcome(e)
      }
      const v = { length: prog.length, labels, bytes: prog }
      return { value: v, facets: { length: prog.length } }
    }
    case 'run':
      return run(step, p, ctx)
    case 'dmesg':
    case 'trace': {
      const re = new RegExp(evalText(main, env, step.action))
      const lines = step.action === 'dmesg' ? m.dmesg() : ctx.traceLines
      const from = step.action === 'dmesg' ? ctx.dmesgCursor : ctx.traceCursor
      let hit = -1
      let groups: Record<string, string | undefined> | undefined
      for (let i = from; i < lines.length; i++) {
        const mm = re.exec(lines[i]!)
        if (mm !== null) {
          hit = i
          groups = mm.groups
          break
        }
      }
      // Named groups become names for later steps, as in expect: {match: …}.
      for (const [k, v] of Object.entries(groups ?? {})) if (v !== undefined) env.set(k, parseNumberText(v) ?? v)
      const recent = lines.slice(Math.max(from, lines.length - 8))
      const found = hit >= 0
      if (found && !(step.expect?.kind === 'scalar' && step.expect.value === 'absent')) {
        if (step.action === 'dmesg') ctx.dmesgCursor = hit + 1
        else ctx.traceCursor = hit + 1
      }
      const line = found ? lines[hit]! : ''
      return {
        value: line, facets: { line }, okByDefault: found,
        words: {
          absent: () => (found ? { message: `a ${step.action} line matches /${re.source}/ but none should`, expected: `no line matching /${re.source}/`, actual: line } : undefined),
        },
        ...(found ? {} : { notFound: `no new ${step.action} line matches /${re.source}/; the last ones:\n${recent.map(l => '  ' + l).join('\n') || '  (none)'}` }),
      }
    }
    case 'let': {
      for (const e of (main as PMap).entries) env.set(e.key, evalNode(e.value, env))
      return { value: 0, facets: {} }
    }
    case 'check': {
      const v = evalNode(main, env)
      const facets: Record<string, Value> = typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? { ...(v as Record<string, Value>) } : {}
      return { value: v, facets }
    }
    default:
      throw new StepError(step.pos, `action '${step.action}' is not handled by the runner`)
  }
}

/**
 * Where an MMIO step goes: through this process's mapping (`at:`, its table
 * from `mmap … regs:` unless the step names one), or, as QEMU's qtest
 * `writel`/`readl` do, straight onto the interconnect at a physical address
 * (`phys:`), which no user process could reach: a test-harness backdoor.
 */
function mmioTarget(step: Step, ctx: Ctx): { base: number; table: RegTable | undefined; phys: boolean } {
  const at = get(step.node, 'at')
  const phys = get(step.node, 'phys')
  const regs = get(step.node, 'regs')
  const named = regs === undefined ? undefined : REG_TABLES.get(evalText(regs, ctx.env, 'regs'))
  if (phys !== undefined) return { base: evalSmall(phys, ctx.env, 'phys'), table: named, phys: true }
  const base = evalSmall(at!, ctx.env, 'at')
  return { base, table: named ?? ctx.regMaps.get(base), phys: false }
}

function ioctl(step: Step, p: Process, ctx: Ctx): Outcome {
  const { env } = ctx
  const spec = IOCTLS.get(evalText(step.main, env, 'ioctl'))!
  const fd = evalSmall(get(step.node, 'fd')!, env, 'fd')
  const argN = get(step.node, 'arg')
  const a = spec.arg
  switch (a.kind) {
    case 'none':
      if (argN !== undefined) throw new StepError(argN.pos, `${spec.name} takes no argument`)
      return call(() => p.ioctl(fd, spec.request, 0))
    case 'int': {
      let v = 0
      if (argN !== undefined) {
        const names = a.names(ctx.profile)
        // A name (written, or held by a $param) is the extension id it names.
        const x = argN.kind === 'scalar' && typeof argN.value === 'string' && !argN.value.startsWith('$') ? argN.value : evalNode(argN, env)
        if (typeof x === 'string' && Object.hasOwn(names, x)) v = names[x]!
        else if (typeof x === 'string' && parseNumberText(x) === undefined) {
          throw new StepError(argN.pos, `'${x}' is not a known value for ${spec.name} in the ${ctx.profile} profile; known: ${Object.keys(names).join(', ') || '(numbers only)'}`)
        } else v = evalSmall(argN, env, 'arg')
      }
      return call(() => p.ioctl(fd, spec.request, v))
    }
    case 'int-ptr': {
      if (argN === undefined) throw new StepError(step.pos, `${spec.name} needs arg: (an int, passed by pointer)`)
      const b = new Uint8Array(4)
      new DataView(b.buffer).setInt32(0, evalSmall(argN, env, 'arg'), true)
      return call(() => p.ioctl(fd, spec.request, b))
    }
    case 'string': {
      if (argN === undefined) throw new StepError(step.pos, `${spec.name} needs arg: (a name, passed as a C string)`)
      const s = evalText(argN, env, 'arg')
      const b = new Uint8Array(new TextEncoder().encode(s + '\0'))
      return call(() => p.ioctl(fd, spec.request, b))
    }
    case 'struct': {
      const codec = a.codec
      const flags = a.flags(ctx.profile)
      const input: Record<string, unknown> = {}
      const fieldTypes = new Map(codec.fields.map(f => [f.name, f.ctype]))
      const given = argN === undefined ? [] : argN.kind === 'map' ? argN.entries : (() => { throw new StepError(argN.pos, `${spec.name} takes a struct ${codec.name}: write arg: as a map of its fields (${codec.fields.map(f => f.name).join(', ')})`) })()
      for (const e of given) {
        const ctype = fieldTypes.get(e.key)
        if (ctype === undefined && !(e.key === 'data' && codec.name === 'vfio_irq_set')) {
          throw new StepError(e.keyPos, `struct ${codec.name} has no field '${e.key}'; its fields: ${[...fieldTypes.keys(), ...(codec.name === 'vfio_irq_set' ? ['data'] : [])].join(', ')}`)
        }
        if (e.key === 'flags') input[e.key] = flagValue(flags, evalNode(e.value, env), e.value.pos, `${codec.name}.flags`)
        else if (e.key === 'data') {
          const d = evalNode(e.value, env)
          input[e.key] = (Array.isArray(d) ? d : [d]).map(x => Number(x))
        } else {
          const v = evalInt(e.value, env, e.key)
          input[e.key] = ctype === 'u64' ? BigInt.asUintN(64, BigInt(v)) : Number(v)
        }
      }
      for (const f of codec.fields) {
        if (input[f.name] === undefined && f.name !== 'pad') input[f.name] = f.ctype === 'u64' ? 0n : 0
      }
      if (codec.name === 'vfio_irq_set' && input['data'] !== undefined && !given.some(e => e.key === 'count')) input['count'] = (input['data'] as number[]).length
      let buf: Uint8Array
      try {
        const len = codec.byteLength(input as never)
        if (!given.some(e => e.key === 'argsz')) input['argsz'] = len
        buf = codec.encode(input as never)
      } catch (e) {
        throw new StepError(argN?.pos ?? step.pos, `cannot encode struct ${codec.name}: ${(e as Error).message}`)
      }
      try {
        const ret = p.ioctl(fd, spec.request, buf)
        const out = decodeStruct(codec, buf)
        return { value: ret, facets: { ret, ...out }, flagTables: { flags }, captured: { ...out, ret } }
      } catch (e) {
        if (!(e instanceof SysError)) throw e
        const out = decodeStruct(codec, buf)
        return { errno: e.code, syscall: e.syscall, value: -1, facets: { ret: -1, ...out }, flagTables: { flags } }
      }
    }
  }
}

function decodeStruct(codec: { decode(b: Uint8Array): Record<string, unknown> }, buf: Uint8Array): Record<string, Value> {
  const d = codec.decode(buf)
  const out: Record<string, Value> = {}
  for (const [k, v] of Object.entries(d)) {
    if (typeof v === 'bigint') out[k] = toNum(v)
    else if (typeof v === 'number' || Array.isArray(v)) out[k] = v as Value
  }
  return out
}

function run(step: Step, p: Process, ctx: Ctx): Outcome {
  const { env, m } = ctx
  const main = step.main
  const word = main.kind === 'scalar' && typeof main.value === 'string' ? main.value : undefined
  if (word === 'idle') {
    // Until idle, but never more than IDLE_LIMIT_NS of virtual time.
    const start = m.now
    const r = m.run({ until: () => m.now - start > IDLE_LIMIT_NS })
    const idle = r.reason === 'idle'
    return { value: r.reason, facets: { reason: r.reason, now: r.now }, okByDefault: idle, ...(idle ? {} : { notFound: `the machine is still busy after ${IDLE_LIMIT_NS / 1e9} s of virtual time` }) }
  }
  if (word === 'readable') {
    const fd = evalSmall(get(step.node, 'until')!, env, 'until')
    const to = get(step.node, 'timeout')
    const timeout = to === undefined ? undefined : parseDuration(evalNode(to, env))
    if (to !== undefined && timeout === undefined) throw new StepError(to.pos, 'timeout: expected a duration such as 1ms')
    try {
      const fds = [{ fd, events: POLLIN, revents: 0 }]
      const n = p.poll(fds, timeout)
      const reason = n > 0 ? 'until' : 'time'
      return { value: reason, facets: { reason, now: m.now }, okByDefault: n > 0, ...(n > 0 ? {} : { notFound: `fd ${fd} did not become readable within ${timeout ?? 0} ns` }) }
    } catch (e) {
      if (e instanceof Error && e.name === 'BlockedForeverError') {
        return { value: 'idle', facets: { reason: 'idle', now: m.now }, okByDefault: false, notFound: e.message }
      }
      return sysOutcome(e)
    }
  }
  const ns = parseDuration(evalNode(main, env))
  if (ns === undefined) throw new StepError(main.pos, 'run: expected a duration (10us), idle, or readable')
  const r = m.run({ forNs: ns })
  return { value: r.reason, facets: { reason: r.reason, now: r.now } }
}
