// The incremental metadata writer (metadump.ts): with nothing changing it writes exactly the bytes of
// storeMetadata; with every kind of change running between its slices it still writes the namespace of
// the version it started at, and that image plus the records logged after it replays to the live state.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChangelogReader, dumpMetadataSync, loadMetadata, MetadataDump, MFS_XATTR_CREATE_OR_REPLACE, Namespace, SET_MODE_FLAG, SMODE_RMASK, SMODE_SET, SNAPSHOT_MODE_CAN_OVERWRITE, storeMetadata, TYPE_DIRECTORY, TYPE_FILE, TYPE_TRASH } from '../../src/fs/index.js';
import { b, META, ok, ROOT, setup } from './helpers.js';
import { scenario } from './scenario.js';

type Dump = { nodes: Array<{ parents: unknown[] }>; trash: unknown[]; sustained: unknown[] };

/** As in metadata.test.ts: a loaded image keeps all but the order of parent links and trash buckets. */
function normalized(ns: Namespace): unknown {
  const d = structuredClone(ns.dumpState()) as Dump;
  for (const n of d.nodes) n.parents.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  d.trash.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  d.sustained.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  return d;
}

function loaded(img: Buffer, now: number): Namespace {
  const fresh = new Namespace({ now: () => now, inodeReuseDelay: 300 });
  loadMetadata(fresh, img);
  return fresh;
}

/** A namespace with every kind of content: the shared scenario, an open file, trash, sustained, a lock. */
function rich() {
  const s = setup();
  scenario(s.ns, s.clock);
  ok(s.ns.create(ROOT, 77, 1, b('open-at-store'), 0o644, 0));
  ok(s.ns.mknod(ROOT, 1, b('trashed'), TYPE_FILE, 0o644, 0, 0));
  ok(s.ns.unlink(ROOT, 1, b('trashed')));
  const w = ok(s.ns.create(ROOT, 78, 1, b('written'), 0o644, 0));
  ok(s.ns.writeChunk(w.inode, 0, { chunkopflags: 0 })); // stays locked: lockedto is stored
  for (let i = 0; i < 40; i++) ok(s.ns.mkdir(ROOT, 1, b(`many${i}`), 0o755, 0, false));
  return s;
}

/** Everything aside, the scenario again, and changes to what the dump has not written yet. */
function churn(ns: Namespace, clock: { t: number }): void {
  const old = ok(ns.mkdir(ROOT, 1, b('old'), 0o755, 0, false)).inode;
  for (const e of ok(ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2)) {
    if (e.inode !== old) ok(ns.rename(ROOT, 1, e.name, old, e.name));
  }
  scenario(ns, clock);
  ok(ns.setsclass(ROOT, old, 1, 3, SMODE_SET | SMODE_RMASK));
  ok(ns.settrashtime(ROOT, old, 0, SMODE_SET | SMODE_RMASK));
  for (let i = 0; i < 40; i += 2) ok(ns.rmdir(ROOT, old, b(`many${i}`)));
  const w = ok(ns.lookup(ROOT, old, b('written'))).inode;
  ok(ns.writeChunk(w, 0, { chunkopflags: 0, needVersionIncrease: true }));
  ns.writeChunkEnd(w, ns.fileChunks(w)[0]!, 5000, 0);
  ok(ns.unlink(ROOT, old, b('open-at-store')));
  ns.release(77, ok(ns.lookup(ROOT, 1, b('moved'))).inode);
  ns.snapshot(ROOT, old, 1, b('snap'), SNAPSHOT_MODE_CAN_OVERWRITE, 0o022);
  clock.t += 30 * 3600;
  ns.emptyAllTrash();
  for (let i = 0; i < 300; i++) ns.periodic();
  ok(ns.mknod(ROOT, 1, b('last'), TYPE_FILE, 0o644, 0, 0));
}

