// MooseFS daemons in the lab, real (Debian 3.0.117) or ours (mfs-ts), behind one API and the same
// cfg files.
//
// How they run: in the foreground (`BIN -f -c CFG start`) as a tracked child of the lab, not with the
// daemonizing `BIN -c CFG start`. The foreground form keeps everything the daemon prints in our log
// file (this machine has no syslog, where a daemonized real daemon sends its messages), gives us its
// pid and process group directly (no lock-file reading), and lets teardown kill it even if the daemon
// hangs. Readiness is then asked of the daemons themselves (mfscli, mountpoint/statfs), never slept on.
// Stopping sends SIGTERM, which is what `BIN -c CFG stop` sends too; the master then writes
// metadata.mfs before it exits (a few seconds).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';
import { run, waitFor, type RunOptions, type RunResult } from './exec.js';
import type { Host, Proc } from './host.js';
import { ipsInRows, parseChunkservers, parseRows, SEP, type ChunkserverRow } from './mfscli.js';
import { mountsUnder } from './netns.js';

export type Impl = 'real' | 'ts';
export type Role = 'master' | 'chunkserver' | 'metalogger' | 'mount';
export type CfgValues = Record<string, string | number>;

/** The repository root (test/lab/src/ -> ../../..), so our bins resolve wherever the repo lives. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const REAL_BINS: Record<Role, string> = {
  master: 'mfsmaster',
  chunkserver: 'mfschunkserver',
  metalogger: 'mfsmetalogger',
  mount: 'mfsmount',
};

/** The executable for a role and implementation. */
export function binFor(role: Role, impl: Impl): string {
  if (impl === 'real') return REAL_BINS[role];
  return join(REPO_ROOT, 'node_modules', '.bin', `${REAL_BINS[role]}-ts`);
}

export const EMPTY_METADATA = '/var/lib/mfs/metadata.mfs.empty';

/** `KEY = VALUE` lines, the MooseFS cfg format. */
export function writeCfg(path: string, values: CfgValues): void {
  const body = Object.entries(values)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  writeFileSync(path, `${body}\n`);
}

/** What daemons need from the lab. */
export interface DaemonOwner {
  readonly dir: string;
  /** Reserve a unique daemon name (`master`, `cs1`...). */
  claimName(name: string): string;
  registerDaemon(d: Daemon): void;
}

export interface DaemonOptions {
  host: Host;
  impl?: Impl;
  /** Extra or overriding cfg keys. */
  cfg?: CfgValues;
  /** Extra command-line arguments placed before `start` (e.g. `-a` for the master). */
  args?: string[];
  name?: string;
  readyTimeoutMs?: number;
}

export abstract class Daemon {
  abstract readonly role: Role;
  readonly impl: Impl;
  readonly host: Host;
  readonly name: string;
  /** Working directory: cfg files, data/ and whatever else the role needs. */
  readonly dir: string;
  readonly dataPath: string;
  readonly cfgPath: string;
  proc: Proc | undefined;
  protected readonly extraArgs: string[];
  protected readonly readyTimeoutMs: number;

  constructor(
    protected readonly owner: DaemonOwner,
    opts: DaemonOptions,
    defaultName: string,
    cfgName: string,
  ) {
    this.impl = opts.impl ?? 'real';
    this.host = opts.host;
    this.name = owner.claimName(opts.name ?? defaultName);
    this.dir = join(owner.dir, this.name);
    this.dataPath = join(this.dir, 'data');
    this.cfgPath = join(this.dir, cfgName);
    this.extraArgs = opts.args ?? [];
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    mkdirSync(this.dataPath, { recursive: true });
    owner.registerDaemon(this);
  }

  get bin(): string {
    return binFor(this.role, this.impl);
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts the daemon (again, after a stop) and waits until it is ready. */
  async start(extraArgs: string[] = []): Promise<this> {
    if (this.running) throw new LabError('MFSL_USAGE', `${this.name} is already running`);
    this.proc = this.host.spawn(this.name, [this.bin, '-f', '-c', this.cfgPath, ...this.extraArgs, ...extraArgs, 'start']);
    try {
      await this.waitReady();
    } catch (e) {
      if (LabError.is(e)) throw new LabError(e.code, `${this.name} (${this.impl} ${this.role} on ${this.host.name}) is not ready`, e.message);
      throw e;
    }
    return this;
  }

  /** Graceful stop (SIGTERM; SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    await this.proc?.stop(timeoutMs);
  }

  /** Hard kill of the daemon and its process group (a crash, for failover tests). */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.proc.signal('SIGKILL');
    await this.proc.exited;
  }

