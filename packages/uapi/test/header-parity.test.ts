// Header parity: every request number, constant, sizeof, offsetof and errno
// message this package defines is compared with what gcc sees in the real
// Linux headers (<linux/vfio.h> from linux-libc-dev, glibc's <errno.h>,
// <fcntl.h>, <sys/mman.h>, <sys/eventfd.h>, <poll.h>, <sys/resource.h>).
//
// The C program is generated from the TypeScript tables, compiled with the
// system gcc into a temp dir and run; its output is compared exactly. A
// missing gcc is a FAILURE (CI installs gcc and linux-libc-dev), never a skip.
// Names that the header does not (or may not) have are listed below, each
// with its reason; a "must be absent" name that shows up fails the test too.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import * as ioctl from '../src/ioctl.ts'
import * as vfio from '../src/vfio.ts'
import * as errno from '../src/errno.ts'
import * as fcntl from '../src/fcntl.ts'
import * as mman from '../src/mman.ts'
import * as eventfd from '../src/eventfd.ts'
import * as poll from '../src/poll.ts'
import * as resource from '../src/resource.ts'
import { VFIO_DMA_MAP_FLAG_EXEC, VFIO_IOMMU_PROT_EXEC, profileConstants } from '../src/profiles.ts'
import type { AnyStructCodec } from '../src/layout.ts'
import { vfio_info_cap_header } from '../src/structs/common.ts'
import { vfio_group_status } from '../src/structs/group.ts'
import { VFIO_DEVICE_INFO_SIZE_6_1, vfio_device_info, vfio_irq_info, vfio_region_info } from '../src/structs/device.ts'
import { vfio_irq_set } from '../src/structs/irq-set.ts'
import {
  vfio_bitmap, vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap, vfio_iommu_type1_info,
  vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_dma_avail, vfio_iova_range,
} from '../src/structs/iommu.ts'

// ---- Known differences --------------------------------------------------------

/** Names we define that no Linux header has: the check is that they are really absent. */
const MUST_BE_ABSENT: Record<string, string> = {
  VFIO_DMA_MAP_FLAG_EXEC: 'rfc-v5 (2014 RFC) only; upstream never merged an EXEC flag, bit 2 is VFIO_DMA_MAP_FLAG_VADDR',
  VFIO_IOMMU_PROT_EXEC: 'rfc-v5 (2014 RFC) only; upstream 5 is VFIO_EEH (decision 0102)',
  ERESTARTSYS: 'kernel-internal errno (include/linux/errno.h), not in <errno.h>',
  ENOIOCTLCMD: 'kernel-internal errno, not in <errno.h>',
  EPROBE_DEFER: 'kernel-internal errno, not in <errno.h>',
  ENOTSUPP: 'kernel-internal errno (524, not ENOTSUP), not in <errno.h>',
}

/** Names that some supported header versions lack; if present they must match. */
const MAY_BE_ABSENT: Record<string, string> = {
  VFIO_TYPE1_NESTING_IOMMU: 'renamed __VFIO_RESERVED_TYPE1_NESTING_IOMMU in headers after 6.1',
  VFIO_DEVICE_FLAGS_CDX: 'added in Linux 6.5 headers (vfio-cdx); absent from 6.1',
}

/** Our own helper names with no C counterpart (not compared). */
const NOT_C_NAMES = new Set(['VFIO_TYPE_CODE', 'O_LARGEFILE_KERNEL', 'VFIO_TYPE'])

/** arm64 differs from x86-64 in a few open flags (decision 0104); these are its values. */
const ARM64_VALUES: Record<string, bigint> = {
  O_DIRECTORY: 0o40000n, O_NOFOLLOW: 0o100000n, O_DIRECT: 0o200000n,
}
const ARM64_ABSENT = new Set(['MAP_32BIT'])

/** Struct fields absent from the 6.1 header (explicit `pad` members added by "vfio: align capability structures", 2023). */
const FIELDS_NOT_IN_6_1: Record<string, string[]> = {
  vfio_device_info: ['pad'],
  vfio_iommu_type1_info: ['pad'],
}

// ---- The expected table, built from the TypeScript sources ------------------

