import { mkdir, open, readdir, readFile, rename, stat, statfs, writeFile, lstat, unlink } from 'node:fs/promises';
import type { Logger } from '@mfs-ts/common';
import type { ChunkFile, ChunkOwner } from './chunkfile.js';
import type { HddLine } from './hddcfg.js';
import { DiskStats } from './hddstats.js';
import { CHUNKCRCSIZE, layoutFromSize, parseChunkFileName, subfolderName } from './layout.js';

/** Last-errors ring of a disk (LASTERRSIZE in hddspacemgr.c). */
const LASTERRSIZE = 30;

export interface FoundChunk {
  chunkId: number;
  version: number;
  pathId: number;
  /** undefined when the file's size fits no chunk layout (the chunk is then unusable). */
  layout: { hdrSize: number; blocks: number } | undefined;
}

export interface FolderHooks {
  chunkError(f: Folder, c: ChunkFile, damaged: boolean, err?: unknown): void;
  touched(f: Folder): void;
}

/**
 * One data directory of mfshdd.cfg (hddspacemgr.c `folder`): its options, its space, its 256
 * subfolders and the chunks living in it, its `.lock`, `.metaid` and `.chunkdb` files.
 */
export class Folder implements ChunkOwner {
  readonly path: string;
  markedForRemoval: boolean;
  ignoreSize: boolean;
  sizeLimit: number;
  leaveFree: number;
  damaged = false;
  readOnly = false;
  scanning = false;
  avail = 0;
  total = 0;
  private lastBlocks = 0;
  readonly chunks = new Set<ChunkFile>();
  /** Chunks per subfolder, and the subfolder new chunks go to (round robin every HDD_RR_CHUNK_COUNT). */
  private readonly subfCount = new Uint32Array(256);
  private currentPathId = 0;
  readonly lastErrors: Array<{ chunkId: number; time: number; mono: number; code: string | undefined }> = [];
  /** Older copies of chunks found at scan (another file holds a newer version), removed later. */
  duplicates: Array<{ chunkId: number; version: number; pathId: number }> = [];
  /** When the disk was taken into use: duplicates go HDD_KEEP_DUPLICATES_HOURS after it. */
  readonly addedAt = performance.now() / 1000;
  /** Chunks handed out to this disk by the placement (for proportional choice). */
  placed = 0;
  readonly stats = new DiskStats();

  constructor(
    cfg: HddLine,
    defaultLeaveFree: number,
    private readonly hooks: FolderHooks,
    private readonly log: Logger,
  ) {
    this.path = cfg.path;
    this.markedForRemoval = cfg.markedForRemoval;
    this.ignoreSize = cfg.ignoreSize;
    this.sizeLimit = cfg.sizeLimit;
    this.leaveFree = cfg.leaveFree ?? defaultLeaveFree;
  }

