/**
 * The PL330 register map as one table (spec §4; ARM DDI 0424 §3 as the
 * NEXTCHIP/Zynq headers reproduce it). Almost everything is read-only: the
 * CPU cannot write SAR/DAR/CCR/LC/PC; it writes only INTEN, INTCLR, WD and
 * the debug interface. Values of the status registers are computed from the
 * model's thread state by read hooks (see pl330.ts); the table gives decode,
 * access rules, reset values and the generated reference page
 * (docs/reference/pl330-registers.md).
 */
import { defineRegisters, type RegisterTable } from '@vfio-sim/sim'

const ftrFields = {
  lockup_err: { shift: 31, width: 1, doc: 'channel locked up (watchdog), imprecise' },
  dbg_instr: { shift: 30, width: 1, doc: 'the aborting instruction came from the debug interface' },
  data_read_err: { shift: 18, width: 1, doc: 'error response on a data read (imprecise)' },
  data_write_err: { shift: 17, width: 1, doc: 'error response on a data write (imprecise)' },
  instr_fetch_err: { shift: 16, width: 1, doc: 'error response on an instruction fetch (precise)' },
  st_data_unavailable: { shift: 13, width: 1, doc: 'DMAST with too little data in the MFIFO (precise)' },
  mfifo_err: { shift: 12, width: 1, doc: 'MFIFO too small for the DMALD/DMAST (imprecise)' },
  ch_rdwr_err: { shift: 7, width: 1, doc: 'non-secure channel programmed a secure access in CCR' },
  ch_periph_err: { shift: 6, width: 1, doc: 'non-secure channel used a secure peripheral' },
  ch_evnt_err: { shift: 5, width: 1, doc: 'non-secure channel used a secure event' },
  operand_invalid: { shift: 1, width: 1, doc: 'invalid operand for the configuration' },
  undef_instr: { shift: 0, width: 1, doc: 'undefined instruction' },
} as const

const ccrFields = {
  endian_swap_size: { shift: 28, width: 3 },
  dst_cache_ctrl: { shift: 25, width: 3 },
  dst_prot_ctrl: { shift: 22, width: 3 },
  dst_burst_len: { shift: 18, width: 4 },
  dst_burst_size: { shift: 15, width: 3 },
  dst_inc: { shift: 14, width: 1 },
  src_cache_ctrl: { shift: 11, width: 3 },
  src_prot_ctrl: { shift: 8, width: 3 },
  src_burst_len: { shift: 4, width: 4 },
  src_burst_size: { shift: 1, width: 3 },
  src_inc: { shift: 0, width: 1 },
} as const

