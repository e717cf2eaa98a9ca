import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from '@mfs-ts/common';
import { TYPE_DIRECTORY, TYPE_FILE, type Attr } from './proto.js';
import { MfsCore, toClientError } from './core.js';
import { StatusError, errnoError, errnoNumber, statusToErrno, toFuseErrno } from './errors.js';
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
} from './fsops.js';
import { MasterProxy } from './masterproxy.js';
import { Writer, versionAtLeast } from './proto.js';

/**
 * The FUSE front end (mfsclient/mfs_fuse.c's job) over fuse-native 2.2.6 and libfuse2. fuse-native is
 * path based, so each call resolves its path through the core (with its short-lived name cache).
 *
 * fuse-native builds the libfuse option string itself from a fixed list that has no `big_writes` /
 * `max_write` (index.js `_fuseOptions`), and without them the kernel sends writes of 4 KiB. The same
 * string goes to fuse_mount and fuse_new (fuse-native.c), so MfsFuse extends the class and appends
 * our options to the list it builds: the one method meant to produce that string.
 */

const require = createRequire(import.meta.url);
// fuse-native ships no types; the surface used here is typed below.
type Cb = (code: number, ...rest: unknown[]) => void;
interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _fuseOptions(): string;
}
type FuseCtor = new (mnt: string, ops: Record<string, (...a: any[]) => void>, opts: Record<string, unknown>) => FuseInstance;
const Fuse = require('fuse-native') as FuseCtor & { unmount(mnt: string, cb: (err: Error | null) => void): void };

export { LARGE_IO_OPTIONS, fuseOptionList } from './options.js';

function makeFuseClass(extra: readonly string[]): FuseCtor {
  return class MfsFuse extends (Fuse as FuseCtor) {
    override _fuseOptions(): string {
      const base = super._fuseOptions();
      const all = [base.startsWith('-o') ? base.slice(2) : base, ...extra].filter((s) => s !== '');
      return all.length > 0 ? `-o${all.join(',')}` : '';
    }
  };
}

const S_IFMT: Record<number, number> = { 1: 0o100000, 2: 0o040000, 3: 0o120000, 4: 0o010000, 5: 0o060000, 6: 0o020000, 7: 0o140000 };

function toStat(inode: number, a: Attr): Record<string, unknown> {
  const size = a.type === TYPE_DIRECTORY ? 4096 : a.length;
  return {
    mode: (S_IFMT[a.type] ?? 0o100000) | a.mode,
    uid: a.uid,
    gid: a.gid,
    size,
    nlink: a.nlink,
    ino: inode,
    rdev: a.rdev,
    blksize: 65536,
    blocks: Math.ceil(size / 512),
    // fuse-native takes milliseconds as numbers as well as Dates (index.js toDateMS): no Date objects.
    atime: a.atime * 1000,
    mtime: a.mtime * 1000,
    ctime: a.ctime * 1000,
  };
}

interface Handle {
  inode: number;
  path: string;
  /**
   * The attributes CREATE answered with: libfuse2 asks for them (fgetattr) right after every
   * create, so the first fgetattr of a new file is answered from here instead of the master.
   */
  created?: Attr;
}

/** `.masterinfo` in the root (mfs_fuse.c MASTERINFO_*): 14 bytes, mode 0444, inode 0x7FFFFFFF. */
const MASTERINFO_PATH = '/.masterinfo';
/** Ops after which the cached attributes of their path and its directory are old. */
const MUTATING = new Set(['create', 'truncate', 'ftruncate', 'symlink', 'link', 'unlink', 'rename', 'mkdir', 'rmdir', 'mknod', 'chmod', 'chown', 'utimens', 'setxattr', 'removexattr']);
const MASTERINFO_INODE = 0x7fffffff;
const MASTERINFO_SIZE = 14;

