// The bus control files through the real system-call path (open/write/read
// on /sys via the VFS), as a root or unprivileged process sees them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { O_RDONLY, O_WRONLY } from '@vfio-sim/uapi'
import { isKernelError } from '../src/errno.ts'
import { spawnTask, type TaskStruct } from '../src/kernel/fork.ts'
import { sysClose, sysOpen, sysRead, sysReadlink, sysReaddir, sysWrite } from '../src/syscalls/index.ts'
import { parseDts } from '../src/of/dtc-parser.ts'
import { ofPlatformPopulate } from '../src/of/platform.ts'
import { ofPopulateSysfs } from '../src/of/kobj.ts'
import { platformDriverRegister } from '../src/drivers/base/platform.ts'
import type { Kernel } from '../src/kernel.ts'
import { PrimeCellIdDevice, newKernel, standIn } from './driver-core-helpers.ts'

const DTS = `/dts-v1/;
/ {
  #address-cells = <2>;
  #size-cells = <2>;
  soc {
    compatible = "simple-bus";
    #address-cells = <2>;
    #size-cells = <2>;
    ranges;
    dma@2c0a0000 { compatible = "arm,pl330"; reg = <0x0 0x2c0a0000 0x0 0x1000>; };
  };
};
`
const DEV = '/sys/bus/platform/devices/2c0a0000.dma'

function setup(): { k: Kernel; root: TaskStruct } {
  const k = newKernel()
  k.sys.bus.addDevice(0x2c0a0000, new PrimeCellIdDevice(0x00241330))
  const dt = parseDts(DTS)
  ofPopulateSysfs(k, dt)
  ofPlatformPopulate(k, dt)
  platformDriverRegister(k, standIn('test-dma', 'platform', { ofMatchTable: ['arm,pl330'] }))
  platformDriverRegister(k, standIn('vfio-platform', 'platform', { driverManagedDma: true }))
  return { k, root: spawnTask(k) }
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

/** open + write + close: bytes written, or the errno name (from open or write). */
function shWrite(k: Kernel, t: TaskStruct, path: string, data: string): number | string {
  try {
    const fd = sysOpen(k, t, path, O_WRONLY)
    try {
      return sysWrite(t, fd, enc(data))
    } finally {
      sysClose(t, fd)
    }
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

function shRead(k: Kernel, t: TaskStruct, path: string): string {
  try {
    const fd = sysOpen(k, t, path, O_RDONLY)
    const buf = new Uint8Array(8192)
    const n = sysRead(t, fd, buf)
    sysClose(t, fd)
    return new TextDecoder().decode(buf.subarray(0, n))
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

test('admin sequence through open/write on /sys', () => {
  const { k, root } = setup()
  assert.is(shRead(k, root, `${DEV}/driver_override`), '(null)\n')
  assert.is(shWrite(k, root, `${DEV}/driver_override`, 'vfio-platform\n'), 14)
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers/test-dma/unbind', '2c0a0000.dma\n'), 13)
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers_probe', '2c0a0000.dma\n'), 13)
  assert.is(sysReadlink(k, root, `${DEV}/driver`), '../../../../bus/platform/drivers/vfio-platform')
  assert.is(sysReadlink(k, root, DEV), '../../../devices/platform/soc/2c0a0000.dma')
  assert.ok(sysReaddir(k, root, '/sys/bus/platform/drivers/vfio-platform').includes('2c0a0000.dma'))
  assert.is(shRead(k, root, `${DEV}/driver_override`), 'vfio-platform\n')
})

test('errnos as write(2) returns them', () => {
  const { k, root } = setup()
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers/vfio-platform/bind', '2c0a0000.dma'), 'ENODEV')
  shWrite(k, root, `${DEV}/driver_override`, 'vfio-platform')
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers/vfio-platform/bind', '2c0a0000.dma'), 'EBUSY')
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers_probe', 'nosuch'), 'ENODEV')
  assert.is(shWrite(k, root, `${DEV}/driver_override`, 'x'.repeat(4095)), 'EINVAL')
  assert.is(shWrite(k, root, `${DEV}/driver_override`, ''), 0)
  assert.is(shRead(k, root, `${DEV}/driver_override`), 'vfio-platform\n')
  assert.is(shWrite(k, root, `${DEV}/driver_override`, '\n'), 1)
  assert.is(shRead(k, root, `${DEV}/driver_override`), '(null)\n')
  assert.is(shRead(k, root, '/sys/bus/platform/drivers_autoprobe'), '1\n')
  assert.is(shWrite(k, root, '/sys/bus/platform/drivers/test-dma/bind', '2c0a0000.dma'), 'EBUSY')
})

test('permissions: write-only control files, non-root writers', () => {
  const { k, root } = setup()
  assert.is(shRead(k, root, '/sys/bus/platform/drivers_probe'), 'EACCES', 'a write-only sysfs file cannot be opened for reading')
  const user = spawnTask(k, { uid: 1000 })
  assert.is(shWrite(k, user, `${DEV}/driver_override`, 'vfio-platform\n'), 'EACCES')
  assert.is(shWrite(k, user, '/sys/bus/platform/drivers_probe', '2c0a0000.dma\n'), 'EACCES')
  assert.is(shRead(k, user, `${DEV}/driver_override`), '(null)\n', 'mode 0644: anyone may read')
  assert.is(shRead(k, user, `${DEV}/modalias`), 'of:NdmaT(null)Carm,pl330\n')
})

test.run()
