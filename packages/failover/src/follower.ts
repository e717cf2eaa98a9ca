// The hot follower: `mfsmaster-ts` with FOLLOW_MASTER_HOST set. It connects to the leader's
// metalogger port as a metalogger does (packages/metalogger MasterConn: register, metadata download,
// the METACHANGES_LOG stream), but instead of writing changelog_ml files it keeps the whole namespace
// in memory in a standby Master, applying every change through the master's own appliers and
// logging it to its own changelog.0.mfs with the leader's version. It compares a namespace checksum
// with the leader's at intervals and downloads everything again on a mismatch or a gap. Promotion
// (SIGUSR2, `mfsmaster-ts -c CFG promote`, the kit's notify_master) opens the ports in place: no
// restore step.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon, Logger } from '@mfs-ts/common';
import { Master, masterCfg, type MasterCfg } from '@mfs-ts/master';
import { MasterConn, metaloggerCfg, settingsFrom, checkMetadataFile, type ChangeSink } from '@mfs-ts/metalogger';
import {
  ANTOAN_CONFIG_VALUE,
  AntoanConfigValue,
  AntoanGetConfig,
  AntomaMfstsChecksum,
  AntomaMfstsFollowerAck,
  MATOAN_MFSTS_CHECKSUM,
  MatoanMfstsChecksum,
  MFSTS_FOLLOWER_PROTOCOL_KEY,
  MFSTS_FOLLOWER_PROTOCOL_VERSION,
} from '@mfs-ts/protocol';
import { setAside } from './files.js';

export { FOLLOW_DIR, FOLLOWER_STATUS, type FollowerState, type FollowerStatus } from './status.js';
import { FOLLOW_DIR, FOLLOWER_STATUS, type FollowerState, type FollowerStatus } from './status.js';

export interface FollowerOptions {
  cfg: MasterCfg;
  log: Logger;
  /** How often the status file is written and keepalive checked (ms, default 200). */
  tickMs?: number;
}

