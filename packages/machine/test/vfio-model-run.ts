// The body of the model-based VFIO property (issue 7), shared by
// vfio-model-rfc-v5.test.ts and vfio-model-upstream.test.ts (two files so the
// profiles run in parallel shards): random sequences of VFIO container, group
// and device ioctls, fd opens/closes and sysfs binding changes on the FVP
// boards, each checked against the independent reference model of
// @vfio-sim/testkit (src/vfio/model.ts): return values, errnos, every byte
// written back, and the observable state after every step (group status,
// IOMMU info with dma_avail, CHECK_EXTENSION, the trigger eventfd's counter,
// locked pages).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fvpFacts, fvpSetupOptions, groupNodeExists, groupViable, runCommands, vfioCommands, vfioPrelude, vfioSetup, vfioUserSpawnOptions, type VfioProfile, type VfioSession } from '@vfio-sim/testkit'
import { boot, type Machine, type Process } from '../src/index.ts'

type Session = VfioSession & { readonly m: Machine; readonly p: Process }

function session(profile: VfioProfile, board: string): Session {
  const m = boot({ board, profile })
  const p = m.spawn(vfioUserSpawnOptions())
  // A GICv2 board has no MSI isolation: upstream type1 needs
  // allow_unsafe_interrupts, which a user sets as the module parameter (decision 0602).
  if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
  return { ...vfioSetup(p, fvpFacts(profile, board), fvpSetupOptions(p)), m, p }
}

/**
 * After a run: the process exits (closing every fd, unmapping everything).
 * Nothing may stay held: a new process opens the group, attaches it to a new
 * container and sets an IOMMU, and locked memory went with the old mm.
 */
function afterExit(s: Session): void {
  s.p.exit()
  if (!groupNodeExists(s.model.s)) return
  const q = s.m.spawn()
  const c = q.open('/dev/vfio/vfio', 2)
  const g = q.open(`/dev/vfio/${s.env.groupId}`, 2)
  const st = new Uint8Array(8)
  new DataView(st.buffer).setUint32(0, 8, true)
  q.ioctl(g, 0x3b67, st) // VFIO_GROUP_GET_STATUS
  assert.is(new DataView(st.buffer).getUint32(4, true) & 2, 0, 'group no longer in a container')
  if (!groupViable(s.model.s)) return
  const fd = new Uint8Array(4)
  new DataView(fd.buffer).setInt32(0, c, true)
  q.ioctl(g, 0x3b68, fd) // VFIO_GROUP_SET_CONTAINER
  assert.is(q.ioctl(c, 0x3b66, 3), 0) // VFIO_SET_IOMMU(TYPE1v2)
  q.exit()
}

/** Registers the model-run tests of one profile on every FVP board. */
export function modelRunTests(profile: VfioProfile): void {
  for (const board of ['fvp-mmu400', 'fvp-mmu400-shared-group', 'fvp-mmu400-amba']) {
    const probe = session(profile, board)
    test(`${profile} ${board}: random VFIO command sequences from a fresh process match the model`, () => {
      fc.assert(fc.property(vfioCommands(probe.env, probe.layout, 30), cmds => {
        const s = session(profile, board)
        fc.modelRun(() => ({ model: s.model, real: s.real }), cmds)
        afterExit(s)
      }), { numRuns: 20 })
    })
    for (const type of [1, 3] as const) {
      test(`${profile} ${board}: after the usual opening with SET_IOMMU(${type}), random sequences match the model`, () => {
        fc.assert(fc.property(vfioCommands(probe.env, probe.layout, 30), cmds => {
          const s = session(profile, board)
          runCommands(s, vfioPrelude(s.env, type))
          fc.modelRun(() => ({ model: s.model, real: s.real }), cmds)
          afterExit(s)
        }), { numRuns: 20 })
      })
    }
  }
}
