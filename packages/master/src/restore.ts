// `mfsmaster -a`: which metadata file to load and which changelog records to replay after it.
// Behaviour of MooseFS 3.0.117: metadata.c (meta_check_metadatafile, meta_loadall: every file whose
// name starts with "metadata" is a candidate, the newest valid one of a single metaid wins),
// changelog.c (changelog_checkname: changelog.N.mfs, changelog_ml.N.mfs, changelog_ml_back.N.mfs),
// merger.c (records of all files merged by id; inside one file an id that does not grow, or jumps by
// MAXIDHOLE or more, ends that file: "garbage at the end") and restore.c restore_file (ids below the
// loaded version and duplicates are skipped, a hole or a change that fails stops the restore, which
// then fails unless -i is given). Replay itself is the caller's (the live appliers).
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecordAt, type ChangelogRecord } from './fs/index.js';

export const META_NEW = 'MFSM NEW';
/** metadata.c MAXIDHOLE. */
export const MAXIDHOLE = 10000n;

export type MetaCheckStatus = 'ok' | 'nofile' | 'ioerror' | 'badheader' | 'badending';

export interface MetaCheck {
  status: MetaCheckStatus;
  /** Version in the header (the next change's id); 1 for "MFSM NEW". */
  version: bigint;
  /** metaid (0 for "MFSM NEW" and pre-2.0 files). */
  id: bigint;
  /** The system error for 'ioerror'. */
  error?: string;
}

