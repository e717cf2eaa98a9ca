// Failover with our daemons and the kit of packages/failover: keepalived holds a VIP on the master
// host. The seed's mode: kill -9 the master and the standby (a metalogger) takes the VIP, restores
// with `mfsmaster-ts -a` from its metalogger files and serves; the old master comes back as a
// metalogger of the new leader (never on its own stale files), which a second failover back to it
// proves lossless. The hot mode: the standby is mfsmaster-ts as a hot follower, promoted in place,
// with FOLLOWER_SYNC_ACK on; kill -9, then a cut link, back and forth, nothing acknowledged lost.
// The seed's mode once more with MooseFS's own mfsmetalogger as the source of the promotion's files
// (and the real mfsmount and chunkserver riding the switch).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { binFor, Master, Metalogger, REPO_ROOT, waitFor, type Host, type Lab } from '@mfs-ts/lab';
import { buildFailoverLab, contentOf, failover, fmt, followerStatus, LISTEN_ALL, standbyAgain, verifyAll, vipAddedAfter, Workload } from './failover-harness.js';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { parseCluster, type Cluster, type HostSpec } from '../../packages/failover/src/cluster.js';
import { cliArgv, keepalivedArgv, statePaths, watchArgv, writeKit } from '../../packages/failover/src/generate.js';
import { lockPid, readRole } from '../../packages/failover/src/node.js';

const PIECE = 512 * 1024;
const pieceOf = (k: number): Buffer => {
  const b = Buffer.alloc(PIECE, (k * 13 + 7) & 0xff);
  b.writeUInt32BE(k, 0);
  return b;
};

/**
 * One big file written in 512 KiB pieces, paced (about 20 MB/s), without fsync until the end: the
 * client keeps the chunk open for writing (locked on the master) most of the time, so the kill
 * lands inside an open write. `finish()` fsyncs and closes.
 */
class Streamer {
  pieces = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private fh: Awaited<ReturnType<typeof open>> | undefined;

  constructor(
    readonly path: string,
    private readonly maxPieces = 400,
  ) {}

  async start(): Promise<void> {
    this.fh = await open(this.path, 'w');
    this.loop = (async () => {
      while (!this.stopping && this.pieces < this.maxPieces) {
        await this.fh!.write(pieceOf(this.pieces));
        this.pieces++;
        await new Promise((r) => setTimeout(r, 25)); // pacing, not waiting for readiness
      }
    })();
  }

  /** Stops writing, then fsync + close; resolves with how long fsync + close took (ms). */
  async finish(): Promise<number> {
    this.stopping = true;
    await this.loop;
    const t = Date.now();
    await this.fh!.sync();
    await this.fh!.close();
    return Date.now() - t;
  }

  /** Every piece is there, in order, and nothing else. */
  async verify(): Promise<string | undefined> {
    const got = await readFile(this.path);
    if (got.length !== this.pieces * PIECE) return `${got.length} bytes, expected ${this.pieces * PIECE}`;
    for (let k = 0; k < this.pieces; k++) if (!got.subarray(k * PIECE, (k + 1) * PIECE).equals(pieceOf(k))) return `piece ${k} differs`;
    return undefined;
  }
}

interface Takeover {
  vipMs: number;
  promoteStartMs: number;
  answersMs: number;
  clientMs: number;
  /** Chunks whose write was open at the kill, unlocked by the promotion. */
  unlocked: string;
}

/**
 * Kills the leader's master (-9) and measures: VIP on the standby, its notify_master starting, its
 * master answering (the kit's protocol probe, role written "leader"), the client's next
 * acknowledged file.
 */
async function killAndMeasure(lab: Lab, from: HostSpec, to: HostSpec, toHost: Host, vip: string, wl: Workload): Promise<Takeover> {
  const pid = lockPid(from.masterDataPath, 'mfsmaster');
  expect(pid, `master running on ${from.name}`).toBeGreaterThan(0);
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(
    `${to.name} leader and the client writing again`,
    () => {
      const r = readRole(to);
      return r.role === 'leader' && r.since >= t0 && wl.firstAckAfter(t0) !== undefined;
    },
    { timeoutMs: 150_000, intervalMs: 50 },
  );
  const vipAt = await waitFor(`ip monitor on ${to.name} to show ${vip} added`, () => vipAddedAfter(lab.logFile(`ipmon-${to.name}`), vip, t0));
  const r = readRole(to);
  // notify_master writes "promoting" first; its time is in the log of the kit, the role file keeps the last.
  const log = readFileSync(statePaths(to).log, 'utf8');
  const promoted = /promoted in (\d+) ms/.exec(r.note ?? '');
  const answersMs = r.since - t0;
  const promoteStartMs = promoted ? answersMs - Number(promoted[1]) : NaN;
  expect(log).toContain('master files assembled from metalogger files');
  const unlocked = [...log.matchAll(/"unlocked":\[([^\]]*)\]/g)].pop()?.[1] ?? '';
  return { vipMs: vipAt - t0, promoteStartMs, answersMs, clientMs: wl.firstAckAfter(t0)! - t0, unlocked };
}

