// The VFIO core through the process API: /dev/vfio/vfio, /dev/vfio/N and
// device fds, every error path of spec vfio.md §5–§7 with its exact errno,
// for both profiles where they differ (§16).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_INFO,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  O_RDONLY,
} from '@vfio-sim/uapi'
import { isKernelError, vfioGroups, vfioRegisterGroupDev, VfioDevice } from '@vfio-sim/kernel'
import { cstring, DMA0, errno, int32, O_RDWR, openVfio, u32s, vfioRig } from './vfio-core-fixture.ts'

const PROFILES = ['rfc-v5', 'upstream'] as const

/** The errno of a kernel-internal call. */
function kerrno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
  throw new Error('expected a KernelError')
}

function status(p: { ioctl(fd: number, r: number, a: Uint8Array): number }, group: number): number {
  const b = u32s(8, 0xffff_ffff)
  p.ioctl(group, VFIO_GROUP_GET_STATUS, b)
  return new DataView(b.buffer).getUint32(4, true)
}

/** A ready rig: DMA0 bound to vfio-test; upstream allows unsafe interrupts (GICv2, no MSI isolation). */
function ready(profile: (typeof PROFILES)[number]) {
  const rig = vfioRig(profile)
  rig.bindVfio(DMA0)
  if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
  return rig
}

// ---- /dev nodes ---------------------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: /dev/vfio/vfio is 0666 root; /dev/vfio/N (0600) exists while a device of group N is bound to a VFIO driver`, () => {
    const rig = vfioRig(profile)
    const k = rig.m.kernel
    assert.is(k.devfs.lookup('vfio/vfio')?.mode, 0o666)
    const id = rig.groupId(DMA0)
    assert.is(k.devfs.lookup(`vfio/${id}`), undefined)
    rig.bindVfio(DMA0)
    const node = k.devfs.lookup(`vfio/${id}`)!
    assert.is(node.mode, 0o600)
    assert.is(node.uid, 0)
    assert.equal(rig.root.readdir('/dev/vfio'), [String(id), 'vfio'])
    rig.bindKernel(DMA0)
    assert.is(k.devfs.lookup(`vfio/${id}`), undefined)
    assert.is(vfioGroups(k).size, 0)
    // An unprivileged user may open the container but not the group (0600 root).
    rig.bindVfio(DMA0)
    const user = rig.m.spawn({ uid: 1000, caps: [] })
    assert.ok(user.open('/dev/vfio/vfio', O_RDWR) >= 0)
    assert.is(errno(() => user.open(`/dev/vfio/${id}`, O_RDWR)), 'EACCES')
  })
}

