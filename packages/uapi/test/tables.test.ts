// errno, flag tables, profiles and the x86-64 constants that the scenario
// and kernel packages name symbolically.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import * as U from '../src/index.ts'

test('errno numbers of spec §18 and the brief (asm-generic)', () => {
  const expected: Record<string, number> = {
    EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
    EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23,
    EMFILE: 24, ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36,
    ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, EOVERFLOW: 75, EBADFD: 77, EOPNOTSUPP: 95, EPROBE_DEFER: 517,
  }
  for (const [name, n] of Object.entries(expected)) {
    assert.is(U.errnoNumber(name), n, name)
    assert.is(U.errnoName(n), name)
    assert.is(U.errnoName(-n), name)
  }
})

test('errno aliases and strerror', () => {
  assert.is(U.errnoNumber('EWOULDBLOCK'), 11)
  assert.is(U.errnoNumber('ENOTSUP'), 95)
  assert.is(U.errnoNumber('EDEADLOCK'), 35)
  assert.is(U.errnoName(11), 'EAGAIN')
  assert.is(U.errnoNumber('ENOPE'), undefined)
  assert.is(U.errnoNumber('toString'), undefined)
  assert.is(U.strerror(22), 'Invalid argument')
  assert.is(U.strerror(-25), 'Inappropriate ioctl for device')
  assert.is(U.strerror(77), 'File descriptor in bad state')
  assert.is(U.strerror(4000), 'Unknown error 4000')
  assert.is(U.strerror(U.EPROBE_DEFER), 'Driver requests probe retry')
  assert.ok(U.KERNEL_INTERNAL_ERRNOS.includes('EPROBE_DEFER'))
})

test('errno table is a bijection between canonical names and numbers', () => {
  const entries = Object.entries(U.ERRNO)
  assert.is(new Set(entries.map(([, n]) => n)).size, entries.length)
  for (const [name, n] of entries) assert.is(U.errnoName(n), name)
})

test('open/mmap/eventfd/poll/rlimit constants (x86-64)', () => {
  assert.equal([U.O_RDONLY, U.O_WRONLY, U.O_RDWR, U.O_CREAT, U.O_EXCL, U.O_NOCTTY, U.O_TRUNC, U.O_APPEND, U.O_NONBLOCK],
    [0, 1, 2, 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000])
  assert.equal([U.O_DIRECTORY, U.O_NOFOLLOW, U.O_CLOEXEC, U.O_SYNC], [0o200000, 0o400000, 0o2000000, 0o4010000])
  assert.equal([U.PROT_NONE, U.PROT_READ, U.PROT_WRITE, U.PROT_EXEC], [0, 1, 2, 4])
  assert.equal([U.MAP_SHARED, U.MAP_PRIVATE, U.MAP_FIXED, U.MAP_ANONYMOUS, U.MAP_NORESERVE, U.MAP_LOCKED, U.MAP_POPULATE, U.MAP_FIXED_NOREPLACE],
    [1, 2, 0x10, 0x20, 0x4000, 0x2000, 0x8000, 0x100000])
  assert.equal([U.EFD_SEMAPHORE, U.EFD_CLOEXEC, U.EFD_NONBLOCK], [1, U.O_CLOEXEC, U.O_NONBLOCK])
  assert.equal([U.POLLIN, U.POLLPRI, U.POLLOUT, U.POLLERR, U.POLLHUP, U.POLLNVAL], [1, 2, 4, 8, 16, 32])
  assert.is(U.RLIMIT_MEMLOCK, 8)
})

