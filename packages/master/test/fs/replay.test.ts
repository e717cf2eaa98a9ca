// Record round trip: every record a live operation writes parses back to the same text, and replaying
// the parsed records into a fresh namespace yields exactly the live state (replay == live).
import { MFS_ERROR_MISMATCH, MFS_STATUS_OK } from '@mfs-ts/protocol';
import { describe, expect, test } from 'vitest';
import {
  ChangelogReader,
  CHUNKOPFLAG_CANMODTIME,
  EATTR_NOECACHE,
  formatLine,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_REMOVE,
  Namespace,
  parseLine,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SESFLAG_ADMIN,
  SET_ATIME_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  SMODE_RMASK,
  SMODE_SET,
  SNAPSHOT_MODE_CAN_OVERWRITE,
  SNAPSHOT_MODE_PRESERVE_HARDLINKS,
  TYPE_FILE,
  TYPE_FIFO,
} from '../../src/fs/index.js';
import { b, ok, replay, ROOT, setup } from './helpers.js';
import { scenario } from './scenario.js';

describe('replay == live', () => {
  test('a scenario touching every record type', () => {
    const { ns, clock, lines, start } = setup();
    scenario(ns, clock);
    const ops = new Set(lines.map((l) => /\|([A-Z]+)\(/.exec(l)![1]));
    for (const op of ['CREATE', 'SYMLINK', 'UNLINK', 'MOVE', 'LINK', 'LENGTH', 'TRUNC', 'WRITE', 'UNLOCK', 'ROLLBACK',
      'SETXATTR', 'SETACL', 'SETSCLASS', 'SETTRASHTIME', 'SETEATTR', 'UNDEL', 'PURGE', 'SETPATH', 'EMPTYTRASH',
      'EMPTYSUSTAINED', 'FREEINODES', 'ACQUIRE', 'RELEASE', 'SNAPSHOT', 'ACCESS', 'ATTR', 'AMTIME', 'QUOTA', 'APPEND', 'REPAIR']) {
      expect(ops, op).toContain(op);
    }
    // text round trip
    for (const l of lines) {
      const p = parseLine(l);
      expect(p.ok, l).toBe(true);
      if (p.ok) expect(formatLine(p.value.version, p.value.rec)).toBe(l);
    }
    const fresh = replay(lines, start);
    expect(fresh.dumpState()).toEqual(ns.dumpState());
  });

  test('replay detects a record whose result does not match', () => {
    const { ns, lines, start } = setup();
    ok(ns.mkdir(ROOT, 1, b('a'), 0o755, 0, false));
    const bad = lines[0]!.replace(/:2$/, ':7');
    const fresh = new Namespace({ now: () => start });
    const p = parseLine(bad);
    expect(p.ok).toBe(true);
    if (p.ok) expect(fresh.apply(p.value.rec)).toBe(MFS_ERROR_MISMATCH);
    const good = parseLine(lines[0]!);
    const fresh2 = new Namespace({ now: () => start });
    if (good.ok) expect(fresh2.apply(good.value.rec)).toBe(MFS_STATUS_OK);
  });

  test('records written by the real mfsmaster apply (formats from filesystem.c)', () => {
    const ns = new Namespace({ now: () => 1000 });
    const text = [
      '1: 1001|CREATE(1,dir,2,493,18,0,0,0):2',
      '2: 1002|CREATE(2,file%2Cx,1,420,18,1000,1000,0):3',
      '3: 1003|ACQUIRE(1,3)',
      '4: 1004|WRITE(3,0,1,1):1',
      '5: 1005|LENGTH(3,12,1)',
      '6: 1005|UNLOCK(1)',
      '7: 1006|SYMLINK(2,l,/tmp/x,0,0):4',
      '8: 1007|MOVE(2,file%2Cx,1,f):3',
      '9: 1008|LINK(3,2,f2)',
      '10: 1009|ATTR(3,384,1000,1000,1009,1005,0,0)',
      '11: 1010|SETXATTR(3,user.a,v%00,0)',
      '12: 1011|SETTRASHTIME(2,0,7200,4):2,0,0',
      '13: 1012|SETSCLASS(2,0,1,3,4):2,0,0',
      '14: 1013|SNAPSHOT(2,1,snap,0,0,0,[0],18):0,0,0,0,0,0',
      '15: 1014|UNLINK(1,f):3',
      '16: 1015|RELEASE(1,3)',
    ].join('\n');
    const { records, issues } = ChangelogReader.parseText(text);
    expect(issues).toEqual([]);
    for (const r of records) {
      // The snapshot counters of the real master are not zero; ours must be recomputed: clear them.
      if (r.rec.op === 'SNAPSHOT') delete r.rec.result;
      expect(ns.apply(r.rec), formatLine(r.version, r.rec)).toBe(MFS_STATUS_OK);
    }
    expect(ok(ns.lookup(ROOT, 2, b('f2'))).attr).toMatchObject({ mode: 0o600, uid: 1000, nlink: 1, length: 12 });
    expect(ok(ns.getxattr(ROOT, 3, 0, b('user.a')))).toEqual(Buffer.from('v\0'));
    const snap = ok(ns.lookup(ROOT, 1, b('snap')));
    expect(ok(ns.lookup(ROOT, snap.inode, b('f2'))).attr.length).toBe(12);
    expect(ns.chunks.get(1)!.fcount).toBe(2);
  });
});
