/**
 * copy_from_user / copy_to_user for ioctl arguments: the raw `unsigned long`
 * argument is a user address. An address no JS number can hold is not user
 * memory (-EFAULT), like any address above TASK_SIZE.
 */
import { kerr } from '../../errno.ts'
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
