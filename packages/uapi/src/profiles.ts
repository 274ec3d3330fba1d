// The two uapi personalities of vfio-sim (see docs/decisions/0102):
//
//   rfc-v5    the 2014 "VFIO for platform devices" RFC v5 that the project
//             seeds from: MAP_DMA bit 2 is VFIO_DMA_MAP_FLAG_EXEC, advertised
//             by the container extension VFIO_IOMMU_PROT_EXEC (= 5).
//   upstream  what Linux merged: bit 2 is VFIO_DMA_MAP_FLAG_VADDR (5.12+),
//             5 is VFIO_EEH, and UNMAP_ALL / UPDATE_VADDR exist.

import * as V from './vfio.ts'
import type { FlagTable } from './flags.ts'

/** The uapi personality a machine, scenario or test runs with. */
export type UapiProfile = 'rfc-v5' | 'upstream'

/** Both profiles, the default (the seed) first. */
export const UAPI_PROFILES: readonly UapiProfile[] = ['rfc-v5', 'upstream']

/** The default profile: the seed RFC. */
export const DEFAULT_UAPI_PROFILE: UapiProfile = 'rfc-v5'

/**
 * rfc-v5 only: `VFIO_DMA_MAP_FLAG_EXEC`, "executable from device" (read in the
 * 2014 VOSYS test code and QEMU fork). Same bit as upstream's VFIO_DMA_MAP_FLAG_VADDR.
 */
export const VFIO_DMA_MAP_FLAG_EXEC = 1 << 2

/**
 * rfc-v5 only: the container extension that says EXEC mappings are
 * supported. Its number was never found in a public source; 5 is inferred
 * (the first free id in 2014, later reused by VOSYS for
 * VFIO_DMA_NOEXEC_IOMMU and by upstream for VFIO_EEH). docs/decisions/0102.
 */
export const VFIO_IOMMU_PROT_EXEC = 5

/** Everything in the uapi that differs between the two profiles. */
export interface ProfileConstants {
  readonly profile: UapiProfile
  /** Extension / IOMMU-type ids that exist in this profile, by Linux name. */
  readonly extensions: Readonly<Record<string, number>>
  /** What bit 2 (value 4) of `vfio_iommu_type1_dma_map.flags` means. */
  readonly dmaMapBit2: 'EXEC' | 'VADDR'
  /** `vfio_iommu_type1_dma_map.flags` by short name: READ, WRITE and EXEC or VADDR. */
  readonly dmaMapFlags: FlagTable
  /** OR of every defined MAP_DMA flag (7 in both profiles; the kernel rejects other bits with -EINVAL). */
  readonly dmaMapFlagMask: number
  /** `vfio_iommu_type1_dma_unmap.flags` by short name (none in rfc-v5: the 2014 kernel required 0). */
  readonly dmaUnmapFlags: FlagTable
  /** OR of every defined UNMAP_DMA flag. */
  readonly dmaUnmapFlagMask: number
  /** Linux names of the profile-dependent flag macros, e.g. `VFIO_DMA_MAP_FLAG_EXEC`. */
  readonly flagMacros: Readonly<Record<string, number>>
}

const or = (t: FlagTable): number => Object.values(t).reduce((a, b) => a | b, 0)

const RFC_V5_DMA_MAP = { READ: V.VFIO_DMA_MAP_FLAG_READ, WRITE: V.VFIO_DMA_MAP_FLAG_WRITE, EXEC: VFIO_DMA_MAP_FLAG_EXEC } as const
const UPSTREAM_DMA_MAP = { READ: V.VFIO_DMA_MAP_FLAG_READ, WRITE: V.VFIO_DMA_MAP_FLAG_WRITE, VADDR: V.VFIO_DMA_MAP_FLAG_VADDR } as const
const UPSTREAM_DMA_UNMAP = {
  GET_DIRTY_BITMAP: V.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  ALL: V.VFIO_DMA_UNMAP_FLAG_ALL,
  VADDR: V.VFIO_DMA_UNMAP_FLAG_VADDR,
} as const

