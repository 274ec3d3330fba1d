/**
 * Models kernel/fork.c (creating a task with its own address space and
 * descriptor table) and kernel/exit.c (do_exit: exit_mm, then exit_files).
 * Every user process of the simulation is one task.
 */
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, O_RDWR, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { doFilpOpen } from '../fs/open.ts'
import type { Kernel } from '../kernel.ts'
import { FdTable } from '../fs/fdtable.ts'
import { STACK_SIZE, STACK_START, UserMm } from '../mm/mmap.ts'
import { ALL_CAPS, defaultRlimits, type Capability, type Cred, type Rlimits } from './cred.ts'
import type { Task } from './sched.ts'

/** First pid handed out (pids then count up; deterministic). */
export const FIRST_PID = 100

/** Options of {@link spawnTask}. */
export interface SpawnOptions {
  /** Default 0 (root). */
  readonly uid?: number
  /** Default: the uid. */
  readonly gid?: number
  /** Default: every capability for uid 0, none otherwise. */
  readonly caps?: readonly Capability[]
  /** Overrides of the default limits (RLIMIT_MEMLOCK 64 KiB on rfc-v5, 8 MiB upstream; RLIMIT_NOFILE 1024), in bytes / fds. */
  readonly rlimits?: { readonly memlock?: number; readonly nofile?: number }
  /** Command name, default "proc". */
  readonly comm?: string
  /** Open fds 0, 1, 2 on /dev/null, as a process started from a shell has stdio (default true; first open() then gets fd 3). */
  readonly stdio?: boolean
}

/** A user task. */
export class TaskStruct implements Task {
  readonly pid: number
  readonly comm: string
  readonly cred: Cred
  readonly rlimits: Rlimits
  readonly mm: UserMm
  readonly files: FdTable
  private readonly kernel: Kernel
  private exitedFlag = false

  constructor(kernel: Kernel, pid: number, opts: SpawnOptions) {
    this.kernel = kernel
    this.pid = pid
    this.comm = opts.comm ?? 'proc'
    const uid = opts.uid ?? 0
    this.cred = { uid, gid: opts.gid ?? uid, caps: new Set(opts.caps ?? (uid === 0 ? ALL_CAPS : [])) }
    this.rlimits = defaultRlimits(kernel.profile)
    if (opts.rlimits?.memlock !== undefined) this.rlimits.memlock = { cur: opts.rlimits.memlock, max: opts.rlimits.memlock }
    if (opts.rlimits?.nofile !== undefined) this.rlimits.nofile = { cur: opts.rlimits.nofile, max: opts.rlimits.nofile }
    this.mm = new UserMm(kernel, `pid ${pid}`)
    this.files = new FdTable(() => this.rlimits.nofile.cur)
  }

  /** True after {@link TaskStruct.exit}. */
  get exited(): boolean {
    return this.exitedFlag
  }

  /** do_exit: tears down the address space, then closes every fd. */
  exit(): void {
    if (this.exitedFlag) return
    this.exitedFlag = true
    this.mm.exit()
    this.files.closeAll()
    this.kernel.tasks.delete(this.pid)
  }
}

/** Creates a user task with a stack mapping, registered in `kernel.tasks`. */
export function spawnTask(kernel: Kernel, opts: SpawnOptions = {}): TaskStruct {
  const pid = kernel.allocPid()
  const t = new TaskStruct(kernel, pid, opts)
  kernel.tasks.set(pid, t)
  if (opts.stdio ?? true) {
    const nul = doFilpOpen(kernel, t, '/dev/null', O_RDWR)
    for (let fd = 0; fd < 3; fd++) t.files.install(fd === 0 ? nul : nul.get(), false)
  }
  t.mm.mmap({ addr: STACK_START, length: STACK_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, file: undefined, offset: 0 }, t)
  return t
}
