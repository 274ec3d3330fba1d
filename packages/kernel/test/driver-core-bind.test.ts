// The driver core through sysfs: the admin sequence and every errno and
// quirk of bus.md section 0 and section 3 (modern, >= v5.14 rules).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseDts } from '../src/of/dtc-parser.ts'
import { ofPlatformPopulate } from '../src/of/platform.ts'
import { platformBus, platformDriverRegister } from '../src/drivers/base/platform.ts'
import { ambaBus, ambaDriverRegister } from '../src/drivers/amba/bus.ts'
import { driverCore } from '../src/drivers/base/core.ts'
import { driverUnregister } from '../src/drivers/base/driver.ts'
import type { Kernel } from '../src/kernel.ts'
import { PrimeCellIdDevice, boundDriver, echo, newKernel, read, readlink, standIn, write } from './driver-core-helpers.ts'

const DTS = `/dts-v1/;
/ {
  #address-cells = <2>;
  #size-cells = <2>;
  interrupt-parent = <&gic>;
  gic: interrupt-controller@2c001000 {
    compatible = "arm,gic-400";
    #interrupt-cells = <3>;
    interrupt-controller;
    reg = <0x0 0x2c001000 0x0 0x1000>;
  };
  pclk: clock { compatible = "fixed-clock"; #clock-cells = <0>; clock-frequency = <24000000>; };
  soc {
    compatible = "simple-bus";
    #address-cells = <2>;
    #size-cells = <2>;
    ranges;
    dma@2c0a0000 {
      compatible = "arm,pl330";
      reg = <0x0 0x2c0a0000 0x0 0x1000>;
      interrupts = <0 88 4>;
    };
    dma@2c0b0000 {
      compatible = "arm,pl330", "arm,primecell";
      reg = <0x0 0x2c0b0000 0x0 0x1000>;
      interrupts = <0 89 4>, <0 90 1>;
      clocks = <&pclk>;
      clock-names = "apb_pclk";
    };
  };
};
`
const PDEV = '2c0a0000.dma'
const ADEV = '2c0b0000.dma'
const PBUS = 'bus/platform'
const ABUS = 'bus/amba'

interface Rig {
  k: Kernel
  dma: ReturnType<typeof standIn>
  admaDrv: ReturnType<typeof standIn>
  vfio: ReturnType<typeof standIn>
  vfioAmba: ReturnType<typeof standIn>
}

/** Board with one platform and one AMBA PL330-like device; "test-dma" drivers bound, vfio stand-ins registered. */
function rig(opts: { vfioResult?: () => number; mapIds?: boolean } = {}): Rig {
  const k = newKernel()
  if (opts.mapIds !== false) {
    k.sys.bus.addDevice(0x2c0a0000, new PrimeCellIdDevice(0x00241330))
    k.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00241330))
  }
  platformBus(k)
  ambaBus(k)
  ofPlatformPopulate(k, parseDts(DTS, 'test.dts'))
  const dma = standIn('test-dma', 'platform', { ofMatchTable: ['arm,pl330'] })
  const admaDrv = standIn('test-dma', 'amba', { ambaIds: [{ id: 0x00041330, mask: 0x000fffff }] })
  const vfio = standIn('vfio-platform', 'platform', { driverManagedDma: true, module: 'vfio_platform', ...(opts.vfioResult ? { result: opts.vfioResult } : {}) })
  const vfioAmba = standIn('vfio-amba', 'amba', { driverManagedDma: true, module: 'vfio_amba', ambaIds: [] })
  assert.is(platformDriverRegister(k, dma), 0)
  assert.is(ambaDriverRegister(k, admaDrv), 0)
  assert.is(platformDriverRegister(k, vfio), 0)
  assert.is(ambaDriverRegister(k, vfioAmba), 0)
  return { k, dma, admaDrv, vfio, vfioAmba }
}

