/**
 * ioctl(2) requests the VFS answers for every file before the driver sees
 * them (fs/ioctl.c do_vfs_ioctl): FIOCLEX/FIONCLEX/FIONBIO, FIOASYNC
 * (ioctl_fioasync), FIOQSIZE, FIGETBSZ, FIFREEZE/FITHAW (ioctl_fsfreeze,
 * ioctl_fsthaw). A driver's unlocked_ioctl only gets the rest.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDONLY, O_RDWR, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { boot, SysError, type Process } from '../src/index.ts'

const FIOASYNC = 0x5452
const FIOQSIZE = 0x5460
const FIGETBSZ = 2
const FIFREEZE = 0xc004_5877
const FITHAW = 0xc004_5878

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof SysError) return e.code
    throw e
  }
  return 'ok'
}

function scratch(p: Process): number {
  return p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
}

test('FIGETBSZ (2) writes the block size (PAGE_SIZE) on any file, EFAULT on a bad pointer; the driver never sees it', () => {
  const p = boot().spawn()
  const buf = scratch(p)
  for (const fd of [p.open('/dev/null', O_RDWR), p.open('/dev/vfio/vfio', O_RDWR), p.eventfd(0), p.open('/sys/bus', O_RDONLY)]) {
    p.poke(buf, new Uint8Array(4))
    assert.is(p.ioctl(fd, FIGETBSZ, buf), 0)
    assert.is(p.read32(buf), 4096)
    assert.is(errno(() => p.ioctl(fd, FIGETBSZ, 0)), 'EFAULT')
  }
})

test('FIOASYNC: turning it off is a no-op success; turning it on without ->fasync is ENOTTY; a bad pointer EFAULT', () => {
  const p = boot().spawn()
  const buf = scratch(p)
  const fd = p.eventfd(0)
  p.write32(buf, 0)
  assert.is(p.ioctl(fd, FIOASYNC, buf), 0)
  p.write32(buf, 1)
  assert.is(errno(() => p.ioctl(fd, FIOASYNC, buf)), 'ENOTTY')
  assert.is(errno(() => p.ioctl(fd, FIOASYNC, 8)), 'EFAULT')
})

test('FIOQSIZE: a directory or regular (sysfs) file gets its byte count (0); a char device or an eventfd is ENOTTY', () => {
  const p = boot().spawn()
  const buf = scratch(p)
  p.poke(buf, new Uint8Array(8).fill(0xff))
  assert.is(p.ioctl(p.open('/sys/bus', O_RDONLY), FIOQSIZE, buf), 0)
  assert.is(p.read64(buf), 0n)
  assert.is(p.ioctl(p.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY), FIOQSIZE, buf), 0)
  assert.is(errno(() => p.ioctl(p.open('/dev/null', O_RDWR), FIOQSIZE, buf)), 'ENOTTY')
  assert.is(errno(() => p.ioctl(p.eventfd(0), FIOQSIZE, buf)), 'ENOTTY')
})

test('FIFREEZE/FITHAW: EPERM without CAP_SYS_ADMIN; with it, no filesystem here freezes (EOPNOTSUPP) and thawing an unfrozen one is EINVAL', () => {
  const m = boot()
  const root = m.spawn()
  const user = m.spawn({ uid: 1000 })
  const rfd = root.open('/dev/null', O_RDWR)
  const ufd = user.open('/dev/null', O_RDWR)
  assert.is(errno(() => user.ioctl(ufd, FIFREEZE, 0)), 'EPERM')
  assert.is(errno(() => user.ioctl(ufd, FITHAW, 0)), 'EPERM')
  assert.is(errno(() => root.ioctl(rfd, FIFREEZE, 0)), 'EOPNOTSUPP')
  assert.is(errno(() => root.ioctl(rfd, FITHAW, 0)), 'EINVAL')
})

test.run()