interface Expected { name: string; cexpr: string; value: bigint }
const constants: Expected[] = []
const seen = new Set<string>()

function addConstants(mod: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(mod)) {
    if (NOT_C_NAMES.has(name) || seen.has(name)) continue
    if (typeof value !== 'number' && typeof value !== 'bigint') continue
    seen.add(name)
    constants.push({ name, cexpr: name, value: BigInt(value) })
  }
}
addConstants(ioctl)
addConstants(vfio)
addConstants(fcntl)
addConstants(mman)
addConstants(eventfd)
addConstants(poll)
addConstants(resource)
addConstants(errno)
addConstants({ VFIO_DMA_MAP_FLAG_EXEC, VFIO_IOMMU_PROT_EXEC })
for (const p of ['rfc-v5', 'upstream'] as const) {
  addConstants(profileConstants(p).flagMacros)
  addConstants(profileConstants(p).extensions)
}
// VFIO_TYPE is a char constant in C.
constants.push({ name: 'VFIO_TYPE', cexpr: 'VFIO_TYPE', value: BigInt(vfio.VFIO_TYPE.charCodeAt(0)) })
constants.push({ name: 'VFIO_TYPE(code)', cexpr: 'VFIO_TYPE', value: BigInt(vfio.VFIO_TYPE_CODE) })

// A few computed _IOC requests with direction and size bits, to check the helper beyond _IO.
const iocSamples: Expected[] = [
  { name: "_IOR('x',1,char[24])", cexpr: "_IOR('x', 1, char[24])", value: BigInt(ioctl._IOR('x', 1, 24)) },
  { name: "_IOW('V',0xfe,int)", cexpr: "_IOW('V', 0xfe, int)", value: BigInt(ioctl._IOW('V', 0xfe, 4)) },
  { name: "_IOWR(';',17,char[16383])", cexpr: "_IOWR(';', 17, char[16383])", value: BigInt(ioctl._IOWR(';', 17, 16383)) },
  { name: "_IOC_SIZE(_IOWR(';',17,char[40]))", cexpr: "_IOC_SIZE(_IOWR(';', 17, char[40]))", value: BigInt(ioctl._IOC_SIZE(ioctl._IOWR(';', 17, 40))) },
  { name: "_IOC_DIR(_IOR('x',1,int))", cexpr: "_IOC_DIR(_IOR('x', 1, int))", value: BigInt(ioctl._IOC_DIR(ioctl._IOR('x', 1, 4))) },
  { name: "_IOC_TYPE(_IOR('x',1,int))", cexpr: "_IOC_TYPE(_IOR('x', 1, int))", value: BigInt(ioctl._IOC_TYPE(ioctl._IOR('x', 1, 4))) },
  { name: "_IOC_NR(_IOR('x',0x99,int))", cexpr: "_IOC_NR(_IOR('x', 0x99, int))", value: BigInt(ioctl._IOC_NR(ioctl._IOR('x', 0x99, 4))) },
]

const structs: AnyStructCodec[] = [
  vfio_info_cap_header, vfio_group_status, vfio_device_info, vfio_region_info, vfio_irq_info, vfio_irq_set,
  vfio_iommu_type1_info, vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap, vfio_bitmap, vfio_iova_range,
  vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_dma_avail,
] as AnyStructCodec[]

// ---- C program generation -------------------------------------------------------

const cString = (s: string): string => JSON.stringify(s)

