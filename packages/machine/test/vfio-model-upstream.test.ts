// The model-based VFIO property in the `upstream` profile (body: vfio-model-run.ts).
import { test } from 'uvu'
import { modelRunTests } from './vfio-model-run.ts'

modelRunTests('upstream')
test.run()
