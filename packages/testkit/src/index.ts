/**
 * @vfio-sim/testkit: independent reference code for tests (built from the
 * architecture text, not from the models it checks).
 */
export * from './smmu/regime.ts'
export * from './smmu/descriptors.ts'
export * from './smmu/PageTableBuilder.ts'
export * from './smmu/decodeTables.ts'
export * from './smmu/referenceTranslate.ts'
export * from './smmu/arbitraries.ts'
export * from './smmu/program.ts'
export * from './smmu/RecordingMemory.ts'
export * from './smmu/linux.ts'
export * from './vfio/constants.ts'
export * from './vfio/model.ts'
export * from './vfio/commands.ts'
export * from './vfio/harness.ts'
