import type { Logger } from '@mfs-ts/common';
import {
  CSTOCL_WRITE_STATUS,
  MFSBLOCKSIZE,
  MFSCHUNKSIZE,
  MFS_ERROR_CHUNKLOST,
  MFS_ERROR_ENOENT,
  MFS_ERROR_EPERM,
  MFS_ERROR_INDEXTOOBIG,
  MFS_ERROR_IO,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_NOCHUNKSERVERS,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_QUOTA,
  MFS_ERROR_EROFS,
  MFS_STATUS_OK,
  WRITE_DATA_HEADER_SIZE,
  crc32,
  decodeCsWriteStatus,
  encodeCsWrite,
  encodeCsWriteFinish,
  mfsStrerror,
  putWriteDataHeader,
} from './proto.js';
import { StatusError } from './errors.js';
import type { ChunkInfo, FsOps } from './fsops.js';
import type { CsConn, CsPacketHandler, CsPool } from './csconn.js';
import type { CsWriteWorker, WorkerLink } from './csworker.js';
import { retryDelayMs } from './mastercomm.js';

/**
 * Write-back of file data (mfsclient/writedata.c). Writes are copied into 64 KiB block buffers per
 * chunk. A chunk with dirty blocks gets a write session, as mfsmount's write worker does:
 * WRITE_CHUNK to the master (which locks the chunk and returns the chain of chunkservers),
 * CLTOCS_WRITE with the rest of the chain to the first server, its status for writeid 0, then
 * CLTOCS_WRITE_DATA pieces (each with its crc32; header and data go out as two buffers, never copied
 * into a packet) for as long as new data keeps arriving for that chunk, each acknowledged by a
 * CSTOCL_WRITE_STATUS; when the chunk has nothing more to send and every piece is acknowledged:
 * CLTOCS_WRITE_FINISH, and WRITE_CHUNK_END with the new file length to the master. On a failure the
 * chunk is unlocked (WRITE_CHUNK_END with the old length), unacknowledged blocks go back to the dirty
 * set (under any newer data) and the session starts again, up to mfsioretries times; the error is
 * kept and reported by the next write, flush or close of the file.
 */

const CS_ACTIVITY_TIMEOUT_MS = 5000;
/** Bytes sent and not yet acknowledged, per chunk session (the C client caps pieces in flight too). */
const WINDOW_BYTES = 16 * 1024 * 1024;
/** New data of a running session is sent once this much has gathered (or after SEND_DELAY_MS). */
const SEND_BATCH = 4 * 1024 * 1024;
const SEND_DELAY_MS = 2;
/** Statuses from WRITE_CHUNK that retrying cannot fix. */
const FATAL_WRITE_STATUSES = new Set([MFS_ERROR_ENOENT, MFS_ERROR_EPERM, MFS_ERROR_NOCHUNK, MFS_ERROR_INDEXTOOBIG, MFS_ERROR_QUOTA, MFS_ERROR_EROFS, MFS_ERROR_IO]);

/** Dirty bytes of one 64 KiB block: disjoint sorted [from,to) ranges over `data`. */
interface Block {
  /** A 64 KiB view into shared block memory (slab `slab`, at `off`), readable by the write worker. */
  data: Buffer;
  slab: number;
  off: number;
  ranges: Array<[number, number]>;
  /** Pieces of this block sent and not yet acknowledged (the buffer is reused once all are). */
  out: number;
}

type DirtyChunk = Map<number, Block>;

class FileWrites {
  /** Chunk index -> block number -> block: data not yet taken by a session. */
  chunks = new Map<number, DirtyChunk>();
  /** Bytes in `chunks`. */
  dirty = 0;
  /** Highest offset written (the length the file has once everything is flushed). */
  maxEnd = 0;
  /** Running write sessions by chunk index. */
  sessions = new Map<number, Promise<void>>();
  /** Running sessions waiting for more data, by chunk index: new data wakes them. */
  idle = new Map<number, () => void>();
  /** Wakes the idle sessions of a batch that is not full yet. */
  sendTimer: NodeJS.Timeout | undefined;
  error: StatusError | undefined;
}