describeLab('failover: keepalived + VIP, standby metalogger promoted with mfsmaster-ts -a', () => {
  it('kill -9 the master: the standby serves every acknowledged file; the old master rejoins as metalogger; a second failover back loses nothing', async () => {
    await withLab({ hosts: ['a', 'b', 'cs', 'client'], stop: 'kill' }, async (lab) => {
      const A = lab.host('a');
      const B = lab.host('b');
      const vip = lab.vip(0);
      // Cfg files and data directories, made by the lab's daemon objects but started by the kit.
      const masterA = new Master(lab, { host: A, impl: 'ts', name: 'master-a', cfg: LISTEN_ALL });
      const masterB = new Master(lab, { host: B, impl: 'ts', name: 'master-b', cfg: LISTEN_ALL, metadata: 'none' });
      masterA.addr = vip;
      masterB.addr = vip;
      const mlCfg = { MASTER_HOST: vip, MASTER_RECONNECTION_DELAY: 1 };
      const mlA = new Metalogger(lab, { host: A, impl: 'ts', master: masterA, name: 'ml-a', cfg: mlCfg });
      const mlB = new Metalogger(lab, { host: B, impl: 'ts', master: masterA, name: 'ml-b', cfg: mlCfg });
      const cluster: Cluster = parseCluster(
        {
          vip,
          interface: 'eth0',
          virtualRouterId: 51,
          authPass: 'mfsts',
          bins: { node: process.execPath, master: binFor('master', 'ts'), metalogger: binFor('metalogger', 'ts') },
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

      // ---- A bootstraps the cluster: keepalived makes it MASTER, notify_master starts its master.
      await kit(A, hA, 'start', '--bootstrap');
      for (const h of [A, B]) h.spawn(`ipmon-${h.name}`, ['ip', '-ts', 'monitor', 'address', 'dev', 'eth0']);
      A.spawn('fo-watch-a', watchArgv(cluster, hA));
      A.spawn('keepalived-a', keepalivedArgv(cluster, hA));
      await masterA.waitReady(); // mfscli -SIG on the VIP, from A
      expect(readRole(hA).role).toBe('leader');
      const cs = await lab.startChunkserver({ host: 'cs', master: masterA, impl: 'real', cfg: { MASTER_RECONNECTION_DELAY: 1 } });
      void cs;

      // ---- B joins as a standby: metalogger of the VIP; healthy once it has the leader's metadata.
      await kit(B, hB, 'start');
      B.spawn('fo-watch-b', watchArgv(cluster, hB));
      B.spawn('keepalived-b', keepalivedArgv(cluster, hB));
      await waitFor('A to list B as metalogger', async () => (await masterA.metaloggers()).includes(B.ip), { timeoutMs: 30_000 });
      await waitFor('B healthy (track file 0)', () => readFileSync(statePaths(hB).track, 'utf8').trim() === '0', { timeoutMs: 30_000 });
      await waitFor('keepalived on B in BACKUP', () => readFileSync(lab.logFile('keepalived-b'), 'utf8').includes('Entering BACKUP STATE'), { timeoutMs: 30_000 });

      const mnt = await lab.mount({ host: 'client', master: masterA });
      await mkdir(mnt.path('w'));

      // ---- failover 1: kill -9 A's master under a running workload.
      const wl = new Workload(mnt, 'r1');
      const stream = new Streamer(mnt.path('stream.bin'));
      await stream.start();
      wl.start();
      await waitFor('40 files acknowledged', () => wl.acked.size >= 40 && stream.pieces >= 4, { timeoutMs: 60_000 });
      const t1 = await killAndMeasure(lab, hA, hB, B, vip, wl);
      console.log(`[failover] A -> B: VIP on B after ${t1.vipMs} ms, notify_master started at ~${t1.promoteStartMs} ms, B's master answering at ${t1.answersMs} ms, client's next acknowledged file at ${t1.clientMs} ms; open writes unlocked: [${t1.unlocked}]`);
      const killedAt1 = Date.now();
      await waitFor('20 more files acknowledged on B', () => wl.ackedSince(killedAt1) >= 20, { timeoutMs: 60_000 });
      // The big write that was open at the kill: its chunk was locked on the dead master. The
      // promotion unlocked it, so finishing it does not wait out the 120 s lock.
      expect(t1.unlocked, 'the kill fell inside the stream\'s open write').not.toBe('');
      const streamMs = await stream.finish();
      console.log(`[failover] the write open at the kill (${stream.pieces} x 512 KiB) finished ${streamMs} ms after its fsync began`);
      expect(streamMs).toBeLessThan(45_000);
      expect(await stream.verify()).toBeUndefined();

      // ---- A comes back the safe way, by itself: FAULT -> notify_fault -> metalogger of B.
      await waitFor('A a follower, listed as metalogger by B', async () => readRole(hA).role === 'follower' && (await masterB.metaloggers()).includes(A.ip), { timeoutMs: 60_000 });
      await waitFor('A healthy (track file 0)', () => readFileSync(statePaths(hA).track, 'utf8').trim() === '0', { timeoutMs: 30_000 });
      expect(lockPid(hA.masterDataPath, 'mfsmaster'), 'no master on A while B leads').toBe(0);
      expect(readFileSync(lab.logFile('keepalived-a'), 'utf8')).toContain('Entering BACKUP STATE');
      await waitFor('30 more files acknowledged', () => wl.ackedSince(killedAt1) >= 50, { timeoutMs: 60_000 });
      await wl.stop();
      const r1 = new Map(wl.acked);
      expect(await verifyAll(mnt, r1)).toEqual([]);
      expect((await readFile(mnt.path('w/r1-0'))).equals(contentOf(0))).toBe(true);

      // ---- failover 2: kill -9 B's master; A promotes from the metalogger files it got from B.
      const wl2 = new Workload(mnt, 'r2');
      wl2.start();
      await waitFor('10 files acknowledged', () => wl2.acked.size >= 10, { timeoutMs: 60_000 });
      const t2 = await killAndMeasure(lab, hB, hA, A, vip, wl2);
      console.log(`[failover] B -> A: VIP on A after ${t2.vipMs} ms, notify_master started at ~${t2.promoteStartMs} ms, A's master answering at ${t2.answersMs} ms, client's next acknowledged file at ${t2.clientMs} ms; open writes unlocked: [${t2.unlocked}]`);
      const killedAt2 = Date.now();
      await waitFor('10 more files acknowledged on A', () => wl2.ackedSince(killedAt2) >= 10, { timeoutMs: 60_000 });
      await wl2.stop();
      const all = new Map([...r1, ...wl2.acked]);
      const bad = await verifyAll(mnt, all);
      expect(bad).toEqual([]);
      console.log(`[failover] ${all.size} acknowledged files checked after two failovers (${r1.size} in round 1, ${wl2.acked.size} in round 2); not acknowledged (so not checked): errors ${JSON.stringify([...wl.errors, ...wl2.errors])}, still retrying ${JSON.stringify([...wl.abandoned, ...wl2.abandoned])}`);
      await waitFor('B a follower again', () => readRole(hB).role === 'follower', { timeoutMs: 60_000 });
    });
  });
});

describeLab('failover: hot follower promoted in place, FOLLOWER_SYNC_ACK on', () => {
  it('kill -9 A, then cut B\'s link: every file acknowledged before each fault survives; the old leader catches up as a follower; leader and follower checksums agree', async () => {
    await withLab({ hosts: ['a', 'b', 'cs', 'client'], stop: 'kill' }, async (lab) => {
      const f = await buildFailoverLab(lab, {
        mode: 'hot',
        mount: 'ts',
        chunkserver: 'real',
        masterCfg: { FOLLOWER_SYNC_ACK: 1, FOLLOWER_SYNC_TIMEOUT_MS: 2000, FOLLOW_CHECK_FREQ: 1 },
        advertInt: 0.3,
        healthIntervalMs: 100,
      });
      const [hA, hB] = f.hosts;
      // B is a synchronised hot follower, and A answers clients synchronously: mfscli -SMB lists B as 3.1.x.
      expect(followerStatus(hB)).toMatchObject({ state: 'following', synced: true, extensions: true });
      const smb = async (h: Host): Promise<string> => (await h.exec(['mfscli', '-H', f.vip, '-SMB'])).stdout;
      await waitFor('A synchronous (B listed as 3.1.117)', async () => /3\.1\.117/.test(await smb(f.labHosts[0])), { timeoutMs: 20_000 });

      const all = new Map<string, number>();
      // ---- fault 1: kill -9 A's master; B takes over in place.
      const wl1 = new Workload(f.mnt, 'h1', 2, 100);
      wl1.start();
      await waitFor('20 files acknowledged', () => wl1.acked.size >= 20, { timeoutMs: 60_000 });
      const t1 = await failover(f, 'kill', wl1);
      console.log(`[failover hot] ${fmt(t1)}`);
      const at1 = Date.now();
      await waitFor('10 more files acknowledged on B', () => wl1.ackedSince(at1) >= 10, { timeoutMs: 60_000 });
      // A comes back by itself as B's hot follower (notify_fault), never serving on its own files.
      await standbyAgain(f);
      expect(followerStatus(hA)).toMatchObject({ state: 'following', synced: true });
      await waitFor('B synchronous (A listed as 3.1.117)', async () => /3\.1\.117/.test(await smb(f.labHosts[1])), { timeoutMs: 20_000 });
      await wl1.stop();
      for (const [k, v] of wl1.acked) all.set(k, v);
      expect(await verifyAll(f.mnt, all)).toEqual([]);

      // ---- fault 2: cut B's link at the switch; A takes over (the switch back), B returns as a follower.
      const wl2 = new Workload(f.mnt, 'h2', 2, 100);
      wl2.start();
      await waitFor('20 files acknowledged', () => wl2.acked.size >= 20, { timeoutMs: 60_000 });
      const t2 = await failover(f, 'cut', wl2);
      console.log(`[failover hot] ${fmt(t2)}`);
      const at2 = Date.now();
      await waitFor('10 more files acknowledged on A', () => wl2.ackedSince(at2) >= 10, { timeoutMs: 60_000 });
      await standbyAgain(f);
      await wl2.stop();
      for (const [k, v] of wl2.acked) all.set(k, v);
      const bad = await verifyAll(f.mnt, all);
      expect(bad).toEqual([]);
      console.log(`[failover hot] ${all.size} acknowledged files checked (${wl1.acked.size} + ${wl2.acked.size}); not acknowledged: errors ${JSON.stringify([...wl1.errors, ...wl2.errors])}, still retrying ${JSON.stringify([...wl1.abandoned, ...wl2.abandoned])}`);

      // Every node's metadata compared: B's copy checks its namespace checksum against A's, after the last change.
      const quiet = Date.now();
      const st = await waitFor('B checksum equal to A after the workload', () => {
        const s = followerStatus(hB);
        return s?.synced && s.lastCheck && s.lastCheck.at > quiet + 1500 && s.lastCheck.version === s.metaversion ? s : undefined;
      }, { timeoutMs: 30_000 });
      expect(st.lastCheck!.ok).toBe(true);
      expect(lockPid(hB.masterDataPath, 'mfsmaster')).toBeGreaterThan(0); // the follower runs; it serves nothing
      expect(readRole(hA).role).toBe('leader');
    });
  });
});

describeLab('hot follower of a real mfsmaster (3.0.117)', () => {
  it('follows it without the mfs-ts extensions, then takes over its real mount and chunkserver in place', async () => {
    await withLab({ hosts: ['m', 'cs', 'client'], stop: 'kill' }, async (lab) => {
      const M = lab.host('m');
      const real = await lab.startMaster({ host: M, impl: 'real' });
      await lab.startChunkserver({ host: 'cs', master: real, impl: 'real', cfg: { MASTER_RECONNECTION_DELAY: 1 } });
      const mnt = await lab.mount({ host: 'client', master: real, impl: 'real' });
      await mkdir(mnt.path('w'));
      const wl = new Workload(mnt, 'real', 2, 50);
      wl.start();
      await waitFor('15 files on the real master', () => wl.acked.size >= 15, { timeoutMs: 60_000 });
      // Our follower on the same host and addresses (it opens no port until promoted).
      const fol = new Master(lab, { host: M, impl: 'ts', name: 'follower', cfg: { FOLLOW_MASTER_HOST: real.addr, FOLLOW_CHECK_FREQ: 1 }, metadata: 'none' });
      const spec = { masterDataPath: fol.dataPath } as HostSpec;
      M.spawn('follower', [binFor('master', 'ts'), '-c', fol.cfgPath, '-f', 'start']);
      await waitFor('the follower synchronised', () => followerStatus(spec)?.synced === true, { timeoutMs: 30_000 });
      expect(followerStatus(spec)).toMatchObject({ state: 'following', extensions: false });
      await waitFor('15 more files', () => wl.acked.size >= 30, { timeoutMs: 60_000 });
      await wl.stop();
      // The stream has drained once the follower's version stops moving.
      let last = '';
      await waitFor('the follower idle', () => {
        const v = followerStatus(spec)?.metaversion ?? '';
        const idle = v === last;
        last = v;
        return idle;
      }, { timeoutMs: 20_000, intervalMs: 700 });
      expect(followerStatus(spec)?.lastCheck).toBeUndefined(); // no checksum with a real leader
      process.kill(lockPid(real.dataPath, 'mfsmaster'), 'SIGKILL');
      const r = await M.exec([binFor('master', 'ts'), '-c', fol.cfgPath, 'promote'], { timeoutMs: 60_000 });
      expect(r.stderr).toContain('promoted');
      // The real mount and the real chunkserver find the same address served again.
      const after = new Workload(mnt, 'ours', 1);
      after.start();
      await waitFor('a file through the promoted follower', () => after.acked.size >= 3, { timeoutMs: 60_000 });
      await after.stop();
      expect(await verifyAll(mnt, new Map([...wl.acked, ...after.acked]))).toEqual([]);
    });
  });
});

describeLab('failover: the seed\'s mode with the real mfsmetalogger, real mfsmount and real chunkserver', () => {
  it('kill -9 the master: B promotes with mfsmaster-ts -a from the real metalogger\'s files; every acknowledged file survives', async () => {
    await withLab({ hosts: ['a', 'b', 'cs', 'client'], stop: 'kill' }, async (lab) => {
      const f = await buildFailoverLab(lab, { mode: 'metalogger', metalogger: 'real', mount: 'real', chunkserver: 'real', advertInt: 0.3, healthIntervalMs: 100 });
      const hB = f.hosts[1];
      // B's standby is MooseFS's own mfsmetalogger 3.0.117, not ours.
      const mlPid = lockPid(hB.metaloggerDataPath, 'mfsmetalogger');
      expect(mlPid).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${mlPid}/cmdline`, 'utf8').split('\0')[0]).toBe(binFor('metalogger', 'real'));

      const wl = new Workload(f.mnt, 'rm', 2, 50);
      wl.start();
      // The real metalogger downloaded metadata at B's start, before any of these: each file must come
      // back from its changelog_ml.0.mfs, merged by the promotion.
      await waitFor('30 files acknowledged', () => wl.acked.size >= 30, { timeoutMs: 60_000 });
      const t = await failover(f, 'kill', wl);
      console.log(`[failover real ml] ${fmt(t)}`);
      const at = Date.now();
      await waitFor('10 more files acknowledged on B', () => wl.ackedSince(at) >= 10, { timeoutMs: 60_000 });
      await wl.stop();
      expect(await verifyAll(f.mnt, wl.acked)).toEqual([]);
      expect(t.before).toBeGreaterThanOrEqual(30);

      // The promotion read the real metalogger's files by their names and merged their records.
      const log = readFileSync(statePaths(hB).log, 'utf8');
      const records = Number(/master files assembled from metalogger files.*"records":(\d+)/.exec(log)?.[1] ?? 0);
      expect(records).toBeGreaterThanOrEqual(t.before);
      expect(log).not.toMatch(/"holes":\[\[/);
      const promoted = readdirSync(statePaths(hB).archive).filter((d) => d.endsWith('-promote'));
      expect(promoted).toHaveLength(1);
      const used = readdirSync(join(statePaths(hB).archive, promoted[0]!, 'metalogger'));
      expect(used).toEqual(expect.arrayContaining(['metadata_ml.mfs.back', 'changelog_ml.0.mfs']));
      console.log(`[failover real ml] ${wl.acked.size} acknowledged files checked; ${records} changelog records merged from ${used.join(', ')}; not acknowledged: errors ${JSON.stringify(wl.errors)}, still retrying ${JSON.stringify(wl.abandoned)}`);
    });
  });
});
