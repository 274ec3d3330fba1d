// Property: random sequences of sysfs writes (driver_override, bind, unbind,
// drivers_probe, drivers_autoprobe) on every board, against an independent
// model of the binding state kept with immer. Every write's result (byte
// count or errno) and every device's resulting `driver` link must match.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { produce } from 'immer'
import { Kernel, ambaDriverRegister, isKernelError, platformDriverRegister, type DeviceDriver } from '@vfio-sim/kernel'
import { boardNames, buildBoard } from '../src/boards/index.ts'

type BusName = 'platform' | 'amba'

// ---------------------------------------------------------------- the model

interface ModelDevice {
  readonly name: string
  readonly bus: BusName
  /** Matched by the PL330 drivers' tables (compatible "arm,pl330" / periphid 0x00241330). */
  readonly isPl330: boolean
  readonly override: string | null
  readonly driver: string | null
}

interface ModelDriver {
  readonly name: string
  readonly bus: BusName
  readonly table: boolean
  /**
   * Probe result: 0 or an errno name. 'pl330' = succeeds on a PL330 and fails
   * with EINVAL elsewhere (dma-pl330 reads the PL330's ID registers).
   */
  readonly probe: 0 | 'EINVAL' | 'ENODEV' | 'pl330'
}

interface Model {
  readonly devices: readonly ModelDevice[]
  readonly drivers: readonly ModelDriver[]
  readonly autoprobe: Readonly<Record<BusName, boolean>>
}

type Result = number | string

function cString(s: string): string {
  const i = s.indexOf('\0')
  return i < 0 ? s : s.slice(0, i)
}

/** The device a name written to a control file designates (exact, one trailing newline allowed). */
function lookup(m: Model, bus: BusName, buf: string): number {
  const s = cString(buf)
  return m.devices.findIndex(d => d.bus === bus && (s === d.name || s === `${d.name}\n`))
}

function probeResult(d: ModelDevice, drv: ModelDriver): 0 | string {
  if (drv.probe === 'pl330') return d.isPl330 ? 0 : 'EINVAL'
  return drv.probe
}

function matches(d: ModelDevice, drv: ModelDriver): boolean {
  if (d.override !== null) return d.override === drv.name
  return drv.table && d.isPl330
}

function apply(m: Model, op: Op): [Model, Result] {
  const count = Math.min(op.data.length, 4096)
  if (op.data.length === 0) return [m, 0]
  switch (op.kind) {
    case 'override': {
      const i = m.devices.findIndex(d => d.name === op.target)
      if (count >= 4095) return [m, 'EINVAL']
      const s = cString(op.data.slice(0, count)).split('\n')[0]!
      return [produce(m, dr => { dr.devices[i]!.override = s === '' ? null : s }), count]
    }
    case 'autoprobe':
      return [produce(m, dr => { dr.autoprobe[op.bus] = op.data[0] !== '0' }), count]
    case 'unbind': {
      const i = lookup(m, op.bus, op.data)
      if (i < 0 || m.devices[i]!.driver !== op.target) return [m, 'ENODEV']
      return [produce(m, dr => { dr.devices[i]!.driver = null }), count]
    }
    case 'bind': {
      const i = lookup(m, op.bus, op.data)
      const drv = m.drivers.find(d => d.bus === op.bus && d.name === op.target)!
      if (i < 0 || !matches(m.devices[i]!, drv)) return [m, 'ENODEV']
      if (m.devices[i]!.driver !== null) return [m, 'EBUSY']
      const r = probeResult(m.devices[i]!, drv)
      if (r !== 0) return [m, r]
      return [produce(m, dr => { dr.devices[i]!.driver = drv.name }), count]
    }
    case 'drivers_probe': {
      const i = lookup(m, op.bus, op.data)
      if (i < 0) return [m, 'ENODEV']
      if (m.devices[i]!.driver !== null) return [m, count]
      for (const drv of m.drivers.filter(d => d.bus === op.bus)) {
        if (matches(m.devices[i]!, drv) && probeResult(m.devices[i]!, drv) === 0) return [produce(m, dr => { dr.devices[i]!.driver = drv.name }), count]
      }
      return [m, count]
    }
  }
}

// ---------------------------------------------------------------- the system

interface Op {
  readonly kind: 'override' | 'bind' | 'unbind' | 'drivers_probe' | 'autoprobe'
  readonly bus: BusName
  /** Device name (override) or driver name (bind/unbind). */
  readonly target: string
  readonly data: string
}

