// A full disk under DATA_PATH (a 2 MiB tmpfs mounted by this test): the changelog, the periodic dump
// and the store at stop each report it in the log, keep the previous good files, and lose nothing
// once there is room again.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createLogger } from '@mfs-ts/common';
import { waitFor } from '@mfs-ts/lab';
import { describeLab } from '@mfs-ts/lab/vitest';
import { Master } from '../../src/index.js';
import { ok } from '../fs/helpers.js';

const LOCAL = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
const ROOT = { uid: 0, gids: [0], sesflags: 0, rootinode: 1 };

/** Fills the file system holding `dir` until write(2) fails with ENOSPC. */
function fill(dir: string): string {
  const f = join(dir, 'filler');
  const fd = openSync(f, 'a');
  const block = Buffer.alloc(64 * 1024, 0x55);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // the last partial blocks too
  const fd2 = openSync(f, 'a');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512));
  } catch {
    /* full */
  } finally {
    closeSync(fd2);
  }
  return f;
}

const versions = (text: string) => text.split('\n').filter(Boolean).map((l) => Number(l.slice(0, l.indexOf(':'))));

describeLab('mfsmaster-ts on a full disk', () => {
  let base: string | undefined;
  // Also after a timeout (a finally below would never run then): the tmpfs goes.
  afterAll(() => {
    if (!base) return;
    execFileSync('umount', ['-l', join(base, 'data')], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
    base = undefined;
  });

  it('changelog, periodic dump and the store at stop report ENOSPC, keep the good files, and lose no change', async () => {
    base = mkdtempSync(join(tmpdir(), 'mfsm-enospc-'));
    const data = join(base, 'data');
    execFileSync('mkdir', ['-p', data]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', data]);
    const said: string[] = [];
    const log = createLogger({ role: 'mfsmaster', stream: { write: (l: string) => void said.push(JSON.parse(l).msg as string) } });
    let m: Master | undefined;
    try {
      writeFileSync(join(data, 'metadata.mfs'), 'MFSM NEW');
      m = new Master({ cfg: { ...LOCAL, DATA_PATH: data }, exportsText: '* / rw', persist: true, log, storeRetryMs: 50 });
      await m.start();
      const mk = (name: string) => ok(m!.ns.mkdir(ROOT, 1, Buffer.from(name), 0o755, 0, false));
      for (let i = 0; i < 20; i++) mk(`before-${i}`);
      expect(await m.dumpMetadata()).toBe(true);
      const goodBack = readFileSync(join(data, 'metadata.mfs.back'));

      // 1. The changelog cannot be written: logged once, the changes are served and kept in memory.
      const filler = fill(data);
      for (let i = 0; i < 30; i++) mk(`full-${i}-${'x'.repeat(100)}`);
      await waitFor('the changelog write error in the log', () => said.some((l) => l.startsWith("can't write changelog.0.mfs (ENOSPC): changes from ")));
      expect(said.filter((l) => l.startsWith("can't write changelog.0.mfs"))).toHaveLength(1);

      // 2. The periodic dump cannot be written: logged, metadata.mfs.back is the previous one, no .tmp left.
      expect(await m.dumpMetadata()).toBe(false);
      expect(said.some((l) => /^can't write metadata/.test(l) || /^can't store metadata\.mfs\.back/.test(l))).toBe(true);
      expect(readFileSync(join(data, 'metadata.mfs.back')).equals(goodBack)).toBe(true);
      expect(readdirSync(data).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      // 3. Room again: the kept changes reach the file, in order, with no hole.
      rmSync(filler);
      mk('after');
      await waitFor('the changelog recovery in the log', () => said.some((l) => /^changelog\.0\.mfs can be written again: \d+ changes kept in memory are now in the file$/.test(l)));
      const all = readdirSync(data).filter((f) => /^changelog\.\d+\.mfs$/.test(f)).sort().reverse().flatMap((f) => versions(readFileSync(join(data, f), 'latin1')));
      expect(all.every((v, i) => i === 0 || v === all[i - 1]! + 1)).toBe(true);
      expect(all[all.length - 1]).toBe(Number(m.metaversion) - 1);

      // 4. The store at stop on a full disk: logged and retried; metadata.mfs.back and the changelogs
      //    stay; with room again the stop completes and metadata.mfs holds every change.
      const filler2 = fill(data);
      const stopping = m.stop();
      await waitFor('the store error at stop', () => said.some((l) => /^can't store metadata\.mfs \(ENOSPC\) - metadata\.mfs\.back and changelog files kept/.test(l)));
      expect(existsSync(join(data, 'metadata.mfs'))).toBe(false);
      expect(existsSync(join(data, 'metadata.mfs.back'))).toBe(true);
      rmSync(filler2);
      await stopping;
      m = undefined;
      const again = new Master({ cfg: { ...LOCAL, DATA_PATH: data }, exportsText: '* / rw', persist: true });
      await again.start();
      try {
        const names = ok(again.ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2).map((e) => e.name.toString());
        expect(names).toHaveLength(51);
        expect(names).toContain('after');
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(join(data, 'filler'), { force: true }); // a stop must find room to finish
      await m?.stop().catch(() => undefined);
    }
  }, 60_000);
});
