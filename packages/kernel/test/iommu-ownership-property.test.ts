/**
 * Property: DMA ownership under random bind/unbind/claim/release sequences,
 * against a model written from spec bus.md §4.6 and §7.3:
 *
 * - owner_cnt = devices of the group bound to a DMA-API driver + 1 if a user
 *   owns it;
 * - a DMA-API driver binds unless a user owns the group (EBUSY);
 * - a driver_managed_dma driver (vfio-platform) always binds;
 * - a user claim succeeds iff owner_cnt = 0, else EPERM;
 * - a release returns the group to its default domain;
 * - the stream-map entries point where the group's domain says: TRANS to
 *   the default domain's bank, or FAULT (blocked) while a user owns it.
 *
 * Board: two masters sharing stream ID 3 (one group) and one with ID 5.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  iommuGroupClaimDmaOwner, iommuGroupDmaOwnerClaimed, iommuGroupGet, iommuGroupReleaseDmaOwner,
} from '../src/drivers/iommu/iommu.ts'
import { armSmmuMasterSmendx } from '../src/drivers/iommu/arm/arm-smmu/arm-smmu.ts'
import { errOf, kernelDriver, registerDriver, sysWrite, testBoard, userDriver } from './arm-smmu-fixture.ts'

type Op =
  | { kind: 'bindKernel' | 'bindUser' | 'unbind'; dev: number }
  | { kind: 'claim' | 'release'; dev: number }

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('bindKernel', 'bindUser', 'unbind', 'claim', 'release') as fc.Arbitrary<Op['kind']>,
  dev: fc.integer({ min: 0, max: 2 }),
})

test('ownership rules hold for random bind/unbind/claim/release sequences', () => {
  fc.assert(fc.property(fc.constantFrom('upstream', 'rfc-v5'), fc.array(opArb, { maxLength: 25 }), (profile, ops) => {
    const b = testBoard({ profile, masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[3]] }, { name: 'c', iommus: [[5]] }] })
    const { k } = b
    // Register both drivers without autoprobe binding anything: start with every device unbound.
    sysWrite(k, 'bus/platform/drivers_autoprobe', '0')
    assert.is(registerDriver(k, kernelDriver()), 0)
    assert.is(registerDriver(k, userDriver()), 0)
    const names = b.devs.map(d => d.name)
    const groupOf = [0, 0, 1]
    // The model.
    const bound: ('kernel' | 'user' | null)[] = [null, null, null]
    const owned = [false, false]
    const ownerCnt = (g: number) => bound.filter((x, i) => x === 'kernel' && groupOf[i] === g).length + (owned[g] ? 1 : 0)
    const owners = [{}, {}]
    for (const op of ops) {
      const g = groupOf[op.dev]!
      const dev = b.dev(op.dev)
      const name = names[op.dev]!
      const ig = iommuGroupGet(dev)!
      const what = `${profile} ${op.kind} ${name}`
      switch (op.kind) {
        case 'bindKernel': {
          sysWrite(k, `devices/platform/soc/${name}/driver_override`, '\n')
          const r = sysWrite(k, 'bus/platform/drivers/test-dma/bind', name)
          const want = bound[op.dev] !== null ? 'EBUSY' : owned[g] ? 'EBUSY' : name.length
          assert.is(r, want, what)
          if (want === name.length) bound[op.dev] = 'kernel'
          break
        }
        case 'bindUser': {
          sysWrite(k, `devices/platform/soc/${name}/driver_override`, 'vfio-platform')
          const r = sysWrite(k, 'bus/platform/drivers/vfio-platform/bind', name)
          const want = bound[op.dev] !== null ? 'EBUSY' : name.length
          assert.is(r, want, what)
          if (want === name.length) bound[op.dev] = 'user'
          break
        }
        case 'unbind': {
          const drv = bound[op.dev] === 'kernel' ? 'test-dma' : 'vfio-platform'
          const r = sysWrite(k, `bus/platform/drivers/${drv}/unbind`, name)
          assert.is(r, bound[op.dev] === null ? 'ENODEV' : name.length, what)
          bound[op.dev] = null
          break
        }
        case 'claim': {
          const want = ownerCnt(g) !== 0 ? 'EPERM' : 'ok'
          assert.is(errOf(() => iommuGroupClaimDmaOwner(ig, owners[g]!)), want, what)
          if (want === 'ok') owned[g] = true
          break
        }
        case 'release':
          iommuGroupReleaseDmaOwner(ig)
          owned[g] = false
          break
      }
      for (const gi of [0, 1]) {
        const grp = iommuGroupGet(b.dev(gi === 0 ? 0 : 2))!
        assert.is(grp.ownerCnt, ownerCnt(gi), `${what}: owner_cnt of group ${gi}`)
        assert.is(iommuGroupDmaOwnerClaimed(grp), ownerCnt(gi) !== 0)
        assert.is(grp.owner, owned[gi] ? owners[gi] : null)
        assert.is(grp.domain, owned[gi] ? grp.blockingDomain : grp.defaultDomain, `${what}: domain of group ${gi}`)
        // The hardware: S2CR of the group's stream-map entry.
        const idx = armSmmuMasterSmendx(b.dev(gi === 0 ? 0 : 2))![0]!
        const s2cr = k.sys.bus.readN(0x2b40_0c00 + 4 * idx, 4) >>> 0
        const dflt = profile === 'upstream' ? 0 : 1 // TRANS (DMA domain) or BYPASS (identity)
        assert.is(s2cr >>> 16 & 3, owned[gi] ? 2 : dflt, `${what}: S2CR type of group ${gi}`)
      }
    }
  }), { numRuns: 40 })
})

test.run()
