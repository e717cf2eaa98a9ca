import { connect, type Socket } from 'node:net';
import {
  ANTOAN_NOP,
  ANTOAN_NOP_PACKET,
  CLTOCS_WRITE,
  CLTOCS_WRITE_DATA,
  CLTOCS_WRITE_FINISH,
  CSTOCL_WRITE_STATUS,
  CSTOCS_MAXPACKETSIZE,
  MFS_ERROR_CANTCONNECT,
  MFS_ERROR_DISCONNECTED,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_WRONGCHUNKID,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
  PacketFramer,
  newDataView,
  parseWriteData,
  putWriteStatus,
  u32ToIp,
} from '@mfs-ts/protocol';
import type { ChunkFile } from '../hddspacemgr/chunkfile.js';
import type { CsConn } from '../csserv.js';

/** Connection attempts to the next server of a chain, and their timeouts (mainserv.c CONNECT_*). */
const CONNECT_RETRIES = 10;
const connectTimeout = (n: number): number => (n % 2 ? 300 : 200) * (1 << (n >> 1));
/** No packet from upstream for this long ends the session (SERV_TIMEOUT). */
const SERV_TIMEOUT_MS = 5000;

function statusPacket(chunkid: number, writeid: number, st: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  putWriteStatus(b, 0, chunkid, writeid, st);
  return b;
}

export function connectOnce(ip: number, port: number, timeoutMs: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: u32ToIp(ip), port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    });
  });
}

async function connectChain(ip: number, port: number): Promise<Socket | undefined> {
  for (let i = 0; i < CONNECT_RETRIES; i++) {
    const s = await connectOnce(ip, port, connectTimeout(i));
    if (s) return s;
  }
  return undefined;
}

interface Entry {
  writeid: number;
  /** Local disk status (undefined while the write runs). */
  hdd: number | undefined;
  /** Status from the next server (undefined while waiting; OK at the end of a chain). */
  net: number | undefined;
  buf: Buffer;
  refs: number;
}

/**
 * CLTOCS_WRITE `[protover:8] chunkid:64 version:32 N*[ip:32 port:16]` (mainserv_write): the server is
 * the last of a chain when N = 0, otherwise it connects to the first listed server, forwards the
 * request with itself removed, and relays every data packet. Each CLTOCS_WRITE_DATA is acknowledged
 * (CSTOCL_WRITE_STATUS with its writeid), in order, once it is on this server's disk and (in the
 * middle of a chain) acknowledged by the next server. writeid 0 answers the request itself.
 * CLTOCS_WRITE_FINISH ends the session; the connection stays open for the next request.
 */
export async function serveWrite(conn: CsConn, payload: Buffer): Promise<void> {
  const len = payload.length;
  const base = len & 1;
  if (base ? len < 13 || (len - 13) % 6 !== 0 : len < 12 || (len - 12) % 6 !== 0) {
    conn.kill(`CLTOCS_WRITE - wrong size (${len}/${base ? 13 : 12}+N*6)`, CLTOCS_WRITE);
    conn.detach(false);
    return;
  }
  const s = new WriteSession(conn, payload, base);
  await s.start();
}

class WriteSession {
  private readonly chunkid: number;
  private readonly version: number;
  private fwd: Socket | undefined;
  private chunk: ChunkFile | undefined;
  private entries: Entry[] = [];
  private waitNet: Entry[] = [];
  private pendingHdd = 0;
  private ready = false;
  private early: Array<{ type: number; payload: Buffer }> = [];
  private ended = false;
  private finishing = false;
  private lastNop = 0;
  private idle: NodeJS.Timeout | undefined;
  private readonly dv = newDataView();
  private hddDone: (() => void) | undefined;

  constructor(
    private readonly conn: CsConn,
    private readonly req: Buffer,
    private readonly base: number,
  ) {
    this.chunkid = req.readUInt32BE(base) * 0x100000000 + req.readUInt32BE(base + 4);
    this.version = req.readUInt32BE(base + 8);
  }

  private get last(): boolean {
    return this.fwd === undefined;
  }

