/**
 * Models mm/util.c `__account_locked_vm()`: pages pinned long-term for DMA
 * count against the owner's RLIMIT_MEMLOCK (mm->locked_vm), unless the task
 * has CAP_IPC_LOCK.
 */
import { PAGE_SIZE } from '@vfio-sim/sim'
import { kerr } from '../errno.ts'
import { capable } from '../kernel/cred.ts'
import type { Task } from '../kernel/sched.ts'

/**
 * Adds (`inc`) or removes `npages` locked pages to `task.mm.lockedVm`.
 * Increasing past RLIMIT_MEMLOCK (cur, in bytes, rounded down to pages)
 * without CAP_IPC_LOCK fails with ENOMEM and changes nothing.
 */
export function accountLockedVm(task: Task, npages: number, inc: boolean): void {
  const mm = task.mm
  if (inc) {
    if (!capable(task.cred, 'CAP_IPC_LOCK')) {
      const limit = Math.floor(task.rlimits.memlock.cur / PAGE_SIZE)
      if (mm.lockedVm + npages > limit) kerr('ENOMEM', 'RLIMIT_MEMLOCK exceeded')
    }
    mm.lockedVm += npages
  } else {
    // Linux WARNs on underflow and clamps; so do we.
    mm.lockedVm = Math.max(0, mm.lockedVm - npages)
  }
}
