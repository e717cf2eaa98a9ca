// Wall-clock schedules, with the real daemons side by side with ours: the real master's hourly
// changelog rotation (the 0x55 record), and the metaloggers' periodic download (every
// META_DOWNLOAD_FREQ hours, 630 s past the boundary). The processes concerned run with their clock
// shifted (LD_PRELOAD shim, timeshift.c) to a few seconds before the event.
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

/** n files; with data only where a chunkserver is there to take it. */
function touchMany(dir: string, n: number, tag: string, withData = true): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const fd = openSync(join(dir, `${tag}-${i}`), 'w');
    if (withData) writeSync(fd, tag);
    closeSync(fd);
  }
}

/** Compiles the clock-shift shim into the lab directory. */
async function buildShim(lab: Lab): Promise<string> {
  const shim = join(lab.dir, 'timeshift.so');
  await run(['gcc', '-shared', '-fPIC', '-O2', '-o', shim, join(HERE, 'timeshift.c'), '-ldl']);
  return shim;
}

/** Seconds to add to the clock so that it reads `lead` seconds before the next `offset` past the hour. */
function shiftTo(offsetS: number, leadS: number): number {
  const nowS = Math.floor(Date.now() / 1000);
  return (((offsetS - leadS - (nowS % 3600)) % 3600) + 7200) % 3600;
}

/** Runs `start` with the shim in the environment of whatever it spawns. */
async function shifted<T>(shim: string, shiftS: number, start: () => Promise<T>): Promise<T> {
  process.env.LD_PRELOAD = shim;
  process.env.MFS_TIMESHIFT_SECONDS = String(shiftS);
  try {
    return await start();
  } finally {
    delete process.env.LD_PRELOAD;
    delete process.env.MFS_TIMESHIFT_SECONDS;
  }
}

describeLab('mfsmetalogger-ts and wall-clock schedules', () => {
  it('rotates changelog_ml.0.mfs to .1 on the real master rotation, byte-equal to the real metalogger', async () => {
    await withLab({ hosts: ['m', 'mlts', 'mlreal'] }, async (lab: Lab) => {
      const shim = await buildShim(lab);
      // Only the master gets the shim.
      const master = await shifted(shim, shiftTo(0, LEAD_S), () => lab.startMaster({ host: 'm' }));
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

  it('downloads again 630 s past the hour with META_DOWNLOAD_FREQ = 1, when the real metalogger does', async () => {
    await withLab({ hosts: ['m', 'mlts', 'mlreal'] }, async (lab: Lab) => {
      const shim = await buildShim(lab);
      // A master whose metadata.mfs.back has content (an empty file system's is not installed).
      const master = await lab.startMaster({ host: 'm' });
      const mnt = await lab.mount({ host: 'm', master });
      touchMany(mnt.path('d'), 20, 'x', false);
      await mnt.unmount();
      await master.stop();
      await master.start();
      const cfg = { META_DOWNLOAD_FREQ: 1 };
      const shift = shiftTo(630, LEAD_S);
      const ours = await shifted(shim, shift, () => lab.startMetalogger({ host: 'mlts', master, impl: 'ts', cfg }));
      const real = await shifted(shim, shift, () => lab.startMetalogger({ host: 'mlreal', master, impl: 'real', cfg }));
      const back = (ml: { dataPath: string }, suffix = '') => join(ml.dataPath, `metadata_ml.mfs.back${suffix}`);
      await waitFor('the download at connect', () => existsSync(back(ours)) && existsSync(back(real)));
      expect(existsSync(back(ours, '.1'))).toBe(false);
      // What each downloaded at connect: the scheduled download must keep exactly that as .1.
      const first = { ours: readFileSync(back(ours)), real: readFileSync(back(real)) };
      // The scheduled one keeps the first as .1.
      const seen: Record<string, number> = {};
      await waitFor(
        'both scheduled downloads',
        () => {
          for (const [k, ml] of [['ours', ours], ['real', real]] as const) if (!seen[k] && existsSync(back(ml, '.1'))) seen[k] = Date.now();
          return seen.ours !== undefined && seen.real !== undefined;
        },
        { timeoutMs: (LEAD_S + 30) * 1000 },
      );
      expect(Math.abs(seen.ours! - seen.real!)).toBeLessThan(3_000);
      await waitFor('the scheduled chain to end', () => [ours, real].every((ml) => existsSync(join(ml.dataPath, 'changelog_ml_back.1.mfs'))));
      const masterBack = readFileSync(join(master.dataPath, 'metadata.mfs.back'));
      for (const [k, ml] of [['ours', ours], ['real', real]] as const) {
        expect(readFileSync(back(ml)).equals(masterBack), `${k}: metadata_ml.mfs.back == master's metadata.mfs.back`).toBe(true);
        expect(readFileSync(back(ml, '.1')).equals(first[k]), `${k}: .1 == the file downloaded at connect`).toBe(true);
      }
      for (const name of ['changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs']) {
        expect(readFileSync(join(ours.dataPath, name)).equals(readFileSync(join(real.dataPath, name))), name).toBe(true);
      }
    });
  });
});
