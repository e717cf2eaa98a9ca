// The lab itself, proven against the real MooseFS 3.0.117 daemons: a cluster comes up, stores and
// returns data with two copies, lists its metalogger, and leaves nothing behind when torn down.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createLab, isAlive, listNetns, mountsUnder, REPO_ROOT, run, waitFor } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

const MiB = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

describeLab('lab: real MooseFS 3.0.117 cluster', () => {
  it('stores 100 MiB with goal 2 through mfsmount and reads it back intact', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master });
      const ml = await lab.startMetalogger({ host: 'master', master });
      const mnt = await lab.mount({ host: 'client', master });

      const servers = await master.chunkservers();
      expect(servers.map((s) => `${s.ip}:${s.port}`).sort()).toEqual([`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort());
      expect(await master.metaloggers()).toContain(ml.host.ip);

      // 100 MiB of random data through the mount (the mount is in the shared mount namespace).
      const data = randomBytes(100 * MiB);
      const want = createHash('sha256').update(data).digest('hex');
      const file = mnt.path('random.bin');
      const fh = await open(file, 'w');
      await fh.writeFile(data);
      await fh.sync();
      await fh.close();

      // Read it back through a second, uncached mount, so the bytes come from the chunkservers.
      const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name: 'mnt-direct' });
      expect(await sha256File(direct.path('random.bin'))).toBe(want);

      // Goal 2 (the default storage class): every chunk has two valid copies, one per chunkserver.
      const goal = await mnt.exec(['mfsgetgoal', file]);
      expect(goal.stdout).toMatch(/: 2\s*$/);
      const info = (await mnt.exec(['mfsfileinfo', file])).stdout;
      const chunks = info.split(/\n\s*chunk \d+:/).slice(1);
      expect(chunks).toHaveLength(2); // 100 MiB = chunk 0 (64 MiB) + chunk 1
      for (const c of chunks) {
        const copies = [...c.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((m) => `${m[1]}:${m[2]}`);
        expect(copies.sort()).toEqual([`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort());
      }
      // The master agrees: two chunks, four copies.
      const sig = new Map((await master.rows('-SIG')).map((r) => [r[1], r[2]]));
      expect(sig.get('chunks')).toBe('2');
      expect(sig.get('all chunk copies')).toBe('4');
    });
  });

  it('teardown leaves no namespace, mount, process or lease behind', async () => {
    // 'kill': the graceful path is the default, taken by the other tests' teardowns (which throw if
    // anything is left); this one checks the SIGKILL path too.
    const lab = await createLab({ hosts: 2, stop: 'kill' });
    let pids: number[] = [];
    let mountDir = '';
    try {
      const master = await lab.startMaster({ host: 'h0' });
      await lab.startChunkserver({ host: 'h1', master });
      const mnt = await lab.mount({ host: 'h1', master });
      mountDir = mnt.dir;
      // A stray child in a namespace, not tracked by the lab: teardown must still remove it.
      const stray = spawnSync('nsenter', [`--net=${lab.host('h1').nsPath}`, '--', 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
      pids = [...lab.procs.map((p) => p.pid), Number(stray.stdout.trim())];
      expect(pids.every((p) => p > 0 && isAlive(p))).toBe(true);
      expect(mountsUnder(lab.dir)).toContain(mountDir);
      expect(listNetns().filter((n) => n.startsWith(`${lab.id}-`)).sort()).toEqual([`${lab.id}-h0`, `${lab.id}-h1`, `${lab.id}-sw`]);
    } finally {
      await lab.teardown();
    }
    expect(listNetns().filter((n) => n.startsWith(`${lab.id}-`))).toEqual([]);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(mountDir);
    expect(pids.filter((p) => isAlive(p))).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
    expect(existsSync(`/run/mfsl/subnets/${lab.subnet}`)).toBe(false);
    expect(await lab.leftovers()).toEqual([]);
  });

  it('sweeps what a crashed run left (namespaces, processes, directories of dead pids)', async () => {
    // A pid that surely is dead: a process that has exited.
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const pid = Number(dead.stdout.trim());
    expect(isAlive(pid)).toBe(false);
    const ns = `mfsl-${pid}-0-h0`;
    const root = join(tmpdir(), 'mfsl');
    const dir = join(root, `mfsl-${pid}-0`);
    await run(['ip', 'netns', 'add', ns]);
    const sleeper = spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    const straypid = Number(sleeper.stdout.trim());
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'left-over'), 'x');
    expect(isAlive(straypid)).toBe(true);

    const lab = await createLab({ hosts: 1 });
    try {
      expect(listNetns()).not.toContain(ns);
      expect(isAlive(straypid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await lab.teardown();
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
      if (isAlive(straypid)) process.kill(straypid, 'SIGKILL');
    }
  });

  it('cleans up when the test process is killed (SIGTERM) mid-run', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'interrupted-run.ts')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
    const info = await waitFor('the interrupted run to report its lab', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { id: string; dir: string; mount: string; pids: number[] }) : undefined;
    }, { timeoutMs: 60_000, abort: () => (child.exitCode !== null ? `exited with ${child.exitCode}` : undefined) });
    expect(mountsUnder(info.dir)).toContain(info.mount);
    child.kill('SIGTERM');
    await exited;
    expect(listNetns().filter((n) => n.startsWith(`${info.id}-`))).toEqual([]);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(info.mount);
    expect(info.pids.filter((p) => isAlive(p))).toEqual([]);
    // The directory stays (no async work at signal time); the next lab's sweep removes it.
    const next = await createLab({ hosts: 1 });
    await next.teardown();
    expect(existsSync(info.dir)).toBe(false);
  });
});
