import type { Logger } from '@mfs-ts/common';
import { silentLogger } from '@mfs-ts/common';
import { MFS_ERROR_ENOTDIR, MFS_ERROR_EINVAL, MFS_ROOT_ID, TYPE_DIRECTORY, TYPE_SYMLINK, type Attr } from './proto.js';
import { MfsClientError, StatusError, errnoError, statusError } from './errors.js';
import { FsOps, ROOT_CREDS, TRUNCATE_FLAG_OPENED, type Creds } from './fsops.js';
import { MasterConn } from './mastercomm.js';
import type { ClientOptions } from './options.js';
import { CsPool } from './csconn.js';
import { ChunkReader, ReadAhead } from './readdata.js';
import { CsWriteWorker } from './csworker.js';
import { WriteCache } from './writedata.js';

/**
 * The client core both front ends share (the Node API and mfsmount-ts): the master link, the
 * namespace operations, path resolution with a short-lived entry cache, and file data through the
 * read-ahead and write-back layers. Paths are resolved component by component from the session root
 * (the master maps inode 1 to the mounted subfolder).
 */

const MAX_SYMLINK_DEPTH = 40;

interface CachedEntry {
  inode: number;
  attr: Attr;
  at: number;
  /** The attributes are the master's and nothing was changed through this client since (cachedDir). */
  attrFresh?: boolean;
}

export class MfsCore {
  readonly fs: FsOps;
  readonly pool = new CsPool();
  readonly reader: ChunkReader;
  readonly writes: WriteCache;
  private readAheads = new Map<number, ReadAhead>();
  private opens = new Map<number, number>();
  private entries = new Map<string, CachedEntry>();
  /**
   * atime/mtime (master seconds) of reads and writes not yet reported: 3.0.74+ masters ignore
   * CHUNKOPFLAG_CANMODTIME and take the times from CLTOMA_FUSE_AMTIME_INODES (mastercomm.c fs_atime,
   * fs_mtime, fs_send_amtime_inodes); until then getattr shows them (fs_fix_amtime).
   */
  private amtime = new Map<number, { atime: number; mtime: number }>();
  private readonly entryTtlMs: number;
  creds: Creds = ROOT_CREDS;

  private constructor(
    readonly master: MasterConn,
    readonly opts: ClientOptions,
    readonly log: Logger,
  ) {
    this.fs = new FsOps(master);
    this.reader = new ChunkReader(this.fs, this.pool, opts.ioRetries, log);
    // Chunk locations and lengths read before a write session ended are stale after it.
    this.writes = new WriteCache(this.fs, this.pool, opts.writeCacheSize, opts.ioRetries, log, (inode) => this.reader.invalidate(inode), opts.writeWorker ? () => new CsWriteWorker() : undefined);
    this.entryTtlMs = Math.max(0, opts.dirEntryCacheTo) * 1000;
    master.sustainedInodes = () => this.opens.keys();
    master.amtimes = () => {
      const out = [...this.amtime].map(([inode, t]) => ({ inode, atime: t.atime, mtime: t.mtime }));
      this.amtime.clear();
      return out;
    };
    master.on('chunkChanged', (inode, indx) => {
      this.reader.invalidate(inode, indx);
      this.readAheads.get(inode)?.drop();
    });
    master.on('flengChanged', (inode) => {
      this.reader.invalidate(inode);
      this.readAheads.get(inode)?.drop();
    });
    master.on('invalidateChunkCache', () => {
      this.reader.invalidateAll();
      for (const r of this.readAheads.values()) r.drop();
    });
    master.on('connected', () => this.entries.clear());
  }

  static async connect(opts: ClientOptions, log: Logger = silentLogger()): Promise<MfsCore> {
    const m = await MasterConn.connect(opts, log);
    return new MfsCore(m, opts, log);
  }

  // ---- paths ----

  static split(path: string): Buffer[] {
    return path
      .split('/')
      .filter((c) => c !== '' && c !== '.')
      .map((c) => Buffer.from(c, 'utf8'));
  }

