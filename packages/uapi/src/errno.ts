// Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h,
// shared by x86-64 and arm64) with glibc's strerror() text, plus the few
// kernel-internal codes (include/linux/errno.h) that a kernel model meets.
// Generated once from those headers' lists; test/header-parity.test.ts checks
// every user-visible number and message against <errno.h> and strerror().

/** 1: Operation not permitted. */
export const EPERM = 1
/** 2: No such file or directory. */
export const ENOENT = 2
/** 3: No such process. */
export const ESRCH = 3
/** 4: Interrupted system call. */
export const EINTR = 4
/** 5: Input/output error. */
export const EIO = 5
/** 6: No such device or address. */
export const ENXIO = 6
/** 7: Argument list too long. */
export const E2BIG = 7
/** 8: Exec format error. */
export const ENOEXEC = 8
/** 9: Bad file descriptor. */
export const EBADF = 9
/** 10: No child processes. */
export const ECHILD = 10
/** 11: Resource temporarily unavailable. */
export const EAGAIN = 11
/** 12: Cannot allocate memory. */
export const ENOMEM = 12
/** 13: Permission denied. */
export const EACCES = 13
/** 14: Bad address. */
export const EFAULT = 14
/** 15: Block device required. */
export const ENOTBLK = 15
/** 16: Device or resource busy. */
export const EBUSY = 16
/** 17: File exists. */
export const EEXIST = 17
/** 18: Invalid cross-device link. */
export const EXDEV = 18
/** 19: No such device. */
export const ENODEV = 19
/** 20: Not a directory. */
export const ENOTDIR = 20
/** 21: Is a directory. */
export const EISDIR = 21
/** 22: Invalid argument. */
export const EINVAL = 22
/** 23: Too many open files in system. */
export const ENFILE = 23
/** 24: Too many open files. */
export const EMFILE = 24
/** 25: Inappropriate ioctl for device. */
export const ENOTTY = 25
/** 26: Text file busy. */
export const ETXTBSY = 26
/** 27: File too large. */
export const EFBIG = 27
/** 28: No space left on device. */
export const ENOSPC = 28
/** 29: Illegal seek. */
export const ESPIPE = 29
/** 30: Read-only file system. */
export const EROFS = 30
/** 31: Too many links. */
export const EMLINK = 31
/** 32: Broken pipe. */
export const EPIPE = 32
/** 33: Numerical argument out of domain. */
export const EDOM = 33
/** 34: Numerical result out of range. */
export const ERANGE = 34
/** 35: Resource deadlock avoided. */
export const EDEADLK = 35
/** 36: File name too long. */
export const ENAMETOOLONG = 36
/** 37: No locks available. */
export const ENOLCK = 37
/** 38: Function not implemented. */
export const ENOSYS = 38
/** 39: Directory not empty. */
export const ENOTEMPTY = 39
/** 40: Too many levels of symbolic links. */
export const ELOOP = 40
/** 42: No message of desired type. */
export const ENOMSG = 42
/** 43: Identifier removed. */
export const EIDRM = 43
/** 44: Channel number out of range. */
export const ECHRNG = 44
/** 45: Level 2 not synchronized. */
export const EL2NSYNC = 45
/** 46: Level 3 halted. */
export const EL3HLT = 46
/** 47: Level 3 reset. */
export const EL3RST = 47
/** 48: Link number out of range. */
export const ELNRNG = 48
/** 49: Protocol driver not attached. */
export const EUNATCH = 49
/** 50: No CSI structure available. */
export const ENOCSI = 50
/** 51: Level 2 halted. */
export const EL2HLT = 51
/** 52: Invalid exchange. */
export const EBADE = 52
/** 53: Invalid request descriptor. */
export const EBADR = 53
/** 54: Exchange full. */
export const EXFULL = 54
/** 55: No anode. */
export const ENOANO = 55
/** 56: Invalid request code. */
export const EBADRQC = 56
/** 57: Invalid slot. */
export const EBADSLT = 57
/** 59: Bad font file format. */
export const EBFONT = 59
/** 60: Device not a stream. */
export const ENOSTR = 60
/** 61: No data available. */
export const ENODATA = 61
/** 62: Timer expired. */
export const ETIME = 62
/** 63: Out of streams resources. */
export const ENOSR = 63
/** 64: Machine is not on the network. */
export const ENONET = 64
/** 65: Package not installed. */
export const ENOPKG = 65
/** 66: Object is remote. */
export const EREMOTE = 66
/** 67: Link has been severed. */
export const ENOLINK = 67
/** 68: Advertise error. */
export const EADV = 68
/** 69: Srmount error. */
export const ESRMNT = 69
/** 70: Communication error on send. */
export const ECOMM = 70
/** 71: Protocol error. */
export const EPROTO = 71
/** 72: Multihop attempted. */
export const EMULTIHOP = 72
/** 73: RFS specific error. */
export const EDOTDOT = 73
/** 74: Bad message. */
export const EBADMSG = 74
/** 75: Value too large for defined data type. */
export const EOVERFLOW = 75
/** 76: Name not unique on network. */
export const ENOTUNIQ = 76
/** 77: File descriptor in bad state. */
export const EBADFD = 77
/** 78: Remote address changed. */
export const EREMCHG = 78
/** 79: Can not access a needed shared library. */
export const ELIBACC = 79
/** 80: Accessing a corrupted shared library. */
export const ELIBBAD = 80
/** 81: .lib section in a.out corrupted. */
export const ELIBSCN = 81
/** 82: Attempting to link in too many shared libraries. */
export const ELIBMAX = 82
/** 83: Cannot exec a shared library directly. */
export const ELIBEXEC = 83
/** 84: Invalid or incomplete multibyte or wide character. */
export const EILSEQ = 84
/** 85: Interrupted system call should be restarted. */
export const ERESTART = 85
/** 86: Streams pipe error. */
export const ESTRPIPE = 86
/** 87: Too many users. */
export const EUSERS = 87
/** 88: Socket operation on non-socket. */
export const ENOTSOCK = 88
/** 89: Destination address required. */
export const EDESTADDRREQ = 89
/** 90: Message too long. */
export const EMSGSIZE = 90
/** 91: Protocol wrong type for socket. */
export const EPROTOTYPE = 91
/** 92: Protocol not available. */
export const ENOPROTOOPT = 92
/** 93: Protocol not supported. */
export const EPROTONOSUPPORT = 93
/** 94: Socket type not supported. */
export const ESOCKTNOSUPPORT = 94
/** 95: Operation not supported. */
export const EOPNOTSUPP = 95
/** 96: Protocol family not supported. */
export const EPFNOSUPPORT = 96
/** 97: Address family not supported by protocol. */
export const EAFNOSUPPORT = 97
/** 98: Address already in use. */
export const EADDRINUSE = 98
/** 99: Cannot assign requested address. */
export const EADDRNOTAVAIL = 99
/** 100: Network is down. */
export const ENETDOWN = 100
/** 101: Network is unreachable. */
export const ENETUNREACH = 101
/** 102: Network dropped connection on reset. */
export const ENETRESET = 102
/** 103: Software caused connection abort. */
export const ECONNABORTED = 103
/** 104: Connection reset by peer. */
export const ECONNRESET = 104
/** 105: No buffer space available. */
export const ENOBUFS = 105
/** 106: Transport endpoint is already connected. */
export const EISCONN = 106
/** 107: Transport endpoint is not connected. */
export const ENOTCONN = 107
/** 108: Cannot send after transport endpoint shutdown. */
export const ESHUTDOWN = 108
/** 109: Too many references: cannot splice. */
export const ETOOMANYREFS = 109
/** 110: Connection timed out. */
export const ETIMEDOUT = 110
/** 111: Connection refused. */
export const ECONNREFUSED = 111
/** 112: Host is down. */
export const EHOSTDOWN = 112
/** 113: No route to host. */
export const EHOSTUNREACH = 113
/** 114: Operation already in progress. */
export const EALREADY = 114
/** 115: Operation now in progress. */
export const EINPROGRESS = 115
/** 116: Stale file handle. */
export const ESTALE = 116
/** 117: Structure needs cleaning. */
export const EUCLEAN = 117
/** 118: Not a XENIX named type file. */
export const ENOTNAM = 118
/** 119: No XENIX semaphores available. */
export const ENAVAIL = 119
/** 120: Is a named type file. */
export const EISNAM = 120
/** 121: Remote I/O error. */
export const EREMOTEIO = 121
/** 122: Disk quota exceeded. */
export const EDQUOT = 122
/** 123: No medium found. */
export const ENOMEDIUM = 123
/** 124: Wrong medium type. */
export const EMEDIUMTYPE = 124
/** 125: Operation canceled. */
export const ECANCELED = 125
/** 126: Required key not available. */
export const ENOKEY = 126
/** 127: Key has expired. */
export const EKEYEXPIRED = 127
/** 128: Key has been revoked. */
export const EKEYREVOKED = 128
/** 129: Key was rejected by service. */
export const EKEYREJECTED = 129
/** 130: Owner died. */
export const EOWNERDEAD = 130
/** 131: State not recoverable. */
export const ENOTRECOVERABLE = 131
/** 132: Operation not possible due to RF-kill. */
export const ERFKILL = 132
/** 133: Memory page has hardware error. */
export const EHWPOISON = 133
/** 512: Restart the system call (kernel-internal; never seen by userspace). */
export const ERESTARTSYS = 512
/** 515: No ioctl command (kernel-internal; the VFS turns it into ENOTTY). */
export const ENOIOCTLCMD = 515
/** 517: Driver requests probe retry (kernel-internal). */
export const EPROBE_DEFER = 517
/** 524: Operation is not supported (kernel-internal NFSv3 code; not ENOTSUP). */
export const ENOTSUPP = 524

