// vfio-platform interrupts (spec vfio.md §10.7–10.9, §15 invariants 27–32):
// SET_IRQS error codes, a real level interrupt from the PL330 that fires once
// and stays masked until UNMASK (ioctl or unmask eventfd), automasking of
// loopbacks, edge lines, trigger replacement and removal, mask/unmask
// eventfds (virqfd), and teardown at the last close.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dbgSev } from '@vfio-sim/pl330'
import {
  EFD_NONBLOCK,
  VFIO_DEVICE_SET_IRQS as SET,
  VFIO_IRQ_SET_ACTION_MASK as A_MASK, VFIO_IRQ_SET_ACTION_TRIGGER as A_TRIG, VFIO_IRQ_SET_ACTION_UNMASK as A_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as D_BOOL, VFIO_IRQ_SET_DATA_EVENTFD as D_EFD, VFIO_IRQ_SET_DATA_NONE as D_NONE,
} from '@vfio-sim/uapi'
import { sysClose, sysOpen } from '../src/syscalls/index.ts'
import { O_RDWR } from '@vfio-sim/uapi'
import { errno } from './errno-of.ts'
import { vfioPlatformDescribe } from '../src/drivers/vfio/platform/vfio_platform_common.ts'
import type { VfioDevice } from '../src/drivers/vfio/vfio.ts'
import { EDGE_IRQ, EVENT_IRQS, PL330_BASE, drain, efdWrite, eventfd, openDeviceFd, setIrqs, settle, setup, type Rig } from './vfio-platform-harness.ts'

/** vfio IRQ index of the PL330's irq[0] (index 0 is irq_abort, DT order). */
const EV0 = 1

function set(r: Rig, fd: number, flags: number, index: number, start = 0, count = 1, data?: number[], argsz?: number): string {
  return errno(() => setIrqs(r, fd, SET, { flags, index, start, count, ...(data !== undefined ? { data } : {}), ...(argsz !== undefined ? { argsz } : {}) }))
}

/** DMASEV 0 on the manager through the debug registers (INTEN bit 0 set: raises irq[0]). */
function sev0(r: Rig): void {
  const d = dbgSev(0)
  r.k.sys.bus.writeN(PL330_BASE + 0x20, 4, 1)
  r.k.sys.bus.writeN(PL330_BASE + 0xd08, 4, d.dbginst0)
  r.k.sys.bus.writeN(PL330_BASE + 0xd0c, 4, d.dbginst1)
  r.k.sys.bus.writeN(PL330_BASE + 0xd04, 4, 0)
  settle(r)
}

function intclr0(r: Rig): void {
  r.k.sys.bus.writeN(PL330_BASE + 0x2c, 4, 1)
  settle(r)
}

function rig(o: Parameters<typeof setup>[0] = {}) {
  const r = setup(o)
  const fd = openDeviceFd(r)
  return { r, fd }
}

// ---------------------------------------------------------------- error codes (§9, §10.8)

test('SET_IRQS: argsz < 20, index ≥ num_irqs, unknown flag bits, start/count out of range → EINVAL', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 0, 1, undefined, 19), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, 9), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE | (1 << 6), EV0), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 9, 1), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 5, 5), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 1, 0xffffffff), 'EINVAL')
})

test('SET_IRQS: zero or several DATA bits → EINVAL (before the ACTION check)', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_TRIG, EV0), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE | D_BOOL, EV0, 0, 1, undefined, 21), 'EINVAL')
  assert.is(set(r, fd, 0, EV0), 'EINVAL')
})

test('SET_IRQS: data shorter than count × size → EINVAL', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, undefined, 23), 'EINVAL')
  assert.is(set(r, fd, A_MASK | D_BOOL, EV0, 0, 1, undefined, 20), 'EINVAL')
})

test('SET_IRQS: valid DATA with zero or several ACTION bits → ENOTTY', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, D_NONE, EV0), 'ENOTTY')
  assert.is(set(r, fd, A_MASK | A_UNMASK | D_NONE, EV0), 'ENOTTY')
  assert.is(set(r, fd, A_MASK | A_TRIG | D_NONE, EV0), 'ENOTTY')
})

