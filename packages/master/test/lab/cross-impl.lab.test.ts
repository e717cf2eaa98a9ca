// The same data directory moved between the real mfsmaster 3.0.117 and ours, both ways: a tree built
// through the real mfsmount on the real master is loaded by mfsmaster-ts; changed there, ours is killed
// (-9) in the middle of a workload; the real `mfsmaster -a` and ours restore that directory to the same
// metadata (mfsmetadump) with every acknowledged file, and the metadata.mfs our clean stop writes is
// loaded by the real mfsmaster. Trees are compared by walking the mount: names, types, modes, owners,
// sizes, link counts, mtimes, symlink targets, device numbers, xattrs and file contents. One real
// chunkserver keeps the data.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Master as MasterTs } from '../../src/index.js';
import { Master, seededBytes, waitFor, writeFileSynced, type Lab, type Mount } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

/** One line per entry, from python (Node has no xattr API): what a user sees of the tree. */
const WALK = String.raw`
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        r = os.path.relpath(p, root)
        if d == root and n.startswith('.'):
            continue
        st = os.lstat(p)
        xa = ','.join('%s=%s' % (k, os.getxattr(p, k, follow_symlinks=False).hex()) for k in sorted(os.listxattr(p, follow_symlinks=False)))
        line = '%s %o %d:%d size=%d nlink=%d mtime=%d xattr[%s]' % (r, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_nlink, st.st_mtime, xa)
        if stat.S_ISLNK(st.st_mode):
            line += ' -> ' + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            with open(p, 'rb') as f:
                line += ' sha1=' + hashlib.sha1(f.read()).hexdigest()
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            line += ' rdev=%d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
        out.append(line)
print('\n'.join(out))
`;

/** Writes load/wN (loadData(N)), fsynced, printing N once each has returned. */
const LOAD = String.raw`
import os, sys
i = 0
while True:
    fd = os.open(os.path.join(sys.argv[1], 'w%d' % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, (b'w%d ' % i) * (100 + i)); os.fsync(fd); os.close(fd)
    print(i, flush=True)
    i += 1
`;
const loadData = (i: number): Buffer => Buffer.from(`w${i} `.repeat(100 + i));

function walk(dir: string): string[] {
  return execFileSync('python3', ['-c', WALK, dir], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
}

function setxattr(path: string, name: string, value: string): void {
  execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)', path, name, value]);
}

/** Many kinds of entries and attributes, with names the changelog must escape. */
function build(root: string, tag: string): void {
  const d = join(root, `tree-${tag}`);
  mkdirSync(join(d, 'sub', 'deep'), { recursive: true });
  writeFileSynced(join(d, 'data.bin'), seededBytes(300_000, tag.charCodeAt(0)));
  writeFileSynced(join(d, 'we(i)rd %name, ü.txt'), Buffer.from(`hello ${tag}\n`));
  for (let i = 0; i < 8; i++) writeFileSynced(join(d, 'sub', `f${i}`), Buffer.from(`${tag}${i}`.repeat(i * 100 + 1)));
  closeSync(openSync(join(d, 'empty'), 'w'));
  symlinkSync('../data.bin', join(d, 'sub', 'link'));
  symlinkSync('/nowhere/at/all', join(d, 'dangling'));
  linkSync(join(d, 'data.bin'), join(d, 'sub', 'deep', 'hard'));
  execFileSync('mkfifo', [join(d, 'fifo')]);
  execFileSync('mknod', [join(d, 'null-dev'), 'c', '1', '3']);
  chmodSync(join(d, 'sub', 'f1'), 0o600);
  chmodSync(join(d, 'sub', 'deep'), 0o2750);
  chmodSync(join(d, 'sub', 'f2'), 0o4755);
  chownSync(join(d, 'sub', 'f3'), 1000, 1000);
  chownSync(join(d, 'sub'), 1001, 50);
  truncateSync(join(d, 'sub', 'f4'), 90_000); // a hole past the data
  setxattr(join(d, 'data.bin'), 'user.colour', 'blue');
  setxattr(join(d, 'sub'), 'user.empty', '');
  setxattr(join(d, 'sub', 'f5'), 'user.bin', '\u0001\u0002 x');
  renameSync(join(d, 'sub', 'f6'), join(d, 'sub', 'deep', 'moved'));
  unlinkSync(join(d, 'sub', 'f7'));
}

async function tree(lab: Lab, master: Master, name: string): Promise<string[]> {
  const m: Mount = await lab.mount({ host: 'm', master, name, options: ['mfscachemode=DIRECT'] });
  try {
    return walk(m.dir);
  } finally {
    await m.unmount();
  }
}

const CS_CFG = { MASTER_RECONNECTION_DELAY: 1 };

