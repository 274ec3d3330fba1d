/**
 * Models drivers/iommu/arm/arm-smmu/arm-smmu.c, the `arm-smmu` driver for
 * SMMUv1/v2 (here: the MMU-400 model), as a platform driver:
 *
 * - probe: reads ID0/ID1/ID2 over MMIO (features, stream matching, context
 *   banks, address sizes), requests the global fault IRQs, resets the SMMU
 *   (unused streams bypass or fault as `disableBypass` says), probes the SMR
 *   ID/MASK bits, and registers with the IOMMU core;
 * - masters: `iommus = <&smmu ID [MASK]>` become stream-map entries (SMR +
 *   S2CR); masters whose entries coincide share an IOMMU group;
 * - domains: one stage-1 context bank each (ASID = bank number), AArch32
 *   LPAE tables from io-pgtable, CBAR/TCR/TTBR0/MAIR/SCTLR programmed as
 *   Linux does; attach writes S2CR (TRANS to the bank, BYPASS for the
 *   identity domain, FAULT for the blocked domain);
 * - unmap: TLBIVAL per leaf / TLBIVA over a removed table, then TLBSYNC;
 * - faults: the context and global handlers log Linux's lines and clear
 *   the status registers;
 * - iova_to_phys through ATS1PR/PAR when the SMMU has address translation
 *   operations, else a software walk.
 *
 * Everything goes through `kernel.sys.bus` (readl/writel/readq/writeq) and
 * `kernel.irq`; the register layout is the driver's own (arm-smmu-regs.ts).
 */
import { IrqReturn } from '@vfio-sim/sim'
import { kerr } from '../../../../errno.ts'
import type { Kernel } from '../../../../kernel.ts'
import { ofDeviceIsCompatible, ofPropertyReadBool, ofPropertyReadU32 } from '../../../../of/base.ts'
import { IRQF } from '../../../../kernel/irq/irqdesc.ts'
import { type Device, devErr, devWarn, devPrintk } from '../../../base/core.ts'
import { E, type DeviceDriver } from '../../../base/driver.ts'
import { platformDriverRegister } from '../../../base/platform.ts'
import {
  IommuDomain, type IommuCap, type IommuDevice, type IommuDomainDrvOps, type IommuFwspec, type IommuGroup, type IommuOps,
  type IommuResvRegion, IOMMU_PROT_WRITE, IOMMU_PROT_NOEXEC, IOMMU_PROT_MMIO, MSI_IOVA_BASE, MSI_IOVA_LENGTH,
  devIommuFwspecGet, iommuDeviceRegister, iommuGroupAlloc, reportIommuFault,
} from '../../iommu.ts'
import { allocIoPgtableOps, freeIoPgtableOps, pageTableMemory, type IoPgtableCfg, type IoPgtableOps } from '../../io-pgtable.ts'
import * as R from './arm-smmu-regs.ts'

/** Module parameters and teaching switches of the driver. */
export interface ArmSmmuOptions {
  /**
   * arm-smmu.disable_bypass: streams no master claims fault (sCR0.USFCFG,
   * S2CR FAULT) instead of bypassing. Default: true upstream
   * (CONFIG_ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT=y), false in rfc-v5 (3.1x
   * reset every S2CR to bypass).
   */
  disableBypass?: boolean
  /**
   * Fault injection for teaching: unmap skips the TLB invalidation
   * (TLBIVA/TLBIVAL), so a device can still reach an unmapped page through
   * a stale TLB entry. Off by default.
   */
  skipTlbInvalidateOnUnmap?: boolean
  /** Ignore the hardware ATOS and walk the tables in software for iova_to_phys. */
  softwareIovaToPhys?: boolean
}

/** One stream-map entry's S2CR state (struct arm_smmu_s2cr). */
interface S2cr {
  group: IommuGroup | null
  count: number
  type: number
  privcfg: number
  cbndx: number
}

/** One SMR (struct arm_smmu_smr). */
interface Smr {
  id: number
  mask: number
  valid: boolean
}

/** Per-master state (struct arm_smmu_master_cfg): the SMMU and its stream-map entries. */
interface MasterCfg {
  readonly smmu: ArmSmmuDevice
  readonly smendx: number[]
}

/** Feature bits (ARM_SMMU_FEAT_*). */
interface Features {
  coherentWalk: boolean
  streamMatch: boolean
  transS1: boolean
  transS2: boolean
  transNested: boolean
  transOps: boolean
  fmtAarch32L: boolean
  fmtAarch32S: boolean
  fmtAarch64_4K: boolean
  exids: boolean
  vmid16: boolean
}

/** printk_ratelimit state (DEFAULT_RATELIMIT_INTERVAL 5 s, BURST 10), on virtual time. */
class Ratelimit {
  private begin = -1
  private printed = 0
  missed = 0
  private readonly kernel: Kernel
  private readonly func: string
  constructor(kernel: Kernel, func: string) {
    this.kernel = kernel
    this.func = func
  }
  ok(): boolean {
    const now = this.kernel.now
    if (this.begin < 0 || now - this.begin >= 5_000_000_000) {
      if (this.missed > 0) this.kernel.printk('warning', `${this.func}: ${this.missed} callbacks suppressed`)
      this.begin = now
      this.printed = 0
      this.missed = 0
    }
    if (this.printed < 10) {
      this.printed++
      return true
    }
    this.missed++
    return false
  }
}

/** One SMMU instance (struct arm_smmu_device). */
/** io-pgtable's WARN_ON / WARN_ONCE lines reach the kernel log once per boot each, as WARN_ONCE does. */
const warnedOnce = new WeakMap<Kernel, Set<string>>()
function warnOnce(kernel: Kernel, msg: string): void {
  let seen = warnedOnce.get(kernel)
  if (seen === undefined) warnedOnce.set(kernel, (seen = new Set()))
  if (seen.has(msg)) return
  seen.add(msg)
  kernel.printk('warning', msg)
}

export class ArmSmmuDevice {
  readonly kernel: Kernel
  readonly dev: Device
  readonly base: number
  readonly version: 1 | 2
  readonly options: Required<ArmSmmuOptions>
  readonly features: Features = {
    coherentWalk: false, streamMatch: false, transS1: false, transS2: false, transNested: false, transOps: false,
    fmtAarch32L: false, fmtAarch32S: false, fmtAarch64_4K: false, exids: false, vmid16: false,
  }
  /** Size of the register window; after probe, NUMPAGE. */
  numpage = 0
  pgshift = 12
  streamidMask = 0
  smrMaskMask = 0
  numMappingGroups = 0
  smrs: Smr[] | null = null
  s2crs: S2cr[] = []
  numContextBanks = 0
  numS2ContextBanks = 0
  /** Which banks are in use (context_map). */
  contextMap: boolean[] = []
  /** The domain of each bank (cbs[n].cfg), or null. */
  cbs: (ArmSmmuDomain | null)[] = []
  vaSize = 0
  ipaSize = 0
  paSize = 0
  pgsizeBitmap = 0n
  numGlobalIrqs = 0
  numContextIrqs = 0
  /** Context interrupt numbers. */
  irqs: number[] = []
  globalIrqs: number[] = []
  /** atomic irptndx counter for v1 round-robin. */
  private irptndxCounter = 0
  readonly masters = new Map<Device, MasterCfg>()
  iommu!: IommuDevice
  readonly contextRatelimit: Ratelimit
  readonly globalRatelimit: Ratelimit
  /** The driver's static identity and blocked domains. */
  identityDomain!: IommuDomain
  blockedDomain!: IommuDomain

