/**
 * Models drivers/dma/pl330.c, the `dma-pl330` driver, as far as binding
 * goes: probe reads the peripheral ID and the configuration registers
 * (CR0, CR3, CR4, CRD) through MMIO, refuses a device whose ID is not a
 * PL330 ("PERIPH_ID 0x%x !", -EINVAL) or that has no events, requests every
 * interrupt the device lists and prints Linux's two "Loaded driver" lines;
 * the interrupt handler follows pl330_update() (reset faulting channels
 * with DMAKILL, clear signalled interrupts); remove frees the interrupts.
 * No dmaengine clients exist in the simulation, so the driver never starts
 * transfers itself.
 *
 * Two flavours: the AMBA driver of Linux (id 0x00041330 mask 0x000fffff)
 * and a platform driver matching `compatible = "arm,pl330"` for boards
 * that describe the PL330 as a plain platform device, as the 2014 FVP setup
 * of the VFIO platform RFC did (docs/decisions/0553-dma-pl330-platform-flavour.md).
 *
 * Register offsets are this driver's own (as Linux's pl330.c keeps its own),
 * not imported from the PL330 model.
 */
import { BusResp, IrqReturn } from '@vfio-sim/sim'
import { errnoNumber } from '@vfio-sim/uapi'
import { isKernelError } from '../../errno.ts'
import type { Kernel } from '../../kernel.ts'
import { AmbaDevice, ambaDriverRegister } from '../amba/bus.ts'
import { type Device, devErr, devInfo } from '../base/core.ts'
import { E, type DeviceDriver } from '../base/driver.ts'
import { platformDriverRegister } from '../base/platform.ts'

/** Register offsets (drivers/dma/pl330.c). */
const FSM = 0x030
const FSC = 0x034
const INTEN = 0x020
const ES = 0x024
const INTCLR = 0x02c
const ftc = (n: number): number => 0x040 + n * 4
const cs = (n: number): number => 0x100 + n * 8
const CR0 = 0xe00
const CR3 = 0xe0c
const CR4 = 0xe10
const CRD = 0xe14
const DBGSTATUS = 0xd00
const DBGCMD = 0xd04
const DBGINST0 = 0xd08
const DBGINST1 = 0xd0c
const PERIPH_ID = 0xfe0
/** PERIPH_ID_VAL: ARM (0x41) part 0x330, revision ignored. */
const PERIPH_ID_VAL = (0x41 << 12) | 0x330
/** CR0 fields. */
const CR0_PERIPH_REQ_SET = 1 << 0
const CR0_BOOT_MAN_NS = 1 << 2
/** DMAKILL opcode. */
const CMD_DMAKILL = 0x01

/** What probe read from the DMAC (struct pl330_config). */
export interface Pl330Cfg {
  readonly periphId: number
  readonly dataBusWidth: number
  readonly dataBufDep: number
  readonly numChan: number
  readonly numPeri: number
  readonly periNs: number
  readonly modeNs: boolean
  readonly numEvents: number
  readonly irqNs: number
}

/** Driver state of one bound PL330 (struct pl330_dmac). */
export interface Pl330Dmac {
  readonly base: number
  readonly cfg: Pl330Cfg
  readonly irqs: readonly number[]
}

function readl(kernel: Kernel, addr: number): number {
  return kernel.sys.bus.readN(addr, 4) >>> 0
}

function writel(kernel: Kernel, addr: number, v: number): void {
  kernel.sys.bus.writeN(addr, 4, v >>> 0)
}

/** The peripheral ID read from PERIPH_ID0..3 (get_id), for the platform flavour. */
function readPeriphId(kernel: Kernel, base: number): number {
  let id = 0
  for (let i = 0; i < 4; i++) {
    const v = kernel.sys.bus.readN(base + PERIPH_ID + 4 * i, 4)
    id |= ((kernel.sys.bus.resp === BusResp.OKAY ? v : 0) & 0xff) << (8 * i)
  }
  return id >>> 0
}

/** read_dmac_config. */
function readDmacConfig(kernel: Kernel, base: number, periphId: number): Pl330Cfg {
  const crd = readl(kernel, base + CRD)
  const cr0 = readl(kernel, base + CR0)
  const numPeri = cr0 & CR0_PERIPH_REQ_SET ? ((cr0 >>> 12) & 0x1f) + 1 : 0
  return {
    periphId,
    dataBusWidth: 8 * (1 << (crd & 0x7)),
    dataBufDep: ((crd >>> 20) & 0x3ff) + 1,
    numChan: ((cr0 >>> 4) & 0x7) + 1,
    numPeri,
    periNs: numPeri > 0 ? readl(kernel, base + CR4) : 0,
    modeNs: (cr0 & CR0_BOOT_MAN_NS) !== 0,
    numEvents: ((cr0 >>> 17) & 0x1f) + 1,
    irqNs: readl(kernel, base + CR3),
  }
}

/** _execute_DBGINSN: one debug instruction (DMAKILL) on a channel or the manager. */
function executeDbgInsn(kernel: Kernel, dev: Device, base: number, insn0: number, chan: number | 'manager'): void {
  if (readl(kernel, base + DBGSTATUS) & 1) {
    devErr(dev, 'DMAC halted!')
    return
  }
  let v = insn0 << 16
  if (chan !== 'manager') v |= 1 | (chan << 8)
  writel(kernel, base + DBGINST0, v)
  writel(kernel, base + DBGINST1, 0)
  writel(kernel, base + DBGCMD, 0)
}

