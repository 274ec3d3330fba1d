import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_RDWR, O_WRONLY } from '@vfio-sim/uapi'
import { Kernel } from '../src/kernel.ts'
import { errno } from './errno-of.ts'
import { spawnTask } from '../src/kernel/fork.ts'
import { lookup, readdirAt, readlinkAt } from '../src/fs/namei.ts'
import { sysOpen } from '../src/fs/open.ts'
import { sysRead, sysWrite } from '../src/fs/read_write.ts'

function setup() {
  const k = new Kernel()
  const stores: string[] = []
  let shows = 0
  let override: string | null = null
  k.sysfs.addFile('devices/platform/soc/2c0a0000.dma/driver_override', {
    mode: 0o644,
    show: () => { shows++; return `${override ?? '(null)'}\n` },
    store: s => { stores.push(s); override = s.split('\n')[0]!; return s.length },
  })
  k.sysfs.addFile('devices/platform/soc/2c0a0000.dma/periphid', { mode: 0o444, show: () => '0x00041330\n' })
  k.sysfs.addFile('bus/amba/drivers_probe', { mode: 0o200, store: s => s.length })
  k.sysfs.addFile('bus/amba/weird', { mode: 0o644 }) // neither show nor store
  k.sysfs.symlink('bus/amba/devices/2c0a0000.dma', '../../../devices/platform/soc/2c0a0000.dma')
  k.sysfs.symlink('kernel/iommu_groups/0/devices/2c0a0000.dma', '../../../../devices/platform/soc/2c0a0000.dma')
  k.sysfs.symlink('devices/platform/soc/2c0a0000.dma/iommu_group', '../../../../kernel/iommu_groups/0')
  k.sysfs.symlink('loop/a', 'b')
  k.sysfs.symlink('loop/b', 'a')
  k.devfs.add('vfio/vfio', { mode: 0o666, uid: 0, gid: 0, open: () => ({}) })
  k.devfs.add('vfio/0', { mode: 0o600, uid: 0, gid: 0, open: () => ({}) })
  const root = spawnTask(k)
  const user = spawnTask(k, { uid: 1000 })
  return { k, root, user, stores, shows: () => shows }
}

function readAll(t: ReturnType<typeof spawnTask>, fd: number): string {
  let s = ''
  const buf = new Uint8Array(3) // small reads: the text must continue across calls
  for (;;) {
    const n = sysRead(t, fd, buf)
    if (n === 0) return s
    s += new TextDecoder().decode(buf.subarray(0, n))
  }
}

test('root lists the mounts; /dev lists nodes and directories', () => {
  const { k } = setup()
  assert.equal(readdirAt(k, '/'), ['dev', 'sys'])
  assert.equal(readdirAt(k, '/dev'), ['null', 'vfio'])
  assert.equal(readdirAt(k, '/dev/vfio'), ['0', 'vfio'])
  assert.is(errno(() => readdirAt(k, '/dev/vfio/0')), 'ENOTDIR')
  assert.is(errno(() => readdirAt(k, '/proc')), 'ENOENT')
})

test('symlinks are followed in the middle and at the end, and ".." is physical', () => {
  const { k } = setup()
  assert.is(lookup(k, '/sys/bus/amba/devices/2c0a0000.dma/periphid').path, '/sys/devices/platform/soc/2c0a0000.dma/periphid')
  assert.is(lookup(k, '/sys/bus/amba/devices/2c0a0000.dma').path, '/sys/devices/platform/soc/2c0a0000.dma')
  assert.is(lookup(k, '/sys/bus/amba/devices/2c0a0000.dma', false).path, '/sys/bus/amba/devices/2c0a0000.dma')
  // ".." after a link goes to the parent of the link's target, as the kernel walks it
  assert.is(lookup(k, '/sys/bus/amba/devices/2c0a0000.dma/..').path, '/sys/devices/platform/soc')
  assert.equal(readdirAt(k, '/sys/devices/platform/soc/2c0a0000.dma/iommu_group/devices'), ['2c0a0000.dma'])
  assert.is(errno(() => lookup(k, '/sys/loop/a')), 'ELOOP')
  assert.is(errno(() => lookup(k, '/sys/nope')), 'ENOENT')
  assert.is(errno(() => lookup(k, '/sys/bus/amba/drivers_probe/x')), 'ENOTDIR')
})

test('readlink returns the stored relative target; a non-link is EINVAL', () => {
  const { k } = setup()
  assert.is(readlinkAt(k, '/sys/devices/platform/soc/2c0a0000.dma/iommu_group'), '../../../../kernel/iommu_groups/0')
  assert.is(readlinkAt(k, '/sys/bus/amba/devices/2c0a0000.dma'), '../../../devices/platform/soc/2c0a0000.dma')
  assert.is(errno(() => readlinkAt(k, '/sys/bus/amba')), 'EINVAL')
  assert.is(errno(() => readlinkAt(k, '/sys/nope')), 'ENOENT')
})