  protected abort = (): string | undefined => this.proc?.exitReason();

  abstract waitReady(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------

export interface MasterOptions extends DaemonOptions {
  /** mfsexports.cfg contents. Default: everything rw for root, plus the meta file system. */
  exports?: string;
  /**
   * Metadata to start from: 'empty' copies /var/lib/mfs/metadata.mfs.empty to DATA_PATH/metadata.mfs
   * (the default), a path copies that file, 'none' leaves DATA_PATH as it is.
   */
  metadata?: 'empty' | 'none' | string;
}

export const DEFAULT_EXPORTS = '*\t/\trw,alldirs,admin,maproot=0:0\n*\t.\trw\n';

export class Master extends Daemon {
  readonly role = 'master';
  readonly ports: { ml: number; cs: number; cl: number };
  /** The address clients, chunkservers and metaloggers are pointed at. */
  addr: string;

  constructor(owner: DaemonOwner, opts: MasterOptions) {
    super(owner, opts, 'master', 'mfsmaster.cfg');
    const cfg: CfgValues = {
      WORKING_USER: 'root',
      WORKING_GROUP: 'root',
      DATA_PATH: this.dataPath,
      EXPORTS_FILENAME: join(this.dir, 'mfsexports.cfg'),
      MATOML_LISTEN_HOST: this.host.ip,
      MATOCS_LISTEN_HOST: this.host.ip,
      MATOCL_LISTEN_HOST: this.host.ip,
      ...opts.cfg,
    };
    this.ports = {
      ml: Number(cfg.MATOML_LISTEN_PORT ?? 9419),
      cs: Number(cfg.MATOCS_LISTEN_PORT ?? 9420),
      cl: Number(cfg.MATOCL_LISTEN_PORT ?? 9421),
    };
    const listen = String(cfg.MATOCL_LISTEN_HOST);
    this.addr = listen === '*' || listen === '0.0.0.0' ? this.host.ip : listen;
    writeFileSync(String(cfg.EXPORTS_FILENAME), opts.exports ?? DEFAULT_EXPORTS);
    writeCfg(this.cfgPath, cfg);
    const md = opts.metadata ?? 'empty';
    if (md !== 'none') copyFileSync(md === 'empty' ? EMPTY_METADATA : md, join(this.dataPath, 'metadata.mfs'));
  }

  async waitReady(): Promise<void> {
    // mfscli exits 0 even when it finds no master ("Working master servers not found"): look for a
    // row of the answer instead.
    await waitFor(
      `mfscli -SIG answered by ${this.addr}:${this.ports.cl}`,
      async () => {
        const r = await this.cli(['-SIG'], { allowFail: true });
        return r.ok && /^master info:\|master version\|/m.test(r.stdout);
      },
      { timeoutMs: this.readyTimeoutMs, abort: this.abort },
    );
  }

  /**
   * Runs `mfscli -H addr -P port -p -s '|' ARGS` from `from` (default: the master's own host) and
   * returns the result.
   */
  cli(args: string[], opts: RunOptions & { from?: Host } = {}): Promise<RunResult> {
    const from = opts.from ?? this.host;
    return from.exec(['mfscli', '-H', this.addr, '-P', String(this.ports.cl), '-p', '-n', '-s', SEP, ...args], { timeoutMs: 20_000, ...opts });
  }

  /** Rows of a monitoring data set, e.g. `rows('-SMB')`. */
  async rows(set: string, from?: Host): Promise<string[][]> {
    return parseRows((await this.cli([set], { from })).stdout);
  }

  async chunkservers(): Promise<ChunkserverRow[]> {
    return parseChunkservers((await this.cli(['-SCS'])).stdout);
  }

  /** Addresses of the metaloggers the master lists (`-SMB`). */
  async metaloggers(): Promise<string[]> {
    return ipsInRows((await this.cli(['-SMB'])).stdout);
  }

  /** Waits until at least `n` chunkservers are registered with space. */
  async waitChunkservers(n: number, timeoutMs = 30_000): Promise<ChunkserverRow[]> {
    return waitFor(
      `${n} chunkservers with space in ${this.name}'s -SCS`,
      async () => {
        const cs = (await this.chunkservers()).filter((c) => c.total > 0);
        return cs.length >= n ? cs : undefined;
      },
      { timeoutMs, abort: this.abort },
    );
  }
}

// ---------------------------------------------------------------------------------------------------

export interface ChunkserverOptions extends DaemonOptions {
  master: Master;
  /** Data port (CSSERV_LISTEN_PORT). Default: 9422, then 9423... for more chunkservers on one host. */
  port?: number;
  /** Number of hdd directories (default 1), or the mfshdd.cfg lines themselves. */
  hdds?: number | string[];
}

export class Chunkserver extends Daemon {
  readonly role = 'chunkserver';
  readonly master: Master;
  readonly port: number;
  readonly hddPaths: string[];

  constructor(owner: DaemonOwner, opts: ChunkserverOptions, port: number) {
    super(owner, opts, `cs-${opts.host.name}-${port}`, 'mfschunkserver.cfg');
    this.master = opts.master;
    this.port = port;
    const hdds = opts.hdds ?? 1;
    const lines = typeof hdds === 'number' ? Array.from({ length: hdds }, (_, i) => join(this.dir, `hdd${i}`)) : hdds;
    this.hddPaths = lines.map((l) => l.replace(/^[*<>~]+/, '').split(/\s+/)[0]!);
    for (const p of this.hddPaths) mkdirSync(p, { recursive: true });
    const hddCfg = join(this.dir, 'mfshdd.cfg');
    writeFileSync(hddCfg, `${lines.join('\n')}\n`);
    writeCfg(this.cfgPath, {
      WORKING_USER: 'root',
      WORKING_GROUP: 'root',
      DATA_PATH: this.dataPath,
      HDD_CONF_FILENAME: hddCfg,
      MASTER_HOST: this.master.addr,
      MASTER_PORT: this.master.ports.cs,
      BIND_HOST: this.host.ip,
      CSSERV_LISTEN_HOST: this.host.ip,
      CSSERV_LISTEN_PORT: port,
      ...opts.cfg,
    });
  }

  /** Ready = the master lists this chunkserver (ip and port) with non-zero total space. */
  async waitReady(): Promise<void> {
    await waitFor(
      `${this.master.name} to list chunkserver ${this.host.ip}:${this.port} with space`,
      async () => (await this.master.chunkservers()).some((c) => c.ip === this.host.ip && c.port === this.port && c.total > 0),
      { timeoutMs: this.readyTimeoutMs, abort: this.abort },
    );
  }
}

// ---------------------------------------------------------------------------------------------------

export interface MetaloggerOptions extends DaemonOptions {
  master: Master;
}

export class Metalogger extends Daemon {
  readonly role = 'metalogger';
  readonly master: Master;

  constructor(owner: DaemonOwner, opts: MetaloggerOptions) {
    super(owner, opts, `ml-${opts.host.name}`, 'mfsmetalogger.cfg');
    this.master = opts.master;
    writeCfg(this.cfgPath, {
      WORKING_USER: 'root',
      WORKING_GROUP: 'root',
      DATA_PATH: this.dataPath,
      MASTER_HOST: this.master.addr,
      MASTER_PORT: this.master.ports.ml,
      BIND_HOST: this.host.ip,
      ...opts.cfg,
    });
  }

  /** Ready = the master lists a metadata backup server at this host's address (`-SMB`). */
  async waitReady(): Promise<void> {
    await waitFor(
      `${this.master.name} to list metalogger ${this.host.ip} in -SMB`,
      async () => (await this.master.metaloggers()).includes(this.host.ip),
      { timeoutMs: this.readyTimeoutMs, abort: this.abort },
    );
  }
}

// ---------------------------------------------------------------------------------------------------

export interface MountOptions {
  host: Host;
  master: Master;
  impl?: Impl;
  /** Mount point (created). Default: <labdir>/<name>. */
  dir?: string;
  /** Mount the meta file system (trash, sustained) instead of `/`. */
  meta?: boolean;
  /** Extra `-o` options, e.g. ['mfscachemode=DIRECT']. */
  options?: string[];
  /** Extra command-line arguments. */
  args?: string[];
  name?: string;
  readyTimeoutMs?: number;
}

/**
 * A FUSE mount, run in the foreground (`mfsmount -f`) so its messages land in its log. It mounts in
 * the host's network namespace but in the shared mount namespace, so every process sees the mount;
 * the mfs tools must still run in the host (`mount.exec`): they talk to a proxy the mount opens on
 * 127.0.0.1 in its namespace.
 */
export class Mount {
  readonly role = 'mount';
  readonly impl: Impl;
  readonly host: Host;
  readonly master: Master;
  readonly name: string;
  readonly dir: string;
  readonly meta: boolean;
  proc: Proc | undefined;
  private readonly argv: string[];
  private readonly readyTimeoutMs: number;

  constructor(owner: DaemonOwner, opts: MountOptions, registerMount: (m: Mount) => void) {
    this.impl = opts.impl ?? 'real';
    this.host = opts.host;
    this.master = opts.master;
    this.meta = opts.meta ?? false;
    this.name = owner.claimName(opts.name ?? (this.meta ? `mnt-meta-${opts.host.name}` : `mnt-${opts.host.name}`));
    this.dir = opts.dir ?? join(owner.dir, this.name);
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    mkdirSync(this.dir, { recursive: true });
    const o = opts.options?.length ? ['-o', opts.options.join(',')] : [];
    this.argv = [
      binFor('mount', this.impl),
      '-f',
      ...(this.meta ? ['-m'] : []),
      '-H',
      this.master.addr,
      '-P',
      String(this.master.ports.cl),
      ...o,
      ...(opts.args ?? []),
      this.dir,
    ];
    registerMount(this);
  }

  get mounted(): boolean {
    return mountsUnder(this.dir).includes(this.dir);
  }

  /** Mounts and waits until the kernel has the mount and statfs answers through it. */
  async start(): Promise<this> {
    if (this.proc?.running) throw new LabError('MFSL_USAGE', `${this.name} is already running`);
    this.proc = this.host.spawn(this.name, this.argv);
    const abort = (): string | undefined => this.proc?.exitReason();
    try {
      await waitFor(
        `${this.dir} to be mounted and answer statfs`,
        async () => (await run(['mountpoint', '-q', this.dir], { allowFail: true })).ok && (await run(['stat', '-f', this.dir], { allowFail: true, timeoutMs: 10_000 })).ok,
        { timeoutMs: this.readyTimeoutMs, abort },
      );
    } catch (e) {
      if (LabError.is(e)) throw new LabError(e.code, `${this.name} (${this.impl} mount on ${this.host.name}) is not ready`, e.message);
      throw e;
    }
    return this;
  }

  /** A path inside the mount. */
  path(rel = ''): string {
    return rel ? join(this.dir, rel) : this.dir;
  }

  /** Runs a command in the mount's network namespace (where the tools' proxy is). */
  exec(cmd: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return this.host.exec(cmd, opts);
  }

  sh(script: string, opts?: RunOptions): Promise<RunResult> {
    return this.host.sh(script, opts);
  }

  /**
   * Unmounts: `umount`, then `fusermount -u`, then a lazy `umount -l` as the last resort, waiting
   * for the mount process to exit after each; kills the process group if it still lingers.
   */
  async unmount(timeoutMs = 15_000): Promise<void> {
    const tries: string[][] = [
      ['umount', this.dir],
      ['fusermount3', '-u', this.dir],
      ['fusermount', '-u', this.dir],
      ['umount', '-l', this.dir],
    ];
    for (const cmd of tries) {
      if (!this.mounted) break;
      if (!existsSync(this.dir)) break;
      await run(cmd, { allowFail: true, timeoutMs });
      if (!this.mounted) break;
    }
    if (this.proc) {
      const done = await Promise.race([this.proc.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref())]);
      if (!done) await this.proc.stop(2_000, 'SIGKILL');
    }
    if (this.mounted) await run(['umount', '-l', this.dir], { allowFail: true });
  }
}
