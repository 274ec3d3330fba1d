/**
 * Boards, described as device trees. Each board is a `.dts` file next to this
 * one; {@link buildBoard} parses it, builds the hardware it describes (DRAM,
 * MMU-400 SMMUs, PL330s, their interrupt wiring) on the kernel's SimSystem,
 * then does what the kernel does at boot: prints the machine model, fills
 * /sys/firmware/devicetree, creates the platform and AMBA devices
 * (of_platform_populate) and registers the built-in drivers (dma-pl330,
 * which probes the devices through MMIO, then the amba-proxy stub).
 */
import { readFileSync, readdirSync } from 'node:fs'
import {
  type Device, type DtNode, type Kernel,
  ofAddressToResource, ofDeviceIsAvailable, ofDeviceIsCompatible, ofFindNodeByPhandle, ofIrqParse, ofNodeFullName,
  ofPlatformPopulate, ofPopulateSysfs, ofPropertyReadBool, ofPropertyReadString, ofPropertyReadU32, ofPropertyReadU32Array,
  ambaStubInit, deferredProbeInitcall, driverCore, parseDts, pl330Init,
  armSmmuInit, iommuSubsysInit, type ArmSmmuOptions, type IommuCoreOptions,
  vfioInit, vfioPlatformPl330ResetInit, vfioPlatformInit, vfioAmbaInit,
} from '@vfio-sim/kernel'
import { Mmu400 } from '@vfio-sim/mmu400'
import { Pl330, type Pl330Config } from '@vfio-sim/pl330'

/** An SMMU built from a board node. */
export interface BoardSmmu {
  readonly node: DtNode
  /** Base address of the register window. */
  readonly base: number
  readonly model: Mmu400
}

/** A PL330 built from a board node. */
export interface BoardDma {
  readonly node: DtNode
  readonly base: number
  readonly model: Pl330
  /** The SMMU its master port goes through (undefined: straight onto the interconnect). */
  readonly smmu: BoardSmmu | undefined
  /** Interrupt-controller inputs: irq_abort, then irq[0..]. */
  readonly irqs: readonly number[]
}

/** A built board: its device tree, hardware models and kernel devices. */
export interface Board {
  readonly name: string
  /** The .dts source the board was built from. */
  readonly source: string
  /** The parsed tree. */
  readonly dt: DtNode
  /** `model` of the root node. */
  readonly model: string
  readonly smmus: readonly BoardSmmu[]
  readonly dmas: readonly BoardDma[]
  /** Devices created by of_platform_populate, in creation order. */
  readonly devices: readonly Device[]
  /** A created device by name ("2c0a0000.dma"), or undefined. */
  device(name: string): Device | undefined
}

const BOARD_DIR = new URL('../../src/boards/', import.meta.url)

/** Names of the boards (the .dts files of this directory), sorted. */
export function boardNames(): string[] {
  return readdirSync(BOARD_DIR).filter(f => f.endsWith('.dts')).map(f => f.slice(0, -4)).sort()
}

/** The .dts source of board `name` (Error naming the known boards if unknown). */
export function boardSource(name: string): string {
  if (!boardNames().includes(name)) throw new Error(`unknown board '${name}'; known boards: ${boardNames().join(', ')}`)
  return readFileSync(new URL(`${name}.dts`, BOARD_DIR), 'utf8')
}

/** Boot options of a board (what a kernel command line and config would choose). */
export interface BoardOptions {
  /**
   * Boot the IOMMU core and the arm-smmu driver (IOMMU groups, default
   * domains, DMA ownership) and load the VFIO modules. On by default;
   * `false` gives a board whose devices have no IOMMU (and no VFIO), or
   * pass the driver's and core's options (`disableBypass`,
   * `skipTlbInvalidateOnUnmap`, `defaultDomainType`, …).
   */
  readonly iommu?: boolean | (ArmSmmuOptions & IommuCoreOptions)
}

/** Builds board `name` into `kernel` (see the module comment). */
export function buildBoard(kernel: Kernel, name: string, opts: BoardOptions = {}): Board {
  return buildBoardFromSource(kernel, name, boardSource(name), opts)
}

function allNodes(root: DtNode): DtNode[] {
  const out: DtNode[] = []
  const walk = (n: DtNode): void => {
    out.push(n)
    n.children.forEach(walk)
  }
  walk(root)
  return out
}

function regBase(node: DtNode): { base: number; size: number } {
  const r = ofAddressToResource(node, 0)
  if (r === undefined) throw new Error(`board: ${ofNodeFullName(node)} has no translatable reg`)
  return { base: Number(r.start), size: Number(r.end - r.start + 1n) }
}

