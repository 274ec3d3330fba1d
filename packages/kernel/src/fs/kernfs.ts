/**
 * kernfs: the in-memory tree behind sysfs (fs/kernfs/ in Linux). Directories,
 * attribute files with show/store callbacks, and symlinks. Paths here are
 * relative to the tree's root ("bus/platform/devices/2c0a0000.dma"); the VFS
 * mounts the tree at /sys.
 *
 * Attribute semantics follow fs/sysfs/file.c: a read calls `show()` once and
 * serves the text (at most one page, PAGE_SIZE = 4096); a write hands the
 * whole buffer to `store()`, which returns the number of bytes consumed or
 * throws a KernelError.
 */
import { kerr } from '../errno.ts'

/** An attribute file. */
export interface KernfsAttr {
  /** Permission bits, as in Linux (0644, 0200, 0444, …). */
  readonly mode: number
  /** Owner (default root). */
  readonly uid?: number
  readonly gid?: number
  /** Produces the file's text. Absent: reading fails with EIO, as a write-only sysfs file does. */
  show?(): string
  /** Consumes a write. Returns bytes consumed (normally all). Absent: EIO. */
  store?(data: string): number
}

export type KernfsNode =
  | { readonly kind: 'dir'; readonly name: string; readonly children: Map<string, KernfsNode>; mode: number; parent: KernfsDir | undefined }
  | { readonly kind: 'file'; readonly name: string; readonly attr: KernfsAttr; parent: KernfsDir | undefined }
  | { readonly kind: 'link'; readonly name: string; target: string; parent: KernfsDir | undefined }

export type KernfsDir = Extract<KernfsNode, { kind: 'dir' }>

function split(path: string): string[] {
  return path.split('/').filter(p => p !== '' && p !== '.')
}

/** Nodes removed from their tree (kernfs_deactivate): open files on them fail with ENODEV. */
const removedNodes = new WeakSet<KernfsNode>()

/** kernfs_get_active: false once `n` (or a directory above it) has been removed. */
export function kernfsNodeActive(n: KernfsNode): boolean {
  return !removedNodes.has(n)
}

function markRemoved(n: KernfsNode): void {
  removedNodes.add(n)
  if (n.kind === 'dir') for (const c of n.children.values()) markRemoved(c)
}

export class Kernfs {
  readonly root: KernfsDir = { kind: 'dir', name: '', children: new Map(), mode: 0o755, parent: undefined }

  /** The node at `path` (no symlink following), or undefined. */
  lookup(path: string): KernfsNode | undefined {
    let n: KernfsNode = this.root
    for (const part of split(path)) {
      if (n.kind !== 'dir') return undefined
      const next: KernfsNode | undefined = part === '..' ? n.parent ?? n : n.children.get(part)
      if (next === undefined) return undefined
      n = next
    }
    return n
  }

  /** Creates directory `path` and its missing parents; returns it. */
  mkdir(path: string, mode = 0o755): KernfsDir {
    let n: KernfsDir = this.root
    for (const part of split(path)) {
      const next = n.children.get(part)
      if (next === undefined) {
        const d: KernfsDir = { kind: 'dir', name: part, children: new Map(), mode, parent: n }
        n.children.set(part, d)
        n = d
      } else if (next.kind === 'dir') n = next
      else kerr('ENOTDIR', `kernfs: ${path}: ${part} is not a directory`)
    }
    return n
  }

  private parentOf(path: string): { dir: KernfsDir; name: string } {
    const parts = split(path)
    const name = parts.pop()
    if (name === undefined) kerr('EINVAL', 'kernfs: empty path')
    const dir = this.mkdir(parts.join('/'))
    if (dir.children.has(name)) kerr('EEXIST', `kernfs: ${path} exists`)
    return { dir, name }
  }

  /** Creates attribute file `path` (parents created as needed). */
  addFile(path: string, attr: KernfsAttr): void {
    const { dir, name } = this.parentOf(path)
    dir.children.set(name, { kind: 'file', name, attr, parent: dir })
  }

  /** Creates symlink `path` pointing at `target` (a path relative to the link's directory, as sysfs writes them: "../../devices/…"). */
  symlink(path: string, target: string): void {
    const { dir, name } = this.parentOf(path)
    dir.children.set(name, { kind: 'link', name, target, parent: dir })
  }

  /** Removes `path` and everything under it; a missing path is ignored. */
  remove(path: string): void {
    const n = this.lookup(path)
    if (n === undefined || n.parent === undefined) return
    n.parent.children.delete(n.name)
    markRemoved(n)
  }

  /** Entry names of directory `path`, sorted. */
  readdir(path: string): string[] {
    const n = this.lookup(path)
    if (n === undefined) kerr('ENOENT')
    if (n.kind !== 'dir') kerr('ENOTDIR')
    return [...n.children.keys()].sort()
  }

  /** Absolute path (from the tree root, no leading slash) of a node. */
  static pathOf(n: KernfsNode): string {
    const parts: string[] = []
    let cur: KernfsNode | undefined = n
    while (cur !== undefined && cur.parent !== undefined) {
      parts.unshift(cur.name)
      cur = cur.parent
    }
    return parts.join('/')
  }
}