// ---- container fd ---------------------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: container without IOMMU: API version 0, extensions, MAP/GET_INFO/unknown → EINVAL, SET_IOMMU without group → EINVAL`, () => {
    const rig = ready(profile)
    const p = rig.root
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    assert.is(p.ioctl(c, VFIO_GET_API_VERSION), 0)
    assert.is(p.ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1)
    assert.is(p.ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1)
    assert.is(p.ioctl(c, VFIO_CHECK_EXTENSION, 2), 0)
    assert.is(errno(() => p.ioctl(c, VFIO_IOMMU_MAP_DMA, new Uint8Array(32))), 'EINVAL')
    assert.is(errno(() => p.ioctl(c, VFIO_IOMMU_GET_INFO, new Uint8Array(24))), 'EINVAL')
    assert.is(errno(() => p.ioctl(c, 0x3b7f, 0)), 'EINVAL')
    assert.is(errno(() => p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EINVAL')
    // Request numbers are per fd type: GET_STATUS on a container goes to the (absent) IOMMU driver.
    assert.is(errno(() => p.ioctl(c, VFIO_GROUP_GET_STATUS, u32s(8, 0))), 'EINVAL')
    // Each open is its own container.
    const c2 = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
    p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c2))
    assert.is(errno(() => p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EINVAL')
    assert.is(p.ioctl(c2, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0)
    assert.is(errno(() => p.ioctl(c2, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EINVAL')
    // With an IOMMU set, unknown requests are ENOTTY (type1's default).
    assert.is(errno(() => p.ioctl(c2, 0x3b7f, 0)), 'ENOTTY')
    // No read/write on a container; mmap went to the IOMMU driver in 2014 (EINVAL), is absent now (ENODEV).
    assert.is(errno(() => p.read(c2, new Uint8Array(8))), 'EINVAL')
    assert.is(errno(() => p.write(c2, new Uint8Array(8))), 'EINVAL')
    assert.is(errno(() => p.mmap(0, 4096, 3, 1, c2, 0)), profile === 'upstream' ? 'ENODEV' : 'EINVAL')
    // The group fd has none of them either.
    assert.is(errno(() => p.read(g, new Uint8Array(8))), 'EINVAL')
    assert.is(errno(() => p.mmap(0, 4096, 3, 1, g, 0)), 'ENODEV')
  })
}

// ---- group fd: open, GET_STATUS ---------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: group fd has one opener (EBUSY); closing it allows a new open`, () => {
    const rig = ready(profile)
    const path = `/dev/vfio/${rig.groupId(DMA0)}`
    const g = rig.root.open(path, O_RDWR)
    assert.is(errno(() => rig.root.open(path, O_RDWR)), 'EBUSY')
    assert.is(errno(() => rig.m.spawn().open(path, O_RDONLY)), 'EBUSY')
    rig.root.close(g)
    rig.root.close(rig.root.open(path, O_RDWR))
  })

  test(`${profile}: GET_STATUS: EFAULT, argsz < 8 → EINVAL (nothing written), VIABLE, then VIABLE|CONTAINER_SET; unknown group ioctl → ENOTTY`, () => {
    const rig = ready(profile)
    const p = rig.root
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_STATUS, 0)), 'EFAULT')
    const small = u32s(7, 0x5555)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_STATUS, small)), 'EINVAL')
    assert.equal([...small], [...u32s(7, 0x5555)])
    // argsz is echoed, the extra space is not touched.
    const big = u32s(16, 0xffff_ffff, 0xdead_beef, 0xdead_beef)
    p.ioctl(g, VFIO_GROUP_GET_STATUS, big)
    assert.equal([...big], [...u32s(16, VFIO_GROUP_FLAGS_VIABLE, 0xdead_beef, 0xdead_beef)])
    p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
    assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET)
    assert.is(errno(() => p.ioctl(g, 0x3b7f, 0)), 'ENOTTY')
    assert.is(errno(() => p.ioctl(g, VFIO_GET_API_VERSION, 0)), 'ENOTTY')
  })
}

// ---- SET_CONTAINER ---------------------------------------------------------------

test('upstream: SET_CONTAINER: EFAULT, fd -1/unopened → EBADF, non-container fd → EBADFD, already set → EINVAL (before EBADFD)', () => {
  const rig = ready('upstream')
  const p = rig.root
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  const devnull = p.open('/dev/null', O_RDWR)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, 0)), 'EFAULT')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(-1))), 'EBADF')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(77))), 'EBADF')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(devnull))), 'EBADFD')
  // A group fd is not a container either.
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(g))), 'EBADFD')
  assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))), 'EINVAL')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(devnull))), 'EINVAL')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(-1))), 'EBADF')
})

test('rfc-v5: SET_CONTAINER: EFAULT, fd < 0 → EINVAL, unopened → EBADF, non-container → EINVAL, already set → EINVAL (before EBADF)', () => {
  const rig = ready('rfc-v5')
  const p = rig.root
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  const devnull = p.open('/dev/null', O_RDWR)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, 0)), 'EFAULT')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(-1))), 'EINVAL')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(77))), 'EBADF')
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(devnull))), 'EINVAL')
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(77))), 'EINVAL')
})

