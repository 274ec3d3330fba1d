/**
 * /dev/vfio/vfio (drivers/vfio/container.c `vfio_fops`, a misc device of
 * mode 0666): every open makes a new, empty {@link VfioContainer} for the
 * kernel's profile; the fd's ioctls go to it.
 *
 * Closing the fd drops only the file's reference: groups attached to the
 * container keep it (and its DMA mappings) alive until the last one leaves
 * (spec vfio.md §5 "release", §7).
 */
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import type { DevNode } from '../../fs/devfs.ts'
import type { FileOperations, OpenFile } from '../../fs/file.ts'
import { VfioContainer } from './container.ts'
import { vfioTask } from './vfio_task.ts'
import { vfioType1Params } from './iommu_adapter.ts'

/** Per open of /dev/vfio/vfio: the container and whether its file is still open. */
export interface VfioContainerFile {
  readonly container: VfioContainer
}

/**
 * The container file's operations. One object for every container file, so
 * "is this fd a VFIO container?" (VFIO_GROUP_SET_CONTAINER) is a comparison
 * of `file.fops` (Linux compares `f_op` with `&vfio_fops`).
 */
export const VFIO_CONTAINER_FOPS: FileOperations = {
  ioctl(file, cmd, arg, task) {
    const c = file.priv as VfioContainerFile | undefined
    if (c === undefined) return kerr('EINVAL') // private_data NULL
    return c.container.ioctl(vfioTask(task), cmd, arg)
  },
  // [2014]/[5.15] forwarded read/write/mmap to the IOMMU driver, which (type1)
  // had none: -EINVAL, the VFS default for read/write too. [6.x] has no
  // read/write/mmap in vfio_fops (read/write: -EINVAL; mmap: -ENODEV).
  mmap(file) {
    const c = file.priv as VfioContainerFile | undefined
    return kerr(c?.container.profile === 'rfc-v5' ? 'EINVAL' : 'ENODEV')
  },
  release(file) {
    // Only the file's reference goes: attached groups keep the container.
    file.priv = undefined
  },
  // noop_llseek in [6.x]; pread/pwrite reach the missing read/write (-EINVAL).
  seekable: true,
}

/** The container behind `file`, if `file` is an open /dev/vfio/vfio. */
export function vfioContainerOfFile(file: OpenFile): VfioContainer | undefined {
  if (file.fops !== VFIO_CONTAINER_FOPS) return undefined
  return (file.priv as VfioContainerFile | undefined)?.container
}

/** The /dev/vfio/vfio node of `kernel` (misc device, 0666 root). */
export function vfioContainerNode(kernel: Kernel): DevNode {
  return {
    mode: 0o666,
    uid: 0,
    gid: 0,
    open({ file }) {
      const params = vfioType1Params(kernel)
      const container = new VfioContainer({
        profile: kernel.profile,
        printk: (level, text) => kernel.printk(level, text),
        // Read when SET_IOMMU opens the backend: the module parameter's value then.
        get allowUnsafeInterrupts() {
          return params.allowUnsafeInterrupts
        },
        // vfio_iommu_type1_open: dma_avail = dma_entry_limit, at SET_IOMMU.
        get dmaEntryLimit() {
          return params.dmaEntryLimit
        },
      })
      const priv: VfioContainerFile = { container }
      file.priv = priv
      return VFIO_CONTAINER_FOPS
    },
  }
}
