/**
 * Models fs/namei.c path walking over the small VFS of the simulation: a
 * root directory holding two mounts, devtmpfs at /dev and sysfs at /sys.
 * Symlinks (sysfs has many: driver, iommu_group, subsystem) are followed
 * for intermediate components always and for the last one unless asked not
 * to; ".." goes to the parent of the directory actually reached, as on a
 * real walk. 40 links at most (ELOOP), as Linux.
 *
 * Permission checks model generic_permission(): owner/group/other bits,
 * with CAP_DAC_OVERRIDE (and CAP_DAC_READ_SEARCH for reads) bypassing them.
 */
import { kerr } from '../errno.ts'
import type { Kernel } from '../kernel.ts'
import { capable, type Cred } from '../kernel/cred.ts'
import type { DevNode } from './devfs.ts'
import type { KernfsNode } from './kernfs.ts'

/** What a path resolves to. */
export type Dentry =
  | { readonly kind: 'root'; readonly path: string }
  | { readonly kind: 'devdir'; readonly path: string; readonly name: string }
  | { readonly kind: 'dev'; readonly path: string; readonly name: string; readonly node: DevNode }
  | { readonly kind: 'sys'; readonly path: string; readonly node: KernfsNode }

/** Longest name of one path component, in bytes (NAME_MAX). */
export const NAME_MAX = 255

/** Bytes of `s` in UTF-8 (what a C program's path would hold). */
function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4 // a surrogate pair: one 4-byte character
      i++
    } else n += 3
  }
  return n
}

/** Maximum symlinks followed in one lookup (MAXSYMLINKS). */
export const MAXSYMLINKS = 40

const MOUNTS = ['dev', 'sys'] as const

/** The node at resolved components (no link following); undefined if none. */
function nodeAt(kernel: Kernel, parts: readonly string[]): Dentry | undefined {
  const path = '/' + parts.join('/')
  if (parts.length === 0) return { kind: 'root', path }
  const [mnt, ...rest] = parts
  if (mnt === 'dev') {
    const name = rest.join('/')
    const node = kernel.devfs.lookup(name)
    if (node !== undefined && rest.length > 0) return { kind: 'dev', path, name, node }
    if (kernel.devfs.isDir(name)) return { kind: 'devdir', path, name }
    return undefined
  }
  if (mnt === 'sys') {
    const node = kernel.sysfs.lookup(rest.join('/'))
    return node === undefined ? undefined : { kind: 'sys', path, node }
  }
  return undefined
}

function isDir(d: Dentry): boolean {
  return d.kind === 'root' || d.kind === 'devdir' || (d.kind === 'sys' && d.node.kind === 'dir')
}

/**
 * Resolves `path` (absolute; a relative path is taken from /, the only cwd
 * the simulation has). With `follow` false, a final symlink is returned
 * itself. ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG as Linux. With `cred`, every
 * directory walked through needs search permission (may_lookup: EACCES).
 */
export function lookup(kernel: Kernel, path: string, follow = true, cred?: Cred): Dentry {
  if (typeof path !== 'string') kerr('EFAULT')
  // getname: the path is a C string, copied up to its first NUL.
  const nul = path.indexOf('\0')
  if (nul >= 0) path = path.slice(0, nul)
  if (path === '') kerr('ENOENT')
  // PATH_MAX (4096) counts bytes, the NUL included.
  if (utf8Length(path) >= 4096) kerr('ENAMETOOLONG')
  const cur: string[] = []
  let todo = path.split('/').filter(p => p !== '' && p !== '.')
  const trailingSlash = path.endsWith('/')
  let links = 0
  while (todo.length > 0) {
    const part = todo.shift()!
    // NAME_MAX is the filesystem's check, in its ->lookup: devtmpfs and the
    // root fs refuse a longer name; kernfs (sysfs) just does not find it.
    if (cur[0] !== 'sys' && utf8Length(part) > NAME_MAX) kerr('ENAMETOOLONG')
    const here = nodeAt(kernel, cur)!
    if (!isDir(here)) kerr('ENOTDIR')
    if (cred !== undefined) permission(here, cred, MAY_EXEC)
    if (part === '..') {
      cur.pop()
      continue
    }
    cur.push(part)
    const d = nodeAt(kernel, cur)
    if (d === undefined) kerr('ENOENT')
    if (d.kind === 'sys' && d.node.kind === 'link' && (todo.length > 0 || follow || trailingSlash)) {
      if (++links > MAXSYMLINKS) kerr('ELOOP')
      cur.pop()
      const target = d.node.target
      if (target.startsWith('/')) cur.length = 0
      todo = [...target.split('/').filter(p => p !== '' && p !== '.'), ...todo]
    }
  }
  const d = nodeAt(kernel, cur)!
  if (trailingSlash && !isDir(d)) kerr('ENOTDIR')
  return d
}

/**
 * Entry names of the directory at `path`, sorted. With `cred`, as opening it
 * O_RDONLY|O_DIRECTORY does: search permission on the way, ENOTDIR, then
 * read permission on the directory.
 */
export function readdirAt(kernel: Kernel, path: string, cred?: Cred): string[] {
  const d = lookup(kernel, path, true, cred)
  if (!isDir(d)) kerr('ENOTDIR')
  if (cred !== undefined) permission(d, cred, MAY_READ)
  switch (d.kind) {
    case 'root':
      return [...MOUNTS]
    case 'devdir':
      return kernel.devfs.readdir(d.name)
    case 'dev':
      return kerr('ENOTDIR')
    case 'sys':
      if (d.node.kind !== 'dir') kerr('ENOTDIR')
      return [...d.node.children.keys()].sort()
  }
}

