/**
 * The public entry point: `boot()` builds a board (hardware + device tree +
 * drivers) under a fresh kernel and returns the Machine; `spawn()` makes user
 * processes; `run()` advances virtual time.
 *
 * ```ts
 * const m = boot({ board: 'fvp-mmu400', profile: 'rfc-v5' })
 * const p = m.spawn()
 * ```
 */
import { SimSystem } from '@vfio-sim/sim'
import { Kernel, spawnTask, type KernelProfile, type SpawnOptions } from '@vfio-sim/kernel'
import { Process } from './process.ts'
import { boardNames as dtsBoardNames, buildBoard, type Board, type BoardOptions } from './boards/index.ts'


/** DRAM of the stand-in board: 2 GiB at 0x8000_0000 (the FVP's DRAM window). */
export const MINIMAL_DRAM = { base: 0x8000_0000, size: 0x8000_0000 } as const

/** The stand-in board: DRAM only. */
function minimalBoard(kernel: Kernel): void {
  kernel.sys.bus.addRam('dram', MINIMAL_DRAM.base, MINIMAL_DRAM.size)
  kernel.printk('info', 'Machine model: vfio-sim minimal (DRAM only)')
}

/** The board that is not a device tree: DRAM only, no devices (fast, for tests of the process model). */
export const MINIMAL_BOARD = 'minimal'

/** Names of the boards boot() accepts, sorted: the device-tree boards of src/boards, plus 'minimal'. */
export function boardNames(): string[] {
  return [...dtsBoardNames(), MINIMAL_BOARD].sort()
}

/** Options of {@link boot}. */
export interface BootOptions {
  /** Board name (default 'fvp-mmu400'); see {@link boardNames}. */
  readonly board?: string
  /** Kernel behaviour profile (default 'rfc-v5'). */
  readonly profile?: KernelProfile
  /**
   * The IOMMU core, the arm-smmu driver and the VFIO modules (default on);
   * `false` for a board without them, or their options (see BoardOptions).
   */
  readonly iommu?: BoardOptions['iommu']
}

/** Options of {@link Machine.run}. */
export interface RunOptions {
  /** Run at most this much virtual time. */
  readonly forNs?: number
  /** Stop as soon as this returns true (checked after each event). */
  readonly until?: () => boolean
}

/** Why {@link Machine.run} returned. */
export interface RunResult {
  /** 'until': the predicate held; 'time': forNs elapsed; 'idle': no event left. */
  readonly reason: 'until' | 'time' | 'idle'
  /** Events run. */
  readonly events: number
  /** Virtual time now (ns). */
  readonly now: number
}

/** A booted machine. */
export class Machine {
  /** The kernel (sysfs, devfs, pages, irq core, log) and through it the hardware (`kernel.sys`). */
  readonly kernel: Kernel
  /** Board name. */
  readonly board: string
  /** The built board (device tree, SMMU and PL330 models, devices); undefined for 'minimal'. */
  readonly hw: Board | undefined

  constructor(kernel: Kernel, board: string, hw: Board | undefined) {
    this.kernel = kernel
    this.board = board
    this.hw = hw
  }

  /** The behaviour profile. */
  get profile(): KernelProfile {
    return this.kernel.profile
  }

  /** Virtual time in ns. */
  get now(): number {
    return this.kernel.now
  }

  /**
   * A new user process: root with every capability by default; `uid`,
   * `caps` (capability names), `rlimits` ({ memlock: bytes, nofile }) change that.
   */
  spawn(opts: SpawnOptions = {}): Process {
    return new Process(this.kernel, spawnTask(this.kernel, opts))
  }

  /** Runs the machine (see {@link RunOptions}); with neither option, until idle. */
  run(opts: RunOptions = {}): RunResult {
    const s = this.kernel.sys.scheduler
    const deadline = opts.forNs === undefined ? undefined : s.now + Math.max(0, opts.forNs)
    let events = 0
    for (;;) {
      if (opts.until?.()) return { reason: 'until', events, now: s.now }
      const next = s.nextTime
      if (deadline !== undefined && (next === undefined || next > deadline)) {
        s.runUntil(deadline)
        return { reason: opts.until?.() ? 'until' : 'time', events, now: s.now }
      }
      if (next === undefined) return { reason: 'idle', events, now: s.now }
      s.step()
      events++
    }
  }

  /** The kernel log, `[    0.000000] text` lines. */
  dmesg(): string[] {
    return this.kernel.dmesg()
  }
}

/**
 * Boots a board. Unknown board or profile: an Error naming the valid ones.
 */
export function boot(opts: BootOptions = {}): Machine {
  const board = opts.board ?? 'fvp-mmu400'
  const profile = opts.profile ?? 'rfc-v5'
  if (!boardNames().includes(board)) throw new Error(`boot: unknown board '${board}'; known boards: ${boardNames().join(', ')}`)
  if (profile !== 'rfc-v5' && profile !== 'upstream') throw new Error(`boot: unknown profile '${String(profile)}'; known profiles: rfc-v5, upstream`)
  const kernel = new Kernel({ sys: new SimSystem(), profile })
  if (board === MINIMAL_BOARD) {
    minimalBoard(kernel)
    return new Machine(kernel, board, undefined)
  }
  return new Machine(kernel, board, buildBoard(kernel, board, opts.iommu === undefined ? {} : { iommu: opts.iommu }))
}
