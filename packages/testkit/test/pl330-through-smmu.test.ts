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

function setup(mcodeXn: boolean) {
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
    mapping({ va: SRC_IOVA, pa: SRC_PA, size: 0x1000, ap: Ap.RO, xn: true }),
    mapping({ va: DST_IOVA, pa: DST_PA, size: 0x1000, ap: Ap.RW, xn: true }),
  ], { alloc: new FrameAllocator(mem, 0x8800_0000, 0x10_0000) })
  // Every stream of the DMAC (one per channel, one for the manager) through context bank 0.
  programStage1Context(rig.sys.bus, SMMU_BASE, { cb: 0, smrIndex: 0, streamId: 0, smrMask: 0x7fff, tables, format: 'aarch32-lpae' })
  const src = Uint8Array.from({ length: LEN }, (_, i) => (i * 13 + 7) & 0xff)
  rig.load(SRC_PA, src)
  rig.load(MCODE_PA, buildMemcpy({ src: SRC_IOVA, dst: DST_IOVA, len: LEN, event: 0, nonSecure: true }).bytes)
  return { rig, smmu: smmu!, src }
}

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
