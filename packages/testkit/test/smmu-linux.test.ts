// Expected io-pgtable-arm stage-1 descriptors, computed by hand from the bit
// list in spec/smmu.md §5.4 (arm_lpae_prot_to_pte) and the descriptor layout
// (ARMv7-A ARM B3.6.2).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ap, IommuProt, LeafSize, linuxLeavesFor, linuxS1Descriptor, linuxS1Mapping } from '../src/index.ts'

const { READ, WRITE, CACHE, NOEXEC, MMIO, PRIV } = IommuProt

test('READ|WRITE 4 KiB page: page 0b11 | AP[1] 0x40 | SH outer 0x200 | AF 0x400 | nG 0x800', () => {
  assert.is(linuxS1Descriptor(0x8000_2000, LeafSize.SIZE_4K, READ | WRITE), 0x8000_2e43n)
})

test('READ|CACHE|NOEXEC 2 MiB block: RO, AttrIndx 1, SH inner, PXN+XN', () => {
  // block 0b01 | AttrIndx 1 << 2 | AP[2:1] = 11 (0xC0) | SH 3 << 8 | AF | nG = 0xFC5; bits 53 and 54 -> hi 0x0060_0000.
  assert.is(linuxS1Descriptor(0x1_2340_0000, LeafSize.SIZE_2M, READ | CACHE | NOEXEC), 0x0060_0001_2340_0fc5n)
})

test('MMIO -> AttrIndx 2 (Device), SH outer; PRIV clears AP[1]; WRITE-only is writable', () => {
  const m = linuxS1Mapping(0x1000, 0x2000, LeafSize.SIZE_4K, READ | WRITE | MMIO | PRIV)
  assert.equal([m.attrIndx, m.sh, m.ap, m.xn, m.pxn, m.af, m.nG], [2, 2, Ap.PRIV_RW, false, false, true, true])
  // Linux's software MSI region: WRITE | NOEXEC | MMIO.
  const msi = linuxS1Mapping(0x0800_0000, 0x2c00_0000, LeafSize.SIZE_4K, WRITE | NOEXEC | MMIO)
  assert.equal([msi.ap, msi.xn, msi.pxn, msi.attrIndx], [Ap.RW, true, true, 2])
  // 1 GiB block, READ|WRITE|CACHE: block 0b01 | AttrIndx 1 (0x4) | AP[1] (0x40) | SH 3 (0x300) | AF | nG = 0xF45.
  assert.is(linuxS1Descriptor(0x80_4000_0000, LeafSize.SIZE_1G, READ | WRITE | CACHE), 0x0000_0080_4000_0f45n)
  // NS quirk sets bit 5.
  assert.is(linuxS1Descriptor(0x3000, LeafSize.SIZE_4K, READ | WRITE, { nsQuirk: true }), 0x3e63n)
})

test('linuxLeavesFor: largest aligned page size that fits, step by step', () => {
  const leaves = linuxLeavesFor(0x3fe0_0000, 0x7fe0_0000, 0x4060_1000, READ | WRITE)
  assert.equal(
    leaves.map(l => [l.va, l.pa, l.size]),
    [
      [0x3fe0_0000, 0x7fe0_0000, 0x20_0000], // 2 MiB aligned, not 1 GiB
      [0x4000_0000, 0x8000_0000, 0x4000_0000], // both 1 GiB aligned
      [0x8000_0000, 0xc000_0000, 0x20_0000],
      [0x8020_0000, 0xc020_0000, 0x20_0000],
      [0x8040_0000, 0xc040_0000, 0x1000], // 4 KiB left over
    ],
  )
  // The IOVA is 1 GiB aligned but the PA only 2 MiB aligned: no 1 GiB block.
  assert.equal(linuxLeavesFor(0x4000_0000, 0x9000_0000, 0x4000_0000, READ).length, 512)
  // Misaligned physical address: pages only.
  assert.equal(linuxLeavesFor(0x20_0000, 0x20_1000, 0x20_0000, READ).map(l => l.size), Array(512).fill(0x1000))
})

test.run()
