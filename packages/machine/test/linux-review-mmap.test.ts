/**
 * mmap(2)/munmap(2) checked against Linux's order of checks (mm/mmap.c
 * do_mmap, __get_unmapped_area; mm/util.c vm_mmap_pgoff; arch sys_mmap):
 *   sys_mmap: offset not page aligned → EINVAL; fget → EBADF;
 *   do_mmap: len 0 → EINVAL; PAGE_ALIGN(len) wraps → ENOMEM; hint rounded
 *   *down* to a page (round_hint_to_min); get_unmapped_area (len > TASK_SIZE
 *   → ENOMEM; MAP_FIXED: addr > TASK_SIZE − len → ENOMEM, then unaligned →
 *   EINVAL, then below mmap_min_addr → EPERM); MAP_FIXED_NOREPLACE → EEXIST;
 *   MAP_LOCKED without RLIMIT_MEMLOCK/CAP_IPC_LOCK → EPERM; over the limit →
 *   EAGAIN; only then the file checks (file_mmap_ok → EOVERFLOW (≥ v4.17),
 *   MAP_SHARED_VALIDATE flags → EOPNOTSUPP, PROT_WRITE on a read-only fd →
 *   EACCES, fd not readable → EACCES, no ->mmap → ENODEV) and the type
 *   (neither SHARED nor PRIVATE → EINVAL).
 * Arguments are C `unsigned long`s: a negative number is its two's complement.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { remapPfnRange, TASK_SIZE } from '@vfio-sim/kernel'
import { boot, SysError, type Machine, type Process } from '../src/index.ts'

const PG = 4096
const RW = PROT_READ | PROT_WRITE
const ANON = MAP_PRIVATE | MAP_ANONYMOUS

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof SysError) return e.code
    throw e
  }
  return 'ok'
}

/** A char device whose mmap maps one page of RAM-less MMIO space; counts calls to its mmap. */
function withMappable(m: Machine): { calls: number } {
  const seen = { calls: 0 }
  m.kernel.devfs.add('mappable', {
    mode: 0o666, uid: 0, gid: 0,
    open: () => ({
      mmap: (_f, vma) => {
        seen.calls++
        remapPfnRange(vma, 0x1c00_0000, vma.length)
      },
    }),
  })
  return seen
}

function proc(profile: 'rfc-v5' | 'upstream' = 'rfc-v5', opts: Parameters<Machine['spawn']>[0] = {}): { m: Machine; p: Process } {
  const m = boot({ board: 'fvp-mmu400', profile })
  return { m, p: m.spawn(opts) }
}

test('get_unmapped_area runs before the mapping type is looked at: MAP_FIXED past TASK_SIZE is ENOMEM even with a bad type', () => {
  const { p } = proc()
  // type 0 (neither SHARED nor PRIVATE): do_mmap's switch is reached only after get_unmapped_area.
  assert.is(errno(() => p.mmap(TASK_SIZE, PG, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0)), 'ENOMEM')
  assert.is(errno(() => p.mmap(0x1000_0000, PG, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0)), 'EINVAL')
})

test('MAP_FIXED: too high beats unaligned (ENOMEM), unaligned beats the file checks (EINVAL, not ENODEV/EACCES)', () => {
  const { m, p } = proc()
  withMappable(m)
  assert.is(errno(() => p.mmap(TASK_SIZE - PG + 1, PG, RW, ANON | MAP_FIXED, -1, 0)), 'ENOMEM')
  const nul = p.open('/dev/null', O_RDWR)
  assert.is(errno(() => p.mmap(0x1000_0001, PG, RW, MAP_SHARED | MAP_FIXED, nul, 0)), 'EINVAL')
  assert.is(errno(() => p.mmap(0x1000_0000, PG, RW, MAP_SHARED | MAP_FIXED, nul, 0)), 'ENODEV')
  const ro = p.open('/dev/mappable', O_RDONLY)
  assert.is(errno(() => p.mmap(0x1000_0001, PG, RW, MAP_SHARED | MAP_FIXED, ro, 0)), 'EINVAL')
  assert.is(errno(() => p.mmap(0x1000_0000, PG, RW, MAP_SHARED | MAP_FIXED, ro, 0)), 'EACCES')
})

