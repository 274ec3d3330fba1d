/**
 * Trace events of the SMMU: one at every decision a workshop learner wants
 * to see (stream match, each walk level, permission check, fault, TLB
 * hit/miss/invalidate, stall and resume, ATOS). Tracks: `smmu/global` and
 * `smmu/cbN`.
 */
import { defineTraceEvents } from '@vfio-sim/sim'

/** The SMMU's trace events. */
export const SMMU_TRACE = defineTraceEvents({
  smmu_stream_match: ['smmu', 'sid:hex smr:int s2cr:hex type:str cb:int', 'stream {sid}: SMR {smr} -> S2CR {s2cr} ({type}, cb {cb})'],
  smmu_bypass: ['smmu', 'sid:hex addr:hex64 why:str', 'stream {sid}: {addr} bypasses translation ({why})'],
  smmu_tlb_hit: ['smmu', 'va:hex64 pa:hex64 level:u32 asid:int', 'TLB hit {va} -> {pa} (level {level}, asid {asid})'],
  smmu_tlb_miss: ['smmu', 'va:hex64 asid:int', 'TLB miss {va} (asid {asid}): walk'],
  smmu_walk_start: ['smmu', 'va:hex64 ttbr:u32 base:hex64 level:u32 inbits:u32', 'walk {va}: TTBR{ttbr} table {base}, start level {level}, {inbits}-bit input'],
  smmu_walk_level: ['smmu', 'level:u32 table:hex64 index:u32 addr:hex64 desc:hex64 kind:str', 'L{level} table {table}[{index}] @ {addr} = {desc} ({kind})'],
  smmu_perm: ['smmu', 'va:hex64 access:str perms:str ok:bool', 'permission check {va}: {access} against {perms}: ok={ok}'],
  smmu_fault: ['smmu', 'va:hex64 fsr:hex fsynr0:hex kind:str first:bool outcome:str', 'context fault {kind} at {va}: FSR {fsr} FSYNR0 {fsynr0} (first={first}) -> {outcome}'],
  smmu_gfault: ['smmu', 'kind:str sid:hex addr:hex64 gfsr:hex outcome:str', 'global fault {kind}: stream {sid} addr {addr}, sGFSR {gfsr} -> {outcome}'],
  smmu_tlb_inval: ['smmu', 'op:str va:hex64 asid:int removed:u32', 'TLB invalidate {op} va {va} asid {asid}: {removed} entries removed'],
  smmu_stall: ['smmu', 'va:hex64 sid:hex', 'transaction at {va} from stream {sid} stalled'],
  smmu_resume: ['smmu', 'action:str waiters:u32', 'RESUME {action}: {waiters} master(s) released'],
  smmu_atos: ['smmu', 'op:str va:hex64 par:hex64', '{op} {va} -> PAR {par}'],
  smmu_irq: ['smmu', 'line:str level:bool', 'interrupt {line} -> {level}'],
})
