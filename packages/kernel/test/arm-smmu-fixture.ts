/**
 * Shared set-up for the IOMMU-core and arm-smmu tests: a kernel with 2 GiB
 * of DRAM, an MMU-400 model at 0x2b400000 (global fault IRQ 70, context
 * IRQ 71), and test masters described in the device tree with `iommus`.
 * The masters are platform devices with compatible "vfio-sim,test-master";
 * {@link kernelDriver} and {@link userDriver} bind them like a DMA-API
 * driver and a driver_managed_dma one (vfio-platform).
 */
import { Mmu400, TestMaster, type Mmu400Config } from '@vfio-sim/mmu400'
import { Kernel, type KernelProfile } from '../src/kernel.ts'
import { parseDts } from '../src/of/dtc-parser.ts'
import { ofPlatformPopulate } from '../src/of/platform.ts'
import { ofPopulateSysfs } from '../src/of/kobj.ts'
import type { Device } from '../src/drivers/base/core.ts'
import type { DeviceDriver } from '../src/drivers/base/driver.ts'
import { platformDriverRegister } from '../src/drivers/base/platform.ts'
import { armSmmuInit, armSmmuDevices, type ArmSmmuDevice, type ArmSmmuOptions } from '../src/drivers/iommu/arm/arm-smmu/arm-smmu.ts'
import { iommuSubsysInit } from '../src/drivers/iommu/iommu.ts'

export const SZ_4K = 0x1000
export const SZ_2M = 0x20_0000
export const SZ_1G = 0x4000_0000
export const SMMU_BASE = 0x2b40_0000
export const GLOBAL_IRQ = 70
export const CONTEXT_IRQ = 71

/** One master: its node name suffix and `iommus` specifiers (cells after the phandle). */
export interface MasterSpec {
  readonly name: string
  readonly iommus: readonly (readonly number[])[]
}

/** The device tree of the test board. */
export function testDts(masters: readonly MasterSpec[], iommuCells = 1, extraSmmuProps = '', coherent = true): string {
  const nodes = masters.map((m, i) => `
		master@${(0x2c00_0000 + i * 0x1000).toString(16)} {
			compatible = "vfio-sim,test-master";
			reg = <0x0 0x${(0x2c00_0000 + i * 0x1000).toString(16)} 0x0 0x1000>;
			iommus = ${m.iommus.map(c => `<&smmu ${c.join(' ')}>`).join(', ')};
		};`).join('')
  return `/dts-v1/;
/ {
	model = "iommu test board";
	interrupt-parent = <&gic>;
	#address-cells = <2>;
	#size-cells = <2>;
	memory@80000000 {
		device_type = "memory";
		reg = <0x0 0x80000000 0x0 0x80000000>;
	};
	gic: interrupt-controller@2c001000 {
		compatible = "arm,gic-400";
		#interrupt-cells = <3>;
		#address-cells = <0>;
		interrupt-controller;
		reg = <0x0 0x2c001000 0x0 0x1000>;
	};
	soc {
		compatible = "simple-bus";
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		smmu: iommu@2b400000 {
			compatible = "arm,mmu-400", "arm,smmu-v1";
			reg = <0x0 0x2b400000 0x0 0x10000>;
			#global-interrupts = <1>;
			interrupts = <0 38 4>, <0 39 4>;
			#iommu-cells = <${iommuCells}>;
${coherent ? '\t\t\tdma-coherent;\n' : ''}${extraSmmuProps}
		};${nodes}
	};
};
`
}

/** Options of {@link testBoard}. */
export interface TestBoardOptions {
  readonly profile?: KernelProfile
  readonly masters?: readonly MasterSpec[]
  readonly iommuCells?: number
  readonly smmu?: Mmu400Config
  readonly driver?: ArmSmmuOptions
  readonly defaultDomainType?: 'DMA' | 'IDENTITY'
  /** Do not boot the arm-smmu driver (tests call armSmmuInit themselves). */
  readonly noDriver?: boolean
  readonly extraSmmuProps?: string
  /** The SMMU node has `dma-coherent` (default true). */
  readonly coherent?: boolean
}

