/**
 * Trace events, declared once with typed arguments (as QEMU's trace-events
 * files do), emitted cheaply, and written to sinks: readable text, or Chrome
 * Trace Event JSON for ui.perfetto.dev.
 *
 * Call sites guard emission with the tracer's `on` flag, so a disabled tracer
 * costs one property read:
 *
 *     if (tracer.on) tracer.instant(EV.smmu_fault, 'smmu/cb0', fsr, far)
 */

/** Types an argument may have, and how text output shows it. */
export type TraceArgType = 'u32' | 'hex' | 'hex64' | 'int' | 'bool' | 'str'

/** TypeScript type of an argument of the given trace type. */
export type TraceArgValue<T extends TraceArgType> = T extends 'hex64' ? bigint | number : T extends 'bool' ? boolean : T extends 'str' ? string : number

/** One argument of an event: name and type. */
export interface TraceArgSpec {
  readonly name: string
  readonly type: TraceArgType
}

/** A declared event. */
export interface TraceEventDecl<A extends readonly TraceArgSpec[] = readonly TraceArgSpec[]> {
  /** Unique name, `component_what` (for example `smmu_walk_level`). */
  readonly name: string
  /** Category, the component (`bus`, `smmu`, `pl330`, `kernel`, `vfio`). */
  readonly category: string
  readonly args: A
  /** Text shown by the text sink; `{arg}` is replaced by the formatted argument. */
  readonly format: string
}

/** Argument values of an event, as a tuple matching its declaration. */
export type TraceArgs<A extends readonly TraceArgSpec[]> = { [K in keyof A]: A[K] extends TraceArgSpec ? TraceArgValue<A[K]['type']> : never }

/**
 * Declares a table of events. `spec` maps each name to
 * `[category, 'arg:type arg:type …', format]`:
 *
 *     const EV = defineTraceEvents({
 *       bus_decerr: ['bus', 'addr:hex64 len:u32', 'no target at {addr} ({len} bytes)'],
 *     })
 */
export function defineTraceEvents<const S extends Record<string, readonly [string, string, string]>>(spec: S): { [K in keyof S]: TraceEventDecl<ParseArgs<S[K][1]>> } {
  const out: Record<string, TraceEventDecl> = {}
  for (const [name, [category, argText, format]] of Object.entries(spec)) {
    const args = argText.trim() === '' ? [] : argText.trim().split(/\s+/).map(a => {
      const [n, t] = a.split(':')
      if (n === undefined || t === undefined || !['u32', 'hex', 'hex64', 'int', 'bool', 'str'].includes(t)) {
        throw new Error(`trace event ${name}: bad argument "${a}"`)
      }
      return { name: n, type: t as TraceArgType }
    })
    for (const m of format.matchAll(/\{(\w+)\}/g)) {
      if (!args.some(a => a.name === m[1])) throw new Error(`trace event ${name}: format names unknown argument {${m[1]}}`)
    }
    out[name] = { name, category, args, format }
  }
  return out as { [K in keyof S]: TraceEventDecl<ParseArgs<S[K][1]>> }
}

type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S
type ParseOne<S extends string> = S extends `${infer N}:${infer T extends TraceArgType}` ? { readonly name: N; readonly type: T } : never
/** Parses `'a:hex b:u32'` into an argument-spec tuple type. */
export type ParseArgs<S extends string> = Trim<S> extends '' ? [] : Trim<S> extends `${infer H} ${infer R}` ? [ParseOne<H>, ...ParseArgs<R>] : [ParseOne<Trim<S>>]

/** Phases, as in the Chrome Trace Event format. */
export type TracePhase = 'i' | 'B' | 'E' | 's' | 'f'

/** One emitted event as sinks receive it. */
export interface TraceRecord {
  /** Virtual time in nanoseconds. */
  readonly ts: number
  readonly phase: TracePhase
  /** The event (undefined for a plain slice end). */
  readonly decl: TraceEventDecl | undefined
  /** Track: `process/thread`, for example `pl330/ch0` or `smmu/cb1`. */
  readonly track: string
  readonly args: readonly unknown[]
  /** Flow id for phases 's' and 'f'. */
  readonly flowId: number
}

/** Receives trace records. */
export interface TraceSink {
  record(r: TraceRecord): void
}

/** Formats one argument for text output. */
export function formatTraceArg(type: TraceArgType, v: unknown): string {
  switch (type) {
    case 'hex': return '0x' + ((v as number) >>> 0).toString(16)
    case 'hex64': return '0x' + (typeof v === 'bigint' ? v : BigInt(v as number)).toString(16)
    case 'bool': return v ? '1' : '0'
    case 'str': return String(v)
    default: return String(v)
  }
}

/** The event's text, its format string filled in. */
export function formatTraceRecord(r: TraceRecord): string {
  const d = r.decl
  if (d === undefined) return ''
  return d.format.replace(/\{(\w+)\}/g, (_, name: string) => {
    const i = d.args.findIndex(a => a.name === name)
    return formatTraceArg(d.args[i]!.type, r.args[i])
  })
}