/** `EWOULDBLOCK` is `EAGAIN` on Linux. */
export const EWOULDBLOCK = EAGAIN
/** `EDEADLOCK` is `EDEADLK` on x86-64 and arm64. */
export const EDEADLOCK = EDEADLK
/** `ENOTSUP` is `EOPNOTSUPP` on Linux (unlike the kernel-internal `ENOTSUPP`, 524). */
export const ENOTSUP = EOPNOTSUPP

/** Every canonical errno name → number (aliases excluded; see {@link ERRNO_ALIASES}). */
export const ERRNO = {
  EPERM,
  ENOENT,
  ESRCH,
  EINTR,
  EIO,
  ENXIO,
  E2BIG,
  ENOEXEC,
  EBADF,
  ECHILD,
  EAGAIN,
  ENOMEM,
  EACCES,
  EFAULT,
  ENOTBLK,
  EBUSY,
  EEXIST,
  EXDEV,
  ENODEV,
  ENOTDIR,
  EISDIR,
  EINVAL,
  ENFILE,
  EMFILE,
  ENOTTY,
  ETXTBSY,
  EFBIG,
  ENOSPC,
  ESPIPE,
  EROFS,
  EMLINK,
  EPIPE,
  EDOM,
  ERANGE,
  EDEADLK,
  ENAMETOOLONG,
  ENOLCK,
  ENOSYS,
  ENOTEMPTY,
  ELOOP,
  ENOMSG,
  EIDRM,
  ECHRNG,
  EL2NSYNC,
  EL3HLT,
  EL3RST,
  ELNRNG,
  EUNATCH,
  ENOCSI,
  EL2HLT,
  EBADE,
  EBADR,
  EXFULL,
  ENOANO,
  EBADRQC,
  EBADSLT,
  EBFONT,
  ENOSTR,
  ENODATA,
  ETIME,
  ENOSR,
  ENONET,
  ENOPKG,
  EREMOTE,
  ENOLINK,
  EADV,
  ESRMNT,
  ECOMM,
  EPROTO,
  EMULTIHOP,
  EDOTDOT,
  EBADMSG,
  EOVERFLOW,
  ENOTUNIQ,
  EBADFD,
  EREMCHG,
  ELIBACC,
  ELIBBAD,
  ELIBSCN,
  ELIBMAX,
  ELIBEXEC,
  EILSEQ,
  ERESTART,
  ESTRPIPE,
  EUSERS,
  ENOTSOCK,
  EDESTADDRREQ,
  EMSGSIZE,
  EPROTOTYPE,
  ENOPROTOOPT,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  EOPNOTSUPP,
  EPFNOSUPPORT,
  EAFNOSUPPORT,
  EADDRINUSE,
  EADDRNOTAVAIL,
  ENETDOWN,
  ENETUNREACH,
  ENETRESET,
  ECONNABORTED,
  ECONNRESET,
  ENOBUFS,
  EISCONN,
  ENOTCONN,
  ESHUTDOWN,
  ETOOMANYREFS,
  ETIMEDOUT,
  ECONNREFUSED,
  EHOSTDOWN,
  EHOSTUNREACH,
  EALREADY,
  EINPROGRESS,
  ESTALE,
  EUCLEAN,
  ENOTNAM,
  ENAVAIL,
  EISNAM,
  EREMOTEIO,
  EDQUOT,
  ENOMEDIUM,
  EMEDIUMTYPE,
  ECANCELED,
  ENOKEY,
  EKEYEXPIRED,
  EKEYREVOKED,
  EKEYREJECTED,
  EOWNERDEAD,
  ENOTRECOVERABLE,
  ERFKILL,
  EHWPOISON,
  ERESTARTSYS,
  ENOIOCTLCMD,
  EPROBE_DEFER,
  ENOTSUPP,
} as const

