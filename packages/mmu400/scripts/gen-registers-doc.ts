/**
 * Writes docs/reference/mmu400-registers.md from the register table of the
 * default configuration (`describe()`), plus the v2-only registers.
 *   node --conditions=source --import tsx packages/mmu400/scripts/gen-registers-doc.ts
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { registersDoc } from '../src/doc.ts'

const out = path.resolve(import.meta.dirname, '../../../docs/reference/mmu400-registers.md')
writeFileSync(out, registersDoc())
console.log(`wrote ${out}`)
