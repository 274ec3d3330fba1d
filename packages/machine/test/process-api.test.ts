import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BusResp, TextSink, type AccessSize, type MmioDevice } from '@vfio-sim/sim'
import { EFD_NONBLOCK, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, O_WRONLY, POLLIN, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { eventfdCtxFdget, kerr, remapPfnRange } from '@vfio-sim/kernel'
import { BlockedForeverError, boardNames, boot, SysError, type PollFd } from '../src/index.ts'

function sysErr(fn: () => unknown): SysError {
  try {
    fn()
  } catch (e) {
    if (e instanceof SysError) return e
    throw e
  }
  throw new Error('expected a SysError')
}

class Regs implements MmioDevice {
  readonly name = 'regs'
  readonly size = 0x1000
  resp: BusResp = BusResp.OKAY
  readonly log: string[] = []
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size * 8}@${offset.toString(16)}`)
    return offset === 0xfe0 ? 0x30 : 0
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${size * 8}@${offset.toString(16)}=${value.toString(16)}`)
  }
}

/** A test device: ioctl 1 adds 1 to each byte of the struct at arg; ioctl 4 returns arg (2 would be FIGETBSZ, answered by the VFS); mmap maps the registers. */
function withDevice(m: ReturnType<typeof boot>) {
  const regs = new Regs()
  m.kernel.sys.bus.addDevice(0x1c00_0000, regs)
  m.kernel.devfs.add('testdev', {
    mode: 0o600, uid: 0, gid: 0,
    open: () => ({
      ioctl: (_f, cmd, arg, task) => {
        if (cmd === 1) {
          const len = task.mm.copyFromUser(arg, 1)[0]!
          const b = task.mm.copyFromUser(arg, len)
          for (let i = 1; i < b.length; i++) b[i] = (b[i]! + 1) & 0xff
          task.mm.copyToUser(arg, b)
          return 0
        }
        if (cmd === 4) return arg
        if (cmd === 3) return kerr('EBUSY')
        return kerr('ENOTTY')
      },
      mmap: (_f, vma) => remapPfnRange(vma, 0x1c00_0000, vma.length),
    }),
  })
  return regs
}

test('boot defaults to fvp-mmu400 / rfc-v5; unknown boards and profiles are clear errors', () => {
  const m = boot()
  assert.is(m.board, 'fvp-mmu400')
  assert.is(m.profile, 'rfc-v5')
  assert.is(boot({ profile: 'upstream' }).profile, 'upstream')
  assert.ok(boardNames().includes('fvp-mmu400'))
  assert.ok(boardNames().includes('minimal'))
  assert.is(boot({ board: 'minimal' }).hw, undefined)
  assert.is(m.hw?.name, 'fvp-mmu400')
  assert.throws(() => boot({ board: 'nope' }), /unknown board 'nope'; known boards: .*fvp-mmu400/)
  assert.throws(() => boot({ profile: 'v2' as never }), /unknown profile 'v2'/)
})

test('a failing call throws a SysError shaped like Node\'s: code, errno, syscall, path', () => {
  const p = boot().spawn()
  const e = sysErr(() => p.open('/dev/nothing', O_RDONLY))
  assert.instance(e, Error)
  assert.is(e.code, 'ENOENT')
  assert.is(e.errno, 2)
  assert.is(e.syscall, 'open')
  assert.is(e.path, '/dev/nothing')
  assert.is(e.message, "ENOENT: No such file or directory, open '/dev/nothing'")
  const c = sysErr(() => p.close(77))
  assert.equal([c.code, c.errno, c.syscall], ['EBADF', 9, 'close'])
})

test('bad arguments are errnos, never other exceptions', () => {
  const m = boot()
  const p = m.spawn()
  const fd = p.eventfd(0, EFD_NONBLOCK)
  assert.is(sysErr(() => p.read(fd, 'nope' as never)).code, 'EFAULT')
  assert.is(sysErr(() => p.write(fd, 42 as never)).code, 'EFAULT')
  assert.is(sysErr(() => p.open(12 as never)).code, 'EFAULT')
  assert.is(sysErr(() => p.open('/dev/null', 1.5)).code, 'EINVAL')
  assert.is(sysErr(() => p.mmap(NaN, 4096, 3, 0x22, -1, 0)).code, 'EINVAL')
  assert.is(sysErr(() => p.munmap(1.5, 4096)).code, 'EINVAL')
  assert.is(sysErr(() => p.ioctl(fd, 1, 1.5)).code, 'EINVAL')
  assert.is(sysErr(() => p.ioctl(fd, 1, 'x' as never)).code, 'EFAULT')
  assert.is(sysErr(() => p.eventfd(0, -1)).code, 'EINVAL')
  assert.is(sysErr(() => p.poll(null as never)).code, 'EFAULT')
  assert.is(sysErr(() => p.peek(-1, 4)).code, 'EFAULT')
  assert.is(sysErr(() => p.peek(0x1000, -4)).code, 'EFAULT')
  assert.is(sysErr(() => p.read32(NaN)).code, 'EFAULT')
  assert.is(sysErr(() => p.write32(0x7fff_ffff_e000, 'x' as never)).code, 'EINVAL')
  assert.is(sysErr(() => p.readdir(undefined as never)).code, 'EFAULT')
})