test('MAP_LOCKED without RLIMIT_MEMLOCK is EPERM before the file checks (EACCES) and before the type (EINVAL)', () => {
  const { m, p } = proc('rfc-v5', { uid: 1000, rlimits: { memlock: 0 } })
  withMappable(m)
  const ro = p.open('/dev/mappable', O_RDONLY)
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_SHARED | MAP_LOCKED, ro, 0)), 'EPERM')
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_ANONYMOUS | MAP_LOCKED, -1, 0)), 'EPERM')
  const { p: q } = proc('rfc-v5', { uid: 1000, rlimits: { memlock: PG } })
  assert.is(errno(() => q.mmap(0, 2 * PG, RW, MAP_ANONYMOUS | MAP_LOCKED, -1, 0)), 'EAGAIN')
})

test('a hint is rounded down to its page (round_hint_to_min), not up', () => {
  const { p } = proc()
  assert.is(p.mmap(0x1000_0123, PG, RW, ANON, -1, 0), 0x1000_0000)
  // A hint inside page 0 rounds down to NULL: no hint at all (placed top-down, not at 0x1000).
  assert.ok(p.mmap(0xfff, PG, RW, ANON, -1, 0) > 0x1000_0000)
})

test('arguments are unsigned long: a negative length is huge (ENOMEM), a negative MAP_FIXED address is past TASK_SIZE (ENOMEM), a negative hint is ignored', () => {
  const { p } = proc()
  assert.is(errno(() => p.mmap(0, -1, RW, ANON, -1, 0)), 'ENOMEM') // PAGE_ALIGN wraps to 0
  assert.is(errno(() => p.mmap(0, -2 * PG, RW, ANON, -1, 0)), 'ENOMEM') // > TASK_SIZE
  assert.is(errno(() => p.mmap(-PG, PG, RW, ANON | MAP_FIXED, -1, 0)), 'ENOMEM')
  const a = p.mmap(-PG, PG, RW, ANON, -1, 0)
  assert.ok(a > 0 && a < TASK_SIZE && a % PG === 0)
  // offset −1 is not page aligned (sys_mmap: off & ~PAGE_MASK).
  assert.is(errno(() => p.mmap(0, PG, RW, ANON, -1, -1)), 'EINVAL')
  // An anonymous mapping ignores a page-aligned offset, even one with the top bit set.
  assert.ok(p.mmap(0, PG, RW, ANON, -1, -PG) > 0)
})

test('upstream: an offset whose end passes 2^64 is EOVERFLOW before the driver sees it (file_mmap_ok, v4.17)', () => {
  const { m, p } = proc('upstream')
  const seen = withMappable(m)
  const fd = p.open('/dev/mappable', O_RDWR)
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_SHARED, fd, -PG)), 'EOVERFLOW')
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_SHARED, fd, 2 ** 64 - PG)), 'EOVERFLOW')
  assert.is(seen.calls, 0)
  assert.ok(p.mmap(0, PG, RW, MAP_SHARED, fd, 0) > 0)
  assert.is(seen.calls, 1)
})

test('munmap: unaligned, empty, or past TASK_SIZE is EINVAL; a range with nothing mapped is 0 (do_vmi_munmap)', () => {
  const { p } = proc()
  assert.is(errno(() => p.munmap(0x1000_0001, PG)), 'EINVAL')
  assert.is(errno(() => p.munmap(0x1000_0000, 0)), 'EINVAL')
  assert.is(errno(() => p.munmap(-PG, PG)), 'EINVAL')
  assert.is(errno(() => p.munmap(0x1000_0000, -1)), 'EINVAL')
  assert.is(errno(() => p.munmap(0x1000_0000, 1)), 'ok')
})


test('MAP_HUGETLB on a file that is not hugetlbfs is EINVAL, after the fd check (ksys_mmap_pgoff)', () => {
  const { m, p } = proc()
  const seen = withMappable(m)
  const fd = p.open('/dev/mappable', O_RDWR)
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_SHARED | MAP_HUGETLB, fd, 0)), 'EINVAL')
  assert.is(errno(() => p.mmap(0, PG, RW, MAP_SHARED | MAP_HUGETLB, 77, 0)), 'EBADF')
  assert.is(errno(() => p.mmap(0, 0, RW, MAP_SHARED | MAP_HUGETLB, fd, 0)), 'EINVAL')
  assert.is(seen.calls, 0)
})

test.run()
