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
import { FLOCK_TRY_EXCLUSIVE, FLOCK_TRY_SHARED, MFS_ERROR_EAGAIN, MFS_STATUS_OK, POSIX_LOCK_CMD_SET, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, POSIX_LOCK_WRLCK } from '@mfs-ts/protocol';

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

describe('locks and known chunkservers in metadata.mfs', () => {
  test('FLCK, PLCK and CSDB written at stop come back at start, locks with their restored sessions', async () => {
    const { m, dir } = await started();
    const p = { exportsChecksum: 0n, rootinode: 1, sesflags: 0, umask: 0, rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0, disables: 0, peerip: 0x7f000001, info: Buffer.from('/mnt/x') };
    const s1 = m.sessions.create(p).id;
    const s2 = m.sessions.create(p).id;
    const f1 = ok(m.ns.mknod(ROOT, 1, b('f1'), TYPE_FILE, 0o644, 0, 0)).inode;
    const f2 = ok(m.ns.mknod(ROOT, 1, b('f2'), TYPE_FILE, 0o644, 0, 0)).inode;
    m.ns.acquire(s1, f1);
    m.ns.acquire(s2, f1);
    m.ns.acquire(s2, f2);
    const never = () => { throw new Error('unexpected wake'); };
    expect(m.locks.flock(s1, f1, 1, 11n, FLOCK_TRY_SHARED, never)).toBe(MFS_STATUS_OK);
    expect(m.locks.flock(s2, f1, 1, 22n, FLOCK_TRY_SHARED, never)).toBe(MFS_STATUS_OK);
    expect(m.locks.posixLock(s2, f2, 1, 23n, 4321, POSIX_LOCK_CMD_SET, POSIX_LOCK_WRLCK, 100n, 200n, never).status).toBe(MFS_STATUS_OK);
    expect(m.locks.flock(s1, f2, 1, 12n, FLOCK_TRY_EXCLUSIVE, never)).toBe(MFS_STATUS_OK); // f2 is not open by s1: not stored
    m.registry.allocCsid(0x7f000001, 9422, 0);
    m.registry.allocCsid(0x7f000002, 9422, 5);
    const want = m.locks.list(0).filter((r) => !(r.sessionid === s1 && r.inode === f2));
    await m.stop();
    const again = new Master({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    await again.start();
    cleanup.push(() => again.stop());
    expect(again.sessions.find(s1)).toBeDefined();
    expect(again.sessions.find(s2)?.openFiles.has(f2)).toBe(true);
    const key = (r: { inode: number; sessionid: number; start: bigint }) => `${r.inode}/${r.sessionid}/${r.start}`;
    expect(again.locks.list(0).sort((x, y) => key(x).localeCompare(key(y)))).toEqual(want.sort((x, y) => key(x).localeCompare(key(y))));
    // the locks still bind: another session cannot take f1 exclusively nor f2's locked range
    expect(again.locks.flock(s1, f1, 2, 99n, FLOCK_TRY_EXCLUSIVE, never)).toBe(MFS_ERROR_EAGAIN);
    expect(again.locks.posixLock(s1, f2, 2, 99n, 1, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, 150n, 151n, never).status).toBe(MFS_ERROR_EAGAIN);
    expect(again.registry.knownServers().sort((x, y) => x.csid - y.csid)).toEqual([{ ip: 0x7f000001, port: 9422, csid: 1 }, { ip: 0x7f000002, port: 9422, csid: 5 }]);
    expect(again.registry.allocCsid(0x7f000002, 9422, 0)).toBe(5);
  });
});
