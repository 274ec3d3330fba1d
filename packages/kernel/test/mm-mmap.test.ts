import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BusResp, type AccessSize, type MmioDevice } from '@vfio-sim/sim'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, O_RDONLY, O_RDWR, O_WRONLY, PROT_NONE, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { Kernel, type KernelProfile } from '../src/kernel.ts'
import { kerr } from '../src/errno.ts'
import { errno } from './errno-of.ts'
import { spawnTask, type SpawnOptions } from '../src/kernel/fork.ts'
import { MMAP_BASE, UserFaultError } from '../src/mm/mmap.ts'
import { remapPfnRange, VM } from '../src/mm/vma.ts'
import { pinUserPagesAccounted, unpinUserPagesAccounted } from '../src/mm/gup.ts'
import { sysOpen } from '../src/fs/open.ts'
import { sysClose, sysMmap, sysMunmap } from '../src/syscalls/index.ts'

const ANON = MAP_PRIVATE | MAP_ANONYMOUS
const RW = PROT_READ | PROT_WRITE
const PG = 4096

/** A 4 KiB device that logs every access. */
class LogDevice implements MmioDevice {
  readonly name = 'logdev'
  readonly size = 0x1000
  resp: BusResp = BusResp.OKAY
  readonly log: string[] = []
  readonly regs = new Map<number, number>()
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size * 8}@${offset.toString(16)}`)
    if (offset >= 0x800) {
      this.resp = BusResp.SLVERR
      return 0
    }
    return this.regs.get(offset) ?? 0x1234_5678
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${size * 8}@${offset.toString(16)}=${value.toString(16)}`)
    this.regs.set(offset, value)
  }
}

function setup(opts: SpawnOptions = {}, profile: KernelProfile = 'upstream') {
  const k = new Kernel({ profile })
  k.sys.bus.addRam('dram', 0x8000_0000, 0x100_0000)
  const dev = new LogDevice()
  k.sys.bus.addDevice(0x2c0a_0000, dev)
  let released = 0
  k.devfs.add('mmiodev', {
    mode: 0o666, uid: 0, gid: 0,
    open: () => ({
      mmap: (_f, vma) => {
        if ((vma.flags & VM.SHARED) === 0) kerr('EINVAL')
        if (vma.pgoff !== 0 || vma.length > 0x1000) kerr('EINVAL')
        remapPfnRange(vma, 0x2c0a_0000, vma.length)
      },
      release: () => { released++ },
    }),
  })
  k.devfs.add('nommap', { mode: 0o666, uid: 0, gid: 0, open: () => ({}) })
  // a driver whose mmap installs no PFNs: the mapping is backed by ordinary pages
  k.devfs.add('plainmap', { mode: 0o666, uid: 0, gid: 0, open: () => ({ mmap: () => {} }) })
  const boot = k.pages.snapshot()
  const t = spawnTask(k, opts)
  return { k, t, dev, boot, released: () => released }
}

test('mmap places anonymous mappings top-down below MMAP_BASE, deterministically', () => {
  const { k, t } = setup()
  const a = sysMmap(k, t, 0, 3 * PG, RW, ANON, -1, 0)
  const b = sysMmap(k, t, 0, 1, RW, ANON, -1, 0)
  assert.is(a, MMAP_BASE - 3 * PG)
  assert.is(b, a - PG)
  sysMunmap(t, a, 3 * PG)
  assert.is(sysMmap(k, t, 0, 2 * PG, RW, ANON, -1, 0), MMAP_BASE - 2 * PG)
  // a free, aligned hint is used as is
  assert.is(sysMmap(k, t, 0x1000_0000, PG, RW, ANON, -1, 0), 0x1000_0000)
})

