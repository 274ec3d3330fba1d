/**
 * Numbers the PL330 (CoreLink DMA-330) publishes: thread states as DSR/CSRn
 * encode them, fault bits of FTRD/FTRn, and the fixed identification values.
 * Sources: /work/shared/spec/pl330.md §4.1 and §7.1 (ARM DDI 0424 text as
 * reproduced by the NEXTCHIP/Zynq register headers).
 */

/**
 * Thread states, with the numeric codes of DSR[3:0] (manager) and
 * CSRn[3:0] (channels). 6 was "Queue busy" on r0p0 only; 10..13 are reserved.
 */
export const ThreadState = {
  Stopped: 0,
  Executing: 1,
  CacheMiss: 2,
  UpdatingPc: 3,
  WaitingForEvent: 4,
  AtBarrier: 5,
  WaitingForPeripheral: 7,
  Killing: 8,
  Completing: 9,
  FaultingCompleting: 14,
  Faulting: 15,
} as const
/** One of {@link ThreadState}. */
export type ThreadState = (typeof ThreadState)[keyof typeof ThreadState]

/** Name of a state code, for traces and messages. */
export function threadStateName(s: number): string {
  for (const [k, v] of Object.entries(ThreadState)) if (v === s) return k
  return `state${s}`
}

/**
 * Fault bits of FTRD (manager) and FTRn (channels). Note bit 12 is
 * `mfifo_err` and bit 13 `st_data_unavailable`: QEMU's macro names for
 * these two are swapped (spec §1 point 7).
 */
export const FaultBit = {
  undef_instr: 1 << 0,
  operand_invalid: 1 << 1,
  /** Manager only: a non-secure manager started a secure channel. */
  dmago_err: 1 << 4,
  /** mgr_evnt_err on the manager, ch_evnt_err on a channel. */
  evnt_err: 1 << 5,
  ch_periph_err: 1 << 6,
  ch_rdwr_err: 1 << 7,
  mfifo_err: 1 << 12,
  st_data_unavailable: 1 << 13,
  instr_fetch_err: 1 << 16,
  data_write_err: 1 << 17,
  data_read_err: 1 << 18,
  dbg_instr: 1 << 30,
  lockup_err: 2 ** 31,
} as const

/** Names of the bits set in a fault-type value, lowest first. */
export function faultNames(ftr: number): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(FaultBit)) if ((ftr & v) !== 0 || (v === FaultBit.lockup_err && ftr >= 2 ** 31)) out.push(k)
  return out
}

/** PrimeCell identification (pcell_id 0..3 = 0xB105F00D little-endian bytes). */
export const PCELL_ID = [0x0d, 0xf0, 0x05, 0xb1] as const