  chunkError(c: ChunkFile, damaged: boolean, err?: unknown): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.lastErrors.push({ chunkId: c.id, time: Math.floor(Date.now() / 1000), mono: performance.now() / 1000, code });
    if (this.lastErrors.length > LASTERRSIZE) this.lastErrors.shift();
    this.hooks.chunkError(this, c, damaged, err);
  }

  touched(): void {
    this.needRefresh = true;
    this.hooks.touched(this);
  }

  /** Usage is re-read when chunks changed here, and at least once a minute (hdd_check_folders). */
  needRefresh = true;
  lastRefresh = 0;

  /**
   * I/O errors (EIO, EROFS, ENOENT) among the last 30 within `periodS` seconds: more than
   * HDD_ERROR_TOLERANCE_COUNT of them and MooseFS gives the disk up (hdd_check_folders).
   */
  recentIoErrors(periodS: number): number {
    const now = performance.now() / 1000;
    return this.lastErrors.filter((e) => e.mono + periodS >= now && (e.code === 'EIO' || e.code === 'EROFS' || e.code === 'ENOENT')).length;
  }

  /** Can new chunks be put here? */
  get writable(): boolean {
    return !this.damaged && !this.markedForRemoval && !this.readOnly && !this.scanning && this.total > 0 && this.avail > 0;
  }

  addChunk(c: ChunkFile): void {
    this.chunks.add(c);
    this.subfCount[c.pathId]!++;
  }

  removeChunk(c: ChunkFile): void {
    if (this.chunks.delete(c) && this.subfCount[c.pathId]! > 0) this.subfCount[c.pathId]!--;
  }

  /** The subfolder for the next new chunk: stay on one until it has rr more chunks than the emptiest. */
  nextPathId(rr: number): number {
    let min = 0;
    for (let i = 1; i < 256; i++) if (this.subfCount[i]! < this.subfCount[min]!) min = i;
    if (this.subfCount[this.currentPathId]! >= this.subfCount[min]! + rr) this.currentPathId = min;
    return this.currentPathId;
  }

  /** statvfs-based space (hdd_refresh_usage); returns true if the figures changed. */
  async refreshUsage(): Promise<boolean> {
    let fs;
    try {
      fs = await statfs(this.path);
    } catch (e) {
      if (!this.damaged) this.log.warn({ disk: this.path, err: e }, `disk: ${this.path} ; statvfs error - mark it as damaged`);
      this.damaged = true;
      return true;
    }
    if (this.lastBlocks === 0) this.lastBlocks = fs.blocks;
    else if (!this.ignoreSize && (this.lastBlocks * 9 > fs.blocks * 10 || this.lastBlocks * 10 < fs.blocks * 9)) {
      this.log.warn({ disk: this.path }, `disk: ${this.path} ; number of total blocks has been changed significantly - mark it as damaged`);
      this.damaged = true;
      return true;
    } else this.lastBlocks = fs.blocks;
    let avail: number;
    let total: number;
    if (this.sizeLimit > 0) {
      let used = 0;
      for (const c of this.chunks) used += c.fileSize;
      total = this.sizeLimit;
      avail = used > this.sizeLimit ? 0 : this.sizeLimit - used;
    } else {
      avail = fs.bsize * fs.bavail;
      total = fs.bsize * (fs.blocks - (fs.bfree - fs.bavail));
      avail = avail < this.leaveFree ? 0 : avail - this.leaveFree;
    }
    const changed = avail !== this.avail || total !== this.total;
    this.avail = avail;
    this.total = total;
    return changed;
  }

  /**
   * Claims the disk through its `.lock` file. MooseFS holds a lockf lock on it, which Node cannot take;
   * instead we refuse a disk whose `.lock` another process holds a POSIX lock on (a real chunkserver,
   * seen in /proc/locks) or that names a live chunkserver pid (another mfschunkserver-ts), and write
   * our pid into it.
   */
  async touchLock(): Promise<void> {
    const lockPath = `${this.path}.lock`;
    const other = await lockHolder(lockPath);
    if (other) throw new Error(`hdd space manager: data folder '${this.path}' already locked (used by another process, pid ${other})`);
    try {
      await writeFile(lockPath, `${process.pid}\n`, { mode: 0o640 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EROFS' && this.markedForRemoval) this.readOnly = true;
      else throw e;
    }
  }

  /** `.metaid`: 8 bytes, the file system instance this disk belongs to; 0n when absent. */
  async readMetaId(): Promise<bigint> {
    try {
      const b = await readFile(`${this.path}.metaid`);
      return b.length >= 8 ? b.readBigUInt64BE(0) : 0n;
    } catch {
      return 0n;
    }
  }

  async writeMetaId(metaId: bigint): Promise<void> {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(metaId);
    try {
      await writeFile(`${this.path}.metaid`, b, { mode: 0o640 });
    } catch (e) {
      this.log.warn({ disk: this.path, err: e }, 'hdd space manager: error writing meta id file');
    }
  }

  /**
   * Finds the chunks of this disk: from `.chunkdb` when it is newer than every subfolder (it is
   * removed once read, as MooseFS does), otherwise by listing the 256 subfolders. Creates the
   * subfolders on a writable disk.
   */
  async scan(): Promise<FoundChunk[]> {
    this.scanning = true;
    try {
      if (!this.markedForRemoval) {
        await mkdir(this.path, { recursive: true, mode: 0o755 });
        for (let i = 0; i < 256; i++) await mkdir(`${this.path}${subfolderName(i)}`, { mode: 0o755 }).catch(() => undefined);
      }
      const fast = await this.fastScan();
      if (fast) {
        this.log.info({ disk: this.path }, `scanning folder ${this.path}: .chunkdb used - full scan not needed`);
        return fast;
      }
      const found: FoundChunk[] = [];
      for (let i = 0; i < 256; i++) {
        const dir = `${this.path}${subfolderName(i)}/`;
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          continue;
        }
        for (const n of names) {
          const p = parseChunkFileName(n);
          if (!p) continue;
          let layout: FoundChunk['layout'];
          try {
            const st = await stat(dir + n);
            layout = st.isFile() ? layoutFromSize(st.size) : undefined;
          } catch {
            layout = undefined;
          }
          if (!layout) this.log.warn({ file: dir + n }, `${dir + n}: wrong chunk file size`);
          found.push({ chunkId: p.chunkId, version: p.version, pathId: i, layout });
        }
      }
      this.log.info({ disk: this.path, chunks: found.length }, `scanning folder ${this.path}: complete`);
      return found;
    } finally {
      this.scanning = false;
    }
  }

  private async fastScan(): Promise<FoundChunk[] | undefined> {
    const dbPath = `${this.path}.chunkdb`;
    let newest: number;
    try {
      const st = await lstat(this.path.replace(/\/$/, '') || '/');
      newest = Math.floor(st.mtimeMs / 1000);
      for (let i = 0; i < 256; i++) {
        const s = await lstat(`${this.path}${subfolderName(i)}`);
        newest = Math.max(newest, Math.floor(s.atimeMs / 1000), Math.floor(s.mtimeMs / 1000));
      }
    } catch {
      return undefined;
    }
    let data: Buffer;
    try {
      const st = await stat(dbPath);
      if (Math.floor(st.mtimeMs / 1000) < newest) {
        this.log.info({ disk: this.path }, `scanning folder ${this.path}: at least one of data subfolders has more recent atime/mtime than '.chunkdb' - fallback to standard scan`);
        return undefined;
      }
      data = await readFile(dbPath);
      await unlink(dbPath);
    } catch {
      return undefined;
    }
    const parsed = parseChunkDb(data, this.path);
    if (!parsed.ok) {
      this.log.info({ disk: this.path }, `scanning folder ${this.path}: ${parsed.reason} in .chunkdb - fallback to standard scan`);
      return undefined;
    }
    return parsed.chunks;
  }

  /** Writes `.chunkdb` (via `.tmp_chunkdb`) listing every chunk of this disk, for a fast next start. */
  async dumpChunkDb(): Promise<void> {
    if (this.damaged || this.readOnly) return;
    if (this.duplicates.length > 0) {
      this.log.warn({ disk: this.path }, `disk ${this.path} has pending duplicates - can't use '.chunkdb' to avoid full scan`);
      return;
    }
    const list = [...this.chunks].filter((c) => c.state === 'avail');
    const buf = encodeChunkDb(this.path, list);
    const tmp = `${this.path}.tmp_chunkdb`;
    try {
      const fh = await open(tmp, 'w', 0o666);
      try {
        await fh.write(buf, 0, buf.length, 0);
      } finally {
        await fh.close();
      }
      await rename(tmp, `${this.path}.chunkdb`);
      this.log.info({ disk: this.path }, `disk ${this.path}: '.chunkdb' has been written`);
    } catch (e) {
      this.log.warn({ disk: this.path, err: e }, `${tmp}: write error`);
    }
  }
}

