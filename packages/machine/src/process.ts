/**
 * A user process of the simulated machine: its own descriptor table and
 * address space, making system calls the way a C program would. Every method
 * is one system call (or one user-mode memory access); failures throw a
 * SysError with Linux's errno.
 */
import { O_RDONLY, O_WRONLY, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { defineTraceEvents } from '@vfio-sim/sim'
import { kerr, TASK_SIZE, syscalls as sc, type Kernel, type PollFd, type TaskStruct } from '@vfio-sim/kernel'
import { SysError, syscall } from './syscalls.ts'

/** Trace events of user processes: each system call with its result, and each user access. */
export const PROCESS_TRACE = defineTraceEvents({
  sys_call: ['syscall', 'pid:u32 call:str args:str ret:str', '{call}({args}) = {ret}'],
  user_access: ['user', 'pid:u32 op:str addr:hex64 value:str', '{op} {addr} {value}'],
})

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`
}

// Trace formatting of arguments a caller may have passed with the wrong
// type (a C program cannot, but the API must not crash on them).

/** A numeric argument in hex ('?' if it is not a number). */
function hx(v: unknown): string {
  return typeof v === 'number' || typeof v === 'bigint' ? hex(v) : '?'
}

/** A numeric argument in decimal. */
function dec(v: unknown): string {
  return typeof v === 'number' || typeof v === 'bigint' ? String(v) : '?'
}

/** A numeric argument in octal (open flags, modes). */
function oct(v: unknown): string {
  return typeof v === 'number' ? `0o${v.toString(8)}` : '?'
}

/** A path argument, quoted. */
function q(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : '?'
}

/** A buffer argument's length. */
function len(v: unknown): string {
  return typeof v === 'string' || v instanceof Uint8Array ? String(v.length) : '?'
}

function fmtRet(v: unknown): string {
  if (typeof v === 'number') return v > 0xffff ? hex(v) : String(v)
  if (v === undefined) return '0'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (Array.isArray(v)) return `[${v.length} entries]`
  return String(v)
}

/** Largest struct placed on the stack by {@link Process.ioctl} (the stack is 128 KiB). */
const IOCTL_STACK_MAX = 64 * 1024

/** Bytes a process passes to write/poke: raw bytes, or a string (UTF-8). */
export type UserBytes = Uint8Array | string

function toBytes(b: UserBytes, call: string): Uint8Array {
  if (typeof b === 'string') return new TextEncoder().encode(b)
  if (!(b instanceof Uint8Array)) throw new SysError('EFAULT', call, { detail: 'bytes must be a Uint8Array or a string' })
  return b
}

/** A store's value must be a finite number (a C program cannot pass anything else). */
function checkValue(v: unknown, call: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SysError('EINVAL', call, { detail: 'value must be a finite number' })
  return v
}

/** A user process. */
export class Process {
  /** The kernel task behind it (for kernel-level tests: mm, files, cred). */
  readonly task: TaskStruct
  private readonly kernel: Kernel

  constructor(kernel: Kernel, task: TaskStruct) {
    this.kernel = kernel
    this.task = task
  }

  /** Process id. */
  get pid(): number {
    return this.task.pid
  }

  /** User id. */
  get uid(): number {
    return this.task.cred.uid
  }

  /** True after exit(). */
  get exited(): boolean {
    return this.task.exited
  }

  private live(name: string): TaskStruct {
    if (this.task.exited) throw new SysError('ESRCH', name, { detail: `process ${this.pid} has exited` })
    return this.task
  }

  /** Runs system call `name` (errors → SysError) and traces it with its result. */
  private call<T>(name: string, args: () => string, fn: (t: TaskStruct) => T, path?: string): T {
    const tracer = this.kernel.sys.tracer
    try {
      const r = syscall(name, () => fn(this.live(name)), path)
      if (tracer.on) tracer.instant(PROCESS_TRACE.sys_call, `proc/${this.pid}`, this.pid, name, args(), fmtRet(r))
      return r
    } catch (e) {
      if (tracer.on && e instanceof SysError) tracer.instant(PROCESS_TRACE.sys_call, `proc/${this.pid}`, this.pid, name, args(), `-1 ${e.code}`)
      throw e
    }
  }

  /** A user-mode access (errors → SysError), traced. */
  private access<T>(op: string, addr: number, fn: (t: TaskStruct) => T, value?: () => string): T {
    // An address that is not a number is not an address a CPU could load from.
    if (typeof addr !== 'number') throw new SysError('EFAULT', op, { signal: 'SIGSEGV', detail: 'address must be a number' })
    const r = syscall(op, () => fn(this.live(op)))
    const tracer = this.kernel.sys.tracer
    if (tracer.on) tracer.instant(PROCESS_TRACE.user_access, `proc/${this.pid}`, this.pid, op, Number.isFinite(addr) ? addr : 0, value?.() ?? (typeof r === 'number' || typeof r === 'bigint' ? `-> ${hex(r)}` : ''))
    return r
  }

  /** open(2); `flags` default O_RDONLY. Returns the fd. */
  open(path: string, flags: number = O_RDONLY): number {
    return this.call('open', () => `${q(path)}, ${oct(flags)}`, t => sc.sysOpen(this.kernel, t, path, flags), path)
  }

  /** close(2). */
  close(fd: number): void {
    this.call('close', () => dec(fd), t => sc.sysClose(t, fd))
  }

  /** dup(2). */
  dup(fd: number): number {
    return this.call('dup', () => dec(fd), t => sc.sysDup(t, fd))
  }

  /** read(2), or pread64(2) with `pos`: fills `buf`, returns the byte count. */
  read(fd: number, buf: Uint8Array, pos?: number): number {
    const name = pos === undefined ? 'read' : 'pread64'
    return this.call(name, () => `${dec(fd)}, buf, ${len(buf)}${pos === undefined ? '' : `, ${dec(pos)}`}`, t => sc.sysRead(t, fd, buf, pos))
  }

  /** write(2), or pwrite64(2) with `pos`. Returns the byte count. */
  write(fd: number, bytes: UserBytes, pos?: number): number {
    const name = pos === undefined ? 'write' : 'pwrite64'
    return this.call(name, () => `${dec(fd)}, buf, ${len(bytes)}${pos === undefined ? '' : `, ${dec(pos)}`}`, t => sc.sysWrite(t, fd, toBytes(bytes, name), pos))
  }

  /**
   * ioctl(2). `arg` a number: the raw unsigned long (an integer, or a user
   * address). `arg` a Uint8Array: the struct itself, copied to the top of
   * the process stack, passed by address, and copied back afterwards (also
   * when the call fails, as the kernel may have written part of it).
   */
  ioctl(fd: number, request: number, arg: number | Uint8Array = 0): number {
    const argText = (): string => (typeof arg === 'number' ? hex(arg) : `struct[${len(arg)}]`)
    return this.call('ioctl', () => `${dec(fd)}, ${typeof request === 'number' ? hex(request >>> 0) : '?'}, ${argText()}`, t => {
      if (typeof arg === 'number') return sc.sysIoctl(t, fd, request, arg)
      if (!(arg instanceof Uint8Array)) return kerr('EFAULT', 'arg must be a number or a Uint8Array')
      // Small structs live on the stack; a large one gets a temporary mapping.
      const big = arg.length > IOCTL_STACK_MAX
      const addr = big
        ? sc.sysMmap(this.kernel, t, 0, arg.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        : TASK_SIZE - Math.ceil(Math.max(arg.length, 1) / 16) * 16
      try {
        t.mm.poke(addr, arg)
        try {
          return sc.sysIoctl(t, fd, request, addr)
        } finally {
          arg.set(t.mm.peek(addr, arg.length))
        }
      } finally {
        if (big) sc.sysMunmap(t, addr, arg.length)
      }
    })
  }

  /** mmap(2) (offset in bytes, page aligned). Returns the address. */
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
    return this.call('mmap', () => `${hx(addr)}, ${hx(length)}, ${dec(prot)}, ${hx(flags)}, ${dec(fd)}, ${hx(offset)}`, t => sc.sysMmap(this.kernel, t, addr, length, prot, flags, fd, offset))
  }

  /** munmap(2). */
  munmap(vaddr: number, length: number): void {
    this.call('munmap', () => `${hx(vaddr)}, ${hx(length)}`, t => sc.sysMunmap(t, vaddr, length))
  }

  /** eventfd2(2). Returns the fd. */
  eventfd(initval: number, flags = 0): number {
    return this.call('eventfd2', () => `${dec(initval)}, ${oct(flags)}`, t => sc.sysEventfd2(this.kernel, t, initval, flags))
  }

  /**
   * poll(2): writes each entry's `revents`, returns how many are non-zero.
   * `timeoutNs` (virtual) undefined, negative, or beyond 2^53 ns (Infinity)
   * waits until ready; NaN is EINVAL.
   */
  poll(fds: PollFd[], timeoutNs?: number): number {
    return this.call('poll', () => `[${Array.isArray(fds) ? fds.map(f => dec(f?.fd)).join(', ') : '?'}], ${timeoutNs === undefined ? -1 : dec(timeoutNs)}`, t => sc.sysPoll(this.kernel, t, fds, timeoutNs))
  }

  // --- user memory: loads and stores the process itself makes ---

  /** Reads `n` bytes of user memory (SysError EFAULT with `signal` on a fault). */
  peek(vaddr: number, n: number): Uint8Array {
    return this.access('peek', vaddr, t => t.mm.peek(vaddr, n), () => `${dec(n)} bytes`)
  }

  /** Writes bytes to user memory. */
  poke(vaddr: number, bytes: UserBytes): void {
    this.access('poke', vaddr, t => t.mm.poke(vaddr, toBytes(bytes, 'poke')), () => `${len(bytes)} bytes`)
  }

  /** One 8-bit load (one bus access on a device mapping). */
  read8(vaddr: number): number {
    return this.access('read8', vaddr, t => t.mm.load(vaddr, 1))
  }

  /** One 16-bit load. */
  read16(vaddr: number): number {
    return this.access('read16', vaddr, t => t.mm.load(vaddr, 2))
  }

  /** One 32-bit load. */
  read32(vaddr: number): number {
    return this.access('read32', vaddr, t => t.mm.load(vaddr, 4))
  }

  /** One 64-bit load. */
  read64(vaddr: number): bigint {
    return this.access('read64', vaddr, t => t.mm.load64(vaddr))
  }

  /** One 8-bit store. */
  write8(vaddr: number, v: number): void {
    this.access('write8', vaddr, t => t.mm.store(vaddr, 1, checkValue(v, 'write8')), () => `<- ${hx(v)}`)
  }

  /** One 16-bit store. */
  write16(vaddr: number, v: number): void {
    this.access('write16', vaddr, t => t.mm.store(vaddr, 2, checkValue(v, 'write16')), () => `<- ${hx(v)}`)
  }

  /** One 32-bit store. */
  write32(vaddr: number, v: number): void {
    this.access('write32', vaddr, t => t.mm.store(vaddr, 4, checkValue(v, 'write32') >>> 0), () => `<- ${typeof v === 'number' ? hex(v >>> 0) : '?'}`)
  }

  /** One 64-bit store. */
  write64(vaddr: number, v: bigint | number): void {
    this.access('write64', vaddr, t => t.mm.store64(vaddr, typeof v === 'bigint' ? v : BigInt(Math.trunc(checkValue(v, 'write64')))), () => `<- ${dec(v)}`)
  }

  // --- conveniences built from the calls above, as a shell would use them ---

  /** open + read until end + close; the text (UTF-8). */
  readFile(path: string): string {
    const fd = this.open(path, O_RDONLY)
    try {
      const chunks: Uint8Array[] = []
      for (;;) {
        const buf = new Uint8Array(4096)
        const n = this.read(fd, buf)
        if (n === 0) break
        chunks.push(buf.subarray(0, n))
      }
      return new TextDecoder().decode(concat(chunks))
    } finally {
      this.close(fd)
    }
  }

  /** open(O_WRONLY) + write the whole text (as `echo -n s >` does, one write) + close. */
  writeFile(path: string, s: UserBytes): void {
    const fd = this.open(path, O_WRONLY)
    try {
      const b = toBytes(s, 'write')
      let off = 0
      do {
        const n = this.write(fd, b.subarray(off))
        if (n <= 0) break
        off += n
      } while (off < b.length)
    } finally {
      this.close(fd)
    }
  }

  /** readlink(2). */
  readlink(path: string): string {
    return this.call('readlink', () => q(path), t => sc.sysReadlink(this.kernel, t, path), path)
  }

  /** Entry names of a directory (sorted; no "." or ".."). */
  readdir(path: string): string[] {
    return this.call('scandir', () => q(path), t => sc.sysReaddir(this.kernel, t, path), path)
  }

  /** chmod(2): the owner or CAP_FOWNER may change a node's permission bits. */
  chmod(path: string, mode: number): void {
    this.call('chmod', () => `${q(path)}, ${oct(mode)}`, t => sc.sysChmod(this.kernel, t, path, mode), path)
  }

  /** chown(2) (CAP_CHOWN; -1 keeps a field), e.g. giving /dev/vfio/N to an unprivileged user as vfio.rst describes. */
  chown(path: string, uid: number, gid = -1): void {
    this.call('chown', () => `${q(path)}, ${dec(uid)}, ${dec(gid)}`, t => sc.sysChown(this.kernel, t, path, uid, gid), path)
  }

  /** The address space as /proc/self/maps prints it (one line per mapping). */
  maps(): string[] {
    return this.task.mm.procMaps()
  }

  /** exit(2): unmaps everything and closes every fd. */
  exit(): void {
    this.task.exit()
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0))
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}
