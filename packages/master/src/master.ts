import { SCLA_VERSION, type SclassTable } from './fs/sclass.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, silentLogger, type ChartsData, type Daemon, type Logger } from '@mfs-ts/common';
import { masterCharts } from './charts.js';
import { MFS_ERROR_EINVAL, MFS_ERROR_MISMATCH } from '@mfs-ts/protocol';
import { ChangelogWriter, escapeName, formatRecord, loadMetadata, MetadataError, Namespace, NAMESPACE_OPS, dumpMetadataSync, type ChangelogRecord, type RawSection, type UnwrittenRecords } from './fs/index.js';
import { checkMetadataFile, chooseMetadataFile, describeCandidate, replayChangelogs, type ReplayOutcome } from './restore.js';
import { MetadataDump } from './fs/metadump.js';
import { MatomlServer } from './matomlserv.js';
import { MFSTS_FOLLOWER_PROTOCOL_KEY, MFSTS_FOLLOWER_PROTOCOL_VERSION } from '@mfs-ts/protocol';
import { parseRecord } from './fs/index.js';
import { followerListVersion, namespaceChecksum, SyncGate } from './follow.js';
import { FLCK_VERSION, Locks, PLCK_VERSION } from './locks.js';
import { CSDB_VERSION } from './chunks.js';
import { masterCfg, parseRepLimit, type MasterCfg } from './cfg.js';
import { Exports, loadExportsFile, type Accounts } from './exports.js';
import { SESS_VERSION, Sessions, sessionLogArgs, type SessionParams } from './sessions.js';
import { ChunkRegistry, type ChunkMeta } from './chunks.js';
import { MatocsServer } from './matocsserv.js';
import { MatoclServer, type MasterCtx } from './matoclserv.js';
import { replyBarrier } from './conn.js';

/**
 * mfsmaster as a library: `new Master({ cfg: { DATA_PATH, EXPORTS_FILENAME, ... } })`, then
 * `start()` / `stop()`. The CLI (cli.ts) wraps it with the MooseFS command line.
 */
export interface MasterOptions {
  /** mfsmaster.cfg values; missing keys take MooseFS's defaults. */
  cfg?: Partial<Record<keyof MasterCfg, unknown>>;
  log?: Logger;
  /** A namespace to serve (tests); default: a new, empty one. */
  ns?: Namespace;
  /** mfsexports.cfg text instead of reading EXPORTS_FILENAME. */
  exportsText?: string;
  accounts?: Accounts;
  /**
   * Keep the metadata in DATA_PATH as mfsmaster does: load metadata.mfs at start (a file holding
   * "MFSM NEW" starts a new file system), append every change to changelog.0.mfs, write metadata.mfs
   * at stop. Default false for library use (in memory); the CLI turns it on.
   */
  persist?: boolean;
  /** `-a`: restore from the newest metadata file plus the changelogs (after a crash). */
  autoRestore?: boolean;
  /**
   * A hot follower's master (packages/failover): `start()` loads the metadata and opens the
   * changelog but opens no port and runs no periodic task; the follower feeds it the leader's
   * changes (`applyChange`) until `promote()` makes it serve.
   */
  standby?: boolean;
  /**
   * `-i` with `-a`: start even when the changelogs stop early (a hole, a change that fails) or the
   * metadata files are of different metaids, from the best state reached.
   */
  ignoreErrors?: boolean;
  /** -a logs its progress every this many replayed changes (default 100,000). */
  restoreProgressEvery?: number;
  /** How long the store of metadata.mfs at stop waits before trying again after a failure (default 10 s, as meta_term). */
  storeRetryMs?: number;
}

/** Records restore.c knows (restore_line); any other stops a restore as "unknown entry". */
const RESTORE_KNOWN_OPS: ReadonlySet<string> = new Set([
  ...NAMESPACE_OPS, 'ARCHCHG', 'CHUNKADD', 'CHUNKDEL', 'CSADD', 'CSDBOP', 'CSDEL', 'CUSTOMER', 'EMPTYRESERVED', 'FLOCK', 'IDLE', 'INCVERSION',
  'POSIXLOCK', 'RENUMEDGES', 'RENUMERATEEDGES', 'SCDEL', 'SCDUP', 'SCREN', 'SCSET', 'SESADD', 'SESCHANGED', 'SESDEL', 'SESDISCONNECTED',
  'SESSION', 'SETMETAID', 'SETVERSION',
]);

const NEW_FS = 'MFSM NEW';