test('mmap argument errors follow Linux', () => {
  const { k, t } = setup()
  assert.is(errno(() => sysMmap(k, t, 0, 0, RW, ANON, -1, 0)), 'EINVAL')
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, ANON, -1, 123)), 'EINVAL')
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, MAP_ANONYMOUS, -1, 0)), 'EINVAL')
  assert.is(errno(() => sysMmap(k, t, 0x1000_0001, PG, RW, ANON | MAP_FIXED, -1, 0)), 'EINVAL')
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, MAP_SHARED, 77, 0)), 'EBADF')
  assert.is(errno(() => sysMmap(k, t, 0x1000_0000, PG, RW, ANON | MAP_FIXED, -1, 0)), 'OK')
  assert.is(errno(() => sysMmap(k, t, 0x1000_0000, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)), 'EEXIST')
  // below mmap_min_addr: EPERM without CAP_SYS_RAWIO (root has it)
  const user = spawnTask(k, { uid: 1000 })
  assert.is(errno(() => sysMmap(k, user, 0, PG, RW, ANON | MAP_FIXED, -1, 0)), 'EPERM')
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, ANON | MAP_FIXED, -1, 0)), 'OK')
  const nm = sysOpen(k, t, '/dev/nommap', O_RDWR)
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, MAP_SHARED, nm, 0)), 'ENODEV')
  const ro = sysOpen(k, t, '/dev/mmiodev', O_RDONLY)
  assert.is(errno(() => sysMmap(k, t, 0, PG, RW, MAP_SHARED, ro, 0)), 'EACCES')
  // a read-only fd's MAP_SHARED mapping loses VM_SHARED (only VM_MAYSHARE stays), so a
  // driver demanding VM_SHARED (as vfio-platform does) refuses it
  assert.is(errno(() => sysMmap(k, t, 0, PG, PROT_READ, MAP_SHARED, ro, 0)), 'EINVAL')
  const wo = sysOpen(k, t, '/dev/mmiodev', O_WRONLY)
  assert.is(errno(() => sysMmap(k, t, 0, PG, PROT_WRITE, MAP_SHARED, wo, 0)), 'EACCES')
})

test('profiles: MAP_SHARED_VALIDATE and MAP_FIXED_NOREPLACE exist upstream only; default RLIMIT_MEMLOCK 8 MiB vs 64 KiB', () => {
  const up = setup({}, 'upstream')
  const fd = sysOpen(up.k, up.t, '/dev/mmiodev', O_RDWR)
  assert.is(errno(() => sysMmap(up.k, up.t, 0, PG, RW, MAP_SHARED_VALIDATE, fd, 0)), 'OK')
  // validated flags: anything outside LEGACY_MAP_MASK, MAP_FIXED_NOREPLACE included, is EOPNOTSUPP
  assert.is(errno(() => sysMmap(up.k, up.t, 0x3000_0000, PG, RW, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, fd, 0)), 'EOPNOTSUPP')
  // do_mmap's anonymous switch knows only MAP_SHARED and MAP_PRIVATE (and MAP_DROPPABLE): type 0x03 is EINVAL even upstream.
  assert.is(errno(() => sysMmap(up.k, up.t, 0, PG, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)), 'EINVAL')
  assert.is(up.t.rlimits.memlock.cur, 8 * 1024 * 1024)
  const old = setup({}, 'rfc-v5')
  const fd2 = sysOpen(old.k, old.t, '/dev/mmiodev', O_RDWR)
  assert.is(errno(() => sysMmap(old.k, old.t, 0, PG, RW, MAP_SHARED_VALIDATE, fd2, 0)), 'EINVAL')
  assert.is(errno(() => sysMmap(old.k, old.t, 0, PG, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)), 'EINVAL')
  // an unknown bit on the old kernel: NOREPLACE is ignored and the address is only a hint
  const a = sysMmap(old.k, old.t, 0x3000_0000, PG, RW, ANON, -1, 0)
  const b = sysMmap(old.k, old.t, 0x3000_0000, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)
  assert.is(a, 0x3000_0000)
  assert.is.not(b, a)
  assert.is(old.t.rlimits.memlock.cur, 64 * 1024)
})