test('SET_IRQS: MASK/UNMASK need start 0, count 1 → else EINVAL; TRIGGER too, except NONE with count 0', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_MASK | D_NONE, 0, 0, 2), 'EINVAL')
  assert.is(set(r, fd, A_MASK | D_NONE, EV0, 0, 0), 'EINVAL')
  assert.is(set(r, fd, A_UNMASK | D_NONE, EV0, 1, 1), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_BOOL, EV0, 0, 2, [1, 1]), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 2, 1), 'EINVAL')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 0, 0), 'OK')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0, 3, 0), 'OK', 'start is not checked for the disable form')
})

test('SET_IRQS: MASK/UNMASK on an edge (not MASKABLE) index → EINVAL upstream, accepted in rfc-v5', () => {
  const { r, fd } = rig({ edgeIrq: true })
  assert.is(set(r, fd, A_MASK | D_NONE, 9), 'EINVAL')
  assert.is(set(r, fd, A_UNMASK | D_BOOL, 9, 0, 1, [1]), 'EINVAL')
  const v5 = rig({ edgeIrq: true, profile: 'rfc-v5' })
  assert.is(set(v5.r, v5.fd, A_MASK | D_NONE, 9), 'OK')
})

test('SET_IRQS: a trigger fd that is not open → EBADF; not an eventfd → EINVAL', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [99]), 'EBADF')
  const nul = sysOpen(r.k, r.task, '/dev/null', O_RDWR)
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [nul]), 'EINVAL')
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [99]), 'EBADF')
  assert.is(set(r, fd, A_MASK | D_EFD, EV0, 0, 1, [nul]), 'EINVAL')
})

test('SET_IRQS: a second mask or unmask eventfd on an index → EBUSY; fd -1 removes it', () => {
  const { r, fd } = rig()
  const a = eventfd(r)
  const b = eventfd(r)
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [a]), 'OK')
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [b]), 'EBUSY')
  assert.is(set(r, fd, A_MASK | D_EFD, EV0, 0, 1, [a]), 'OK', 'the mask slot is separate')
  assert.is(set(r, fd, A_MASK | D_EFD, EV0, 0, 1, [b]), 'EBUSY')
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [-1]), 'OK')
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [b]), 'OK')
})

test('SET_IRQS (rfc-v5): BOOL values other than 1 → EINVAL; upstream BOOL 0 is a no-op', () => {
  const v5 = rig({ profile: 'rfc-v5' })
  assert.is(set(v5.r, v5.fd, A_MASK | D_BOOL, EV0, 0, 1, [0]), 'EINVAL')
  assert.is(set(v5.r, v5.fd, A_TRIG | D_BOOL, EV0, 0, 1, [2]), 'EINVAL')
  assert.is(set(v5.r, v5.fd, A_UNMASK | D_BOOL, EV0, 0, 1, [1]), 'OK')
  const up = rig()
  assert.is(set(up.r, up.fd, A_MASK | D_BOOL, EV0, 0, 1, [0]), 'OK')
  assert.is(set(up.r, up.fd, A_TRIG | D_BOOL, EV0, 0, 1, [0]), 'OK')
})

// ---------------------------------------------------------------- a real level interrupt

for (const profile of ['upstream', 'rfc-v5'] as const) {
  test(`${profile}: a PL330 level IRQ fires once, stays masked until UNMASK (ioctl), then fires again`, () => {
    const { r, fd } = rig({ profile })
    const efd = eventfd(r, EFD_NONBLOCK)
    assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
    sev0(r)
    assert.is(drain(r, efd), 1n)
    // The line is still high (INTCLR not written) but the index is masked: nothing more.
    settle(r)
    assert.is(drain(r, efd), 0n)
    assert.is(r.k.irq.count(EVENT_IRQS[0]!), 1)
    intclr0(r)
    assert.is(set(r, fd, A_UNMASK | D_NONE, EV0), 'OK')
    settle(r)
    assert.is(drain(r, efd), 0n, 'cleared before unmask: no new interrupt')
    sev0(r)
    assert.is(drain(r, efd), 1n, 'fires again after UNMASK')
  })

  test(`${profile}: unmask through an eventfd (virqfd): write(efd_u, 1) unmasks, counter consumed`, () => {
    const { r, fd } = rig({ profile })
    const efd = eventfd(r, EFD_NONBLOCK)
    const efdU = eventfd(r, EFD_NONBLOCK)
    assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
    assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [efdU]), 'OK')
    sev0(r)
    assert.is(drain(r, efd), 1n)
    // Still asserted: unmasking delivers it again (level semantics), once.
    efdWrite(r, efdU, 1n)
    settle(r)
    assert.is(drain(r, efdU), 0n, 'the virqfd consumed the count (nonblocking read: EAGAIN)')
    assert.is(errno(() => { const b = new Uint8Array(8); (r.task.files.get(efdU).fops.read!)(r.task.files.get(efdU), b, 0, r.task) }), 'EAGAIN')
    assert.is(drain(r, efd), 1n, 'line still high → delivered again after the eventfd unmask')
    intclr0(r)
    efdWrite(r, efdU, 1n)
    settle(r)
    assert.is(drain(r, efd), 0n)
    sev0(r)
    assert.is(drain(r, efd), 1n)
  })
}