export class Master implements Daemon {
  cfg: MasterCfg;
  readonly log: Logger;
  readonly ns: Namespace;
  readonly sessions: Sessions;
  readonly registry: ChunkRegistry;
  readonly locks = new Locks();
  /** FOLLOWER_SYNC_ACK: replies to clients held until a hot follower logged the changes before them. */
  readonly syncGate: SyncGate;
  /** Loaded but not serving (a hot follower's master before promotion). */
  private standbyMode = false;
  private exportsTable: Exports | undefined;
  private cs: MatocsServer | undefined;
  private cl: MatoclServer | undefined;
  private ml: MatomlServer | undefined;
  /** Version of the next change when no changelog file is kept (library use). */
  private memVersion = 1n;
  private timers: NodeJS.Timeout[] = [];
  /** Bound ports (useful with port 0). */
  readonly ports = { cl: 0, cs: 0, ml: 0 };
  /** Metadata id (meta_get_id): from metadata.mfs, or new for a new file system. */
  metaid: bigint = randomBytes(8).readBigUInt64BE(0) || 1n;
  private changelog: ChangelogWriter | undefined;
  /** True while -a replays records (session records must not be logged again). */
  private replaying = false;
  /** The loaded metadata was "MFSM NEW" and no SETMETAID has been replayed. */
  private newFs = false;
  /** A new file system logs its metaid (SETMETAID) as its first change, as meta_check_id. */
  private pendingMetaidRecord = false;
  private readonly startTime = Math.floor(Date.now() / 1000);
  /** Statistics for the charts (stats.mfs in DATA_PATH when persisting); started when serving. */
  readonly charts: ChartsData;
  private chartsStarted = false;
  /** Writes the gathered changelog records; runs before any reply leaves (conn.ts replyBarrier). */
  private readonly flushChangelog = (): void => this.changelog?.flush();

  constructor(private readonly opts: MasterOptions = {}) {
    this.cfg = masterCfg(opts.cfg ?? {});
    this.log = opts.log ?? silentLogger();
    this.ns = opts.ns ?? new Namespace({ atimeMode: this.cfg.ATIME_MODE, maxAllowedHardLinks: this.cfg.MAX_ALLOWED_HARD_LINKS, inodeReuseDelay: this.cfg.INODE_REUSE_DELAY });
    const ts = () => Math.floor(Date.now() / 1000);
    this.sessions = new Sessions(this.cfg.SESSION_SUSTAIN_TIME, {
      removed: (s) => {
        this.log.info({ session: s.id }, `remove session: ${s.id}`);
        this.ns.sessionClosed(s.id);
        this.locks.sessionRemoved(s.id);
        if (!this.replaying) this.logged(`${ts()}|SESDEL(${s.id})`);
      },
      added: (s) => this.logged(`${ts()}|SESADD(${sessionLogArgs(s, escapeName)}):${s.id}`),
      changed: (s) => this.logged(`${ts()}|SESCHANGED(${s.id},${sessionLogArgs(s, escapeName)})`),
      disconnected: (s) => this.logged(`${ts()}|SESDISCONNECTED(${s.id})`),
    });
    // FLOCK / POSIXLOCK records (flocklocks.c, posixlocks.c); a replayed record is not logged again.
    this.locks.changes = (text) => {
      if (!this.replaying) this.logged(`${ts()}|${text}`);
    };
    this.charts = masterCharts({
      file: opts.persist ? join(this.cfg.DATA_PATH, 'stats.mfs') : undefined,
      space: () => {
        let total = 0;
        let avail = 0;
        for (const c of this.cs?.registered() ?? []) {
          total += c.totalspace;
          avail += Math.max(0, c.totalspace - c.usedspace);
        }
        return { total, used: total - avail };
      },
      log: this.log.child({ module: 'charts' }),
    });
    this.registry = new ChunkRegistry({ log: this.log.child({ module: 'chunks' }), replicationsDelayInit: this.cfg.REPLICATIONS_DELAY_INIT });
    // Chunk versions and file references live in the namespace's chunk book (CHNK metadata).
    const ns = this.ns;
    const meta: ChunkMeta = {
      chunkInfo: (id) => {
        const e = ns.chunks.get(id);
        return e ? { version: e.version, refs: e.fcount } : undefined;
      },
      markNeedVersionIncrease: (id) => ns.chunks.markNeedVersionIncrease(id),
      operationDone: (id) => ns.chunks.operationDone(id),
      drop: (id) => ns.chunks.drop(id),
    };
    this.registry.setMeta(meta);
    this.syncGate = new SyncGate({
      log: this.log.child({ module: 'syncack' }),
      enabled: () => this.cfg.FOLLOWER_SYNC_ACK,
      timeoutMs: () => Math.max(1, this.cfg.FOLLOWER_SYNC_TIMEOUT_MS),
      lastVersion: () => this.metaversion - 1n,
      followers: () => this.ml?.followerCount() ?? 0,
    });
  }

  get exports(): Exports {
    if (!this.exportsTable) throw new ConfigError('exports not loaded');
    return this.exportsTable;
  }