  async start(): Promise<void> {
    const conn = this.conn;
    conn.attach(
      (t, p, stable) => this.onUpstream(t, p, stable),
      () => void this.end(false),
    );
    const hops = (this.req.length - this.base - 12) / 6;
    if (hops > 0) {
      const o = this.base + 12;
      const ip = this.req.readUInt32BE(o);
      const port = this.req.readUInt16BE(o + 4);
      const fwd = await connectChain(ip, port);
      if (this.ended) {
        fwd?.destroy();
        return;
      }
      if (!fwd) {
        conn.log.warn({ next: `${u32ToIp(ip)}:${port}` }, `connect to ${u32ToIp(ip)}:${port} failed`);
        conn.send(statusPacket(this.chunkid, 0, MFS_ERROR_CANTCONNECT));
        return this.end(true);
      }
      this.fwd = fwd;
      // The request again, minus the first hop: header + [protover] chunkid version + rest of chain.
      const fl = this.req.length - 6;
      const out = Buffer.allocUnsafe(8 + fl);
      out.writeUInt32BE(CLTOCS_WRITE, 0);
      out.writeUInt32BE(fl, 4);
      this.req.copy(out, 8, 0, this.base + 12);
      this.req.copy(out, 8 + this.base + 12, this.base + 18);
      fwd.write(out);
      const framer = new PacketFramer(CSTOCS_MAXPACKETSIZE);
      fwd.on('data', (d: Buffer) => {
        const err = framer.push(d, (t, p) => this.onDownstream(t, p));
        if (err) this.fail(`packet too long from next server: ${err.message}`);
      });
      fwd.on('error', () => undefined);
      fwd.on('close', () => {
        if (this.ended) return;
        conn.send(statusPacket(this.chunkid, 0, MFS_ERROR_DISCONNECTED));
        void this.end(false);
      });
    }
    const c = conn.hdd.get(this.chunkid);
    let st = MFS_ERROR_NOCHUNK;
    if (c) st = c.version !== this.version && this.version > 0 ? MFS_ERROR_WRONGVERSION : await c.exclusive(() => c.ioBegin());
    if (this.ended) {
      if (c && st === MFS_STATUS_OK) await c.exclusive(() => c.ioEnd());
      return;
    }
    if (st !== MFS_STATUS_OK) {
      this.fwd?.destroy();
      this.fwd = undefined;
      conn.send(statusPacket(this.chunkid, 0, st));
      return this.end(true);
    }
    this.chunk = c;
    conn.log.debug({ chunk: this.chunkid.toString(16), version: this.version, role: this.last ? 'last' : 'forwarding' }, `write session (${this.last ? 'last in chain' : 'forwarding'})`);
    if (this.last) conn.send(statusPacket(this.chunkid, 0, MFS_STATUS_OK));
    this.ready = true;
    this.armIdle();
    for (const p of this.early.splice(0)) this.onUpstream(p.type, p.payload, true);
  }

