/**
 * Models drivers/of/base.c, property.c and address.c: reading properties of
 * the unflattened device tree (cells, strings, booleans), the node's full
 * name, `status`, `#address-cells`/`#size-cells`, and translating a `reg`
 * address through the parents' `ranges` to a CPU physical address.
 */
import type { DtNode } from './dtc-parser.ts'

export type { DtNode } from './dtc-parser.ts'

const dec = new TextDecoder()

/** The raw value of property `name`, or undefined. */
export function ofGetProperty(node: DtNode, name: string): Uint8Array | undefined {
  return node.props.get(name)
}

/** True if the property exists (of_property_read_bool). */
export function ofPropertyReadBool(node: DtNode, name: string): boolean {
  return node.props.has(name)
}

/** The property as big-endian 32-bit cells (undefined if absent or not a multiple of 4 bytes). */
export function ofPropertyReadU32Array(node: DtNode, name: string): number[] | undefined {
  const v = node.props.get(name)
  if (v === undefined || v.length % 4 !== 0) return undefined
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
  const out: number[] = []
  for (let i = 0; i < v.length; i += 4) out.push(dv.getUint32(i))
  return out
}

/** The first cell of the property, or undefined. */
export function ofPropertyReadU32(node: DtNode, name: string): number | undefined {
  return ofPropertyReadU32Array(node, name)?.[0]
}

/** The property as a list of NUL-terminated strings (of_property_read_string_array). */
export function ofPropertyReadStrings(node: DtNode, name: string): string[] | undefined {
  const v = node.props.get(name)
  if (v === undefined) return undefined
  const out: string[] = []
  let start = 0
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      out.push(dec.decode(v.subarray(start, i)))
      start = i + 1
    }
  }
  return out
}

/** The first string of the property. */
export function ofPropertyReadString(node: DtNode, name: string): string | undefined {
  return ofPropertyReadStrings(node, name)?.[0]
}

/** Node name without the unit address (`%pOFn`): "dma@2c0a0000" → "dma". */
export function ofNodeName(node: DtNode): string {
  const at = node.name.indexOf('@')
  return at < 0 ? node.name : node.name.slice(0, at)
}

/** Full path ("/soc/dma@2c0a0000"; "/" for the root), as `%pOF` prints it. */
export function ofNodeFullName(node: DtNode): string {
  if (node.parent === undefined) return '/'
  const parts: string[] = []
  for (let n: DtNode | undefined = node; n !== undefined && n.parent !== undefined; n = n.parent) parts.unshift(n.name)
  return '/' + parts.join('/')
}

/** of_device_is_compatible: true if `compat` is one of the node's compatible strings. */
export function ofDeviceIsCompatible(node: DtNode, compat: string): boolean {
  return (ofPropertyReadStrings(node, 'compatible') ?? []).includes(compat)
}

/** of_device_is_available: no `status`, or "okay"/"ok". */
export function ofDeviceIsAvailable(node: DtNode): boolean {
  const s = ofPropertyReadString(node, 'status')
  return s === undefined || s === 'okay' || s === 'ok'
}

/** The node with phandle `ph` in the tree containing `from`. */
export function ofFindNodeByPhandle(from: DtNode, ph: number): DtNode | undefined {
  let root = from
  while (root.parent !== undefined) root = root.parent
  const walk = (n: DtNode): DtNode | undefined => {
    if (n.phandle === ph) return n
    for (const c of n.children) {
      const f = walk(c)
      if (f !== undefined) return f
    }
    return undefined
  }
  return ph === 0 ? undefined : walk(root)
}

/** The node at absolute path `path` ("/soc/dma@2c0a0000"), matching names with or without unit address. */
export function ofFindNodeByPath(root: DtNode, path: string): DtNode | undefined {
  let n: DtNode | undefined = root
  for (const part of path.split('/').filter(p => p !== '')) {
    n = n.children.find(c => c.name === part) ?? n.children.find(c => ofNodeName(c) === part)
    if (n === undefined) return undefined
  }
  return n
}

/** `#address-cells` that applies to the node's `reg` (its parent's; default 2, as of_n_addr_cells). */
export function ofNAddrCells(node: DtNode): number {
  for (let p = node.parent; p !== undefined; p = p.parent) {
    const v = ofPropertyReadU32(p, '#address-cells')
    if (v !== undefined) return v
  }
  return 2
}

/** `#size-cells` that applies to the node's `reg` (default 1, as of_n_size_cells). */
export function ofNSizeCells(node: DtNode): number {
  for (let p = node.parent; p !== undefined; p = p.parent) {
    const v = ofPropertyReadU32(p, '#size-cells')
    if (v !== undefined) return v
  }
  return 1
}

function readCells(cells: number[], at: number, n: number): bigint {
  let v = 0n
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(cells[at + i] ?? 0)
  return v
}

/** One `reg` entry in the parent bus's address space. */
export interface OfReg {
  readonly addr: bigint
  readonly size: bigint
}

/** The node's `reg` entries, untranslated. */
export function ofGetRegs(node: DtNode): OfReg[] {
  const cells = ofPropertyReadU32Array(node, 'reg')
  if (cells === undefined) return []
  const na = ofNAddrCells(node)
  const ns = ofNSizeCells(node)
  const out: OfReg[] = []
  for (let i = 0; na + ns > 0 && i + na + ns <= cells.length; i += na + ns) out.push({ addr: readCells(cells, i, na), size: readCells(cells, i + na, ns) })
  return out
}