function rangeBytes(ranges: Array<[number, number]>): number {
  let n = 0;
  for (const [a, b] of ranges) n += b - a;
  return n;
}

function chunkBytes(c: DirtyChunk): number {
  let n = 0;
  for (const b of c.values()) n += rangeBytes(b.ranges);
  return n;
}

/** Adds [from,to) to sorted disjoint ranges; returns how many bytes became newly dirty. */
function addRange(ranges: Array<[number, number]>, from: number, to: number): number {
  const before = rangeBytes(ranges);
  ranges.push([from, to]);
  ranges.sort((x, y) => x[0] - y[0]);
  let w = 0;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    const last = w > 0 ? ranges[w - 1]! : undefined;
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else ranges[w++] = [r[0], r[1]];
  }
  ranges.length = w;
  return rangeBytes(ranges) - before;
}

/** Lays `newer`'s dirty bytes over `older` (which is changed and returned). */
function overlay(older: Block, newer: Block): Block {
  for (const [a, b] of newer.ranges) {
    newer.data.copy(older.data, a, a, b);
    addRange(older.ranges, a, b);
  }
  return older;
}

interface Piece {
  bno: number;
  from: number;
  to: number;
  block: Block;
}

/** Block memory comes in shared slabs of this many 64 KiB blocks, kept for reuse once allocated. */
const SLAB_BLOCKS = 64;

/** What a write session needs from its chunkserver connection, in this thread or the worker's. */
interface WriteLink {
  readonly key: string;
  use(onPacket: CsPacketHandler, onEnd: (reason: string) => void): void;
  write(b: Buffer): void;
  /** Sends the pieces as CLTOCS_WRITE_DATA with writeids first, first+1, ... */
  send(chunkid: number, pieces: readonly Piece[], first: number): void;
  fail(reason: string): void;
  done(): void;
}

/** The connection in this thread: crc32 and socket writes here (no worker). */
function localLink(conn: CsConn, pool: CsPool): WriteLink {
  return {
    key: conn.key,
    use: (a, b) => conn.use(a, b),
    write: (b) => conn.write(b),
    fail: (r) => conn.fail(r),
    done: () => pool.put(conn),
    send(chunkid, pieces, first) {
      const heads = Buffer.allocUnsafe(WRITE_DATA_HEADER_SIZE * pieces.length);
      conn.sock.cork();
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i]!;
        const view = p.block.data.subarray(p.from, p.to);
        const h = heads.subarray(i * WRITE_DATA_HEADER_SIZE, (i + 1) * WRITE_DATA_HEADER_SIZE);
        putWriteDataHeader(h, 0, chunkid, first + i, p.bno, p.from, p.to - p.from, crc32(view));
        conn.write(h);
        conn.write(view);
      }
      process.nextTick(() => conn.sock.uncork());
    },
  };
}

/** The connection in the write worker: pieces go over as references into the shared slabs. */
function workerLink(l: WorkerLink): WriteLink {
  return {
    key: l.key,
    use: (a, b) => l.use(a, b),
    write: (b) => l.write(b),
    fail: (r) => l.fail(r),
    done: () => l.done(),
    send(chunkid, pieces, first) {
      const list = new Float64Array(pieces.length * 6);
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i]!;
        list.set([first + i, p.bno, p.from, p.to, p.block.slab, p.block.off], i * 6);
      }
      l.pieces(chunkid, list);
    },
  };
}

export class WriteCache {
  private files = new Map<number, FileWrites>();
  private total = 0;
  /** Free blocks (views into the slabs). */
  private blockPool: Block[] = [];
  private slabCount = 0;
  private roomWaiters: Array<() => void> = [];
  /** Dirty bytes of one file that start writing in the background. */
  private readonly flushAt: number;
  /** Dirty bytes of a chunk that a running session sends at once. */
  private readonly sendBatch: number;

