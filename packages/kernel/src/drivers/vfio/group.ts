/**
 * VFIO groups (drivers/vfio/group.c; drivers/vfio/vfio.c in 2014): one
 * {@link VfioGroup} per IOMMU group that has at least one device registered
 * with VFIO, shown to userspace as /dev/vfio/N (N = the IOMMU group id,
 * mode 0600 root).
 *
 * The group fd (spec vfio.md §6) has one opener at a time and four ioctls:
 * GET_STATUS, SET_CONTAINER, UNSET_CONTAINER and GET_DEVICE_FD.
 *
 * References (spec §7), modelled with the file layer's refcounts:
 * - every device fd holds a reference to the group file, so the group's
 *   release (which takes it out of its container) runs when the group fd
 *   AND every device fd are closed, whichever is last;
 * - an attached group keeps its {@link VfioContainer} alive: closing the
 *   container fd changes nothing while a group is attached.
 */
import {
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
} from '@vfio-sim/uapi'
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { Task } from '../../kernel/sched.ts'
import type { DevNode } from '../../fs/devfs.ts'
import type { FileOperations, OpenFile } from '../../fs/file.ts'
import type { Device } from '../base/core.ts'
import type { VfioContainer } from './container.ts'
import { vfioContainerOfFile } from './container_file.ts'
import { vfioDeviceCapableCacheCoherency, vfioGroupBind, vfioIommuGroupDevices, vfioIommuGroupDmaOwnerClaimed, type VfioGroupIommuBinding } from './iommu_adapter.ts'
import { vfioDeviceOpenFile } from './vfio_main.ts'
import type { VfioDevice } from './vfio.ts'

/** [2014] drivers a group may be bound to and still be viable (vfio.c `vfio_driver_whitelist`). */
export const VFIO_DRIVER_WHITELIST_2014: readonly string[] = ['pci-stub', 'pcieport']

/** The page size strndup_user() limits a device name to (PAGE_SIZE, NUL included). */
const NAME_MAX_BYTES = 4096

/** One VFIO group (`struct vfio_group`). */
export class VfioGroup {
  readonly kernel: Kernel
  /** The IOMMU group id: the N of /dev/vfio/N. */
  readonly id: number
  /** VFIO devices of the group, in registration order. */
  readonly devices: VfioDevice[] = []
  /** The open group file (`opened_file`), while one exists. */
  openedFile: OpenFile | undefined = undefined
  /** The container the group is in (SET_CONTAINER), or undefined. */
  container: VfioContainer | undefined = undefined
  /** DMA ownership, IOMMU domain and the view type1 has of the group, while in a container. */
  binding: VfioGroupIommuBinding | undefined = undefined
  /**
   * The IOMMU group went away (the last VFIO device was unregistered while
   * the group fd was open): [6.x] `group->iommu_group = NULL`.
   */
  iommuGroupGone = false
  /** A device of the group (any) stands for the IOMMU group in IOMMU-core calls. */
  private readonly anchor: Device

  constructor(kernel: Kernel, id: number, anchor: Device) {
    this.kernel = kernel
    this.id = id
    this.anchor = anchor
  }

  /** The /dev name of the group ("vfio/3"). */
  get devName(): string {
    return `vfio/${this.id}`
  }

  /** A device of the IOMMU group: a registered VFIO device if there is one, else the group's first. */
  get anchorDevice(): Device {
    return this.devices[0]?.dev ?? this.anchor
  }

  /** Devices of the group with at least one open device fd. */
  openDevices = 0

  /** `container_users` of Linux ([6.x]): 1 for the attachment plus 1 per device with open fds. */
  get containerUsers(): number {
    return this.container === undefined ? 0 : 1 + this.openDevices
  }

  /**
   * GET_STATUS viability.
   * - upstream: attached, or nobody owns the group's DMA (no device of the
   *   IOMMU group bound to a kernel driver that uses the DMA API);
   * - rfc-v5: every device of the IOMMU group is driverless, a VFIO device of
   *   this group (bound to a VFIO bus driver), or bound to a whitelisted driver.
   */
  get viable(): boolean {
    if (this.kernel.profile === 'upstream') {
      if (this.container !== undefined) return true
      return !vfioIommuGroupDmaOwnerClaimed(this.anchorDevice)
    }
    return vfioIommuGroupDevices(this.anchorDevice).every(
      d => d.driver === null || this.devices.some(v => v.dev === d) || VFIO_DRIVER_WHITELIST_2014.includes(d.driver.name),
    )
  }

