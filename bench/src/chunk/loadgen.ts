// Data-port load generator (runs inside the lab host, see chunk.ts). It gets chunks from the master
// with our client's master link (CLTOMA_FUSE_CREATE / WRITE_CHUNK / READ_CHUNK / WRITE_CHUNK_END), then
// drives the chunkserver's port directly with the @mfs-ts/protocol hot-path codecs:
//   write: CLTOCS_WRITE -> WRITE_STATUS(0), then 64 KiB CLTOCS_WRITE_DATA pieces with their CRC, up to
//          `window` unacknowledged, then CLTOCS_WRITE_FINISH (mfsclient/writedata.c does the same);
//   read:  CLTOCS_READ of `readReq` bytes, one request at a time per connection, every piece's CRC
//          checked (mfsclient/readdata.c);
//   random: `conc` connections each sending 4 KiB CLTOCS_READs at random 4 KiB-aligned offsets.
// Prints one JSON line.
import { createConnection, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { MfsCore, clientOptions } from '@mfs-ts/client';
import {
  ANTOAN_NOP,
  CSTOCL_MAXPACKETSIZE,
  CSTOCL_READ_DATA,
  CSTOCL_READ_STATUS,
  CSTOCL_WRITE_STATUS,
  MFSBLOCKSIZE,
  MFSCHUNKSIZE,
  MFS_ROOT_ID,
  PacketFramer,
  newDataView,
  parseReadData,
  putRead,
  putWriteDataHeader,
  putWriteFinish,
  putWriteInit,
  type ChainHop,
} from '@mfs-ts/protocol';
import { workerMain } from '../lib/child.js';
import { cpuSeconds } from '../lib/proc.js';
import { patternBuffer, seconds } from '../lib/report.js';

export interface LoadArgs {
  master: string;
  port: number;
  mib: number;
  window: number;
  readReq: number;
  randOps: number;
  randConc: number;
  randMaxSec: number;
  /** The chunkserver's pid (same pid namespace): its CPU time is read around each phase. */
  csPid?: number;
  /** Only the write phase (for profiling); default: every phase. */
  writeOnly?: boolean;
}

export interface Timed {
  bytes: number;
  ops: number;
  sec: number;
  /** CPU seconds (user + system, all threads) the chunkserver used during the phase. */
  csCpu?: number;
}

/** Runs a phase and adds the chunkserver's CPU seconds over it. */
async function withCpu<T extends Timed>(pid: number | undefined, f: () => Promise<T>): Promise<T> {
  const c0 = cpuSeconds(pid);
  const r = await f();
  const c1 = cpuSeconds(pid);
  if (c0 !== undefined && c1 !== undefined) r.csCpu = c1 - c0;
  return r;
}

/** A phase's figures, or why it failed (a failed read phase does not void the write figures). */
export type PhaseResult<T> = T | { error: string };

export interface LoadResult {
  /** Seconds the master refused to create a first chunk (before the timed part). */
  readyWaitSec: number;
  write: Timed;
  read: PhaseResult<Timed>;
  rand: PhaseResult<Timed & { p50us: number; p99us: number }>;
  /** The same on one connection, a quarter of the operations. */
  rand1: PhaseResult<Timed & { p50us: number; p99us: number }>;
}

async function attempt<T>(f: () => Promise<T>): Promise<PhaseResult<T>> {
  try {
    return await f();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

type OnPacket = (type: number, payload: Buffer) => void;

/** One data-port connection: a framer and the handler of the operation in progress. */
class DataConn {
  private framer = new PacketFramer(CSTOCL_MAXPACKETSIZE);
  handler: OnPacket | undefined;
  failure: ((e: Error) => void) | undefined;

  private constructor(readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      const err = this.framer.push(b, (type, payload) => {
        if (type === ANTOAN_NOP) return;
        this.handler?.(type, payload);
      });
      if (err) this.fail(new Error(`bad packet from the chunkserver: ${err.message}`));
    });
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('chunkserver closed the connection')));
  }

  fail(e: Error): void {
    const f = this.failure;
    this.failure = undefined;
    f?.(e);
  }

  static open(ip: string, port: number): Promise<DataConn> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: ip, port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new DataConn(s));
      });
      s.once('error', reject);
    });
  }

  /** Installs handlers for one operation; resolves/rejects through `run`. */
  op<T>(run: (done: (v: T) => void, fail: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (e: Error): void => {
        this.handler = undefined;
        this.failure = undefined;
        reject(e);
      };
      this.failure = fail;
      run((v) => {
        this.handler = undefined;
        this.failure = undefined;
        resolve(v);
      }, fail);
    });
  }

  close(): void {
    this.failure = undefined;
    this.sock.destroy();
  }
}

