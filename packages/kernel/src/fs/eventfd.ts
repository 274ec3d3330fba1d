/**
 * Models fs/eventfd.c: a 64-bit counter behind a file descriptor. Reads
 * return and clear it (or, with EFD_SEMAPHORE, return 1 and decrement it);
 * writes add to it; the kernel side (eventfd_signal, used by VFIO interrupt
 * triggers) increments it, saturating. A blocking read runs the machine
 * until the counter is non-zero (kernel/wait.ts).
 *
 * Profile: a write whose length is not 8 is EINVAL on 'upstream' (Linux ≥
 * 6.9); on 'rfc-v5' (the 2014 kernel) a longer write consumes 8 bytes and
 * returns 8, a shorter one is EINVAL (spec/vfio.md errata 4).
 */
import { EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, O_NONBLOCK, O_RDWR } from '@vfio-sim/uapi'
import { kerr } from '../errno.ts'
import type { Kernel } from '../kernel.ts'
import type { Task } from '../kernel/sched.ts'
import { WaitQueueHead } from '../kernel/wait.ts'
import { OpenFile, POLL, type FileOperations } from './file.ts'

const ULLONG_MAX = 0xffff_ffff_ffff_ffffn

/** The kernel object behind an eventfd (struct eventfd_ctx), refcounted separately from its file. */
export class EventfdCtx {
  /** The counter. */
  count: bigint
  readonly semaphore: boolean
  /** Woken with POLL.IN on every increment and POLL.HUP when the file is released (virqfd listens here). */
  readonly wqh = new WaitQueueHead()
  private refs = 1
  /** Unique id (eventfd-id in fdinfo). */
  readonly id: number
  private static nextId = 0

  constructor(count: bigint, semaphore: boolean) {
    this.count = count
    this.semaphore = semaphore
    this.id = EventfdCtx.nextId++
  }

  /** eventfd_ctx_get. */
  get(): this {
    this.refs++
    return this
  }

  /** eventfd_ctx_put. */
  put(): void {
    if (this.refs > 0) this.refs--
  }

  /** Current references (the file holds one while open). */
  get refcount(): number {
    return this.refs
  }

  /** eventfd_signal: count++ unless saturated at 2^64 − 1; wakes readers. Never fails. */
  signal(): void {
    if (this.count < ULLONG_MAX) this.count++
    this.wqh.wakeUp(POLL.IN)
  }

  /**
   * eventfd_ctx_do_read: the value a read would return (the whole counter,
   * or 1 in semaphore mode), consumed. Call only when count > 0.
   */
  doRead(): bigint {
    const v = this.semaphore && this.count > 0n ? 1n : this.count
    this.count -= v
    return v
  }

  /** Readiness mask (eventfd_poll). */
  pollMask(): number {
    let m = 0
    if (this.count > 0n) m |= POLL.IN
    if (this.count === ULLONG_MAX) m |= POLL.ERR
    if (this.count < ULLONG_MAX - 1n) m |= POLL.OUT
    return m
  }
}

function ctxOf(file: OpenFile): EventfdCtx {
  return file.priv as EventfdCtx
}

function eventfdFops(kernel: Kernel, fdHint: () => string): FileOperations {
  return {
    seekable: false,
    read(file, buf) {
      const ctx = ctxOf(file)
      if (buf.length < 8) kerr('EINVAL')
      if (ctx.count === 0n) {
        if ((file.flags & O_NONBLOCK) !== 0) kerr('EAGAIN')
        kernel.waitEvent(() => ctx.count > 0n, `read on eventfd (${fdHint()})`)
      }
      const v = ctx.doRead()
      new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, v, true)
      ctx.wqh.wakeUp(POLL.OUT)
      return 8
    },
    write(file, data) {
      const ctx = ctxOf(file)
      if (data.length < 8 || (data.length !== 8 && kernel.profile === 'upstream')) kerr('EINVAL')
      const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true)
      if (v === ULLONG_MAX) kerr('EINVAL')
      if (ULLONG_MAX - ctx.count <= v) {
        if ((file.flags & O_NONBLOCK) !== 0) kerr('EAGAIN')
        kernel.waitEvent(() => ULLONG_MAX - ctx.count > v, `write on eventfd (${fdHint()})`)
      }
      ctx.count += v
      ctx.wqh.wakeUp(POLL.IN) // even for a zero write, as Linux does (a virqfd then runs its handler)
      return 8
    },
    poll(file) {
      return ctxOf(file).pollMask()
    },
    release(file) {
      const ctx = ctxOf(file)
      ctx.wqh.wakeUp(POLL.HUP)
      ctx.put()
    },
  }
}

/** Flags eventfd2 accepts. */
const EFD_VALID = EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK

/**
 * eventfd2(initval, flags): a new eventfd installed in `task`'s table.
 * Unknown flags → EINVAL. Returns the fd.
 */
export function sysEventfd2(kernel: Kernel, task: Task, initval: number, flags: number): number {
  if (!Number.isInteger(flags) || (flags & ~EFD_VALID) !== 0 || flags < 0) kerr('EINVAL')
  if (!Number.isInteger(initval)) kerr('EINVAL')
  const ctx = new EventfdCtx(BigInt(initval >>> 0), (flags & EFD_SEMAPHORE) !== 0)
  let fd = -1
  const file = new OpenFile(eventfdFops(kernel, () => `fd ${fd}`), O_RDWR | (flags & EFD_NONBLOCK), 'anon_inode:[eventfd]')
  file.priv = ctx
  try {
    fd = task.files.install(file, (flags & EFD_CLOEXEC) !== 0)
  } catch (e) {
    file.put()
    throw e
  }
  return fd
}

/** True if `file` is an eventfd. */
export function isEventfdFile(file: OpenFile): boolean {
  return file.priv instanceof EventfdCtx
}

/**
 * eventfd_ctx_fdget: the eventfd context behind `fd` of `task`, with a new
 * reference (release it with `ctx.put()`). EBADF if `fd` is not open,
 * EINVAL if it is not an eventfd.
 */
export function eventfdCtxFdget(task: Task, fd: number): EventfdCtx {
  const file = task.files.get(fd)
  if (!isEventfdFile(file)) kerr('EINVAL')
  return ctxOf(file).get()
}