test('a mask eventfd masks: after write(efd_m, 1) a loopback signals nothing until UNMASK', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  const efdM = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
  assert.is(set(r, fd, A_MASK | D_EFD, EV0, 0, 1, [efdM]), 'OK')
  efdWrite(r, efdM, 3n)
  assert.is(drain(r, efdM), 0n)
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0), 'OK')
  assert.is(drain(r, efd), 0n)
  assert.is(set(r, fd, A_UNMASK | D_NONE, EV0), 'OK')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0), 'OK')
  assert.is(drain(r, efd), 1n)
})

test('virqfd: a count pending at registration runs the handler at once; closing the eventfd removes the virqfd', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  const efdU = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0), 'OK')
  assert.is(drain(r, efd), 1n)
  efdWrite(r, efdU, 1n) // pending before registration
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [efdU]), 'OK')
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0), 'OK')
  assert.is(drain(r, efd), 1n, 'the registration unmasked')
  sysClose(r.task, efdU)
  const other = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [other]), 'OK', 'slot free again after EPOLLHUP')
})

test('virqfd removal (fd -1) consumes the eventfd count, as eventfd_ctx_remove_wait_queue does', () => {
  const { r, fd } = rig()
  const efdU = eventfd(r, EFD_NONBLOCK)
  efdWrite(r, efdU, 2n) // pending before registration: not consumed by it
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [efdU]), 'OK')
  assert.is(set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [-1]), 'OK')
  assert.is(drain(r, efdU), 0n)
})

// ---------------------------------------------------------------- loopback, edge, triggers

test('automask law: k loopbacks without UNMASK signal once; with UNMASK between, k times', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
  for (let i = 0; i < 5; i++) set(r, fd, A_TRIG | D_NONE, EV0)
  assert.is(drain(r, efd), 1n)
  set(r, fd, A_UNMASK | D_NONE, EV0)
  for (let i = 0; i < 5; i++) {
    set(r, fd, A_TRIG | D_BOOL, EV0, 0, 1, [1])
    set(r, fd, A_UNMASK | D_BOOL, EV0, 0, 1, [7])
  }
  assert.is(drain(r, efd), 5n)
})

test('edge index: every loopback signals (not automasked), and so does every real edge', () => {
  const { r, fd } = rig({ edgeIrq: true })
  const efd = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_TRIG | D_EFD, 9, 0, 1, [efd]), 'OK')
  for (let i = 0; i < 4; i++) set(r, fd, A_TRIG | D_NONE, 9)
  assert.is(drain(r, efd), 4n)
  r.k.sys.irqc.line(EDGE_IRQ).pulse()
  settle(r)
  r.k.sys.irqc.line(EDGE_IRQ).pulse()
  settle(r)
  assert.is(drain(r, efd), 2n)
})

test('masking before the trigger is set keeps the line off after it is set, until UNMASK', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_MASK | D_NONE, EV0), 'OK')
  assert.is(set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd]), 'OK')
  sev0(r)
  assert.is(drain(r, efd), 0n)
  assert.not.ok(r.k.irq.isEnabled(EVENT_IRQS[0]!))
  assert.is(set(r, fd, A_UNMASK | D_NONE, EV0), 'OK')
  settle(r)
  assert.is(drain(r, efd), 1n, 'the held level is delivered at UNMASK')
})

