/**
 * Models include/linux/wait.h `wait_event()` for a single-threaded
 * simulation: a task that would sleep instead runs the machine (the
 * scheduler's events: devices, DMA, interrupts) until its condition holds.
 * If the machine goes idle first, nothing could ever wake the task: rather
 * than hang, the wait fails with {@link BlockedForeverError}.
 */
import type { Scheduler } from '@vfio-sim/sim'

/**
 * A blocking call that could never return: the condition is false and no
 * event is pending. This is the simulation's way to report what on Linux
 * would be a process asleep forever (not an errno).
 */
export class BlockedForeverError extends Error {
  /** What was waiting ("read on eventfd (fd 5)"). */
  readonly waiting: string

  constructor(waiting: string) {
    super(`${waiting} would block forever: the machine is idle (no pending events) and nothing can wake it`)
    this.name = 'BlockedForeverError'
    this.waiting = waiting
  }
}

/**
 * Runs the scheduler until `cond()` is true. With `deadlineNs` (absolute
 * virtual time) stops there and returns false (time advances to the deadline
 * even if idle, as a sleeping timeout does). Without a deadline, throws
 * {@link BlockedForeverError} when idle.
 */
export function waitEvent(scheduler: Scheduler, cond: () => boolean, what: string, deadlineNs?: number): boolean {
  for (;;) {
    if (cond()) return true
    const next = scheduler.nextTime
    if (deadlineNs !== undefined && (next === undefined || next > deadlineNs)) {
      scheduler.runUntil(deadlineNs)
      return cond()
    }
    if (next === undefined) throw new BlockedForeverError(what)
    scheduler.step()
  }
}

/** A wake-up callback: receives the poll mask of the event (POLL.IN, POLL.HUP, …). */
export type WaitEntry = (mask: number) => void

/**
 * wait_queue_head_t reduced to callbacks: kernel code that must react to an
 * event at once (virqfd on an eventfd) registers an entry; `wakeUp` calls
 * every entry synchronously, in registration order.
 */
export class WaitQueueHead {
  private readonly entries: WaitEntry[] = []

  /** add_wait_queue. */
  add(entry: WaitEntry): void {
    this.entries.push(entry)
  }

  /** remove_wait_queue (a missing entry is ignored). */
  remove(entry: WaitEntry): void {
    const i = this.entries.indexOf(entry)
    if (i >= 0) this.entries.splice(i, 1)
  }

  /** Number of entries. */
  get length(): number {
    return this.entries.length
  }

  /** wake_up with a poll key: calls each entry (entries may remove themselves). */
  wakeUp(mask: number): void {
    for (const e of [...this.entries]) e(mask)
  }
}
