/**
 * User access to a mapping: on arm64 and x86-64 a writable page is also
 * readable (protection_map has no write-only entry: PROT_WRITE alone maps
 * read/write, privately copy-on-write), so loads from a PROT_WRITE-only
 * mapping and copy_from_user from it succeed. PROT_NONE stays inaccessible.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_WRITE } from '@vfio-sim/uapi'
import { boot, SysError } from '../src/index.ts'

test('PROT_WRITE alone is readable by user loads and by the kernel; PROT_NONE is not', () => {
  const p = boot().spawn()
  const a = p.mmap(0, 4096, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  p.write32(a, 0x1234_5678)
  assert.is(p.read32(a), 0x1234_5678)
  assert.equal([...p.peek(a, 2)], [0x78, 0x56])
  // write(2) from that buffer: copy_from_user reads it.
  const nul = p.open('/dev/null', 2)
  assert.is(p.write(nul, p.peek(a, 8)), 8)
  const e = p.eventfd(0)
  p.write64(a, 5n)
  // FIONBIO reads its int argument from user memory.
  assert.is(p.ioctl(e, 0x5421, a), 0)
  const none = p.mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  assert.throws(() => p.read32(none), (err: unknown) => err instanceof SysError && err.signal === 'SIGSEGV')
  assert.throws(() => p.ioctl(e, 0x5421, none), (err: unknown) => err instanceof SysError && err.code === 'EFAULT')
})

test.run()
