import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@mfs-ts/common';
import { HddSpaceMgr } from '../src/hddspacemgr/index.js';

export interface TmpDisks {
  root: string;
  disks: string[];
  hddCfg: string;
  cleanup(): Promise<void>;
}

/** A scratch directory with `n` disk directories and an mfshdd.cfg listing them. */
export async function tmpDisks(n = 1, extraLines: string[] = []): Promise<TmpDisks> {
  const root = await mkdtemp(join(tmpdir(), 'mfscs-'));
  const disks: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(root, `hdd${i}`);
    await mkdir(d);
    disks.push(`${d}/`);
  }
  const hddCfg = join(root, 'mfshdd.cfg');
  await writeFile(hddCfg, ['# test disks', ...disks.map((d) => d.slice(0, -1)), ...extraLines].join('\n') + '\n');
  return { root, disks, hddCfg, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export async function openHdd(hddCfg: string, opts: Partial<ConstructorParameters<typeof HddSpaceMgr>[0]> = {}): Promise<HddSpaceMgr> {
  const h = new HddSpaceMgr({
    hddConfFile: hddCfg,
    leaveSpaceDefault: 0,
    fsyncBeforeClose: false,
    rrChunkCount: 10000,
    knownMetaId: 0n,
    log: silentLogger(),
    ...opts,
  });
  await h.init();
  return h;
}

/** Deterministic pseudo-random bytes. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
