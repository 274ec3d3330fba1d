/**
 * Models drivers/of/irq.c (of_irq_parse_one / irq_of_parse_and_map) for the
 * GIC binding: finds the node's interrupt parent, decodes each `interrupts`
 * specifier and configures the trigger type on the interrupt controller, as
 * irq_create_of_mapping does. Interrupt numbers here are interrupt-controller
 * inputs (the GIC INTID: SPI n → 32 + n, PPI n → 16 + n); the simulation
 * has no separate Linux virq space (docs/decisions/0551-board-irq-numbers.md).
 */
import type { Kernel } from '../kernel.ts'
import { ofFindNodeByPhandle, ofNodeFullName, ofPropertyReadBool, ofPropertyReadU32, ofPropertyReadU32Array, type DtNode } from './base.ts'

/** GIC specifier flags (include/dt-bindings/interrupt-controller/irq.h). */
export const IRQ_TYPE_EDGE_RISING = 1
export const IRQ_TYPE_EDGE_FALLING = 2
export const IRQ_TYPE_LEVEL_HIGH = 4
export const IRQ_TYPE_LEVEL_LOW = 8

/** of_irq_find_parent: the node's (or an ancestor's) `interrupt-parent`, else the nearest ancestor controller. */
export function ofIrqFindParent(node: DtNode): DtNode | undefined {
  for (let n: DtNode | undefined = node; n !== undefined; n = n.parent) {
    const ph = ofPropertyReadU32(n, 'interrupt-parent')
    if (ph !== undefined) return ofFindNodeByPhandle(node, ph)
    if (n !== node && ofPropertyReadBool(n, 'interrupt-controller')) return n
  }
  return undefined
}

/** One decoded interrupt: controller input and trigger. */
export interface OfIrq {
  readonly irq: number
  readonly trigger: 'level' | 'edge'
}

/** Decodes the node's `interrupts` (without touching the controller). Malformed entries are dropped. */
export function ofIrqParse(node: DtNode): OfIrq[] {
  const cells = ofPropertyReadU32Array(node, 'interrupts')
  if (cells === undefined) return []
  const parent = ofIrqFindParent(node)
  const n = parent === undefined ? 3 : (ofPropertyReadU32(parent, '#interrupt-cells') ?? 3)
  const out: OfIrq[] = []
  for (let i = 0; n > 0 && i + n <= cells.length; i += n) {
    let irq: number
    let flags: number
    if (n >= 3) {
      // GIC: <type number flags>; type 0 = SPI, 1 = PPI.
      irq = cells[i] === 1 ? 16 + cells[i + 1]! : 32 + cells[i + 1]!
      flags = cells[i + 2]!
    } else {
      irq = cells[i]!
      flags = n === 2 ? cells[i + 1]! : IRQ_TYPE_LEVEL_HIGH
    }
    const type = flags & 0xf
    out.push({ irq, trigger: type === IRQ_TYPE_EDGE_RISING || type === IRQ_TYPE_EDGE_FALLING ? 'edge' : 'level' })
  }
  return out
}

/**
 * irq_of_parse_and_map for every entry: configures each trigger on
 * `kernel.sys.irqc` and returns the interrupt numbers. Entries beyond the
 * controller's inputs are logged and skipped (Linux maps them to 0).
 */
export function ofIrqMapAll(kernel: Kernel, node: DtNode): number[] {
  const irqc = kernel.sys.irqc
  const out: number[] = []
  for (const { irq, trigger } of ofIrqParse(node)) {
    if (irq >= irqc.count) {
      kernel.printk('err', `OF: ${ofNodeFullName(node)}: interrupt ${irq} beyond the controller's ${irqc.count} inputs`)
      continue
    }
    irqc.configure(irq, trigger)
    out.push(irq)
  }
  return out
}