test('replacing trigger A by B signals only B; count 0 or fd -1 disables signalling', () => {
  const { r, fd } = rig({ edgeIrq: true })
  const a = eventfd(r, EFD_NONBLOCK)
  const b = eventfd(r, EFD_NONBLOCK)
  assert.is(set(r, fd, A_TRIG | D_EFD, 9, 0, 1, [a]), 'OK')
  assert.is(set(r, fd, A_TRIG | D_EFD, 9, 0, 1, [b]), 'OK')
  set(r, fd, A_TRIG | D_NONE, 9)
  assert.equal([drain(r, a), drain(r, b)], [0n, 1n])
  assert.is(set(r, fd, A_TRIG | D_NONE, 9, 0, 0), 'OK')
  set(r, fd, A_TRIG | D_NONE, 9)
  r.k.sys.irqc.line(EDGE_IRQ).pulse()
  settle(r)
  assert.equal([drain(r, a), drain(r, b)], [0n, 0n])
  assert.is(set(r, fd, A_TRIG | D_EFD, 9, 0, 1, [a]), 'OK')
  assert.is(set(r, fd, A_TRIG | D_EFD, 9, 0, 1, [-1]), 'OK')
  set(r, fd, A_TRIG | D_NONE, 9)
  assert.equal([drain(r, a), drain(r, b)], [0n, 0n])
})

test('last close: triggers and virqfds torn down, IRQs freed; reopen starts unmasked with no trigger', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  const efdU = eventfd(r, EFD_NONBLOCK)
  set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd])
  set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [efdU])
  set(r, fd, A_MASK | D_NONE, EV0)
  const ctx = (r.task.files.get(efd).priv as { refcount: number })
  assert.is(ctx.refcount, 2)
  sysClose(r.task, fd)
  assert.is(ctx.refcount, 1, 'trigger reference dropped')
  assert.equal(r.k.irq.actionNames(EVENT_IRQS[0]!), [])
  efdWrite(r, efdU, 1n)
  assert.is(drain(r, efdU), 1n, 'the unmask eventfd is no longer consumed by a virqfd')
  const fd2 = openDeviceFd(r)
  const efd2 = eventfd(r, EFD_NONBLOCK)
  set(r, fd2, A_TRIG | D_EFD, EV0, 0, 1, [efd2])
  set(r, fd2, A_TRIG | D_NONE, EV0)
  assert.is(drain(r, efd2), 1n, 'unmasked after reopen')
  assert.is(drain(r, efd), 0n)
})

test('a loopback with no trigger set signals nothing and does not crash; a request_irq failure is parked per index', () => {
  const { r, fd } = rig()
  assert.is(set(r, fd, A_TRIG | D_NONE, EV0), 'OK')
  assert.is(set(r, fd, A_UNMASK | D_NONE, EV0), 'OK')
  // Another user holds irq[1] exclusively before the next open: index 2 fails with that error.
  sysClose(r.task, fd)
  r.k.irq.request(EVENT_IRQS[1]!, () => 1, 0, 'squatter', 'x')
  const fd2 = openDeviceFd(r)
  assert.is(set(r, fd2, A_TRIG | D_NONE, 2), 'EBUSY')
  assert.is(set(r, fd2, A_MASK | D_NONE, 2), 'EBUSY')
  assert.is(set(r, fd2, A_TRIG | D_NONE, 3), 'OK')
})

test('describe: regions and IRQ indexes with their trigger, mask state and virqfds', () => {
  const { r, fd } = rig()
  const efd = eventfd(r, EFD_NONBLOCK)
  const efdU = eventfd(r, EFD_NONBLOCK)
  set(r, fd, A_TRIG | D_EFD, EV0, 0, 1, [efd])
  set(r, fd, A_UNMASK | D_EFD, EV0, 0, 1, [efdU])
  set(r, fd, A_TRIG | D_NONE, EV0)
  const id = (n: number) => (r.task.files.get(n).priv as { id: number }).id
  const lines = vfioPlatformDescribe(r.dev.driverData as VfioDevice)
  assert.is(lines[0], 'region 0: mmio 0x2c0a0000+0x1000 R W MMAP @0x0')
  assert.is(lines[1], `irq 0: hwirq ${32 + 88} level AUTOMASKED unmasked no trigger`)
  assert.is(lines[2], `irq 1: hwirq ${EVENT_IRQS[0]} level AUTOMASKED masked trigger=eventfd#${id(efd)} unmask=eventfd#${id(efdU)}`)
  assert.is(lines.length, 10)
})

test.run()
