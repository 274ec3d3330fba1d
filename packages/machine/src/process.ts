/**
 * A user process of the simulated machine: its own descriptor table and
 * address space, making system calls the way a C program would. Every method
 * is one system call (or one user-mode memory access); failures throw a
 * SysError with Linux's errno.
 */
import { O_RDONLY, O_WRONLY, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@vfio-sim/uapi'
import { TASK_SIZE, syscalls as sc, type Kernel, type PollFd, type TaskStruct } from '@vfio-sim/kernel'
import { SysError, syscall } from './syscalls.ts'

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

  /** open(2); `flags` default O_RDONLY. Returns the fd. */
  open(path: string, flags: number = O_RDONLY): number {
    return syscall('open', () => sc.sysOpen(this.kernel, this.live('open'), path, flags), path)
  }

  /** close(2). */
  close(fd: number): void {
    syscall('close', () => sc.sysClose(this.live('close'), fd))
  }

  /** dup(2). */
  dup(fd: number): number {
    return syscall('dup', () => sc.sysDup(this.live('dup'), fd))
  }

  /** read(2), or pread64(2) with `pos`: fills `buf`, returns the byte count. */
  read(fd: number, buf: Uint8Array, pos?: number): number {
    return syscall(pos === undefined ? 'read' : 'pread64', () => sc.sysRead(this.live('read'), fd, buf, pos))
  }

  /** write(2), or pwrite64(2) with `pos`. Returns the byte count. */
  write(fd: number, bytes: UserBytes, pos?: number): number {
    return syscall(pos === undefined ? 'write' : 'pwrite64', () => sc.sysWrite(this.live('write'), fd, toBytes(bytes, 'write'), pos))
  }

  /**
   * ioctl(2). `arg` a number: the raw unsigned long (an integer, or a user
   * address). `arg` a Uint8Array: the struct itself, copied to the top of
   * the process stack, passed by address, and copied back afterwards (also
   * when the call fails, as the kernel may have written part of it).
   */
  ioctl(fd: number, request: number, arg: number | Uint8Array = 0): number {
    const t = this.live('ioctl')
    if (typeof arg === 'number') return syscall('ioctl', () => sc.sysIoctl(t, fd, request, arg))
    if (!(arg instanceof Uint8Array)) throw new SysError('EFAULT', 'ioctl', { detail: 'arg must be a number or a Uint8Array' })
    // Small structs live on the stack; a large one gets a temporary mapping.
    const big = arg.length > IOCTL_STACK_MAX
    const addr = big
      ? syscall('ioctl', () => sc.sysMmap(this.kernel, t, 0, arg.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
      : TASK_SIZE - Math.ceil(Math.max(arg.length, 1) / 16) * 16
    try {
      syscall('ioctl', () => t.mm.poke(addr, arg))
      try {
        return syscall('ioctl', () => sc.sysIoctl(t, fd, request, addr))
      } finally {
        arg.set(syscall('ioctl', () => t.mm.peek(addr, arg.length)))
      }
    } finally {
      if (big) syscall('ioctl', () => sc.sysMunmap(t, addr, arg.length))
    }
  }

  /** mmap(2) (offset in bytes, page aligned). Returns the address. */
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
    return syscall('mmap', () => sc.sysMmap(this.kernel, this.live('mmap'), addr, length, prot, flags, fd, offset))
  }

  /** munmap(2). */
  munmap(vaddr: number, length: number): void {
    syscall('munmap', () => sc.sysMunmap(this.live('munmap'), vaddr, length))
  }

  /** eventfd2(2). Returns the fd. */
  eventfd(initval: number, flags = 0): number {
    return syscall('eventfd2', () => sc.sysEventfd2(this.kernel, this.live('eventfd2'), initval, flags))
  }

  /**
   * poll(2): writes each entry's `revents`, returns how many are non-zero.
   * `timeoutNs` (virtual) undefined or negative waits until ready.
   */
  poll(fds: PollFd[], timeoutNs?: number): number {
    return syscall('poll', () => sc.sysPoll(this.kernel, this.live('poll'), fds, timeoutNs))
  }

  // --- user memory: loads and stores the process itself makes ---

  /** Reads `n` bytes of user memory (SysError EFAULT with `signal` on a fault). */
  peek(vaddr: number, n: number): Uint8Array {
    return syscall('peek', () => this.live('peek').mm.peek(vaddr, n))
  }

  /** Writes bytes to user memory. */
  poke(vaddr: number, bytes: UserBytes): void {
    syscall('poke', () => this.live('poke').mm.poke(vaddr, toBytes(bytes, 'poke')))
  }

  /** One 8-bit load (one bus access on a device mapping). */
  read8(vaddr: number): number {
    return syscall('read8', () => this.live('read8').mm.load(vaddr, 1))
  }

  /** One 16-bit load. */
  read16(vaddr: number): number {
    return syscall('read16', () => this.live('read16').mm.load(vaddr, 2))
  }

  /** One 32-bit load. */
  read32(vaddr: number): number {
    return syscall('read32', () => this.live('read32').mm.load(vaddr, 4))
  }

  /** One 64-bit load. */
  read64(vaddr: number): bigint {
    return syscall('read64', () => this.live('read64').mm.load64(vaddr))
  }

  /** One 8-bit store. */
  write8(vaddr: number, v: number): void {
    syscall('write8', () => this.live('write8').mm.store(vaddr, 1, checkValue(v, 'write8')))
  }

  /** One 16-bit store. */
  write16(vaddr: number, v: number): void {
    syscall('write16', () => this.live('write16').mm.store(vaddr, 2, checkValue(v, 'write16')))
  }

  /** One 32-bit store. */
  write32(vaddr: number, v: number): void {
    syscall('write32', () => this.live('write32').mm.store(vaddr, 4, checkValue(v, 'write32') >>> 0))
  }

  /** One 64-bit store. */
  write64(vaddr: number, v: bigint | number): void {
    syscall('write64', () => this.live('write64').mm.store64(vaddr, typeof v === 'bigint' ? v : BigInt(Math.trunc(checkValue(v, 'write64')))))
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
    return syscall('readlink', () => sc.sysReadlink(this.kernel, this.live('readlink'), path), path)
  }

  /** Entry names of a directory (sorted; no "." or ".."). */
  readdir(path: string): string[] {
    return syscall('scandir', () => sc.sysReaddir(this.kernel, this.live('scandir'), path), path)
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