/** A canonical Linux errno name, e.g. `'EINVAL'`. */
export type ErrnoName = keyof typeof ERRNO

/** Alias names that share a number with a canonical name. */
export const ERRNO_ALIASES = { EWOULDBLOCK, EDEADLOCK, ENOTSUP } as const

/** Names of the kernel-internal codes (≥ 512), which userspace never sees. */
export const KERNEL_INTERNAL_ERRNOS: readonly ErrnoName[] = ['ERESTARTSYS', 'ENOIOCTLCMD', 'EPROBE_DEFER', 'ENOTSUPP']

const MESSAGES: ReadonlyMap<number, string> = new Map([
  [1, "Operation not permitted"],
  [2, "No such file or directory"],
  [3, "No such process"],
  [4, "Interrupted system call"],
  [5, "Input/output error"],
  [6, "No such device or address"],
  [7, "Argument list too long"],
  [8, "Exec format error"],
  [9, "Bad file descriptor"],
  [10, "No child processes"],
  [11, "Resource temporarily unavailable"],
  [12, "Cannot allocate memory"],
  [13, "Permission denied"],
  [14, "Bad address"],
  [15, "Block device required"],
  [16, "Device or resource busy"],
  [17, "File exists"],
  [18, "Invalid cross-device link"],
  [19, "No such device"],
  [20, "Not a directory"],
  [21, "Is a directory"],
  [22, "Invalid argument"],
  [23, "Too many open files in system"],
  [24, "Too many open files"],
  [25, "Inappropriate ioctl for device"],
  [26, "Text file busy"],
  [27, "File too large"],
  [28, "No space left on device"],
  [29, "Illegal seek"],
  [30, "Read-only file system"],
  [31, "Too many links"],
  [32, "Broken pipe"],
  [33, "Numerical argument out of domain"],
  [34, "Numerical result out of range"],
  [35, "Resource deadlock avoided"],
  [36, "File name too long"],
  [37, "No locks available"],
  [38, "Function not implemented"],
  [39, "Directory not empty"],
  [40, "Too many levels of symbolic links"],
  [42, "No message of desired type"],
  [43, "Identifier removed"],
  [44, "Channel number out of range"],
  [45, "Level 2 not synchronized"],
  [46, "Level 3 halted"],
  [47, "Level 3 reset"],
  [48, "Link number out of range"],
  [49, "Protocol driver not attached"],
  [50, "No CSI structure available"],
  [51, "Level 2 halted"],
  [52, "Invalid exchange"],
  [53, "Invalid request descriptor"],
  [54, "Exchange full"],
  [55, "No anode"],
  [56, "Invalid request code"],
  [57, "Invalid slot"],
  [59, "Bad font file format"],
  [60, "Device not a stream"],
  [61, "No data available"],
  [62, "Timer expired"],
  [63, "Out of streams resources"],
  [64, "Machine is not on the network"],
  [65, "Package not installed"],
  [66, "Object is remote"],
  [67, "Link has been severed"],
  [68, "Advertise error"],
  [69, "Srmount error"],
  [70, "Communication error on send"],
  [71, "Protocol error"],
  [72, "Multihop attempted"],
  [73, "RFS specific error"],
  [74, "Bad message"],
  [75, "Value too large for defined data type"],
  [76, "Name not unique on network"],
  [77, "File descriptor in bad state"],
  [78, "Remote address changed"],
  [79, "Can not access a needed shared library"],
  [80, "Accessing a corrupted shared library"],
  [81, ".lib section in a.out corrupted"],
  [82, "Attempting to link in too many shared libraries"],
  [83, "Cannot exec a shared library directly"],
  [84, "Invalid or incomplete multibyte or wide character"],
  [85, "Interrupted system call should be restarted"],
  [86, "Streams pipe error"],
  [87, "Too many users"],
  [88, "Socket operation on non-socket"],
  [89, "Destination address required"],
  [90, "Message too long"],
  [91, "Protocol wrong type for socket"],
  [92, "Protocol not available"],
  [93, "Protocol not supported"],
  [94, "Socket type not supported"],
  [95, "Operation not supported"],
  [96, "Protocol family not supported"],
  [97, "Address family not supported by protocol"],
  [98, "Address already in use"],
  [99, "Cannot assign requested address"],
  [100, "Network is down"],
  [101, "Network is unreachable"],
  [102, "Network dropped connection on reset"],
  [103, "Software caused connection abort"],
  [104, "Connection reset by peer"],
  [105, "No buffer space available"],
  [106, "Transport endpoint is already connected"],
  [107, "Transport endpoint is not connected"],
  [108, "Cannot send after transport endpoint shutdown"],
  [109, "Too many references: cannot splice"],
  [110, "Connection timed out"],
  [111, "Connection refused"],
  [112, "Host is down"],
  [113, "No route to host"],
  [114, "Operation already in progress"],
  [115, "Operation now in progress"],
  [116, "Stale file handle"],
  [117, "Structure needs cleaning"],
  [118, "Not a XENIX named type file"],
  [119, "No XENIX semaphores available"],
  [120, "Is a named type file"],
  [121, "Remote I/O error"],
  [122, "Disk quota exceeded"],
  [123, "No medium found"],
  [124, "Wrong medium type"],
  [125, "Operation canceled"],
  [126, "Required key not available"],
  [127, "Key has expired"],
  [128, "Key has been revoked"],
  [129, "Key was rejected by service"],
  [130, "Owner died"],
  [131, "State not recoverable"],
  [132, "Operation not possible due to RF-kill"],
  [133, "Memory page has hardware error"],
  [512, "Restart the system call"],
  [515, "No ioctl command"],
  [517, "Driver requests probe retry"],
  [524, "Operation is not supported"],
])

