/**
 * A reference model of what a user process can observe of Linux VFIO on a
 * platform device: container fds, the group fd, device fds, DMA mappings and
 * locked pages, per-index IRQ trigger/mask state, and the sysfs binding of the
 * group's devices. Written from the spec text (shared/spec/vfio.md §5–§10,
 * §15, §16) and the decision records it cites; it does not look at the
 * implementation.
 *
 * Every command is a pure function `(state, env, args) → Step`: the expected
 * return value or errno(s), the bytes the kernel leaves in the argument
 * buffer, and the next state (built with immer, so a failed call returning the
 * same object is "no state change" by construction).
 */
import { produce, type Draft } from 'immer'
import {
  DEV_FLAG_RESET, EXT, GROUP_CONTAINER_SET, GROUP_VIABLE, IOMMU_INFO_CAPS, IOMMU_INFO_PGSIZES,
  IRQ_INFO_AUTOMASKED, IRQ_INFO_EVENTFD, IRQ_INFO_MASKABLE, IRQ_SET, MAP_BIT2, MAP_READ, MAP_WRITE,
  REGION_MMAP, UNMAP_ALL, UNMAP_DIRTY, UNMAP_VADDR,
} from './constants.ts'
import { getS32, getU32, getU64, putU16, putU32, putU64 } from './bytes.ts'

/** The two behaviour profiles (ARCHITECTURE.md "Profiles"). */
export type VfioProfile = 'rfc-v5' | 'upstream'

/** The name of the VFIO bus driver for platform devices. */
export const VFIO_PLATFORM = 'vfio-platform'

/** Host page size (4 KiB pages on the emulated arm64 host). */
export const PAGE = 0x1000n

const U64 = (1n << 64n) - 1n

/** One device of the IOMMU group, as the environment describes it. */
export interface EnvDevice {
  /** Kernel device name, e.g. '2c0a0000.dma' (what GET_DEVICE_FD matches). */
  readonly name: string
  /** MMIO regions in platform order: physical base and size. */
  readonly regions: readonly { readonly base: bigint; readonly size: bigint }[]
  /** Per IRQ index: level-triggered (all PL330 lines on the FVP boards are level, DT flags 4). */
  readonly irqLevel: readonly boolean[]
  /** The host driver bound at boot. */
  readonly bootDriver: string | null
}

/**
 * Facts of the environment the model needs: the board's devices and the
 * choices other decision records made where the spec is open. The tests
 * build one per (board, profile) and cite the decision for each field.
 */
export interface VfioEnv {
  readonly profile: VfioProfile
  /** The bus of the group's devices: 'platform' (vfio-platform) or 'amba' (vfio-amba). */
  readonly bus: 'platform' | 'amba'
  /** The VFIO bus driver of that bus. */
  readonly vfioDriver: string
  /** VFIO_DEVICE_FLAGS_PLATFORM or VFIO_DEVICE_FLAGS_AMBA. */
  readonly deviceFlag: number
  /** The IOMMU group number (found with readlink of `iommu_group`, not a semantic claim). */
  readonly groupId: number
  /** Devices of the group, in the order device slots refer to them. */
  readonly devices: readonly EnvDevice[]
  /** A device name that exists on the platform bus but not in the group (GET_DEVICE_FD → ENODEV). */
  readonly foreignDevice: string
  /** The container's pgsize_bitmap (AND of its domains). */
  readonly pgsizeBitmap: bigint
  /** Usable IOVA ranges, inclusive (upstream; the aperture minus reserved regions). */
  readonly iovaRanges: readonly (readonly [bigint, bigint])[]
  /** IOMMU input-address bits: rfc-v5 has no IOVA-range check, so a MAP past it fails in iommu_map (ERANGE). */
  readonly iasBits: number
  /** CHECK_EXTENSION(DMA_CC) with an IOMMU set (rfc-v5: IOMMU_CAP_CACHE_COHERENCY; upstream: enforce_cache_coherency). */
  readonly dmaCcWithIommu: 0 | 1
  /** rfc-v5 CHECK_EXTENSION(PROT_EXEC) with an IOMMU set (decision 0601: a domain with dma_exec). */
  readonly protExecWithIommu: 0 | 1
  /** vfio-platform offers a reset for this device (FLAGS_RESET, RESET → 0). */
  readonly hasReset: boolean
  /** vfio-platform's probe succeeds (reset found or not required). */
  readonly vfioProbeOk: boolean
  /** Region flags vfio-platform reports for a page-aligned MMIO region. */
  readonly regionFlags: number
  /** type1's dma_entry_limit (upstream; 65535). */
  readonly dmaEntryLimit: number
  /** RLIMIT_MEMLOCK of the process in pages, or null with CAP_IPC_LOCK. */
  readonly memlockPages: number | null
  /** The user address space prepared by the test: pages that are read/write, read-only, or unmapped. */
  readonly userPages: (vaddr: bigint) => 'rw' | 'ro' | 'none'
}

/** A live DMA mapping of a container. */
export interface MMapping {
  readonly iova: bigint
  readonly size: bigint
  readonly vaddr: bigint
  readonly read: boolean
  readonly write: boolean
  /** rfc-v5 EXEC (device-executable); upstream mappings are always executable (decision 0602). */
  readonly exec: boolean
  /** Upstream update-vaddr: UNMAP(VADDR) marked the vaddr invalid; DMA continues, MAP(VADDR) restores. */
  readonly vaddrInvalid: boolean
}

/** A container object: lives while its fd is open or a group holds it (§7). */
export interface MContainer {
  readonly id: number
  readonly fdOpen: boolean
  /** Is the (single) group of the board attached? */
  readonly groupAttached: boolean
  /** The type1 backend, null until SET_IOMMU. */
  readonly iommu: null | 'v1' | 'v2'
  /** Sorted by iova, pairwise disjoint. */
  readonly mappings: readonly MMapping[]
}

/** The two eventfds the test registers as mask / unmask virqfds. */
export type VirqFd = 'mfd' | 'ufd'

/** Per IRQ index of an open device. */
export interface MIrq {
  readonly masked: boolean
  /** Is the test's eventfd installed as trigger? */
  readonly trigger: boolean
  /** The eventfd registered as mask virqfd (ACTION_MASK|DATA_EVENTFD), if any. */
  readonly maskFd: VirqFd | null
  /** The eventfd registered as unmask virqfd (ACTION_UNMASK|DATA_EVENTFD), if any. */
  readonly unmaskFd: VirqFd | null
}

/** A device of the group. */
export interface MDevice {
  readonly driver: string | null
  readonly override: string | null
  /** Open device fds. */
  readonly openCount: number
  readonly irqs: readonly MIrq[]
}