/** meta_check_metadatafile: header and EOF marker only (the file is not parsed). */
export function checkMetadataFile(path: string): MetaCheck {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { status: code === 'ENOENT' ? 'nofile' : 'ioerror', version: 0n, id: 0n, error: String(code) };
  }
  try {
    const size = statSync(path).size;
    const head = Buffer.alloc(24);
    const n = readSync(fd, head, 0, 24, 0);
    if (n < 8) return { status: 'ioerror', version: 0n, id: 0n, error: `only ${n} bytes` };
    const sig = head.toString('latin1', 0, 8);
    if (sig === META_NEW) return { status: 'ok', version: 1n, id: 0n };
    if (!/^MFSM [1-9]\.[0-9]$/.test(sig)) return { status: 'badheader', version: 0n, id: 0n };
    const fver = ((head[5]! - 0x30) << 4) | (head[7]! - 0x30);
    if (n < 24) return { status: 'ioerror', version: 0n, id: 0n, error: `only ${n} bytes` };
    const version = fver < 0x20 ? head.readBigUInt64BE(12) : head.readBigUInt64BE(8);
    const id = fver < 0x20 ? 0n : head.readBigUInt64BE(16);
    if (size < 16 + 24) return { status: 'badending', version, id };
    const tail = Buffer.alloc(16);
    readSync(fd, tail, 0, 16, size - 16);
    const want = fver < 0x16 ? Buffer.alloc(16) : Buffer.from('[MFS EOF MARKER]', 'latin1');
    return { status: tail.equals(want) ? 'ok' : 'badending', version, id };
  } catch (e) {
    return { status: 'ioerror', version: 0n, id: 0n, error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}

export interface MetaCandidate {
  name: string;
  check: MetaCheck;
}

export type MetaChoice =
  | { ok: true; name: string; version: bigint; id: bigint; candidates: MetaCandidate[]; ignoredIds: MetaCandidate[] }
  | { ok: false; error: string; candidates: MetaCandidate[] };

/** One line per candidate, as meta_file_infos lists them. */
export function describeCandidate(c: MetaCandidate): string {
  const v = `version: ${c.check.version}${c.check.id ? ` ; id: ${c.check.id.toString(16).toUpperCase()}` : ''}`;
  switch (c.check.status) {
    case 'ok':
      return `valid metadata file: ${c.name} (${v})`;
    case 'badheader':
      return `invalid metadata file (wrong header): ${c.name}`;
    case 'badending':
      return `invalid metadata file (wrong ending): ${c.name} (${v})`;
    default:
      return `error reading metadata file: ${c.name} (${c.check.error ?? c.check.status})`;
  }
}

/**
 * meta_loadall's choice: of the files in `dir` whose names start with "metadata" (metadata.mfs,
 * metadata.mfs.back(.N), a metalogger's metadata_ml.mfs.back(.N)...), the valid one with the highest
 * version. Valid files of two different metaids are refused unless `ignoreIds` (-i).
 */
export function chooseMetadataFile(dir: string, ignoreIds = false): MetaChoice {
  const names = readdirSync(dir).filter((n) => n.length > 8 && n.startsWith('metadata')).sort();
  const candidates = names.map((name) => ({ name, check: checkMetadataFile(join(dir, name)) }));
  let best: MetaCandidate | undefined;
  let bestid = 0n;
  const ignoredIds: MetaCandidate[] = [];
  for (const c of candidates) {
    if (c.check.status !== 'ok') continue;
    if (bestid !== 0n && c.check.id !== 0n && c.check.id !== bestid) {
      if (!ignoreIds) {
        const other = candidates.find((x) => x.check.status === 'ok' && x.check.id === bestid)!;
        return {
          ok: false,
          error:
            `found metadata files of different metaids: ${other.name} (id ${bestid.toString(16).toUpperCase()}) and ${c.name} (id ${c.check.id.toString(16).toUpperCase()})` +
            " - clean up the data directory (keep the files of one file system) or use '-i' (might be dangerous)",
          candidates,
        };
      }
      ignoredIds.push(c);
    }
    if (!best || c.check.version > best.check.version) {
      best = c;
      if (c.check.id !== 0n) bestid = c.check.id;
    }
  }
  if (!best) return { ok: false, error: `can't find a valid metadata file in ${dir}`, candidates };
  return { ok: true, name: best.name, version: best.check.version, id: best.check.id, candidates, ignoredIds };
}

/** changelog_checkname. */
export function isChangelogName(name: string): boolean {
  return /^(changelog|changelog_ml|changelog_ml_back)\.[0-9]+\.mfs$/.test(name);
}

export interface ChangelogFileInfo {
  name: string;
  /** Id of its first and last record (0n: none). */
  first: bigint;
  last: bigint;
  /** false: all its records are older than the loaded version (or it has none). */
  used: boolean;
  /** Where merger.c would stop reading it (an id that does not follow), as `id at byte offset`. */
  garbageAt?: { afterId: bigint; offset: number };
}

/** One line of a changelog file, not parsed yet. */
interface Entry {
  id: bigint;
  /** The record (after `id: `) is src[start, end): cut out only for a message. */
  src: string;
  start: number;
  end: number;
  file: string;
  offset: number;
  order: number;
}

/** What replay of one record did: 0 = applied, another status = it failed. */
export type ApplyFn = (rec: ChangelogRecord, id: bigint) => number;

export type StopReason =
  | { kind: 'end' }
  | { kind: 'hole'; from: bigint; to: bigint; beforeFile: string; afterFile: string }
  | { kind: 'error'; id: bigint; file: string; offset: number; message: string };

export interface ReplayOutcome {
  files: ChangelogFileInfo[];
  /** Records applied, and ids skipped as already held by another file. */
  applied: number;
  duplicates: number;
  /** First and last id applied (0n when none). */
  firstApplied: bigint;
  lastApplied: bigint;
  /** The version after the restore (the id the next change gets). */
  version: bigint;
  /** Highest id seen in the used files. */
  maxId: bigint;
  stop: StopReason;
  /** The last record did not parse (torn by a crash) and was dropped. */
  torn?: { id: bigint; file: string; offset: number; message: string };
}

export interface ReplayOptions {
  /** Progress is reported every this many records (merger.c: every 2497th id). */
  progressEvery?: number;
  progress?: (p: { id: bigint; first: bigint; last: bigint; percent: number; etaSeconds: number | undefined }) => void;
  /** A file was skipped / used (for the log). */
  fileInfo?: (f: ChangelogFileInfo) => void;
  garbage?: (f: ChangelogFileInfo) => void;
}

/** The lines of one changelog file, ended as merger_nextentry ends it. */
function readEntries(dir: string, name: string, order: number): { entries: Entry[]; info: ChangelogFileInfo } {
  const text = readFileSync(join(dir, name), 'latin1');
  const entries: Entry[] = [];
  const info: ChangelogFileInfo = { name, first: 0n, last: 0n, used: false };
  let pos = 0;
  let prev = -1n;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    // The id: after any white space (what /^\s*([0-9]+)/ takes in a latin1 text), the digits.
    let i = pos;
    for (;;) {
      const c = text.charCodeAt(i);
      if (i < nl && ((c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0)) i++;
      else break;
    }
    const digits = i;
    let n = 0;
    while (i < nl) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      i++;
    }
    const matched = i > digits;
    const id = !matched ? 0n : i - digits <= 15 ? BigInt(n) : BigInt(text.slice(digits, i));
    if (prev >= 0n && !(id > prev && id < prev + MAXIDHOLE)) {
      info.garbageAt = { afterId: prev, offset: pos };
      break;
    }
    let from = matched ? i : pos;
    if (text.charCodeAt(from) === 0x3a && text.charCodeAt(from + 1) === 0x20 && from + 2 <= nl) from += 2;
    entries.push({ id, src: text, start: from, end: nl, file: name, offset: pos, order });
    prev = id;
    pos = nl + 1;
  }
  if (entries.length > 0) {
    info.first = entries[0]!.id;
    info.last = entries[entries.length - 1]!.id;
  }
  return { entries, info };
}

