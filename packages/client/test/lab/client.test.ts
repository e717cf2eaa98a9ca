import { spawn, spawnSync, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, link, mkdir, open, readdir, readFile, rename, stat, symlink, readlink, truncate, unlink, writeFile, rmdir } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { binFor, createLab, mountsUnder, waitFor, type Chunkserver, type Lab, type Master, type Mount } from '@mfs-ts/lab';
import { describeLab } from '@mfs-ts/lab/vitest';
import { masterArgs, runScenario, steps } from './helpers.js';

// The client (Node API, then mfsmount-ts) against a real mfsmaster and two real chunkservers, with a
// password-protected export so the register errors are MooseFS's own.

const PASSWORD = 'lab-secret';

const isMountpoint = (dir: string) => mountsUnder(dir).includes(dir);

/** Kills a process started with `detached: true` and its whole group (flock's child holds the lock fd too). */
async function killAndWait(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const closed = new Promise((ok) => p.once('close', ok));
  process.kill(-p.pid!, 'SIGKILL');
  await closed;
}

describeLab('client against real MooseFS 3.0.117', () => {
  let lab: Lab;
  let master: Master;
  let chunkservers: Chunkserver[] = [];

  beforeAll(async () => {
    lab = await createLab({ hosts: 1 });
    try {
      master = await lab.startMaster({ exports: `*\t/\trw,alldirs,admin,maproot=0:0,password=${PASSWORD}\n*\t.\trw\n` });
      chunkservers = [await lab.startChunkserver({ master }), await lab.startChunkserver({ master })];
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    }
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  const scenario = async (name: string, extra: Record<string, unknown> = {}) => {
    try {
      return await runScenario(lab.host(0), name, { ...masterArgs(master), password: PASSWORD, ...extra });
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    }
  };

  it('Node API: register errors, files of several MiB and across a chunk, namespace ops', async () => {
    const r = await scenario('api-basic');
    expect(steps(r)).toEqual(expect.arrayContaining(['register errors', 'meta session', 'subfolder', 'write/read 5 MiB', 'across chunk boundary', 'rename', 'symlink', 'truncate', 'chmod chown utimes', 'xattr', 'goal trashtime', 'unlink rmdir', 'mtime', 'streams', 'big directory', 'closed']));
  });

  it('mfsmount-ts (FUSE): write/read/ls/rename/truncate through node:fs, large I/O options, real mfsmount sees the same bytes', async () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    let ts: Mount | undefined;
    let real: Mount | undefined;
    let direct: Mount | undefined;
    try {
      ts = await lab.mount({ master, impl: 'ts', options: [`mfspassword=${PASSWORD}`, 'mfsioretries=5'] });
      // libfuse got our large-I/O options (fuse-native's own list has none of them).
      const line = readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === ts!.dir);
      expect(line).toBeDefined();
      expect(line).toMatch(/fuse\.mfs/);
      expect(line).toMatch(/max_read=131072/);

      const dir = ts.path('fusedir');
      await mkdir(dir);
      const data = randomBytes(7 * 1024 * 1024 + 333);
      await writeFile(`${dir}/a.bin`, data);
      expect((await stat(`${dir}/a.bin`)).size).toBe(data.length);
      expect(sha(await readFile(`${dir}/a.bin`))).toBe(sha(data));

      // Positional writes and reads through a file descriptor.
      const fh = await open(`${dir}/a.bin`, 'r+');
      const patch = randomBytes(200_000);
      await fh.write(patch, 0, patch.length, 3_000_001);
      patch.copy(data, 3_000_001);
      const piece = Buffer.alloc(500_000);
      const { bytesRead } = await fh.read(piece, 0, piece.length, 2_900_000);
      expect(bytesRead).toBe(piece.length);
      expect(sha(piece)).toBe(sha(data.subarray(2_900_000, 3_400_000)));
      await fh.close();

      await rename(`${dir}/a.bin`, `${dir}/b.bin`);
      expect((await readdir(dir)).sort()).toEqual(['b.bin']);
      await symlink('b.bin', `${dir}/l`);
      expect(await readlink(`${dir}/l`)).toBe('b.bin');
      expect(sha(await readFile(`${dir}/l`))).toBe(sha(data));
      await writeFile(`${dir}/small.txt`, 'hello mfs');
      await truncate(`${dir}/small.txt`, 5);
      expect(await readFile(`${dir}/small.txt`, 'utf8')).toBe('hello');
      expect((await readdir(dir)).sort()).toEqual(['b.bin', 'l', 'small.txt']);
      // Hard link, chmod, chown through the kernel.
      await link(`${dir}/small.txt`, `${dir}/hard.txt`);
      expect((await stat(`${dir}/small.txt`)).nlink).toBe(2);
      await chmod(`${dir}/hard.txt`, 0o600);
      await chown(`${dir}/hard.txt`, 4321, 8765);
      // (libfuse2's high-level layer gives each name its own kernel node, so read the attributes
      // back through the name that was changed; both names carry the same MooseFS inode.)
      const st = await stat(`${dir}/hard.txt`);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o600, 4321, 8765]);
      expect(st.ino).toBe((await stat(`${dir}/small.txt`)).ino);
      await unlink(`${dir}/hard.txt`);
      // The kernel's revalidations of a directory are answered from the name cache (core cachedDir),
      // but never after a change made through this mount: a subdirectory made or removed shows in
      // the directory's nlink at once, and so does a chmod of it.
      const nlink0 = (await stat(dir)).nlink;
      await mkdir(`${dir}/sub`);
      expect((await stat(dir)).nlink).toBe(nlink0 + 1);
      await rmdir(`${dir}/sub`);
      expect((await stat(dir)).nlink).toBe(nlink0);
      await chmod(dir, 0o711);
      expect((await stat(dir)).mode & 0o7777).toBe(0o711);

      // Requests reach the master as root (fuse-native passes no caller context), so the mount uses
      // default_permissions: the kernel checks mode bits for other users. nobody may read a 0644
      // file but not write into a root-owned 0755 directory.
      expect(line).toMatch(/default_permissions/);
      expect(line).toMatch(/allow_other/);
      const nobody = (cmd: string) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 20_000 });
      await chmod(dir, 0o755);
      await writeFile(`${dir}/pub.txt`, 'public');
      await chmod(`${dir}/pub.txt`, 0o644);
      const rd = nobody(`cat ${dir}/pub.txt`);
      expect([rd.status, rd.stdout, rd.stderr]).toEqual([0, 'public', '']);
      // small.txt is now 0600 (through its hard link) and owned by 4321: nobody may not read it either.
      expect(nobody(`cat ${dir}/small.txt`).stderr).toMatch(/Permission denied/);
      const wr = nobody(`echo x > ${dir}/by-nobody.txt`);
      expect(wr.status).not.toBe(0);
      expect(wr.stderr).toMatch(/Permission denied/);
      expect(existsSync(`${dir}/by-nobody.txt`)).toBe(false);
      await unlink(`${dir}/pub.txt`);

      // The MooseFS tools find .masterinfo and go through mfsmount-ts's proxy (run in the mount's namespace).
      const mi = await stat(ts.path('.masterinfo'));
      expect([mi.ino, mi.size, mi.nlink]).toEqual([0x7fffffff, 14, 1]);
      expect((await stat(ts.dir)).ino).toBe(1);
      const sg = await ts.exec(['mfssetgoal', '1', `${dir}/b.bin`]);
      expect(sg.stdout).toMatch(/b\.bin: goal: 1/);
      const gg = await ts.exec(['mfsgetgoal', `${dir}/b.bin`]);
      expect(gg.stdout).toMatch(/b\.bin: 1$/m);
      const fi = await ts.exec(['mfsfileinfo', `${dir}/b.bin`]);
      expect(fi.stdout).toMatch(/chunk 0: [0-9A-F]{16}_[0-9A-F]{8} \/ \(id:\d+ ver:\d+\)/);
      expect(fi.stdout).toMatch(/copy 1: \d+\.\d+\.\d+\.\d+:\d+/);

      // mfscachemode=DIRECT (libfuse direct_io: no page cache, no read-ahead in the client).
      direct = await lab.mount({ master, impl: 'ts', options: [`mfspassword=${PASSWORD}`, 'mfscachemode=DIRECT'], name: 'mnt-ts-direct' });
      expect(sha(await readFile(direct.path('fusedir/b.bin')))).toBe(sha(data));
      expect(readFileSync('/proc/self/mounts', 'utf8')).toMatch(new RegExp(`${direct.dir} fuse\\.mfs`));

      // The real mfsmount reads what mfsmount-ts wrote, and the other way round.
      real = await lab.mount({ master, impl: 'real', options: [`mfspassword=${PASSWORD}`] });
      expect(sha(await readFile(real.path('fusedir/b.bin')))).toBe(sha(data));
      expect(await readFile(real.path('fusedir/small.txt'), 'utf8')).toBe('hello');
      const other = randomBytes(3 * 1024 * 1024 + 17);
      await writeFile(real.path('fusedir/from-real.bin'), other);
      expect(sha(await readFile(`${dir}/from-real.bin`))).toBe(sha(other));

      // Locks: fuse-native has no lock/flock operation, so libfuse2 leaves flock(2) and fcntl(2)
      // locks to the kernel: they exclude other processes on this mount only, not another client of
      // the cluster (the real mfsmount sends them to the master). Documented in the README.
      await writeFile(`${dir}/lock`, '');
      const holder = spawn('flock', [`${dir}/lock`, 'sleep', '60'], { stdio: 'ignore', detached: true });
      try {
        const tryLock = (path: string) => spawnSync('flock', ['-n', path, 'true'], { timeout: 20_000 }).status;
        await waitFor('the flock holder to hold its lock', () => tryLock(`${dir}/lock`) === 1, { timeoutMs: 20_000, intervalMs: 50 });
        expect(tryLock(real.path('fusedir/lock'))).toBe(0);
        const fcntl = (path: string) =>
          spawnSync('python3', ['-c', `import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\nexcept OSError:\n  sys.exit(1)`, path], { timeout: 20_000 }).status;
        // A POSIX lock held through mfsmount-ts is not seen through the real mount either.
        const posixHolder = spawn('python3', ['-c', `import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)`, `${dir}/lock`], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
        try {
          await new Promise<void>((ok, no) => {
            posixHolder.stdout.once('data', () => ok());
            posixHolder.once('close', (code) => no(new Error(`the fcntl lock holder ended (${code})`)));
          });
          expect(fcntl(`${dir}/lock`)).toBe(1);
          expect(fcntl(real.path('fusedir/lock'))).toBe(0);
        } finally {
          await killAndWait(posixHolder);
        }
      } finally {
        await killAndWait(holder);
      }
      // (after the holders closed it: an open file unlinked through libfuse2 becomes .fuse_hidden*)
      await unlink(`${dir}/lock`);

      await unlink(`${dir}/l`);
      await unlink(`${dir}/b.bin`);
      await unlink(`${dir}/small.txt`);
      await unlink(`${dir}/from-real.bin`);
      await rmdir(dir);
      expect(await readdir(ts.dir)).not.toContain('fusedir');
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    } finally {
      await direct?.unmount();
      await real?.unmount();
      await ts?.unmount();
    }
    // umount ended the mfsmount-ts process cleanly.
    expect(ts.proc?.exit?.code).toBe(0);
  });

  it('mfsmount-ts without -f: returns once mounted, umount ends the background process; a wrong password is refused', async () => {
    const host = lab.host(0);
    const bin = binFor('mount', 'ts');
    const dir = join(lab.dir, 'mnt-daemon');
    mkdirSync(dir, { recursive: true });
    const base = [bin, dir, '-H', master.addr, '-P', String(master.ports.cl)];
    const bad = await host.exec([...base, '-o', 'mfspassword=wrong'], { allowFail: true, timeoutMs: 30_000 });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('mfsmaster register error: Incorrect password');
    expect(isMountpoint(dir)).toBe(false);

    const bgPids = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dir);
          } catch {
            return false;
          }
        });
    try {
      const r = await host.exec([...base, '-o', `mfspassword=${PASSWORD}`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      // Usable as soon as the command returned: no waiting here.
      expect(isMountpoint(dir)).toBe(true);
      await writeFile(join(dir, 'bg.txt'), 'background mount');
      expect(await readFile(join(dir, 'bg.txt'), 'utf8')).toBe('background mount');
      await unlink(join(dir, 'bg.txt'));
      expect(bgPids().length).toBeGreaterThan(0);
    } finally {
      if (isMountpoint(dir)) await host.exec(['umount', dir], { allowFail: true });
    }
    await waitFor('the background mfsmount-ts to exit after umount', () => bgPids().length === 0, { timeoutMs: 20_000 });
  });

  it('mfsmount-ts: SIGTERM flushes data still in the write-back cache, unmounts and exits 0', async () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const ts = await lab.mount({ master, impl: 'ts', options: [`mfspassword=${PASSWORD}`] });
    let real: Mount | undefined;
    const data = randomBytes(2 * 1024 * 1024 + 5);
    try {
      const fh = await open(ts.path('term.bin'), 'w');
      await fh.write(data, 0, data.length, 0);
      // No close, no fsync: the data is only in mfsmount-ts's write-back cache.
      ts.proc!.signal('SIGTERM', false);
      const ex = await ts.proc!.exited;
      expect(ex.code).toBe(0);
      expect(isMountpoint(ts.dir)).toBe(false);
      await fh.close().catch(() => undefined);
      real = await lab.mount({ master, impl: 'real', options: [`mfspassword=${PASSWORD}`] });
      expect(sha(await readFile(real.path('term.bin')))).toBe(sha(data));
      await unlink(real.path('term.bin'));
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    } finally {
      await real?.unmount();
      await ts.unmount();
    }
  });

  it('Node API: a chunkserver killed under a goal-2 file: an open handle keeps reading, writes go on', async () => {
    const dir = join(lab.dir, 'csfail-markers');
    mkdirSync(dir, { recursive: true });
    const run = scenario('api-csfail', { dir });
    run.catch(() => undefined);
    await Promise.race([
      waitFor('scenario marker written', () => existsSync(join(dir, 'written')), { timeoutMs: 90_000, intervalMs: 50 }),
      run.then(() => {
        throw new Error('scenario ended before it wrote');
      }),
    ]);
    const port = Number(readFileSync(join(dir, 'written'), 'utf8'));
    const victim = chunkservers.find((c) => c.port === port)!;
    expect(victim).toBeDefined();
    await victim.kill();
    writeFileSync(join(dir, 'killed'), '');
    try {
      const r = await run;
      const st = steps(r);
      expect(st.some((s) => s.startsWith('failover read'))).toBe(true);
      expect(st.some((s) => s.startsWith('read after chunkserver loss'))).toBe(true);
      expect(st).toContain('write after chunkserver loss');
    } finally {
      await victim.start();
      await master.waitChunkservers(2);
    }
  });

  it('mfsmount-ts: a cp rides a real master restart, a read rides a killed chunkserver (goal 2), mfsmakesnapshot', async () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const MiB = 1024 * 1024;
    const size = 160 * MiB + 12_345; // three chunks, the last one partial
    const src = join(lab.dir, 'cp-src.bin');
    const data = randomBytes(size);
    writeFileSync(src, data);
    const want = sha(data);
    let writer: Mount | undefined;
    let reader: Mount | undefined;
    let victim: Chunkserver | undefined;
    let cpProc: ChildProcessByStdio<null, null, Readable> | undefined;
    try {
      // A small write-back cache, so cp is still writing (not just waiting in close) when the master goes.
      writer = await lab.mount({ master, impl: 'ts', options: [`mfspassword=${PASSWORD}`, 'mfswritecachesize=8'], name: 'mnt-ts-cp' });
      await mkdir(writer.path('faults'));
      const dst = writer.path('faults/copy.bin');
      // cp is paused (SIGSTOP) mid-file while the master stops: a real mfsmaster keeps serving for
      // a few seconds after SIGTERM (until its metadata is saved), long enough for a whole cp to end.
      // It goes on while the master is down and has to wait for it.
      cpProc = spawn('cp', [src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
      let cpErr = '';
      cpProc.stderr.on('data', (b: Buffer) => (cpErr += b.toString()));
      const cp = new Promise<number | null>((resolve) => cpProc!.on('close', (code) => resolve(code)));
      await waitFor('cp to be under way', () => existsSync(dst) && statSync(dst).size >= 24 * MiB, { timeoutMs: 60_000, intervalMs: 10 });
      cpProc.kill('SIGSTOP');
      const copiedBefore = statSync(dst).size;
      await master.stop();
      cpProc.kill('SIGCONT');
      await master.start();
      await master.waitChunkservers(2);
      expect([await cp, cpErr]).toEqual([0, '']);
      expect(copiedBefore).toBeLessThan(size);
      expect(statSync(dst).size).toBe(size);
      await writer.unmount();
      writer = undefined;

      // Both copies of every chunk exist before one chunkserver is killed.
      reader = await lab.mount({ master, impl: 'ts', options: [`mfspassword=${PASSWORD}`], name: 'mnt-ts-rd' });
      const path = reader.path('faults/copy.bin');
      await waitFor(
        'two copies of each of the 3 chunks',
        async () => {
          const fi = await reader!.exec(['mfsfileinfo', path], { allowFail: true });
          const chunks = fi.stdout.split(/\n\s*chunk \d+:/).slice(1);
          return chunks.length === 3 && chunks.every((c) => (c.match(/copy \d+:/g) ?? []).length === 2);
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      // A fresh mount has nothing in the page cache: every byte comes from a chunkserver.
      const h = createHash('sha256');
      const fh = await open(path, 'r');
      const buf = Buffer.alloc(MiB);
      let pos = 0;
      try {
        while (pos < 20 * MiB) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          h.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
        // Kill the chunkserver the mount is reading from (the one it holds a connection to).
        const conns = await reader.exec(['ss', '-Htn', 'state', 'established']);
        const inUse = chunkservers.filter((c) => conns.stdout.split('\n').some((l) => l.trim().split(/\s+/)[3] === `${c.host.ip}:${c.port}`));
        expect(inUse.length).toBeGreaterThan(0);
        victim = inUse[0]!;
        await victim.kill();
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } finally {
        await fh.close();
      }
      expect(pos).toBe(size);
      expect(h.digest('hex')).toBe(want);

      // The real mfsmakesnapshot through .masterinfo and the mount's proxy.
      const snap = await reader.exec(['mfsmakesnapshot', path, reader.path('faults/snap.bin')], { allowFail: true });
      expect([snap.code, snap.stderr]).toEqual([0, '']);
      const st = await stat(reader.path('faults/snap.bin'));
      expect(st.size).toBe(size);
      expect(st.ino).not.toBe((await stat(path)).ino);
      expect(sha(await readFile(reader.path('faults/snap.bin')))).toBe(want);
      await unlink(reader.path('faults/snap.bin'));
      await unlink(path);
      await rmdir(reader.path('faults'));
    } catch (e) {
      lab.failed = true;
      lab.printLogs();
      throw e;
    } finally {
      if (cpProc?.exitCode === null) cpProc.kill('SIGKILL');
      if (!master.running) await master.start();
      await writer?.unmount();
      await reader?.unmount();
      rmSync(src, { force: true });
      if (victim) {
        await victim.start();
        await master.waitChunkservers(2);
      }
    }
  });

  // Last: it stops the master.
  it('Node API: RECONNECT keeps the session over a master restart; a dead master gives EIO after the retries', async () => {
    const dir = join(lab.dir, 'restart-markers');
    mkdirSync(dir, { recursive: true });
    const run = scenario('api-restart', { dir });
    run.catch(() => undefined);
    const phase = (name: string) =>
      Promise.race([
        waitFor(`scenario marker ${name}`, () => existsSync(join(dir, name)), { timeoutMs: 60_000, intervalMs: 50 }),
        run.then(() => {
          throw new Error(`scenario ended before ${name}`);
        }),
      ]);
    await phase('phase1');
    await master.stop();
    await master.start();
    await master.waitChunkservers(2);
    writeFileSync(join(dir, 'restarted'), '');
    await phase('phase2');
    await master.stop();
    writeFileSync(join(dir, 'stopped'), '');
    const r = await run;
    const st = steps(r);
    expect(st.some((s) => s.startsWith('reconnected session'))).toBe(true);
    expect(st.some((s) => s.startsWith('dead master EIO'))).toBe(true);
  });
});
