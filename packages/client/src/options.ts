import { passwordDigest } from '@mfs-ts/protocol';

/**
 * Client options, with mfsmount's names and defaults (mfsclient/mfsmount.c: the MFS_OPT table and
 * the defaults set in main). One frozen object, built by parseMountArgs (command line) or
 * clientOptions (Node API).
 */
export type CacheMode = 'AUTO' | 'YES' | 'NO' | 'DIRECT';

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly subfolder: string;
  /** MD5 of the password (mfspassword= is hashed at once; mfsmd5pass= gives it in hex). */
  readonly passwordDigest: Buffer | undefined;
  readonly meta: boolean;
  readonly readOnly: boolean;
  /** mfsioretries: attempts of a master request or chunk operation before EIO. */
  readonly ioRetries: number;
  /** mfstimeout: whole-operation timeout in seconds, 0 = none. */
  readonly timeout: number;
  readonly cacheMode: CacheMode;
  readonly attrCacheTo: number;
  readonly entryCacheTo: number;
  readonly dirEntryCacheTo: number;
  /** Write-back buffer per client, bytes (mfswritecachesize, MiB). */
  readonly writeCacheSize: number;
  /** Read-ahead buffers, bytes (mfsreadaheadsize, MiB). */
  readonly readAheadSize: number;
  /**
   * mfs-ts only (`-o mfswriteworker=0|1`, API `writeWorker`): chunkserver write connections (crc32,
   * socket writes) in a worker thread, as mfsmount's write workers, so the thread answering FUSE
   * does not do them. Default on.
   */
  readonly writeWorker: boolean;
  /** Session info string the master shows in its session list (mfsmount sends the mount point). */
  readonly info: string;
}

export const DEFAULT_OPTIONS: ClientOptions = Object.freeze({
  host: 'mfsmaster',
  port: 9421,
  subfolder: '/',
  passwordDigest: undefined,
  meta: false,
  readOnly: false,
  ioRetries: 30,
  timeout: 0,
  cacheMode: 'AUTO',
  attrCacheTo: 1.0,
  entryCacheTo: 0.0,
  dirEntryCacheTo: 1.0,
  writeCacheSize: 256 * 1024 * 1024,
  readAheadSize: 256 * 1024 * 1024,
  writeWorker: true,
  info: 'mfs-ts',
});

export class OptionError extends Error {
  readonly code = 'MFS_CLIENT_BAD_OPTION';
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

function cacheMode(v: string): CacheMode {
  switch (v.toUpperCase()) {
    case 'AUTO':
      return 'AUTO';
    case 'YES':
    case 'ALWAYS':
      return 'YES';
    case 'NO':
    case 'NONE':
    case 'NEVER':
      return 'NO';
    case 'DIRECT':
      return 'DIRECT';
  }
  throw new OptionError(`unrecognized cachemode option: ${v}`);
}

function uint(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new OptionError(`${name}: not a non-negative integer: ${v}`);
  return Number(v);
}

function seconds(name: string, v: string): number {
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) throw new OptionError(`${name}: not a number of seconds: ${v}`);
  return n;
}

function md5hex(v: string): Buffer {
  if (!/^[0-9a-fA-F]{32}$/.test(v)) throw new OptionError('mfsmd5pass: expected 32 hex digits');
  return Buffer.from(v, 'hex');
}

export function normalizeSubfolder(s: string): string {
  let p = s.trim();
  if (!p.startsWith('/')) p = `/${p}`;
  return p;
}

