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

/** Parses `ts|OP(args)[:result]`. */
export function parseRecord(text: string): ParseResult<ChangelogRecord> {
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

/** Parses `version: ts|OP(...)...`. */
export function parseLine(line: string): ParseResult<VersionedRecord> {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0a) end--;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0d && end < line.length) end--;
  let i = 0;
  while (i < end && line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++;
  if (i === 0 || line.charCodeAt(i) !== 0x3a || line.charCodeAt(i + 1) !== 0x20 || i + 2 > end) return { ok: false, error: "'<version>: ' expected" };
  const r = parseRecord(end === line.length ? line.slice(i + 2) : line.slice(i + 2, end));
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
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.length === 0) continue;
      const r = parseLine(line);
      if (r.ok) records.push(r.value);
      else issues.push({ lineNo: i + 1, line, error: r.error });
    }
    return { records, issues };
  }
}
