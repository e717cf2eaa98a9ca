// MooseFS changelog records: `<version>: <ts>|OP(arg,arg,...)[:result]`, one per line.
// Formats: the changelog(...) calls in mfsmaster/filesystem.c, chunks.c, sessions.c, openfiles.c;
// name escaping: changelog_escape_name (mfsmaster/changelog.c) -- bytes < 32, >= 127 and , % ( ) become
// %XX (upper-case hex); gid lists: changelog_generate_gids ("[g1,g2,...]"); parsers: mfsmaster/restore.c.

import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * One argument: an unsigned number (bigint when above 2^53), a name (bytes, escaped on output),
 * a gid list, or a raw token kept as written (`#123`, `0755`, `0x0000001F`, `R`, `W2`).
 */
export type ClArg = number | bigint | Buffer | number[] | string;

export interface ChangelogRecord {
  ts: number;
  op: string;
  args: ClArg[];
  /** Numbers after ':' (an inode, chunk id, or the counters of recursive ops); absent: no ':'. */
  result?: Array<number | bigint>;
}

export interface VersionedRecord {
  version: bigint;
  rec: ChangelogRecord;
}

/** Argument positions that are escaped names, per op (everything else is numeric or raw). */
const NAME_ARGS: Record<string, readonly number[]> = {
  CREATE: [1],
  SYMLINK: [1, 2],
  UNLINK: [1],
  MOVE: [1, 3],
  LINK: [2],
  SNAPSHOT: [2],
  SETXATTR: [1, 2],
  SETACL: [10],
  SETPATH: [1],
  SESADD: [14],
  SESCHANGED: [15],
  SCSET: [0],
  SCDEL: [0],
  SCDUP: [0, 1],
  SCREN: [0, 1],
};

const HEX = '0123456789ABCDEF';

export function escapeName(name: Buffer): string {
  let out = '';
  for (const c of name) {
    if (c < 32 || c >= 127 || c === 0x2c || c === 0x25 || c === 0x28 || c === 0x29) {
      out += '%' + HEX[(c >> 4) & 15] + HEX[c & 15];
    } else {
      out += String.fromCharCode(c);
    }
  }
  return out;
}

/** Inverse of escapeName; undefined on a malformed escape (restore.c GETNAME: upper-case hex only). */
export function unescapeName(s: string): Buffer | undefined {
  // Most names have no escape: one latin1 conversion instead of a byte array.
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c > 0xff) {
      plain = false;
      break;
    }
  }
  if (plain) return Buffer.from(s, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h1 = HEX.indexOf(s[i + 1] ?? 'x');
      const h2 = HEX.indexOf(s[i + 2] ?? 'x');
      if (h1 < 0 || h2 < 0) return undefined;
      out.push(h1 * 16 + h2);
      i += 2;
    } else {
      if (c > 0xff) return undefined;
      out.push(c);
    }
  }
  return Buffer.from(out);
}

function formatArg(a: ClArg): string {
  if (typeof a === 'number' || typeof a === 'bigint') return a.toString();
  if (typeof a === 'string') return a;
  if (Buffer.isBuffer(a)) return escapeName(a);
  return '[' + a.join(',') + ']';
}

/** `ts|OP(args)[:result]` (without the version prefix). */
export function formatRecord(rec: ChangelogRecord): string {
  let s = `${rec.ts}|${rec.op}(${rec.args.map(formatArg).join(',')})`;
  if (rec.result !== undefined) s += ':' + rec.result.map((r) => r.toString()).join(',');
  return s;
}

/** `version: ts|OP(args)[:result]` as in changelog.N.mfs. */
export function formatLine(version: bigint, rec: ChangelogRecord): string {
  return `${version}: ${formatRecord(rec)}`;
}

