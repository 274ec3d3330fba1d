// The PL330 (CoreLink DMA-330) instruction set as TypeScript data: one record
// type per instruction, discriminated by `op` (the mnemonic without its
// S/B/P suffix). The suffixes are operands (`cond`, `req`), so the execution
// model switches on twelve-odd names instead of thirty spellings.
// Source: ARM DDI 0424 chapter 4 as reproduced in /work/shared/spec/pl330.md §3.

/** SAR or DAR: the operand of DMAADDH/DMAADNH. */
export type AddrReg = 'SAR' | 'DAR'
/** Destination of DMAMOV (byte 1 rd field: 0 = SAR, 1 = CCR, 2 = DAR). */
export type MovReg = 'SAR' | 'CCR' | 'DAR'
/**
 * Condition of DMALD/DMAST/DMALPEND: `always` (no suffix, bs=0), `single`
 * (S suffix: runs only when the request flag is Single, else NOP) or `burst`
 * (B suffix: runs only when the request flag is Burst).
 */
export type Cond = 'always' | 'single' | 'burst'
/** Request type of the DMALDP/DMASTP forms (always conditional). */
export type PeriphCond = 'single' | 'burst'
/** Operand of DMAWFP: request type to set when the peripheral asks. */
export type WfpReq = 'single' | 'burst' | 'periph'
/** Loop counter number of DMALP/DMALPEND. */
export type LoopCounter = 0 | 1

/** DMAADDH: Rx += imm16 (zero-extended, 32-bit wrap). 3 bytes. */
export interface DmaAddh { readonly op: 'DMAADDH'; readonly length: 3; readonly reg: AddrReg; readonly imm16: number }
/** DMAADNH: Rx += 0xFFFF0000 | imm16, i.e. adds imm16 - 65536 (-65536..-1). 3 bytes. */
export interface DmaAdnh { readonly op: 'DMAADNH'; readonly length: 3; readonly reg: AddrReg; readonly imm16: number }
/** DMAEND. 1 byte. */
export interface DmaEnd { readonly op: 'DMAEND'; readonly length: 1 }
/** DMAFLUSHP periph (periph 0..31 as encoded; the model checks it against num_periph_req). 2 bytes. */
export interface DmaFlushp { readonly op: 'DMAFLUSHP'; readonly length: 2; readonly periph: number }
/** DMAGO channel, addr[, ns]: manager only (and debug). channel 0..7 as encoded. 6 bytes. */
export interface DmaGo { readonly op: 'DMAGO'; readonly length: 6; readonly channel: number; readonly ns: boolean; readonly addr: number }
/** DMAKILL. 1 byte. */
export interface DmaKill { readonly op: 'DMAKILL'; readonly length: 1 }
/** DMALD / DMALDS / DMALDB. 1 byte. */
export interface DmaLd { readonly op: 'DMALD'; readonly length: 1; readonly cond: Cond }
/** DMALDPS / DMALDPB periph. 2 bytes. */
export interface DmaLdp { readonly op: 'DMALDP'; readonly length: 2; readonly cond: PeriphCond; readonly periph: number }
/**
 * DMALP lcN, iterations: iterations 1..256; the counter register is loaded
 * with `iterations - 1` (byte 1 of the encoding). 2 bytes.
 */
export interface DmaLp { readonly op: 'DMALP'; readonly length: 2; readonly lc: LoopCounter; readonly iterations: number }
/**
 * DMALPEND[S|B] lcN: `jump` is the backwards jump (byte 1, 0..255); the
 * target is the address of this DMALPEND minus `jump`. `forever` = nf bit 0
 * (the loop was opened by DMALPFE: no counter, exits only on drlast). 2 bytes.
 */