function generateC(): string {
  const lines: string[] = [
    '#define _GNU_SOURCE',
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <string.h>',
    '#include <errno.h>',
    '#include <fcntl.h>',
    '#include <sys/mman.h>',
    '#include <linux/mman.h> /* PROT_SEM, which glibc omits; a redefinition with a different value fails -Werror */',
    '#include <sys/eventfd.h>',
    '#include <poll.h>',
    '#include <sys/resource.h>',
    '#include <linux/vfio.h>',
    '',
    'int main(void) {',
  ]
  for (const c of constants) {
    // Every compared name is a macro in these headers (glibc defines RLIMIT_* and EFD_* as self-named macros too).
    const macro = c.cexpr
    lines.push(`#ifdef ${macro}`)
    lines.push(`  printf("const %s %llu\\n", ${cString(c.name)}, (unsigned long long)(${c.cexpr}));`)
    lines.push('#else')
    lines.push(`  printf("absent %s\\n", ${cString(c.name)});`)
    lines.push('#endif')
  }
  for (const c of iocSamples) lines.push(`  printf("const %s %llu\\n", ${cString(c.name)}, (unsigned long long)(${c.cexpr}));`)
  for (const [name, n] of Object.entries(errno.ERRNO)) {
    if (name in MUST_BE_ABSENT) continue
    lines.push(`  printf("strerror %s %s\\n", ${cString(name)}, strerror(${n}));`)
  }
  for (const s of structs) {
    lines.push(`  printf("sizeof %s %zu\\n", ${cString(s.name)}, sizeof(struct ${s.name}));`)
    const skip = FIELDS_NOT_IN_6_1[s.name] ?? []
    for (const [field, offset] of Object.entries(s.offsets)) {
      if (skip.includes(field)) continue
      void offset
      lines.push(`  printf("offsetof %s.%s %zu\\n", ${cString(s.name)}, ${cString(field)}, offsetof(struct ${s.name}, ${field}));`)
    }
    for (const f of s.fields) {
      if (skip.includes(f.name)) continue
      const member = `((struct ${s.name} *)0)->${f.name}`
      lines.push(`  printf("fieldsize %s.%s %zu\\n", ${cString(s.name)}, ${cString(f.name)}, sizeof(${member}));`)
      if (['u8', 'u16', 'u32', 's32', 'u64'].includes(f.ctype)) {
        lines.push(`  printf("signed %s.%s %d\\n", ${cString(s.name)}, ${cString(f.name)}, (int)((__typeof__(${member}))-1 < 0));`)
      }
    }
  }
  lines.push('  return 0;', '}', '')
  return lines.join('\n')
}

interface CResult { consts: Map<string, bigint>; absent: Set<string>; strerror: Map<string, string>; lines: string[] }

