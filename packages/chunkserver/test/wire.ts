import { connect, type Socket } from 'node:net';
import { PacketFramer } from '@mfs-ts/protocol';

/** A packet as bytes, built field by field here (not with the codecs under test). */
export function pkt(type: number, ...fields: Array<[kind: 'u8' | 'u16' | 'u32' | 'u64', v: number] | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (Buffer.isBuffer(f)) {
      parts.push(f);
      continue;
    }
    const [k, v] = f;
    const b = Buffer.alloc(k === 'u8' ? 1 : k === 'u16' ? 2 : k === 'u32' ? 4 : 8);
    if (k === 'u8') b[0] = v;
    else if (k === 'u16') b.writeUInt16BE(v);
    else if (k === 'u32') b.writeUInt32BE(v >>> 0);
    else b.writeBigUInt64BE(BigInt(v));
    parts.push(b);
  }
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(8);
  h.writeUInt32BE(type, 0);
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

export interface Packet {
  type: number;
  data: Buffer;
}

/** A test peer: sends raw bytes, collects whole packets, knows when the server closed. */
export class WireClient {
  readonly packets: Packet[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private readonly framer = new PacketFramer(10_000_000);

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.framer.push(d, (type, payload) => {
        this.packets.push({ type, data: Buffer.from(payload) });
      });
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(b: Buffer): void {
    this.sock.write(b);
  }

  /** Waits for the next packet that is not a NOP (type 0), up to `ms`. */
  async next(ms = 3000, skipNop = true): Promise<Packet> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.packets.length > 0) {
        const p = this.packets.shift()!;
        if (skipNop && p.type === 0) continue;
        return p;
      }
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout waiting for a packet');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Resolves true once the server has closed the connection (false after `ms`). */
  async waitClosed(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  close(): void {
    this.sock.destroy();
  }
}
