// eventfd(2) flags (include/linux/eventfd.h, glibc <sys/eventfd.h>), x86-64 values.

/** Reads return 1 and decrement the counter by 1 (semaphore mode). */
export const EFD_SEMAPHORE = 0o1
/** Close on exec (= O_CLOEXEC). */
export const EFD_CLOEXEC = 0o2000000
/** Non-blocking reads/writes (= O_NONBLOCK). */
export const EFD_NONBLOCK = 0o4000

/** Symbolic EFD_* flags. */
export const EFD_FLAGS = { EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK } as const
