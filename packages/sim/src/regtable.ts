/**
 * The register-table DSL. A device's registers are one table (name, offset,
 * width, reset, access, named `{shift, width}` fields, stride for banked
 * copies); decode, reset, docs and trace text are all derived from it. The
 * device model adds behaviour with hooks when it instantiates the table as a
 * {@link RegisterFile}, which is also the device's {@link MmioDevice}.
 *
 * Unknown offsets read as zero and ignore writes, and are logged. An access of
 * a width the register does not accept is logged and handled as the table
 * says (`badWidth`): ignored (reads as zero) or answered with SLVERR.
 */
import { BusResp, type AccessSize, type BusAttrs, type MmioDevice } from './bus.ts'

/**
 * Access kinds: read-write, read-only (writes ignored), write-only (reads as
 * zero), write-one-to-clear (writing 1 clears that bit; 0 leaves it).
 */
export type Access = 'rw' | 'ro' | 'wo' | 'w1c'

/** A named bit field. */
export interface FieldSpec {
  readonly shift: number
  readonly width: number
  /** Defaults to the register's access. */
  readonly access?: Access
  readonly doc?: string
}

/** A register, or a strided array of registers (`count` copies `stride` bytes apart). */
export interface RegisterSpec {
  readonly offset: number
  /** 32 (default) or 64 bits. A 64-bit register is also two 32-bit halves, low first. */
  readonly width?: 32 | 64
  /** Default 'rw'. */
  readonly access?: Access
  /** Value at reset (default 0). Bigint for 64-bit values above 2^53. */
  readonly reset?: number | bigint
  readonly fields?: Readonly<Record<string, FieldSpec>>
  readonly count?: number
  readonly stride?: number
  readonly doc?: string
}

/** A table as written by a device model. */
export interface TableSpec<R extends Record<string, RegisterSpec>> {
  readonly name: string
  /** Size of the register window in bytes (a multiple of 4). */
  readonly size: number
  readonly registers: R
  /** What an access of an unsupported width does (default 'ignore'). */
  readonly badWidth?: 'ignore' | 'slverr'
  /** Access widths a 32-bit register accepts (default [4]). */
  readonly widths32?: readonly AccessSize[]
}

/** A register resolved from its spec. */
export interface Register {
  readonly name: string
  readonly offset: number
  readonly width: 32 | 64
  readonly access: Access
  readonly reset: bigint
  readonly fields: Readonly<Record<string, FieldSpec>>
  readonly count: number
  readonly stride: number
  readonly doc: string
  /** Bits software may change (rw/wo fields, or the whole register). */
  readonly writeMask: bigint
  /** Bits a write of 1 clears. */
  readonly w1cMask: bigint
  /** Bits that read back (not write-only). */
  readonly readMask: bigint
  /** Index into the word store of copy 0. */
  readonly word: number
  /** Words between copies. */
  readonly wordStride: number
}

/** A table with its registers resolved by name. */
export interface RegisterTable<R extends Record<string, RegisterSpec>> {
  readonly name: string
  readonly size: number
  readonly badWidth: 'ignore' | 'slverr'
  readonly widths32: readonly AccessSize[]
  readonly reg: { readonly [K in keyof R]: Register }
  /** Registers in offset order. */
  readonly list: readonly Register[]
  /** The register map as Markdown, for docs. */
  describe(): string
}

function mask(width: number): bigint {
  return (1n << BigInt(width)) - 1n
}

/** Extracts a field from a value. */
export function getField(value: number, f: FieldSpec): number {
  return f.width >= 32 ? value >>> 0 : (value >>> f.shift) & ((1 << f.width) - 1)
}

/** Returns `value` with field `f` replaced by `fieldValue`. */
export function setField(value: number, f: FieldSpec, fieldValue: number): number {
  if (f.width >= 32) return fieldValue >>> 0
  const m = ((1 << f.width) - 1) << f.shift
  return ((value & ~m) | ((fieldValue << f.shift) & m)) >>> 0
}

