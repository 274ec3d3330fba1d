/**
 * Virtual time and a deterministic event scheduler. Time is a number of
 * nanoseconds since boot (exact up to 2^53 ns, about 104 days). Events at the
 * same time run in the order they were scheduled. Nothing here reads the host
 * clock: the same inputs give the same order, always.
 */

/** Handle of a scheduled event, for {@link Scheduler.cancel}. */
export type EventHandle = number

interface PendingEvent {
  time: number
  seq: number
  fn: () => void
  label: string
}

export class Scheduler {
  private nowNs = 0
  private seq = 0
  /** Binary min-heap ordered by (time, seq). */
  private readonly heap: PendingEvent[] = []
  /** seq of events cancelled but still in the heap (lazy deletion). */
  private readonly cancelled = new Set<number>()
  /** seq of events scheduled and neither run nor cancelled. */
  private readonly live = new Set<number>()
  /** Events run since boot (a cheap progress counter for tests and benches). */
  eventsRun = 0

  /** Current virtual time in nanoseconds. */
  get now(): number {
    return this.nowNs
  }

  /** Number of events waiting to run. */
  get pending(): number {
    return this.live.size
  }

  /** Time of the next event, or undefined when idle. */
  get nextTime(): number | undefined {
    this.dropCancelledTop()
    return this.heap[0]?.time
  }

  /** Runs `fn` after `delayNs` (≥ 0) of virtual time. */
  schedule(delayNs: number, fn: () => void, label = ''): EventHandle {
    if (!(delayNs >= 0) || !Number.isFinite(delayNs)) throw new RangeError(`bad delay ${delayNs}`)
    return this.at(this.nowNs + delayNs, fn, label)
  }

  /** Runs `fn` at absolute virtual time `timeNs` (not before now). */
  at(timeNs: number, fn: () => void, label = ''): EventHandle {
    if (!(timeNs >= this.nowNs) || !Number.isFinite(timeNs)) throw new RangeError(`event time ${timeNs} is before now (${this.nowNs})`)
    const ev: PendingEvent = { time: timeNs, seq: this.seq++, fn, label }
    this.push(ev)
    this.live.add(ev.seq)
    return ev.seq
  }

  /** Cancels a pending event; cancelling one that already ran is a no-op. */
  cancel(handle: EventHandle): void {
    if (this.live.delete(handle)) this.cancelled.add(handle)
  }

  /** Runs the next event, advancing time to it. Returns false when idle. */
  step(): boolean {
    this.dropCancelledTop()
    const ev = this.pop()
    if (ev === undefined) return false
    this.live.delete(ev.seq)
    this.nowNs = ev.time
    this.eventsRun++
    ev.fn()
    return true
  }

  /**
   * Runs every event due at or before `timeNs`, then sets the clock to
   * `timeNs`. Returns the number of events run.
   */
  runUntil(timeNs: number): number {
    let n = 0
    for (;;) {
      this.dropCancelledTop()
      const top = this.heap[0]
      if (top === undefined || top.time > timeNs) break
      this.step()
      n++
    }
    if (timeNs > this.nowNs) this.nowNs = timeNs
    return n
  }

  /** Runs for `durationNs` of virtual time. */
  runFor(durationNs: number): number {
    return this.runUntil(this.nowNs + durationNs)
  }

  /**
   * Runs events until none is left, `stop()` returns true (checked after each
   * event), or `maxEvents` ran. Returns the number of events run.
   */
  runUntilIdle(stop?: () => boolean, maxEvents = Number.POSITIVE_INFINITY): number {
    let n = 0
    while (n < maxEvents && this.step()) {
      n++
      if (stop?.()) break
    }
    return n
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.cancelled.has(this.heap[0]!.seq)) {
      this.cancelled.delete(this.heap[0]!.seq)
      this.pop()
    }
  }

  private static before(a: PendingEvent, b: PendingEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq)
  }

  private push(ev: PendingEvent): void {
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!Scheduler.before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): PendingEvent | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && Scheduler.before(h[l]!, h[m]!)) m = l
        if (r < h.length && Scheduler.before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}
