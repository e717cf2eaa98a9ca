/**
 * A growable packet writer. `begin(type)` reserves the 8-byte header, `finish()` backfills the length
 * and returns a view of the packet. The backing buffer is reused across packets, so callers that send
 * the view at once (socket.write copies nothing, but holds the view) must use `finishCopy()` if they
 * start the next packet before the write is flushed; `Writer.packet()` does that for one-off packets.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  private start = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length;
    while (size < need) size = Math.ceil(size * 1.5) + 16;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  reset(): this {
    this.pos = 0;
    this.start = 0;
    return this;
  }

  begin(type: number): this {
    this.start = this.pos;
    this.ensure(8);
    this.buf.writeUInt32BE(type, this.pos);
    this.pos += 8;
    return this;
  }

  /** Backfills the length of the packet begun last and returns a view of it. */
  finish(): Buffer {
    this.buf.writeUInt32BE(this.pos - this.start - 8, this.start + 4);
    return this.buf.subarray(this.start, this.pos);
  }

  /** Like finish(), but returns an owned copy and resets the writer. */
  finishCopy(): Buffer {
    const out = Buffer.from(this.finish());
    this.reset();
    return out;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
    return this;
  }
  u64n(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / 0x100000000);
    this.buf.writeUInt32BE(hi >>> 0, this.pos);
    this.buf.writeUInt32BE((v - hi * 0x100000000) >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** A string of one-byte characters (a name kept as its latin1 string), one byte each. */
  latin1(s: string): this {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
}
