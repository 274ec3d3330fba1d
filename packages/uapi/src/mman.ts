// mmap(2)/mprotect(2) constants as on Linux x86-64
// (include/uapi/asm-generic/mman-common.h, arch/x86 mman.h; glibc <sys/mman.h>).
// arm64 uses the same values except that it has no MAP_32BIT.

/** Pages may not be accessed. */
export const PROT_NONE = 0x0
/** Pages may be read. */
export const PROT_READ = 0x1
/** Pages may be written. */
export const PROT_WRITE = 0x2
/** Pages may be executed. */
export const PROT_EXEC = 0x4
/** Page may be used for atomic ops (x86 historical). */
export const PROT_SEM = 0x8
/** mprotect: extend change to start of growsdown vma. */
export const PROT_GROWSDOWN = 0x01000000
/** mprotect: extend change to end of growsup vma. */
export const PROT_GROWSUP = 0x02000000

/** Share changes. */
export const MAP_SHARED = 0x01
/** Changes are private (copy on write). */
export const MAP_PRIVATE = 0x02
/** Share changes and validate extension flags. */
export const MAP_SHARED_VALIDATE = 0x03
/** Mask of the mapping-type bits. */
export const MAP_TYPE = 0x0f
/** Interpret addr exactly (replacing existing mappings). */
export const MAP_FIXED = 0x10
/** Not backed by a file. */
export const MAP_ANONYMOUS = 0x20
/** Alias of MAP_ANONYMOUS. */
export const MAP_ANON = MAP_ANONYMOUS
/** Only give out 32-bit addresses (x86-64 only). */
export const MAP_32BIT = 0x40
/** Stack-like segment. */
export const MAP_GROWSDOWN = 0x0100
/** Ignored (historical ETXTBSY). */
export const MAP_DENYWRITE = 0x0800
/** Ignored (historical). */
export const MAP_EXECUTABLE = 0x1000
/** Lock the pages (counts against RLIMIT_MEMLOCK). */
export const MAP_LOCKED = 0x2000
/** Do not reserve swap space. */
export const MAP_NORESERVE = 0x4000
/** Pre-fault the page tables. */
export const MAP_POPULATE = 0x8000
/** Do not block on I/O with MAP_POPULATE. */
export const MAP_NONBLOCK = 0x10000
/** Address suitable for a stack. */
export const MAP_STACK = 0x20000
/** Use huge pages. */
export const MAP_HUGETLB = 0x40000
/** Synchronous page faults (DAX, with MAP_SHARED_VALIDATE). */
export const MAP_SYNC = 0x80000
/** Like MAP_FIXED but fail with EEXIST instead of replacing a mapping. */
export const MAP_FIXED_NOREPLACE = 0x100000

/** `MAP_FAILED` is `(void *) -1`: as a 64-bit address, 2^64 − 1. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn

/** Symbolic PROT_* bits for parsing/printing (`PROT_NONE` is the empty set). */
export const PROT_FLAGS = { PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP } as const
/** Symbolic MAP_* flags for parsing/printing (the type field MAP_SHARED/PRIVATE/SHARED_VALIDATE is a value, not bits). */
export const MAP_FLAGS = {
  MAP_FIXED, MAP_ANONYMOUS, MAP_32BIT, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED,
  MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_SYNC, MAP_FIXED_NOREPLACE,
} as const
