import { test } from 'uvu'
import fc from 'fast-check'
import * as assert from 'uvu/assert'
import { O_CLOEXEC, O_RDONLY, O_RDWR } from '@vfio-sim/uapi'
import { Kernel } from '../src/kernel.ts'
import { errno } from './errno-of.ts'
import { spawnTask } from '../src/kernel/fork.ts'
import { FIOCLEX, FIONCLEX, sysIoctl } from '../src/fs/ioctl.ts'
import { sysOpen } from '../src/fs/open.ts'
import { sysRead, sysWrite } from '../src/fs/read_write.ts'
import { sysClose, sysDup } from '../src/syscalls/index.ts'
import type { FileOperations } from '../src/fs/file.ts'

function setup() {
  const k = new Kernel()
  k.sys.bus.addRam('dram', 0x8000_0000, 0x100_0000)
  const released: number[] = []
  let opens = 0
  // A device whose files count their releases.
  k.devfs.add('test/dev', {
    mode: 0o666, uid: 0, gid: 0,
    open: ({ file }) => {
      file.priv = ++opens
      const fops: FileOperations = {
        read: (_f, buf) => { buf[0] = 42; return 1 },
        release: f => { released.push(f.priv as number) },
      }
      return fops
    },
  })
  const t = spawnTask(k)
  return { k, t, released }
}

test('a new process has stdio on fds 0-2; open returns the lowest free fd', () => {
  const { k, t } = setup()
  assert.equal(t.files.fds(), [0, 1, 2])
  assert.is(sysOpen(k, t, '/dev/test/dev', O_RDWR), 3)
  assert.is(sysOpen(k, t, '/dev/test/dev', O_RDWR), 4)
  assert.is(sysOpen(k, t, '/dev/test/dev', O_RDWR), 5)
  sysClose(t, 4)
  assert.is(sysOpen(k, t, '/dev/test/dev', O_RDWR), 4)
  sysClose(t, 0)
  assert.is(sysOpen(k, t, '/dev/test/dev', O_RDWR), 0)
})

test('close of a closed or never-opened fd is EBADF; so is read on it', () => {
  const { k, t } = setup()
  const fd = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  sysClose(t, fd)
  assert.is(errno(() => sysClose(t, fd)), 'EBADF')
  assert.is(errno(() => sysClose(t, 99)), 'EBADF')
  assert.is(errno(() => sysClose(t, -1)), 'EBADF')
  assert.is(errno(() => sysRead(t, fd, new Uint8Array(1))), 'EBADF')
})

test('an open file is released at its last reference, not at the first close', () => {
  const { k, t, released } = setup()
  const fd = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  const fd2 = sysDup(t, fd)
  assert.is(fd2, fd + 1)
  assert.is(t.files.get(fd), t.files.get(fd2))
  assert.is(t.files.get(fd).refcount, 2)
  sysClose(t, fd)
  assert.equal(released, [])
  const buf = new Uint8Array(1)
  assert.is(sysRead(t, fd2, buf), 1)
  sysClose(t, fd2)
  assert.equal(released, [1])
})

test('a kernel reference keeps the file alive after every fd is closed', () => {
  const { k, t, released } = setup()
  const fd = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  const f = t.files.get(fd).get() // as a driver's fget
  sysClose(t, fd)
  assert.equal(released, [])
  f.put()
  assert.equal(released, [1])
})

test('an fd outlives its path: the device node can go while the file stays usable', () => {
  const { k, t, released } = setup()
  const fd = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  k.devfs.remove('test/dev')
  assert.is(errno(() => sysOpen(k, t, '/dev/test/dev', O_RDWR)), 'ENOENT')
  const buf = new Uint8Array(1)
  assert.is(sysRead(t, fd, buf), 1)
  assert.is(buf[0], 42)
  sysClose(t, fd)
  assert.equal(released, [1])
})

test('O_CLOEXEC is recorded per fd (not per file); FIOCLEX/FIONCLEX change it', () => {
  const { k, t } = setup()
  const a = sysOpen(k, t, '/dev/test/dev', O_RDWR | O_CLOEXEC)
  const b = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  assert.ok(t.files.getCloexec(a))
  assert.not.ok(t.files.getCloexec(b))
  assert.is(t.files.get(a).flags & O_CLOEXEC, 0)
  const c = sysDup(t, a)
  assert.not.ok(t.files.getCloexec(c))
  assert.is(sysIoctl(t, b, FIOCLEX, 0), 0)
  assert.ok(t.files.getCloexec(b))
  assert.is(sysIoctl(t, b, FIONCLEX, 0), 0)
  assert.not.ok(t.files.getCloexec(b))
})

