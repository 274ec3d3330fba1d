// sysfs files are bytes, not text: the device tree's binary properties under
// /sys/firmware/devicetree/base come back through read(2) exactly as the
// big-endian cells of the .dts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { boot } from '../src/index.ts'
import { O_RDONLY } from '@vfio-sim/uapi'

test('memory@80000000/reg reads back as its raw big-endian cells', () => {
  const m = boot({ board: 'fvp-mmu400' })
  const p = m.spawn()
  const fd = p.open('/sys/firmware/devicetree/base/memory@80000000/reg', O_RDONLY)
  const buf = new Uint8Array(64)
  const n = p.read(fd, buf)
  assert.is(n, 16)
  assert.equal([...buf.subarray(0, 16)], [0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0])
})

test.run()