  constructor(
    readonly fs: FsOps,
    readonly pool: CsPool,
    readonly limit: number,
    readonly ioRetries: number,
    readonly log: Logger,
    /** Called after the master took a new length or new chunk for the inode (WRITE_CHUNK_END). */
    readonly onChunkEnd: (inode: number) => void = () => undefined,
    /** Makes the worker thread for chunkserver connections, at the first write session (else they stay in this thread). */
    private readonly newWorker?: () => CsWriteWorker,
  ) {
    this.flushAt = Math.max(MFSBLOCKSIZE, Math.min(limit / 4, 4 * 1024 * 1024));
    this.sendBatch = Math.max(MFSBLOCKSIZE, Math.min(limit / 8, SEND_BATCH));
  }

  private worker: CsWriteWorker | undefined;
  private slabs: SharedArrayBuffer[] = [];

  /** The write worker, started on first use and told about the block memory so far. */
  private writeWorker(): CsWriteWorker | undefined {
    if (!this.worker && this.newWorker) {
      this.worker = this.newWorker();
      this.slabs.forEach((sab, id) => this.worker!.addSlab(id, sab));
    }
    return this.worker;
  }

  /** Ends the write worker, if one was started (after the last flush). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private newBlock(): Block {
    const b = this.blockPool.pop();
    if (b) {
      b.ranges = [];
      b.out = 0;
      return b;
    }
    const id = this.slabCount++;
    const sab = new SharedArrayBuffer(SLAB_BLOCKS * MFSBLOCKSIZE);
    this.slabs.push(sab);
    this.worker?.addSlab(id, sab);
    for (let i = 1; i < SLAB_BLOCKS; i++) this.blockPool.push({ data: Buffer.from(sab, i * MFSBLOCKSIZE, MFSBLOCKSIZE), slab: id, off: i * MFSBLOCKSIZE, ranges: [], out: 0 });
    return { data: Buffer.from(sab, 0, MFSBLOCKSIZE), slab: id, off: 0, ranges: [], out: 0 };
  }

  private freeBlock(b: Block): void {
    this.blockPool.push(b);
  }

  private file(inode: number): FileWrites {
    let f = this.files.get(inode);
    if (!f) this.files.set(inode, (f = new FileWrites()));
    return f;
  }

  /** The file length including data not yet flushed (write_data_getmaxfleng); 0 if none. */
  maxLength(inode: number): number {
    return this.files.get(inode)?.maxEnd ?? 0;
  }

  /** Nothing cached, in flight or failed for the inode: a flush would do nothing. */
  idle(inode: number): boolean {
    return !this.files.has(inode);
  }

  hasDirty(inode: number): boolean {
    const f = this.files.get(inode);
    return f !== undefined && (f.dirty > 0 || f.sessions.size > 0);
  }

  private takeError(f: FileWrites): void {
    if (f.error) {
      const e = f.error;
      f.error = undefined;
      throw e;
    }
  }

