/**
 * A vfio-platform reset module for the ARM PL330 DMA controller
 * (compatible "arm,pl330"), in the style of drivers/vfio/platform/reset/*:
 * the reset is done by the host kernel through the device's registers,
 * not by a hardware reset line. Linux has no such module (a PL330 binds to
 * vfio-platform upstream only with reset_required=0); this one exists so
 * the upstream profile can bind the FVP's PL330 with the default
 * parameters, and so a device handed back after use is quiet.
 *
 * Sequence (PL330 TRM debug interface, as drivers/dma/pl330.c uses it):
 *  1. wait for DBGSTATUS idle;
 *  2. DMAKILL every channel thread (CR0.num_chnls + 1 of them), then the
 *     manager — the only way out of Faulting, and it stops any transfer;
 *  3. clear every event and interrupt: INTEN = all events (a pending event
 *     becomes a raised interrupt), INTCLR = all, then INTEN = 0.
 * Afterwards every thread is Stopped with no fault, the abort and event
 * interrupt lines are low, and no event is pending.
 */
import type { Kernel } from '../../../../kernel.ts'
import { vfioPlatformRegisterReset, vfioPlatformUnregisterReset } from '../vfio_platform_common.ts'
import type { VfioPlatformDevice } from '../vfio_platform_private.ts'

/** Register offsets (this module's own, as a reset module keeps its own). */
const INTEN = 0x020
const INTCLR = 0x02c
const DBGSTATUS = 0xd00
const DBGCMD = 0xd04
const DBGINST0 = 0xd08
const DBGINST1 = 0xd0c
const CR0 = 0xe00
/** DMAKILL opcode; DBGINST0 fields: byte0 [23:16], channel [10:8], debug thread [0] (1 = channel). */
const DMAKILL = 0x01
/** Polls of DBGSTATUS before giving up (Linux's _until_dmac_idle loops on a timeout). */
const IDLE_POLLS = 1000

/** The compatible string the handler is registered for. */
export const PL330_RESET_COMPAT = 'arm,pl330'

/** Resets the PL330 behind `vdev` through MMIO. 0, or -ETIMEDOUT if the debug interface stays busy. */
export function vfioPlatformPl330Reset(kernel: Kernel, vdev: VfioPlatformDevice): number {
  const res = vdev.glue.getResource(0)
  if (res === undefined) return -22
  const base = Number(res.start)
  const bus = kernel.sys.bus
  const rd = (off: number): number => bus.readN(base + off, 4) >>> 0
  const wr = (off: number, v: number): void => {
    bus.writeN(base + off, 4, v >>> 0)
  }
  const idle = (): boolean => {
    for (let i = 0; i < IDLE_POLLS; i++) if ((rd(DBGSTATUS) & 1) === 0) return true
    return false
  }
  const kill = (inst0: number): boolean => {
    if (!idle()) return false
    wr(DBGINST0, inst0)
    wr(DBGINST1, 0)
    wr(DBGCMD, 0)
    return true
  }
  const cr0 = rd(CR0)
  const numChan = ((cr0 >>> 4) & 0x7) + 1
  const numEvents = ((cr0 >>> 17) & 0x1f) + 1
  for (let ch = 0; ch < numChan; ch++) if (!kill((DMAKILL << 16) | (ch << 8) | 1)) return -110
  if (!kill(DMAKILL << 16)) return -110
  const all = numEvents >= 32 ? 0xffff_ffff : (1 << numEvents) - 1
  wr(INTEN, all)
  wr(INTCLR, all)
  wr(INTEN, 0)
  return 0
}

/** module_vfio_reset_handler("arm,pl330", …): registers the handler in `kernel`. */
export function vfioPlatformPl330ResetInit(kernel: Kernel): void {
  vfioPlatformRegisterReset(kernel, PL330_RESET_COMPAT, vdev => vfioPlatformPl330Reset(kernel, vdev))
}

/** Module exit: unregisters the handler. */
export function vfioPlatformPl330ResetExit(kernel: Kernel): void {
  vfioPlatformUnregisterReset(kernel, PL330_RESET_COMPAT)
}
