/**
 * The stage-1 page-table walker: long descriptors, 4 KiB granule, in the
 * AArch32-LPAE regime (32-bit input, TTBR0/TTBR1 split by T0SZ/T1SZ; the one
 * Linux uses on SMMUv1) and the AArch64 regime (v2 VA64 contexts, TTBR0 only,
 * up to 48-bit input). Spec §3.
 *
 * Descriptors are read from physical memory, never through translation: from
 * {@link PhysMemory} directly when the address is RAM (fast path), otherwise
 * through the interconnect, where a bus error becomes an external abort
 * (FSR.EF with FSYNR0.PTWF).
 *
 * A successful walk returns a new {@link TlbEntry}; a failed one returns
 * undefined and leaves the fault in {@link Walker.faultBit} and
 * {@link Walker.faultLevel}. The permission check is not part of the walk:
 * the entry carries resolved permissions, checked for every access.
 */
import { BusResp, busAttrs, type Interconnect, type Tracer } from '@vfio-sim/sim'
import type { Context } from './context.ts'
import { FSR } from './registers.ts'
import { SMMU_TRACE } from './trace.ts'
import { PERM, TlbEntry } from './tlb.ts'

const WALK_ATTRS = busAttrs({ priv: true, secure: false, streamId: -1 })
const TWO32 = 2 ** 32

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0
}

/** Walks page tables for the SMMU. One instance per SMMU (results are left in fields). */
export class Walker {
  private readonly bus: Interconnect
  private readonly tracer: Tracer | undefined
  /** FSR bit reported for an output address beyond the output size: ASF on v2, TF on v1 (which has no ASF). */
  private readonly asfBit: number

  /** FSR bit of the last failed walk. */
  faultBit = 0
  /** Lookup level of the last failed walk (FSYNR0.PLVL). */
  faultLevel = 0
  /** The last failure was an external abort on a descriptor fetch. */
  ptwf = false
  /** Descriptors fetched since construction. */
  descriptorReads = 0

  private dLo = 0
  private dHi = 0

  constructor(bus: Interconnect, tracer: Tracer | undefined, version: 1 | 2) {
    this.bus = bus
    this.tracer = tracer
    this.asfBit = version === 2 ? FSR.ASF : FSR.TF
  }

  private fail(bit: number, level: number, ptwf = false): undefined {
    this.faultBit = bit
    this.faultLevel = level
    this.ptwf = ptwf
    return undefined
  }

  /** Reads the descriptor at `addr` into dLo/dHi; false on a bus error. */
  private readDesc(addr: number, bigEndian: boolean): boolean {
    this.descriptorReads++
    const bus = this.bus
    const r = bus.find(addr)
    if (r !== undefined && r.device === undefined && addr + 8 <= r.base + r.size) {
      this.dLo = bus.memory.read64Split(addr)
      this.dHi = bus.memory.hi
    } else {
      const lo = bus.readN(addr, 4, WALK_ATTRS)
      if (bus.resp !== BusResp.OKAY) return false
      const hi = bus.readN(addr + 4, 4, WALK_ATTRS)
      if (bus.resp !== BusResp.OKAY) return false
      this.dLo = lo >>> 0
      this.dHi = hi >>> 0
    }
    if (bigEndian) {
      const lo = this.dLo
      this.dLo = bswap32(this.dHi)
      this.dHi = bswap32(lo)
    }
    return true
  }