/**
 * Resolves and checks a table: every register inside the window, aligned, no
 * two overlapping, every field inside its register and no two fields
 * overlapping. A bad table is a programming error and throws here, at
 * definition, never at run time.
 */
export function defineRegisters<const R extends Record<string, RegisterSpec>>(spec: TableSpec<R>): RegisterTable<R> {
  if (spec.size % 4 !== 0 || spec.size <= 0) throw new Error(`${spec.name}: size must be a positive multiple of 4`)
  const reg: Record<string, Register> = {}
  const owner = new Map<number, string>()
  for (const [name, r] of Object.entries(spec.registers)) {
    const width = r.width ?? 32
    const access = r.access ?? 'rw'
    const count = r.count ?? 1
    const stride = r.stride ?? (count > 1 ? width / 8 : 0)
    const bytes = width / 8
    if (r.offset % bytes !== 0) throw new Error(`${spec.name}.${name}: offset 0x${r.offset.toString(16)} not aligned to ${bytes}`)
    if (count > 1 && (stride < bytes || stride % 4 !== 0)) throw new Error(`${spec.name}.${name}: bad stride`)
    const fields = r.fields ?? {}
    let writeMask = 0n
    let w1cMask = 0n
    let readMask = 0n
    let used = 0n
    const entries = Object.entries(fields)
    if (entries.length === 0) {
      const all = mask(width)
      if (access === 'rw' || access === 'wo') writeMask = all
      if (access === 'w1c') w1cMask = all
      if (access !== 'wo') readMask = all
    }
    for (const [fname, f] of entries) {
      if (f.shift < 0 || f.width < 1 || f.shift + f.width > width) throw new Error(`${spec.name}.${name}.${fname}: outside the register`)
      const m = mask(f.width) << BigInt(f.shift)
      if ((used & m) !== 0n) throw new Error(`${spec.name}.${name}.${fname}: overlaps another field`)
      used |= m
      const a = f.access ?? access
      if (a === 'rw' || a === 'wo') writeMask |= m
      if (a === 'w1c') w1cMask |= m
      if (a !== 'wo') readMask |= m
    }
    const reset = BigInt(r.reset ?? 0)
    for (let i = 0; i < count; i++) {
      const base = r.offset + i * stride
      if (base + bytes > spec.size) throw new Error(`${spec.name}.${name}[${i}]: outside the ${spec.size}-byte window`)
      for (let w = 0; w < bytes / 4; w++) {
        const word = base / 4 + w
        const prev = owner.get(word)
        if (prev !== undefined) throw new Error(`${spec.name}.${name}[${i}] overlaps ${prev} at 0x${(word * 4).toString(16)}`)
        owner.set(word, `${name}[${i}]`)
      }
    }
    reg[name] = {
      name, offset: r.offset, width, access, reset, fields, count, stride, doc: r.doc ?? '',
      writeMask, w1cMask, readMask, word: r.offset / 4, wordStride: stride / 4,
    }
  }
  const list = Object.values(reg).sort((a, b) => a.offset - b.offset)
  const table: RegisterTable<R> = {
    name: spec.name,
    size: spec.size,
    badWidth: spec.badWidth ?? 'ignore',
    widths32: spec.widths32 ?? [4],
    reg: reg as { [K in keyof R]: Register },
    list,
    describe: () => describeTable(spec.name, spec.size, list),
  }
  return table
}

function hex(n: number | bigint, digits = 0): string {
  return '0x' + n.toString(16).padStart(digits, '0')
}

function describeTable(name: string, size: number, list: readonly Register[]): string {
  const out = [`# ${name} register map`, '', `Window: ${hex(size)} bytes.`, '', '| offset | name | width | access | reset | fields | description |', '|---|---|---|---|---|---|---|']
  for (const r of list) {
    const off = r.count > 1 ? `${hex(r.offset, 3)} + n×${hex(r.stride)} (n < ${r.count})` : hex(r.offset, 3)
    const fields = Object.entries(r.fields)
      .sort((a, b) => b[1].shift - a[1].shift)
      .map(([n, f]) => `${n}[${f.width > 1 ? `${f.shift + f.width - 1}:${f.shift}` : f.shift}]${f.access && f.access !== r.access ? ` ${f.access}` : ''}`)
      .join(', ')
    out.push(`| ${off} | ${r.count > 1 ? r.name + 'n' : r.name} | ${r.width} | ${r.access} | ${hex(r.reset)} | ${fields} | ${r.doc} |`)
  }
  return out.join('\n') + '\n'
}

