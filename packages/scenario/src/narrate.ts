/**
 * Narration: what happened inside, in plain words for a learner. SMMU
 * events of one translation are told as one sentence ("SMR 2 matched
 * stream 0x3 → context bank 0; walk TTBR0 … → L1 … → L3 …: permission
 * fault"); TLB hits and individual PL330 instructions stay silent (there
 * are too many to read); faults, interrupts, state changes and system calls
 * are told one per line.
 */
import { formatTraceArg, formatTraceRecord, type TraceRecord } from '@vfio-sim/sim'

function arg(r: TraceRecord, name: string): string {
  const d = r.decl!
  const i = d.args.findIndex(a => a.name === name)
  return i < 0 ? '?' : formatTraceArg(d.args[i]!.type, r.args[i])
}

/** Turns trace records into sentences. */
export class Narrator {
  /** Sentences so far. */
  readonly lines: string[] = []
  private match: string | undefined
  private walk: string[] = []

  private flushWalk(end?: string): void {
    if (this.walk.length === 0 && end === undefined) return
    const parts = [...(this.match !== undefined ? [this.match] : []), ...this.walk]
    this.lines.push(`    ${parts.join(' → ')}${end !== undefined ? `: ${end}` : ''}`)
    this.walk = []
    this.match = undefined
  }

  /** Takes one record. */
  record(r: TraceRecord): void {
    const d = r.decl
    if (d === undefined || r.phase === 'E') return
    switch (d.name) {
      case 'smmu_stream_match':
        this.flushWalk()
        this.match = `SMR ${arg(r, 'smr')} matched stream ${arg(r, 'sid')} → ${arg(r, 'type')} context bank ${arg(r, 'cb')}`
        return
      case 'smmu_tlb_hit':
        this.match = undefined
        return
      case 'smmu_tlb_miss':
        return
      case 'smmu_walk_start':
        this.walk.push(`walk ${arg(r, 'va')} from TTBR${arg(r, 'ttbr')} ${arg(r, 'base')}`)
        return
      case 'smmu_walk_level':
        this.walk.push(`L${arg(r, 'level')} ${arg(r, 'addr')} = ${arg(r, 'desc')} (${arg(r, 'kind')})`)
        return
      case 'smmu_perm':
        if (r.args[3] === true) {
          // A permission check after a TLB hit has no walk to end: stay silent.
          if (this.walk.length > 0) this.flushWalk(`${arg(r, 'access')} allowed (${arg(r, 'perms')})`)
          this.match = undefined
        }
        else this.walk.push(`${arg(r, 'access')} against ${arg(r, 'perms')} is not allowed`)
        return
      case 'smmu_stall':
        this.walk.push(`transaction stalled`)
        return
      case 'smmu_resume':
        this.flushWalk()
        this.lines.push(`    [${r.track}] RESUME ${arg(r, 'action')}: ${arg(r, 'waiters')} stalled transaction(s) released`)
        return
      case 'smmu_fault':
        this.flushWalk(`${arg(r, 'kind')} fault at ${arg(r, 'va')} (FSR ${arg(r, 'fsr')}) → ${arg(r, 'outcome')}`)
        return
      case 'user_access':
      case 'pl330_insn':
      case 'pl330_bus':
        return
    }
    this.flushWalk()
    if (d.category === 'syscall') this.lines.push(`    process ${formatTraceRecord(r)}`)
    else this.lines.push(`    [${r.track}] ${formatTraceRecord(r)}`)
  }

  /** Ends the current sentence (at the end of a step). */
  flush(): void {
    this.flushWalk()
  }
}
