import { connect, type Socket } from 'node:net';
import { PacketFramer, type MessageDef } from '@mfs-ts/protocol';

/** A test peer speaking our codec over a real socket: send packets, await packets by type. */
export class TestPeer {
  private readonly framer = new PacketFramer(100_000_000);
  private readonly queue: Array<{ type: number; payload: Buffer }> = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.framer.push(d, (type, payload) => {
        this.queue.push({ type, payload: Buffer.from(payload) });
      });
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TestPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new TestPeer(s)));
      s.once('error', reject);
    });
  }

  send<T>(def: MessageDef<T>, v: T): void {
    this.sock.write(def.encode(v));
  }

  raw(b: Buffer): void {
    this.sock.write(b);
  }

  /** Next packet of `type` (others of type NOP are skipped); rejects on close or timeout. */
  async next(type: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex((p) => p.type === type);
      if (i >= 0) return this.queue.splice(i, 1)[0]!.payload;
      if (this.closed) throw new Error(`connection closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for packet ${type}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async reply<T>(def: MessageDef<T>, timeoutMs?: number): Promise<T> {
    const p = await this.next(def.id, timeoutMs);
    const r = def.decode(p);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Resolves once the other side closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.sock.destroy();
  }
}
