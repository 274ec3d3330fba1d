// @vfio-sim/uapi — the Linux user/kernel contract of vfio-sim, byte for byte:
// ioctl request numbers, struct layouts and codecs, flag bits, errno, open/
// mmap/eventfd/poll constants, and the two uapi profiles (rfc-v5, upstream).

export * from './ioctl.ts'
export * from './layout.ts'
export * from './vfio.ts'
export * from './structs/common.ts'
export * from './structs/group.ts'
export * from './structs/device.ts'
export * from './structs/irq-set.ts'
export * from './structs/iommu.ts'
export * from './structs/cap-chain.ts'
export * from './errno.ts'
export * from './fcntl.ts'
export * from './mman.ts'
export * from './eventfd.ts'
export * from './poll.ts'
export * from './resource.ts'
export * from './flags.ts'
export * from './profiles.ts'
