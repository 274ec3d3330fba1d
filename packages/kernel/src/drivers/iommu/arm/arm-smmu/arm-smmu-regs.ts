/**
 * The driver's own view of the SMMUv1/v2 registers, as Linux's
 * drivers/iommu/arm/arm-smmu/arm-smmu.h defines them (offsets and fields).
 * The driver talks to the hardware only through these: it never looks at
 * the model's register table.
 */

/** A field: `shift` and `width` in bits. */
export interface Field {
  readonly shift: number
  readonly width: number
}

const field = (hi: number, lo: number): Field => ({ shift: lo, width: hi - lo + 1 })

/** FIELD_GET. */
export function fieldGet(f: Field, reg: number): number {
  return Math.floor((reg >>> 0) / 2 ** f.shift) % 2 ** f.width
}

/** FIELD_PREP (the value is truncated to the field's width, as the C macro's mask does). */
export function fieldPrep(f: Field, v: number): number {
  return ((v % 2 ** f.width) * 2 ** f.shift) >>> 0
}

// ---- Global register space 0 ----
export const ARM_SMMU_GR0_sCR0 = 0x0
export const ARM_SMMU_sCR0_VMID16EN = 1 << 31
export const ARM_SMMU_sCR0_BSU = field(15, 14)
export const ARM_SMMU_sCR0_FB = 1 << 13
export const ARM_SMMU_sCR0_PTM = 1 << 12
export const ARM_SMMU_sCR0_VMIDPNE = 1 << 11
export const ARM_SMMU_sCR0_USFCFG = 1 << 10
export const ARM_SMMU_sCR0_GCFGFIE = 1 << 5
export const ARM_SMMU_sCR0_GCFGFRE = 1 << 4
export const ARM_SMMU_sCR0_EXIDENABLE = 1 << 3
export const ARM_SMMU_sCR0_GFIE = 1 << 2
export const ARM_SMMU_sCR0_GFRE = 1 << 1
export const ARM_SMMU_sCR0_CLIENTPD = 1 << 0

/** Auxiliary configuration register. */
export const ARM_SMMU_GR0_sACR = 0x10

export const ARM_SMMU_GR0_ID0 = 0x20
export const ARM_SMMU_ID0_S1TS = 1 << 30
export const ARM_SMMU_ID0_S2TS = 1 << 29
export const ARM_SMMU_ID0_NTS = 1 << 28
export const ARM_SMMU_ID0_SMS = 1 << 27
export const ARM_SMMU_ID0_ATOSNS = 1 << 26
export const ARM_SMMU_ID0_PTFS_NO_AARCH32 = 1 << 25
export const ARM_SMMU_ID0_PTFS_NO_AARCH32S = 1 << 24
export const ARM_SMMU_ID0_NUMIRPT = field(23, 16)
export const ARM_SMMU_ID0_CTTW = 1 << 14
export const ARM_SMMU_ID0_NUMSIDB = field(12, 9)
export const ARM_SMMU_ID0_EXIDS = 1 << 8
export const ARM_SMMU_ID0_NUMSMRG = field(7, 0)

export const ARM_SMMU_GR0_ID1 = 0x24
export const ARM_SMMU_ID1_PAGESIZE = 0x8000_0000
export const ARM_SMMU_ID1_NUMPAGENDXB = field(30, 28)
export const ARM_SMMU_ID1_NUMS2CB = field(23, 16)
export const ARM_SMMU_ID1_NUMCB = field(7, 0)

export const ARM_SMMU_GR0_ID2 = 0x28
export const ARM_SMMU_ID2_VMID16 = 1 << 15
export const ARM_SMMU_ID2_PTFS_64K = 1 << 14
export const ARM_SMMU_ID2_PTFS_16K = 1 << 13
export const ARM_SMMU_ID2_PTFS_4K = 1 << 12
export const ARM_SMMU_ID2_UBS = field(11, 8)
export const ARM_SMMU_ID2_OAS = field(7, 4)
export const ARM_SMMU_ID2_IAS = field(3, 0)

export const ARM_SMMU_GR0_sGFSR = 0x48
export const ARM_SMMU_sGFSR_USF = 1 << 1
export const ARM_SMMU_GR0_sGFSYNR0 = 0x50
export const ARM_SMMU_GR0_sGFSYNR1 = 0x54
export const ARM_SMMU_GR0_sGFSYNR2 = 0x58

