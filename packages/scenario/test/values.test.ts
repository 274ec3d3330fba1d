// The small value language (numbers, sizes, durations, $names, sums,
// interpolation), shell word splitting, register lookup and symbolic flags,
// each against hand-written expectations.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { evalExpr, interpolate, parseDuration, parseNumberText, StepError, type Env } from '../src/values.ts'
import { checkShell, shellWords } from '../src/shell.ts'
import { REG_TABLES, resolveReg } from '../src/regs.ts'
import { MAP, OPEN, PROT, symbolic } from '../src/symbols.ts'
import { same } from '../src/expect.ts'

const pos = { file: 't.yaml', line: 1, col: 1 }

test('numbers and sizes', () => {
  assert.is(parseNumberText('4096'), 4096)
  assert.is(parseNumberText('0x1000'), 4096)
  assert.is(parseNumberText('0o17'), 15)
  assert.is(parseNumberText('0b101'), 5)
  assert.is(parseNumberText('0x8000_0000'), 0x80000000)
  assert.is(parseNumberText('4K'), 4096)
  assert.is(parseNumberText('2MiB'), 2 * 1024 * 1024)
  assert.is(parseNumberText('1G'), 1024 ** 3)
  assert.is(parseNumberText('0xffffffffffffffff'), 0xffffffffffffffffn)
  assert.is(parseNumberText('4 kB'), undefined)
  assert.is(parseNumberText('abc'), undefined)
})

test('durations in ns', () => {
  assert.is(parseDuration('250ns'), 250)
  assert.is(parseDuration('10us'), 10_000)
  assert.is(parseDuration('1.5ms'), 1_500_000)
  assert.is(parseDuration('2s'), 2_000_000_000)
  assert.is(parseDuration(7), 7)
  assert.is(parseDuration('10 minutes'), undefined)
  assert.is(parseDuration(-1), undefined)
})

test('$names, fields and sums', () => {
  const env: Env = new Map<string, never>()
  env.set('buf', 0x7000_0000)
  env.set('region', { offset: 0x10000, size: 4096 })
  assert.is(evalExpr('$buf', env, pos), 0x7000_0000)
  assert.is(evalExpr('${buf}', env, pos), 0x7000_0000)
  assert.is(evalExpr('$buf + 4K', env, pos), 0x7000_1000)
  assert.is(evalExpr('$buf+0x10-$region.size', env, pos), 0x7000_0010 - 4096)
  assert.is(evalExpr('$region.offset', env, pos), 0x10000)
  assert.throws(() => evalExpr('$nope', env, pos), (e: unknown) => e instanceof StepError && /unknown name \$nope; defined so far: \$buf, \$region/.test(e.message))
  assert.throws(() => evalExpr('$region.nope', env, pos), /has no field 'nope'/)
  assert.throws(() => evalExpr('$buf + x', env, pos), /expected a \$name or a number, found 'x'/)
  assert.is(interpolate('/dev/vfio/${buf}', env, pos), `/dev/vfio/${0x7000_0000}`)
})

test('shell words: quotes, escapes, redirections', () => {
  assert.equal(shellWords('echo vfio-platform > /sys/x'), ['echo', 'vfio-platform', '>', '/sys/x'])
  assert.equal(shellWords('echo "a b">>/f'), ['echo', 'a b', '>>', '/f'])
  assert.equal(shellWords("echo '' > /f"), ['echo', '', '>', '/f'])
  assert.equal(shellWords('echo a\\ b > /f'), ['echo', 'a b', '>', '/f'])
  assert.is(shellWords('echo "open'), 'unterminated " quote')
  assert.is(checkShell('cat'), 'cat needs a path')
  assert.is(checkShell('echo x > a b'), 'expected exactly one path after > (echo TEXT > PATH)')
  assert.is(checkShell('ls /sys'), undefined)
})

test('registers by name, banked index, or offset', () => {
  const t = REG_TABLES.get('pl330')
  assert.equal(resolveReg(t, 'DBGINST0'), { reg: t!.list.find(r => r.name === 'DBGINST0'), offset: 0xd08, label: 'DBGINST0' })
  assert.is((resolveReg(t, 'FTR[2]') as { offset: number }).offset, 0x048)
  assert.is((resolveReg(t, 'CSR[1]') as { offset: number }).offset, 0x108)
  assert.is((resolveReg(t, '0xd04') as { label: string }).label, 'DBGCMD')
  assert.is((resolveReg(t, '0x44') as { label: string }).label, 'FTR[1]')
  assert.is((resolveReg(t, '0xd10') as { label: string }).label, '0xd10')
  assert.match(resolveReg(t, 'FTR[8]') as string, /has 8 copies; index 8 is out of range/)
  assert.match(resolveReg(t, 'DBGINSTX') as string, /unknown pl330 register 'DBGINSTX'; similar: .*DBGINST0/)
  assert.match(resolveReg(undefined, 'DSR') as string, /needs a register table/)
})

test('symbolic flags as a C program writes them', () => {
  assert.is(symbolic(OPEN, ['O_RDWR', 'O_CLOEXEC'], pos), 0o2 | 0o2000000)
  assert.is(symbolic(OPEN, 'RDWR', pos), 2)
  assert.is(symbolic(PROT, ['READ', 'WRITE'], pos), 3)
  assert.is(symbolic(MAP, ['SHARED'], pos), 1)
  assert.is(symbolic(MAP, ['PRIVATE', 'ANONYMOUS'], pos), 0x22)
  assert.throws(() => symbolic(PROT, ['RAED'], pos), /unknown PROT_ flag 'RAED'/)
})

test('comparisons: numbers across types, flags by name, bytes by hex', () => {
  assert.ok(same(4096, 4096n))
  assert.ok(same('0x1000', 4096))
  // Shell output is text: `expect: 4096` matches the text "4096" (not "0x1000").
  assert.ok(same(4096, '4096'))
  assert.not.ok(same(4096, '0x1000 '))
  assert.ok(same(['READ', 'WRITE'], 3, { READ: 1, WRITE: 2, EXEC: 4 }))
  assert.not.ok(same(['READ'], 3, { READ: 1, WRITE: 2, EXEC: 4 }))
  assert.ok(same('de ad', Uint8Array.of(0xde, 0xad)))
  assert.not.ok(same('de ad be', Uint8Array.of(0xde, 0xad)))
  assert.ok(same({ size: 4096 }, { size: 4096, iova: 0 }))
})

test.run()
