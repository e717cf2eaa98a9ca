import { crc32 } from 'node:zlib';
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
  MFS_ERROR_NOSPACE,
  MFS_ERROR_QUOTA,
  MFS_ERROR_EROFS,
  MFS_STATUS_OK,
  WRITE_DATA_HEADER_SIZE,
  decodeCsWriteStatus,
  encodeCsWrite,
  encodeCsWriteFinish,
  mfsStrerror,
  putWriteDataHeader,
} from './proto.js';
import { StatusError } from './errors.js';
import type { ChunkInfo, FsOps } from './fsops.js';
import type { CsPool } from './csconn.js';
import { retryDelayMs } from './mastercomm.js';

/**
 * Write-back of file data (mfsclient/writedata.c). Writes are copied into 64 KiB block buffers per
 * chunk; a flush takes the dirty chunks of a file and, for each: WRITE_CHUNK to the master (which
 * locks the chunk and returns the chain of chunkservers), CLTOCS_WRITE with the rest of the chain to
 * the first server, waits for its status for writeid 0, streams CLTOCS_WRITE_DATA pieces (each with
 * its crc32, header and data written as two buffers, never copied into a packet), waits for every
 * piece's CSTOCL_WRITE_STATUS, sends CLTOCS_WRITE_FINISH and then WRITE_CHUNK_END with the new file
 * length to the master. A failed chunk is unlocked (WRITE_CHUNK_END with the old length) and tried
 * again up to mfsioretries times; the error is kept and reported by the next write/flush/close.
 */

const CS_ACTIVITY_TIMEOUT_MS = 5000;
/** Statuses from WRITE_CHUNK that retrying cannot fix. */
const FATAL_WRITE_STATUSES = new Set([MFS_ERROR_ENOENT, MFS_ERROR_EPERM, MFS_ERROR_NOCHUNK, MFS_ERROR_INDEXTOOBIG, MFS_ERROR_QUOTA, MFS_ERROR_EROFS]);

/** Dirty bytes of one 64 KiB block: disjoint sorted [from,to) ranges over `data`. */
interface Block {
  data: Buffer;
  ranges: Array<[number, number]>;
}

type DirtyChunk = Map<number, Block>;

class FileWrites {
  /** Chunk index -> block number -> block. */
  chunks = new Map<number, DirtyChunk>();
  dirty = 0;
  /** Highest offset written and not yet known to the master. */
  maxEnd = 0;
  /** The flush in progress (flushes of a file run one after another). */
  chain: Promise<void> = Promise.resolve();
  error: StatusError | undefined;
  pendingFlush = false;
}

function addRange(ranges: Array<[number, number]>, from: number, to: number): number {
  // Returns how many bytes became newly dirty.
  let before = 0;
  for (const [a, b] of ranges) before += b - a;
  ranges.push([from, to]);
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  ranges.length = 0;
  let after = 0;
  for (const r of merged) {
    ranges.push(r);
    after += r[1] - r[0];
  }
  return after - before;
}

export class WriteCache {
  private files = new Map<number, FileWrites>();
  private total = 0;
  /** Dirty bytes of one file that start a background flush. */
  private readonly flushAt: number;

  constructor(
    readonly fs: FsOps,
    readonly pool: CsPool,
    readonly limit: number,
    readonly ioRetries: number,
    readonly log: Logger,
  ) {
    this.flushAt = Math.max(MFSBLOCKSIZE, Math.min(limit / 2, 16 * 1024 * 1024));
  }

  private file(inode: number): FileWrites {
    let f = this.files.get(inode);
    if (!f) this.files.set(inode, (f = new FileWrites()));
    return f;
  }

  /** The file length including data not yet flushed (write_data_getmaxfleng). */
  maxLength(inode: number): number {
    return this.files.get(inode)?.maxEnd ?? 0;
  }

  hasDirty(inode: number): boolean {
    const f = this.files.get(inode);
    return f !== undefined && f.dirty > 0;
  }

