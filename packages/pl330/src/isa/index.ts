// Public surface of the PL330 instruction set: types, encoding table,
// decode, encode, debug-interface helpers, CCR field helpers.
export type {
  AddrReg, MovReg, Cond, PeriphCond, WfpReq, LoopCounter, Instr, InstrOp, DecodeFault, DecodeError, ThreadMask,
  DmaAddh, DmaAdnh, DmaEnd, DmaFlushp, DmaGo, DmaKill, DmaLd, DmaLdp, DmaLp, DmaLpend, DmaMov, DmaNop,
  DmaRmb, DmaSev, DmaSt, DmaStp, DmaStz, DmaWfe, DmaWfp, DmaWmb,
} from './types.ts'
export { Thread } from './types.ts'
export type { EncodingRow } from './table.ts'
export { ENCODINGS, ENCODING_BY_OP, ROW_OF_BYTE0, lengthOf, allowedOn, DEBUG_OPS } from './table.ts'
export { decode, isDecodeError } from './decode.ts'
export { encode, encodeInto, encodeAll } from './encode.ts'
export type { DebugTarget, DebugInstrRegs, DebugInstr } from './debug.ts'
export { encodeDebugInstr, decodeDebugInstr, dbgGo, dbgKill, dbgSev, debugWriteSequence, DEBUG_REGS } from './debug.ts'
export type { CcrFields } from './ccr.ts'
export { decodeCcr, encodeCcr, formatCcr, parseCcrItem, CCR_DEFAULTS, dcFieldToAwcache, awcacheToDcField } from './ccr.ts'
export { isaReferenceTable } from './reference.ts'
