// Taking a disk of ours out of service the MooseFS way: mark it in mfshdd.cfg, reload, and the real
// master copies its chunks to another server (this waits for the master's chunk loop: ~1 minute).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { addr, readBack, waitCopies, writeFiles } from './helpers.js';

describeLab('mfschunkserver-ts disk marked for removal', () => {
  it('marking our disk for removal (mfshdd.cfg + SIGHUP) makes the real master copy its chunks away', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', cfg: { CHUNKS_LOOP_MIN_TIME: 60, REPLICATIONS_DELAY_INIT: 0 } });
      const ours = await lab.startChunkserver({ host: 'cs1', master, impl: 'ts' });
      const mnt = await lab.mount({ host: 'client', master });
      await mnt.exec(['mfssetgoal', '1', mnt.path('')]);
      const files = await writeFiles(mnt, { 'm1.bin': 900_000, 'm2.bin': 1_500_000 }, 7);
      for (const f of files.keys()) await waitCopies(mnt, f, [addr(ours)], 1);
      const real = await lab.startChunkserver({ host: 'cs2', master, impl: 'real' });
      await writeFile(join(ours.dir, 'mfshdd.cfg'), `*${ours.hddPaths[0]}\n`);
      ours.proc!.signal('SIGHUP');
      // The copy on the marked disk no longer counts as valid; the master makes one on the real server.
      for (const f of files.keys()) {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const info = (await mnt.exec(['mfsfileinfo', mnt.path(f)])).stdout;
          if (info.includes(`${addr(real)} (status:VALID)`) && info.includes(`${addr(ours)} (status:MARKED FOR REMOVAL)`)) break;
          if (Date.now() > deadline) throw new Error(`${f}: ${info}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await ours.stop();
      await readBack(lab, master, files, 'after-removal');
    });
  }, 200_000);

});
