// @vfio-sim/pl330 public exports.
export * from './isa/index.ts'
export * from './asm/index.ts'
export * from './model/index.ts'