test('profiles: bit 2 is EXEC in rfc-v5 and VADDR upstream; extension 5 changes meaning', () => {
  const v5 = U.profileConstants('rfc-v5')
  const up = U.profileConstants('upstream')
  assert.is(U.VFIO_DMA_MAP_FLAG_EXEC, 4)
  assert.is(U.VFIO_IOMMU_PROT_EXEC, 5)
  assert.equal(v5.dmaMapFlags, { READ: 1, WRITE: 2, EXEC: 4 })
  assert.equal(up.dmaMapFlags, { READ: 1, WRITE: 2, VADDR: 4 })
  assert.is(v5.dmaMapBit2, 'EXEC')
  assert.is(up.dmaMapBit2, 'VADDR')
  assert.is(v5.dmaMapFlagMask, 7)
  assert.is(up.dmaUnmapFlagMask, 7)
  assert.is(v5.dmaUnmapFlagMask, 0)
  assert.equal(up.dmaUnmapFlags, { GET_DIRTY_BITMAP: 1, ALL: 2, VADDR: 4 })
  assert.is(U.extensionName('rfc-v5', 5), 'VFIO_IOMMU_PROT_EXEC')
  assert.is(U.extensionName('upstream', 5), 'VFIO_EEH')
  assert.is(U.extensionName('rfc-v5', 9), undefined)
  assert.is(U.extensionName('upstream', 9), 'VFIO_UNMAP_ALL')
  assert.is(U.extensionName('upstream', 10), 'VFIO_UPDATE_VADDR')
  assert.is(U.DEFAULT_UAPI_PROFILE, 'rfc-v5')
  assert.ok(U.isUapiProfile('upstream'))
  assert.not.ok(U.isUapiProfile('2014'))
  assert.throws(() => U.profileConstants('v6' as U.UapiProfile), RangeError)
})

test('flag names: scenario lists to values and back', () => {
  assert.is(U.flagsFromNames(U.dmaMapFlags('rfc-v5'), ['READ', 'WRITE', 'EXEC']), 7)
  assert.throws(() => U.flagsFromNames(U.dmaMapFlags('upstream'), ['READ', 'EXEC']), (e: unknown) =>
    e instanceof RangeError && /unknown flag "EXEC"; valid flags: READ, WRITE, VADDR/.test((e as Error).message))
  assert.equal(U.flagNames(U.REGION_INFO_FLAGS, 0x43), ['READ', 'WRITE', '0x40'])
  assert.is(U.formatFlags(U.IRQ_SET_FLAGS, U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER), 'DATA_EVENTFD|ACTION_TRIGGER')
  assert.is(U.formatFlags(U.GROUP_STATUS_FLAGS, 0), '0')
  assert.is(U.formatFlags(U.DEVICE_INFO_FLAGS, U.VFIO_DEVICE_FLAGS_AMBA | U.VFIO_DEVICE_FLAGS_RESET), 'RESET|AMBA')
  assert.is(U.formatFlags(U.IOMMU_INFO_FLAGS, 3), 'PGSIZES|CAPS')
  assert.is(U.formatFlags(U.IRQ_INFO_FLAGS, 7), 'EVENTFD|MASKABLE|AUTOMASKED')
})

test('property: flagNames splits any u32 into named bits plus a remainder that ORs back', () => {
  const tables: U.FlagTable[] = [U.REGION_INFO_FLAGS, U.IRQ_SET_FLAGS, U.DEVICE_INFO_FLAGS, U.dmaMapFlags('rfc-v5'), U.dmaUnmapFlags('rfc-v5')]
  fc.assert(fc.property(fc.constantFrom(...tables), fc.integer({ min: 0, max: 0xffff_ffff }), (table, value) => {
    const names = U.flagNames(table, value)
    const known = names.filter(n => !n.startsWith('0x'))
    const rest = names.filter(n => n.startsWith('0x')).map(n => Number.parseInt(n, 16))
    assert.ok(rest.length <= 1)
    const total = (U.flagsFromNames(table, known) | (rest[0] ?? 0)) >>> 0
    assert.is(total, value)
    // every named bit is set in value, and the remainder holds no named bit
    for (const n of known) assert.ok((value & table[n]!) === table[n])
    for (const bit of Object.values(table)) assert.is((rest[0] ?? 0) & bit, 0)
  }))
})

test.run()