/** The first 8 bytes of a file as latin1 ('' if unreadable). */
function readHead(f: string): string {
  try {
    const fd = openSync(f, 'r');
    try {
      const b = Buffer.alloc(8);
      return b.toString('latin1', 0, readSync(fd, b, 0, 8, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

const latin1Text = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.toString('latin1', 0, end < 0 ? b.length : end);
};

export class Follower implements Daemon {
  readonly log: Logger;
  private cfg: MasterCfg;
  private conn: MasterConn;
  /** The standby master holding our copy (undefined while downloading). */
  master: Master | undefined;
  state: FollowerState = 'connecting';
  private pending: Array<{ version: bigint; text: string }> = [];
  private appliedSinceFlush = 0;
  private extensions: boolean | undefined;
  private seen = 0n;
  private metaid: bigint | undefined;
  private lastCheck: FollowerStatus['lastCheck'];
  private downloads = 0;
  private note: string | undefined;
  private timers: NodeJS.Timeout[] = [];
  private msgid = 1;
  private loading = false;
  private readonly dlDir: string;

  constructor(private readonly opts: FollowerOptions) {
    this.log = opts.log.child({ module: 'follower' });
    this.cfg = opts.cfg;
    this.dlDir = join(this.cfg.DATA_PATH, FOLLOW_DIR);
    const s = settingsFrom(
      metaloggerCfg({
        DATA_PATH: this.dlDir,
        MASTER_HOST: this.cfg.FOLLOW_MASTER_HOST,
        MASTER_PORT: this.cfg.FOLLOW_MASTER_PORT,
        MASTER_RECONNECTION_DELAY: Math.max(1, this.cfg.FOLLOW_RECONNECTION_DELAY),
        BACK_LOGS: 50,
      }),
    );
    this.conn = new MasterConn(s, this.log, { sink: this.sink, packet: (t, p) => this.extraPacket(t, p) });
    this.conn.on('connected', ({ master }) => {
      this.state = this.master ? 'following' : 'downloading';
      this.log.info({ master }, 'connected to the leader');
      // Does the leader speak our extensions? 3.0.117 answers "" (cfg_getstr of an unknown key).
      this.conn.sendPacket(AntoanGetConfig.encode({ msgid: this.msgid++, name: Buffer.from(MFSTS_FOLLOWER_PROTOCOL_KEY, 'latin1') }));
    });
    this.conn.on('disconnected', ({ reason }) => {
      if (this.state === 'following' || this.state === 'downloading') this.state = 'connecting';
      this.log.warn({ reason }, 'lost the leader');
    });
    this.conn.on('downloaded', (d) => {
      if (d.filenum === 1) {
        this.downloads++;
        // A file system that has never been dumped: the leader's metadata.mfs.back is "MFSM NEW"
        // (a real master until its first hourly dump). The metalogger leaves it as the tmp file;
        // we take it (our -a starts a new file system from it and replays the changelogs).
        if (d.installedAs === undefined && readHead(join(this.dlDir, 'metadata_ml.tmp')) === 'MFSM NEW') renameSync(join(this.dlDir, 'metadata_ml.tmp'), join(this.dlDir, 'metadata_ml.mfs.back'));
        const chk = checkMetadataFile(join(this.dlDir, 'metadata_ml.mfs.back'));
        if (chk.ok && chk.version !== undefined) this.see(BigInt(chk.version) - 1n);
      }
      if (d.filenum === 12) void this.load();
    });
    this.conn.on('downloadFailed', ({ filenum, reason }) => {
      this.log.warn({ filenum, reason }, 'download failed: starting over');
      this.restart(`download of file ${filenum} failed`);
    });
  }

  // ---- the change stream ----------------------------------------------------------------------------

  private readonly sink: ChangeSink = {
    append: (version, data) => {
      const v = BigInt(version);
      this.see(v);
      const text = latin1Text(data);
      if (!this.master || this.loading) {
        this.pending.push({ version: v, text });
        return;
      }
      this.apply(v, text);
    },
    flush: () => {
      if (this.master && this.appliedSinceFlush > 0) {
        this.appliedSinceFlush = 0;
        try {
          this.master.syncChangelog();
        } catch (e) {
          this.log.error({ err: (e as Error).message }, "can't write our changelog: starting over");
          this.restart('changelog write error');
          return undefined;
        }
        this.ack();
      }
      return undefined;
    },
    close: () => this.sink.flush(),
    rotate: () => {
      // The leader dumped its metadata and rotated its changelog: so do we (same versions).
      try {
        this.master?.dumpMetadata();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'metadata dump failed');
      }
      return undefined;
    },
    removeAll: () => {
      // MasterConn saw a gap and will download everything again on its next connection.
      this.discard('the leader skipped changes (gap)');
    },
  };

  private see(v: bigint): void {
    if (v > this.seen) this.seen = v;
  }

  private apply(v: bigint, text: string): void {
    const m = this.master!;
    if (v < m.metaversion) return; // already in the downloaded files
    const r = m.applyChange(text, v);
    if (r === 'ok') {
      this.appliedSinceFlush++;
      return;
    }
    this.log.error({ version: String(v), result: r, expected: String(m.metaversion) }, `change ${v} cannot be applied to our copy (${r}): downloading everything again`);
    this.restart(`change ${v}: ${r}`);
  }

  private ack(): void {
    if (this.extensions !== true || !this.master) return;
    this.conn.sendPacket(AntomaMfstsFollowerAck.encode({ version: this.master.metaversion - 1n }));
  }

  private extraPacket(type: number, payload: Buffer): boolean {
    if (type === ANTOAN_CONFIG_VALUE) {
      const r = AntoanConfigValue.decode(payload);
      if (!r.ok) return false;
      const v = r.value.value.toString('latin1');
      const was = this.extensions;
      this.extensions = v === MFSTS_FOLLOWER_PROTOCOL_VERSION;
      if (this.extensions) {
        this.log.info('the leader speaks the mfs-ts follower extensions: acknowledging changes, comparing checksums');
        this.ack();
      } else if (was !== false) {
        this.log.warn({ answer: v }, 'the leader does not speak the mfs-ts follower extensions (a real MooseFS master?): no acknowledgements, no checksum comparison; gaps still trigger a new download');
      }
      return true;
    }
    if (type === MATOAN_MFSTS_CHECKSUM) {
      const r = MatoanMfstsChecksum.decode(payload);
      if (!r.ok) return false;
      this.onChecksum(r.value.version, r.value.checksum);
      return true;
    }
    return false;
  }

  private onChecksum(version: bigint, checksum: bigint): void {
    this.see(version - 1n);
    const m = this.master;
    if (!m || this.loading) return;
    // The reply follows, on the same connection, every change logged before it was taken.
    if (version !== m.metaversion) {
      this.log.debug({ leader: String(version), ours: String(m.metaversion) }, 'checksum of another version: skipped');
      return;
    }
    const ours = m.stateChecksum();
    const ok = ours === checksum;
    this.lastCheck = { at: Date.now(), ok, version: String(version) };
    if (ok) {
      this.log.debug({ version: String(version) }, 'checksum matches the leader');
      return;
    }
    this.log.error({ version: String(version), leader: checksum.toString(16), ours: ours.toString(16) }, 'namespace checksum differs from the leader: downloading everything again');
    this.restart('checksum mismatch');
  }

  private askChecksum(): void {
    if (this.extensions !== true || !this.master || this.loading || this.state !== 'following') return;
    this.conn.sendPacket(AntomaMfstsChecksum.encode({ msgid: this.msgid++ }));
  }

  // ---- loading a download -----------------------------------------------------------------------------

  /** The metadata and both changelogs are downloaded: build the standby master from them. */
  private async load(): Promise<void> {
    const dl = this.dlDir;
    const meta = join(dl, 'metadata_ml.mfs.back');
    const chk = checkMetadataFile(meta);
    if (!chk.ok && chk.reason !== 'new') {
      this.restart(`downloaded metadata unusable (${chk.reason})`);
      return;
    }
    // A standby pointed at a master of another file system refuses it (its files stay untouched).
    const known = this.metaid ?? this.localMetaid();
    if (chk.ok && known !== undefined && chk.metaid !== undefined && known !== chk.metaid) {
      this.state = 'refused';
      this.note = `leader's metaid ${chk.metaid.toString(16)} differs from ours ${known.toString(16)}`;
      this.log.error({ leader: chk.metaid.toString(16), ours: known.toString(16) }, 'the leader serves another file system (metaid differs): refusing to follow it');
      this.stopLink();
      this.writeStatus();
      return;
    }
    this.loading = true;
    const t0 = performance.now();
    try {
      await this.discardMaster();
      const dir = this.cfg.DATA_PATH;
      // What was here before (an old master's files, a previous copy) is kept aside, never loaded.
      const old = setAside(dir, 'master', join(dl, 'old', new Date().toISOString().replace(/[:.]/g, '-')));
      if (old.length) this.log.info({ files: old }, 'previous metadata files set aside');
      for (const n of ['metadata_ml.mfs.back', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs']) if (existsSync(join(dl, n))) renameSync(join(dl, n), join(dir, n));
      const m = new Master({ cfg: this.cfg, log: this.opts.log, persist: true, autoRestore: true, standby: true });
      await m.start();
      for (const n of ['metadata_ml.mfs.back', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs']) rmSync(join(dir, n), { force: true });
      this.master = m;
      this.metaid = m.metaid;
      this.loading = false;
      // Changes streamed while we downloaded: the ones after the downloaded files, in order.
      const pending = this.pending;
      this.pending = [];
      for (const p of pending) {
        if (!this.master) break;
        if (p.version >= this.master.metaversion) this.apply(p.version, p.text);
      }
      if (!this.master) return;
      if (pending.length > 0 && pending[pending.length - 1]!.version >= this.master.metaversion) {
        this.restart(`changes ${this.master.metaversion}..${pending[pending.length - 1]!.version} missing between the download and the stream`);
        return;
      }
      this.state = this.conn.state === 'data' ? 'following' : 'connecting';
      this.note = undefined;
      this.sink.flush();
      this.ack();
      this.log.info({ metaversion: String(this.master.metaversion), metaid: this.metaid.toString(16), ms: Math.round(performance.now() - t0), applied: pending.length }, 'following: namespace loaded from the leader');
    } catch (e) {
      this.loading = false;
      this.log.error({ err: (e as Error).message }, 'loading the downloaded metadata failed: starting over');
      this.restart('load failed');
    }
    this.writeStatus();
  }

  /** The metaid of metadata files already in DATA_PATH (a previous life of this node). */
  private localMetaid(): bigint | undefined {
    const dir = this.cfg.DATA_PATH;
    if (!existsSync(dir)) return undefined;
    for (const n of readdirSync(dir)) {
      if (!/^metadata(\.mfs(\.back(\.\d+)?)?|_ml\.mfs\.back)$/.test(n)) continue;
      const c = checkMetadataFile(join(dir, n));
      if (c.ok && c.metaid) return c.metaid;
    }
    return undefined;
  }

  /** Closing the previous copy (it writes metadata.mfs): a load waits for it before setting files aside. */
  private closing: Promise<void> = Promise.resolve();

  private discardMaster(): Promise<void> {
    const m = this.master;
    this.master = undefined;
    if (m) {
      const prev = this.closing;
      this.closing = prev.then(() => m.stop()).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'closing the old copy'));
    }
    return this.closing;
  }

  /** Our copy is no longer trustworthy: drop it (a new download follows on the next connection). */
  private discard(why: string): void {
    this.note = why;
    this.pending = [];
    void this.discardMaster();
    if (this.state === 'following') this.state = 'connecting';
  }

  /** Drop the copy and the link; the reconnection downloads everything again. */
  private restart(why: string): void {
    this.discard(why);
    this.conn.lastLogVersion = 0;
    this.conn.kill(`starting over: ${why}`);
  }

  // ---- daemon ---------------------------------------------------------------------------------------

  get synced(): boolean {
    return this.master !== undefined && !this.loading && this.master.metaversion - 1n >= this.seen && (this.state === 'following' || this.state === 'connecting');
  }

  status(): FollowerStatus {
    return {
      state: this.state,
      synced: this.synced,
      metaversion: String(this.master?.metaversion ?? 0n),
      seen: String(this.seen),
      extensions: this.extensions,
      metaid: this.metaid?.toString(16),
      lastCheck: this.lastCheck,
      downloads: this.downloads,
      note: this.note,
      at: Date.now(),
    };
  }

  private writeStatus(): void {
    try {
      const f = join(this.cfg.DATA_PATH, FOLLOWER_STATUS);
      writeFileSync(`${f}.tmp`, `${JSON.stringify(this.status())}\n`);
      renameSync(`${f}.tmp`, f);
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'status file not written');
    }
  }

  async start(): Promise<void> {
    mkdirSync(this.dlDir, { recursive: true });
    for (const n of readdirSync(this.dlDir)) if (n !== 'old') rmSync(join(this.dlDir, n), { force: true, recursive: true });
    this.log.info({ leader: `${this.cfg.FOLLOW_MASTER_HOST}:${this.cfg.FOLLOW_MASTER_PORT}` }, 'starting as a hot follower');
    await this.conn.connect();
    const every = (ms: number, f: () => void): void => {
      const t = setInterval(f, ms);
      this.timers.push(t);
    };
    every(Math.max(1, this.cfg.FOLLOW_RECONNECTION_DELAY) * 1000, () => {
      if (this.conn.state === 'free' && this.state !== 'refused') void this.conn.connect().catch((e: unknown) => this.log.error({ err: e }, 'connect failed'));
    });
    every(this.opts.tickMs ?? 200, () => {
      this.conn.tick();
      this.writeStatus();
    });
    if (this.cfg.FOLLOW_CHECK_FREQ > 0) every(this.cfg.FOLLOW_CHECK_FREQ * 1000, () => this.askChecksum());
    this.writeStatus();
  }

  private stopLink(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.conn.close();
  }

  /**
   * Takes over in place: only with a loaded copy holding every change seen from the leader (a copy
   * that is downloading, or knows it misses changes, refuses). The link to the old leader is
   * dropped, writes the old leader left open are unlocked (their sessions cannot finish them; the
   * client's retry would wait out the 120 s chunk lock), and the master opens its ports.
   */
  async promote(): Promise<void> {
    if (this.state === 'leader' || this.state === 'promoting') return;
    const m = this.master;
    if (!m || !this.synced) {
      const why = !m ? 'no namespace loaded (still downloading)' : `our copy stops at ${m.metaversion - 1n}, the leader was seen at ${this.seen}`;
      this.log.error({ why }, `promotion refused: ${why}`);
      this.note = `promotion refused: ${why}`;
      this.writeStatus();
      throw new Error(`promotion refused: ${why}`);
    }
    const t0 = performance.now();
    this.state = 'promoting';
    this.stopLink();
    const now = Math.floor(Date.now() / 1000);
    const unlocked: number[] = [];
    for (const c of m.ns.chunks.chunks.values()) {
      if (c.lockedto >= now && m.applyChange(`${now}|UNLOCK(${c.chunkid})`) === 'ok') unlocked.push(c.chunkid);
    }
    await m.promote();
    this.state = 'leader';
    this.note = undefined;
    this.log.info({ metaversion: String(m.metaversion), unlocked, ms: Math.round(performance.now() - t0) }, 'promoted in place: serving as the master');
    this.writeStatus();
  }

  async stop(): Promise<void> {
    this.stopLink();
    const m = this.master;
    this.master = undefined;
    if (m) await m.stop();
    this.state = 'stopped';
    this.writeStatus();
  }

  reload(values: Record<string, unknown>): void {
    const next = masterCfg(values as Partial<Record<keyof MasterCfg, unknown>>);
    this.cfg = next;
    this.master?.reload(values);
  }

  info(): void {
    this.log.info(this.status(), 'follower state');
    this.master?.info();
  }
}
