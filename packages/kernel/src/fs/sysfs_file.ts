/**
 * Models fs/kernfs/file.c + fs/sysfs/file.c for attribute files: open checks
 * the mode bits against the access asked for, even for root (a write open of
 * a file without any w bit is EACCES); a read at position 0 calls show()
 * once and later reads continue in that text (seq_file); the text is cut to
 * PAGE_SIZE − 1 bytes; a write hands at most PAGE_SIZE bytes to store()
 * (a zero-length write returns 0 without calling it). Missing show/store
 * give EIO, as dev_attr_show/dev_attr_store do.
 */
import { PAGE_SIZE } from '@vfio-sim/sim'
import { kerr } from '../errno.ts'
import { kernfsNodeActive, type KernfsAttr, type KernfsNode } from './kernfs.ts'
import type { FileOperations } from './file.ts'

/** Bytes → the latin1 string store() receives (one char per byte, NULs kept). */
export function bytesToLatin1(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192))
  return s
}

/** latin1 string → bytes (one byte per char, the inverse of bytesToLatin1). */
export function latin1ToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff
  return b
}

/**
 * kernfs_fop_open's extra check: EACCES for read without r bits or write
 * without w bits in the inode's mode (`mode`: the one chmod left; default
 * the attribute's own).
 */
export function sysfsOpenCheck(attr: KernfsAttr, read: boolean, write: boolean, mode: number = attr.mode): void {
  if (write && (mode & 0o222) === 0) kerr('EACCES')
  if (read && (mode & 0o444) === 0) kerr('EACCES')
}

/** DEFAULT_POLLMASK: readable and writable. */
const DEFAULT_POLLMASK = 0x001 | 0x004 | 0x040 | 0x100

/**
 * File operations of one open sysfs attribute. With `node`, a file whose
 * node has been removed since (device or driver gone) fails reads and writes
 * with ENODEV and polls ERR|PRI, as kernfs_get_active failing does.
 */
export function sysfsFileOps(attr: KernfsAttr, node?: KernfsNode): FileOperations {
  let text: Uint8Array | undefined
  const active = (): boolean => node === undefined || kernfsNodeActive(node)
  return {
    read(_file, buf, pos) {
      if (!active()) kerr('ENODEV') // kernfs_seq_start
      if (pos === 0 || text === undefined) {
        if (attr.show === undefined) kerr('EIO')
        let b = latin1ToBytes(attr.show()) // sysfs text is bytes: one char per byte, as store() receives
        if (b.length >= PAGE_SIZE) b = b.subarray(0, PAGE_SIZE - 1) // sysfs warns and truncates
        text = b
      }
      if (pos >= text.length) return 0
      const n = Math.min(buf.length, text.length - pos)
      buf.set(text.subarray(pos, pos + n))
      return n
    },
    write(_file, data) {
      if (!active()) kerr('ENODEV') // kernfs_fop_write_iter, before sysfs_kf_write's count == 0 check
      if (data.length === 0) return 0
      if (attr.store === undefined) kerr('EIO')
      const chunk = data.subarray(0, PAGE_SIZE)
      const n = attr.store(bytesToLatin1(chunk))
      text = undefined
      return n
    },
    poll() {
      // sysfs files are always readable/writable; sysfs_notify wakeups are not modelled.
      // A removed node: DEFAULT_POLLMASK | EPOLLERR | EPOLLPRI (kernfs_fop_poll).
      return active() ? DEFAULT_POLLMASK : DEFAULT_POLLMASK | 0x008 | 0x002
    },
  }
}