/** Applies one `-o` option; returns false for an option that is not ours (it goes to FUSE). */
function applyMfsOption(o: Record<string, unknown>, key: string, value: string | undefined): boolean {
  const need = (): string => {
    if (value === undefined) throw new OptionError(`option ${key} needs a value (${key}=...)`);
    return value;
  };
  switch (key) {
    case 'mfsmaster':
      o.host = need();
      return true;
    case 'mfsport':
      o.port = uint(key, need());
      if ((o.port as number) < 1 || (o.port as number) > 65535) throw new OptionError(`mfsport: out of range: ${value}`);
      return true;
    case 'mfssubfolder':
      o.subfolder = normalizeSubfolder(need());
      return true;
    case 'mfspassword':
      o.passwordDigest = passwordDigest(need());
      return true;
    case 'mfsmd5pass':
      o.passwordDigest = md5hex(need());
      return true;
    case 'mfscachemode':
      o.cacheMode = cacheMode(need());
      return true;
    case 'mfsioretries':
      o.ioRetries = uint(key, need());
      return true;
    case 'mfstimeout':
      o.timeout = uint(key, need());
      return true;
    case 'mfsattrcacheto':
      o.attrCacheTo = seconds(key, need());
      return true;
    case 'mfsentrycacheto':
      o.entryCacheTo = seconds(key, need());
      return true;
    case 'mfsdirentrycacheto':
      o.dirEntryCacheTo = seconds(key, need());
      return true;
    case 'mfswritecachesize':
      o.writeCacheSize = uint(key, need()) * 1024 * 1024;
      return true;
    case 'mfswriteworker':
      if (value !== undefined && value !== '0' && value !== '1') throw new OptionError(`mfswriteworker: expected 0 or 1: ${value}`);
      o.writeWorker = value !== '0';
      return true;
    case 'mfsreadaheadsize':
      o.readAheadSize = uint(key, need()) * 1024 * 1024;
      return true;
    case 'mfsmeta':
      o.meta = true;
      return true;
    case 'ro':
      o.readOnly = true;
      return false; // also a FUSE/kernel option
    case 'rw':
      o.readOnly = false;
      return false;
  }
  return false;
}

export interface MountArgs {
  mountpoint: string;
  options: ClientOptions;
  foreground: boolean;
  /** `-p`: ask for the password on the terminal. */
  askPassword: boolean;
  /** Options that are not ours, passed through to libfuse's mount options. */
  fuseOptions: string[];
  help: boolean;
  version: boolean;
}

/**
 * Parses `mfsmount-ts MOUNTPOINT [-H host] [-P port] [-S subfolder] [-p] [-f] [-o opt,...]` (the
 * option letters of mfsmount.c's FUSE_OPT_KEY table). Unknown `-o` options go to FUSE.
 */