export class MfsMount {
  private fuse: FuseInstance | undefined;
  private proxy: MasterProxy | undefined;
  private handles = new Map<number, Handle>();
  private nextFd = 1;
  private watch: NodeJS.Timeout | undefined;
  private ending: Promise<void> | undefined;
  /** Resolves when the mount is over (unmounted from outside, or stop()). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly core: MfsCore,
    readonly mountpoint: string,
    readonly fuseOpts: readonly string[],
    readonly log: Logger,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  private fail(cb: Cb, e: unknown, op: string, path?: string): void {
    // The common case (ENOENT of a lookup before every create): the errno straight from the status,
    // without building an MfsClientError whose message nobody reads.
    if (e instanceof StatusError) {
      const code = statusToErrno(e.status);
      if (code !== 'EIO') return cb(errnoNumber(code));
    }
    const ce = toClientError(e, op, path);
    if (ce.code === 'EIO') this.log.warn({ op, path, err: ce.message }, 'fuse op failed');
    cb(toFuseErrno(ce));
  }

  /** Runs `f` and answers FUSE with 0 (or f's value) or the errno. */
  private op<T>(cb: Cb, name: string, path: string, f: () => Promise<T>, ok: (v: T) => void = () => cb(0)): void {
    if (!MUTATING.has(name)) {
      f().then(ok, (e: unknown) => this.fail(cb, e, name, path));
      return;
    }
    // Done or failed, the cached attributes of the path and its directory may be old now (cachedDir).
    f().then(
      (v) => {
        this.core.changed(path);
        ok(v);
      },
      (e: unknown) => {
        this.core.changed(path);
        this.fail(cb, e, name, path);
      },
    );
  }

  /**
   * The file the last CREATE made, with the attributes it answered, for the getattr libfuse2 sends
   * right after it. Any other op in between forgets it (ops() wraps every handler but getattr), so
   * it never answers for a file that something could have changed since.
   */
  private justCreated: { path: string; inode: number; attr: Attr } | undefined;

  private ops(): Record<string, (...a: any[]) => void> {
    const all = this.handlers();
    for (const [name, f] of Object.entries(all)) {
      if (name === 'getattr') continue;
      all[name] = (...a: any[]) => {
        this.justCreated = undefined;
        f(...a);
      };
    }
    return all;
  }

