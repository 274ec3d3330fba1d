/**
 * Models include/linux/cred.h and capability.h: who a task is (uid, gid) and
 * what it may do (capabilities), plus the per-process resource limits of
 * include/uapi/linux/resource.h that the simulation uses.
 */

/** Capabilities the simulation checks, by Linux name. */
export type Capability = 'CAP_SYS_ADMIN' | 'CAP_IPC_LOCK' | 'CAP_SYS_RAWIO' | 'CAP_DAC_OVERRIDE' | 'CAP_DAC_READ_SEARCH' | 'CAP_FOWNER' | 'CAP_CHOWN'

/** Every capability modelled (root's default set). */
export const ALL_CAPS: readonly Capability[] = ['CAP_SYS_ADMIN', 'CAP_IPC_LOCK', 'CAP_SYS_RAWIO', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_CHOWN']

/** A task's credentials. */
export interface Cred {
  readonly uid: number
  readonly gid: number
  readonly caps: ReadonlySet<Capability>
}

/** True if `cred` holds `cap` (capable() in Linux). */
export function capable(cred: Cred, cap: Capability): boolean {
  return cred.caps.has(cap)
}

/** Root with every capability. */
export function rootCred(): Cred {
  return { uid: 0, gid: 0, caps: new Set(ALL_CAPS) }
}

/** A resource limit pair; `Infinity` is RLIM_INFINITY. */
export interface Rlimit {
  cur: number
  max: number
}

/** The limits modelled. */
export interface Rlimits {
  /** RLIMIT_MEMLOCK, in bytes (Linux default 8 MiB since v5.16; 64 KiB before). */
  memlock: Rlimit
  /** RLIMIT_NOFILE: highest fd + 1 (default 1024). */
  nofile: Rlimit
}

/**
 * Linux's defaults: RLIMIT_MEMLOCK is MLOCK_LIMIT, 8 MiB since v5.16 and
 * 64 KiB before (so 64 KiB on the 2014 'rfc-v5' kernel); RLIMIT_NOFILE 1024
 * (hard 4096).
 */
export function defaultRlimits(profile: 'rfc-v5' | 'upstream' = 'upstream'): Rlimits {
  const memlock = profile === 'upstream' ? 8 * 1024 * 1024 : 64 * 1024
  return { memlock: { cur: memlock, max: memlock }, nofile: { cur: 1024, max: 4096 } }
}
