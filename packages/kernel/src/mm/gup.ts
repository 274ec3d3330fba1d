/**
 * Models the long-term pinning pattern of mm/gup.c as DMA users (VFIO type1)
 * combine it with locked-memory accounting: account the pages against
 * RLIMIT_MEMLOCK first (mm/util.c), then pin them; undo both on failure.
 */
import type { Task } from '../kernel/sched.ts'
import type { PinnedPage } from './mm_types.ts'
import { accountLockedVm } from './util.ts'

/**
 * Pins `npages` user pages from page-aligned `addr` and accounts them as
 * locked memory. ENOMEM past RLIMIT_MEMLOCK (without CAP_IPC_LOCK), EFAULT
 * for an unmapped/IO page; all or nothing.
 */
export function pinUserPagesAccounted(task: Task, addr: number, npages: number, write: boolean): PinnedPage[] {
  accountLockedVm(task, npages, true)
  try {
    return task.mm.pinUserPages(addr, npages, write)
  } catch (e) {
    accountLockedVm(task, npages, false)
    throw e
  }
}

/** Unpins pages pinned by {@link pinUserPagesAccounted} and returns their locked-memory accounting. */
export function unpinUserPagesAccounted(task: Task, pages: readonly PinnedPage[]): void {
  task.mm.unpinUserPages(pages)
  accountLockedVm(task, pages.length, false)
}