  private armIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.fail('write session timed out'), SERV_TIMEOUT_MS);
    this.idle.unref();
  }

  private fail(reason: string): void {
    if (this.ended) return;
    this.conn.log.info({ chunk: this.chunkid.toString(16) }, reason);
    void this.end(false);
  }

  private onUpstream(type: number, payload: Buffer, stable: boolean): void {
    if (this.ended) return;
    if (!this.ready) {
      this.early.push({ type, payload: stable ? payload : Buffer.from(payload) });
      return;
    }
    this.armIdle();
    if (type === CLTOCS_WRITE_DATA) return this.data(payload);
    if (type === ANTOAN_NOP) {
      this.fwd?.write(ANTOAN_NOP_PACKET);
      const now = Date.now();
      if (now - this.lastNop > 500) {
        this.lastNop = now;
        this.conn.send(ANTOAN_NOP_PACKET);
      }
      return;
    }
    if (type === CLTOCS_WRITE_FINISH) return this.finish(payload);
    if (!this.last) this.fail(`received unrecognized packet (${type}) during write`);
  }

  private data(payload: Buffer): void {
    const dv = this.dv;
    if (parseWriteData(payload, dv) !== undefined) return this.fail(`CLTOCS_WRITE_DATA - wrong size (${payload.length}/24+size)`);
    if (dv.chunkid !== this.chunkid) {
      this.conn.send(statusPacket(this.chunkid, this.last ? dv.writeid : 0, MFS_ERROR_WRONGCHUNKID));
      return void this.end(this.last);
    }
    const pool = this.conn.bufs.writes;
    const buf = pool.take();
    buf.writeUInt32BE(CLTOCS_WRITE_DATA, 0);
    buf.writeUInt32BE(payload.length, 4);
    payload.copy(buf, 8);
    const e: Entry = { writeid: dv.writeid, hdd: undefined, net: this.last ? MFS_STATUS_OK : undefined, buf, refs: 1 };
    const release = (): void => {
      if (--e.refs === 0) pool.give(buf);
    };
    this.entries.push(e);
    if (this.fwd) {
      e.refs++;
      this.waitNet.push(e);
      this.fwd.write(buf.subarray(0, 8 + payload.length), release);
    }
    const c = this.chunk!;
    const { blocknum, offset, size, crc } = dv;
    this.pendingHdd++;
    void c
      .exclusive(() => c.write(this.version, blocknum, offset, size, buf, 32, crc))
      .then(
        (st) => st,
        () => MFS_ERROR_DISCONNECTED,
      )
      .then((st) => {
        e.hdd = st;
        release();
        this.pendingHdd--;
        if (this.pendingHdd === 0) this.hddDone?.();
        this.flush();
      });
  }

  private finish(payload: Buffer): void {
    if (this.fwd) {
      const b = Buffer.allocUnsafe(8 + payload.length);
      b.writeUInt32BE(CLTOCS_WRITE_FINISH, 0);
      b.writeUInt32BE(payload.length, 4);
      payload.copy(b, 8);
      this.fwd.write(b);
    }
    if (payload.length < 12) return this.fail(`CLTOCS_WRITE_FINISH - wrong size (${payload.length}/12)`);
    const id = payload.readUInt32BE(0) * 0x100000000 + payload.readUInt32BE(4);
    const ver = payload.readUInt32BE(8);
    if (id !== this.chunkid || ver !== this.version) {
      this.conn.send(statusPacket(this.chunkid, 0, MFS_ERROR_WRONGCHUNKID));
      return void this.end(this.last);
    }
    this.finishing = true;
    void this.end(true);
  }

  private onDownstream(type: number, p: Buffer): void {
    if (this.ended || type !== CSTOCL_WRITE_STATUS) return;
    if (p.length !== 13) return this.fail(`CSTOCL_WRITE_STATUS - wrong size (${p.length}/13)`);
    const id = p.readUInt32BE(0) * 0x100000000 + p.readUInt32BE(4);
    const writeid = p.readUInt32BE(8);
    const st = p[12]!;
    if (writeid === 0) {
      // The rest of the chain is ready (or failed): pass it up. A failure just drops the link, as MooseFS does.
      if (st !== MFS_STATUS_OK) return this.fail(`next server refused the write (status ${st})`);
      this.conn.send(statusPacket(this.chunkid, 0, MFS_STATUS_OK));
      return;
    }
    const e = this.waitNet.shift();
    if (!e || id !== this.chunkid || writeid !== e.writeid) return this.fail('unexpected write status from next server');
    e.net = st;
    this.flush();
  }

  /** Sends the acks that are complete, in order; an error ends the session. */
  private flush(): void {
    if (this.ended && !this.finishing) return;
    let acks: Buffer | undefined;
    let n = 0;
    while (this.entries.length > 0) {
      const e = this.entries[0]!;
      if (e.hdd !== undefined && e.hdd !== MFS_STATUS_OK) return this.error(e.writeid, e.hdd, acks, n);
      if (e.net !== undefined && e.net !== MFS_STATUS_OK) return this.error(e.writeid, e.net, acks, n);
      if (e.hdd === undefined || e.net === undefined) break;
      this.entries.shift();
      if (!acks) acks = Buffer.allocUnsafe(21 * Math.min(this.entries.length + 1, 64));
      if (21 * (n + 1) > acks.length) {
        this.conn.send(acks.subarray(0, 21 * n));
        acks = Buffer.allocUnsafe(21 * Math.min(this.entries.length + 1, 64));
        n = 0;
      }
      putWriteStatus(acks, 21 * n, this.chunkid, e.writeid, MFS_STATUS_OK);
      n++;
    }
    if (acks && n > 0) this.conn.send(acks.subarray(0, 21 * n));
  }

  private error(writeid: number, st: number, acks: Buffer | undefined, n: number): void {
    if (acks && n > 0) this.conn.send(acks.subarray(0, 21 * n));
    if (this.last) {
      // The last server reports the failed write and stays usable; a middle one just drops the link.
      this.conn.send(statusPacket(this.chunkid, writeid, st));
      void this.end(true);
    } else this.fail(`write failed (status ${st})`);
  }

  private async end(keep: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // Whatever the client sends from now on (its next request on this link) waits for detach.
    this.conn.unroute();
    if (this.idle) clearTimeout(this.idle);
    const fwd = this.fwd;
    this.fwd = undefined;
    if (fwd) {
      if (keep) fwd.end();
      else fwd.destroy();
    }
    if (this.pendingHdd > 0) await new Promise<void>((r) => (this.hddDone = r));
    if (this.finishing) this.flush();
    const c = this.chunk;
    this.chunk = undefined;
    if (c) await c.exclusive(() => c.ioEnd()).catch(() => undefined);
    this.conn.detach(keep && this.conn.state !== 'closed');
  }
}
