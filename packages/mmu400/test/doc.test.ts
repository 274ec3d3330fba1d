import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { registersDoc } from '../src/doc.ts'

test('docs/reference/mmu400-registers.md is up to date with the register table (regenerate with packages/mmu400/scripts/gen-registers-doc.ts)', () => {
  const file = path.resolve(import.meta.dirname, '../../../docs/reference/mmu400-registers.md')
  assert.is(readFileSync(file, 'utf8'), registersDoc())
})

test.run()
