// Preloaded into every test process (node --import). Configures fast-check
// once for the whole repo: a failing property keeps its assertion message in
// the report and prints the seed and path that replay it.
//   FC_NUM_RUNS=1000 pnpm test   more cases per property
//   FC_SEED=… FC_PATH=…          replay one failure
import fc from 'fast-check'

const numRuns = Number(process.env.FC_NUM_RUNS ?? 100)
const settings = { includeErrorInReport: true, numRuns }
if (process.env.FC_SEED !== undefined) settings.seed = Number(process.env.FC_SEED)
if (process.env.FC_PATH !== undefined) settings.path = process.env.FC_PATH
fc.configureGlobal(settings)