test('DT devices: names, placement, bus links, driver links', () => {
  const { k } = rig()
  assert.equal(k.sysfs.readdir('bus/platform/devices'), [PDEV, 'soc'])
  assert.equal(k.sysfs.readdir('bus/amba/devices'), [ADEV])
  assert.is(readlink(k, `bus/platform/devices/${PDEV}`), `../../../devices/platform/soc/${PDEV}`)
  assert.is(readlink(k, `bus/amba/devices/${ADEV}`), `../../../devices/platform/soc/${ADEV}`)
  assert.is(readlink(k, `devices/platform/soc/${PDEV}/driver`), '../../../../bus/platform/drivers/test-dma')
  assert.is(readlink(k, `bus/platform/drivers/test-dma/${PDEV}`), `../../../../devices/platform/soc/${PDEV}`)
  assert.is(readlink(k, `devices/platform/soc/${PDEV}/subsystem`), '../../../../bus/platform')
  assert.is(readlink(k, `devices/platform/soc/${PDEV}/of_node`), '../../../../firmware/devicetree/base/soc/dma@2c0a0000')
  assert.is(boundDriver(k, 'amba', ADEV), 'test-dma')
  // No new_id/remove_id on platform or AMBA drivers; bind/unbind/uevent (+ module link for modules).
  assert.equal(k.sysfs.readdir('bus/platform/drivers/vfio-platform'), ['bind', 'module', 'uevent', 'unbind'])
  assert.is(readlink(k, 'bus/platform/drivers/vfio-platform/module'), '../../../../module/vfio_platform')
  assert.equal(k.sysfs.readdir('bus/platform'), ['devices', 'drivers', 'drivers_autoprobe', 'drivers_probe', 'uevent'])
})

