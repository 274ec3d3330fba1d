/**
 * @vfio-sim/scenario: scenario files (YAML, versioned, JSON Schema), the
 * headless runner, its reports (TAP, pretty, JSON) and the `vfio-sim` CLI.
 * See docs/scenarios.md.
 */
export { ScenarioSyntaxError, formatPos, type Pos } from './errors.ts'
export { loadYaml, type PNode, type PMap, type PSeq, type PScalar } from './yaml.ts'
export { parseScenario, FORMAT_VERSION, PROFILES, type Scenario, type Step, type Group, type Variant, type Profile, type ParseOptions, type IommuBoot, type IommuBootOptions } from './parse.ts'
export { STEP_EVENT_LIMIT, IDLE_LIMIT_NS } from './limits.ts'
export { runScenario, bootVariant, Session, Stop, WatchdogError, stepLabel, SCENARIO_TRACE, type RunReport, type RunOptions, type StepReport, type Failure } from './runner.ts'
export { formatReport, formatTap, formatPretty, formatJson, closingLine, exitCode, type ReportItem, type ReportFormat } from './report.ts'
export { ACTIONS, TOP_KEYS, COMMON_KEYS, type ActionSpec } from './steps.ts'
export { IOCTLS, type IoctlSpec } from './ioctls.ts'
export { REG_TABLES, resolveReg } from './regs.ts'
export { loadFiles, runFiles, type FileSet } from './files.ts'
export { scenarioSchema } from './schema.ts'
export { Narrator } from './narrate.ts'
export { runRepl, type ReplIo } from './repl.ts'
export { main as cliMain, type CliIo } from './cli-main.ts'
