// The failover lab, shared by test/interop/failover.test.ts and bench/src/failover.ts: hosts A and B
// (mfsmaster-ts under the kit's keepalived, A the primary), a chunkserver, a client mounting the
// VIP; a workload of small numbered files (each written, fsynced and closed); faults (kill -9 the
// leader's master, cut the leader's link) and what they cost: the VIP on the standby, its master
// answering, the workload's next acknowledged file; and which acknowledged files survived.
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { binFor, Master, Metalogger, REPO_ROOT, waitFor, type Host, type Impl, type Lab, type Mount } from '@mfs-ts/lab';
import { parseCluster, type Cluster, type HostSpec, type StandbyMode } from '../../packages/failover/src/cluster.js';
import { cliArgv, keepalivedArgv, statePaths, watchArgv, writeKit } from '../../packages/failover/src/generate.js';
import { lockPid, readRole } from '../../packages/failover/src/node.js';
import { FOLLOWER_STATUS, type FollowerStatus } from '../../packages/failover/src/status.js';

export const LISTEN_ALL = { MATOML_LISTEN_HOST: '*', MATOCS_LISTEN_HOST: '*', MATOCL_LISTEN_HOST: '*' };

/** Deterministic content for file i (1..16 KiB), so a lost or mixed-up write shows. */
export function contentOf(i: number): Buffer {
  const n = 1024 + ((i * 7919) % (15 * 1024));
  const b = Buffer.allocUnsafe(n);
  for (let k = 0; k < n; k++) b[k] = (i * 31 + k * 17) & 0xff;
  b.writeUInt32BE(i, 0);
  return b;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Creates numbered files, each written, fsynced and closed, in `lanes` lanes (so one file stuck in
 * the client's retries does not stop the others), a new one every `everyMs` per lane at most; a file
 * counts as acknowledged once close returned. Records when each file was started and acknowledged.
 */
export class Workload {
  readonly acked = new Map<string, number>(); // name -> i
  /** [open called, close returned] of each acknowledged file. */
  readonly times: Array<[number, number]> = [];
  readonly errors: string[] = [];
  /** Files still in flight when stop() gave up waiting (not acknowledged, not checked). */
  readonly abandoned: string[] = [];
  private readonly inFlight = new Set<string>();
  private stopping = false;
  private next = 0;
  private lanes: Array<Promise<void>> = [];

  constructor(
    private readonly mnt: Mount,
    private readonly prefix: string,
    private readonly laneCount = 2,
    private readonly everyMs = 0,
  ) {}

  start(): void {
    this.stopping = false;
    this.lanes = Array.from({ length: this.laneCount }, () => this.run());
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const i = this.next++;
      const name = `${this.prefix}-${i}`;
      const started = Date.now();
      this.inFlight.add(name);
      try {
        const fh = await open(this.mnt.path(join('w', name)), 'w');
        try {
          await fh.write(contentOf(i));
          await fh.sync();
        } finally {
          await fh.close();
        }
        this.acked.set(name, i);
        this.times.push([started, Date.now()]);
      } catch (e) {
        this.errors.push(`${name}: ${(e as Error).message}`);
      } finally {
        this.inFlight.delete(name);
      }
      const left = this.everyMs - (Date.now() - started);
      if (left > 0) await sleep(left); // pacing, not waiting for readiness
    }
  }

  /** When the first file opened at or after `t` was acknowledged. */
  firstAckAfter(t: number): number | undefined {
    let best: number | undefined;
    for (const [s, e] of this.times) if (s >= t && (best === undefined || e < best)) best = e;
    return best;
  }

  ackedSince(t: number): number {
    return this.times.filter(([, e]) => e >= t).length;
  }

  /** Acknowledged before `t` (the fault): these must survive it. */
  ackedBefore(t: number): number {
    return this.times.filter(([, e]) => e < t).length;
  }

  /**
   * Stops every lane. A file whose write the client is still retrying after `graceMs` is left to
   * finish or fail in the background, never counted.
   */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    const all = Promise.all(this.lanes);
    const done = await Promise.race([all.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!done) this.abandoned.push(...this.inFlight);
  }
}

/** Acknowledged files that are missing or differ. */
export async function verifyAll(mnt: Mount, files: Map<string, number>): Promise<string[]> {
  const bad: string[] = [];
  for (const [name, i] of files) {
    try {
      const got = await readFile(mnt.path(join('w', name)));
      if (!got.equals(contentOf(i))) bad.push(`${name}: content differs (${got.length} bytes)`);
    } catch (e) {
      bad.push(`${name}: ${(e as Error).message}`);
    }
  }
  return bad;
}

/** When `ip -ts monitor address` (a host's log) first showed `vip` added at or after `t0` (ms). */
export function vipAddedAfter(logFile: string, vip: string, t0: number): number | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*\] (?!Deleted).*inet (\S+)\//.exec(line);
    if (!m || m[2] !== vip) continue;
    const t = new Date(m[1]!).getTime(); // local time, as ip prints it
    if (t >= t0) return t;
  }
  return undefined;
}