test('canonical admin sequence (platform): override, unbind, drivers_probe → bound to vfio-platform', () => {
  const { k, vfio, dma } = rig()
  assert.is(echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'vfio-platform'), 14)
  assert.is(boundDriver(k, 'platform', PDEV), 'test-dma', 'writing driver_override does not unbind')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.equal(dma.removes, [PDEV])
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'vfio-platform')
  assert.is(readlink(k, `devices/platform/soc/${PDEV}/driver`), '../../../../bus/platform/drivers/vfio-platform')
  assert.equal(vfio.probes, [PDEV])
  // drivers_probe on a bound device: silent success.
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  // Back: unbind vfio, clear the override, reprobe → the OF match binds test-dma again.
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/unbind`, PDEV), 13)
  assert.is(echo(k, `${PBUS}/devices/${PDEV}/driver_override`, ''), 1)
  assert.is(read(k, `${PBUS}/devices/${PDEV}/driver_override`), '(null)\n')
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'test-dma')
})

test('canonical admin sequence (AMBA) with bind instead of drivers_probe, and the §10 errors', () => {
  const { k } = rig()
  assert.is(echo(k, `${ABUS}/drivers/vfio-amba/bind`, ADEV), 'ENODEV', 'no override yet')
  assert.is(echo(k, `${ABUS}/devices/${ADEV}/driver_override`, 'vfio-amba'), 10)
  assert.is(echo(k, `${ABUS}/drivers/vfio-amba/bind`, ADEV), 'EBUSY', 'still bound')
  assert.is(echo(k, `${ABUS}/drivers/test-dma/unbind`, ADEV), 13)
  assert.is(echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV), 'ENODEV', 'override excludes the old driver')
  assert.is(echo(k, `${ABUS}/drivers/vfio-amba/bind`, ADEV), 13)
  assert.is(boundDriver(k, 'amba', ADEV), 'vfio-amba')
  assert.is(echo(k, `${ABUS}/drivers_probe`, 'nosuch'), 'ENODEV')
  assert.is(read(k, `${ABUS}/devices/${ADEV}/id`), '00241330\n')
  assert.is(read(k, `${ABUS}/devices/${ADEV}/resource`), '\t000000002c0b0000\t000000002c0b0fff\t0000000000000200\n')
  assert.is(k.sysfs.lookup(`devices/platform/soc/${ADEV}/modalias`), undefined, 'AMBA has no modalias attribute')
})

test('driver_override show/store rules (§0.2, §0.3, §2.4)', () => {
  const { k } = rig()
  const f = `${PBUS}/devices/${PDEV}/driver_override`
  assert.is(read(k, f), '(null)\n')
  assert.is(write(k, f, 'vfio-platform'), 13)
  assert.is(read(k, f), 'vfio-platform\n')
  assert.is(write(k, f, ''), 0, 'zero-length write: store not called')
  assert.is(read(k, f), 'vfio-platform\n')
  assert.is(write(k, f, 'a\nb'), 3)
  assert.is(read(k, f), 'a\n', 'cut at the first newline')
  assert.is(write(k, f, 'x\0yz\n'), 5)
  assert.is(read(k, f), 'x\n', 'cut at the first NUL')
  assert.is(write(k, f, 'vfio-platform \n'), 15)
  assert.is(read(k, f), 'vfio-platform \n', 'no trimming')
  assert.is(write(k, f, '\n'), 1)
  assert.is(read(k, f), '(null)\n', '"\\n" clears')
  assert.is(write(k, f, 'Q'), 1)
  assert.is(write(k, f, '\0\0\0'), 3)
  assert.is(read(k, f), '(null)\n', 'NUL-only write clears')
  assert.is(write(k, f, 'a'.repeat(4094)), 4094)
  assert.is(read(k, f), 'a'.repeat(4094) + '\n')
  assert.is(write(k, f, 'b'.repeat(4095)), 'EINVAL')
  assert.is(write(k, f, 'b'.repeat(4096)), 'EINVAL')
  assert.is(write(k, f, 'b'.repeat(10000)), 'EINVAL', 'kernfs caps a write at one page, still >= 4095')
  assert.is(read(k, f), 'a'.repeat(4094) + '\n', 'unchanged after EINVAL')
  assert.is(write(k, f, 'none\n'), 5)
  assert.is(boundDriver(k, 'platform', PDEV), 'test-dma')
})

test('override is exact and case-sensitive against the driver name, and exclusive (§0.4, §0.5)', () => {
  const { k, vfio } = rig()
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV), 13)
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'ENODEV', 'vfio-platform has no match table')
  for (const wrong of ['vfio_platform', 'VFIO-platform', 'vfio-platform ']) {
    assert.is(write(k, `${PBUS}/devices/${PDEV}/driver_override`, wrong + '\n'), wrong.length + 1)
    assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13, 'drivers_probe "succeeds"')
    assert.is(boundDriver(k, 'platform', PDEV), null, `${JSON.stringify(wrong)} never matches`)
    assert.is(echo(k, `${PBUS}/drivers/test-dma/bind`, PDEV), 'ENODEV', 'override rejects every other driver')
  }
  assert.is(vfio.probes.length, 0)
  assert.is(echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'none'), 5)
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), null, 'opt-out with "none"')
})

test('bind results (§0.6, §3.3): EBUSY when bound, probe errno, EAGAIN for deferral (not queued)', () => {
  let result = -22
  const { k, vfio } = rig({ vfioResult: () => result })
  echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'vfio-platform')
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'EBUSY')
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  const before = k.dmesg().length
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'EINVAL')
  assert.equal(k.dmesg().slice(before).map(l => l.replace(/^\[[ 0-9.]+\] /, '')), [
    `vfio-platform ${PDEV}: probe with driver vfio-platform failed with error -22`,
  ])
  assert.is(k.sysfs.lookup(`devices/platform/soc/${PDEV}/driver`), undefined, 'links removed after a failed probe')
  assert.is(k.sysfs.lookup(`bus/platform/drivers/vfio-platform/${PDEV}`), undefined)
  result = -2
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'ENOENT')
  result = -19
  const b2 = k.dmesg().length
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'ENODEV')
  result = -6
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'ENXIO')
  assert.is(k.dmesg().length, b2, '-ENODEV/-ENXIO rejections are silent (dev_dbg)')
  result = -517
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/bind`, PDEV), 'EAGAIN')
  assert.is(driverCore(k).deferredPending.length, 0, 'bind does not queue a deferred probe')
  // drivers_probe: probe failure is still "success", and a deferral is queued.
  result = -22
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  result = -517
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.equal(driverCore(k).deferredPending.map(d => d.name), [PDEV], 'drivers_probe queues the deferral')
  // A later successful bind elsewhere triggers the retry; now the probe succeeds.
  result = 0
  echo(k, `${ABUS}/drivers/test-dma/unbind`, ADEV)
  assert.is(echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'vfio-platform', 'deferred device retried after a bind')
  assert.is(driverCore(k).deferredPending.length, 0)
  assert.ok(vfio.probes.length >= 7)
})