test('upstream: a sibling bound to a DMA-API kernel driver: not VIABLE, SET_CONTAINER → EPERM; after unbinding it, viable and attachable', () => {
  const rig = vfioRig('upstream', 'fvp-mmu400-shared-group')
  const p = rig.root
  assert.is(rig.groupId('2c0a0000.dma'), rig.groupId('2c0b0000.dma'))
  rig.bindVfio('2c0a0000.dma')
  assert.is(rig.dev('2c0b0000.dma').driver?.name, 'dma-pl330')
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId('2c0a0000.dma')}`, O_RDWR)
  assert.is(status(p, g), 0)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))), 'EPERM')
  assert.is(status(p, g), 0)
  // Driverless is fine too.
  p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', '2c0b0000.dma')
  assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET)
  // While the group is owned by VFIO, a DMA-API kernel driver cannot bind
  // (probe fails -EBUSY; drivers_probe reports any failure as EINVAL).
  assert.is(errno(() => p.writeFile('/sys/bus/platform/drivers_probe', '2c0b0000.dma')), 'EINVAL')
  assert.is(rig.dev('2c0b0000.dma').driver, null)
  assert.ok(rig.m.dmesg().some(l => l.includes('2c0b0000.dma') && l.includes('-16')), rig.m.dmesg().slice(-3).join('\n'))
})

test('rfc-v5: a sibling bound to a kernel driver: not VIABLE; SET_CONTAINER still succeeds; GET_DEVICE_FD → EINVAL until the sibling is unbound', () => {
  const rig = vfioRig('rfc-v5', 'fvp-mmu400-shared-group')
  const p = rig.root
  rig.bindVfio('2c0a0000.dma')
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId('2c0a0000.dma')}`, O_RDWR)
  assert.is(status(p, g), 0)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  assert.is(status(p, g), VFIO_GROUP_FLAGS_CONTAINER_SET)
  p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('2c0a0000.dma'))), 'EINVAL')
  // Both devices bound to a VFIO driver: viable.
  rig.bindVfio('2c0b0000.dma')
  assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET)
  const d = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('2c0a0000.dma'))
  assert.ok(d >= 0)
  const d2 = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('2c0b0000.dma'))
  assert.ok(d2 > d)
  assert.equal(rig.log.calls, ['open 2c0a0000.dma', 'open 2c0b0000.dma'])
})

test('upstream: SET_IOMMU needs MSI isolation or allow_unsafe_interrupts (EPERM and the type1 warning)', () => {
  const rig = vfioRig('upstream')
  rig.bindVfio(DMA0)
  const p = rig.root
  const param = '/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'
  assert.is(p.readFile(param), 'N\n')
  const { container } = openVfio(rig, p, DMA0, null)
  assert.is(errno(() => p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)), 'EPERM')
  assert.ok(rig.m.dmesg().some(l => l.includes('No interrupt remapping support')))
  p.writeFile(param, '1')
  assert.is(p.readFile(param), 'Y\n')
  assert.is(p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0)
  assert.is(errno(() => p.writeFile(param, 'x')), 'EINVAL')
  assert.is(errno(() => rig.m.spawn({ uid: 1000, caps: [] }).writeFile(param, 'N')), 'EACCES')
})

test('rfc-v5: type1 does not check MSI isolation for platform devices', () => {
  const rig = vfioRig('rfc-v5')
  rig.bindVfio(DMA0)
  const { container } = openVfio(rig, rig.root, DMA0, null)
  assert.is(rig.root.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0)
})

// ---- UNSET_CONTAINER ---------------------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: UNSET_CONTAINER: not set → EINVAL; device fd open → EBUSY; then success and CONTAINER_SET cleared`, () => {
    const rig = ready(profile)
    const p = rig.root
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER)), 'EINVAL')
    p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
    p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    const d = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER)), 'EBUSY')
    p.close(d)
    assert.is(p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), 0)
    assert.is(status(p, g), VFIO_GROUP_FLAGS_VIABLE)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER)), 'EINVAL')
    // The container lost its last group: no IOMMU any more.
    assert.is(errno(() => p.ioctl(c, VFIO_IOMMU_GET_INFO, u32s(24, 0, 0, 0, 0, 0))), 'EINVAL')
  })
}