describeLab('metadata moved between the real mfsmaster and mfsmaster-ts', () => {
  it('a tree made on the real master is served by ours; after kill -9 of ours both -a restore the same metadata with every acknowledged file; the real master loads our metadata.mfs', async () => {
    await withLab({ hosts: ['m'] }, async (lab: Lab) => {
      // 1. The real master, a real chunkserver and a real mount build the tree.
      const real = await lab.startMaster({ host: 'm', name: 'real' });
      await lab.startChunkserver({ host: 'm', master: real, cfg: CS_CFG });
      const mnt = await lab.mount({ host: 'm', master: real });
      build(mnt.dir, 'a');
      await mnt.unmount();
      const madeOnReal = await tree(lab, real, 'walk-real');
      expect(madeOnReal.length).toBe(18);
      await real.stop();

      // 2. Ours on the real master's metadata.mfs, same address: the same tree, the same bytes.
      const ours = new Master(lab, { host: lab.host('m'), impl: 'ts', metadata: join(real.dataPath, 'metadata.mfs'), name: 'ours' });
      await ours.start();
      await ours.waitChunkservers(1);
      expect(await tree(lab, ours, 'walk-ours')).toEqual(madeOnReal);

      // 3. Changes on ours; then a workload of fsynced files, and kill -9 of ours in its middle
      //    (CHANGELOG_SAVE_MODE 0, the default).
      const m2 = await lab.mount({ host: 'm', master: ours, name: 'mnt-ours' });
      build(m2.dir, 'b');
      renameSync(join(m2.dir, 'tree-a', 'data.bin'), join(m2.dir, 'tree-b', 'from-a.bin'));
      setxattr(join(m2.dir, 'tree-a', 'sub'), 'user.empty', 'now set');
      chownSync(join(m2.dir, 'tree-a', 'sub', 'f0'), 1002, 1003);
      const madeOnOurs = walk(m2.dir);
      mkdirSync(join(m2.dir, 'load'));
      const load = spawn('python3', ['-c', LOAD, join(m2.dir, 'load')], { stdio: ['ignore', 'pipe', 'ignore'] });
      const acked: number[] = [];
      load.stdout.setEncoding('utf8').on('data', (t: string) => {
        for (const l of t.split('\n')) if (/^\d+$/.test(l)) acked.push(Number(l));
      });
      try {
        await waitFor('40 files of the workload acknowledged', () => acked.length >= 40);
        await ours.kill();
      } finally {
        load.kill('SIGKILL');
      }
      // The mount would retry the write in flight for minutes: killed first, its requests fail at once.
      m2.proc?.signal('SIGKILL');
      await m2.unmount(1_000);
      expect(acked.length).toBeGreaterThanOrEqual(40);

      // 4. The crashed data directory restored twice: the real `mfsmaster -a` and ours (-a, then a
      //    clean stop) must reach the same metadata, holding every acknowledged file.
      const viaReal = join(lab.dir, 'restore-real');
      const viaOurs = join(lab.dir, 'restore-ours');
      for (const d of [viaReal, viaOurs]) {
        mkdirSync(d);
        for (const f of readdirSync(ours.dataPath).filter((x) => x.startsWith('metadata') || x.startsWith('changelog'))) copyFileSync(join(ours.dataPath, f), join(d, f));
      }
      expect(existsSync(join(viaReal, 'metadata.mfs'))).toBe(false); // a crash: only .back and the changelogs
      writeFileSync(join(lab.dir, 'restore.cfg'), `DATA_PATH = ${viaReal}\nEXPORTS_FILENAME = ${join(real.dir, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
      execFileSync('mfsmaster', ['-c', join(lab.dir, 'restore.cfg'), '-a', '-f', 'restore'], { stdio: 'ignore', timeout: 60_000 });
      const loop = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
      const restored = new MasterTs({ cfg: { ...loop, DATA_PATH: viaOurs }, exportsText: '* / rw', persist: true, autoRestore: true });
      await restored.start();
      await restored.stop();
      const ourFile = join(viaOurs, 'metadata.mfs');
      const dump = (f: string) => execFileSync('mfsmetadump', [f], { encoding: 'latin1', maxBuffer: 64 << 20 });
      const keep = (t: string) => t.split('\n').filter((l) => /^(NODE|EDGE|XATTR|POSIXACL|CHUNK|FREE|QUOTA)\|/.test(l) || /^# (version|maxinode|nextedgeid|nextchunkid|free nodes)/.test(l)).sort();
      const ourDump = dump(ourFile);
      expect(keep(ourDump)).toEqual(keep(dump(join(viaReal, 'metadata.mfs'))));
      expect(ourDump).toMatch(/XATTR\|i:\s*\d+\|n:user\.colour\|v:626C7565/);
      for (const i of acked) expect(ourDump, `acknowledged file w${i}`).toMatch(new RegExp(`^EDGE\\|.*\\|n:w${i}$`, 'm'));

      // 5. The real master on the metadata.mfs our clean stop wrote (no -a): the tree we served, and
      //    every acknowledged file with its bytes.
      const back = new Master(lab, { host: lab.host('m'), metadata: ourFile, name: 'real-again' });
      await back.start();
      await back.waitChunkservers(1);
      const m3 = await lab.mount({ host: 'm', master: back, name: 'walk-real-2', options: ['mfscachemode=DIRECT'] });
      try {
        expect(walk(m3.dir).filter((l) => !/^load( |\/)/.test(l))).toEqual(madeOnOurs);
        for (const i of acked) expect(readFileSync(join(m3.dir, 'load', `w${i}`)).equals(loadData(i)), `w${i}`).toBe(true);
      } finally {
        await m3.unmount();
      }
    });
  });
});