/** The whole observable state. */
export interface VfioModel {
  /** The VFIO bus driver's name (vfio-platform / vfio-amba). */
  readonly vfioDriver: string
  /** Container fd slots: the container object id behind each open fd. */
  readonly containerSlots: readonly (number | null)[]
  readonly containers: readonly MContainer[]
  readonly nextContainerId: number
  readonly groupFdOpen: boolean
  /** The container id the group is attached to. */
  readonly groupContainer: number | null
  /**
   * Has VFIO claimed the group's DMA ownership (iommu_group_claim_dma_owner)?
   * Upstream at SET_CONTAINER; rfc-v5 (no ownership in 2014) at SET_CONTAINER
   * when viable, else at the first GET_DEVICE_FD (decision 0850).
   */
  readonly groupClaimed: boolean
  /** Device fd slots: which device each open fd refers to. */
  readonly deviceSlots: readonly (number | null)[]
  readonly devices: readonly MDevice[]
  /** Pages charged to the process's locked_vm by type1 (same page in two mappings counts twice). */
  readonly lockedPages: number
  /** Counter of the test's single trigger eventfd. */
  readonly eventCount: bigint
  /** Counters of the two eventfds used as mask/unmask virqfds. */
  readonly virqCount: { readonly mfd: bigint; readonly ufd: bigint }
}

/** Expected outcome of a call: a return value, or one of the listed errnos. */
export type Outcome = { readonly ret: number } | { readonly errno: readonly string[] }

/** What a command is expected to do. */
export interface Step {
  readonly out: Outcome
  /** The argument buffer after the call (undefined: the command passed no buffer). */
  readonly bytes?: Uint8Array
  readonly next: VfioModel
}

/** Builds an outcome from a value or errno names. */
export function ok(ret = 0): Outcome {
  return { ret }
}
/** An expected failure (any of the names). */
export function err(...names: string[]): Outcome {
  return { errno: names }
}

function fail(s: VfioModel, e: string, bytes?: Uint8Array): Step {
  return bytes === undefined ? { out: err(e), next: s } : { out: err(e), bytes, next: s }
}

// ------------------------------------------------------------------ setup

/** The initial model: nothing open, devices bound to their boot drivers. */
export function initialModel(env: VfioEnv, containerSlots = 2, deviceSlots = 3): VfioModel {
  return {
    vfioDriver: env.vfioDriver,
    containerSlots: Array.from({ length: containerSlots }, () => null),
    containers: [],
    nextContainerId: 1,
    groupFdOpen: false,
    groupContainer: null,
    groupClaimed: false,
    deviceSlots: Array.from({ length: deviceSlots }, () => null),
    devices: env.devices.map(d => ({ driver: d.bootDriver, override: null, openCount: 0, irqs: d.irqLevel.map(() => ({ masked: false, trigger: false, maskFd: null, unmaskFd: null })) })),
    lockedPages: 0,
    eventCount: 0n,
    virqCount: { mfd: 0n, ufd: 0n },
  }
}

/** The smallest IOMMU page of the container: lowest set bit of pgsize_bitmap (errata 2). */
export function granule(env: VfioEnv): bigint {
  const b = env.pgsizeBitmap
  return b & -b
}

/** Does the group's /dev/vfio/N node exist (a device of the group is bound to vfio-platform)? */
export function groupNodeExists(s: VfioModel): boolean {
  return s.devices.some(d => d.driver === s.vfioDriver)
}

/** Viability: every device of the group is driverless or bound to vfio (§6.2; single-owner rule upstream). */
export function groupViable(s: VfioModel): boolean {
  return s.devices.every(d => d.driver === null || d.driver === s.vfioDriver)
}

function containerById(s: VfioModel, id: number): MContainer | undefined {
  return s.containers.find(c => c.id === id)
}

/** The container behind an fd slot. */
export function slotContainer(s: VfioModel, slot: number): MContainer | undefined {
  const id = s.containerSlots[slot]
  return id === null || id === undefined ? undefined : containerById(s, id)
}

function mappingPages(m: MMapping): number {
  return Number(m.size / PAGE)
}

/** Drops container objects no longer held by an fd or a group. */
function reap(d: Draft<VfioModel>): void {
  d.containers = d.containers.filter(c => c.fdOpen || c.groupAttached)
}

/** The group leaves its container: the last group's departure releases the backend and every mapping (§6.4, §7). */
function detachGroup(d: Draft<VfioModel>): void {
  const c = d.containers.find(x => x.id === d.groupContainer)
  d.groupContainer = null
  d.groupClaimed = false
  if (c === undefined) return
  c.groupAttached = false
  for (const m of c.mappings) d.lockedPages -= mappingPages(m)
  c.mappings = []
  c.iommu = null
  reap(d)
}

/** The device's last fd closed: close_device resets it and tears down IRQs (§10.2, §15.32). */
function closeDevice(d: Draft<MDevice>, m: Draft<VfioModel>): void {
  for (const irq of d.irqs) {
    // virqfd teardown: eventfd_ctx_remove_wait_queue reads (so clears) the eventfd's counter
    if (irq.maskFd !== null) m.virqCount[irq.maskFd] = 0n
    if (irq.unmaskFd !== null) m.virqCount[irq.unmaskFd] = 0n
    irq.masked = false
    irq.trigger = false
    irq.maskFd = null
    irq.unmaskFd = null
  }
}

// ------------------------------------------------------------------ container fd

/** open("/dev/vfio/vfio") into `slot`. */
export function openContainer(s: VfioModel, slot: number): Step {
  return {
    out: { ret: -1 }, // any fd ≥ 0; the command checks the sign
    next: produce(s, d => {
      const id = d.nextContainerId++
      d.containers.push({ id, fdOpen: true, groupAttached: false, iommu: null, mappings: [] })
      d.containerSlots[slot] = id
    }),
  }
}

/** close(container fd): drops only the file's reference; mappings survive while the group holds it (§0.2). */
export function closeContainer(s: VfioModel, slot: number): Step {
  return {
    out: ok(),
    next: produce(s, d => {
      const c = d.containers.find(x => x.id === d.containerSlots[slot])
      d.containerSlots[slot] = null
      if (c !== undefined) c.fdOpen = false
      reap(d)
    }),
  }
}

/** VFIO_GET_API_VERSION: 0 in every state (§15.2). */
export function getApiVersion(s: VfioModel): Step {
  return { out: ok(0), next: s }
}

/** VFIO_CHECK_EXTENSION(arg): never fails (§5, §15.2; decisions 0601, 0602). */
export function checkExtension(s: VfioModel, env: VfioEnv, slot: number, arg: number): Step {
  const c = slotContainer(s, slot)
  const set = c?.iommu !== null && c?.iommu !== undefined
  let r = 0
  if (env.profile === 'upstream') {
    if (arg === EXT.TYPE1 || arg === EXT.TYPE1v2 || arg === EXT.UNMAP_ALL) r = 1
    else if (arg === EXT.UPDATE_VADDR) r = set ? 1 : 0
    else if (arg === EXT.DMA_CC) r = set ? env.dmaCcWithIommu : 0
  } else {
    if (arg === EXT.TYPE1 || arg === EXT.TYPE1v2) r = 1
    else if (arg === EXT.DMA_CC) r = set ? env.dmaCcWithIommu : 0
    else if (arg === EXT.FIVE) r = set ? env.protExecWithIommu : 0
  }
  return { out: ok(r), next: s }
}