  /**
   * Forgets `prefix` and the names below it. A name is only cached together with every directory
   * above it (resolve caches each step), so names below can be cached only if `prefix` is, as a
   * directory: the scan over the cache is needed only then (not for every file created or removed).
   */
  private invalidatePaths(prefix?: string): void {
    if (prefix === undefined) {
      this.entries.clear();
      return;
    }
    const e = this.entries.get(prefix);
    if (!e) return;
    this.entries.delete(prefix);
    if (e.attr.type !== TYPE_DIRECTORY) return;
    const below = `${prefix}/`;
    for (const k of this.entries.keys()) if (k.startsWith(below)) this.entries.delete(k);
  }

  /** Forgets every cached name (after a snapshot made by a tool). */
  forgetAll(): void {
    this.entries.clear();
  }

  /** Forgets cached names at and below `path` (after rename/unlink/rmdir). */
  forgetPath(path: string): void {
    if (isNormalized(path)) return this.invalidatePaths(path);
    this.invalidatePaths(`/${path.split('/').filter((c) => c !== '' && c !== '.').join('/')}`);
  }

  async lookupIn(parent: number, name: Buffer): Promise<{ inode: number; attr: Attr }> {
    return this.fs.lookup(parent, name, this.creds);
  }

  /**
   * The inode and attributes `path` names. Symlinks in the middle are followed, the last one only if
   * `follow`. Throws StatusError.
   */
  async resolve(path: string, follow = true, depth = 0, freshLast = true): Promise<{ inode: number; attr: Attr }> {
    // FUSE hands over normalized absolute paths: a fresh cached entry for the whole path needs no walk
    // (a name is only cached with every directory above it, and forgetPath drops a directory with
    // everything below, so the entry is as good as the walk's last step would be).
    if (isNormalized(path) && this.entryTtlMs > 0) {
      const e = this.entries.get(path);
      if (e && Date.now() - e.at <= this.entryTtlMs && e.attr.type !== TYPE_SYMLINK) {
        const attr = freshLast ? this.refreshed(e, await this.fs.getattr(e.inode, this.creds)).attr : e.attr;
        return { inode: e.inode, attr: this.fixLength(e.inode, attr) };
      }
    }
    const parts = MfsCore.split(path);
    let cur = { inode: MFS_ROOT_ID, attr: undefined as Attr | undefined };
    let curPath = '';
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) {
        // ".." in a path given to the API: resolve lexically (as path.resolve would).
        return this.resolve(['', ...parts.slice(0, Math.max(0, i - 1)).map((b) => b.toString('utf8')), ...parts.slice(i + 1).map((b) => b.toString('utf8'))].join('/'), follow, depth, freshLast);
      }
      if (cur.attr && cur.attr.type !== TYPE_DIRECTORY) throw new StatusError(MFS_ERROR_ENOTDIR, 'lookup');
      const p = `${curPath}/${name.toString('utf8')}`;
      const last = i === parts.length - 1;
      let e = this.entries.get(p);
      if (!e || Date.now() - e.at > this.entryTtlMs) {
        const r = await this.fs.lookup(cur.inode, name, this.creds);
        e = { inode: r.inode, attr: r.attr, at: Date.now(), attrFresh: true };
        if (this.entryTtlMs > 0) {
          // A bounded cache: names are cheap to look up again.
          if (this.entries.size >= 100_000) this.entries.clear();
          this.entries.set(p, e);
        }
      } else if (last && freshLast) {
        // Cached names save the walk; the attributes of the last one are always fresh.
        e = this.refreshed(e, await this.fs.getattr(e.inode, this.creds));
      }
      if (e.attr.type === TYPE_SYMLINK && (!last || follow)) {
        if (depth >= MAX_SYMLINK_DEPTH) throw errnoError('EINVAL', 'too many levels of symbolic links', 'resolve', path);
        const target = (await this.fs.readlink(e.inode)).toString('utf8');
        const rest = parts.slice(i + 1).map((b) => b.toString('utf8'));
        const base = target.startsWith('/') ? target : `${curPath}/${target}`;
        return this.resolve([base, ...rest].join('/'), follow, depth + 1, freshLast);
      }
      cur = { inode: e.inode, attr: e.attr };
      curPath = p;
    }
    if (!cur.attr) cur.attr = await this.fs.getattr(cur.inode, this.creds);
    return { inode: cur.inode, attr: this.fixLength(cur.inode, cur.attr) };
  }

  /** A directory's cached entry takes the fresh attributes (file entries keep theirs: cachedDir is for directories). */
  private refreshed(e: CachedEntry, attr: Attr): CachedEntry {
    if (attr.type !== TYPE_DIRECTORY) return { inode: e.inode, attr, at: e.at };
    e.attr = attr;
    e.attrFresh = true;
    return e;
  }

  /**
   * A directory's inode and attributes from the name cache, if looked up or refreshed less than
   * mfsdirentrycacheto ago and not changed through this client since. libfuse2's high-level API has
   * one entry_timeout for every name, so with mfsmount's default of 0 the kernel revalidates every
   * directory of a path on each walk; the real mfsmount gives directories direntry_cache_timeout
   * (mfs_fuse.c mfs_lookup), i.e. the kernel keeps them that long: this answers those revalidations
   * with the same staleness, without a GETATTR for each directory of every path.
   */
  cachedDir(path: string): { inode: number; attr: Attr } | undefined {
    if (this.entryTtlMs <= 0 || !isNormalized(path)) return undefined;
    const e = this.entries.get(path);
    if (!e || e.attrFresh !== true || e.attr.type !== TYPE_DIRECTORY || Date.now() - e.at > this.entryTtlMs) return undefined;
    return e;
  }

  /** After a change through this client at `path`: its and its directory's cached attributes are old. */
  changed(path: string): void {
    if (!isNormalized(path)) {
      const parts = path.split('/').filter((c) => c !== '' && c !== '.');
      if (parts.includes('..')) return this.forgetAll();
      path = `/${parts.join('/')}`;
      if (path === '/') return;
    }
    const e = this.entries.get(path);
    if (e) e.attrFresh = false;
    const cut = path.lastIndexOf('/');
    if (cut > 0) {
      const d = this.entries.get(path.slice(0, cut));
      if (d) d.attrFresh = false;
    }
  }

  /** Parent inode and last name of `path` (the parent resolved with symlinks followed). */
  async resolveParent(path: string): Promise<{ parent: number; name: Buffer }> {
    if (isNormalized(path)) {
      const cut = path.lastIndexOf('/');
      const name = Buffer.from(path.slice(cut + 1), 'utf8');
      const dir = cut === 0 ? { inode: MFS_ROOT_ID } : await this.resolve(path.slice(0, cut), true, 0, false);
      return { parent: dir.inode, name };
    }
    const parts = MfsCore.split(path);
    const name = parts.pop();
    if (!name) throw new StatusError(MFS_ERROR_EINVAL, 'path names the root');
    // Only the directory's inode is needed (the master checks the operation itself): a cached name
    // is enough, no fresh GETATTR for every file created or removed in it.
    const dir = parts.length === 0 ? { inode: MFS_ROOT_ID } : await this.resolve(`/${parts.map((b) => b.toString('utf8')).join('/')}`, true, 0, false);
    return { parent: dir.inode, name };
  }

  // ---- attributes and data ----

  /** Attributes with the length of data still in the write-back cache (write_data_getmaxfleng). */
  fixLength(inode: number, a: Attr): Attr {
    const w = this.writes.maxLength(inode);
    const t = this.amtime.get(inode);
    if (!(w > a.length && a.type !== TYPE_DIRECTORY) && !(t && (t.atime > a.atime || t.mtime > a.mtime))) return a;
    const r = { ...a };
    if (w > a.length && a.type !== TYPE_DIRECTORY) r.length = w;
    if (t) {
      r.atime = Math.max(r.atime, t.atime);
      r.mtime = Math.max(r.mtime, t.mtime);
    }
    return r;
  }

  private touch(inode: number, write: boolean): void {
    const now = this.master.masterSeconds();
    const t = this.amtime.get(inode) ?? { atime: 0, mtime: 0 };
    if (write) t.mtime = now;
    else t.atime = now;
    this.amtime.set(inode, t);
  }

  /** An explicit utimes wins over times of earlier I/O (fs_no_atime / fs_no_mtime). */
  timesSet(inode: number): void {
    this.amtime.delete(inode);
  }

  async getattr(inode: number): Promise<Attr> {
    return this.fixLength(inode, await this.fs.getattr(inode, this.creds, this.opens.has(inode) ? 1 : 0));
  }

  opened(inode: number): void {
    this.opens.set(inode, (this.opens.get(inode) ?? 0) + 1);
  }

  /** Flushes and forgets what belonged to one open of the inode. */
  async released(inode: number): Promise<void> {
    try {
      await this.writes.flush(inode);
    } finally {
      this.forgetOpen(inode);
    }
  }

  /**
   * released() done at once when there is nothing to flush (true), so the FUSE front end answers
   * without a promise; false when a flush is needed (then call released()).
   */
  releasedNow(inode: number): boolean {
    if (!this.writes.idle(inode)) return false;
    this.forgetOpen(inode);
    return true;
  }

  private forgetOpen(inode: number): void {
    const n = (this.opens.get(inode) ?? 1) - 1;
    if (n <= 0) {
      this.opens.delete(inode);
      this.readAheads.delete(inode);
      this.reader.invalidate(inode);
    } else this.opens.set(inode, n);
  }

  private readAhead(inode: number): ReadAhead {
    let r = this.readAheads.get(inode);
    if (!r) {
      const max = this.opts.cacheMode === 'DIRECT' ? 0 : Math.min(8 * 1024 * 1024, this.opts.readAheadSize);
      r = new ReadAhead(this.reader, inode, 256 * 1024, max);
      this.readAheads.set(inode, r);
    }
    return r;
  }

  async read(inode: number, offset: number, size: number): Promise<Buffer> {
    if (size <= 0) return Buffer.alloc(0);
    if (this.writes.hasDirty(inode)) await this.writes.flush(inode);
    const d = await this.readAhead(inode).read(offset, size);
    this.touch(inode, false);
    return d;
  }

  async write(inode: number, offset: number, data: Uint8Array): Promise<void> {
    this.readAheads.get(inode)?.drop();
    this.reader.invalidate(inode);
    await this.writes.write(inode, offset, data);
    this.touch(inode, true);
  }

  async flush(inode: number): Promise<void> {
    await this.writes.flush(inode);
  }

  async truncate(inode: number, length: number): Promise<Attr> {
    await this.writes.truncated(inode, length);
    this.readAheads.get(inode)?.drop();
    this.reader.invalidate(inode);
    const r = await this.fs.truncate(inode, length, this.creds, this.opens.has(inode) ? TRUNCATE_FLAG_OPENED : 0);
    this.readAheads.get(inode)?.drop();
    this.reader.invalidate(inode);
    return r.attr;
  }

  async close(): Promise<void> {
    try {
      await this.writes.flushAll();
    } finally {
      this.pool.closeAll();
      await this.writes.close();
      await this.master.close();
    }
  }
}

/** `/a/b` form: absolute, no empty, `.` or `..` component, no trailing slash, not the root. */
function isNormalized(p: string): boolean {
  return (
    p.length > 1 && p.charCodeAt(0) === 0x2f && p.charCodeAt(p.length - 1) !== 0x2f && !p.includes('//') &&
    !p.includes('/./') && !p.includes('/../') && !p.endsWith('/.') && !p.endsWith('/..')
  );
}

/** A core error (StatusError or other) as the MfsClientError the API rejects with. */
export function toClientError(e: unknown, syscall: string, path?: string): MfsClientError {
  if (MfsClientError.is(e)) return e;
  if (e instanceof StatusError) return statusError(e.status, syscall, path);
  return new MfsClientError('EIO', `EIO: ${syscall}${path !== undefined ? ` '${path}'` : ''}: ${(e as Error)?.message ?? String(e)}`, undefined, syscall, path);
}

