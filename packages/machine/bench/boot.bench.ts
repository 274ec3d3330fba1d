/**
 * How many machines a property campaign can boot: a full boot of the
 * flagship board (device tree, SMMU probe, PL330 probe, VFIO modules), and a
 * process spawned and exited on a booted machine. No host reference: the
 * figure itself is what a campaign's throughput is made of.
 */
import type { BenchFigure } from '../../../bench/harness.ts'
import { boot } from '../src/index.ts'

const BOOTS = 100
const booted = boot({ board: 'fvp-mmu400' })

const figures: BenchFigure[] = [
  {
    name: 'boot fvp-mmu400 (rfc-v5)',
    unit: 'boots',
    run: () => { for (let i = 0; i < BOOTS; i++) boot({ board: 'fvp-mmu400' }); return BOOTS },
  },
  {
    name: 'spawn + exit a process',
    unit: 'processes',
    run: () => { for (let i = 0; i < 1000; i++) booted.spawn().exit(); return 1000 },
  },
]
export default figures