/** readlink: the target text of the symlink at `path`; EINVAL if it is not a symlink. */
export function readlinkAt(kernel: Kernel, path: string, cred?: Cred): string {
  const d = lookup(kernel, path, false, cred)
  if (d.kind !== 'sys' || d.node.kind !== 'link') kerr('EINVAL')
  return d.node.target
}

/** Inode attributes changed by chmod/chown, per node object (a re-created node starts afresh). */
const inodeAttrs = new WeakMap<object, { mode: number; uid: number; gid: number }>()

function attrKey(d: Dentry): object | undefined {
  return d.kind === 'dev' ? d.node : d.kind === 'sys' ? d.node : undefined
}

/** Owner and mode of a resolved node (S_IFMT bits not included). */
export function inodeMode(d: Dentry): { mode: number; uid: number; gid: number } {
  const key = attrKey(d)
  const changed = key === undefined ? undefined : inodeAttrs.get(key)
  if (changed !== undefined) return { ...changed }
  switch (d.kind) {
    case 'root':
    case 'devdir':
      return { mode: 0o755, uid: 0, gid: 0 }
    case 'dev':
      return { mode: d.node.mode, uid: d.node.uid, gid: d.node.gid }
    case 'sys':
      if (d.node.kind === 'dir') return { mode: d.node.mode, uid: 0, gid: 0 }
      if (d.node.kind === 'link') return { mode: 0o777, uid: 0, gid: 0 }
      return { mode: d.node.attr.mode, uid: d.node.attr.uid ?? 0, gid: d.node.attr.gid ?? 0 }
  }
}

/**
 * chmod(2): the owner or CAP_FOWNER may change the permission bits (EPERM
 * otherwise). The directories of the VFS itself cannot be changed (EPERM).
 */
export function sysChmod(kernel: Kernel, cred: Cred, path: string, mode: number): void {
  if (!Number.isInteger(mode)) kerr('EINVAL')
  const d = lookup(kernel, path, true, cred)
  const key = attrKey(d)
  const cur = inodeMode(d)
  if (cred.uid !== cur.uid && !capable(cred, 'CAP_FOWNER')) kerr('EPERM')
  if (key === undefined) kerr('EPERM')
  inodeAttrs.set(key, { ...cur, mode: mode & 0o7777 })
}

/** (uid_t)-1 / (gid_t)-1: "leave this field", also when written as 0xffffffff. */
function keep(id: number): boolean {
  return id === -1 || id === 0xffff_ffff
}

/**
 * chown(2): -1 leaves a field as it is (as vfio.rst's `chown user
 * /dev/vfio/N` for an unprivileged VMM). Without CAP_CHOWN (fs/attr.c
 * chown_ok / chgrp_ok) a named uid is allowed only to the owner keeping its
 * own uid, and a named gid only to the owner keeping the group or choosing
 * its own group; anything else is EPERM, even a "change" to the current
 * value by someone else. Naming neither field only touches ctime.
 */
export function sysChown(kernel: Kernel, cred: Cred, path: string, uid: number, gid: number): void {
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) kerr('EINVAL')
  const d = lookup(kernel, path, true, cred)
  const key = attrKey(d)
  const cur = inodeMode(d)
  const newUid = keep(uid) ? cur.uid : uid
  const newGid = keep(gid) ? cur.gid : gid
  const owner = cred.uid === cur.uid
  const capChown = capable(cred, 'CAP_CHOWN')
  if (!keep(uid) && !(owner && newUid === cur.uid) && !capChown) kerr('EPERM')
  if (!keep(gid) && !(owner && (newGid === cur.gid || newGid === cred.gid)) && !capChown) kerr('EPERM')
  if (keep(uid) && keep(gid)) return
  if (key === undefined) kerr('EPERM')
  inodeAttrs.set(key, { mode: cur.mode, uid: newUid, gid: newGid })
}

/** MAY_EXEC / MAY_READ / MAY_WRITE. */
export const MAY_EXEC = 1
export const MAY_WRITE = 2
export const MAY_READ = 4

/** generic_permission: EACCES unless `cred` may access `d` as `mask` asks. */
export function permission(d: Dentry, cred: Cred, mask: number): void {
  const { mode, uid, gid } = inodeMode(d)
  const bits = cred.uid === uid ? (mode >> 6) & 7 : cred.gid === gid ? (mode >> 3) & 7 : mode & 7
  if ((bits & mask) === mask) return
  if (isDir(d)) {
    // Directories: read and search are overridable by CAP_DAC_READ_SEARCH, anything by CAP_DAC_OVERRIDE.
    if ((mask & MAY_WRITE) === 0 && capable(cred, 'CAP_DAC_READ_SEARCH')) return
    if (capable(cred, 'CAP_DAC_OVERRIDE')) return
    kerr('EACCES')
  }
  if (mask === MAY_READ && capable(cred, 'CAP_DAC_READ_SEARCH')) return
  // Execute is overridable only when some x bit is set.
  if (((mask & MAY_EXEC) === 0 || (mode & 0o111) !== 0) && capable(cred, 'CAP_DAC_OVERRIDE')) return
  kerr('EACCES')
}

/** True for a directory dentry. */
export function dentryIsDir(d: Dentry): boolean {
  return isDir(d)
}
