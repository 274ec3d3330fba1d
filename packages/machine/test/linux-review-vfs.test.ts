/**
 * open(2) and path walks checked against fs/open.c build_open_flags and
 * fs/namei.c path_openat / may_open.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY } from '@vfio-sim/uapi'
import { boot, SysError, type PollFd } from '../src/index.ts'

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof SysError) return e.code
    throw e
  }
  return 'ok'
}

const AUTOPROBE = '/sys/bus/platform/drivers_autoprobe' // 0644, root-owned

test('O_CREAT: a missing directory on the way is ENOENT (link_path_walk), a file on the way ENOTDIR; only the missing last name is EACCES', () => {
  const p = boot().spawn()
  assert.is(errno(() => p.open('/sys/nope/x', O_CREAT | O_WRONLY)), 'ENOENT')
  assert.is(errno(() => p.open('/dev/nodir/x', O_CREAT | O_WRONLY)), 'ENOENT')
  assert.is(errno(() => p.open(`${AUTOPROBE}/x`, O_CREAT | O_WRONLY)), 'ENOTDIR')
  // kernfs directories have no ->create: lookup_open gives EACCES.
  assert.is(errno(() => p.open('/sys/bus/newfile', O_CREAT | O_WRONLY)), 'EACCES')
})

test('O_TRUNC asks for write permission even with O_RDONLY (build_open_flags: acc_mode |= MAY_WRITE)', () => {
  const m = boot()
  const user = m.spawn({ uid: 1000 })
  assert.is(errno(() => user.open(AUTOPROBE, O_RDONLY)), 'ok')
  assert.is(errno(() => user.open(AUTOPROBE, O_RDONLY | O_TRUNC)), 'EACCES')
  assert.is(errno(() => user.open('/dev/null', O_RDONLY | O_TRUNC)), 'ok') // 0666
  const root = m.spawn()
  assert.is(errno(() => root.open(AUTOPROBE, O_RDONLY | O_TRUNC)), 'ok')
  // may_open: a directory with MAY_WRITE is EISDIR.
  assert.is(errno(() => root.open('/sys/bus', O_RDONLY | O_TRUNC)), 'EISDIR')
})

test('upstream: O_DIRECTORY | O_CREAT is EINVAL before any lookup (build_open_flags, v6.4); the 2014 kernel walks the path', () => {
  const up = boot({ profile: 'upstream' }).spawn()
  assert.is(errno(() => up.open('/sys/bus', O_DIRECTORY | O_CREAT)), 'EINVAL')
  assert.is(errno(() => up.open('/nope/x', O_DIRECTORY | O_CREAT)), 'EINVAL')
  const old = boot({ profile: 'rfc-v5' }).spawn()
  assert.is(errno(() => old.open('/sys/bus', O_DIRECTORY | O_CREAT)), 'EISDIR')
})

test('a path is a C string: it ends at the first NUL (getname copies up to it)', () => {
  const p = boot().spawn()
  const fd = p.open('/dev/null\0/ignored', O_RDONLY)
  assert.ok(fd >= 0)
  assert.is(errno(() => p.open('\0/dev/null', O_RDONLY)), 'ENOENT')
})


test('chown without CAP_CHOWN: naming an owner or group is EPERM unless the caller owns the node and keeps its uid / picks its own group (chown_ok, chgrp_ok)', () => {
  const m = boot()
  const root = m.spawn()
  const user = m.spawn({ uid: 1000 })
  // Not the owner: even "changing" to the current owner/group is EPERM.
  assert.is(errno(() => user.chown('/dev/null', 0)), 'EPERM')
  assert.is(errno(() => user.chown('/dev/null', -1, 0)), 'EPERM')
  // Nothing named: only ctime changes, allowed to anyone who can reach the node.
  assert.is(errno(() => user.chown('/dev/null', -1, -1)), 'ok')
  root.chown('/dev/null', 1000, 0)
  // The owner may keep its uid, keep the group, or move it to its own group.
  assert.is(errno(() => user.chown('/dev/null', 1000)), 'ok')
  assert.is(errno(() => user.chown('/dev/null', -1, 0)), 'ok')
  assert.is(errno(() => user.chown('/dev/null', -1, 1000)), 'ok')
  assert.is(errno(() => user.chown('/dev/null', -1, 5)), 'EPERM')
  assert.is(errno(() => user.chown('/dev/null', 0)), 'EPERM')
  // (uid_t)-1 written as 0xffffffff keeps the field too.
  assert.is(errno(() => root.chown('/dev/null', 0xffff_ffff, 0xffff_ffff)), 'ok')
})


test('a name longer than NAME_MAX: ENAMETOOLONG where the filesystem checks it (devtmpfs simple_lookup), ENOENT in sysfs (kernfs_iop_lookup does not); lengths count UTF-8 bytes', () => {
  const p = boot().spawn()
  const long = 'a'.repeat(256)
  assert.is(errno(() => p.open(`/dev/${long}`, O_RDONLY)), 'ENAMETOOLONG')
  assert.is(errno(() => p.open(`/${long}`, O_RDONLY)), 'ENAMETOOLONG')
  assert.is(errno(() => p.open(`/sys/${long}`, O_RDONLY)), 'ENOENT')
  assert.is(errno(() => p.open(`/sys/bus/${long}/x`, O_RDONLY)), 'ENOENT')
  assert.is(errno(() => p.open(`/dev/${'a'.repeat(255)}`, O_RDONLY)), 'ENOENT')
  // 128 two-byte characters are 256 bytes.
  assert.is(errno(() => p.open(`/dev/${'é'.repeat(128)}`, O_RDONLY)), 'ENAMETOOLONG')
  // PATH_MAX counts bytes with the NUL: 4095 bytes is the longest path.
  const base = `/sys${'/.'.repeat(2045)}` // 4094 bytes
  assert.is(errno(() => p.open(`${base}x`, O_RDONLY)), 'ENOENT') // 4095 bytes
  assert.is(errno(() => p.open(`${base}xy`, O_RDONLY)), 'ENAMETOOLONG') // 4096
  assert.is(errno(() => p.open(`${base.slice(0, -2)}/é`, O_RDONLY)), 'ENOENT') // 4095
  assert.is(errno(() => p.open(`${base}é`, O_RDONLY)), 'ENAMETOOLONG') // 4096
})


test('pread/pwrite positions are loff_t: 2^63 and above is negative (EINVAL before the fd is looked at); pos + count past LLONG_MAX is EINVAL (rw_verify_area)', () => {
  const p = boot().spawn()
  const nul = p.open('/dev/null', 2)
  assert.is(errno(() => p.read(99, new Uint8Array(1), 2 ** 63)), 'EINVAL')
  assert.is(errno(() => p.write(99, 'x', 2 ** 64)), 'EINVAL')
  assert.is(errno(() => p.read(nul, new Uint8Array(4096), 2 ** 63 - 2048)), 'EINVAL')
  assert.is(errno(() => p.write(nul, new Uint8Array(4096), 2 ** 63 - 2048)), 'EINVAL')
  assert.is(p.read(nul, new Uint8Array(16), 2 ** 62), 0)
  assert.is(p.write(nul, new Uint8Array(16), 2 ** 62), 16)
})


test('O_NOFOLLOW on a symlink: ELOOP from may_open, but O_DIRECTORY is checked first (do_open: ENOTDIR)', () => {
  const p = boot().spawn()
  const link = '/sys/bus/platform/devices/2c0a0000.dma'
  assert.is(errno(() => p.open(link, O_RDONLY | O_NOFOLLOW)), 'ELOOP')
  assert.is(errno(() => p.open(link, O_RDONLY | O_NOFOLLOW | O_DIRECTORY)), 'ENOTDIR')
  assert.is(errno(() => p.open(`${link}/`, O_RDONLY | O_NOFOLLOW | O_DIRECTORY)), 'ok') // a trailing slash follows
})


test('a path walk needs search (x) permission on every directory, readdir needs read permission (may_lookup, generic_permission); root passes by CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH', () => {
  const m = boot()
  const root = m.spawn()
  const user = m.spawn({ uid: 1000 })
  root.chmod('/sys/bus/platform', 0o700)
  assert.is(errno(() => user.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY)), 'EACCES')
  assert.is(errno(() => user.readlink('/sys/bus/platform/devices/2c0a0000.dma')), 'EACCES')
  assert.is(errno(() => user.readdir('/sys/bus/platform')), 'EACCES')
  assert.is(errno(() => user.readdir('/sys/bus')), 'ok')
  assert.is(errno(() => root.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY)), 'ok')
  // r without x: the names can be listed but not walked through.
  root.chmod('/sys/bus/platform', 0o744)
  assert.is(errno(() => user.readdir('/sys/bus/platform')), 'ok')
  assert.is(errno(() => user.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY)), 'EACCES')
  // x without r: walk through, but no listing.
  root.chmod('/sys/bus/platform', 0o711)
  assert.is(errno(() => user.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY)), 'ok')
  assert.is(errno(() => user.readdir('/sys/bus/platform')), 'EACCES')
  // CAP_DAC_READ_SEARCH alone: search and list any directory.
  const reader = m.spawn({ uid: 1001, caps: ['CAP_DAC_READ_SEARCH'] })
  root.chmod('/sys/bus/platform', 0o700)
  assert.is(errno(() => reader.readdir('/sys/bus/platform')), 'ok')
  assert.is(errno(() => reader.open('/sys/bus/platform/drivers_autoprobe', O_RDONLY)), 'ok')
})


test('O_PATH: an fd for the path alone (do_o_path): no permission or driver open, a final symlink kept with O_NOFOLLOW; read/write/ioctl/mmap on it are EBADF, poll says POLLNVAL; dup and close work', () => {
  const m = boot()
  const user = m.spawn({ uid: 1000 })
  // 0200 root attribute: no read permission needed for O_PATH.
  const fd = user.open('/sys/bus/platform/drivers_probe', O_PATH)
  assert.is(errno(() => user.read(fd, new Uint8Array(8))), 'EBADF')
  assert.is(errno(() => user.write(fd, 'x')), 'EBADF')
  assert.is(errno(() => user.ioctl(fd, 0x5451)), 'EBADF') // FIOCLEX
  assert.is(errno(() => user.mmap(0, 4096, 1, 1, fd, 0)), 'EBADF')
  const pfd: PollFd[] = [{ fd, events: 1 }]
  assert.is(user.poll(pfd, 0), 1)
  assert.is(pfd[0]!.revents, 0x20)
  const d = user.dup(fd)
  user.close(d)
  user.close(fd)
  // /dev/vfio/0-like root-only device: the driver's open never runs.
  assert.ok(user.open('/dev/null', O_PATH | O_WRONLY) >= 0) // access mode bits are dropped
  const link = user.open('/sys/bus/platform/devices/2c0a0000.dma', O_PATH | O_NOFOLLOW)
  assert.ok(link >= 0)
  assert.is(errno(() => user.open('/sys/bus/platform/drivers_probe', O_PATH | O_DIRECTORY)), 'ENOTDIR')
  assert.is(errno(() => user.open('/sys/nope', O_PATH)), 'ENOENT')
})


test('O_TMPFILE: without write access EINVAL (build_open_flags); then the directory needs write+search permission (EACCES) and a ->tmpfile, which sysfs lacks (EOPNOTSUPP)', () => {
  const m = boot()
  const root = m.spawn()
  const user = m.spawn({ uid: 1000 })
  assert.is(errno(() => root.open('/sys/bus', O_TMPFILE | O_RDONLY)), 'EINVAL')
  assert.is(errno(() => root.open('/sys/bus', O_TMPFILE | O_RDWR)), 'EOPNOTSUPP')
  assert.is(errno(() => root.open('/sys/bus/platform/drivers_probe', O_TMPFILE | O_RDWR)), 'ENOTDIR')
  assert.is(errno(() => root.open('/sys/nope', O_TMPFILE | O_WRONLY)), 'ENOENT')
  assert.is(errno(() => user.open('/sys/bus', O_TMPFILE | O_RDWR)), 'EACCES')
})

test.run()
