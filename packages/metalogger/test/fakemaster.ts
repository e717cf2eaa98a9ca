// An in-process stand-in for the master's side of port 9419, speaking through our protocol codec, for
// the metalogger's unit tests. It records every packet the metalogger sends and serves downloads from
// in-memory files, with hooks to corrupt blocks.
import { EventEmitter, once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import {
  ANTOAN_NOP,
  ANTOMA_DOWNLOAD_END,
  ANTOMA_DOWNLOAD_REQUEST,
  ANTOMA_DOWNLOAD_START,
  ANTOMA_MAXPACKETSIZE,
  ANTOMA_REGISTER,
  AntomaDownloadRequest,
  AntomaDownloadStart,
  AntomaRegister,
  MatoanDownloadData,
  MatoanDownloadInfo,
  MatoanMetachangesLog,
  MESSAGE_IDS,
  PacketFramer,
} from '@mfs-ts/protocol';

export interface Received {
  type: number;
  name: string;
  payload: Buffer;
}

const NAMES = new Map(MESSAGE_IDS.map((e) => [e.id, e.name]));

export class FakeConn extends EventEmitter {
  readonly received: Received[] = [];
  private waiters: Array<{ name: string; from: number; resolve: (r: Received) => void }> = [];
  private cursor = 0;
  closed = false;
  /** Files open for download: 1 opens all three, as matomlserv_download_start does. */
  private serving: Buffer | undefined;

  constructor(
    readonly sock: Socket,
    private readonly master: FakeMaster,
  ) {
    super();
    const framer = new PacketFramer(ANTOMA_MAXPACKETSIZE);
    sock.on('data', (chunk: Buffer) => {
      const err = framer.push(chunk, (type, payload) => this.onPacket(type, Buffer.from(payload)));
      if (err) sock.destroy();
    });
    sock.on('close', () => {
      this.closed = true;
      this.emit('closed');
    });
    sock.on('error', () => {});
  }

  private onPacket(type: number, payload: Buffer): void {
    const r: Received = { type, name: NAMES.get(type) ?? `type ${type}`, payload };
    this.received.push(r);
    const idx = this.received.length - 1;
    for (const w of [...this.waiters]) {
      if (w.name === r.name && idx >= w.from) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
    if (this.master.autoServe) this.serve(type, payload);
  }

  /** The next packet named `name` after those already taken with next(). */
  next(name: string, timeoutMs = 10_000): Promise<Received> {
    for (let i = this.cursor; i < this.received.length; i++) {
      if (this.received[i]!.name === name) {
        this.cursor = i + 1;
        return Promise.resolve(this.received[i]!);
      }
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms; got: ${this.received.map((x) => x.name).join(', ')}`)), timeoutMs);
      this.waiters.push({
        name,
        from: this.cursor,
        resolve: (r) => {
          clearTimeout(t);
          this.cursor = this.received.indexOf(r) + 1;
          resolve(r);
        },
      });
    });
  }

  names(): string[] {
    return this.received.map((r) => r.name);
  }

  send(packet: Buffer): void {
    this.sock.write(packet);
  }

  record(version: number, text: string): Buffer {
    return MatoanMetachangesLog.encode({ $v: 'change', rtype: 0xff, version: BigInt(version), data: Buffer.from(`${text}\0`, 'latin1') });
  }

  rotate(): Buffer {
    return MatoanMetachangesLog.encode({ $v: 'rotate', rtype: 0x55 });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const p = once(this, 'closed').then(() => undefined);
    this.sock.destroy();
    return p;
  }

  /** The master's download side (matomlserv_download_start / _request / _end). */
  private serve(type: number, payload: Buffer): void {
    if (type === ANTOMA_DOWNLOAD_START) {
      const r = AntomaDownloadStart.decode(payload);
      if (!r.ok) return void this.sock.destroy();
      const f = this.master.files[r.value.filenum];
      this.serving = f;
      if (f === undefined) {
        if (r.value.filenum === 11 || r.value.filenum === 12) this.send(MatoanDownloadInfo.encode({ $v: 'ok', size: 0 }));
        else this.send(MatoanDownloadInfo.encode({ $v: 'error', status: 0xff }));
        return;
      }
      this.send(MatoanDownloadInfo.encode({ $v: 'ok', size: f.length }));
    } else if (type === ANTOMA_DOWNLOAD_REQUEST) {
      const r = AntomaDownloadRequest.decode(payload);
      if (!r.ok || !this.serving) return void this.sock.destroy();
      const { offset, leng } = r.value;
      const data = this.serving.subarray(offset, offset + leng);
      let crc = crc32(data) >>> 0;
      if (this.master.corrupt?.(offset, data)) crc = (crc ^ 0x5a5a5a5a) >>> 0;
      this.send(MatoanDownloadData.encode({ offset, leng: data.length, crc, data }));
    } else if (type === ANTOMA_DOWNLOAD_END) {
      this.serving = undefined;
    } else if (type === ANTOMA_REGISTER) {
      const r = AntomaRegister.decode(payload);
      if (!r.ok) this.sock.destroy();
    } else if (type !== ANTOAN_NOP) {
      this.sock.destroy();
    }
  }
}

export class FakeMaster extends EventEmitter {
  readonly conns: FakeConn[] = [];
  private server: Server;
  /** Downloadable files by filenum (1 metadata.mfs.back, 11 changelog.0.mfs, 12 changelog.1.mfs). */
  files: Record<number, Buffer> = {};
  /** Answer DOWNLOAD_* requests (as the real master does). */
  autoServe = true;
  /** Return true to send a block with a wrong CRC. */
  corrupt: ((offset: number, data: Buffer) => boolean) | undefined;
  private pending: Array<(c: FakeConn) => void> = [];
  private taken = 0;

  constructor() {
    super();
    this.server = createServer((sock) => {
      const c = new FakeConn(sock, this);
      this.conns.push(c);
      const w = this.pending.shift();
      if (w) {
        this.taken++;
        w(c);
      }
    });
  }

  async listen(port = 0): Promise<number> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next connection not yet taken. */
  nextConnection(timeoutMs = 10_000): Promise<FakeConn> {
    if (this.taken < this.conns.length) return Promise.resolve(this.conns[this.taken++]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
      this.pending.push((c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()));
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A metadata file in the 2.0 layout the metalogger checks: header, version, id, body, EOF marker. */
export function fakeMetadata(version: number, bodyBytes: number, seed = 1): Buffer {
  const head = Buffer.alloc(24);
  head.write('MFSM 2.0', 0, 'latin1');
  head.writeBigUInt64BE(BigInt(version), 8);
  head.writeBigUInt64BE(0x1234567890abcdefn, 16);
  const body = Buffer.alloc(bodyBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bodyBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  return Buffer.concat([head, body, Buffer.from('[MFS EOF MARKER]', 'latin1')]);
}
