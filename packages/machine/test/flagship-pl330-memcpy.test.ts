// The flagship end-to-end test (issue 7): from a fresh boot, a user process
// takes the FVP's PL330 away from its kernel driver through sysfs, hands it
// to VFIO, maps three buffers through the MMU-400 with VFIO type1, mmaps
// the DMAC's registers, attaches an eventfd to the PL330's first event IRQ,
// writes a Linux-style memcpy program into the microcode buffer, starts
// channel 0 with user MMIO stores to the debug registers, sleeps on the
// eventfd and finds the destination equal to the source.
//
// And the seed's point: in 'rfc-v5' a microcode mapping without EXEC is
// execute-never in the SMMU, so the DMAC's instruction fetch takes a
// permission fault (SMMU context fault + dmesg line), the channel faults
// with instr_fetch_err and raises its abort IRQ, and nothing is copied;
// 'upstream' has no EXEC flag and runs the same program.
//
// IRQ indexes follow the device tree order of the PL330 node: index 0 is
// irq_abort, index 1 is irq[0] (the first event interrupt).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { KernelProfile } from '@vfio-sim/kernel'
import { buildMemcpy, dbgGo } from '@vfio-sim/pl330'
import { FSR, FSYNR0 } from '@vfio-sim/mmu400'
import {
  EFD_NONBLOCK, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE,
  VFIO_DEVICE_FLAGS_AMBA, VFIO_DEVICE_FLAGS_PLATFORM, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_SET_IRQS,
  VFIO_DMA_MAP_FLAG_EXEC, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_MAP_DMA, VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_REGION_INFO_FLAG_MMAP, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU,
  vfio_device_info, vfio_group_status, vfio_iommu_type1_dma_map, vfio_irq_info, vfio_irq_set, vfio_region_info,
} from '@vfio-sim/uapi'
import { boot, type Machine, type Process } from '../src/index.ts'

const DEV = '2c0a0000.dma'
const LEN = 4096
const SRC_IOVA = 0x1000_0000
const DST_IOVA = 0x1000_1000
const MCODE_IOVA = 0x1000_2000
/** PL330 register offsets (the user driver's own, as the 2014 test had them). */
const INTEN = 0x020
const INTCLR = 0x02c
const FTR0 = 0x040
const CSR0 = 0x100
const DBGSTATUS = 0xd00
const DBGCMD = 0xd04
const DBGINST0 = 0xd08
const DBGINST1 = 0xd0c
/** vfio IRQ indexes of this DMAC (DT order). */
const IRQ_ABORT = 0
const IRQ_EVENT0 = 1

/** A fresh boot (the IOMMU core, arm-smmu and the VFIO modules are part of it). */
function bootVfio(board: string, profile: KernelProfile): Machine {
  return boot({ board, profile })
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, v, true)
  return b
}

function cstring(s: string): Uint8Array {
  return new TextEncoder().encode(s + '\0')
}

function u64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)
}

interface Session {
  readonly m: Machine
  readonly p: Process
  readonly dev: number
  readonly regs: number
  readonly src: Uint8Array
  readonly srcVa: number
  readonly dstVa: number
  readonly mcodeVa: number
  readonly efd: number
  readonly abortEfd: number
}

/**
 * The user driver up to "ready to start": bind through sysfs, container,
 * group, TYPE1, three DMA mappings, device fd, register mmap, eventfds.
 */
