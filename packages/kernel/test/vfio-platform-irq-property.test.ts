// SET_IRQS invariants 27–31 of spec vfio.md §15 as a property: random
// sequences of SET_IRQS calls (any DATA × ACTION combination, loopbacks,
// mask/unmask by ioctl and by eventfd, trigger changes) and eventfd writes
// on a level (AUTOMASKED) index and an edge index, compared with a small
// independent model of vfio_platform_irq.c + virqfd.c + eventfd counters.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  EFD_NONBLOCK, VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_MASK as A_MASK, VFIO_IRQ_SET_ACTION_TRIGGER as A_TRIG, VFIO_IRQ_SET_ACTION_UNMASK as A_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as D_BOOL, VFIO_IRQ_SET_DATA_EVENTFD as D_EFD, VFIO_IRQ_SET_DATA_NONE as D_NONE,
} from '@vfio-sim/uapi'
import { errno } from './errno-of.ts'
import { drain, efdWrite, eventfd, openDeviceFd, setIrqs, setup } from './vfio-platform-harness.ts'

const LEVEL = 1 // PL330 irq[0]
const EDGE = 9 // the extra rising-edge line
const NEFD = 3

type Cmd =
  | { kind: 'set'; index: number; data: number; action: number; extra: boolean; start: number; count: number; value: number }
  | { kind: 'write'; efd: number; value: number }

// ------------------------------------------------------------------ model

interface MIrq { maskable: boolean; automasked: boolean; masked: boolean; trigger: number | null; mask: number | null; unmask: number | null }

class Model {
  readonly count = Array<bigint>(NEFD).fill(0n)
  readonly irq: Record<number, MIrq>
  /** rfc-v5 (VP5): edge lines maskable, BOOL must be 1, masked lines ignore interrupts, NONE loopback unchecked. */
  readonly v5: boolean

  constructor(v5: boolean) {
    this.v5 = v5
    this.irq = {
      [LEVEL]: { maskable: true, automasked: true, masked: false, trigger: null, mask: null, unmask: null },
      [EDGE]: { maskable: v5, automasked: false, masked: false, trigger: null, mask: null, unmask: null },
    }
  }
  /** virqfd wait-queue entries per eventfd, in registration order. */
  readonly waiters: { efd: number; index: number; slot: 'mask' | 'unmask' }[] = []

  private run(index: number, slot: 'mask' | 'unmask'): void {
    const q = this.irq[index]!
    if (slot === 'mask') q.masked = true
    else q.masked = false
  }

  /** Wake-up with EPOLLIN: each virqfd on `efd` consumes the count and runs its handler. */
  private wake(efd: number): void {
    for (const w of this.waiters.filter(x => x.efd === efd)) {
      this.count[efd] = 0n
      this.run(w.index, w.slot)
    }
  }

  signal(efd: number): void {
    this.count[efd]!++
    this.wake(efd)
  }

  write(efd: number, v: number): void {
    this.count[efd]! += BigInt(v)
    this.wake(efd)
  }

  private handler(index: number): void {
    const q = this.irq[index]!
    if (this.v5 && q.masked) return
    if (q.automasked) {
      if (q.masked) return
      q.masked = true
    }
    if (q.trigger !== null) this.signal(q.trigger)
  }

  private virqfd(index: number, slot: 'mask' | 'unmask', fd: number): string {
    const q = this.irq[index]!
    if (fd < 0) {
      const cur = q[slot]
      if (cur !== null) {
        const i = this.waiters.findIndex(w => w.index === index && w.slot === slot)
        this.waiters.splice(i, 1)
        this.count[cur] = 0n // eventfd_ctx_remove_wait_queue consumes the count
        q[slot] = null
      }
      return 'OK'
    }
    if (fd >= NEFD) return 'EBADF'
    if (q[slot] !== null) return 'EBUSY'
    q[slot] = fd
    this.waiters.push({ efd: fd, index, slot })
    if (this.count[fd]! > 0n) this.run(index, slot)
    return 'OK'
  }

  set(c: Extract<Cmd, { kind: 'set' }>): string {
    const flags = c.data | c.action | (c.extra ? 1 << 6 : 0)
    if (c.extra) return 'EINVAL'
    if (![D_NONE, D_BOOL, D_EFD].includes(c.data)) return 'EINVAL'
    if (![A_MASK, A_UNMASK, A_TRIG].includes(c.action)) return 'ENOTTY'
    const q = this.irq[c.index]!
    const datum = c.value
    void flags
    if (c.action === A_MASK || c.action === A_UNMASK) {
      if (c.start !== 0 || c.count !== 1) return 'EINVAL'
      if (!q.maskable) return 'EINVAL'
      const slot = c.action === A_MASK ? 'mask' : 'unmask'
      if (c.data === D_EFD) return this.virqfd(c.index, slot, datum)
      if (c.data === D_BOOL && this.v5 && (datum & 0xff) !== 1) return 'EINVAL'
      if (c.data === D_NONE || (datum & 0xff) !== 0) this.run(c.index, slot)
      return 'OK'
    }
    if (c.count === 0 && c.data === D_NONE) {
      q.trigger = null
      return 'OK'
    }
    if (this.v5 && c.data === D_NONE) {
      this.handler(c.index)
      return 'OK'
    }
    if (c.start !== 0 || c.count !== 1) return 'EINVAL'
    if (c.data === D_EFD) {
      q.trigger = null
      if (datum < 0) return 'OK'
      if (datum >= NEFD) return 'EBADF'
      q.trigger = datum
      return 'OK'
    }
    if (c.data === D_BOOL && this.v5 && (datum & 0xff) !== 1) return 'EINVAL'
    if (c.data === D_NONE || (datum & 0xff) !== 0) this.handler(c.index)
    return 'OK'
  }
}