/** Behaviour a model attaches to one register (for every copy of an array). */
export interface RegisterHooks {
  /**
   * Computes the value read instead of the stored one (status registers that
   * mirror model state). For 64-bit registers, return the full value as a
   * bigint or a number.
   */
  read?(index: number): number | bigint
  /** Called after a write has updated the stored value (value = the whole new register value as written). */
  write?(index: number, value: bigint, previous: bigint): void
}

/** A log line from a register file (unknown offset, bad width, write to a read-only register). */
export interface RegisterLogEntry {
  readonly kind: 'unknown' | 'width' | 'ro-write' | 'wo-read'
  readonly offset: number
  readonly size: number
  readonly write: boolean
  readonly register: string | undefined
}

/** Word index → register and copy, computed once per table and shared by its instances. */
interface Decode {
  readonly reg: readonly (Register | undefined)[]
  readonly index: Int32Array
}
const decodeCache = new WeakMap<object, Decode>()

function decodeOf(table: RegisterTable<Record<string, RegisterSpec>>): Decode {
  let d = decodeCache.get(table)
  if (d !== undefined) return d
  const reg = new Array<Register | undefined>(table.size / 4).fill(undefined)
  const index = new Int32Array(table.size / 4)
  for (const r of table.list) {
    for (let i = 0; i < r.count; i++) {
      for (let w = 0; w < r.width / 32; w++) {
        reg[r.word + i * r.wordStride + w] = r
        index[r.word + i * r.wordStride + w] = i
      }
    }
  }
  d = { reg, index }
  decodeCache.set(table, d)
  return d
}

/**
 * The registers of one device instance: storage, hooks and decode. It is the
 * device's {@link MmioDevice}; the model holds it and reads or sets values by
 * register with {@link RegisterFile.get} / {@link RegisterFile.set}.
 */
export class RegisterFile<R extends Record<string, RegisterSpec> = Record<string, RegisterSpec>> implements MmioDevice {
  readonly table: RegisterTable<R>
  readonly name: string
  readonly size: number
  resp: BusResp = BusResp.OKAY
  /** Stored values, one 32-bit word per 4 bytes of the window. */
  private readonly words: Uint32Array
  /** Word index → register, and which copy. */
  private readonly decodeReg: readonly (Register | undefined)[]
  private readonly decodeIndex: Int32Array
  private readonly hooks: Partial<Record<keyof R, RegisterHooks>>
  private readonly resets = new Map<Register, (index: number) => bigint>()
  /** Called for every logged access (unknown offset, bad width, …). */
  onLog: ((e: RegisterLogEntry) => void) | undefined
  /** Number of logged accesses, by kind. */
  readonly logCounts = { unknown: 0, width: 0, 'ro-write': 0, 'wo-read': 0 }

  constructor(table: RegisterTable<R>, hooks: Partial<Record<keyof R, RegisterHooks>> = {}, onLog?: (e: RegisterLogEntry) => void) {
    this.table = table
    this.name = table.name
    this.size = table.size
    this.hooks = hooks
    this.onLog = onLog
    this.words = new Uint32Array(table.size / 4)
    const d = decodeOf(table)
    this.decodeReg = d.reg
    this.decodeIndex = d.index
    this.reset()
  }

  /** Overrides the reset value of a register (configuration-dependent IDs). */
  setResetValue(r: Register, value: number | bigint | ((index: number) => bigint)): void {
    const f = typeof value === 'function' ? value : () => BigInt(value)
    this.resets.set(r, f)
    for (let i = 0; i < r.count; i++) this.store(r, i, f(i))
  }

