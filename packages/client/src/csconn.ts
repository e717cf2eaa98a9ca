import { createConnection, type Socket } from 'node:net';
import { u32ToIp } from '@mfs-ts/protocol';
import { ANTOAN_NOP, CSTOCL_MAXPACKETSIZE, PacketFramer } from './proto.js';

/**
 * A connection to a chunkserver's data port (9422) and a small pool of idle ones per address
 * (mfscommon/conncache.c). One operation (a read, or a chained write) uses a connection at a time;
 * its packets go to the handler the operation installs. The chunkserver's NOPs (empty type 0) are
 * dropped here.
 */

const CONNECT_TIMEOUT_MS = 2000;
const IDLE_KEEP = 4;
const IDLE_MAX_AGE_MS = 4000;
const READ_BUFFER = 512 * 1024;

export type CsPacketHandler = (type: number, payload: Buffer) => void;

export class CsConn {
  private framer = new PacketFramer(CSTOCL_MAXPACKETSIZE);
  private handler: CsPacketHandler | undefined;
  private onEnd: ((reason: string) => void) | undefined;
  dead = false;
  idleSince = 0;

  private constructor(
    readonly sock: Socket,
    readonly key: string,
  ) {
    sock.on('error', (e) => this.fail(`chunkserver ${this.key}: ${e.message}`));
    sock.on('close', () => this.fail(`chunkserver ${this.key} closed the connection`));
  }

  /** Bytes read from the socket (into the connection's one reused read buffer: payload views die with the call). */
  private onData(chunk: Buffer): void {
    const err = this.framer.push(chunk, (type, payload) => {
      if (type === ANTOAN_NOP && payload.length === 0) return;
      if (this.handler) this.handler(type, payload);
      else this.fail(`unexpected packet ${type} on an idle connection`);
    });
    if (err) this.fail(`bad packet from chunkserver ${this.key}: ${err.message}`);
  }

  static open(ip: number, port: number): Promise<CsConn> {
    const host = u32ToIp(ip);
    const key = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      // Socket reads land in one buffer per connection, reused for every read (no allocation per
      // 64 KiB read, and most packets arrive whole, so the framer hands out views without copying).
      let conn: CsConn | undefined;
      const s = createConnection({
        host,
        port,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER),
          callback: (n: number, buf: Uint8Array) => {
            conn?.onData((buf as Buffer).subarray(0, n));
            return true;
          },
        },
      });
      s.setNoDelay(true);
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`can't connect to chunkserver ${key}: timeout`));
      }, CONNECT_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        conn = new CsConn(s, key);
        resolve(conn);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(new Error(`can't connect to chunkserver ${key}: ${e.message}`));
      });
    });
  }

  /**
   * Installs the handlers of the operation now using this connection. `onPacket` gets views that are
   * valid only during the call. `onEnd` is called once if the connection breaks.
   */
  use(onPacket: CsPacketHandler, onEnd: (reason: string) => void): void {
    this.handler = onPacket;
    this.onEnd = onEnd;
  }

  release(): void {
    this.handler = undefined;
    this.onEnd = undefined;
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  fail(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.sock.destroy();
    const e = this.onEnd;
    this.release();
    e?.(reason);
  }
}

export class CsPool {
  private idle = new Map<string, CsConn[]>();

  async get(ip: number, port: number): Promise<CsConn> {
    const key = `${u32ToIp(ip)}:${port}`;
    const list = this.idle.get(key);
    const now = Date.now();
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (!c.dead && now - c.idleSince < IDLE_MAX_AGE_MS) {
        c.sock.ref();
        return c;
      }
      c.fail('stale');
    }
    return CsConn.open(ip, port);
  }

  put(c: CsConn): void {
    c.release();
    if (c.dead) return;
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    if (list.length >= IDLE_KEEP) {
      c.fail('pool full');
      return;
    }
    c.idleSince = Date.now();
    c.sock.unref();
    list.push(c);
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const c of list) c.fail('closing');
    this.idle.clear();
  }
}
