/**
 * Models the parts of include/linux/sched.h `struct task_struct` that kernel
 * code uses through `current`: pid, comm, credentials, resource limits, the
 * address space and the descriptor table. File operations receive the
 * calling task explicitly. The implementation is TaskStruct (kernel/fork.ts).
 */
import type { Cred, Rlimits } from './cred.ts'
import type { FdTable } from '../fs/fdtable.ts'
import type { MmStruct } from '../mm/mm_types.ts'

/** The calling task, as file operations see it. */
export interface Task {
  readonly pid: number
  /** Command name (task->comm), used in kernel messages. */
  readonly comm: string
  readonly cred: Cred
  readonly rlimits: Rlimits
  /** The address space. */
  readonly mm: MmStruct
  /** The descriptor table (eventfd_ctx_fdget and friends look fds up here). */
  readonly files: FdTable
}
