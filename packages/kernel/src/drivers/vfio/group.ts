/**
 * VFIO groups (drivers/vfio/group.c): one {@link VfioGroup} per IOMMU group
 * that has at least one device registered with VFIO, shown to userspace as
 * /dev/vfio/N (N = the IOMMU group id, mode 0600 root).
 */
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { VfioDevice } from './vfio.ts'

/** One VFIO group (`struct vfio_group`). */
export class VfioGroup {
  readonly kernel: Kernel
  /** The IOMMU group id: the N of /dev/vfio/N. */
  readonly id: number
  /** VFIO devices of the group, in registration order. */
  readonly devices: VfioDevice[] = []

  constructor(kernel: Kernel, id: number) {
    this.kernel = kernel
    this.id = id
  }

  /** The /dev name of the group ("vfio/3"). */
  get devName(): string {
    return `vfio/${this.id}`
  }
}

const registries = new WeakMap<Kernel, Map<number, VfioGroup>>()

/** The VFIO groups of `kernel` by IOMMU group id. */
export function vfioGroups(kernel: Kernel): Map<number, VfioGroup> {
  let m = registries.get(kernel)
  if (m === undefined) {
    m = new Map()
    registries.set(kernel, m)
  }
  return m
}

/**
 * vfio_register_group_dev(): adds `vdev` to the VFIO group of its IOMMU
 * group, creating the group and /dev/vfio/N (0600 root) for its first device.
 * @throws KernelError EINVAL if the device has no IOMMU group; EBUSY if it is already registered
 */
export function vfioRegisterGroupDev(kernel: Kernel, vdev: VfioDevice): void {
  const ig = vdev.dev.iommuGroup
  if (ig === null) return kerr('EINVAL', `vfio: ${vdev.name} has no IOMMU group`)
  if (vdev.registered) return kerr('EBUSY')
  const groups = vfioGroups(kernel)
  let group = groups.get(ig.id)
  if (group === undefined) {
    group = new VfioGroup(kernel, ig.id)
    groups.set(ig.id, group)
    kernel.devfs.add(group.devName, { mode: 0o600, uid: 0, gid: 0, open: () => kerr('ENODEV') })
  }
  group.devices.push(vdev)
  vdev.group = group
  vdev.registered = true
}

/** vfio_unregister_group_dev(): removes `vdev`; /dev/vfio/N goes with the group's last device. */
export function vfioUnregisterGroupDev(vdev: VfioDevice): void {
  const group = vdev.group
  if (!vdev.registered || group === undefined) return
  vdev.registered = false
  const i = group.devices.indexOf(vdev)
  if (i >= 0) group.devices.splice(i, 1)
  if (group.devices.length === 0) {
    vfioGroups(group.kernel).delete(group.id)
    group.kernel.devfs.remove(group.devName)
  }
}
