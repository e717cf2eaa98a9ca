// The same data directory moved between the real mfsmaster 3.0.117 and ours, both ways: a tree built
// through the real mfsmount on the real master is loaded by mfsmaster-ts; changed there, stopped, the
// metadata.mfs we store is read by the real mfsmetadump and loaded by the real mfsmaster. Each time the
// tree is compared by walking the mount: names, types, modes, owners, sizes, link counts, mtimes,
// symlink targets, device numbers, xattrs and file contents. One real chunkserver keeps the data.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, symlinkSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Master, type Lab, type Mount } from '@mfs-ts/lab';
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

function walk(dir: string): string[] {
  return execFileSync('python3', ['-c', WALK, dir], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
}

function setxattr(path: string, name: string, value: string): void {
  execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)', path, name, value]);
}

function writeFile(path: string, data: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}

/** Many kinds of entries and attributes, with names the changelog must escape. */
function build(root: string, tag: string): void {
  const d = join(root, `tree-${tag}`);
  mkdirSync(join(d, 'sub', 'deep'), { recursive: true });
  writeFile(join(d, 'data.bin'), bytes(300_000, tag.charCodeAt(0)));
  writeFile(join(d, 'we(i)rd %name, ü.txt'), Buffer.from(`hello ${tag}\n`));
  for (let i = 0; i < 8; i++) writeFile(join(d, 'sub', `f${i}`), Buffer.from(`${tag}${i}`.repeat(i * 100 + 1)));
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
  it('a tree made on the real master is served by ours; changed on ours, the real master (and mfsmetadump) load our metadata.mfs', async () => {
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

      // 3. Changes on ours, then a clean stop: our metadata.mfs.
      const m2 = await lab.mount({ host: 'm', master: ours, name: 'mnt-ours' });
      build(m2.dir, 'b');
      renameSync(join(m2.dir, 'tree-a', 'data.bin'), join(m2.dir, 'tree-b', 'from-a.bin'));
      setxattr(join(m2.dir, 'tree-a', 'sub'), 'user.empty', 'now set');
      chownSync(join(m2.dir, 'tree-a', 'sub', 'f0'), 1002, 1003);
      await m2.unmount();
      const madeOnOurs = await tree(lab, ours, 'walk-ours-2');
      await ours.stop();
      const ourFile = join(ours.dataPath, 'metadata.mfs');

      // The real mfsmetadump reads it whole: every node and edge, the EOF marker reached.
      const dump = execFileSync('mfsmetadump', [ourFile], { encoding: 'latin1', maxBuffer: 64 << 20 });
      const nodes = dump.split('\n').filter((l) => l.startsWith('NODE|')).length;
      expect(nodes).toBeGreaterThan(madeOnOurs.length); // + root, trash and what the walk skips
      expect(dump).toMatch(/XATTR\|i:\s*\d+\|n:user\.colour\|v:626C7565/);

      // 4. The real master on our metadata.mfs: the tree we served.
      const back = new Master(lab, { host: lab.host('m'), metadata: ourFile, name: 'real-again' });
      await back.start();
      await back.waitChunkservers(1);
      expect(await tree(lab, back, 'walk-real-2')).toEqual(madeOnOurs);
    });
  });
});