/** Decimal numbers only; `0755`-style tokens (octal umask in SESADD) stay raw strings. */
function parseNum(tok: string): number | bigint | undefined {
  const len = tok.length;
  if (len === 0 || (len > 1 && tok.charCodeAt(0) === 0x30)) return undefined;
  for (let i = 0; i < len; i++) {
    const c = tok.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(tok);
  return Number.isSafeInteger(n) ? n : BigInt(tok);
}

/**
 * Splits the argument text at commas. Names never hold a raw ',' (it is escaped) but may hold '[', so
 * only a non-name argument starting with '[' is a gid list running to the token ending with ']'.
 */
function splitArgs(s: string, names: readonly number[]): string[] | undefined {
  if (s.length === 0) return [];
  const raw = s.split(',');
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    let tok = raw[i]!;
    if (!names.includes(out.length) && tok.startsWith('[')) {
      while (!tok.endsWith(']')) {
        i++;
        if (i >= raw.length) return undefined;
        tok += ',' + raw[i]!;
      }
    }
    out.push(tok);
  }
  return out;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

// ---- the fast scanner: one pass over the text, numbers parsed in place, op names interned ----

/** Every op a changelog may hold, so the scanner hands out the same (internalized) string each time. */
const KNOWN_OPS = [
  'ACCESS', 'ATTR', 'AMTIME', 'CREATE', 'SYMLINK', 'UNLINK', 'MOVE', 'LINK', 'LENGTH', 'TRUNC', 'WRITE',
  'UNLOCK', 'ROLLBACK', 'SETXATTR', 'SETACL', 'SETSCLASS', 'SETGOAL', 'SETTRASHTIME', 'SETEATTR', 'UNDEL',
  'PURGE', 'SETPATH', 'EMPTYTRASH', 'EMPTYSUSTAINED', 'FREEINODES', 'ACQUIRE', 'AQUIRE', 'RELEASE',
  'SNAPSHOT', 'REPAIR', 'NEXTCHUNKID', 'SETFILECHUNK', 'QUOTA', 'APPEND', 'SCSET', 'SCDUP', 'SCREN', 'SCDEL',
  'ARCHCHG', 'CHUNKADD', 'CHUNKDEL', 'CSADD', 'CSDBOP', 'CSDEL', 'CUSTOMER', 'EMPTYRESERVED', 'FLOCK', 'IDLE',
  'INCVERSION', 'POSIXLOCK', 'RENUMEDGES', 'RENUMERATEEDGES', 'SESADD', 'SESCHANGED', 'SESDEL',
  'SESDISCONNECTED', 'SESSION', 'SETMETAID', 'SETVERSION',
];

interface OpInfo {
  op: string;
  /** Bit i set: argument i is an escaped name (positions above 30 do not occur). */
  names: number;
}

function opHash(text: string, start: number, end: number): number {
  let h = end - start;
  for (let i = start; i < end; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return h;
}

function nameMask(op: string): number {
  let m = 0;
  for (const i of NAME_ARGS[op] ?? []) m |= 1 << i;
  return m;
}

const OPS_BY_HASH = new Map<number, OpInfo[]>();
for (const op of KNOWN_OPS) {
  const h = opHash(op, 0, op.length);
  const list = OPS_BY_HASH.get(h);
  const info = { op, names: nameMask(op) };
  if (list) list.push(info);
  else OPS_BY_HASH.set(h, [info]);
}

function opInfo(text: string, start: number, end: number): OpInfo {
  const list = OPS_BY_HASH.get(opHash(text, start, end));
  if (list !== undefined) {
    for (const info of list) {
      const op = info.op;
      if (op.length !== end - start) continue;
      let i = 0;
      while (i < op.length && op.charCodeAt(i) === text.charCodeAt(start + i)) i++;
      if (i === op.length) return info;
    }
  }
  const op = text.slice(start, end);
  return { op, names: nameMask(op) };
}

const scratchArgs: ClArg[] = [];
const scratchResult: Array<number | bigint> = [];

/** Where the scanner is, and the number it read last (its own value, not one per call). */
let pos = 0;
let numv: number | bigint = 0;

/**
 * A decimal number at `pos` (the reference's parseNum: no sign, no leading zero) up to a char that is
 * not a digit; false (pos unspecified) when there is none or it has a leading zero.
 */
function scanNum(text: string, end: number): boolean {
  const start = pos;
  let n = 0;
  let i = start;
  while (i < end) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    i++;
  }
  const len = i - start;
  if (len === 0 || (len > 1 && text.charCodeAt(start) === 0x30)) return false;
  // Up to 15 digits the sum is exact; longer ones go through the string as the reference does.
  if (len > 15) {
    const v = Number(text.slice(start, i));
    numv = Number.isSafeInteger(v) ? v : BigInt(text.slice(start, i));
  } else {
    numv = n;
  }
  pos = i;
  return true;
}

const HEXVAL = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEXVAL[HEX.charCodeAt(i)] = i;

/** An escaped name from `pos` to the next ',' or ')' (exclusive); undefined on a bad escape. */
function scanName(text: string, end: number): Buffer | undefined {
  const start = pos;
  let i = start;
  let escapes = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x29) break;
    if (c === 0x25) escapes++;
    else if (c > 0xff) return undefined;
  }
  pos = i;
  if (escapes === 0) {
    const b = Buffer.allocUnsafe(i - start);
    for (let k = start; k < i; k++) b[k - start] = text.charCodeAt(k);
    return b;
  }
  // Malformed escapes ("%4") can make this short or negative; they are refused below anyway.
  if (i - start < 3 * escapes) return undefined;
  const b = Buffer.allocUnsafe(i - start - 2 * escapes);
  let o = 0;
  for (let k = start; k < i; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x25) {
      if (k + 2 >= i) return undefined;
      const h1 = HEXVAL[text.charCodeAt(k + 1) & 0xff]!;
      const h2 = HEXVAL[text.charCodeAt(k + 2) & 0xff]!;
      if (h1 < 0 || h2 < 0 || text.charCodeAt(k + 1) > 0xff || text.charCodeAt(k + 2) > 0xff) return undefined;
      b[o++] = h1 * 16 + h2;
      k += 2;
    } else {
      b[o++] = c;
    }
  }
  return b;
}

