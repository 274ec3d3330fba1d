/**
 * Models fs/file.c `struct files_struct`: a process's descriptor table. A
 * new descriptor is the lowest free number (alloc_fd); each slot holds a
 * reference to an open file plus its own close-on-exec flag; close() drops
 * the slot's reference (the file is released only when its last reference
 * goes).
 */
import { O_PATH } from '@vfio-sim/uapi'
import { kerr } from '../errno.ts'
import type { OpenFile } from './file.ts'

interface Slot {
  readonly file: OpenFile
  cloexec: boolean
}

export class FdTable {
  private readonly slots: (Slot | undefined)[] = []
  /** Highest fd + 1 allowed (RLIMIT_NOFILE), read at each allocation. */
  private readonly nofile: () => number

  constructor(nofile: () => number) {
    this.nofile = nofile
  }

  /**
   * Installs `file` at the lowest free fd ≥ `minFd`, taking over the caller's
   * reference. EMFILE when the table is full (the reference is then dropped
   * by the caller).
   */
  install(file: OpenFile, cloexec: boolean, minFd = 0): number {
    const limit = this.nofile()
    let fd = minFd
    while (fd < this.slots.length && this.slots[fd] !== undefined) fd++
    if (fd >= limit) kerr('EMFILE')
    this.slots[fd] = { file, cloexec }
    return fd
  }

  /**
   * fdget: the file at `fd` (no new reference); EBADF if not open, and for
   * an O_PATH descriptor, which no read/write/ioctl/mmap/poll may use.
   */
  get(fd: number): OpenFile {
    const file = this.getRaw(fd)
    if ((file.flags & O_PATH) !== 0) return kerr('EBADF')
    return file
  }

  /** fget_raw: the file at `fd`, O_PATH descriptors included (dup, close); EBADF if not open. */
  getRaw(fd: number): OpenFile {
    const s = Number.isInteger(fd) && fd >= 0 ? this.slots[fd] : undefined
    if (s === undefined) return kerr('EBADF')
    return s.file
  }

  /** True if `fd` is open and usable by fdget (not O_PATH). */
  has(fd: number): boolean {
    const s = Number.isInteger(fd) && fd >= 0 ? this.slots[fd] : undefined
    return s !== undefined && (s.file.flags & O_PATH) === 0
  }

  /** The close-on-exec flag of `fd`; EBADF if not open. */
  getCloexec(fd: number): boolean {
    this.getRaw(fd)
    return this.slots[fd]!.cloexec
  }

  /** Sets the close-on-exec flag of `fd`; EBADF if not open. */
  setCloexec(fd: number, on: boolean): void {
    this.getRaw(fd)
    this.slots[fd]!.cloexec = on
  }

  /** close(): frees the slot and drops its reference; EBADF if not open. */
  close(fd: number): void {
    const file = this.getRaw(fd)
    this.slots[fd] = undefined
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop()
    file.put()
  }

  /** Open descriptors, ascending. */
  fds(): number[] {
    const out: number[] = []
    this.slots.forEach((s, i) => {
      if (s !== undefined) out.push(i)
    })
    return out
  }

  /** Closes every descriptor, lowest first (exit_files). */
  closeAll(): void {
    for (const fd of this.fds()) this.close(fd)
  }
}