/** VFIO_SET_IOMMU(arg) (§5 check order; decision 0605). */
export function setIommu(s: VfioModel, env: VfioEnv, slot: number, arg: number): Step {
  const c = slotContainer(s, slot)
  if (c === undefined) return fail(s, 'EBADF')
  if (!c.groupAttached || c.iommu !== null) return fail(s, 'EINVAL')
  const claimed = env.profile === 'upstream' ? [EXT.TYPE1, EXT.TYPE1v2, EXT.UNMAP_ALL] : [EXT.TYPE1, EXT.TYPE1v2]
  if (!(claimed as number[]).includes(arg)) return fail(s, 'ENODEV')
  if (arg !== EXT.TYPE1 && arg !== EXT.TYPE1v2) return fail(s, 'EINVAL') // type1 open() refuses 9
  return {
    out: ok(0),
    next: produce(s, d => {
      const x = d.containers.find(y => y.id === c.id)!
      x.iommu = arg === EXT.TYPE1 ? 'v1' : 'v2'
    }),
  }
}

/**
 * VFIO_IOMMU_DIRTY_PAGES (0x3B75) with a struct of `argsz` and `flags`
 * (§8.5; decisions 0601, 0602): no IOMMU → EINVAL; rfc-v5 → ENOTTY (did not
 * exist); v1 → EACCES before anything is read; v2: argsz < 8 or unknown flags,
 * or not exactly one of START/STOP/GET_BITMAP → EINVAL; START/STOP → 0;
 * GET_BITMAP needs argsz ≥ 8 + 40 (EINVAL). Nothing is written back.
 */
export function dirtyPages(s: VfioModel, env: VfioEnv, slot: number, argsz: number, flags: number): Step {
  const c = slotContainer(s, slot)
  if (c === undefined) return fail(s, 'EBADF')
  if (c.iommu === null) return fail(s, 'EINVAL')
  if (env.profile === 'rfc-v5') return fail(s, 'ENOTTY')
  if (c.iommu === 'v1') return fail(s, 'EACCES')
  const ops = flags & 7
  if (argsz < 8 || (flags & ~7) !== 0 || (ops !== 1 && ops !== 2 && ops !== 4)) return fail(s, 'EINVAL')
  if (ops === 4 && argsz < 48) return fail(s, 'EINVAL')
  if (ops === 4) throw new Error('model: GET_BITMAP with a range is not generated')
  return { out: ok(0), next: s }
}

/**
 * VFIO_DEVICE_FEATURE (0x3B75) on a device fd with `argsz` and `flags`
 * (decision 0850): upstream the core decodes it — argsz < 8, unknown flags,
 * or GET|SET without PROBE → EINVAL; every feature → ENOTTY (vfio-platform has
 * no migration, logging or device_feature ops). rfc-v5 passes the number to
 * vfio-platform, which does not know it: ENOTTY.
 */
export function deviceFeature(s: VfioModel, env: VfioEnv, slot: number, argsz: number, flags: number): Step {
  if (slotDevice(s, env, slot) === undefined) return fail(s, 'EBADF')
  if (env.profile === 'rfc-v5') return fail(s, 'ENOTTY')
  const GET = 1 << 16
  const SET = 1 << 17
  const PROBE = 1 << 18
  if (argsz < 8 || (flags & ~(0xffff | GET | SET | PROBE)) !== 0) return fail(s, 'EINVAL')
  if ((flags & PROBE) === 0 && (flags & SET) !== 0 && (flags & GET) !== 0) return fail(s, 'EINVAL')
  return fail(s, 'ENOTTY')
}

/** Any other request on a container fd: EINVAL without an IOMMU, ENOTTY with one (§15.1). */
export function containerOther(s: VfioModel, slot: number): Step {
  const c = slotContainer(s, slot)
  return fail(s, c?.iommu ? 'ENOTTY' : 'EINVAL')
}

/**
 * VFIO_IOMMU_GET_INFO with a buffer of `buf.length` bytes whose argsz field
 * says `argsz` (errata 1, 3; §8.2; decisions 0601, 0602, 0103).
 */
export function iommuGetInfo(s: VfioModel, env: VfioEnv, slot: number, buf: Uint8Array): Step {
  const c = slotContainer(s, slot)
  if (c === undefined) return fail(s, 'EBADF', buf)
  if (c.iommu === null) return fail(s, 'EINVAL', buf)
  const argsz = getU32(buf, 0)
  if (argsz < 16) return fail(s, 'EINVAL', buf)
  const out = buf.slice()
  if (env.profile === 'rfc-v5') {
    // 16-byte struct, flags = 0, no caps.
    putU32(out, 4, 0)
    putU64(out, 8, env.pgsizeBitmap)
    return { out: ok(0), bytes: out, next: s }
  }
  const n = env.iovaRanges.length
  const required = 88 + 16 * n
  const copied = Math.min(argsz, 24)
  const head = new Uint8Array(24)
  putU32(head, 0, argsz >= required ? argsz : required)
  putU32(head, 4, IOMMU_INFO_PGSIZES | IOMMU_INFO_CAPS)
  putU64(head, 8, env.pgsizeBitmap)
  putU32(head, 16, argsz >= required ? 24 : 0)
  out.set(head.subarray(0, Math.min(copied, out.length)), 0)
  if (argsz >= required) {
    const caps = new Uint8Array(required - 24)
    const at = (o: number): number => o - 24
    // migration @24: id 2, v1, next 56; flags 0; pgsize_bitmap = smallest page; max dirty bitmap 0x1000_0000
    putU16(caps, at(24), 2); putU16(caps, at(26), 1); putU32(caps, at(28), 56)
    putU64(caps, at(40), granule(env)); putU64(caps, at(48), 0x1000_0000n)
    // dma_avail @56: id 3, v1, next 72; avail
    putU16(caps, at(56), 3); putU16(caps, at(58), 1); putU32(caps, at(60), 72)
    putU32(caps, at(64), env.dmaEntryLimit - c.mappings.length)
    // iova_range @72: id 1, v1, next 0; nr_iovas; ranges @88
    putU16(caps, at(72), 1); putU16(caps, at(74), 1); putU32(caps, at(76), 0)
    putU32(caps, at(80), n)
    env.iovaRanges.forEach(([a, b], i) => { putU64(caps, at(88 + 16 * i), a); putU64(caps, at(96 + 16 * i), b) })
    out.set(caps.subarray(0, Math.max(0, Math.min(caps.length, out.length - 24))), 24)
  }
  return { out: ok(0), bytes: out, next: s }
}

/** Classification of a MAP/UNMAP request for readable command names. */
export interface DmaMapArgs {
  readonly argsz: number
  readonly flags: number
  readonly vaddr: bigint
  readonly iova: bigint
  readonly size: bigint
}

function overlaps(m: MMapping, iova: bigint, size: bigint): boolean {
  return iova < m.iova + m.size && iova + size > m.iova
}

function insideRanges(env: VfioEnv, iova: bigint, last: bigint): boolean {
  return env.iovaRanges.some(([a, b]) => iova >= a && last <= b)
}

/** Encodes a vfio_iommu_type1_dma_map image (32 bytes). */
export function dmaMapBytes(a: DmaMapArgs): Uint8Array {
  const b = new Uint8Array(32)
  putU32(b, 0, a.argsz); putU32(b, 4, a.flags); putU64(b, 8, a.vaddr); putU64(b, 16, a.iova); putU64(b, 24, a.size)
  return b
}

