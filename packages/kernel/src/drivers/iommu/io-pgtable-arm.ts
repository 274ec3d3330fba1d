/**
 * ARM LPAE stage-1 page tables (Linux drivers/iommu/io-pgtable-arm.c). Work in progress.
 */
import { kerr } from '../../errno.ts'
import type { IoPgtableCfg, IoPgtableFmt, IommuIotlbGather, PageTableMemory } from './io-pgtable.ts'

/** One live LPAE table: the operations plus `free`. */
export interface ArmLpaeOps {
  mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number): number
  unmapPages(iova: number, pgsize: number, pgcount: number, gather?: IommuIotlbGather): number
  iovaToPhys(iova: number): number
  free(): void
}

/** Allocates an ARM_32/64_LPAE_S1 table (not yet implemented). */
export function allocArmLpaeS1(fmt: IoPgtableFmt, cfg: IoPgtableCfg, mem: PageTableMemory): ArmLpaeOps {
  void fmt
  void cfg
  void mem
  return kerr('ENOMEM', 'io-pgtable-arm: not implemented yet')
}
