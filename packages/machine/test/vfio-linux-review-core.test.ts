// Review of the VFIO core against Linux's sources (drivers/vfio/group.c,
// vfio_main.c, container.c): call sequences whose result depends on the
// order of Linux's checks, each pinned with the function it comes from.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU } from '@vfio-sim/uapi'
import { SimSystem } from '@vfio-sim/sim'
import { Kernel } from '@vfio-sim/kernel'
import { Machine, buildBoard } from '../src/index.ts'
import { cstring, DMA0, errno, int32, O_RDWR, vfioRig } from './vfio-core-fixture.ts'

function ready(profile: 'rfc-v5' | 'upstream') {
  const rig = vfioRig(profile)
  rig.bindVfio(DMA0)
  if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
  return rig
}

// group.c vfio_group_ioctl_get_device_fd: strndup_user, vfio_device_get_from_name
// (ENODEV), get_unused_fd_flags (EMFILE), and only then vfio_device_open_file →
// vfio_df_group_open, whose !vfio_group_has_iommu() is the EINVAL of a group
// outside any container. So a full fd table wins over "no container".
test('upstream: GET_DEVICE_FD on a group outside any container with a full fd table: EMFILE (fd first), no open', () => {
  const rig = ready('upstream')
  // stdio 0–2, container 3, group 4: a limit of 5 leaves no fd for the device.
  const p = rig.m.spawn({ rlimits: { nofile: 5 } })
  p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EMFILE')
  // An unknown name is still ENODEV (the lookup comes before the fd).
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('nope'))), 'ENODEV')
  assert.equal(rig.log.calls, [])
})

test('upstream: GET_DEVICE_FD in a container without IOMMU and a full fd table: EMFILE', () => {
  const rig = ready('upstream')
  const p = rig.m.spawn({ rlimits: { nofile: 5 } })
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EMFILE')
  // With room for the fd, the missing IOMMU is EINVAL (vfio_group_use_container).
  const q = rig.m.spawn({ rlimits: { nofile: 64 } })
  rig.root.close(rig.root.open('/dev/vfio/vfio', O_RDWR))
  p.close(g)
  const c2 = q.open('/dev/vfio/vfio', O_RDWR)
  const g2 = q.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  q.ioctl(g2, VFIO_GROUP_SET_CONTAINER, int32(c2))
  assert.is(errno(() => q.ioctl(g2, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EINVAL')
  q.ioctl(c2, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
  assert.ok(q.ioctl(g2, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0)) >= 0)
})

// [2014] vfio.c vfio_group_get_device_fd checks container/IOMMU/viability
// first, then the name, then opens, then allocates the fd.
test('rfc-v5: GET_DEVICE_FD outside any container with a full fd table: EINVAL (the 2014 order)', () => {
  const rig = ready('rfc-v5')
  const p = rig.m.spawn({ rlimits: { nofile: 5 } })
  p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
  assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'EINVAL')
  assert.equal(rig.log.calls, [])
})

// mm/mmap.c: a vma holds a reference to its file (vm_file), so the device
// file's release — vfio_device_fops_release → close_device on the last one
// (vfio-platform: the reset of vfio_platform_close_device), and the group
// file reference it holds — waits for munmap. Until then the group has a
// container user besides its own: UNSET_CONTAINER is EBUSY
// (group.c vfio_group_ioctl_unset_container, container_users != 1).
for (const profile of ['rfc-v5', 'upstream'] as const) {
  test(`${profile}: a vfio-platform device fd closed while its region is mmapped stays open until munmap (UNSET EBUSY, no close reset)`, () => {
    const kernel = new Kernel({ sys: new SimSystem(), profile })
    const m = new Machine(kernel, 'fvp-mmu400', buildBoard(kernel, 'fvp-mmu400', { iommu: true }))
    const p = m.spawn()
    p.writeFile(`/sys/bus/platform/devices/${DMA0}/driver_override`, 'vfio-platform\n')
    p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', `${DMA0}\n`)
    p.writeFile('/sys/bus/platform/drivers_probe', `${DMA0}\n`)
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
    const gid = p.readlink(`/sys/bus/platform/devices/${DMA0}/iommu_group`).split('/').pop()!
    const resets = (): number => kernel.dmesg().filter(l => l.includes('VFIO: reset')).length
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${gid}`, O_RDWR)
    p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
    p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    const d = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    const va = p.mmap(0, 4096, 3, 1 /* MAP_SHARED */, d, 0)
    const afterOpen = resets()
    assert.is(afterOpen, profile === 'upstream' ? 1 : 0, 'upstream resets at the first open')
    p.close(d)
    assert.is(errno(() => p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER)), 'EBUSY')
    assert.is(resets(), afterOpen, 'no close_device yet')
    assert.is(p.read32(va + 0xfe0), 0x30, 'the registers are still reachable (PERIPH_ID0)')
    p.munmap(va, 4096)
    assert.is(resets(), profile === 'upstream' ? 2 : 0, 'close_device ran at the munmap')
    assert.is(p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), 0)
  })
}

test.run()