/** The pid of another process holding `path` (a POSIX lock on it, or a live chunkserver pid in it). */
async function lockHolder(path: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  const dev = st.dev;
  const major = (Math.floor(dev / 256) & 0xfff) >>> 0;
  const minor = ((dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)) >>> 0;
  try {
    for (const line of (await readFile('/proc/locks', 'utf8')).split('\n')) {
      const f = line.trim().split(/\s+/);
      // "1: POSIX ADVISORY WRITE <pid> <maj>:<min>:<inode> <start> <end>"
      const where = f[5]?.split(':');
      if (!where || where.length !== 3) continue;
      const pid = Number(f[4]);
      if (Number.parseInt(where[0]!, 16) === major && Number.parseInt(where[1]!, 16) === minor && Number(where[2]) === st.ino && pid !== process.pid) return pid;
    }
  } catch {
    // no /proc/locks: nothing to learn there
  }
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('mfschunkserver')) return pid;
    }
  } catch {
    // not a pid, or the process is gone
  }
  return undefined;
}

/**
 * `.chunkdb` (hdd_folder_dump_chunkdb_*): "MFS CHUNKDB2" pathlen:16 path, then per chunk
 * `chunkid:64 version:32 blocks:16 hdrsize:16 pathid:16` (blocks 0xFFFF, hdrsize 0 when unknown),
 * ended by an all-zero record. Version 1 files have no hdrsize field.
 */
