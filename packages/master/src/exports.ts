import {
  SESFLAG_READONLY,
  SESFLAG_DYNAMICIP,
  SESFLAG_IGNOREGID,
  SESFLAG_ADMIN,
  SESFLAG_MAPALL,
} from '@mfs-ts/protocol';
import { readFileSync } from 'node:fs';
import { md5, passcodeEquals, zlibCrc32 } from './util.js';
import {
  MFS_ERROR_BADPASSWORD,
  MFS_ERROR_EACCES,
  MFS_ERROR_NOPASSWORD,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';

/**
 * mfsexports.cfg: which clients may mount what, with which session options. Syntax, defaults and the
 * ranking of several matching lines follow mfsmaster/exports.c of MooseFS 3.0.117.
 */

// Session flags (SESFLAG_* in mfscommon/MFSCommunication.h).

// disable= names and their bits (DISABLE_BIT_* in MFSCommunication.h).
export const DISABLE_BITS: Readonly<Record<string, number>> = {
  chown: 0, chmod: 1, symlink: 2, mkfifo: 3, mkdev: 4, mksock: 5, mkdir: 6, unlink: 7, rmdir: 8,
  rename: 9, move: 10, link: 11, create: 12, readdir: 13, read: 14, write: 15, truncate: 16,
  setlength: 17, appendchunks: 18, snapshot: 19, settrash: 20, setsclass: 21, seteattr: 22,
  setxattr: 23, setfacl: 24,
};
export const disableMask = (name: keyof typeof DISABLE_BITS | string): number => 2 ** (DISABLE_BITS[name] ?? 31) >>> 0;

export interface ExportEntry {
  /** 1-based line in the file. */
  lineno: number;
  fromip: number;
  toip: number;
  /** Path without leading or trailing '/', as bytes ('' = the root). Empty for meta entries. */
  path: Buffer;
  meta: boolean;
  alldirs: boolean;
  needpassword: boolean;
  passwordDigest: Buffer;
  /** Minimum client version as maj<<16|mid<<8|min (note: not the doubled wire form). */
  minversion: number;
  rootredefined: boolean;
  sesflags: number;
  umask: number;
  mingoal: number;
  maxgoal: number;
  mintrashtime: number;
  maxtrashtime: number;
  rootuid: number;
  rootgid: number;
  mapalluid: number;
  mapallgid: number;
  disables: number;
}

/** What a granted session gets (exports_check's out-parameters). */
export interface ExportGrant {
  entry: ExportEntry;
  sesflags: number;
  umask: number;
  rootuid: number;
  rootgid: number;
  mapalluid: number;
  mapallgid: number;
  mingoal: number;
  maxgoal: number;
  mintrashtime: number;
  maxtrashtime: number;
  disables: number;
}

export interface ExportsWarning {
  lineno: number;
  message: string;
}

/** User and group name resolution (getpwnam/getgrnam/getpwuid); the default reads /etc/passwd and /etc/group. */
export interface Accounts {
  userByName(name: string): { uid: number; gid: number } | undefined;
  userById(uid: number): { uid: number; gid: number } | undefined;
  groupByName(name: string): number | undefined;
}

function readColonFile(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export function systemAccounts(passwd = '/etc/passwd', group = '/etc/group'): Accounts {
  const users = readColonFile(passwd).map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
  const groups = readColonFile(group).map((f) => ({ name: f[0]!, gid: Number(f[2]) }));
  return {
    userByName: (n) => users.find((u) => u.name === n),
    userById: (id) => users.find((u) => u.uid === id),
    groupByName: (n) => groups.find((g) => g.name === n)?.gid,
  };
}

function defaultEntry(): ExportEntry {
  return {
    lineno: 0,
    fromip: 0,
    toip: 0,
    path: Buffer.alloc(0),
    meta: false,
    alldirs: false,
    needpassword: false,
    passwordDigest: Buffer.alloc(16),
    minversion: 0,
    rootredefined: false,
    sesflags: SESFLAG_READONLY,
    umask: 0,
    mingoal: 1,
    maxgoal: 9,
    mintrashtime: 0,
    maxtrashtime: 0xffffffff,
    rootuid: 999,
    rootgid: 999,
    mapalluid: 999,
    mapallgid: 999,
    disables: 0,
  };
}

const OCTET = /^(\d{1,3})$/;

function parseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let ip = 0;
  for (const p of parts) {
    if (!OCTET.test(p) && !/^\d+$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    ip = ip * 256 + v;
  }
  return ip >>> 0;
}

/** `*`, `A.B.C.D`, `A.B.C.D/bits`, `A.B.C.D/M.A.S.K`, `A.B.C.D-E.F.G.H` -> [from, to] (exports_parsenet). */
export function parseNet(net: string): [number, number] | undefined {
  if (net === '*') return [0, 0xffffffff];
  const slash = net.indexOf('/');
  const dash = net.indexOf('-');
  if (slash < 0 && dash < 0) {
    const ip = parseIp(net);
    return ip === undefined ? undefined : [ip, ip];
  }
  if (slash >= 0) {
    const ip = parseIp(net.slice(0, slash));
    const m = net.slice(slash + 1);
    if (ip === undefined) return undefined;
    let mask: number | undefined;
    if (/^\d+$/.test(m)) {
      const bits = Number(m);
      if (bits > 32) return undefined;
      mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    } else mask = parseIp(m);
    if (mask === undefined) return undefined;
    const from = (ip & mask) >>> 0;
    return [from, (from | ~mask) >>> 0];
  }
  const a = parseIp(net.slice(0, dash));
  const b = parseIp(net.slice(dash + 1));
  if (a === undefined || b === undefined) return undefined;
  return [a, b];
}

/** `[#w][#d][#h][#m][#[s]]` (units in that order, each at most once) or a plain number of seconds. */
export function parseTime(s: string): number | undefined {
  const t = s.toUpperCase();
  const units: Record<string, [number, number]> = { W: [0x10, 604800], D: [0x08, 86400], H: [0x04, 3600], M: [0x02, 60], S: [0x01, 1] };
  let total = 0;
  let bits = 0;
  let i = 0;
  if (t.length === 0) return undefined;
  while (i < t.length) {
    const m = /^\d+/.exec(t.slice(i));
    if (!m) return undefined;
    const v = Number(m[0]);
    if (v > 0x100000000) return undefined;
    i += m[0].length;
    const u = t[i];
    if (u === undefined) {
      if (bits) return undefined;
      total += v;
    } else {
      const def = units[u];
      if (!def) return undefined;
      // Units must come in decreasing order, each once.
      if (bits & ((def[0] << 1) - 1)) return undefined;
      bits |= def[0];
      total += v * def[1];
      i++;
    }
    if (total > 0x100000000) return undefined;
  }
  return total >>> 0; // MooseFS keeps the low 32 bits
}

/** `x`, `x.y`, `x.y.z` -> x<<16|y<<8|z (exports_parseversion). */
export function parseMinVersion(s: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+)(?:\.(\d+))?)?$/.exec(s);
  if (!m) return undefined;
  const p = [m[1], m[2], m[3]].map((x) => (x === undefined ? 0 : Number(x)));
  if (p.some((x) => x > 255)) return undefined;
  return (p[0]! << 16) | (p[1]! << 8) | p[2]!;
}

