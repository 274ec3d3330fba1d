/**
 * @vfio-sim/sim: the hardware simulation core. Virtual time, sparse physical
 * memory, the interconnect, interrupt lines, the register-table DSL and
 * trace events.
 */
export * from './bus.ts'
export * from './memory.ts'
export * from './scheduler.ts'
export * from './trace.ts'
export * from './interconnect.ts'
export * from './irq.ts'
export * from './regtable.ts'
export * from './system.ts'
