/**
 * The VFIO core's device fd and module init (drivers/vfio/vfio_main.c; the
 * device half of drivers/vfio/vfio.c in 2014).
 *
 * A device fd comes from VFIO_GROUP_GET_DEVICE_FD. The core counts them per
 * device: the first open runs the driver's `openDevice` (after checking the
 * container has an IOMMU), the release of the last one runs `closeDevice`.
 * Every device fd holds a reference to the group file, so the group stays in
 * its container (and its DMA mappings stay) until the last device fd closes
 * (spec vfio.md §7). ioctl/read/write/mmap go to the driver (-EINVAL if it
 * has none); upstream, VFIO_DEVICE_FEATURE is decoded by the core first.
 */
import { VFIO_DEVICE_FEATURE, O_RDWR } from '@vfio-sim/uapi'
import { kerr } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import { OpenFile, type FileOperations } from '../../fs/file.ts'
import { vfioContainerNode } from './container_file.ts'
import { vfioType1Params } from './iommu_adapter.ts'
import type { VfioGroup } from './group.ts'
import type { VfioDevice } from './vfio.ts'

/** What a device fd's `priv` holds. */
interface VfioDeviceFile {
  readonly vdev: VfioDevice
  /** The group file reference this device fd holds. */
  readonly groupFile: OpenFile
}

/** The device behind an open device fd, or undefined. */
export function vfioDeviceOfFile(file: OpenFile): VfioDevice | undefined {
  return file.fops === VFIO_DEVICE_FOPS ? (file.priv as VfioDeviceFile | undefined)?.vdev : undefined
}

/** `vfio_device_feature.flags`: the feature number (include/uapi/linux/vfio.h). */
export const VFIO_DEVICE_FEATURE_MASK = 0xffff
/** `vfio_device_feature.flags`: read the feature. */
export const VFIO_DEVICE_FEATURE_GET = 1 << 16
/** `vfio_device_feature.flags`: write the feature. */
export const VFIO_DEVICE_FEATURE_SET = 1 << 17
/** `vfio_device_feature.flags`: only ask whether GET/SET is supported. */
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18
/**
 * vfio_ioctl_device_feature() for a device without migration or dirty
 * logging ops and without a device_feature op (vfio-platform, vfio-amba):
 * the header is checked, then every feature is -ENOTTY (the core's own
 * features need ops the device lacks; "no device_feature op" was -EINVAL
 * until the 2025 patch "vfio: return -ENOTTY for unsupported device feature").
 */
function deviceFeature(arg: number, task: Parameters<NonNullable<FileOperations['ioctl']>>[3]): number {
  const b = task.mm.copyFromUser(arg, 8)
  const v = new DataView(b.buffer, b.byteOffset, 8)
  const argsz = v.getUint32(0, true)
  const flags = v.getUint32(4, true)
  if (argsz < 8) return kerr('EINVAL')
  if ((flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE)) !== 0) return kerr('EINVAL')
  if ((flags & VFIO_DEVICE_FEATURE_PROBE) === 0 && (flags & VFIO_DEVICE_FEATURE_SET) !== 0 && (flags & VFIO_DEVICE_FEATURE_GET) !== 0) return kerr('EINVAL')
  return kerr('ENOTTY')
}

/** The device file's operations (`vfio_device_fops`). */
export const VFIO_DEVICE_FOPS: FileOperations = {
  // vfio_platform_read/write use *ppos as the region offset and never advance
  // it: read(2) without a position reads offset 0 again (vfio_platform_common.c).
  keepsPosition: true,
  ioctl(file, cmd, arg, task) {
    const { vdev } = file.priv as VfioDeviceFile
    if (vdev.kernel.profile === 'upstream' && cmd >>> 0 === VFIO_DEVICE_FEATURE) return deviceFeature(arg, task)
    if (vdev.ops.ioctl === undefined) return kerr('EINVAL')
    return vdev.ops.ioctl(vdev, cmd >>> 0, arg, task)
  },
  read(file, buf, pos, task) {
    const { vdev } = file.priv as VfioDeviceFile
    if (vdev.ops.read === undefined) return kerr('EINVAL')
    return vdev.ops.read(vdev, buf, pos, task)
  },
  write(file, data, pos, task) {
    const { vdev } = file.priv as VfioDeviceFile
    if (vdev.ops.write === undefined) return kerr('EINVAL')
    return vdev.ops.write(vdev, data, pos, task)
  },
  mmap(file, vma, task) {
    const { vdev } = file.priv as VfioDeviceFile
    if (vdev.ops.mmap === undefined) return kerr('EINVAL')
    vdev.ops.mmap(vdev, vma, task)
  },
  release(file) {
    const { vdev, groupFile } = file.priv as VfioDeviceFile
    deviceClose(vdev)
    // Drops the group file reference: the last one detaches the group.
    groupFile.put()
  },
}

/** The last-close half of vfio_df_close: closeDevice on 1→0. */
function deviceClose(vdev: VfioDevice): void {
  if (vdev.openCount <= 0) return
  vdev.openCount--
  if (vdev.openCount > 0) return
  const group = vdev.group
  if (group !== undefined && group.openDevices > 0) group.openDevices--
  try {
    vdev.ops.closeDevice?.(vdev)
  } catch (e) {
    // close_device returns void in Linux: a driver bug must not escape a close().
    vdev.kernel.printk('err', `${vdev.ops.name} ${vdev.name}: close_device failed: ${(e as Error).message}`)
  }
}