/**
 * Replays, in id order, every record of the changelogs in `dir` from `metaversion` on (meta_loadall +
 * merger_loop + restore_file). A record whose id is below `metaversion` or already applied from
 * another file is skipped; a missing id (hole) or a record that does not parse or apply stops.
 */
export function replayChangelogs(dir: string, metaversion: bigint, apply: ApplyFn, opts: ReplayOptions = {}): ReplayOutcome {
  const names = readdirSync(dir).filter(isChangelogName).sort();
  const files: ChangelogFileInfo[] = [];
  let all: Entry[] = [];
  let maxId = 0n;
  names.forEach((name, order) => {
    const { entries, info } = readEntries(dir, name, order);
    info.used = !(info.last < metaversion || info.first === 0n);
    files.push(info);
    if (info.garbageAt) opts.garbage?.(info);
    opts.fileInfo?.(info);
    if (!info.used) return;
    if (info.last > maxId) maxId = info.last;
    for (const e of entries) if (e.id >= metaversion) all.push(e);
  });
  // By id; for one id the copy that parses first, then by file name (merger.c takes any of them).
  // Inside a file ids grow, so one file (the usual case) is already in order: no sort then.
  const before = (a: Entry, b: Entry) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.order - b.order;
  let sorted = true;
  for (let i = 1; i < all.length && sorted; i++) if (before(all[i - 1]!, all[i]!) > 0) sorted = false;
  if (!sorted) all.sort(before);
  // Each record is parsed when it comes up and not kept (a copy of a duplicate id may parse twice).
  const parse = (e: Entry) => parseRecordAt(e.src, e.start, e.end);
  const text = (e: Entry) => e.src.slice(e.start, Math.min(e.end, e.start + 200));
  const out: ReplayOutcome = { files, applied: 0, duplicates: 0, firstApplied: 0n, lastApplied: 0n, version: metaversion, maxId, stop: { kind: 'end' } };
  const every = opts.progressEvery ?? 100_000;
  const started = Date.now();
  let prevFile = '(the metadata file)';
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    if (e.id < out.version) {
      out.duplicates++;
      continue;
    }
    if (e.id > out.version) {
      out.stop = { kind: 'hole', from: out.version, to: e.id - 1n, beforeFile: prevFile, afterFile: e.file };
      break;
    }
    // The first copy of this id that parses.
    let use = e;
    let r = parse(e);
    for (let j = i + 1; !r.ok && j < all.length && all[j]!.id === e.id; j++) {
      const r2 = parse(all[j]!);
      if (r2.ok) {
        use = all[j]!;
        r = r2;
      }
    }
    if (!r.ok) {
      // restore.c ignores a line it can't parse; only a later change then fails ("version mismatch").
      // So a torn last record (what a crash while writing leaves) is dropped, anything else stops.
      if (!all.slice(i + 1).some((x) => x.id > e.id)) {
        out.torn = { id: e.id, file: e.file, offset: e.offset, message: `change ${e.id} can't be parsed (${r.error}) - the last one, ignored: ${text(e)}` };
        break;
      }
      out.stop = { kind: 'error', id: e.id, file: e.file, offset: e.offset, message: `change ${e.id} can't be parsed (${r.error}): ${text(e)}` };
      break;
    }
    const st = apply(r.value, e.id);
    if (st !== 0) {
      out.stop = { kind: 'error', id: e.id, file: use.file, offset: use.offset, message: `change ${e.id} (${text(use)}) failed with status ${st}` };
      break;
    }
    if (out.applied === 0) out.firstApplied = e.id;
    out.applied++;
    out.lastApplied = e.id;
    out.version = e.id + 1n;
    prevFile = use.file;
    if (opts.progress && out.applied % every === 0) {
      const span = maxId - metaversion;
      const done = e.id - metaversion;
      const percent = span > 0n ? Number((done * 100n) / span) : 100;
      const elapsed = (Date.now() - started) / 1000;
      const etaSeconds = done > 0n ? Math.round((Number(maxId - e.id) * elapsed) / Number(done)) : undefined;
      opts.progress({ id: e.id, first: metaversion, last: maxId, percent, etaSeconds });
    }
  }
  all = [];
  return out;
}
