/**
 * Sparse physical memory: bulk span copies (the PL330's data path) and
 * aligned 32-bit accesses (the page-table walker's), against a flat
 * Uint8Array / DataView doing the same work.
 */
import type { BenchFigure } from '../../../bench/harness.ts'
import { PhysMemory } from '../src/index.ts'

const SPAN = 16 << 20
const mem = new PhysMemory()
const flat = new Uint8Array(SPAN * 2)
const buf = new Uint8Array(SPAN)
mem.write(0x8000_0000, buf) // allocate the pages once
const view = new DataView(flat.buffer)
const WORDS = 1 << 20

const figures: BenchFigure[] = [
  {
    name: 'phys memory: 16 MiB span write+read',
    unit: 'B',
    run: () => { mem.write(0x8000_0000, buf); mem.read(0x8000_0000, buf); return 2 * SPAN },
    reference: () => { flat.set(buf, 0); buf.set(flat.subarray(0, SPAN)); return 2 * SPAN },
  },
  {
    name: 'phys memory: aligned read32',
    unit: 'accesses',
    run: () => { let s = 0; for (let i = 0; i < WORDS; i++) s ^= mem.read32(0x8000_0000 + ((i * 4) & (SPAN - 1))); return s === 0.5 ? 0 : WORDS },
    reference: () => { let s = 0; for (let i = 0; i < WORDS; i++) s ^= view.getUint32((i * 4) & (SPAN - 1), true); return s === 0.5 ? 0 : WORDS },
  },
]
export default figures