test('drivers_probe results (§3.4): ENODEV for unknown names, EINVAL when a negative error surfaces', () => {
  const { k } = rig()
  const bus = platformBus(k)
  assert.is(echo(k, `${PBUS}/drivers_probe`, 'nosuch'), 'ENODEV')
  assert.is(echo(k, `${PBUS}/drivers_probe`, ADEV), 'ENODEV', 'only devices on this bus')
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  // DMA ownership conflict (§0.10): a non-driver_managed_dma driver gets -EBUSY before probe.
  bus.dmaHooks = { useDefaultDomain: () => -16 }
  const before = k.dmesg().length
  assert.is(echo(k, `${PBUS}/drivers/test-dma/bind`, PDEV), 'EBUSY')
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 'EINVAL')
  assert.is(k.dmesg().length, before, 'failure before ->probe(): no log line')
  // vfio (driver_managed_dma) is not affected.
  echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'vfio-platform')
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'vfio-platform')
  bus.dmaHooks = {}
})

test('default domain not ready (-EPROBE_DEFER before probe): bind EAGAIN, drivers_probe EINVAL and queued', () => {
  const { k, dma } = rig()
  const bus = platformBus(k)
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  let ready = false
  bus.dmaHooks = { useDefaultDomain: () => (ready ? 0 : -517) }
  assert.is(echo(k, `${PBUS}/drivers/test-dma/bind`, PDEV), 'EAGAIN')
  assert.is(driverCore(k).deferredPending.length, 0)
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 'EINVAL')
  assert.equal(driverCore(k).deferredPending.map(d => d.name), [PDEV])
  assert.is(dma.probes.length, 1, 'probe never called on these paths (only at boot)')
  // With autoprobe off, a trigger takes the device off the deferred list
  // (deferred_probe_work_func) but bus_probe_device does nothing: it is dropped.
  ready = true
  echo(k, `${PBUS}/drivers_autoprobe`, '0')
  echo(k, `${ABUS}/drivers/test-dma/unbind`, ADEV)
  echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.is(driverCore(k).deferredPending.length, 0)
  // Autoprobe back on: no later trigger retries it; an explicit drivers_probe does.
  echo(k, `${PBUS}/drivers_autoprobe`, '1')
  echo(k, `${ABUS}/drivers/test-dma/unbind`, ADEV)
  echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'test-dma')
  bus.dmaHooks = {}
})

test('unbind (§3.2): ENODEV unless bound to that driver; no reprobe afterwards', () => {
  const { k } = rig()
  assert.is(echo(k, `${PBUS}/drivers/vfio-platform/unbind`, PDEV), 'ENODEV', 'bound to another driver')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, 'nosuch'), 'ENODEV')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, ADEV), 'ENODEV', 'AMBA name on the platform bus')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), null, 'no automatic reprobe with autoprobe on')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV), 'ENODEV', 'not bound')
  // Unbinding through the device's own driver link works too.
  assert.is(echo(k, `${PBUS}/drivers/test-dma/bind`, PDEV), 13)
  assert.is(echo(k, `${PBUS}/devices/${PDEV}/driver/unbind`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), null)
})