/**
 * Emits events to its sinks. `on` is true while at least one sink listens.
 * The clock is injected (virtual time), never the host's.
 */
export class Tracer {
  private readonly sinks: TraceSink[] = []
  /** True when some sink listens; call sites test it before emitting. */
  on = false

  private readonly clock: () => number

  constructor(clock: () => number) {
    this.clock = clock
  }

  /** Adds a sink; returns a function that removes it. */
  addSink(sink: TraceSink): () => void {
    this.sinks.push(sink)
    this.on = true
    return () => {
      const i = this.sinks.indexOf(sink)
      if (i >= 0) this.sinks.splice(i, 1)
      this.on = this.sinks.length > 0
    }
  }

  private emit(phase: TracePhase, decl: TraceEventDecl | undefined, track: string, args: readonly unknown[], flowId = 0): void {
    const r: TraceRecord = { ts: this.clock(), phase, decl, track, args, flowId }
    for (const s of this.sinks) s.record(r)
  }

  /** A point event. */
  instant<A extends readonly TraceArgSpec[]>(decl: TraceEventDecl<A>, track: string, ...args: TraceArgs<A>): void {
    if (this.on) this.emit('i', decl, track, args)
  }

  /** Opens a slice on `track` (closed by {@link Tracer.end}). */
  begin<A extends readonly TraceArgSpec[]>(decl: TraceEventDecl<A>, track: string, ...args: TraceArgs<A>): void {
    if (this.on) this.emit('B', decl, track, args)
  }

  /** Closes the innermost open slice on `track`. */
  end(track: string): void {
    if (this.on) this.emit('E', undefined, track, [])
  }

  /** Starts (`'s'`) or finishes (`'f'`) a flow arrow between tracks. */
  flow(phase: 's' | 'f', flowId: number, track: string): void {
    if (this.on) this.emit(phase, undefined, track, [], flowId)
  }
}

/** Keeps the last `capacity` records (for "what happened just before"). */
export class RingSink implements TraceSink {
  private readonly buf: TraceRecord[] = []
  readonly capacity: number
  constructor(capacity = 64) {
    this.capacity = capacity
  }
  record(r: TraceRecord): void {
    this.buf.push(r)
    if (this.buf.length > this.capacity) this.buf.shift()
  }
  /** Records oldest first. */
  get records(): readonly TraceRecord[] {
    return this.buf
  }
}

/** Writes one line per event: `   1234 ns smmu/cb0 smmu_fault: …`. */
export class TextSink implements TraceSink {
  readonly lines: string[] = []
  private readonly write: ((line: string) => void) | undefined
  constructor(write?: (line: string) => void) {
    this.write = write
  }
  record(r: TraceRecord): void {
    if (r.decl === undefined) return
    const line = `${String(r.ts).padStart(10)} ns ${r.track} ${r.decl.name}: ${formatTraceRecord(r)}`
    if (this.write) this.write(line)
    else this.lines.push(line)
  }
}

/**
 * Collects Chrome Trace Event JSON ("JSON Object Format", as
 * ui.perfetto.dev and chrome://tracing open it). The part before the first
 * `/` of a track is the process, the rest the thread; ids are given in order
 * of first use, so the output is deterministic.
 */
export class ChromeTraceSink implements TraceSink {
  private readonly events: Record<string, unknown>[] = []
  private readonly pids = new Map<string, number>()
  private readonly tids = new Map<string, { pid: number; tid: number }>()

  private ids(track: string): { pid: number; tid: number } {
    let t = this.tids.get(track)
    if (t !== undefined) return t
    const slash = track.indexOf('/')
    const proc = slash < 0 ? track : track.slice(0, slash)
    const thread = slash < 0 ? track : track.slice(slash + 1)
    let pid = this.pids.get(proc)
    if (pid === undefined) {
      pid = this.pids.size + 1
      this.pids.set(proc, pid)
      this.events.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: proc } })
    }
    t = { pid, tid: this.tids.size + 1 }
    this.tids.set(track, t)
    this.events.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: t.tid, args: { name: thread } })
    return t
  }

  record(r: TraceRecord): void {
    const { pid, tid } = this.ids(r.track)
    const ts = r.ts / 1000 // microseconds
    const ev: Record<string, unknown> = { name: r.decl?.name ?? '', cat: r.decl?.category ?? 'flow', ph: r.phase, ts, pid, tid }
    if (r.phase === 'i') ev['s'] = 't'
    if (r.phase === 's' || r.phase === 'f') {
      ev['id'] = r.flowId
      ev['name'] = 'flow'
      if (r.phase === 'f') ev['bp'] = 'e'
    }
    if (r.decl !== undefined) {
      const args: Record<string, unknown> = {}
      r.decl.args.forEach((a, i) => {
        const v = r.args[i]
        args[a.name] = a.type === 'hex' || a.type === 'hex64' ? formatTraceArg(a.type, v) : v
      })
      args['text'] = formatTraceRecord(r)
      ev['args'] = args
    }
    this.events.push(ev)
  }

  /** The whole trace as a JSON string. */
  toJSON(): string {
    return JSON.stringify({ traceEvents: this.events, displayTimeUnit: 'ns' })
  }
}