test('read on a write-only or write on a read-only fd is EBADF; a file without the op is EINVAL; ioctl without one ENOTTY', () => {
  const { k, t } = setup()
  const ro = sysOpen(k, t, '/dev/test/dev', O_RDONLY)
  assert.is(errno(() => sysWrite(t, ro, new Uint8Array(1))), 'EBADF')
  const rw = sysOpen(k, t, '/dev/test/dev', O_RDWR)
  assert.is(errno(() => sysWrite(t, rw, new Uint8Array(1))), 'EINVAL')
  assert.is(errno(() => sysIoctl(t, rw, 0x1234, 0)), 'ENOTTY')
  assert.is(errno(() => sysRead(t, rw, new Uint8Array(1), -1)), 'EINVAL')
  // pread checks the position before the fd, as ksys_pread64 does
  assert.is(errno(() => sysRead(t, 99, new Uint8Array(1), -1)), 'EINVAL')
  assert.is(errno(() => sysRead(t, 99, new Uint8Array(1), 0)), 'EBADF')
  // a missing op is EINVAL before the buffer is looked at
  assert.is(errno(() => sysWrite(t, rw, 'x' as never)), 'EINVAL')
  assert.is(errno(() => sysRead(t, rw, 'x' as never)), 'EFAULT')
})

test('RLIMIT_NOFILE: the fd past the limit is EMFILE and the file is released', () => {
  const k = new Kernel()
  let releases = 0
  k.devfs.add('x', { mode: 0o666, uid: 0, gid: 0, open: () => ({ release: () => { releases++ } }) })
  const t = spawnTask(k, { rlimits: { nofile: 4 } })
  assert.is(sysOpen(k, t, '/dev/x', O_RDONLY), 3)
  assert.is(errno(() => sysOpen(k, t, '/dev/x', O_RDONLY)), 'EMFILE')
  assert.is(releases, 1)
})

test('exit closes every fd', () => {
  const { k, t, released } = setup()
  sysOpen(k, t, '/dev/test/dev', O_RDWR)
  sysOpen(k, t, '/dev/test/dev', O_RDWR)
  t.exit()
  assert.equal(released, [1, 2])
  assert.equal(t.files.fds(), [])
  assert.not.ok(k.tasks.has(t.pid))
})

test('property: random open/dup/close sequences follow the lowest-free-fd rule and release each file exactly once, at its last reference', () => {
  type Op = { op: 'open' } | { op: 'dup'; i: number } | { op: 'close'; i: number }
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ op: 'open' as const }),
    fc.record({ op: fc.constant('dup' as const), i: fc.nat(20) }),
    fc.record({ op: fc.constant('close' as const), i: fc.nat(20) }),
  )
  fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), ops => {
    const { k, t, released } = setup()
    // model: fd -> file id; file id -> live references
    const fds = new Map<number, number>([[0, 0], [1, 0], [2, 0]])
    const refs = new Map<number, number>([[0, 3]])
    const modelReleased: number[] = []
    let nextId = 1
    const lowest = (): number => { let fd = 0; while (fds.has(fd)) fd++; return fd }
    for (const o of ops) {
      if (o.op === 'open') {
        const fd = sysOpen(k, t, '/dev/test/dev', O_RDWR)
        assert.is(fd, lowest())
        fds.set(fd, nextId)
        refs.set(nextId++, 1)
      } else if (o.op === 'dup') {
        const known = fds.has(o.i)
        assert.is(errno(() => {
          const fd = sysDup(t, o.i)
          assert.is(fd, lowest())
          const id = fds.get(o.i)!
          fds.set(fd, id)
          refs.set(id, refs.get(id)! + 1)
        }), known ? 'OK' : 'EBADF')
      } else {
        const id = fds.get(o.i)
        assert.is(errno(() => sysClose(t, o.i)), id === undefined ? 'EBADF' : 'OK')
        if (id !== undefined) {
          fds.delete(o.i)
          const r = refs.get(id)! - 1
          refs.set(id, r)
          if (r === 0 && id !== 0) modelReleased.push(id)
        }
      }
      assert.equal(released, modelReleased)
      assert.equal(t.files.fds(), [...fds.keys()].sort((a, b) => a - b))
    }
  }))
})

test.run()
