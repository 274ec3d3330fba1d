// Shared by the kernel tests: the errno a kernel call fails with, or 'OK'.
import { isKernelError } from '../src/errno.ts'

/** Runs `fn` and returns the KernelError code it threw, or 'OK'. Anything else is rethrown. */
export function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
  return 'OK'
}