/** VFIO_IOMMU_MAP_DMA (§8.3; decisions 0601, 0602, 0604). Nothing is copied back. */
export function mapDma(s: VfioModel, env: VfioEnv, slot: number, a: DmaMapArgs): Step {
  const buf = dmaMapBytes(a)
  const c = slotContainer(s, slot)
  if (c === undefined) return fail(s, 'EBADF', buf)
  if (c.iommu === null) return fail(s, 'EINVAL', buf)
  const pg = granule(env)
  const read = (a.flags & MAP_READ) !== 0
  const write = (a.flags & MAP_WRITE) !== 0
  const bit2 = (a.flags & MAP_BIT2) !== 0
  const misaligned = ((a.size | a.iova | a.vaddr) & (pg - 1n)) !== 0n
  const wraps = a.size > 0n && (a.iova + a.size - 1n > U64 || a.vaddr + a.size - 1n > U64)
  if (env.profile === 'upstream') {
    if (a.argsz < 32 || (a.flags & ~7) !== 0) return fail(s, 'EINVAL', buf)
    if (a.size === 0n) return fail(s, 'EINVAL', buf)
    if (wraps) return fail(s, 'EOVERFLOW', buf)
    const prot = read || write
    if ((prot && bit2) || (!prot && !bit2)) return fail(s, 'EINVAL', buf)
    if (misaligned) return fail(s, 'EINVAL', buf)
    const hit = c.mappings.find(m => overlaps(m, a.iova, a.size))
    if (bit2) {
      // update-vaddr: no mapping is ever vaddr-invalid in this model
      if (hit === undefined) return fail(s, 'ENOENT', buf)
      if (!hit.vaddrInvalid || hit.iova !== a.iova || hit.size !== a.size) return fail(s, 'EINVAL', buf)
      // the new vaddr is recorded as is (not pinned again; same mm, so no locked_vm move)
      return {
        out: ok(0),
        bytes: buf,
        next: produce(s, d => {
          const x = d.containers.find(y => y.id === c.id)!.mappings.find(m => m.iova === hit.iova)!
          x.vaddr = a.vaddr
          x.vaddrInvalid = false
        }),
      }
    }
    if (hit !== undefined) return fail(s, 'EEXIST', buf)
    if (c.mappings.length >= env.dmaEntryLimit) return fail(s, 'ENOSPC', buf)
    if (!insideRanges(env, a.iova, a.iova + a.size - 1n)) return fail(s, 'EINVAL', buf)
    const pinErr = pinError(s, env, a.vaddr, a.size, write)
    if (pinErr !== null) return fail(s, pinErr, buf)
  } else {
    if (a.argsz < 32 || (a.flags & ~7) !== 0) return fail(s, 'EINVAL', buf)
    // EXEC alone is a valid prot (decision 0601)
    if (!(read || write || bit2) || a.size === 0n || misaligned) return fail(s, 'EINVAL', buf)
    if (wraps) return fail(s, 'EINVAL', buf)
    if (c.mappings.some(m => overlaps(m, a.iova, a.size))) return fail(s, 'EEXIST', buf)
    const pinErr = pinError(s, env, a.vaddr, a.size, write)
    const beyondIas = a.iova + a.size - 1n >= 1n << BigInt(env.iasBits)
    // No IOVA-range check in 3.15: iommu_map refuses an input address past the SMMU's IAS (ERANGE);
    // whether a pin error on a later page or the map error of an earlier run comes first depends
    // on physical contiguity, which the model does not know (decision 0604), so either is accepted.
    if (beyondIas) return { out: pinErr === null ? err('ERANGE') : err('ERANGE', pinErr), bytes: buf, next: s }
    if (pinErr !== null) return fail(s, pinErr, buf)
  }
  return {
    out: ok(0),
    bytes: buf,
    next: produce(s, d => {
      const x = d.containers.find(y => y.id === c.id)!
      x.mappings.push({ iova: a.iova, size: a.size, vaddr: a.vaddr, read, write, exec: env.profile === 'upstream' ? true : bit2, vaddrInvalid: false })
      x.mappings.sort((p, q) => (p.iova < q.iova ? -1 : p.iova > q.iova ? 1 : 0))
      d.lockedPages += Number(a.size / PAGE)
    }),
  }
}

/**
 * Pins the pages of [vaddr, vaddr+size) in order: an unmapped page, or a
 * read-only page when WRITE is asked, is EFAULT; without CAP_IPC_LOCK the page
 * that would pass RLIMIT_MEMLOCK is ENOMEM (§8.3 step 11, decision 0604).
 */
function pinError(s: VfioModel, env: VfioEnv, vaddr: bigint, size: bigint, write: boolean): string | null {
  const pages = Number(size / PAGE)
  for (let i = 0; i < pages; i++) {
    const kind = env.userPages(vaddr + BigInt(i) * PAGE)
    if (kind === 'none' || (kind === 'ro' && write)) return 'EFAULT'
    if (env.memlockPages !== null && s.lockedPages + i + 1 > env.memlockPages) return 'ENOMEM'
  }
  return null
}

/** vfio_iommu_type1_dma_unmap arguments. */
export interface DmaUnmapArgs {
  readonly argsz: number
  readonly flags: number
  readonly iova: bigint
  readonly size: bigint
}

/** Encodes a vfio_iommu_type1_dma_unmap image (24 bytes). */
export function dmaUnmapBytes(a: DmaUnmapArgs): Uint8Array {
  const b = new Uint8Array(24)
  putU32(b, 0, a.argsz); putU32(b, 4, a.flags); putU64(b, 8, a.iova); putU64(b, 16, a.size)
  return b
}

