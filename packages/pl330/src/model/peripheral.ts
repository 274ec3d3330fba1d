/**
 * A simple peripheral for the PL330's request interface, for tests and
 * examples: a byte FIFO behind one 32-bit data register (offset 0) that
 * asks for DMA on interface `p`.
 *
 * - RX (device → memory): bytes given to {@link FifoPeripheral.feed} wait
 *   in the FIFO; while at least `burstBytes` wait it requests a burst,
 *   otherwise a single; the request that will empty the FIFO carries
 *   drlast when the stream has ended. Reads of the data register pop bytes
 *   (little-endian; zeros when empty).
 * - TX (memory → device): writes to the data register append to
 *   {@link FifoPeripheral.received}.
 *
 * After every acknowledgement (datype) it re-evaluates its request, as a
 * real peripheral re-asserts drtype.
 */
import { BusResp, type AccessSize, type MmioDevice } from '@vfio-sim/sim'
import type { PeriphAck, Pl330 } from './pl330.ts'

/** A FIFO peripheral wired to one PL330 request interface. */
export class FifoPeripheral implements MmioDevice {
  readonly name: string
  readonly size = 0x1000
  resp: BusResp = BusResp.OKAY
  /** Bytes written by the DMAC (TX). */
  readonly received: number[] = []
  /** Acknowledgements seen, in order. */
  readonly acks: PeriphAck[] = []
  private readonly dma: Pl330
  private readonly p: number
  private readonly burstBytes: number
  private readonly rx: number[] = []
  private ended = false

  constructor(dma: Pl330, p: number, burstBytes: number, name = `fifo-periph${p}`) {
    this.dma = dma
    this.p = p
    this.burstBytes = burstBytes
    this.name = name
    const prev = dma.onPeripheralAck
    dma.onPeripheralAck = (q, ack) => {
      prev?.(q, ack)
      if (q !== p) return
      this.acks.push(ack)
      this.update()
    }
  }

  /** Queues bytes to send; `end` marks the end of the stream (drlast on its last request). */
  feed(bytes: ArrayLike<number>, end = false): void {
    for (let i = 0; i < bytes.length; i++) this.rx.push(bytes[i]! & 0xff)
    if (end) this.ended = true
    this.update()
  }

  /** Bytes still waiting in the RX FIFO. */
  get pending(): number {
    return this.rx.length
  }

  private update(): void {
    if (this.rx.length === 0 || this.dma.periphPendingRequest(this.p) !== undefined) return
    const burst = this.rx.length >= this.burstBytes
    const last = this.ended && this.rx.length <= this.burstBytes
    this.dma.periphRequest(this.p, burst ? 'burst' : 'single', last)
  }

  read(offset: number, size: AccessSize): number {
    if (offset !== 0) return 0
    let v = 0
    for (let i = 0; i < size; i++) v += (this.rx.shift() ?? 0) * 2 ** (8 * i)
    return v
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset !== 0) return
    for (let i = 0; i < size; i++) this.received.push(Math.floor(value / 2 ** (8 * i)) & 0xff)
  }
}
