import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, POLLERR, POLLIN, POLLOUT } from '@vfio-sim/uapi'
import { Kernel, type KernelProfile } from '../src/kernel.ts'
import { errno } from './errno-of.ts'
import { spawnTask } from '../src/kernel/fork.ts'
import { BlockedForeverError } from '../src/kernel/wait.ts'
import { eventfdCtxFdget, sysEventfd2 } from '../src/fs/eventfd.ts'
import { sysRead, sysWrite } from '../src/fs/read_write.ts'
import { sysPoll, type PollFd } from '../src/fs/select.ts'
import { sysClose } from '../src/syscalls/index.ts'
import { POLL } from '../src/fs/file.ts'

const MAX = 0xffff_ffff_ffff_ffffn

function setup(profile: KernelProfile = 'upstream') {
  const k = new Kernel({ profile })
  const t = spawnTask(k)
  return { k, t }
}

function u64(v: bigint, len = 8): Uint8Array {
  const b = new Uint8Array(len)
  new DataView(b.buffer).setBigUint64(0, v, true)
  return b
}

function readU64(t: ReturnType<typeof spawnTask>, fd: number): bigint {
  const b = new Uint8Array(8)
  assert.is(sysRead(t, fd, b), 8)
  return new DataView(b.buffer).getBigUint64(0, true)
}

test('initval, then a read returns the whole counter and clears it', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 5, EFD_NONBLOCK)
  assert.is(readU64(t, fd), 5n)
  assert.is(errno(() => readU64(t, fd)), 'EAGAIN')
  sysWrite(t, fd, u64(2n))
  sysWrite(t, fd, u64(3n))
  assert.is(readU64(t, fd), 5n)
})

test('EFD_SEMAPHORE: each read returns 1 and decrements', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 3, EFD_SEMAPHORE | EFD_NONBLOCK)
  assert.is(readU64(t, fd), 1n)
  assert.is(readU64(t, fd), 1n)
  assert.is(readU64(t, fd), 1n)
  assert.is(errno(() => readU64(t, fd)), 'EAGAIN')
})

test('a read buffer under 8 bytes is EINVAL; a longer one still returns 8', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 1, EFD_NONBLOCK)
  assert.is(errno(() => sysRead(t, fd, new Uint8Array(7))), 'EINVAL')
  assert.is(sysRead(t, fd, new Uint8Array(64)), 8)
})

test('write: value 2^64-1 is EINVAL; a write that would reach 2^64-1 is EAGAIN when non-blocking; 0 is fine', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, EFD_NONBLOCK)
  assert.is(errno(() => sysWrite(t, fd, u64(MAX))), 'EINVAL')
  assert.is(sysWrite(t, fd, u64(0n)), 8)
  assert.is(sysWrite(t, fd, u64(MAX - 1n)), 8)
  assert.is(errno(() => sysWrite(t, fd, u64(1n))), 'EAGAIN')
  assert.is(readU64(t, fd), MAX - 1n)
})

test('write length: exactly 8 on upstream; rfc-v5 (pre-6.9) accepts longer writes and consumes 8', () => {
  const up = setup('upstream')
  const a = sysEventfd2(up.k, up.t, 0, EFD_NONBLOCK)
  assert.is(errno(() => sysWrite(up.t, a, u64(1n, 16))), 'EINVAL')
  assert.is(errno(() => sysWrite(up.t, a, u64(1n).subarray(0, 4))), 'EINVAL')
  const old = setup('rfc-v5')
  const b = sysEventfd2(old.k, old.t, 0, EFD_NONBLOCK)
  assert.is(sysWrite(old.t, b, u64(4n, 16)), 8)
  assert.is(errno(() => sysWrite(old.t, b, u64(1n).subarray(0, 4))), 'EINVAL')
  assert.is(readU64(old.t, b), 4n)
})

test('unknown flags are EINVAL; EFD_CLOEXEC is recorded on the fd', () => {
  const { k, t } = setup()
  assert.is(errno(() => sysEventfd2(k, t, 0, 0x10)), 'EINVAL')
  const fd = sysEventfd2(k, t, 0, EFD_CLOEXEC)
  assert.ok(t.files.getCloexec(fd))
})

test('pread on an eventfd is ESPIPE', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 1, 0)
  assert.is(errno(() => sysRead(t, fd, new Uint8Array(8), 0)), 'ESPIPE')
})