  /** Restores every register to its reset value. */
  reset(): void {
    this.words.fill(0)
    for (const r of this.table.list) {
      const f = this.resets.get(r)
      for (let i = 0; i < r.count; i++) this.store(r, i, f ? f(i) : r.reset)
    }
  }

  private store(r: Register, index: number, v: bigint): void {
    const w = r.word + index * r.wordStride
    this.words[w] = Number(v & 0xffffffffn)
    if (r.width === 64) this.words[w + 1] = Number((v >> 32n) & 0xffffffffn)
  }

  private checkIndex(r: Register, index: number): void {
    if (!(index >= 0 && index < r.count) || !Number.isInteger(index)) throw new RangeError(`${this.name}.${r.name}: no copy ${index}`)
  }

  /** Stored value of a 32-bit register (or the low half of a 64-bit one). */
  get(r: Register, index = 0): number {
    this.checkIndex(r, index)
    return this.words[r.word + index * r.wordStride]!
  }

  /** Stored high half of a 64-bit register. */
  getHi(r: Register, index = 0): number {
    this.checkIndex(r, index)
    return r.width === 64 ? this.words[r.word + index * r.wordStride + 1]! : 0
  }

  /** Stored value of any register as a bigint. */
  get64(r: Register, index = 0): bigint {
    return BigInt(this.get(r, index)) | (BigInt(this.getHi(r, index)) << 32n)
  }

  /** Sets the stored value (model side: no access rules, no hooks). */
  set(r: Register, value: number | bigint, index = 0): void {
    this.checkIndex(r, index)
    this.store(r, index, BigInt.asUintN(r.width, typeof value === 'bigint' ? value : BigInt(Math.trunc(value))))
  }

  /** Reads field `f` of a register's stored value. */
  field(r: Register, f: FieldSpec, index = 0): number {
    if (r.width === 64 && f.shift >= 32) return getField(this.getHi(r, index), { shift: f.shift - 32, width: f.width })
    if (r.width === 64 && f.shift + f.width > 32) return Number((this.get64(r, index) >> BigInt(f.shift)) & mask(f.width))
    return getField(this.get(r, index), f)
  }

  /** Sets field `f` of a register's stored value (model side). */
  setField(r: Register, f: FieldSpec, v: number, index = 0): void {
    const cur = this.get64(r, index)
    const m = mask(f.width) << BigInt(f.shift)
    this.set(r, (cur & ~m) | ((BigInt(v) << BigInt(f.shift)) & m), index)
  }

  private log(kind: RegisterLogEntry['kind'], offset: number, size: number, write: boolean, r: Register | undefined): void {
    this.logCounts[kind]++
    this.onLog?.({ kind, offset, size, write, register: r?.name })
  }

  private widthOk(r: Register, size: AccessSize, offset: number): boolean {
    if (r.width === 64) return size === 4 || (size === 8 && offset % 8 === 0)
    return this.table.widths32.includes(size) && size <= 4
  }

  private badWidth(offset: number, size: AccessSize, write: boolean, r: Register): void {
    this.log('width', offset, size, write, r)
    if (this.table.badWidth === 'slverr') this.resp = BusResp.SLVERR
  }

  /** Value a read of the whole register returns (hooks and write-only applied). */
  private readValue(r: Register, index: number): bigint {
    const h = this.hooks[r.name as keyof R]
    const raw = h?.read !== undefined ? BigInt.asUintN(r.width, BigInt(h.read(index))) : this.get64(r, index)
    return raw & r.readMask
  }

  read(offset: number, size: AccessSize, _attrs: BusAttrs): number {
    if (size === 8) return Number(this.read64(offset, _attrs))
    const word = offset >>> 2
    const r = offset >= 0 && offset < this.size ? this.decodeReg[word] : undefined
    if (r === undefined) {
      this.log('unknown', offset, size, false, undefined)
      return 0
    }
    if (!this.widthOk(r, size, offset)) {
      this.badWidth(offset, size, false, r)
      return 0
    }
    if (r.access === 'wo') this.log('wo-read', offset, size, false, r)
    const index = this.decodeIndex[word]!
    const v = this.readValue(r, index)
    const half = r.width === 64 ? word - (r.word + index * r.wordStride) : 0
    const w32 = Number((v >> BigInt(32 * half)) & 0xffffffffn)
    const byteInWord = offset & 3
    return size === 4 ? w32 : (w32 >>> (8 * byteInWord)) & (size === 2 ? 0xffff : 0xff)
  }