/**
 * `ts|OP(args)[:result]` between `start` and `end`, or undefined whenever anything is not the plain
 * well-formed case (the caller then asks the reference parser, which also words the error).
 */
function scanRecord(text: string, start: number, end: number): ChangelogRecord | undefined {
  pos = start;
  if (!scanNum(text, end) || typeof numv !== 'number' || pos >= end || text.charCodeAt(pos) !== 0x7c) return undefined;
  const ts = numv;
  const opStart = ++pos;
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c < 0x41 || c > 0x5a) break;
    pos++;
  }
  if (pos === opStart || pos >= end || text.charCodeAt(pos) !== 0x28) return undefined;
  const info = opInfo(text, opStart, pos);
  pos++;
  // Gathered in a scratch array and copied at their count: a fresh array grown by push would keep
  // room for 17 per record (what the whole-file reader holds for every record).
  const args = scratchArgs;
  args.length = 0;
  if (pos < end && text.charCodeAt(pos) === 0x29) {
    pos++;
  } else {
    for (;;) {
      if (pos >= end) return undefined;
      const i = args.length;
      const c = text.charCodeAt(pos);
      if (i < 31 && (info.names & (1 << i)) !== 0) {
        const b = scanName(text, end);
        if (b === undefined) return undefined;
        args.push(b);
      } else if (c === 0x5b) {
        // A gid list: numbers (each a safe integer) between '[' and ']'.
        pos++;
        const gids: number[] = [];
        if (pos < end && text.charCodeAt(pos) === 0x5d) {
          pos++;
        } else {
          for (;;) {
            if (!scanNum(text, end) || typeof numv !== 'number' || pos >= end) return undefined;
            gids.push(numv);
            const d = text.charCodeAt(pos++);
            if (d === 0x5d) break;
            if (d !== 0x2c) return undefined;
          }
        }
        args.push(gids);
      } else if (c >= 0x31 && c <= 0x39) {
        const tokStart = pos;
        scanNum(text, end);
        if (pos < end && text.charCodeAt(pos) !== 0x2c && text.charCodeAt(pos) !== 0x29) {
          // Digits then something else: a raw token.
          while (pos < end && text.charCodeAt(pos) !== 0x2c && text.charCodeAt(pos) !== 0x29) pos++;
          args.push(text.slice(tokStart, pos));
        } else {
          args.push(numv);
        }
      } else {
        // "0" alone is a number; anything else (0755, #12, R, W2, empty) stays as written.
        const tokStart = pos;
        while (pos < end && text.charCodeAt(pos) !== 0x2c && text.charCodeAt(pos) !== 0x29) pos++;
        if (pos === tokStart + 1 && c === 0x30) args.push(0);
        else args.push(text.slice(tokStart, pos));
      }
      if (pos >= end) return undefined;
      const sep = text.charCodeAt(pos++);
      if (sep === 0x29) break;
      if (sep !== 0x2c) return undefined;
    }
  }
  const rec: ChangelogRecord = { ts, op: info.op, args: args.slice() };
  if (pos < end) {
    if (text.charCodeAt(pos) !== 0x3a) return undefined;
    pos++;
    const result = scratchResult;
    result.length = 0;
    for (;;) {
      if (!scanNum(text, end)) return undefined;
      result.push(numv);
      if (pos >= end) break;
      if (text.charCodeAt(pos++) !== 0x2c) return undefined;
    }
    rec.result = result.length === 1 ? [result[0]!] : result.slice();
  }
  return rec;
}

