import { EventEmitter } from 'node:events';
import { accessSync, constants, statSync } from 'node:fs';
import { applyCfgSchema, silentLogger, type Daemon, type Logger } from '@mfs-ts/common';
import { metaloggerCfgSchema, settingsFrom, type MetaloggerCfg, type MetaloggerSettings } from './cfg.js';
import { MasterConn, type LinkState, type MasterConnEvents } from './masterconn.js';
import { ML_FILE_METADATA } from './metafiles.js';

/** Seconds after the period boundary at which the periodic download runs (main_time_register(..., 630, ...)). */
export const META_DOWNLOAD_OFFSET_S = 630;

export interface MetaloggerOptions {
  /** mfsmetalogger.cfg values; missing keys take MooseFS's defaults. */
  cfg?: Partial<MetaloggerCfg>;
  log?: Logger;
  /**
   * Overrides for tests and tools: the download period (default META_DOWNLOAD_FREQ hours, at 630 s
   * past the boundary) and how often keepalive/timeout are checked.
   */
  timing?: { downloadPeriodMs?: number; downloadOffsetMs?: number; tickMs?: number };
}

/** Full cfg values from a partial object (defaults for the rest, checks applied). */
export function metaloggerCfg(partial: Partial<MetaloggerCfg> = {}): MetaloggerCfg {
  const raw = new Map<string, string>();
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) raw.set(k, String(v));
  return applyCfgSchema(metaloggerCfgSchema, raw).values;
}

/** First time after `nowMs` that is `offsetMs` past a multiple of `periodMs` (MooseFS timers run on wall-clock boundaries). */
export function nextAligned(nowMs: number, periodMs: number, offsetMs = 0): number {
  let t = Math.floor(nowMs / periodMs) * periodMs + offsetMs;
  while (t <= nowMs) t += periodMs;
  return t;
}

class AlignedTimer {
  private t: NodeJS.Timeout | undefined;
  constructor(
    private periodMs: number,
    private offsetMs: number,
    private readonly fn: () => void,
  ) {}
  start(): void {
    this.stop();
    if (!(this.periodMs > 0)) return;
    const now = Date.now();
    this.t = setTimeout(() => {
      this.start();
      this.fn();
    }, nextAligned(now, this.periodMs, this.offsetMs) - now);
  }
  change(periodMs: number, offsetMs: number): void {
    this.periodMs = periodMs;
    this.offsetMs = offsetMs;
    if (this.t) this.start();
  }
  stop(): void {
    clearTimeout(this.t);
    this.t = undefined;
  }
}

/**
 * mfsmetalogger as a library: keeps a copy of the master's metadata (metadata_ml.mfs.back,
 * changelog_ml_back.0/1.mfs, downloaded at connect and every META_DOWNLOAD_FREQ hours) and of its
 * change stream (changelog_ml.N.mfs) in DATA_PATH, so that `mfsmaster -a` can rebuild the namespace
 * from them. Reconnects every MASTER_RECONNECTION_DELAY seconds while not connected.
 */
export class Metalogger extends EventEmitter<MasterConnEvents> implements Daemon {
  readonly log: Logger;
  private cfgValues: MetaloggerCfg;
  private s: MetaloggerSettings;
  readonly conn: MasterConn;
  private readonly reconnectTimer: AlignedTimer;
  private readonly downloadTimer: AlignedTimer;
  private tickTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly timing: NonNullable<MetaloggerOptions['timing']>;

  constructor(opts: MetaloggerOptions = {}) {
    super();
    this.log = opts.log ?? silentLogger();
    this.timing = opts.timing ?? {};
    this.cfgValues = metaloggerCfg(opts.cfg);
    this.s = settingsFrom(this.cfgValues);
    this.conn = new MasterConn(this.s, this.log);
    for (const ev of ['connected', 'disconnected', 'record', 'rotate', 'lost', 'downloaded', 'downloadFailed'] as const) {
      this.conn.on(ev, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(ev, ...args));
    }
    this.reconnectTimer = new AlignedTimer(this.s.reconnectionDelay * 1000, 0, () => this.reconnect());
    const [period, offset] = this.downloadSchedule();
    this.downloadTimer = new AlignedTimer(period, offset, () => this.downloadNow());
  }

  get settings(): MetaloggerSettings {
    return this.s;
  }

  get state(): LinkState {
    return this.conn.state;
  }

  get lastLogVersion(): number {
    return this.conn.lastLogVersion;
  }

  /** Checks DATA_PATH and starts connecting; rejects if DATA_PATH is unusable or MASTER_HOST does not resolve. */
  async start(): Promise<void> {
    if (this.running) return;
    const dir = this.s.dataPath;
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (e) {
      throw new Error(`can't set working directory to ${dir}: ${(e as Error).message}`);
    }
    this.running = true;
    // 3.0.117 looks for its log position in "changelog_ml.0.back", a name nothing writes, so every start
    // registers without one and downloads everything anew; we start the same way (lastLogVersion 0).
    const ok = await this.conn.connect();
    if (!ok && this.conn.state === 'free' && this.running) {
      this.running = false;
      throw new Error(`can't resolve master host/port (${this.s.masterHost}:${this.s.masterPort})`);
    }
    this.reconnectTimer.start();
    this.downloadTimer.start();
    const tickMs = this.timing.tickMs ?? 200;
    this.tickTimer = setInterval(() => this.conn.tick(), tickMs);
    this.log.info({ master: `${this.s.masterHost}:${this.s.masterPort}`, dataPath: dir }, 'metalogger started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.reconnectTimer.stop();
    this.downloadTimer.stop();
    clearInterval(this.tickTimer);
    this.conn.close();
  }

  /** SIGHUP: new cfg values; as masterconn_reload, the link is dropped and made again with them. */
  reload(values: Record<string, unknown>): void {
    const next: Record<string, unknown> = { ...this.cfgValues };
    for (const [k, def] of Object.entries(metaloggerCfgSchema)) if (def.reloadable !== false && k in values) next[k] = values[k];
    this.cfgValues = Object.freeze(next) as MetaloggerCfg;
    this.s = settingsFrom(this.cfgValues);
    this.conn.updateSettings(this.s);
    this.reconnectTimer.change(this.s.reconnectionDelay * 1000, 0);
    const [period, offset] = this.downloadSchedule();
    this.downloadTimer.change(period, offset);
  }

  info(): void {
    this.log.info({ state: this.conn.state, lastLogVersion: this.conn.lastLogVersion, downloading: this.conn.downloadingFile }, 'metalogger state');
  }

  /** Starts the metadata download chain now (a no-op while not connected or while one runs). */
  downloadNow(): boolean {
    return this.conn.downloadInit(ML_FILE_METADATA);
  }

  private reconnect(): void {
    if (this.running && this.conn.state === 'free') {
      void this.conn.connect().catch((e) => this.log.error({ err: e }, 'connect failed'));
    }
  }

  private downloadSchedule(): [number, number] {
    if (this.timing.downloadPeriodMs !== undefined) return [this.timing.downloadPeriodMs, this.timing.downloadOffsetMs ?? 0];
    return [this.s.metaDownloadFreq * 3600 * 1000, META_DOWNLOAD_OFFSET_S * 1000];
  }
}
