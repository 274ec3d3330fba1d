/**
 * Stall mode (SCTLR.CFCFG = 1): held transactions and RESUME
 * (docs/decisions/0202). A held access is identified by its port, stream ID
 * and input page; RESUME releases the accesses held in its bank, and with
 * TnR = 1 marks the ones that faulted as terminated: their retry gets the
 * fault response once.
 */
import type { Register, RegisterFile, Scheduler, Tracer } from '@vfio-sim/sim'
import type { Context } from './context.ts'
import type { Mmu400Port } from './port.ts'
import { FSR } from './registers.ts'
import { SMMU_TRACE } from './trace.ts'

/** What {@link StallUnit.check} found for an access. */
export const HeldState = { NONE: 0, HELD: 1, TERMINATED_ABORT: 2, TERMINATED_RAZ: 3 } as const
/** One of {@link HeldState}. */
export type HeldState = (typeof HeldState)[keyof typeof HeldState]

/** Identifies a held access of a port: input page and stream ID. */
function heldKey(va: number, sid: number): number {
  return Math.floor(va / 4096) * 0x10000 + (sid & 0xffff)
}

/** Held transactions of every bank. */
export class StallUnit {
  private readonly waiters = new Map<Context, Mmu400Port[]>()
  private readonly mmio: RegisterFile
  private readonly fsrReg: Register
  private readonly scheduler: Scheduler | undefined
  private readonly tracer: Tracer | undefined

  constructor(mmio: RegisterFile, fsrReg: Register, scheduler: Scheduler | undefined, tracer: Tracer | undefined) {
    this.mmio = mmio
    this.fsrReg = fsrReg
    this.scheduler = scheduler
    this.tracer = tracer
  }

  /** Holds `port`'s access at `va` (stream `sid`) in bank `ctx`; `byFault` if it is the one that faulted. */
  hold(ctx: Context, port: Mmu400Port, va: number, sid: number, byFault: boolean): void {
    if (byFault) ctx.stalled = true
    const key = heldKey(va, sid)
    const k = port.heldKeys.indexOf(key)
    if (k < 0) {
      port.heldKeys.push(key)
      port.heldByFault.push(byFault)
      port.heldCtx.push(ctx)
    } else if (byFault) port.heldByFault[k] = true
    let list = this.waiters.get(ctx)
    if (list === undefined) this.waiters.set(ctx, (list = []))
    if (!list.includes(port)) list.push(port)
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_stall, ctx.track, va, sid)
  }

  /** What to do with `port`'s access at `va`: nothing special, still held, or the terminate response (consumed). */
  check(port: Mmu400Port, va: number, sid: number): HeldState {
    const key = heldKey(va, sid)
    const k = port.terminatedKeys.indexOf(key)
    if (k >= 0) {
      const abort = port.terminatedAbort[k]!
      port.terminatedKeys.splice(k, 1)
      port.terminatedAbort.splice(k, 1)
      return abort ? HeldState.TERMINATED_ABORT : HeldState.TERMINATED_RAZ
    }
    return port.heldKeys.includes(key) ? HeldState.HELD : HeldState.NONE
  }

  /** RESUME on bank `ctx`: releases its held accesses, retrying them or (TnR = 1) terminating the ones that faulted. */
  resume(ctx: Context, terminate: boolean): void {
    if (!ctx.stalled) return
    ctx.stalled = false
    const i = ctx.index
    this.mmio.set(this.fsrReg, (this.mmio.get(this.fsrReg, i) & ~FSR.SS) >>> 0, i)
    const list = this.waiters.get(ctx) ?? []
    this.waiters.delete(ctx)
    if (this.tracer?.on) this.tracer.instant(SMMU_TRACE.smmu_resume, ctx.track, terminate ? 'terminate' : 'retry', list.length)
    for (const p of list) {
      for (let k = p.heldKeys.length - 1; k >= 0; k--) {
        if (p.heldCtx[k] !== ctx) continue
        if (terminate && p.heldByFault[k]) {
          p.terminatedKeys.push(p.heldKeys[k]!)
          p.terminatedAbort.push(ctx.cfre)
        }
        p.heldKeys.splice(k, 1)
        p.heldByFault.splice(k, 1)
        p.heldCtx.splice(k, 1)
      }
      this.notify(p)
    }
  }

  /** SMMU reset: every held access is forgotten and its master told to retry. */
  reset(contexts: readonly Context[]): void {
    const held = new Set([...this.waiters.values()].flat())
    this.waiters.clear()
    for (const ctx of contexts) ctx.stalled = false
    for (const p of held) {
      p.clearStall()
      this.notify(p)
    }
  }

  private notify(p: Mmu400Port): void {
    if (this.scheduler !== undefined) this.scheduler.schedule(0, () => p.notifyResume(), 'smmu resume')
    else p.notifyResume()
  }
}