/** `version: record` between `start` and `end`, or undefined (then the reference decides). */
function scanLine(text: string, start: number, end: number): VersionedRecord | undefined {
  let i = start;
  let n = 0;
  while (i < end) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    i++;
  }
  if (i === start || i - start > 15 || i + 2 > end || text.charCodeAt(i) !== 0x3a || text.charCodeAt(i + 1) !== 0x20) return undefined;
  const rec = scanRecord(text, i + 2, end);
  return rec === undefined ? undefined : { version: BigInt(n), rec };
}

/**
 * Parses `ts|OP(args)[:result]`: the fast scanner, and the reference parser whenever the scanner
 * declines (any error, numbers of 16+ digits, odd tokens), so results and messages are the reference's.
 */
export function parseRecord(text: string): ParseResult<ChangelogRecord> {
  const rec = scanRecord(text, 0, text.length);
  return rec !== undefined ? { ok: true, value: rec } : parseRecordReference(text);
}

/** parseRecord of text.slice(start, end), without cutting it out unless the scanner declines. */
export function parseRecordAt(text: string, start: number, end: number): ParseResult<ChangelogRecord> {
  const rec = scanRecord(text, start, end);
  return rec !== undefined ? { ok: true, value: rec } : parseRecordReference(text.slice(start, end));
}

/** The straightforward parser (split, slice, per-token checks): the definition the scanner follows. */
export function parseRecordReference(text: string): ParseResult<ChangelogRecord> {
  const bar = text.indexOf('|');
  if (bar <= 0) return { ok: false, error: "'|' expected" };
  const ts = parseNum(text.slice(0, bar));
  if (typeof ts !== 'number') return { ok: false, error: 'bad timestamp' };
  const open = text.indexOf('(', bar);
  if (open < 0) return { ok: false, error: "'(' expected" };
  const op = text.slice(bar + 1, open);
  if (!/^[A-Z]+$/.test(op)) return { ok: false, error: 'bad op name' };
  const close = text.indexOf(')', open);
  if (close < 0) return { ok: false, error: "')' expected" };
  const names = NAME_ARGS[op] ?? [];
  const args: ClArg[] = [];
  const toks = splitArgs(text.slice(open + 1, close), names);
  if (toks === undefined) return { ok: false, error: "']' expected" };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (names.includes(i)) {
      const b = unescapeName(t);
      if (b === undefined) return { ok: false, error: `bad escaped name in arg ${i}` };
      args.push(b);
    } else if (t.startsWith('[')) {
      if (!t.endsWith(']')) return { ok: false, error: "']' expected" };
      const inner = t.slice(1, -1);
      const gids: number[] = [];
      if (inner.length > 0) {
        for (const g of inner.split(',')) {
          const n = parseNum(g);
          if (typeof n !== 'number') return { ok: false, error: 'bad gid' };
          gids.push(n);
        }
      }
      args.push(gids);
    } else {
      const n = parseNum(t);
      args.push(n === undefined ? t : n);
    }
  }
  const rest = text.slice(close + 1);
  let result: Array<number | bigint> | undefined;
  if (rest.length > 0) {
    if (rest[0] !== ':') return { ok: false, error: "':' or end expected" };
    result = [];
    for (const t of rest.slice(1).split(',')) {
      const n = parseNum(t);
      if (n === undefined) return { ok: false, error: 'bad result' };
      result.push(n);
    }
  }
  const rec: ChangelogRecord = { ts, op, args };
  if (result !== undefined) rec.result = result;
  return { ok: true, value: rec };
}

