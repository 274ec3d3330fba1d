/**
 * The headless runner: boots the variant's machine, runs the steps in order
 * as user processes, checks each outcome, and stops at the first failure.
 * Deterministic: virtual time only, so the same scenario gives the same
 * report and trace, byte for byte. Nothing a scenario does can crash it:
 * any exception inside a step becomes that step's failure.
 */
import { boot, buildBoard, Machine, type Process } from '@vfio-sim/machine'
import { Kernel } from '@vfio-sim/kernel'
import { SimSystem } from '@vfio-sim/sim'
import { ChromeTraceSink, defineTraceEvents, formatTraceRecord, RingSink, type TraceRecord } from '@vfio-sim/sim'
import type { Pos } from './errors.ts'
import { act, type Ctx } from './actions.ts'
import { check, type Outcome } from './expect.ts'
import type { Group, IommuBoot, Scenario, Step, Variant } from './parse.ts'
import { evalNode, StepError, type Env, type Value } from './values.ts'
import { get } from './yaml.ts'
import { STEP_EVENT_LIMIT } from './limits.ts'
import { Narrator } from './narrate.ts'

/** Trace events of the runner itself: one slice per step, on the `scenario/steps` track. */
export const SCENARIO_TRACE = defineTraceEvents({
  step: ['scenario', 'id:str text:str', 'step {id}: {text}'],
})

/** One step as reported. */
export interface StepReport {
  /** `3`, or `5.2` for the second step of the group called by step 5. */
  readonly id: string
  readonly label: string
  readonly pos: Pos
  readonly status: 'pass' | 'fail' | 'skip'
}

/** The failure that stopped a run. */
export interface Failure {
  readonly step: StepReport
  readonly message: string
  readonly expected?: string
  readonly actual?: string
  /** Position of the node the message is about (the expect, a value…). */
  readonly pos: Pos
  /** The last trace events before the failure. */
  readonly trace: readonly string[]
}

/** The result of one scenario on one variant. */
export interface RunReport {
  readonly file: string
  readonly name: string
  readonly variant: Variant
  readonly ok: boolean
  readonly steps: readonly StepReport[]
  readonly failure: Failure | undefined
  /** Virtual time at the end (ns). */
  readonly timeNs: number
  /** Chrome Trace Event JSON, when asked for. */
  readonly chromeTrace: string | undefined
  /** Plain-words account, when asked for. */
  readonly narration: readonly string[]
}

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Collect Chrome Trace Event JSON. */
  readonly chromeTrace?: boolean
  /** Collect the narration. */
  readonly narrate?: boolean
  /** How many trace events a failure shows (default 12). */
  readonly traceContext?: number
  /** Boot with the IOMMU and VFIO modules (a scenario's `iommu:`). */
  readonly iommu?: IommuBoot
  /**
   * The watchdog: trace events one step may cause before it is stopped and
   * fails (a DMA program looping forever, a device that never goes idle), so
   * a scenario can never hang the runner or CI. Default STEP_EVENT_LIMIT.
   */
  readonly stepEventLimit?: number
}

/** Thrown (from the trace sink) when a step exceeds the watchdog's limit. */
export class WatchdogError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WatchdogError'
  }
}

/**
 * Boots a variant. `iommu` undefined: the machine's default boot, as
 * `boot()` does it. `true`, `false` or driver options: the board is built
 * with exactly that (`buildBoard(…, { iommu })`: the IOMMU core, the arm-smmu
 * driver and the VFIO modules, or none of them).
 */
export function bootVariant(v: Variant, iommu: IommuBoot | undefined): Machine {
  if (iommu === undefined || v.board === 'minimal') return boot({ board: v.board, profile: v.profile })
  const kernel = new Kernel({ sys: new SimSystem(), profile: v.profile })
  return new Machine(kernel, v.board, buildBoard(kernel, v.board, { iommu: typeof iommu === 'boolean' ? iommu : { ...iommu } }))
}

/** One line of text for a step: its title, or its action and main value. */
export function stepLabel(s: Step): string {
  if (s.title !== undefined) return s.title
  const m = s.main
  let text: string
  if (m.kind === 'scalar') text = String(m.value)
  else if (m.kind === 'seq') text = `[${m.items.map(i => (i.kind === 'scalar' ? String(i.value) : '…')).join(', ')}]`
  else text = `{${m.entries.map(e => e.key).join(', ')}}`
  text = text.replace(/\s*\n\s*/g, '; ').trim()
  if (text.length > 72) text = text.slice(0, 71) + '…'
  return `${s.action}: ${text}`
}

function applies(s: Step, v: Variant): boolean {
  if (s.when === undefined) return true
  if (s.when.board !== undefined && !s.when.board.includes(v.board)) return false
  if (s.when.profile !== undefined && !s.when.profile.includes(v.profile)) return false
  return true
}

/** Thrown by {@link Session.runStep} when a step fails. */
export class Stop extends Error {
  readonly failure: Failure
  constructor(f: Failure) {
    super(f.message)
    this.failure = f
  }
}

