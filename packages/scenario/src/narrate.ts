/**
 * Narration: trace events told in plain words for a learner. Events without
 * a better sentence are told by their own format string.
 */
import { formatTraceRecord, type TraceRecord } from '@vfio-sim/sim'
import type { Machine } from '@vfio-sim/machine'

/** One sentence for a trace record, or undefined to stay silent. */
export function narrate(r: TraceRecord, _m: Machine): string | undefined {
  if (r.decl === undefined || r.phase === 'E') return undefined
  const text = formatTraceRecord(r)
  if (r.decl.category === 'syscall') return `process ${text}`
  if (r.decl.category === 'user') return undefined
  return `[${r.track}] ${text}`
}
