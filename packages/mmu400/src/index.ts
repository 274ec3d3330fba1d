/**
 * @vfio-sim/mmu400: an MMU-400-style SMMU (MMU-400 register layout, SMMUv1
 * architecture with stage-1 translation advertised; optional v2 AArch64
 * contexts). See docs/decisions/0200-* for the choices made.
 *
 * Main entry points:
 * - {@link Mmu400}: `new Mmu400({ bus, tracer?, scheduler?, config?, irqs? })`,
 *   `.mmio` (map it on the interconnect), `.port(streamId?)` (a MasterPort
 *   for a bus master), `.stats`, `.contexts[n].tlb`, `.translate(va, access)`.
 * - {@link TestMaster}: a test bus master with chosen attributes.
 * - Register bit constants ({@link FSR}, {@link SCTLR}, …) and offsets
 *   ({@link GR0_OFF}, {@link CB_OFF}, …) for drivers and tests.
 */
export { Mmu400, Mmu400Mmio, Outcome, type Mmu400Options, type Mmu400Stats, type TranslateResult, type AccessSpec } from './mmu400.ts'
export { Mmu400Port } from './port.ts'
export { Context } from './context.ts'
export { Tlb, TlbEntry, PERM, GLOBAL_TAG, LEVEL_SIZE, type TlbCounters } from './tlb.ts'
export { Walker, leafPerms, neededPerm } from './walk.ts'
export {
  MMU400_DEFAULTS, resolveConfig, idr0, idr1, idr2, idRegisters, encodeAddrSize, decodeAddrSize,
  type Mmu400Config, type ResolvedConfig,
} from './config.ts'
export {
  mmu400Registers, SCR0, GFSR, GFSR_CONFIG, S2CR_TYPE, CBAR_TYPE, SCTLR, FSR, FSR_FAULT, FSYNR0, GFSYNR0, TTBCR, PAR,
  CB_OFF, GR0_OFF, GR1_OFF, type Mmu400RegisterTable,
} from './registers.ts'
export { SMMU_TRACE } from './trace.ts'
export { explainContextFault, explainGlobalFault } from './explain.ts'
export { TestMaster, type TestAccessAttrs, type TestAccessResult, type TestTransfer } from './testing/TestMaster.ts'
