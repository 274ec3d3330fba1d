// The REPL: steps one line at a time on one machine; names persist; errors
// are printed, never thrown.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { runRepl } from '../src/repl.ts'

async function repl(lines: string[]): Promise<string> {
  let out = ''
  async function* gen(): AsyncIterable<string> {
    yield* lines
  }
  const code = await runRepl(gen(), { board: 'fvp-mmu400', profile: 'rfc-v5' }, { stdout: s => { out += s } })
  assert.is(code, 0)
  return out
}

test('steps run one per line, names persist, syscall errors print as -1 ERRNO', async () => {
  const out = await repl([
    'sh: cat /sys/bus/platform/devices/2c0a0000.dma/driver_override',
    'eventfd: 0, as: efd',
    'write: $efd, u64: 3',
    'read: $efd',
    'close: 99',
    'open: /nope',
    '.names',
  ])
  const lines = out.split('\n')
  assert.is(lines[1], '(null)')
  assert.is(lines[2], '3')
  assert.is(lines[3], '8')
  assert.is(lines[4], '03 00 00 00 00 00 00 00')
  assert.is(lines[5], '-1 EBADF (close)')
  assert.is(lines[6], '-1 ENOENT (open)')
  assert.match(out, /\$efd = 3/)
})

test('malformed lines give the parser message; .quit stops', async () => {
  const out = await repl(['opne: /dev/null', 'ioctl: VFIO_NOPE, fd: 3', '.quit', 'sh: ls /'])
  assert.match(out, /unknown action 'opne' \(did you mean open\?\)/)
  assert.match(out, /unknown ioctl 'VFIO_NOPE'/)
  assert.not.match(out, /soc/)
})

test('--include makes a library\'s groups callable; the VFIO boot with iommu', async () => {
  let out = ''
  async function* gen(): AsyncIterable<string> {
    yield* ['call: bind-vfio, with: {bus: platform, dev: 2c0a0000.dma}', 'check: $group', 'call: nope']
  }
  await runRepl(gen(), { board: 'fvp-mmu400', profile: 'rfc-v5' }, { stdout: s => { out += s } }, { iommu: true, include: [fileURLToPath(new URL('../../../scenarios/lib/vfio.yaml', import.meta.url))] })
  const lines = out.split('\n')
  assert.is(lines[1], '../../../../kernel/iommu_groups/0')
  assert.is(lines[2], '0')
  assert.match(lines[3]!, /unknown group 'nope'; defined groups: bind-vfio, container, device/)
})

test.run()
