// The master's periodic dump (Master.dumpMetadata, fs/metadump.ts): clients keep changing the namespace
// while metadata.mfs.back is written; the file holds the namespace at the version it was started at, the
// rotated changelog.0.mfs starts at that version, and the two together give the live namespace.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { Master } from '../src/index.js';
import { ChangelogReader, loadMetadata, Namespace, NAMESPACE_OPS, storeMetadata, TYPE_FILE } from '../src/fs/index.js';
import { b, ok, ROOT } from './fs/helpers.js';

const LOCAL = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function started(): Promise<{ m: Master; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mfsm-dump-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
  const m = new Master({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
  await m.start();
  cleanup.push(() => m.stop());
  return { m, dir };
}

function state(ns: Namespace): unknown {
  const d = structuredClone(ns.dumpState()) as { nodes: Array<{ parents: unknown[] }> };
  for (const n of d.nodes) n.parents.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  return d;
}

function load(buf: Buffer): Namespace {
  const ns = new Namespace();
  loadMetadata(ns, buf);
  return ns;
}

describe('Master.dumpMetadata', () => {
  test('changes made while the dump runs are in changelog.0.mfs, not in metadata.mfs.back', async () => {
    const { m, dir } = await started();
    for (let d = 0; d < 10; d++) {
      const p = ok(m.ns.mkdir(ROOT, 1, b(`d${d}`), 0o755, 0, false)).inode;
      for (let i = 0; i < 600; i++) ok(m.ns.mknod(ROOT, p, b(`f${i}`), TYPE_FILE, 0o644, 0, 0));
    }
    const version = m.metaversion;
    const atV = storeMetadata(m.ns, { metaversion: version, metaid: m.metaid });
    const dumping = m.dumpMetadata();
    expect(await m.dumpMetadata()).toBe(false); // one at a time
    // a client's work between the dump's slices: renames, removals, new files, in every directory
    let changes = 0;
    let done = false;
    void dumping.then(() => (done = true));
    for (let round = 0; !done && round < 10000; round++) {
      const d = round % 10;
      const r = m.ns.rename(ROOT, ok(m.ns.lookup(ROOT, 1, b(`d${d}`))).inode, b(`f${round % 600}`), 1, b(`moved${round}`));
      if (r.ok) changes++;
      ok(m.ns.mknod(ROOT, 1, b(`new${round}`), TYPE_FILE, 0o644, 0, 0));
      if (round % 3 === 0) m.ns.unlink(ROOT, 1, b(`moved${round}`));
      await tick();
    }
    expect(await dumping).toBe(true);
    expect(changes).toBeGreaterThan(0); // the first round runs before the dump yields for the first time
    const back = readFileSync(join(dir, 'metadata.mfs.back'));
    expect(back.readBigUInt64BE(8)).toBe(version);
    expect(state(load(back))).toEqual(state(load(atV)));
    const { records } = ChangelogReader.parseText(readFileSync(join(dir, 'changelog.0.mfs'), 'latin1'));
    expect(records[0]!.version).toBe(version);
    const replayed = load(back);
    for (const r of records) if (NAMESPACE_OPS.has(r.rec.op)) expect(replayed.apply(r.rec)).toBe(0);
    expect(state(replayed)).toEqual(state(m.ns));
  });

  test('a stop during a dump writes metadata.mfs itself, and the next start loads it', async () => {
    const { m, dir } = await started();
    for (let i = 0; i < 3000; i++) ok(m.ns.mknod(ROOT, 1, b(`f${i}`), TYPE_FILE, 0o644, 0, 0));
    const dumping = m.dumpMetadata();
    await m.stop();
    // the dump either finished before the stop got to it or was abandoned; no .tmp is left either way
    expect(typeof (await dumping)).toBe('boolean');
    expect(existsSync(join(dir, 'metadata.mfs.back.tmp'))).toBe(false);
    const live = state(m.ns);
    expect(state(load(readFileSync(join(dir, 'metadata.mfs'))))).toEqual(live);
    const again = new Master({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    await again.start();
    cleanup.push(() => again.stop());
    expect(again.ns.tree.nodes.size).toBe(3001);
  });
});
