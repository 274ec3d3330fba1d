/**
 * The SMMU's register map as one register table over the whole window:
 * global space 0 (page 0), global space 1 (page 1), and one page per
 * translation context bank from page NUMPAGE (CB0 at +0x8000 on the MMU-400
 * layout). Context-bank registers are strided arrays: copy n is bank n.
 *
 * Offsets and fields: spec §1 (Linux arm-smmu.h, the HiSilicon MMU-400
 * header, Qualcomm msm_iommu_hw-v2.h, Bao smmuv2.h).
 */
import { defineRegisters, type RegisterSpec } from '@vfio-sim/sim'
import { idRegisters, idr0, idr1, idr2, type ResolvedConfig } from './config.ts'

/** sCR0 bits. */
export const SCR0 = {
  CLIENTPD: 1 << 0, GFRE: 1 << 1, GFIE: 1 << 2, EXIDENABLE: 1 << 3, GCFGFRE: 1 << 4, GCFGFIE: 1 << 5,
  STALLD: 1 << 8, GSE: 1 << 9, USFCFG: 1 << 10, VMIDPNE: 1 << 11, PTM: 1 << 12, FB: 1 << 13, SMCFCFG: 1 << 21,
} as const

/** sGFSR bits (global faults). */
export const GFSR = {
  ICF: 1 << 0, USF: 1 << 1, SMCF: 1 << 2, UCBF: 1 << 3, UCIF: 1 << 4, CAF: 1 << 5, EF: 1 << 6, PF: 1 << 7, UUT: 1 << 8,
  MULTI: 0x80000000,
} as const
/** sGFSR bits that are "configuration" faults, reported with GCFGFRE/GCFGFIE (spec §1.2, inferred). */
export const GFSR_CONFIG = GFSR.ICF | GFSR.SMCF | GFSR.UCBF | GFSR.UCIF | GFSR.CAF

/** S2CR.TYPE values. */
export const S2CR_TYPE = { TRANS: 0, BYPASS: 1, FAULT: 2, RESERVED: 3 } as const

/** CBAR.TYPE values. */
export const CBAR_TYPE = { S2_TRANS: 0, S1_TRANS_S2_BYPASS: 1, S1_TRANS_S2_FAULT: 2, S1_TRANS_S2_TRANS: 3 } as const

/** Context-bank SCTLR bits. */
export const SCTLR = {
  M: 1 << 0, TRE: 1 << 1, AFE: 1 << 2, AFFD: 1 << 3, E: 1 << 4, CFRE: 1 << 5, CFIE: 1 << 6, CFCFG: 1 << 7,
  HUPCF: 1 << 8, WXN: 1 << 9, UWXN: 1 << 10, ASIDPNE: 1 << 12,
} as const

/** Context-bank FSR bits. */
export const FSR = {
  TF: 1 << 1, AFF: 1 << 2, PF: 1 << 3, EF: 1 << 4, TLBMCF: 1 << 5, TLBLKF: 1 << 6, ASF: 1 << 7, UUT: 1 << 8,
  SS: 1 << 30, MULTI: 0x80000000,
} as const
/** FSR bits that count as "a fault is recorded" (Linux FSR_FAULT). */
export const FSR_FAULT = (FSR.MULTI | FSR.SS | 0x1fe) >>> 0

/** Context-bank FSYNR0 fields. */
export const FSYNR0 = {
  PLVL_MASK: 3, WNR: 1 << 4, PNU: 1 << 5, IND: 1 << 6, NSSTATE: 1 << 7, NSATTR: 1 << 8, ATOF: 1 << 9, PTWF: 1 << 10, AFR: 1 << 11,
} as const

/** sGFSYNR0 fields (a different layout from FSYNR0, spec §0.8). */
export const GFSYNR0 = { NESTED: 1 << 0, WNR: 1 << 1, PNU: 1 << 2, IND: 1 << 3, NSSTATE: 1 << 4, NSATTR: 1 << 5 } as const