/**
 * Translates bus address `addr`, as seen by the children of `bus`, to a CPU
 * physical address (of_translate_address). Returns undefined when a parent
 * has no `ranges` (the address is not memory-mapped) or no range covers it.
 * An empty `ranges` is a 1:1 mapping.
 */
export function ofTranslateAddress(bus: DtNode, addr: bigint): bigint | undefined {
  let a = addr
  for (let n: DtNode = bus; n.parent !== undefined; n = n.parent) {
    const ranges = ofPropertyReadU32Array(n, 'ranges')
    if (ranges === undefined) return undefined
    if (ranges.length === 0) continue
    const childNa = ofPropertyReadU32(n, '#address-cells') ?? 2
    const childNs = ofPropertyReadU32(n, '#size-cells') ?? 1
    const parentNa = ofNAddrCells(n)
    const step = childNa + parentNa + childNs
    let mapped: bigint | undefined
    for (let i = 0; i + step <= ranges.length; i += step) {
      const cb = readCells(ranges, i, childNa)
      const pb = readCells(ranges, i + childNa, parentNa)
      const sz = readCells(ranges, i + childNa + parentNa, childNs)
      if (a >= cb && a < cb + sz) {
        mapped = pb + (a - cb)
        break
      }
    }
    if (mapped === undefined) return undefined
    a = mapped
  }
  return a
}

/** The CPU address of the node's `index`th `reg` entry (of_address_to_resource), or undefined. */
export function ofAddressToResource(node: DtNode, index: number): { start: bigint; end: bigint } | undefined {
  const reg = ofGetRegs(node)[index]
  if (reg === undefined || node.parent === undefined) return undefined
  const start = ofTranslateAddress(node.parent, reg.addr)
  if (start === undefined) return undefined
  return { start, end: start + reg.size - 1n }
}

/**
 * of_device_make_bus_id (drivers/of/device.c): the device name of a
 * DT-created device. Walks up from the node: a node whose first `reg`
 * translates gives "<hex address>.<name>" and ends the walk; other nodes
 * contribute "<name@unit>:" prefixes. Examples: /soc/dma@2c0a0000 →
 * "2c0a0000.dma"; /soc/leds (no reg) → "soc:leds".
 */
export function ofDeviceMakeBusId(node: DtNode): string {
  let name = ''
  for (let n: DtNode | undefined = node; n !== undefined && n.parent !== undefined; n = n.parent) {
    const reg = ofGetRegs(n)[0]
    const addr = reg === undefined ? undefined : ofTranslateAddress(n.parent, reg.addr)
    if (addr !== undefined) {
      const mask = ofPropertyReadU32(n, 'mask')
      const base = mask !== undefined && mask !== 0
        ? `${addr.toString(16)}.${(31 - Math.clz32(mask & -mask)).toString(16)}.${ofNodeName(n)}`
        : `${addr.toString(16)}.${ofNodeName(n)}`
      return name === '' ? base : `${base}:${name}`
    }
    name = name === '' ? n.name : `${n.name}:${name}`
  }
  return name
}

/**
 * of_modalias (drivers/of/module.c): "of:N<name>T<device_type or (null)>" then
 * "C<compatible>" per string, spaces replaced by '_'. No trailing newline.
 */
export function ofModalias(node: DtNode): string {
  let s = `of:N${ofNodeName(node)}T${ofPropertyReadString(node, 'device_type') ?? '(null)'}`
  for (const c of ofPropertyReadStrings(node, 'compatible') ?? []) s += `C${c.replaceAll(' ', '_')}`
  return s
}

/** Aliases (from /aliases) that point at the node, in /aliases order. */
export function ofAliasesOf(node: DtNode): string[] {
  let root = node
  while (root.parent !== undefined) root = root.parent
  const aliases = root.children.find(c => c.name === 'aliases')
  if (aliases === undefined) return []
  const full = ofNodeFullName(node)
  const out: string[] = []
  for (const name of aliases.props.keys()) if (ofPropertyReadString(aliases, name) === full) out.push(name)
  return out
}

/**
 * of_device_uevent (drivers/of/device.c): the OF_* keys of a device's
 * uevent: OF_NAME, OF_FULLNAME, OF_TYPE (if any), OF_COMPATIBLE_n,
 * OF_COMPATIBLE_N, OF_ALIAS_n.
 */
export function ofDeviceUevent(node: DtNode): string[] {
  const env = [`OF_NAME=${ofNodeName(node)}`, `OF_FULLNAME=${ofNodeFullName(node)}`]
  const type = ofPropertyReadString(node, 'device_type')
  if (type !== undefined) env.push(`OF_TYPE=${type}`)
  const compat = ofPropertyReadStrings(node, 'compatible') ?? []
  compat.forEach((c, i) => env.push(`OF_COMPATIBLE_${i}=${c}`))
  env.push(`OF_COMPATIBLE_N=${compat.length}`)
  ofAliasesOf(node).forEach((a, i) => env.push(`OF_ALIAS_${i}=${a}`))
  return env
}