/** Builds a board from device-tree source text (for tests and user-made boards). */
export function buildBoardFromSource(kernel: Kernel, name: string, source: string, opts: BoardOptions = {}): Board {
  const dt = parseDts(source, `${name}.dts`)
  const sys = kernel.sys
  const model = ofPropertyReadString(dt, 'model') ?? name
  kernel.printk('info', `Machine model: ${model}`)
  const nodes = allNodes(dt).filter(n => n.parent === undefined || ofDeviceIsAvailable(n))

  // DRAM.
  for (const n of nodes) {
    if (ofPropertyReadString(n, 'device_type') !== 'memory') continue
    const cells = ofPropertyReadU32Array(n, 'reg') ?? []
    for (let i = 0; i + 4 <= cells.length; i += 4) {
      const base = cells[i]! * 2 ** 32 + cells[i + 1]!
      const size = cells[i + 2]! * 2 ** 32 + cells[i + 3]!
      sys.bus.addRam(`${n.name}${i === 0 ? '' : `.${i / 4}`}`, base, size)
    }
  }

  // SMMUs: the first #global-interrupts entries are global fault lines, the rest context lines.
  const smmus: BoardSmmu[] = []
  for (const n of nodes) {
    if (!ofDeviceIsCompatible(n, 'arm,mmu-400') && !ofDeviceIsCompatible(n, 'arm,smmu-v1')) continue
    const { base } = regBase(n)
    const irqs = ofIrqParse(n).map(i => i.irq)
    const nGlobal = ofPropertyReadU32(n, '#global-interrupts') ?? 1
    const model = new Mmu400({
      bus: sys.bus, tracer: sys.tracer, scheduler: sys.scheduler,
      config: {
        ...(ofPropertyReadU32(n, 'vfio-sim,context-banks') !== undefined ? { contextBanks: ofPropertyReadU32(n, 'vfio-sim,context-banks')! } : {}),
        ...(ofPropertyReadU32(n, 'vfio-sim,smr-groups') !== undefined ? { smrGroups: ofPropertyReadU32(n, 'vfio-sim,smr-groups')! } : {}),
        ...(ofPropertyReadU32(n, 'vfio-sim,stream-id-bits') !== undefined ? { streamIdBits: ofPropertyReadU32(n, 'vfio-sim,stream-id-bits')! } : {}),
        coherentWalk: ofPropertyReadBool(n, 'dma-coherent'),
      },
      irqs: { global: irqs.slice(0, nGlobal).map(i => sys.irqc.line(i)), context: irqs.slice(nGlobal).map(i => sys.irqc.line(i)) },
    })
    sys.bus.addDevice(base, model.mmio, `smmu@${base.toString(16)}`)
    smmus.push({ node: n, base, model })
  }

  // PL330s: interrupts[0] is irq_abort, interrupts[1 + n] is irq[n].
  const dmas: BoardDma[] = []
  for (const n of nodes) {
    if (!ofDeviceIsCompatible(n, 'arm,pl330')) continue
    const { base } = regBase(n)
    const irqs = ofIrqParse(n).map(i => i.irq)
    const iommus = ofPropertyReadU32Array(n, 'iommus')
    const smmuNode = iommus !== undefined && iommus.length > 0 ? ofFindNodeByPhandle(n, iommus[0]!) : undefined
    const smmu = smmus.find(s => s.node === smmuNode)
    const config: Partial<Pl330Config> = {
      mgrNsAtReset: ofPropertyReadBool(n, 'vfio-sim,boot-manager-ns'),
      irqNs: ofPropertyReadU32(n, 'vfio-sim,irq-ns') ?? 0,
      periphNs: ofPropertyReadU32(n, 'vfio-sim,periph-ns') ?? 0,
    }
    const streamIds = ofPropertyReadU32Array(n, 'vfio-sim,stream-ids')
    const model = new Pl330({
      port: smmu !== undefined ? smmu.model.port() : sys.bus,
      scheduler: sys.scheduler,
      tracer: sys.tracer,
      ...(irqs[0] !== undefined ? { abortIrq: sys.irqc.line(irqs[0]) } : {}),
      irqs: irqs.slice(1).map(i => sys.irqc.line(i)),
      config,
      ...(streamIds !== undefined ? { streamIds } : {}),
      name: `pl330@${base.toString(16)}`,
    })
    sys.bus.addDevice(base, model.mmio, `pl330@${base.toString(16)}`)
    dmas.push({ node: n, base, model, smmu, irqs })
  }

  // The kernel's boot: the firmware tree, the devices, the built-in drivers.
  ofPopulateSysfs(kernel, dt)
  const devices = ofPlatformPopulate(kernel, dt)
  const iommu = opts.iommu ?? true
  if (iommu !== false) {
    const o = iommu === true ? {} : iommu
    iommuSubsysInit(kernel, o.defaultDomainType !== undefined ? { defaultDomainType: o.defaultDomainType } : {}) // subsys_initcall
    armSmmuInit(kernel, o) // the SMMU probes before its masters (fw_devlink supplier order)
  }
  pl330Init(kernel) // device_initcall
  ambaStubInit(kernel) // late_initcall_sync
  deferredProbeInitcall(driverCore(kernel)) // late_initcall: retry what deferred during boot
  if (iommu !== false) {
    // VFIO modules (loaded after boot: they bind nothing until driver_override asks).
    vfioInit(kernel)
    vfioPlatformPl330ResetInit(kernel)
    vfioPlatformInit(kernel)
    vfioAmbaInit(kernel)
  }
  return {
    name, source, dt, model, smmus, dmas, devices,
    device: (dev: string) => devices.find(d => d.name === dev),
  }
}