test('munmap: unaligned or empty is EINVAL; a hole splits the mapping and the rest keeps its data', () => {
  const { k, t } = setup()
  const a = sysMmap(k, t, 0, 4 * PG, RW, ANON, -1, 0)
  for (let i = 0; i < 4; i++) t.mm.poke(a + i * PG, new Uint8Array([i + 1]))
  assert.is(errno(() => sysMunmap(t, a + 1, PG)), 'EINVAL')
  assert.is(errno(() => sysMunmap(t, a, 0)), 'EINVAL')
  sysMunmap(t, a + PG, 2 * PG)
  assert.equal(t.mm.mappings.filter(v => v.start >= a && v.end <= a + 4 * PG).map(v => [v.start - a, v.end - a]), [[0, PG], [3 * PG, 4 * PG]])
  assert.is(t.mm.peek(a, 1)[0], 1)
  assert.is(t.mm.peek(a + 3 * PG, 1)[0], 4)
  assert.throws(() => t.mm.peek(a + PG, 1), (e: unknown) => e instanceof UserFaultError && e.signal === 'SIGSEGV')
  sysMunmap(t, 0x5000_0000, PG) // nothing there: fine
})

test('anonymous memory: zero-filled, allocated on first write only, freed by munmap', () => {
  const { k, t } = setup()
  const before = k.pages.usedPages
  const a = sysMmap(k, t, 0, 8 * PG, RW, ANON, -1, 0)
  assert.equal([...t.mm.peek(a, 16)], new Array(16).fill(0))
  assert.is(k.pages.usedPages, before)
  t.mm.poke(a + PG - 2, new Uint8Array([9, 9, 9, 9]))
  assert.is(k.pages.usedPages, before + 2)
  assert.ok(k.pages.owners().get(`pid ${t.pid} anon`)! >= 2)
  sysMunmap(t, a, 8 * PG)
  assert.is(k.pages.usedPages, before)
})

test('copy_from_user / copy_to_user: EFAULT on unmapped, PROT_NONE, or (for writes) read-only memory', () => {
  const { k, t } = setup()
  const rw = sysMmap(k, t, 0, PG, RW, ANON, -1, 0)
  const ro = sysMmap(k, t, 0, PG, PROT_READ, ANON, -1, 0)
  const none = sysMmap(k, t, 0, PG, PROT_NONE, ANON, -1, 0)
  t.mm.copyToUser(rw, new Uint8Array([1, 2, 3]))
  assert.equal([...t.mm.copyFromUser(rw, 3)], [1, 2, 3])
  assert.equal([...t.mm.copyFromUser(ro, 2)], [0, 0])
  assert.is(errno(() => t.mm.copyToUser(ro, new Uint8Array(1))), 'EFAULT')
  assert.is(errno(() => t.mm.copyFromUser(none, 1)), 'EFAULT')
  assert.is(errno(() => t.mm.copyFromUser(0x10, 4)), 'EFAULT')
  assert.is(errno(() => t.mm.copyFromUser(rw + PG - 2, 4)), 'EFAULT') // runs off the end
  assert.is(errno(() => t.mm.copyFromUser(-5, 4)), 'EFAULT')
  // a copy_to_user that runs into a read-only page writes nothing
  const two = sysMmap(k, t, 0x2000_0000, 2 * PG, RW, ANON | MAP_FIXED, -1, 0)
  sysMmap(k, t, two + PG, PG, PROT_READ, ANON | MAP_FIXED, -1, 0)
  assert.is(errno(() => t.mm.copyToUser(two + PG - 2, new Uint8Array([5, 5, 5, 5]))), 'EFAULT')
  assert.equal([...t.mm.copyFromUser(two + PG - 2, 2)], [0, 0])
  assert.throws(() => t.mm.poke(ro, new Uint8Array(1)), (e: unknown) => e instanceof UserFaultError && e.signal === 'SIGSEGV')
})

