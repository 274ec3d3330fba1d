/**
 * PL330 memcpy throughput: a 64 MiB copy by Linux-style microcode
 * (`_setup_req` shape: DMALP 256 { DMALP 256 { (DMALD; DMAST) × 8 } },
 * 128-byte bursts) through the identity port, against a plain
 * `Uint8Array.set` of the same size.
 */
import type { BenchFigure } from '../../../bench/harness.ts'
import { encodeAll, type Instr } from '../src/isa/index.ts'
import { Pl330Rig } from '../src/model/harness.ts'

const SIZE = 64 << 20
const SRC = 0x80000000
const DST = 0x88000000
const PROG = 0x90000000

function program(): Uint8Array {
  const LD: Instr = { op: 'DMALD', length: 1, cond: 'always' }
  const ST: Instr = { op: 'DMAST', length: 1, cond: 'always' }
  const body: Instr[] = []
  for (let i = 0; i < 8; i++) body.push(LD, ST)
  return encodeAll([
    { op: 'DMAMOV', length: 6, reg: 'CCR', imm: 0x003dc0f7 },
    { op: 'DMAMOV', length: 6, reg: 'SAR', imm: SRC },
    { op: 'DMAMOV', length: 6, reg: 'DAR', imm: DST },
    { op: 'DMALP', length: 2, lc: 0, iterations: 256 },
    { op: 'DMALP', length: 2, lc: 1, iterations: 256 },
    ...body,
    { op: 'DMALPEND', length: 2, lc: 1, cond: 'always', forever: false, jump: 16 },
    { op: 'DMALPEND', length: 2, lc: 0, cond: 'always', forever: false, jump: 20 },
    { op: 'DMASEV', length: 2, event: 0 },
    { op: 'DMAEND', length: 1 },
  ])
}

function makeRig(fastPath: boolean): Pl330Rig {
  const rig = new Pl330Rig({ fastPath, ram: [[0x80000000, 0x20000000]] })
  const chunk = new Uint8Array(1 << 20)
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24
  for (let off = 0; off < SIZE; off += chunk.length) rig.sys.memory.write(SRC + off, chunk)
  rig.load(PROG, program())
  return rig
}

function copy(rig: Pl330Rig): number {
  rig.go(0, PROG)
  rig.run()
  if (rig.readl(0x400) !== ((SRC + SIZE) >>> 0) || rig.readl(0x40) !== 0) throw new Error('pl330 memcpy bench: transfer did not complete')
  return SIZE
}

let fast: Pl330Rig | undefined
let slow: Pl330Rig | undefined
const src = new Uint8Array(SIZE)
const dst = new Uint8Array(SIZE)

const figures: BenchFigure[] = [
  {
    name: 'pl330 memcpy 64 MiB (fast path)',
    unit: 'B',
    run: () => copy((fast ??= makeRig(true))),
    reference: () => { dst.set(src); return SIZE },
    rounds: 3,
  },
  {
    name: 'pl330 memcpy 64 MiB (stepped)',
    unit: 'B',
    run: () => copy((slow ??= makeRig(false))),
    reference: () => { dst.set(src); return SIZE },
    rounds: 3,
  },
]

export default figures