/** Global TLB invalidation. */
export const ARM_SMMU_GR0_TLBIVMID = 0x64
export const ARM_SMMU_GR0_TLBIALLNSNH = 0x68
export const ARM_SMMU_GR0_TLBIALLH = 0x6c
export const ARM_SMMU_GR0_sTLBGSYNC = 0x70
export const ARM_SMMU_GR0_sTLBGSTATUS = 0x74
export const ARM_SMMU_sTLBGSTATUS_GSACTIVE = 1 << 0

/** Stream mapping registers. */
export const ARM_SMMU_GR0_SMR = (n: number): number => 0x800 + (n << 2)
export const ARM_SMMU_SMR_VALID = 0x8000_0000
export const ARM_SMMU_SMR_MASK = field(31, 16)
export const ARM_SMMU_SMR_ID = field(15, 0)

export const ARM_SMMU_GR0_S2CR = (n: number): number => 0xc00 + (n << 2)
export const ARM_SMMU_S2CR_PRIVCFG = field(25, 24)
export const ARM_SMMU_S2CR_TYPE = field(17, 16)
export const ARM_SMMU_S2CR_CBNDX = field(7, 0)

/** enum arm_smmu_s2cr_type. */
export const S2CR_TYPE_TRANS = 0
export const S2CR_TYPE_BYPASS = 1
export const S2CR_TYPE_FAULT = 2
/** enum arm_smmu_s2cr_privcfg: S2CR_PRIVCFG_DEFAULT (as presented). */
export const S2CR_PRIVCFG_DEFAULT = 0

// ---- Global register space 1 ----
export const ARM_SMMU_GR1_CBAR = (n: number): number => 0x0 + (n << 2)
export const ARM_SMMU_CBAR_IRPTNDX = field(31, 24)
export const ARM_SMMU_CBAR_TYPE = field(17, 16)
export const ARM_SMMU_CBAR_S1_MEMATTR = field(15, 12)
export const ARM_SMMU_CBAR_S1_MEMATTR_WB = 0xf
export const ARM_SMMU_CBAR_S1_BPSHCFG = field(9, 8)
export const ARM_SMMU_CBAR_S1_BPSHCFG_NSH = 3
export const ARM_SMMU_CBAR_VMID = field(7, 0)

/** enum arm_smmu_cbar_type. */
export const CBAR_TYPE_S2_TRANS = 0
export const CBAR_TYPE_S1_TRANS_S2_BYPASS = 1

export const ARM_SMMU_GR1_CBFRSYNRA = (n: number): number => 0x400 + (n << 2)
export const ARM_SMMU_GR1_CBA2R = (n: number): number => 0x800 + (n << 2)

// ---- Translation context bank ----
export const ARM_SMMU_CB_SCTLR = 0x0
export const ARM_SMMU_SCTLR_S1_ASIDPNE = 1 << 12
export const ARM_SMMU_SCTLR_CFCFG = 1 << 7
export const ARM_SMMU_SCTLR_CFIE = 1 << 6
export const ARM_SMMU_SCTLR_CFRE = 1 << 5
export const ARM_SMMU_SCTLR_E = 1 << 4
export const ARM_SMMU_SCTLR_AFE = 1 << 2
export const ARM_SMMU_SCTLR_TRE = 1 << 1
export const ARM_SMMU_SCTLR_M = 1 << 0

export const ARM_SMMU_CB_RESUME = 0x8
export const ARM_SMMU_CB_TTBR0 = 0x20
export const ARM_SMMU_CB_TTBR1 = 0x28
/** TTBRn.ASID: bits [63:48]. */
export const ARM_SMMU_TTBRn_ASID_SHIFT = 48n

export const ARM_SMMU_CB_TCR = 0x30
export const ARM_SMMU_TCR_EAE = 0x8000_0000
export const ARM_SMMU_TCR_EPD1 = 1 << 23
export const ARM_SMMU_TCR_A1 = 1 << 22
export const ARM_SMMU_TCR_TG0 = field(15, 14)
export const ARM_SMMU_TCR_SH0 = field(13, 12)
export const ARM_SMMU_TCR_ORGN0 = field(11, 10)
export const ARM_SMMU_TCR_IRGN0 = field(9, 8)
export const ARM_SMMU_TCR_EPD0 = 1 << 7
export const ARM_SMMU_TCR_T0SZ = field(5, 0)

