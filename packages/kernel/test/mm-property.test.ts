/**
 * Property: random mmap/munmap/peek/poke/pin/unpin/exit sequences over two
 * processes agree with a simple independent model (per-page byte maps), pinned
 * pages keep their data after munmap until unpinned, RLIMIT_MEMLOCK is
 * enforced, and once every process exited and every pin is dropped the page
 * allocator is back to its boot state.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { Kernel } from '../src/kernel.ts'
import { isKernelError } from '../src/errno.ts'
import { spawnTask, type TaskStruct } from '../src/kernel/fork.ts'
import { UserFaultError } from '../src/mm/mmap.ts'
import type { PinnedPage } from '../src/mm/mm_types.ts'
import { pinUserPagesAccounted, unpinUserPagesAccounted } from '../src/mm/gup.ts'
import { sysMmap, sysMunmap } from '../src/syscalls/index.ts'

const PG = 4096
/** The window all operations aim at: 12 pages from here (plus 2 beyond, never mapped). */
const WIN = 0x1000_0000
const WIN_PAGES = 12
const MEMLOCK_PAGES = 5

type Op =
  | { op: 'mmap'; p: number; page: number; npages: number; writable: boolean }
  | { op: 'munmap'; p: number; page: number; npages: number }
  | { op: 'poke'; p: number; page: number; off: number; data: number[] }
  | { op: 'peek'; p: number; page: number; off: number; len: number }
  | { op: 'pin'; p: number; page: number; npages: number; write: boolean }
  | { op: 'unpin'; p: number; which: number }
  | { op: 'exit'; p: number }

const proc = fc.integer({ min: 0, max: 1 })
const page = fc.integer({ min: 0, max: WIN_PAGES + 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('mmap' as const), p: proc, page, npages: fc.integer({ min: 1, max: 4 }), writable: fc.boolean() }),
  fc.record({ op: fc.constant('munmap' as const), p: proc, page, npages: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('poke' as const), p: proc, page, off: fc.integer({ min: 0, max: PG - 1 }), data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('peek' as const), p: proc, page, off: fc.integer({ min: 0, max: PG - 1 }), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('pin' as const), p: proc, page, npages: fc.integer({ min: 1, max: 3 }), write: fc.boolean() }),
  fc.record({ op: fc.constant('unpin' as const), p: proc, which: fc.nat() }),
  fc.record({ op: fc.constant('exit' as const), p: proc }),
)

/** The model of one page ever mapped: its bytes (sparse) and how many pins hold it. */
interface ModelPage {
  bytes: Map<number, number>
  writable: boolean
}

/** The model of one process. */
interface ModelProc {
  /** Window page index → the page mapped there. */
  mapped: Map<number, ModelPage>
  /** Live pins: the model pages, with the real pins to release them. */
  pins: { pages: ModelPage[]; real: PinnedPage[] }[]
  locked: number
  exited: boolean
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (isKernelError(e)) return e.code
    if (e instanceof UserFaultError) return e.signal
    throw e
  }
  return 'OK'
}

