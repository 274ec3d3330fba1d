/**
 * Models fs/open.c do_sys_open: resolve the path, check permission, make an
 * open file, let the driver's open run, install the lowest free fd.
 */
import { O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY } from '@vfio-sim/uapi'
import { isKernelError, kerr } from '../errno.ts'
import type { Kernel } from '../kernel.ts'
import type { Task } from '../kernel/sched.ts'
import { fmodeCanRead, fmodeCanWrite, OpenFile, type FileOperations } from './file.ts'
import { dentryIsDir, inodeMode, lookup, MAY_EXEC, MAY_READ, MAY_WRITE, permission, type Dentry } from './namei.ts'
import { sysfsFileOps, sysfsOpenCheck } from './sysfs_file.ts'

/** A directory opened for reading: read() is EISDIR. */
const DIR_FOPS: FileOperations = {
  read: () => kerr('EISDIR'),
  write: () => kerr('EISDIR'),
}

/** True if everything of `path` but its last name resolves to a directory. */
function parentIsDir(kernel: Kernel, path: string): boolean {
  const parts = path.split('\0')[0]!.split('/')
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  parts.pop()
  try {
    return dentryIsDir(lookup(kernel, parts.join('/') === '' ? '/' : parts.join('/')))
  } catch {
    return false
  }
}

/** O_PATH keeps only these flags (build_open_how: O_PATH_FLAGS). */
const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC

/**
 * do_o_path: an fd naming the path alone. The walk's search permission
 * applies, the node's own permission and the driver's open do not; with
 * O_NOFOLLOW a final symlink is the result. Such an fd can be dup'ed and
 * closed; everything else that needs the file sees EBADF (FdTable.get).
 */
function openPath(kernel: Kernel, task: Task, path: string, flags: number): OpenFile {
  flags &= O_PATH_FLAGS
  const d = lookup(kernel, path, (flags & O_NOFOLLOW) === 0, task.cred)
  const isDir = dentryIsDir(d)
  if ((flags & O_DIRECTORY) !== 0 && !isDir) kerr('ENOTDIR')
  const file = new OpenFile({}, flags & ~O_CLOEXEC, d.path)
  file.inodeType = isDir ? 'dir' : d.kind === 'dev' ? 'chr' : 'reg'
  return file
}

/** The bit of O_TMPFILE that is not O_DIRECTORY. */
const __O_TMPFILE = O_TMPFILE & ~O_DIRECTORY

/**
 * O_TMPFILE (build_open_flags, do_tmpfile, vfs_tmpfile): it needs
 * O_DIRECTORY without O_CREAT and a writing access mode (EINVAL), a
 * directory (ENOTDIR), write and search permission on it (EACCES), and a
 * filesystem with ->tmpfile: none here has one (EOPNOTSUPP; Linux's
 * devtmpfs does, unnamed files are not modelled).
 */
function openTmpfile(kernel: Kernel, task: Task, path: string, flags: number): never {
  if ((flags & (O_TMPFILE | O_CREAT)) !== O_TMPFILE) kerr('EINVAL')
  const acc = flags & O_ACCMODE
  if (acc === O_RDONLY) kerr('EINVAL')
  const d = lookup(kernel, path, true, task.cred)
  if (!dentryIsDir(d)) kerr('ENOTDIR')
  permission(d, task.cred, MAY_WRITE | MAY_EXEC)
  return kerr('EOPNOTSUPP')
}

/** Opens `path` for `task`; returns the new (not yet installed) file holding one reference. */
export function doFilpOpen(kernel: Kernel, task: Task, path: string, flags: number): OpenFile {
  if (!Number.isInteger(flags)) kerr('EINVAL')
  // build_open_flags (v6.4): O_DIRECTORY | O_CREAT is refused before any lookup.
  if (kernel.profile === 'upstream' && (flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) kerr('EINVAL')
  if ((flags & O_PATH) !== 0) return openPath(kernel, task, path, flags)
  if ((flags & __O_TMPFILE) !== 0) return openTmpfile(kernel, task, path, flags)
  // Access mode 3 is Linux's "ioctl only" mode: permission for read and
  // write is checked, but the fd can do neither.
  const acc = flags & O_ACCMODE
  let d: Dentry
  try {
    d = lookup(kernel, path, (flags & O_NOFOLLOW) === 0, task.cred)
  } catch (e) {
    // Nothing here can be created: O_CREAT on a missing last name in an
    // existing directory is EACCES (lookup_open: no ->create). A missing
    // directory on the way stays ENOENT (link_path_walk).
    if ((flags & O_CREAT) !== 0 && isKernelError(e, 'ENOENT') && parentIsDir(kernel, path)) kerr('EACCES')
    throw e
  }
  // do_open's order: O_CREAT (EEXIST, EISDIR), O_DIRECTORY (ENOTDIR), then
  // may_open (a symlink reached with O_NOFOLLOW: ELOOP; a directory for
  // writing: EISDIR).
  const isDir = dentryIsDir(d)
  if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) kerr('EEXIST')
  if ((flags & O_CREAT) !== 0 && isDir) kerr('EISDIR')
  if ((flags & O_DIRECTORY) !== 0 && !isDir) kerr('ENOTDIR')
  if (d.kind === 'sys' && d.node.kind === 'link') kerr('ELOOP')
  if (isDir && (acc === O_WRONLY || acc === O_RDWR || (flags & O_TRUNC) !== 0)) kerr('EISDIR')

  const read = fmodeCanRead(flags)
  const write = fmodeCanWrite(flags)
  const ioctlOnly = acc === O_ACCMODE
  // build_open_flags: O_TRUNC asks for write permission whatever the access mode.
  const wantWrite = write || ioctlOnly || (flags & O_TRUNC) !== 0
  permission(d, task.cred, (read || ioctlOnly ? MAY_READ : 0) | (wantWrite ? MAY_WRITE : 0))

  const storedFlags = flags & ~O_CLOEXEC
  if (isDir) {
    const dir = new OpenFile(DIR_FOPS, storedFlags, d.path)
    dir.inodeType = 'dir'
    return dir
  }
  if (d.kind === 'sys' && d.node.kind === 'file') {
    sysfsOpenCheck(d.node.attr, read, write, inodeMode(d).mode)
    const attr = new OpenFile(sysfsFileOps(d.node.attr, d.node), storedFlags, d.path)
    attr.inodeType = 'reg'
    return attr
  }
  if (d.kind === 'dev') {
    const file = new OpenFile({}, storedFlags, d.path)
    file.inodeType = 'chr'
    file.fops = d.node.open({ file, task, flags })
    return file
  }
  return kerr('ENXIO')
}

/** open(2): returns the new fd. */
export function sysOpen(kernel: Kernel, task: Task, path: string, flags: number): number {
  const file = doFilpOpen(kernel, task, path, flags)
  try {
    return task.files.install(file, (flags & O_CLOEXEC) !== 0)
  } catch (e) {
    file.put()
    throw e
  }
}