function ipStr(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

const pool = patternBuffer(4 * 1024 * 1024, 7);
const hdrBuf = Buffer.allocUnsafe(64 * 1024);

/** Writes `blocks` whole 64 KiB blocks at the start of a chunk through one data connection. */
async function writeChunkData(c: DataConn, chunkid: number, version: number, chain: ChainHop[], blocks: number, window: number, salt: number): Promise<void> {
  await c.op<void>((done, fail) => {
    let sent = 0;
    let acked = 0;
    let ready = false;
    let hp = 0; // next free slot in hdrBuf (headers stay valid until written)
    const pump = (): void => {
      c.sock.cork();
      while (ready && sent < blocks && sent - acked < window) {
        const b = sent++;
        const off = ((b * 7919 + salt * 104729) % 63) * MFSBLOCKSIZE; // a different 64 KiB slice of the pool each time
        const piece = pool.subarray(off, off + MFSBLOCKSIZE);
        if (hp + 32 > hdrBuf.length) hp = 0;
        const end = putWriteDataHeader(hdrBuf, hp, chunkid, b + 1, b, 0, MFSBLOCKSIZE, crc32(piece));
        c.sock.write(hdrBuf.subarray(hp, end));
        c.sock.write(piece);
        hp = end;
      }
      c.sock.uncork();
    };
    c.handler = (type, p) => {
      if (type !== CSTOCL_WRITE_STATUS || p.length !== 13) return fail(new Error(`unexpected packet ${type} (${p.length} bytes) during write (${acked} of ${blocks} acknowledged)`));
      const writeid = p.readUInt32BE(8);
      const st = p[12]!;
      if (st !== 0) return fail(new Error(`write status ${st} (writeid ${writeid})`));
      if (writeid === 0) ready = true;
      else acked++;
      if (acked === blocks) {
        c.handler = undefined;
        const n = putWriteFinish(hdrBuf, 0, chunkid, version);
        c.sock.write(Buffer.from(hdrBuf.subarray(0, n)));
        return done();
      }
      pump();
    };
    const n = putWriteInit(hdrBuf, 0, chunkid, version, chain, 0);
    c.sock.write(Buffer.from(hdrBuf.subarray(0, n)));
    hp = 4096;
  });
}

const view = newDataView();
const reqBuf = Buffer.allocUnsafe(64);

/** One CLTOCS_READ; resolves with the bytes received (every piece's CRC checked). */
function readRange(c: DataConn, chunkid: number, version: number, offset: number, size: number): Promise<number> {
  return c.op<number>((done, fail) => {
    let got = 0;
    c.handler = (type, p) => {
      if (type === CSTOCL_READ_DATA) {
        const e = parseReadData(p, view);
        if (e) return fail(new Error(`bad READ_DATA: ${e}`));
        if (crc32(view.data) !== view.crc) return fail(new Error(`crc mismatch at block ${view.blocknum}`));
        got += view.size;
      } else if (type === CSTOCL_READ_STATUS) {
        const st = p[8]!;
        if (st !== 0) return fail(new Error(`read status ${st}`));
        if (got !== size) return fail(new Error(`read ${got} of ${size} bytes`));
        done(got);
      } else fail(new Error(`unexpected packet ${type} during read`));
    };
    c.sock.write(reqBuf.subarray(0, putRead(reqBuf, 0, chunkid, version, offset, size)));
  });
}

/**
 * Asks the master for a first chunk until it gives one (a master can refuse chunk creation for a
 * moment after a chunkserver registers); returns how long that took. Not part of any timing.
 */
async function waitWritable(core: MfsCore, creds: { uid: number; gids: number[] }): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { inode } = await core.fs.create(MFS_ROOT_ID, Buffer.from(`bench-probe-${process.pid}`), 0o644, 0, creds);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const info = await core.fs.writeChunk(inode, 0);
      await core.fs.writeChunkEnd(info.chunkid, inode, 0, 0);
      return seconds(t0);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`master still refuses chunk creation after 20 s: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function main(a: LoadArgs): Promise<LoadResult> {
  const core = await MfsCore.connect(clientOptions({ host: a.master, port: a.port, info: 'mfs-ts bench loadgen' }));
  const creds = { uid: 0, gids: [0] };
  try {
    const readyWaitSec = await waitWritable(core, creds);
    const { inode } = await core.fs.create(MFS_ROOT_ID, Buffer.from(`bench-${process.pid}-${Date.now()}`), 0o644, 0, creds);
    const total = Math.max(1, Math.round(a.mib)) * 1024 * 1024;
    const nChunks = Math.ceil(total / MFSCHUNKSIZE);
    const chunks: ChunkRef[] = [];

    // ---- sequential write ----
    const write = await withCpu(a.csPid, async (): Promise<Timed> => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < nChunks; i++) {
        const blocks = Math.min(MFSCHUNKSIZE, total - i * MFSCHUNKSIZE) / MFSBLOCKSIZE;
        const info = await core.fs.writeChunk(inode, i);
        const s0 = info.servers[0];
        if (!s0) throw new Error(`master gave no chunkserver for chunk ${i}`);
        const conn = await DataConn.open(ipStr(s0.ip), s0.port);
        try {
          await writeChunkData(conn, info.chunkid, info.version, info.servers.map((s) => ({ ip: s.ip, port: s.port })), blocks, a.window, i).catch((e: Error) => {
            throw new Error(`write of chunk ${i}: ${e.message}`);
          });
        } finally {
          conn.close();
        }
        await core.fs.writeChunkEnd(info.chunkid, inode, i, i * MFSCHUNKSIZE + blocks * MFSBLOCKSIZE);
        chunks.push({ id: info.chunkid, version: info.version, ip: ipStr(s0.ip), port: s0.port, blocks });
      }
      return { bytes: total, ops: total / MFSBLOCKSIZE, sec: seconds(t0) };
    });
    if (a.writeOnly) return { readyWaitSec, write, read: { error: 'skipped' }, rand: { error: 'skipped' }, rand1: { error: 'skipped' } };

    // ---- sequential read ----
    const read = await attempt(() => withCpu(a.csPid, () => seqRead(core, inode, chunks, a)));
    // ---- random 4 KiB reads ----
    const rand = await attempt(() => withCpu(a.csPid, () => randRead(chunks, a)));
    const rand1 = await attempt(() => randRead(chunks, { ...a, randConc: 1, randOps: Math.ceil(a.randOps / 4) }));
    return { readyWaitSec, write, read, rand, rand1 };
  } finally {
    await core.close().catch(() => undefined);
  }
}

type ChunkRef = { id: number; version: number; ip: string; port: number; blocks: number };

async function seqRead(core: MfsCore, inode: number, chunks: ChunkRef[], a: LoadArgs): Promise<Timed> {
  const nChunks = chunks.length;
  const t0 = process.hrtime.bigint();
  let readBytes = 0;
  let readOps = 0;
  for (let i = 0; i < nChunks; i++) {
    const info = await core.fs.readChunk(inode, i);
    const s0 = info.servers[0];
    if (!s0) throw new Error(`master gave no chunkserver for chunk ${i} (read)`);
    const conn = await DataConn.open(ipStr(s0.ip), s0.port);
    try {
      const len = chunks[i]!.blocks * MFSBLOCKSIZE;
      for (let off = 0; off < len; off += a.readReq) {
        readBytes += await readRange(conn, info.chunkid, info.version, off, Math.min(a.readReq, len - off)).catch((e: Error) => {
          throw new Error(`read of chunk ${i} at ${off}: ${e.message}`);
        });
        readOps++;
      }
    } finally {
      conn.close();
    }
  }
  return { bytes: readBytes, ops: readOps, sec: seconds(t0) };
}

async function randRead(chunks: ChunkRef[], a: LoadArgs): Promise<Timed & { p50us: number; p99us: number }> {
  const lat: number[] = [];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const conns = await Promise.all(Array.from({ length: a.randConc }, (_, k) => DataConn.open(chunks[k % chunks.length]!.ip, chunks[k % chunks.length]!.port)));
  const deadline = Date.now() + a.randMaxSec * 1000;
  let issued = 0;
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      conns.map(async (c) => {
        while (issued < a.randOps && Date.now() < deadline) {
          issued++;
          const ch = chunks[rnd(chunks.length)]!;
          const off = rnd((ch.blocks * MFSBLOCKSIZE) / 4096) * 4096;
          const s = process.hrtime.bigint();
          await readRange(c, ch.id, ch.version, off, 4096).catch((e: Error) => {
            throw new Error(`random read after ${lat.length} ops: ${e.message}`);
          });
          lat.push(Number(process.hrtime.bigint() - s) / 1000);
        }
      }),
    );
  } finally {
    for (const c of conns) c.close();
  }
  const rsec = seconds(t0);
  lat.sort((x, y) => x - y);
  return { bytes: lat.length * 4096, ops: lat.length, sec: rsec, p50us: lat[Math.floor(lat.length / 2)] ?? 0, p99us: lat[Math.floor(lat.length * 0.99)] ?? 0 };
}

workerMain(main as (a: never) => Promise<unknown>);