/** Parses `version: ts|OP(...)...` (one trailing '\n', then '\r', may end it). */
export function parseLine(line: string): ParseResult<VersionedRecord> {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0a) {
    end--;
    if (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
  }
  const v = scanLine(line, 0, end);
  return v !== undefined ? { ok: true, value: v } : parseLineReference(line);
}

/** The reference form of parseLine. */
export function parseLineReference(line: string): ParseResult<VersionedRecord> {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0a) end--;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0d && end < line.length) end--;
  let i = 0;
  while (i < end && line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++;
  if (i === 0 || line.charCodeAt(i) !== 0x3a || line.charCodeAt(i + 1) !== 0x20 || i + 2 > end) return { ok: false, error: "'<version>: ' expected" };
  const r = parseRecordReference(end === line.length ? line.slice(i + 2) : line.slice(i + 2, end));
  if (!r.ok) return r;
  return { ok: true, value: { version: BigInt(line.slice(0, i)), rec: r.value } };
}

export type FsyncPolicy = 'never' | 'always' | { everyRecords: number };

/**
 * Appends records to a changelog file (changelog.0.mfs), one line each, with consecutive versions.
 * Records are gathered in memory and written with one write(2) by `flush()`, which the master runs
 * before any reply leaves (conn.ts replyBarrier) and otherwise on the next turn of the event loop:
 * a record is on its way to the kernel before anyone sees it acknowledged, as with the C master's
 * fprintf+fflush, without a system call per record. `fsync` decides when it is also forced to disk
 * (CHANGELOG_SAVE_MODE 2: at every flush).
 */
export interface ChangelogWriterEvents {
  /**
   * A write failed (ENOSPC, EIO...): the records stay in memory, in order, and every later flush
   * tries again. Called once per failing stretch, with the first version not on disk.
   */
  writeFailed?(err: NodeJS.ErrnoException, firstPending: bigint): void;
  /** Writing works again: `records` kept in memory meanwhile are now in the file. */
  writeRecovered?(records: number): void;
}

/** Records a writer kept in memory (from version `first` on) because the file could not take them. */
export interface UnwrittenRecords {
  text: string;
  first: bigint;
}