  /** Copies `data` into the cache; may wait for a flush when the cache is full. */
  async write(inode: number, offset: number, data: Uint8Array): Promise<void> {
    const f = this.file(inode);
    if (f.error) {
      const e = f.error;
      f.error = undefined;
      throw e;
    }
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
      if (!b) ch.set(bno, (b = { data: Buffer.allocUnsafe(MFSBLOCKSIZE), ranges: [] }));
      b.data.set(data.subarray(pos, pos + n), boff);
      const added = addRange(b.ranges, boff, boff + n);
      f.dirty += added;
      this.total += added;
      pos += n;
    }
    f.maxEnd = Math.max(f.maxEnd, offset + data.length);
    if (this.total > this.limit) await this.flush(inode);
    else if (f.dirty >= this.flushAt) void this.flush(inode).catch(() => undefined);
  }

  /** Writes everything dirty of the file to the chunkservers; rejects with the first error. */
  flush(inode: number): Promise<void> {
    const f = this.files.get(inode);
    if (!f) return Promise.resolve();
    if (f.dirty === 0) {
      return f.chain.then(() => {
        if (f.error) {
          const e = f.error;
          f.error = undefined;
          throw e;
        }
        if (f.dirty === 0 && !f.pendingFlush) this.forget(inode, f);
      });
    }
    const chunks = f.chunks;
    const bytes = f.dirty;
    f.chunks = new Map();
    f.dirty = 0;
    f.pendingFlush = true;
    const run = f.chain.then(async () => {
      try {
        for (const [indx, blocks] of [...chunks.entries()].sort((a, b) => a[0] - b[0])) {
          await this.writeChunk(inode, indx, blocks);
        }
      } catch (e) {
        f.error ??= e instanceof StatusError ? e : new StatusError(MFS_ERROR_IO, (e as Error).message);
      } finally {
        this.total -= bytes;
        f.pendingFlush = false;
      }
    });
    f.chain = run;
    return run.then(() => {
      if (f.error) {
        const e = f.error;
        f.error = undefined;
        throw e;
      }
      if (f.dirty === 0 && f.chunks.size === 0 && f.chain === run) this.forget(inode, f);
    });
  }

  private forget(inode: number, f: FileWrites): void {
    if (this.files.get(inode) === f && f.dirty === 0) this.files.delete(inode);
  }

  /** Drops dirty data at or beyond `length` (truncate) after flushing what is before it. */
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

  /** One chunk, with retries (write_worker). */
  private async writeChunk(inode: number, indx: number, blocks: DirtyChunk): Promise<void> {
    let lastErr = '';
    const retries = Math.max(1, this.ioRetries);
    for (let attempt = 1; attempt <= retries; attempt++) {
      let info: ChunkInfo;
      try {
        info = await this.fs.writeChunk(inode, indx, 0);
      } catch (e) {
        if (e instanceof StatusError && (FATAL_WRITE_STATUSES.has(e.status) || e.status === MFS_ERROR_IO)) throw e;
        if (e instanceof StatusError && e.status === MFS_ERROR_NOSPACE && attempt >= 3) throw e;
        lastErr = (e as Error).message;
        await sleep(retryDelayMs(attempt));
        continue;
      }
      let written = 0;
      try {
        if (info.servers.length === 0) throw new StatusError(MFS_ERROR_CHUNKLOST, 'write: there are no valid copies');
        written = await this.sendChunk(info, indx, blocks);
        const newLength = Math.max(info.length, written);
        await this.fs.writeChunkEnd(info.chunkid, inode, indx, newLength, 0);
        return;
      } catch (e) {
        lastErr = (e as Error).message;
        this.log.warn({ inode, indx, chunkid: info.chunkid, attempt, err: lastErr }, 'chunk write failed');
        // Unlock the chunk on the master without changing the length.
        await this.fs.writeChunkEnd(info.chunkid, inode, indx, info.length, 0).catch(() => undefined);
        if (e instanceof StatusError && e.status === MFS_ERROR_NOSPACE) throw e;
        await sleep(retryDelayMs(attempt));
      }
    }
    throw new StatusError(MFS_ERROR_IO, `write: inode ${inode} chunk ${indx}: ${lastErr}`);
  }

  /** The chained write of the dirty blocks of one chunk; returns the highest file offset written. */
  private async sendChunk(info: ChunkInfo, indx: number, blocks: DirtyChunk): Promise<number> {
    const first = info.servers[0]!;
    const chain = info.servers.slice(1).map((s) => ({ ip: s.ip, port: s.port }));
    const conn = await this.pool.get(first.ip, first.port);
    const chunkid = info.chunkid;
    const pieces: Array<{ bno: number; from: number; to: number; data: Buffer }> = [];
    for (const bno of [...blocks.keys()].sort((a, b) => a - b)) {
      const b = blocks.get(bno)!;
      for (const [from, to] of b.ranges) pieces.push({ bno, from, to, data: b.data });
    }
    let maxEnd = 0;
    await new Promise<void>((resolve, reject) => {
      let timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
      function onTimeout(): void {
        conn.fail(`write to ${conn.key}: timed out`);
      }
      let started = false;
      let acked = 0;
      const finish = (err: Error | undefined) => {
        clearTimeout(timer);
        if (err) {
          conn.fail(err.message);
          reject(err);
        } else {
          conn.write(encodeCsWriteFinish(chunkid, info.version));
          this.pool.put(conn);
          resolve();
        }
      };
      const sendData = () => {
        const heads = Buffer.allocUnsafe(WRITE_DATA_HEADER_SIZE * pieces.length);
        conn.sock.cork();
        for (let i = 0; i < pieces.length; i++) {
          const p = pieces[i]!;
          const view = p.data.subarray(p.from, p.to);
          const h = heads.subarray(i * WRITE_DATA_HEADER_SIZE, (i + 1) * WRITE_DATA_HEADER_SIZE);
          putWriteDataHeader(h, 0, chunkid, i + 1, p.bno, p.from, p.to - p.from, crc32(view));
          conn.write(h);
          conn.write(view);
        }
        process.nextTick(() => conn.sock.uncork());
      };
      conn.use(
        (type, payload) => {
          clearTimeout(timer);
          timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
          if (type !== CSTOCL_WRITE_STATUS) return finish(new Error(`${conn.key}: unexpected packet ${type} during write`));
          const r = decodeCsWriteStatus(payload);
          if (!r.ok || r.value.chunkid !== chunkid) return finish(new Error(`${conn.key}: malformed WRITE_STATUS`));
          const { writeid, status } = r.value;
          if (status !== MFS_STATUS_OK) {
            const err = status === MFS_ERROR_NOSPACE ? new StatusError(status, 'write') : new Error(`${conn.key}: write error: ${mfsStrerror(status)}`);
            return finish(err);
          }
          if (writeid === 0) {
            if (started) return finish(new Error(`${conn.key}: second chain status`));
            started = true;
            if (pieces.length === 0) return finish(undefined);
            sendData();
            return;
          }
          const p = pieces[writeid - 1];
          if (!started || !p) return finish(new Error(`${conn.key}: got unexpected status (writeid:${writeid})`));
          maxEnd = Math.max(maxEnd, indx * MFSCHUNKSIZE + p.bno * MFSBLOCKSIZE + p.to);
          acked++;
          if (acked === pieces.length) finish(undefined);
        },
        (reason) => {
          clearTimeout(timer);
          reject(new Error(reason));
        },
      );
      conn.write(encodeCsWrite(chunkid, info.version, chain));
    });
    return maxEnd;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
