// The model-based VFIO property in the `rfc-v5` profile (body: vfio-model-run.ts).
import { test } from 'uvu'
import { modelRunTests } from './vfio-model-run.ts'

modelRunTests('rfc-v5')
test.run()
