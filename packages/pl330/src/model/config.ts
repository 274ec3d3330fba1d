/**
 * Construction-time configuration of a PL330: the tie-offs and synthesis
 * parameters the hardware latches into CR0–CR4 and CRD at reset, plus the
 * model's timing. Defaults are QEMU's `pl330_properties` (spec §2) except the
 * instruction cache line (16 bytes, as the Zynq silicon) and the revision.
 */

/** Configuration of one PL330 instance. All fields fixed at construction. */
export interface Pl330Config {
  /** Channel threads, 1..8 (CR0 num_chnls). Default 8. */
  readonly numChannels: number
  /** Peripheral request interfaces, 0..32 (CR0 num_periph_req). Default 4. */
  readonly numPeriphReq: number
  /** Events / interrupt outputs, 1..32 (CR0 num_events). Default 16. */
  readonly numEvents: number
  /** boot_manager_ns: the manager thread is non-secure (DSR.DNS). Default false. */
  readonly mgrNsAtReset: boolean
  /** boot_from_pc: the manager starts executing at `bootAddr` after reset. Default false. */
  readonly bootFromPc: boolean
  /** boot_addr (CR2). Default 0. */
  readonly bootAddr: number
  /** boot_irq_ns: bit N = event/irq N is non-secure (CR3). Default 0. */
  readonly irqNs: number
  /** boot_periph_ns: bit N = peripheral N is non-secure (CR4). Default 0. */
  readonly periphNs: number
  /** Instruction cache line length in bytes: 4, 8, 16 or 32 (CR1). Default 16. */
  readonly icacheLineBytes: number
  /** Instruction cache lines, 1..16 (CR1). Default 8. */
  readonly icacheLines: number
  /** AXI data bus width in bits: 32, 64 or 128 (CRD). Default 64. */
  readonly dataWidthBits: number
  /** Write issuing capability 1..8 (CRD). Default 8. */
  readonly wrCap: number
  /** Write queue depth 1..16 (CRD). Default 16. */
  readonly wrQDepth: number
  /** Read issuing capability 1..8 (CRD). Default 8. */
  readonly rdCap: number
  /** Read queue depth 1..16 (CRD). Default 16. */
  readonly rdQDepth: number
  /** MFIFO depth in lines of the data bus width, 1..1024 (CRD). Default 256. */
  readonly dataBufferLines: number
  /** Revision in periph_id_2[7:4]: 0 r0p0, 1 r1p0, 2 r1p1, 3 r1p2. Default 2 (as QEMU). */
  readonly revision: number
  /** Length of one DMAC clock cycle in virtual nanoseconds. Default 4 (250 MHz). */
  readonly cycleNs: number
  /** Cycles a thread may use per scheduler event before yielding. Default 4096. */
  readonly quantumCycles: number
  /** Consecutive rounds without progress before the watchdog declares a lock-up. Default 1024. */
  readonly watchdogRounds: number
}

/** The default configuration. */
export const DEFAULT_PL330_CONFIG: Pl330Config = {
  numChannels: 8,
  numPeriphReq: 4,
  numEvents: 16,
  mgrNsAtReset: false,
  bootFromPc: false,
  bootAddr: 0,
  irqNs: 0,
  periphNs: 0,
  icacheLineBytes: 16,
  icacheLines: 8,
  dataWidthBits: 64,
  wrCap: 8,
  wrQDepth: 16,
  rdCap: 8,
  rdQDepth: 16,
  dataBufferLines: 256,
  revision: 2,
  cycleNs: 4,
  quantumCycles: 4096,
  watchdogRounds: 1024,
}

function intIn(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`pl330 config: ${name} = ${v} is not an integer in ${lo}..${hi}`)
}

/**
 * Fills defaults and validates. A bad configuration is a programming error
 * of the board, reported here with a clear message (never at run time).
 */
export function resolveConfig(partial: Partial<Pl330Config> = {}): Pl330Config {
  const c: Pl330Config = { ...DEFAULT_PL330_CONFIG, ...partial }
  intIn('numChannels', c.numChannels, 1, 8)
  intIn('numPeriphReq', c.numPeriphReq, 0, 32)
  intIn('numEvents', c.numEvents, 1, 32)
  intIn('bootAddr', c.bootAddr, 0, 0xffffffff)
  intIn('irqNs', c.irqNs, 0, 0xffffffff)
  intIn('periphNs', c.periphNs, 0, 0xffffffff)
  if (![4, 8, 16, 32].includes(c.icacheLineBytes)) throw new RangeError(`pl330 config: icacheLineBytes = ${c.icacheLineBytes} is not 4, 8, 16 or 32`)
  intIn('icacheLines', c.icacheLines, 1, 16)
  if (![32, 64, 128].includes(c.dataWidthBits)) throw new RangeError(`pl330 config: dataWidthBits = ${c.dataWidthBits} is not 32, 64 or 128`)
  intIn('wrCap', c.wrCap, 1, 8)
  intIn('wrQDepth', c.wrQDepth, 1, 16)
  intIn('rdCap', c.rdCap, 1, 8)
  intIn('rdQDepth', c.rdQDepth, 1, 16)
  intIn('dataBufferLines', c.dataBufferLines, 1, 1024)
  intIn('revision', c.revision, 0, 15)
  intIn('cycleNs', c.cycleNs, 1, 1_000_000)
  intIn('quantumCycles', c.quantumCycles, 16, 1 << 24)
  intIn('watchdogRounds', c.watchdogRounds, 1, 1 << 24)
  return c
}

/** The configuration registers' values (CR0–CR4, CRD, periph_id 0–3). */
export interface ConfigRegs {
  readonly cr0: number
  readonly cr1: number
  readonly cr2: number
  readonly cr3: number
  readonly cr4: number
  readonly crd: number
  readonly periphId: readonly [number, number, number, number]
}

/** Encodes a configuration as CR0–CR4/CRD/periph_id show it (counts are n−1 encoded). */
export function configRegs(c: Pl330Config): ConfigRegs {
  const periph = c.numPeriphReq > 0
  const cr0 = (((c.numEvents - 1) << 17) | (periph ? ((c.numPeriphReq - 1) << 12) | 1 : 0) |
    ((c.numChannels - 1) << 4) | (c.mgrNsAtReset ? 4 : 0) | (c.bootFromPc ? 2 : 0)) >>> 0
  const cr1 = ((c.icacheLines - 1) << 4) | Math.log2(c.icacheLineBytes)
  const crd = (((c.dataBufferLines - 1) << 20) | ((c.rdQDepth - 1) << 16) | ((c.rdCap - 1) << 12) |
    ((c.wrQDepth - 1) << 8) | ((c.wrCap - 1) << 4) | Math.log2(c.dataWidthBits / 8)) >>> 0
  return {
    cr0, cr1, cr2: c.bootAddr >>> 0, cr3: c.irqNs >>> 0, cr4: c.periphNs >>> 0, crd,
    // part number 0x330, designer 0x41 (ARM), revision in periph_id_2[7:4].
    periphId: [0x30, 0x13, ((c.revision & 0xf) << 4) | 0x4, 0x00],
  }
}

/** MFIFO capacity in bytes: data_buffer_dep lines of the bus width (not QEMU's 2×). */
export function mfifoBytes(c: Pl330Config): number {
  return c.dataBufferLines * (c.dataWidthBits / 8)
}