  constructor(kernel: Kernel, dev: Device, base: number, size: number, version: 1 | 2, options: Required<ArmSmmuOptions>) {
    this.kernel = kernel
    this.dev = dev
    this.base = base
    this.numpage = size
    this.version = version
    this.options = options
    this.contextRatelimit = new Ratelimit(kernel, 'arm_smmu_context_fault')
    this.globalRatelimit = new Ratelimit(kernel, 'arm_smmu_global_fault')
  }

  // ---- MMIO (arm_smmu_readl/writel and the page helpers) ----

  private page(n: number): number {
    return this.base + n * 2 ** this.pgshift
  }
  private cbPage(idx: number): number {
    return this.page(this.numpage + idx)
  }
  gr0Read(off: number): number {
    return this.kernel.sys.bus.readN(this.page(0) + off, 4) >>> 0
  }
  gr0Write(off: number, v: number): void {
    this.kernel.sys.bus.writeN(this.page(0) + off, 4, v >>> 0)
  }
  gr1Read(off: number): number {
    return this.kernel.sys.bus.readN(this.page(1) + off, 4) >>> 0
  }
  gr1Write(off: number, v: number): void {
    this.kernel.sys.bus.writeN(this.page(1) + off, 4, v >>> 0)
  }
  cbRead(idx: number, off: number): number {
    return this.kernel.sys.bus.readN(this.cbPage(idx) + off, 4) >>> 0
  }
  cbWrite(idx: number, off: number, v: number): void {
    this.kernel.sys.bus.writeN(this.cbPage(idx) + off, 4, v >>> 0)
  }
  cbReadq(idx: number, off: number): bigint {
    return this.kernel.sys.bus.read64(this.cbPage(idx) + off)
  }
  cbWriteq(idx: number, off: number, v: bigint): void {
    this.kernel.sys.bus.write64(this.cbPage(idx) + off, v)
  }

  notice(text: string): void {
    devPrintk(this.dev, 'notice', text)
  }

  /** atomic_inc_return(&smmu->irptndx). */
  nextIrptndx(): number {
    return ++this.irptndxCounter
  }

  // ---- stream map ----

  /** The S2CR a free stream-map entry gets (s2cr_init_val). */
  s2crInit(): S2cr {
    return { group: null, count: 0, type: this.options.disableBypass ? R.S2CR_TYPE_FAULT : R.S2CR_TYPE_BYPASS, privcfg: 0, cbndx: 0 }
  }

  /** arm_smmu_write_smr. */
  writeSmr(idx: number): void {
    const smr = this.smrs![idx]!
    let reg = R.fieldPrep(R.ARM_SMMU_SMR_ID, smr.id) | R.fieldPrep(R.ARM_SMMU_SMR_MASK, smr.mask)
    if (!this.features.exids && smr.valid) reg |= R.ARM_SMMU_SMR_VALID
    this.gr0Write(R.ARM_SMMU_GR0_SMR(idx), reg)
  }

  /** arm_smmu_write_s2cr. */
  writeS2cr(idx: number): void {
    const s = this.s2crs[idx]!
    const reg = R.fieldPrep(R.ARM_SMMU_S2CR_TYPE, s.type) | R.fieldPrep(R.ARM_SMMU_S2CR_CBNDX, s.cbndx) | R.fieldPrep(R.ARM_SMMU_S2CR_PRIVCFG, s.privcfg)
    this.gr0Write(R.ARM_SMMU_GR0_S2CR(idx), reg)
  }

  /** arm_smmu_write_sme: S2CR first, then the SMR. */
  writeSme(idx: number): void {
    this.writeS2cr(idx)
    if (this.smrs !== null) this.writeSmr(idx)
  }

  /**
   * arm_smmu_find_sme: an SMR that already covers (id, mask) is reused; a
   * partial overlap is -EINVAL; otherwise the first free one (-ENOSPC if
   * none). Stream indexing (no SMRs): the index is the ID.
   */
  findSme(id: number, mask: number): number {
    const smrs = this.smrs
    if (smrs === null) return id
    let free = -28
    for (let i = 0; i < this.numMappingGroups; i++) {
      const s = smrs[i]!
      if (!s.valid) {
        if (free < 0) free = i
        continue
      }
      if ((mask & s.mask) === mask && ((id ^ s.id) & ~s.mask) === 0) return i
      if (((id ^ s.id) & ~(s.mask | mask)) === 0) return -22
    }
    return free
  }

  /** arm_smmu_free_sme: true if the entry became free (and must be written back). */
  freeSme(idx: number): boolean {
    const s = this.s2crs[idx]!
    if (--s.count > 0) return false
    this.s2crs[idx] = this.s2crInit()
    if (this.smrs !== null) this.smrs[idx]!.valid = false
    return true
  }

  /** arm_smmu_master_install_s2crs. */
  installS2crs(cfg: MasterCfg, type: number, cbndx: number): void {
    for (const idx of cfg.smendx) {
      const s = this.s2crs[idx]!
      if (type === s.type && cbndx === s.cbndx) continue
      s.type = type
      s.privcfg = R.S2CR_PRIVCFG_DEFAULT
      s.cbndx = cbndx
      this.writeS2cr(idx)
    }
  }

  // ---- context banks ----