export function followerStatus(h: HostSpec): FollowerStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(h.masterDataPath, FOLLOWER_STATUS), 'utf8')) as FollowerStatus;
  } catch {
    return undefined;
  }
}

export interface FailoverLabOptions {
  mode: StandbyMode;
  /** The client: mfsmount-ts or the real mfsmount. */
  mount: Impl;
  chunkserver: Impl;
  /** The standby's metalogger in the seed's mode (both hosts): mfsmetalogger-ts (default) or the real one. */
  metalogger?: Impl;
  /** Extra mfsmaster.cfg keys for both masters (e.g. FOLLOWER_SYNC_ACK). */
  masterCfg?: Record<string, string | number>;
  /** VRRP advert interval (s); below 1 the kit uses VRRP v3. */
  advertInt?: number;
  /** The kit's watcher interval (ms). */
  healthIntervalMs?: number;
}

export interface FailoverLab {
  lab: Lab;
  cluster: Cluster;
  hosts: [HostSpec, HostSpec];
  labHosts: [Host, Host];
  vip: string;
  mnt: Mount;
  masters: [Master, Master];
  /** Index of the host whose master leads now. */
  leader: 0 | 1;
}

/**
 * Builds the cluster: A bootstraps and leads, B joins as the standby (hot follower or metalogger)
 * and is healthy, a chunkserver, the mount of the VIP with a `w` directory.
 */
export async function buildFailoverLab(lab: Lab, o: FailoverLabOptions): Promise<FailoverLab> {
  const A = lab.host('a');
  const B = lab.host('b');
  const vip = lab.vip(0);
  const cfg = { ...LISTEN_ALL, ...(o.masterCfg ?? {}) };
  // Cfg files and data directories, made by the lab's daemon objects but started by the kit.
  const masterA = new Master(lab, { host: A, impl: 'ts', name: 'master-a', cfg });
  const masterB = new Master(lab, { host: B, impl: 'ts', name: 'master-b', cfg, metadata: 'none' });
  masterA.addr = vip;
  masterB.addr = vip;
  const mlCfg = { MASTER_HOST: vip, MASTER_RECONNECTION_DELAY: 1 };
  const ml = o.metalogger ?? 'ts';
  const mlA = new Metalogger(lab, { host: A, impl: ml, master: masterA, name: 'ml-a', cfg: mlCfg });
  const mlB = new Metalogger(lab, { host: B, impl: ml, master: masterA, name: 'ml-b', cfg: mlCfg });
  const cluster: Cluster = parseCluster(
    {
      vip,
      mode: o.mode,
      interface: 'eth0',
      virtualRouterId: 51,
      authPass: 'mfsts',
      advertInt: o.advertInt ?? 1,
      health: { intervalMs: o.healthIntervalMs ?? 500 },
      bins: { node: process.execPath, master: binFor('master', 'ts'), metalogger: binFor('metalogger', ml) },
      hosts: [
        { name: 'a', address: A.ip, priority: 150, primary: true, masterCfg: masterA.cfgPath, masterDataPath: masterA.dataPath, metaloggerCfg: mlA.cfgPath, metaloggerDataPath: mlA.dataPath, stateDir: join(lab.dir, 'fo-state-a'), kitDir: join(lab.dir, 'fo-kit-a') },
        { name: 'b', address: B.ip, priority: 100, masterCfg: masterB.cfgPath, masterDataPath: masterB.dataPath, metaloggerCfg: mlB.cfgPath, metaloggerDataPath: mlB.dataPath, stateDir: join(lab.dir, 'fo-state-b'), kitDir: join(lab.dir, 'fo-kit-b') },
      ],
    },
    REPO_ROOT,
  );
  writeKit(cluster);
  const [hA, hB] = cluster.hosts as [HostSpec, HostSpec];
  const kit = (h: Host, spec: HostSpec, ...args: string[]) => h.exec([...cliArgv(cluster), ...args, '--cluster', join(spec.kitDir, 'cluster.json'), '--host', spec.name], { timeoutMs: 60_000 });

  // A bootstraps the cluster: keepalived makes it MASTER, notify_master starts its master.
  await kit(A, hA, 'start', '--bootstrap');
  for (const h of [A, B]) h.spawn(`ipmon-${h.name}`, ['ip', '-ts', 'monitor', 'address', 'dev', 'eth0']);
  A.spawn('fo-watch-a', watchArgv(cluster, hA));
  A.spawn('keepalived-a', keepalivedArgv(cluster, hA));
  await masterA.waitReady(); // mfscli -SIG on the VIP, from A
  // mfscli can get its answer before the kit's own probe has and the role file says so.
  await waitFor('A leader (its kit\'s probe answered)', () => readRole(hA).role === 'leader', { timeoutMs: 30_000, intervalMs: 20 });
  await lab.startChunkserver({ host: 'cs', master: masterA, impl: o.chunkserver, cfg: { MASTER_RECONNECTION_DELAY: 1 } });

  // B joins as the standby; healthy once it holds the leader's metadata.
  await kit(B, hB, 'start');
  B.spawn('fo-watch-b', watchArgv(cluster, hB));
  B.spawn('keepalived-b', keepalivedArgv(cluster, hB));
  await waitFor('A to list B as metalogger/follower', async () => (await masterA.metaloggers()).includes(B.ip), { timeoutMs: 30_000 });
  await waitFor('B healthy (track file 0)', () => readFileSync(statePaths(hB).track, 'utf8').trim() === '0', { timeoutMs: 30_000 });
  await waitFor('keepalived on B in BACKUP', () => readFileSync(lab.logFile('keepalived-b'), 'utf8').includes('Entering BACKUP STATE'), { timeoutMs: 30_000 });

  const mnt = await lab.mount({ host: 'client', master: masterA, impl: o.mount });
  await mkdir(mnt.path('w'));
  return { lab, cluster, hosts: [hA, hB], labHosts: [A, B], vip, mnt, masters: [masterA, masterB], leader: 0 };
}