test('poll: POLLIN iff count > 0, POLLOUT iff count < 2^64-2, POLLERR iff count = 2^64-1', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, EFD_NONBLOCK)
  const p: PollFd[] = [{ fd, events: POLLIN | POLLOUT }]
  assert.is(sysPoll(k, t, p, 0), 1)
  assert.is(p[0]!.revents, POLLOUT)
  sysWrite(t, fd, u64(1n))
  sysPoll(k, t, p, 0)
  assert.is(p[0]!.revents, POLLIN | POLLOUT)
  sysWrite(t, fd, u64(MAX - 2n)) // count = 2^64-2
  sysPoll(k, t, p, 0)
  assert.is(p[0]!.revents, POLLIN)
  const ctx = eventfdCtxFdget(t, fd)
  ctx.signal() // kernel signal may reach 2^64-1
  ctx.signal() // and saturates there
  assert.is(ctx.count, MAX)
  sysPoll(k, t, p, 0)
  assert.is(p[0]!.revents, POLLIN | POLLERR)
  ctx.put()
})

test('poll of a closed fd reports POLLNVAL; a negative fd is ignored', () => {
  const { k, t } = setup()
  const p: PollFd[] = [{ fd: 40, events: POLLIN }, { fd: -1, events: POLLIN }]
  assert.is(sysPoll(k, t, p, 0), 1)
  assert.is(p[0]!.revents, POLL.NVAL)
  assert.is(p[1]!.revents, 0)
})

test('a blocking read runs the machine until the counter is non-zero', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, 0)
  const ctx = eventfdCtxFdget(t, fd)
  k.sys.scheduler.schedule(1000, () => ctx.signal())
  k.sys.scheduler.schedule(2000, () => ctx.signal())
  assert.is(readU64(t, fd), 1n)
  assert.is(k.now, 1000)
  assert.is(readU64(t, fd), 1n)
  assert.is(k.now, 2000)
})

test('a blocking read on an idle machine fails with BlockedForeverError instead of hanging', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, 0)
  k.sys.scheduler.schedule(500, () => {}) // something runs, but nothing signals
  try {
    sysRead(t, fd, new Uint8Array(8))
    assert.unreachable()
  } catch (e) {
    assert.instance(e, BlockedForeverError)
    assert.match((e as Error).message, /read on eventfd \(fd 3\) would block forever/)
  }
  assert.is(k.now, 500)
})

test('poll with a timeout lets virtual time pass even when idle; without one an idle wait throws', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, 0)
  const p: PollFd[] = [{ fd, events: POLLIN }]
  assert.is(sysPoll(k, t, p, 10_000), 0)
  assert.is(k.now, 10_000)
  assert.throws(() => sysPoll(k, t, p), (e: unknown) => e instanceof BlockedForeverError)
  const ctx = eventfdCtxFdget(t, fd)
  k.sys.scheduler.schedule(50, () => ctx.signal())
  assert.is(sysPoll(k, t, p), 1)
  assert.is(p[0]!.revents, POLLIN)
  assert.is(k.now, 10_050)
})

test('kernel side: fdget checks the fd (EBADF) and the type (EINVAL); the ctx outlives the fd; release wakes POLLHUP', () => {
  const { k, t } = setup()
  assert.is(errno(() => eventfdCtxFdget(t, 33)), 'EBADF')
  assert.is(errno(() => eventfdCtxFdget(t, 0)), 'EINVAL') // /dev/null
  const fd = sysEventfd2(k, t, 0, 0)
  const ctx = eventfdCtxFdget(t, fd)
  const seen: number[] = []
  ctx.wqh.add(m => seen.push(m))
  ctx.signal()
  sysClose(t, fd)
  assert.equal(seen, [POLL.IN, POLL.HUP])
  assert.is(ctx.refcount, 1)
  ctx.signal() // still safe to signal
  assert.is(ctx.count, 2n)
  ctx.put()
})

test('a user write wakes kernel waiters synchronously, even a write of 0', () => {
  const { k, t } = setup()
  const fd = sysEventfd2(k, t, 0, 0)
  const ctx = eventfdCtxFdget(t, fd)
  let consumed = -1n
  ctx.wqh.add(m => { if (m & POLL.IN) consumed = ctx.doRead() })
  sysWrite(t, fd, u64(3n))
  assert.is(consumed, 3n)
  assert.is(ctx.count, 0n)
  consumed = -1n
  sysWrite(t, fd, u64(0n))
  assert.is(consumed, 0n)
  ctx.put()
})

test.run()
