/**
 * The benchmark harness's contract. A benchmark file
 * (`packages/<pkg>/bench/<name>.bench.ts`) default-exports an array of
 * figures. Each figure runs an emulated workload and, where one exists, a host
 * reference doing the same work (a plain `Uint8Array.set` for a memcpy); the
 * harness alternates them in the same run, so the ratio is meaningful even on
 * a noisy machine. Speed targets live here, never in timed tests.
 */
export interface BenchFigure {
  /** What is measured ("pl330 memcpy 64 MiB"). */
  readonly name: string
  /** Unit of the amount `run` returns ("B", "translations"). */
  readonly unit: string
  /** Runs the emulated workload once; returns the amount of work done, in `unit`. */
  run(): number
  /** Runs the host reference once; returns the amount of work done, in `unit`. */
  reference?(): number
  /** Alternating rounds (default 5). */
  readonly rounds?: number
}

/** One measured figure. */
export interface BenchResult {
  readonly name: string
  readonly unit: string
  /** Emulated rate, units per second (median of rounds). */
  readonly value: number
  /** Host reference rate, units per second, or null. */
  readonly reference: number | null
  /** value / reference, or null. */
  readonly ratio: number | null
}