function userDriver(board: string, profile: KernelProfile, opts: { execMcode: boolean }, m = bootVfio(board, profile)): Session {
  const p = m.spawn()
  const bus = board.endsWith('-amba') ? 'amba' : 'platform'
  const vfioDrv = bus === 'amba' ? 'vfio-amba' : 'vfio-platform'
  // 1. sysfs: driver_override → unbind dma-pl330 → drivers_probe.
  p.writeFile(`/sys/bus/${bus}/devices/${DEV}/driver_override`, `${vfioDrv}\n`)
  p.writeFile(`/sys/bus/${bus}/drivers/dma-pl330/unbind`, `${DEV}\n`)
  p.writeFile(`/sys/bus/${bus}/drivers_probe`, `${DEV}\n`)
  assert.ok(p.readlink(`/sys/bus/${bus}/devices/${DEV}/driver`).endsWith(`/${vfioDrv}`), 'bound to the VFIO bus driver')
  const group = p.readlink(`/sys/bus/${bus}/devices/${DEV}/iommu_group`).split('/').pop()!
  // 2. container and group. Upstream type1 refuses a platform without MSI
  // isolation (a GIC-400 has no ITS) unless the administrator allows it.
  if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
  const container = p.open('/dev/vfio/vfio', O_RDWR)
  const groupFd = p.open(`/dev/vfio/${group}`, O_RDWR)
  const st = vfio_group_status.encode({ argsz: 8, flags: 0 })
  p.ioctl(groupFd, VFIO_GROUP_GET_STATUS, st)
  assert.ok((vfio_group_status.decode(st).flags & VFIO_GROUP_FLAGS_VIABLE) !== 0, 'group viable')
  p.ioctl(groupFd, VFIO_GROUP_SET_CONTAINER, u32(container))
  p.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
  // 3. buffers, mapped for the device.
  const bufs = p.mmap(0, 3 * 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const srcVa = bufs
  const dstVa = bufs + 0x1000
  const mcodeVa = bufs + 0x2000
  const src = Uint8Array.from({ length: LEN }, (_, i) => (i * 31 + 7) & 0xff)
  p.poke(srcVa, src)
  const map = (vaddr: number, iova: number, flags: number): void => {
    p.ioctl(container, VFIO_IOMMU_MAP_DMA, vfio_iommu_type1_dma_map.encode({ argsz: 32, flags, vaddr: BigInt(vaddr), iova: BigInt(iova), size: 0x1000n }))
  }
  const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE
  map(srcVa, SRC_IOVA, RW)
  map(dstVa, DST_IOVA, RW)
  map(mcodeVa, MCODE_IOVA, opts.execMcode && profile === 'rfc-v5' ? RW | VFIO_DMA_MAP_FLAG_EXEC : RW)
  // 4. the device fd, its region and its interrupts.
  const dev = p.ioctl(groupFd, VFIO_GROUP_GET_DEVICE_FD, cstring(DEV))
  const info = vfio_device_info.encode({ argsz: 24, flags: 0, num_regions: 0, num_irqs: 0, cap_offset: 0 })
  p.ioctl(dev, VFIO_DEVICE_GET_INFO, info)
  const di = vfio_device_info.decode(info)
  assert.ok((di.flags & (bus === 'amba' ? VFIO_DEVICE_FLAGS_AMBA : VFIO_DEVICE_FLAGS_PLATFORM)) !== 0, `device flags 0x${di.flags.toString(16)}`)
  assert.is(di.num_regions, 1)
  assert.ok(di.num_irqs >= 2)
  const ri = vfio_region_info.encode({ argsz: 32, flags: 0, index: 0, cap_offset: 0, size: 0n, offset: 0n })
  p.ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, ri)
  const region = vfio_region_info.decode(ri)
  assert.is(region.size, 0x1000n)
  assert.ok((region.flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0)
  const regs = p.mmap(0, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, Number(region.offset))
  const ii = vfio_irq_info.encode({ argsz: 16, flags: 0, index: IRQ_EVENT0, count: 0 })
  p.ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, ii)
  assert.ok((vfio_irq_info.decode(ii).flags & (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_AUTOMASKED)) === (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_AUTOMASKED))
  const efd = p.eventfd(0, 0)
  const abortEfd = p.eventfd(0, EFD_NONBLOCK)
  const trig = (index: number, fd: number): void => {
    p.ioctl(dev, VFIO_DEVICE_SET_IRQS, vfio_irq_set.encode({ argsz: 24, flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start: 0, count: 1, data: [fd] }))
  }
  trig(IRQ_EVENT0, efd)
  trig(IRQ_ABORT, abortEfd)
  // 5. the program: Linux's memcpy microcode, at IOVAs, signalling event 0.
  p.poke(mcodeVa, buildMemcpy({ src: SRC_IOVA, dst: DST_IOVA, len: LEN, event: 0, nonSecure: true }).bytes)
  return { m, p, dev, regs, src, srcVa, dstVa, mcodeVa, efd, abortEfd }
}

/** INTEN bit 0, then DMAGO channel 0 at the microcode through the debug registers (user MMIO stores). */
function start(s: Session): void {
  const { p, regs } = s
  p.write32(regs + INTEN, 1)
  assert.is(p.read32(regs + DBGSTATUS) & 1, 0, 'debug interface idle')
  const go = dbgGo(0, MCODE_IOVA, true)
  p.write32(regs + DBGINST0, go.dbginst0)
  p.write32(regs + DBGINST1, go.dbginst1)
  p.write32(regs + DBGCMD, 0)
}

const CASES: readonly { board: string; profile: KernelProfile }[] = [
  { board: 'fvp-mmu400', profile: 'rfc-v5' },
  { board: 'fvp-mmu400', profile: 'upstream' },
  { board: 'fvp-mmu400-amba', profile: 'rfc-v5' },
  { board: 'fvp-mmu400-amba', profile: 'upstream' },
]

