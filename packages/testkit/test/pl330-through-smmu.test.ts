// The seed's story at the hardware level: a PL330 fetches its microcode and
// moves its data through stage-1 mappings of an MMU-400. The context bank is
// programmed over MMIO and the tables come from the independent builder; an
// instruction fetch from an execute-never page is a permission fault in the
// SMMU and a precise instr_fetch_err in the DMAC, and the copy never happens.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Mmu400, FSR } from '@vfio-sim/mmu400'
import { Pl330Rig, buildMemcpy } from '@vfio-sim/pl330'
import { aarch32Regime, buildPageTables, FrameAllocator, mapping, programStage1Context, readContextFault, Ap } from '../src/index.ts'

const SMMU_BASE = 0x2b50_0000
const MCODE_IOVA = 0x1000_0000
const SRC_IOVA = 0x1000_1000
const DST_IOVA = 0x1000_2000
const MCODE_PA = 0x8010_0000
const SRC_PA = 0x8020_0000
const DST_PA = 0x8030_0000
const LEN = 4096

interface Layout {
  /** AP of the destination pages (default read/write). */
  readonly dstAp?: Ap
}

function pages(va: number, pa: number, bytes: number, ap: Ap) {
  return Array.from({ length: Math.ceil(bytes / 0x1000) }, (_, i) => mapping({ va: va + i * 0x1000, pa: pa + i * 0x1000, size: 0x1000, ap, xn: true }))
}

function setup(mcodeXn: boolean, len = LEN, layout: Layout = {}) {
  // Source and destination IOVA ranges far enough apart for the largest copy.
  const srcIova = SRC_IOVA
  const dstIova = len > 0x1000 ? SRC_IOVA + 0x0100_0000 : DST_IOVA
  let smmu: Mmu400 | undefined
  const rig = new Pl330Rig({
    config: { mgrNsAtReset: true, irqNs: 0xffffffff }, // manager and events non-secure, as Linux on the FVP expects
    secureCpu: false,
    port: sys => {
      smmu = new Mmu400({ bus: sys.bus, tracer: sys.tracer, scheduler: sys.scheduler })
      sys.bus.addDevice(SMMU_BASE, smmu.mmio)
      return smmu.port()
    },
  })
  const mem = rig.sys.memory
  const tables = buildPageTables(mem, aarch32Regime(), [
    mapping({ va: MCODE_IOVA, pa: MCODE_PA, size: 0x1000, ap: Ap.RO, xn: mcodeXn }),
    ...pages(srcIova, SRC_PA, len, Ap.RO),
    ...pages(dstIova, DST_PA, len, layout.dstAp ?? Ap.RW),
  ], { alloc: new FrameAllocator(mem, 0x8800_0000, 0x10_0000) })
  // Every stream of the DMAC (one per channel, one for the manager) through context bank 0.
  programStage1Context(rig.sys.bus, SMMU_BASE, { cb: 0, smrIndex: 0, streamId: 0, smrMask: 0x7fff, tables, format: 'aarch32-lpae' })
  const src = Uint8Array.from({ length: len }, (_, i) => (i * 13 + 7 + (i >> 12)) & 0xff)
  rig.load(SRC_PA, src)
  rig.load(MCODE_PA, buildMemcpy({ src: srcIova, dst: dstIova, len, event: 0, nonSecure: true }).bytes)
  return { rig, smmu: smmu!, src }
}

// The spec's example programs (pl330.md): 4 KiB, 4136 B, 1 MiB and 3 MiB + 384 B.
for (const len of [4096, 4136, 1 << 20, 3 * (1 << 20) + 384]) {
  test(`spec example memcpy of ${len} bytes through 4 KiB stage-1 pages`, () => {
    const { rig, src } = setup(false, len)
    rig.go(0, MCODE_IOVA, true)
    rig.run()
    const ch = rig.dma.threadInfo(0)!
    assert.is(ch.state, 'Stopped', `${ch.faults.join(',')}: ${ch.faultWhy}`)
    assert.ok(rig.sys.memory.slice(DST_PA, len).every((b, i) => b === src[i]), 'destination equals source')
    assert.is(readContextFault(rig.sys.bus, SMMU_BASE, 0).fsr, 0)
  })
}

test('store to a read-only page: SMMU permission fault on a write, imprecise data_write_err', () => {
  const { rig } = setup(false, LEN, { dstAp: Ap.RO })
  rig.go(0, MCODE_IOVA, true)
  rig.run()
  const f = readContextFault(rig.sys.bus, SMMU_BASE, 0)
  assert.ok((f.fsr & FSR.PF) !== 0, `FSR 0x${f.fsr.toString(16)} has PF`)
  assert.ok((f.fsynr0 & (1 << 4)) !== 0, 'FSYNR0.WNR: the faulting access was a write')
  assert.is(f.far, DST_IOVA)
  const ch = rig.dma.threadInfo(0)!
  assert.is(ch.state, 'Faulting')
  assert.ok(ch.faults.includes('data_write_err'), ch.faults.join(','))
  assert.ok(rig.dma.abortAsserted)
  assert.equal(rig.sys.memory.slice(DST_PA, LEN), new Uint8Array(LEN))
})

test('memcpy through stage-1 mappings: microcode fetched and data moved via the SMMU', () => {
  const { rig, smmu, src } = setup(false)
  rig.go(0, MCODE_IOVA, true)
  rig.run()
  assert.equal(rig.sys.memory.slice(DST_PA, LEN), src)
  const ch = rig.dma.threadInfo(0)!
  assert.is(ch.state, 'Stopped', `${ch.faults.join(',')}: ${ch.faultWhy}`)
  assert.equal(ch.faults, [])
  assert.is(readContextFault(rig.sys.bus, SMMU_BASE, 0).fsr, 0)
  assert.ok(smmu.stats.walks > 0)
})

test('microcode on an XN page: SMMU permission fault, precise instr_fetch_err, abort IRQ, destination untouched', () => {
  const { rig } = setup(true)
  rig.go(0, MCODE_IOVA, true)
  rig.run()
  const f = readContextFault(rig.sys.bus, SMMU_BASE, 0)
  assert.ok((f.fsr & FSR.PF) !== 0, `FSR 0x${f.fsr.toString(16)} has PF`)
  assert.is(f.far, MCODE_IOVA)
  const ch = rig.dma.threadInfo(0)!
  assert.is(ch.state, 'Faulting')
  assert.ok(ch.faults.includes('instr_fetch_err'), ch.faults.join(','))
  assert.is(ch.pc, MCODE_IOVA, 'CPC stays on the instruction that could not be fetched')
  assert.ok(rig.dma.abortAsserted)
  assert.equal(rig.sys.memory.slice(DST_PA, LEN), new Uint8Array(LEN))
})

test.run()
