/**
 * The VFIO container: what one open of /dev/vfio/vfio gives
 * (drivers/vfio/container.c; drivers/vfio/vfio.c in 2014). It holds the
 * groups put into it with VFIO_GROUP_SET_CONTAINER and, once
 * VFIO_SET_IOMMU chose one, the IOMMU backend (type1) that owns the DMA
 * mappings.
 *
 * States (spec vfio.md §7):
 *   EMPTY (no group) → group added → GROUPS_NO_IOMMU → SET_IOMMU → ACTIVE
 *   → last group leaves → EMPTY, every mapping unmapped and unpinned.
 *
 * Closing the container fd does not end it while groups hold it: the file
 * layer keeps the object alive; this class has no "closed" state.
 *
 * Wiring (for the VFIO core / group layer):
 * - the container file's unlocked_ioctl calls {@link VfioContainer.ioctl}
 *   with the calling task and the raw argument;
 * - VFIO_GROUP_SET_CONTAINER calls {@link VfioContainer.attachGroup};
 *   VFIO_GROUP_UNSET_CONTAINER and the group's final release call
 *   {@link VfioContainer.detachGroup};
 * - VFIO_GROUP_GET_DEVICE_FD asks {@link VfioContainer.iommuSet}.
 */
import {
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_GET_API_VERSION,
  VFIO_SET_IOMMU,
  type UapiProfile,
} from '@vfio-sim/uapi'
import { kerr } from '../../errno.ts'
import type { VfioIommuGroup, VfioTask } from './iommu_types.ts'
import { VfioIommuType1, type Type1Options } from './vfio_iommu_type1.ts'

/** Options of a container. */
export interface VfioContainerOptions extends Type1Options {
  /** uapi personality ('rfc-v5' or 'upstream'). */
  readonly profile: UapiProfile
}

/** The raw ioctl argument as the kernel sees it: an `unsigned long`. */
export function toUlong(arg: number | bigint): bigint {
  if (typeof arg === 'bigint') return BigInt.asUintN(64, arg)
  if (!Number.isFinite(arg)) return 0n
  return BigInt.asUintN(64, BigInt(Math.trunc(arg)))
}

/** One container (one open of /dev/vfio/vfio). */
export class VfioContainer {
  readonly profile: UapiProfile
  private readonly opts: Type1Options
  private readonly groupList: VfioIommuGroup[] = []
  private iommu: VfioIommuType1 | null = null

  constructor(opts: VfioContainerOptions) {
    this.profile = opts.profile
    this.opts = opts
  }

  /** True once VFIO_SET_IOMMU succeeded (until the last group leaves). */
  get iommuSet(): boolean {
    return this.iommu !== null
  }

  /** The IOMMU backend, or null (state for tracing and tests). */
  get type1(): VfioIommuType1 | null {
    return this.iommu
  }

  /** Groups in the container, in the order they joined. */
  get groups(): readonly VfioIommuGroup[] {
    return this.groupList
  }

  /**
   * unlocked_ioctl of the container file.
   * @param task the calling task (its mm is used for every user copy and pin)
   * @param request the ioctl request number
   * @param arg the raw argument: an integer (CHECK_EXTENSION, SET_IOMMU) or a user address
   * @returns the ioctl's return value (≥ 0)
   * @throws KernelError with the errno Linux returns
   */
  ioctl(task: VfioTask, request: number, arg: number | bigint): number {
    const ularg = toUlong(arg)
    switch (request >>> 0) {
      case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION
      case VFIO_CHECK_EXTENSION:
        // With no IOMMU, the (only) driver is polled with no data; never fails.
        return VfioIommuType1.checkExtension(this.profile, this.iommu, ularg)
      case VFIO_SET_IOMMU:
        this.setIommu(ularg)
        return 0
    }
    // Everything else goes to the IOMMU driver; without one it is -EINVAL, not -ENOTTY.
    if (this.iommu === null) return kerr('EINVAL')
    return this.iommu.ioctl(task, request >>> 0, ularg)
  }

  /**
   * VFIO_SET_IOMMU: no group, or an IOMMU already set → EINVAL; a type the
   * driver does not claim → ENODEV; claimed but not openable (e.g.
   * VFIO_UNMAP_ALL upstream) → EINVAL; then every group is attached (all or
   * nothing; the attach error is returned).
   */
  private setIommu(type: bigint): void {
    if (this.groupList.length === 0 || this.iommu !== null) kerr('EINVAL')
    if (VfioIommuType1.checkExtension(this.profile, null, type) <= 0) kerr('ENODEV')
    const iommu = VfioIommuType1.open(this.profile, type, this.opts)
    const attached: VfioIommuGroup[] = []
    try {
      for (const g of this.groupList) {
        iommu.attachGroup(g)
        attached.push(g)
      }
    } catch (e) {
      for (const g of attached.reverse()) iommu.detachGroup(g)
      iommu.release()
      throw e
    }
    this.iommu = iommu
  }

  /**
   * A group joins (VFIO_GROUP_SET_CONTAINER). With an IOMMU set, the backend
   * attaches it first (replaying every mapping into a new domain); its error
   * is returned and the group stays out.
   */
  attachGroup(group: VfioIommuGroup): void {
    if (this.groupList.includes(group)) kerr('EINVAL')
    if (this.iommu !== null) this.iommu.attachGroup(group)
    this.groupList.push(group)
  }

  /**
   * A group leaves (VFIO_GROUP_UNSET_CONTAINER, or the last close of the group).
   * When it was the last group, the IOMMU is released: every mapping is
   * unmapped and unpinned, and the container is back to "no IOMMU".
   */
  detachGroup(group: VfioIommuGroup): void {
    const i = this.groupList.indexOf(group)
    if (i < 0) return
    if (this.iommu !== null) this.iommu.detachGroup(group)
    this.groupList.splice(i, 1)
    if (this.groupList.length === 0 && this.iommu !== null) {
      this.iommu.release()
      this.iommu = null
    }
  }
}
