/**
 * The system-call layer: one function per call a process makes, taking the
 * calling task. Each returns the call's result or throws a KernelError whose
 * errno the process sees (packages/machine turns it into a SysError).
 * Argument checks follow the order of the Linux entry points they model.
 */
import { PAGE_SIZE } from '@vfio-sim/sim'
import { MAP_ANONYMOUS, MAP_HUGETLB } from '@vfio-sim/uapi'
import { kerr } from '../errno.ts'
import type { Kernel } from '../kernel.ts'
import type { TaskStruct } from '../kernel/fork.ts'
import { sysEventfd2 } from '../fs/eventfd.ts'
import { sysIoctl } from '../fs/ioctl.ts'
import { readdirAt, readlinkAt, sysChmod as chmodAt, sysChown as chownAt } from '../fs/namei.ts'
import { sysOpen } from '../fs/open.ts'
import { sysRead, sysWrite } from '../fs/read_write.ts'
import { sysPoll, type PollFd } from '../fs/select.ts'

export { sysEventfd2, sysIoctl, sysOpen, sysPoll, sysRead, sysWrite }

/** close(2). */
export function sysClose(task: TaskStruct, fd: number): void {
  task.files.close(fd)
}

/** dup(2): the lowest free fd, sharing the open file (close-on-exec clear). */
export function sysDup(task: TaskStruct, fd: number): number {
  const file = task.files.getRaw(fd)
  file.get()
  try {
    return task.files.install(file, false)
  } catch (e) {
    file.put()
    throw e
  }
}

/** 2^64: a C `unsigned long` holds a negative number as its two's complement. */
const ULONG_WRAP = 2 ** 64

/** The value of `v` as a C `unsigned long` (a negative number wraps; floats of that size round). */
function ulong(v: number): number {
  return v < 0 ? v + ULONG_WRAP : v
}

/**
 * mmap(2) (x86-64/arm64 sys_mmap: offset in bytes). Checks as Linux does:
 * the offset's page alignment (EINVAL), then the fd unless MAP_ANONYMOUS
 * (EBADF; an anonymous mapping ignores fd), then do_mmap. Every argument is
 * an `unsigned long`: a negative length or address is a huge one.
 */
export function sysMmap(_kernel: Kernel, task: TaskStruct, addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
  // A C program can only pass integers; anything else is an invalid argument.
  for (const v of [addr, length, prot, flags, offset]) if (!Number.isInteger(v)) kerr('EINVAL')
  if (((offset % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE !== 0) kerr('EINVAL') // off & ~PAGE_MASK, two's complement
  const file = (flags & MAP_ANONYMOUS) !== 0 ? undefined : task.files.get(fd)
  // ksys_mmap_pgoff: MAP_HUGETLB needs a hugetlbfs file, and no file here is one.
  if (file !== undefined && (flags & MAP_HUGETLB) !== 0) kerr('EINVAL')
  return task.mm.mmap({ addr: ulong(addr), length: ulong(length), prot, flags, file, offset: ulong(offset) }, task)
}

/** munmap(2). */
export function sysMunmap(task: TaskStruct, addr: number, length: number): void {
  if (!Number.isInteger(addr) || !Number.isInteger(length) || length < 0) kerr('EINVAL')
  task.mm.munmap(addr, length)
}

/** readlink(2): the target text. */
export function sysReadlink(kernel: Kernel, task: TaskStruct, path: string): string {
  return readlinkAt(kernel, path, task.cred)
}

/** getdents64(2), as the list of names (without "." and ".."). */
export function sysReaddir(kernel: Kernel, task: TaskStruct, path: string): string[] {
  return readdirAt(kernel, path, task.cred)
}

/** chmod(2). */
export function sysChmod(kernel: Kernel, task: TaskStruct, path: string, mode: number): void {
  chmodAt(kernel, task.cred, path, mode)
}

/** chown(2) (-1 keeps a field). */
export function sysChown(kernel: Kernel, task: TaskStruct, path: string, uid: number, gid: number): void {
  chownAt(kernel, task.cred, path, uid, gid)
}

/** poll(2) re-exported with its entry type. */
export type { PollFd }
