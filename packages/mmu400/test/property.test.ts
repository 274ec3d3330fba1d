import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { busAttrs } from '@vfio-sim/sim'
import { FSR } from '../src/index.ts'
import { PT_ARENA, RAM_BASE, SMMU_BASE, fixture, linuxAttach } from './helpers.ts'

const FSR_DEFINED = (FSR.MULTI | FSR.SS | 0x7fe) >>> 0

test('random bytes as page tables, random TCR/SCTLR/TTBR: translation never throws', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 512 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 20 }),
      fc.constantFrom(1 as const, 2 as const),
      (bytes, tcr, sctlr, ttbrHi, accesses, version) => {
        const f = fixture({ version })
        linuxAttach(f)
        // Spray the random bytes over the root table and a few next-level tables.
        for (let i = 0; i < 4; i++) f.mem.write(PT_ARENA + i * 0x1000, bytes)
        // Table descriptors among them are pointed back into the arena (keeping their
        // random attribute bits), so walks go several levels deep through random data.
        for (let i = 0; i < 4; i++) {
          for (let d = 0; d + 8 <= bytes.length; d += 8) {
            const a = PT_ARENA + i * 0x1000 + d
            const lo = f.mem.read32(a)
            if ((lo & 3) === 3 && (lo & 0x4000) !== 0) {
              f.mem.write32(a, ((PT_ARENA + ((lo >>> 12) & 3) * 0x1000) | (lo & 0xfff)) >>> 0)
              f.mem.write32(a + 4, f.mem.read32(a + 4) & 0xffff0000)
            }
          }
        }
        // Descriptors that point into the arena keep the walk going through random data.
        f.w(f.cb(0) + 0x30, tcr)
        f.w(f.cb(0), sctlr)
        f.w(f.cb(0) + 0x24, ttbrHi)
        if (version === 2) f.w(f.gr1 + 0x800, tcr & 1)
        const port = f.smmu.port(3)
        const buf = new Uint8Array(8)
        for (const [va, write, priv, instr] of accesses) {
          const a = busAttrs({ priv, instr, streamId: 3 })
          const n = write ? port.write(va, buf, 0, 8, a) : port.read(va, buf, 0, 8, a)
          assert.ok(n >= 0 && n <= 8)
          f.w(f.cb(0) + 0x800, va) // ATOS too
          if (port.stalled) f.w(f.cb(0) + 0x8, va & 1)
        }
        assert.is((f.r(f.cb(0) + 0x58) & ~FSR_DEFINED) >>> 0, 0)
      },
    ),
    { numRuns: 150 },
  )
})

test('random register writes (any offset, 32/64-bit) interleaved with DMA never throw', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('w32' as const), off: fc.integer({ min: 0, max: 0xfffc }), v: fc.integer({ min: 0, max: 0xffffffff }) }),
          fc.record({ kind: fc.constant('w64' as const), off: fc.integer({ min: 0, max: 0x1fff }), v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
          fc.record({ kind: fc.constant('dma' as const), va: fc.integer({ min: 0, max: 0xffffffff }), sid: fc.integer({ min: 0, max: 0xffff }), write: fc.boolean() }),
          fc.record({ kind: fc.constant('r32' as const), off: fc.integer({ min: 0, max: 0xfffc }) }),
          fc.record({ kind: fc.constant('any' as const), off: fc.integer({ min: 0, max: 0xffff }), size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), v: fc.integer({ min: 0, max: 0xffffffff }), write: fc.boolean() }),
        ),
        { maxLength: 60 },
      ),
      ops => {
        const f = fixture({ contextBanks: 4, smrGroups: 4, contextIrqs: 2 })
        const pt = linuxAttach(f)
        pt.map(0x1000, RAM_BASE)
        for (const op of ops) {
          if (op.kind === 'w32') f.w(op.off & ~3, op.v)
          else if (op.kind === 'w64') f.w64(f.cb(op.off % 4) + ((op.off >> 2) & ~7) % 0x1000, op.v)
          else if (op.kind === 'r32') f.r(op.off & ~3)
          else if (op.kind === 'any') {
            // Any width at any offset (misaligned, past the end): logged or ignored, never thrown.
            const a = SMMU_BASE + op.off
            if (op.write) f.bus.writeN(a, op.size, op.v)
            else f.bus.readN(a, op.size)
          }
          else {
            const port = f.smmu.port(op.sid)
            const buf = new Uint8Array(16)
            const a = busAttrs({ streamId: op.sid })
            if (op.write) port.write(op.va, buf, 0, 16, a)
            else port.read(op.va, buf, 0, 16, a)
          }
        }
        for (const ctx of f.smmu.contexts) assert.ok(ctx.tlb.size <= ctx.tlb.capacity)
      },
    ),
    { numRuns: 150 },
  )
})

test('random 4 KiB mappings and unmaps with TLBIVAL+sync agree with a plain map of pages', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('map' as const), page: fc.integer({ min: 0, max: 63 }), frame: fc.integer({ min: 0, max: 255 }), ro: fc.boolean() }),
          fc.record({ op: fc.constant('unmap' as const), page: fc.integer({ min: 0, max: 63 }) }),
          fc.record({ op: fc.constant('read' as const), page: fc.integer({ min: 0, max: 63 }), off: fc.integer({ min: 0, max: 4092 }) }),
          fc.record({ op: fc.constant('write' as const), page: fc.integer({ min: 0, max: 63 }), v: fc.integer({ min: 0, max: 0xffffffff }) }),
        ),
        { maxLength: 80 },
      ),
      ops => {
        const f = fixture()
        const pt = linuxAttach(f)
        // The independent model: IOVA page → (frame, read-only).
        const model = new Map<number, { frame: number; ro: boolean }>()
        const port = f.smmu.port(3)
        const attrs = busAttrs({ streamId: 3 })
        const iova = (p: number) => 0x100000 + p * 0x1000
        const pa = (fr: number) => RAM_BASE + 0x100000 + fr * 0x1000
        const buf = new Uint8Array(4)
        for (const o of ops) {
          if (o.op === 'map') {
            // Linux unmaps (and invalidates) before re-mapping a page.
            if (model.has(o.page)) {
              pt.unmap(iova(o.page))
              f.w(f.cb(0) + 0x620, iova(o.page))
              f.w(f.cb(0) + 0x7f0, 0)
            }
            pt.map(iova(o.page), pa(o.frame), 3, { read: true, write: !o.ro })
            model.set(o.page, { frame: o.frame, ro: o.ro })
          } else if (o.op === 'unmap') {
            pt.unmap(iova(o.page))
            f.w(f.cb(0) + 0x620, iova(o.page))
            f.w(f.cb(0) + 0x7f0, 0)
            model.delete(o.page)
          } else if (o.op === 'read') {
            const m = model.get(o.page)
            const n = port.read(iova(o.page) + o.off, buf, 0, 4, attrs)
            if (m === undefined) assert.is(n, 0)
            else {
              assert.is(n, 4)
              assert.equal([...buf], [...f.mem.slice(pa(m.frame) + o.off, 4)])
            }
          } else {
            const m = model.get(o.page)
            new DataView(buf.buffer).setUint32(0, o.v, true)
            const n = port.write(iova(o.page), buf, 0, 4, attrs)
            if (m === undefined || m.ro) assert.is(n, 0)
            else {
              assert.is(n, 4)
              assert.is(f.mem.read32(pa(m.frame)), o.v >>> 0)
            }
          }
          f.w(f.cb(0) + 0x58, 0xffffffff)
        }
      },
    ),
    { numRuns: 100 },
  )
})

test.run()
