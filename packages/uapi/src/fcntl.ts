// open(2) flags as on Linux x86-64 (include/uapi/asm-generic/fcntl.h; glibc
// <fcntl.h> with _GNU_SOURCE). Octal, like the headers. arm64 differs for
// O_DIRECTORY (040000), O_NOFOLLOW (0100000), O_DIRECT (0200000) and
// O_LARGEFILE (0400000); the emulated process ABI follows x86-64 (docs/decisions/0104).

/** Mask of the access-mode bits. */
export const O_ACCMODE = 0o3
/** Open for reading only. */
export const O_RDONLY = 0o0
/** Open for writing only. */
export const O_WRONLY = 0o1
/** Open for reading and writing. */
export const O_RDWR = 0o2
/** Create the file if it does not exist. */
export const O_CREAT = 0o100
/** With O_CREAT: fail with EEXIST if the file exists. */
export const O_EXCL = 0o200
/** Do not make a terminal the controlling terminal. */
export const O_NOCTTY = 0o400
/** Truncate to length 0. */
export const O_TRUNC = 0o1000
/** Append on each write. */
export const O_APPEND = 0o2000
/** Non-blocking I/O. */
export const O_NONBLOCK = 0o4000
/** Same as O_NONBLOCK on Linux. */
export const O_NDELAY = O_NONBLOCK
/** Synchronized data integrity writes. */
export const O_DSYNC = 0o10000
/** Signal-driven I/O (`FASYNC`). */
export const O_ASYNC = 0o20000
/** Direct I/O, bypassing the page cache (x86-64 value). */
export const O_DIRECT = 0o40000
/** Fail unless the path is a directory (x86-64 value). */
export const O_DIRECTORY = 0o200000
/** Fail if the last path component is a symlink (x86-64 value). */
export const O_NOFOLLOW = 0o400000
/** Do not update the access time. */
export const O_NOATIME = 0o1000000
/** Close on exec. */
export const O_CLOEXEC = 0o2000000
/** Synchronized file integrity writes (`__O_SYNC | O_DSYNC`). */
export const O_SYNC = 0o4010000
/** Same as O_SYNC on Linux. */
export const O_RSYNC = O_SYNC
/** Obtain a path-only descriptor. */
export const O_PATH = 0o10000000
/** Create an unnamed temporary file (`__O_TMPFILE | O_DIRECTORY`). */
export const O_TMPFILE = 0o20200000
/**
 * The kernel's O_LARGEFILE bit on x86-64. glibc defines `O_LARGEFILE` as 0 for
 * 64-bit userspace (it is implied), so this is the kernel-side value.
 */
export const O_LARGEFILE_KERNEL = 0o100000

/** Symbolic open flags (excluding the access mode) for parsing/printing, e.g. `['O_RDWR', 'O_CLOEXEC']`. */
export const OPEN_FLAGS = {
  O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_DIRECT,
  O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_SYNC, O_PATH, O_TMPFILE,
} as const
