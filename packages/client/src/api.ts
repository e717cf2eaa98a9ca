import type { Logger } from '@mfs-ts/common';
import { Readable, Writable } from 'node:stream';
import {
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_DIRECTORY,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SOCKET,
  TYPE_SYMLINK,
  MFS_ERROR_EEXIST,
  MFS_ERROR_ENOENT,
  type Attr,
} from './proto.js';
import { MfsCore, toClientError } from './core.js';
import { MfsClientError, StatusError, errnoError } from './errors.js';
import {
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_REMOVE,
  MFS_XATTR_REPLACE_ONLY,
  OPEN_READ,
  OPEN_WRITE,
  SET_ATIME_FLAG,
  SET_GID_FLAG,
  SET_MODE_FLAG,
  SET_MTIME_FLAG,
  SET_UID_FLAG,
  type StatFs,
} from './fsops.js';
import { clientOptions, type ConnectOptions } from './options.js';

/**
 * A promise-based Node API to a MooseFS cluster, without FUSE or root: the same client core as
 * mfsmount-ts. Every failure rejects with an MfsClientError whose `code` is a Node errno code
 * (ENOENT, EACCES, ...); `status` keeps the MooseFS status it came from.
 */

const S_IFMT: Record<number, number> = {
  [TYPE_FILE]: 0o100000,
  [TYPE_DIRECTORY]: 0o040000,
  [TYPE_SYMLINK]: 0o120000,
  [TYPE_FIFO]: 0o010000,
  [TYPE_BLOCKDEV]: 0o060000,
  [TYPE_CHARDEV]: 0o020000,
  [TYPE_SOCKET]: 0o140000,
};

export class MfsStats {
  readonly ino: number;
  /** Type bits and permissions, as in fs.Stats. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly rdev: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly type: number;

  constructor(ino: number, a: Attr) {
    this.ino = ino;
    this.type = a.type;
    this.mode = (S_IFMT[a.type] ?? 0o100000) | a.mode;
    this.nlink = a.nlink;
    this.uid = a.uid;
    this.gid = a.gid;
    this.size = a.type === TYPE_DIRECTORY ? 0 : a.length;
    this.rdev = a.rdev;
    this.atimeMs = a.atime * 1000;
    this.mtimeMs = a.mtime * 1000;
    this.ctimeMs = a.ctime * 1000;
  }
  get atime(): Date {
    return new Date(this.atimeMs);
  }
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  get ctime(): Date {
    return new Date(this.ctimeMs);
  }
  isFile(): boolean {
    return this.type === TYPE_FILE;
  }
  isDirectory(): boolean {
    return this.type === TYPE_DIRECTORY;
  }
  isSymbolicLink(): boolean {
    return this.type === TYPE_SYMLINK;
  }
}

export interface MfsDirent {
  name: string;
  stats: MfsStats;
}

type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx' | 'wx+' | 'a' | 'a+' | 'ax' | 'ax+';

function parseFlags(f: OpenFlags): { read: boolean; write: boolean; create: boolean; excl: boolean; trunc: boolean; append: boolean } {
  const plus = f.endsWith('+');
  const base = f.replace('+', '');
  switch (base) {
    case 'r':
      return { read: true, write: plus, create: false, excl: false, trunc: false, append: false };
    case 'w':
      return { read: plus, write: true, create: true, excl: false, trunc: true, append: false };
    case 'wx':
      return { read: plus, write: true, create: true, excl: true, trunc: true, append: false };
    case 'a':
      return { read: plus, write: true, create: true, excl: false, trunc: false, append: true };
    case 'ax':
      return { read: plus, write: true, create: true, excl: true, trunc: false, append: true };
  }
  throw errnoError('EINVAL', `unknown open flags ${f}`, 'open');
}

export class MfsFileHandle {
  private closed = false;
  /** Position for reads/writes without an explicit position. */
  private pos = 0;

  constructor(
    private readonly core: MfsCore,
    readonly inode: number,
    readonly path: string,
    private readonly canRead: boolean,
    private readonly canWrite: boolean,
    private readonly append: boolean,
  ) {}

