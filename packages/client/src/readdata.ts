import type { Logger } from '@mfs-ts/common';
import { u32ToIp } from '@mfs-ts/protocol';
import {
  CSTOCL_READ_DATA,
  CSTOCL_READ_STATUS,
  MFSBLOCKSIZE,
  MFSCHUNKSIZE,
  MFS_ERROR_CRC,
  MFS_ERROR_IO,
  MFS_ERROR_WRONGCHUNKID,
  MFS_ERROR_WRONGOFFSET,
  MFS_ERROR_WRONGSIZE,
  MFS_ERROR_ENOENT,
  MFS_ERROR_EPERM,
  MFS_ERROR_INDEXTOOBIG,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_CHUNKLOST,
  MFS_STATUS_OK,
  crcOk,
  decodeCsReadStatus,
  encodeCsRead,
  mfsStrerror,
  newDataView,
  parseReadData,
} from './proto.js';
import { StatusError } from './errors.js';
import type { ChunkInfo, ChunkLocation, FsOps } from './fsops.js';
import { CsPool } from './csconn.js';
import { retryDelayMs } from './mastercomm.js';

/**
 * Reading file data (mfsclient/readdata.c): ask the master where a chunk lives (READ_CHUNK), read
 * from one chunkserver (CLTOCS_READ, then CSTOCL_READ_DATA pieces that never cross a 64 KiB block,
 * each checked against its crc32, then CSTOCL_READ_STATUS), fail over to another copy, and after all
 * copies failed ask the master again, up to mfsioretries times. Chunk id 0 is a hole (zeros).
 * On top of it, a per-inode read-ahead window that grows while reads are sequential.
 */

/** A chunkserver silent this long during a read is given up (CHUNKSERVER_ACTIVITY_TIMEOUT in readdata.c). */
const CS_ACTIVITY_TIMEOUT_MS = 5000;
/** Largest single CLTOCS_READ we send (the chunkserver accepts up to a whole chunk). */
const MAX_CS_READ = 4 * 1024 * 1024;
const LOCATION_TTL_MS = 5000;

/** Master statuses for READ_CHUNK that retrying cannot fix. */
const FATAL_READ_STATUSES = new Set([MFS_ERROR_ENOENT, MFS_ERROR_EPERM, MFS_ERROR_INDEXTOOBIG, MFS_ERROR_NOCHUNK]);

export class CsReadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'CsReadError';
  }
}

/** One read of `size` bytes at `offset` of a chunk from one chunkserver, into dst[dstOff...]. */
export async function readFromChunkserver(
  pool: CsPool,
  loc: ChunkLocation,
  chunkid: number,
  version: number,
  offset: number,
  size: number,
  dst: Buffer,
  dstOff: number,
): Promise<void> {
  const conn = await pool.get(loc.ip, loc.port);
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    const head = newDataView();
    const timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
    function onTimeout(): void {
      conn.fail('read timeout');
    }
    const finish = (err: CsReadError | undefined) => {
      clearTimeout(timer);
      if (err) {
        conn.fail(err.message);
        reject(err);
      } else {
        pool.put(conn);
        resolve();
      }
    };
    conn.use(
      (type, payload) => {
        timer.refresh();
        if (type === CSTOCL_READ_DATA) {
          if (parseReadData(payload, head) !== undefined) return finish(new CsReadError(MFS_ERROR_WRONGSIZE, `${conn.key}: malformed READ_DATA`));
          if (head.chunkid !== chunkid) return finish(new CsReadError(MFS_ERROR_WRONGCHUNKID, `${conn.key}: READ_DATA for another chunk`));
          const pos = head.blocknum * MFSBLOCKSIZE + head.offset;
          if (pos < offset || pos + head.size > offset + size) {
            return finish(new CsReadError(MFS_ERROR_WRONGOFFSET, `${conn.key}: READ_DATA outside the request`));
          }
          if (!crcOk(head)) return finish(new CsReadError(MFS_ERROR_CRC, `${conn.key}: CRC error in block ${head.blocknum}`));
          head.data.copy(dst, dstOff + (pos - offset));
          received += head.size;
          return;
        }
        if (type === CSTOCL_READ_STATUS) {
          const r = decodeCsReadStatus(payload);
          if (!r.ok || r.value.chunkid !== chunkid) return finish(new CsReadError(MFS_ERROR_IO, `${conn.key}: malformed READ_STATUS`));
          if (r.value.status !== MFS_STATUS_OK) return finish(new CsReadError(r.value.status, `${conn.key}: read error: ${mfsStrerror(r.value.status)}`));
          if (received !== size) return finish(new CsReadError(MFS_ERROR_WRONGSIZE, `${conn.key}: got ${received} of ${size} bytes`));
          return finish(undefined);
        }
        finish(new CsReadError(MFS_ERROR_IO, `${conn.key}: unexpected packet ${type}`));
      },
      (reason) => {
        clearTimeout(timer);
        reject(new CsReadError(MFS_ERROR_IO, reason));
      },
    );
    conn.write(encodeCsRead(chunkid, version, offset, size));
  });
}