/**
 * A booted machine with its processes and names, running steps one at a
 * time: what {@link runScenario} and the REPL are made of.
 */
export class Session {
  readonly m: Machine
  readonly variant: Variant
  readonly env: Env = new Map()
  private readonly narrator: Narrator | undefined
  /** The narration so far (when asked for). */
  get narration(): string[] {
    this.narrator?.flush()
    return this.narrator?.lines ?? []
  }
  /** Steps run so far, as reported. */
  readonly steps: StepReport[] = []
  private readonly ctx: Ctx
  private readonly procs = new Map<string, Process>()
  private readonly ring: RingSink
  private readonly chrome: ChromeTraceSink | undefined
  private groups: ReadonlyMap<string, Group> = new Map()

  /** Boots the variant's machine. @throws Error when the board or profile is unknown. */
  constructor(variant: Variant, opts: RunOptions = {}) {
    this.variant = variant

    const m = bootVariant(variant, opts.iommu)
    this.m = m
    this.narrator = opts.narrate ? new Narrator() : undefined
    const tracer = m.kernel.sys.tracer
    this.ring = new RingSink(opts.traceContext ?? 12)
    const traceLines: string[] = []
    const limit = opts.stepEventLimit ?? STEP_EVENT_LIMIT
    tracer.addSink({
      record: r => {
        if (r.decl === undefined || r.decl.category === 'scenario') return
        // Once tripped, every later event throws again, whatever caught the first.
        if (++this.stepEvents > limit) {
          throw new WatchdogError(`watchdog: this step caused more than ${limit} trace events (the last: ${r.track} ${formatTraceRecord(r)}); a DMA program looping forever?`)
        }
        this.ring.record(r)
        traceLines.push(`${r.track} ${r.decl.name}: ${formatTraceRecord(r)}`)
        if (this.narrator !== undefined) this.narrator.record(r)
        if (this.chrome !== undefined) this.followFlow(r)
      },
    })
    this.chrome = opts.chromeTrace ? new ChromeTraceSink() : undefined
    if (this.chrome !== undefined) tracer.addSink(this.chrome)
    this.procs.set('main', m.spawn())
    this.ctx = { m, env: this.env, procs: this.procs, regMaps: new Map(), profile: variant.profile, dmesgCursor: m.dmesg().length, traceLines, traceCursor: 0 }
    this.env.set('board', variant.board)
    this.env.set('profile', variant.profile)
  }

  /**
   * Flow arrows for the Chrome trace: from a step that can start DMA (an
   * ioctl, an MMIO store) to the first DMA-channel event after it, and from
   * there to the fault or interrupt the DMA causes.
   */
  private flow: { id: number; stage: 'step' | 'dma' } | undefined
  /** Trace events caused by the current step (the watchdog's count). */
  private stepEvents = 0
  private tripped = false
  private flowIds = 0

  private followFlow(r: TraceRecord): void {
    const f = this.flow
    if (f === undefined || r.phase !== 'i') return
    const tracer = this.m.kernel.sys.tracer
    if (f.stage === 'step' && /^pl330\/ch\d+$/.test(r.track)) {
      tracer.flow('f', f.id, r.track)
      const next = ++this.flowIds
      tracer.flow('s', next, r.track)
      this.flow = { id: next, stage: 'dma' }
    } else if (f.stage === 'dma' && /fault|irq/.test(r.decl!.name) && !r.track.startsWith('pl330/manager')) {
      tracer.flow('f', f.id, r.track)
      this.flow = undefined
    }
  }

  /** Groups `call:` steps may name. */
  useGroups(groups: ReadonlyMap<string, Group>): void {
    this.groups = groups
  }

  /** The Chrome Trace Event JSON so far (undefined unless asked for). */
  chromeTrace(): string | undefined {
    if (this.chrome === undefined) return undefined
    // Drop flow starts that never reached a DMA (most ioctls start none).
    const doc = JSON.parse(this.chrome.toJSON()) as { traceEvents: { ph: string; id?: number }[] }
    const finished = new Set(doc.traceEvents.filter(e => e.ph === 'f').map(e => e.id))
    doc.traceEvents = doc.traceEvents.filter(e => e.ph !== 's' || finished.has(e.id))
    return JSON.stringify(doc)
  }

  private lastTrace(): string[] {
    return this.ring.records.filter(r => r.decl !== undefined).map(r => `${String(r.ts).padStart(9)} ns ${r.track} ${r.decl!.name}: ${formatTraceRecord(r)}`)
  }

  /** Runs steps; the first failure is thrown as a {@link Stop}. */
  runSteps(list: readonly Step[], prefix: string): void {
    list.forEach((step, i) => this.runStep(step, `${prefix}${i + 1}`))
  }

