// Storage class definitions: live operations write SCSET/SCDUP/SCREN/SCDEL records in the real
// format; replaying them through the one applier gives the same table; the SCLA section round-trips.
import { describe, expect, it } from 'vitest';
import {
  MFS_ERROR_CLASSEXISTS,
  MFS_ERROR_CLASSINUSE,
  MFS_ERROR_EINVAL,
  MFS_ERROR_EPERM,
  MFS_ERROR_MISMATCH,
  MFS_ERROR_NOSUCHCLASS,
  SCLASS_CHG_ADMIN_ONLY,
  SCLASS_CHG_FORCE,
  SCLASS_CHG_KEEP_MASKS,
} from '@mfs-ts/protocol';
import { defaultSclassSection, parseRecord, storeMetadata, loadMetadata, Namespace } from '../../src/fs/index.js';
import { SclassTable, type StorageClass } from '../../src/fs/sclass.js';
import { b, ok, replay, ROOT, setup, status } from './helpers.js';

const expr = (...masks: number[]) => [masks[0] ?? 0, masks[1] ?? 0, masks[2] ?? 0, masks[3] ?? 0];
const cls = (name: string, keep: number, extra: Partial<StorageClass> = {}): StorageClass => ({
  name: b(name), adminOnly: 0, mode: 1, archDelay: 0,
  labels: [[expr(1)], Array.from({ length: keep }, () => expr()), Array.from({ length: keep }, () => expr())], ...extra,
});