  /**
   * Leaves the container (vfio_group_detach_container): type1 forgets the
   * group (the last group releases every mapping), then the domain is
   * detached and freed and DMA ownership given back.
   */
  detachContainer(): void {
    const c = this.container
    const b = this.binding
    if (c === undefined || b === undefined) return
    this.container = undefined
    this.binding = undefined
    c.detachGroup(b.group)
    b.release()
  }
}

interface VfioGroups {
  readonly byId: Map<number, VfioGroup>
}

const registries = new WeakMap<Kernel, VfioGroups>()

/** The live VFIO groups of `kernel` by IOMMU group id. */
export function vfioGroups(kernel: Kernel): Map<number, VfioGroup> {
  let r = registries.get(kernel)
  if (r === undefined) {
    r = { byId: new Map() }
    registries.set(kernel, r)
  }
  return r.byId
}

/** The group behind an open group fd, or undefined. */
export function vfioGroupOfFile(file: OpenFile): VfioGroup | undefined {
  return file.fops === VFIO_GROUP_FOPS ? (file.priv as VfioGroup | undefined) : undefined
}

/**
 * vfio_register_group_dev(): adds `vdev` to the VFIO group of its IOMMU
 * group, creating the group and /dev/vfio/N (0600 root) for its first device.
 * @throws KernelError EINVAL if the device has no IOMMU group, or (upstream)
 *   its IOMMU does not report IOMMU_CAP_CACHE_COHERENCY; if the device is
 *   already registered: EINVAL upstream, EBUSY in rfc-v5.
 */
export function vfioRegisterGroupDev(kernel: Kernel, vdev: VfioDevice): void {
  const ig = vdev.dev.iommuGroup
  if (ig === null) return kerr('EINVAL', `vfio: ${vdev.name} has no IOMMU group`)
  const groups = vfioGroups(kernel)
  const existing = groups.get(ig.id)
  if (vdev.registered || existing?.devices.some(d => d.dev === vdev.dev)) {
    // [2014] vfio_add_group_dev: WARN "Device %s already exists on group %d", -EBUSY;
    // [6.x] vfio_group_find_or_alloc: WARN_ON(vfio_group_has_device()), -EINVAL.
    kernel.printk('warning', `vfio: Device ${vdev.name} already exists on group ${ig.id}`)
    return kerr(kernel.profile === 'upstream' ? 'EINVAL' : 'EBUSY')
  }
  // [6.x] __vfio_register_dev: type1 always maps with IOMMU_CACHE, so the
  // IOMMU must be cache coherent.
  if (kernel.profile === 'upstream' && !vfioDeviceCapableCacheCoherency(vdev.dev)) return kerr('EINVAL')
  let group = existing
  if (group === undefined) {
    group = new VfioGroup(kernel, ig.id, vdev.dev)
    groups.set(ig.id, group)
    kernel.devfs.add(group.devName, groupNode(group))
  }
  group.devices.push(vdev)
  vdev.group = group
  vdev.registered = true
}

/**
 * vfio_unregister_group_dev(): removes `vdev`; /dev/vfio/N goes with the
 * group's last device. Linux waits here until the user closes every device
 * fd (asking the driver to `request` it); the simulation cannot block a
 * driver's remove(), so open device fds stay usable until closed (their
 * last close still runs `closeDevice`), and a warning is logged.
 */
export function vfioUnregisterGroupDev(vdev: VfioDevice): void {
  const group = vdev.group
  if (!vdev.registered || group === undefined) return
  vdev.registered = false
  if (vdev.openCount > 0) vdev.kernel.printk('warning', `${vdev.ops.name} ${vdev.name}: removed while ${vdev.openCount} device fd(s) are open`)
  const i = group.devices.indexOf(vdev)
  if (i >= 0) group.devices.splice(i, 1)
  if (group.devices.length === 0) {
    vfioGroups(group.kernel).delete(group.id)
    group.kernel.devfs.remove(group.devName)
    group.iommuGroupGone = true
    // [6.x] vfio_device_remove_group revokes the group: it leaves its
    // container (DMA ownership back to the kernel) even if the group fd is
    // still open. [2014] the group stayed in the container until its fd
    // closed (binding a kernel driver meanwhile hit a BUG_ON; here that
    // probe fails with EBUSY because VFIO still owns the group's DMA).
    if (group.kernel.profile === 'upstream') group.detachContainer()
  }
}

