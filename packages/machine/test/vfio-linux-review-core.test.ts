// Review of the VFIO core against Linux's sources (drivers/vfio/group.c,
// vfio_main.c, container.c): call sequences whose result depends on the
// order of Linux's checks, each pinned with the function it comes from.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU } from '@vfio-sim/uapi'
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

test.run()
