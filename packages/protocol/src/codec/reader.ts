import { ProtocolError } from './errors.js';

/**
 * A cursor over one packet's payload. One Reader can be re-pointed at each packet (`reset`), so
 * decoding allocates nothing but the decoded values. Byte slices are views, never copies.
 * Reads past the end throw a ProtocolError, which `MessageDef.decode` turns into a Result.
 */
export class Reader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  constructor(buf?: Buffer) {
    if (buf) this.reset(buf);
  }

  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const p = this.pos;
    if (n < 0 || p + n > this.end) {
      throw new ProtocolError('MFS_PROTO_TRUNCATED', `need ${n} bytes at offset ${p}, have ${this.end - p}`);
    }
    this.pos = p + n;
    return p;
  }

  u8(): number {
    return this.buf[this.need(1)]!;
  }
  u16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64BE(this.need(8));
  }
  /** A 64-bit field that MooseFS never fills beyond 2^53 (lengths, offsets, chunk ids). */
  u64n(): number {
    const p = this.need(8);
    const hi = this.buf.readUInt32BE(p);
    if (hi > 0x1fffff) {
      throw new ProtocolError('MFS_PROTO_BAD_VALUE', `64-bit value at offset ${p} exceeds 2^53`);
    }
    return hi * 0x100000000 + this.buf.readUInt32BE(p + 4);
  }
  /** A view of the next n bytes (no copy). */
  bytes(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
  /** A view of everything left. */
  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }
}
