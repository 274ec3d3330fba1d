/**
 * The bridge from the kernel's `Task` (kernel/sched.ts) to what type1 needs
 * per ioctl: the address space, capable(CAP_IPC_LOCK) and rlimit(RLIMIT_MEMLOCK).
 * The container file's ioctl handler calls `vfioTask(task)` for each call.
 */
import { capable } from '../../kernel/cred.ts'
import type { Task } from '../../kernel/sched.ts'
import type { VfioTask } from './iommu_types.ts'

/** The VFIO view of the calling task. `Task.mm` (MmStruct) is a VfioUserMm. */
export function vfioTask(task: Task): VfioTask {
  return { mm: task.mm, capIpcLock: capable(task.cred, 'CAP_IPC_LOCK'), rlimitMemlock: task.rlimits.memlock.cur }
}
