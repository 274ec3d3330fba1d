// Property: random sequences of container / group / device fd operations
// agree with a small independent model of spec vfio.md §6–§7 (invariants
// §15.4–7): the errno of every call, the pages the device can reach, the
// pinned-page count, and when the driver's open/close run.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  vfio_iommu_type1_dma_map,
} from '@vfio-sim/uapi'
import { SysError } from '../src/index.ts'
import { cstring, DMA0, int32, O_RDWR, u32s, vfioRig } from './vfio-core-fixture.ts'

type Op =
  | { readonly op: 'openContainer' }
  | { readonly op: 'openGroup' }
  | { readonly op: 'setContainer'; readonly pick: number; readonly bad: boolean }
  | { readonly op: 'unset' }
  | { readonly op: 'setIommu'; readonly pick: number }
  | { readonly op: 'map'; readonly pick: number; readonly page: number }
  | { readonly op: 'getDevice' }
  | { readonly op: 'status' }
  | { readonly op: 'close'; readonly pick: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ op: 'openContainer' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'openGroup' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('setContainer' as const), pick: fc.nat(7), bad: fc.nat(3).map(n => n === 0) }), weight: 4 },
  { arbitrary: fc.constant({ op: 'unset' as const }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('setIommu' as const), pick: fc.nat(7) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('map' as const), pick: fc.nat(7), page: fc.nat(1) }), weight: 4 },
  { arbitrary: fc.constant({ op: 'getDevice' as const }), weight: 3 },
  { arbitrary: fc.constant({ op: 'status' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('close' as const), pick: fc.nat(15) }), weight: 2 },
)

// ---- the model ----------------------------------------------------------------

interface MContainer {
  groupIn: boolean
  iommu: boolean
  /** IOVA pages mapped (each MAP maps one page). */
  readonly pages: Set<number>
}

interface Model {
  readonly containers: MContainer[]
  /** fd → what it is. */
  readonly fds: Map<number, { kind: 'container'; c: number } | { kind: 'group' } | { kind: 'device' }>
  /** The group file exists (its fd is open, or device fds hold it). */
  groupFile: boolean
  groupFdOpen: boolean
  container: number | undefined
  devices: number
  opens: number
  closes: number
}

function detach(m: Model): void {
  if (m.container === undefined) return
  const c = m.containers[m.container]!
  c.groupIn = false
  c.iommu = false // the last (only) group left: the backend is released
  c.pages.clear()
  m.container = undefined
}

/**
 * An op that needs a group fd (or a container fd) and has none opens one
 * instead, so that every step does something.
 */
function applicable(m: Model, o: Op): Op {
  const needsGroup = o.op === 'setContainer' || o.op === 'unset' || o.op === 'getDevice' || o.op === 'status'
  const needsContainer = o.op === 'setIommu' || o.op === 'map' || (o.op === 'setContainer' && !o.bad)
  if (needsGroup && fdsOf(m, 'group').length === 0) return { op: 'openGroup' }
  if (needsContainer && fdsOf(m, 'container').length === 0) return { op: 'openContainer' }
  return o
}

/**
 * The container fd an op works on: mostly the one the group is in (so
 * sequences get somewhere), sometimes any open container fd.
 */
function pickContainer(m: Model, pick: number): number | undefined {
  const cs = fdsOf(m, 'container')
  if (cs.length === 0) return undefined
  if (pick % 4 !== 0 && m.container !== undefined) {
    const own = cs.find(fd => (m.fds.get(fd) as { c: number }).c === m.container)
    if (own !== undefined) return own
  }
  return cs[pick % cs.length]
}

function fdsOf(m: Model, kind: 'container' | 'group' | 'device'): number[] {
  return [...m.fds].filter(([, v]) => v.kind === kind).map(([fd]) => fd).sort((a, b) => a - b)
}

