/**
 * sysfs attribute files checked against fs/kernfs/file.c: an open file
 * whose node has been removed (kernfs_get_active fails) reads and writes
 * ENODEV (kernfs_seq_start, kernfs_fop_write_iter; before sysfs_kf_write's
 * zero-length shortcut) and polls DEFAULT_POLLMASK|EPOLLERR|EPOLLPRI
 * (kernfs_fop_poll).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { O_RDONLY, O_WRONLY } from '@vfio-sim/uapi'
import { deviceDel, platformBus } from '@vfio-sim/kernel'
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

test('an attribute held open across device removal: read/write ENODEV, poll ERR|PRI', () => {
  const m = boot({ board: 'fvp-mmu400' })
  const p = m.spawn()
  const dir = '/sys/bus/platform/devices/2c0a0000.dma'
  const w = p.open(`${dir}/driver_override`, O_WRONLY)
  const r = p.open(`${dir}/uevent`, O_RDONLY)
  assert.is(p.write(w, 'x\n'), 2)
  const dev = platformBus(m.kernel).findDeviceByName('2c0a0000.dma')!
  deviceDel(dev)
  assert.is(errno(() => p.open(`${dir}/uevent`, O_RDONLY)), 'ENOENT')
  assert.is(errno(() => p.write(w, 'y\n')), 'ENODEV')
  assert.is(errno(() => p.write(w, '')), 'ENODEV')
  assert.is(errno(() => p.read(r, new Uint8Array(64))), 'ENODEV')
  const fds: PollFd[] = [{ fd: r, events: 0x1 }]
  assert.is(p.poll(fds, 0), 1)
  assert.is(fds[0]!.revents, 0x1 | 0x8) // POLLIN (asked) | POLLERR (always reported); PRI not asked
  p.close(w)
  p.close(r)
})


test('uevent write: the action and its arguments each drop one trailing newline, from the original count (kobject_action_type, kobject_action_args)', () => {
  const m = boot({ board: 'fvp-mmu400' })
  const p = m.spawn()
  const file = '/sys/bus/platform/devices/2c0a0000.dma/uevent'
  const uuid = '12345678-1234-1234-1234-123456789abc'
  const w = (s: string): string => errno(() => p.writeFile(file, s))
  assert.is(w(`change ${uuid}\n`), 'ok')
  assert.is(w(`change ${uuid} A=1\n`), 'ok')
  // Two newlines: the arguments keep one, and "\n" is not a ' ' before a KEY=VALUE.
  assert.is(w(`change ${uuid}\n\n`), 'EINVAL')
  assert.is(w(`change ${uuid} A=1\n\n`), 'EINVAL')
  assert.is(w('change\n'), 'ok')
  assert.is(w('change\n\n'), 'EINVAL')
})


test('kernfs_fop_open checks the inode mode chmod left, not the attribute\'s original one', () => {
  const m = boot({ board: 'fvp-mmu400' })
  const root = m.spawn()
  const file = '/sys/bus/platform/devices/2c0a0000.dma/driver_override'
  root.chmod(file, 0o444)
  assert.is(errno(() => root.open(file, O_WRONLY)), 'EACCES')
  root.chmod(file, 0o200)
  assert.is(errno(() => root.open(file, O_RDONLY)), 'EACCES')
  assert.is(errno(() => root.open(file, O_WRONLY)), 'ok')
  // A read-only attribute made writable opens, and its missing store says EIO.
  const modalias = '/sys/bus/platform/devices/2c0a0000.dma/modalias'
  root.chmod(modalias, 0o644)
  const fd = root.open(modalias, O_WRONLY)
  assert.is(errno(() => root.write(fd, 'x')), 'EIO')
})

test.run()
