// The .dts parser and the OF helpers: DTB byte encoding of property values,
// labels and phandles, merging, deletes, errors with positions; bus ids,
// modalias, uevent keys, address translation, populate rules.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DtsError, parseDts } from '../src/of/dtc-parser.ts'
import {
  ofAddressToResource, ofDeviceMakeBusId, ofDeviceUevent, ofFindNodeByPath, ofModalias, ofNodeFullName,
  ofPropertyReadStrings, ofPropertyReadU32Array,
} from '../src/of/base.ts'
import { ofIrqParse } from '../src/of/irq.ts'
import { ofPlatformPopulate } from '../src/of/platform.ts'
import { newKernel, read } from './driver-core-helpers.ts'

const hex = (b: Uint8Array | undefined): string => (b === undefined ? 'undefined' : Buffer.from(b).toString('hex'))

test('property values are encoded as in a DTB', () => {
  const root = parseDts(`/dts-v1/;
/ {
  empty;
  cells = <0x1 2 0x12345678>, <0xffffffff>;
  str = "a", "bc";
  bytes = [00 11 22 aB];
  mixed = "x", <3>, [ff];
  bits8 = /bits/ 8 <1 2 0xff>;
  bits64 = /bits/ 64 <0x100000000>;
  expr = <(32 + 6) (1 << 4) (0x10 - 1) (-1)>;
  chr = <'A'>;
  oct = <010>;
  esc = "t\\tq\\"\\x41";
};
`)
  assert.is(hex(root.props.get('empty')), '')
  assert.is(hex(root.props.get('cells')), '0000000100000002' + '12345678' + 'ffffffff')
  assert.is(hex(root.props.get('str')), '6100626300')
  assert.is(hex(root.props.get('bytes')), '001122ab')
  assert.is(hex(root.props.get('mixed')), '7800' + '00000003' + 'ff')
  assert.is(hex(root.props.get('bits8')), '0102ff')
  assert.is(hex(root.props.get('bits64')), '0000000100000000')
  assert.equal(ofPropertyReadU32Array(root, 'expr'), [38, 16, 15, 0xffffffff])
  assert.equal(ofPropertyReadU32Array(root, 'chr'), [65])
  assert.equal(ofPropertyReadU32Array(root, 'oct'), [8])
  assert.equal(ofPropertyReadStrings(root, 'esc'), ['t\tq"A'])
})

test('labels, phandles (assigned in tree order to referenced nodes), path references', () => {
  const root = parseDts(`/dts-v1/;
/ {
  a: first { };
  unused: second { };
  parent {
    b: third@10 { ref = <&a>; };
  };
  users { p = <&b 5 &a>; path = &b; path2 = &{/parent/third@10}; };
};
`)
  const first = ofFindNodeByPath(root, '/first')!
  const third = ofFindNodeByPath(root, '/parent/third@10')!
  assert.is(first.phandle, 1)
  assert.is(third.phandle, 2)
  assert.is(ofFindNodeByPath(root, '/second')!.phandle, 0)
  assert.is(hex(first.props.get('phandle')), '00000001')
  const users = ofFindNodeByPath(root, '/users')!
  assert.equal(ofPropertyReadU32Array(users, 'p'), [2, 5, 1])
  assert.equal(ofPropertyReadStrings(users, 'path'), ['/parent/third@10'])
  assert.equal(ofPropertyReadStrings(users, 'path2'), ['/parent/third@10'])
  assert.equal(first.labels, ['a'])
})

test('repeated nodes merge; &label blocks extend; /delete-property/ and /delete-node/', () => {
  const root = parseDts(`/dts-v1/;
/ {
  n: node { x = <1>; y = <2>; gone { }; };
};
/ {
  node { x = <3>; z = <4>; };
};
&n { /delete-property/ y; /delete-node/ gone; w; };
`)
  const node = ofFindNodeByPath(root, '/node')!
  assert.equal([...node.props.keys()], ['x', 'z', 'w'])
  assert.equal(ofPropertyReadU32Array(node, 'x'), [3])
  assert.is(node.children.length, 0)
})

