/**
 * How kernel code fails: it throws a {@link KernelError} carrying the errno
 * name, as Linux code returns `-EINVAL`. The syscall layer catches it and
 * turns it into the process API's `SysError`; nothing else escapes.
 */

export class KernelError extends Error {
  /** Errno name, as Linux spells it: 'EINVAL', 'EBUSY', … */
  readonly code: string

  constructor(code: string, message?: string) {
    super(message ?? code)
    this.name = 'KernelError'
    this.code = code
  }
}

/** Throws `code` (use as `return kerr('EINVAL')` to keep control flow obvious). */
export function kerr(code: string, message?: string): never {
  throw new KernelError(code, message)
}

/** True if `e` is a kernel error (optionally with the given code). */
export function isKernelError(e: unknown, code?: string): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code)
}
