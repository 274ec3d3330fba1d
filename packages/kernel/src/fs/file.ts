/**
 * Models include/linux/fs.h `struct file` / `struct file_operations` and
 * fs/file_table.c: an open file is a refcounted object shared by every fd
 * (and every kernel reference) that points at it; `release` runs when the
 * last reference goes, not at `close()` of one fd.
 */
import { O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY } from '@vfio-sim/uapi'
import type { Task } from '../kernel/sched.ts'
import type { Vma } from '../mm/vma.ts'

/** poll() event bits the kernel reports (include/uapi/asm-generic/poll.h). */
export const POLL = { IN: 0x001, PRI: 0x002, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020, RDNORM: 0x040, WRNORM: 0x100 } as const

/**
 * What a driver or filesystem implements for its files. Every method may
 * throw a KernelError (its errno reaches the process); a missing method gives
 * Linux's default errno (read/write EINVAL, ioctl ENOTTY, mmap ENODEV).
 */
export interface FileOperations {
  /** Reads up to `buf.length` bytes at `pos` into the kernel buffer `buf`; returns the count. */
  read?(file: OpenFile, buf: Uint8Array, pos: number, task: Task): number
  /** Writes `data` at `pos`; returns bytes consumed. */
  write?(file: OpenFile, data: Uint8Array, pos: number, task: Task): number
  /**
   * unlocked_ioctl: `arg` is the raw unsigned long (an integer or a user
   * address: use `task.mm.copyFromUser/copyToUser`). Returns the syscall's
   * non-negative result.
   */
  ioctl?(file: OpenFile, cmd: number, arg: number, task: Task): number
  /** Sets up `vma` (e.g. with remapPfnRange) or throws. */
  mmap?(file: OpenFile, vma: Vma, task: Task): void
  /** Current readiness mask (POLL.IN, …); never blocks. */
  poll?(file: OpenFile, task: Task): number
  /** Last reference gone. */
  release?(file: OpenFile): void
  /** Whether pread/pwrite (and a position) make sense; false gives ESPIPE for pread/pwrite (default true). */
  readonly seekable?: boolean
  /**
   * True for drivers whose read/write never move `*ppos` (vfio-platform's
   * read and write take the offset but do not update it), so read(2) and
   * write(2) without a position keep using the same offset. Default false:
   * the file position advances by the count, as most drivers do.
   */
  readonly keepsPosition?: boolean
}

let nextFileId = 1

/** An open file description (`struct file`). */
export class OpenFile {
  /** Unique id, for traces and tests. */
  readonly id = nextFileId++
  /** The operations (set by the driver's open; replace_fops may change them). */
  fops: FileOperations
  /** open() flags (access mode, O_NONBLOCK, …; O_CLOEXEC lives on the fd, not here). */
  flags: number
  /** File position (f_pos) for read/write without an explicit position. */
  pos = 0
  /** Driver's private data (file->private_data). */
  priv: unknown = undefined
  /** Path it was opened by (for /proc-like diagnostics and messages). */
  readonly path: string
  /**
   * The inode's type (S_IFMT): a sysfs attribute is a regular file, a /dev
   * node a character device; eventfd and VFIO device files are anonymous
   * inodes, which have no type bits. do_vfs_ioctl (FIOQSIZE) looks at it.
   */
  inodeType: 'reg' | 'dir' | 'chr' | 'anon' = 'anon'

  /** References: fds in any table, plus kernel gets (fget/fput). */
  private refs = 1
  private released = false

  constructor(fops: FileOperations, flags: number, path: string) {
    this.fops = fops
    this.flags = flags
    this.path = path
  }

  /** Current reference count. */
  get refcount(): number {
    return this.refs
  }

  /** True once the last reference went and release ran. */
  get isReleased(): boolean {
    return this.released
  }

  /** Takes a reference (get_file). */
  get(): this {
    this.refs++
    return this
  }

  /** Drops a reference (fput); the last one calls `fops.release`. */
  put(): void {
    if (this.released) return
    if (--this.refs > 0) return
    this.released = true
    this.fops.release?.(this)
  }
}

/** True if `flags` allow reading. */
export function fmodeCanRead(flags: number): boolean {
  const acc = flags & O_ACCMODE
  return acc === O_RDONLY || acc === O_RDWR
}

/** True if `flags` allow writing. */
export function fmodeCanWrite(flags: number): boolean {
  const acc = flags & O_ACCMODE
  return acc === O_WRONLY || acc === O_RDWR
}
