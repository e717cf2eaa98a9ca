// mfsmetalogger-ts against mfsmaster-ts, beside the real mfsmetalogger: both must keep the same files,
// and the real `mfsmaster -a` must rebuild the namespace from ours.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, symlinkSync, closeSync, openSync, unlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Master, waitFor, type Lab, type Metalogger as LabMetalogger } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

/** Namespace-only changes (no chunkserver here): directories, empty files, symlinks, renames, modes. */
function changes(root: string, tag: string): void {
  const d = join(root, `dir-${tag}`);
  mkdirSync(join(d, 'sub'), { recursive: true });
  for (let i = 0; i < 40; i++) closeSync(openSync(join(d, 'sub', `f ${i} (${tag})%`), 'w'));
  symlinkSync('sub/f 0', join(d, 'link'));
  renameSync(join(d, 'sub', `f 1 (${tag})%`), join(d, 'moved'));
  unlinkSync(join(d, 'sub', `f 2 (${tag})%`));
  chmodSync(join(d, 'moved'), 0o640);
  mkdirSync(join(d, 'gone'));
  rmdirSync(join(d, 'gone'));
}

function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (rel === '' && name.startsWith('.')) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        out.push(`d ${r} ${(st.mode & 0o7777).toString(8)}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`l ${r} -> ${readlinkSync(join(root, r))}`);
      else out.push(`f ${r} ${(st.mode & 0o7777).toString(8)} ${st.size}`);
    }
  };
  walk('');
  return out;
}

function lastVersion(path: string): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'latin1').split('\n').filter(Boolean);
  const l = lines[lines.length - 1];
  return l ? Number(l.slice(0, l.indexOf(':'))) : 0;
}

const FILES = ['metadata_ml.mfs.back', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs', 'changelog_ml.0.mfs'];

describeLab('mfsmetalogger-ts with mfsmaster-ts', () => {
  it('keeps the same files as the real metalogger, and real mfsmaster -a restores from ours', async () => {
    await withLab({ hosts: ['m', 'mlts', 'mlreal'] }, async (lab: Lab) => {
      const master = await lab.startMaster({ host: 'm', impl: 'ts' });
      const ours = await lab.startMetalogger({ host: 'mlts', master, impl: 'ts' });
      const real = await lab.startMetalogger({ host: 'mlreal', master, impl: 'real' });
      const done = (ml: LabMetalogger) => FILES.slice(0, 3).every((f) => existsSync(join(ml.dataPath, f)));
      await waitFor('both download chains', () => done(ours) && done(real));

      const mnt = await lab.mount({ host: 'm', master, impl: 'real' });
      changes(mnt.dir, 'a');
      changes(mnt.dir, 'b');
      const want = tree(mnt.dir);
      await mnt.unmount();
      const masterLog = join(master.dataPath, 'changelog.0.mfs');
      // The last change is known once the master's changelog stops growing past what both hold.
      await waitFor('both metaloggers to hold the master changelog', () => {
        const last = lastVersion(masterLog);
        return last > 0 && lastVersion(join(ours.dataPath, 'changelog_ml.0.mfs')) === last && lastVersion(join(real.dataPath, 'changelog_ml.0.mfs')) === last;
      });
      for (const f of FILES) expect(readFileSync(join(ours.dataPath, f)).equals(readFileSync(join(real.dataPath, f))), f).toBe(true);

      await master.kill();
      await ours.stop();
      await real.stop();
      const restored = new Master(lab, { host: lab.host('m'), metadata: 'none', args: ['-a', '-x'], name: 'restored', impl: 'real' });
      for (const f of readdirSync(ours.dataPath).filter((x) => x.startsWith('metadata_ml') || x.startsWith('changelog_ml'))) {
        copyFileSync(join(ours.dataPath, f), join(restored.dataPath, f));
      }
      await restored.start();
      const back = await lab.mount({ host: 'm', master: restored, name: 'mnt-restored' });
      expect(tree(back.dir)).toEqual(want);
    });
  });
});
