// Our master (mfsmaster-ts) with two real MooseFS 3.0.117 chunkservers and a real mfsmount, inside the
// lab's network namespaces (real chunkservers refuse a master on 127.x).
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Master } from '../../src/index.js';
import { join } from 'node:path';
import { chmod, chown, readFile, readdir, rename, stat, unlink, writeFile, mkdir } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { run, waitFor, type Mount } from '@mfs-ts/lab';

const MiB = 1024 * 1024;
// One line per export under test; "/" has no alldirs, so each subfolder mount gets its own line.
const EXPORTS = [
  '*\t/\trw,admin,maproot=0:0',
  '*\t.\trw',
  '*\t/secret\trw,password=sesame,maproot=0:0',
  '*\t/ro\tro,maproot=0:0',
  '*\t/mr\trw,maproot=1234:5678',
  '*\t/ma\trw,mapall=2345:3456',
  '*\t/sub\trw,maproot=0:0',
  '',
].join('\n');

describeLab('mfsmaster-ts with real chunkservers and mfsmount', () => {
  it('serves mkdir, create, write/read, ls, rename, unlink; goal 2 = two copies; mfscli sees it; a wrong password is refused', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts', exports: EXPORTS });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master });
      // A real metalogger: registers (the master lists it in -SMB), downloads the metadata.
      const ml = await lab.startMetalogger({ host: 'cs1', master });
      const mnt = await lab.mount({ host: 'client', master });

      // real mfscli: -SIN and -SCS show our master and both chunkservers.
      const sin = await master.cli(['-SIN']);
      expect(sin.stdout).toMatch(/master version\|3\.0\.117/);
      const servers = await master.chunkservers();
      expect(servers.map((s) => `${s.ip}:${s.port}`).sort()).toEqual([`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort());
      for (const s of servers) expect(s.total).toBeGreaterThan(0);

      // Namespace through the kernel: mkdir, create + write 5 MiB, read back, ls, rename, unlink.
      await mkdir(mnt.path('d1'));
      const data = randomBytes(5 * MiB);
      const want = createHash('sha256').update(data).digest('hex');
      await writeFile(mnt.path('d1/file.bin'), data);
      expect((await stat(mnt.path('d1/file.bin'))).size).toBe(5 * MiB);
      // A second mount without the data cache reads the bytes from the chunkservers.
      const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name: 'mnt-direct' });
      expect(createHash('sha256').update(await readFile(direct.path('d1/file.bin'))).digest('hex')).toBe(want);
      expect((await readdir(mnt.path('d1'))).sort()).toEqual(['file.bin']);
      await rename(mnt.path('d1/file.bin'), mnt.path('moved.bin'));
      expect((await readdir(mnt.path('d1')))).toEqual([]);
      expect(createHash('sha256').update(await readFile(direct.path('moved.bin'))).digest('hex')).toBe(want);

      // Default goal 2: mfsgetgoal says 2 and mfsfileinfo lists one valid copy on each chunkserver.
      const file = mnt.path('moved.bin');
      expect((await mnt.exec(['mfsgetgoal', file])).stdout).toMatch(/: 2\s*$/);
      const info = (await mnt.exec(['mfsfileinfo', file])).stdout;
      const chunks = info.split(/\n\s*chunk \d+:/).slice(1);
      expect(chunks).toHaveLength(1);
      const copies = [...chunks[0]!.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((m) => `${m[1]}:${m[2]}`);
      expect(copies.sort()).toEqual([`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort());

      // The other tools that go through the mount's proxy.
      expect((await mnt.exec(['mfscheckfile', file])).stdout).toMatch(/chunks with 2 copies:\s+1/);
      expect((await mnt.exec(['mfsgettrashtime', file])).stdout).toMatch(/: 86400\s*$/);
      expect((await mnt.exec(['mfsgeteattr', file])).stdout).toMatch(/: -\s*$/);
      const dirinfo = (await mnt.exec(['mfsdirinfo', '-n', mnt.path('')])).stdout;
      expect(dirinfo).toMatch(/inodes:\s+3/); // root, d1, moved.bin
      expect(dirinfo).toMatch(/files:\s+1/);
      expect(dirinfo).toMatch(/length:\s+5242880/);

      // flock and fcntl locks through the mount: a second open file description (another process
      // for fcntl) is refused while the first holds the lock, and gets it after.
      const py = [
        'import fcntl, os, sys',
        'p = sys.argv[1]',
        'a = open(p, "r+"); fcntl.flock(a, fcntl.LOCK_EX)',
        'b = open(p, "r+")',
        'try:\n  fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); print("flock-not-excluded")\nexcept BlockingIOError: print("flock-ok")',
        'fcntl.flock(a, fcntl.LOCK_UN); fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); print("flock-after-ok")',
        'fcntl.lockf(a, fcntl.LOCK_EX, 10, 0)',
        'pid = os.fork()',
        'if pid == 0:',
        '  c = open(p, "r+")',
        '  try:\n    fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0); os._exit(1)\n  except OSError: pass',
        '  fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20); os._exit(0)',
        '_, st = os.waitpid(pid, 0); print("posix-ok" if st == 0 else "posix-bad")',
      ].join('\n');
      expect((await mnt.exec(['python3', '-c', py, file])).stdout.split('\n').filter(Boolean)).toEqual(['flock-ok', 'flock-after-ok', 'posix-ok']);

      await unlink(mnt.path('moved.bin'));
      expect((await readdir(mnt.path(''))).sort()).toEqual(['d1']);

      // The metalogger got the metadata file and the changes as they happened.
      expect(await master.metaloggers()).toContain(ml.host.ip);
      await waitFor('metalogger files', () => existsSync(join(ml.dataPath, 'metadata_ml.mfs.back')) || undefined, { timeoutMs: 20_000 });
      await waitFor('the mkdir in changelog_ml.0.mfs', async () => {
        const f = join(ml.dataPath, 'changelog_ml.0.mfs');
        return existsSync(f) && /\|CREATE\(1,d1,2,/.test(await readFile(f, 'utf8'));
      }, { timeoutMs: 20_000 });

      // What the real metalogger kept is enough for `-a`: a master restored from its files has d1.
      const standby = mkdtempSync(join(tmpdir(), 'mfsm-standby-'));
      try {
        for (const f of readdirSync(ml.dataPath)) if (/^(metadata_ml\.mfs\.back|changelog_ml.*\.mfs)$/.test(f)) copyFileSync(join(ml.dataPath, f), join(standby, f));
        const local = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
        const m = new Master({ cfg: { ...local, DATA_PATH: standby }, exportsText: '* /', persist: true, autoRestore: true });
        await m.start();
        try {
          expect(m.ns.lookup({ uid: 0, gids: [0], sesflags: 0, rootinode: 1 }, 1, Buffer.from('d1')).ok).toBe(true);
        } finally {
          await m.stop();
        }
      } finally {
        rmSync(standby, { recursive: true, force: true });
      }

      // Password export: the wrong password is refused, the right one mounts.
      await mkdir(mnt.path('secret'));
      // mfsmount prints the master's status with mfs_strerror (mastercomm.c "mfsmaster register error").
      const refused = async (name: string, options: string[]): Promise<string> => {
        await expect(lab.mount({ host: 'client', master, options, name, readyTimeoutMs: 15_000 })).rejects.toThrow();
        const m = lab.mounts.find((x) => x.name === name)!;
        return readFile(m.proc!.logPath, 'utf8');
      };
      expect(await refused('mnt-wrong', ['mfssubfolder=/secret', 'mfspassword=wrong'])).toMatch(/mfsmaster register error: Incorrect password/);
      expect(await refused('mnt-nopass', ['mfssubfolder=/secret'])).toMatch(/mfsmaster register error: Password is needed/);
      const ok = await lab.mount({ host: 'client', master, options: ['mfssubfolder=/secret', 'mfspassword=sesame'], name: 'mnt-secret' });
      await writeFile(ok.path('x'), 'hello');
      expect((await readdir(mnt.path('secret')))).toEqual(['x']);

      // The other exports, each through its own real mount of a subfolder.
      for (const d of ['ro', 'mr', 'ma', 'sub']) await mkdir(mnt.path(d));
      await writeFile(mnt.path('ro/old'), 'old');
      await chmod(mnt.path('mr'), 0o777);
      await chown(mnt.path('ma'), 2345, 3456);
      await writeFile(mnt.path('sub/inside.txt'), 'in');
      await writeFile(mnt.path('outside.txt'), 'out');
      // The error's code; Node has no name for Linux's EDQUOT (122): "Unknown system error -122" -> 'EDQUOT'.
      const errno = async (p: Promise<unknown>): Promise<string | undefined> =>
        p.then(() => undefined, (e: NodeJS.ErrnoException) => (e.errno === -122 ? 'EDQUOT' : e.code));
      // As a non-root user: cd first (the lab directory is private), setpriv drops to uid/gid 1000.
      const asUser = (m: Mount, script: string) => m.sh(`cd ${m.path('')} && setpriv --reuid=1000 --regid=1000 --clear-groups sh -c '${script}'`);

      // ro: reads work, every change is EROFS from the master.
      const ro = await lab.mount({ host: 'client', master, options: ['mfssubfolder=/ro'], name: 'mnt-ro' });
      expect(await readFile(ro.path('old'), 'utf8')).toBe('old');
      expect(await errno(writeFile(ro.path('new'), 'x'))).toBe('EROFS');
      expect(await errno(writeFile(ro.path('old'), 'x'))).toBe('EROFS');
      expect(await errno(mkdir(ro.path('d')))).toBe('EROFS');
      expect(await errno(unlink(ro.path('old')))).toBe('EROFS');
      expect(await errno(chmod(ro.path('old'), 0o600))).toBe('EROFS');
      expect(await readFile(mnt.path('ro/old'), 'utf8')).toBe('old');

      // maproot=1234:5678: root's files belong to 1234:5678; another user keeps its own ids.
      const mr = await lab.mount({ host: 'client', master, options: ['mfssubfolder=/mr'], name: 'mnt-mr' });
      await writeFile(mr.path('byroot'), 'r');
      await asUser(mr, 'echo u > byuser');
      const ids = async (p: string) => { const s = await stat(p); return `${s.uid}:${s.gid}`; };
      expect(await ids(mnt.path('mr/byroot'))).toBe('1234:5678');
      expect(await ids(mnt.path('mr/byuser'))).toBe('1000:1000');
      expect(await ids(mr.path('byroot'))).toBe('1234:5678');

      // mapall=2345:3456: every user's files belong to 2345:3456 (the directory is theirs, so both may write).
      const ma = await lab.mount({ host: 'client', master, options: ['mfssubfolder=/ma'], name: 'mnt-ma' });
      await writeFile(ma.path('byroot'), 'r');
      await asUser(ma, 'echo u > byuser');
      expect(await ids(mnt.path('ma/byroot'))).toBe('2345:3456');
      expect(await ids(mnt.path('ma/byuser'))).toBe('2345:3456');

      // A subfolder (mfsmount -S sub): only the subtree is there; new files land inside it.
      const sub = await lab.mount({ host: 'client', master, args: ['-S', 'sub'], name: 'mnt-sub' });
      expect(await readdir(sub.path(''))).toEqual(['inside.txt']);
      expect(await errno(stat(sub.path('outside.txt')))).toBe('ENOENT');
      expect(await errno(stat(sub.path('sub')))).toBe('ENOENT');
      await writeFile(sub.path('new.txt'), 'n');
      expect((await readdir(mnt.path('sub'))).sort()).toEqual(['inside.txt', 'new.txt']);
      expect((await stat(sub.path(''))).ino).toBe(1); // the export's root is inode 1 to the client
      const subinfo = (await sub.exec(['mfsdirinfo', '-n', sub.path('')])).stdout;
      expect(subinfo).toMatch(/inodes:\s+3/); // sub, inside.txt, new.txt

      // Directory quotas with the real tools (admin export): a hard inode limit (what is inside the
      // directory) and a hard length limit give EDQUOT; mfsgetquota and mfscli -SQU show them; mfsdelquota lifts them.
      await mkdir(mnt.path('q'));
      expect((await mnt.exec(['mfssetquota', '-I', '2', '-L', '1048576', mnt.path('q')])).stdout).toMatch(/inodes\s*\|\s*0\s*\|\s*-\s*\|\s*2\s*\|/);
      await writeFile(mnt.path('q/a'), 'a');
      await writeFile(mnt.path('q/b'), 'b');
      expect(await errno(writeFile(mnt.path('q/c'), 'c'))).toBe('EDQUOT');
      expect(await errno(mkdir(mnt.path('q/d')))).toBe('EDQUOT');
      const got = (await mnt.exec(['mfsgetquota', mnt.path('q')])).stdout;
      expect(got).toMatch(/inodes\s*\|\s*2\s*\|\s*-\s*\|\s*2\s*\|/);
      expect(got).toMatch(/length\s*\|\s*2\s*\|\s*-\s*\|\s*1048576\b/);
      expect((await master.cli(['-SQU'])).stdout).toMatch(/\|\/q\|no\|default\|-\|-\|-\|-\|-\|2\|1048576\|-\|-\|2\|2\|/);
      await mnt.exec(['mfsdelquota', '-I', mnt.path('q')]);
      await writeFile(mnt.path('q/c'), 'c');
      expect(await errno(writeFile(mnt.path('q/big'), randomBytes(2 * MiB)))).toBe('EDQUOT');
      await mnt.exec(['mfsdelquota', '-A', mnt.path('q')]); // -A: every hard limit
      // (another name: mfsmount keeps a failed inode's write error for a while)
      await writeFile(mnt.path('q/big2'), randomBytes(2 * MiB));
      expect((await mnt.exec(['mfsgetquota', mnt.path('q')])).stdout).not.toMatch(/length\s*\|.*\|\s*1048576\b/);

      // Storage classes with the real mfsscadmin (admin export), used by mfssetsclass / mfsgetsclass.
      const sc = async (...args: string[]) => (await mnt.exec(['mfsscadmin', mnt.path(''), ...args], { allowFail: true })).stdout.trim();
      expect(await sc('create', '-K', '2*', 'gold')).toBe('storage class make gold: ok');
      expect(await sc('create', '-K', '2*', 'gold')).toBe('storage class make gold: error: Class name already in use');
      expect(await sc('copy', 'gold', 'silver')).toBe('storage class copy gold->silver: ok');
      expect(await sc('rename', 'silver', 'bronze')).toBe('storage class move silver->bronze: ok');
      expect(await sc('rename', '1', 'one')).toBe('storage class move 1->one: error: Operation not permitted');
      expect((await sc('list')).split('\n')).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', 'gold', 'bronze']);
      expect(await sc('modify', '-K', '3*', 'gold')).toBe('storage class change gold: 2->3 ; admin_only: NO ; mode: STD ; create_labels: [*] , [*] ; keep_labels: [*] , [*] , [*]');
      expect((await sc('list', '-l')).split('\n').at(-2)).toBe('gold : 2->3 ; admin_only: NO ; mode: STD ; create_labels: [*] , [*] ; keep_labels: [*] , [*] , [*]');
      await writeFile(mnt.path('scfile'), 'x');
      await mnt.exec(['mfssetsclass', 'gold', mnt.path('scfile')]);
      expect((await mnt.exec(['mfsgetsclass', mnt.path('scfile')])).stdout).toMatch(/: 'gold'\s*$/);
      expect((await master.cli(['-SSC'])).stdout).toMatch(/\|10\|gold\|NO\|STD\|1\|0\|/); // one file, no directory of class gold
      expect(await sc('delete', 'gold')).toBe('storage class remove gold: error: Class in use');
      await mnt.exec(['mfssetsclass', '2', mnt.path('scfile')]);
      expect(await sc('delete', 'gold')).toBe('storage class remove gold: ok');
      expect((await sc('list')).split('\n').slice(9)).toEqual(['bronze']);
      // Without the admin flag (the /sub export): refused with MooseFS's message.
      expect((await sub.exec(['mfsscadmin', sub.path(''), 'create', '-K', '2*', 'tin'], { allowFail: true })).stdout.trim()).toBe('storage class make tin: error: Operation not permitted (mfs admin only)');
    });
  });

  it('AUTH_CODE registration; goal changes replicate and delete copies', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const auth = { AUTH_CODE: 'lab-secret' };
      const master = await lab.startMaster({ host: 'master', impl: 'ts', cfg: { ...auth, REPLICATIONS_DELAY_INIT: 0 } });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master, cfg: auth });
      // A chunkserver with the wrong AUTH_CODE never gets registered.
      const intruder = await lab.startChunkserver({ host: 'cs2', master, cfg: { AUTH_CODE: 'wrong' }, port: 9423, readyTimeoutMs: 4_000 }).catch((e: Error) => e);
      expect(intruder).toBeInstanceOf(Error);
      expect((await master.chunkservers()).map((s) => s.ip)).toEqual([cs1.host.ip]);
      const mnt = await lab.mount({ host: 'client', master });

      const copiesOf = async (m: Mount, file: string): Promise<string[]> => {
        const out = (await m.exec(['mfsfileinfo', file])).stdout;
        return [...out.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((x) => `${x[1]}:${x[2]}`).sort();
      };
      // Goal 1 from the start (set on the directory, inherited by the new file).
      await mkdir(mnt.path('g'));
      await mnt.exec(['mfssetgoal', '1', mnt.path('g')]);
      const file = mnt.path('g/one.bin');
      await writeFile(file, randomBytes(MiB));
      expect(await copiesOf(mnt, file)).toEqual([`${cs1.host.ip}:${cs1.port}`]);

      // A second chunkserver, then goal 2: the master replicates the chunk to it.
      const cs2 = await lab.startChunkserver({ host: 'cs2', master, cfg: auth });
      await mnt.exec(['mfssetgoal', '2', file]);
      const both = [`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort();
      await waitFor('two valid copies after setgoal 2', async () => JSON.stringify(await copiesOf(mnt, file)) === JSON.stringify(both), { timeoutMs: 30_000, intervalMs: 300 });

      // Back to goal 1: one copy is deleted.
      await mnt.exec(['mfssetgoal', '1', file]);
      await waitFor('one valid copy after setgoal 1', async () => (await copiesOf(mnt, file)).length === 1, { timeoutMs: 30_000, intervalMs: 300 });

      // Every copy the master asked to delete is gone from the disks: one chunk file in all.
      const chunkFiles = async () => {
        const r = await run(['sh', '-c', `find ${[...cs1.hddPaths, ...cs2.hddPaths].join(' ')} -name 'chunk_*.mfs' | wc -l`]);
        return Number(r.stdout.trim());
      };
      await waitFor('one chunk file on the two chunkservers', async () => (await chunkFiles()) === 1, { timeoutMs: 30_000, intervalMs: 300 });
    });
  });

  it('keeps data across a clean restart and across kill -9 + restart with -a', async () => {
    await withLab({ hosts: ['master', 'cs1', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts' });
      const cs = await lab.startChunkserver({ host: 'cs1', master });
      const mnt = await lab.mount({ host: 'client', master });
      await mnt.exec(['mfssetgoal', '1', mnt.path('')]);
      const a = randomBytes(66 * MiB); // two chunks
      await writeFile(mnt.path('a.bin'), a);
      // A storage class definition and its use are metadata too (SCLA section, SCSET records).
      await mnt.exec(['mfsscadmin', mnt.path(''), 'create', '-K', '1*', 'kept']);
      await mnt.exec(['mfssetsclass', 'kept', mnt.path('a.bin')]);
      await mnt.unmount();
      const classes = async (): Promise<string> => {
        const m = await lab.mount({ host: 'client', master });
        try {
          return `${(await m.exec(['mfsscadmin', m.path(''), 'list'])).stdout.trim().split('\n').slice(9).join(',')} ${(await m.exec(['mfsgetsclass', m.path('a.bin')])).stdout.trim().replace(/^.*: /, '')}`;
        } finally {
          await m.unmount();
        }
      };

      const readBack = async (name: string): Promise<Buffer> => {
        const m = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'] });
        try {
          return await readFile(m.path(name));
        } finally {
          await m.unmount();
        }
      };
      // Clean stop (metadata.mfs written) and start: the chunkserver comes back, the data is there.
      await master.stop();
      await master.start();
      await master.waitChunkservers(1);
      expect((await readBack('a.bin')).equals(a)).toBe(true);
      expect(await classes()).toBe("kept 'kept'");

      // More data, then a crash: no metadata.mfs, so a plain start is refused and -a restores.
      const b = randomBytes(2 * MiB);
      const m2 = await lab.mount({ host: 'client', master });
      await writeFile(m2.path('b.bin'), b);
      await m2.exec(['mfsscadmin', m2.path(''), 'rename', 'kept', 'renamed']);
      await m2.exec(['mfsscadmin', m2.path(''), 'create', '-K', '1*', 'crash']);
      await m2.unmount();
      await master.kill();
      await expect(master.start()).rejects.toThrow();
      await master.start(['-a']);
      await master.waitChunkservers(1);
      expect((await readBack('b.bin')).equals(b)).toBe(true);
      expect((await readBack('a.bin')).equals(a)).toBe(true);
      expect(await classes()).toBe("renamed,crash 'renamed'"); // replayed from the changelog
      void cs;
    });
  });

  it('serves our own chunkservers (mfschunkserver-ts) and mount (mfsmount-ts) too', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts' });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master, impl: 'ts' });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master, impl: 'ts' });
      const mnt = await lab.mount({ host: 'client', master, impl: 'ts' });
      const data = randomBytes(5 * MiB);
      await writeFile(mnt.path('a.bin'), data);
      const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name: 'mnt-direct' });
      expect((await readFile(direct.path('a.bin'))).equals(data)).toBe(true);
      const info = (await direct.exec(['mfsfileinfo', direct.path('a.bin')])).stdout;
      const copies = [...info.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((x) => `${x[1]}:${x[2]}`).sort();
      expect(copies).toEqual([`${cs1.host.ip}:${cs1.port}`, `${cs2.host.ip}:${cs2.port}`].sort());
    });
  });

  it('a chunkserver dies: its copies are replaced on another one to keep goal 2', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'cs3', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts', cfg: { REPLICATIONS_DELAY_INIT: 0 } });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master });
      const mnt = await lab.mount({ host: 'client', master });
      const data = randomBytes(2 * MiB);
      await writeFile(mnt.path('f.bin'), data);
      const copies = async () => {
        const out = (await mnt.exec(['mfsfileinfo', mnt.path('f.bin')])).stdout;
        return [...out.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((x) => x[1]!).sort();
      };
      expect(await copies()).toEqual([cs1.host.ip, cs2.host.ip].sort());
      const cs3 = await lab.startChunkserver({ host: 'cs3', master });
      await cs2.kill();
      await waitFor('goal 2 again, on cs1 and cs3', async () => JSON.stringify(await copies()) === JSON.stringify([cs1.host.ip, cs3.host.ip].sort()), { timeoutMs: 40_000, intervalMs: 500 });
      const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name: 'mnt-direct' });
      expect((await readFile(direct.path('f.bin'))).equals(data)).toBe(true);
    });
  });

  it('storage class labels place copies on the real chunkservers with those LABELS, and move them when the class changes', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'cs3', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts', cfg: { REPLICATIONS_DELAY_INIT: 0 } });
      const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((l, i) => lab.startChunkserver({ host: `cs${i + 1}`, master, cfg: { LABELS: l } })));
      const mnt = await lab.mount({ host: 'client', master });
      const at = (cs: { host: { ip: string }; port: number }) => `${cs.host.ip}:${cs.port}`;
      const copies = async (file: string): Promise<string[]> => {
        const out = (await mnt.exec(['mfsfileinfo', file])).stdout;
        return [...out.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((x) => `${x[1]}:${x[2]}`).sort();
      };
      expect((await mnt.exec(['mfsscadmin', mnt.path(''), 'create', '-K', 'A,B', 'ab'])).stdout).toMatch(/: ok/);
      expect((await mnt.exec(['mfsscadmin', mnt.path(''), 'create', '-K', 'C', 'onlyc'])).stdout).toMatch(/: ok/);
      await mkdir(mnt.path('d'));
      await mnt.exec(['mfssetsclass', 'ab', mnt.path('d')]);
      const files = ['d/f1', 'd/f2', 'd/f3'];
      for (const f of files) await writeFile(mnt.path(f), randomBytes(MiB));
      // created where the labels say (each of three files: never on C)
      for (const f of files) expect(await copies(mnt.path(f))).toEqual([at(a), at(b)].sort());
      // mfscli -SSC: per expression the matching servers, and whether the class can be fulfilled
      expect((await master.cli(['-SSC'])).stdout).toMatch(/\|11\|onlyc\|NO\|STD\|0\|0\|.*\|YES\|1\|C\|/);
      expect((await mnt.exec(['mfsscadmin', mnt.path(''), 'create', '-K', 'A,A', 'twoa'])).stdout).toMatch(/: ok/);
      expect((await master.cli(['-SSC'])).stdout).toMatch(/\|12\|twoa\|NO\|STD\|0\|0\|.*\|NO\|2\|A , A\|/);
      // the class changes to "one copy on C": the master replicates to C, then drops A and B
      await mnt.exec(['mfssetsclass', 'onlyc', mnt.path('d/f1')]);
      await waitFor('f1 only on the C chunkserver', async () => JSON.stringify(await copies(mnt.path('d/f1'))) === JSON.stringify([at(c)]), { timeoutMs: 40_000, intervalMs: 300 });
      expect(await copies(mnt.path('d/f2'))).toEqual([at(a), at(b)].sort());
      // a class definition change moves the chunks of every file of the class (ab -> A,C)
      await mnt.exec(['mfsscadmin', mnt.path(''), 'modify', '-K', 'A,C', 'ab']);
      await waitFor('f2 and f3 on A and C', async () => {
        for (const f of ['d/f2', 'd/f3']) if (JSON.stringify(await copies(mnt.path(f))) !== JSON.stringify([at(a), at(c)].sort())) return false;
        return true;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    });
  });

  it('the meta mount (mfsmount -m) lists the trash and undeletes a file', async () => {
    await withLab({ hosts: ['master', 'cs1', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', impl: 'ts' });
      await lab.startChunkserver({ host: 'cs1', master });
      const mnt = await lab.mount({ host: 'client', master });
      await mkdir(mnt.path('d'));
      await writeFile(mnt.path('d/f'), 'hello');
      const ino = (await stat(mnt.path('d/f'))).ino;
      await unlink(mnt.path('d/f'));
      const meta = await lab.mount({ host: 'client', master, meta: true });
      expect((await readdir(meta.path(''))).sort()).toEqual(['sustained', 'trash']);
      // Trash bucket = inode % 4096, entry name = inode (hex) | path with '/' shown as '|'.
      const bucket = (ino % 4096).toString(16).toUpperCase().padStart(3, '0');
      const name = `${ino.toString(16).toUpperCase().padStart(8, '0')}|d|f`;
      expect(await readdir(meta.path(`trash/${bucket}`))).toContain(name);
      await rename(meta.path(`trash/${bucket}/${name}`), meta.path(`trash/${bucket}/undel/${name}`));
      expect(await readdir(mnt.path('d'))).toEqual(['f']);
      expect(await readFile(mnt.path('d/f'), 'utf8')).toBe('hello');
    });
  });
});