/** The /dev/vfio/N node of `group`. */
function groupNode(group: VfioGroup): DevNode {
  return {
    mode: 0o600,
    uid: 0,
    gid: 0,
    open({ file }) {
      // vfio_group_fops_open: no device left → ENODEV; one opener at a time.
      // [2014] also refuses while device fds of a previous open keep the
      // group in its container; here those device fds hold the old group
      // file, so `openedFile` is still set: the same EBUSY.
      if (group.iommuGroupGone || group.devices.length === 0) return kerr('ENODEV')
      if (group.openedFile !== undefined) return kerr('EBUSY')
      group.openedFile = file
      file.priv = group
      return VFIO_GROUP_FOPS
    },
  }
}

/** The group file's operations (`vfio_group_fops`). */
export const VFIO_GROUP_FOPS: FileOperations = {
  ioctl(file, cmd, arg, task) {
    const group = file.priv as VfioGroup
    switch (cmd >>> 0) {
      case VFIO_GROUP_GET_STATUS:
        return groupGetStatus(group, arg, task)
      case VFIO_GROUP_SET_CONTAINER:
        return groupSetContainer(group, arg, task)
      case VFIO_GROUP_UNSET_CONTAINER:
        return groupUnsetContainer(group)
      case VFIO_GROUP_GET_DEVICE_FD:
        return groupGetDeviceFd(group, arg, task)
    }
    return kerr('ENOTTY')
  },
  release(file) {
    // Runs once the group fd and every device fd are closed.
    const group = file.priv as VfioGroup
    group.detachContainer()
    if (group.openedFile === file) group.openedFile = undefined
  },
}

/** VFIO_GROUP_GET_STATUS (spec §6.2): copy 8 bytes in, argsz ≥ 8, flags, copy 8 back. */
function groupGetStatus(group: VfioGroup, arg: number, task: Task): number {
  const buf = task.mm.copyFromUser(arg, 8)
  const view = new DataView(buf.buffer, buf.byteOffset, 8)
  if (view.getUint32(0, true) < 8) return kerr('EINVAL')
  let flags = 0
  if (group.kernel.profile === 'upstream') {
    if (group.iommuGroupGone) return kerr('ENODEV')
    if (group.container !== undefined) flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE
    else if (group.viable) flags = VFIO_GROUP_FLAGS_VIABLE
  } else {
    if (group.viable) flags |= VFIO_GROUP_FLAGS_VIABLE
    if (group.container !== undefined) flags |= VFIO_GROUP_FLAGS_CONTAINER_SET
  }
  view.setUint32(4, flags, true)
  task.mm.copyToUser(arg, buf)
  return 0
}

/**
 * VFIO_GROUP_SET_CONTAINER (spec §6.3); `arg` points at an int holding the
 * container fd. Check orders:
 * - upstream: get_user (EFAULT), fd not open (EBADF), group already attached
 *   (EINVAL), IOMMU group gone (ENODEV), not a container (EBADFD), claim DMA
 *   ownership (EPERM if a kernel driver uses the group), attach to the
 *   container's IOMMU if one is set (its error).
 * - rfc-v5: get_user (EFAULT), fd < 0 (EINVAL), group attached (EINVAL),
 *   fd not open (EBADF), not a container (EINVAL), attach. No viability check.
 */
