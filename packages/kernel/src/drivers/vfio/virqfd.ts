/**
 * Models drivers/vfio/virqfd.c: an eventfd that, when signalled, runs a
 * kernel handler at once. vfio-platform uses it for the MASK and UNMASK
 * actions of VFIO_DEVICE_SET_IRQS with DATA_EVENTFD: a user (or KVM's
 * resamplefd) writes to the eventfd and the interrupt is masked/unmasked in
 * kernel context, without an ioctl.
 *
 * Facts kept from Linux (spec vfio.md §10.9):
 * - enable: the fd must be open (EBADF) and an eventfd (EINVAL) — checked
 *   before the slot: an occupied slot is EBUSY;
 * - the wait-queue callback consumes the eventfd counter
 *   (eventfd_ctx_do_read) on every EPOLLIN wake-up, then calls the handler;
 *   so after `write(efd, 1)` the handler has run and a non-blocking read of
 *   the eventfd gives EAGAIN;
 * - a count already pending at registration runs the handler once at once,
 *   without consuming the count (vfs_poll reported EPOLLIN);
 * - EPOLLHUP (the eventfd's file is released) removes the virqfd;
 * - disable (and the shutdown work) removes the wait entry with
 *   eventfd_ctx_remove_wait_queue, which also consumes the counter, then
 *   drops the eventfd reference. Disabling is synchronous here (Linux
 *   flushes its cleanup workqueue).
 * There is no `thread` half: VFIO platform passes none.
 */
import type { Task } from '../../kernel/sched.ts'
import { eventfdCtxFdget, type EventfdCtx } from '../../fs/eventfd.ts'
import { POLL } from '../../fs/file.ts'
import type { WaitEntry } from '../../kernel/wait.ts'
import { kerr } from '../../errno.ts'

/** The handler a virqfd runs on each signal (Linux: `int (*handler)(void *opaque, void *data)`). */
export type VirqfdHandler = () => void

/** One armed virqfd (struct virqfd). */
export class Virqfd {
  /** The eventfd listened to (a reference is held). */
  readonly eventfd: EventfdCtx
  readonly handler: VirqfdHandler
  /** The slot pointing at this virqfd while it is armed. */
  readonly slot: VirqfdSlot
  /** Times the handler ran (for teaching views and tests). */
  fired = 0
  readonly wait: WaitEntry

  constructor(eventfd: EventfdCtx, handler: VirqfdHandler, slot: VirqfdSlot) {
    this.eventfd = eventfd
    this.handler = handler
    this.slot = slot
    this.wait = mask => this.wakeup(mask)
  }

  private wakeup(mask: number): void {
    if ((mask & POLL.IN) !== 0) {
      if (this.eventfd.count > 0n) this.eventfd.doRead()
      this.fired++
      this.handler()
    }
    if ((mask & POLL.HUP) !== 0) {
      // The eventfd is closing: release the virqfd unless an ioctl already did.
      if (this.slot.virqfd === this) {
        this.slot.virqfd = null
        this.shutdown()
      }
    }
  }

  /** virqfd_shutdown: eventfd_ctx_remove_wait_queue (consumes the count) and eventfd_ctx_put. */
  shutdown(): void {
    this.eventfd.wqh.remove(this.wait)
    if (this.eventfd.count > 0n) this.eventfd.doRead()
    this.eventfd.put()
  }
}

/** Where a driver keeps its virqfd pointer (`struct virqfd **pvirqfd`): null when none is armed. */
export interface VirqfdSlot {
  virqfd: Virqfd | null
}

/** A new empty slot. */
export function virqfdSlot(): VirqfdSlot {
  return { virqfd: null }
}

/**
 * vfio_virqfd_enable(): arms `slot` with the eventfd `fd` of `task`; each
 * signal of it runs `handler`.
 * @throws KernelError EBADF (fd not open), EINVAL (not an eventfd), EBUSY (slot armed)
 */
export function vfioVirqfdEnable(task: Task, handler: VirqfdHandler, slot: VirqfdSlot, fd: number): void {
  const ctx = eventfdCtxFdget(task, fd)
  if (slot.virqfd !== null) {
    ctx.put()
    return kerr('EBUSY')
  }
  const v = new Virqfd(ctx, handler, slot)
  slot.virqfd = v
  ctx.wqh.add(v.wait)
  // An event pending before registration is not lost (vfs_poll saw EPOLLIN).
  if ((ctx.pollMask() & POLL.IN) !== 0) {
    v.fired++
    handler()
  }
}

/** vfio_virqfd_disable(): disarms `slot` (nothing if empty); synchronous. */
export function vfioVirqfdDisable(slot: VirqfdSlot): void {
  const v = slot.virqfd
  if (v === null) return
  slot.virqfd = null
  v.shutdown()
}