test('sysfs read: show() once per read from position 0, continued across small reads', () => {
  const { k, root, shows } = setup()
  const fd = sysOpen(k, root, '/sys/bus/amba/devices/2c0a0000.dma/driver_override', O_RDONLY)
  assert.is(readAll(root, fd), '(null)\n')
  assert.is(shows(), 1)
  const buf = new Uint8Array(16)
  assert.is(sysRead(root, fd, buf, 0), 7)
  assert.is(shows(), 2)
})

test('sysfs write: the whole buffer reaches store(); a zero-length write never does', () => {
  const { k, root, stores } = setup()
  const fd = sysOpen(k, root, '/sys/devices/platform/soc/2c0a0000.dma/driver_override', O_WRONLY)
  assert.is(sysWrite(root, fd, new Uint8Array(0)), 0)
  assert.equal(stores, [])
  assert.is(sysWrite(root, fd, new TextEncoder().encode('vfio-amba\n')), 10)
  assert.equal(stores, ['vfio-amba\n'])
  const big = new Uint8Array(5000).fill(0x61)
  assert.is(sysWrite(root, fd, big), 4096)
  assert.is(stores[1]!.length, 4096)
})

test('sysfs open checks the mode even for root: EACCES to write a read-only or read a write-only attribute', () => {
  const { k, root } = setup()
  assert.is(errno(() => sysOpen(k, root, '/sys/devices/platform/soc/2c0a0000.dma/periphid', O_WRONLY)), 'EACCES')
  assert.is(errno(() => sysOpen(k, root, '/sys/bus/amba/drivers_probe', O_RDONLY)), 'EACCES')
  assert.is(errno(() => sysOpen(k, root, '/sys/bus/amba/drivers_probe', O_RDWR)), 'EACCES')
  const fd = sysOpen(k, root, '/sys/bus/amba/weird', O_RDWR)
  assert.is(errno(() => sysRead(root, fd, new Uint8Array(8))), 'EIO')
  assert.is(errno(() => sysWrite(root, fd, new Uint8Array(1))), 'EIO')
})

test('an unprivileged process: EACCES on a 0600 root node and on root-only sysfs stores; 0666 and 0444 are fine', () => {
  const { k, user } = setup()
  assert.is(errno(() => sysOpen(k, user, '/dev/vfio/0', O_RDWR)), 'EACCES')
  assert.is(errno(() => sysOpen(k, user, '/dev/vfio/0', O_RDONLY)), 'EACCES')
  assert.ok(sysOpen(k, user, '/dev/vfio/vfio', O_RDWR) >= 3)
  assert.is(errno(() => sysOpen(k, user, '/sys/bus/amba/drivers_probe', O_WRONLY)), 'EACCES')
  assert.is(errno(() => sysOpen(k, user, '/sys/bus/amba/devices/2c0a0000.dma/driver_override', O_WRONLY)), 'EACCES')
  const fd = sysOpen(k, user, '/sys/bus/amba/devices/2c0a0000.dma/driver_override', O_RDONLY)
  assert.is(readAll(user, fd), '(null)\n')
})

test('a node owned by the user is open to them (chown, as vfio.rst suggests)', () => {
  const { k, user } = setup()
  k.devfs.add('vfio/7', { mode: 0o600, uid: 1000, gid: 1000, open: () => ({}) })
  assert.ok(sysOpen(k, user, '/dev/vfio/7', O_RDWR) >= 3)
})

test('open flags: directories, O_NOFOLLOW, O_CREAT, bad access mode', () => {
  const { k, root } = setup()
  const d = sysOpen(k, root, '/sys/bus', O_RDONLY | O_DIRECTORY)
  assert.is(errno(() => sysRead(root, d, new Uint8Array(4))), 'EISDIR')
  assert.is(errno(() => sysOpen(k, root, '/sys/bus', O_WRONLY)), 'EISDIR')
  assert.is(errno(() => sysOpen(k, root, '/dev/vfio/0', O_RDONLY | O_DIRECTORY)), 'ENOTDIR')
  assert.is(errno(() => sysOpen(k, root, '/sys/bus/amba/devices/2c0a0000.dma', O_RDONLY | O_NOFOLLOW)), 'ELOOP')
  assert.is(errno(() => sysOpen(k, root, '/sys/bus/newfile', O_WRONLY | O_CREAT)), 'EACCES')
  // access mode 3: permission checked for both, the fd can neither read nor write
  const io = sysOpen(k, root, '/dev/vfio/0', 3)
  assert.is(errno(() => sysRead(root, io, new Uint8Array(1))), 'EBADF')
  assert.is(errno(() => sysWrite(root, io, new Uint8Array(1))), 'EBADF')
  const user = spawnTask(k, { uid: 1000 })
  assert.is(errno(() => sysOpen(k, user, '/sys/devices/platform/soc/2c0a0000.dma/periphid', 3)), 'EACCES')
})

test.run()