const NAMES: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.entries(ERRNO) as Array<[ErrnoName, number]>).map(([name, n]) => [n, name]),
)

/**
 * The canonical name of an errno number (`22 → 'EINVAL'`). Accepts a
 * negative kernel return value too (`-22 → 'EINVAL'`). `undefined` if unknown.
 */
export function errnoName(errno: number): ErrnoName | undefined {
  return NAMES.get(Math.abs(errno))
}

/**
 * The number of an errno name, canonical or alias (`'EINVAL' → 22`,
 * `'EWOULDBLOCK' → 11`). `undefined` if unknown.
 */
export function errnoNumber(name: string): number | undefined {
  if (Object.hasOwn(ERRNO, name)) return ERRNO[name as ErrnoName]
  if (Object.hasOwn(ERRNO_ALIASES, name)) return ERRNO_ALIASES[name as keyof typeof ERRNO_ALIASES]
  return undefined
}

/**
 * glibc's `strerror()` text for an errno (`22 → 'Invalid argument'`); accepts
 * negative values. Unknown numbers give `'Unknown error N'`, as glibc does.
 * Kernel-internal codes get the comment text of include/linux/errno.h.
 */
export function strerror(errno: number): string {
  const n = Math.abs(errno)
  return MESSAGES.get(n) ?? `Unknown error ${n}`
}