export function parseMountArgs(argv: readonly string[]): MountArgs {
  const o: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  const fuseOptions: string[] = [];
  let mountpoint: string | undefined;
  let foreground = false;
  let askPassword = false;
  let help = false;
  let version = false;
  const takeValue = (i: number, flag: string, inline: string): [string, number] => {
    if (inline !== '') return [inline, i];
    const v = argv[i + 1];
    if (v === undefined) throw new OptionError(`${flag} needs an argument`);
    return [v, i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') help = true;
    else if (a === '-V' || a === '--version') version = true;
    else if (a === '-f') foreground = true;
    else if (a === '-d') {
      foreground = true;
      fuseOptions.push('debug');
    } else if (a === '-p' || a === '--password') askPassword = true;
    else if (a === '-m' || a === '--meta') o.meta = true;
    else if (a === '-s') {
      // single-threaded: meaningless here, accepted for compatibility
    } else if (/^-[HPSo]/.test(a)) {
      const flag = a.slice(0, 2);
      const [v, ni] = takeValue(i, flag, a.slice(2));
      i = ni;
      if (flag === '-H') applyMfsOption(o, 'mfsmaster', v);
      else if (flag === '-P') applyMfsOption(o, 'mfsport', v);
      else if (flag === '-S') applyMfsOption(o, 'mfssubfolder', v);
      else {
        for (const item of v.split(',')) {
          if (item === '') continue;
          const eq = item.indexOf('=');
          const key = eq < 0 ? item : item.slice(0, eq);
          const val = eq < 0 ? undefined : item.slice(eq + 1);
          if (!applyMfsOption(o, key, val)) {
            if (key.startsWith('mfs')) throw new OptionError(`unknown option: ${key}`);
            fuseOptions.push(item);
          }
        }
      }
    } else if (a.startsWith('-')) {
      throw new OptionError(`unknown argument: ${a}`);
    } else if (mountpoint === undefined) {
      mountpoint = a;
    } else {
      throw new OptionError(`unexpected argument: ${a}`);
    }
  }
  if (mountpoint === undefined && !help && !version) throw new OptionError('missing mount point');
  return {
    mountpoint: mountpoint ?? '',
    options: Object.freeze({ ...(o as unknown as ClientOptions), info: mountpoint ?? 'mfs-ts' }),
    foreground,
    askPassword,
    fuseOptions,
    help,
    version,
  };
}

/** Options for the Node API: mfsmount's names in camelCase, a plain password or an MD5 digest. */
export interface ConnectOptions {
  host?: string;
  port?: number;
  subfolder?: string;
  password?: string;
  md5pass?: string;
  meta?: boolean;
  readOnly?: boolean;
  ioRetries?: number;
  timeout?: number;
  writeCacheSize?: number;
  readAheadSize?: number;
  writeWorker?: boolean;
  info?: string;
}

export function clientOptions(c: ConnectOptions): ClientOptions {
  const o: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  if (c.host !== undefined) o.host = c.host;
  if (c.port !== undefined) applyMfsOption(o, 'mfsport', String(c.port));
  if (c.subfolder !== undefined) o.subfolder = normalizeSubfolder(c.subfolder);
  if (c.password !== undefined) o.passwordDigest = passwordDigest(c.password);
  if (c.md5pass !== undefined) o.passwordDigest = md5hex(c.md5pass);
  if (c.meta !== undefined) o.meta = c.meta;
  if (c.readOnly !== undefined) o.readOnly = c.readOnly;
  if (c.ioRetries !== undefined) applyMfsOption(o, 'mfsioretries', String(c.ioRetries));
  if (c.timeout !== undefined) o.timeout = c.timeout;
  if (c.writeCacheSize !== undefined) o.writeCacheSize = c.writeCacheSize;
  if (c.readAheadSize !== undefined) o.readAheadSize = c.readAheadSize;
  if (c.writeWorker !== undefined) o.writeWorker = c.writeWorker;
  o.info = c.info ?? 'mfs-ts node api';
  return Object.freeze(o as unknown as ClientOptions);
}

/** Options libfuse2 must get for large I/O (128 KiB requests instead of 4 KiB). */
export const LARGE_IO_OPTIONS = ['big_writes', 'max_write=131072', 'max_read=131072'];

/** libfuse2's page-cache options for mfscachemode (mfsmount's keep_cache / direct_io choices). */
const CACHE_MODE_OPTIONS: Record<CacheMode, string[]> = {
  AUTO: ['auto_cache'],
  YES: ['kernel_cache'],
  NO: [],
  DIRECT: ['direct_io'],
};

/**
 * The libfuse option list for a mount (what mount.ts appends to fuse-native's own): large I/O,
 * `use_ino` (st_ino is the MooseFS inode: the tools look for .masterinfo by inode 0x7FFFFFFF and
 * stop at the root by inode 1, mfstools_master.c), the kernel caches from mfsattrcacheto /
 * mfsentrycacheto / mfscachemode, then the user's options (which win).
 */
export function fuseOptionList(opts: ClientOptions, user: readonly string[]): string[] {
  const out = [
    ...LARGE_IO_OPTIONS,
    'use_ino',
    `fsname=mfs#${opts.host}:${opts.port}`,
    'subtype=mfs',
    'allow_other',
    // fuse-native gives the handlers no caller context (uid/gid/pid), so every request reaches the
    // master as uid 0; the kernel's mode-bit checks keep other users to what the modes allow.
    'default_permissions',
    `attr_timeout=${opts.attrCacheTo}`,
    `entry_timeout=${opts.entryCacheTo}`,
    ...CACHE_MODE_OPTIONS[opts.cacheMode],
  ];
  for (const u of user) {
    const k = u.split('=')[0]!;
    const i = out.findIndex((o) => o.split('=')[0] === k);
    if (i >= 0) out[i] = u;
    else out.push(u);
  }
  if (opts.readOnly && !out.includes('ro')) out.push('ro');
  // `-o nodefault_permissions` (ours) leaves the checks to the master, as root.
  if (out.includes('nodefault_permissions')) return out.filter((o) => o !== 'default_permissions' && o !== 'nodefault_permissions');
  return out;
}
