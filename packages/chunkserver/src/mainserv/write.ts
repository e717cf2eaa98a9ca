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
  MFSBLOCKSIZE,
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
  /** The whole CLTOCS_WRITE_DATA packet, header at 0 (forwardable as is), data at DATA_OFF. */
  buf: Buffer;
  blocknum: number;
  offset: number;
  size: number;
  crc: number;
  refs: number;
}

/** Where the data starts in an entry's packet: 8-byte header + 24 bytes of WRITE_DATA fields. */
const DATA_OFF = 32;
/** At most this many queued pieces go to the disk in one batch (one pwritev for a run of whole blocks). */
const MAX_BATCH = 32;
/** Pieces waiting for the disk above which the client's socket is paused, and below which it resumes. */
const QUEUE_HIGH = 256;
const QUEUE_LOW = 64;

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
  /** Every piece not yet acknowledged, in arrival order. */
  private entries: Entry[] = [];
  /** Pieces forwarded and waiting for the next server's status, in order. */
  private waitNet: Entry[] = [];
  /** Pieces waiting for the disk, in order; the pump writes them in batches. */
  private diskq: Entry[] = [];
  private diskBusy = false;
  private pumpQueued = false;
  private paused = false;
  private corked = false;
  private pendingHdd = 0;
  private ready = false;
  private early: Array<{ type: number; payload: Buffer }> = [];
  private ended = false;
  private finishing = false;
  private lastNop = 0;
  private lastPacket = Date.now();
  private idle: NodeJS.Timeout | undefined;
  private readonly dv = newDataView();
  private hddDone: (() => void) | undefined;
  /** Scratch arrays for a batch (reused: nothing is allocated per piece for them). */
  private readonly pieces: Buffer[] = [];
  private readonly crcs: number[] = [];
  private readonly sts: number[] = [];

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

  /** One timer per session checks for silence (a timer re-armed per packet would cost more). */
  private armIdle(): void {
    this.lastPacket = Date.now();
    if (this.idle) return;
    this.idle = setInterval(() => {
      if (Date.now() - this.lastPacket > SERV_TIMEOUT_MS) this.fail('write session timed out');
    }, SERV_TIMEOUT_MS / 5);
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
    this.lastPacket = Date.now();
    if (type === CLTOCS_WRITE_DATA) return this.data(payload, stable);
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

  private data(payload: Buffer, stable: boolean): void {
    const dv = this.dv;
    if (parseWriteData(payload, dv) !== undefined) return this.fail(`CLTOCS_WRITE_DATA - wrong size (${payload.length}/24+size)`);
    if (dv.chunkid !== this.chunkid) {
      this.conn.send(statusPacket(this.chunkid, this.last ? dv.writeid : 0, MFS_ERROR_WRONGCHUNKID));
      return void this.end(this.last);
    }
    // The packet as a whole: a 64 KiB piece arrives over several socket reads, so the framer has
    // reassembled it in its own buffer; take that buffer (it gets a pooled one back) instead of
    // copying. A packet that came whole in one read is copied into a pooled buffer.
    const pool = this.conn.bufs.writes;
    const spare = pool.take();
    let buf = stable ? undefined : this.conn.framer.adopt(spare);
    if (!buf) {
      buf = spare;
      buf.writeUInt32BE(CLTOCS_WRITE_DATA, 0);
      buf.writeUInt32BE(payload.length, 4);
      payload.copy(buf, 8);
    }
    const e: Entry = {
      writeid: dv.writeid,
      hdd: undefined,
      net: this.last ? MFS_STATUS_OK : undefined,
      buf,
      blocknum: dv.blocknum,
      offset: dv.offset,
      size: dv.size,
      crc: dv.crc,
      refs: 1,
    };
    this.entries.push(e);
    if (this.fwd) {
      e.refs++;
      this.waitNet.push(e);
      // Everything relayed while one batch of socket data is parsed leaves in one writev.
      if (!this.corked) {
        this.corked = true;
        this.fwd.cork();
        process.nextTick(this.uncork);
      }
      this.fwd.write(buf.subarray(0, 8 + payload.length), () => this.release(e));
    }
    this.pendingHdd++;
    this.diskq.push(e);
    if (this.diskq.length > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.conn.sock.pause();
    }
    this.pump();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.fwd?.uncork();
  };

  private release(e: Entry): void {
    if (--e.refs === 0) this.conn.bufs.writes.give(e.buf);
  }

  /**
   * Starts a disk batch unless one runs or is due: the pieces are picked when the chunk's turn
   * comes, so whatever arrived while the previous batch was on its way to the disk goes in this one.
   */
  private pump(): void {
    if (this.diskBusy || this.pumpQueued || this.diskq.length === 0) return;
    // After the socket data already read has been parsed (the check phase follows I/O polling):
    // a batch then takes every piece that arrived meanwhile, and fewer, larger writes go out.
    this.pumpQueued = true;
    setImmediate(this.startBatch);
  }

  private readonly startBatch = (): void => {
    this.pumpQueued = false;
    if (this.diskBusy || this.diskq.length === 0) return;
    const c = this.chunk!;
    this.diskBusy = true;
    void c
      .exclusive(() => this.writeBatch(c))
      .catch(() => {
        // Not expected (statuses are values); whatever was taken fails rather than hanging.
        for (const e of this.diskq.splice(0, MAX_BATCH)) if (e.hdd === undefined) this.settle(e, MFS_ERROR_DISCONNECTED);
      })
      .then(() => {
        this.diskBusy = false;
        if (this.paused) this.lastPacket = Date.now(); // the client is not silent: we stopped reading it
        if (this.paused && this.diskq.length < QUEUE_LOW) {
          this.paused = false;
          this.conn.sock.resume();
        }
        this.flush();
        if (this.pendingHdd === 0) this.hddDone?.();
        this.pump();
      });
  };

  /** Writes up to MAX_BATCH queued pieces: runs of whole consecutive blocks in one pwritev each. */
  private async writeBatch(c: ChunkFile): Promise<void> {
    const q = this.diskq;
    const n = Math.min(q.length, MAX_BATCH);
    let i = 0;
    while (i < n) {
      const e = q[i]!;
      if (e.offset === 0 && e.size === MFSBLOCKSIZE) {
        const pieces = this.pieces;
        const crcs = this.crcs;
        pieces.length = 0;
        crcs.length = 0;
        for (let j = i; j < n; j++) {
          const x = q[j]!;
          if (x.offset !== 0 || x.size !== MFSBLOCKSIZE || x.blocknum !== e.blocknum + (j - i)) break;
          pieces.push(x.buf.subarray(DATA_OFF, DATA_OFF + MFSBLOCKSIZE));
          crcs.push(x.crc);
        }
        const done = await c.writeBlocks(this.version, e.blocknum, pieces, crcs, this.sts);
        for (let j = 0; j < done; j++) this.settle(q[i + j]!, this.sts[j]!);
        pieces.length = 0;
        if (done > 0) {
          i += done;
          continue;
        }
      }
      // A partial block, or a piece the batch refused (its CRC, a sparse block): hdd_write as is.
      this.settle(e, await c.write(this.version, e.blocknum, e.offset, e.size, e.buf, DATA_OFF, e.crc).catch(() => MFS_ERROR_DISCONNECTED));
      i++;
    }
    q.splice(0, n);
  }

  private settle(e: Entry, st: number): void {
    e.hdd = st;
    this.release(e);
    this.pendingHdd--;
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
    if (this.idle) clearInterval(this.idle);
    if (this.paused) {
      this.paused = false;
      this.conn.sock.resume();
    }
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
