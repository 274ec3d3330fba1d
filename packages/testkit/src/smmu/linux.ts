/**
 * What Linux's io-pgtable-arm writes for a stage-1 (ARM_32_LPAE_S1 /
 * ARM_64_LPAE_S1) mapping, as a {@link Mapping}: the expected decode of a
 * leaf the kernel layer's io-pgtable code wrote. Facts from spec/smmu.md §3.4
 * and §5.4 (`arm_lpae_prot_to_pte`), written independently.
 */
import { Ap, encodeLeaf, type LeafSize, type Mapping } from './descriptors.ts'
import { leafLevelOf } from './regime.ts'

/** `include/linux/iommu.h` protection flags (spec §5.4). */
export const IommuProt = { READ: 1, WRITE: 2, CACHE: 4, NOEXEC: 8, MMIO: 0x10, PRIV: 0x20 } as const

/** Linux's stage-1 MAIR indices (spec §3.4): 0 Normal-NC, 1 cacheable, 2 Device. */
export const LinuxAttrIdx = { NC: 0, CACHE: 1, DEV: 2 } as const

/**
 * The leaf Linux writes for `prot` (io-pgtable-arm, stage 1, upstream):
 * nG | AF | type; AP[2] (read-only) iff READ && !WRITE; AP[1] (unprivileged)
 * unless PRIV; AttrIndx 2 for MMIO, else 1 for CACHE, else 0; SH inner (3)
 * for CACHE, else outer (2); PXN and XN both for NOEXEC; NS only with the
 * IO_PGTABLE_QUIRK_ARM_NS quirk. (`prot` without READ or WRITE is refused by
 * `map_pages` with -EINVAL and never reaches a descriptor.)
 */
export function linuxS1Mapping(va: number, pa: number, size: LeafSize, prot: number, opts: { nsQuirk?: boolean } = {}): Mapping {
  const readOnly = (prot & IommuProt.READ) !== 0 && (prot & IommuProt.WRITE) === 0
  const unpriv = (prot & IommuProt.PRIV) === 0
  const ap = ((readOnly ? 2 : 0) | (unpriv ? 1 : 0)) as Ap
  const noexec = (prot & IommuProt.NOEXEC) !== 0
  const attrIndx = prot & IommuProt.MMIO ? LinuxAttrIdx.DEV : prot & IommuProt.CACHE ? LinuxAttrIdx.CACHE : LinuxAttrIdx.NC
  return {
    va,
    pa,
    size,
    ap,
    xn: noexec,
    pxn: noexec,
    af: true,
    nG: true,
    attrIndx,
    sh: prot & IommuProt.CACHE ? 3 : 2,
    ns: opts.nsQuirk === true,
  }
}

/** The 64-bit leaf descriptor Linux writes for `prot` (see {@link linuxS1Mapping}). */
export function linuxS1Descriptor(pa: number, size: LeafSize, prot: number, opts: { nsQuirk?: boolean } = {}): bigint {
  return encodeLeaf(linuxS1Mapping(0, pa, size, prot, opts), leafLevelOf(size))
}

/**
 * The leaves Linux writes for `iommu_map(iova, paddr, size, prot)` with
 * `pgsize_bitmap = 4K | 2M | 1G`: each step uses the largest page size that
 * both addresses are aligned to and that fits in what is left
 * (`iommu_pgsize`; spec §0 "Blocks are real", §5.4). `size` must be a
 * multiple of 4 KiB and both addresses 4 KiB aligned.
 */
export function linuxLeavesFor(iova: number, paddr: number, size: number, prot: number, opts: { nsQuirk?: boolean } = {}): Mapping[] {
  if (iova % 0x1000 !== 0 || paddr % 0x1000 !== 0 || size % 0x1000 !== 0) throw new RangeError('linuxLeavesFor: 4 KiB alignment required')
  const out: Mapping[] = []
  const sizes = [0x40000000, 0x200000, 0x1000] as const
  let done = 0
  while (done < size) {
    const va = iova + done
    const pa = paddr + done
    const pg = sizes.find(s => va % s === 0 && pa % s === 0 && size - done >= s)!
    out.push(linuxS1Mapping(va, pa, pg, prot, opts))
    done += pg
  }
  return out
}
