/**
 * Models drivers/base/devtmpfs.c: device nodes appear under /dev when a
 * driver creates them (misc_register, device_create) and disappear when it
 * removes them. Names are relative to /dev ("vfio/vfio", "vfio/3");
 * intermediate directories exist while some node lives under them.
 */
import { kerr } from '../errno.ts'
import type { Task } from '../kernel/sched.ts'
import type { FileOperations, OpenFile } from './file.ts'

/** What the driver's open() sees. */
export interface DevOpenContext {
  /** The file being opened; the driver may set `file.priv`. */
  readonly file: OpenFile
  /** The opening task. */
  readonly task: Task
  /** open() flags. */
  readonly flags: number
}

/** A character device node. */
export interface DevNode {
  /** Permission bits (0666 for /dev/vfio/vfio, 0600 for /dev/vfio/N). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** The driver's open: returns the file operations, or throws a KernelError (EBUSY, ENODEV, …). */
  open(ctx: DevOpenContext): FileOperations
}

function normalize(name: string): string {
  return name.split('/').filter(p => p !== '' && p !== '.').join('/')
}

/** The /dev tree. */
export class Devfs {
  private readonly nodes = new Map<string, DevNode>()
  /** Called after a node is added or removed (the kernel logs/traces it). */
  onChange: ((name: string, added: boolean) => void) | undefined = undefined

  /** Creates /dev/`name`; EEXIST if it exists. */
  add(name: string, node: DevNode): void {
    const n = normalize(name)
    if (n === '' || this.nodes.has(n) || this.isDir(n)) kerr('EEXIST', `devfs: /dev/${n} exists`)
    this.nodes.set(n, node)
    this.onChange?.(n, true)
  }

  /** Removes /dev/`name` (a missing name is ignored). Open files stay valid: their refs outlive the path. */
  remove(name: string): void {
    const n = normalize(name)
    if (this.nodes.delete(n)) this.onChange?.(n, false)
  }

  /** The node at `name`, or undefined. */
  lookup(name: string): DevNode | undefined {
    return this.nodes.get(normalize(name))
  }

  /** True if `name` is a directory ('' is /dev itself). */
  isDir(name: string): boolean {
    const n = normalize(name)
    if (n === '') return true
    const prefix = n + '/'
    for (const k of this.nodes.keys()) if (k.startsWith(prefix)) return true
    return false
  }

  /** Entry names of directory `name`, sorted; ENOENT/ENOTDIR as Linux. */
  readdir(name: string): string[] {
    const n = normalize(name)
    if (this.nodes.has(n)) kerr('ENOTDIR')
    if (!this.isDir(n)) kerr('ENOENT')
    const prefix = n === '' ? '' : n + '/'
    const out = new Set<string>()
    for (const k of this.nodes.keys()) if (k.startsWith(prefix)) out.add(k.slice(prefix.length).split('/')[0]!)
    return [...out].sort()
  }

  /** Every node name, sorted (for tests and diagnostics). */
  names(): string[] {
    return [...this.nodes.keys()].sort()
  }
}

/** /dev/null (drivers/char/mem.c): reads give end of file, writes are swallowed. */
export const DEV_NULL: DevNode = {
  mode: 0o666,
  uid: 0,
  gid: 0,
  open: () => ({
    read: () => 0,
    write: (_f, data) => data.length,
    poll: () => 0x001 | 0x004 | 0x040 | 0x100,
  }),
}