  /** Copies `data` into the cache; waits for the chunkservers when the cache is full. */
  async write(inode: number, offset: number, data: Uint8Array): Promise<void> {
    const f = this.file(inode);
    this.takeError(f);
    if (offset + data.length > MFSCHUNKSIZE * 2 ** 31) throw new StatusError(MFS_ERROR_INDEXTOOBIG, 'write');
    let pos = 0;
    while (pos < data.length) {
      const abs = offset + pos;
      const indx = Math.floor(abs / MFSCHUNKSIZE);
      const inChunk = abs - indx * MFSCHUNKSIZE;
      const bno = Math.floor(inChunk / MFSBLOCKSIZE);
      const boff = inChunk - bno * MFSBLOCKSIZE;
      const n = Math.min(data.length - pos, MFSBLOCKSIZE - boff);
      let ch = f.chunks.get(indx);
      if (!ch) f.chunks.set(indx, (ch = new Map()));
      let b = ch.get(bno);
      if (!b) ch.set(bno, (b = this.newBlock()));
      b.data.set(data.subarray(pos, pos + n), boff);
      const added = addRange(b.ranges, boff, boff + n);
      f.dirty += added;
      this.total += added;
      pos += n;
    }
    f.maxEnd = Math.max(f.maxEnd, offset + data.length);
    if (f.dirty >= this.flushAt) this.kick(inode, f);
    // A session of this chunk that has sent everything it had takes the new data on the next turn of
    // the event loop: after this write has been answered, so the CRC and socket work overlaps the
    // kernel's round trip to the next request instead of delaying its answer.
    // Data goes out in batches of SEND_BATCH (each socket write wakes the chunkserver, which on a
    // busy machine takes the CPU from us); a write that does not complete a batch is sent within
    // SEND_DELAY_MS unless one does.
    if (f.idle.size > 0) {
      const end = offset + data.length;
      const w = f.idle.get(Math.floor((end - 1) / MFSCHUNKSIZE)) ?? f.idle.get(Math.floor(offset / MFSCHUNKSIZE));
      if (w) {
        const batch = this.sendBatch;
        if (Math.floor(end / batch) !== Math.floor(offset / batch) || end % batch === 0) setImmediate(w);
        else
          f.sendTimer ??= setTimeout(() => {
            f.sendTimer = undefined;
            for (const x of f.idle.values()) x();
          }, SEND_DELAY_MS);
      }
    }
    // Cache full: write out everything and wait until a quarter of it has gone.
    while (this.total > this.limit) {
      for (const [i, g] of this.files) this.kick(i, g);
      await new Promise<void>((r) => this.roomWaiters.push(r));
      this.takeError(f);
    }
  }

  /** Called whenever cached bytes were written out or dropped. */
  private freed(): void {
    if (this.roomWaiters.length === 0 || this.total > (this.limit * 3) / 4) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  /** Starts a session for every dirty chunk of the file that has none running. */
  private kick(inode: number, f: FileWrites): void {
    // Sessions waiting for a batch to fill send what they have now (a flush, or the cache is full).
    for (const w of f.idle.values()) w();
    for (const indx of f.chunks.keys()) {
      if (f.sessions.has(indx)) continue;
      const s = this.session(inode, indx, f).finally(() => {
        if (f.sessions.get(indx) === s) f.sessions.delete(indx);
      });
      f.sessions.set(indx, s);
    }
  }

  /** Writes everything dirty of the file to the chunkservers; rejects with the first error. */
  async flush(inode: number): Promise<void> {
    const f = this.files.get(inode);
    if (!f) return;
    for (;;) {
      this.kick(inode, f);
      if (f.sessions.size === 0) break;
      await Promise.all([...f.sessions.values()]);
      if (f.error) break;
    }
    if (this.files.get(inode) === f && f.dirty === 0 && f.sessions.size === 0 && !f.error) this.files.delete(inode);
    this.takeError(f);
  }

  /** Before a truncate: flush, then the length no longer includes what was beyond. */
  async truncated(inode: number, length: number): Promise<void> {
    await this.flush(inode);
    const f = this.files.get(inode);
    if (f) f.maxEnd = Math.min(f.maxEnd, length);
  }

  async flushAll(): Promise<void> {
    const errs: unknown[] = [];
    await Promise.all([...this.files.keys()].map((i) => this.flush(i).catch((e: unknown) => errs.push(e))));
    if (errs.length > 0) throw errs[0];
  }

  /** One chunk's write session, with retries (write_worker). */
  private async session(inode: number, indx: number, f: FileWrites): Promise<void> {
    let lastErr = '';
    const retries = Math.max(1, this.ioRetries);
    // Highest file offset acknowledged by the chunkservers, over every attempt (mfleng in writedata.c).
    const hw = { maxEnd: 0 };
    // NOSPACE is retried like any passing trouble (a restarted master answers it until its
    // chunkservers are stable again); it becomes ENOSPC only when the retries run out, as in
    // writedata.c without mfserroronnospace.
    let noSpace: StatusError | undefined;
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (!f.chunks.has(indx)) return;
      let info: ChunkInfo;
      try {
        info = await this.fs.writeChunk(inode, indx, 0);
      } catch (e) {
        lastErr = (e as Error).message;
        if (e instanceof StatusError && FATAL_WRITE_STATUSES.has(e.status)) return this.giveUp(f, indx, e);
        noSpace = e instanceof StatusError && (e.status === MFS_ERROR_NOSPACE || e.status === MFS_ERROR_NOCHUNKSERVERS) ? e : undefined;
        this.log.warn({ inode, indx, attempt, err: lastErr }, 'write chunk refused by the master');
        await sleep(retryDelayMs(attempt));
        continue;
      }
      const sent: Piece[] = [];
      const acked = new Set<number>();
      try {
        if (info.servers.length === 0) throw new StatusError(MFS_ERROR_CHUNKLOST, 'write: there are no valid copies');
        await this.stream(info, indx, f, sent, acked, hw);
        await this.fs.writeChunkEnd(info.chunkid, inode, indx, Math.max(info.length, hw.maxEnd), 0);
        this.onChunkEnd(inode);
        return;
      } catch (e) {
        lastErr = (e as Error).message;
        this.log.warn({ inode, indx, chunkid: info.chunkid, attempt, err: lastErr }, 'chunk write failed');
        this.putBack(f, indx, sent, acked);
        // Unlock the chunk on the master, with the length of what was acknowledged.
        await this.fs.writeChunkEnd(info.chunkid, inode, indx, Math.max(info.length, hw.maxEnd), 0).catch(() => undefined);
        noSpace = e instanceof StatusError && e.status === MFS_ERROR_NOSPACE ? e : undefined;
        await sleep(retryDelayMs(attempt));
      }
    }
    this.giveUp(f, indx, noSpace ?? new StatusError(MFS_ERROR_IO, `write: inode ${inode} chunk ${indx}: ${lastErr}`));
  }