  private check(op: string, write: boolean): void {
    if (this.closed) throw errnoError('EBADF', 'file handle closed', op, this.path);
    if (write && !this.canWrite) throw errnoError('EBADF', 'not open for writing', op, this.path);
    if (!write && !this.canRead) throw errnoError('EBADF', 'not open for reading', op, this.path);
  }

  /** Reads into `buffer[offset..offset+length)` from `position` (or the current position). */
  async read(buffer: Uint8Array, offset = 0, length = buffer.length - offset, position: number | null = null): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    this.check('read', false);
    const at = position ?? this.pos;
    try {
      const data = await this.core.read(this.inode, at, length);
      buffer.set(data, offset);
      if (position === null) this.pos = at + data.length;
      return { bytesRead: data.length, buffer };
    } catch (e) {
      throw toClientError(e, 'read', this.path);
    }
  }

  /** Writes `buffer[offset..offset+length)` at `position` (or the current position / end for 'a'). */
  async write(buffer: Uint8Array, offset = 0, length = buffer.length - offset, position: number | null = null): Promise<{ bytesWritten: number; buffer: Uint8Array }> {
    this.check('write', true);
    try {
      let at = position ?? this.pos;
      if (this.append) at = (await this.core.getattr(this.inode)).length;
      await this.core.write(this.inode, at, buffer.subarray(offset, offset + length));
      if (position === null || this.append) this.pos = at + length;
      return { bytesWritten: length, buffer };
    } catch (e) {
      throw toClientError(e, 'write', this.path);
    }
  }

  /** Reads the whole file from offset 0. */
  async readFile(): Promise<Buffer> {
    this.check('read', false);
    try {
      const size = (await this.core.getattr(this.inode)).length;
      const chunks: Buffer[] = [];
      let at = 0;
      while (at < size) {
        const d = await this.core.read(this.inode, at, Math.min(size - at, 8 * 1024 * 1024));
        if (d.length === 0) break;
        chunks.push(d);
        at += d.length;
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    } catch (e) {
      throw toClientError(e, 'read', this.path);
    }
  }

  async stat(): Promise<MfsStats> {
    if (this.closed) throw errnoError('EBADF', 'file handle closed', 'fstat', this.path);
    try {
      return new MfsStats(this.inode, await this.core.getattr(this.inode));
    } catch (e) {
      throw toClientError(e, 'fstat', this.path);
    }
  }

  async truncate(length = 0): Promise<void> {
    this.check('ftruncate', true);
    try {
      await this.core.truncate(this.inode, length);
    } catch (e) {
      throw toClientError(e, 'ftruncate', this.path);
    }
  }

  /** Writes buffered data to the chunkservers (fsync). */
  async sync(): Promise<void> {
    if (this.closed) throw errnoError('EBADF', 'file handle closed', 'fsync', this.path);
    try {
      await this.core.flush(this.inode);
    } catch (e) {
      throw toClientError(e, 'fsync', this.path);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.core.released(this.inode);
    } catch (e) {
      throw toClientError(e, 'close', this.path);
    }
  }
}

export class MfsClient {
  private constructor(readonly core: MfsCore) {}

  /** Connects and registers a session (like mfsmount does); rejects with MooseFS's register error. */
  static async connect(opts: ConnectOptions & { logger?: Logger }): Promise<MfsClient> {
    const core = await MfsCore.connect(clientOptions(opts), opts.logger);
    return new MfsClient(core);
  }

  get sessionId(): number {
    return this.core.master.session?.sessionid ?? 0;
  }