/** AArch32-LPAE TTBCR bits (v1 and v2 VA64 = 0 contexts). */
export const TTBCR = { T0SZ_MASK: 7, EPD0: 1 << 7, T1SZ_SHIFT: 16, A1: 1 << 22, EPD1: 1 << 23, EAE: 0x80000000 } as const

/** PAR bits. */
export const PAR = { F: 1, LPAE: 1 << 11 } as const

/** Offsets inside a context-bank page (spec §1.4). */
export const CB_OFF = {
  SCTLR: 0x000, ACTLR: 0x004, RESUME: 0x008, TCR2: 0x010, TTBR0: 0x020, TTBR1: 0x028, TCR: 0x030, CONTEXTIDR: 0x034,
  MAIR0: 0x038, MAIR1: 0x03c, PAR: 0x050, FSR: 0x058, FSRRESTORE: 0x05c, FAR: 0x060, FSYNR0: 0x068, FSYNR1: 0x06c,
  IPAFAR: 0x070, TLBIVA: 0x600, TLBIVAA: 0x608, TLBIASID: 0x610, TLBIALL: 0x618, TLBIVAL: 0x620, TLBIVAAL: 0x628,
  TLBSYNC: 0x7f0, TLBSTATUS: 0x7f4, ATS1PR: 0x800, ATS1PW: 0x808, ATS1UR: 0x810, ATS1UW: 0x818, ATSR: 0x8f0,
} as const

/** Offsets in global space 0 (spec §1.2). */
export const GR0_OFF = {
  sCR0: 0x000, sACR: 0x010, IDR0: 0x020, IDR1: 0x024, IDR2: 0x028, IDR7: 0x03c, sGFAR: 0x040, sGFSR: 0x048,
  sGFSRRESTORE: 0x04c, sGFSYNR0: 0x050, sGFSYNR1: 0x054, sGFSYNR2: 0x058, STLBIALL: 0x060, TLBIVMID: 0x064,
  TLBIALLNSNH: 0x068, TLBIALLH: 0x06c, sTLBGSYNC: 0x070, sTLBGSTATUS: 0x074, TLBIVAH: 0x078,
  GATS1UR: 0x100, GATS1UW: 0x108, GATS1PR: 0x110, GATS1PW: 0x118, GATS12UR: 0x120, GATS12UW: 0x128, GATS12PR: 0x130,
  GATS12PW: 0x138, GPAR: 0x180, GATSR: 0x188, SMR: 0x800, S2CR: 0xc00, PIDR4: 0xfd0,
} as const

/** Offsets in global space 1, relative to its page (spec §1.3). */
export const GR1_OFF = { CBAR: 0x000, CBFRSYNRA: 0x400, CBA2R: 0x800 } as const

/** Names of the ID registers at GR0 0xFD0…0xFFC, in address order. */
export const ID_NAMES = ['PIDR4', 'PIDR5', 'PIDR6', 'PIDR7', 'PIDR0', 'PIDR1', 'PIDR2', 'PIDR3', 'CIDR0', 'CIDR1', 'CIDR2', 'CIDR3'] as const

const f = (shift: number, width: number, doc?: string, access?: 'rw' | 'ro' | 'wo' | 'w1c') =>
  ({ shift, width, ...(doc !== undefined ? { doc } : {}), ...(access !== undefined ? { access } : {}) })

/**
 * Builds the register table for a configuration (counts, stream-ID width and
 * stall support change the table: SMR bits above NUMSIDB do not exist, so
 * they read as zero and ignore writes, as Linux's SMR probe expects).
 */
export function mmu400Registers(c: ResolvedConfig): ReturnType<typeof buildMmu400Registers> {
  // Tables are immutable: one per distinct configuration, shared by every
  // instance (a board is booted thousands of times by property tests).
  const key = JSON.stringify(c)
  let t = tableCache.get(key)
  if (t === undefined) {
    t = buildMmu400Registers(c)
    tableCache.set(key, t)
  }
  return t
}

const tableCache = new Map<string, ReturnType<typeof buildMmu400Registers>>()