export interface DmaLpend {
  readonly op: 'DMALPEND'; readonly length: 2; readonly lc: LoopCounter; readonly cond: Cond
  readonly forever: boolean; readonly jump: number
}
/** DMAMOV SAR|CCR|DAR, imm32 (unsigned). 6 bytes. */
export interface DmaMov { readonly op: 'DMAMOV'; readonly length: 6; readonly reg: MovReg; readonly imm: number }
/** DMANOP. 1 byte. */
export interface DmaNop { readonly op: 'DMANOP'; readonly length: 1 }
/** DMARMB (read memory barrier). 1 byte. */
export interface DmaRmb { readonly op: 'DMARMB'; readonly length: 1 }
/** DMASEV event (0..31 as encoded; the model checks it against num_events). 2 bytes. */
export interface DmaSev { readonly op: 'DMASEV'; readonly length: 2; readonly event: number }
/** DMAST / DMASTS / DMASTB. 1 byte. */
export interface DmaSt { readonly op: 'DMAST'; readonly length: 1; readonly cond: Cond }
/** DMASTPS / DMASTPB periph. 2 bytes. */
export interface DmaStp { readonly op: 'DMASTP'; readonly length: 2; readonly cond: PeriphCond; readonly periph: number }
/** DMASTZ (store zeros). 1 byte. */
export interface DmaStz { readonly op: 'DMASTZ'; readonly length: 1 }
/** DMAWFE event[, invalid]: `invalidate` = byte 1 bit 1 (invalidate the thread's icache lines). 2 bytes. */
export interface DmaWfe { readonly op: 'DMAWFE'; readonly length: 2; readonly event: number; readonly invalidate: boolean }
/** DMAWFP periph, single|burst|periph. 2 bytes. */
export interface DmaWfp { readonly op: 'DMAWFP'; readonly length: 2; readonly periph: number; readonly req: WfpReq }
/** DMAWMB (write memory barrier). 1 byte. */
export interface DmaWmb { readonly op: 'DMAWMB'; readonly length: 1 }

/** Any decoded (or to-be-encoded) PL330 instruction. */
export type Instr =
  | DmaAddh | DmaAdnh | DmaEnd | DmaFlushp | DmaGo | DmaKill | DmaLd | DmaLdp | DmaLp | DmaLpend
  | DmaMov | DmaNop | DmaRmb | DmaSev | DmaSt | DmaStp | DmaStz | DmaWfe | DmaWfp | DmaWmb

/** The `op` names of all instructions. */
export type InstrOp = Instr['op']

/**
 * Why a byte sequence is not an instruction:
 * - `undef_instr`: byte 0 matches no encoding (FTR bit 0, precise abort);
 * - `operand_invalid`: byte 0 is a known instruction but an operand field
 *   holds a value the ISA forbids whatever the configuration (reserved bits
 *   set, DMAMOV rd > 2, the bs=1,x=0 forms of DMALD/DMAST/DMALPEND, DMAWFP
 *   0x33) (FTR bit 1, precise abort). Range checks that depend on the
 *   configuration (event >= num_events, ...) are the model's job;
 * - `truncated`: the bytes end before the instruction does (not a hardware
 *   fault: the fetcher must supply `length` bytes).
 */
export type DecodeFault = 'undef_instr' | 'operand_invalid' | 'truncated'

/** Result of decoding bytes that are not a valid instruction. */
export interface DecodeError {
  readonly op: 'error'
  readonly fault: DecodeFault
  /** Byte 0 at the decode offset (-1 when there was no byte at all). */
  readonly opcode: number
  /**
   * Length of the instruction byte 0 announces (1..6), or 1 for an
   * undefined opcode / empty input: where a disassembler resumes.
   */
  readonly length: number
  /** Mnemonic family byte 0 belongs to (for operand_invalid / truncated). */
  readonly mnemonic: InstrOp | null
  /** One-line human explanation. */
  readonly reason: string
}

/** Which thread kinds may execute an instruction (bit 0 manager, bit 1 channel). */
export const Thread = { MANAGER: 1, CHANNEL: 2, BOTH: 3 } as const
/** Bit set of {@link Thread} values. */
export type ThreadMask = 1 | 2 | 3