  private loadExports(): Exports {
    const r = this.opts.exportsText !== undefined ? Exports.parse(this.opts.exportsText, this.opts.accounts) : loadExportsFile(this.cfg.EXPORTS_FILENAME, this.opts.accounts);
    for (const w of r.warnings) this.log.warn({ line: w.lineno }, w.message);
    if (r.exports.entries.length === 0) throw new ConfigError(`no exports defined in ${this.opts.exportsText !== undefined ? 'exports text' : this.cfg.EXPORTS_FILENAME}`, 'EXPORTS_FILENAME');
    return r.exports;
  }

  /** meta_version: the id the next changelog record gets. */
  get metaversion(): bigint {
    return this.changelog?.version ?? this.memVersion;
  }

  /** Every applied change: to changelog.0.mfs (when persisting) and to the metaloggers. */
  private logged(text: string): void {
    let v: bigint;
    if (this.changelog) v = this.changelog.appendText(text);
    else v = this.memVersion++;
    this.ml?.broadcast(v, text);
  }

  private metadataPath(name = 'metadata.mfs'): string {
    return join(this.cfg.DATA_PATH, name);
  }

  /** Sections of metadata.mfs this module owns. */
  private extraSections(): RawSection[] {
    return [
      { name: 'SESS', version: SESS_VERSION, data: this.sessions.store() },
      { name: 'SCLA', version: SCLA_VERSION, data: this.ns.sclasses.store() },
      { name: 'FLCK', version: FLCK_VERSION, data: this.locks.storeFlocks(this.isOpen) },
      { name: 'PLCK', version: PLCK_VERSION, data: this.locks.storePosix(this.isOpen) },
      { name: 'CSDB', version: CSDB_VERSION, data: this.registry.storeCsdb() },
    ];
  }

  /** Does a stored session hold this file open (OPEN section)? Locks are kept only then, as of_checknode asks. */
  private readonly isOpen = (sessionid: number, inode: number): boolean =>
    this.ns.tree.open.get(inode)?.has(sessionid) === true && this.sessions.find(sessionid)?.closed === false;

  /** changelog.N.mfs -> N+1 (BACK_LOGS kept), so changelog.0.mfs starts empty. */
  private rotateChangelogs(): void {
    const keep = Math.max(1, this.cfg.BACK_LOGS);
    for (let n = keep - 1; n >= 0; n--) {
      const from = this.metadataPath(`changelog.${n}.mfs`);
      if (existsSync(from)) renameSync(from, this.metadataPath(`changelog.${n + 1}.mfs`));
    }
  }

  /** Loads one metadata file into the namespace; returns its metaversion. */
  private loadFile(f: string): bigint {
    const buf = readFileSync(f);
    if (buf.toString('latin1') === NEW_FS) {
      this.log.info({ file: f }, 'new file system: MFSM NEW');
      this.newFs = true;
      return 1n;
    }
    const r = loadMetadata(this.ns, buf);
    this.metaid = r.metaid;
    const scla = r.other.find((x) => x.name === 'SCLA');
    if (scla) this.ns.sclasses.load(scla.data, scla.version);
    else this.ns.sclasses.reset();
    const sess = r.other.find((x) => x.name === 'SESS');
    if (sess) {
      this.sessions.load(sess.data);
      // Files the sessions hold open (OPEN section) follow them.
      for (const x of this.sessions.all()) for (const [inode, holders] of this.ns.tree.open) if (holders.has(x.id)) x.openFiles.add(inode);
    }
    // Locks go back to the restored sessions (metadata.c loads FLCK/PLCK only after SESS and OPEN).
    this.locks.clear();
    for (const x of r.other) {
      if (x.name === 'FLCK') this.locks.loadFlocks(x.data, x.version, this.isOpen);
      else if (x.name === 'PLCK') this.locks.loadPosix(x.data, x.version, this.isOpen);
      else if (x.name === 'CSDB') this.registry.loadCsdb(x.data, x.version);
    }
    this.log.info({ file: f, metaversion: String(r.metaversion), metaid: r.metaid.toString(16) }, 'metadata file has been loaded');
    return r.metaversion;
  }