function groupSetContainer(group: VfioGroup, arg: number, task: Task): number {
  const b = task.mm.copyFromUser(arg, 4)
  const fd = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true)
  let container: VfioContainer | undefined
  if (group.kernel.profile === 'upstream') {
    if (!task.files.has(fd)) return kerr('EBADF')
    const f = task.files.get(fd)
    if (group.container !== undefined) return kerr('EINVAL')
    if (group.iommuGroupGone) return kerr('ENODEV')
    container = vfioContainerOfFile(f)
    if (container === undefined) return kerr('EBADFD')
  } else {
    if (fd < 0) return kerr('EINVAL')
    if (group.container !== undefined) return kerr('EINVAL')
    if (!task.files.has(fd)) return kerr('EBADF')
    container = vfioContainerOfFile(task.files.get(fd))
    if (container === undefined) return kerr('EINVAL')
  }
  // Claim the group's DMA (upstream), give it its own IOMMU domain, then
  // join the container (which attaches it to the IOMMU backend, if set).
  const binding = vfioGroupBind(group, container)
  try {
    container.attachGroup(binding.group)
  } catch (e) {
    binding.release()
    throw e
  }
  group.container = container
  group.binding = binding
  return 0
}

/** VFIO_GROUP_UNSET_CONTAINER (spec §6.4): not attached → EINVAL; a device fd open → EBUSY. */
function groupUnsetContainer(group: VfioGroup): number {
  if (group.container === undefined) return kerr('EINVAL')
  if (group.containerUsers !== 1) return kerr('EBUSY')
  group.detachContainer()
  return 0
}

/**
 * strndup_user(arg, PAGE_SIZE): the NUL-terminated string at `addr`.
 * EFAULT if a byte before the NUL cannot be read; EINVAL if there is no NUL
 * in the first 4096 bytes (a fault after those bytes is not reached).
 */
export function strndupUser(task: Task, addr: number, max = NAME_MAX_BYTES): string {
  if (!Number.isSafeInteger(addr) || addr < 0) return kerr('EFAULT')
  const bytes: number[] = []
  let a = addr
  while (bytes.length < max) {
    // Read up to the end of the page: a fault past the NUL must not count.
    const n = Math.min(max - bytes.length, 4096 - (a % 4096))
    const chunk = task.mm.copyFromUser(a, n)
    const nul = chunk.indexOf(0)
    if (nul >= 0) {
      for (let i = 0; i < nul; i++) bytes.push(chunk[i]!)
      return String.fromCharCode(...bytes)
    }
    for (const c of chunk) bytes.push(c)
    a += n
  }
  return kerr('EINVAL')
}

/** The descriptor alloc_fd would pick. */
function lowestFreeFd(task: Task): number {
  let fd = 0
  for (const used of task.files.fds()) {
    if (used !== fd) break
    fd++
  }
  return fd
}

/**
 * VFIO_GROUP_GET_DEVICE_FD (spec §6.5): `arg` points at the device name
 * (dev_name(), e.g. "2c0a0000.dma"). Returns a new O_CLOEXEC fd.
 * - upstream: name (EFAULT/EINVAL), unknown name (ENODEV), no free fd
 *   (EMFILE), group not in a container (EINVAL), first open: container
 *   without IOMMU (EINVAL), then the driver's openDevice
 *   (group.c vfio_group_ioctl_get_device_fd → vfio_device_open_file).
 * - rfc-v5: name (EFAULT/EINVAL), not in a container / no IOMMU / not viable
 *   (EINVAL), unknown name (ENODEV), then the open.
 */
function groupGetDeviceFd(group: VfioGroup, arg: number, task: Task): number {
  const name = strndupUser(task, arg)
  const upstream = group.kernel.profile === 'upstream'
  if (!upstream && (group.container === undefined || !group.container.iommuSet || !group.viable)) return kerr('EINVAL')
  const vdev = group.devices.find(d => d.registered && d.name === name)
  if (vdev === undefined) return kerr('ENODEV')
  // get_unused_fd_flags() comes before vfio_device_open_file(): a full table
  // is EMFILE even for a group outside any container, and the driver's
  // openDevice does not run.
  if (upstream && lowestFreeFd(task) >= task.rlimits.nofile.cur) return kerr('EMFILE')
  // vfio_df_group_open(): !vfio_group_has_iommu() → -EINVAL.
  if (upstream && group.container === undefined) return kerr('EINVAL')
  const groupFile = group.openedFile
  if (groupFile === undefined) return kerr('EINVAL')
  const file = vfioDeviceOpenFile(vdev, groupFile)
  try {
    return task.files.install(file, true)
  } catch (e) {
    file.put()
    throw e
  }
}
