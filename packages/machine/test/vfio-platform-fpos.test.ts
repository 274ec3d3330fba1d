// read(2)/write(2) on a vfio-platform device fd without a position: the
// driver uses *ppos as the offset into the regions and never advances it
// (vfio_platform_read/vfio_platform_write, vfio_platform_common.c), so the
// file position stays at 0 however much is read.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { O_RDWR, VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU } from '@vfio-sim/uapi'
import { boot } from '../src/index.ts'

test('read without a position keeps reading region 0 at offset 0', () => {
  const m = boot({ board: 'fvp-mmu400', profile: 'rfc-v5' })
  const p = m.spawn()
  const dev = '2c0a0000.dma'
  p.writeFile(`/sys/bus/platform/devices/${dev}/driver_override`, 'vfio-platform\n')
  p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', dev)
  p.writeFile('/sys/bus/platform/drivers_probe', dev)
  const group = p.readlink(`/sys/bus/platform/devices/${dev}/iommu_group`).split('/').pop()!
  const c = p.open('/dev/vfio/vfio', O_RDWR)
  const g = p.open(`/dev/vfio/${group}`, O_RDWR)
  const fdArg = new Uint8Array(4)
  new DataView(fdArg.buffer).setInt32(0, c, true)
  p.ioctl(g, VFIO_GROUP_SET_CONTAINER, fdArg)
  p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
  const fd = p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode(dev + '\0'))
  // The PL330's PERIPH_ID0 (0xFE0) reads 0x30; DSR (0x000) does not.
  const at = (off: number): number => {
    const b = new Uint8Array(4)
    p.read(fd, b, off)
    return new DataView(b.buffer).getUint32(0, true)
  }
  assert.is(at(0xfe0), 0x30)
  assert.is(p.read(fd, new Uint8Array(0xfe0)), 0xfe0)
  const b = new Uint8Array(4)
  assert.is(p.read(fd, b), 4)
  assert.is(new DataView(b.buffer).getUint32(0, true), at(0), 'still offset 0, not 0xFE0')
  assert.is.not(new DataView(b.buffer).getUint32(0, true), 0x30)
})

test.run()