for (const profile of ['rfc-v5', 'upstream'] as const) {
  test(`${profile}: random fd sequences match the reference-rule model`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 8, maxLength: 30 }), ops => {
        const rig = vfioRig(profile)
        rig.bindVfio(DMA0)
        if (profile === 'upstream') rig.root.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
        const p = rig.root
        const groupPath = `/dev/vfio/${rig.groupId(DMA0)}`
        const buf = p.mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        const m: Model = { containers: [], fds: new Map(), groupFile: false, groupFdOpen: false, container: undefined, devices: 0, opens: 0, closes: 0 }
        const call = (fn: () => number): number | string => {
          try {
            return fn()
          } catch (e) {
            if (e instanceof SysError) return e.code
            throw e
          }
        }
        for (const raw of [{ op: 'openContainer' } as const, { op: 'openGroup' } as const, ...ops]) {
          const o = applicable(m, raw)
          let expect: string | 'ok'
          let got: number | string
          switch (o.op) {
            case 'openContainer': {
              got = call(() => p.open('/dev/vfio/vfio', O_RDWR))
              expect = 'ok'
              if (typeof got === 'number') {
                m.containers.push({ groupIn: false, iommu: false, pages: new Set() })
                m.fds.set(got, { kind: 'container', c: m.containers.length - 1 })
              }
              break
            }
            case 'openGroup': {
              got = call(() => p.open(groupPath, O_RDWR))
              expect = m.groupFile ? 'EBUSY' : 'ok'
              if (typeof got === 'number') {
                m.groupFile = true
                m.groupFdOpen = true
                m.fds.set(got, { kind: 'group' })
              }
              break
            }
            case 'setContainer': {
              const g = fdsOf(m, 'group')[0]
              const cs = fdsOf(m, 'container')
              if (g === undefined || (cs.length === 0 && !o.bad)) continue
              const cfd = o.bad ? -1 : cs[o.pick % cs.length]!
              got = call(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(cfd)))
              if (o.bad) expect = profile === 'upstream' ? 'EBADF' : 'EINVAL'
              else if (m.container !== undefined) expect = 'EINVAL'
              else {
                expect = 'ok'
                const e = m.fds.get(cfd)!
                if (e.kind === 'container') {
                  m.container = e.c
                  m.containers[e.c]!.groupIn = true
                }
              }
              break
            }
            case 'unset': {
              const g = fdsOf(m, 'group')[0]
              if (g === undefined) continue
              got = call(() => p.ioctl(g, VFIO_GROUP_UNSET_CONTAINER))
              expect = m.container === undefined ? 'EINVAL' : m.devices > 0 ? 'EBUSY' : 'ok'
              if (expect === 'ok') detach(m)
              break
            }
            case 'setIommu': {
              const cfd = pickContainer(m, o.pick)
              if (cfd === undefined) continue
              const e = m.fds.get(cfd) as { kind: 'container'; c: number }
              const c = m.containers[e.c]!
              got = call(() => p.ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
              expect = !c.groupIn || c.iommu ? 'EINVAL' : 'ok'
              if (expect === 'ok') c.iommu = true
              break
            }
            case 'map': {
              const cfd = pickContainer(m, o.pick)
              if (cfd === undefined) continue
              const e = m.fds.get(cfd) as { kind: 'container'; c: number }
              const c = m.containers[e.c]!
              const arg = vfio_iommu_type1_dma_map.encode({
                argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                vaddr: BigInt(buf + o.page * 4096), iova: BigInt(0x10_0000 + o.page * 4096), size: 4096n,
              })
              got = call(() => p.ioctl(cfd, VFIO_IOMMU_MAP_DMA, arg))
              expect = !c.iommu ? 'EINVAL' : c.pages.has(o.page) ? 'EEXIST' : 'ok'
              if (expect === 'ok') c.pages.add(o.page)
              break
            }
            case 'getDevice': {
              const g = fdsOf(m, 'group')[0]
              if (g === undefined) continue
              got = call(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0)))
              const attached = m.container !== undefined && m.containers[m.container]!.iommu
              expect = attached ? 'ok' : 'EINVAL'
              if (typeof got === 'number') {
                if (m.devices === 0) m.opens++
                m.devices++
                m.fds.set(got, { kind: 'device' })
              }
              break
            }
            case 'status': {
              const g = fdsOf(m, 'group')[0]
              if (g === undefined) continue
              const st = u32s(8, 0)
              got = call(() => p.ioctl(g, VFIO_GROUP_GET_STATUS, st))
              expect = 'ok'
              const flags = new DataView(st.buffer).getUint32(4, true)
              assert.is(flags, VFIO_GROUP_FLAGS_VIABLE | (m.container !== undefined ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0))
              break
            }
            case 'close': {
              const all = [...m.fds.keys()].sort((a, b) => a - b)
              if (all.length === 0) continue
              const fd = all[o.pick % all.length]!
              const e = m.fds.get(fd)!
              got = call(() => {
                p.close(fd)
                return 0
              })
              expect = 'ok'
              m.fds.delete(fd)
              if (e.kind === 'group') m.groupFdOpen = false
              if (e.kind === 'device') {
                m.devices--
                if (m.devices === 0) m.closes++
              }
              if (!m.groupFdOpen && m.devices === 0 && m.groupFile) {
                m.groupFile = false
                detach(m)
              }
              break
            }
          }
          const ok = typeof got === 'number' ? 'ok' : got
          assert.is(ok, expect, `${JSON.stringify(o)}`)
          const reach = m.container !== undefined && m.containers[m.container]!.iommu ? m.containers[m.container]!.pages.size : 0
          assert.is(rig.iommu!.mappedPages(rig.dev(DMA0)), reach, `reachable after ${JSON.stringify(o)}`)
          assert.is(p.task.mm.lockedVm, reach, `locked_vm after ${JSON.stringify(o)}`)
          assert.is(rig.log.calls.filter(c => c.startsWith('open ')).length, m.opens)
          assert.is(rig.log.calls.filter(c => c.startsWith('close ')).length, m.closes)
        }
      }),
      { numRuns: 60 },
    )
  })
}

test.run()
