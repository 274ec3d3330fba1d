/**
 * copy_from_user / copy_to_user for ioctl arguments: the raw `unsigned long`
 * argument is a user address. An address no JS number can hold is not user
 * memory (-EFAULT), like any address above TASK_SIZE.
 */
import { isKernelError, kerr } from '../../errno.ts'
import type { VfioTask } from './iommu_types.ts'

/** The user address in an ioctl argument. @throws KernelError EFAULT if it cannot be a user address. */
export function userAddress(arg: bigint, len: number): number {
  if (arg < 0n || arg + BigInt(len) > BigInt(Number.MAX_SAFE_INTEGER)) return kerr('EFAULT')
  return Number(arg)
}

/** copy_from_user of `len` bytes at `arg`. @throws KernelError EFAULT */
export function copyIn(task: VfioTask, arg: bigint, len: number): Uint8Array {
  return task.mm.copyFromUser(userAddress(arg, len), len)
}

/** copy_to_user of `data` at `arg`. @throws KernelError EFAULT */
export function copyOut(task: VfioTask, arg: bigint, data: Uint8Array): void {
  task.mm.copyToUser(userAddress(arg, data.length), data)
}

/**
 * `return copy_to_user(arg, data, n);` as the 3.15 type1 wrote it for
 * GET_INFO and UNMAP_DMA (no `? -EFAULT : 0`): copy_to_user stops at the
 * first byte it cannot write and returns how many bytes it did NOT copy, and
 * that count became the ioctl's (positive) return value. Returns 0 when
 * everything was copied; never throws EFAULT.
 */
export function copyOutReturningUncopied(task: VfioTask, arg: bigint, data: Uint8Array): number {
  try {
    copyOut(task, arg, data)
    return 0
  } catch (e) {
    if (!isKernelError(e, 'EFAULT')) throw e
  }
  // Byte by byte up to the fault, as the kernel's copy routine would.
  for (let i = 0; i < data.length; i++) {
    try {
      copyOut(task, arg + BigInt(i), data.subarray(i, i + 1))
    } catch (e) {
      if (!isKernelError(e, 'EFAULT')) throw e
      return data.length - i
    }
  }
  return 0
}