describe('incremental metadata dump', () => {
  test('with nothing changing, the bytes of storeMetadata, in one go and one item per step', () => {
    const { ns, clock } = rich();
    const o = { metaversion: 777n, metaid: 0xabcdefn, now: clock.t, extra: [{ name: 'SESS', version: 0x15, data: Buffer.from('sess') }] };
    const want = storeMetadata(ns, o);
    expect(dumpMetadataSync(ns, o).equals(want)).toBe(true);
    const d = new MetadataDump(ns, o);
    let steps = 0;
    while (!d.step(1)) steps++;
    expect(steps).toBeGreaterThan(ns.tree.nodes.size);
    expect(Buffer.concat(d.image).equals(want)).toBe(true);
    expect(ns.tree.dumper).toBe(null);
    expect(ns.chunks.dumper).toBe(null);
  });

  for (const per of [1, 3, 40]) {
    test(`changes between slices (${per} item(s) per record): the image is the state at its version, and replay reaches the live state`, () => {
      const { ns, clock, lines } = rich();
      const at = clock.t;
      const o = { metaversion: BigInt(lines.length + 1), metaid: 1n, now: at };
      const atV = storeMetadata(ns, o);
      const before = lines.length;
      const dump = new MetadataDump(ns, o);
      const log = ns.onRecord!;
      ns.onRecord = (r) => {
        log(r);
        if (!dump.done) dump.step(per);
      };
      churn(ns, clock);
      ns.onRecord = log;
      if (per < 40) expect(dump.done).toBe(false); // every change of the churn ran while the dump was open
      const img = Buffer.concat(dump.finishSync());
      // the state at the dump's version, exactly
      expect(normalized(loaded(img, clock.t))).toEqual(normalized(loaded(atV, clock.t)));
      // and the records after it replay onto the image to the live state
      const fresh = loaded(img, clock.t);
      const recs = ChangelogReader.parseText(lines.slice(before).join('\n')).records;
      expect(recs.length).toBeGreaterThan(100);
      for (const r of recs) expect(fresh.apply(r.rec)).toBe(0);
      expect(normalized(fresh)).toEqual(normalized(ns));
    });
  }

  test('streamed to a file in small blocks: the bytes of storeMetadata, and with changes between slices the state at its version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfs-dump-'));
    try {
      for (const churning of [false, true]) {
        const { ns, clock, lines } = rich();
        const o = { metaversion: BigInt(lines.length + 1), metaid: 9n, now: clock.t, extra: [{ name: 'SESS', version: 0x15, data: Buffer.from('sess') }] };
        const atV = storeMetadata(ns, o);
        const file = join(dir, `m${churning}.mfs`);
        const fd = openSync(file, 'w');
        const dump = new MetadataDump(ns, { ...o, fd, blockSize: 64 });
        if (churning) {
          const log = ns.onRecord!;
          ns.onRecord = (r) => {
            log(r);
            if (!dump.done) dump.step(2);
          };
          churn(ns, clock);
          ns.onRecord = log;
        }
        expect(await dump.run()).toEqual([]);
        closeSync(fd);
        const img = readFileSync(file);
        expect(img.length).toBe(dump.fileBytes);
        if (!churning) expect(img.equals(atV)).toBe(true);
        else expect(normalized(loaded(img, clock.t))).toEqual(normalized(loaded(atV, clock.t)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a dump that never got a slice before the changes still writes the state at its version', () => {
    const { ns, clock, lines } = rich();
    const o = { metaversion: BigInt(lines.length + 1), metaid: 1n, now: clock.t };
    const atV = storeMetadata(ns, o);
    const dump = new MetadataDump(ns, o);
    churn(ns, clock);
    expect(normalized(loaded(Buffer.concat(dump.finishSync()), clock.t))).toEqual(normalized(loaded(atV, clock.t)));
  });

  test('one dump at a time; abort lets go of the namespace', () => {
    const { ns } = setup();
    const d = new MetadataDump(ns, { metaversion: 1n, metaid: 1n });
    expect(() => new MetadataDump(ns, { metaversion: 1n, metaid: 1n })).toThrow(/already running/);
    d.abort();
    expect(ns.tree.dumper).toBe(null);
    expect(() => d.step(1)).toThrow(/aborted/);
    ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false));
    expect(ns.tree.nodes.get(2)?.type).toBe(TYPE_DIRECTORY);
  });

  test('random operations before and while a dump runs, random slice sizes: the image is the state at its version, replay reaches the live state', () => {
    type Op = [number, number, number, number];
    const apply = (ns: Namespace, clock: { t: number }, [k, x, y, z]: Op): void => {
      const inodes = [...ns.tree.nodes.keys()].sort((p, q) => p - q);
      const pick = (i: number) => ns.tree.nodes.get(inodes[i % inodes.length]!)!;
      const dirs = inodes.map((i) => ns.tree.nodes.get(i)!).filter((n) => n.type === TYPE_DIRECTORY);
      const dir = (i: number) => dirs[i % dirs.length]!;
      const entry = (i: number) => {
        const d = dir(i);
        const l = ns.tree.childList(d);
        return l.length === 0 ? undefined : { d, e: l[Math.floor(i / dirs.length) % l.length]! };
      };
      const name = b(`n${z % 6}`);
      switch (k % 16) {
        case 0: ns.mkdir(ROOT, dir(x).inode, name, 0o755, 0, false); break;
        case 1: case 2: ns.mknod(ROOT, dir(x).inode, name, TYPE_FILE, 0o644, 0, 0); break;
        case 3: { const en = entry(x); if (en) ns.unlink(ROOT, en.d.inode, en.e.name); break; }
        case 4: { const en = entry(x); if (en) ns.rmdir(ROOT, en.d.inode, en.e.name); break; }
        case 5: { const en = entry(x); if (en) ns.rename(ROOT, en.d.inode, en.e.name, dir(y).inode, name); break; }
        case 6: ns.link(ROOT, pick(x).inode, dir(y).inode, name); break;
        case 7: ns.symlink(ROOT, dir(x).inode, name, b(`target${y}`)); break;
        case 8: ns.setattr(ROOT, pick(x).inode, 0, { setmask: SET_MODE_FLAG, mode: 0o600 + (y % 0o100), uid: 0, gid: 0, atime: 0, mtime: 0, winattr: 0, sugidclearmode: 0 }); break;
        case 9: ns.setxattr(ROOT, pick(x).inode, 0, b(`user.a${y % 3}`), b(`v${z}`), MFS_XATTR_CREATE_OR_REPLACE); break;
        case 10: {
          const f = pick(x);
          if (f.type !== TYPE_FILE) break;
          const w = ns.writeChunk(f.inode, y % 3, { chunkopflags: 0 });
          if (w.ok) ns.writeChunkEnd(f.inode, w.value.chunkId, (y % 3) * 0x4000000 + z + 1, 0);
          break;
        }
        case 11: if (pick(x).type === TYPE_FILE) ns.truncate(ROOT, pick(x).inode, 0, y * 1000); break;
        case 12: ns.setsclass(ROOT, dir(x).inode, 1, 1 + (y % 5), SMODE_SET | SMODE_RMASK); break;
        case 13: ns.snapshot(ROOT, dir(x).inode, dir(y).inode, name, SNAPSHOT_MODE_CAN_OVERWRITE, 0); break;
        case 14: {
          const t = [...ns.tree.nodes.values()].filter((n) => n.type === TYPE_TRASH);
          if (t.length > 0) (y % 2 ? ns.undel(META, t[x % t.length]!.inode) : ns.purge(META, t[x % t.length]!.inode));
          break;
        }
        case 15: clock.t += z * 3600; ns.periodic(); break;
      }
    };
    const op = fc.tuple(fc.nat(15), fc.nat(10000), fc.nat(10000), fc.nat(30)) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 60 }), fc.array(op, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (before, during, per) => {
        const { ns, clock, lines } = setup();
        for (let d = 0; d < 6; d++) {
          const dd = ok(ns.mkdir(ROOT, 1, b(`n${d}`), 0o755, 0, false)).inode;
          for (let f = 0; f < 6; f++) ok(ns.mknod(ROOT, dd, b(`n${f}`), TYPE_FILE, 0o644, 0, 0));
        }
        for (const o of before) apply(ns, clock, o);
        const o = { metaversion: BigInt(lines.length + 1), metaid: 1n, now: clock.t };
        const atV = storeMetadata(ns, o);
        const first = lines.length;
        const dump = new MetadataDump(ns, o);
        const log = ns.onRecord!;
        ns.onRecord = (r) => {
          log(r);
          if (!dump.done) dump.step(per);
        };
        for (const x of during) apply(ns, clock, x);
        ns.onRecord = log;
        const img = Buffer.concat(dump.finishSync());
        expect(normalized(loaded(img, clock.t))).toEqual(normalized(loaded(atV, clock.t)));
        const fresh = loaded(img, clock.t);
        for (const r of ChangelogReader.parseText(lines.slice(first).join('\n')).records) expect(fresh.apply(r.rec)).toBe(0);
        expect(normalized(fresh)).toEqual(normalized(ns));
      }),
      { numRuns: 25 },
    );
  });
});
