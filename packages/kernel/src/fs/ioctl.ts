/**
 * Models fs/ioctl.c do_vfs_ioctl: a few requests are handled by the VFS for
 * every file (FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE, FIGETBSZ,
 * FIFREEZE, FITHAW); the rest go to the file's
 * unlocked_ioctl, and a file without one gives ENOTTY (as does a driver's
 * kernel-internal ENOIOCTLCMD).
 */
import { O_NONBLOCK } from '@vfio-sim/uapi'
import { isKernelError, kerr } from '../errno.ts'
import { capable } from '../kernel/cred.ts'
import type { Task } from '../kernel/sched.ts'

/** Generic ioctl requests (include/uapi/asm-generic/ioctls.h). */
export const FIONCLEX = 0x5450
export const FIOCLEX = 0x5451
export const FIONBIO = 0x5421
export const FIOASYNC = 0x5452
export const FIOQSIZE = 0x5460
/** include/uapi/linux/fs.h: _IO(0x00, 2), _IOWR('X', 119, int), _IOWR('X', 120, int). */
export const FIGETBSZ = 2
export const FIFREEZE = 0xc004_5877
export const FITHAW = 0xc004_5878

/** s_blocksize of every filesystem here (sysfs, devtmpfs, anon_inodefs): PAGE_SIZE. */
const BLOCKSIZE = 4096

function i32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, n, true)
  return b
}

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
    case FIOASYNC: {
      // ioctl_fioasync: only a change of FASYNC needs ->fasync, which no file here has.
      const b = task.mm.copyFromUser(arg, 4)
      const on = new DataView(b.buffer).getInt32(0, true) !== 0
      if (on) kerr('ENOTTY')
      return 0
    }
    case FIOQSIZE:
      // Directories and regular files report their bytes (none here); others ENOTTY.
      if (file.inodeType !== 'dir' && file.inodeType !== 'reg') kerr('ENOTTY')
      task.mm.copyToUser(arg, new Uint8Array(8))
      return 0
    case FIGETBSZ:
      task.mm.copyToUser(arg, i32(BLOCKSIZE))
      return 0
    case FIFREEZE:
    case FITHAW:
      // ioctl_fsfreeze / ioctl_fsthaw: no filesystem here can freeze, so none is ever frozen.
      if (!capable(task.cred, 'CAP_SYS_ADMIN')) kerr('EPERM')
      return kerr(req === FIFREEZE ? 'EOPNOTSUPP' : 'EINVAL')
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
