import type { Logger } from '@mfs-ts/common';
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
import { CsPool, ipToString } from './csconn.js';
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
    let timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
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
        clearTimeout(timer);
        timer = setTimeout(onTimeout, CS_ACTIVITY_TIMEOUT_MS);
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

  constructor(
    readonly fs: FsOps,
    readonly pool: CsPool,
    readonly ioRetries: number,
    readonly log: Logger,
  ) {}

  invalidate(inode: number, indx?: number): void {
    if (indx === undefined) this.locations.delete(inode);
    else this.locations.get(inode)?.delete(indx);
  }

  invalidateAll(): void {
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
    const info = await this.fs.readChunk(inode, indx);
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
        this.log.warn({ cs: `${ipToString(loc.ip)}:${loc.port}`, chunkid: info.chunkid, err: lastErr.message }, 'read from chunkserver failed');
      }
    }
    if (lastErr) throw lastErr;
    return false;
  }
}

/**
 * Sequential read-ahead for one inode: serves reads from the window last fetched, and while reads
 * keep following each other, doubles the window (up to `maxWindow`) and fetches the next one ahead.
 */
export class ReadAhead {
  private win: { start: number; data: Buffer; eof: boolean } | undefined;
  /** Windows being fetched ahead, in file order. */
  private ahead: Array<{ start: number; len: number; p: Promise<Buffer> }> = [];
  private lastEnd = -1;
  private wsize: number;
  private gen = 0;
  static readonly AHEAD = 2;

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
    this.win = undefined;
    this.ahead = [];
    this.lastEnd = -1;
    this.wsize = this.minWindow;
  }

  async read(offset: number, size: number): Promise<Buffer> {
    const sequential = offset === this.lastEnd;
    this.lastEnd = offset + size;
    if (this.maxWindow <= 0) return this.reader.read(this.inode, offset, size);
    const hit = this.slice(offset, size);
    if (hit) {
      if (sequential) this.prefetch();
      return hit;
    }
    const gen = this.gen;
    // Drop windows ahead that end before the offset; use the one that holds it.
    while (this.ahead.length > 0 && this.ahead[0]!.start + this.ahead[0]!.len <= offset) this.ahead.shift();
    const n = this.ahead[0];
    if (n && offset >= n.start) {
      this.ahead.shift();
      const data = await n.p.catch(() => undefined);
      if (data && gen === this.gen) {
        this.win = { start: n.start, data, eof: data.length < n.len };
        if (this.win.eof) this.ahead = [];
        const h = this.slice(offset, size);
        if (h) {
          this.prefetch();
          return h;
        }
      }
    }
    this.wsize = sequential ? Math.min(this.maxWindow, this.wsize * 2) : this.minWindow;
    const len = Math.max(size, sequential ? this.wsize : size);
    const data = await this.reader.read(this.inode, offset, len);
    if (gen === this.gen) {
      this.win = { start: offset, data, eof: data.length < len };
      this.ahead = [];
      if (sequential) this.prefetch();
    }
    return data.subarray(0, Math.min(size, data.length));
  }

  private slice(offset: number, size: number): Buffer | undefined {
    const w = this.win;
    if (!w || offset < w.start) return undefined;
    const rel = offset - w.start;
    if (rel + size <= w.data.length) return w.data.subarray(rel, rel + size);
    if (w.eof && rel <= w.data.length) return w.data.subarray(rel);
    return undefined;
  }

  private prefetch(): void {
    const w = this.win;
    if (!w || w.eof) return;
    while (this.ahead.length < ReadAhead.AHEAD) {
      const last = this.ahead[this.ahead.length - 1];
      const start = last ? last.start + last.len : w.start + w.data.length;
      const len = this.wsize;
      const p = this.reader.read(this.inode, start, len);
      p.catch(() => undefined);
      this.ahead.push({ start, len, p });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