  /** arm_smmu_write_context_bank: programs bank `idx` from its domain (or disables it). */
  writeContextBank(idx: number): void {
    const d = this.cbs[idx] ?? null
    if (d === null) {
      this.cbWrite(idx, R.ARM_SMMU_CB_SCTLR, 0)
      return
    }
    const cfg = d.cfg
    const pg = d.pgtblCfg.arm_lpae_s1_cfg!
    // CBAR: stage-1 translation with stage-2 bypass, v1 interrupt index.
    let cbar = R.fieldPrep(R.ARM_SMMU_CBAR_TYPE, cfg.cbar)
    if (this.version < 2) cbar |= R.fieldPrep(R.ARM_SMMU_CBAR_IRPTNDX, cfg.irptndx)
    cbar |= R.fieldPrep(R.ARM_SMMU_CBAR_S1_BPSHCFG, R.ARM_SMMU_CBAR_S1_BPSHCFG_NSH) | R.fieldPrep(R.ARM_SMMU_CBAR_S1_MEMATTR, R.ARM_SMMU_CBAR_S1_MEMATTR_WB)
    if (this.version === 2) this.gr1Write(R.ARM_SMMU_GR1_CBA2R(idx), 0) // AArch32 context: VA64 = 0
    this.gr1Write(R.ARM_SMMU_GR1_CBAR(idx), cbar >>> 0)
    // TCR before the TTBRs (arm_smmu_lpae_tcr + EAE for an AArch32 context).
    const t = pg.tcr
    const tcr = R.ARM_SMMU_TCR_EPD1 | R.fieldPrep(R.ARM_SMMU_TCR_TG0, t.tg) | R.fieldPrep(R.ARM_SMMU_TCR_SH0, t.sh) |
      R.fieldPrep(R.ARM_SMMU_TCR_ORGN0, t.orgn) | R.fieldPrep(R.ARM_SMMU_TCR_IRGN0, t.irgn) | R.fieldPrep(R.ARM_SMMU_TCR_T0SZ, t.tsz) |
      R.ARM_SMMU_TCR_EAE
    this.cbWrite(idx, R.ARM_SMMU_CB_TCR, tcr >>> 0)
    const asid = BigInt(cfg.asid) << R.ARM_SMMU_TTBRn_ASID_SHIFT
    this.cbWriteq(idx, R.ARM_SMMU_CB_TTBR0, pg.ttbr | asid)
    this.cbWriteq(idx, R.ARM_SMMU_CB_TTBR1, asid)
    this.cbWrite(idx, R.ARM_SMMU_CB_S1_MAIR0, Number(pg.mair & 0xffff_ffffn))
    this.cbWrite(idx, R.ARM_SMMU_CB_S1_MAIR1, Number(pg.mair >> 32n))
    const sctlr = R.ARM_SMMU_SCTLR_CFIE | R.ARM_SMMU_SCTLR_CFRE | R.ARM_SMMU_SCTLR_AFE | R.ARM_SMMU_SCTLR_TRE | R.ARM_SMMU_SCTLR_M |
      R.ARM_SMMU_SCTLR_S1_ASIDPNE
    this.cbWrite(idx, R.ARM_SMMU_CB_SCTLR, sctlr)
  }

  // ---- TLB maintenance ----

  /** __arm_smmu_tlb_sync: write the sync register, poll the status until not active. */
  private tlbSync(write: () => void, status: () => number): void {
    write()
    for (let spin = 0; spin < 1000; spin++) {
      if ((status() & R.ARM_SMMU_sTLBGSTATUS_GSACTIVE) === 0) return
    }
    if (this.contextRatelimit.ok()) devErr(this.dev, 'TLB sync timed out -- SMMU may be deadlocked')
  }

  /** arm_smmu_tlb_sync_global. */
  tlbSyncGlobal(): void {
    this.tlbSync(() => this.gr0Write(R.ARM_SMMU_GR0_sTLBGSYNC, R.QCOM_DUMMY_VAL), () => this.gr0Read(R.ARM_SMMU_GR0_sTLBGSTATUS))
  }

  /** arm_smmu_tlb_sync_context. */
  tlbSyncContext(idx: number): void {
    this.tlbSync(() => this.cbWrite(idx, R.ARM_SMMU_CB_TLBSYNC, R.QCOM_DUMMY_VAL), () => this.cbRead(idx, R.ARM_SMMU_CB_TLBSTATUS))
  }
}

/** Per-domain context configuration (struct arm_smmu_cfg). */
interface CbCfg {
  cbndx: number
  irptndx: number
  asid: number
  cbar: number
}

/** A paging domain of the arm-smmu driver (struct arm_smmu_domain). */
export class ArmSmmuDomain extends IommuDomain {
  readonly smmu: ArmSmmuDevice
  readonly cfg: CbCfg
  readonly pgtblCfg: IoPgtableCfg
  pgtblOps: IoPgtableOps | null = null
  /** The context IRQ was requested (not ARM_SMMU_INVALID_IRPTNDX). */
  irqRequested = false

  constructor(type: 'DMA' | 'UNMANAGED', smmu: ArmSmmuDevice, owner: IommuOps, ops: IommuDomainDrvOps, cfg: CbCfg, pgtblCfg: IoPgtableCfg) {
    super(type, owner, ops)
    this.kernel = smmu.kernel
    this.smmu = smmu
    this.cfg = cfg
    this.pgtblCfg = pgtblCfg
  }
}

/** The driver's state per kernel: one entry per probed SMMU. */
const smmusOf = new WeakMap<Kernel, ArmSmmuDevice[]>()

/** The SMMUs the driver has probed in `kernel`, in probe order. */
export function armSmmuDevices(kernel: Kernel): readonly ArmSmmuDevice[] {
  return smmusOf.get(kernel) ?? []
}

function masterCfg(dev: Device): MasterCfg | undefined {
  for (const s of armSmmuDevicesFor(dev)) {
    const c = s.masters.get(dev)
    if (c !== undefined) return c
  }
  return undefined
}

function armSmmuDevicesFor(dev: Device): readonly ArmSmmuDevice[] {
  return armSmmuDevices(dev.bus.core.kernel)
}

// ---------------------------------------------------------------------------
// Domain operations (arm_smmu_domain_ops)

function s1TlbOps(smmu: ArmSmmuDevice, d: () => ArmSmmuDomain): IoPgtableCfg['tlb'] {
  // arm_smmu_tlb_inv_range_s1 for an AArch32 context: one 32-bit write per granule, VA[31:12] | ASID.
  const invRange = (iova: number, size: number, granule: number, reg: number): void => {
    const cfg = d().cfg
    let va = Math.floor(iova / 4096) * 4096
    for (let left = size; left > 0; left -= granule, va += granule) smmu.cbWrite(cfg.cbndx, reg, ((va % 2 ** 32) + cfg.asid) >>> 0)
  }
  return {
    tlbFlushAll: () => {
      const cfg = d().cfg
      smmu.cbWrite(cfg.cbndx, R.ARM_SMMU_CB_S1_TLBIASID, cfg.asid)
      smmu.tlbSyncContext(cfg.cbndx)
    },
    tlbFlushWalk: (iova, size, granule) => {
      if (!smmu.options.skipTlbInvalidateOnUnmap) invRange(iova, size, granule, R.ARM_SMMU_CB_S1_TLBIVA)
      smmu.tlbSyncContext(d().cfg.cbndx)
    },
    tlbAddPage: (iova, granule) => {
      if (!smmu.options.skipTlbInvalidateOnUnmap) invRange(iova, granule, granule, R.ARM_SMMU_CB_S1_TLBIVAL)
    },
  }
}

const domainOps: IommuDomainDrvOps = {
  attachDev: (domain, dev) => armSmmuAttachDev(domain as ArmSmmuDomain, dev),
  mapPages: (domain, iova, paddr, pgsize, pgcount, prot, mapped) => {
    const ops = (domain as ArmSmmuDomain).pgtblOps
    if (ops === null) return kerr('ENODEV')
    mapped.bytes = ops.mapPages(iova, paddr, pgsize, pgcount, prot)
  },
  unmapPages: (domain, iova, pgsize, pgcount) => {
    const ops = (domain as ArmSmmuDomain).pgtblOps
    if (ops === null) return 0
    return ops.unmapPages(iova, pgsize, pgcount)
  },
  iotlbSync: domain => {
    const d = domain as ArmSmmuDomain
    // arm_smmu_iotlb_sync: per-context sync for stage 1 (or any v2), else global.
    d.smmu.tlbSyncContext(d.cfg.cbndx)
  },
  flushIotlbAll: domain => {
    const d = domain as ArmSmmuDomain
    d.pgtblCfg.tlb.tlbFlushAll()
  },
  iovaToPhys: (domain, iova) => armSmmuIovaToPhys(domain as ArmSmmuDomain, iova),
  free: domain => armSmmuDestroyDomainContext(domain as ArmSmmuDomain),
}

