import { writeFileSync } from 'node:fs'
import { scenarioSchema } from '../src/schema.ts'
writeFileSync(new URL('../scenario.schema.json', import.meta.url), JSON.stringify(scenarioSchema(), null, 2) + '\n')
