// Narration of one translation as one sentence, from the SMMU's own trace
// declarations (records built by hand, as the SMMU would emit them).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SMMU_TRACE } from '@vfio-sim/mmu400'
import type { TraceEventDecl, TraceRecord } from '@vfio-sim/sim'
import { Narrator } from '../src/narrate.ts'

const rec = (decl: TraceEventDecl, track: string, ...args: unknown[]): TraceRecord => ({ ts: 0, phase: 'i', decl, track, args, flowId: 0 })

test('a walk that ends in a permission fault is one sentence', () => {
  const n = new Narrator()
  n.record(rec(SMMU_TRACE.smmu_stream_match, 'smmu/global', 3, 2, 0x0, 'translate', 0))
  n.record(rec(SMMU_TRACE.smmu_tlb_miss, 'smmu/cb0', 0x1000n, 1))
  n.record(rec(SMMU_TRACE.smmu_walk_start, 'smmu/cb0', 0x1000n, 0, 0x80001000n, 1, 32))
  n.record(rec(SMMU_TRACE.smmu_walk_level, 'smmu/cb0', 1, 0x80001000n, 0, 0x80001000n, 0x80002003n, 'table'))
  n.record(rec(SMMU_TRACE.smmu_walk_level, 'smmu/cb0', 3, 0x80003000n, 1, 0x80003008n, 0x0040000080005743n, 'page'))
  n.record(rec(SMMU_TRACE.smmu_perm, 'smmu/cb0', 0x1000n, 'instruction fetch', 'R W XN', false))
  n.record(rec(SMMU_TRACE.smmu_fault, 'smmu/cb0', 0x1000n, 0x8, 0x10, 'permission', true, 'abort'))
  assert.equal(n.lines, [
    '    SMR 2 matched stream 0x3 → translate context bank 0 → walk 0x1000 from TTBR0 0x80001000 → L1 0x80001000 = 0x80002003 (table)'
    + ' → L3 0x80003008 = 0x40000080005743 (page) → instruction fetch against R W XN is not allowed: permission fault at 0x1000 (FSR 0x8) → abort',
  ])
})

test('TLB hits are silent; an allowed walk ends with what was allowed', () => {
  const n = new Narrator()
  n.record(rec(SMMU_TRACE.smmu_stream_match, 'smmu/global', 1, 0, 0x0, 'translate', 1))
  n.record(rec(SMMU_TRACE.smmu_tlb_hit, 'smmu/cb1', 0x2000n, 0x80005000n, 3, 1))
  n.record(rec(SMMU_TRACE.smmu_walk_start, 'smmu/cb1', 0x3000n, 0, 0x80001000n, 1, 32))
  n.record(rec(SMMU_TRACE.smmu_perm, 'smmu/cb1', 0x3000n, 'data read', 'R W', true))
  n.flush()
  assert.equal(n.lines, ['    walk 0x3000 from TTBR0 0x80001000: data read allowed (R W)'])
})

test.run()