/** arm_smmu_attach_dev: S2CR TRANS to the domain's bank for each of the master's entries. */
function armSmmuAttachDev(d: ArmSmmuDomain, dev: Device): void {
  const cfg = masterCfg(dev)
  if (cfg === undefined) {
    devErr(dev, 'cannot attach to SMMU, is it on the same bus?')
    return kerr('ENXIO')
  }
  if (d.smmu !== cfg.smmu) return kerr('EINVAL')
  cfg.smmu.installS2crs(cfg, R.S2CR_TYPE_TRANS, d.cfg.cbndx)
}

/**
 * arm_smmu_init_domain_context for a stage-1 AArch32-LPAE domain: a free
 * bank from num_s2_context_banks up (ENOSPC if none), ASID = bank,
 * interrupt index round-robin (v1) or the bank (v2), io-pgtable tables,
 * the bank programmed, and the context IRQ requested.
 */
function armSmmuInitDomainContext(smmu: ArmSmmuDevice, ops: IommuOps, type: 'DMA' | 'UNMANAGED'): ArmSmmuDomain {
  if (!smmu.features.transS1 || !smmu.features.fmtAarch32L) return kerr('EINVAL')
  const start = smmu.numS2ContextBanks
  let cbndx = -1
  for (let i = start; i < smmu.numContextBanks; i++) {
    if (!smmu.contextMap[i]) {
      cbndx = i
      break
    }
  }
  if (cbndx < 0) return kerr('ENOSPC')
  const irptndx = smmu.version < 2 ? smmu.nextIrptndx() % smmu.numContextIrqs : cbndx
  const cfg: CbCfg = { cbndx, irptndx, asid: cbndx, cbar: R.CBAR_TYPE_S1_TRANS_S2_BYPASS }
  const ias = Math.min(smmu.vaSize, 32)
  const oas = Math.min(smmu.ipaSize, 40)
  let domain: ArmSmmuDomain | undefined
  const pgtblCfg: IoPgtableCfg = {
    pgsizeBitmap: smmu.pgsizeBitmap, ias, oas, coherentWalk: smmu.features.coherentWalk,
    tlb: s1TlbOps(smmu, () => domain!),
    // Partial unmaps of a block are split in both profiles (Linux 4.0–6.12; ≥ 6.13 refuses them,
    // docs/decisions/0800). VFIO never asks for one: type1 unmaps whole mappings or fails first.
    blockUnmap: 'split',
    warn: msg => warnOnce(smmu.kernel, msg),
  }
  smmu.contextMap[cbndx] = true
  let pgtbl: IoPgtableOps
  try {
    pgtbl = allocIoPgtableOps('ARM_32_LPAE_S1', pgtblCfg, pageTableMemory(smmu.kernel))
  } catch {
    smmu.contextMap[cbndx] = false
    return kerr('ENOMEM')
  }
  domain = new ArmSmmuDomain(type, smmu, ops, domainOps, cfg, pgtblCfg)
  domain.pgsizeBitmap = pgtblCfg.pgsizeBitmap
  domain.geometry.apertureStart = 0
  domain.geometry.apertureEnd = 2 ** ias - 1
  domain.geometry.forceAperture = true
  smmu.cbs[cbndx] = domain
  smmu.writeContextBank(cbndx)
  const irq = smmu.irqs[irptndx]!
  const d = domain
  try {
    smmu.kernel.irq.request(irq, () => armSmmuContextFault(d), IRQF.SHARED, 'arm-smmu-context-fault', d)
    d.irqRequested = true
  } catch {
    devErr(smmu.dev, `failed to request context IRQ ${irptndx} (${irq})`)
  }
  d.pgtblOps = pgtbl
  return d
}

/** arm_smmu_destroy_domain_context: bank disabled, IRQ freed, tables freed (TLBIASID + sync), bank released. */
function armSmmuDestroyDomainContext(d: ArmSmmuDomain): void {
  const smmu = d.smmu
  const idx = d.cfg.cbndx
  smmu.cbs[idx] = null
  smmu.writeContextBank(idx)
  if (d.irqRequested) smmu.kernel.irq.free(smmu.irqs[d.cfg.irptndx]!, d)
  d.irqRequested = false
  if (d.pgtblOps !== null) freeIoPgtableOps(d.pgtblOps)
  d.pgtblOps = null
  smmu.contextMap[idx] = false
}

/** arm_smmu_iova_to_phys: ATS1PR + PAR when the SMMU has translation operations, else io-pgtable's walk. */
function armSmmuIovaToPhys(d: ArmSmmuDomain, iova: number): number {
  const ops = d.pgtblOps
  if (ops === null) return 0
  const smmu = d.smmu
  // Outside the input range nothing is mapped (ATS1PR takes only VA[31:0] of an AArch32 context).
  if (!Number.isSafeInteger(iova) || iova < 0 || iova > d.geometry.apertureEnd) return 0
  if (!smmu.features.transOps || smmu.options.softwareIovaToPhys) return ops.iovaToPhys(iova)
  // arm_smmu_iova_to_phys_hard
  const idx = d.cfg.cbndx
  const va = iova - (iova % 4096)
  smmu.cbWrite(idx, R.ARM_SMMU_CB_ATS1PR, va % 2 ** 32)
  let done = false
  for (let i = 0; i < 10; i++) {
    if ((smmu.cbRead(idx, R.ARM_SMMU_CB_ATSR) & R.ARM_SMMU_CB_ATSR_ACTIVE) === 0) {
      done = true
      break
    }
  }
  if (!done) {
    devErr(smmu.dev, `iova to phys timed out on 0x${iova.toString(16).padStart(16, '0')}. Falling back to software table walk.`)
    return ops.iovaToPhys(iova)
  }
  const phys = smmu.cbReadq(idx, R.ARM_SMMU_CB_PAR)
  if ((phys & R.ARM_SMMU_CB_PAR_F) !== 0n) {
    devErr(smmu.dev, 'translation fault!')
    devErr(smmu.dev, `PAR = 0x${phys.toString(16)}`)
    return 0
  }
  return Number(phys & 0xff_ffff_f000n) + (iova % 4096)
}

// ---------------------------------------------------------------------------
// Fault handlers

const flag = (v: number, bit: number, text: string): string => ((v & bit) !== 0 ? text : '')