function compileAndRun(): CResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uapi-parity-'))
  try {
    const src = path.join(dir, 'parity.c')
    const exe = path.join(dir, 'parity')
    writeFileSync(src, generateC())
    try {
      execFileSync('gcc', ['-std=gnu11', '-Wall', '-Werror', '-o', exe, src], { stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer }
      if (err.code === 'ENOENT') throw new Error('gcc not found: the header-parity test needs gcc and linux-libc-dev (this is a failure, not a skip)')
      throw new Error(`gcc failed to compile the parity program:\n${err.stderr?.toString() ?? String(e)}`)
    }
    const out = execFileSync(exe, { encoding: 'utf8' })
    const res: CResult = { consts: new Map(), absent: new Set(), strerror: new Map(), lines: out.split('\n').filter(l => l !== '') }
    for (const line of res.lines) {
      const [kind, name, ...rest] = line.split(' ')
      if (kind === 'const') res.consts.set(name!, BigInt(rest[0]!))
      else if (kind === 'absent') res.absent.add(name!)
      else if (kind === 'strerror') res.strerror.set(name!, rest.join(' '))
    }
    return res
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// Compile once for all tests; a failure (no gcc, compile error) fails every test below, loudly.
let compiled: CResult | undefined
let compileError: unknown
try {
  compiled = compileAndRun()
} catch (e) {
  compileError = e
}
const C: CResult = compiled ?? { consts: new Map(), absent: new Set(), strerror: new Map(), lines: [] }
const isArm64 = process.arch === 'arm64'

test('gcc compiles and runs the generated parity program', () => {
  if (compileError !== undefined) throw compileError
  assert.ok(C.lines.length > 0, 'the parity program printed nothing')
})

function expectedValue(name: string, ours: bigint): bigint {
  return isArm64 && name in ARM64_VALUES ? ARM64_VALUES[name]! : ours
}

test('the C program covers every constant we define', () => {
  assert.ok(constants.length > 250, `only ${constants.length} constants collected`)
  for (const c of [...constants, ...iocSamples]) {
    assert.ok(C.consts.has(c.name) || C.absent.has(c.name), `no output for ${c.name}`)
  }
})

test('every constant matches the header, or is a listed known difference', () => {
  const mismatches: string[] = []
  for (const c of [...constants, ...iocSamples]) {
    if (c.name in MUST_BE_ABSENT) {
      if (!C.absent.has(c.name)) mismatches.push(`${c.name} should be absent (${MUST_BE_ABSENT[c.name]}) but the header defines it as ${C.consts.get(c.name)}`)
      continue
    }
    if (C.absent.has(c.name)) {
      if (c.name in MAY_BE_ABSENT) continue
      if (isArm64 && ARM64_ABSENT.has(c.name)) continue
      mismatches.push(`${c.name} is not defined by the header`)
      continue
    }
    const got = C.consts.get(c.name)!
    const want = expectedValue(c.name, c.value)
    if (got !== want) mismatches.push(`${c.name}: ours 0x${want.toString(16)}, header 0x${got.toString(16)}`)
  }
  assert.equal(mismatches, [])
})

test('every VFIO request number matches _IO(VFIO_TYPE, VFIO_BASE + n) of the header', () => {
  for (const i of vfio.VFIO_IOCTLS) assert.is(C.consts.get(i.name), BigInt(i.request), i.name)
})

test('errno strerror() texts match glibc', () => {
  const mismatches: string[] = []
  for (const [name, n] of Object.entries(errno.ERRNO)) {
    if (name in MUST_BE_ABSENT) continue
    const glibc = C.strerror.get(name)
    if (glibc !== errno.strerror(n)) mismatches.push(`${name} (${n}): ours ${JSON.stringify(errno.strerror(n))}, glibc ${JSON.stringify(glibc)}`)
  }
  assert.equal(mismatches, [])
})

function structLine(kind: string, key: string): bigint | undefined {
  const line = C.lines.find(l => l.startsWith(`${kind} ${key} `))
  return line === undefined ? undefined : BigInt(line.split(' ')[2]!)
}

test('struct sizeof matches (vfio_device_info: 20 in 6.1-era headers, see decision 0101)', () => {
  for (const s of structs) {
    const got = structLine('sizeof', s.name)
    if (s.name === 'vfio_device_info') {
      // 6.1 header: no explicit pad, sizeof 20. Headers with "vfio: align capability structures": 24 = ours.
      assert.ok(got === BigInt(VFIO_DEVICE_INFO_SIZE_6_1) || got === BigInt(s.size), `vfio_device_info sizeof ${got}`)
      continue
    }
    assert.is(got, BigInt(s.size), `sizeof(struct ${s.name})`)
  }
})

test('struct offsetof, member sizes and signedness match', () => {
  const mismatches: string[] = []
  for (const s of structs) {
    const skip = FIELDS_NOT_IN_6_1[s.name] ?? []
    for (const [field, offset] of Object.entries(s.offsets)) {
      if (skip.includes(field)) continue
      const got = structLine('offsetof', `${s.name}.${field}`)
      if (got !== BigInt(offset)) mismatches.push(`offsetof(${s.name}, ${field}): ours ${offset}, header ${got}`)
    }
    for (const f of s.fields) {
      if (skip.includes(f.name)) continue
      const size = structLine('fieldsize', `${s.name}.${f.name}`)
      if (size !== BigInt(f.size)) mismatches.push(`sizeof(${s.name}.${f.name}): ours ${f.size}, header ${size}`)
      const signed = structLine('signed', `${s.name}.${f.name}`)
      if (signed !== undefined && signed !== (f.ctype === 's32' ? 1n : 0n)) mismatches.push(`${s.name}.${f.name}: signedness differs from ${f.ctype}`)
    }
  }
  assert.equal(mismatches, [])
})

test('the fields missing from the 6.1 header sit in what was tail padding there', () => {
  // vfio_iommu_type1_info: 24 bytes in both eras, pad @20 was implicit padding.
  assert.is(structLine('sizeof', 'vfio_iommu_type1_info'), 24n)
  assert.is(vfio_iommu_type1_info.offsets.pad, 20)
  // vfio_device_info: pad @20 starts exactly where the 6.1 struct ended.
  assert.is(vfio_device_info.offsets.pad, VFIO_DEVICE_INFO_SIZE_6_1)
})

test.run()