export class ChangelogWriter {
  private fd: number;
  private sinceSync = 0;
  private nextVersion: bigint;
  private pending = '';
  private scheduled = false;
  /** Set while writes fail: the version of the first record not in the file, and how many wait. */
  private failing: { first: bigint; since: bigint } | undefined;
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    readonly path: string,
    firstVersion: bigint,
    private readonly fsync: FsyncPolicy = 'never',
    private readonly events: ChangelogWriterEvents = {},
    /** What the previous writer could not write (its `close()`), written here first. */
    carry?: UnwrittenRecords,
  ) {
    this.fd = openSync(path, 'a');
    this.nextVersion = firstVersion;
    if (carry && carry.text.length > 0) {
      this.pending = carry.text;
      this.failing = { first: carry.first, since: carry.first };
      this.flush();
    }
  }

  /** Records kept in memory because the file could not be written (0 when all is on disk). */
  get unwritten(): bigint {
    return this.failing ? this.nextVersion - this.failing.first : 0n;
  }

  /** The version the next appended record gets. */
  get version(): bigint {
    return this.nextVersion;
  }

  /** Appends one record and returns its version. */
  append(rec: ChangelogRecord): bigint {
    return this.appendText(formatRecord(rec));
  }

  /** Appends a pre-formatted `ts|OP(...)` record (sessions, chunk and cs records from other modules). */
  appendText(text: string): bigint {
    const v = this.nextVersion;
    this.pending += `${v}: ${text}\n`;
    this.nextVersion = v + 1n;
    this.sinceSync++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
    return v;
  }

  /**
   * Writes the gathered records (a no-op when there are none). A short write or an error (a full
   * disk) keeps the rest in memory for the next flush, so the file never gets a torn or missing
   * record while the daemon runs; `events` report the failure and the recovery. Never throws.
   */
  flush(): void {
    if (this.pending.length === 0 || this.fd < 0) return;
    const buf = Buffer.from(this.pending, 'latin1');
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (e) {
      // Keep what is not in the file yet; report once per failing stretch.
      this.pending = buf.toString('latin1', off);
      if (!this.failing) {
        const first = this.nextVersion - BigInt(this.pending.split('\n').length - 1);
        this.failing = { first, since: first };
        this.events.writeFailed?.(e as NodeJS.ErrnoException, first);
      }
      return;
    }
    this.pending = '';
    if (this.failing) {
      const n = Number(this.nextVersion - this.failing.first);
      this.failing = undefined;
      this.events.writeRecovered?.(n);
    }
    if (this.fsync === 'always' || (typeof this.fsync === 'object' && this.sinceSync >= this.fsync.everyRecords)) {
      this.sync();
    }
  }

  sync(): void {
    this.flush();
    if (this.fd >= 0 && this.sinceSync > 0 && !this.failing) {
      try {
        fsyncSync(this.fd);
        this.sinceSync = 0;
      } catch (e) {
        if (!this.failing) {
          this.failing = { first: this.nextVersion, since: this.nextVersion };
          this.events.writeFailed?.(e as NodeJS.ErrnoException, this.nextVersion);
        }
      }
    }
  }

  /**
   * Flushes, syncs and closes. Returns what could still not be written (a full disk), for the next
   * writer (`carry`) so that no record is dropped by a rotation.
   */
  close(): UnwrittenRecords {
    if (this.fd < 0) return { text: '', first: this.nextVersion };
    this.sync();
    closeSync(this.fd);
    this.fd = -1;
    const left = { text: this.pending, first: this.failing?.first ?? this.nextVersion };
    this.pending = '';
    return left;
  }
}

export interface ReadIssue {
  lineNo: number;
  line: string;
  error: string;
}

/** Reads a whole changelog file: records in order, and the lines that did not parse. */
export class ChangelogReader {
  static readFile(path: string): { records: VersionedRecord[]; issues: ReadIssue[] } {
    return ChangelogReader.parseText(readFileSync(path, 'latin1'));
  }

  static parseText(text: string): { records: VersionedRecord[]; issues: ReadIssue[] } {
    const records: VersionedRecord[] = [];
    const issues: ReadIssue[] = [];
    // Line by line in place; only a line the scanner declines is cut out (for the reference and the issue).
    let start = 0;
    for (let lineNo = 1; start <= text.length; lineNo++) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = text.length;
      if (nl > start) {
        const v = scanLine(text, start, nl);
        if (v !== undefined) {
          records.push(v);
        } else {
          const line = text.slice(start, nl);
          const r = parseLineReference(line);
          if (r.ok) records.push(r.value);
          else issues.push({ lineNo, line, error: r.error });
        }
      }
      start = nl + 1;
    }
    return { records, issues };
  }
}
