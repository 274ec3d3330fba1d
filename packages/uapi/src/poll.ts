// poll(2) event bits (include/uapi/asm-generic/poll.h, glibc <poll.h> with
// _GNU_SOURCE). Identical on x86-64 and arm64.

/** There is data to read. */
export const POLLIN = 0x001
/** There is urgent data to read. */
export const POLLPRI = 0x002
/** Writing now will not block. */
export const POLLOUT = 0x004
/** Error condition (output only). */
export const POLLERR = 0x008
/** Hung up (output only). */
export const POLLHUP = 0x010
/** Invalid fd (output only). */
export const POLLNVAL = 0x020
/** Normal data may be read. */
export const POLLRDNORM = 0x040
/** Priority data may be read. */
export const POLLRDBAND = 0x080
/** Writing now will not block. */
export const POLLWRNORM = 0x100
/** Priority data may be written. */
export const POLLWRBAND = 0x200
/** Historical. */
export const POLLMSG = 0x400
/** Historical. */
export const POLLREMOVE = 0x1000
/** Peer closed its writing half. */
export const POLLRDHUP = 0x2000

/** Symbolic POLL* bits. */
export const POLL_FLAGS = {
  POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLRDBAND,
  POLLWRNORM, POLLWRBAND, POLLMSG, POLLREMOVE, POLLRDHUP,
} as const