  private async wrap<T>(syscall: string, path: string | undefined, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw toClientError(e, syscall, path);
    }
  }

  stat(path: string): Promise<MfsStats> {
    return this.wrap('stat', path, async () => {
      const r = await this.core.resolve(path, true);
      return new MfsStats(r.inode, r.attr);
    });
  }

  lstat(path: string): Promise<MfsStats> {
    return this.wrap('lstat', path, async () => {
      const r = await this.core.resolve(path, false);
      return new MfsStats(r.inode, r.attr);
    });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.lstat(path);
      return true;
    } catch (e) {
      if (MfsClientError.is(e) && e.code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Entry names, without "." and "..". */
  async readdir(path: string): Promise<string[]> {
    return (await this.readdirWithStats(path)).map((d) => d.name);
  }

  readdirWithStats(path: string): Promise<MfsDirent[]> {
    return this.wrap('scandir', path, async () => {
      const d = await this.core.resolve(path, true);
      if (d.attr.type !== TYPE_DIRECTORY) throw errnoError('ENOTDIR', 'not a directory', 'scandir', path);
      const list = await this.core.fs.readdir(d.inode, this.core.creds);
      const out: MfsDirent[] = [];
      for (const e of list) {
        const n = e.name.toString('utf8');
        if (n === '.' || n === '..') continue;
        out.push({ name: n, stats: new MfsStats(e.inode, this.core.fixLength(e.inode, e.attr)) });
      }
      return out;
    });
  }

  mkdir(path: string, opts: { mode?: number; recursive?: boolean } = {}): Promise<void> {
    return this.wrap('mkdir', path, async () => {
      const mode = opts.mode ?? 0o777;
      if (opts.recursive) {
        const parts = MfsCore.split(path).map((b) => b.toString('utf8'));
        for (let i = 1; i <= parts.length; i++) {
          const sub = `/${parts.slice(0, i).join('/')}`;
          const { parent, name } = await this.core.resolveParent(sub);
          try {
            await this.core.fs.mkdir(parent, name, mode, 0o022, this.core.creds);
          } catch (e) {
            if (!(e instanceof StatusError && e.status === MFS_ERROR_EEXIST)) throw e;
            const st = await this.core.resolve(sub, true);
            if (st.attr.type !== TYPE_DIRECTORY) throw e;
          }
        }
        return;
      }
      const { parent, name } = await this.core.resolveParent(path);
      await this.core.fs.mkdir(parent, name, mode, 0o022, this.core.creds);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.wrap('rmdir', path, async () => {
      const { parent, name } = await this.core.resolveParent(path);
      await this.core.fs.rmdir(parent, name, this.core.creds);
      this.core.forgetPath(path);
    });
  }

  unlink(path: string): Promise<void> {
    return this.wrap('unlink', path, async () => {
      const { parent, name } = await this.core.resolveParent(path);
      await this.core.fs.unlink(parent, name, this.core.creds);
      this.core.forgetPath(path);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.wrap('rename', from, async () => {
      const a = await this.core.resolveParent(from);
      const b = await this.core.resolveParent(to);
      await this.core.fs.rename(a.parent, a.name, b.parent, b.name, this.core.creds);
      this.core.forgetPath(from);
      this.core.forgetPath(to);
    });
  }

  symlink(target: string, path: string): Promise<void> {
    return this.wrap('symlink', path, async () => {
      const { parent, name } = await this.core.resolveParent(path);
      await this.core.fs.symlink(parent, name, Buffer.from(target, 'utf8'), this.core.creds);
    });
  }

  readlink(path: string): Promise<string> {
    return this.wrap('readlink', path, async () => {
      const r = await this.core.resolve(path, false);
      if (r.attr.type !== TYPE_SYMLINK) throw errnoError('EINVAL', 'not a symbolic link', 'readlink', path);
      return (await this.core.fs.readlink(r.inode)).toString('utf8');
    });
  }

  link(existing: string, newPath: string): Promise<void> {
    return this.wrap('link', newPath, async () => {
      const src = await this.core.resolve(existing, false);
      const { parent, name } = await this.core.resolveParent(newPath);
      await this.core.fs.link(src.inode, parent, name, this.core.creds);
    });
  }

  truncate(path: string, length = 0): Promise<void> {
    return this.wrap('truncate', path, async () => {
      const r = await this.core.resolve(path, true);
      await this.core.truncate(r.inode, length);
    });
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.wrap('chmod', path, async () => {
      const r = await this.core.resolve(path, true);
      await this.core.fs.setattr(r.inode, this.core.creds, { setmask: SET_MODE_FLAG, mode: mode & 0o7777 });
    });
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.wrap('chown', path, async () => {
      const r = await this.core.resolve(path, true);
      await this.core.fs.setattr(r.inode, this.core.creds, { setmask: SET_UID_FLAG | SET_GID_FLAG, uid, gid });
    });
  }

  utimes(path: string, atime: Date | number, mtime: Date | number): Promise<void> {
    const sec = (t: Date | number) => Math.floor((typeof t === 'number' ? t * 1000 : t.getTime()) / 1000);
    return this.wrap('utime', path, async () => {
      const r = await this.core.resolve(path, true);
      await this.core.fs.setattr(r.inode, this.core.creds, { setmask: SET_ATIME_FLAG | SET_MTIME_FLAG, atime: sec(atime), mtime: sec(mtime) });
      this.core.timesSet(r.inode);
    });
  }

  /** Opens (and with 'w'/'a'/'x' flags creates) a file; positional I/O on the handle. */
  open(path: string, flags: OpenFlags = 'r', mode = 0o666): Promise<MfsFileHandle> {
    return this.wrap('open', path, async () => {
      const f = parseFlags(flags);
      let inode: number | undefined;
      let attr: Attr | undefined;
      let created = false;
      try {
        const r = await this.core.resolve(path, true);
        if (f.excl) throw new StatusError(MFS_ERROR_EEXIST, 'open');
        inode = r.inode;
        attr = r.attr;
      } catch (e) {
        if (!(e instanceof StatusError && e.status === MFS_ERROR_ENOENT && f.create)) throw e;
      }
      if (inode === undefined) {
        const { parent, name } = await this.core.resolveParent(path);
        const r = await this.core.fs.create(parent, name, mode & 0o7777, 0o022, this.core.creds);
        inode = r.inode;
        attr = r.attr;
        created = true;
      }
      if (attr!.type === TYPE_DIRECTORY && f.write) throw errnoError('EISDIR', 'is a directory', 'open', path);
      if (!created) await this.core.fs.open(inode, (f.read ? OPEN_READ : 0) | (f.write ? OPEN_WRITE : 0), this.core.creds);
      this.core.opened(inode);
      const h = new MfsFileHandle(this.core, inode, path, f.read, f.write, f.append);
      if (f.trunc && !created) {
        try {
          await this.core.truncate(inode, 0);
        } catch (e) {
          await h.close().catch(() => undefined);
          throw e;
        }
      }
      return h;
    });
  }

  async readFile(path: string): Promise<Buffer> {
    const h = await this.open(path, 'r');
    try {
      return await h.readFile();
    } finally {
      await h.close();
    }
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const h = await this.open(path, 'w');
    let err: unknown;
    try {
      await h.write(buf, 0, buf.length, 0);
    } catch (e) {
      err = e;
    }
    try {
      await h.close();
    } catch (e) {
      err ??= e;
    }
    if (err) throw err;
  }

  async appendFile(path: string, data: Uint8Array | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const h = await this.open(path, 'a');
    try {
      await h.write(buf, 0, buf.length, null);
    } finally {
      await h.close();
    }
  }

  /** A readable stream of the file's bytes. */
  createReadStream(path: string, opts: { start?: number; end?: number } = {}): Readable {
    let h: MfsFileHandle | undefined;
    let pos = opts.start ?? 0;
    const end = opts.end === undefined ? Infinity : opts.end + 1;
    const rs: Readable = new Readable({
      highWaterMark: 1024 * 1024,
      construct: (cb) => {
        this.open(path, 'r').then(
          (fh) => {
            h = fh;
            cb();
          },
          (e: Error) => cb(e),
        );
      },
      read: (n) => {
        const want = Math.min(Math.max(n, 256 * 1024), end - pos);
        if (want <= 0) return void rs.push(null);
        this.core.read(h!.inode, pos, want).then(
          (d) => {
            pos += d.length;
            rs.push(d.length === 0 ? null : d);
          },
          (e) => rs.destroy(toClientError(e, 'read', path)),
        );
      },
      destroy: (err, cb) => {
        if (!h) return cb(err);
        h.close().then(
          () => cb(err),
          (e: Error) => cb(err ?? e),
        );
      },
    });
    return rs;
  }

  /** A writable stream that creates (or truncates) the file; 'finish' after data reached the chunkservers. */
  createWriteStream(path: string): Writable {
    let h: MfsFileHandle | undefined;
    let pos = 0;
    return new Writable({
      highWaterMark: 1024 * 1024,
      construct: (cb) => {
        this.open(path, 'w').then(
          (fh) => {
            h = fh;
            cb();
          },
          (e: Error) => cb(e),
        );
      },
      write: (chunk: Buffer, _enc, cb) => {
        h!.write(chunk, 0, chunk.length, pos).then(
          () => {
            pos += chunk.length;
            cb();
          },
          (e: Error) => cb(e),
        );
      },
      final: (cb) => {
        h!.close().then(
          () => cb(),
          (e: Error) => cb(e),
        );
      },
    });
  }

  getxattr(path: string, name: string): Promise<Buffer> {
    return this.wrap('getxattr', path, async () => {
      const r = await this.core.resolve(path, true);
      return Buffer.from(await this.core.fs.getxattr(r.inode, Buffer.from(name, 'utf8'), this.core.creds));
    });
  }

  listxattr(path: string): Promise<string[]> {
    return this.wrap('listxattr', path, async () => {
      const r = await this.core.resolve(path, true);
      const v = await this.core.fs.getxattr(r.inode, Buffer.alloc(0), this.core.creds);
      return v
        .toString('utf8')
        .split('\0')
        .filter((s) => s !== '');
    });
  }

  setxattr(path: string, name: string, value: Uint8Array | string, flags: 'create' | 'replace' | undefined = undefined): Promise<void> {
    return this.wrap('setxattr', path, async () => {
      const r = await this.core.resolve(path, true);
      const mode = flags === 'create' ? MFS_XATTR_CREATE_ONLY : flags === 'replace' ? MFS_XATTR_REPLACE_ONLY : MFS_XATTR_CREATE_OR_REPLACE;
      const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
      await this.core.fs.setxattr(r.inode, Buffer.from(name, 'utf8'), v, mode, this.core.creds);
    });
  }

  removexattr(path: string, name: string): Promise<void> {
    return this.wrap('removexattr', path, async () => {
      const r = await this.core.resolve(path, true);
      await this.core.fs.setxattr(r.inode, Buffer.from(name, 'utf8'), Buffer.alloc(0), MFS_XATTR_REMOVE, this.core.creds);
    });
  }

  /** Goal (number of copies) or the name of the storage class. */
  getGoal(path: string): Promise<number | string> {
    return this.wrap('getgoal', path, async () => this.core.fs.getgoal((await this.core.resolve(path, false)).inode));
  }

  setGoal(path: string, goal: number): Promise<void> {
    return this.wrap('setgoal', path, async () => {
      if (!Number.isInteger(goal) || goal < 1 || goal > 9) throw errnoError('EINVAL', 'goal must be 1..9', 'setgoal', path);
      await this.core.fs.setgoal((await this.core.resolve(path, false)).inode, goal, this.core.creds.uid);
    });
  }

  getTrashTime(path: string): Promise<number> {
    return this.wrap('gettrashtime', path, async () => this.core.fs.gettrashtime((await this.core.resolve(path, false)).inode));
  }

  setTrashTime(path: string, seconds: number): Promise<void> {
    return this.wrap('settrashtime', path, async () => {
      await this.core.fs.settrashtime((await this.core.resolve(path, false)).inode, seconds, this.core.creds.uid);
    });
  }

  statfs(): Promise<StatFs> {
    return this.wrap('statfs', undefined, () => this.core.fs.statfs());
  }

  /** Flushes every open file, closes the session. */
  close(): Promise<void> {
    return this.wrap('close', undefined, () => this.core.close());
  }
}

