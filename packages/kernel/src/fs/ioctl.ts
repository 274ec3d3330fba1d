/**
 * Models fs/ioctl.c do_vfs_ioctl: a few requests are handled by the VFS for
 * every file (FIOCLEX, FIONCLEX, FIONBIO); the rest go to the file's
 * unlocked_ioctl, and a file without one gives ENOTTY (as does a driver's
 * kernel-internal ENOIOCTLCMD).
 */
import { O_NONBLOCK } from '@vfio-sim/uapi'
import { isKernelError, kerr } from '../errno.ts'
import type { Task } from '../kernel/sched.ts'

/** Generic ioctl requests (include/uapi/asm-generic/ioctls.h). */
export const FIONCLEX = 0x5450
export const FIOCLEX = 0x5451
export const FIONBIO = 0x5421

/** ioctl(2): `arg` is the raw unsigned long. */
export function sysIoctl(task: Task, fd: number, cmd: number, arg: number): number {
  const file = task.files.get(fd)
  if (!Number.isInteger(cmd) || !Number.isInteger(arg)) kerr('EINVAL')
  const req = cmd >>> 0 // the kernel takes `unsigned int cmd`
  switch (req) {
    case FIOCLEX:
      task.files.setCloexec(fd, true)
      return 0
    case FIONCLEX:
      task.files.setCloexec(fd, false)
      return 0
    case FIONBIO: {
      const b = task.mm.copyFromUser(arg, 4)
      const on = new DataView(b.buffer).getInt32(0, true) !== 0
      file.flags = on ? file.flags | O_NONBLOCK : file.flags & ~O_NONBLOCK
      return 0
    }
  }
  if (file.fops.ioctl === undefined) kerr('ENOTTY')
  file.get()
  try {
    return file.fops.ioctl(file, req, arg, task)
  } catch (e) {
    if (isKernelError(e, 'ENOIOCTLCMD')) kerr('ENOTTY')
    throw e
  } finally {
    file.put()
  }
}