  /** Runs one step (a `call:` runs its group's steps too). @throws Stop on failure. */
  runStep(step: Step, id: string): void {
    const { m, env, variant } = this
    const tracer = m.kernel.sys.tracer
    const label = stepLabel(step)
    const report: StepReport = { id, label, pos: step.pos, status: 'pass' }
    if (!applies(step, variant)) {
      this.steps.push({ ...report, status: 'skip' })
      return
    }
    if (!this.tripped) this.stepEvents = 0
    const failWith = (message: string, pos: Pos, expected?: string, actual?: string): never => {
      const st = { ...report, status: 'fail' as const }
      this.steps.push(st)
      throw new Stop({ step: st, message, pos, trace: this.lastTrace(), ...(expected !== undefined ? { expected } : {}), ...(actual !== undefined ? { actual } : {}) })
    }
    if (this.narrator !== undefined) {
      this.narrator.flush()
      this.narrator.lines.push(`step ${id}: ${label}`)
    }
    tracer.begin(SCENARIO_TRACE.step, 'scenario/steps', id, label)
    if (this.chrome !== undefined && (step.action === 'ioctl' || step.action === 'write32')) {
      const fid = ++this.flowIds
      tracer.flow('s', fid, 'scenario/steps')
      this.flow = { id: fid, stage: 'step' }
    }
    let group: Group | undefined
    try {
      if (step.action === 'call') {
        const name = String((step.main as { value: unknown }).value)
        group = this.groups.get(name)
        if (group === undefined) failWith(`unknown group '${name}'`, step.main.pos)
        const w = get(step.node, 'with')
        if (w !== undefined && w.kind === 'map') for (const e of w.entries) env.set(e.key, evalNode(e.value, env))
        for (const p of group!.params) if (!env.has(p)) failWith(`group '${group!.name}' needs parameter '${p}' (give it in with:, or in params:)`, step.pos)
        this.steps.push(report)
      } else if (step.action === 'spawn') {
        const o = step.main.kind === 'map' ? (evalNode(step.main, env) as Record<string, Value>) : {}
        const p = m.spawn(o as never)
        this.procs.set(step.as ?? `proc${this.procs.size}`, p)
        if (step.as !== undefined) env.set(step.as, p.pid)
        this.steps.push(report)
      } else {
        const pname = step.proc ?? 'main'
        const p = this.procs.get(pname)
        if (p === undefined) failWith(`unknown process '${pname}'; spawn it first (spawn: {}, as: ${pname})`, get(step.node, 'proc')?.pos ?? step.pos)
        const outcome = act(step, p!, this.ctx)
        const mis = check(outcome, step.expect, env)
        if (mis !== undefined) failWith(mis.message, step.expect?.pos ?? step.pos, mis.expected, mis.actual)
        if (step.as !== undefined && outcome.errno === undefined) env.set(step.as, outcome.captured ?? outcome.value)
        if (this.narrator !== undefined && outcome.errno !== undefined) this.narrator.lines.push(`    → -1 ${outcome.errno} (as expected)`)
        this.lastOutcome = outcome
        this.steps.push(report)
      }
    } catch (e) {
      tracer.end('scenario/steps')
      if (e instanceof Stop) throw e
      if (e instanceof StepError) failWith(e.message, e.pos)
      // A simulator exception is still only this step's failure.
      const err = e as Error
      if (err instanceof WatchdogError) this.tripped = true
      failWith(`${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`, step.pos)
    }
    tracer.end('scenario/steps')
    if (group !== undefined) this.runSteps(group.steps, `${id}.`)
  }

  /** The outcome of the last step that ran an action (for the REPL). */
  lastOutcome: Outcome | undefined
}

/** Runs one scenario on one variant. Never throws for anything a scenario does. */
export function runScenario(s: Scenario, variant: Variant, opts: RunOptions = {}): RunReport {
  let session: Session
  try {
    session = new Session(variant, s.iommu === undefined ? opts : { ...opts, iommu: s.iommu })
  } catch (e) {
    const step: StepReport = { id: '0', label: `boot ${variant.board} ${variant.profile}`, pos: { file: s.file, line: 1, col: 1 }, status: 'fail' }
    return { file: s.file, name: s.name, variant, ok: false, steps: [step], failure: { step, message: `boot failed: ${(e as Error).message}`, pos: step.pos, trace: [] }, timeNs: 0, chromeTrace: undefined, narration: [] }
  }
  session.useGroups(s.groups)
  let failure: Failure | undefined
  try {
    for (const prm of s.params) session.env.set(prm.name, evalNode(prm.value, session.env))
    session.runSteps(s.steps, '')
  } catch (e) {
    if (e instanceof Stop) failure = e.failure
    else if (e instanceof StepError) {
      const step: StepReport = { id: '0', label: 'params', pos: e.pos, status: 'fail' }
      failure = { step, message: e.message, pos: e.pos, trace: [] }
    } else {
      const step: StepReport = { id: '0', label: 'runner', pos: { file: s.file, line: 1, col: 1 }, status: 'fail' }
      failure = { step, message: `internal error: ${(e as Error).message}`, pos: step.pos, trace: [] }
    }
  }
  if (opts.narrate && failure !== undefined) session.narration.push(`FAILED at step ${failure.step.id}: ${failure.message}`)
  return {
    file: s.file, name: s.name, variant, ok: failure === undefined, steps: session.steps, failure,
    timeNs: session.m.now, chromeTrace: session.chromeTrace(), narration: session.narration,
  }
}


