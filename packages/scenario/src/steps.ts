/**
 * The step language: every action a scenario step can take, the keys it
 * accepts, and one line of help. The parser checks steps against this
 * table, the JSON Schema is generated from it, and the REPL prints it.
 */

/** How the value of the action key itself is written. */
export type MainKind = 'text' | 'value' | 'map' | 'list' | 'name'

/** One action of the step language. */
export interface ActionSpec {
  /** What the action key's value is. */
  readonly main: MainKind
  /** Extra keys of this action: name → required. */
  readonly keys: Readonly<Record<string, boolean>>
  /** One line of help, with an example. */
  readonly help: string
  /** What `as:` captures. */
  readonly captures?: string
}

/** Keys every step may carry besides its action. */
export const COMMON_KEYS = ['title', 'as', 'expect', 'when', 'proc'] as const

/** Every action, in the order the format guide presents them. */
export const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  sh: { main: 'text', keys: {}, help: "shell-like command: echo [-n] TEXT > PATH, cat PATH, readlink PATH, ls PATH, dmesg (sh: cat /sys/.../driver_override)", captures: 'stdout' },
  open: { main: 'text', keys: { flags: false }, help: 'open(2) a path (open: /dev/vfio/vfio, flags: [O_RDWR])', captures: 'the fd' },
  close: { main: 'value', keys: {}, help: 'close(2) an fd (close: $dev)' },
  read: { main: 'value', keys: { count: false, pos: false }, help: 'read(2) from an fd (read: $efd, count: 8); result bytes, expect u64/text/bytes', captures: 'the bytes' },
  write: { main: 'value', keys: { text: false, bytes: false, u64: false, pos: false }, help: 'write(2) to an fd (write: $efd, u64: 1)', captures: 'the byte count' },
  mmap: { main: 'map', keys: { regs: false }, help: 'mmap(2) { fd, length, prot: [READ, WRITE], flags: [SHARED], offset }; regs: pl330 names the registers of a device mapping', captures: 'the address' },
  munmap: { main: 'map', keys: {}, help: 'munmap(2) { addr, length }' },
  eventfd: { main: 'value', keys: { flags: false }, help: 'eventfd2(2) with an initial count (eventfd: 0, flags: [EFD_NONBLOCK])', captures: 'the fd' },
  poll: { main: 'list', keys: { events: false, timeout: false }, help: 'poll(2) fds for events (poll: [$efd], timeout: 0); result: number of ready fds', captures: 'the ready count' },
  ioctl: { main: 'name', keys: { fd: true, arg: false }, help: 'ioctl(2) by Linux name, arg a number, a name, text, or a struct as a map (ioctl: VFIO_IOMMU_MAP_DMA, fd: $c, arg: {vaddr: $buf, iova: 0, size: 4K, flags: [READ, WRITE]})', captures: 'the struct written back, or the return value' },
  fill: { main: 'value', keys: { length: true, with: false }, help: 'fill user memory (fill: $buf, length: 4K, with: 0xa5 | seq | "text")' },
  poke: { main: 'value', keys: { bytes: false, text: false, u32: false, u64: false }, help: 'store into user memory (poke: $buf, u32: [1, 2])' },
  peek: { main: 'value', keys: { length: true }, help: 'load user memory (peek: $buf, length: 16); expect bytes/text/u32', captures: 'the bytes' },
  compare: { main: 'value', keys: { with: true, length: true }, help: 'compare two user buffers (compare: $dst, with: $src, length: 4K); expect: equal (default) or different' },
  hash: { main: 'value', keys: { length: true }, help: 'SHA-256 of user memory (hash: $dst, length: 4K)', captures: 'the hex digest' },
  write32: { main: 'map', keys: { at: false, phys: false, regs: false }, help: 'MMIO stores by register name, in order, through a mapping (write32: {DBGINST0: 0xa00000, DBGCMD: 0}, at: $regs), or by the test harness at a physical address (phys: 0x2b400000, regs: mmu400)' },
  read32: { main: 'name', keys: { at: false, phys: false, regs: false }, help: 'MMIO load of one register (read32: DSR, at: $regs, or phys: with regs:); expect a value or named fields', captures: '{ value, and each named field }' },
  asm: { main: 'text', keys: { at: true, base: false, symbols: false }, help: 'PL330 microcode, assembled into user memory at `at`; labels relative to bus address `base`', captures: '{ length, labels }' },
  run: { main: 'value', keys: { until: false, timeout: false }, help: 'advance virtual time: run: 10us | idle | readable (until: $efd, timeout: 1ms)', captures: 'why it stopped (until/time/idle)' },
  dmesg: { main: 'text', keys: {}, help: 'a kernel log line printed since the scenario started (after the last one matched) matches the regex (dmesg: "iommu fault"); expect: absent to forbid one', captures: 'the line' },
  trace: { main: 'text', keys: {}, help: 'a new trace event matches the regex (trace: "smmu_fault"); expect: absent to forbid one', captures: 'the line' },
  let: { main: 'map', keys: {}, help: 'define names (let: {iova: 0x10000})' },
  check: { main: 'value', keys: {}, help: 'compare a value with expect (check: $info.num_regions, expect: 1)' },
  spawn: { main: 'map', keys: {}, help: 'a new process (spawn: {uid: 1000}, as: user); steps run as it with proc: user', captures: 'the process' },
  call: { main: 'name', keys: { with: false }, help: 'run a named group of steps (call: bind-vfio, with: {dev: 2c0a0000.dma})' },
}

/** Keys of a scenario file's top level. */
export const TOP_KEYS: Readonly<Record<string, string>> = {
  'vfio-sim': 'format version: 1',
  name: 'what the scenario shows, one line',
  description: 'longer text (shown by --narrate and the pretty report)',
  board: 'a board name or a list of them (default fvp-mmu400)',
  profile: 'rfc-v5, upstream, or a list (default rfc-v5)',
  variants: 'a list of {board, profile}: the same steps on each',
  iommu: 'true: boot with the IOMMU core, the arm-smmu driver and the VFIO modules; a map: the same with options (skipTlbInvalidateOnUnmap, disableBypass, …); false: a board without them; omitted: the machine\'s default boot',
  params: 'names with default values, usable as $name and ${name}',
  include: 'files whose `define:` groups this scenario may call',
  define: 'named step groups: {name: {params: [...], steps: [...]}}',
  steps: 'the steps, in order',
}