  private handlers(): Record<string, (...a: any[]) => void> {
    const c = this.core;
    const parentOf = (p: string) => c.resolveParent(p);
    return {
      init: (cb: Cb) => cb(0),
      statfs: (_p: string, cb: Cb) =>
        this.op(cb, 'statfs', '/', () => c.fs.statfs(), (s) => {
          const B = 65536n;
          const clamp = (v: bigint) => Number(v > 0xffffffffn ? 0xffffffffn : v);
          cb(0, {
            bsize: 65536, frsize: 65536, blocks: clamp(s.totalspace / B), bfree: clamp(s.freespace / B), bavail: clamp(s.availspace / B),
            files: 0x7fffffff, ffree: Math.max(0, 0x7fffffff - s.inodes), favail: Math.max(0, 0x7fffffff - s.inodes), fsid: 0, flag: 0, namemax: 255,
          });
        }),
      getattr: (p: string, cb: Cb) => {
        if (p === MASTERINFO_PATH) return cb(0, this.masterInfoStat());
        const j = this.justCreated;
        if (j !== undefined && j.path === p) {
          // libfuse2 asks for the new file's attributes by path right after CREATE: its reply has them.
          this.justCreated = undefined;
          return cb(0, toStat(j.inode, c.fixLength(j.inode, j.attr)));
        }
        const d = c.cachedDir(p);
        if (d) return cb(0, toStat(d.inode, d.attr));
        this.op(cb, 'getattr', p, () => c.resolve(p, false), (r) => cb(0, toStat(r.inode, r.attr)));
      },
      fgetattr: (p: string, fd: number, cb: Cb) => {
        const h = this.handles.get(fd);
        if (p === MASTERINFO_PATH) return cb(0, this.masterInfoStat());
        if (!h) return this.op(cb, 'getattr', p, () => c.resolve(p, false), (r) => cb(0, toStat(r.inode, r.attr)));
        if (h.created) {
          const a = c.fixLength(h.inode, h.created);
          h.created = undefined;
          return cb(0, toStat(h.inode, a));
        }
        this.op(cb, 'fgetattr', p, () => c.getattr(h.inode), (a) => cb(0, toStat(h.inode, a)));
      },
      access: (_p: string, _mode: number, cb: Cb) => cb(0),
      readdir: (p: string, cb: Cb) =>
        this.op(
          cb,
          'readdir',
          p,
          async () => {
            const d = await c.resolve(p, true);
            if (d.attr.type !== TYPE_DIRECTORY) throw errnoError('ENOTDIR', 'not a directory', 'readdir', p);
            return c.fs.readdir(d.inode, c.creds);
          },
          (list) => cb(0, list.map((e) => e.name.toString('utf8'))),
        ),
      open: (p: string, flags: number, cb: Cb) => {
        if (p === MASTERINFO_PATH) {
          if ((flags & 3) !== 0) return cb(errnoNumber('EACCES'));
          return cb(0, this.newHandle(MASTERINFO_INODE, p, false));
        }
        this.op(
          cb,
          'open',
          p,
          async () => {
            const r = await c.resolve(p, true);
            const acc = flags & 3;
            await c.fs.open(r.inode, acc === 0 ? OPEN_READ : acc === 1 ? OPEN_WRITE : OPEN_READ | OPEN_WRITE, c.creds);
            return this.newHandle(r.inode, p);
          },
          (fd) => cb(0, fd),
        );
      },
      create: (p: string, mode: number, cb: Cb) =>
        this.op(
          cb,
          'create',
          p,
          async () => {
            const { parent, name } = await parentOf(p);
            const r = await c.fs.create(parent, name, mode & 0o7777, 0, c.creds);
            c.forgetPath(p);
            const fd = this.newHandle(r.inode, p);
            this.handles.get(fd)!.created = r.attr;
            this.justCreated = { path: p, inode: r.inode, attr: r.attr };
            return fd;
          },
          (fd) => cb(0, fd),
        ),
      read: (p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(errnoNumber('EBADF'));
        if (h.inode === MASTERINFO_INODE) {
          const mi = this.masterInfo();
          const n = Math.max(0, Math.min(len, mi.length - pos));
          if (n > 0) mi.copy(buf, 0, pos, pos + n);
          return cb(n);
        }
        c.read(h.inode, pos, len).then(
          (d) => {
            d.copy(buf, 0, 0, Math.min(d.length, len));
            cb(Math.min(d.length, len));
          },
          (e: unknown) => this.fail(cb, e, 'read', p),
        );
      },
      write: (p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(errnoNumber('EBADF'));
        // The core copies the data (the buffer is only valid during this call).
        c.write(h.inode, pos, buf.subarray(0, len)).then(
          () => cb(len),
          (e: unknown) => this.fail(cb, e, 'write', p),
        );
      },
      flush: (p: string, fd: number, cb: Cb) => {
        const h = this.handles.get(fd);
        if (!h || h.inode === MASTERINFO_INODE || c.writes.idle(h.inode)) return cb(0);
        this.op(cb, 'flush', p, () => c.flush(h.inode));
      },
      fsync: (p: string, fd: number, _ds: unknown, cb: Cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(0);
        this.op(cb, 'fsync', p, () => c.flush(h.inode));
      },
      release: (p: string, fd: number, cb: Cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(0);
        this.handles.delete(fd);
        if (h.inode === MASTERINFO_INODE || c.releasedNow(h.inode)) return cb(0);
        this.op(cb, 'release', p, () => c.released(h.inode));
      },
      truncate: (p: string, size: number, cb: Cb) =>
        this.op(cb, 'truncate', p, async () => {
          const r = await c.resolve(p, true);
          await c.truncate(r.inode, size);
        }),
      ftruncate: (p: string, fd: number, size: number, cb: Cb) => {
        const h = this.handles.get(fd);
        this.op(cb, 'ftruncate', p, async () => {
          const inode = h ? h.inode : (await c.resolve(p, true)).inode;
          await c.truncate(inode, size);
        });
      },
      readlink: (p: string, cb: Cb) =>
        this.op(
          cb,
          'readlink',
          p,
          async () => c.fs.readlink((await c.resolve(p, false)).inode),
          (t) => cb(0, t.toString('utf8')),
        ),
      symlink: (target: string, p: string, cb: Cb) =>
        this.op(cb, 'symlink', p, async () => {
          const { parent, name } = await parentOf(p);
          await c.fs.symlink(parent, name, Buffer.from(target, 'utf8'), c.creds);
        }),
      link: (src: string, dst: string, cb: Cb) =>
        this.op(cb, 'link', dst, async () => {
          const s = await c.resolve(src, false);
          const { parent, name } = await parentOf(dst);
          c.changed(src);
          await c.fs.link(s.inode, parent, name, c.creds);
          c.changed(src);
        }),
      unlink: (p: string, cb: Cb) =>
        this.op(cb, 'unlink', p, async () => {
          const { parent, name } = await parentOf(p);
          await c.fs.unlink(parent, name, c.creds);
          c.forgetPath(p);
        }),
      rename: (src: string, dst: string, cb: Cb) =>
        this.op(cb, 'rename', src, async () => {
          const a = await parentOf(src);
          const b = await parentOf(dst);
          c.changed(dst);
          await c.fs.rename(a.parent, a.name, b.parent, b.name, c.creds);
          c.changed(dst);
          c.forgetPath(src);
          c.forgetPath(dst);
        }),
      mkdir: (p: string, mode: number, cb: Cb) =>
        this.op(cb, 'mkdir', p, async () => {
          const { parent, name } = await parentOf(p);
          await c.fs.mkdir(parent, name, mode & 0o7777, 0, c.creds);
        }),
      rmdir: (p: string, cb: Cb) =>
        this.op(cb, 'rmdir', p, async () => {
          const { parent, name } = await parentOf(p);
          await c.fs.rmdir(parent, name, c.creds);
          c.forgetPath(p);
        }),
      mknod: (p: string, mode: number, dev: number, cb: Cb) =>
        this.op(cb, 'mknod', p, async () => {
          const { parent, name } = await parentOf(p);
          const fmt = mode & 0o170000;
          const type = fmt === 0o010000 ? 4 : fmt === 0o060000 ? 5 : fmt === 0o020000 ? 6 : fmt === 0o140000 ? 7 : TYPE_FILE;
          await c.fs.mknod(parent, name, type, mode & 0o7777, 0, c.creds, dev);
        }),
      chmod: (p: string, mode: number, cb: Cb) =>
        this.op(cb, 'chmod', p, async () => {
          await c.fs.setattr((await c.resolve(p, true)).inode, c.creds, { setmask: SET_MODE_FLAG, mode: mode & 0o7777 });
        }),
      chown: (p: string, uid: number, gid: number, cb: Cb) =>
        this.op(cb, 'chown', p, async () => {
          let mask = 0;
          if (uid !== 0xffffffff && uid !== -1) mask |= SET_UID_FLAG;
          if (gid !== 0xffffffff && gid !== -1) mask |= SET_GID_FLAG;
          await c.fs.setattr((await c.resolve(p, true)).inode, c.creds, { setmask: mask, uid, gid });
        }),
      utimens: (p: string, atime: unknown, mtime: unknown, cb: Cb) =>
        this.op(cb, 'utimens', p, async () => {
          const sec = (t: unknown) => Math.floor((t instanceof Date ? t.getTime() : Number(t)) / 1000);
          const r = await c.resolve(p, true);
          await c.fs.setattr(r.inode, c.creds, { setmask: SET_ATIME_FLAG | SET_MTIME_FLAG, atime: sec(atime), mtime: sec(mtime) });
          c.timesSet(r.inode);
        }),
      getxattr: (p: string, name: string, _pos: number, cb: Cb) =>
        this.op(
          cb,
          'getxattr',
          p,
          async () => Buffer.from(await c.fs.getxattr((await c.resolve(p, true)).inode, Buffer.from(name, 'utf8'), c.creds)),
          (v) => cb(0, v),
        ),
      listxattr: (p: string, cb: Cb) =>
        this.op(
          cb,
          'listxattr',
          p,
          async () => (await c.fs.getxattr((await c.resolve(p, true)).inode, Buffer.alloc(0), c.creds)).toString('utf8').split('\0').filter((s) => s !== ''),
          (l) => cb(0, l),
        ),
      setxattr: (p: string, name: string, value: Buffer, _pos: number, flags: number, cb: Cb) =>
        this.op(cb, 'setxattr', p, async () => {
          const mode = flags & 1 ? MFS_XATTR_CREATE_ONLY : flags & 2 ? MFS_XATTR_REPLACE_ONLY : MFS_XATTR_CREATE_OR_REPLACE;
          await c.fs.setxattr((await c.resolve(p, true)).inode, Buffer.from(name, 'utf8'), Buffer.from(value), mode, c.creds);
        }),
      removexattr: (p: string, name: string, cb: Cb) =>
        this.op(cb, 'removexattr', p, async () => {
          await c.fs.setxattr((await c.resolve(p, true)).inode, Buffer.from(name, 'utf8'), Buffer.alloc(0), MFS_XATTR_REMOVE, c.creds);
        }),
    };
  }