  /** Drops the chunk's dirty data and records the error for the file. */
  private giveUp(f: FileWrites, indx: number, e: StatusError): void {
    const c = f.chunks.get(indx);
    if (c) {
      const n = chunkBytes(c);
      f.dirty -= n;
      this.total -= n;
      f.chunks.delete(indx);
    }
    f.error ??= e;
    // Writers waiting for room must see the error too.
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  /** After a failed session: every block with an unacknowledged piece goes back, under newer data. */
  private putBack(f: FileWrites, indx: number, sent: Piece[], acked: Set<number>): void {
    const back = new Map<number, Block>();
    const seen = new Set<Block>();
    let unacked = 0;
    for (let i = 0; i < sent.length; i++) {
      const p = sent[i]!;
      if (acked.has(i + 1)) continue;
      unacked += p.to - p.from;
      if (seen.has(p.block)) continue;
      seen.add(p.block);
      const prev = back.get(p.bno);
      back.set(p.bno, prev ? overlay(prev, p.block) : p.block);
    }
    this.total -= unacked;
    const cur = f.chunks.get(indx);
    const curBytes = cur ? chunkBytes(cur) : 0;
    if (cur) for (const [bno, b] of cur) back.set(bno, back.has(bno) ? overlay(back.get(bno)!, b) : b);
    if (back.size === 0) return;
    // The failed session's late acknowledgements are ignored: these blocks are no longer in flight.
    for (const b of back.values()) b.out = 0;
    f.chunks.set(indx, back);
    const n = chunkBytes(back);
    f.dirty += n - curBytes;
    this.total += n - curBytes;
    this.freed();
  }

  /**
   * The chained write on one connection: sends the chunk's dirty blocks as they come (taking them
   * out of the dirty set), until nothing is left and everything is acknowledged. Returns the highest
   * file offset acknowledged.
   */
  private async stream(info: ChunkInfo, indx: number, f: FileWrites, sent: Piece[], acked: Set<number>, hw: { maxEnd: number }): Promise<number> {
    const first = info.servers[0]!;
    const chain = info.servers.slice(1).map((s) => ({ ip: s.ip, port: s.port }));
    const worker = this.writeWorker();
    const conn: WriteLink = worker ? workerLink(await worker.open(first.ip, first.port)) : localLink(await this.pool.get(first.ip, first.port), this.pool);
    const chunkid = info.chunkid;
    let maxEnd = 0;
    let inflight = 0;
    let windowFull = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const progress = () => new Promise<void>((r) => (wake = r));
    let started = false;
    // One timer for the session, pushed back by every packet (refresh: no new timer per ack).
    const timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
    function onTimeout(): void {
      conn.fail(`write to ${conn.key}: timed out`);
    }
    const fail = (e: Error) => {
      failure ??= e;
      notify();
    };
    conn.use(
      (type, payload) => {
        // After the first error nothing more counts (writedata.c leaves its loop there): what was
        // not acknowledged by then is sent again.
        if (failure) return;
        timer.refresh();
        if (type !== CSTOCL_WRITE_STATUS) return fail(new Error(`${conn.key}: unexpected packet ${type} during write`));
        const r = decodeCsWriteStatus(payload);
        if (!r.ok || r.value.chunkid !== chunkid) return fail(new Error(`${conn.key}: malformed WRITE_STATUS`));
        const { writeid, status } = r.value;
        if (status !== MFS_STATUS_OK) {
          return fail(status === MFS_ERROR_NOSPACE ? new StatusError(status, 'write') : new Error(`${conn.key}: write error: ${mfsStrerror(status)}`));
        }
        if (writeid === 0) {
          if (started) return fail(new Error(`${conn.key}: second chain status`));
          started = true;
          return notify();
        }
        const p = sent[writeid - 1];
        if (!started || !p || acked.has(writeid)) return fail(new Error(`${conn.key}: got unexpected status (writeid:${writeid})`));
        acked.add(writeid);
        // The chunkserver has every byte of a block once all its pieces are acknowledged: reuse the
        // buffer at once (a long session would otherwise allocate a new one for every block).
        if (--p.block.out === 0) this.freeBlock(p.block);
        const size = p.to - p.from;
        inflight -= size;
        this.total -= size;
        this.freed();
        maxEnd = Math.max(maxEnd, indx * MFSCHUNKSIZE + p.bno * MFSBLOCKSIZE + p.to);
        hw.maxEnd = Math.max(hw.maxEnd, maxEnd);
        // Wake the sender when this ack opens a full window or ends the session; new data wakes it
        // by itself (write() above).
        if (windowFull ? inflight < WINDOW_BYTES : inflight === 0) notify();
      },
      (reason) => fail(new Error(reason)),
    );
    try {
      conn.write(encodeCsWrite(chunkid, info.version, chain));
      while (!started && !failure) await progress();
      for (;;) {
        if (failure) throw failure;
        const blocks = f.chunks.get(indx);
        if (blocks && inflight < WINDOW_BYTES) {
          f.chunks.delete(indx);
          f.dirty -= chunkBytes(blocks);
          this.send(conn, chunkid, blocks, sent, (n) => (inflight += n));
          continue;
        }
        if (!blocks && inflight === 0) break;
        windowFull = blocks !== undefined;
        if (!windowFull) f.idle.set(indx, notify);
        await progress();
        if (f.idle.get(indx) === notify) f.idle.delete(indx);
      }
    } catch (e) {
      if (f.idle.get(indx) === notify) f.idle.delete(indx);
      clearTimeout(timer);
      conn.fail((e as Error).message);
      throw e;
    }
    clearTimeout(timer);
    conn.write(encodeCsWriteFinish(chunkid, info.version));
    conn.done();
    return maxEnd;
  }

  private send(conn: WriteLink, chunkid: number, blocks: DirtyChunk, sent: Piece[], add: (n: number) => void): void {
    const pieces: Piece[] = [];
    for (const bno of [...blocks.keys()].sort((a, b) => a - b)) {
      const b = blocks.get(bno)!;
      for (const [from, to] of b.ranges) pieces.push({ bno, from, to, block: b });
      b.out += b.ranges.length;
    }
    const first = sent.length + 1;
    let n = 0;
    for (const p of pieces) {
      sent.push(p);
      n += p.to - p.from;
    }
    conn.send(chunkid, pieces, first);
    add(n);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
