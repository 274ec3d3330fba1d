/** Limits that keep a scenario from hanging the runner (see runner.ts, the watchdog). */

/** `run: idle` gives up after this much virtual time (ns) if the machine is still busy. */
export const IDLE_LIMIT_NS = 10_000_000_000

/** Trace events one step may cause before the watchdog stops it. */
export const STEP_EVENT_LIMIT = 1_000_000