test('user memory: peek/poke and single accesses of every width; a fault names its signal', () => {
  const p = boot().spawn()
  const a = p.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  p.poke(a + 4094, new Uint8Array([1, 2, 3, 4]))
  assert.equal([...p.peek(a + 4093, 6)], [0, 1, 2, 3, 4, 0])
  assert.is(p.read16(a + 4095), 0x0302)
  p.write64(a + 8, 0x1122_3344_5566_7788n)
  assert.is(p.read64(a + 8), 0x1122_3344_5566_7788n)
  assert.is(p.read32(a + 12), 0x1122_3344)
  p.write8(a, 0x1ff)
  assert.is(p.read8(a), 0xff)
  p.write32(a + 16, -1)
  assert.is(p.read32(a + 16), 0xffff_ffff)
  p.munmap(a, 8192)
  const e = sysErr(() => p.read32(a))
  assert.equal([e.code, e.syscall, e.signal], ['EFAULT', 'read32', 'SIGSEGV'])
})

test('ioctl: a number is passed raw; a Uint8Array is copied in, passed by address, and copied back', () => {
  const m = boot()
  withDevice(m)
  const p = m.spawn()
  const fd = p.open('/dev/testdev', O_RDWR)
  assert.is(p.ioctl(fd, 4, 0x1234), 0x1234)
  const s = new Uint8Array([4, 10, 20, 255])
  assert.is(p.ioctl(fd, 1, s), 0)
  assert.equal([...s], [4, 11, 21, 0])
  const big = new Uint8Array(200_000)
  big[0] = 8
  big[7] = 1
  assert.is(p.ioctl(fd, 1, big), 0)
  assert.is(big[7], 2)
  const e = sysErr(() => p.ioctl(fd, 3, s))
  assert.equal([e.code, e.errno, e.syscall], ['EBUSY', 16, 'ioctl'])
  assert.is(sysErr(() => p.ioctl(fd, 9)).code, 'ENOTTY')
  assert.is(sysErr(() => p.ioctl(fd, 1, 0xdead_0000)).code, 'EFAULT') // an address nothing maps
})

test('mmap of a device region: each user load/store is one MMIO access', () => {
  const m = boot()
  const regs = withDevice(m)
  const p = m.spawn()
  const fd = p.open('/dev/testdev', O_RDWR)
  const va = p.mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
  assert.is(p.read32(va + 0xfe0), 0x30)
  p.write32(va + 0x20, 1)
  p.write16(va + 0x24, 0xbeef)
  assert.equal(regs.log, ['r32@fe0', 'w32@20=1', 'w16@24=beef'])
})

test('credentials: an unprivileged process gets EACCES for a 0600 node; 0666 /dev/null is open to all', () => {
  const m = boot()
  withDevice(m)
  const u = m.spawn({ uid: 1000 })
  const e = sysErr(() => u.open('/dev/testdev', O_RDWR))
  assert.equal([e.code, e.errno], ['EACCES', 13])
  assert.is(u.open('/dev/null', O_RDWR), 3)
})

test('chown/chmod: root gives a 0600 node to a user (vfio.rst), who may then chmod it; others get EPERM', () => {
  const m = boot()
  withDevice(m)
  const root = m.spawn()
  const u = m.spawn({ uid: 1000 })
  const other = m.spawn({ uid: 1001 })
  assert.is(sysErr(() => u.open('/dev/testdev', O_RDWR)).code, 'EACCES')
  assert.is(sysErr(() => u.chown('/dev/testdev', 1000)).code, 'EPERM')
  root.chown('/dev/testdev', 1000, 1000)
  assert.is(u.open('/dev/testdev', O_RDWR), 3)
  assert.is(sysErr(() => other.chmod('/dev/testdev', 0o666)).code, 'EPERM')
  assert.is(sysErr(() => other.open('/dev/testdev', O_RDWR)).code, 'EACCES')
  u.chmod('/dev/testdev', 0o666)
  assert.ok(other.open('/dev/testdev', O_RDWR) >= 3)
  // a node created again starts with the driver's mode and owner
  const node = m.kernel.devfs.lookup('testdev')!
  m.kernel.devfs.remove('testdev')
  m.kernel.devfs.add('testdev', { ...node })
  assert.is(sysErr(() => other.open('/dev/testdev', O_RDWR)).code, 'EACCES')
})

