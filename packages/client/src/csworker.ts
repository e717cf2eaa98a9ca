import { Worker } from 'node:worker_threads';
import { u32ToIp } from '@mfs-ts/protocol';
import { ANTOAN_NOP, CSTOCL_MAXPACKETSIZE, PacketFramer } from './proto.js';
import type { CsPacketHandler } from './csconn.js';

/**
 * The main thread's end of cswrite-worker.ts: write connections whose socket lives in the worker.
 * A WorkerLink looks like a CsConn to the write session (packets in through `use`, control packets
 * out through `write`), and sends data pieces as (block memory, range) references that the worker
 * turns into CLTOCS_WRITE_DATA.
 */

export type ToWorker =
  | { t: 'slab'; id: number; sab: SharedArrayBuffer }
  | { t: 'open'; sid: number; host: string; port: number }
  | { t: 'raw'; sid: number; bytes: Uint8Array }
  /** list: [writeid, blocknum, from, to, slab, offset in slab] per piece. */
  | { t: 'pieces'; sid: number; chunkid: number; list: Float64Array }
  | { t: 'close'; sid: number; graceful: boolean };

export type ToMain =
  | { t: 'open'; sid: number; error?: string }
  | { t: 'data'; sid: number; bytes: Uint8Array }
  | { t: 'end'; sid: number; reason: string };

export class WorkerLink {
  private framer = new PacketFramer(CSTOCL_MAXPACKETSIZE);
  private handler: CsPacketHandler | undefined;
  private onEnd: ((reason: string) => void) | undefined;
  dead = false;

  constructor(
    private readonly w: CsWriteWorker,
    readonly sid: number,
    readonly key: string,
  ) {}

  use(onPacket: CsPacketHandler, onEnd: (reason: string) => void): void {
    this.handler = onPacket;
    this.onEnd = onEnd;
  }

  /** Bytes read by the worker. */
  onData(bytes: Uint8Array): void {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const err = this.framer.push(b, (type, payload) => {
      if (type === ANTOAN_NOP && payload.length === 0) return;
      if (this.handler) this.handler(type, payload);
    });
    if (err) this.fail(`bad packet from chunkserver ${this.key}: ${err.message}`);
  }

  write(b: Buffer): void {
    if (!this.dead) this.w.post({ t: 'raw', sid: this.sid, bytes: b });
  }

  pieces(chunkid: number, list: Float64Array): void {
    if (!this.dead) this.w.post({ t: 'pieces', sid: this.sid, chunkid, list });
  }

  /** The connection broke (or we give it up): reported once to the operation using it. */
  fail(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.w.closed(this, false);
    const e = this.onEnd;
    this.handler = undefined;
    this.onEnd = undefined;
    e?.(reason);
  }

  /** A clean end of the operation. */
  done(): void {
    if (this.dead) return;
    this.dead = true;
    this.handler = undefined;
    this.onEnd = undefined;
    this.w.closed(this, true);
  }
}

export class CsWriteWorker {
  private readonly worker: Worker;
  private nextSid = 1;
  private links = new Map<number, WorkerLink>();
  private opening = new Map<number, { resolve: (l: WorkerLink) => void; reject: (e: Error) => void; link: WorkerLink }>();
  private broken: string | undefined;

  constructor() {
    // A small JavaScript entry registers tsx in the worker, then loads the TypeScript source. None
    // of the process's own node flags are passed on: `--input-type=module` (node -e) left the
    // worker hanging before it ran anything.
    this.worker = new Worker(new URL('./cswrite-worker-boot.mjs', import.meta.url), { execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: ToMain) => this.onMessage(m));
    this.worker.on('error', (e) => this.lost(`write worker failed: ${e.message}`));
    this.worker.on('exit', (code) => this.lost(`write worker exited (${code})`));
  }

  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  addSlab(id: number, sab: SharedArrayBuffer): void {
    this.post({ t: 'slab', id, sab });
  }

  open(ip: number, port: number): Promise<WorkerLink> {
    if (this.broken) return Promise.reject(new Error(this.broken));
    const sid = this.nextSid++;
    const host = u32ToIp(ip);
    const link = new WorkerLink(this, sid, `${host}:${port}`);
    return new Promise((resolve, reject) => {
      this.opening.set(sid, { resolve, reject, link });
      if (this.links.size === 0 && this.opening.size === 1) this.worker.ref();
      this.post({ t: 'open', sid, host, port });
    });
  }

  closed(l: WorkerLink, graceful: boolean): void {
    if (this.links.delete(l.sid)) this.post({ t: 'close', sid: l.sid, graceful });
    if (this.links.size === 0 && this.opening.size === 0) this.worker.unref();
  }

  private onMessage(m: ToMain): void {
    if (m.t === 'data') return this.links.get(m.sid)?.onData(m.bytes);
    if (m.t === 'end') return this.links.get(m.sid)?.fail(m.reason);
    const o = this.opening.get(m.sid);
    if (!o) return;
    this.opening.delete(m.sid);
    if (m.error) {
      if (this.links.size === 0 && this.opening.size === 0) this.worker.unref();
      return o.reject(new Error(m.error));
    }
    this.links.set(m.sid, o.link);
    o.resolve(o.link);
  }

  private lost(reason: string): void {
    this.broken ??= reason;
    for (const o of this.opening.values()) o.reject(new Error(reason));
    this.opening.clear();
    for (const l of [...this.links.values()]) l.fail(reason);
  }

  async terminate(): Promise<void> {
    this.broken ??= 'closed';
    await this.worker.terminate();
  }
}