/** The two decoded lines of arm_smmu_print_context_fault_info (Linux ≥ 6.11), in its order of bits. */
export function decodedFaultLines(fsr: number, fsynr: number, cbfrsynra: number): [string, string] {
  const format = (fsr >>> R.ARM_SMMU_CB_FSR_FORMAT_SHIFT) & R.ARM_SMMU_CB_FSR_FORMAT_MASK
  const fsrText = flag(fsr, R.ARM_SMMU_CB_FSR_MULTI, 'MULTI ') + flag(fsr, R.ARM_SMMU_CB_FSR_SS, 'SS ') + `Format=${format}` +
    flag(fsr, R.ARM_SMMU_CB_FSR_UUT, ' UUT') + flag(fsr, R.ARM_SMMU_CB_FSR_ASF, ' ASF') + flag(fsr, R.ARM_SMMU_CB_FSR_TLBLKF, ' TLBLKF') +
    flag(fsr, R.ARM_SMMU_CB_FSR_TLBMCF, ' TLBMCF') + flag(fsr, R.ARM_SMMU_CB_FSR_EF, ' EF') + flag(fsr, R.ARM_SMMU_CB_FSR_PF, ' PF') +
    flag(fsr, R.ARM_SMMU_CB_FSR_AFF, ' AFF') + flag(fsr, R.ARM_SMMU_CB_FSR_TF, ' TF')
  const fsynrText = `S1CBNDX=${(fsynr >>> R.ARM_SMMU_FSYNR0_S1CBNDX_SHIFT) & 0xff}` + flag(fsynr, R.ARM_SMMU_FSYNR0_AFR, ' AFR') +
    flag(fsynr, R.ARM_SMMU_FSYNR0_PTWF, ' PTWF') + flag(fsynr, R.ARM_SMMU_FSYNR0_NSATTR, ' NSATTR') + flag(fsynr, R.ARM_SMMU_FSYNR0_IND, ' IND') +
    flag(fsynr, R.ARM_SMMU_FSYNR0_PNU, ' PNU') + flag(fsynr, R.ARM_SMMU_FSYNR0_WNR, ' WNR') + ` PLVL=${fsynr & R.ARM_SMMU_FSYNR0_PLVL_MASK}`
  return [`FSR    = ${hex8(fsr)} [${fsrText}], SID=0x${cbfrsynra.toString(16)}`, `FSYNR0 = ${hex8(fsynr)} [${fsynrText}]`]
}

/** arm_smmu_context_fault. */
function armSmmuContextFault(d: ArmSmmuDomain): IrqReturn {
  const smmu = d.smmu
  const idx = d.cfg.cbndx
  const fsr = smmu.cbRead(idx, R.ARM_SMMU_CB_FSR)
  if ((fsr & R.ARM_SMMU_CB_FSR_FAULT) === 0) return IrqReturn.NONE
  const fsynr = smmu.cbRead(idx, R.ARM_SMMU_CB_FSYNR0)
  const iova = smmu.cbReadq(idx, R.ARM_SMMU_CB_FAR)
  const cbfrsynra = smmu.gr1Read(R.ARM_SMMU_GR1_CBFRSYNRA(idx))
  const handled = reportIommuFault(d, Number(iova), (fsynr & R.ARM_SMMU_FSYNR0_WNR) !== 0 ? 'write' : 'read')
  if (!handled && smmu.contextRatelimit.ok()) {
    devErr(smmu.dev, `Unhandled context fault: fsr=0x${fsr.toString(16)}, iova=0x${iova.toString(16).padStart(8, '0')}, fsynr=0x${fsynr.toString(16)}, cbfrsynra=0x${cbfrsynra.toString(16)}, cb=${idx}`)
    // Since 6.11 (arm_smmu_print_context_fault_info) the registers follow, decoded.
    if (smmu.kernel.profile === 'upstream') for (const line of decodedFaultLines(fsr, fsynr, cbfrsynra)) devErr(smmu.dev, line)
  }
  smmu.cbWrite(idx, R.ARM_SMMU_CB_FSR, fsr)
  return IrqReturn.HANDLED
}

/** arm_smmu_global_fault. */
function armSmmuGlobalFault(smmu: ArmSmmuDevice): IrqReturn {
  const gfsr = smmu.gr0Read(R.ARM_SMMU_GR0_sGFSR)
  const gfsynr0 = smmu.gr0Read(R.ARM_SMMU_GR0_sGFSYNR0)
  const gfsynr1 = smmu.gr0Read(R.ARM_SMMU_GR0_sGFSYNR1)
  const gfsynr2 = smmu.gr0Read(R.ARM_SMMU_GR0_sGFSYNR2)
  if (gfsr === 0) return IrqReturn.NONE
  if (smmu.globalRatelimit.ok()) {
    if (smmu.kernel.profile === 'upstream' && smmu.options.disableBypass && (gfsr & R.ARM_SMMU_sGFSR_USF) !== 0) {
      devErr(smmu.dev, `Blocked unknown Stream ID 0x${(gfsynr1 & 0xffff).toString(16)}; boot with "arm-smmu.disable_bypass=0" to allow, but this may have security implications`)
    } else {
      devErr(smmu.dev, 'Unexpected global fault, this could be serious')
    }
    devErr(smmu.dev, `\tGFSR 0x${hex8(gfsr)}, GFSYNR0 0x${hex8(gfsynr0)}, GFSYNR1 0x${hex8(gfsynr1)}, GFSYNR2 0x${hex8(gfsynr2)}`)
  }
  smmu.gr0Write(R.ARM_SMMU_GR0_sGFSR, gfsr)
  return IrqReturn.HANDLED
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0')
}

// ---------------------------------------------------------------------------
// Probe