function buildMmu400Registers(c: ResolvedConfig) {
  const nCb = c.contextBanks
  const cb = (off: number, spec: Omit<RegisterSpec, 'offset' | 'count' | 'stride'>): RegisterSpec =>
    ({ ...spec, offset: c.cbBase + off, count: nCb, stride: c.pageSize })
  const gr1 = (off: number, spec: Omit<RegisterSpec, 'offset' | 'count' | 'stride'>): RegisterSpec =>
    ({ ...spec, offset: c.pageSize + off, count: nCb, stride: 4 })
  const ids = idRegisters(c)
  const sidb = c.streamIdBits
  const v2 = c.version === 2
  const atos = (doc: string): Omit<RegisterSpec, 'offset' | 'count' | 'stride'> => ({ width: 64, access: 'wo', doc })
  const registers = {
    // ---- global space 0 ----
    sCR0: {
      offset: GR0_OFF.sCR0, reset: 0x00200101, doc: 'global control (MMU-400 reset value)',
      fields: {
        CLIENTPD: f(0, 1, 'all client transactions bypass translation'), GFRE: f(1, 1), GFIE: f(2, 1), GCFGFRE: f(4, 1), GCFGFIE: f(5, 1),
        STALLD: f(8, 1, 'tied to 1 as on the MMU-400; stall is governed by SCTLR.CFCFG alone (decision 0202)', 'ro'), GSE: f(9, 1),
        USFCFG: f(10, 1, '1 = unmatched streams fault (USF), 0 = bypass'), VMIDPNE: f(11, 1), PTM: f(12, 1), FB: f(13, 1),
        BSU: f(14, 2), MEMATTR: f(16, 4), MTCFG: f(20, 1), SMCFCFG: f(21, 1, 'stream match conflict fault (tied to 1)', 'ro'),
        SHCFG: f(22, 2), RACFG: f(24, 2), WACFG: f(26, 2), NSCFG: f(28, 2),
      },
    },
    sACR: { offset: GR0_OFF.sACR, doc: 'auxiliary control (IMPLEMENTATION DEFINED, stored only)' },
    IDR0: { offset: GR0_OFF.IDR0, access: 'ro', reset: idr0(c), doc: 'S1TS, SMS, PTFS (LPAE only), NUMIRPT, CTTW, NUMSIDB, NUMSMRG' },
    IDR1: { offset: GR0_OFF.IDR1, access: 'ro', reset: idr1(c), doc: 'PAGESIZE, NUMPAGENDXB, NUMS2CB, NUMCB' },
    IDR2: { offset: GR0_OFF.IDR2, access: 'ro', reset: idr2(c), doc: 'IAS, OAS (v2: UBS, PTFS_4K)' },
    IDR7: { offset: GR0_OFF.IDR7, access: 'ro', reset: 0, doc: 'implementation revision' },
    sGFAR: { offset: GR0_OFF.sGFAR, width: 64, doc: 'input address of the first global fault' },
    sGFSR: {
      offset: GR0_OFF.sGFSR, access: 'w1c', doc: 'global fault status (write 1 to clear)',
      fields: {
        ICF: f(0, 1), USF: f(1, 1), SMCF: f(2, 1), UCBF: f(3, 1), UCIF: f(4, 1), CAF: f(5, 1), EF: f(6, 1), PF: f(7, 1), UUT: f(8, 1), MULTI: f(31, 1),
      },
    },
    sGFSRRESTORE: { offset: GR0_OFF.sGFSRRESTORE, access: 'wo', doc: 'writes sGFSR' },
    sGFSYNR0: { offset: GR0_OFF.sGFSYNR0, doc: 'syndrome of the first global fault', fields: { NESTED: f(0, 1), WNR: f(1, 1), PNU: f(2, 1), IND: f(3, 1), NSSTATE: f(4, 1), NSATTR: f(5, 1) } },
    sGFSYNR1: { offset: GR0_OFF.sGFSYNR1, doc: 'stream ID of the first global fault', fields: { STREAMID: f(0, 15) } },
    sGFSYNR2: { offset: GR0_OFF.sGFSYNR2, doc: 'IMPLEMENTATION DEFINED (zero)' },
    STLBIALL: { offset: GR0_OFF.STLBIALL, access: 'wo', doc: 'invalidate secure entries (none: no secure banks)' },
    TLBIVMID: { offset: GR0_OFF.TLBIVMID, access: 'wo', doc: 'invalidate entries of the banks with CBAR.VMID = value[7:0]' },
    TLBIALLNSNH: { offset: GR0_OFF.TLBIALLNSNH, access: 'wo', doc: 'invalidate all non-secure non-Hyp entries' },
    TLBIALLH: { offset: GR0_OFF.TLBIALLH, access: 'wo', doc: 'invalidate all Hyp entries (banks with CBAR.HYPC)' },
    sTLBGSYNC: { offset: GR0_OFF.sTLBGSYNC, access: 'wo', doc: 'global TLB sync (completes at once)' },
    sTLBGSTATUS: { offset: GR0_OFF.sTLBGSTATUS, access: 'ro', doc: 'GSACTIVE[0], always 0', fields: { GSACTIVE: f(0, 1) } },
    TLBIVAH: { offset: GR0_OFF.TLBIVAH, access: 'wo', doc: 'Hyp VA invalidate (no Hyp banks: no effect)' },
    ...(c.atos ? {
      GATS1UR: { offset: GR0_OFF.GATS1UR, ...atos('global ATOS, unprivileged read: VA[63:12] | CB index[7:0]') },
      GATS1UW: { offset: GR0_OFF.GATS1UW, ...atos('global ATOS, unprivileged write') },
      GATS1PR: { offset: GR0_OFF.GATS1PR, ...atos('global ATOS, privileged read') },
      GATS1PW: { offset: GR0_OFF.GATS1PW, ...atos('global ATOS, privileged write') },
      GATS12UR: { offset: GR0_OFF.GATS12UR, ...atos('as GATS1UR (stage 2 is bypass)') },
      GATS12UW: { offset: GR0_OFF.GATS12UW, ...atos('as GATS1UW') },
      GATS12PR: { offset: GR0_OFF.GATS12PR, ...atos('as GATS1PR') },
      GATS12PW: { offset: GR0_OFF.GATS12PW, ...atos('as GATS1PW') },
      GPAR: { offset: GR0_OFF.GPAR, width: 64, doc: 'result of the last global ATOS' },
      GATSR: { offset: GR0_OFF.GATSR, access: 'ro', doc: 'ACTIVE[0], always 0' },
    } : {}),
    SMR: {
      offset: GR0_OFF.SMR, count: c.smrGroups, stride: 4, doc: `stream match register; ID/MASK bits above NUMSIDB (${sidb}) are RAZ/WI`,
      fields: { VALID: f(31, 1), MASK: f(16, sidb), ID: f(0, sidb) },
    },
    S2CR: {
      offset: GR0_OFF.S2CR, count: c.smrGroups, stride: 4, reset: 0x00020000, doc: 'stream-to-context register (reset: TYPE = fault)',
      fields: {
        CBNDX: f(0, 8), SHCFG: f(8, 2), MTCFG: f(11, 1), MEMATTR: f(12, 4), TYPE: f(16, 2, '0 translate, 1 bypass, 2 fault'),
        NSCFG: f(18, 2), RACFG: f(20, 2), WACFG: f(22, 2), PRIVCFG: f(24, 2, '0 as presented, 2 unprivileged, 3 privileged'),
        INSTCFG: f(26, 2, '0 as presented, 2 data, 3 instruction'), IMPDEF: f(28, 4),
      },
    },
    ...Object.fromEntries(ID_NAMES.map((name, i) => [name, { offset: GR0_OFF.PIDR4 + 4 * i, access: 'ro', reset: ids[i]!, doc: i === 6 ? 'ARCH[7:4] = version - 1 (read by 3.x drivers)' : i < 8 ? 'peripheral ID (ARM part 0x480)' : 'component ID' } satisfies RegisterSpec])),
    ...(c.contextBanks < c.numPage ? {
      PIDR_TOP: { offset: c.windowSize - 0x30, count: 12, stride: 4, access: 'ro', doc: 'mirror of PIDR/CIDR at the top of the window (last CB page unimplemented)' },
    } : {}),
    // ---- global space 1 ----
    CBAR: {
      ...gr1(GR1_OFF.CBAR, {}), doc: 'context bank attributes',
      fields: {
        VMID: f(0, 8), BPSHCFG: f(8, 2), HYPC: f(10, 1), FB: f(11, 1), MEMATTR: f(12, 4), TYPE: f(16, 2, '1 = stage 1 with stage 2 bypass (the only type translated)'),
        BSU: f(18, 2), RACFG: f(20, 2), WACFG: f(22, 2), IRPTNDX: f(24, 8, 'context interrupt index (v1)'),
      },
    },
    CBFRSYNRA: { ...gr1(GR1_OFF.CBFRSYNRA, {}), doc: 'stream ID of the first context fault', fields: { STREAMID: f(0, 15) } },
    ...(v2 ? { CBA2R: { ...gr1(GR1_OFF.CBA2R, {}), doc: 'v2: VA64 selects AArch64 descriptors', fields: { VA64: f(0, 1), MONC: f(1, 1), VMID16: f(16, 16) } } } : {}),
    // ---- translation context banks ----
    SCTLR: cb(CB_OFF.SCTLR, {
      reset: 0x106, doc: 'system control',
      fields: {
        M: f(0, 1, 'translation enable'), TRE: f(1, 1), AFE: f(2, 1), AFFD: f(3, 1, 'access-flag fault disable'), E: f(4, 1, 'big-endian walks'),
        CFRE: f(5, 1, 'fault: abort (1) or RAZ/WI (0)'), CFIE: f(6, 1, 'context interrupt enable'),
        CFCFG: f(7, 1, '1 = stall on fault', c.stall ? 'rw' : 'ro'), HUPCF: f(8, 1), WXN: f(9, 1), UWXN: f(10, 1), ASIDPNE: f(12, 1),
        BSU: f(14, 2), MEMATTR: f(16, 4), MTCFG: f(20, 1), FB: f(21, 1), SHCFG: f(22, 2), RACFG: f(24, 2), WACFG: f(26, 2), NSCFG: f(28, 2),
      },
    }),
    ACTLR: cb(CB_OFF.ACTLR, { doc: 'auxiliary control (stored only)' }),
    ...(c.stall ? { RESUME: cb(CB_OFF.RESUME, { access: 'wo', doc: 'TnR[0]: 0 retry, 1 terminate the stalled transaction', fields: { TnR: f(0, 1) } }) } : {}),
    ...(v2 ? { TCR2: cb(CB_OFF.TCR2, { doc: 'v2: PASIZE[2:0], AS[4] (16-bit ASID)', fields: { PASIZE: f(0, 3), AS: f(4, 1), TBI0: f(5, 1), TBI1: f(6, 1), NSCFG0: f(14, 1), SEP: f(15, 3), NSCFG1: f(30, 1) } }) } : {}),
    TTBR0: cb(CB_OFF.TTBR0, { width: 64, doc: 'BADDR, ASID[55:48]' }),
    TTBR1: cb(CB_OFF.TTBR1, { width: 64, doc: 'BADDR, ASID[55:48]' }),
    TCR: cb(CB_OFF.TCR, { reset: 0x80000000, doc: 'TTBCR (AArch32-LPAE: T0SZ[2:0], EPD0[7], T1SZ[18:16], A1[22], EPD1[23], EAE[31] RAO) or AArch64 TCR' }),
    CONTEXTIDR: cb(CB_OFF.CONTEXTIDR, { doc: 'stored only (short descriptors are not supported)' }),
    MAIR0: cb(CB_OFF.MAIR0, { doc: 'attributes for AttrIndx 0-3' }),
    MAIR1: cb(CB_OFF.MAIR1, { doc: 'attributes for AttrIndx 4-7' }),
    PAR: cb(CB_OFF.PAR, { width: 64, doc: 'result of the last ATS1xx: PA[47:12], ATTR[63:56] or F[0] + FST[6:1]' }),
    FSR: cb(CB_OFF.FSR, {
      access: 'w1c', doc: 'fault status (write 1 to clear)',
      fields: {
        TF: f(1, 1), AFF: f(2, 1), PF: f(3, 1), EF: f(4, 1), TLBMCF: f(5, 1), TLBLKF: f(6, 1), ASF: f(7, 1), UUT: f(8, 1),
        FORMAT: f(9, 2, 'syndrome format (0)', 'ro'), SS: f(30, 1), MULTI: f(31, 1),
      },
    }),
    FSRRESTORE: cb(CB_OFF.FSRRESTORE, { access: 'wo', doc: 'writes FSR (fault injection)' }),
    FAR: cb(CB_OFF.FAR, { width: 64, doc: 'input address of the first fault' }),
    FSYNR0: cb(CB_OFF.FSYNR0, {
      doc: 'syndrome of the first fault',
      fields: { PLVL: f(0, 2), S1PTWF: f(3, 1), WNR: f(4, 1), PNU: f(5, 1), IND: f(6, 1), NSSTATE: f(7, 1), NSATTR: f(8, 1), ATOF: f(9, 1), PTWF: f(10, 1), AFR: f(11, 1), S1CBNDX: f(16, 8) },
    }),
    FSYNR1: cb(CB_OFF.FSYNR1, { doc: 'IMPLEMENTATION DEFINED (zero)' }),
    IPAFAR: cb(CB_OFF.IPAFAR, { width: 64, doc: 'stage-2 faulting IPA (no stage 2: zero)' }),
    TLBIVA: cb(CB_OFF.TLBIVA, { width: 64, access: 'wo', doc: 'invalidate by VA and ASID (AArch32: 32-bit VA[31:12] | ASID[7:0])' }),
    TLBIVAA: cb(CB_OFF.TLBIVAA, { width: 64, access: 'wo', doc: 'invalidate by VA, all ASIDs' }),
    TLBIASID: cb(CB_OFF.TLBIASID, { width: 64, access: 'wo', doc: 'invalidate by ASID' }),
    TLBIALL: cb(CB_OFF.TLBIALL, { width: 64, access: 'wo', doc: 'invalidate the whole bank' }),
    TLBIVAL: cb(CB_OFF.TLBIVAL, { width: 64, access: 'wo', doc: 'invalidate last level by VA and ASID' }),
    TLBIVAAL: cb(CB_OFF.TLBIVAAL, { width: 64, access: 'wo', doc: 'invalidate last level by VA, all ASIDs' }),
    TLBSYNC: cb(CB_OFF.TLBSYNC, { access: 'wo', doc: 'TLB sync (completes at once)' }),
    TLBSTATUS: cb(CB_OFF.TLBSTATUS, { access: 'ro', doc: 'SACTIVE[0], always 0', fields: { SACTIVE: f(0, 1) } }),
    ...(c.atos ? {
      ATS1PR: cb(CB_OFF.ATS1PR, atos('ATOS privileged read (VA[31:12] as a 32-bit write in AArch32 contexts)')),
      ATS1PW: cb(CB_OFF.ATS1PW, atos('ATOS privileged write')),
      ATS1UR: cb(CB_OFF.ATS1UR, atos('ATOS unprivileged read')),
      ATS1UW: cb(CB_OFF.ATS1UW, atos('ATOS unprivileged write')),
      ATSR: cb(CB_OFF.ATSR, { access: 'ro', doc: 'ACTIVE[0], always 0 (ATOS completes at once)' }),
    } : {}),
  } satisfies Record<string, RegisterSpec>
  const table = defineRegisters({ name: 'mmu400', size: c.windowSize, registers: registers as Record<string, RegisterSpec> })
  return { table, ids }
}

/** The register table type (fields are looked up by name at construction). */
export type Mmu400RegisterTable = ReturnType<typeof mmu400Registers>['table']