test('files: readFile/writeFile/readlink/readdir over sysfs', () => {
  const m = boot({ board: 'minimal' })
  let stored = ''
  m.kernel.sysfs.addFile('devices/platform/x/driver_override', { mode: 0o644, show: () => '(null)\n', store: s => { stored = s; return s.length } })
  m.kernel.sysfs.symlink('bus/platform/devices/x', '../../../devices/platform/x')
  const p = m.spawn()
  assert.is(p.readFile('/sys/bus/platform/devices/x/driver_override'), '(null)\n')
  p.writeFile('/sys/bus/platform/devices/x/driver_override', 'vfio-platform\n')
  assert.is(stored, 'vfio-platform\n')
  assert.is(p.readlink('/sys/bus/platform/devices/x'), '../../../devices/platform/x')
  assert.equal(p.readdir('/sys/bus/platform/devices'), ['x'])
  assert.equal(p.readdir('/sys/devices/platform/x'), ['driver_override'])
  assert.is(sysErr(() => p.readlink('/sys/devices')).code, 'EINVAL')
  assert.is(sysErr(() => p.writeFile('/sys/nope', 'x')).code, 'ENOENT')
  const u = m.spawn({ uid: 1000 })
  assert.is(sysErr(() => u.writeFile('/sys/devices/platform/x/driver_override', 'x')).code, 'EACCES')
})

test('eventfd through the process API: EAGAIN, poll, blocking read that runs the machine, idle deadlock error', () => {
  const m = boot()
  const p = m.spawn()
  const nb = p.eventfd(0, EFD_NONBLOCK)
  assert.is(sysErr(() => p.read(nb, new Uint8Array(8))).code, 'EAGAIN')
  const fd = p.eventfd(0, 0)
  const ctx = eventfdCtxFdget(p.task, fd)
  m.kernel.sys.scheduler.schedule(5000, () => ctx.signal())
  const fds: PollFd[] = [{ fd, events: POLLIN }, { fd: nb, events: POLLIN }]
  assert.is(p.poll(fds), 1)
  assert.is(fds[0]!.revents, POLLIN)
  assert.is(m.now, 5000)
  const buf = new Uint8Array(8)
  assert.is(p.read(fd, buf), 8)
  assert.is(buf[0], 1)
  assert.throws(() => p.read(fd, buf), (e: unknown) => e instanceof BlockedForeverError)
  ctx.put()
})

test('run: forNs advances virtual time, until stops early, idle returns', () => {
  const m = boot()
  const s = m.kernel.sys.scheduler
  let hits = 0
  s.schedule(100, () => hits++)
  s.schedule(300, () => hits++)
  assert.equal(m.run({ forNs: 200 }), { reason: 'time', events: 1, now: 200 })
  assert.equal(m.run({ until: () => hits === 2 }), { reason: 'until', events: 1, now: 300 })
  assert.equal(m.run(), { reason: 'idle', events: 0, now: 300 })
  assert.ok(m.dmesg().length >= 1)
})

test('processes are independent; exit frees their pages; calls after exit are ESRCH', () => {
  const m = boot()
  const bootPages = m.kernel.pages.snapshot()
  const a = m.spawn()
  const b = m.spawn()
  assert.is.not(a.pid, b.pid)
  const va = a.mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const vb = b.mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  assert.is(va, vb) // same layout, separate memory
  a.poke(va, 'A')
  b.poke(vb, 'B')
  assert.equal([...a.peek(va, 1)], [65])
  assert.equal([...b.peek(vb, 1)], [66])
  const fd = a.open('/dev/null', O_WRONLY)
  assert.is(a.write(fd, 'hello'), 5)
  a.exit()
  b.exit()
  assert.equal(m.kernel.pages.snapshot(), bootPages)
  assert.is(sysErr(() => a.open('/dev/null')).code, 'ESRCH')
})

test('maps() lists the mappings as /proc/self/maps does', () => {
  const m = boot()
  withDevice(m)
  const p = m.spawn()
  const fd = p.open('/dev/testdev', O_RDWR)
  p.mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
  p.mmap(0, 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  assert.equal(p.maps().map(l => l.replace(/ {2,}/g, ' ')), [
    '7effffffd000-7efffffff000 r--p 00000000 00:00 0',
    '7efffffff000-7f0000000000 rw-s 00000000 00:00 0 /dev/testdev',
    '7ffffffdf000-7ffffffff000 rw-p 00000000 00:00 0 [stack]',
  ])
})

test('system calls and user accesses are traced with their results', () => {
  const m = boot({ board: 'minimal' })
  const sink = new TextSink()
  m.kernel.sys.tracer.addSink(sink)
  const p = m.spawn()
  const fd = p.open('/dev/null', O_RDWR)
  sysErr(() => p.close(99))
  const va = p.mmap(0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  p.write32(va, 7)
  assert.is(p.read32(va), 7)
  const lines = sink.lines.map(l => l.replace(/^\s*\d+ ns /, ''))
  assert.equal(lines, [
    `proc/${p.pid} sys_call: open("/dev/null", 0o2) = ${fd}`,
    `proc/${p.pid} sys_call: close(99) = -1 EBADF`,
    `proc/${p.pid} sys_call: mmap(0x0, 0x1000, 3, 0x22, -1, 0x0) = 0x7efffffff000`,
    `proc/${p.pid} user_access: write32 0x7efffffff000 <- 0x7`,
    `proc/${p.pid} user_access: read32 0x7efffffff000 -> 0x7`,
  ])
})

test.run()