test('errors name the file, line and column', () => {
  const bad: [string, RegExp][] = [
    ['/ { };', /^b\.dts:1:1: a \.dts file starts with \/dts-v1\/;/],
    ['/dts-v1/;\n/ {\n  p = <&nolabel>;\n};', /^b\.dts:3:8: reference to undefined label nolabel/],
    ['/dts-v1/;\n/ { p = <1 2 };', /^b\.dts:2:/],
    ['/dts-v1/;\n/ { p = "abc; };', /unterminated string|newline in string/],
    ['/dts-v1/;\n#include "x.dtsi"\n/ { };', /preprocessor directives are not supported/],
    ['/dts-v1/;\n/ { p = <0x1g>; };', /bad number '0x1g'/],
  ]
  for (const [src, re] of bad) {
    assert.throws(() => parseDts(src, 'b.dts'), (e: unknown) => e instanceof DtsError && re.test((e as Error).message), src)
  }
})

test('property: cell lists round-trip through the DTB encoding', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 6 }), { minLength: 1, maxLength: 4 }), groups => {
      const src = `/dts-v1/;\n/ { p = ${groups.map(g => `<${g.map(v => (v % 2 ? `0x${v.toString(16)}` : String(v))).join(' ')}>`).join(', ')}; };\n`
      const root = parseDts(src)
      assert.equal(ofPropertyReadU32Array(root, 'p'), groups.flat())
    }),
  )
})

test('property: string lists round-trip', () => {
  const str = fc.string({ unit: fc.constantFrom(...'abcXYZ019,._-+ /'.split('')), maxLength: 12 })
  fc.assert(
    fc.property(fc.array(str, { minLength: 1, maxLength: 5 }), strs => {
      const root = parseDts(`/dts-v1/;\n/ { s = ${strs.map(s => `"${s}"`).join(', ')}; };`)
      assert.equal(ofPropertyReadStrings(root, 's'), strs)
    }),
  )
})

test('property: any input either parses or fails with a DtsError (never another exception, never a hang)', () => {
  const piece = fc.constantFrom('/dts-v1/;', '/', '{', '}', ';', '=', '<', '>', '[', ']', '(', ')', ',', '"s"', '"', '&l', 'l:', 'n@1', 'p', '0x1', '12', '+', '-', '/bits/', '8', '/delete-node/', '/* c */', '// c\n', '\n', "'a'", '&{/n}', '#x', '<<', '>>', '*', '0xffffffff', '(1 << 64)')
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), parts => {
      const src = parts.join(' ')
      try {
        parseDts(src)
      } catch (e) {
        assert.ok(e instanceof DtsError, `${String(e)} for ${JSON.stringify(src)}`)
      }
    }),
    { numRuns: 500 },
  )
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), parts => {
      const src = `/dts-v1/;\n/ { ${parts.join(' ')} };`
      try {
        parseDts(src)
      } catch (e) {
        assert.ok(e instanceof DtsError, `${String(e)} for ${JSON.stringify(src)}`)
      }
    }),
    { numRuns: 500 },
  )
})

const SOC = `/dts-v1/;
/ {
  #address-cells = <2>;
  #size-cells = <2>;
  aliases { dma0 = "/soc/dma@2c0a0000"; };
  soc {
    compatible = "simple-bus";
    #address-cells = <1>;
    #size-cells = <1>;
    ranges = <0x0 0x0 0x20000000 0x10000000>;
    dma@c0a0000 { compatible = "arm,pl330"; reg = <0xc0a0000 0x1000>; };
    leds { compatible = "gpio-leds"; led0 { compatible = "x"; }; };
    gpio@1000 { compatible = "x,gpio"; reg = <0x1000 0x100>; mask = <0x30>; };
    serial@3000 { compatible = "ns16550a"; device_type = "serial"; reg = <0x3000 0x100>; status = "disabled"; };
    bus@4000 {
      compatible = "simple-bus";
      reg = <0x4000 0x100>;
      #address-cells = <1>;
      #size-cells = <1>;
      child { compatible = "y z"; };
    };
  };
};
`

