/**
 * Shared set-up for the io-pgtable tests: a kernel with 16 MiB of DRAM, a
 * recording set of TLB callbacks, and the usual arm-smmu configurations.
 */
import { aarch32Regime, aarch64Regime, type Regime } from '@vfio-sim/testkit'
import { Kernel } from '../src/kernel.ts'
import { kerr } from '../src/errno.ts'
import { pageTableMemory, type IoPgtableCfg, type IoPgtableFmt, type IommuFlushOps, type PageTableMemory } from '../src/drivers/iommu/io-pgtable.ts'

export const SZ_4K = 0x1000
export const SZ_2M = 0x20_0000
export const SZ_1G = 0x4000_0000
export const PGSIZES_4K_2M_1G = 0x1000n | 0x20_0000n | 0x4000_0000n

/** A kernel whose page allocator hands out pages of 0x8000_0000..+16 MiB. */
export function testKernel(): Kernel {
  const k = new Kernel({ profile: 'upstream' })
  k.sys.bus.addRam('dram', 0x8000_0000, 0x100_0000)
  return k
}

/** TLB callbacks that record every call as a string. */
export function recordingTlb(): IommuFlushOps & { calls: string[] } {
  const calls: string[] = []
  const hex = (v: number) => '0x' + v.toString(16)
  return {
    calls,
    tlbFlushAll: () => calls.push('flushAll'),
    tlbFlushWalk: (iova, size, granule) => calls.push(`flushWalk ${hex(iova)} ${hex(size)} ${hex(granule)}`),
    tlbAddPage: (iova, granule) => calls.push(`addPage ${hex(iova)} ${hex(granule)}`),
  }
}

/** The configuration arm-smmu passes for a v1 (MMU-400) stage-1 context, or a 64-bit one. */
export function smmuCfg(fmt: IoPgtableFmt, opts: { ias?: number; oas?: number; coherent?: boolean; ns?: boolean; tlb?: IommuFlushOps; blockUnmap?: 'split' | 'refuse'; warn?: (msg: string) => void } = {}): IoPgtableCfg {
  const cfg: IoPgtableCfg = {
    pgsizeBitmap: PGSIZES_4K_2M_1G,
    ias: opts.ias ?? (fmt === 'ARM_32_LPAE_S1' ? 32 : 48),
    oas: opts.oas ?? (fmt === 'ARM_32_LPAE_S1' ? 40 : 48),
    coherentWalk: opts.coherent ?? false,
    tlb: opts.tlb ?? recordingTlb(),
  }
  if (opts.ns === true) cfg.quirks = { armNs: true }
  if (opts.blockUnmap !== undefined) cfg.blockUnmap = opts.blockUnmap
  if (opts.warn !== undefined) cfg.warn = opts.warn
  return cfg
}

/** The testkit regime that walks a table built for `fmt` with `ias` input bits. */
export function regimeFor(fmt: IoPgtableFmt, ias: number, oas: number): Regime {
  return fmt === 'ARM_32_LPAE_S1' ? aarch32Regime({ t0sz: 32 - ias, oasBits: oas }) : aarch64Regime({ t0sz: 64 - ias, oasBits: oas })
}

/** A PageTableMemory over `k` that refuses to allocate once `budget.left` reaches 0. */
export function limitedMemory(k: Kernel, budget: { left: number }): PageTableMemory {
  const inner = pageTableMemory(k)
  return {
    ...inner,
    allocPage: () => {
      if (budget.left <= 0) kerr('ENOMEM', 'test budget exhausted')
      budget.left--
      return inner.allocPage()
    },
  }
}
