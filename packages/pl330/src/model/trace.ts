/** Trace events of the PL330 model (tracks `pl330/manager`, `pl330/chN`). */
import { defineTraceEvents } from '@vfio-sim/sim'

/** PL330 trace events. */
export const PL330_TRACE = defineTraceEvents({
  pl330_insn: ['pl330', 'pc:hex insn:str', '{pc}: {insn}'],
  pl330_state: ['pl330', 'from:str to:str', '{from} -> {to}'],
  pl330_fault: ['pl330', 'pc:hex ftr:hex why:str', 'fault at {pc}: ftr {ftr} ({why})'],
  pl330_bus: ['pl330', 'write:bool addr:hex len:u32 kind:str', '{kind} {len} bytes at {addr} (write {write})'],
  pl330_bus_error: ['pl330', 'kind:str addr:hex resp:str', '{kind}: {resp} at {addr}'],
  pl330_irq: ['pl330', 'line:str level:bool', '{line} -> {level}'],
  pl330_debug: ['pl330', 'dbginst0:hex dbginst1:hex', 'debug instruction {dbginst0} {dbginst1}'],
})
