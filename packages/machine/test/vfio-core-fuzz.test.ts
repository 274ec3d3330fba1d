// A user can never crash the VFIO core: random requests, integer arguments,
// wild pointers and random structs on container, group and device fds give a
// result or an errno (SysError), never another exception.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SysError } from '../src/index.ts'
import { cstring, DMA0, O_RDWR, openVfio, vfioRig } from './vfio-core-fixture.ts'

for (const profile of ['rfc-v5', 'upstream'] as const) {
  test(`${profile}: random ioctls on every VFIO fd type return or fail with an errno`, () => {
    const rig = vfioRig(profile)
    rig.bindVfio(DMA0)
    if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const p = rig.root
    const arg = fc.oneof(
      fc.integer({ min: -5, max: 20 }),
      fc.constantFrom(0, 0xffff_ffff, 2 ** 53 - 1, 0x7fff_ffff_f000, -4096),
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      fc.constant(cstring(DMA0)),
    )
    fc.assert(
      fc.property(fc.array(fc.record({ which: fc.nat(3), req: fc.integer({ min: 0x3b60, max: 0x3b80 }), arg }), { maxLength: 20 }), calls => {
        const fds: number[] = []
        try {
          const { container, group } = openVfio(rig, p, DMA0)
          fds.push(container, group)
          let device = -1
          for (const c of calls) {
            const fd = c.which === 0 ? container : c.which === 1 ? group : device >= 0 ? device : container
            try {
              const r = p.ioctl(fd, c.req, c.arg)
              // A new fd from GET_DEVICE_FD: keep it (and close it at the end).
              if (fd === group && c.req === 0x3b6a && r >= 0) {
                fds.push(r)
                device = r
              }
            } catch (e) {
              if (!(e instanceof SysError)) throw e
            }
          }
        } finally {
          for (const fd of fds.reverse()) {
            try {
              p.close(fd)
            } catch (e) {
              if (!(e instanceof SysError)) throw e
            }
          }
        }
        // Everything was released: the group opens again.
        p.close(p.open(`/dev/vfio/${rig.groupId(DMA0)}`, O_RDWR))
        assert.is(p.task.mm.lockedVm, 0)
      }),
      { numRuns: 60 },
    )
  })
}

test.run()