/** The PL330 register table (4 KiB window, 32-bit word accesses). */
export const PL330_REGS = defineRegisters({
  name: 'pl330',
  size: 0x1000,
  registers: {
    DSR: {
      offset: 0x000, access: 'ro', doc: 'DMA manager status',
      fields: {
        dns: { shift: 9, width: 1, doc: 'manager is non-secure' },
        wakeup_event: { shift: 4, width: 5, doc: 'event the manager waits for' },
        dma_status: { shift: 0, width: 4, doc: '0 Stopped, 1 Executing, 2 Cache miss, 3 Updating PC, 4 Waiting for event, 15 Faulting' },
      },
    },
    DPC: { offset: 0x004, access: 'ro', doc: 'DMA manager program counter' },
    INTEN: { offset: 0x020, access: 'rw', doc: 'bit N: 1 = DMASEV N raises irq[N], 0 = DMASEV N signals event N' },
    INT_EVENT_RIS: { offset: 0x024, access: 'ro', doc: 'bit N: event N pending or irq[N] high (Linux "ES")' },
    INTMIS: { offset: 0x028, access: 'ro', doc: 'bit N: irq[N] high (Linux "INTSTATUS")' },
    INTCLR: { offset: 0x02c, access: 'wo', doc: 'write 1 to bit N: clears irq[N] if INTEN[N] = 1' },
    FSRD: { offset: 0x030, access: 'ro', doc: 'manager fault status (Linux "FSM")', fields: { fs_mgr: { shift: 0, width: 1 } } },
    FSRC: { offset: 0x034, access: 'ro', doc: 'bit n: channel n Faulting or Faulting completing (Linux "FSC")', fields: { fault_status: { shift: 0, width: 8 } } },
    FTRD: {
      offset: 0x038, access: 'ro', doc: 'manager fault type (Linux "FTM")',
      fields: {
        dbg_instr: ftrFields.dbg_instr, instr_fetch_err: ftrFields.instr_fetch_err,
        mgr_evnt_err: { shift: 5, width: 1, doc: 'non-secure manager used a secure event' },
        dmago_err: { shift: 4, width: 1, doc: 'non-secure manager started a secure channel' },
        operand_invalid: ftrFields.operand_invalid, undef_instr: ftrFields.undef_instr,
      },
    },
    FTR: { offset: 0x040, access: 'ro', count: 8, stride: 4, doc: 'channel n fault type (Linux "FTC(n)")', fields: ftrFields },
    CSR: {
      offset: 0x100, access: 'ro', count: 8, stride: 8, doc: 'channel n status (Linux "CS(n)")',
      fields: {
        cns: { shift: 21, width: 1, doc: 'channel is non-secure' },
        dmawfp_periph: { shift: 15, width: 1, doc: 'DMAWFP used the periph operand' },
        dmawfp_b_ns: { shift: 14, width: 1, doc: 'DMAWFP used the burst operand' },
        wakeup_number: { shift: 4, width: 5, doc: 'event or peripheral waited for' },
        channel_status: { shift: 0, width: 4, doc: 'thread state code' },
      },
    },
    CPC: { offset: 0x104, access: 'ro', count: 8, stride: 8, doc: 'channel n program counter' },
    SAR: { offset: 0x400, access: 'ro', count: 8, stride: 0x20, doc: 'channel n source address (SA_n)' },
    DAR: { offset: 0x404, access: 'ro', count: 8, stride: 0x20, doc: 'channel n destination address (DA_n)' },
    CCR: { offset: 0x408, access: 'ro', count: 8, stride: 0x20, reset: 0x00800200, doc: 'channel n control (CC_n)', fields: ccrFields },
    LC0: { offset: 0x40c, access: 'ro', count: 8, stride: 0x20, doc: 'channel n loop counter 0', fields: { loop_counter: { shift: 0, width: 8 } } },
    LC1: { offset: 0x410, access: 'ro', count: 8, stride: 0x20, doc: 'channel n loop counter 1', fields: { loop_counter: { shift: 0, width: 8 } } },
    DBGSTATUS: { offset: 0xd00, access: 'ro', doc: 'debug status: 1 = busy', fields: { dbgstatus: { shift: 0, width: 1 } } },
    DBGCMD: { offset: 0xd04, access: 'wo', doc: 'write 0: execute the instruction in DBGINST0/1', fields: { dbgcmd: { shift: 0, width: 2 } } },
    DBGINST0: {
      offset: 0xd08, access: 'wo', doc: 'debug instruction bytes 0–1 and target thread',
      fields: {
        instr_byte1: { shift: 24, width: 8 }, instr_byte0: { shift: 16, width: 8 },
        channel_num: { shift: 8, width: 3 }, debug_thread: { shift: 0, width: 1, doc: '0 manager, 1 channel' },
      },
    },
    DBGINST1: { offset: 0xd0c, access: 'wo', doc: 'debug instruction bytes 2–5 (little-endian)' },
    CR0: {
      offset: 0xe00, access: 'ro', doc: 'configuration 0',
      fields: {
        num_events: { shift: 17, width: 5, doc: 'events − 1' }, num_periph_req: { shift: 12, width: 5, doc: 'peripheral interfaces − 1' },
        num_chnls: { shift: 4, width: 3, doc: 'channels − 1' }, mgr_ns_at_rst: { shift: 2, width: 1 },
        boot_en: { shift: 1, width: 1 }, periph_req: { shift: 0, width: 1 },
      },
    },
    CR1: { offset: 0xe04, access: 'ro', doc: 'configuration 1 (instruction cache)', fields: { num_i_cache_lines: { shift: 4, width: 4 }, i_cache_len: { shift: 0, width: 3 } } },
    CR2: { offset: 0xe08, access: 'ro', doc: 'configuration 2: boot_addr' },
    CR3: { offset: 0xe0c, access: 'ro', doc: 'configuration 3: INS, bit N = event/irq N non-secure' },
    CR4: { offset: 0xe10, access: 'ro', doc: 'configuration 4: PNS, bit N = peripheral N non-secure' },
    CRD: {
      offset: 0xe14, access: 'ro', doc: 'DMA configuration',
      fields: {
        data_buffer_dep: { shift: 20, width: 10 }, rd_q_dep: { shift: 16, width: 4 }, rd_cap: { shift: 12, width: 3 },
        wr_q_dep: { shift: 8, width: 4 }, wr_cap: { shift: 4, width: 3 }, data_width: { shift: 0, width: 3 },
      },
    },
    WD: { offset: 0xe80, access: 'rw', doc: 'watchdog: wd_irq_only', fields: { wd_irq_only: { shift: 0, width: 1 } } },
    PERIPH_ID: { offset: 0xfe0, access: 'ro', count: 4, stride: 4, doc: 'periph_id_0..3 (0x30, 0x13, rev<<4|4, 0)' },
    PCELL_ID: { offset: 0xff0, access: 'ro', count: 4, stride: 4, doc: 'pcell_id_0..3 (0x0D, 0xF0, 0x05, 0xB1)' },
  },
})

/** The table type. */
export type Pl330Registers = typeof PL330_REGS

/** The register specs of {@link PL330_REGS} (the RegisterFile type parameter). */
export type Pl330RegSpec = typeof PL330_REGS extends RegisterTable<infer R> ? R : never
