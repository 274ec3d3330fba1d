import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Kernel } from '../src/kernel.ts'
import { isKernelError } from '../src/errno.ts'

const node = { mode: 0o600, uid: 0, gid: 0, open: () => ({}) }

test('devfs: nodes appear and disappear, directories follow their nodes', () => {
  const k = new Kernel()
  assert.equal(k.devfs.readdir(''), ['null'])
  k.devfs.add('vfio/vfio', { ...node, mode: 0o666 })
  k.devfs.add('vfio/3', node)
  assert.equal(k.devfs.readdir(''), ['null', 'vfio'])
  assert.equal(k.devfs.readdir('vfio'), ['3', 'vfio'])
  k.devfs.remove('vfio/3')
  assert.equal(k.devfs.readdir('/vfio/'), ['vfio'])
  k.devfs.remove('vfio/vfio')
  assert.not.ok(k.devfs.isDir('vfio'))
  try {
    k.devfs.readdir('vfio')
    assert.unreachable()
  } catch (e) {
    assert.ok(isKernelError(e, 'ENOENT'))
  }
})

test('devfs: a second add of the same name is EEXIST', () => {
  const k = new Kernel()
  k.devfs.add('vfio/0', node)
  assert.throws(() => k.devfs.add('vfio/0', node), (e: unknown) => isKernelError(e, 'EEXIST'))
})

test('printk: dmesg lines carry the virtual time as [%5lu.%06lu]', () => {
  const k = new Kernel()
  k.printk('info', 'hello')
  k.sys.scheduler.runUntil(5_000_123_456)
  k.printk('err', 'later\nsecond line')
  k.printk('debug', 'dropped without dynamic debug')
  assert.equal(k.dmesg(), ['[    0.000000] hello', '[    5.000123] later', '[    5.000123] second line'])
})

test('profile defaults to rfc-v5', () => {
  assert.is(new Kernel().profile, 'rfc-v5')
  assert.is(new Kernel({ profile: 'upstream' }).profile, 'upstream')
})

test.run()