interface CachedLocation {
  info: ChunkInfo;
  at: number;
}

export class ChunkReader {
  /** inode -> chunk index -> where the chunk lives (short-lived; dropped on changes). */
  private locations = new Map<number, Map<number, CachedLocation>>();
  /** Bumped by every invalidation, so an answer asked for before one is not cached after it. */
  private epoch = 0;

  constructor(
    readonly fs: FsOps,
    readonly pool: CsPool,
    readonly ioRetries: number,
    readonly log: Logger,
  ) {}

  invalidate(inode: number, indx?: number): void {
    this.epoch++;
    if (indx === undefined) this.locations.delete(inode);
    else this.locations.get(inode)?.delete(indx);
  }

  invalidateAll(): void {
    this.epoch++;
    this.locations.clear();
  }

  /** The cached location of a chunk, if any (diagnostics and tests). */
  cachedLocation(inode: number, indx: number): ChunkInfo | undefined {
    return this.locations.get(inode)?.get(indx)?.info;
  }

  private async location(inode: number, indx: number, fresh: boolean): Promise<ChunkInfo> {
    let m = this.locations.get(inode);
    const c = m?.get(indx);
    if (!fresh && c && Date.now() - c.at < LOCATION_TTL_MS) return c.info;
    const epoch = this.epoch;
    const info = await this.fs.readChunk(inode, indx);
    // Invalidated meanwhile (a write or truncate): the answer may predate it; use it once, keep nothing.
    if (this.epoch !== epoch) return info;
    m = this.locations.get(inode);
    if (!m) this.locations.set(inode, (m = new Map()));
    m.set(indx, { info, at: Date.now() });
    return info;
  }

  /**
   * Reads up to `size` bytes at `offset`; the result is shorter at the end of the file. The returned
   * buffer is owned by the caller.
   */
  async read(inode: number, offset: number, size: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(size);
    let pos = offset;
    const end = offset + size;
    while (pos < end) {
      const indx = Math.floor(pos / MFSCHUNKSIZE);
      const chunkStart = indx * MFSCHUNKSIZE;
      const n = await this.readInChunk(inode, indx, pos - chunkStart, Math.min(end, chunkStart + MFSCHUNKSIZE) - pos, out, pos - offset);
      pos += n;
      if (pos < Math.min(end, chunkStart + MFSCHUNKSIZE)) break; // end of file
    }
    return out.subarray(0, pos - offset);
  }

  /** Reads within one chunk; returns the bytes read (fewer at the end of the file). */
  private async readInChunk(inode: number, indx: number, coff: number, csize: number, dst: Buffer, dstOff: number): Promise<number> {
    let lastErr = '';
    for (let attempt = 1; attempt <= Math.max(1, this.ioRetries); attempt++) {
      let info: ChunkInfo;
      try {
        info = await this.location(inode, indx, attempt > 1);
      } catch (e) {
        if (e instanceof StatusError && FATAL_READ_STATUSES.has(e.status)) throw e;
        if (e instanceof StatusError && e.status === MFS_ERROR_IO) throw e; // the master link already retried
        lastErr = (e as Error).message;
        await sleep(retryDelayMs(attempt));
        continue;
      }
      const chunkStart = indx * MFSCHUNKSIZE;
      const avail = Math.max(0, info.length - chunkStart - coff);
      const n = Math.min(csize, avail);
      if (n <= 0) return 0;
      if (info.chunkid === 0) {
        dst.fill(0, dstOff, dstOff + n);
        return n;
      }
      if (info.servers.length === 0) {
        lastErr = `chunk ${info.chunkid.toString(16)}: no valid copies`;
        if (attempt >= 3) throw new StatusError(MFS_ERROR_CHUNKLOST, `read: ${lastErr}`);
        await sleep(retryDelayMs(attempt));
        continue;
      }
      const ok = await this.readCopies(info, coff, n, dst, dstOff, attempt).catch((e: Error) => {
        lastErr = e.message;
        return false;
      });
      if (ok) return n;
      this.log.debug({ inode, indx, attempt, err: lastErr }, 'chunk read failed');
      await sleep(retryDelayMs(attempt));
    }
    throw new StatusError(MFS_ERROR_IO, `read: inode ${inode} chunk ${indx}: ${lastErr}`);
  }

  /** Tries every copy once, starting at a different one each attempt. */
  private async readCopies(info: ChunkInfo, coff: number, n: number, dst: Buffer, dstOff: number, attempt: number): Promise<boolean> {
    const servers = info.servers;
    let lastErr: Error | undefined;
    for (let k = 0; k < servers.length; k++) {
      const loc = servers[(k + attempt - 1) % servers.length]!;
      try {
        for (let done = 0; done < n; ) {
          const part = Math.min(MAX_CS_READ, n - done);
          await readFromChunkserver(this.pool, loc, info.chunkid, info.version, coff + done, part, dst, dstOff + done);
          done += part;
        }
        return true;
      } catch (e) {
        lastErr = e as Error;
        this.log.warn({ cs: `${u32ToIp(loc.ip)}:${loc.port}`, chunkid: info.chunkid, err: lastErr.message }, 'read from chunkserver failed');
      }
    }
    if (lastErr) throw lastErr;
    return false;
  }
}

