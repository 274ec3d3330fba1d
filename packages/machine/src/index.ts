/**
 * @vfio-sim/machine: boot a simulated board, spawn user processes, make
 * system calls. See machine.ts for the entry point.
 */
export * from './machine.ts'
export * from './process.ts'
export * from './syscalls.ts'
export { boardSource, buildBoard, buildBoardFromSource, type Board, type BoardDma, type BoardSmmu } from './boards/index.ts'
export { BlockedForeverError } from '@vfio-sim/kernel'
export type { PollFd, SpawnOptions, Capability, KernelProfile } from '@vfio-sim/kernel'