export function encodeChunkDb(path: string, chunks: Iterable<ChunkFile>): Buffer {
  const p = Buffer.from(path);
  const list = [...chunks];
  const b = Buffer.alloc(14 + p.length + 18 * (list.length + 1));
  b.write('MFS CHUNKDB2', 0, 'latin1');
  b.writeUInt16BE(p.length, 12);
  p.copy(b, 14);
  let o = 14 + p.length;
  for (const c of list) {
    b.writeUInt32BE(Math.floor(c.id / 0x100000000), o);
    b.writeUInt32BE(c.id >>> 0, o + 4);
    b.writeUInt32BE(c.version >>> 0, o + 8);
    b.writeUInt16BE(c.validAttr ? c.blocks : 0xffff, o + 12);
    b.writeUInt16BE(c.validAttr ? c.hdrSize : 0, o + 14);
    b.writeUInt16BE(c.pathId, o + 16);
    o += 18;
  }
  return b;
}

export function parseChunkDb(b: Buffer, path: string): { ok: true; chunks: FoundChunk[] } | { ok: false; reason: string } {
  if (b.length < 14 || b.toString('latin1', 0, 11) !== 'MFS CHUNKDB' || (b[11] !== 0x31 && b[11] !== 0x32)) {
    return { ok: false, reason: 'wrong header' };
  }
  const rsize = b[11] === 0x31 ? 16 : 18;
  const plen = b.readUInt16BE(12);
  if (14 + plen > b.length || b.toString('utf8', 14, 14 + plen) !== path) return { ok: false, reason: 'wrong path' };
  let o = 14 + plen;
  const chunks: FoundChunk[] = [];
  for (;;) {
    if (o + rsize > b.length) return { ok: false, reason: 'data malformed' };
    const chunkId = b.readUInt32BE(o) * 0x100000000 + b.readUInt32BE(o + 4);
    const version = b.readUInt32BE(o + 8);
    const blocks = b.readUInt16BE(o + 12);
    const hdrSize = rsize === 18 ? b.readUInt16BE(o + 14) : 1024;
    const pathId = b.readUInt16BE(o + rsize - 2);
    o += rsize;
    if (chunkId === 0) {
      if (version !== 0 || blocks !== 0 || pathId !== 0 || o !== b.length) return { ok: false, reason: 'data malformed' };
      return { ok: true, chunks };
    }
    if (pathId > 255) return { ok: false, reason: 'data malformed' };
    const known = blocks <= 1024 && (hdrSize === 4096 || hdrSize === 1024);
    chunks.push({ chunkId, version, pathId, layout: known ? { hdrSize, blocks } : undefined });
  }
}

export { CHUNKCRCSIZE };
