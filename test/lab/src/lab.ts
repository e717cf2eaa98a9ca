import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Chunkserver,
  Master,
  Metalogger,
  Mount,
  type ChunkserverOptions,
  type Daemon,
  type DaemonOwner,
  type Impl,
  type MasterOptions,
  type MetaloggerOptions,
  type MountOptions,
} from './daemons.js';
import { LabError } from './errors.js';
import { isAlive, run } from './exec.js';
import { Host, assertHost, type HostOwner, type Proc } from './host.js';
import { ip, LAB_PREFIX, leaseSubnet, listNetns, mountsUnder, netnsPids, sweepStale, type SubnetLease } from './netns.js';

export interface LabOptions {
  /** Host count (named h0, h1...) or host names. Default 1. */
  hosts?: number | readonly string[];
  /** Default implementation for daemons started without `impl`. Default 'real'. */
  impl?: Impl;
  /** Parent of the lab's working directory. Default `<tmpdir>/mfsl`. */
  root?: string;
  /** Keep the working directory (logs, data) after teardown. Default: only if a test failed. */
  keep?: boolean;
  /**
   * How teardown ends the daemons: 'graceful' (SIGTERM; a real master then spends seconds writing
   * metadata.mfs) or 'kill' (SIGKILL at once: for tests that never look at what a stop leaves).
   * Default 'graceful'.
   */
  stop?: 'graceful' | 'kill';
}

let labCounter = 0;
const activeLabs = new Set<Lab>();

/**
 * An isolated set of hosts for one test: network namespaces `mfsl-<pid>-<n>-<host>`, each with `lo`
 * and an `eth0` plugged into a bridge in the namespace `mfsl-<pid>-<n>-sw`, on a 10.A.B.0/24 taken for
 * this lab alone (host k has 10.A.B.(k+1)). Create with `createLab`; always `teardown()` in `finally`
 * (or use `withLab` / `useLab` from `@mfs-ts/lab/vitest`).
 */
export class Lab implements HostOwner, DaemonOwner {
  readonly hosts: Host[] = [];
  readonly procs: Proc[] = [];
  readonly daemons: Daemon[] = [];
  readonly mounts: Mount[] = [];
  readonly logDir: string;
  /** Set by `withLab`/`useLab` when the test failed: the working directory is then kept. */
  failed = false;
  private torn = false;
  private readonly names = new Set<string>();
  private readonly namespaces: string[] = [];
  private readonly portsByHost = new Map<string, number>();

