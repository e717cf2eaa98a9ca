import { ProtocolError } from './codec/errors.js';

/**
 * Called once per complete packet. `payload` is a view: when `stable` is true it points into the
 * chunk that was pushed (safe to keep as long as that chunk is), otherwise into the framer's own
 * reassembly buffer, which is reused for the next packet (copy what must outlive the callback).
 */
export type PacketHandler = (type: number, payload: Buffer, stable: boolean) => void;

const BIG = 1 << 20;

/**
 * Splits a byte stream into MooseFS packets (`type:32 length:32 payload`). It checks each length
 * against the link's maximum before allocating anything for it, and reports errors as values.
 * Packets that arrive whole inside one chunk are delivered without a copy.
 */
export class PacketFramer {
  private acc: Buffer;
  private accLen = 0;
  /** Total bytes of the packet being reassembled (header included); 0 = header not yet known. */
  private want = 0;
  private broken: ProtocolError | undefined;
  /** True while a reassembled packet is being delivered (`adopt` may take its buffer). */
  private lending = false;

  constructor(
    readonly maxLength: number,
    initial = 64 * 1024 + 64,
  ) {
    this.acc = Buffer.allocUnsafe(initial);
  }

  /** Bytes held for an incomplete packet. */
  get pending(): number {
    return this.accLen;
  }

  get error(): ProtocolError | undefined {
    return this.broken;
  }

  /**
   * Feeds bytes; calls `onPacket` for each complete packet. Returns an error (and stays broken, as
   * the stream cannot be resynchronised) on a length above the maximum.
   */
  push(chunk: Buffer, onPacket: PacketHandler): ProtocolError | undefined {
    if (this.broken) return this.broken;
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.accLen === 0) {
        // Fast path: parse straight out of the chunk.
        if (n - off >= 8) {
          const len = chunk.readUInt32BE(off + 4);
          if (len > this.maxLength) return this.tooBig(chunk.readUInt32BE(off), len);
          if (n - off >= 8 + len) {
            onPacket(chunk.readUInt32BE(off), chunk.subarray(off + 8, off + 8 + len), true);
            off += 8 + len;
            continue;
          }
          this.want = 8 + len;
          this.reserve(this.want);
        } else {
          this.want = 0;
          this.reserve(8);
        }
        chunk.copy(this.acc, 0, off, n);
        this.accLen = n - off;
        return undefined;
      }
      // Slow path: complete the packet in the reassembly buffer.
      if (this.want === 0) {
        const take = Math.min(8 - this.accLen, n - off);
        chunk.copy(this.acc, this.accLen, off, off + take);
        this.accLen += take;
        off += take;
        if (this.accLen < 8) return undefined;
        const len = this.acc.readUInt32BE(4);
        if (len > this.maxLength) return this.tooBig(this.acc.readUInt32BE(0), len);
        this.want = 8 + len;
        this.reserve(this.want);
      }
      const take = Math.min(this.want - this.accLen, n - off);
      chunk.copy(this.acc, this.accLen, off, off + take);
      this.accLen += take;
      off += take;
      if (this.accLen === this.want) {
        const type = this.acc.readUInt32BE(0);
        const payload = this.acc.subarray(8, this.want);
        this.accLen = 0;
        this.want = 0;
        this.lending = true;
        try {
          onPacket(type, payload, false);
        } finally {
          this.lending = false;
        }
        // Do not keep a huge buffer around after a rare huge packet.
        if (this.acc.length > BIG) this.acc = Buffer.allocUnsafe(64 * 1024 + 64);
      }
    }
    return undefined;
  }

  /**
   * Only inside `onPacket` for a packet delivered with `stable` false: gives the caller the
   * reassembly buffer, which holds that whole packet (header at 0, payload at 8), and reassembles
   * from now on into `next`. A consumer that keeps large packets (chunk data) takes them this way
   * instead of copying. Returns undefined when called anywhere else.
   */
  adopt(next: Buffer): Buffer | undefined {
    if (!this.lending) return undefined;
    this.lending = false;
    const b = this.acc;
    this.acc = next;
    return b;
  }

  private reserve(size: number): void {
    if (this.acc.length >= size) return;
    const nb = Buffer.allocUnsafe(size);
    this.acc.copy(nb, 0, 0, this.accLen);
    this.acc = nb;
  }

  private tooBig(type: number, len: number): ProtocolError {
    this.broken = new ProtocolError('MFS_PROTO_TOO_BIG', `packet type ${type} length ${len} exceeds maximum ${this.maxLength}`);
    this.accLen = 0;
    return this.broken;
  }
}