/** VFIO_IOMMU_UNMAP_DMA (§8.4, §15.16–18; decisions 0601–0603). 24 bytes written back on success only. */
export function unmapDma(s: VfioModel, env: VfioEnv, slot: number, a: DmaUnmapArgs): Step {
  const buf = dmaUnmapBytes(a)
  const c = slotContainer(s, slot)
  if (c === undefined) return fail(s, 'EBADF', buf)
  if (c.iommu === null) return fail(s, 'EINVAL', buf)
  const pg = granule(env)
  const all = (a.flags & UNMAP_ALL) !== 0
  let size = a.size
  if (env.profile === 'upstream') {
    if (a.argsz < 24 || (a.flags & ~7) !== 0) return fail(s, 'EINVAL', buf)
    const dirty = (a.flags & UNMAP_DIRTY) !== 0
    if (dirty && (a.flags & (UNMAP_ALL | UNMAP_VADDR)) !== 0) return fail(s, 'EINVAL', buf)
    if (dirty && a.argsz < 48) return fail(s, 'EINVAL', buf)
    if (dirty) throw new Error('model: DIRTY unmaps with a bitmap are not generated')
    if ((a.iova & (pg - 1n)) !== 0n) return fail(s, 'EINVAL', buf)
    if (all) {
      if (a.iova !== 0n || a.size !== 0n) return fail(s, 'EINVAL', buf)
      size = U64
    } else {
      if (a.size === 0n || (a.size & (pg - 1n)) !== 0n) return fail(s, 'EINVAL', buf)
      if (a.iova + a.size - 1n > U64) return fail(s, 'EOVERFLOW', buf)
    }
  } else {
    if (a.argsz < 24 || a.flags !== 0) return fail(s, 'EINVAL', buf)
    if ((a.iova & (pg - 1n)) !== 0n) return fail(s, 'EINVAL', buf)
    if (a.size === 0n || (a.size & (pg - 1n)) !== 0n) return fail(s, 'EINVAL', buf)
  }
  // Exact-cover checks of v2 (with a wrapped last byte in rfc-v5, decision 0603).
  const lastByte = BigInt.asUintN(64, a.iova + size - 1n)
  const endExcl = BigInt.asUintN(64, a.iova + size)
  if (c.iommu === 'v2' && !all) {
    const strictlyIn = (m: MMapping, x: bigint): boolean => m.iova < x && x < m.iova + m.size
    if (c.mappings.some(m => strictlyIn(m, a.iova))) return fail(s, 'EINVAL', buf)
    if (c.mappings.some(m => strictlyIn(m, lastByte) && m.iova + m.size !== endExcl)) return fail(s, 'EINVAL', buf)
  }
  // The walk, in IOVA order (decision 0603); a wrapping rfc-v5 range finds nothing.
  const wrapped = a.iova + size - 1n > U64 && !all
  const removed: MMapping[] = []
  if (!wrapped) {
    const end = all ? 1n << 64n : a.iova + size
    for (const m of c.mappings) {
      if (m.iova + m.size <= a.iova) continue
      if (m.iova >= end) break
      if (c.iommu === 'v1' && a.iova > m.iova) break
      removed.push(m)
    }
  }
  const unmapped = removed.reduce((t, m) => t + m.size, 0n)
  if (env.profile === 'upstream' && (a.flags & UNMAP_VADDR) !== 0) {
    // update-vaddr: mark, do not unmap; a mapping already invalid rolls the whole call back (EINVAL)
    if (removed.some(m => m.vaddrInvalid)) return fail(s, 'EINVAL', buf)
    const out = buf.slice()
    putU64(out, 16, unmapped)
    return {
      out: ok(0),
      bytes: out,
      next: produce(s, d => {
        for (const m of d.containers.find(y => y.id === c.id)!.mappings) if (removed.some(r => r.iova === m.iova)) m.vaddrInvalid = true
      }),
    }
  }
  const out = buf.slice()
  putU64(out, 16, unmapped)
  return {
    out: ok(0),
    bytes: out,
    next: produce(s, d => {
      const x = d.containers.find(y => y.id === c.id)!
      x.mappings = x.mappings.filter(m => !removed.some(r => r.iova === m.iova))
      d.lockedPages -= removed.reduce((t, m) => t + mappingPages(m), 0)
    }),
  }
}

// ------------------------------------------------------------------ group fd

/** open("/dev/vfio/N"): ENOENT without the node, EBUSY when already open or still held by device fds (§6.1). */
export function openGroup(s: VfioModel): Step {
  if (!groupNodeExists(s)) return fail(s, 'ENOENT')
  if (s.groupFdOpen || s.devices.some(d => d.openCount > 0)) return fail(s, 'EBUSY')
  return { out: { ret: -1 }, next: produce(s, d => { d.groupFdOpen = true }) }
}

/** close(group fd): the group is released now, or when its last device fd closes (§6.7). */
export function closeGroup(s: VfioModel): Step {
  return {
    out: ok(),
    next: produce(s, d => {
      d.groupFdOpen = false
      if (d.devices.every(x => x.openCount === 0)) detachGroup(d)
    }),
  }
}

/** VFIO_GROUP_GET_STATUS with `buf` (§6.2, §15.8). */
export function groupGetStatus(s: VfioModel, env: VfioEnv, buf: Uint8Array): Step {
  const argsz = getU32(buf, 0)
  if (argsz < 8) return fail(s, 'EINVAL', buf)
  const out = buf.slice()
  const attached = s.groupContainer !== null
  let flags: number
  if (env.profile === 'upstream') flags = attached ? GROUP_VIABLE | GROUP_CONTAINER_SET : groupViable(s) ? GROUP_VIABLE : 0
  else flags = (groupViable(s) ? GROUP_VIABLE : 0) | (attached ? GROUP_CONTAINER_SET : 0)
  putU32(out, 4, flags)
  return { out: ok(0), bytes: out, next: s }
}

/** What the int passed to SET_CONTAINER designates. */
export type SetContainerTarget =
  | { readonly kind: 'container'; readonly slot: number }
  | { readonly kind: 'closed' }
  | { readonly kind: 'negative' }
  | { readonly kind: 'eventfd' }

/** VFIO_GROUP_SET_CONTAINER(&fd) (§6.3; §16 row "SET_CONTAINER fd<0 / non-VFIO fd"). */
export function groupSetContainer(s: VfioModel, env: VfioEnv, t: SetContainerTarget): Step {
  const attached = s.groupContainer !== null
  let c: MContainer | undefined
  if (env.profile === 'upstream') {
    if (t.kind === 'closed' || t.kind === 'negative') return fail(s, 'EBADF')
    if (attached) return fail(s, 'EINVAL')
    if (t.kind === 'eventfd') return fail(s, 'EBADFD')
    c = slotContainer(s, t.slot)
    if (c === undefined) return fail(s, 'EBADF')
    // iommu_group_claim_dma_owner: a sibling bound to a DMA-API driver → EPERM
    if (!groupViable(s)) return fail(s, 'EPERM')
  } else {
    if (t.kind === 'negative') return fail(s, 'EINVAL')
    if (attached) return fail(s, 'EINVAL')
    if (t.kind === 'closed') return fail(s, 'EBADF')
    if (t.kind === 'eventfd') return fail(s, 'EINVAL')
    c = slotContainer(s, t.slot)
    if (c === undefined) return fail(s, 'EBADF')
  }
  // With one group per board, a container with an IOMMU set always has this group attached,
  // so attaching never meets an existing backend.
  const id = c.id
  return {
    out: ok(0),
    next: produce(s, d => {
      d.groupContainer = id
      d.groupClaimed = groupViable(s)
      d.containers.find(x => x.id === id)!.groupAttached = true
    }),
  }
}

/** VFIO_GROUP_UNSET_CONTAINER (§6.4, §15.5). */
export function groupUnsetContainer(s: VfioModel): Step {
  if (s.groupContainer === null) return fail(s, 'EINVAL')
  if (s.devices.some(d => d.openCount > 0)) return fail(s, 'EBUSY')
  return { out: ok(0), next: produce(s, d => detachGroup(d)) }
}

/** GET_DEVICE_FD argument: 5000 bytes without a NUL. */
export const NAME_NO_NUL_4096 = '<5000 bytes without NUL>'
/** GET_DEVICE_FD argument: 112 bytes without a NUL, ending where the stack ends. */
export const NAME_RUNS_INTO_UNMAPPED = '<112 bytes without NUL, then unmapped>'

/** VFIO_GROUP_GET_DEVICE_FD(name) into a device slot (§6.5, §15.6). */
export function groupGetDeviceFd(s: VfioModel, env: VfioEnv, name: string, slot: number): Step {
  // strndup_user(arg, PAGE_SIZE) comes first in both eras: no NUL in 4096 bytes → EINVAL,
  // an unreadable byte before the NUL → EFAULT. The commands encode these as name sentinels.
  if (name === NAME_NO_NUL_4096) return fail(s, 'EINVAL')
  if (name === NAME_RUNS_INTO_UNMAPPED) return fail(s, 'EFAULT')
  const idx = env.devices.findIndex(d => d.name === name)
  const c = s.groupContainer === null ? undefined : containerById(s, s.groupContainer)
  const usable = c !== undefined && c.iommu !== null
  if (env.profile === 'upstream') {
    if (idx < 0 || s.devices[idx]!.driver !== s.vfioDriver) return fail(s, 'ENODEV')
    if (!usable) return fail(s, 'EINVAL')
  } else {
    if (!usable || !groupViable(s)) return fail(s, 'EINVAL')
    if (idx < 0 || s.devices[idx]!.driver !== s.vfioDriver) return fail(s, 'ENODEV')
  }
  return {
    out: { ret: -1 },
    next: produce(s, d => {
      const dev = d.devices[idx]!
      if (dev.openCount === 0) closeDevice(dev, d) // open_device: fresh IRQ state, device reset
      dev.openCount++
      d.groupClaimed = true
      d.deviceSlots[slot] = idx
    }),
  }
}

/** Any other request on the group fd → ENOTTY (§6.6). */
export function groupOther(s: VfioModel): Step {
  return fail(s, 'ENOTTY')
}

// ------------------------------------------------------------------ device fd

/** close(device fd): the last one resets the device; a closed group then detaches (§6.7, §10.2). */
export function closeDeviceFd(s: VfioModel, slot: number): Step {
  return {
    out: ok(),
    next: produce(s, d => {
      const idx = d.deviceSlots[slot]
      d.deviceSlots[slot] = null
      if (idx === null || idx === undefined) return
      const dev = d.devices[idx]!
      dev.openCount--
      if (dev.openCount === 0) closeDevice(dev, d)
      if (!d.groupFdOpen && d.devices.every(x => x.openCount === 0)) detachGroup(d)
    }),
  }
}

function slotDevice(s: VfioModel, env: VfioEnv, slot: number): EnvDevice | undefined {
  const idx = s.deviceSlots[slot]
  return idx === null || idx === undefined ? undefined : env.devices[idx]
}

/** Device info flags of a vfio-platform / vfio-amba device (§10.1, §10.3; rfc-v5: no reset, §16). */
export function deviceFlags(env: VfioEnv): number {
  return env.deviceFlag | (env.hasReset ? DEV_FLAG_RESET : 0)
}

/** VFIO_DEVICE_GET_INFO (minsz 16; 16 bytes back, cap_offset untouched) (§10.3). */
export function deviceGetInfo(s: VfioModel, env: VfioEnv, slot: number, buf: Uint8Array): Step {
  const dev = slotDevice(s, env, slot)
  if (dev === undefined) return fail(s, 'EBADF', buf)
  if (getU32(buf, 0) < 16) return fail(s, 'EINVAL', buf)
  const out = buf.slice()
  putU32(out, 4, deviceFlags(env))
  putU32(out, 8, dev.regions.length)
  putU32(out, 12, dev.irqLevel.length)
  return { out: ok(0), bytes: out, next: s }
}

/** VFIO_DEVICE_GET_REGION_INFO (minsz 32; index and cap_offset echoed) (§10.4, §15.23). */
export function deviceGetRegionInfo(s: VfioModel, env: VfioEnv, slot: number, buf: Uint8Array): Step {
  const dev = slotDevice(s, env, slot)
  if (dev === undefined) return fail(s, 'EBADF', buf)
  if (getU32(buf, 0) < 32) return fail(s, 'EINVAL', buf)
  const index = getU32(buf, 8)
  const r = dev.regions[index]
  if (r === undefined) return fail(s, 'EINVAL', buf)
  const out = buf.slice()
  const aligned = (r.base & (PAGE - 1n)) === 0n && (r.size & (PAGE - 1n)) === 0n
  putU32(out, 4, aligned ? env.regionFlags : env.regionFlags & ~REGION_MMAP)
  putU64(out, 16, r.size)
  putU64(out, 24, BigInt(index) << 40n)
  return { out: ok(0), bytes: out, next: s }
}

/** VFIO_DEVICE_GET_IRQ_INFO (minsz 16) (§10.7, §15.26). */
export function deviceGetIrqInfo(s: VfioModel, env: VfioEnv, slot: number, buf: Uint8Array): Step {
  const dev = slotDevice(s, env, slot)
  if (dev === undefined) return fail(s, 'EBADF', buf)
  if (getU32(buf, 0) < 16) return fail(s, 'EINVAL', buf)
  const index = getU32(buf, 8)
  const level = dev.irqLevel[index]
  if (level === undefined) return fail(s, 'EINVAL', buf)
  const out = buf.slice()
  // rfc-v5 (VP5): every IRQ EVENTFD|MASKABLE (+AUTOMASKED if level); upstream MASKABLE only for level.
  const flags = level ? IRQ_INFO_EVENTFD | IRQ_INFO_MASKABLE | IRQ_INFO_AUTOMASKED
    : env.profile === 'rfc-v5' ? IRQ_INFO_EVENTFD | IRQ_INFO_MASKABLE : IRQ_INFO_EVENTFD
  putU32(out, 4, flags)
  putU32(out, 12, 1)
  return { out: ok(0), bytes: out, next: s }
}

/** The data element a SET_IRQS call carries. */
export type IrqData =
  | { readonly kind: 'none' }
  | { readonly kind: 'bool'; readonly value: number }
  | { readonly kind: 'eventfd'; readonly fd: 'efd' | VirqFd | 'minus1' | 'closed' | 'container' }

/** A SET_IRQS request as the command generates it. */
export interface SetIrqsArgs {
  readonly flags: number
  readonly index: number
  readonly start: number
  readonly count: number
  /** argsz − 20 − data bytes actually present (negative: argsz too small). */
  readonly argszDelta: number
  readonly data: IrqData
}

/** Size of the data element for a DATA type bit combination (0 for NONE, -1 invalid). */
function elemSize(flags: number): number {
  const t = flags & 7
  return t === IRQ_SET.DATA_NONE ? 0 : t === IRQ_SET.DATA_BOOL ? 1 : t === IRQ_SET.DATA_EVENTFD ? 4 : -1
}

/**
 * VFIO_DEVICE_SET_IRQS (§9 validator order, §10.8 actions, §15.27–30).
 * The rfc-v5 profile follows the VP5 text of §10.8 where it differs.
 */
export function deviceSetIrqs(s: VfioModel, env: VfioEnv, slot: number, a: SetIrqsArgs): Step {
  const dev = slotDevice(s, env, slot)
  const devIdx = s.deviceSlots[slot]
  if (dev === undefined || devIdx === null || devIdx === undefined) return fail(s, 'EBADF')
  const n = dev.irqLevel.length
  const es = elemSize(a.flags)
  const dataBytes = es > 0 ? es * a.count : 0
  const argsz = 20 + Math.max(dataBytes, 0) + a.argszDelta
  const action = a.flags & 0x38
  if (argsz < 20 || a.index >= n || a.count >= 0xffffffff - a.start || (a.flags & ~0x3f) !== 0) return fail(s, 'EINVAL')
  if (a.start >= n || a.start + a.count > n) return fail(s, 'EINVAL')
  if (es < 0) return fail(s, 'EINVAL')
  if (es > 0 && argsz - 20 < a.count * es) return fail(s, 'EINVAL')
  if (action !== IRQ_SET.ACTION_MASK && action !== IRQ_SET.ACTION_UNMASK && action !== IRQ_SET.ACTION_TRIGGER) return fail(s, 'ENOTTY')
  const level = dev.irqLevel[a.index]!
  const v5 = env.profile === 'rfc-v5'
  const setIrq = (f: (irq: Draft<MIrq>, d: Draft<VfioModel>) => void): VfioModel =>
    produce(s, d => f(d.devices[devIdx]!.irqs[a.index]!, d))
  if (action === IRQ_SET.ACTION_MASK || action === IRQ_SET.ACTION_UNMASK) {
    if (a.start !== 0 || a.count !== 1) return fail(s, 'EINVAL')
    if (!level && !v5) return fail(s, 'EINVAL')
    const mask = action === IRQ_SET.ACTION_MASK
    if (a.data.kind === 'eventfd') {
      // VP5 answered ENOTTY here ("not implemented yet"), but the emulator implements
      // virqfd in both profiles (decision 0880, vfio-platform profiles); the model follows it.
      return virqfdSet(s, devIdx, a.index, mask, a.data.fd)
    }
    if (a.data.kind === 'bool') {
      if (v5 && a.data.value !== 1) return fail(s, 'EINVAL')
      if (a.data.value === 0) return { out: ok(0), next: s }
    }
    return { out: ok(0), next: setIrq(irq => { irq.masked = mask }) }
  }
  // TRIGGER
  if (a.count === 0 && a.data.kind === 'none') return { out: ok(0), next: setIrq(irq => { irq.trigger = false }) }
  // VP5: only the NONE loopback skips the start/count check (spec §10.8 [2014 VP5]).
  if ((!v5 || a.data.kind !== 'none') && (a.start !== 0 || a.count !== 1)) return fail(s, 'EINVAL')
  if (a.data.kind === 'eventfd') {
    const fd = a.data.fd
    // vfio_set_trigger drops the old trigger first, so a bad fd leaves none installed.
    if (fd === 'minus1') return { out: ok(0), next: setIrq(irq => { irq.trigger = false }) }
    if (fd === 'closed') return { out: err('EBADF'), next: setIrq(irq => { irq.trigger = false }) }
    if (fd === 'container') return { out: err('EINVAL'), next: setIrq(irq => { irq.trigger = false }) }
    return { out: ok(0), next: setIrq(irq => { irq.trigger = true }) }
  }
  if (a.data.kind === 'bool') {
    if (v5 && a.data.value !== 1) return fail(s, 'EINVAL')
    if (a.data.value === 0) return { out: ok(0), next: s }
  }
  // loopback: the handler runs as if the line fired
  return { out: ok(0), next: setIrq((irq, d) => fire(irq, d, level)) }
}

/**
 * vfio_virqfd_enable / disable (§10.9): fd < 0 removes; a bad fd is EBADF, a
 * non-eventfd EINVAL, an occupied slot EBUSY (in that order); an eventfd that
 * already counts runs the handler at once without consuming the count.
 * Removal (fd < 0, or the device's last close) goes through Linux's
 * eventfd_ctx_remove_wait_queue, which reads the counter: it ends at 0.
 */
function virqfdSet(s: VfioModel, devIdx: number, index: number, mask: boolean, fd: 'efd' | VirqFd | 'minus1' | 'closed' | 'container'): Step {
  const irq = s.devices[devIdx]!.irqs[index]!
  const slotNow = mask ? irq.maskFd : irq.unmaskFd
  if (fd === 'minus1') {
    // vfio_virqfd_disable → eventfd_ctx_remove_wait_queue, which reads (clears) the counter
    return {
      out: ok(0),
      next: produce(s, d => {
        const x = d.devices[devIdx]!.irqs[index]!
        if (slotNow !== null) d.virqCount[slotNow] = 0n
        if (mask) x.maskFd = null
        else x.unmaskFd = null
      }),
    }
  }
  if (fd === 'closed') return fail(s, 'EBADF')
  if (fd === 'container') return fail(s, 'EINVAL')
  if (fd === 'efd') throw new Error('model: the trigger eventfd is not generated as a virqfd')
  if (slotNow !== null) return fail(s, 'EBUSY')
  return {
    out: ok(0),
    next: produce(s, d => {
      const x = d.devices[devIdx]!.irqs[index]!
      if (mask) x.maskFd = fd
      else x.unmaskFd = fd
      if (d.virqCount[fd] > 0n) x.masked = mask
    }),
  }
}

/**
 * write(mfd|ufd, 8-byte value): the counter grows by `value`, then every
 * virqfd registered on that eventfd consumes it and runs its handler (even
 * for a value of 0: the write wakes the wait queue; decision 0505).
 */
export function writeVirqEventfd(s: VfioModel, which: VirqFd, value: bigint): Step {
  return {
    out: ok(8),
    next: produce(s, d => {
      d.virqCount[which] = d.virqCount[which] + value
      let woken = false
      for (const dev of d.devices) {
        for (const irq of dev.irqs) {
          if (irq.maskFd === which) { irq.masked = true; woken = true }
          if (irq.unmaskFd === which) { irq.masked = false; woken = true }
        }
      }
      if (woken) d.virqCount[which] = 0n
    }),
  }
}

/** read(mfd|ufd, 8), nonblocking. */
export function readVirqEventfd(s: VfioModel, which: VirqFd): Step & { readonly value: bigint } {
  const v = s.virqCount[which]
  if (v === 0n) return { ...fail(s, 'EAGAIN'), value: 0n }
  return { out: ok(8), value: v, next: produce(s, d => { d.virqCount[which] = 0n }) }
}

/** The IRQ handler: automasked (level) lines mask themselves and signal once; edge lines always signal (§10.8). */
function fire(irq: Draft<MIrq>, d: Draft<VfioModel>, level: boolean): void {
  if (level) {
    if (irq.masked) return
    irq.masked = true
  }
  if (irq.trigger) d.eventCount = d.eventCount + 1n
}

/** The SET_IRQS argument bytes for `a`, with `efd`/`badFd`/`containerFd` as the fds to use. */
export function setIrqsBytes(a: SetIrqsArgs, fds: { efd: number; mfd: number; ufd: number; closed: number; container: number }): Uint8Array {
  const es = elemSize(a.flags)
  const dataBytes = es > 0 ? es * a.count : 0
  const argsz = 20 + Math.max(dataBytes, 0) + a.argszDelta
  const b = new Uint8Array(Math.max(20 + Math.max(dataBytes, 0), argsz, 20) + 4)
  putU32(b, 0, argsz); putU32(b, 4, a.flags); putU32(b, 8, a.index); putU32(b, 12, a.start); putU32(b, 16, a.count)
  for (let i = 0; i < Math.max(a.count, 1) && i < 64; i++) {
    if (a.data.kind === 'bool' && 20 + i < b.length) b[20 + i] = a.data.value & 0xff
    if (a.data.kind === 'eventfd') {
      const f = a.data.fd
      const fd = f === 'efd' ? fds.efd : f === 'mfd' ? fds.mfd : f === 'ufd' ? fds.ufd : f === 'minus1' ? -1 : f === 'closed' ? fds.closed : fds.container
      if (20 + 4 * i + 4 <= b.length) new DataView(b.buffer).setInt32(20 + 4 * i, fd, true)
    }
  }
  return b
}

/** VFIO_DEVICE_RESET: 0 iff a reset exists, else EINVAL (§10.10, §15.33). */
export function deviceReset(s: VfioModel, env: VfioEnv, slot: number): Step {
  if (slotDevice(s, env, slot) === undefined) return fail(s, 'EBADF')
  return env.hasReset ? { out: ok(0), next: s } : fail(s, 'EINVAL')
}

/** pread(device fd, n bytes, pos = index << 40 | off) (§10.5, §15.24): EINVAL, or min(n, size − off). */
export function regionRead(s: VfioModel, env: VfioEnv, slot: number, pos: number, n: number): Step {
  const dev = slotDevice(s, env, slot)
  if (dev === undefined) return fail(s, 'EBADF')
  const index = Math.floor(pos / 2 ** 40)
  const off = BigInt(pos % 2 ** 40)
  const r = dev.regions[index]
  if (r === undefined || off >= r.size) return fail(s, 'EINVAL')
  return { out: ok(Number(r.size - off < BigInt(n) ? r.size - off : BigInt(n))), next: s }
}

/** pwrite(device fd, n bytes, pos) (§10.5, §15.24): the same bounds as pread (regions are R|W). */
export function regionWrite(s: VfioModel, env: VfioEnv, slot: number, pos: number, n: number): Step {
  return regionRead(s, env, slot, pos, n)
}

/** A device-fd mmap request. */
export interface RegionMmapArgs {
  readonly length: number
  readonly prot: number
  readonly shared: boolean
  readonly offset: number
}

/**
 * mmap(device fd) (§10.6, §15.25): the mm core refuses a zero length or an
 * unaligned offset; then MAP_SHARED, the region index, its MMAP/READ/WRITE
 * flags and the page range inside the region are checked (EINVAL); success
 * returns an address (the command unmaps it again).
 */
export function regionMmap(s: VfioModel, env: VfioEnv, slot: number, a: RegionMmapArgs): Step {
  const dev = slotDevice(s, env, slot)
  if (dev === undefined) return fail(s, 'EBADF')
  const pg = Number(PAGE)
  if (a.length === 0 || a.offset % pg !== 0) return fail(s, 'EINVAL')
  if (!a.shared) return fail(s, 'EINVAL')
  const index = Math.floor(a.offset / 2 ** 40)
  const r = dev.regions[index]
  if (r === undefined) return fail(s, 'EINVAL')
  const aligned = (r.base & (PAGE - 1n)) === 0n && (r.size & (PAGE - 1n)) === 0n
  const flags = aligned ? env.regionFlags : env.regionFlags & ~REGION_MMAP
  if ((flags & REGION_MMAP) === 0) return fail(s, 'EINVAL')
  if ((a.prot & 1) !== 0 && (flags & 1) === 0) return fail(s, 'EINVAL')
  if ((a.prot & 2) !== 0 && (flags & 2) === 0) return fail(s, 'EINVAL')
  const start = BigInt(a.offset % 2 ** 40)
  const len = BigInt(Math.ceil(a.length / pg) * pg)
  if (r.size < PAGE || start + len > r.size) return fail(s, 'EINVAL')
  return { out: { ret: -1 }, next: s }
}

/** Any other request on a device fd → ENOTTY (§10.10b). */
export function deviceOther(s: VfioModel): Step {
  return fail(s, 'ENOTTY')
}

/** read(efd, 8) on the nonblocking trigger eventfd: the counter, reset to 0; EAGAIN when 0 (§11). */
export function readEventfd(s: VfioModel): Step & { readonly value: bigint } {
  if (s.eventCount === 0n) return { ...fail(s, 'EAGAIN'), value: 0n }
  return { out: ok(8), value: s.eventCount, next: produce(s, d => { d.eventCount = 0n }) }
}

// ------------------------------------------------------------------ sysfs binding

/** Write `value` to `<dev>/driver_override`: returns the length; "\n" clears (§10.1). */
export function writeOverride(s: VfioModel, dev: number, value: string): Step {
  return {
    out: ok(value.length),
    next: produce(s, d => {
      const v = value.endsWith('\n') ? value.slice(0, -1) : value
      d.devices[dev]!.override = v === '' ? null : v
    }),
  }
}

/** Write the device name to `drivers/<drv>/unbind`: ENODEV unless bound to `drv`. */
export function writeUnbind(s: VfioModel, env: VfioEnv, dev: number, drv: string): Step {
  const name = env.devices[dev]!.name
  if (s.devices[dev]!.driver !== drv) return fail(s, 'ENODEV')
  return {
    out: ok(name.length),
    next: produce(s, d => {
      d.devices[dev]!.driver = null
    }),
  }
}

/**
 * Write the device name to `drivers_probe`: an unbound device is offered to the
 * drivers that match (only the override's driver when set; dma-pl330 by OF
 * table otherwise; vfio-platform has no table). A driver's own probe errors
 * are not reported by drivers_probe (≥ 5.14 really_probe returns them as
 * positive values), but dma-pl330 (a DMA-API driver) meets the group's claimed
 * DMA ownership in platform_dma_configure: that EBUSY is negative, stops the
 * walk, and drivers_probe answers EINVAL (§7; decisions 0552, 0850 — in rfc-v5
 * too, where 2014 hit a BUG_ON).
 */
export function writeDriversProbe(s: VfioModel, env: VfioEnv, dev: number, bootDriver: string): Step {
  const name = env.devices[dev]!.name
  const m = s.devices[dev]!
  if (m.driver !== null) return { out: ok(name.length), next: s }
  let drv: string | null = null
  if (m.override !== null) drv = m.override === s.vfioDriver || m.override === bootDriver ? m.override : null
  else drv = bootDriver
  if (drv === s.vfioDriver && !env.vfioProbeOk) drv = null
  if (drv === bootDriver && s.groupClaimed) return fail(s, 'EINVAL')
  return { out: ok(name.length), next: drv === null ? s : produce(s, d => { d.devices[dev]!.driver = drv }) }
}

// ------------------------------------------------------------------ observation helpers

/** Every live mapping of every container (for the containment property). */
export function allMappings(s: VfioModel): MMapping[] {
  return s.containers.flatMap(c => c.mappings)
}

/** Reads the int a SET_IRQS eventfd entry holds (debug helper for messages). */
export function irqSetFd(b: Uint8Array, i: number): number {
  return getS32(b, 20 + 4 * i)
}

/** The UNMAP result size in a written-back buffer. */
export function unmapResultSize(b: Uint8Array): bigint {
  return getU64(b, 16)
}

