/**
 * Scenario files → checked Scenario objects. Everything that can be known
 * without running is checked here (keys, actions, ioctl and errno names,
 * boards, profiles, groups, PL330 microcode), so a malformed file fails
 * before it boots anything, with `file:line:col` and what was expected.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { errnoNumber } from '@vfio-sim/uapi'
import { boardNames } from '@vfio-sim/machine'
import { tryAssemble } from '@vfio-sim/pl330'
import { ScenarioSyntaxError, type Pos } from './errors.ts'
import { loadYaml, get, type PMap, type PNode } from './yaml.ts'
import { ACTIONS, COMMON_KEYS, TOP_KEYS } from './steps.ts'
import { IOCTLS } from './ioctls.ts'
import { REG_TABLES } from './regs.ts'
import { checkShell } from './shell.ts'

/** The format version this runner reads. */
export const FORMAT_VERSION = 1

/** Kernel/uapi profiles. */
export const PROFILES = ['rfc-v5', 'upstream'] as const
/** A profile name. */
export type Profile = (typeof PROFILES)[number]

/** One machine a scenario runs on. */
export interface Variant {
  readonly board: string
  readonly profile: Profile
}

/** `when:` of a step: run it only on these boards/profiles. */
export interface When {
  readonly board?: readonly string[]
  readonly profile?: readonly string[]
}

/** One step. */
export interface Step {
  /** The action key (sh, ioctl, …). */
  readonly action: string
  /** The action key's value. */
  readonly main: PNode
  /** The whole step map (extra keys). */
  readonly node: PMap
  /** Position of the step (its first key). */
  readonly pos: Pos
  readonly title: string | undefined
  readonly as: string | undefined
  readonly expect: PNode | undefined
  readonly when: When | undefined
  readonly proc: string | undefined
}

/** A named group of steps. */
export interface Group {
  readonly name: string
  readonly params: readonly string[]
  readonly steps: readonly Step[]
  readonly pos: Pos
}

/** A parsed, checked scenario. */
export interface Scenario {
  readonly file: string
  readonly name: string
  readonly description: string | undefined
  readonly variants: readonly Variant[]
  readonly params: readonly { readonly name: string; readonly value: PNode }[]
  readonly groups: ReadonlyMap<string, Group>
  readonly steps: readonly Step[]
  /** `iommu:` as written: undefined (the machine's default boot), true/false, or driver options. */
  readonly iommu: IommuBoot | undefined
}

/** `iommu:` of a scenario: off, on, or on with arm-smmu / IOMMU-core options. */
export type IommuBoot = boolean | IommuBootOptions

/** The boot options a scenario may give under `iommu:` (see ArmSmmuOptions, IommuCoreOptions). */
export interface IommuBootOptions {
  readonly disableBypass?: boolean
  readonly skipTlbInvalidateOnUnmap?: boolean
  readonly softwareIovaToPhys?: boolean
  readonly defaultDomainType?: 'DMA' | 'IDENTITY'
}

const IOMMU_BOOL_OPTIONS = ['disableBypass', 'skipTlbInvalidateOnUnmap', 'softwareIovaToPhys'] as const

function parseIommu(n: PNode | undefined): IommuBoot | undefined {
  if (n === undefined) return undefined
  if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value
  if (n.kind !== 'map') fail(n.pos, `expected iommu: true, false, or a map of options (${[...IOMMU_BOOL_OPTIONS, 'defaultDomainType'].join(', ')}), found ${kindName(n)}`)
  const out: Record<string, unknown> = {}
  for (const e of n.entries) {
    if ((IOMMU_BOOL_OPTIONS as readonly string[]).includes(e.key)) {
      if (e.value.kind !== 'scalar' || typeof e.value.value !== 'boolean') fail(e.value.pos, `expected ${e.key}: true or false`)
      out[e.key] = e.value.value
    } else if (e.key === 'defaultDomainType') {
      const v = scalarText(e.value, 'DMA or IDENTITY')
      if (v !== 'DMA' && v !== 'IDENTITY') fail(e.value.pos, `expected defaultDomainType: DMA or IDENTITY, found '${v}'`)
      out[e.key] = v
    } else fail(e.keyPos, `unknown iommu option '${e.key}'${didYouMean(e.key, [...IOMMU_BOOL_OPTIONS, 'defaultDomainType'])}; expected one of: ${[...IOMMU_BOOL_OPTIONS, 'defaultDomainType'].join(', ')}`)
  }
  return out as IommuBootOptions
}