export type Fault = 'kill' | 'cut';

export interface Takeover {
  fault: Fault;
  from: string;
  to: string;
  /** ms from the fault to the VIP on the standby, to its master answering, to the next acknowledged file. */
  vipMs: number;
  answersMs: number;
  clientMs: number;
  /** Files acknowledged before the fault (all must survive). */
  before: number;
}

/**
 * One failover: `fault` on the leader (kill -9 its master, or cut its link at the switch), then
 * waits until the standby leads and the workload wrote again, and measures. A cut link is restored
 * once the standby serves; the old leader then comes back as the new leader's follower.
 */
export async function failover(f: FailoverLab, fault: Fault, wl: Workload): Promise<Takeover> {
  const from = f.leader;
  const to = (1 - from) as 0 | 1;
  const [hFrom, hTo] = [f.hosts[from], f.hosts[to]];
  const pid = lockPid(hFrom.masterDataPath, 'mfsmaster');
  if (!pid) throw new Error(`no master running on ${hFrom.name}`);
  let answersAt: number | undefined;
  let stopWatch = false;
  const t0 = Date.now();
  // The standby's master answering: in hot mode its status says leader once the ports are open;
  // in the seed's mode the kit's role says leader once its probe answered.
  const watch = (async () => {
    while (!stopWatch && answersAt === undefined) {
      const st = f.cluster.mode === 'hot' ? followerStatus(hTo) : undefined;
      const r = readRole(hTo);
      if (f.cluster.mode === 'hot' ? st?.state === 'leader' : r.role === 'leader' && r.since >= t0) answersAt = Date.now();
      await sleep(5);
    }
  })();
  const port = `p${f.lab.hosts.indexOf(f.labHosts[from])}`;
  if (fault === 'kill') process.kill(pid, 'SIGKILL');
  else await f.lab.host('client').exec(['ip', '-n', f.lab.switchNs, 'link', 'set', port, 'down']);
  try {
    await waitFor(
      `${hTo.name} leader and the client writing again`,
      () => readRole(hTo).role === 'leader' && readRole(hTo).since >= t0 && answersAt !== undefined && wl.firstAckAfter(t0) !== undefined,
      { timeoutMs: 150_000, intervalMs: 20 },
    );
  } finally {
    stopWatch = true;
    await watch;
    if (fault === 'cut') await f.lab.host('client').exec(['ip', '-n', f.lab.switchNs, 'link', 'set', port, 'up']);
  }
  const vipAt = await waitFor(`ip monitor on ${hTo.name} to show ${f.vip} added`, () => vipAddedAfter(f.lab.logFile(`ipmon-${hTo.name}`), f.vip, t0));
  f.leader = to;
  return { fault, from: hFrom.name, to: hTo.name, vipMs: vipAt - t0, answersMs: answersAt! - t0, clientMs: wl.firstAckAfter(t0)! - t0, before: wl.ackedBefore(t0) };
}

/** The old leader is back as a healthy standby of the new one (follower role, track file 0). */
export async function standbyAgain(f: FailoverLab): Promise<void> {
  const h = f.hosts[1 - f.leader]!;
  await waitFor(`${h.name} a healthy follower again`, () => readRole(h).role === 'follower' && readFileSync(statePaths(h).track, 'utf8').trim() === '0', { timeoutMs: 90_000, intervalMs: 50 });
}

export function fmt(t: Takeover): string {
  return `${t.fault} ${t.from} -> ${t.to}: VIP after ${t.vipMs} ms, master answering at ${t.answersMs} ms, client's next acknowledged file at ${t.clientMs} ms (${t.before} acknowledged before the fault)`;
}