test('a device mapping turns user loads and stores into single bus accesses of that width', () => {
  const { k, t, dev, released } = setup()
  const fd = sysOpen(k, t, '/dev/mmiodev', O_RDWR)
  const va = sysMmap(k, t, 0, PG, RW, MAP_SHARED, fd, 0)
  const vma = t.mm.findVma(va)!
  assert.ok((vma.flags & (VM.IO | VM.PFNMAP)) === (VM.IO | VM.PFNMAP))
  assert.is(t.mm.load(va + 0x20, 4), 0x1234_5678)
  t.mm.store(va + 0x24, 4, 0xdead_beef)
  t.mm.store(va + 0x28, 2, 0xabcd)
  assert.is(t.mm.load(va + 0x24, 4), 0xdead_beef)
  assert.equal(dev.log, ['r32@20', 'w32@24=deadbeef', 'w16@28=abcd', 'r32@24'])
  // a device error is SIGBUS for the user, EFAULT for copy_from_user
  assert.throws(() => t.mm.load(va + 0x800, 4), (e: unknown) => e instanceof UserFaultError && e.signal === 'SIGBUS')
  assert.is(errno(() => t.mm.copyFromUser(va + 0x800, 4)), 'EFAULT')
  // gup refuses IO mappings; follow_pfn gives the physical address
  assert.is(errno(() => t.mm.pinUserPages(va, 1, false)), 'EFAULT')
  assert.is(t.mm.followPfn(va + 0x10, true), 0x2c0a_0000)
  // the mapping holds the file: closing the fd does not release it, munmap does
  sysClose(t, fd)
  assert.is(released(), 0)
  sysMunmap(t, va, PG)
  assert.is(released(), 1)
})

test('a driver refusing mmap leaves nothing mapped and the file unreferenced', () => {
  const { k, t, released } = setup()
  const fd = sysOpen(k, t, '/dev/mmiodev', O_RDWR)
  const n = t.mm.mappings.length
  assert.throws(() => sysMmap(k, t, 0, PG, RW, MAP_PRIVATE, fd, 0))
  assert.is(t.mm.mappings.length, n)
  sysClose(t, fd)
  assert.is(released(), 1)
})

test('pinned pages stay allocated (with their data) after munmap until unpinned', () => {
  const { k, t } = setup()
  const a = sysMmap(k, t, 0, 2 * PG, RW, ANON, -1, 0)
  t.mm.poke(a, new Uint8Array([7, 7, 7]))
  const pins = pinUserPagesAccounted(t, a, 2, true)
  assert.is(t.mm.lockedVm, 2)
  sysMunmap(t, a, 2 * PG)
  for (const p of pins) assert.ok(k.pages.isAllocated(p.phys))
  assert.equal([...k.sys.memory.slice(pins[0]!.phys, 3)], [7, 7, 7])
  unpinUserPagesAccounted(t, pins)
  for (const p of pins) assert.not.ok(k.pages.isAllocated(p.phys))
  assert.is(t.mm.lockedVm, 0)
})

test('pinning: EFAULT for unmapped or read-only (write pin) pages, all or nothing', () => {
  const { k, t } = setup()
  const a = sysMmap(k, t, 0x1000_0000, PG, RW, ANON | MAP_FIXED, -1, 0)
  const ro = sysMmap(k, t, 0x1000_1000, PG, PROT_READ, ANON | MAP_FIXED, -1, 0)
  const used = k.pages.usedPages
  assert.is(errno(() => t.mm.pinUserPages(a, 3, true)), 'EFAULT')
  assert.is(errno(() => t.mm.pinUserPages(ro, 1, true)), 'EFAULT')
  assert.is(k.pages.pageInfo(k.pages.snapshot()[0]!)?.pins ?? 0, 0)
  assert.ok(k.pages.usedPages <= used + 1)
  assert.is(t.mm.pinUserPages(ro, 1, false).length, 1)
})