function parseUidGid(spec: string, acc: Accounts): { uid: number; gid: number } | string {
  const colon = spec.indexOf(':');
  const u = colon >= 0 ? spec.slice(0, colon) : spec;
  let gid: number | undefined;
  if (colon >= 0) {
    const g = spec.slice(colon + 1);
    if (/^\d*$/.test(g)) gid = g === '' ? 0 : Number(g);
    else {
      gid = acc.groupByName(g);
      if (gid === undefined) return `can't find group named '${g}'`;
    }
  }
  if (!/^\d*$/.test(u)) {
    const pw = acc.userByName(u);
    if (!pw) return `can't find user named '${u}'`;
    return { uid: pw.uid, gid: gid ?? pw.gid };
  }
  const uid = u === '' ? 0 : Number(u);
  if (gid !== undefined) return { uid, gid };
  const pw = acc.userById(uid);
  if (!pw) return `can't determine gid, because can't find user with uid ${uid}`;
  return { uid: pw.uid, gid: pw.gid };
}

/** Splits on `delim` and trims blanks around each piece (exports_strsep). */
function splitTrim(s: string, delim: string): string[] {
  return s.split(delim).map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''));
}

function parseOptions(opts: string, e: ExportEntry, acc: Accounts, warn: (m: string) => void): boolean {
  const metaIgnored = (p: string): boolean => {
    if (e.meta) warn(`meta option ignored: ${p}`);
    return e.meta;
  };
  for (const p of splitTrim(opts, ',')) {
    const eq = p.indexOf('=');
    const key = eq >= 0 ? p.slice(0, eq + 1) : p;
    const val = eq >= 0 ? p.slice(eq + 1) : '';
    switch (key) {
      case 'ro':
      case 'readonly':
        e.sesflags |= SESFLAG_READONLY;
        break;
      case 'rw':
      case 'readwrite':
        e.sesflags &= ~SESFLAG_READONLY;
        break;
      case 'ignoregid':
        if (!metaIgnored(p)) e.sesflags |= SESFLAG_IGNOREGID;
        break;
      case 'alldirs':
        if (!metaIgnored(p)) e.alldirs = true;
        break;
      case 'admin':
      case 'canchangequota':
        if (!metaIgnored(p)) e.sesflags |= SESFLAG_ADMIN;
        break;
      case 'dynamicip':
        e.sesflags |= SESFLAG_DYNAMICIP;
        break;
      case 'disable=':
        if (!metaIgnored(p)) {
          for (const d of splitTrim(val, ':')) {
            if (d in DISABLE_BITS) e.disables = (e.disables | disableMask(d)) >>> 0;
            else warn(`unknown disable command '${d}' (ignored)`);
          }
        }
        break;
      case 'maproot=':
      case 'mapall=': {
        if (metaIgnored(p)) break;
        const r = parseUidGid(val, acc);
        if (typeof r === 'string') {
          warn(`mfsexports/${key.slice(0, -1)}: ${r}`);
          return false;
        }
        if (key === 'maproot=') {
          e.rootuid = r.uid;
          e.rootgid = r.gid;
          e.rootredefined = true;
        } else {
          e.mapalluid = r.uid;
          e.mapallgid = r.gid;
          e.sesflags |= SESFLAG_MAPALL;
        }
        break;
      }
      case 'md5pass=':
        if (!/^[0-9a-fA-F]{32}$/.test(val)) {
          warn(`incorrect md5pass definition (${p})`);
          return false;
        }
        e.passwordDigest = Buffer.from(val, 'hex');
        e.needpassword = true;
        break;
      case 'password=':
        e.passwordDigest = md5(Buffer.from(val, 'latin1'));
        e.needpassword = true;
        break;
      case 'minversion=': {
        const v = parseMinVersion(val);
        if (v === undefined) {
          warn(`incorrect minversion definition (${p})`);
          return false;
        }
        e.minversion = v;
        break;
      }
      case 'mingoal=':
      case 'maxgoal=': {
        if (!/^[1-9]$/.test(val)) {
          warn(`incorrect ${key.slice(0, -1)} definition (${p})`);
          return false;
        }
        if (key === 'mingoal=') e.mingoal = Number(val);
        else e.maxgoal = Number(val);
        if (e.mingoal > e.maxgoal) {
          warn(`mingoal>maxgoal in definition (${p})`);
          return false;
        }
        break;
      }
      case 'mintrashtime=':
      case 'maxtrashtime=': {
        const t = parseTime(val);
        if (t === undefined) {
          warn(`incorrect ${key.slice(0, -1)} definition (${p})`);
          return false;
        }
        if (key === 'mintrashtime=') e.mintrashtime = t;
        else e.maxtrashtime = t;
        if (e.mintrashtime > e.maxtrashtime) {
          warn(`mintrashtime>maxtrashtime in definition (${p})`);
          return false;
        }
        break;
      }
      case 'umask=':
        if (!/^0[0-7]{3}$/.test(val)) {
          warn(`incorrect umask definition (${p})`);
          return false;
        }
        e.umask = Number.parseInt(val, 8);
        break;
      default:
        warn(`unknown option '${p}' (ignored)`);
    }
  }
  return true;
}