/**
 * Opens one more fd on `vdev` (vfio_device_open_file): on the first open the
 * group's container must have an IOMMU (EINVAL) and the driver's
 * `openDevice` must succeed (its error). Returns the new file (one
 * reference, O_RDWR), which holds a reference to `groupFile`.
 */
export function vfioDeviceOpenFile(vdev: VfioDevice, groupFile: OpenFile): OpenFile {
  const group: VfioGroup | undefined = vdev.group
  if (vdev.openCount === 0) {
    if (group?.container === undefined || group.binding === undefined || !group.container.iommuSet) return kerr('EINVAL')
    group.binding.ensureAttached() // rfc-v5: a group that became viable after SET_CONTAINER
    vdev.ops.openDevice?.(vdev)
    group.openDevices++
  }
  vdev.openCount++
  const file = new OpenFile(VFIO_DEVICE_FOPS, O_RDWR, '[vfio-device]')
  const priv: VfioDeviceFile = { vdev, groupFile: groupFile.get() }
  file.priv = priv
  return file
}

/**
 * How param_set_bool reads a value (first characters decide):
 * - upstream, kstrtobool() of today's lib/kstrtox.c: y/Y/1/t/T/e/E (yes,
 *   true, enable) → true; n/N/0/f/F/d/D → false; "on"/"off" (o + n/f);
 * - rfc-v5, strtobool() of 3.15 lib/string.c: only y/Y/1 and n/N/0 ("on",
 *   "true"… came with kstrtobool in 4.6 and later).
 */
function parseBool(s: string, profile: Kernel['profile']): boolean | undefined {
  const c0 = s[0]
  const t = profile === 'upstream' ? 'yYtTeE1' : 'yY1'
  const f = profile === 'upstream' ? 'nNfFdD0' : 'nN0'
  if (c0 !== undefined && t.includes(c0)) return true
  if (c0 !== undefined && f.includes(c0)) return false
  if (profile === 'upstream' && (c0 === 'o' || c0 === 'O')) {
    const c1 = s[1]
    if (c1 === 'n' || c1 === 'N') return true
    if (c1 === 'f' || c1 === 'F') return false
  }
  return undefined
}

/**
 * kstrtouint(s, 0) (lib/kstrtox.c), as param_set_uint uses it: an optional
 * '+', then "0x"+hex digit → base 16, a leading 0 → base 8, else base 10; at
 * least one digit; one trailing newline. Returns the value, or 'EINVAL' /
 * 'ERANGE' (above U64_MAX even with junk after the digits; above U32_MAX).
 */
function parseUint(s: string): number | 'EINVAL' | 'ERANGE' {
  let i = 0
  if (s[i] === '+') i++
  let base = 10
  if (s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && /^[0-9a-fA-F]$/.test(s[i + 2] ?? '')) {
      base = 16
      i += 2
    } else {
      base = 8
    }
  }
  let v = 0n
  let digits = 0
  for (; i < s.length; i++) {
    const d = parseInt(s[i]!, 16)
    if (Number.isNaN(d) || d >= base) break
    v = v * BigInt(base) + BigInt(d)
    digits++
  }
  // _kstrtoull: a u64 overflow is ERANGE before the trailing-junk check;
  // kstrtouint then refuses a value that does not fit 32 bits.
  if (v > 0xffff_ffff_ffff_ffffn) return 'ERANGE'
  if (digits === 0) return 'EINVAL'
  if (s[i] === '\n') i++
  if (i !== s.length) return 'EINVAL'
  if (v > 0xffff_ffffn) return 'ERANGE'
  return Number(v)
}

const initialized = new WeakSet<Kernel>()

/**
 * vfio_init(): registers /dev/vfio/vfio (misc device, 0666). Idempotent, so
 * the board's initcalls and tests may both call it.
 */
export function vfioInit(kernel: Kernel): void {
  if (initialized.has(kernel)) return
  initialized.add(kernel)
  kernel.devfs.add('vfio/vfio', vfioContainerNode(kernel))
  // module_param(allow_unsafe_interrupts, bool, S_IRUGO | S_IWUSR)
  const p = vfioType1Params(kernel)
  kernel.sysfs.mkdir('module/vfio_iommu_type1/parameters')
  kernel.sysfs.addFile('module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', {
    mode: 0o644,
    show: () => (p.allowUnsafeInterrupts ? 'Y\n' : 'N\n'),
    store: data => {
      const v = parseBool(data, kernel.profile)
      if (v === undefined) return kerr('EINVAL')
      p.allowUnsafeInterrupts = v
      return data.length
    },
  })
  if (kernel.profile === 'upstream') {
    // module_param_named(dma_entry_limit, dma_entry_limit, uint, 0644) (Linux 5.1+)
    kernel.sysfs.addFile('module/vfio_iommu_type1/parameters/dma_entry_limit', {
      mode: 0o644,
      show: () => `${p.dmaEntryLimit}\n`,
      store: data => {
        const v = parseUint(data)
        if (typeof v === 'string') return kerr(v)
        p.dmaEntryLimit = v
        return data.length
      },
    })
  }
  kernel.printk('info', 'VFIO - User Level meta-driver version: 0.3')
}