function run(ops: Op[]): void {
  const k = new Kernel()
  k.sys.bus.addRam('dram', 0x8000_0000, 0x40_0000)
  const boot = k.pages.snapshot()
  // uid 1000 without CAP_IPC_LOCK, so RLIMIT_MEMLOCK applies
  const tasks: TaskStruct[] = [0, 1].map(() => spawnTask(k, { uid: 1000, rlimits: { memlock: MEMLOCK_PAGES * PG }, stdio: false }))
  const model: ModelProc[] = [0, 1].map(() => ({ mapped: new Map(), pins: [], locked: 0, exited: false }))

  for (const o of ops) {
    const t = tasks[o.p]!
    const m = model[o.p]!
    if (m.exited) continue
    switch (o.op) {
      case 'mmap': {
        const prot = PROT_READ | (o.writable ? PROT_WRITE : 0)
        const addr = sysMmap(k, t, WIN + o.page * PG, o.npages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        assert.is(addr, WIN + o.page * PG)
        for (let i = 0; i < o.npages; i++) m.mapped.set(o.page + i, { bytes: new Map(), writable: o.writable })
        break
      }
      case 'munmap':
        sysMunmap(t, WIN + o.page * PG, o.npages * PG)
        for (let i = 0; i < o.npages; i++) m.mapped.delete(o.page + i)
        break
      case 'poke': {
        const addr = WIN + o.page * PG + o.off
        // the model: bytes land in order until the first page that is not writable
        let expectFault = false
        for (let i = 0; i < o.data.length; i++) {
          const a = o.off + i
          const mp = m.mapped.get(o.page + Math.floor(a / PG))
          if (mp === undefined || !mp.writable) {
            expectFault = true
            break
          }
          mp.bytes.set(a % PG, o.data[i]!)
        }
        assert.is(code(() => t.mm.poke(addr, new Uint8Array(o.data))), expectFault ? 'SIGSEGV' : 'OK')
        break
      }
      case 'peek': {
        const addr = WIN + o.page * PG + o.off
        const expected: number[] = []
        let expectFault = false
        for (let i = 0; i < o.len; i++) {
          const a = o.off + i
          const mp = m.mapped.get(o.page + Math.floor(a / PG))
          if (mp === undefined) {
            expectFault = true
            break
          }
          expected.push(mp.bytes.get(a % PG) ?? 0)
        }
        if (expectFault) assert.is(code(() => t.mm.peek(addr, o.len)), 'SIGSEGV')
        else assert.equal([...t.mm.peek(addr, o.len)], expected)
        break
      }
      case 'pin': {
        const pages: ModelPage[] = []
        for (let i = 0; i < o.npages; i++) {
          const mp = m.mapped.get(o.page + i)
          if (mp !== undefined && (mp.writable || !o.write)) pages.push(mp)
        }
        // accounting comes first: over the limit is ENOMEM even for a bad range
        const want = m.locked + o.npages > MEMLOCK_PAGES ? 'ENOMEM' : pages.length < o.npages ? 'EFAULT' : 'OK'
        let real: PinnedPage[] = []
        assert.is(code(() => { real = pinUserPagesAccounted(t, WIN + o.page * PG, o.npages, o.write) }), want)
        if (want === 'OK') {
          m.pins.push({ pages, real })
          m.locked += o.npages
        }
        break
      }
      case 'unpin': {
        if (m.pins.length === 0) break
        const [pin] = m.pins.splice(o.which % m.pins.length, 1)
        unpinUserPagesAccounted(t, pin!.real)
        m.locked -= pin!.pages.length
        break
      }
      case 'exit':
        t.exit()
        m.exited = true
        break
    }
    assert.is(t.mm.lockedVm, m.locked)
    // every pinned page is allocated and holds exactly the model's bytes (mapped or not)
    for (const pin of m.pins) {
      pin.real.forEach((r, i) => {
        assert.ok(k.pages.isAllocated(r.phys))
        const real = k.sys.memory.slice(r.phys, PG)
        const want = new Uint8Array(PG)
        for (const [off, v] of pin.pages[i]!.bytes) want[off] = v
        assert.equal(real, want)
      })
    }
  }

  // drop every remaining pin, exit everybody: back to the boot state
  for (let i = 0; i < 2; i++) {
    for (const pin of model[i]!.pins) unpinUserPagesAccounted(tasks[i]!, pin.real)
    tasks[i]!.exit()
  }
  assert.equal(k.pages.snapshot(), boot)
}

test('random mmap/munmap/peek/poke/pin sequences agree with the model and leak nothing', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), run), { numRuns: 150 })
})

test('a pinned page survives exit until unpinned', () => {
  run([
    { op: 'mmap', p: 0, page: 0, npages: 2, writable: true },
    { op: 'poke', p: 0, page: 0, off: 10, data: [1, 2, 3] },
    { op: 'pin', p: 0, page: 0, npages: 2, write: true },
    { op: 'munmap', p: 0, page: 0, npages: 1 },
    { op: 'exit', p: 0 },
  ])
})

test.run()
