/**
 * How a failing system call reaches a process: a {@link SysError} shaped as
 * Node's own system errors (`code` 'EINVAL', `errno` 22, `syscall` 'ioctl'),
 * made from the KernelError the kernel threw. A user load/store that would
 * raise SIGSEGV or SIGBUS on Linux becomes a SysError with code 'EFAULT' and
 * the signal named in `signal`.
 */
import { isKernelError, UserFaultError, type UserFault } from '@vfio-sim/kernel'
import { errnoNumber, strerror } from '@vfio-sim/uapi'

/** A failed system call. */
export class SysError extends Error {
  /** Errno name ('EINVAL'). */
  readonly code: string
  /** Errno number (22). */
  readonly errno: number
  /** The call that failed ('ioctl'). */
  readonly syscall: string
  /** The path argument, for path-based calls. */
  readonly path: string | undefined
  /** For a faulting user access: the signal Linux would deliver. */
  readonly signal: UserFault | undefined

  constructor(code: string, syscall: string, opts: { path?: string; signal?: UserFault; detail?: string } = {}) {
    const errno = errnoNumber(code) ?? 0
    const where = opts.path === undefined ? syscall : `${syscall} '${opts.path}'`
    super(`${code}: ${strerror(errno)}, ${where}${opts.detail === undefined ? '' : ` (${opts.detail})`}`)
    this.name = 'SysError'
    this.code = code
    this.errno = errno
    this.syscall = syscall
    this.path = opts.path
    this.signal = opts.signal
  }
}

/**
 * Runs `fn` as system call `syscall`: a KernelError becomes a SysError, a
 * user fault an EFAULT SysError; anything else (a BlockedForeverError, or a
 * simulator bug) propagates unchanged.
 */
export function syscall<T>(name: string, fn: () => T, path?: string): T {
  try {
    return fn()
  } catch (e) {
    if (isKernelError(e)) {
      const detail = e.message !== e.code ? e.message : undefined
      throw new SysError(e.code, name, { ...(typeof path === 'string' ? { path } : {}), ...(detail !== undefined ? { detail } : {}) })
    }
    if (e instanceof UserFaultError) throw new SysError('EFAULT', name, { signal: e.signal, detail: e.message })
    throw e
  }
}