for (const { board, profile } of CASES) {
  test(`${board} ${profile}: memcpy by a user-space PL330 driver through VFIO; completion on the eventfd`, () => {
    const s = userDriver(board, profile, { execMcode: true })
    start(s)
    const b = new Uint8Array(8)
    assert.is(s.p.read(s.efd, b), 8) // blocks until irq[0]
    assert.is(u64(b), 1n)
    assert.equal(s.p.peek(s.dstVa, LEN), s.src)
    assert.is(s.p.read32(s.regs + CSR0) & 0xf, 0, 'channel 0 stopped')
    // Acknowledge like the 2014 user driver: INTCLR, then UNMASK the automasked line.
    s.p.write32(s.regs + INTCLR, 1)
    s.p.ioctl(s.dev, VFIO_DEVICE_SET_IRQS, vfio_irq_set.encode({ argsz: 20, flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: IRQ_EVENT0, start: 0, count: 1 }))
    // A second copy runs and is reported again.
    s.p.poke(s.dstVa, new Uint8Array(LEN))
    start(s)
    assert.is(s.p.read(s.efd, b), 8)
    assert.equal(s.p.peek(s.dstVa, LEN), s.src)
    // Third round acknowledged through an unmask eventfd (virqfd), as a VMM's resamplefd would.
    const efdU = s.p.eventfd(0, EFD_NONBLOCK)
    s.p.ioctl(s.dev, VFIO_DEVICE_SET_IRQS, vfio_irq_set.encode({ argsz: 24, flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, index: IRQ_EVENT0, start: 0, count: 1, data: [efdU] }))
    s.p.write32(s.regs + INTCLR, 1)
    s.p.write(efdU, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]))
    s.p.poke(s.dstVa, new Uint8Array(LEN))
    start(s)
    assert.is(s.p.read(s.efd, b), 8)
    assert.is(u64(b), 1n)
    assert.equal(s.p.peek(s.dstVa, LEN), s.src)
  })
}

for (const board of ['fvp-mmu400', 'fvp-mmu400-amba']) {
  test(`${board} rfc-v5: microcode mapped without EXEC → SMMU permission fault on the fetch, instr_fetch_err, abort IRQ, nothing copied`, () => {
    const s = userDriver(board, 'rfc-v5', { execMcode: false })
    const { m, p } = s
    start(s)
    // The abort interrupt reaches the user through its eventfd.
    const b = new Uint8Array(8)
    m.run({ until: () => (p.poll([{ fd: s.abortEfd, events: 1 }], 0) > 0) })
    assert.is(p.read(s.abortEfd, b), 8)
    assert.is(u64(b), 1n)
    assert.is(p.read32(s.regs + CSR0) & 0xf, 0xf, 'channel 0 Faulting')
    const ftr = p.read32(s.regs + FTR0)
    assert.ok((ftr & (1 << 16)) !== 0, `FTR0 0x${ftr.toString(16)} has instr_fetch_err`)
    assert.equal(p.peek(s.dstVa, LEN), new Uint8Array(LEN), 'destination untouched')
    const dmesg = m.kernel.dmesg()
    const line = dmesg.find(l => l.includes('Unhandled context fault'))
    assert.ok(line !== undefined, dmesg.join('\n'))
    assert.ok(line!.includes(`iova=0x${MCODE_IOVA.toString(16).padStart(8, '0')}`), line)
    // The SMMU recorded a permission fault on an instruction fetch (FSR.PF, FSYNR0.IND, not a write).
    const fsr = parseInt(/fsr=0x([0-9a-f]+)/.exec(line!)![1]!, 16)
    const fsynr = parseInt(/fsynr=0x([0-9a-f]+)/.exec(line!)![1]!, 16)
    assert.ok((fsr & FSR.PF) !== 0, line)
    assert.ok((fsynr & FSYNR0.IND) !== 0 && (fsynr & FSYNR0.WNR) === 0, line)
    // No completion interrupt.
    assert.is(p.poll([{ fd: s.efd, events: 1 }], 0), 0)
  })
}

for (const board of ['fvp-mmu400', 'fvp-mmu400-amba']) test(`${board} upstream: the same program without any flag runs (upstream mappings are device-executable)`, () => {
  const s = userDriver(board, 'upstream', { execMcode: false })
  start(s)
  const b = new Uint8Array(8)
  assert.is(s.p.read(s.efd, b), 8)
  assert.equal(s.p.peek(s.dstVa, LEN), s.src)
  assert.not.ok(s.m.kernel.dmesg().some(l => l.includes('context fault')))
})

for (const { board, profile } of CASES) {
  test(`${board} ${profile}: after the copy, closing every fd and exiting leaves nothing pinned or allocated`, () => {
    const m = bootVfio(board, profile)
    const before = m.kernel.pages.snapshot() // the page allocator as boot left it
    const s = userDriver(board, profile, { execMcode: true }, m)
    const { p } = s
    start(s)
    assert.is(p.read(s.efd, new Uint8Array(8)), 8)
    assert.ok(p.task.mm.lockedVm > 0, 'the three mapped pages are pinned and accounted')
    for (const fd of [s.efd, s.abortEfd, s.dev]) p.close(fd)
    p.munmap(s.regs, 0x1000)
    // Container and group fds: the lowest ones the driver opened (3 and 4).
    p.close(3)
    p.close(4)
    assert.is(p.task.mm.lockedVm, 0, 'locked_vm back to zero once the last group left the container')
    p.exit()
    assert.equal(m.kernel.pages.snapshot(), before, 'every page the process, its DMA mappings and the domain used is free again')
  })
}

test.run()