// ------------------------------------------------------------------ generators

const setCmd: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('set' as const),
  index: fc.constantFrom(LEVEL, LEVEL, LEVEL, EDGE),
  data: fc.constantFrom(D_NONE, D_NONE, D_BOOL, D_EFD, D_EFD, D_EFD, 0, D_NONE | D_EFD),
  action: fc.constantFrom(A_MASK, A_MASK, A_UNMASK, A_UNMASK, A_TRIG, A_TRIG, 0, A_MASK | A_TRIG),
  extra: fc.constantFrom(false, false, false, false, false, false, false, true),
  start: fc.constantFrom(0, 0, 0, 0, 1),
  count: fc.constantFrom(1, 1, 1, 1, 0, 2),
  value: fc.constantFrom(-1, -1, 0, 1, 2, 5),
})

/** Mostly well-formed calls, so that state-changing sequences are common. */
const validCmd: fc.Arbitrary<Cmd> = fc.record({
  kind: fc.constant('set' as const),
  index: fc.constantFrom(LEVEL, LEVEL, LEVEL, EDGE),
  data: fc.constantFrom(D_NONE, D_BOOL, D_EFD, D_EFD),
  action: fc.constantFrom(A_MASK, A_UNMASK, A_TRIG),
  extra: fc.constant(false),
  start: fc.constant(0),
  count: fc.constantFrom(1, 1, 1, 1, 1, 0),
  value: fc.constantFrom(-1, 0, 1, 2),
})

const writeCmd: fc.Arbitrary<Cmd> = fc.record({ kind: fc.constant('write' as const), efd: fc.integer({ min: 0, max: NEFD - 1 }), value: fc.constantFrom(0, 1, 3) })

for (const profile of ['upstream', 'rfc-v5'] as const) test(`${profile}: SET_IRQS and virqfd agree with the model (errno, eventfd counters, masked state)`, () => {
  fc.assert(
    fc.property(fc.array(fc.oneof({ weight: 2, arbitrary: setCmd }, { weight: 5, arbitrary: validCmd }, { weight: 2, arbitrary: writeCmd }), { minLength: 10, maxLength: 30, size: "max" }), cmds => {
      const r = setup({ edgeIrq: true, profile })
      const fd = openDeviceFd(r)
      const efds = Array.from({ length: NEFD }, () => eventfd(r, EFD_NONBLOCK))
      const fdOf = (v: number): number => (v >= 0 && v < NEFD ? efds[v]! : v === 5 ? 99 : v)
      const m = new Model(profile === 'rfc-v5')
      for (const c of cmds) {
        if (c.kind === 'write') {
          efdWrite(r, efds[c.efd]!, BigInt(c.value))
          m.write(c.efd, c.value)
          continue
        }
        const flags = c.data | c.action | (c.extra ? 1 << 6 : 0)
        const n = c.data === D_BOOL || c.data === D_EFD ? c.count : 0
        const data = c.data === D_EFD ? Array(n).fill(fdOf(c.value)) : c.data === D_BOOL ? Array(n).fill(c.value & 0xff) : undefined
        const dataSize = c.data === D_BOOL ? 1 : c.data === D_EFD ? 4 : 0
        // Encode the element data explicitly (the codec refuses data for an invalid DATA combination).
        const argsz = 20 + n * dataSize
        const got = errno(() => setIrqs(r, fd, VFIO_DEVICE_SET_IRQS, {
          argsz, flags, index: c.index, start: c.start, count: c.count,
          ...(data !== undefined && [D_BOOL, D_EFD].includes(c.data) ? { data } : {}),
        }))
        const want = m.set({ ...c, value: c.value === 5 ? 5 : c.value })
        assert.is(got, want, `SET_IRQS flags 0x${flags.toString(16)} index ${c.index} start ${c.start} count ${c.count} value ${c.value}`)
      }
      // Counters: read each eventfd and compare.
      for (let i = 0; i < NEFD; i++) assert.is(drain(r, efds[i]!), m.count[i], `eventfd ${i}`)
      // Masked state: a loopback on the level index signals iff the model says unmasked (and a trigger is set).
      const vd = r.dev.driverData as { priv: { irqs: { masked: boolean }[] } }
      assert.is(vd.priv.irqs[LEVEL]!.masked, m.irq[LEVEL]!.masked, 'level index masked')
      assert.not.ok(r.k.dmesg().some(l => l.includes('Unbalanced enable')), 'IRQ enable/disable stay balanced')
    }),
    { numRuns: 40 },
  )
})

test.run()