test('RLIMIT_MEMLOCK limits pinning without CAP_IPC_LOCK; CAP_IPC_LOCK bypasses it', () => {
  const limited = setup({ uid: 1000, rlimits: { memlock: 3 * PG } })
  const a = sysMmap(limited.k, limited.t, 0, 8 * PG, RW, ANON, -1, 0)
  const p1 = pinUserPagesAccounted(limited.t, a, 2, true)
  assert.is(errno(() => pinUserPagesAccounted(limited.t, a + 2 * PG, 2, true)), 'ENOMEM')
  assert.is(limited.t.mm.lockedVm, 2)
  pinUserPagesAccounted(limited.t, a + 2 * PG, 1, true)
  unpinUserPagesAccounted(limited.t, p1)
  assert.is(pinUserPagesAccounted(limited.t, a + 4 * PG, 2, true).length, 2)
  const capped = setup({ uid: 1000, caps: ['CAP_IPC_LOCK'], rlimits: { memlock: 0 } })
  const b = sysMmap(capped.k, capped.t, 0, 8 * PG, RW, ANON, -1, 0)
  assert.is(pinUserPagesAccounted(capped.t, b, 8, true).length, 8)
  assert.is(capped.t.mm.lockedVm, 8)
})

test('MAP_LOCKED counts against RLIMIT_MEMLOCK (EAGAIN past it, EPERM at 0), populates, and munmap uncounts', () => {
  const { k, t } = setup({ uid: 1000, rlimits: { memlock: 4 * PG } })
  const used = k.pages.usedPages
  const a = sysMmap(k, t, 0, 3 * PG, RW, ANON | MAP_LOCKED, -1, 0)
  assert.is(t.mm.lockedVm, 3)
  assert.is(k.pages.usedPages, used + 3)
  assert.is(errno(() => sysMmap(k, t, 0, 2 * PG, RW, ANON | MAP_LOCKED, -1, 0)), 'EAGAIN')
  sysMunmap(t, a + PG, PG)
  assert.is(t.mm.lockedVm, 2)
  assert.is(errno(() => sysMmap(k, t, 0, 2 * PG, RW, ANON | MAP_LOCKED, -1, 0)), 'OK')
  assert.is(t.mm.lockedVm, 4)
  const zero = setup({ uid: 1000, rlimits: { memlock: 0 } })
  assert.is(errno(() => sysMmap(zero.k, zero.t, 0, PG, RW, ANON | MAP_LOCKED, -1, 0)), 'EPERM')
  const root = setup({ rlimits: { memlock: 0 } })
  assert.is(errno(() => sysMmap(root.k, root.t, 0, PG, RW, ANON | MAP_LOCKED, -1, 0)), 'OK')
})

test('a file mapping without PFNs is backed by pages of the process, freed on munmap', () => {
  const { k, t, boot } = setup({ stdio: false })
  const fd = sysOpen(k, t, '/dev/plainmap', O_RDWR)
  const a = sysMmap(k, t, 0, 2 * PG, RW, MAP_SHARED, fd, 0)
  t.mm.poke(a, new Uint8Array([1, 2]))
  assert.equal([...t.mm.peek(a, 2)], [1, 2])
  const pins = t.mm.pinUserPages(a, 2, true)
  t.mm.unpinUserPages(pins)
  sysMunmap(t, a, 2 * PG)
  sysClose(t, fd)
  t.exit()
  assert.equal(k.pages.snapshot(), boot)
})

test('exit frees every page of the process and returns the allocator to its boot state', () => {
  const { k, t, boot } = setup()
  const a = sysMmap(k, t, 0, 16 * PG, RW, ANON, -1, 0)
  t.mm.poke(a, new Uint8Array(16 * PG).fill(1))
  t.mm.poke(0x7fff_ffff_e000, new Uint8Array([1])) // the stack
  assert.ok(k.pages.usedPages > 16)
  t.exit()
  assert.equal(k.pages.snapshot(), boot)
})

test.run()