test('device names are compared with sysfs_streq (§3.1)', () => {
  const { k } = rig()
  const unbind = `${PBUS}/drivers/test-dma/unbind`
  const bind = `${PBUS}/drivers/test-dma/bind`
  assert.is(write(k, unbind, PDEV), 12, 'echo -n')
  assert.is(write(k, bind, PDEV + '\n'), 13, 'echo')
  assert.is(write(k, unbind, PDEV + '\n\n'), 'ENODEV', 'second newline')
  assert.is(write(k, unbind, PDEV + ' \n'), 'ENODEV', 'trailing space')
  assert.is(write(k, unbind, ' ' + PDEV), 'ENODEV', 'leading space')
  assert.is(write(k, unbind, '2C0A0000.DMA'), 'ENODEV', 'case-sensitive')
  assert.is(write(k, unbind, PDEV + '\0garbage'), 20, 'NUL ends the C string')
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.is(write(k, bind, ''), 0, 'zero-length write')
})

test('drivers_autoprobe (§3.5): show, store rules and effect', () => {
  const k = newKernel()
  k.sys.bus.addDevice(0x2c0a0000, new PrimeCellIdDevice(0x00241330))
  k.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00241330))
  const f = `${PBUS}/drivers_autoprobe`
  platformBus(k)
  ambaBus(k)
  assert.is(read(k, f), '1\n')
  assert.is(write(k, f, '0\n'), 2)
  assert.is(read(k, f), '0\n')
  assert.is(write(k, f, 'foo'), 3)
  assert.is(read(k, f), '1\n', 'anything but a leading 0 turns it on')
  assert.is(write(k, f, '00'), 2)
  assert.is(read(k, f), '0\n')
  assert.is(write(k, f, ''), 0)
  assert.is(read(k, f), '0\n')
  // Off: neither new devices nor new drivers bind.
  ofPlatformPopulate(k, parseDts(DTS))
  const dma = standIn('test-dma', 'platform', { ofMatchTable: ['arm,pl330'] })
  platformDriverRegister(k, dma)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.is(dma.probes.length, 0)
  // Explicit triggers still work.
  assert.is(echo(k, `${PBUS}/drivers_probe`, PDEV), 13)
  assert.is(boundDriver(k, 'platform', PDEV), 'test-dma')
  assert.is(echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV), 13)
  assert.is(echo(k, `${PBUS}/drivers/test-dma/bind`, PDEV), 13)
  // The AMBA bus has its own switch.
  assert.is(read(k, `${ABUS}/drivers_autoprobe`), '1\n')
})

test('uevents (§4.5): add, bind with DRIVER=, unbind without; none for driver_override', () => {
  const { k } = rig()
  const ev = driverCore(k).uevents
  const bind = ev.find(e => e.action === 'bind' && e.devpath === `/devices/platform/soc/${PDEV}`)!
  assert.equal(bind.env.slice(0, -1), [
    'ACTION=bind', `DEVPATH=/devices/platform/soc/${PDEV}`, 'SUBSYSTEM=platform', 'DRIVER=test-dma',
    'OF_NAME=dma', 'OF_FULLNAME=/soc/dma@2c0a0000', 'OF_COMPATIBLE_0=arm,pl330', 'OF_COMPATIBLE_N=1',
    'MODALIAS=of:NdmaT(null)Carm,pl330',
  ])
  const add = ev.find(e => e.action === 'add' && e.devpath === `/devices/platform/soc/${ADEV}`)!
  assert.equal(add.env.slice(3, -1), [
    'OF_NAME=dma', 'OF_FULLNAME=/soc/dma@2c0b0000', 'OF_COMPATIBLE_0=arm,pl330', 'OF_COMPATIBLE_1=arm,primecell', 'OF_COMPATIBLE_N=2',
    'AMBA_ID=00241330', 'MODALIAS=amba:d00241330',
  ])
  assert.ok(ev.some(e => e.action === 'add' && e.devpath === '/bus/platform/drivers/vfio-platform' && e.env.includes('SUBSYSTEM=drivers')))
  const n = ev.length
  echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'vfio-platform')
  assert.is(ev.length, n, 'no uevent for driver_override')
  echo(k, `${PBUS}/drivers_autoprobe`, '1')
  assert.is(ev.length, n, 'no uevent for drivers_autoprobe')
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  const unbind = ev[ev.length - 1]!
  assert.is(unbind.action, 'unbind')
  assert.equal(unbind.env.slice(0, -1), [
    'ACTION=unbind', `DEVPATH=/devices/platform/soc/${PDEV}`, 'SUBSYSTEM=platform',
    'OF_NAME=dma', 'OF_FULLNAME=/soc/dma@2c0a0000', 'OF_COMPATIBLE_0=arm,pl330', 'OF_COMPATIBLE_N=1',
  ], 'no DRIVER= (already cleared) and no MODALIAS= (zap_modalias_env)')
  // Sequence numbers increase by one.
  ev.forEach((e, i) => assert.is(e.seqnum, i + 1))
})