describe('storage class definitions (storageclass.c)', () => {
  it('starts with the nine plain goals, stored exactly as the default SCLA section', () => {
    const t = new SclassTable();
    expect(t.entries().map(([id, c]) => [id, c.name.toString()])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => [i, String(i)]));
    expect(t.store().equals(defaultSclassSection().data)).toBe(true);
    expect(t.keepMax(3)).toBe(3);
    expect(t.keepMax(10)).toBe(0);
  });

  it('create / change / copy / rename / delete write the real records and replay to the same state', () => {
    const { ns, lines, start } = setup();
    expect(ns.sclassCreate(cls('gold', 3, { labels: [[expr(1, 2)], [expr(1), expr(2), expr()], [expr(4)]] }))).toBe(0);
    expect(lines.at(-1)).toMatch(/\|SCSET\(gold,1,W1,K3,A1,1,0,0,1,2,0,0,1,0,0,0,2,0,0,0,0,0,0,0,4,0,0,0\):10$/);
    expect(ns.sclasses.keepMax(10)).toBe(3);
    // every class keeps at least one copy
    expect(ns.sclassCreate({ ...cls('x', 1), labels: [[], [], []] })).toBe(MFS_ERROR_EINVAL);
    expect(ns.sclassCreate(cls('gold', 2))).toBe(MFS_ERROR_CLASSEXISTS);
    // change: only the fields in the mask; the reply is the whole class
    const ch = ok(ns.sclassChange(b('gold'), SCLASS_CHG_ADMIN_ONLY | SCLASS_CHG_KEEP_MASKS, { adminOnly: 1, mode: 2, archDelay: 7, labels: [[], [expr(), expr()], []] }));
    expect(ch).toMatchObject({ adminOnly: 1, mode: 1, archDelay: 0 });
    expect(ch.labels.map((l) => l.length)).toEqual([1, 2, 1]);
    expect(lines.at(-1)).toMatch(/\|SCSET\(gold,0,W1,K2,A1,1,0,1,[0-9,]+\):10$/);
    const n = lines.length;
    expect(ok(ns.sclassChange(b('gold'), 0, { adminOnly: 0, mode: 0, archDelay: 0, labels: [[], [], []] })).adminOnly).toBe(1); // show: no record
    expect(lines.length).toBe(n);
    // the plain goals need SCLASS_CHG_FORCE, except "9" (storageclass.c tests the counter past the match)
    expect(status(ns.sclassChange(b('2'), SCLASS_CHG_ADMIN_ONLY, { adminOnly: 1, mode: 1, archDelay: 0, labels: [[], [], []] }))).toBe(MFS_ERROR_EPERM);
    ok(ns.sclassChange(b('2'), SCLASS_CHG_ADMIN_ONLY | SCLASS_CHG_FORCE, { adminOnly: 1, mode: 1, archDelay: 0, labels: [[], [], []] }));
    ok(ns.sclassChange(b('9'), SCLASS_CHG_ADMIN_ONLY, { adminOnly: 1, mode: 1, archDelay: 0, labels: [[], [], []] }));
    expect(status(ns.sclassChange(b('nope'), 0, { adminOnly: 0, mode: 0, archDelay: 0, labels: [[], [], []] }))).toBe(MFS_ERROR_NOSUCHCLASS);

    expect(ns.sclassDuplicate(b('gold'), b('silver'))).toBe(0);
    expect(lines.at(-1)).toMatch(/\|SCDUP\(gold,silver\):10,11$/);
    expect(ns.sclassDuplicate(b('gold'), b('silver'))).toBe(MFS_ERROR_CLASSEXISTS);
    expect(ns.sclassRename(b('silver'), b('bronze%,x'))).toBe(0);
    expect(lines.at(-1)).toMatch(/\|SCREN\(silver,bronze%25%2Cx\):11$/);
    expect(ns.sclassRename(b('1'), b('one'))).toBe(MFS_ERROR_EPERM);
    expect(ns.sclassRename(b('gold'), b('bronze%,x'))).toBe(MFS_ERROR_CLASSEXISTS);

    // in use by a directory: refused; once unused: deleted, and the id is reused by the next class
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false)).inode;
    ok(ns.setsclass({ ...ROOT, sesflags: 8 }, d, 10, 10, 0));
    expect(ns.tree.nodes.get(d)!.sclassid).toBe(10);
    expect(ns.sclassDelete(b('gold'))).toBe(MFS_ERROR_CLASSINUSE);
    expect(ns.sclassDelete(b('3'))).toBe(MFS_ERROR_EPERM);
    expect(ns.sclassDelete(b('bronze%,x'))).toBe(0);
    expect(lines.at(-1)).toMatch(/\|SCDEL\(bronze%25%2Cx\):11$/);
    expect(ns.sclassCreate(cls('tin', 1))).toBe(0);
    expect(lines.at(-1)).toMatch(/:11$/);

    const fresh = replay(lines, start);
    expect(fresh.dumpState()).toEqual(ns.dumpState());
    expect(fresh.sclasses.findByName(b('tin'))).toBe(11);
    expect(fresh.sclasses.adminOnly(9)).toBe(true);
  });

  it('replay refuses a record whose id differs from the one the table gives (MISMATCH)', () => {
    const ns = new Namespace();
    const rec = parseRecord('1700000000|SCSET(gold,1,W1,K1,A1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0):12');
    expect(rec.ok).toBe(true);
    if (!rec.ok) return;
    expect(ns.apply(rec.value)).toBe(MFS_ERROR_MISMATCH);
    const good = parseRecord('1700000000|SCSET(gold,1,W1,K1,A1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0):10');
    if (!good.ok) throw new Error('parse');
    expect(ns.apply(good.value)).toBe(0);
    const del = parseRecord('1700000000|SCDEL(gold):11');
    if (!del.ok) throw new Error('parse');
    expect(ns.apply(del.value)).toBe(MFS_ERROR_MISMATCH);
    // a malformed SCSET (mask count wrong) is EINVAL, never a throw
    const bad = parseRecord('1700000000|SCSET(x,1,W1,K1,A1,1,0,0,0,0):10');
    if (!bad.ok) throw new Error('parse');
    expect(ns.apply(bad.value)).toBe(MFS_ERROR_EINVAL);
  });

  it('the SCLA section round-trips through storeMetadata / loadMetadata', () => {
    const { ns } = setup();
    ns.sclassCreate(cls('gold', 3, { adminOnly: 1, archDelay: 24, mode: 2, labels: [[expr(0xff, 1, 2, 3)], [expr(5), expr(6), expr(7)], [expr(8)]] }));
    ns.sclassCreate(cls('two', 2));
    const img = storeMetadata(ns, { metaversion: 5n, metaid: 1n, extra: [{ name: 'SCLA', version: 0x16, data: ns.sclasses.store() }] });
    const other = new Namespace();
    const r = loadMetadata(other, img);
    const scla = r.other.find((s) => s.name === 'SCLA')!;
    expect(scla.version).toBe(0x16);
    other.sclasses.load(scla.data, scla.version);
    expect(other.sclasses.store().equals(ns.sclasses.store())).toBe(true);
    expect(other.sclasses.get(10)).toMatchObject({ adminOnly: 1, archDelay: 24, mode: 2 });
    expect(() => other.sclasses.load(scla.data.subarray(0, scla.data.length - 12), 0x16)).toThrow(/truncated/);
  });
});