function write(k: Kernel, path: string, data: string): Result {
  const parts = path.split('/')
  const out: string[] = []
  while (parts.length > 0) {
    const p = parts.shift()!
    if (p === '..') {
      out.pop()
      continue
    }
    const n = k.sysfs.lookup([...out, p].join('/'))
    if (n?.kind === 'link') parts.unshift(...n.target.split('/'))
    else out.push(p)
  }
  const f = k.sysfs.lookup(out.join('/'))
  if (f?.kind !== 'file' || f.attr.store === undefined) return 'ENOENT'
  try {
    return f.attr.store(data)
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

function driverLink(k: Kernel, bus: BusName, dev: string): string | null {
  const dir = k.sysfs.lookup(`bus/${bus}/devices/${dev}`)
  if (dir?.kind !== 'link') return null
  const target = dir.target.replace(/^(\.\.\/)+/, '')
  const l = k.sysfs.lookup(`${target}/driver`)
  return l?.kind === 'link' ? l.target.split('/').pop()! : null
}

function standIn(name: string, bus: BusName, table: boolean, result: number): DeviceDriver {
  const base = { name, bus, probe: () => result, driverManagedDma: name.startsWith('vfio') }
  if (!table) return base
  return bus === 'platform' ? { ...base, ofMatchTable: ['arm,pl330'] } : { ...base, ambaIds: [{ id: 0x00041330, mask: 0x000fffff }] }
}

function boot(board: string): { k: Kernel; model: Model } {
  const k = new Kernel()
  buildBoard(k, board, { iommu: false }) // the driver core's rules; VFIO and IOMMU ownership have their own properties
  platformDriverRegister(k, standIn('vfio-platform', 'platform', false, 0))
  platformDriverRegister(k, standIn('picky', 'platform', true, -22))
  ambaDriverRegister(k, standIn('vfio-amba', 'amba', false, 0))
  ambaDriverRegister(k, standIn('picky', 'amba', true, -22))
  const devices: ModelDevice[] = []
  for (const bus of ['platform', 'amba'] as const) {
    for (const name of k.sysfs.readdir(`bus/${bus}/devices`)) {
      const isPl330 = name.endsWith('.dma')
      devices.push({ name, bus, isPl330, override: null, driver: isPl330 ? 'dma-pl330' : null })
    }
  }
  const drivers: ModelDriver[] = []
  for (const bus of ['platform', 'amba'] as const) {
    drivers.push({ name: 'dma-pl330', bus, table: true, probe: 'pl330' })
    if (bus === 'amba') drivers.push({ name: 'amba-proxy', bus, table: false, probe: 'ENODEV' })
    drivers.push({ name: bus === 'platform' ? 'vfio-platform' : 'vfio-amba', bus, table: false, probe: 0 })
    drivers.push({ name: 'picky', bus, table: true, probe: 'EINVAL' })
  }
  return { k, model: { devices, drivers, autoprobe: { platform: true, amba: true } } }
}

function run(k: Kernel, op: Op, model: Model): Result {
  const dev = model.devices.find(d => d.name === op.target && d.bus === op.bus)
  switch (op.kind) {
    case 'override': return write(k, `bus/${dev!.bus}/devices/${dev!.name}/driver_override`, op.data)
    case 'autoprobe': return write(k, `bus/${op.bus}/drivers_autoprobe`, op.data)
    case 'drivers_probe': return write(k, `bus/${op.bus}/drivers_probe`, op.data)
    case 'bind': return write(k, `bus/${op.bus}/drivers/${op.target}/bind`, op.data)
    case 'unbind': return write(k, `bus/${op.bus}/drivers/${op.target}/unbind`, op.data)
  }
}

// ---------------------------------------------------------------- arbitraries

const DRIVER_NAMES = { platform: ['dma-pl330', 'vfio-platform', 'picky'], amba: ['dma-pl330', 'amba-proxy', 'vfio-amba', 'picky'] } as const

function opArb(devices: readonly ModelDevice[]): fc.Arbitrary<Op> {
  const names = [...new Set(devices.map(d => d.name))]
  const nameData = fc.oneof(
    fc.constantFrom(...names).chain(n => fc.constantFrom(n, `${n}\n`, `${n}\n\n`, ` ${n}`, `${n}\0x`, n.toUpperCase())),
    fc.constantFrom('nosuch\n', '', '\n'),
  )
  const overrideData = fc.oneof(
    fc.constantFrom('vfio-platform', 'vfio-amba', 'dma-pl330', 'amba-proxy', 'picky', 'none', 'vfio_platform').chain(n => fc.constantFrom(`${n}\n`, n, `${n} \n`, `${n}\nx`, `\0${n}`)),
    fc.constantFrom('', '\n', 'x'.repeat(4094), 'y'.repeat(4095), 'z'.repeat(5000)),
  )
  const bus = fc.constantFrom<BusName>('platform', 'amba')
  const arbs: fc.Arbitrary<Op>[] = [
    bus.chain(b => fc.record({ kind: fc.constant('bind' as const), bus: fc.constant(b), target: fc.constantFrom(...DRIVER_NAMES[b]), data: nameData })),
    bus.chain(b => fc.record({ kind: fc.constant('unbind' as const), bus: fc.constant(b), target: fc.constantFrom(...DRIVER_NAMES[b]), data: nameData })),
    fc.record({ kind: fc.constant('drivers_probe' as const), bus, target: fc.constant(''), data: nameData }),
    fc.record({ kind: fc.constant('autoprobe' as const), bus, target: fc.constant(''), data: fc.constantFrom('0\n', '1\n', '0', 'foo', '', '01') }),
  ]
  if (devices.length > 0) {
    arbs.push(fc.constantFrom(...devices).chain(d => fc.record({ kind: fc.constant('override' as const), bus: fc.constant(d.bus), target: fc.constant(d.name), data: overrideData })))
  }
  return fc.oneof(...arbs)
}

for (const board of boardNames()) {
  test(`${board}: sysfs write sequences match the independent binding model`, () => {
    const proto = boot(board).model
    fc.assert(
      fc.property(fc.array(opArb(proto.devices), { minLength: 1, maxLength: 30 }), ops => {
        const { k, model: m0 } = boot(board)
        let model = m0
        ops.forEach((op, step) => {
          const got = run(k, op, model)
          const [next, want] = apply(model, op)
          model = next
          assert.is(got, want, `step ${step}: ${JSON.stringify(op).slice(0, 200)}`)
          for (const d of model.devices) assert.is(driverLink(k, d.bus, d.name), d.driver, `step ${step}: driver of ${d.bus}/${d.name}`)
        })
        for (const d of model.devices) {
          const text = k.sysfs.lookup(`bus/${d.bus}/devices/${d.name}`)
          assert.ok(text !== undefined)
        }
      }),
      { numRuns: 100 },
    )
  })
}

test.run()