  constructor(
    /** `mfsl-<pid>-<n>`: prefix of every namespace, directory and name this lab owns. */
    readonly id: string,
    /** Working directory (cfg, data, logs, mount points). */
    readonly dir: string,
    private readonly lease: SubnetLease,
    readonly defaultImpl: Impl,
    private readonly keep: boolean,
    private readonly stopMode: 'graceful' | 'kill' = 'graceful',
  ) {
    this.logDir = join(dir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  /** "10.A.B": the lab subnet's first three octets. */
  get subnet(): string {
    return this.lease.prefix;
  }

  get switchNs(): string {
    return `${this.id}-sw`;
  }

  /** A free address in the lab subnet for a VIP (k = 0..49 -> .200...). */
  vip(k = 0): string {
    return `${this.subnet}.${200 + k}`;
  }

  host(which: string | number = 0): Host {
    return assertHost(typeof which === 'number' ? this.hosts[which] : this.hosts.find((h) => h.name === which), String(which));
  }

  // ---- HostOwner / DaemonOwner -------------------------------------------------------------------

  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  track(p: Proc): void {
    this.procs.push(p);
  }

  assertLive(): void {
    if (this.torn) throw new LabError('MFSL_USAGE', `lab ${this.id} has been torn down`);
  }

  claimName(name: string): string {
    let n = name;
    for (let k = 2; this.names.has(n); k++) n = `${name}-${k}`;
    this.names.add(n);
    return n;
  }

  registerDaemon(d: Daemon): void {
    this.daemons.push(d);
  }

  // ---- set-up ------------------------------------------------------------------------------------

  /** @internal called by createLab */
  async build(hostNames: readonly string[]): Promise<void> {
    const sw = this.switchNs;
    await ip(['netns', 'add', sw]);
    this.namespaces.push(sw);
    await ip(['-n', sw, 'link', 'set', 'lo', 'up']);
    await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const [k, name] of hostNames.entries()) {
      if (!/^[a-z][a-z0-9]{0,15}$/.test(name)) throw new LabError('MFSL_USAGE', `bad host name ${JSON.stringify(name)} (a-z0-9, 16 max)`);
      const ns = `${this.id}-${name}`;
      await ip(['netns', 'add', ns]);
      this.namespaces.push(ns);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      // The veth pair is created with one end in the switch and the other straight in the host.
      await ip(['-n', sw, 'link', 'add', `p${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await ip(['-n', sw, 'link', 'set', `p${k}`, 'master', 'br0', 'up']);
      const addr = `${this.subnet}.${k + 1}`;
      await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      this.hosts.push(new Host(this, name, ns, addr));
    }
  }

  // ---- daemons -----------------------------------------------------------------------------------

  private hostOf(h: Host | string | number | undefined): Host {
    return h instanceof Host ? h : this.host(h ?? 0);
  }

  /** Writes mfsmaster.cfg + mfsexports.cfg (+ empty metadata) and starts a master; resolves when it answers mfscli. */
  async startMaster(opts: Partial<Omit<MasterOptions, 'host'>> & { host?: Host | string | number } = {}): Promise<Master> {
    this.assertLive();
    const m = new Master(this, { impl: this.defaultImpl, ...opts, host: this.hostOf(opts.host) });
    return m.start();
  }

  /** Starts a chunkserver; resolves when the master lists it with space. */
  async startChunkserver(opts: Partial<Omit<ChunkserverOptions, 'host'>> & { master: Master; host?: Host | string | number }): Promise<Chunkserver> {
    this.assertLive();
    const host = this.hostOf(opts.host);
    const port = opts.port ?? this.nextPort(host);
    const cs = new Chunkserver(this, { impl: this.defaultImpl, ...opts, host }, port);
    return cs.start();
  }

  /** Starts a metalogger; resolves when the master lists it in -SMB. */
  async startMetalogger(opts: Partial<Omit<MetaloggerOptions, 'host'>> & { master: Master; host?: Host | string | number }): Promise<Metalogger> {
    this.assertLive();
    const ml = new Metalogger(this, { impl: this.defaultImpl, ...opts, host: this.hostOf(opts.host) });
    return ml.start();
  }

  /** Mounts (FUSE); resolves when the mount point answers statfs. */
  async mount(opts: Partial<Omit<MountOptions, 'host'>> & { master: Master; host?: Host | string | number }): Promise<Mount> {
    this.assertLive();
    const m = new Mount(this, { impl: this.defaultImpl, ...opts, host: this.hostOf(opts.host) }, (x) => this.mounts.push(x));
    return m.start();
  }

  private nextPort(h: Host): number {
    const p = this.portsByHost.get(h.name) ?? 9422;
    this.portsByHost.set(h.name, p + 1);
    return p;
  }

  // ---- logs --------------------------------------------------------------------------------------

  /** Every log file of this lab (daemons, mounts, other spawned processes), each under a header. */
  dumpLogs(maxBytesEach = 64 * 1024): string {
    const parts: string[] = [`==== lab ${this.id} (subnet ${this.subnet}.0/24, dir ${this.dir}) ====`];
    let files: string[] = [];
    try {
      files = readdirSync(this.logDir).sort();
    } catch {
      return parts[0]!;
    }
    for (const f of files) {
      const p = join(this.logDir, f);
      let text = '';
      try {
        const size = statSync(p).size;
        const buf = readFileSync(p);
        text = size > maxBytesEach ? `[... ${size - maxBytesEach} bytes cut ...]\n${buf.subarray(size - maxBytesEach).toString('utf8')}` : buf.toString('utf8');
      } catch (e) {
        text = `(cannot read: ${(e as Error).message})`;
      }
      parts.push(`---- ${f} ----\n${text.trimEnd()}`);
    }
    return parts.join('\n');
  }

  /** Writes `dumpLogs()` to stderr. */
  printLogs(): void {
    process.stderr.write(`${this.dumpLogs()}\n`);
  }

  // ---- teardown ----------------------------------------------------------------------------------

  get tornDown(): boolean {
    return this.torn;
  }

  /**
   * Unmounts every mount, stops every daemon (masters last, so they can still hear the others say
   * goodbye) and every other process, kills whatever is left in the namespaces, deletes the
   * namespaces (and so the bridge and veths), releases the subnet, and removes the working directory
   * unless the lab failed or `keep` was asked. Always does all of it; then throws MFSL_TEARDOWN if
   * anything is still there.
   */
  async teardown(): Promise<void> {
    if (this.torn) return;
    this.torn = true;
    const problems: string[] = [];
    const attempt = async (what: string, f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    await Promise.all(this.mounts.map((m) => attempt(`unmount ${m.dir}`, () => m.unmount())));
    if (this.stopMode === 'kill') {
      await Promise.all(this.daemons.map((d) => attempt(`kill ${d.name}`, () => d.kill())));
    } else {
      const others = this.daemons.filter((d) => d.role !== 'master');
      await Promise.all(others.map((d) => attempt(`stop ${d.name}`, () => d.stop(15_000))));
      await Promise.all(this.daemons.filter((d) => d.role === 'master').map((d) => attempt(`stop ${d.name}`, () => d.stop(30_000))));
    }
    await Promise.all(this.procs.map((p) => attempt(`stop ${p.name}`, () => p.stop(5_000))));
    for (const ns of this.namespaces) {
      await attempt(`kill processes in ${ns}`, async () => {
        for (const pid of await netnsPids(ns)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      });
    }
    for (const ns of this.namespaces.reverse()) await attempt(`delete netns ${ns}`, () => ip(['netns', 'del', ns]));
    this.namespaces.length = 0;
    this.lease.release();
    activeLabs.delete(this);
    const left = await this.leftovers();
    if (!this.keep && !this.failed && left.length === 0) {
      await attempt(`remove ${this.dir}`, async () => rmSync(this.dir, { recursive: true, force: true }));
    }
    if (left.length > 0 || problems.length > 0) {
      throw new LabError('MFSL_TEARDOWN', `lab ${this.id} teardown was not clean (dir kept: ${this.dir})`, [...problems, ...left.map((l) => `left behind: ${l}`)].join('\n'));
    }
  }

  /** What of this lab still exists: namespaces, mounts, tracked processes. Empty after a clean teardown. */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const ns of listNetns()) if (ns.startsWith(`${this.id}-`)) out.push(`netns ${ns}`);
    if (existsSync(this.dir)) for (const mp of mountsUnder(this.dir)) out.push(`mount ${mp}`);
    for (const p of this.procs) if (p.pid > 0 && isAlive(p.pid) && p.exit === undefined) out.push(`process ${p.pid} (${p.name})`);
    return out;
  }

  /** Last-chance cleanup when the process is exiting (synchronous: no promises run any more). */
  emergencyCleanup(): void {
    if (this.torn) return;
    this.torn = true;
    const sh = (cmd: string, args: string[]): void => {
      try {
        execFileSync(cmd, args, { stdio: 'ignore', timeout: 5_000 });
      } catch {
        // best effort
      }
    };
    for (const m of this.mounts) sh('umount', ['-l', m.dir]);
    for (const p of this.procs) p.signal('SIGKILL');
    for (const ns of this.namespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5_000 });
        for (const pid of pids.split(/\s+/).filter(Boolean)) sh('kill', ['-9', pid]);
      } catch {
        // best effort
      }
      sh('ip', ['netns', 'del', ns]);
    }
    this.lease.release();
    activeLabs.delete(this);
  }
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of [...activeLabs]) lab.emergencyCleanup();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only where nobody else handles the signal: then clean up and die of it as we would have.
    if (process.listenerCount(sig) > 0) continue;
    const handler = (): void => {
      for (const lab of [...activeLabs]) lab.emergencyCleanup();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/**
 * Creates a lab: sweeps what crashed earlier runs on this machine left, leases a subnet, and builds
 * the namespaces and the bridge. On failure it cleans up what it made and rethrows.
 */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const root = opts.root ?? join(tmpdir(), 'mfsl');
  mkdirSync(root, { recursive: true });
  await sweepStale(root);
  const n = labCounter++;
  const id = `${LAB_PREFIX}${process.pid}-${n}`;
  const hostNames = typeof opts.hosts === 'number' || opts.hosts === undefined ? Array.from({ length: opts.hosts ?? 1 }, (_, i) => `h${i}`) : [...opts.hosts];
  const lease = leaseSubnet(process.pid * 7 + n * 131);
  const dir = join(root, id);
  rmSync(dir, { recursive: true, force: true });
  const lab = new Lab(id, dir, lease, opts.impl ?? 'real', opts.keep ?? process.env.MFSL_KEEP === '1', opts.stop ?? 'graceful');
  activeLabs.add(lab);
  installExitHooks();
  try {
    await lab.build(hostNames);
  } catch (e) {
    lab.failed = true;
    await lab.teardown().catch(() => {});
    throw e;
  }
  return lab;
}

/** Why lab tests cannot run here (undefined = they can): not root, or tools/binaries missing. */
export function labUnavailableReason(impl: Impl = 'real'): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (network namespaces and FUSE need root)';
  const need = ['ip', 'nsenter', 'mountpoint', 'umount', 'ss', 'mfscli'];
  if (impl === 'real') need.push('mfsmaster', 'mfschunkserver', 'mfsmetalogger', 'mfsmount');
  const missing = need.filter((b) => {
    try {
      execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) return `missing: ${missing.join(', ')} (install with npm run setup, as root)`;
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (impl === 'real' && !existsSync('/var/lib/mfs/metadata.mfs.empty')) return 'no /var/lib/mfs/metadata.mfs.empty (moosefs-master)';
  return undefined;
}

export { run };
