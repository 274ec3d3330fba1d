/**
 * Models drivers/of/kobj.c: the device tree under
 * /sys/firmware/devicetree/base (what /proc/device-tree points at). One
 * directory per node, one read-only file per property holding its raw
 * bytes (shown as a latin1 string, byte for byte), plus the `name` pseudo
 * property that unflattening adds when a node has none.
 */
import type { Kernel } from '../kernel.ts'
import { ofNodeFullName, ofNodeName, type DtNode } from './base.ts'

function latin1(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += String.fromCharCode(x)
  return s
}

/** The sysfs directory of a node ("firmware/devicetree/base/soc/dma@2c0a0000"). */
export function ofNodeSysfsPath(node: DtNode): string {
  const full = ofNodeFullName(node)
  return `firmware/devicetree/base${full === '/' ? '' : full}`
}

/** Creates the firmware tree for `root` (idempotent for existing directories). */
export function ofPopulateSysfs(kernel: Kernel, root: DtNode): void {
  const walk = (n: DtNode): void => {
    const dir = ofNodeSysfsPath(n)
    kernel.sysfs.mkdir(dir)
    const props = new Map(n.props)
    if (!props.has('name')) props.set('name', new TextEncoder().encode(ofNodeName(n) + '\0'))
    for (const [name, value] of props) {
      if (kernel.sysfs.lookup(`${dir}/${name}`) !== undefined) continue
      const text = latin1(value)
      kernel.sysfs.addFile(`${dir}/${name}`, { mode: 0o444, show: () => text })
    }
    for (const c of n.children) walk(c)
  }
  walk(root)
}