const PROFILES: Readonly<Record<UapiProfile, ProfileConstants>> = {
  'rfc-v5': {
    profile: 'rfc-v5',
    extensions: {
      VFIO_TYPE1_IOMMU: V.VFIO_TYPE1_IOMMU,
      VFIO_SPAPR_TCE_IOMMU: V.VFIO_SPAPR_TCE_IOMMU,
      VFIO_TYPE1v2_IOMMU: V.VFIO_TYPE1v2_IOMMU,
      VFIO_DMA_CC_IOMMU: V.VFIO_DMA_CC_IOMMU,
      VFIO_IOMMU_PROT_EXEC,
    },
    dmaMapBit2: 'EXEC',
    dmaMapFlags: RFC_V5_DMA_MAP,
    dmaMapFlagMask: or(RFC_V5_DMA_MAP),
    dmaUnmapFlags: {},
    dmaUnmapFlagMask: 0,
    flagMacros: {
      VFIO_DMA_MAP_FLAG_READ: V.VFIO_DMA_MAP_FLAG_READ,
      VFIO_DMA_MAP_FLAG_WRITE: V.VFIO_DMA_MAP_FLAG_WRITE,
      VFIO_DMA_MAP_FLAG_EXEC,
    },
  },
  upstream: {
    profile: 'upstream',
    extensions: {
      VFIO_TYPE1_IOMMU: V.VFIO_TYPE1_IOMMU,
      VFIO_SPAPR_TCE_IOMMU: V.VFIO_SPAPR_TCE_IOMMU,
      VFIO_TYPE1v2_IOMMU: V.VFIO_TYPE1v2_IOMMU,
      VFIO_DMA_CC_IOMMU: V.VFIO_DMA_CC_IOMMU,
      VFIO_EEH: V.VFIO_EEH,
      VFIO_TYPE1_NESTING_IOMMU: V.VFIO_TYPE1_NESTING_IOMMU,
      VFIO_SPAPR_TCE_v2_IOMMU: V.VFIO_SPAPR_TCE_v2_IOMMU,
      VFIO_NOIOMMU_IOMMU: V.VFIO_NOIOMMU_IOMMU,
      VFIO_UNMAP_ALL: V.VFIO_UNMAP_ALL,
      VFIO_UPDATE_VADDR: V.VFIO_UPDATE_VADDR,
    },
    dmaMapBit2: 'VADDR',
    dmaMapFlags: UPSTREAM_DMA_MAP,
    dmaMapFlagMask: or(UPSTREAM_DMA_MAP),
    dmaUnmapFlags: UPSTREAM_DMA_UNMAP,
    dmaUnmapFlagMask: or(UPSTREAM_DMA_UNMAP),
    flagMacros: {
      VFIO_DMA_MAP_FLAG_READ: V.VFIO_DMA_MAP_FLAG_READ,
      VFIO_DMA_MAP_FLAG_WRITE: V.VFIO_DMA_MAP_FLAG_WRITE,
      VFIO_DMA_MAP_FLAG_VADDR: V.VFIO_DMA_MAP_FLAG_VADDR,
      VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: V.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
      VFIO_DMA_UNMAP_FLAG_ALL: V.VFIO_DMA_UNMAP_FLAG_ALL,
      VFIO_DMA_UNMAP_FLAG_VADDR: V.VFIO_DMA_UNMAP_FLAG_VADDR,
    },
  },
}

/**
 * The profile-dependent constants of a uapi profile.
 * @throws RangeError for an unknown profile name (e.g. a typo in a scenario).
 */
export function profileConstants(profile: UapiProfile): ProfileConstants {
  if (!Object.hasOwn(PROFILES, profile)) {
    throw new RangeError(`unknown uapi profile ${JSON.stringify(profile)}; expected one of ${UAPI_PROFILES.join(', ')}`)
  }
  return PROFILES[profile]
}

/** Type guard for a profile name read from a scenario or CLI flag. */
export function isUapiProfile(name: string): name is UapiProfile {
  return Object.hasOwn(PROFILES, name)
}

/** `vfio_iommu_type1_dma_map.flags` short-name table of a profile. */
export function dmaMapFlags(profile: UapiProfile): FlagTable {
  return profileConstants(profile).dmaMapFlags
}

/** `vfio_iommu_type1_dma_unmap.flags` short-name table of a profile. */
export function dmaUnmapFlags(profile: UapiProfile): FlagTable {
  return profileConstants(profile).dmaUnmapFlags
}

/**
 * Linux name of an extension / IOMMU-type id in a profile (`5` is
 * `VFIO_IOMMU_PROT_EXEC` in rfc-v5 and `VFIO_EEH` upstream); `undefined` if
 * the id means nothing in that profile.
 */
export function extensionName(profile: UapiProfile, id: number): string | undefined {
  for (const [name, value] of Object.entries(profileConstants(profile).extensions)) if (value === id) return name
  return undefined
}