/** pl330_update: the interrupt handler. */
function pl330Update(kernel: Kernel, dev: Device, pl: Pl330Dmac): IrqReturn {
  const { base, cfg } = pl
  let handled = false
  if (readl(kernel, base + FSM) & 1) {
    executeDbgInsn(kernel, dev, base, CMD_DMAKILL, 'manager')
    handled = true
  }
  const fsc = readl(kernel, base + FSC) & ((1 << cfg.numChan) - 1)
  for (let i = 0; i < cfg.numChan; i++) {
    if (!(fsc & (1 << i))) continue
    devInfo(dev, `Reset Channel-${i}\t CS-${readl(kernel, base + cs(i)).toString(16)} FTC-${readl(kernel, base + ftc(i)).toString(16)}`)
    executeDbgInsn(kernel, dev, base, CMD_DMAKILL, i)
    handled = true
  }
  const es = readl(kernel, base + ES)
  if (cfg.numEvents < 32 && (es & ~((1 << cfg.numEvents) - 1)) !== 0) {
    devErr(dev, 'pl330_update:1597 Unexpected!')
    return IrqReturn.HANDLED
  }
  for (let ev = 0; ev < cfg.numEvents; ev++) {
    if (!(es & (1 << ev))) continue
    handled = true
    const inten = readl(kernel, base + INTEN)
    if (inten & (1 << ev)) writel(kernel, base + INTCLR, (1 << ev) >>> 0)
  }
  return handled ? IrqReturn.HANDLED : IrqReturn.NONE
}

/** pl330_probe, shared by both flavours; `periphId` comes from the bus (AMBA) or the driver's own read (platform). */
function pl330Probe(kernel: Kernel, dev: Device, periphId: number): number {
  const res = dev.memResources[0]
  if (res === undefined) return -E.EINVAL
  const base = Number(res.start)
  // pl330_add: check the ID, then read the configuration.
  if ((periphId & 0xfffff) !== PERIPH_ID_VAL) {
    devErr(dev, `PERIPH_ID 0x${periphId.toString(16)} !`)
    return -E.EINVAL
  }
  const cfg = readDmacConfig(kernel, base, periphId)
  if (cfg.numEvents === 0) {
    devErr(dev, "pl330_add:2996 Can't work without events!")
    return -E.EINVAL
  }
  const pl: Pl330Dmac = { base, cfg, irqs: dev.irqs }
  // devm_request_irq(irq, pl330_irq_handler, 0, dev_name, pl330) for every interrupt the device has.
  const requested: number[] = []
  for (const irq of pl.irqs) {
    try {
      kernel.irq.request(irq, () => pl330Update(kernel, dev, pl), 0, dev.name, pl)
      requested.push(irq)
    } catch (e) {
      for (const r of requested) kernel.irq.free(r, pl)
      return isKernelError(e) ? -(errnoNumber(e.code) ?? E.EINVAL) : -E.EINVAL
    }
  }
  dev.driverData = pl
  devInfo(dev, `Loaded driver for PL330 DMAC-${periphId.toString(16)}`)
  devInfo(dev, `\tDBUFF-${cfg.dataBufDep}x${cfg.dataBusWidth / 8}bytes Num_Chans-${cfg.numChan} Num_Peri-${cfg.numPeri} Num_Events-${cfg.numEvents}`)
  return 0
}

/** pl330_remove: frees the interrupts. */
function pl330Remove(kernel: Kernel, dev: Device): void {
  const pl = dev.driverData as Pl330Dmac | undefined
  if (pl === undefined) return
  for (const irq of pl.irqs) kernel.irq.free(irq, pl)
}

/** The AMBA `dma-pl330` driver (as Linux's). */
export function pl330AmbaDriver(kernel: Kernel): DeviceDriver {
  return {
    name: 'dma-pl330',
    bus: 'amba',
    ambaIds: [{ id: 0x00041330, mask: 0x000fffff }],
    probe: dev => pl330Probe(kernel, dev, dev instanceof AmbaDevice ? dev.periphid : 0),
    remove: dev => pl330Remove(kernel, dev),
  }
}

/** The platform flavour of `dma-pl330` (matches compatible "arm,pl330"; reads the ID itself). */
export function pl330PlatformDriver(kernel: Kernel): DeviceDriver {
  return {
    name: 'dma-pl330',
    bus: 'platform',
    ofMatchTable: ['arm,pl330'],
    probe: dev => {
      const res = dev.memResources[0]
      return pl330Probe(kernel, dev, res === undefined ? 0 : readPeriphId(kernel, Number(res.start)))
    },
    remove: dev => pl330Remove(kernel, dev),
  }
}

/** module_amba_driver + the platform flavour: registers both `dma-pl330` drivers. Returns 0 or the first error. */
export function pl330Init(kernel: Kernel): number {
  const a = ambaDriverRegister(kernel, pl330AmbaDriver(kernel))
  const p = platformDriverRegister(kernel, pl330PlatformDriver(kernel))
  return a !== 0 ? a : p
}
