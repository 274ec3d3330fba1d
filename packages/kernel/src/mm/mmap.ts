/**
 * Models mm/mmap.c (do_mmap, get_unmapped_area, do_munmap with VMA
 * splitting) and the fault side of mm/memory.c for one process address space.
 *
 * Layout (x86-64-like, fixed and deterministic; docs/decisions/0500):
 * user addresses run from MMAP_MIN_ADDR to TASK_SIZE; mmap without a hint
 * places mappings top-down below MMAP_BASE; a 128 KiB stack sits just under
 * TASK_SIZE.
 *
 * Anonymous memory gets a physical page (zeroed, owned by "pid N anon") on
 * the first write; reading a never-written page gives zeros without
 * allocating, as Linux maps the shared zero page. A VM_PFNMAP mapping
 * (a device region mmap'd through its driver) turns every user load or store
 * into one bus access at the mapped physical address.
 */
import { BusResp, busAttrs, PAGE_SIZE, type AccessSize } from '@vfio-sim/sim'
import { MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_LOCKED, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, PROT_EXEC, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { kerr } from '../errno.ts'
import { fmodeCanRead, fmodeCanWrite, type OpenFile } from '../fs/file.ts'
import type { Kernel } from '../kernel.ts'
import { capable } from '../kernel/cred.ts'
import type { Task } from '../kernel/sched.ts'
import type { MmStruct, PinnedPage } from './mm_types.ts'
import { VM, Vma } from './vma.ts'

/** Highest user address + 1 (x86-64 TASK_SIZE_MAX). */
export const TASK_SIZE = 0x7fff_ffff_f000
/** Top of the top-down mmap area. */
export const MMAP_BASE = 0x7f00_0000_0000
/** Lowest address a mapping may use (vm.mmap_min_addr, default 4096 on arm64/x86 kernels). */
export const MMAP_MIN_ADDR = 0x1000
/** Size of the stack mapping created with each process. */
export const STACK_SIZE = 128 * 1024
/** Start of the stack mapping. */
export const STACK_START = TASK_SIZE - STACK_SIZE
/**
 * The flags every file's mmap accepts under MAP_SHARED_VALIDATE
 * (include/linux/mman.h LEGACY_MAP_MASK, x86-64 values); anything else is
 * EOPNOTSUPP, MAP_FIXED_NOREPLACE and MAP_SYNC included.
 */
export const LEGACY_MAP_MASK = 0x01 | 0x02 | 0x10 | 0x20 | 0x800 | 0x1000 | 0x4000000 | 0x100 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x40 | (21 << 26) | (30 << 26)

/** Linux's default vm.max_map_count. */
export const MAX_MAP_COUNT = 65530

const USER_ATTRS = busAttrs({ priv: false })

/** Why a user access failed (the signal Linux would raise). */
export type UserFault = 'SIGSEGV' | 'SIGBUS'

/** Thrown by user-mode loads/stores (not by copy_*_user, which give EFAULT). */
export class UserFaultError extends Error {
  readonly signal: UserFault
  readonly addr: number

  constructor(signal: UserFault, addr: number, why: string) {
    super(`${signal} at 0x${addr.toString(16)}: ${why}`)
    this.name = 'UserFaultError'
    this.signal = signal
    this.addr = addr
  }
}

/**
 * The VM flags a user access needs. A read is allowed by VM_WRITE too: the
 * arm64 and x86-64 page tables have no write-only pages (protection_map maps
 * PROT_WRITE as read/write), so loads and copy_from_user succeed there.
 */
function accessMask(write: boolean): number {
  return write ? VM.WRITE : VM.READ | VM.WRITE
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE
}

/** Arguments of {@link UserMm.mmap} after the syscall layer resolved the fd. */
export interface MmapArgs {
  addr: number
  length: number
  prot: number
  flags: number
  /** The mapped file (undefined with MAP_ANONYMOUS). */
  file: OpenFile | undefined
  /** Byte offset (page aligned). */
  offset: number
}

/** A process address space. */
export class UserMm implements MmStruct {
  private readonly kernel: Kernel
  /** Label for page ownership ("pid 100"). */
  readonly owner: string
  /** Mappings sorted by start. */
  private vmas: Vma[] = []
  /** Anonymous pages: virtual page number → physical page address. */
  private readonly ptes = new Map<number, number>()
  lockedVm = 0

  constructor(kernel: Kernel, owner: string) {
    this.kernel = kernel
    this.owner = owner
  }

  /** The mappings, in address order (read-only view for diagnostics and tests). */
  get mappings(): readonly Vma[] {
    return this.vmas
  }

  /** Number of anonymous pages with physical backing (resident set). */
  get residentPages(): number {
    return this.ptes.size
  }

  /**
   * The mappings as /proc/<pid>/maps prints them:
   * `7effffffe000-7efffffff000 rw-p 00000000 00:00 0    [stack]`.
   */
  procMaps(): string[] {
    return this.vmas.map(v => {
      const perms = `${v.flags & VM.READ ? 'r' : '-'}${v.flags & VM.WRITE ? 'w' : '-'}${v.flags & VM.EXEC ? 'x' : '-'}${v.flags & VM.MAYSHARE ? 's' : 'p'}`
      const off = (v.file === undefined ? 0 : v.pgoff * PAGE_SIZE).toString(16).padStart(8, '0')
      const name = v.file !== undefined ? v.file.path : v.start === STACK_START ? '[stack]' : ''
      const head = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms} ${off} 00:00 0`
      return name === '' ? head : `${head.padEnd(72)} ${name}`.replace(/ +$/, '')
    })
  }

  /** The VMA containing `addr`, or undefined. */
  findVma(addr: number): Vma | undefined {
    let lo = 0
    let hi = this.vmas.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const v = this.vmas[mid]!
      if (addr < v.start) hi = mid - 1
      else if (addr >= v.end) lo = mid + 1
      else return v
    }
    return undefined
  }

  private overlaps(start: number, end: number): boolean {
    return this.vmas.some(v => v.start < end && start < v.end)
  }

  private insert(v: Vma): void {
    let i = 0
    while (i < this.vmas.length && this.vmas[i]!.start < v.start) i++
    this.vmas.splice(i, 0, v)
  }

  /** get_unmapped_area, top-down below MMAP_BASE; ENOMEM if no gap fits. */
  private unmappedArea(len: number): number {
    let high = MMAP_BASE
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i]!
      if (v.start >= high) continue
      if (v.end <= high && high - v.end >= len) return high - len
      high = Math.min(high, v.start)
    }
    if (high - MMAP_MIN_ADDR >= len) return high - len
    return kerr('ENOMEM')
  }

  /**
   * do_mmap: validates as Linux does, in its order (len; address via
   * get_unmapped_area; MAP_FIXED_NOREPLACE; MAP_LOCKED; then the file and
   * the mapping type), picks the address, creates the VMA and lets the
   * file's mmap handler set it up. Returns the address. `addr`, `length`
   * and `offset` are unsigned (the syscall layer wraps negative values).
   */
  mmap(a: MmapArgs, task: Task): number {
    const { prot, file } = a
    let flags = a.flags
    if (a.length === 0) kerr('EINVAL')
    // MAP_SHARED_VALIDATE (v4.15) and MAP_FIXED_NOREPLACE (v4.17) are unknown
    // to the 2014 kernel: the first is an invalid type, the second an ignored bit.
    const modern = this.kernel.profile === 'upstream'
    if (!modern) flags &= ~MAP_FIXED_NOREPLACE
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0
    // round_hint_to_min: a hint is rounded down to its page, and a non-zero
    // hint below mmap_min_addr raised to it.
    let hint = fixed ? a.addr : a.addr - (a.addr % PAGE_SIZE)
    if (!fixed && hint !== 0 && hint < MMAP_MIN_ADDR) hint = MMAP_MIN_ADDR
    // PAGE_ALIGN(len) wrapping past 2^64 gives 0: ENOMEM.
    if (a.length > 2 ** 64 - PAGE_SIZE) kerr('ENOMEM')
    const len = pageAlign(a.length)
    // (pgoff + pages < pgoff cannot happen: both are below 2^52 here.)
    const pgoff = a.offset / PAGE_SIZE
    if (this.vmas.length >= MAX_MAP_COUNT) kerr('ENOMEM')

    // __get_unmapped_area.
    if (len > TASK_SIZE) kerr('ENOMEM')
    let addr: number
    if (fixed) {
      addr = hint
      if (addr > TASK_SIZE - len) kerr('ENOMEM')
      if (addr % PAGE_SIZE !== 0) kerr('EINVAL')
      if (addr < MMAP_MIN_ADDR && !capable(task.cred, 'CAP_SYS_RAWIO')) kerr('EPERM') // security_mmap_addr
      if ((flags & MAP_FIXED) === 0 && this.overlaps(addr, addr + len)) kerr('EEXIST')
    } else {
      addr = hint >= MMAP_MIN_ADDR && hint <= TASK_SIZE - len && !this.overlaps(hint, hint + len) ? hint : this.unmappedArea(len)
    }

    // MAP_LOCKED (mm/mlock.c can_do_mlock, mlock_future_ok): EPERM with a zero
    // RLIMIT_MEMLOCK and no CAP_IPC_LOCK; EAGAIN past the limit.
    const locked = (flags & MAP_LOCKED) !== 0
    if (locked && !capable(task.cred, 'CAP_IPC_LOCK')) {
      if (task.rlimits.memlock.cur === 0) kerr('EPERM')
      if (this.lockedVm + len / PAGE_SIZE > Math.floor(task.rlimits.memlock.cur / PAGE_SIZE)) kerr('EAGAIN')
    }

    const type = flags & MAP_TYPE
    const shared = type === MAP_SHARED || (modern && type === MAP_SHARED_VALIDATE)
    if (file === undefined) {
      if (type !== MAP_SHARED && type !== MAP_PRIVATE) kerr('EINVAL')
    } else {
      // file_mmap_ok (v4.17): a device file's range must end below 2^64.
      // (ULONG_MAX − len) >> PAGE_SHIFT, exact for a page-multiple len.
      if (modern && pgoff > 2 ** 52 - len / PAGE_SIZE - 1) kerr('EOVERFLOW')
      if (shared) {
        if (type === MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK) !== 0) kerr('EOPNOTSUPP')
        if ((prot & PROT_WRITE) !== 0 && !fmodeCanWrite(file.flags)) kerr('EACCES')
      } else if (type !== MAP_PRIVATE) kerr('EINVAL')
      if (!fmodeCanRead(file.flags)) kerr('EACCES')
      if (file.fops.mmap === undefined) kerr('ENODEV')
    }

    let vmFlags = VM.MAYREAD | VM.MAYWRITE | VM.MAYEXEC
    if (locked) vmFlags |= VM.LOCKED
    if ((prot & PROT_READ) !== 0) vmFlags |= VM.READ
    if ((prot & PROT_WRITE) !== 0) vmFlags |= VM.WRITE
    if ((prot & PROT_EXEC) !== 0) vmFlags |= VM.EXEC
    if (shared) {
      vmFlags |= VM.SHARED | VM.MAYSHARE
      if (file !== undefined && !fmodeCanWrite(file.flags)) vmFlags &= ~(VM.MAYWRITE | VM.SHARED)
    }

    const vma = new Vma(addr, addr + len, vmFlags, file === undefined ? addr / PAGE_SIZE : pgoff, file)
    if (file !== undefined) {
      // The driver sees the VMA before it is visible; if it refuses, nothing changes.
      file.get()
      try {
        file.fops.mmap!(file, vma, task)
      } catch (e) {
        file.put()
        throw e
      }
    }
    if ((flags & MAP_FIXED) !== 0) this.unmapRange(addr, addr + len)
    this.insert(vma)
    if (locked) this.lockedVm += len / PAGE_SIZE
    if ((flags & (MAP_POPULATE | MAP_LOCKED)) !== 0 && vma.pfnBase === undefined && (vmFlags & VM.WRITE) !== 0) {
      for (let p = vma.start; p < vma.end; p += PAGE_SIZE) this.faultIn(p)
    }
    return addr
  }

  /** munmap: EINVAL for an unaligned address or empty length; unmapping nothing succeeds. */
  munmap(addr: number, length: number): void {
    if (addr % PAGE_SIZE !== 0 || addr < 0 || addr > TASK_SIZE || length > TASK_SIZE - addr) kerr('EINVAL')
    const len = pageAlign(length)
    if (len === 0) kerr('EINVAL')
    this.unmapRange(addr, addr + len)
  }

  /** Removes [start, end) from every VMA, splitting VMAs at the edges. */
  private unmapRange(start: number, end: number): void {
    const keep: Vma[] = []
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        keep.push(v)
        continue
      }
      if (v.start < start) keep.push(this.piece(v, v.start, start))
      if (v.end > end) keep.push(this.piece(v, end, v.end))
      this.release(v, Math.max(v.start, start), Math.min(v.end, end))
    }
    keep.sort((x, y) => x.start - y.start)
    this.vmas = keep
  }

  /** A copy of `v` limited to [s, e) (a split piece takes its own file reference). */
  private piece(v: Vma, s: number, e: number): Vma {
    const p = new Vma(s, e, v.flags, v.pgoff + (s - v.start) / PAGE_SIZE, v.file)
    if (v.pfnBase !== undefined) p.pfnBase = v.pfnBase + (s - v.start)
    p.onClose = v.onClose
    v.file?.get()
    return p
  }

  /** Drops the pages of [s, e) of `v` and the VMA's own references. */
  private release(v: Vma, s: number, e: number): void {
    if ((v.flags & VM.LOCKED) !== 0) this.lockedVm = Math.max(0, this.lockedVm - (e - s) / PAGE_SIZE)
    // Every mapping that is not a PFN map is backed by pages of this mm
    // (anonymous memory, or a file mapping whose driver installed no PFNs).
    if (v.pfnBase === undefined) {
      for (let p = s; p < e; p += PAGE_SIZE) {
        const vpn = p / PAGE_SIZE
        const phys = this.ptes.get(vpn)
        if (phys !== undefined) {
          this.ptes.delete(vpn)
          this.kernel.pages.put(phys) // a pinned page keeps its pin reference
        }
      }
    }
    v.onClose?.(v)
    v.file?.put()
  }

  /** Tears the whole address space down (exit_mmap). */
  exit(): void {
    this.unmapRange(0, TASK_SIZE)
  }

  /** Physical page of anonymous `addr`, allocating (zeroed) if absent. */
  private faultIn(addr: number): number {
    const vpn = Math.floor(addr / PAGE_SIZE)
    let phys = this.ptes.get(vpn)
    if (phys === undefined) {
      phys = this.kernel.pages.alloc(`${this.owner} anon`)
      this.ptes.set(vpn, phys)
    }
    return phys
  }

  /**
   * Walks [addr, addr+len) in spans that stay in one page of one VMA, calling
   * `fn(vma, addr, spanLen, bufOffset)`. Returns the first failing address, or
   * -1 if every span was handled. Needs VM_READ or VM_WRITE (VM_WRITE with `write`).
   */
  private walk(addr: number, len: number, write: boolean, fn: (v: Vma, a: number, n: number, off: number) => boolean): number {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || len < 0 || addr < 0 || addr + len > TASK_SIZE) return Number.isFinite(addr) && addr >= 0 ? addr : 0
    let done = 0
    while (done < len) {
      const a = addr + done
      const v = this.findVma(a)
      if (v === undefined || (v.flags & accessMask(write)) === 0) return a
      const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE), v.end - a)
      if (!fn(v, a, n, done)) return a
      done += n
    }
    return -1
  }

  private readSpan(dst: Uint8Array, addr: number, len: number, write = false): number {
    const mem = this.kernel.sys.memory
    const bus = this.kernel.sys.bus
    return this.walk(addr, len, write, (v, a, n, off) => {
      if (v.pfnBase !== undefined) {
        bus.read(v.pfnBase + (a - v.start), dst, off, n, USER_ATTRS)
        return bus.resp === BusResp.OKAY
      }
      const phys = this.ptes.get(Math.floor(a / PAGE_SIZE))
      if (phys === undefined) dst.fill(0, off, off + n)
      else mem.read(phys + (a % PAGE_SIZE), dst, off, n)
      return true
    })
  }

  private writeSpan(src: Uint8Array, addr: number): number {
    const mem = this.kernel.sys.memory
    const bus = this.kernel.sys.bus
    return this.walk(addr, src.length, true, (v, a, n, off) => {
      if (v.pfnBase !== undefined) {
        bus.write(v.pfnBase + (a - v.start), src, off, n, USER_ATTRS)
        return bus.resp === BusResp.OKAY
      }
      mem.write(this.faultIn(a) + (a % PAGE_SIZE), src, off, n)
      return true
    })
  }

  copyFromUser(addr: number, len: number): Uint8Array {
    if (this.walk(addr, len, false, () => true) >= 0) kerr('EFAULT', `copy_from_user: bad address 0x${addr.toString(16)}`)
    const out = new Uint8Array(len)
    if (this.readSpan(out, addr, len) >= 0) kerr('EFAULT', `copy_from_user: bad address 0x${addr.toString(16)}`)
    return out
  }

  copyToUser(addr: number, data: Uint8Array): void {
    // Linux may copy a prefix before faulting; we check the whole range first
    // so that an EFAULT leaves user memory untouched (callers only see EFAULT).
    if (!(data instanceof Uint8Array) || this.walk(addr, data.length, true, () => true) >= 0 || this.writeSpan(data, addr) >= 0) {
      kerr('EFAULT', `copy_to_user: bad address 0x${Number(addr).toString(16)}`)
    }
  }

  /** A user-mode bulk load (SIGSEGV/SIGBUS as {@link UserFaultError}). */
  peek(addr: number, len: number): Uint8Array {
    // Check the whole range before allocating the result (len may be absurd).
    const unmapped = this.walk(addr, len, false, () => true)
    if (unmapped >= 0) this.fault(unmapped, false)
    const out = new Uint8Array(len)
    const bad = this.readSpan(out, addr, len)
    if (bad >= 0) this.fault(bad, false)
    return out
  }

  /** A user-mode bulk store. */
  poke(addr: number, data: Uint8Array): void {
    const bad = this.writeSpan(data, addr)
    if (bad >= 0) this.fault(bad, true)
  }

  private fault(addr: number, write: boolean): never {
    const v = this.findVma(addr)
    if (v === undefined) throw new UserFaultError('SIGSEGV', addr, 'no mapping')
    if ((v.flags & accessMask(write)) === 0) throw new UserFaultError('SIGSEGV', addr, `mapping not ${write ? 'writable' : 'readable'}`)
    throw new UserFaultError('SIGBUS', addr, 'bus error on device access')
  }

  /**
   * One user-mode load of `size` bytes. On a device mapping this is exactly
   * one bus access of that width (64-bit values as bigint via `load64`).
   */
  load(addr: number, size: 1 | 2 | 4): number {
    const v = this.findVma(addr)
    if (v !== undefined && v.pfnBase !== undefined && addr + size <= v.end && (v.flags & accessMask(false)) !== 0) {
      const bus = this.kernel.sys.bus
      const val = bus.readN(v.pfnBase + (addr - v.start), size as AccessSize, USER_ATTRS)
      if (bus.resp !== BusResp.OKAY) this.fault(addr, false)
      return val
    }
    const b = this.peek(addr, size)
    let val = 0
    for (let i = size - 1; i >= 0; i--) val = val * 256 + b[i]!
    return val
  }

  /** One user-mode store of `size` bytes (`value` taken modulo 2^(8·size)). */
  store(addr: number, size: 1 | 2 | 4, value: number): void {
    value = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff)
    const v = this.findVma(addr)
    if (v !== undefined && v.pfnBase !== undefined && addr + size <= v.end && (v.flags & VM.WRITE) !== 0) {
      const bus = this.kernel.sys.bus
      if (bus.writeN(v.pfnBase + (addr - v.start), size as AccessSize, value, USER_ATTRS) !== BusResp.OKAY) this.fault(addr, true)
      return
    }
    const b = new Uint8Array(size)
    let x = value
    for (let i = 0; i < size; i++) {
      b[i] = x & 0xff
      x = Math.floor(x / 256)
    }
    this.poke(addr, b)
  }

  /** One 64-bit user-mode load. */
  load64(addr: number): bigint {
    const v = this.findVma(addr)
    if (v !== undefined && v.pfnBase !== undefined && addr + 8 <= v.end && (v.flags & accessMask(false)) !== 0) {
      const bus = this.kernel.sys.bus
      const val = bus.read64(v.pfnBase + (addr - v.start), USER_ATTRS)
      if (bus.resp !== BusResp.OKAY) this.fault(addr, false)
      return val
    }
    const b = this.peek(addr, 8)
    return new DataView(b.buffer).getBigUint64(0, true)
  }

  /** One 64-bit user-mode store. */
  store64(addr: number, value: bigint): void {
    const v = this.findVma(addr)
    const x = BigInt.asUintN(64, value)
    if (v !== undefined && v.pfnBase !== undefined && addr + 8 <= v.end && (v.flags & VM.WRITE) !== 0) {
      const bus = this.kernel.sys.bus
      if (bus.write64(v.pfnBase + (addr - v.start), x, USER_ATTRS) !== BusResp.OKAY) this.fault(addr, true)
      return
    }
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, x, true)
    this.poke(addr, b)
  }

  pinUserPages(addr: number, npages: number, write: boolean): PinnedPage[] {
    if (!Number.isInteger(addr) || addr % PAGE_SIZE !== 0 || !Number.isInteger(npages) || npages < 0) kerr('EINVAL')
    const pinned: PinnedPage[] = []
    try {
      for (let i = 0; i < npages; i++) {
        const a = addr + i * PAGE_SIZE
        const v = this.findVma(a)
        if (v === undefined || (v.flags & (VM.IO | VM.PFNMAP)) !== 0) kerr('EFAULT')
        if ((v.flags & (write ? VM.WRITE : VM.READ)) === 0) kerr('EFAULT')
        const phys = this.faultIn(a)
        this.kernel.pages.pin(phys)
        pinned.push({ vaddr: a, phys })
      }
    } catch (e) {
      this.unpinUserPages(pinned)
      throw e
    }
    return pinned
  }

  unpinUserPages(pages: readonly PinnedPage[]): void {
    for (const p of pages) this.kernel.pages.unpin(p.phys)
  }

  followPfn(addr: number, write: boolean): number {
    const v = this.findVma(addr)
    if (v === undefined || v.pfnBase === undefined) kerr('EFAULT')
    if ((v.flags & (write ? VM.WRITE : VM.READ)) === 0) kerr('EFAULT')
    const a = addr - (addr % PAGE_SIZE)
    return v.pfnBase + (a - v.start)
  }
}
