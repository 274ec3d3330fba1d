// The VFIO object lifecycle (spec vfio.md §7, invariants §15.5–7): who keeps
// the container, its IOMMU backend and its DMA mappings alive, in every close
// order; and the canonical userspace sequence of
// Documentation/driver-api/vfio.rst on fvp-mmu400.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_DEVICE_GET_INFO,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  vfio_iommu_type1_dma_map,
} from '@vfio-sim/uapi'
import { vfioGroups } from '@vfio-sim/kernel'
import { cstring, DMA0, errno, int32, O_RDWR, openVfio, u32s, vfioRig, type VfioRig } from './vfio-core-fixture.ts'
import type { Process } from '../src/index.ts'

const PROFILES = ['rfc-v5', 'upstream'] as const
const IOVA = 0x10_0000

function ready(profile: (typeof PROFILES)[number]): VfioRig {
  const rig = vfioRig(profile)
  rig.bindVfio(DMA0)
  if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
  return rig
}

/** mmap's a buffer and maps it at IOVA with READ|WRITE. */
function mapBuffer(p: Process, container: number, pages = 4): number {
  const vaddr = p.mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const arg = vfio_iommu_type1_dma_map.encode({
    argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr: BigInt(vaddr), iova: BigInt(IOVA), size: BigInt(pages * 4096),
  })
  assert.is(p.ioctl(container, VFIO_IOMMU_MAP_DMA, arg), 0)
  return vaddr
}

/** Pages the device can reach through its current domain. */
function reachable(rig: VfioRig): number {
  return rig.iommu!.mappedPages(rig.dev(DMA0))
}

function lockedVm(p: Process): number {
  return p.task.mm.lockedVm
}

for (const profile of PROFILES) {
  test(`${profile}: closing the container fd keeps mappings while the group is attached; closing the group drops them`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    mapBuffer(p, container)
    assert.is(reachable(rig), 4)
    assert.is(lockedVm(p), 4)
    p.close(container)
    assert.is(reachable(rig), 4)
    assert.is(lockedVm(p), 4)
    p.close(group)
    assert.is(reachable(rig), 0)
    assert.is(lockedVm(p), 0)
    // The group is free again: a new open works, and it is not in a container.
    const g = p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR)
    const st = u32s(8, 0)
    p.ioctl(g, VFIO_GROUP_GET_STATUS, st)
    assert.is(new DataView(st.buffer).getUint32(4, true), VFIO_GROUP_FLAGS_VIABLE)
  })

  test(`${profile}: device fds keep the group attached after the group and container fds close, in any order`, () => {
    for (const order of [['container', 'group', 'device'], ['group', 'container', 'device'], ['group', 'device', 'container'], ['device', 'group', 'container']] as const) {
      const rig = ready(profile)
      const p = rig.root
      const { container, group } = openVfio(rig, p, DMA0)
      mapBuffer(p, container)
      const device = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
      const fds = { container, group, device }
      const path = `/dev/vfio/${rig.groupId(DMA0)}`
      let groupClosed = false
      let deviceClosed = false
      for (const which of order) {
        p.close(fds[which])
        if (which === 'group') groupClosed = true
        if (which === 'device') deviceClosed = true
        const attached = !(groupClosed && deviceClosed)
        assert.is(reachable(rig), attached ? 4 : 0, `${order.join(',')} after ${which}`)
        assert.is(lockedVm(p), attached ? 4 : 0)
        // The device fd still holds the (closed) group file: a new group open is refused.
        if (groupClosed && !deviceClosed) assert.is(errno(() => p.open(path, O_RDWR)), 'EBUSY')
      }
      assert.equal(rig.log.calls, [`open ${DMA0}`, `close ${DMA0}`])
      p.close(p.open(path, O_RDWR))
    }
  })

  test(`${profile}: the device fd works after the group and container fds are closed (DMA still mapped)`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    mapBuffer(p, container)
    const device = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    p.close(group)
    p.close(container)
    assert.is(p.ioctl(device, VFIO_DEVICE_GET_INFO, 0), 0x1234)
    assert.is(reachable(rig), 4)
    // exit() closes everything: the device is closed and the mappings go.
    p.exit()
    assert.is(reachable(rig), 0)
    assert.equal(rig.log.calls.at(-1), `close ${DMA0}`)
  })

  test(`${profile}: UNSET_CONTAINER of the last group releases the IOMMU: mappings gone, SET_IOMMU possible again after re-attach`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    mapBuffer(p, container)
    assert.is(p.ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0)
    assert.is(reachable(rig), 0)
    assert.is(lockedVm(p), 0)
    assert.is(errno(() => p.ioctl(container, VFIO_IOMMU_UNMAP_DMA, new Uint8Array(24))), 'EINVAL')
    assert.is(errno(() => p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)), 'EINVAL')
    p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(container))
    assert.is(p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0)
    mapBuffer(p, container, 2)
    assert.is(reachable(rig), 2)
  })

  test(`${profile}: a group joining an ACTIVE container gets the existing mappings replayed into its domain`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    mapBuffer(p, container)
    assert.is(p.ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0)
    // A second container with an IOMMU and a mapping, then our group joins it.
    const c2 = p.open('/dev/vfio/vfio', O_RDWR)
    p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(c2))
    p.ioctl(c2, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    mapBuffer(p, c2, 3)
    assert.is(reachable(rig), 3)
    assert.is(errno(() => p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(container))), 'EINVAL')
  })

  test(`${profile}: the domain is the group's own while in a container, the default one afterwards`, () => {
    const rig = ready(profile)
    const p = rig.root
    const dev = rig.dev(DMA0)
    const before = rig.iommu!.attached.get(dev)
    const { group } = openVfio(rig, p, DMA0)
    const during = rig.iommu!.attached.get(dev)
    assert.ok(during !== before)
    assert.is(during?.type, 'UNMANAGED')
    p.close(group)
    assert.is(rig.iommu!.attached.get(dev), before)
    assert.ok(during!.freed)
  })

  test(`${profile}: unbinding the VFIO driver while the group fd is open: /dev/vfio/N goes, the open group fd fails cleanly`, () => {
    const rig = ready(profile)
    const p = rig.root
    const { container, group } = openVfio(rig, p, DMA0)
    mapBuffer(p, container)
    const id = rig.groupId(DMA0)
    if (profile === 'upstream') {
      // The last device going revokes the group: it leaves the container, so
      // the kernel driver can bind again.
      rig.bindKernel(DMA0)
      assert.is(rig.dev(DMA0).driver?.name, 'dma-pl330')
      assert.is(reachable(rig), 0)
      assert.is(lockedVm(p), 0)
      assert.is(errno(() => p.ioctl(group, VFIO_GROUP_GET_STATUS, u32s(8, 0))), 'ENODEV')
      assert.is(errno(() => p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(container))), 'ENODEV')
    } else {
      // [2014] the group stays in its container until its fd closes; binding
      // a kernel driver meanwhile (a BUG_ON in 2014) fails: VFIO owns the DMA.
      assert.is(errno(() => rig.bindKernel(DMA0)), 'EINVAL')
      assert.is(rig.dev(DMA0).driver, null)
      assert.is(reachable(rig), 4)
    }
    assert.is(rig.m.kernel.devfs.lookup(`vfio/${id}`), undefined)
    assert.is(vfioGroups(rig.m.kernel).size, 0)
    // The device is gone from the group (upstream: and the group from its container).
    assert.is(errno(() => p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))), 'ENODEV')
    p.close(group)
    assert.is(reachable(rig), 0)
    assert.is(lockedVm(p), 0)
    if (profile === 'rfc-v5') {
      p.writeFile('/sys/bus/platform/drivers_probe', DMA0)
      assert.is(rig.dev(DMA0).driver?.name, 'dma-pl330')
    }
  })
}

