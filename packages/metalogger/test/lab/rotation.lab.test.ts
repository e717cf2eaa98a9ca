// The real master's hourly changelog rotation (the 0x55 record) reaching mfsmetalogger-ts and the
// real mfsmetalogger side by side. A real master rotates at the top of each wall-clock hour only, so
// it runs with its clock shifted (LD_PRELOAD shim, timeshift.c) to a few seconds before one.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { run, waitFor, type Lab } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
/** How long before its top of the hour the shifted master starts. */
const LEAD_S = 25;

function lastVersion(path: string): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'latin1').split('\n').filter(Boolean);
  const l = lines[lines.length - 1];
  return l ? Number(l.slice(0, l.indexOf(':'))) : 0;
}

function touchMany(dir: string, n: number, tag: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const fd = openSync(join(dir, `${tag}-${i}`), 'w');
    writeSync(fd, tag);
    closeSync(fd);
  }
}

describeLab('mfsmetalogger-ts and the real master hourly rotation', () => {
  it('rotates changelog_ml.0.mfs to .1 on the real master rotation, byte-equal to the real metalogger', async () => {
    await withLab({ hosts: ['m', 'mlts', 'mlreal'] }, async (lab: Lab) => {
      const shim = join(lab.dir, 'timeshift.so');
      await run(['gcc', '-shared', '-fPIC', '-O2', '-o', shim, join(HERE, 'timeshift.c'), '-ldl']);
      const nowS = Math.floor(Date.now() / 1000);
      const shift = (3600 - LEAD_S - (nowS % 3600) + 3600) % 3600;
      // Only the master gets the shim: it is in the environment while the master is spawned.
      process.env.LD_PRELOAD = shim;
      process.env.MFS_TIMESHIFT_SECONDS = String(shift);
      let master;
      try {
        master = await lab.startMaster({ host: 'm' });
      } finally {
        delete process.env.LD_PRELOAD;
        delete process.env.MFS_TIMESHIFT_SECONDS;
      }
      await lab.startChunkserver({ host: 'm', master });
      const ours = await lab.startMetalogger({ host: 'mlts', master, impl: 'ts' });
      const real = await lab.startMetalogger({ host: 'mlreal', master, impl: 'real' });
      const mnt = await lab.mount({ host: 'm', master });

      // Before the master's hour: changes go to changelog_ml.0.mfs.
      touchMany(mnt.path('before'), 30, 'b');
      const masterLog0 = join(master.dataPath, 'changelog.0.mfs');
      const beforeLast = await waitFor('changes in the master changelog', () => lastVersion(masterLog0) || undefined);
      const f = (ml: { dataPath: string }, n: number) => join(ml.dataPath, `changelog_ml.${n}.mfs`);
      await waitFor('both metaloggers to hold them', () => lastVersion(f(ours, 0)) >= beforeLast && lastVersion(f(real, 0)) >= beforeLast);
      expect(existsSync(f(ours, 1))).toBe(false);

      // The master's hour comes: it rotates changelog.0 -> .1 and sends 0x55.
      await waitFor('both metaloggers to rotate', () => existsSync(f(ours, 1)) && existsSync(f(real, 1)), { timeoutMs: (LEAD_S + 30) * 1000 });
      await waitFor('the master to rotate', () => existsSync(join(master.dataPath, 'changelog.1.mfs')));

      // After it: new changes start a new changelog_ml.0.mfs.
      touchMany(mnt.path('after'), 30, 'a');
      await mnt.unmount();
      // Quiet point: the unmount's SESDISCONNECTED is the last change.
      const afterLast = await waitFor('the session end in the new master changelog', () => {
        if (!existsSync(masterLog0)) return undefined;
        const l = readFileSync(masterLog0, 'latin1').split('\n').find((x) => /^\d+: \d+\|SESDISCONNECTED\(/.test(x));
        return l ? Number(l.slice(0, l.indexOf(':'))) : undefined;
      });
      await waitFor('both metaloggers to hold them', () => lastVersion(f(ours, 0)) >= afterLast && lastVersion(f(real, 0)) >= afterLast);
      for (const n of [0, 1]) {
        expect(readFileSync(f(ours, n)).equals(readFileSync(f(real, n))), `changelog_ml.${n}.mfs`).toBe(true);
      }
      // Our .1 is the tail of the master's rotated changelog.1.mfs (the master's also holds what came
      // before our attaching), and our .0 its new changelog.0.mfs.
      const masterOld = readFileSync(join(master.dataPath, 'changelog.1.mfs'), 'latin1');
      const ours1 = readFileSync(f(ours, 1), 'latin1');
      expect(ours1.length).toBeGreaterThan(0);
      expect(masterOld.endsWith(ours1)).toBe(true);
      expect(readFileSync(f(ours, 0), 'latin1')).toBe(readFileSync(masterLog0, 'latin1'));
      expect(readFileSync(lab.logFile(ours.name), 'utf8')).not.toMatch(/changes lost|bad packet/);
    });
  });
});