/**
 * Parses mfsexports.cfg text. Bad lines are skipped with a warning (as MooseFS does); a `DEFAULTS`
 * line sets the options that later lines start from.
 */
export function parseExports(text: string, acc: Accounts = systemAccounts()): { entries: ExportEntry[]; warnings: ExportsWarning[] } {
  const entries: ExportEntry[] = [];
  const warnings: ExportsWarning[] = [];
  let defaults: ExportEntry | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineno = n + 1;
    const warn = (message: string): void => void warnings.push({ lineno, message: `mfsexports: ${message} in line: ${lineno}` });
    const line = lines[n]!.replace(/[\r\n\t ]+$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const e: ExportEntry = defaults ? { ...defaults, lineno } : { ...defaultEntry(), lineno };
    const m = /^(\S+)[ \t]+(.*)$/.exec(line);
    if (!m) {
      warn('incomplete definition');
      continue;
    }
    const net = m[1]!;
    let rest = m[2]!.replace(/^[ \t]+/, '');
    if (net.toUpperCase() === 'DEFAULTS') {
      if (!parseOptions(rest, e, acc, warn)) continue;
      if (e.sesflags & SESFLAG_MAPALL && !e.rootredefined) {
        e.rootuid = e.mapalluid;
        e.rootgid = e.mapallgid;
      }
      defaults = e;
      continue;
    }
    const range = parseNet(net);
    if (!range) {
      warn('incorrect ip/network definition');
      continue;
    }
    [e.fromip, e.toip] = range;
    let pathStr: string;
    if (/^\.([ \t]|$)/.test(rest)) {
      pathStr = '';
      if (!e.rootredefined) {
        e.rootuid = 0;
        e.rootgid = 0;
      }
      e.meta = true;
      rest = rest.slice(1);
    } else {
      const pm = /^(\S*)(.*)$/.exec(rest)!;
      pathStr = pm[1]!.replace(/^\/+/, '').replace(/\/+$/, '');
      rest = pm[2]!;
    }
    rest = rest.replace(/^[ \t]+/, '');
    if (rest !== '') {
      if (!parseOptions(rest, e, acc, warn)) continue;
      if (e.sesflags & SESFLAG_MAPALL && !e.rootredefined) {
        e.rootuid = e.mapalluid;
        e.rootgid = e.mapallgid;
      }
    }
    e.path = Buffer.from(pathStr, 'utf8');
    entries.push(e);
  }
  return { entries, warnings };
}