/** arm_smmu_device_cfg_probe: reads the ID registers. Returns 0 or -ENODEV. */
function armSmmuDeviceCfgProbe(smmu: ArmSmmuDevice): number {
  const f = smmu.features
  smmu.notice('probing hardware configuration...')
  smmu.notice(`SMMUv${smmu.version} with:`)
  let id = smmu.gr0Read(R.ARM_SMMU_GR0_ID0)
  if (id & R.ARM_SMMU_ID0_S1TS) {
    f.transS1 = true
    smmu.notice('\tstage 1 translation')
  }
  if (id & R.ARM_SMMU_ID0_S2TS) {
    f.transS2 = true
    smmu.notice('\tstage 2 translation')
  }
  if (id & R.ARM_SMMU_ID0_NTS) {
    f.transNested = true
    smmu.notice('\tnested translation')
  }
  if (!f.transS1 && !f.transS2) {
    devErr(smmu.dev, '\tno translation support!')
    return -E.ENODEV
  }
  // Hardware ATOS: stage 1 and not "ATOS not supported" (decision 0822: ATOSNS honoured on v1 too).
  if ((id & R.ARM_SMMU_ID0_S1TS) && (id & R.ARM_SMMU_ID0_ATOSNS) === 0) {
    f.transOps = true
    smmu.notice('\taddress translation ops')
  }
  // The firmware's dma-coherent overrides IDR0.CTTW.
  const cttwFw = f.coherentWalk
  const cttwReg = (id & R.ARM_SMMU_ID0_CTTW) !== 0
  if (cttwFw || cttwReg) smmu.notice(`\t${cttwFw ? '' : 'non-'}coherent table walk`)
  if (cttwFw !== cttwReg) smmu.notice('\t(IDR0.CTTW overridden by FW configuration)')
  let size: number
  if (smmu.version === 2 && (id & R.ARM_SMMU_ID0_EXIDS)) {
    f.exids = true
    size = 1 << 16
  } else {
    size = 2 ** R.fieldGet(R.ARM_SMMU_ID0_NUMSIDB, id)
  }
  smmu.streamidMask = size - 1
  if (id & R.ARM_SMMU_ID0_SMS) {
    f.streamMatch = true
    size = R.fieldGet(R.ARM_SMMU_ID0_NUMSMRG, id)
    if (size === 0) {
      devErr(smmu.dev, 'stream-matching supported, but no SMRs present!')
      return -E.ENODEV
    }
    smmu.smrs = Array.from({ length: size }, () => ({ id: 0, mask: 0, valid: false }))
    smmu.notice(`\tstream matching with ${size} register groups`)
  }
  smmu.numMappingGroups = size
  smmu.s2crs = Array.from({ length: size }, () => smmu.s2crInit())
  if (smmu.version < 2 || (id & R.ARM_SMMU_ID0_PTFS_NO_AARCH32) === 0) {
    f.fmtAarch32L = true
    if ((id & R.ARM_SMMU_ID0_PTFS_NO_AARCH32S) === 0) f.fmtAarch32S = true
  }
  // ID1
  id = smmu.gr0Read(R.ARM_SMMU_GR0_ID1)
  smmu.pgshift = (id & R.ARM_SMMU_ID1_PAGESIZE) !== 0 ? 16 : 12
  size = 1 << (R.fieldGet(R.ARM_SMMU_ID1_NUMPAGENDXB, id) + 1)
  if (smmu.numpage !== 2 * size * 2 ** smmu.pgshift) {
    devWarn(smmu.dev, `SMMU address space size (0x${(2 * size * 2 ** smmu.pgshift).toString(16)}) differs from mapped region size (0x${smmu.numpage.toString(16)})!`)
  }
  smmu.numpage = size
  smmu.numS2ContextBanks = R.fieldGet(R.ARM_SMMU_ID1_NUMS2CB, id)
  smmu.numContextBanks = R.fieldGet(R.ARM_SMMU_ID1_NUMCB, id)
  if (smmu.numS2ContextBanks > smmu.numContextBanks) {
    devErr(smmu.dev, 'impossible number of S2 context banks!')
    return -E.ENODEV
  }
  smmu.notice(`\t${smmu.numContextBanks} context banks (${smmu.numS2ContextBanks} stage-2 only)`)
  smmu.contextMap = new Array<boolean>(smmu.numContextBanks).fill(false)
  smmu.cbs = new Array<ArmSmmuDomain | null>(smmu.numContextBanks).fill(null)
  // ID2
  id = smmu.gr0Read(R.ARM_SMMU_GR0_ID2)
  smmu.ipaSize = R.armSmmuIdSizeToBits(R.fieldGet(R.ARM_SMMU_ID2_IAS, id))
  smmu.paSize = R.armSmmuIdSizeToBits(R.fieldGet(R.ARM_SMMU_ID2_OAS, id))
  if (id & R.ARM_SMMU_ID2_VMID16) f.vmid16 = true
  if (smmu.version < 2) {
    smmu.vaSize = smmu.ipaSize
  } else {
    smmu.vaSize = R.armSmmuIdSizeToBits(R.fieldGet(R.ARM_SMMU_ID2_UBS, id))
    if (id & R.ARM_SMMU_ID2_PTFS_4K) f.fmtAarch64_4K = true
  }
  if (f.fmtAarch32S) smmu.pgsizeBitmap |= 0x1000n | 0x10000n | 0x100000n | 0x1000000n
  if (f.fmtAarch32L || f.fmtAarch64_4K) smmu.pgsizeBitmap |= 0x1000n | 0x200000n | 0x40000000n
  smmu.notice(`\tSupported page sizes: 0x${smmu.pgsizeBitmap.toString(16).padStart(8, '0')}`)
  if (f.transS1) smmu.notice(`\tStage-1: ${smmu.vaSize}-bit VA -> ${smmu.ipaSize}-bit IPA`)
  if (f.transS2) smmu.notice(`\tStage-2: ${smmu.ipaSize}-bit IPA -> ${smmu.paSize}-bit PA`)
  return 0
}

/** arm_smmu_device_reset. */
function armSmmuDeviceReset(smmu: ArmSmmuDevice): void {
  // Clear the global FSR.
  smmu.gr0Write(R.ARM_SMMU_GR0_sGFSR, smmu.gr0Read(R.ARM_SMMU_GR0_sGFSR))
  // Every stream-map entry: SMR invalid, S2CR bypass or fault.
  for (let i = 0; i < smmu.numMappingGroups; i++) smmu.writeSme(i)
  // Every bank disabled, its FSR cleared.
  for (let i = 0; i < smmu.numContextBanks; i++) {
    smmu.writeContextBank(i)
    smmu.cbWrite(i, R.ARM_SMMU_CB_FSR, R.ARM_SMMU_CB_FSR_FAULT)
  }
  smmu.gr0Write(R.ARM_SMMU_GR0_TLBIALLH, R.QCOM_DUMMY_VAL)
  smmu.gr0Write(R.ARM_SMMU_GR0_TLBIALLNSNH, R.QCOM_DUMMY_VAL)
  let reg = smmu.gr0Read(R.ARM_SMMU_GR0_sCR0)
  reg |= R.ARM_SMMU_sCR0_GFRE | R.ARM_SMMU_sCR0_GFIE | R.ARM_SMMU_sCR0_GCFGFRE | R.ARM_SMMU_sCR0_GCFGFIE
  reg |= R.ARM_SMMU_sCR0_VMIDPNE | R.ARM_SMMU_sCR0_PTM
  reg &= ~R.ARM_SMMU_sCR0_CLIENTPD
  if (smmu.options.disableBypass) reg |= R.ARM_SMMU_sCR0_USFCFG
  else reg &= ~R.ARM_SMMU_sCR0_USFCFG
  reg &= ~R.ARM_SMMU_sCR0_FB
  reg &= ~R.fieldPrep(R.ARM_SMMU_sCR0_BSU, 3)
  if (smmu.features.vmid16) reg |= R.ARM_SMMU_sCR0_VMID16EN
  if (smmu.features.exids) reg |= R.ARM_SMMU_sCR0_EXIDENABLE
  smmu.tlbSyncGlobal()
  smmu.gr0Write(R.ARM_SMMU_GR0_sCR0, reg >>> 0)
}

/** arm_smmu_test_smr_masks: which SMR ID and MASK bits exist, probed on a free SMR. */
function armSmmuTestSmrMasks(smmu: ArmSmmuDevice): void {
  if (smmu.smrs === null) return
  const i = smmu.smrs.findIndex(s => !s.valid)
  if (i < 0) return
  smmu.gr0Write(R.ARM_SMMU_GR0_SMR(i), R.fieldPrep(R.ARM_SMMU_SMR_ID, smmu.streamidMask))
  smmu.streamidMask = R.fieldGet(R.ARM_SMMU_SMR_ID, smmu.gr0Read(R.ARM_SMMU_GR0_SMR(i)))
  smmu.gr0Write(R.ARM_SMMU_GR0_SMR(i), R.fieldPrep(R.ARM_SMMU_SMR_MASK, smmu.streamidMask))
  smmu.smrMaskMask = R.fieldGet(R.ARM_SMMU_SMR_MASK, smmu.gr0Read(R.ARM_SMMU_GR0_SMR(i)))
}

