/**
 * Models fs/read_write.c: read/write/pread64/pwrite64, with Linux's order of
 * checks: a negative position (EINVAL, pread/pwrite), the fd (EBADF), a
 * positionable file for pread/pwrite (ESPIPE), the fd open for the direction
 * (EBADF), the file implementing it (EINVAL), then the buffer (EFAULT). read/write without a position use and advance the file position.
 *
 * The simulation passes kernel buffers: the syscall layer hands the
 * process's buffer straight to the file operation.
 */
import { kerr } from '../errno.ts'
import type { Task } from '../kernel/sched.ts'
import { fmodeCanRead, fmodeCanWrite } from './file.ts'

/** Largest single transfer (MAX_RW_COUNT = INT_MAX & PAGE_MASK). */
export const MAX_RW_COUNT = 0x7fff_f000

/** 2^63: positions are loff_t (signed 64-bit); from here on they are negative. */
const LOFF_WRAP = 2 ** 63

/** ksys_pread64/ksys_pwrite64: a negative loff_t position is EINVAL (before the fd). */
function checkPos(pos: number | undefined): void {
  if (pos !== undefined && (!Number.isInteger(pos) || pos < 0 || pos >= LOFF_WRAP)) kerr('EINVAL')
}

/** rw_verify_area: pos + count past LLONG_MAX is EINVAL (no file here takes unsigned offsets). */
function checkRange(pos: number | undefined, count: number): void {
  if (pos !== undefined && pos + count >= LOFF_WRAP) kerr('EINVAL')
}

/** read(2) / pread64(2) with `pos`. Returns bytes read into `buf`. */
export function sysRead(task: Task, fd: number, buf: Uint8Array, pos?: number): number {
  checkPos(pos) // ksys_pread64 checks the position before the fd
  const file = task.files.get(fd)
  if (pos !== undefined && file.fops.seekable === false) kerr('ESPIPE')
  if (!fmodeCanRead(file.flags)) kerr('EBADF')
  if (file.fops.read === undefined) kerr('EINVAL')
  if (!(buf instanceof Uint8Array)) kerr('EFAULT')
  checkRange(pos, buf.length)
  const dst = buf.length > MAX_RW_COUNT ? buf.subarray(0, MAX_RW_COUNT) : buf
  file.get()
  try {
    const n = file.fops.read(file, dst, pos ?? file.pos, task)
    if (pos === undefined && file.fops.keepsPosition !== true) file.pos += n
    return n
  } finally {
    file.put()
  }
}

/** write(2) / pwrite64(2) with `pos`. Returns bytes written. */
export function sysWrite(task: Task, fd: number, data: Uint8Array, pos?: number): number {
  checkPos(pos)
  const file = task.files.get(fd)
  if (pos !== undefined && file.fops.seekable === false) kerr('ESPIPE')
  if (!fmodeCanWrite(file.flags)) kerr('EBADF')
  if (file.fops.write === undefined) kerr('EINVAL')
  if (!(data instanceof Uint8Array)) kerr('EFAULT')
  checkRange(pos, data.length)
  const src = data.length > MAX_RW_COUNT ? data.subarray(0, MAX_RW_COUNT) : data
  file.get()
  try {
    const n = file.fops.write(file, src, pos ?? file.pos, task)
    if (pos === undefined && file.fops.keepsPosition !== true) file.pos += n
    return n
  } finally {
    file.put()
  }
}