function murmur3(buf: Buffer, seed: number): number {
  let h = seed >>> 0;
  const n4 = buf.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    let k = buf.readUInt32BE(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  let k = 0;
  const r = buf.length & 3;
  if (r) {
    if (r === 3) k ^= buf[n4 + 2]! << 16;
    if (r >= 2) k ^= buf[n4 + 1]! << 8;
    k ^= buf[n4]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= buf.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Per-entry checksum, summed over entries: a session remembers it and a reconnect after a change re-checks. */
export function entryChecksum(e: ExportEntry): bigint {
  const b = Buffer.alloc(62);
  let o = 0;
  o = b.writeUInt32BE(e.fromip, o);
  o = b.writeUInt32BE(e.toip, o);
  o = b.writeUInt32BE(e.minversion >>> 0, o);
  if (e.needpassword) e.passwordDigest.copy(b, o);
  o += 16;
  o = b.writeUInt8(((e.alldirs ? 1 : 0) << 3) + ((e.needpassword ? 1 : 0) << 2) + ((e.meta ? 1 : 0) << 1) + (e.rootredefined ? 1 : 0), o);
  o = b.writeUInt8(e.sesflags, o);
  o = b.writeUInt8(e.mingoal, o);
  o = b.writeUInt8(e.maxgoal, o);
  o = b.writeUInt16BE(e.umask, o);
  for (const v of [e.mintrashtime, e.maxtrashtime, e.rootuid, e.rootgid, e.mapalluid, e.mapallgid, e.disables]) o = b.writeUInt32BE(v >>> 0, o);
  const full = e.path.length ? Buffer.concat([b, e.path]) : b;
  const crc = zlibCrc32(full);
  const mm = e.path.length ? murmur3(e.path, murmur3(b, 0)) : murmur3(b, 0);
  return (BigInt(crc) << 32n) | BigInt(mm);
}

/** A lookup result: status (MFS_STATUS_OK with a grant, or an error status). */
export type ExportCheck = { status: typeof MFS_STATUS_OK; grant: ExportGrant } | { status: number; grant?: undefined };

export class Exports {
  private constructor(
    readonly entries: readonly ExportEntry[],
    readonly checksum: bigint,
  ) {}

  static fromEntries(entries: ExportEntry[]): Exports {
    let sum = 0n;
    for (const e of entries) sum = BigInt.asUintN(64, sum + entryChecksum(e));
    return new Exports(entries, sum);
  }

  static parse(text: string, acc?: Accounts): { exports: Exports; warnings: ExportsWarning[] } {
    const r = parseExports(text, acc);
    return { exports: Exports.fromEntries(r.entries), warnings: r.warnings };
  }

  /**
   * Finds the export for a client (exports_check): `path` null = the meta file system. `version` is the
   * client's wire version word; minversion compares against maj<<16|mid<<8|min. `rnd`/`passcode`: the
   * GETRANDOM challenge and the client's answer, when it sent one.
   */
  check(ip: number, version: number, path: Buffer | string | null, rnd?: Buffer, passcode?: Buffer): ExportCheck {
    const meta = path === null;
    let p: Buffer = Buffer.alloc(0);
    if (path !== null) {
      const b = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
      let s = 0;
      let e = b.length;
      const nul = b.indexOf(0);
      if (nul >= 0) e = nul;
      while (s < e && b[s] === 0x2f) s++;
      while (e > s && b[e - 1] === 0x2f) e--;
      p = b.subarray(s, e);
    }
    const haveChallenge = rnd !== undefined && passcode !== undefined && rnd.some((x) => x !== 0);
    // MooseFS stores minversion as maj<<16|mid<<8|min and compares it with the client's wire word
    // (whose low byte is min*2): keep that comparison as it is.
    let nopass = false;
    let best: ExportEntry | undefined;
    for (const e of this.entries) {
      let ok = false;
      if (ip >= e.fromip && ip <= e.toip && version >= e.minversion && meta === e.meta) {
        if (meta) ok = true;
        else if (e.path.length === 0) ok = p.length === 0 || e.alldirs;
        else if (p.equals(e.path)) ok = true;
        else if (e.alldirs && p.length > e.path.length && p[e.path.length] === 0x2f && p.subarray(0, e.path.length).equals(e.path)) ok = true;
        if (ok && e.needpassword) {
          if (!haveChallenge) {
            ok = false;
            nopass = true;
          } else {
            const want = md5(rnd!.subarray(0, 16), e.passwordDigest, rnd!.subarray(16, 32));
            if (!passcodeEquals(want, passcode!)) {
              ok = false;
              nopass = true;
            }
          }
        }
      }
      if (!ok) continue;
      if (!best) best = e;
      else if ((e.sesflags & SESFLAG_READONLY) === 0 && (best.sesflags & SESFLAG_READONLY) !== 0) best = e;
      else if (e.rootuid === 0 && best.rootuid !== 0) best = e;
      else if ((e.sesflags & SESFLAG_ADMIN) !== 0 && (best.sesflags & SESFLAG_ADMIN) === 0) best = e;
      else if (e.needpassword && !best.needpassword) best = e;
      else if (e.path.length > best.path.length) best = e;
    }
    if (!best) {
      if (nopass) return { status: haveChallenge ? MFS_ERROR_BADPASSWORD : MFS_ERROR_NOPASSWORD };
      return { status: MFS_ERROR_EACCES };
    }
    const e = best;
    return {
      status: MFS_STATUS_OK,
      grant: {
        entry: e,
        sesflags: e.sesflags,
        umask: e.umask,
        rootuid: e.rootuid,
        rootgid: e.rootgid,
        mapalluid: e.mapalluid,
        mapallgid: e.mapallgid,
        mingoal: e.mingoal,
        maxgoal: e.maxgoal,
        mintrashtime: e.mintrashtime,
        maxtrashtime: e.maxtrashtime,
        disables: e.disables,
      },
    };
  }
}

/** Reads and parses an exports file; throws on a missing/unreadable file. */
export function loadExportsFile(path: string, acc?: Accounts): { exports: Exports; warnings: ExportsWarning[] } {
  return Exports.parse(readFileSync(path, 'latin1'), acc);
}
