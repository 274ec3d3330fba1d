/**
 * Models drivers/of/platform.c: of_platform_populate() with the default bus
 * match table. Every available child of the root with a `compatible`
 * becomes a device; a node compatible with "arm,primecell" becomes an AMBA
 * device (and its children are not populated), any other a platform device;
 * the children of simple-bus / simple-mfd / isa / arm,amba-bus nodes are
 * populated below their bus device. Interrupt-controller nodes are left to
 * the irqchip code and fixed clocks to of_clk_init (both mark them
 * OF_POPULATED); nodes with status "disabled" get nothing.
 */
import type { Kernel } from '../kernel.ts'
import { IORESOURCE_IRQ, IORESOURCE_MEM, type Device, type Resource } from '../drivers/base/core.ts'
import { platformDeviceRegister } from '../drivers/base/platform.ts'
import { ambaDeviceAdd } from '../drivers/amba/bus.ts'
import {
  ofAddressToResource, ofDeviceIsAvailable, ofDeviceIsCompatible, ofDeviceMakeBusId, ofGetRegs, ofNodeFullName,
  ofPropertyReadBool, ofPropertyReadU32, type DtNode,
} from './base.ts'
import { ofIrqMapAll } from './irq.ts'

/** of_default_bus_match_table. */
export const OF_DEFAULT_BUS_MATCH = ['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'] as const

const populated = new WeakMap<Kernel, WeakSet<DtNode>>()

function isPopulated(kernel: Kernel, node: DtNode): boolean {
  let s = populated.get(kernel)
  if (s === undefined) populated.set(kernel, (s = new WeakSet()))
  if (s.has(node)) return true
  s.add(node)
  return false
}

/** of_amba_device_create. Returns the device or undefined (logged). */
export function ofAmbaDeviceCreate(kernel: Kernel, node: DtNode, parentPath: string): Device | undefined {
  if (!ofDeviceIsAvailable(node) || isPopulated(kernel, node)) return undefined
  const res = ofAddressToResource(node, 0)
  if (res === undefined) {
    kernel.printk('err', `OF: amba: of_address_to_resource() failed (-22) for ${ofNodeFullName(node)}`)
    return undefined
  }
  const periphid = ofPropertyReadU32(node, 'arm,primecell-periphid')
  const r = ambaDeviceAdd(kernel, ofDeviceMakeBusId(node), {
    parentPath, start: res.start, size: res.end - res.start + 1n, irqs: ofIrqMapAll(kernel, node), ofNode: node,
    ...(periphid !== undefined ? { periphid } : {}),
  })
  if (typeof r === 'number') {
    kernel.printk('err', `OF: amba_device_add() failed (${r}) for ${ofNodeFullName(node)}`)
    return undefined
  }
  return r
}

/** of_platform_device_create_pdata: resources from `reg` and `interrupts`. */
export function ofPlatformDeviceCreate(kernel: Kernel, node: DtNode, parentPath: string): Device | undefined {
  if (!ofDeviceIsAvailable(node) || isPopulated(kernel, node)) return undefined
  const resources: Resource[] = []
  ofGetRegs(node).forEach((_, i) => {
    const r = ofAddressToResource(node, i)
    if (r !== undefined) resources.push({ start: r.start, end: r.end, flags: IORESOURCE_MEM })
  })
  for (const irq of ofIrqMapAll(kernel, node)) resources.push({ start: BigInt(irq), end: BigInt(irq), flags: IORESOURCE_IRQ })
  const r = platformDeviceRegister(kernel, ofDeviceMakeBusId(node), { parentPath, ofNode: node, resources })
  return typeof r === 'number' ? undefined : r
}

/** of_platform_bus_create (strict): one node and, for bus nodes, its children. */
export function ofPlatformBusCreate(kernel: Kernel, node: DtNode, parentPath: string, created: Device[]): void {
  if (!ofPropertyReadBool(node, 'compatible')) return
  // Interrupt controllers and fixed clocks are set up by of_irq_init / of_clk_init, which mark them OF_POPULATED.
  if (ofPropertyReadBool(node, 'interrupt-controller')) return
  if (ofDeviceIsCompatible(node, 'fixed-clock')) return
  if (ofDeviceIsCompatible(node, 'arm,primecell')) {
    const d = ofAmbaDeviceCreate(kernel, node, parentPath)
    if (d !== undefined) created.push(d)
    return
  }
  const dev = ofPlatformDeviceCreate(kernel, node, parentPath)
  if (dev === undefined) return
  created.push(dev)
  if (!OF_DEFAULT_BUS_MATCH.some(c => ofDeviceIsCompatible(node, c))) return
  for (const child of node.children) ofPlatformBusCreate(kernel, child, dev.kobjPath, created)
}

/** of_platform_default_populate(root): returns the devices created, in creation order. */
export function ofPlatformPopulate(kernel: Kernel, root: DtNode): Device[] {
  const created: Device[] = []
  for (const child of root.children) ofPlatformBusCreate(kernel, child, 'devices/platform', created)
  return created
}