test('uevent, modalias files; bus and driver uevent files are write-only (§3.6, §5.2, §5.3)', () => {
  const { k } = rig()
  assert.is(read(k, `${PBUS}/devices/${PDEV}/uevent`),
    'DRIVER=test-dma\nOF_NAME=dma\nOF_FULLNAME=/soc/dma@2c0a0000\nOF_COMPATIBLE_0=arm,pl330\nOF_COMPATIBLE_N=1\nMODALIAS=of:NdmaT(null)Carm,pl330\n')
  assert.is(read(k, `${PBUS}/devices/${PDEV}/modalias`), 'of:NdmaT(null)Carm,pl330\n')
  assert.is(read(k, `${ABUS}/devices/${ADEV}/uevent`),
    'DRIVER=test-dma\nOF_NAME=dma\nOF_FULLNAME=/soc/dma@2c0b0000\nOF_COMPATIBLE_0=arm,pl330\nOF_COMPATIBLE_1=arm,primecell\nOF_COMPATIBLE_N=2\nAMBA_ID=00241330\nMODALIAS=amba:d00241330\n')
  assert.is(read(k, `${PBUS}/uevent`), 'EIO')
  assert.is(read(k, `${PBUS}/drivers/test-dma/uevent`), 'EIO')
  assert.is(read(k, `${PBUS}/drivers_probe`), 'EIO')
  const n = driverCore(k).uevents.length
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, 'change\n'), 7)
  assert.is(driverCore(k).uevents.length, n + 1)
  assert.equal(driverCore(k).uevents[n]!.env.slice(0, 5), [
    'ACTION=change', `DEVPATH=/devices/platform/soc/${PDEV}`, 'SUBSYSTEM=platform', 'SYNTH_UUID=0', 'DRIVER=test-dma',
  ])
  const uuid = '01234567-89ab-cdef-0123-456789ABCDEF'
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, `add ${uuid} A=1 b2=x\n`), 50)
  assert.equal(driverCore(k).uevents[n + 1]!.env.slice(3, 6), [`SYNTH_UUID=${uuid}`, 'SYNTH_ARG_A=1', 'SYNTH_ARG_b2=x'])
  const before = k.dmesg().length
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, 'bogus\n'), 'EINVAL')
  assert.equal(k.dmesg().slice(before).map(l => l.replace(/^\[[ 0-9.]+\] /, '')), [
    `synth uevent: /devices/platform/soc/${PDEV}: unknown uevent action string`,
    `test-dma ${PDEV}: uevent: failed to send synthetic uevent: -22`,
  ])
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, 'add not-a-uuid'), 'EINVAL')
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, `add ${uuid} A-1=2`), 'EINVAL')
  assert.is(write(k, `${PBUS}/devices/${PDEV}/uevent`, 'change\n\n'), 'EINVAL', 'only one newline is dropped')
  assert.is(driverCore(k).uevents.length, n + 2)
  assert.is(write(k, `${PBUS}/uevent`, 'add'), 3)
  assert.is(write(k, `${PBUS}/drivers/test-dma/uevent`, 'nope'), 'EINVAL')
  assert.is(k.sysfs.lookup(`devices/platform/soc/${PDEV}/modalias`)?.kind, 'file')
  const m = k.sysfs.lookup(`devices/platform/soc/${PDEV}/driver_override`)
  assert.is(m?.kind === 'file' ? m.attr.mode : 0, 0o644)
  const b = k.sysfs.lookup('bus/platform/drivers/test-dma/bind')
  assert.is(b?.kind === 'file' ? b.attr.mode : 0, 0o200)
})