for (const profile of PROFILES) {
  test(`${profile}: two groups behind one IOMMU in one container share one domain; it outlives the first group to leave`, () => {
    const rig = vfioRig(profile, 'fvp-mmu400-shared-group', { separateGroups: true })
    const p = rig.root
    const [a, b] = ['2c0a0000.dma', '2c0b0000.dma']
    assert.ok(rig.groupId(a) !== rig.groupId(b))
    rig.bindVfio(a)
    rig.bindVfio(b)
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const ga = p.open(`/dev/vfio/${rig.groupId(a)}`, O_RDWR)
    const gb = p.open(`/dev/vfio/${rig.groupId(b)}`, O_RDWR)
    p.ioctl(ga, VFIO_GROUP_SET_CONTAINER, int32(c))
    p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    mapBuffer(p, c, 2)
    // b joins the ACTIVE container: same domain, so the mappings are already there.
    p.ioctl(gb, VFIO_GROUP_SET_CONTAINER, int32(c))
    const iommu = rig.iommu!
    const da = iommu.attached.get(rig.dev(a))
    assert.is(iommu.attached.get(rig.dev(b)), da)
    assert.is(da?.type, 'UNMANAGED')
    assert.is(iommu.mappedPages(rig.dev(b)), 2)
    // a leaves: b keeps the domain and the mappings.
    p.ioctl(ga, VFIO_GROUP_UNSET_CONTAINER)
    assert.ok(iommu.attached.get(rig.dev(a)) !== da)
    assert.ok(!da!.freed)
    assert.is(iommu.mappedPages(rig.dev(b)), 2)
    assert.is(lockedVm(p), 2)
    // b leaves last: every mapping goes, the domain is freed.
    p.close(gb)
    assert.ok(da!.freed)
    assert.is(lockedVm(p), 0)
    // Separate containers get separate domains.
    const c2 = p.open('/dev/vfio/vfio', O_RDWR)
    const gb2 = p.open(`/dev/vfio/${rig.groupId(b)}`, O_RDWR)
    p.ioctl(ga, VFIO_GROUP_SET_CONTAINER, int32(c))
    p.ioctl(gb2, VFIO_GROUP_SET_CONTAINER, int32(c2))
    assert.ok(iommu.attached.get(rig.dev(a)) !== iommu.attached.get(rig.dev(b)))
  })
}

