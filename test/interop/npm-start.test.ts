// `npm start`'s launcher (scripts/start.ts) end to end: a whole mfs-ts cluster on 127.0.0.1 in a
// temporary base directory (never ./var, ./mnt or the default ports), a POSIX workload through the
// FUSE mount and the Node API, a clean stop with SIGINT, a restart that finds everything intact,
// the messages for a port in use and for what a killed launcher leaves behind, and `stop`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MfsClient } from '@mfs-ts/client';
import { chunkservers, mountEntry } from '../../scripts/start/probe.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (the FUSE mount needs root)';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (!['/lib/x86_64-linux-gnu/libfuse.so.2', '/usr/lib/x86_64-linux-gnu/libfuse.so.2'].some((p) => existsSync(p))) return 'libfuse2 not installed';
  return undefined;
}
const reason = unavailable();
if (reason && process.env.CI) throw new Error(`npm start test cannot run on this CI machine: ${reason}`);
if (reason) console.warn(`[npm-start] skipping: ${reason}`);

interface State {
  pid: number;
  ports: { ml: number; cs: number; cl: number; cs1: number; cs2: number };
  mount: string | null;
  mountPid: number | null;
  daemons: Record<string, { pid: number }>;
}

class Launcher {
  readonly proc: ChildProcess;
  out = '';
  code: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly base: string,
    args: string[],
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/start.ts'), ...args, '--base', base], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((r) =>
      this.proc.once('exit', (c) => {
        this.code = c;
        r(c);
      }),
    );
  }

  /** Waits until the launcher prints `re` (it prints "ready" once it has asked every daemon). */
  async waitFor(re: RegExp, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.out)) {
      if (this.code !== undefined) throw new Error(`launcher exited (${this.code}) before ${re}:\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`launcher: no ${re} after ${timeoutMs} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  state(): State {
    return JSON.parse(readFileSync(join(this.base, 'var/cluster.json'), 'utf8')) as State;
  }

  async interrupt(timeoutMs = 90_000): Promise<number | null> {
    if (this.code === undefined) this.proc.kill('SIGINT');
    const t = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
    if (t === 'timeout') throw new Error(`launcher did not stop within ${timeoutMs} ms:\n${this.out}`);
    return t;
  }
}

/** Running (a zombie waiting for init to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (up to 5 s) for pids that are exiting right now, then says which are still there. */
async function stillAlive(pids: Record<string, number | null>): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const left = Object.entries(pids).filter(([, p]) => p && alive(p)).map(([n, p]) => `${n} (pid ${p})`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every daemon and the mount of this state are gone. */
async function expectNothingLeft(base: string, st: State): Promise<void> {
  expect(mountEntry(join(base, 'mnt'))).toBeUndefined();
  const pids: Record<string, number | null> = { mfsmount: st.mountPid };
  for (const [role, d] of Object.entries(st.daemons)) pids[role] = d.pid;
  expect(await stillAlive(pids)).toEqual([]);
  expect(existsSync(join(base, 'var/cluster.json'))).toBe(false);
}

type Entry = { type: 'dir' } | { type: 'file'; mode: number; size: number; sha: string; nlink: number } | { type: 'link'; target: string };

/** path -> what it is, read through the mount. */
async function manifest(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await fs.lstat(p);
      if (st.isSymbolicLink()) out.set(r, { type: 'link', target: await fs.readlink(p) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir' });
        await walk(r);
      } else out.set(r, { type: 'file', mode: st.mode & 0o7777, size: st.size, sha: createHash('sha256').update(await fs.readFile(p)).digest('hex'), nlink: st.nlink });
    }
  };
  await walk('');
  return out;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

describe.skipIf(reason !== undefined)('npm start (scripts/start.ts)', () => {
  let base = '';
  const launchers: Launcher[] = [];
  const start = (args: string[] = []): Launcher => {
    const l = new Launcher(base, args);
    launchers.push(l);
    return l;
  };
  let first: Map<string, Entry>;
  const apiData = randomBytes(300_000);

  beforeAll(() => {
    base = mkdtempSync('/tmp/mfs-npm-start-');
  });

  // A failed test leaves no launcher running into the next one.
  afterEach(async () => {
    for (const l of launchers) if (l.code === undefined) await l.interrupt().catch(() => l.proc.kill('SIGKILL'));
  }, 120_000);

  afterAll(async () => {
    // Whatever a failed test left: the launchers first (they unmount and stop), then `stop`, then by hand.
    for (const l of launchers) if (l.code === undefined) await l.interrupt().catch(() => l.proc.kill('SIGKILL'));
    spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/start.ts'), 'stop', '--base', base], { cwd: REPO, timeout: 120_000 });
    const mnt = join(base, 'mnt');
    if (mountEntry(mnt)) spawnSync('umount', ['-l', mnt]);
    if (!mountEntry(mnt)) rmSync(base, { recursive: true, force: true });
  }, 180_000);

  it('starts the cluster, takes a POSIX workload through the mount and the Node API, stops on SIGINT', async () => {
    const port = await freePort();
    const l = start(['--port', String(port)]);
    await l.waitFor(/^ready$/m);
    const st = l.state();
    expect(l.out).toContain('new cluster: configuration written to');
    expect(l.out).toMatch(/mfsmaster-ts\s+127\.0\.0\.1:\d+ \d+ \d+/);
    expect(st.mount).toBe(join(base, 'mnt'));
    expect(mountEntry(join(base, 'mnt'))).toMatch(/^fuse\.mfs /);
    // The generated cfg files are plain MooseFS cfg with the mfs-ts loopback keys documented.
    const mcfg = readFileSync(join(base, 'var/etc/mfsmaster.cfg'), 'utf8');
    expect(mcfg).toMatch(/^ALLOW_LOOPBACK_CHUNKSERVERS = 1$/m);
    expect(mcfg).toContain(`MATOCL_LISTEN_PORT = ${st.ports.cl}`);
    expect(readFileSync(join(base, 'var/etc/mfschunkserver-1.cfg'), 'utf8')).toMatch(/^ALLOW_LOOPBACK_MASTER = 1$/m);

    const m = (p: string) => join(base, 'mnt', p);
    await fs.mkdir(m('tree/a/b'), { recursive: true });
    await fs.writeFile(m('tree/hello.txt'), 'hello, mfs-ts\n');
    const big = randomBytes(3 * 1024 * 1024 + 12345);
    await fs.writeFile(m('tree/a/big.bin'), big);
    expect(sha(await fs.readFile(m('tree/a/big.bin')))).toBe(sha(big));
    // overwrite a range in the middle, read it back
    const fh = await fs.open(m('tree/a/big.bin'), 'r+');
    await fh.write(Buffer.from('PATCHED'), 0, 7, 1_000_000);
    await fh.close();
    big.write('PATCHED', 1_000_000);
    expect(sha(await fs.readFile(m('tree/a/big.bin')))).toBe(sha(big));
    // rename a file and a directory
    await fs.writeFile(m('tree/a/b/old.txt'), 'renamed');
    await fs.rename(m('tree/a/b/old.txt'), m('tree/a/b/new.txt'));
    await fs.rename(m('tree/a/b'), m('tree/a/c'));
    await expect(fs.stat(m('tree/a/b'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readFile(m('tree/a/c/new.txt'), 'utf8')).toBe('renamed');
    // hard link, symlink
    await fs.link(m('tree/hello.txt'), m('tree/hello.hard'));
    expect((await fs.stat(m('tree/hello.txt'))).nlink).toBe(2);
    await fs.symlink('a/c/new.txt', m('tree/new.sym'));
    expect(await fs.readlink(m('tree/new.sym'))).toBe('a/c/new.txt');
    expect(await fs.readFile(m('tree/new.sym'), 'utf8')).toBe('renamed');
    // truncate down and up (the tail reads as zeros)
    await fs.writeFile(m('tree/trunc.bin'), Buffer.alloc(200_000, 7));
    await fs.truncate(m('tree/trunc.bin'), 1000);
    await fs.truncate(m('tree/trunc.bin'), 5000);
    expect(await fs.readFile(m('tree/trunc.bin'))).toEqual(Buffer.concat([Buffer.alloc(1000, 7), Buffer.alloc(4000)]));
    // unlink, rmdir
    await fs.writeFile(m('tree/gone.txt'), 'x');
    await fs.unlink(m('tree/gone.txt'));
    await fs.mkdir(m('tree/emptydir'));
    await fs.rmdir(m('tree/emptydir'));
    await expect(fs.rmdir(m('tree/a'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    // chmod
    // (checked on the name chmod went through: fuse-native is path based, so the kernel caches the
    // other name's attributes apart for up to a second; the manifest below reads both later)
    await fs.chmod(m('tree/hello.txt'), 0o640);
    expect((await fs.stat(m('tree/hello.txt'))).mode & 0o7777).toBe(0o640);
    // a directory of many entries
    await fs.mkdir(m('tree/many'));
    for (let i = 0; i < 400; i++) await fs.writeFile(m(`tree/many/f${String(i).padStart(4, '0')}`), `${i}`);
    const names = await fs.readdir(m('tree/many'));
    expect(names.length).toBe(400);
    expect(new Set(names).size).toBe(400);

    // The Node API against the same cluster: sees what the mount wrote, writes what the mount reads.
    const api = await MfsClient.connect({ host: '127.0.0.1', port: st.ports.cl });
    try {
      expect(sha(await api.readFile('/tree/a/big.bin'))).toBe(sha(big));
      expect((await api.readdir('/tree/many')).length).toBe(400);
      await api.mkdir('/api/deep/er', { recursive: true });
      await api.writeFile('/api/deep/er/data.bin', apiData);
      expect(await api.getGoal('/api/deep/er/data.bin')).toBe(2);
      expect(await api.getGoal('/tree/a/big.bin')).toBe(2);
    } finally {
      await api.close();
    }
    expect(sha(await fs.readFile(m('api/deep/er/data.bin')))).toBe(sha(apiData));

    // Goal 2: the master ends up with a copy of every chunk on each chunkserver.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const cs = await chunkservers(st.ports.cl);
      if (cs.length === 2 && cs[0]!.chunks > 0 && cs[0]!.chunks === cs[1]!.chunks) break;
      if (Date.now() > deadline) throw new Error(`chunk copies not on both chunkservers: ${JSON.stringify(cs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    first = await manifest(m(''));
    expect(first.size).toBeGreaterThan(400);

    expect(await l.interrupt()).toBe(0);
    expect(l.out).toContain('stopped cleanly');
    await expectNothingLeft(base, st);
  }, 180_000);

  it('refuses to start with a port of the existing cluster taken, naming it and its owner', async () => {
    const cl = Number(/^MATOCL_LISTEN_PORT = (\d+)$/m.exec(readFileSync(join(base, 'var/etc/mfsmaster.cfg'), 'utf8'))![1]);
    const blocker: Server = createServer();
    await new Promise<void>((r, j) => blocker.once('error', j).listen(cl, '127.0.0.1', r));
    try {
      const l = start();
      expect(await Promise.race([l.exited, new Promise((r) => setTimeout(() => r('hang'), 30_000))])).toBe(1);
      expect(l.out).toContain(`port ${cl} (master, client port (MATOCL_LISTEN_PORT)) is in use by pid ${process.pid}`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 60_000);

  it('a second start reuses var/ with everything intact; SIGINT leaves no daemon and no mount', async () => {
    const l = start();
    await l.waitFor(/^ready$/m);
    expect(l.out).toContain('reusing');
    const st = l.state();
    expect(await manifest(join(base, 'mnt'))).toEqual(first);
    const api = await MfsClient.connect({ host: '127.0.0.1', port: st.ports.cl });
    try {
      expect(sha(await api.readFile('/api/deep/er/data.bin'))).toBe(sha(apiData));
      expect((await api.lstat('/tree/hello.txt')).nlink).toBe(2);
      expect(await api.readlink('/tree/new.sym')).toBe('a/c/new.txt');
    } finally {
      await api.close();
    }
    expect(await l.interrupt()).toBe(0);
    await expectNothingLeft(base, st);
  }, 120_000);

  it('without a mount it says so and shows the Node API, which works against the running cluster', async () => {
    const l = start(['--no-mount']);
    await l.waitFor(/^ready$/m);
    const st = l.state();
    expect(st.mount).toBeNull();
    expect(mountEntry(join(base, 'mnt'))).toBeUndefined();
    expect(l.out).toContain('no mount: not mounting (--no-mount)');
    expect(l.out).toContain(`MfsClient.connect({ host: '127.0.0.1', port: ${st.ports.cl} })`);
    // the printed one-liner, as a user would paste it (run from the repository)
    const snippet = /node --import tsx --input-type=module -e "([\s\S]*?)"\n/.exec(l.out)![1]!.replace(/\n\s*/g, ' ');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', snippet], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello.txt');
    expect(r.stdout).toContain('tree');
    expect(await l.interrupt()).toBe(0);
    await expectNothingLeft(base, st);
  }, 120_000);

  it('after a killed launcher: a clear refusal instead of a hang, then `stop` cleans up', async () => {
    const l = start();
    await l.waitFor(/^ready$/m);
    const st = l.state();
    l.proc.kill('SIGKILL');
    await l.exited;
    const again = start();
    expect(await Promise.race([again.exited, new Promise((r) => setTimeout(() => r('hang'), 30_000))])).toBe(1);
    expect(again.out).toMatch(/mfsmaster-ts is still running \(pid \d+/);
    expect(again.out).toContain(`${join(base, 'mnt')} is still mounted`);
    expect(again.out).toContain('npm start -- stop');
    const stop = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/start.ts'), 'stop', '--base', base], { cwd: REPO, timeout: 120_000, encoding: 'utf8' });
    expect(stop.status, stop.stdout + stop.stderr).toBe(0);
    // (the killed launcher's mount process ends by itself once unmounted)
    await expectNothingLeft(base, st);
  }, 150_000);
});
