// getrlimit(2) resources (include/uapi/asm-generic/resource.h; x86-64 and arm64 agree).

/** CPU time in seconds. */
export const RLIMIT_CPU = 0
/** Maximum file size. */
export const RLIMIT_FSIZE = 1
/** Maximum data segment size. */
export const RLIMIT_DATA = 2
/** Maximum stack size. */
export const RLIMIT_STACK = 3
/** Maximum core file size. */
export const RLIMIT_CORE = 4
/** Maximum resident set size. */
export const RLIMIT_RSS = 5
/** Maximum number of processes. */
export const RLIMIT_NPROC = 6
/** Maximum number of open files. */
export const RLIMIT_NOFILE = 7
/** Maximum locked-in-memory bytes: limits type1 DMA pinning without CAP_IPC_LOCK. */
export const RLIMIT_MEMLOCK = 8
/** Address space limit. */
export const RLIMIT_AS = 9
/** `RLIM_INFINITY` (`~0UL` on 64-bit). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn
