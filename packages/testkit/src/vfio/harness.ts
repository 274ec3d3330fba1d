/**
 * Sets up one model run on a freshly spawned process: user memory for
 * MAP_DMA (read/write pages, read-only pages, a hole), the trigger eventfd,
 * and the model/real pair the commands operate on. The caller boots the
 * machine and spawns the process (testkit does not depend on the machine).
 */
import type { VfioProc, VfioReal, VfioModelBox, VfioLayout, VfioCommand } from './commands.ts'
import * as M from './model.ts'
import { DEV_FLAG_AMBA, DEV_FLAG_PLATFORM } from './constants.ts'

/** The process calls the harness needs beyond {@link VfioProc}. */
export interface VfioHarnessProc extends VfioProc {
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number
  munmap(vaddr: number, length: number): void
  eventfd(initval: number, flags?: number): number
  readlink(path: string): string
}

const PROT_READ = 1
const PROT_WRITE = 2
const MAP_PRIVATE = 2
const MAP_ANONYMOUS = 0x20
const EFD_NONBLOCK = 0o4000

/** The environment facts that do not come from the process (see {@link M.VfioEnv}). */
export type VfioEnvFacts = Omit<M.VfioEnv, 'groupId' | 'userPages'>

/** What {@link vfioSetup} returns. */
export interface VfioSession {
  readonly env: M.VfioEnv
  readonly layout: VfioLayout
  readonly model: VfioModelBox
  readonly real: VfioReal
}

/**
 * Prepares the process: 16 read/write pages, 4 read-only pages, 4 unmapped
 * pages, a nonblocking eventfd; reads the group number from sysfs.
 */
export function vfioSetup(p: VfioHarnessProc, facts: VfioEnvFacts, opts: {
  readonly bootDriver: string
  readonly window: { readonly base: bigint; readonly pages: number }
  readonly specialIovas: readonly bigint[]
  readonly lockedPages?: () => number
}): VfioSession {
  const pg = Number(M.PAGE)
  const rw = p.mmap(0, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const ro = p.mmap(0, 4 * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const hole = p.mmap(0, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  p.munmap(hole, 4 * pg)
  const efd = p.eventfd(0, EFD_NONBLOCK)
  const otherFd = p.open('/dev/null', 0)
  const mfd = p.eventfd(0, EFD_NONBLOCK)
  const ufd = p.eventfd(0, EFD_NONBLOCK)
  const link = p.readlink(`/sys/bus/${facts.bus}/devices/${facts.devices[0]!.name}/iommu_group`)
  const groupId = Number(/(\d+)$/.exec(link)?.[1] ?? 'NaN')
  if (!Number.isInteger(groupId)) throw new Error(`vfioSetup: cannot read the group number from ${link}`)
  const layout: VfioLayout = {
    rw: { base: BigInt(rw), pages: 16 },
    ro: { base: BigInt(ro), pages: 4 },
    hole: { base: BigInt(hole), pages: 4 },
    window: opts.window,
    specialIovas: opts.specialIovas,
  }
  const within = (v: bigint, r: { base: bigint; pages: number }): boolean => v >= r.base && v < r.base + BigInt(r.pages) * M.PAGE
  const env: M.VfioEnv = {
    ...facts,
    groupId,
    userPages: v => (within(v, layout.rw) ? 'rw' : within(v, layout.ro) ? 'ro' : 'none'),
  }
  const real: VfioReal = {
    p,
    env,
    bootDriver: opts.bootDriver,
    containerFds: [null, null],
    groupFd: null,
    deviceFds: [null, null, null],
    efd,
    mfd,
    ufd,
    closedFd: 900,
    otherFd,
    ...(opts.lockedPages !== undefined ? { lockedPages: opts.lockedPages } : {}),
  }
  return { env, layout, model: { s: M.initialModel(env) }, real }
}

/** Runs fixed commands (a prelude) with the same checks as a model run. */
export function runCommands(session: VfioSession, cmds: readonly VfioCommand[]): void {
  for (const c of cmds) {
    if (!c.check(session.model)) throw new Error(`prelude command not applicable: ${c.toString()}`)
    c.run(session.model, session.real)
  }
}

/** Devices of the FVP boards' IOMMU group (shared/design boards, decision 0550). */
const FVP_DMA0: M.EnvDevice = {
  name: '2c0a0000.dma',
  regions: [{ base: 0x2c0a_0000n, size: 0x1000n }],
  irqLevel: Array.from({ length: 9 }, () => true), // DT flags 4 = level high on all nine lines
  bootDriver: 'dma-pl330',
}
const FVP_DMA1: M.EnvDevice = { ...FVP_DMA0, name: '2c0b0000.dma', regions: [{ base: 0x2c0b_0000n, size: 0x1000n }] }

/** RLIMIT_MEMLOCK (pages) the model-run process gets, without CAP_IPC_LOCK. */
export const VFIO_MODEL_MEMLOCK_PAGES = 6

/**
 * The environment facts of an FVP board per profile, each from the spec or a
 * decision record:
 * - pgsize_bitmap 4K|2M|1G and IAS 32: Linux arm-smmu on an SMMUv1 (MMU-400) uses
 *   the AArch32 LPAE stage-1 format (ias ≤ 32), io-pgtable ARM_32_LPAE_S1 sizes;
 * - IOVA ranges: the aperture [0, 2^32−1] minus the SW-MSI window 0x0800_0000 + 1 MiB
 *   (spec §8.1, §12; decision 0600);
 * - DMA_CC with an IOMMU: upstream asks enforce_cache_coherency (false for arm-smmu,
 *   decision 0600/0602); rfc-v5 asks IOMMU_CAP_CACHE_COHERENCY (the SMMU is dma-coherent
 *   in the DT, decision 0601);
 * - PROT_EXEC with an IOMMU (rfc-v5): the MMU-400 domain has dma_exec (decision 0600);
 * - reset: upstream binds with the PL330 reset module (vfio_platform_pl330.ts), so
 *   FLAGS_RESET — vfio-amba too: it looks the reset up by the DT's first compatible,
 *   "arm,pl330" (vfio_platform_of_probe), only reset_required is false;
 *   rfc-v5 has no reset (spec §16 "Reset: none (-EINVAL)");
 * - fvp-mmu400-amba: the PL330 is an AMBA device bound to vfio-amba, FLAGS_AMBA;
 * - regions R|W|MMAP for the page-aligned 4 KiB window (spec §10.2);
 * - dma_entry_limit 65535 (spec §8.1).
 */
export function fvpFacts(profile: M.VfioProfile, board: string): VfioEnvFacts {
  const shared = board === 'fvp-mmu400-shared-group'
  const amba = board === 'fvp-mmu400-amba'
  // vfio-amba takes adev->irq[0..AMBA_NR_IRQS): 2 in 2014 headers, 9 today (spec §10.1, §16; decision 0880)
  const ambaDma: M.EnvDevice = { ...FVP_DMA0, irqLevel: FVP_DMA0.irqLevel.slice(0, profile === 'rfc-v5' ? 2 : 9) }
  return {
    profile,
    bus: amba ? 'amba' : 'platform',
    vfioDriver: amba ? 'vfio-amba' : 'vfio-platform',
    deviceFlag: amba ? DEV_FLAG_AMBA : DEV_FLAG_PLATFORM,
    devices: amba ? [ambaDma] : shared ? [FVP_DMA0, FVP_DMA1] : [FVP_DMA0],
    foreignDevice: '2b400000.iommu',
    pgsizeBitmap: 0x4020_1000n,
    iovaRanges: [[0n, 0x7ff_ffffn], [0x810_0000n, 0xffff_ffffn]],
    iasBits: 32,
    dmaCcWithIommu: profile === 'upstream' ? 0 : 1,
    protExecWithIommu: 1,
    hasReset: profile === 'upstream',
    vfioProbeOk: true,
    regionFlags: 7,
    dmaEntryLimit: 65535,
    memlockPages: VFIO_MODEL_MEMLOCK_PAGES,
  }
}

/**
 * Spawn options of the model-run process: root without CAP_IPC_LOCK,
 * RLIMIT_MEMLOCK = {@link VFIO_MODEL_MEMLOCK_PAGES} pages (pass to `m.spawn()`).
 */
export function vfioUserSpawnOptions() {
  return {
    caps: ['CAP_SYS_ADMIN', 'CAP_SYS_RAWIO', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_CHOWN'] as const,
    rlimits: { memlock: VFIO_MODEL_MEMLOCK_PAGES * Number(M.PAGE) },
  }
}

/** The test IOVA window and special IOVAs of the FVP boards. */
export function fvpSetupOptions(p: { task?: { mm?: { lockedVm?: number } } }): Parameters<typeof vfioSetup>[2] {
  return {
    bootDriver: 'dma-pl330',
    window: { base: 0x10_0000n, pages: 8 },
    // the SW-MSI window, the last pages of the 32-bit aperture, the top of the 64-bit space
    specialIovas: [0x800_0000n, 0xffff_e000n, 0xffff_f000n, 0xffff_ffff_ffff_f000n],
    lockedPages: () => p.task?.mm?.lockedVm ?? Number.NaN,
  }
}