  read64(offset: number, attrs: BusAttrs): bigint {
    const word = offset >>> 2
    const r = offset >= 0 && offset < this.size ? this.decodeReg[word] : undefined
    if (r === undefined) {
      this.log('unknown', offset, 8, false, undefined)
      return 0n
    }
    if (r.width !== 64 || !this.widthOk(r, 8, offset) || word !== r.word + this.decodeIndex[word]! * r.wordStride) {
      if (r.width !== 64 && this.table.widths32.includes(8)) {
        return BigInt(this.read(offset, 4, attrs)) | (BigInt(this.read(offset + 4, 4, attrs)) << 32n)
      }
      this.badWidth(offset, 8, false, r)
      return 0n
    }
    if (r.access === 'wo') this.log('wo-read', offset, 8, false, r)
    return this.readValue(r, this.decodeIndex[word]!)
  }

  write(offset: number, size: AccessSize, value: number, attrs: BusAttrs): void {
    if (size === 8) {
      this.write64(offset, BigInt(value), attrs)
      return
    }
    const word = offset >>> 2
    const r = offset >= 0 && offset < this.size ? this.decodeReg[word] : undefined
    if (r === undefined) {
      this.log('unknown', offset, size, true, undefined)
      return
    }
    if (!this.widthOk(r, size, offset)) {
      this.badWidth(offset, size, true, r)
      return
    }
    const index = this.decodeIndex[word]!
    const half = r.width === 64 ? word - (r.word + index * r.wordStride) : 0
    // Build the write as a full-register value and a mask of the bytes written.
    const shift = BigInt(32 * half + 8 * (offset & 3))
    const byteMask = (size === 4 ? 0xffffffffn : size === 2 ? 0xffffn : 0xffn) << shift
    this.apply(r, index, (BigInt(value >>> 0) << shift) & byteMask, byteMask, offset, size)
  }

  write64(offset: number, value: bigint, attrs: BusAttrs): void {
    const word = offset >>> 2
    const r = offset >= 0 && offset < this.size ? this.decodeReg[word] : undefined
    if (r === undefined) {
      this.log('unknown', offset, 8, true, undefined)
      return
    }
    if (r.width !== 64 || !this.widthOk(r, 8, offset) || word !== r.word + this.decodeIndex[word]! * r.wordStride) {
      if (r.width !== 64 && this.table.widths32.includes(8)) {
        this.write(offset, 4, Number(value & 0xffffffffn), attrs)
        this.write(offset + 4, 4, Number((value >> 32n) & 0xffffffffn), attrs)
        return
      }
      this.badWidth(offset, 8, true, r)
      return
    }
    this.apply(r, this.decodeIndex[word]!, BigInt.asUintN(64, value), mask(64), offset, 8)
  }

  /** Applies a write of `value` to the bytes in `byteMask`, by the access rules. */
  private apply(r: Register, index: number, value: bigint, byteMask: bigint, offset: number, size: number): void {
    if (r.access === 'ro' && r.writeMask === 0n && r.w1cMask === 0n) {
      this.log('ro-write', offset, size, true, r)
      return
    }
    const prev = this.get64(r, index)
    const writable = r.writeMask & byteMask
    const clear = value & r.w1cMask & byteMask
    const next = ((prev & ~writable) | (value & writable)) & ~clear
    this.store(r, index, next)
    const h = this.hooks[r.name as keyof R]
    // The hook sees the value as written, so it can act on write-only command bits.
    h?.write?.(index, (value & byteMask) | (prev & ~byteMask), prev)
  }
}