export const ARM_SMMU_CB_CONTEXTIDR = 0x34
export const ARM_SMMU_CB_S1_MAIR0 = 0x38
export const ARM_SMMU_CB_S1_MAIR1 = 0x3c

export const ARM_SMMU_CB_PAR = 0x50
export const ARM_SMMU_CB_PAR_F = 1n

export const ARM_SMMU_CB_FSR = 0x58
export const ARM_SMMU_CB_FSR_MULTI = 0x8000_0000
export const ARM_SMMU_CB_FSR_SS = 1 << 30
/** FSR.FORMAT, bits [10:9] (GENMASK(10, 9)). */
export const ARM_SMMU_CB_FSR_FORMAT_SHIFT = 9
export const ARM_SMMU_CB_FSR_FORMAT_MASK = 0x3
export const ARM_SMMU_CB_FSR_UUT = 1 << 8
export const ARM_SMMU_CB_FSR_ASF = 1 << 7
export const ARM_SMMU_CB_FSR_TLBLKF = 1 << 6
export const ARM_SMMU_CB_FSR_TLBMCF = 1 << 5
export const ARM_SMMU_CB_FSR_EF = 1 << 4
export const ARM_SMMU_CB_FSR_PF = 1 << 3
export const ARM_SMMU_CB_FSR_AFF = 1 << 2
export const ARM_SMMU_CB_FSR_TF = 1 << 1
/** FSR_IGN | FSR bits that mean "a fault is recorded" (ARM_SMMU_CB_FSR_FAULT). */
export const ARM_SMMU_CB_FSR_FAULT = (ARM_SMMU_CB_FSR_MULTI | ARM_SMMU_CB_FSR_SS | ARM_SMMU_CB_FSR_UUT | ARM_SMMU_CB_FSR_EF |
  ARM_SMMU_CB_FSR_PF | ARM_SMMU_CB_FSR_TF | ARM_SMMU_CB_FSR_AFF | ARM_SMMU_CB_FSR_ASF | ARM_SMMU_CB_FSR_TLBMCF |
  ARM_SMMU_CB_FSR_TLBLKF) >>> 0

export const ARM_SMMU_CB_FAR = 0x60
export const ARM_SMMU_CB_FSYNR0 = 0x68
export const ARM_SMMU_FSYNR0_PLVL_MASK = 0x3
export const ARM_SMMU_FSYNR0_WNR = 1 << 4
export const ARM_SMMU_FSYNR0_PNU = 1 << 5
export const ARM_SMMU_FSYNR0_IND = 1 << 6
export const ARM_SMMU_FSYNR0_NSATTR = 1 << 8
export const ARM_SMMU_FSYNR0_PTWF = 1 << 10
export const ARM_SMMU_FSYNR0_AFR = 1 << 11
/** FSYNR0.S1CBNDX, bits [23:16]. */
export const ARM_SMMU_FSYNR0_S1CBNDX_SHIFT = 16

export const ARM_SMMU_CB_S1_TLBIVA = 0x600
export const ARM_SMMU_CB_S1_TLBIASID = 0x610
export const ARM_SMMU_CB_S1_TLBIVAL = 0x620
export const ARM_SMMU_CB_TLBSYNC = 0x7f0
export const ARM_SMMU_CB_TLBSTATUS = 0x7f4
export const ARM_SMMU_CB_ATS1PR = 0x800
export const ARM_SMMU_CB_ATSR = 0x8f0
export const ARM_SMMU_CB_ATSR_ACTIVE = 1 << 0

/** Any value: what Linux writes to "write anything" registers (QCOM_DUMMY_VAL = -1). */
export const QCOM_DUMMY_VAL = 0xffff_ffff

/** arm_smmu_id_size_to_bits: IDR2-style size encoding → bits. */
export function armSmmuIdSizeToBits(size: number): number {
  switch (size) {
    case 0: return 32
    case 1: return 36
    case 2: return 40
    case 3: return 42
    case 4: return 44
    case 5:
    default: return 48
  }
}
