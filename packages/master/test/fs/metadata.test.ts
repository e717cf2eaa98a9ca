// metadata.mfs (MFSM 2.0) round trip: store -> load gives the same namespace (directory statistics and
// chunk file counts recomputed by the loader must equal the live, incrementally kept ones), and a
// loaded image plus the changelog written after it replays to the live state (what restore does).
import { describe, expect, test } from 'vitest';
import { ChangelogReader, loadMetadata, MetadataError, Namespace, storeMetadata, TYPE_FILE } from '../../src/fs/index.js';
import { b, ok, ROOT, setup } from './helpers.js';
import { scenario } from './scenario.js';

type Dump = { nodes: Array<{ parents: unknown[] }>; trash: unknown[]; sustained: unknown[] };

/** A loaded image keeps everything but the order of a node's parent links and of trash buckets (as in C). */
function normalized(ns: Namespace): unknown {
  const d = structuredClone(ns.dumpState()) as Dump;
  for (const n of d.nodes) n.parents.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  d.trash.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  d.sustained.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  return d;
}

describe('metadata.mfs', () => {
  test('store -> load is the identity on the namespace; header fields and other sections survive', () => {
    const { ns, clock } = setup();
    scenario(ns, clock);
    // an open file and a file in the trash at store time
    const f = ok(ns.create(ROOT, 77, 1, b('open-at-store'), 0o644, 0)).inode;
    ok(ns.mknod(ROOT, 1, b('trashed'), TYPE_FILE, 0o644, 0, 0));
    ok(ns.unlink(ROOT, 1, b('trashed')));
    const sess = { name: 'SESS', version: 0x13, data: Buffer.from('opaque session bytes') };
    const img = storeMetadata(ns, { metaversion: 4242n, metaid: 0xfeedn, now: clock.t, extra: [sess] });
    expect(img.toString('latin1', 0, 8)).toBe('MFSM 2.0');
    expect(img.toString('latin1', 24, 28)).toBe('SESS');
    const fresh = new Namespace({ now: () => clock.t, inodeReuseDelay: 300 });
    const r = loadMetadata(fresh, img);
    expect(r.metaversion).toBe(4242n);
    expect(r.metaid).toBe(0xfeedn);
    expect(r.other.map((x) => x.name)).toEqual(['SESS', 'SCLA']);
    expect(r.other[0]).toEqual(sess);
    expect(normalized(fresh)).toEqual(normalized(ns));
    expect(fresh.isOpen(f)).toBe(true);
    // the loaded namespace works on: same inode allocation and edge ids as the live one
    const a = ok(ns.mknod(ROOT, 1, b('after'), TYPE_FILE, 0o644, 0, 0));
    const c = ok(fresh.mknod(ROOT, 1, b('after'), TYPE_FILE, 0o644, 0, 0));
    expect(c).toEqual(a);
    expect(normalized(fresh)).toEqual(normalized(ns));
  });

  test('image + later changelog == live (restore)', () => {
    const { ns, clock, lines } = setup();
    scenario(ns, clock);
    const img = storeMetadata(ns, { metaversion: BigInt(lines.length + 1), metaid: 1n, now: clock.t });
    const before = lines.length;
    // move everything aside and run the scenario again on top of the stored state
    const old = ok(ns.mkdir(ROOT, 1, b('old'), 0o755, 0, false)).inode;
    for (const e of ok(ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2)) {
      if (e.inode !== old) ok(ns.rename(ROOT, 1, e.name, old, e.name));
    }
    scenario(ns, clock);
    const fresh = new Namespace({ now: () => clock.t, inodeReuseDelay: 300 });
    loadMetadata(fresh, img);
    for (const r of ChangelogReader.parseText(lines.slice(before).join('\n')).records) {
      expect(fresh.apply(r.rec)).toBe(0);
    }
    expect(normalized(fresh)).toEqual(normalized(ns));
  });

  test('bad images are errors, not crashes', () => {
    const { ns } = setup();
    const img = storeMetadata(ns, { metaversion: 1n, metaid: 1n });
    const fresh = () => new Namespace();
    expect(() => loadMetadata(fresh(), img.subarray(0, img.length - 3))).toThrow(MetadataError);
    expect(() => loadMetadata(fresh(), Buffer.from('MFSM NEW'))).toThrow(MetadataError);
    const cut = Buffer.concat([img.subarray(0, 60), img.subarray(img.length - 16)]);
    expect(() => loadMetadata(fresh(), cut)).toThrow(MetadataError);
  });
});
