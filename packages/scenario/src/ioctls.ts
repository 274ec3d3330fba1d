/**
 * How a scenario writes each VFIO ioctl's argument: which C struct (and
 * which flag table for its `flags`), or an int, an `int *`, a `char *`.
 * Request numbers and codecs come from @vfio-sim/uapi; nothing is
 * hard-coded here but the pairing of request and argument kind, as in
 * include/uapi/linux/vfio.h.
 */
import {
  VFIO_IOCTLS, profileConstants, type FlagTable, type UapiProfile, type StructCodec,
  vfio_group_status, vfio_device_info, vfio_region_info, vfio_irq_info, vfio_irq_set,
  vfio_iommu_type1_info, vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap,
  GROUP_STATUS_FLAGS, DEVICE_INFO_FLAGS, REGION_INFO_FLAGS, IRQ_INFO_FLAGS, IRQ_SET_FLAGS, IOMMU_INFO_FLAGS,
} from '@vfio-sim/uapi'

/** The argument of one ioctl. */
export type IoctlArg =
  | { readonly kind: 'none' }
  /** An integer passed by value; `names` gives symbolic values (extension ids). */
  | { readonly kind: 'int'; readonly names: (p: UapiProfile) => Readonly<Record<string, number>> }
  /** A pointer to an int (the container fd of SET_CONTAINER). */
  | { readonly kind: 'int-ptr' }
  /** A pointer to a NUL-terminated string (the device name of GET_DEVICE_FD). */
  | { readonly kind: 'string' }
  /** A pointer to a struct; `flags` names the bits of its `flags` field. */
  | { readonly kind: 'struct'; readonly codec: StructCodec<Record<string, unknown>, never>; readonly flags: (p: UapiProfile) => FlagTable }

/** One ioctl a scenario can name. */
export interface IoctlSpec {
  readonly name: string
  readonly request: number
  readonly arg: IoctlArg
}

const extensions = (p: UapiProfile): Readonly<Record<string, number>> => profileConstants(p).extensions
const struct = (codec: unknown, flags: (p: UapiProfile) => FlagTable): IoctlArg =>
  ({ kind: 'struct', codec: codec as StructCodec<Record<string, unknown>, never>, flags })
const fixed = (t: FlagTable) => (): FlagTable => t

const ARGS: Readonly<Record<string, IoctlArg>> = {
  VFIO_GET_API_VERSION: { kind: 'none' },
  VFIO_CHECK_EXTENSION: { kind: 'int', names: extensions },
  VFIO_SET_IOMMU: { kind: 'int', names: extensions },
  VFIO_GROUP_GET_STATUS: struct(vfio_group_status, fixed(GROUP_STATUS_FLAGS)),
  VFIO_GROUP_SET_CONTAINER: { kind: 'int-ptr' },
  VFIO_GROUP_UNSET_CONTAINER: { kind: 'none' },
  VFIO_GROUP_GET_DEVICE_FD: { kind: 'string' },
  VFIO_DEVICE_GET_INFO: struct(vfio_device_info, fixed(DEVICE_INFO_FLAGS)),
  VFIO_DEVICE_GET_REGION_INFO: struct(vfio_region_info, fixed(REGION_INFO_FLAGS)),
  VFIO_DEVICE_GET_IRQ_INFO: struct(vfio_irq_info, fixed(IRQ_INFO_FLAGS)),
  VFIO_DEVICE_SET_IRQS: struct(vfio_irq_set, fixed(IRQ_SET_FLAGS)),
  VFIO_DEVICE_RESET: { kind: 'none' },
  VFIO_IOMMU_GET_INFO: struct(vfio_iommu_type1_info, fixed(IOMMU_INFO_FLAGS)),
  VFIO_IOMMU_MAP_DMA: struct(vfio_iommu_type1_dma_map, p => profileConstants(p).dmaMapFlags),
  VFIO_IOMMU_UNMAP_DMA: struct(vfio_iommu_type1_dma_unmap, p => profileConstants(p).dmaUnmapFlags),
}

/** Every ioctl by Linux name (the VFIO header's, in header order). Ones without a known argument shape take a raw integer. */
export const IOCTLS: ReadonlyMap<string, IoctlSpec> = new Map(
  VFIO_IOCTLS.map(i => [i.name, { name: i.name, request: i.request, arg: ARGS[i.name] ?? { kind: 'int', names: () => ({}) } }]),
)