/** The iommu_ops of one SMMU. */
function armSmmuOps(smmu: ArmSmmuDevice): IommuOps {
  const ops: IommuOps = {
    pgsizeBitmap: smmu.pgsizeBitmap,
    ofXlate: (_dev, args) => {
      // arm_smmu_of_xlate: SMR ID from args[0], MASK from args[1] or "stream-match-mask".
      let fwid = 0
      if (args.length > 0) fwid |= R.fieldPrep(R.ARM_SMMU_SMR_ID, args[0]!)
      if (args.length > 1) fwid |= R.fieldPrep(R.ARM_SMMU_SMR_MASK, args[1]!)
      else {
        const m = smmu.dev.ofNode !== undefined ? ofPropertyReadU32(smmu.dev.ofNode, 'stream-match-mask') : undefined
        if (m !== undefined) fwid |= R.fieldPrep(R.ARM_SMMU_SMR_MASK, m)
      }
      return fwid >>> 0
    },
    probeDevice: (dev, fwspec) => armSmmuProbeDevice(smmu, dev, fwspec),
    releaseDevice: dev => armSmmuReleaseDevice(smmu, dev),
    deviceGroup: dev => armSmmuDeviceGroup(smmu, dev),
    capable: (_dev, cap) => armSmmuCapable(smmu, cap),
    domainAllocPaging: (_dev, type) => armSmmuInitDomainContext(smmu, ops, type),
    getResvRegions: () => armSmmuGetResvRegions(),
  }
  // The static identity (bypass) and blocked (fault) domains: attach writes S2CR only.
  smmu.identityDomain = new IommuDomain('IDENTITY', ops, { attachDev: (_d, dev) => attachDevType(smmu, dev, R.S2CR_TYPE_BYPASS) })
  smmu.blockedDomain = new IommuDomain('BLOCKED', ops, { attachDev: (_d, dev) => attachDevType(smmu, dev, R.S2CR_TYPE_FAULT) })
  ops.identityDomain = smmu.identityDomain
  ops.blockedDomain = smmu.blockedDomain
  return ops
}

/** arm_smmu_attach_dev_type: identity → S2CR BYPASS, blocked → S2CR FAULT. */
function attachDevType(smmu: ArmSmmuDevice, dev: Device, type: number): void {
  const cfg = smmu.masters.get(dev)
  if (cfg === undefined) return kerr('ENODEV')
  smmu.installS2crs(cfg, type, 0)
}

/** arm_smmu_capable (per profile: decision 0820). */
function armSmmuCapable(smmu: ArmSmmuDevice, cap: IommuCap): boolean {
  switch (cap) {
    case 'CACHE_COHERENCY':
      // A coherent table walker implies coherent TBUs.
      return smmu.features.coherentWalk
    case 'NOEXEC':
      return smmu.kernel.profile === 'upstream'
    case 'DMA_EXEC':
      return smmu.kernel.profile === 'rfc-v5'
    default:
      return false
  }
}

/** arm_smmu_get_resv_regions: the software MSI window. */
function armSmmuGetResvRegions(): IommuResvRegion[] {
  return [{ start: MSI_IOVA_BASE, length: MSI_IOVA_LENGTH, prot: IOMMU_PROT_WRITE | IOMMU_PROT_NOEXEC | IOMMU_PROT_MMIO, type: 'sw-msi' }]
}

/** arm_smmu_probe_device + arm_smmu_master_alloc_smes. */
function armSmmuProbeDevice(smmu: ArmSmmuDevice, dev: Device, fwspec: IommuFwspec): void {
  for (const fwid of fwspec.ids) {
    const sid = R.fieldGet(R.ARM_SMMU_SMR_ID, fwid)
    const mask = R.fieldGet(R.ARM_SMMU_SMR_MASK, fwid)
    if ((sid & ~smmu.streamidMask) !== 0) {
      devErr(dev, `stream ID 0x${sid.toString(16)} out of range for SMMU (0x${smmu.streamidMask.toString(16)})`)
      return kerr('EINVAL')
    }
    if ((mask & ~smmu.smrMaskMask) !== 0) {
      devErr(dev, `SMR mask 0x${mask.toString(16)} out of range for SMMU (0x${smmu.smrMaskMask.toString(16)})`)
      return kerr('EINVAL')
    }
  }
  const cfg: MasterCfg = { smmu, smendx: [] }
  // arm_smmu_master_alloc_smes: claim an entry per ID (all or nothing).
  for (const fwid of fwspec.ids) {
    const sid = R.fieldGet(R.ARM_SMMU_SMR_ID, fwid)
    const mask = R.fieldGet(R.ARM_SMMU_SMR_MASK, fwid)
    const idx = smmu.findSme(sid, mask)
    if (idx < 0) {
      for (const i of cfg.smendx) smmu.freeSme(i)
      return kerr(idx === -28 ? 'ENOSPC' : 'EINVAL')
    }
    if (smmu.smrs !== null && smmu.s2crs[idx]!.count === 0) smmu.smrs[idx] = { id: sid, mask, valid: true }
    smmu.s2crs[idx]!.count++
    cfg.smendx.push(idx)
  }
  // It worked: poke the hardware.
  for (const idx of cfg.smendx) smmu.writeSme(idx)
  smmu.masters.set(dev, cfg)
}

/** arm_smmu_release_device → arm_smmu_master_free_smes. */
function armSmmuReleaseDevice(smmu: ArmSmmuDevice, dev: Device): void {
  const cfg = smmu.masters.get(dev)
  if (cfg === undefined) return
  for (const idx of cfg.smendx) if (smmu.freeSme(idx)) smmu.writeSme(idx)
  smmu.masters.delete(dev)
}

/**
 * arm_smmu_device_group: a group already holding one of the master's
 * stream-map entries is reused (two different ones: EINVAL); otherwise a
 * new group (generic_device_group), remembered in the entries.
 */
function armSmmuDeviceGroup(smmu: ArmSmmuDevice, dev: Device): IommuGroup {
  const cfg = smmu.masters.get(dev)
  if (cfg === undefined) return kerr('ENODEV')
  let group: IommuGroup | null = null
  for (const idx of cfg.smendx) {
    const g = smmu.s2crs[idx]!.group
    if (group !== null && g !== null && g !== group) return kerr('EINVAL')
    group = g ?? group
  }
  if (group !== null && smmu.kernel.sysfs.lookup(group.kobjPath) !== undefined && group.devices.length > 0) return group
  const g = iommuGroupAlloc(smmu.kernel)
  for (const idx of cfg.smendx) smmu.s2crs[idx]!.group = g
  return g
}

/** Options for {@link armSmmuInit} (module parameters). */
export type ArmSmmuDriverOptions = ArmSmmuOptions

/** The platform driver `arm-smmu` (matches arm,mmu-400 and arm,smmu-v1/v2). */
export function armSmmuDriver(kernel: Kernel, opts: ArmSmmuOptions = {}): DeviceDriver {
  const params = armSmmuParams(kernel, opts)
  return {
    name: 'arm-smmu',
    bus: 'platform',
    ofMatchTable: ['arm,smmu-v1', 'arm,smmu-v2', 'arm,mmu-400', 'arm,mmu-401', 'arm,mmu-500'],
    // As Linux: no bind/unbind files (an SMMU cannot be unbound under its masters).
    suppressBindAttrs: true,
    probe: dev => armSmmuDeviceProbe(kernel, dev, params),
    remove: dev => armSmmuDeviceRemove(kernel, dev),
  }
}

