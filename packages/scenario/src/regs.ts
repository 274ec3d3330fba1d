/**
 * Register tables a scenario can address MMIO by name through: a device
 * mapping made with `mmap: … regs: pl330` lets later `write32:`/`read32:`
 * steps say `DBGINST0` instead of `0xd08`. Banked registers take an index:
 * `FTR[2]`, `CSR[0]`.
 */
import { PL330_REGS } from '@vfio-sim/pl330'
import { mmu400Registers, resolveConfig } from '@vfio-sim/mmu400'
import type { Register } from '@vfio-sim/sim'

/** A register table by name. */
export interface RegTable {
  readonly name: string
  readonly size: number
  readonly list: readonly Register[]
}

/** Register tables by the name scenarios use. */
export const REG_TABLES: ReadonlyMap<string, RegTable> = new Map([
  ['pl330', PL330_REGS as RegTable],
  // The MMU-400 in its default configuration (8 context banks, as the boards have).
  ['mmu400', mmu400Registers(resolveConfig()).table as RegTable],
])

/** A resolved register reference. */
export interface RegRef {
  readonly reg: Register | undefined
  readonly offset: number
  readonly label: string
}

/**
 * Resolves `NAME`, `NAME[i]` or a numeric offset in `table`; returns an
 * error message (listing near names) when it does not exist.
 */
export function resolveReg(table: RegTable | undefined, key: string): RegRef | string {
  const num = /^(0x[0-9a-f]+|\d+)$/i.test(key) ? Number(key) : undefined
  if (num !== undefined) {
    const reg = table?.list.find(r => (r.count <= 1 ? num === r.offset : num >= r.offset && num < r.offset + r.count * r.stride && (num - r.offset) % r.stride === 0))
    const label = reg === undefined ? `0x${num.toString(16)}` : reg.count > 1 ? `${reg.name}[${(num - reg.offset) / reg.stride}]` : reg.name
    return { reg, offset: num, label }
  }
  if (table === undefined) return `register '${key}' needs a register table: map the region with regs: pl330, or give an offset`
  const m = /^([A-Za-z_]\w*)(?:\[(\d+)\])?$/.exec(key)
  const reg = m === null ? undefined : table.list.find(r => r.name === m[1])
  if (m === null || reg === undefined) {
    const near = table.list.filter(r => r.name.toLowerCase().startsWith(key.slice(0, 3).toLowerCase())).map(r => r.name).slice(0, 6)
    return `unknown ${table.name} register '${key}'${near.length > 0 ? `; similar: ${near.join(', ')}` : ''}`
  }
  const idx = m[2] === undefined ? 0 : Number(m[2])
  if (idx >= reg.count) return `${table.name} register ${reg.name} has ${reg.count} cop${reg.count === 1 ? 'y' : 'ies'}; index ${idx} is out of range`
  return { reg, offset: reg.offset + idx * reg.stride, label: m[2] === undefined ? reg.name : `${reg.name}[${idx}]` }
}