// ---- GET_DEVICE_FD ---------------------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: GET_DEVICE_FD: no container / no IOMMU → EINVAL; bad pointer → EFAULT; no NUL in 4096 bytes → EINVAL; unknown name → ENODEV`, () => {
    const rig = ready(profile)
    const p = rig.root
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EINVAL')
    // Unknown name before any container: the name is looked up first upstream.
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('nope'))), profile === 'upstream' ? 'ENODEV' : 'EINVAL')
    p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EINVAL')
    p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, 0)), 'EFAULT')
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new Uint8Array(4096).fill(0x41))), 'EINVAL')
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('nope'))), 'ENODEV')
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0 + '\n'))), 'ENODEV')
    // A 4095-character name with its NUL at byte 4095 is read (and not found).
    const long = new Uint8Array(4096).fill(0x41)
    long[4095] = 0
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, long)), 'ENODEV')
    assert.equal(rig.log.calls, [])
    const d = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.ok(d > g)
    // Bytes after the NUL do not matter.
    const d2 = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new Uint8Array([...cstring(DMA0), 0x41, 0x42]))
    assert.ok(d2 > d)
  })

  test(`${profile}: the device fd is O_CLOEXEC; openDevice once on the first fd, closeDevice once when the last one goes`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { group } = openVfio(rig, p, DMA0)
    const a = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    const b = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.ok(p.task.files.getCloexec(a))
    assert.equal(rig.log.calls, [`open ${DMA0}`])
    const dup = p.dup(a)
    p.close(a)
    p.close(b)
    assert.equal(rig.log.calls, [`open ${DMA0}`])
    p.close(dup)
    assert.equal(rig.log.calls, [`open ${DMA0}`, `close ${DMA0}`])
    p.close(p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0)))
    assert.equal(rig.log.calls, [`open ${DMA0}`, `close ${DMA0}`, `open ${DMA0}`, `close ${DMA0}`])
  })

  test(`${profile}: openDevice failing fails GET_DEVICE_FD with its errno; no fd, no close, the next try opens again`, () => {
    const rig = vfioRig(profile, 'fvp-mmu400', { failOpen: 'EIO' })
    rig.bindVfio(DMA0)
    if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const p = rig.root
    const { group } = openVfio(rig, p, DMA0)
    const before = p.task.files.fds()
    assert.is(errno(() => p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EIO')
    assert.is(errno(() => p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EIO')
    assert.equal(p.task.files.fds(), before)
    assert.equal(rig.log.calls, [`open ${DMA0}`, `open ${DMA0}`])
    // Nothing holds the group: UNSET works.
    assert.is(p.ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0)
  })
}

for (const profile of PROFILES) {
  test(`${profile}: GET_DEVICE_FD with a full fd table: EMFILE (upstream: before openDevice; rfc-v5: opened and closed again)`, () => {
    const rig = ready(profile)
    // stdio 0–2, container 3, group 4: a limit of 5 leaves no fd for the device.
    const p = rig.m.spawn({ rlimits: { nofile: 5 } })
    const { group } = openVfio(rig, p, DMA0)
    assert.is(errno(() => p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EMFILE')
    assert.equal(rig.log.calls, profile === 'upstream' ? [] : [`open ${DMA0}`, `close ${DMA0}`])
    // Nothing is left holding the group.
    assert.is(p.ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0)
  })

  test(`${profile}: registering a device twice fails (upstream EINVAL, rfc-v5 EBUSY) and changes nothing`, () => {
    const rig = ready(profile)
    const k = rig.m.kernel
    const v = rig.dev(DMA0).driverData as VfioDevice
    assert.is(kerrno(() => vfioRegisterGroupDev(k, v)), profile === 'upstream' ? 'EINVAL' : 'EBUSY')
    const other = new VfioDevice(k, rig.dev(DMA0), v.ops)
    assert.is(kerrno(() => vfioRegisterGroupDev(k, other)), profile === 'upstream' ? 'EINVAL' : 'EBUSY')
    assert.is(vfioGroups(k).get(rig.groupId(DMA0))?.devices.length, 1)
  })
}

// ---- device fd ---------------------------------------------------------------

for (const profile of PROFILES) {
  test(`${profile}: device fd: ioctls go to the driver (per-fd-type numbers), read/write/pread/pwrite pass through`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    const d = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.is(p.ioctl(d, VFIO_DEVICE_GET_INFO, 0x1000), 0x1234)
    // 0x3B70 is IOMMU_GET_INFO on a container but a device request on a device fd.
    assert.is(errno(() => p.ioctl(d, VFIO_IOMMU_GET_INFO, 0)), 'ENOTTY')
    assert.is(errno(() => p.ioctl(d, VFIO_GROUP_GET_STATUS, 0)), 'ENOTTY')
    const buf = new Uint8Array(6)
    assert.is(p.read(d, buf, 0x100), 6)
    assert.equal([...buf], [0xab, 0xab, 0xab, 0xab, 0xab, 0xab])
    assert.is(p.write(d, new Uint8Array(3), 0x200), 3)
    assert.is(p.read(d, new Uint8Array(2)), 2)
    assert.equal(rig.log.calls.slice(1), [`ioctl ${DMA0} 0x3b6b 4096`, `ioctl ${DMA0} 0x3b70 0`, `ioctl ${DMA0} 0x3b67 0`, 'read 6@256', 'write 3@512', 'read 2@0'])
    // And a container fd's ioctl never reaches the device.
    assert.is(errno(() => p.ioctl(container, VFIO_DEVICE_GET_INFO, 0)), 'ENOTTY')
  })

  test(`${profile}: a driver without read/write/mmap gives EINVAL for them`, () => {
    const rig = vfioRig(profile, 'fvp-mmu400', { noRw: true })
    rig.bindVfio(DMA0)
    if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const p = rig.root
    const { group } = openVfio(rig, p, DMA0)
    const d = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.is(errno(() => p.read(d, new Uint8Array(4), 0)), 'EINVAL')
    assert.is(errno(() => p.write(d, new Uint8Array(4), 0)), 'EINVAL')
    assert.is(errno(() => p.mmap(0, 4096, 3, 1, d, 0)), 'EINVAL')
  })
}

test('upstream: VFIO_DEVICE_FEATURE is decoded by the core (EFAULT, argsz, flags, GET|SET → EINVAL; every feature ENOTTY)', () => {
  const rig = ready('upstream')
  const p = rig.root
  const { group } = openVfio(rig, p, DMA0)
  const d = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
  const GET = 1 << 16
  const SET = 1 << 17
  const PROBE = 1 << 18
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, 0)), 'EFAULT')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(7, GET | 1))), 'EINVAL')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(8, (1 << 19) | 1))), 'EINVAL')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(8, GET | SET | 1))), 'EINVAL')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(8, GET | SET | PROBE | 1))), 'ENOTTY')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(16, GET | 2))), 'ENOTTY')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(16, GET | 3))), 'ENOTTY')
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(8, SET | 0xffff))), 'ENOTTY')
  assert.equal(rig.log.calls, [`open ${DMA0}`])
})

test('rfc-v5: VFIO_DEVICE_FEATURE did not exist: the request goes to the driver', () => {
  const rig = ready('rfc-v5')
  const p = rig.root
  const { group } = openVfio(rig, p, DMA0)
  const d = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
  assert.is(errno(() => p.ioctl(d, VFIO_DEVICE_FEATURE, u32s(8, 1 << 16))), 'ENOTTY')
  assert.ok(rig.log.calls.some(c => c.startsWith(`ioctl ${DMA0} 0x3b75`)))
})

test.run()
