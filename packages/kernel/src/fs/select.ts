/**
 * Models fs/select.c do_poll: each entry's revents is the file's readiness
 * masked by its events (POLLERR, POLLHUP, POLLNVAL always reported); a
 * closed fd gives POLLNVAL; a negative fd is skipped. If nothing is ready the
 * machine runs until something is, or the timeout (virtual ns) expires.
 */
import { kerr } from '../errno.ts'
import type { Kernel } from '../kernel.ts'
import type { Task } from '../kernel/sched.ts'
import { POLL } from './file.ts'

/** One struct pollfd. `revents` is written by poll. */
export interface PollFd {
  fd: number
  events: number
  revents?: number
}

function scan(task: Task, fds: PollFd[]): number {
  let ready = 0
  for (const p of fds) {
    if (!Number.isInteger(p.fd) || p.fd < 0) {
      p.revents = 0
      continue
    }
    let mask: number
    if (!task.files.has(p.fd)) mask = POLL.NVAL
    else {
      const f = task.files.get(p.fd)
      // A file without poll is always ready (DEFAULT_POLLMASK).
      mask = f.fops.poll === undefined ? POLL.IN | POLL.OUT | POLL.RDNORM | POLL.WRNORM : f.fops.poll(f, task)
      mask &= (p.events & 0xffff) | POLL.ERR | POLL.HUP
    }
    p.revents = mask
    if (mask !== 0) ready++
  }
  return ready
}

/**
 * poll(2): returns the number of entries with non-zero revents. `timeoutNs`
 * undefined, negative, or beyond what the virtual clock can reach (past
 * 2^53 ns) waits forever; NaN is EINVAL (BlockedForeverError if the machine
 * goes idle); 0 does not wait.
 */
export function sysPoll(kernel: Kernel, task: Task, fds: PollFd[], timeoutNs?: number): number {
  if (!Array.isArray(fds) || fds.some(p => typeof p !== 'object' || p === null || typeof p.fd !== 'number' || typeof p.events !== 'number')) kerr('EFAULT')
  if (fds.length > task.rlimits.nofile.cur) kerr('EINVAL')
  if (timeoutNs !== undefined && (typeof timeoutNs !== 'number' || Number.isNaN(timeoutNs))) kerr('EINVAL')
  let ready = scan(task, fds)
  if (ready > 0 || timeoutNs === 0) return ready
  // A deadline the virtual clock cannot hold exactly (past 2^53 ns, or
  // Infinity) is no deadline: wait until ready, as a negative timeout does.
  const far = timeoutNs !== undefined && timeoutNs > Number.MAX_SAFE_INTEGER - kernel.now
  const deadline = timeoutNs === undefined || timeoutNs < 0 || far ? undefined : kernel.now + timeoutNs
  kernel.waitEvent(() => (ready = scan(task, fds)) > 0, `poll on fds [${fds.map(p => p.fd).join(', ')}]`, deadline)
  return ready
}