  /** SESADD / SESCHANGED / SESDEL during -a (restore.c do_sesadd and friends); other modules' records are skipped. */
  private replaySessionRecord(op: string, args: unknown[], result: Array<number | bigint> | undefined): void {
    const num = (x: unknown) => (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : Number.parseInt(String(x), 10));
    const params = (a: unknown[]): SessionParams => ({
      exportsChecksum: BigInt(String(a[0]).replace(/^#/, '')),
      rootinode: num(a[1]), sesflags: num(a[2]), umask: Number.parseInt(String(a[3]), 8), rootuid: num(a[4]), rootgid: num(a[5]),
      mapalluid: num(a[6]), mapallgid: num(a[7]), mingoal: num(a[8]), maxgoal: num(a[9]), mintrashtime: num(a[10]), maxtrashtime: num(a[11]),
      disables: Number.parseInt(String(a[12]), 16), peerip: num(a[13]), info: Buffer.isBuffer(a[14]) ? Buffer.from(a[14]) : Buffer.from(String(a[14] ?? ''), 'latin1'),
    });
    if (op === 'SESADD' && args.length >= 15 && result?.length) this.sessions.replayAdd(Number(result[0]), params(args));
    else if (op === 'SESCHANGED' && args.length >= 16) this.sessions.replayAdd(num(args[0]), params(args.slice(1)));
    else if (op === 'SESDEL') this.sessions.replayDel(num(args[0]));
  }

  /** FLOCK / POSIXLOCK during -a and on a follower (restore.c do_flock / do_posixlock); undefined for other records. */
  private replayLockRecord(op: string, args: unknown[]): number | undefined {
    const big = (x: unknown) => BigInt(typeof x === 'string' ? x : String(x));
    if (op === 'FLOCK' && args.length === 4) return this.locks.mrFlock(Number(args[0]), Number(args[1]), big(args[2]), String(args[3]));
    if (op === 'POSIXLOCK' && args.length === 7) {
      return this.locks.mrPosix(Number(args[0]), Number(args[1]), big(args[2]), String(args[3]), big(args[4]), big(args[5]), Number(args[6]));
    }
    if (op === 'FLOCK' || op === 'POSIXLOCK') return MFS_ERROR_EINVAL;
    return undefined;
  }

  /** One changelog record during -a: the namespace's own, sessions', the metaid; others are skipped. */
  private replayRecord(rec: ChangelogRecord): number {
    if (NAMESPACE_OPS.has(rec.op)) return this.ns.apply(rec);
    if (rec.op === 'SETMETAID') {
      // meta_mr_setmetaid: only on a file system that has none yet, or the same one.
      const id = BigInt(String(rec.args[0]));
      if (this.newFs || this.metaid === id) {
        this.metaid = id;
        this.newFs = false;
        return 0;
      }
      return MFS_ERROR_EINVAL;
    }
    if (!RESTORE_KNOWN_OPS.has(rec.op)) return MFS_ERROR_MISMATCH; // restore.c: "unknown entry"
    const lockStatus = this.replayLockRecord(rec.op, rec.args);
    if (lockStatus !== undefined) return lockStatus;
    this.replaySessionRecord(rec.op, rec.args, rec.result);
    return 0;
  }

  /**
   * `mfsmaster -a` (meta_loadall, merger.c, restore.c): the newest valid metadata file of one metaid,
   * then every changelog record from its version on, in id order, stopping at a hole or a failing
   * record. A stop before the last record found refuses the start unless -i (`ignoreErrors`).
   * Returns the version the next change gets.
   */
  private autoRestore(): bigint {
    const dir = this.cfg.DATA_PATH;
    const choice = chooseMetadataFile(dir, this.opts.ignoreErrors === true);
    for (const c of choice.candidates) this.log.info({ file: c.name }, `found ${describeCandidate(c)}`);
    if (!choice.ok) throw new ConfigError(choice.error, 'DATA_PATH');
    for (const c of choice.ignoredIds) this.log.warn({ file: c.name }, 'found metadata file with different id number - ignoring (-i)');
    this.log.info({ file: choice.name, version: String(choice.version), metaid: choice.id.toString(16).toUpperCase() }, `chosen most recent metadata file: ${choice.name} (version: ${choice.version}${choice.id ? ` ; id: ${choice.id.toString(16).toUpperCase()}` : ''})`);
    let metaversion: bigint;
    try {
      metaversion = this.loadFile(this.metadataPath(choice.name));
    } catch (e) {
      if (e instanceof MetadataError) throw new ConfigError(`error loading metadata file (${choice.name}): ${e.message}`, 'DATA_PATH');
      throw e;
    }
    this.replaying = true;
    let out: ReplayOutcome;
    try {
      out = replayChangelogs(dir, metaversion, (rec) => this.replayRecord(rec), {
        progressEvery: this.opts.restoreProgressEvery,
        progress: (p) => this.log.info({ change: String(p.id), percent: p.percent }, `restore progress: change ${p.id} (first: ${p.first} - last: ${p.last} - ${p.percent}%${p.etaSeconds === undefined ? '' : ` - ETA: ${Math.floor(p.etaSeconds / 60)}:${String(p.etaSeconds % 60).padStart(2, '0')}`})`),
        fileInfo: (f) => this.log.info({ file: f.name, first: String(f.first), last: String(f.last) }, `${f.used ? 'using' : 'skipping'} changelog file: ${f.name} (changes: ${f.first || '???'} - ${f.last || '???'})`),
        garbage: (f) => this.log.warn({ file: f.name, offset: f.garbageAt!.offset }, `found garbage at the end of file: ${f.name} (last correct id: ${f.garbageAt!.afterId}, byte ${f.garbageAt!.offset})`),
      });
    } finally {
      this.replaying = false;
    }
    const what = { applied: out.applied, duplicates: out.duplicates, first: String(out.firstApplied), last: String(out.lastApplied), metaversion: String(out.version) };
    const stop = out.stop;
    if (out.torn) this.log.warn({ file: out.torn.file, offset: out.torn.offset }, `${out.torn.file} (byte ${out.torn.offset}): ${out.torn.message}`);
    if (stop.kind === 'end') {
      this.log.info(what, out.applied ? `metadata restored: ${out.applied} changes applied (${out.firstApplied} - ${out.lastApplied}), ${out.duplicates} duplicates skipped; next change: ${out.version}` : `metadata restored: no changes to apply after version ${metaversion}`);
      return out.version;
    }
    const why = stop.kind === 'hole'
      ? `hole in change files (entries from ${stop.beforeFile} up to ${stop.from - 1n} and ${stop.afterFile}:${stop.to + 1n} - changes ${stop.from} to ${stop.to} are missing) - add more files`
      : `${stop.file} (byte ${stop.offset}): ${stop.message}`;
    this.log.error({ ...what, stop: stop.kind }, `restore stopped at change ${out.version}: ${why}`);
    if (!this.opts.ignoreErrors) {
      throw new ConfigError(`error applying changelogs: ${why}; ${out.applied} changes applied up to version ${out.version} - fix changelogs manually or use '-i' to start from version ${out.version}`, 'DATA_PATH');
    }
    this.log.warn(what, `error applying changelogs - ignoring (-i): starting from version ${out.version} (${out.maxId + 1n - out.version} later changes dropped)`);
    return out.version;
  }

  /** Without -a: metadata.mfs must be there and whole (meta_loadall's checks and messages). */
  private loadPlain(): bigint {
    const f = this.metadataPath();
    const chk = checkMetadataFile(f);
    const dir = this.cfg.DATA_PATH;
    switch (chk.status) {
      case 'nofile': {
        const back = existsSync(this.metadataPath('metadata.mfs.back'));
        const hint = back ? ' (metadata.mfs.back exists: the master did not stop cleanly)' : ' (for a new file system copy metadata.mfs.empty there)';
        throw new ConfigError(`can't find metadata.mfs in ${dir} - try using option '-a'${hint}`, 'DATA_PATH');
      }
      case 'ioerror':
        throw new ConfigError(`error reading metadata.mfs in ${dir} (${chk.error}) - try using option '-a'`, 'DATA_PATH');
      case 'badheader':
        throw new ConfigError(`metadata.mfs in ${dir} has wrong header - try using option '-a'`, 'DATA_PATH');
      case 'badending': {
        let detail = '';
        try {
          loadMetadata(new Namespace(), readFileSync(f));
        } catch (e) {
          if (e instanceof MetadataError) detail = `: ${e.message}`;
        }
        throw new ConfigError(`metadata.mfs in ${dir} has wrong ending${detail} - try using option '-a'`, 'DATA_PATH');
      }
    }
    const back = checkMetadataFile(this.metadataPath('metadata.mfs.back'));
    if (back.status === 'ok' && back.version > chk.version && back.id !== 0n && chk.id !== 0n && back.id !== chk.id) {
      throw new ConfigError("backup file is newer than current file - please check it manually - try using option '-a'", 'DATA_PATH');
    }
    try {
      return this.loadFile(f);
    } catch (e) {
      if (e instanceof MetadataError) throw new ConfigError(`error loading metadata.mfs in ${dir}: ${e.message} - try using option '-a'`, 'DATA_PATH');
      throw e;
    }
  }

  /** Writes `name` via `name.tmp` + rename, so a failed write (ENOSPC) leaves the old file. */
  private writeAtomically(name: string, data: Buffer): void {
    const tmp = this.metadataPath(`${name}.tmp`);
    try {
      writeFileSync(tmp, data);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    renameSync(tmp, this.metadataPath(name));
  }

  /**
   * changelog.0.mfs for appending from `version` on. CHANGELOG_SAVE_MODE 2 forces every batch of
   * records to disk (fsync) before the replies that depend on it leave; 0 and 1 hand them to the
   * kernel before the replies leave (a crash of the process loses nothing, a crash of the machine may
   * lose what the kernel had not written yet). A write that fails (a full disk) is logged, the records
   * stay in memory and are written as soon as the disk takes them again.
   */
  private openChangelog(version: bigint, carry?: UnwrittenRecords): ChangelogWriter {
    const path = this.metadataPath('changelog.0.mfs');
    return new ChangelogWriter(path, version, this.cfg.CHANGELOG_SAVE_MODE === 2 ? 'always' : 'never', {
      writeFailed: (err, first) => this.log.error({ file: path, code: err.code, version: String(first) }, `can't write changelog.0.mfs (${err.code ?? err.message}): changes from ${first} on are kept in memory and written when the disk has room again`),
      writeRecovered: (n) => this.log.warn({ file: path, records: n }, `changelog.0.mfs can be written again: ${n} changes kept in memory are now in the file`),
    }, carry);
  }

  /** Loads the metadata from DATA_PATH and opens changelog.0.mfs (meta_init). */
  private loadMetadataFiles(): void {
    const f = this.metadataPath();
    const back = this.metadataPath('metadata.mfs.back');
    const metaversion = this.opts.autoRestore ? this.autoRestore() : this.loadPlain();
    if (this.newFs) {
      // meta_check_id: a new file system gets its metaid as its first change.
      this.pendingMetaidRecord = true;
    }
    // While running, the file on disk is metadata.mfs.back (MooseFS renames it at start); it is
    // rewritten from what was loaded, so a new file system also has a real one for metaloggers.
    if (existsSync(f)) renameSync(f, back);
    rmSync(this.metadataPath('metadata.mfs.back.tmp'), { force: true });
    this.writeAtomically('metadata.mfs.back', dumpMetadataSync(this.ns, { metaversion, metaid: this.metaid, extra: this.extraSections() }));
    this.rotateChangelogs();
    this.changelog = this.openChangelog(metaversion);
    if (this.pendingMetaidRecord) {
      this.pendingMetaidRecord = false;
      this.logged(`${Math.floor(Date.now() / 1000)}|SETMETAID(${this.metaid})`);
    }
  }

  /** The periodic dump in progress, if any (one at a time, as meta_storeall's lock on the .tmp file). */
  private dumping: MetadataDump | undefined;

  /**
   * The periodic dump (every METADATA_SAVE_FREQ hours, meta_dostoreall): changelog.0.mfs is rotated
   * first, so the new one starts at the dump's version (and the metaloggers rotate too); then the image
   * of that version is encoded in slices of a few ms while clients and chunkservers are served
   * (fs/metadump.ts: what the C master gets from fork), written to metadata.mfs.back.tmp and renamed
   * to metadata.mfs.back. Resolves true once stored, false if not started (no changelog, a dump
   * running) or failed (logged; the previous metadata.mfs.back stays).
   */
  async dumpMetadata(): Promise<boolean> {
    if (!this.changelog) return false;
    if (this.dumping) {
      this.log.warn("previous metadata save process hasn't finished yet - do not start another one");
      return false;
    }
    const version = this.changelog.version;
    const t0 = Date.now();
    const tmp = this.metadataPath('metadata.mfs.back.tmp');
    // The image streams to the .tmp file as it is encoded (a few MiB of buffers, not the whole file).
    let fd: number;
    let dump: MetadataDump;
    try {
      fd = openSync(tmp, 'w');
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "can't write metadata - previous metadata.mfs.back kept");
      return false;
    }
    try {
      dump = new MetadataDump(this.ns, { metaversion: version, metaid: this.metaid, extra: this.extraSections(), fd });
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      this.log.error({ err: (e as Error).message }, "can't write metadata - previous metadata.mfs.back kept");
      return false;
    }
    this.dumping = dump;
    const carry = this.changelog.close();
    this.rotateChangelogs();
    this.changelog = this.openChangelog(version, carry);
    this.ml?.rotate();
    let open = true;
    try {
      await dump.run();
      open = false;
      closeSync(fd);
      if (this.dumping !== dump) throw new Error('master stopped during the dump');
      await fsp.rename(tmp, this.metadataPath('metadata.mfs.back'));
      this.log.info({ metaversion: String(version), bytes: dump.fileBytes, ms: Date.now() - t0, encodeMs: Math.round(dump.busyMs), slices: dump.slices, longestSliceMs: Math.round(dump.longestSliceMs) }, 'metadata dumped');
      return true;
    } catch (e) {
      if (this.dumping === dump) this.log.error({ err: (e as Error).message }, "can't write metadata - previous metadata.mfs.back kept");
      if (open) {
        await dump.settled(); // no write may land on a reused descriptor
        closeSync(fd);
      }
      await fsp.rm(tmp, { force: true });
      return false;
    } finally {
      if (this.dumping === dump) this.dumping = undefined;
    }
  }

  /** Writes metadata.mfs (via .tmp) and rotates the changelog (fs_storeall at exit). */
  private async storeMetadataFiles(): Promise<void> {
    if (!this.changelog) return;
    this.dumping?.abort(); // the stop writes the whole image itself
    this.dumping = undefined;
    const data = dumpMetadataSync(this.ns, { metaversion: this.changelog.version, metaid: this.metaid, extra: this.extraSections() });
    // meta_term: a store that fails (a full disk) is retried until it succeeds; meanwhile
    // metadata.mfs.back and the changelogs stay as they are, so even a kill leaves a -a restore.
    for (let attempt = 1; ; attempt++) {
      try {
        this.writeAtomically('metadata.mfs', data);
        break;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        this.log.error({ code: err.code, attempt }, `can't store metadata.mfs (${err.code ?? err.message}) - metadata.mfs.back and changelog files kept - make more space on the disk or fix the privileges; retrying in ${this.opts.storeRetryMs ?? 10_000} ms`);
        await new Promise((r) => setTimeout(r, this.opts.storeRetryMs ?? 10_000));
      }
    }
    this.changelog.close();
    this.changelog = undefined;
    this.rotateChangelogs();
    this.ml?.rotate();
    this.log.info('metadata file has been stored');
  }

  /**
   * The goal of every chunk of the loaded metadata (the highest goal among the files that share it,
   * as chunks.c keeps it), so the jobs loop can keep old chunks at goal after a restart.
   */
  private seedChunkGoals(): void {
    // chunk -> the storage class of the sharing file that keeps the most copies (its labels too)
    const classes = new Map<number, number>();
    const byClass = new Map<number, ReturnType<SclassTable['placement']>>();
    const place = (cls: number) => byClass.get(cls) ?? byClass.set(cls, this.ns.sclasses.placement(cls)).get(cls)!;
    for (const node of this.ns.tree.nodes.values()) {
      if (node.chunks.length === 0) continue;
      const g = place(node.sclassid).goal;
      for (const id of node.chunks) {
        if (id === 0) continue;
        const cur = classes.get(id);
        if (cur === undefined || place(cur).goal < g) classes.set(id, node.sclassid);
      }
    }
    for (const [id, cls] of classes) this.registry.setGoal(id, place(cls));
  }

  async start(): Promise<void> {
    if (this.opts.persist) this.loadMetadataFiles();
    this.seedChunkGoals();
    this.ns.onRecord = (rec) => this.logged(formatRecord(rec));
    replyBarrier.add(this.flushChangelog);
    try {
      this.exportsTable = this.loadExports();
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`mfsexports configuration file (${this.cfg.EXPORTS_FILENAME}) can't be read: ${(e as Error).message}`, 'EXPORTS_FILENAME');
    }
    this.log.info('exports file has been loaded');
    if (this.opts.standby) {
      this.standbyMode = true;
      this.log.info({ metaversion: String(this.metaversion) }, 'standby: namespace loaded, not serving until promoted');
      return;
    }
    await this.serve();
  }

  /** Opens the three ports and starts the periodic tasks (at start, or when a standby is promoted). */
  private async serve(): Promise<void> {
    const cs = new MatocsServer({
      log: this.log.child({ module: 'matocsserv' }),
      registry: this.registry,
      host: this.cfg.MATOCS_LISTEN_HOST,
      port: Number(this.cfg.MATOCS_LISTEN_PORT),
      timeout: this.cfg.MATOCS_TIMEOUT,
      authCode: () => this.cfg.AUTH_CODE,
      metaid: () => this.metaid,
      allowLoopback: () => this.cfg.ALLOW_LOOPBACK_CHUNKSERVERS,
      charts: this.charts.counters,
    });
    this.cs = cs;
    const ctx: MasterCtx = {
      log: this.log.child({ module: 'matoclserv' }),
      cfg: () => this.cfg,
      exports: () => this.exports,
      sessions: this.sessions,
      ns: this.ns,
      registry: this.registry,
      cs,
      locks: this.locks,
      metaid: () => this.metaid,
      metaversion: () => this.metaversion,
      metaloggers: () => this.ml?.list() ?? [],
      startTime: this.startTime,
      chunkGoalsChanged: () => this.seedChunkGoals(),
      replyGate: this.syncGate,
      charts: this.charts,
    };
    this.cl = new MatoclServer(ctx, { host: this.cfg.MATOCL_LISTEN_HOST, port: Number(this.cfg.MATOCL_LISTEN_PORT) });
    this.ml = new MatomlServer({
      log: this.log.child({ module: 'matomlserv' }),
      host: this.cfg.MATOML_LISTEN_HOST,
      port: Number(this.cfg.MATOML_LISTEN_PORT),
      dataPath: () => this.cfg.DATA_PATH,
      preserveSeconds: this.cfg.MATOAN_LOG_PRESERVE_SECONDS,
      followers: {
        // matomlserv_get_config answers any cfg value; ours adds the follower extension key.
        config: (name) => (name === MFSTS_FOLLOWER_PROTOCOL_KEY ? MFSTS_FOLLOWER_PROTOCOL_VERSION : name === 'AUTH_CODE' ? '' : String((this.cfg as Record<string, unknown>)[name] ?? '')),
        ack: (v) => this.syncGate.ack(v),
        gone: () => this.syncGate.followerGone(),
        checksum: () => ({ version: this.metaversion, checksum: namespaceChecksum(this.ns) }),
        listVersion: () => followerListVersion(this.syncGate.state),
      },
    });
    try {
      this.ports.ml = await this.ml.listen();
      this.ports.cs = await cs.listen();
      this.ports.cl = await this.cl.listen();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.log.info({ cs: this.ports.cs, cl: this.ports.cl }, 'master listening');
    await this.charts.start();
    this.chartsStarted = true;
    const every = (ms: number, f: () => void) => {
      const t = setInterval(() => {
        try {
          f();
        } catch (e) {
          this.log.error({ err: e }, 'periodic task failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(1000, () => this.ns.periodic());
    every(1000, () => this.changelog?.flush()); // records a full disk held back
    every(1000, () => this.sessions.check());
    every(3600_000, () => this.sessions.statsMove());
    if (this.opts.persist) every(Math.max(1, this.cfg.METADATA_SAVE_FREQ) * 3600_000, () => void this.dumpMetadata());
    const wrep = parseRepLimit(this.cfg.CHUNKS_WRITE_REP_LIMIT, [2, 1, 1, 4]);
    every(1000, () => this.registry.jobs(Math.max(1, wrep[0]! * Math.max(1, this.registry.serverCount())), this.cfg.CHUNKS_SOFT_DEL_LIMIT));
  }

  async stop(): Promise<void> {
    // A dump still running is abandoned at once (the stop writes the whole image itself), before
    // anything below yields and lets it finish with the namespace still changing.
    this.dumping?.abort();
    this.dumping = undefined;
    replyBarrier.delete(this.flushChangelog);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.syncGate.close();
    await this.cl?.close();
    await this.cs?.close();
    await this.ml?.close();
    this.ml = undefined;
    this.cl = undefined;
    this.cs = undefined;
    if (this.chartsStarted) {
      this.chartsStarted = false;
      await this.charts.stop();
    }
    if (this.opts.persist) await this.storeMetadataFiles();
  }

  /** SIGHUP: reloadable cfg keys and the exports file (matoclserv_reload_sessions). */
  reload(values: Record<string, unknown>): void {
    const next = masterCfg(values as Partial<Record<keyof MasterCfg, unknown>>);
    this.cfg = next;
    this.sessions.sustainTime = next.SESSION_SUSTAIN_TIME;
    try {
      this.exportsTable = this.loadExports();
      this.log.info('exports file has been reloaded');
      this.cl?.exportsReloaded();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'exports not changed');
    }
  }

  info(): void {
    const sync = { state: this.syncGate.state, acked: String(this.syncGate.ackedVersion), held: this.syncGate.pending, degradations: this.syncGate.degradations, followers: this.ml?.followerCount() ?? 0 };
    this.log.info({ sessions: this.sessions.size, chunkservers: this.registry.serverCount(), ...this.registry.info(), followerSyncAck: sync }, 'master info');
  }

  // ---- hot follower hooks (packages/failover/src/follower.ts drives them) ---------------------------

  /** Loaded and waiting to be promoted (started with `standby`). */
  get standby(): boolean {
    return this.standbyMode;
  }

  /**
   * Applies one change as the leader logged it (`ts|OP(args):result`) through the same appliers as
   * -a, and logs it to our changelog with the same version. `version` (default: the next one) must
   * be the next version: anything else is a gap. Returns 'ok', 'gap', or why the change failed (the
   * copy then no longer matches the leader's).
   */
  applyChange(text: string, version: bigint = this.metaversion): string {
    if (!this.changelog) return 'no changelog open (not started with persist)';
    if (version !== this.metaversion) return 'gap';
    const r = parseRecord(text);
    if (!r.ok) return `change ${version} does not parse: ${r.error}`;
    const rec = r.value;
    if (NAMESPACE_OPS.has(rec.op)) {
      const st = this.ns.apply(rec);
      if (st !== 0) return `change ${version} (${rec.op}) failed with status ${st}`;
    } else {
      this.replaying = true;
      try {
        const st = this.replayLockRecord(rec.op, rec.args) ?? 0;
        if (st !== 0) return `change ${version} (${rec.op}) failed with status ${st}`;
        this.replaySessionRecord(rec.op, rec.args, rec.result);
      } finally {
        this.replaying = false;
      }
    }
    this.logged(text);
    return 'ok';
  }

  /** Writes and fsyncs our changelog (a follower, before it acknowledges). */
  syncChangelog(): void {
    this.changelog?.sync();
  }

  /** namespaceChecksum of our namespace (follow.ts). */
  stateChecksum(): bigint {
    return namespaceChecksum(this.ns);
  }

  /**
   * A standby starts serving in place: the loaded namespace, the open changelog, the replayed
   * sessions; the ports open and the periodic tasks start. No restore step.
   */
  async promote(): Promise<void> {
    if (!this.standbyMode) return;
    this.standbyMode = false;
    this.syncChangelog();
    this.seedChunkGoals();
    await this.serve();
    this.log.info({ metaversion: String(this.metaversion) }, 'promoted: serving as master');
  }
}