test('AMBA: the ID is read through MMIO; unreadable → no add uevent, match defers, override cannot bind (§0, §6)', () => {
  const k = newKernel()
  platformBus(k)
  ambaBus(k)
  // Nothing mapped at the AMBA device's address yet.
  k.sys.bus.addDevice(0x2c0a0000, new PrimeCellIdDevice(0x00241330))
  ofPlatformPopulate(k, parseDts(DTS))
  const ev = driverCore(k).uevents
  assert.not.ok(ev.some(e => e.devpath === `/devices/platform/soc/${ADEV}`), 'add uevent held back')
  assert.is(read(k, `${ABUS}/devices/${ADEV}/id`), '00000000\n')
  const vfioAmba = standIn('vfio-amba', 'amba', { driverManagedDma: true })
  ambaDriverRegister(k, vfioAmba)
  assert.equal(driverCore(k).deferredPending.map(d => d.name), [ADEV], 'match deferral queues the device')
  echo(k, `${ABUS}/devices/${ADEV}/driver_override`, 'vfio-amba')
  assert.is(echo(k, `${ABUS}/drivers_probe`, ADEV), 'EINVAL', 'match -EPROBE_DEFER surfaces as EINVAL')
  assert.is(boundDriver(k, 'amba', ADEV), null)
  // Quirk: bind treats the negative match as a match and probes anyway.
  assert.is(echo(k, `${ABUS}/drivers/vfio-amba/bind`, ADEV), 13)
  assert.is(boundDriver(k, 'amba', ADEV), 'vfio-amba')
  echo(k, `${ABUS}/drivers/vfio-amba/unbind`, ADEV)
  // Now the ID registers answer: the next match reads the ID and sends the add uevent.
  k.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00241330))
  assert.is(echo(k, `${ABUS}/drivers_probe`, ADEV), 13)
  assert.is(boundDriver(k, 'amba', ADEV), 'vfio-amba')
  assert.is(read(k, `${ABUS}/devices/${ADEV}/id`), '00241330\n')
  const adds = ev.filter(e => e.devpath === `/devices/platform/soc/${ADEV}` && e.action === 'add')
  assert.is(adds.length, 1)
  // A wrong component ID is not a PrimeCell.
  const k2 = newKernel()
  k2.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00241330, 0x12345678))
  ofPlatformPopulate(k2, parseDts(DTS))
  assert.is(read(k2, `${ABUS}/devices/${ADEV}/id`), '00000000\n')
})

test('AMBA needs the apb_pclk clock: without it the ID is never read and a forced bind fails with ENOENT', () => {
  const k = newKernel()
  k.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00241330))
  ofPlatformPopulate(k, parseDts(DTS.replace('clock-names = "apb_pclk";', 'clock-names = "pclk";')))
  const drv = standIn('test-dma', 'amba', { ambaIds: [{ id: 0x00041330, mask: 0x000fffff }] })
  ambaDriverRegister(k, drv)
  assert.is(boundDriver(k, 'amba', ADEV), null)
  assert.is(read(k, `${ABUS}/devices/${ADEV}/id`), '00000000\n')
  assert.equal(driverCore(k).deferredPending.map(d => d.name), [ADEV])
  assert.is(echo(k, `${ABUS}/drivers_probe`, ADEV), 'EINVAL')
  // bind goes ahead on the negative match, then amba_probe fails to get the clock.
  assert.is(echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV), 'ENOENT')
  assert.is(drv.probes.length, 0)
  assert.not.ok(driverCore(k).uevents.some(e => e.devpath === `/devices/platform/soc/${ADEV}`))
})