/**
 * Read-ahead for one inode: a chain of contiguous windows (fetched or in flight) ahead of the reads.
 * A read inside the chain is served from it (windows are views, not copies, unless a read spans
 * two) and keeps the chain `AHEAD` windows long, doubling the window size up to `maxWindow`; a read
 * outside it starts a new chain there. The kernel sends FUSE reads a few at a time and not always in
 * order, so "inside the chain" rather than "right after the last read" is what counts as sequential.
 */
interface Window {
  start: number;
  len: number;
  p: Promise<Buffer>;
  data?: Buffer;
}

export class ReadAhead {
  private windows: Window[] = [];
  private wsize: number;
  private gen = 0;
  /** Where the last read outside the chain ended (a read starting there is sequential). */
  private lastEnd = -1;
  static readonly AHEAD = 3;

  constructor(
    readonly reader: ChunkReader,
    readonly inode: number,
    readonly minWindow: number,
    readonly maxWindow: number,
  ) {
    this.wsize = minWindow;
  }

  drop(): void {
    this.gen++;
    this.lastEnd = -1;
    this.windows = [];
    this.wsize = this.minWindow;
  }

  private fetch(start: number, len: number): Window {
    const w: Window = { start, len, p: this.reader.read(this.inode, start, len) };
    w.p.then(
      (d) => (w.data = d),
      () => undefined,
    );
    return w;
  }

  /** Appends windows until the chain reaches AHEAD windows past `offset` (stops at end of file). */
  private extend(offset: number): void {
    let last = this.windows[this.windows.length - 1];
    while (last && !(last.data && last.data.length < last.len)) {
      const ahead = this.windows.filter((w) => w.start + w.len > offset).length;
      if (ahead >= ReadAhead.AHEAD) break;
      const w = this.fetch(last.start + last.len, this.wsize);
      this.windows.push(w);
      last = w;
    }
  }

  async read(offset: number, size: number): Promise<Buffer> {
    if (this.maxWindow <= 0) return this.reader.read(this.inode, offset, size);
    const gen = this.gen;
    const first = this.windows.findIndex((w) => offset >= w.start && offset < w.start + w.len);
    if (first < 0) {
      // Not inside the chain. A read that follows the previous one (or starts the file) begins a
      // new chain there; any other read is random: read just what was asked, nothing ahead (a 4 KiB
      // random read must not cost a chain of windows).
      const last = this.windows[this.windows.length - 1];
      const afterChain = last !== undefined && offset === last.start + last.len;
      const follows = afterChain || offset === this.lastEnd || offset === 0;
      this.lastEnd = offset + size;
      if (!follows) {
        if (this.windows.length > 0) {
          this.windows = [];
          this.wsize = this.minWindow;
        }
        return this.reader.read(this.inode, offset, size);
      }
      this.wsize = afterChain ? this.wsize : this.minWindow;
      const w = this.fetch(offset, Math.max(size, this.wsize));
      this.windows = [w];
      let data: Buffer;
      try {
        data = await w.p;
      } catch (e) {
        if (gen === this.gen) this.windows = [];
        throw e;
      }
      if (gen === this.gen) this.extend(offset);
      return data.subarray(0, Math.min(size, data.length));
    }
    // Gather [offset, offset+size) from the chain.
    const parts: Buffer[] = [];
    let pos = offset;
    const end = offset + size;
    let eof = false;
    for (let i = first; i < this.windows.length && pos < end; i++) {
      const w = this.windows[i]!;
      if (w.start > pos) break;
      let d: Buffer;
      try {
        d = w.data ?? (await w.p);
      } catch {
        // A window fetched ahead failed: start over with a plain read (which reports a real error).
        if (gen === this.gen) this.windows = [];
        return this.reader.read(this.inode, offset, size);
      }
      if (gen !== this.gen) return this.reader.read(this.inode, offset, size);
      const rel = pos - w.start;
      if (rel >= d.length) {
        eof = true;
        break;
      }
      const n = Math.min(end - pos, d.length - rel);
      parts.push(d.subarray(rel, rel + n));
      pos += n;
      if (d.length < w.len) {
        eof = true; // end of file inside this window
        break;
      }
    }
    // The request runs past the chain: read the rest directly (a short answer only at end of file).
    if (!eof && pos < end) parts.push(await this.reader.read(this.inode, pos, end - pos));
    // Moving on: drop windows behind, grow, keep the chain ahead.
    if (gen === this.gen) {
      while (this.windows.length > 1 && this.windows[0]!.start + this.windows[0]!.len <= offset) this.windows.shift();
      this.wsize = Math.min(this.maxWindow, this.wsize * 2);
      this.extend(offset);
    }
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 0) return Buffer.alloc(0);
    return Buffer.concat(parts);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
