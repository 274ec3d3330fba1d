/**
 * poll(2) timeouts (fs/select.c do_sys_poll): the process API takes virtual
 * nanoseconds. A timeout no virtual clock can reach (Infinity, or past
 * 2^53 ns) means "until ready", like a negative one; NaN is not a time.
 * Neither may corrupt the machine's clock.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { POLLIN } from '@vfio-sim/uapi'
import { BlockedForeverError, boot, SysError } from '../src/index.ts'

test('Infinity and huge timeouts wait until ready (BlockedForeverError when idle) and leave the clock alone; NaN is EINVAL', () => {
  const m = boot()
  const p = m.spawn()
  const e = p.eventfd(0, 0)
  const before = m.kernel.now
  for (const t of [Infinity, 1e300, 2 ** 53]) {
    assert.throws(() => p.poll([{ fd: e, events: POLLIN }], t), (err: unknown) => err instanceof BlockedForeverError)
    assert.is(m.kernel.now, before)
  }
  assert.throws(() => p.poll([{ fd: e, events: POLLIN }], NaN), (err: unknown) => err instanceof SysError && err.code === 'EINVAL')
  // A finite timeout still expires in virtual time.
  assert.is(p.poll([{ fd: e, events: POLLIN }], 1000), 0)
  assert.is(m.kernel.now, before + 1000)
})

test.run()