/** Options of {@link parseScenario}. */
export interface ParseOptions {
  /** Reads an included file (default: the file system). */
  readonly readFile?: (file: string) => string
}

function fail(pos: Pos, msg: string): never {
  throw new ScenarioSyntaxError(pos.file, pos.line, pos.col, msg)
}

function kindName(n: PNode): string {
  if (n.kind === 'map') return 'a map'
  if (n.kind === 'seq') return 'a list'
  return n.value === null ? 'nothing' : `${typeof n.value} ${JSON.stringify(n.value)}`
}

function expectMap(n: PNode, what: string): PMap {
  if (n.kind !== 'map') fail(n.pos, `expected ${what} (a map), found ${kindName(n)}`)
  return n
}

function scalarText(n: PNode, what: string): string {
  if (n.kind !== 'scalar' || n.value === null || typeof n.value === 'boolean') fail(n.pos, `expected ${what}, found ${kindName(n)}`)
  return String(n.value)
}

function nameList(n: PNode, what: string): string[] {
  if (n.kind === 'seq') return n.items.map(i => scalarText(i, what))
  return [scalarText(n, what)]
}

/** Closest names to `s` (for "did you mean"). */
function nearest(s: string, names: Iterable<string>): string[] {
  const d = (a: string, b: string): number => {
    const m = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
    for (let j = 1; j <= b.length; j++) m[0]![j] = j
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
      m[i]![j] = Math.min(m[i - 1]![j]! + 1, m[i]![j - 1]! + 1, m[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    return m[a.length]![b.length]!
  }
  const S = s.toUpperCase()
  // Near in edit distance, or one a prefix of the other (VFIO_IOMMU_MAP → VFIO_IOMMU_MAP_DMA).
  return [...names].map(n => [n, d(S, n.toUpperCase())] as const)
    .filter(([n, k]) => k <= Math.max(2, s.length / 3) || (s.length >= 4 && (n.toUpperCase().startsWith(S) || S.startsWith(n.toUpperCase()))))
    .sort((a, b) => a[1] - b[1]).slice(0, 3).map(([n]) => n)
}

function didYouMean(s: string, names: Iterable<string>): string {
  const near = nearest(s, names)
  return near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''
}

const NAME_RE = /^[A-Za-z_]\w*$/

function checkName(n: PNode, what: string): string {
  const s = scalarText(n, what)
  if (!NAME_RE.test(s)) fail(n.pos, `expected ${what}: a word of letters, digits and _ (used later as $${s.replace(/\W/g, '_')}), found '${s}'`)
  return s
}

/** Checks the `expect:` of a step where it can be checked statically (errno names). */
function checkExpect(n: PNode): void {
  if (n.kind !== 'map') return
  const e = get(n, 'errno')
  if (e !== undefined) {
    const name = scalarText(e, 'an errno name (EINVAL)')
    if (errnoNumber(name) === undefined) fail(e.pos, `unknown errno '${name}': expected a Linux errno name such as EINVAL, EBUSY, ENODEV${didYouMean(name, ['EINVAL', 'EBUSY', 'ENODEV', 'EPERM', 'EFAULT', 'ENOENT', 'EEXIST', 'ENOSPC', 'ENOMEM', 'ENOTTY', 'EBADF', 'ENXIO', 'EAGAIN', 'EACCES'])}`)
  }
  for (const key of ['match', 'out-match']) {
    const m = get(n, key)
    if (m !== undefined) checkRegex(m)
  }
}

function checkRegex(n: PNode): void {
  const s = scalarText(n, 'a regular expression')
  try {
    new RegExp(s)
  } catch (e) {
    fail(n.pos, `invalid regular expression: ${(e as Error).message}`)
  }
}

function parseWhen(n: PNode): When {
  const m = expectMap(n, "a condition such as {profile: upstream}")
  let out: When = {}
  for (const e of m.entries) {
    if (e.key === 'board') {
      const names = nameList(e.value, 'a board name')
      for (const [i, b] of names.entries()) if (!boardNames().includes(b)) fail(e.value.kind === 'seq' ? e.value.items[i]!.pos : e.value.pos, `unknown board '${b}'; known boards: ${boardNames().join(', ')}`)
      out = { ...out, board: names }
    } else if (e.key === 'profile') {
      const names = nameList(e.value, 'a profile name')
      for (const [i, p] of names.entries()) if (!(PROFILES as readonly string[]).includes(p)) fail(e.value.kind === 'seq' ? e.value.items[i]!.pos : e.value.pos, `unknown profile '${p}'; expected rfc-v5 or upstream`)
      out = { ...out, profile: names }
    } else fail(e.keyPos, `unknown key '${e.key}' in when:; expected board or profile`)
  }
  return out
}

/** Checks one step map. */
function parseStep(n: PNode): Step {
  if (n.kind !== 'map') fail(n.pos, `expected a step (a map with one action: ${Object.keys(ACTIONS).join(', ')}), found ${kindName(n)}`)
  const actions = n.entries.filter(e => Object.hasOwn(ACTIONS, e.key))
  if (actions.length === 0) {
    const unknown = n.entries.find(e => !(COMMON_KEYS as readonly string[]).includes(e.key))
    if (unknown !== undefined) fail(unknown.keyPos, `unknown action '${unknown.key}'${didYouMean(unknown.key, Object.keys(ACTIONS))}; expected one of: ${Object.keys(ACTIONS).join(', ')}`)
    fail(n.pos, `step has no action; expected one of: ${Object.keys(ACTIONS).join(', ')}`)
  }
  if (actions.length > 1) fail(actions[1]!.keyPos, `a step has exactly one action; '${actions[0]!.key}' is already this step's action, so '${actions[1]!.key}' must start a new step (- ${actions[1]!.key}: …)`)
  const act = actions[0]!
  const spec = ACTIONS[act.key]!
  for (const e of n.entries) {
    if (e === act || (COMMON_KEYS as readonly string[]).includes(e.key) || Object.hasOwn(spec.keys, e.key)) continue
    const allowed = [...Object.keys(spec.keys), ...COMMON_KEYS]
    fail(e.keyPos, `unknown key '${e.key}' in a '${act.key}' step${didYouMean(e.key, allowed)}; expected one of: ${allowed.join(', ')}`)
  }
  for (const [k, required] of Object.entries(spec.keys)) {
    if (required && get(n, k) === undefined) fail(act.keyPos, `a '${act.key}' step needs '${k}:' (${spec.help})`)
  }
  const main = act.value
  switch (spec.main) {
    case 'text': scalarText(main, `${act.key}: text`); break
    case 'name': scalarText(main, `${act.key}: a name`); break
    case 'map': expectMap(main, `${act.key}: a map`); break
    case 'list': if (main.kind !== 'seq') fail(main.pos, `expected ${act.key}: a list such as [$efd], found ${kindName(main)}`); break
    case 'value': if (main.kind === 'map' && act.key !== 'spawn') fail(main.pos, `expected ${act.key}: a value, found a map`); break
  }
  checkActionDetails(act.key, main, n)
  const title = get(n, 'title')
  const as = get(n, 'as')
  const expect = get(n, 'expect')
  const when = get(n, 'when')
  const proc = get(n, 'proc')
  if (expect !== undefined) checkExpect(expect)
  return {
    action: act.key, main, node: n, pos: act.keyPos,
    title: title === undefined ? undefined : scalarText(title, 'a title'),
    as: as === undefined ? undefined : checkName(as, 'a name to capture the result into'),
    expect,
    when: when === undefined ? undefined : parseWhen(when),
    proc: proc === undefined ? undefined : checkName(proc, 'a process name (from spawn … as:)'),
  }
}

function checkActionDetails(action: string, main: PNode, n: PMap): void {
  if (action === 'sh') {
    const msg = checkShell(scalarText(main, 'a command line'))
    if (msg !== undefined) fail(main.pos, `sh: ${msg}`)
  } else if (action === 'ioctl') {
    const name = scalarText(main, 'an ioctl name')
    if (!IOCTLS.has(name)) fail(main.pos, `unknown ioctl '${name}'${didYouMean(name, IOCTLS.keys())}; expected a Linux name such as VFIO_GROUP_GET_STATUS`)
  } else if (action === 'mmap' || action === 'read32' || action === 'write32') {
    const r = get(n, 'regs')
    if (r !== undefined) {
      const t = scalarText(r, 'a register table name')
      if (!REG_TABLES.has(t)) fail(r.pos, `unknown register table '${t}'; expected one of: ${[...REG_TABLES.keys()].join(', ')}`)
    }
    if ((action === 'read32' || action === 'write32') && (get(n, 'at') === undefined) === (get(n, 'phys') === undefined)) {
      fail(main.pos, `a '${action}' step needs either at: (a device mapping of this process) or phys: (a physical address, accessed by the test harness)`)
    }
    if (action === 'mmap' && main.kind === 'map') {
      for (const e of main.entries) {
        if (!['fd', 'length', 'prot', 'flags', 'offset', 'addr'].includes(e.key)) fail(e.keyPos, `unknown mmap argument '${e.key}'; expected fd, length, prot, flags, offset, addr`)
      }
      if (get(main, 'length') === undefined) fail(main.pos, 'mmap needs length:')
    }
  } else if (action === 'asm') {
    checkAsm(main, n)
  } else if (action === 'dmesg' || action === 'trace') {
    checkRegex(main)
  } else if (action === 'run') {
    if (main.kind === 'scalar' && typeof main.value === 'string' && !['idle', 'readable'].includes(main.value) && !main.value.startsWith('$')) {
      if (!/^\d+(\.\d+)?\s*(ns|us|µs|ms|s)$/.test(main.value)) fail(main.pos, `expected run: a duration (10us, 2ms), idle, or readable (with until: $efd), found '${main.value}'`)
    }
    if (main.kind === 'scalar' && main.value === 'readable' && get(n, 'until') === undefined) fail(main.pos, 'run: readable needs until: $fd (the eventfd to wait for)')
  }
}

/** Assembles inline microcode now (symbols as 0), mapping assembler line:col to the file. */
function checkAsm(main: PNode, n: PMap): void {
  if (main.kind !== 'scalar' || typeof main.value !== 'string') return
  const symNode = get(n, 'symbols')
  const symbols: Record<string, number> = {}
  if (symNode !== undefined) for (const e of expectMap(symNode, 'symbols: {NAME: value}').entries) symbols[e.key] = 0
  const r = tryAssemble(main.value, { symbols })
  if (r.ok) return
  const e = r.errors[0]!
  // A block scalar (`asm: |`) starts on the line after the indicator; its
  // indentation is the column of the first content line. Quoted/plain
  // scalars: the error's line is within the scalar's own line.
  if (main.blockIndent !== undefined) fail({ file: main.pos.file, line: main.pos.line + e.line, col: main.blockIndent + e.column }, `PL330 assembler: ${e.message}`)
  if (e.line === 1) fail({ file: main.pos.file, line: main.pos.line, col: main.pos.col + e.column - 1 + (main.quoted ? 1 : 0) }, `PL330 assembler: ${e.message}`)
  fail(main.pos, `PL330 assembler, line ${e.line}:${e.column} of the microcode: ${e.message}`)
}

function parseSteps(n: PNode, what: string): Step[] {
  if (n.kind !== 'seq') fail(n.pos, `expected ${what}: a list of steps (- sh: …), found ${kindName(n)}`)
  return n.items.map(parseStep)
}

function parseGroups(n: PNode, into: Map<string, Group>): void {
  for (const e of expectMap(n, 'define: {group-name: {params: [...], steps: [...]}}').entries) {
    if (!/^[A-Za-z_][\w-]*$/.test(e.key)) fail(e.keyPos, `expected a group name (letters, digits, - and _), found '${e.key}'`)
    if (into.has(e.key)) fail(e.keyPos, `group '${e.key}' is already defined (at ${into.get(e.key)!.pos.file}:${into.get(e.key)!.pos.line})`)
    const g = expectMap(e.value, `group '${e.key}' as {params: [...], steps: [...]}`)
    for (const k of g.entries) if (k.key !== 'params' && k.key !== 'steps' && k.key !== 'description') fail(k.keyPos, `unknown key '${k.key}' in a group; expected params, steps, description`)
    const params = get(g, 'params')
    const steps = get(g, 'steps')
    if (steps === undefined) fail(e.keyPos, `group '${e.key}' needs steps:`)
    into.set(e.key, {
      name: e.key,
      params: params === undefined ? [] : (params.kind === 'seq' ? params.items : [params]).map(p => checkName(p, 'a parameter name')),
      steps: parseSteps(steps, `group '${e.key}' steps`),
      pos: e.keyPos,
    })
  }
}

function checkCalls(steps: readonly Step[], groups: ReadonlyMap<string, Group>): void {
  for (const s of steps) {
    if (s.action !== 'call') continue
    const name = scalarText(s.main, 'a group name')
    const g = groups.get(name)
    if (g === undefined) fail(s.main.pos, `unknown group '${name}'${didYouMean(name, groups.keys())}; defined groups: ${[...groups.keys()].join(', ') || '(none)'}`)
    const w = get(s.node, 'with')
    const given = w === undefined ? [] : expectMap(w, 'with: {param: value}').entries
    for (const e of given) if (!g.params.includes(e.key)) fail(e.keyPos, `group '${name}' has no parameter '${e.key}'; its parameters: ${g.params.join(', ') || '(none)'}`)
  }
}

function parseVariants(top: PMap): Variant[] {
  const vs = get(top, 'variants')
  const boardN = get(top, 'board')
  const profN = get(top, 'profile')
  const checkBoard = (n: PNode, b: string): void => {
    if (!boardNames().includes(b)) fail(n.pos, `unknown board '${b}'${didYouMean(b, boardNames())}; known boards: ${boardNames().join(', ')}`)
  }
  const checkProfile = (n: PNode, p: string): Profile => {
    if (!(PROFILES as readonly string[]).includes(p)) fail(n.pos, `unknown profile '${p}'; expected rfc-v5 or upstream`)
    return p as Profile
  }
  if (vs !== undefined) {
    if (boardN !== undefined || profN !== undefined) fail(vs.pos, 'give either variants: or board:/profile:, not both')
    if (vs.kind !== 'seq' || vs.items.length === 0) fail(vs.pos, 'expected variants: a non-empty list of {board, profile}')
    return vs.items.map(item => {
      const m = expectMap(item, 'a variant {board: …, profile: …}')
      for (const e of m.entries) if (e.key !== 'board' && e.key !== 'profile') fail(e.keyPos, `unknown key '${e.key}' in a variant; expected board, profile`)
      const b = get(m, 'board')
      const p = get(m, 'profile')
      const board = b === undefined ? 'fvp-mmu400' : scalarText(b, 'a board name')
      if (b !== undefined) checkBoard(b, board)
      const profile = p === undefined ? 'rfc-v5' : checkProfile(p, scalarText(p, 'a profile'))
      return { board, profile }
    })
  }
  const items = (n: PNode | undefined, dflt: string): { n: PNode | undefined; v: string }[] =>
    n === undefined ? [{ n: undefined, v: dflt }] : n.kind === 'seq' ? n.items.map(i => ({ n: i, v: scalarText(i, 'a name') })) : [{ n, v: scalarText(n, 'a name') }]
  const boards = items(boardN, 'fvp-mmu400')
  const profiles = items(profN, 'rfc-v5')
  for (const b of boards) if (b.n !== undefined) checkBoard(b.n, b.v)
  const out: Variant[] = []
  for (const b of boards) for (const p of profiles) out.push({ board: b.v, profile: p.n === undefined ? 'rfc-v5' : checkProfile(p.n, p.v) })
  return out
}

/**
 * Parses and checks a scenario. `file` is used in positions and to resolve
 * `include:` paths. @throws ScenarioSyntaxError on anything malformed.
 */
export function parseScenario(text: string, file: string, opts: ParseOptions = {}): Scenario {
  const readFile = opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'))
  const root = loadYaml(text, file)
  const top = expectMap(root, 'a scenario map (vfio-sim: 1, name:, steps:)')
  for (const e of top.entries) if (!Object.hasOwn(TOP_KEYS, e.key)) fail(e.keyPos, `unknown top-level key '${e.key}'${didYouMean(e.key, Object.keys(TOP_KEYS))}; expected one of: ${Object.keys(TOP_KEYS).join(', ')}`)
  const ver = get(top, 'vfio-sim')
  if (ver === undefined) fail(top.pos, `missing 'vfio-sim: ${FORMAT_VERSION}' (the format version) at the top of the file`)
  if (ver.kind !== 'scalar' || ver.value !== FORMAT_VERSION) fail(ver.pos, `unsupported format version ${ver.kind === 'scalar' ? JSON.stringify(ver.value) : kindName(ver)}; expected vfio-sim: ${FORMAT_VERSION}`)
  const nameN = get(top, 'name')
  if (nameN === undefined) fail(top.pos, "missing 'name:' (one line saying what the scenario shows)")
  const descN = get(top, 'description')
  const groups = new Map<string, Group>()
  const inc = get(top, 'include')
  if (inc !== undefined) {
    for (const item of inc.kind === 'seq' ? inc.items : [inc]) {
      const rel = scalarText(item, 'a file to include')
      const target = path.resolve(path.dirname(file), rel)
      let src: string
      try {
        src = readFile(target)
      } catch {
        fail(item.pos, `cannot read included file '${rel}' (looked for ${target})`)
      }
      const lib = expectMap(loadYaml(src, target), 'a library map (vfio-sim: 1, define: …)')
      for (const e of lib.entries) if (e.key !== 'vfio-sim' && e.key !== 'define' && e.key !== 'description' && e.key !== 'name') fail(e.keyPos, `an included file holds only vfio-sim:, name:, description: and define:; found '${e.key}'`)
      const d = get(lib, 'define')
      if (d !== undefined) parseGroups(d, groups)
    }
  }
  const def = get(top, 'define')
  if (def !== undefined) parseGroups(def, groups)
  const paramsN = get(top, 'params')
  const params = paramsN === undefined ? [] : expectMap(paramsN, 'params: {name: value}').entries.map(e => {
    if (!NAME_RE.test(e.key)) fail(e.keyPos, `expected a parameter name (letters, digits, _), found '${e.key}'`)
    return { name: e.key, value: e.value }
  })
  const iommu = parseIommu(get(top, 'iommu'))
  const stepsN = get(top, 'steps')
  if (stepsN === undefined) fail(top.pos, "missing 'steps:' (the list of steps)")
  const steps = parseSteps(stepsN, 'steps')
  checkCalls(steps, groups)
  for (const g of groups.values()) checkCalls(g.steps, groups)
  return {
    file,
    name: scalarText(nameN, 'a name'),
    description: descN === undefined ? undefined : scalarText(descN, 'a description'),
    variants: parseVariants(top),
    params,
    groups,
    steps,
    iommu,
  }
}