test('AMBA id table: periphid & mask must equal id', () => {
  const k = newKernel()
  k.sys.bus.addDevice(0x2c0b0000, new PrimeCellIdDevice(0x00041331))
  ofPlatformPopulate(k, parseDts(DTS))
  const drv = standIn('test-dma', 'amba', { ambaIds: [{ id: 0x00041330, mask: 0x000fffff }] })
  ambaDriverRegister(k, drv)
  assert.is(boundDriver(k, 'amba', ADEV), null)
  assert.is(echo(k, `${ABUS}/drivers/test-dma/bind`, ADEV), 'ENODEV')
})

test('driver registration: duplicate name refused with EBUSY and a log line; unregister unbinds', () => {
  const { k, dma } = rig()
  const again = standIn('test-dma', 'platform')
  assert.is(platformDriverRegister(k, again), -16)
  assert.ok(k.dmesg().some(l => l.endsWith("Error: Driver 'test-dma' is already registered, aborting...")))
  driverUnregister(platformBus(k), dma)
  assert.is(boundDriver(k, 'platform', PDEV), null)
  assert.is(k.sysfs.lookup('bus/platform/drivers/test-dma'), undefined)
  const ev = driverCore(k).uevents
  assert.is(ev[ev.length - 1]!.devpath, '/bus/platform/drivers/test-dma')
  assert.is(ev[ev.length - 1]!.action, 'remove')
})

test('suppress_bind_attrs: no bind/unbind files (ENOENT at open)', () => {
  const { k } = rig()
  platformDriverRegister(k, standIn('quiet', 'platform', { suppressBindAttrs: true }))
  assert.is(echo(k, `${PBUS}/drivers/quiet/bind`, PDEV), 'ENOENT')
  assert.equal(k.sysfs.readdir('bus/platform/drivers/quiet'), ['uevent'])
})

test('prevent_deferred_probe turns a deferral into -ENXIO with a warning', () => {
  const { k } = rig()
  platformDriverRegister(k, standIn('nodefer', 'platform', { preventDeferredProbe: true, result: () => -517 }))
  echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'nodefer')
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  assert.is(echo(k, `${PBUS}/drivers/nodefer/bind`, PDEV), 'ENXIO')
  assert.ok(k.dmesg().some(l => l.endsWith(`nodefer ${PDEV}: probe deferral not supported`)))
})

test('the driver links exist during ->probe() and are gone before ->remove() returns; dev->driver is set in both', () => {
  const { k } = rig()
  const seen: string[] = []
  const drv = {
    name: 'watcher', bus: 'platform',
    probe: (dev: { name: string; driver: { name: string } | null }) => {
      seen.push(`probe link=${readlink(k, `bus/platform/devices/${dev.name}/driver`)} driver=${dev.driver?.name}`)
      return 0
    },
    remove: (dev: { name: string; driver: { name: string } | null }) => {
      seen.push(`remove link=${readlink(k, `bus/platform/devices/${dev.name}/driver`)} driver=${dev.driver?.name}`)
    },
  }
  platformDriverRegister(k, drv)
  echo(k, `${PBUS}/devices/${PDEV}/driver_override`, 'watcher')
  echo(k, `${PBUS}/drivers/test-dma/unbind`, PDEV)
  assert.is(echo(k, `${PBUS}/drivers/watcher/bind`, PDEV), 13)
  assert.is(echo(k, `${PBUS}/drivers/watcher/unbind`, PDEV), 13)
  assert.equal(seen, [
    'probe link=../../../../bus/platform/drivers/watcher driver=watcher',
    'remove link=undefined driver=watcher',
  ])
})

test('iommu_group link hook', async () => {
  const { k } = rig()
  const { setIommuGroup } = await import('../src/drivers/base/core.ts')
  const dev = platformBus(k).findDeviceByName(PDEV)!
  setIommuGroup(dev, { id: 3 })
  assert.is(readlink(k, `bus/platform/devices/${PDEV}/iommu_group`), '../../../../kernel/iommu_groups/3')
  setIommuGroup(dev, null)
  assert.is(readlink(k, `bus/platform/devices/${PDEV}/iommu_group`), undefined)
})

test.run()
