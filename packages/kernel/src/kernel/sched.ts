/**
 * Models the parts of include/linux/sched.h `struct task_struct` that kernel
 * code uses through `current`: pid, comm, credentials, resource limits and
 * the address space. File operations receive the calling task explicitly.
 */
import type { Cred, Rlimits } from './cred.ts'
import type { MmStruct } from '../mm/mm_types.ts'

/** The calling task, as file operations see it. */
export interface Task {
  readonly pid: number
  /** Command name (task->comm), used in kernel messages. */
  readonly comm: string
  readonly cred: Cred
  readonly rlimits: Rlimits
  /** The address space (undefined for a kernel thread). */
  readonly mm: MmStruct
}