/** A booted test board. */
export interface TestBoard {
  readonly k: Kernel
  readonly hw: Mmu400
  readonly smmu: ArmSmmuDevice
  /** Masters by name ("2c000000.master", …), in DT order. */
  readonly devs: Device[]
  dev(i: number): Device
  /** A test bus master on the SMMU's port. */
  master(streamId: number): TestMaster
}

/** Builds and boots the test board. */
export function testBoard(opts: TestBoardOptions = {}): TestBoard {
  const masters = opts.masters ?? [{ name: 'm0', iommus: [[3]] }]
  return testBoardFromDts(testDts(masters, opts.iommuCells ?? 1, opts.extraSmmuProps ?? '', opts.coherent ?? true), opts)
}

/**
 * Boots a board from device-tree source whose SMMU sits at 0x2b400000 with
 * interrupts 70 (global) and 71 (context), e.g. one of packages/machine's
 * .dts files. Masters are the devices that are not the SMMU.
 */
export function testBoardFromDts(source: string, opts: TestBoardOptions = {}): TestBoard {
  const k = new Kernel({ profile: opts.profile ?? 'upstream' })
  const dt = parseDts(source, 'iommu-test.dts')
  k.sys.bus.addRam('memory', 0x8000_0000, 0x8000_0000)
  const hw = new Mmu400({
    bus: k.sys.bus, tracer: k.sys.tracer, scheduler: k.sys.scheduler,
    config: { coherentWalk: true, ...opts.smmu },
    irqs: { global: [k.sys.irqc.line(GLOBAL_IRQ)], context: [k.sys.irqc.line(CONTEXT_IRQ)] },
  })
  k.sys.bus.addDevice(SMMU_BASE, hw.mmio, 'smmu')
  ofPopulateSysfs(k, dt)
  const devs = ofPlatformPopulate(k, dt).filter(d => d.ofNode?.props.has('iommus') === true)
  if (opts.noDriver !== true) {
    iommuSubsysInit(k, opts.defaultDomainType !== undefined ? { defaultDomainType: opts.defaultDomainType } : {})
    armSmmuInit(k, opts.driver ?? {})
  }
  const smmu = armSmmuDevices(k)[0]!
  return {
    k, hw, smmu, devs,
    dev: i => devs[i]!,
    master: sid => new TestMaster(hw.port(sid), { streamId: sid }),
  }
}

/** A kernel driver for the test masters that uses the DMA API (not driver_managed_dma). */
export function kernelDriver(name = 'test-dma'): DeviceDriver {
  return { name, bus: 'platform', ofMatchTable: ['vfio-sim,test-master'], probe: () => 0 }
}

/** A driver_managed_dma driver (as vfio-platform), bound through driver_override. */
export function userDriver(name = 'vfio-platform'): DeviceDriver {
  return { name, bus: 'platform', driverManagedDma: true, probe: () => 0 }
}

/** Registers `drv` and returns 0 or -errno. */
export function registerDriver(k: Kernel, drv: DeviceDriver): number {
  return platformDriverRegister(k, drv)
}

/** The text of a sysfs attribute. */
export function sysRead(k: Kernel, path: string): string {
  const n = k.sysfs.lookup(path)
  if (n === undefined || n.kind !== 'file' || n.attr.show === undefined) throw new Error(`no readable file ${path}`)
  return n.attr.show()
}

/** A sysfs write: the byte count, or the errno name. */
export function sysWrite(k: Kernel, path: string, data: string): number | string {
  const n = k.sysfs.lookup(path)
  if (n === undefined || n.kind !== 'file' || n.attr.store === undefined) throw new Error(`no writable file ${path}`)
  try {
    return n.attr.store(data)
  } catch (e) {
    return (e as { code?: string }).code ?? String(e)
  }
}

/** The target of a sysfs symlink. */
export function sysLink(k: Kernel, path: string): string | undefined {
  const n = k.sysfs.lookup(path)
  return n?.kind === 'link' ? n.target : undefined
}

/** Log lines without the timestamp. */
export function dmesgText(k: Kernel): string[] {
  return k.dmesg().map(l => l.replace(/^\[[ 0-9.]+\] /, ''))
}

/** Runs `fn` and returns the KernelError code it throws (or 'ok'). */
export function errOf(fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (e) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    throw e
  }
}
