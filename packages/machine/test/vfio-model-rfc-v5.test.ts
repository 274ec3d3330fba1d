// Model-based property (issue 7): random sequences of VFIO container, group
// and device ioctls, fd opens/closes and sysfs binding changes on the FVP
// boards in the `rfc-v5` profile, each checked against the independent
// reference model of @vfio-sim/testkit (src/vfio/model.ts): return values,
// errnos, every byte written back, and the observable state after every
// step (group status, IOMMU info with dma_avail, CHECK_EXTENSION, the
// trigger eventfd's counter, locked pages).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SimSystem } from '@vfio-sim/sim'
import { Kernel } from '@vfio-sim/kernel'
import { buildBoard, Machine, type Process } from '@vfio-sim/machine'
// @vfio-sim/machine does not depend on @vfio-sim/testkit (nor testkit on
// machine), so this test imports the testkit source directly.
import { fvpFacts, fvpSetupOptions, groupNodeExists, groupViable, runCommands, vfioCommands, vfioPrelude, vfioSetup, vfioUserSpawnOptions, type VfioProfile, type VfioSession } from '@vfio-sim/testkit'

const PROFILE: VfioProfile = 'rfc-v5'

/** The VFIO-capable configuration: a fresh boot with the IOMMU and the VFIO modules (as the flagship test). */
function bootVfio(board: string): Machine {
  const kernel = new Kernel({ sys: new SimSystem(), profile: PROFILE })
  return new Machine(kernel, board, buildBoard(kernel, board, { iommu: true }))
}

function session(board: string): VfioSession & { readonly m: Machine; readonly p: Process } {
  const m = bootVfio(board)
  const p = m.spawn(vfioUserSpawnOptions())
  return { ...vfioSetup(p, fvpFacts(PROFILE, board), fvpSetupOptions(p)), m, p }
}

/**
 * After a run: the process exits (closing every fd, unmapping everything).
 * Nothing may stay held: a new process opens the group, attaches it to a new
 * container and sets an IOMMU, and locked memory went with the old mm.
 */
function afterExit(s: ReturnType<typeof session>): void {
  s.p.exit()
  if (!groupNodeExists(s.model.s)) return
  const q = s.m.spawn()
  const c = q.open('/dev/vfio/vfio', 2)
  const g = q.open(`/dev/vfio/${s.env.groupId}`, 2)
  const st = new Uint8Array(8)
  new DataView(st.buffer).setUint32(0, 8, true)
  q.ioctl(g, 0x3b67, st)
  assert.is(new DataView(st.buffer).getUint32(4, true) & 2, 0, 'group no longer in a container')
  if (!groupViable(s.model.s)) return
  const fd = new Uint8Array(4)
  new DataView(fd.buffer).setInt32(0, c, true)
  q.ioctl(g, 0x3b68, fd)
  assert.is(q.ioctl(c, 0x3b66, 3), 0)
  q.exit()
}

for (const board of ['fvp-mmu400', 'fvp-mmu400-shared-group', 'fvp-mmu400-amba']) {
  const probe = session(board)
  test(`${PROFILE} ${board}: random VFIO command sequences from a fresh process match the model`, () => {
    fc.assert(fc.property(vfioCommands(probe.env, probe.layout, 30), cmds => {
      const s = session(board)
      fc.modelRun(() => ({ model: s.model, real: s.real }), cmds)
      afterExit(s)
    }), { numRuns: 20 })
  })
  for (const type of [1, 3] as const) {
    test(`${PROFILE} ${board}: after the usual opening with SET_IOMMU(${type}), random sequences match the model`, () => {
      fc.assert(fc.property(vfioCommands(probe.env, probe.layout, 30), cmds => {
        const s = session(board)
        runCommands(s, vfioPrelude(s.env, type))
        fc.modelRun(() => ({ model: s.model, real: s.real }), cmds)
        afterExit(s)
      }), { numRuns: 20 })
    })
  }
}

test.run()