  private newHandle(inode: number, path: string, track = true): number {
    let fd = this.nextFd++;
    if (this.nextFd > 0x7fffffff) this.nextFd = 1;
    while (this.handles.has(fd)) fd = this.nextFd++;
    this.handles.set(fd, { inode, path });
    if (track) this.core.opened(inode);
    return fd;
  }

  /** `ip:32 port:16 sessionid:32 version:32`: the proxy's address once it runs (fs_getmasterlocation + masterproxy_getlocation). */
  private masterInfo(): Buffer {
    const m = this.core.master;
    const v = m.masterVersion;
    const useProxy = this.proxy !== undefined && versionAtLeast(v, 1, 6, 24);
    const ipn = useProxy ? this.proxy!.ip : 0;
    const port = useProxy ? this.proxy!.port : this.core.opts.port;
    const w = new Writer(MASTERINFO_SIZE);
    w.u32(ipn).u16(port).u32(m.session?.sessionid ?? 0).u32(v);
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  private masterInfoStat(): Record<string, unknown> {
    const t = new Date(0);
    return { mode: 0o100444, uid: 0, gid: 0, size: MASTERINFO_SIZE, nlink: 1, ino: MASTERINFO_INODE, blksize: 4096, blocks: 1, atime: t, mtime: t, ctime: t };
  }

  /** Mounts; resolves once the kernel has the mount. */
  async start(): Promise<void> {
    const proxy = new MasterProxy(this.core.master, this.log);
    try {
      await proxy.start();
      proxy.onSnapshot = () => this.core.forgetAll();
      this.proxy = proxy;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "master proxy module: can't listen on socket");
    }
    const FuseClass = makeFuseClass(this.fuseOpts);
    const f = new FuseClass(this.mountpoint, this.ops(), { timeout: false, force: true, mkdir: false });
    this.fuse = f;
    await new Promise<void>((resolve, reject) => f.mount((err) => (err ? reject(err) : resolve())));
    this.log.info({ mountpoint: this.mountpoint, options: this.fuseOpts.join(',') }, 'mounted');
    // Notice an unmount done from outside (umount / fusermount -u): then flush and end the session.
    this.watch = setInterval(() => {
      if (!isMounted(this.mountpoint)) {
        this.log.info({ mountpoint: this.mountpoint }, 'unmounted from outside');
        void this.stop(false);
      }
    }, 500);
  }

  /** Flushes, unmounts (unless already unmounted), closes the session. Idempotent. */
  stop(unmount = true): Promise<void> {
    this.ending ??= (async () => {
      if (this.watch) clearInterval(this.watch);
      this.proxy?.stop();
      try {
        await this.core.writes.flushAll();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'flush at unmount failed');
      }
      if (unmount && this.fuse && isMounted(this.mountpoint)) {
        await new Promise<void>((r) => this.fuse!.unmount(() => r()));
      }
      try {
        await this.core.close();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'closing the session failed');
      }
      this.resolveDone();
    })();
    return this.ending;
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function isMounted(dir: string): boolean {
  try {
    const text = readFileSync('/proc/self/mounts', 'utf8');
    for (const line of text.split('\n')) {
      const mp = line.split(' ')[1];
      if (mp !== undefined && unescapeMount(mp) === dir) return true;
    }
  } catch {
    // no /proc: assume mounted
    return true;
  }
  return false;
}