  /** Walks `va` in context `ctx`. Returns the leaf as a TLB entry, or undefined on a fault. */
  walk(ctx: Context, va: number): TlbEntry | undefined {
    const tracer = this.tracer
    let inBits: number
    let startLevel: number
    let ttb: number
    let which = 0
    if (ctx.aarch64) {
      // T0SZ outside 16..39 is clamped (48-bit to 25-bit inputs). Only TTBR0
      // is modelled: bus addresses are below 2^48, never in the upper region.
      const tsz = Math.min(39, Math.max(16, ctx.t0sz))
      inBits = 64 - tsz
      startLevel = 4 - Math.ceil((inBits - 12) / 9)
      // Faults found before the walk are level-0 faults in AArch64 (ARMv8
      // AArch64.TranslationTableWalk: "AArch32 reports this as a level 1 fault").
      if (va >= 2 ** inBits || ctx.epd0 || ctx.tg0 !== 0) return this.fail(FSR.TF, 0)
      ttb = ctx.ttb0
    } else {
      // VMSAv7-LPAE TTBR selection (spec §3.2).
      if (va >= TWO32) return this.fail(FSR.TF, 1)
      const t0 = ctx.t0sz
      const t1 = ctx.t1sz
      if (t0 === 0 && t1 === 0) which = 0
      else if (t1 === 0) which = va < 2 ** (32 - t0) ? 0 : 1
      else if (t0 === 0) which = va >= TWO32 - 2 ** (32 - t1) ? 1 : 0
      else if (va < 2 ** (32 - t0)) which = 0
      else if (va >= TWO32 - 2 ** (32 - t1)) which = 1
      else return this.fail(FSR.TF, 1)
      const tsz = which === 0 ? t0 : t1
      if (which === 0 ? ctx.epd0 : ctx.epd1) return this.fail(FSR.TF, 1)
      inBits = 32 - tsz
      startLevel = tsz <= 1 ? 1 : 2
      ttb = which === 0 ? ctx.ttb0 : ctx.ttb1
    }
    // The start-level table holds 2^(inBits - shift) descriptors; TTBR bits below its size are ignored.
    const startShift = 12 + 9 * (3 - startLevel)
    const tableBytes = 8 * 2 ** (inBits - startShift)
    let table = ttb - (ttb % tableBytes)
    if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_walk_start, ctx.track, va, which, table, startLevel, inBits)
    if (table >= 2 ** ctx.oas) return this.fail(this.asfBit, startLevel)
    const oasShift = ctx.oas - 32
    let pxnT = 0
    let xnT = 0
    let apT0 = 0
    let apT1 = 0
    let nsT = 0
    for (let level = startLevel; ; level++) {
      const shift = 12 + 9 * (3 - level)
      const nbits = level === startLevel ? inBits - shift : 9
      const index = Math.floor(va / 2 ** shift) % 2 ** nbits
      const addr = table + index * 8
      if (!this.readDesc(addr, ctx.bigEndian)) {
        if (tracer?.on) tracer.instant(SMMU_TRACE.smmu_walk_level, ctx.track, level, table, index, addr, 0, 'bus error')
        return this.fail(FSR.EF, level, true)
      }
      const lo = this.dLo
      const hi = this.dHi
      const valid = (lo & 1) !== 0
      const isTable = valid && (lo & 2) !== 0 && level < 3
      if (tracer?.on) {
        const kind = !valid ? 'invalid' : isTable ? 'table' : level === 3 ? ((lo & 2) !== 0 ? 'page' : 'reserved') : level === 0 ? 'reserved block' : 'block'
        tracer.instant(SMMU_TRACE.smmu_walk_level, ctx.track, level, table, index, addr, (BigInt(hi) << 32n) | BigInt(lo), kind)
      }
      if (!valid) return this.fail(FSR.TF, level)
      // Level 3 type 0b01 is reserved; there are no level-0 blocks with a 4 KiB granule.
      if (!isTable && ((level === 3 && (lo & 2) === 0) || level === 0)) return this.fail(FSR.TF, level)
      // Output-address bits [47:32] beyond the output size: address-size fault
      // (after the translation checks, before the access flag and permissions).
      if (((hi & 0xffff) >>> oasShift) !== 0) return this.fail(this.asfBit, level)
      const oa = (hi & 0xffff) * TWO32 + ((lo & 0xfffff000) >>> 0)
      if (isTable) {
        pxnT |= (hi >>> 27) & 1
        xnT |= (hi >>> 28) & 1
        apT0 |= (hi >>> 29) & 1
        apT1 |= (hi >>> 30) & 1
        nsT |= hi >>> 31
        table = oa
        continue
      }
      // Access flag before permissions (spec §0 runners-up).
      if ((lo & (1 << 10)) === 0 && !ctx.affd) return this.fail(FSR.AFF, level)
      const size = 2 ** shift
      const e = new TlbEntry()
      e.level = level
      e.size = size
      e.vaBase = va - (va % size)
      e.pa = oa - (oa % size)
      e.asid = ctx.asid
      e.global = (lo & (1 << 11)) === 0
      e.sh = (lo >>> 8) & 3
      e.ns = ((lo >>> 5) & 1) !== 0 || nsT !== 0
      const attrIndx = (lo >>> 2) & 7
      e.attr = attrIndx < 4 ? (ctx.mair0 >>> (8 * attrIndx)) & 0xff : (ctx.mair1 >>> (8 * (attrIndx - 4))) & 0xff
      e.perms = leafPerms(ctx, lo, hi, apT0, apT1, xnT, pxnT)
      return e
    }
  }
}

/**
 * Resolves the access permissions of a leaf (spec §3.5, after QEMU
 * target/arm/ptw.c get_S1prot and the ARM ARM): AP[2:1] with APTable folded
 * in, XN/PXN with XNTable/PXNTable, SCTLR.WXN/UWXN, and for AArch64 contexts
 * the implicit PXN of user-writable pages.
 */
export function leafPerms(ctx: Context, lo: number, hi: number, apT0: number, apT1: number, xnT: number, pxnT: number): number {
  const ap2 = ((lo >>> 7) & 1) !== 0 || apT1 !== 0
  const ap1 = ((lo >>> 6) & 1) !== 0 && apT0 === 0
  const xn = ((hi >>> 22) & 1) !== 0 || xnT !== 0
  const pxn = ((hi >>> 21) & 1) !== 0 || pxnT !== 0
  const privW = !ap2
  const userR = ap1
  const userW = ap1 && !ap2
  let p: number = PERM.R_PRIV
  if (privW) p |= PERM.W_PRIV
  if (userR) p |= PERM.R_USER
  if (userW) p |= PERM.W_USER
  if (ctx.aarch64) {
    if (!xn && !(ctx.wxn && userW)) p |= PERM.X_USER
    if (!pxn && !userW && !(ctx.wxn && privW)) p |= PERM.X_PRIV
  } else {
    if (!xn && userR && !(ctx.wxn && userW)) p |= PERM.X_USER
    if (!xn && !pxn && !(ctx.uwxn && userW) && !(ctx.wxn && privW)) p |= PERM.X_PRIV
  }
  return p
}

/** The permission bit an access needs. Writes are always data writes. */
export function neededPerm(write: boolean, priv: boolean, instr: boolean): number {
  if (write) return priv ? PERM.W_PRIV : PERM.W_USER
  if (instr) return priv ? PERM.X_PRIV : PERM.X_USER
  return priv ? PERM.R_PRIV : PERM.R_USER
}
