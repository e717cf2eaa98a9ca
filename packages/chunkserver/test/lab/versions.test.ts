// A chunkserver of ours that misses writes while it is down: the real master raises the chunk
// versions on the copies it can reach (MATOCS_SET_VERSION), and when the server comes back it drops
// the stale copies (MATOCS_DELETE) and copies the current ones back to it (MATOCS_REPLICATE).
// Waits for the master's chunk loop (~1 minute).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { it } from 'vitest';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { addr, patchFile, readBack, waitCopies, waitFor, writeFiles } from './helpers.js';

process.env.MFS_LOG_LEVEL = 'debug';

const done = async (log: string, name: string): Promise<boolean> => (await readFile(log, 'utf8')).includes(`"msg":"${name} done (status 0)"`);

describeLab('mfschunkserver-ts and chunk versions', () => {
  it('stale copies on a server that was down are replaced (SET_VERSION, DELETE, REPLICATE)', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', cfg: { CHUNKS_LOOP_MIN_TIME: 60, REPLICATIONS_DELAY_INIT: 0, REPLICATIONS_DELAY_DISCONNECT: 0 } });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master, impl: 'ts' });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master, impl: 'ts' });
      const mnt = await lab.mount({ host: 'client', master });
      const files = await writeFiles(mnt, { 'v.bin': 1_000_000 }, 9);
      await waitCopies(mnt, 'v.bin', [addr(cs1), addr(cs2)], 1);
      await cs2.stop();
      const p = randomBytes(4000);
      p.copy(files.get('v.bin')!, 500_000);
      await patchFile(mnt.path('v.bin'), 500_000, p);
      await waitFor(() => done(lab.logFile(cs1.name), 'MATOCS_SET_VERSION'), 10_000);
      await cs2.start();
      await waitCopies(mnt, 'v.bin', [addr(cs1), addr(cs2)], 1, 150_000);
      // Log lines reach the file through the lab's pipe a moment after the fact: poll.
      await waitFor(async () => (await done(lab.logFile(cs2.name), 'MATOCS_DELETE')) && (await done(lab.logFile(cs2.name), 'MATOCS_REPLICATE')), 10_000);
      await cs1.stop();
      await readBack(lab, master, files, 'only-cs2');
    });
  }, 240_000);
});
