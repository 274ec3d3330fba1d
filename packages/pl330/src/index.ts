// @vfio-sim/pl330 public exports.
export * from './isa/index.ts'