const paramsOf = new WeakMap<Kernel, Required<ArmSmmuOptions>>()

/**
 * The driver's module parameters in `kernel` (shared by every SMMU it
 * probes). Changing `skipTlbInvalidateOnUnmap` takes effect at the next
 * unmap; `disableBypass` only at the next probe (as a 0444 parameter).
 */
export function armSmmuParams(kernel: Kernel, opts: ArmSmmuOptions = {}): Required<ArmSmmuOptions> {
  let p = paramsOf.get(kernel)
  if (p === undefined) {
    p = {
      disableBypass: opts.disableBypass ?? kernel.profile === 'upstream',
      skipTlbInvalidateOnUnmap: opts.skipTlbInvalidateOnUnmap ?? false,
      softwareIovaToPhys: opts.softwareIovaToPhys ?? false,
    }
    paramsOf.set(kernel, p)
  }
  return p
}

/**
 * module_platform_driver(arm_smmu_driver): registers the driver (devices
 * already present probe at once) and creates /sys/module/arm_smmu/parameters:
 * `disable_bypass` (Y/N) and `force_stage` (0), 0444, upstream only (3.1x had
 * neither), and the teaching knob `vfio_sim_skip_tlb_invalidate` (0644, not
 * Linux: "1"/"Y" makes unmap skip the TLB invalidation). Returns 0 or -errno.
 */
export function armSmmuInit(kernel: Kernel, opts: ArmSmmuOptions = {}): number {
  const params = armSmmuParams(kernel, opts)
  const dir = 'module/arm_smmu/parameters'
  if (kernel.sysfs.lookup(dir) === undefined) {
    if (kernel.profile === 'upstream') {
      kernel.sysfs.addFile(`${dir}/disable_bypass`, { mode: 0o444, show: () => (params.disableBypass ? 'Y\n' : 'N\n') })
      kernel.sysfs.addFile(`${dir}/force_stage`, { mode: 0o444, show: () => '0\n' })
    }
    kernel.sysfs.addFile(`${dir}/vfio_sim_skip_tlb_invalidate`, {
      mode: 0o644,
      show: () => (params.skipTlbInvalidateOnUnmap ? 'Y\n' : 'N\n'),
      store: data => {
        // param_set_bool (kstrtobool): y/Y/1/on → true, n/N/0/off → false, else EINVAL.
        const v = data.trim().toLowerCase()
        if (['y', '1', 'on', 'yes', 'true'].includes(v)) params.skipTlbInvalidateOnUnmap = true
        else if (['n', '0', 'off', 'no', 'false'].includes(v)) params.skipTlbInvalidateOnUnmap = false
        else return kerr('EINVAL')
        return data.length
      },
    })
  }
  return platformDriverRegister(kernel, armSmmuDriver(kernel, opts))
}

/** arm_smmu_device_probe. */
function armSmmuDeviceProbe(kernel: Kernel, dev: Device, options: Required<ArmSmmuOptions>): number {
  const np = dev.ofNode
  if (np === undefined) return -E.ENODEV
  const version: 1 | 2 = ofDeviceIsCompatible(np, 'arm,smmu-v2') || ofDeviceIsCompatible(np, 'arm,mmu-500') ? 2 : 1
  const globalIrqs = ofPropertyReadU32(np, '#global-interrupts')
  if (globalIrqs === undefined) {
    devErr(dev, 'missing #global-interrupts property')
    return -E.ENODEV
  }
  const res = dev.memResources[0]
  if (res === undefined) return -E.EINVAL
  const smmu = new ArmSmmuDevice(kernel, dev, Number(res.start), Number(res.end - res.start + 1n), version, options)
  smmu.features.coherentWalk = ofPropertyReadBool(np, 'dma-coherent')
  const irqs = dev.irqs
  smmu.numGlobalIrqs = globalIrqs
  smmu.numContextIrqs = irqs.length - globalIrqs
  if (smmu.numContextIrqs <= 0) {
    devErr(dev, `found ${irqs.length} interrupts but expected at least ${globalIrqs + 1}`)
    return -E.ENODEV
  }
  smmu.irqs = irqs.slice(globalIrqs)
  smmu.globalIrqs = irqs.slice(0, globalIrqs)
  const r = armSmmuDeviceCfgProbe(smmu)
  if (r !== 0) return r
  if (smmu.version === 2) {
    if (smmu.numContextBanks > smmu.numContextIrqs) {
      devErr(dev, `found only ${smmu.numContextIrqs} context irq(s) but ${smmu.numContextBanks} required`)
      return -E.ENODEV
    }
    smmu.numContextIrqs = smmu.numContextBanks
    smmu.irqs = smmu.irqs.slice(0, smmu.numContextBanks)
  }
  const requested: number[] = []
  for (const irq of smmu.globalIrqs) {
    try {
      kernel.irq.request(irq, () => armSmmuGlobalFault(smmu), IRQF.SHARED, 'arm-smmu global fault', smmu)
      requested.push(irq)
    } catch {
      devErr(dev, `failed to request global IRQ ${requested.length} (${irq})`)
      for (const q of requested) kernel.irq.free(q, smmu)
      return -E.ENODEV
    }
  }
  dev.driverData = smmu
  armSmmuDeviceReset(smmu)
  armSmmuTestSmrMasks(smmu)
  const list = smmusOf.get(kernel) ?? []
  list.push(smmu)
  smmusOf.set(kernel, list)
  // iommu_device_sysfs_add(…, "smmu.%pa", &ioaddr).
  smmu.iommu = { ops: armSmmuOps(smmu), fwnode: np, dev, sysfsName: `smmu.0x${smmu.base.toString(16).padStart(16, '0')}` }
  iommuDeviceRegister(kernel, smmu.iommu)
  return 0
}

/** arm_smmu_device_remove: not supported while masters use it (the SMMU is a boot device); disables translation. */
function armSmmuDeviceRemove(kernel: Kernel, dev: Device): void {
  const smmu = dev.driverData as ArmSmmuDevice | undefined
  if (smmu === undefined) return
  // arm_smmu_device_shutdown: turn off translation (CLIENTPD).
  smmu.gr0Write(R.ARM_SMMU_GR0_sCR0, R.ARM_SMMU_sCR0_CLIENTPD)
  for (const irq of smmu.globalIrqs) kernel.irq.free(irq, smmu)
}

/** The SMMU device behind `dev` (its IOMMU), or undefined. */
export function armSmmuForDevice(dev: Device): ArmSmmuDevice | undefined {
  const fw = devIommuFwspecGet(dev)
  return fw === undefined ? undefined : armSmmuDevices(dev.bus.core.kernel).find(s => s.iommu === fw.iommu)
}

/** The stream-map entries (SMR/S2CR indexes) of a master, or undefined. */
export function armSmmuMasterSmendx(dev: Device): readonly number[] | undefined {
  return masterCfg(dev)?.smendx
}