test('of_device_make_bus_id, address translation through ranges, modalias, uevent keys', () => {
  const root = parseDts(SOC)
  const dma = ofFindNodeByPath(root, '/soc/dma@c0a0000')!
  assert.equal(ofAddressToResource(dma, 0), { start: 0x2c0a0000n, end: 0x2c0a0fffn })
  assert.is(ofDeviceMakeBusId(dma), '2c0a0000.dma')
  assert.is(ofDeviceMakeBusId(ofFindNodeByPath(root, '/soc/leds')!), 'soc:leds')
  assert.is(ofDeviceMakeBusId(ofFindNodeByPath(root, '/soc/gpio@1000')!), '20001000.4.gpio')
  // bus@4000 has no ranges: its child has no CPU address, so its name is prefixed with the parent's.
  assert.is(ofDeviceMakeBusId(ofFindNodeByPath(root, '/soc/bus@4000/child')!), '20004000.bus:child')
  assert.is(ofModalias(dma), 'of:NdmaT(null)Carm,pl330')
  assert.is(ofModalias(ofFindNodeByPath(root, '/soc/serial@3000')!), 'of:NserialTserialCns16550a')
  assert.is(ofModalias(ofFindNodeByPath(root, '/soc/bus@4000/child')!), 'of:NchildT(null)Cy_z')
  assert.is(ofNodeFullName(dma), '/soc/dma@c0a0000')
  const withAlias = parseDts(SOC.replace('/soc/dma@2c0a0000', '/soc/dma@c0a0000'))
  assert.equal(ofDeviceUevent(ofFindNodeByPath(withAlias, '/soc/dma@c0a0000')!), [
    'OF_NAME=dma', 'OF_FULLNAME=/soc/dma@c0a0000', 'OF_COMPATIBLE_0=arm,pl330', 'OF_COMPATIBLE_N=1', 'OF_ALIAS_0=dma0',
  ])
})

test('of_platform_populate: bus nodes recurse, disabled nodes are skipped, names and placement', () => {
  const k = newKernel()
  const devs = ofPlatformPopulate(k, parseDts(SOC))
  assert.equal(devs.map(d => d.kobjPath), [
    'devices/platform/soc',
    'devices/platform/soc/2c0a0000.dma',
    'devices/platform/soc/soc:leds',
    'devices/platform/soc/20001000.4.gpio',
    'devices/platform/soc/20004000.bus',
    'devices/platform/soc/20004000.bus/20004000.bus:child',
  ])
  assert.is(read(k, 'bus/platform/devices/soc:leds/modalias'), 'of:NledsT(null)Cgpio-leds\n')
  // gpio-leds is not a bus: led0 is not populated.
  assert.not.ok(devs.some(d => d.name.includes('led0')))
})

test('interrupt specifiers: GIC SPI/PPI numbering and trigger types', () => {
  const root = parseDts(`/dts-v1/;
/ {
  interrupt-parent = <&gic>;
  gic: ic { interrupt-controller; #interrupt-cells = <3>; };
  dev { interrupts = <0 88 4>, <1 9 4>, <0 5 1>, <0 6 2>, <0 7 8>; };
  other { interrupt-parent = <&simple>; interrupts = <7 1>; };
  simple: ic2 { interrupt-controller; #interrupt-cells = <2>; };
};
`)
  assert.equal(ofIrqParse(ofFindNodeByPath(root, '/dev')!), [
    { irq: 120, trigger: 'level' }, { irq: 25, trigger: 'level' }, { irq: 37, trigger: 'edge' }, { irq: 38, trigger: 'edge' }, { irq: 39, trigger: 'level' },
  ])
  assert.equal(ofIrqParse(ofFindNodeByPath(root, '/other')!), [{ irq: 7, trigger: 'edge' }])
})

test.run()
