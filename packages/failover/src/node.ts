// What runs on one host: its role (kept in stateDir/role.json), the health verdict the watcher
// writes for keepalived, and the transitions keepalived's notify scripts ask for.
//
// Roles:
//   bootstrap  the primary's first start: its master starts on its own files when it becomes MASTER
//   follower   a standby: metalogger of the current leader (through the VIP), no master; or, in
//              `hot` mode, mfsmaster-ts as a hot follower of the leader (follower.ts), not serving
//   promoting  a standby that became MASTER: metalogger stopped, files assembled, master starting
//   leader     its master serves
//   failed     a promotion could not complete: unhealthy, so keepalived gives the VIP away
//   stopped    keepalived stopped here (notify_stop): nothing runs
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, HostSpec } from './cluster.js';
import { FailoverError } from './errors.js';
import { assembleMasterFiles, looksLikeMetadata, METADATA_ML, setAside } from './files.js';
import { statePaths } from './generate.js';
import { probeMaster, type ProbeResult } from './probe.js';
import { FOLLOWER_STATUS, type FollowerStatus } from './status.js';

export type Role = 'bootstrap' | 'follower' | 'promoting' | 'leader' | 'failed' | 'stopped';

export interface RoleState {
  role: Role;
  /** ms since the epoch when this role was taken. */
  since: number;
  note?: string;
}

export type Log = (msg: string, extra?: Record<string, unknown>) => void;

export const stderrLog = (host: string): Log => (msg, extra) => {
  process.stderr.write(`${new Date().toISOString()} mfsfailover[${host}] ${msg}${extra ? ` ${JSON.stringify(extra, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}` : ''}\n`);
};

function writeAtomic(file: string, body: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, body);
  renameSync(tmp, file);
}

export function readRole(h: HostSpec): RoleState {
  try {
    const v = JSON.parse(readFileSync(statePaths(h).role, 'utf8')) as RoleState;
    if (typeof v.role === 'string' && typeof v.since === 'number') return v;
  } catch {
    // no role yet
  }
  return { role: 'stopped', since: 0 };
}

export function writeRole(h: HostSpec, role: Role, note?: string): RoleState {
  const st: RoleState = { role, since: Date.now(), ...(note ? { note } : {}) };
  writeAtomic(statePaths(h).role, `${JSON.stringify(st)}\n`);
  return st;
}

// ---- daemons ---------------------------------------------------------------------------------------

/** The pid in DATA_PATH/.NAME.lock if that process is alive and is that daemon (ours or MooseFS's). */
export function lockPid(dataPath: string, name: 'mfsmaster' | 'mfsmetalogger'): number {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dataPath, `.${name}.lock`), 'utf8').trim(), 10);
  } catch {
    return 0;
  }
  if (!Number.isInteger(pid) || pid <= 0) return 0;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes(name)) return 0;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return 0; // a zombie is not running
  } catch {
    return 0;
  }
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `sig`, waits up to `timeoutMs` for the process to go, then SIGKILLs it. */
export async function endProcess(pid: number, sig: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, sig);
  } catch {
    return;
  }
  const until = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < until) await delay(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (alive(pid)) await delay(20);
  }
}