for (const profile of PROFILES) {
  test(`${profile}: after chown of /dev/vfio/N an unprivileged user runs the sequence; RLIMIT_MEMLOCK limits its MAP_DMA`, () => {
    const rig = ready(profile)
    const id = rig.groupId(DMA0)
    rig.root.chown(`/dev/vfio/${id}`, 1000)
    const user = rig.m.spawn({ uid: 1000, caps: [], rlimits: { memlock: 2 * 4096 } })
    const { container, group } = openVfio(rig, user, DMA0)
    // The group is single-open whoever asks.
    assert.is(errno(() => rig.root.open(`/dev/vfio/${id}`, O_RDWR)), 'EBUSY')
    const vaddr = user.mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    const map = (iova: number, pages: number): Uint8Array =>
      vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr: BigInt(vaddr), iova: BigInt(iova), size: BigInt(pages * 4096) })
    assert.is(errno(() => user.ioctl(container, VFIO_IOMMU_MAP_DMA, map(IOVA, 3))), 'ENOMEM')
    assert.is(reachable(rig), 0)
    assert.is(user.ioctl(container, VFIO_IOMMU_MAP_DMA, map(IOVA, 2)), 0)
    assert.is(reachable(rig), 2)
    const d = user.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.is(user.ioctl(d, VFIO_DEVICE_GET_INFO, 0), 0x1234)
    user.exit()
    assert.is(reachable(rig), 0)
    rig.root.close(rig.root.open(`/dev/vfio/${id}`, O_RDWR))
  })
}

for (const profile of PROFILES) {
  test(`${profile}: Documentation/driver-api/vfio.rst example on fvp-mmu400 (container, version, extension, group, status, SET_CONTAINER, SET_IOMMU, GET_INFO, MAP_DMA, GET_DEVICE_FD)`, () => {
    const rig = vfioRig(profile)
    const p = rig.root
    // Setup as root: bind the device to a VFIO driver (driver_override), find its group.
    rig.bindVfio(DMA0)
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const groupLink = p.readlink(`/sys/bus/platform/devices/${DMA0}/iommu_group`)
    const groupId = Number(groupLink.split('/').at(-1))
    assert.is(groupId, rig.groupId(DMA0))

    // 1–3: container, API version, type1 extension.
    const container = p.open('/dev/vfio/vfio', O_RDWR)
    assert.is(p.ioctl(container, VFIO_GET_API_VERSION), VFIO_API_VERSION)
    assert.is(p.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1)
    // 4–5: group, viable.
    const group = p.open(`/dev/vfio/${groupId}`, O_RDWR)
    const st = u32s(8, 0)
    p.ioctl(group, VFIO_GROUP_GET_STATUS, st)
    assert.ok((new DataView(st.buffer).getUint32(4, true) & VFIO_GROUP_FLAGS_VIABLE) !== 0)
    // 6–7: add the group to the container, enable the IOMMU model.
    assert.is(p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(container)), 0)
    assert.is(p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0)
    // 8: IOMMU info (argsz = sizeof; the rfc-v5 struct is 16 bytes with flags 0).
    const info = new Uint8Array(24)
    new DataView(info.buffer).setUint32(0, profile === 'upstream' ? 24 : 16, true)
    assert.is(p.ioctl(container, VFIO_IOMMU_GET_INFO, info), 0)
    const iv = new DataView(info.buffer)
    if (profile === 'upstream') {
      assert.ok((iv.getUint32(4, true) & VFIO_IOMMU_INFO_PGSIZES) !== 0)
      assert.is(iv.getBigUint64(8, true), 0x4020_1000n)
    }
    // 9: 1 MiB of anonymous memory at IOVA 0.
    const size = 1024 * 1024
    const vaddr = p.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    const map = vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr: BigInt(vaddr), iova: 0n, size: BigInt(size) })
    assert.is(p.ioctl(container, VFIO_IOMMU_MAP_DMA, map), 0)
    // The device now reaches the buffer's pages through its IOMMU domain.
    p.write32(vaddr + 0x2000, 0xcafe_f00d)
    const pte = rig.iommu!.translate(rig.dev(DMA0), 0x2000)!
    assert.ok(pte !== undefined)
    const phys = new Uint8Array(4)
    rig.m.kernel.sys.memory.read(pte.paddr, phys, 0, 4)
    assert.is(new DataView(phys.buffer).getUint32(0, true), 0xcafe_f00d)
    // 10: the device fd.
    const device = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.ok(device > group)
    assert.is(p.ioctl(device, VFIO_DEVICE_GET_INFO, 0), 0x1234)
    assert.equal(rig.log.calls[0], `open ${DMA0}`)
  })
}

test.run()
