import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { LabError } from './errors.js';
import { isAlive, killGroup, run, showCommand, waitFor, type RunOptions, type RunResult } from './exec.js';
import { ip, NETNS_DIR } from './netns.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A long-running process started by the lab (a daemon, a mount, tcpdump...). Its stdout and stderr go
 * straight to `logPath` (the process writes the file itself, so the log survives us), and it leads its
 * own process group, so stopping it takes its children too.
 */
export class Proc {
  exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly argv: readonly string[],
    readonly logPath: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.on('error', (e) => {
        this.exit = { code: null, signal: null };
        try {
          const fd = openSync(logPath, 'a');
          writeSync(fd, `\n[lab] cannot start ${showCommand(argv)}: ${e.message}\n`);
          closeSync(fd);
        } catch {
          // best effort
        }
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined && this.pid > 0 && isAlive(this.pid);
  }

  /** Why the process is not running, or undefined while it is (for waitFor's `abort`). */
  exitReason(): string | undefined {
    if (this.exit === undefined) return undefined;
    const how = this.exit.signal ? `signal ${this.exit.signal}` : `exit code ${this.exit.code}`;
    return `${this.name} (${showCommand(this.argv)}) ended with ${how}; log: ${this.logPath}`;
  }

  signal(sig: NodeJS.Signals, group = true): void {
    if (this.exit !== undefined) return;
    if (group) killGroup(this.pid, sig);
    else {
      try {
        process.kill(this.pid, sig);
      } catch {
        // gone
      }
    }
  }

  /** SIGTERM (to the leader only: MooseFS daemons stop their own helpers), then SIGKILL to the group. */
  async stop(timeoutMs = 20_000, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.exit !== undefined) return this.exit;
    this.signal(sig, false);
    const done = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref())]);
    if (done) {
      killGroup(this.pid, 'SIGKILL'); // stray children of the group, if any
      return done;
    }
    killGroup(this.pid, 'SIGKILL');
    return this.exited;
  }
}

/** What a host needs from its lab (kept narrow so host.ts does not import lab.ts). */
export interface HostOwner {
  readonly subnet: string;
  logFile(name: string): string;
  track(p: Proc): void;
  assertLive(): void;
}

export interface SpawnOpts {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * One machine of the lab: a network namespace with `lo` and `eth0` (plugged into the lab's bridge).
 * Commands run through `nsenter --net=...`, which changes only the network namespace: mounts made by
 * a process started here are visible everywhere (unlike `ip netns exec`, which also unshares mounts).
 */
export class Host {
  readonly extraAddresses = new Set<string>();

  constructor(
    private readonly owner: HostOwner,
    /** The lab's name for this host (`h0`, `master`...). */
    readonly name: string,
    /** The network namespace (`mfsl-<pid>-<n>-<name>`). */
    readonly ns: string,
    /** Primary address on `dev`. */
    readonly ip: string,
    readonly dev = 'eth0',
  ) {}

  get nsPath(): string {
    return `${NETNS_DIR}/${this.ns}`;
  }

  /** The argv that runs `cmd` inside this host. */
  wrap(cmd: readonly string[]): string[] {
    return ['nsenter', `--net=${this.nsPath}`, '--', ...cmd];
  }

  /** Runs a command here to completion; rejects with MFSL_COMMAND_FAILED unless `allowFail`. */
  exec(cmd: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.owner.assertLive();
    return run(this.wrap(cmd), opts);
  }

  /** Runs a bash script here (`set -euo pipefail` on). */
  sh(script: string, opts?: RunOptions): Promise<RunResult> {
    return this.exec(['bash', '-c', `set -euo pipefail\n${script}`], opts);
  }

  /**
   * Starts a long-running process here. The lab tracks it (teardown stops it) and writes its output
   * to `<logDir>/<name>.log`.
   */
  spawn(name: string, cmd: readonly string[], opts: SpawnOpts = {}): Proc {
    this.owner.assertLive();
    const argv = this.wrap(cmd);
    const logPath = this.owner.logFile(name);
    const fd = openSync(logPath, 'a');
    writeSync(fd, `[lab] ${new Date().toISOString()} ${this.name}: ${showCommand(cmd)}\n`);
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: teardown can kill the whole tree
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(fd);
    }
    const p = new Proc(name, cmd, logPath, child);
    this.owner.track(p);
    return p;
  }

  /** Adds an address to `eth0` (a VIP for failover tests). Inside the lab subnet it gets /24, else /32. */
  async addAddress(addr: string): Promise<void> {
    const plen = addr.startsWith(`${this.owner.subnet}.`) ? 24 : 32;
    await ip(['-n', this.ns, 'addr', 'add', `${addr}/${plen}`, 'dev', this.dev]);
    this.extraAddresses.add(addr);
    // Tell the neighbours at once (gratuitous ARP) so a moved VIP is reachable without waiting for
    // their ARP caches to expire; best effort, arping may not be installed.
    await run(this.wrap(['arping', '-c', '1', '-U', '-I', this.dev, addr]), { allowFail: true, timeoutMs: 5_000 }).catch(() => {});
  }

  async removeAddress(addr: string): Promise<void> {
    const plen = addr.startsWith(`${this.owner.subnet}.`) ? 24 : 32;
    await ip(['-n', this.ns, 'addr', 'del', `${addr}/${plen}`, 'dev', this.dev]);
    this.extraAddresses.delete(addr);
  }

  /** IPv4 addresses on `eth0` now. */
  async addresses(): Promise<string[]> {
    const r = await run(['ip', '-n', this.ns, '-4', '-o', 'addr', 'show', 'dev', this.dev]);
    return [...r.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
  }

  /**
   * Starts tcpdump here on every interface (`-i any`: eth0 and lo) writing `file` (classic pcap, whole
   * packets); resolves once it listens. `--immediate-mode` matters: without it libpcap hands packets
   * over in ring-buffer blocks and the last ones before a stop never reach the file; `-U` then writes
   * each packet as it comes. Stop it
   * with `proc.stop(10_000, 'SIGINT')`; read the file with `readPcapTcp`.
   */
  async capture(file: string, filter = 'tcp'): Promise<Proc> {
    const proc = this.spawn(`tcpdump-${this.name}`, ['tcpdump', '-i', 'any', '-s', '0', '-U', '--immediate-mode', '-B', '65536', '-n', '-w', file, filter]);
    await waitFor(`tcpdump on ${this.name} to listen`, () => readFileSync(proc.logPath, 'utf8').includes('listening on'), {
      abort: () => proc.exitReason(),
      timeoutMs: 15_000,
    });
    return proc;
  }

  /** Waits until something listens on TCP `port` here (any address), by asking the kernel (`ss`). */
  async waitListening(port: number, opts: { timeoutMs?: number; abort?: () => string | undefined } = {}): Promise<void> {
    await waitFor(
      `${this.name}: a listener on TCP port ${port}`,
      async () => {
        const r = await run(this.wrap(['ss', '-Htln', `sport = :${port}`]), { allowFail: true });
        return r.ok && r.stdout.trim().length > 0;
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, abort: opts.abort },
    );
  }
}

export function assertHost(h: Host | undefined, name: string): Host {
  if (!h) throw new LabError('MFSL_USAGE', `no host named ${name} in this lab`);
  return h;
}