/** Runs a daemon's `start` (which returns once the daemon is initialised); rejects on failure. */
function runCommand(argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new FailoverError('FO_COMMAND_FAILED', `${argv.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new FailoverError('FO_COMMAND_FAILED', `${argv.join(' ')} ended with ${signal ?? `code ${code}`}: ${out.trim()}`));
    });
  });
}

// ---- the node ----------------------------------------------------------------------------------------

export class FailoverNode {
  constructor(
    readonly cluster: Cluster,
    readonly host: HostSpec,
    readonly log: Log = stderrLog(host.name),
  ) {}

  get role(): RoleState {
    return readRole(this.host);
  }

  masterPid(): number {
    return lockPid(this.host.masterDataPath, 'mfsmaster');
  }

  metaloggerPid(): number {
    return lockPid(this.host.metaloggerDataPath, 'mfsmetalogger');
  }

  probe(timeoutMs = this.cluster.health.timeoutMs): Promise<ProbeResult> {
    return probeMaster(this.host.address, this.cluster.ports.cl, timeoutMs);
  }

  private archiveDir(why: string): string {
    return join(statePaths(this.host).archive, `${new Date().toISOString().replace(/[:.]/g, '-')}-${why}`);
  }

  /** Sets aside every metadata file of this host (master's and metalogger's). */
  private setAsideAll(why: string): void {
    const dir = this.archiveDir(why);
    const m = setAside(this.host.masterDataPath, 'master', join(dir, 'master'));
    const l = setAside(this.host.metaloggerDataPath, 'metalogger', join(dir, 'metalogger'));
    if (m.length + l.length) this.log('old metadata set aside', { dir, master: m, metalogger: l });
  }

  /**
   * Starts `BIN -c CFG -a -f start` detached (its own session, output appended to
   * DATA_PATH/mfsmaster.log). The same as `BIN -c CFG -a start` (which forks exactly that), one
   * process start sooner: with tsx, each start costs 0.6 s or more. Resolves once it is spawned;
   * readiness is the probe's business.
   */
  private startMaster(): Promise<number> {
    return this.spawnMaster(['-c', this.host.masterCfg, '-a', '-f', 'start'], 'master starting');
  }

  private spawnMaster(args: string[], what: string): Promise<number> {
    mkdirSync(this.host.masterDataPath, { recursive: true });
    const fd = openSync(join(this.host.masterDataPath, 'mfsmaster.log'), 'a');
    try {
      const child = spawn(this.cluster.bins.master, args, { detached: true, stdio: ['ignore', fd, fd] });
      return new Promise((resolve, reject) => {
        child.once('error', (e) => reject(new FailoverError('FO_COMMAND_FAILED', `${this.cluster.bins.master}: ${e.message}`)));
        child.once('spawn', () => {
          child.unref();
          this.masterChild = child;
          this.log(what, { pid: child.pid });
          resolve(child.pid!);
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  private masterChild: ChildProcess | undefined;

  /** The cfg a hot follower runs with: the host's mfsmaster.cfg plus FOLLOW_MASTER_HOST = the VIP. */
  followCfgPath(): string {
    return join(this.host.stateDir, 'mfsmaster-follow.cfg');
  }

  private writeFollowCfg(): void {
    let base = '';
    try {
      base = readFileSync(this.host.masterCfg, 'utf8');
    } catch (e) {
      throw new FailoverError('FO_COMMAND_FAILED', `cannot read ${this.host.masterCfg}: ${(e as Error).message}`);
    }
    base = base.replace(/^\s*FOLLOW_MASTER_(HOST|PORT)\s*=.*$/gm, '');
    writeAtomic(this.followCfgPath(), `${base}\n# mfsfailover-ts: this host is a hot follower of the leader at the VIP\nFOLLOW_MASTER_HOST = ${this.cluster.vip}\nFOLLOW_MASTER_PORT = ${this.cluster.ports.ml}\n`);
  }

  /** The hot follower's status file (follower.ts), or undefined. */
  followerStatus(): FollowerStatus | undefined {
    try {
      return JSON.parse(readFileSync(join(this.host.masterDataPath, FOLLOWER_STATUS), 'utf8')) as FollowerStatus;
    } catch {
      return undefined;
    }
  }

  /** Starts `BIN -c FOLLOW_CFG -f start` detached: mfsmaster-ts as a hot follower. */
  private startFollowerMaster(): Promise<number> {
    this.writeFollowCfg();
    rmSync(join(this.host.masterDataPath, FOLLOWER_STATUS), { force: true });
    return this.spawnMaster(['-c', this.followCfgPath(), '-f', 'start'], 'hot follower starting');
  }

  private async startMetalogger(): Promise<void> {
    if (this.metaloggerPid()) return;
    const out = await runCommand([this.cluster.bins.metalogger, '-c', this.host.metaloggerCfg, 'start'], 60_000);
    this.log('metalogger started', { out });
  }

  /** Waits until the local master answers the probe. */
  private async waitMasterAnswers(timeoutMs: number): Promise<ProbeResult & { ok: true }> {
    const until = Date.now() + timeoutMs;
    let last: ProbeResult | undefined;
    while (Date.now() < until) {
      const c = this.masterChild;
      if (c && (c.exitCode !== null || c.signalCode !== null)) {
        throw new FailoverError('FO_COMMAND_FAILED', `master exited during start-up (${c.signalCode ?? `code ${c.exitCode}`}); see ${join(this.host.masterDataPath, 'mfsmaster.log')}`);
      }
      last = await this.probe(Math.min(1000, this.cluster.health.timeoutMs));
      if (last.ok) return last;
      await delay(50);
    }
    throw new FailoverError('FO_TIMEOUT', `master on ${this.host.address}:${this.cluster.ports.cl} did not answer within ${timeoutMs} ms (${last && !last.ok ? last.detail : ''})`);
  }

  // ---- boot path --------------------------------------------------------------------------------------

  /**
   * Boot path (run.sh, before keepalived): a host never starts a master on its own files here. It
   * joins as a follower (old files set aside, metalogger of the current leader). Only `bootstrap`
   * (first start of the cluster, on the primary) marks it to start a master once it is MASTER.
   */
  async start(bootstrap: boolean): Promise<void> {
    if (bootstrap) {
      if (!this.host.primary) throw new FailoverError('FO_USAGE', `${this.host.name} is not the primary: only the primary bootstraps a cluster`);
      await endProcess(this.metaloggerPid(), 'SIGTERM', 10_000);
      writeRole(this.host, 'bootstrap', 'first start: the master starts on its own files when this host is MASTER');
      this.log('bootstrap: waiting to become MASTER');
      return;
    }
    await this.becomeFollower('boot');
  }

  /**
   * Stops any master here, sets every old file aside, and starts a fresh metalogger of the VIP; in
   * `hot` mode starts mfsmaster-ts as a hot follower instead (it sets the old master files aside
   * itself once it has checked that the leader serves the same file system).
   */
  private async becomeFollower(why: string): Promise<void> {
    const pid = this.masterPid();
    if (pid) {
      // This master no longer holds the VIP (or never did since boot): whatever it would still
      // accept could never reach the leader. Kill it at once; its files are set aside below.
      this.log('stopping local master: not the leader', { pid, why });
      await endProcess(pid, 'SIGKILL', 5_000);
    }
    await endProcess(this.metaloggerPid(), 'SIGTERM', 10_000);
    if (this.cluster.mode === 'hot') {
      const dir = this.archiveDir(why);
      const l = setAside(this.host.metaloggerDataPath, 'metalogger', join(dir, 'metalogger'));
      if (l.length) this.log('old metalogger files set aside', { dir, metalogger: l });
      writeRole(this.host, 'follower', why);
      await this.startFollowerMaster();
      this.log('follower: hot follower of the leader', { vip: this.cluster.vip });
      return;
    }
    this.setAsideAll(why);
    writeRole(this.host, 'follower', why);
    await this.startMetalogger();
    this.log('follower: metalogger of the leader', { vip: this.cluster.vip });
  }

  // ---- keepalived notifications -----------------------------------------------------------------------

  async notify(state: 'master' | 'backup' | 'fault' | 'stop'): Promise<void> {
    const r = this.role;
    this.log(`notify ${state}`, { role: r.role });
    switch (state) {
      case 'master':
        return this.onMaster(r);
      case 'backup':
      case 'fault':
        if (r.role === 'leader' || r.role === 'promoting' || r.role === 'failed') return this.becomeFollower(`demoted-${state}`);
        if (r.role === 'follower') {
          // keep it running, files kept
          if (this.cluster.mode === 'hot') return this.masterPid() ? undefined : void (await this.startFollowerMaster());
          return this.startMetalogger();
        }
        return; // bootstrap: waiting to be MASTER; stopped: nothing to do
      case 'stop': {
        const pid = this.masterPid();
        if (pid) {
          this.log('keepalived stops: stopping the master', { pid });
          await endProcess(pid, 'SIGTERM', 60_000);
        }
        await endProcess(this.metaloggerPid(), 'SIGTERM', 10_000);
        writeRole(this.host, 'stopped', 'keepalived stopped');
        return;
      }
    }
  }

  private async onMaster(r: RoleState): Promise<void> {
    if (r.role === 'leader') {
      if (this.masterPid()) return;
      // Our master died while we kept the VIP: someone else may have served since, so its files
      // are not to be trusted. Give the VIP away (failed = unhealthy) and come back as a follower.
      writeRole(this.host, 'failed', 'MASTER again but the local master is gone');
      return;
    }
    if (r.role === 'bootstrap') {
      writeRole(this.host, 'promoting', 'bootstrap');
      try {
        await this.startMaster();
        const p = await this.waitMasterAnswers(60_000);
        writeRole(this.host, 'leader', `bootstrap, metaversion ${p.metaversion}`);
      } catch (e) {
        writeRole(this.host, 'failed', (e as Error).message);
        throw e;
      }
      return;
    }
    if (r.role === 'follower') return this.cluster.mode === 'hot' ? this.promoteHot() : this.promote();
    // stopped / failed / promoting: refuse; the health verdict is "fail", so keepalived moves on.
    if (r.role !== 'promoting') writeRole(this.host, 'failed', `became MASTER as ${r.role}: refusing to serve`);
  }

  /**
   * The standby takes over: stop the metalogger, turn its files into a master's DATA_PATH, start
   * `mfsmaster -a` on them, wait until it answers.
   */
  async promote(): Promise<void> {
    const t0 = Date.now();
    writeRole(this.host, 'promoting', 'from metalogger files');
    try {
      await endProcess(this.metaloggerPid(), 'SIGTERM', 5_000);
      const ml = this.host.metaloggerDataPath;
      if (!looksLikeMetadata(join(ml, METADATA_ML))) throw new FailoverError('FO_NO_METADATA', `no usable ${METADATA_ML} in ${ml}: this standby never synchronised`);
      const dir = this.archiveDir('promote');
      const old = setAside(this.host.masterDataPath, 'master', join(dir, 'master'));
      if (old.length) this.log('old master files set aside', { dir, files: old });
      const a = assembleMasterFiles(ml, this.host.masterDataPath, { unlockOpenWrites: this.cluster.unlockOpenWrites });
      this.log('master files assembled from metalogger files', { records: a.records, first: a.firstVersion, last: a.lastVersion, holes: a.holes, unlocked: a.unlocked });
      // The metalogger files are used up: a later follower start must begin from a clean directory
      // (old files left there made the next `-a` fail with "hole in change files").
      setAside(ml, 'metalogger', join(dir, 'metalogger'));
      await this.startMaster();
      const p = await this.waitMasterAnswers(60_000);
      writeRole(this.host, 'leader', `promoted in ${Date.now() - t0} ms, metaversion ${p.metaversion}`);
      this.log('leader', { ms: Date.now() - t0, metaversion: p.metaversion });
    } catch (e) {
      writeRole(this.host, 'failed', (e as Error).message);
      this.log('promotion failed', { error: (e as Error).message });
      throw e;
    }
  }

  /**
   * The hot follower takes over in place: SIGUSR2 (notify.sh has usually sent it already), then the
   * protocol probe until it answers. The follower itself refuses unless its copy holds every change
   * it saw from the leader; then this host is `failed` and keepalived moves the VIP on.
   */
  async promoteHot(): Promise<void> {
    const t0 = Date.now();
    writeRole(this.host, 'promoting', 'hot follower');
    try {
      const pid = this.masterPid();
      if (!pid) throw new FailoverError('FO_NO_METADATA', 'no hot follower running here: nothing to promote');
      const st = this.followerStatus();
      if (!st?.synced && st?.state !== 'promoting' && st?.state !== 'leader') {
        throw new FailoverError('FO_NO_METADATA', `the hot follower is not synchronised (${st ? `${st.state}, copy at ${st.metaversion}, leader seen at ${st.seen}` : 'no status'}): refusing to serve`);
      }
      process.kill(pid, 'SIGUSR2');
      const until = Date.now() + 30_000;
      for (;;) {
        const s = this.followerStatus();
        if (s?.state === 'leader') break;
        if (s?.note?.startsWith('promotion refused')) throw new FailoverError('FO_NO_METADATA', s.note);
        if (!this.masterPid()) throw new FailoverError('FO_COMMAND_FAILED', 'the hot follower exited during its promotion');
        if (Date.now() > until) throw new FailoverError('FO_TIMEOUT', 'the hot follower did not report serving within 30 s');
        await delay(10);
      }
      const p = await this.waitMasterAnswers(30_000);
      writeRole(this.host, 'leader', `promoted in ${Date.now() - t0} ms, metaversion ${p.metaversion}`);
      this.log('leader (hot follower promoted in place)', { ms: Date.now() - t0, metaversion: p.metaversion });
    } catch (e) {
      writeRole(this.host, 'failed', (e as Error).message);
      this.log('promotion failed', { error: (e as Error).message });
      throw e;
    }
  }

  // ---- health ----------------------------------------------------------------------------------------

  private timeouts = 0;

  /** One health verdict for keepalived, by role. */
  async evaluate(): Promise<{ ok: boolean; role: Role; detail: string }> {
    const r = this.role;
    const graceLeft = r.since + this.cluster.health.startGraceMs - Date.now();
    switch (r.role) {
      case 'follower': {
        if (this.cluster.mode === 'hot') {
          // Fit to take over only while the hot follower runs, reports, and holds every change it saw.
          if (!this.masterPid()) return { ok: false, role: r.role, detail: 'hot follower not running' };
          const st = this.followerStatus();
          // notify.sh sends the promotion signal before the kit's notify writes `promoting`.
          if (st && (st.state === 'promoting' || st.state === 'leader')) return { ok: true, role: r.role, detail: `hot follower ${st.state}` };
          if (!st || Date.now() - st.at > 3000) return { ok: false, role: r.role, detail: 'hot follower status missing or stale' };
          if (!st.synced) return { ok: false, role: r.role, detail: `hot follower not synchronised (${st.state}${st.note ? `: ${st.note}` : ''})` };
          return { ok: true, role: r.role, detail: `hot follower synchronised at ${st.metaversion}` };
        }
        // A standby is fit to take over only with a live metalogger that has downloaded the
        // leader's metadata in this run (old files were set aside at boot/demotion).
        if (!this.metaloggerPid()) return { ok: false, role: r.role, detail: 'metalogger not running' };
        if (!existsSync(join(this.host.metaloggerDataPath, METADATA_ML))) return { ok: false, role: r.role, detail: 'metalogger has no metadata yet' };
        return { ok: true, role: r.role, detail: 'metalogger synchronised' };
      }
      case 'bootstrap':
      case 'promoting': {
        if (graceLeft > 0) return { ok: true, role: r.role, detail: `starting (${Math.round(graceLeft / 1000)} s of grace left)` };
        return { ok: false, role: r.role, detail: 'start took too long' };
      }
      case 'leader': {
        const p = await this.probe();
        if (p.ok) {
          this.timeouts = 0;
          return { ok: true, role: r.role, detail: `master answers (${p.ms} ms, metaversion ${p.metaversion})` };
        }
        if (p.reason === 'timeout' && ++this.timeouts < this.cluster.health.failAfter) return { ok: true, role: r.role, detail: `slow master (${this.timeouts} timeouts)` };
        return { ok: false, role: r.role, detail: `master does not answer: ${p.reason} ${p.detail}` };
      }
      default:
        return { ok: false, role: r.role, detail: `role ${r.role}` };
    }
  }

  /** Writes one verdict: track file (0/1, read by keepalived) and health.json (for people). */
  async writeHealth(): Promise<{ ok: boolean; role: Role; detail: string }> {
    const v = await this.evaluate();
    const s = statePaths(this.host);
    writeAtomic(s.track, v.ok ? '0\n' : '1\n');
    writeAtomic(s.health, `${JSON.stringify({ ...v, at: new Date().toISOString() })}\n`);
    return v;
  }

  /** The watcher loop: a verdict every intervalMs until `signal` aborts. Logs verdict changes. */
  async watch(signal?: AbortSignal): Promise<void> {
    let last = '';
    while (!signal?.aborted) {
      const t = Date.now();
      const v = await this.writeHealth();
      const key = `${v.ok} ${v.role}`;
      if (key !== last) this.log(`health ${v.ok ? 'ok' : 'FAIL'}`, { role: v.role, detail: v.detail });
      last = key;
      await delay(Math.max(0, this.cluster.health.intervalMs - (Date.now() - t)));
    }
  }
}
