// FLOCK / POSIXLOCK changelog records (flocklocks.c, posixlocks.c changelog calls) and their replay
// (restore.c do_flock / do_posixlock -> flock_mr_change / posix_lock_mr_change): replaying what a lock
// table logged onto an empty table must give the same table, and every record must be accepted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Master } from '../src/index.js';
import {
  FLOCK_INTERRUPT, FLOCK_LOCK_EXCLUSIVE, FLOCK_LOCK_SHARED, FLOCK_RELEASE, FLOCK_TRY_EXCLUSIVE, FLOCK_TRY_SHARED, FLOCK_UNLOCK,
  MFS_ERROR_MISMATCH, MFS_STATUS_OK,
  POSIX_LOCK_CMD_INT, POSIX_LOCK_CMD_SET, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, POSIX_LOCK_UNLCK, POSIX_LOCK_WRLCK,
} from '@mfs-ts/protocol';
import { Locks } from '../src/locks.js';
import { parseRecord } from '../src/fs/changelog.js';

const EOF = 0xffffffffffffffffn;
const rows = (l: Locks) =>
  l.list(0).map((r) => `${r.inode}/${r.sessionid}/${r.owner}/${r.type}/${r.pid}/${r.start}-${r.end}`).sort();

/** Replays `1|<record>` lines onto a fresh table through the changelog parser; every status must be OK. */
function replay(records: string[]): Locks {
  const t = new Locks();
  for (const text of records) {
    const r = parseRecord(`1|${text}`);
    if (!r.ok) throw new Error(`${text}: ${r.error}`);
    const a = r.value.args.map((x) => String(x));
    const st = r.value.op === 'FLOCK'
      ? t.mrFlock(Number(a[0]), Number(a[1]), BigInt(a[2]!), a[3]!)
      : t.mrPosix(Number(a[0]), Number(a[1]), BigInt(a[2]!), a[3]!, BigInt(a[4]!), BigInt(a[5]!), Number(a[6]));
    expect(st, text).toBe(MFS_STATUS_OK);
  }
  return t;
}

describe('FLOCK / POSIXLOCK records', () => {
  it('have the real master\'s form: granted, converted (U then the new type), released; unlocking nothing logs nothing', () => {
    const l = new Locks();
    const got: string[] = [];
    l.changes = (t) => got.push(t);
    const never = () => { throw new Error('unexpected wake'); };
    l.flock(3, 10, 1, 123456789012n, FLOCK_TRY_SHARED, never);
    l.flock(3, 10, 2, 123456789012n, FLOCK_TRY_SHARED, never); // already held: nothing
    l.flock(3, 10, 3, 123456789012n, FLOCK_LOCK_EXCLUSIVE, never);
    l.flock(3, 10, 4, 123456789012n, FLOCK_UNLOCK, never);
    l.flock(3, 10, 5, 123456789012n, FLOCK_UNLOCK, never);
    l.posixLock(4, 20, 1, 9n, 4321, POSIX_LOCK_CMD_SET, POSIX_LOCK_WRLCK, 5n, EOF, never);
    l.posixLock(4, 20, 2, 9n, 4321, POSIX_LOCK_CMD_SET, POSIX_LOCK_UNLCK, 0n, EOF, never);
    l.posixLock(4, 20, 3, 9n, 4321, POSIX_LOCK_CMD_SET, POSIX_LOCK_UNLCK, 0n, EOF, never);
    expect(got).toEqual([
      'FLOCK(10,3,123456789012,R)', 'FLOCK(10,3,123456789012,U)', 'FLOCK(10,3,123456789012,W)', 'FLOCK(10,3,123456789012,U)',
      `POSIXLOCK(20,4,9,W,5,${EOF},4321)`, `POSIXLOCK(20,4,9,U,0,${EOF},4321)`,
    ]);
  });

  it('replay refuses what does not fit, as flock_mr_change / posix_lock_mr_change', () => {
    const t = new Locks();
    expect(t.mrFlock(10, 1, 1n, 'U')).toBe(MFS_ERROR_MISMATCH); // no locks on the inode
    expect(t.mrFlock(10, 1, 1n, 'R')).toBe(MFS_STATUS_OK);
    expect(t.mrFlock(10, 2, 1n, 'W')).toBe(MFS_ERROR_MISMATCH);
    expect(t.mrPosix(20, 1, 1n, 'U', 0n, EOF, 1)).toBe(MFS_ERROR_MISMATCH);
    expect(t.mrPosix(20, 1, 1n, 'W', 0n, 10n, 1)).toBe(MFS_STATUS_OK);
    expect(t.mrPosix(20, 2, 1n, 'R', 5n, 6n, 2)).toBe(MFS_ERROR_MISMATCH);
    expect(t.mrPosix(20, 2, 1n, 'X', 5n, 6n, 2)).not.toBe(MFS_STATUS_OK);
  });

  it('the table rebuilt from the records equals the live one after any sequence of flock / POSIX operations', () => {
    const flockOps = [FLOCK_TRY_SHARED, FLOCK_LOCK_SHARED, FLOCK_TRY_EXCLUSIVE, FLOCK_LOCK_EXCLUSIVE, FLOCK_UNLOCK, FLOCK_RELEASE, FLOCK_INTERRUPT];
    const op = fc.oneof(
      fc.record({ k: fc.constant('flock' as const), s: fc.integer({ min: 1, max: 3 }), ino: fc.integer({ min: 10, max: 11 }), o: fc.integer({ min: 1, max: 2 }), op: fc.constantFrom(...flockOps) }),
      fc.record({
        k: fc.constant('posix' as const), s: fc.integer({ min: 1, max: 3 }), ino: fc.integer({ min: 20, max: 21 }), o: fc.integer({ min: 1, max: 2 }),
        cmd: fc.constantFrom(POSIX_LOCK_CMD_SET, POSIX_LOCK_CMD_TRY, POSIX_LOCK_CMD_INT), type: fc.constantFrom(POSIX_LOCK_RDLCK, POSIX_LOCK_WRLCK, POSIX_LOCK_UNLCK),
        a: fc.integer({ min: 0, max: 8 }), len: fc.integer({ min: 0, max: 5 }), pid: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ k: fc.constant('close' as const), s: fc.integer({ min: 1, max: 3 }), ino: fc.integer({ min: 20, max: 21 }) }),
      fc.record({ k: fc.constant('gone' as const), s: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const live = new Locks();
        const records: string[] = [];
        live.changes = (t) => records.push(t);
        let reqid = 0;
        for (const x of ops) {
          reqid++;
          if (x.k === 'flock') live.flock(x.s, x.ino, reqid, BigInt(x.o), x.op, () => {});
          else if (x.k === 'posix') {
            const end = x.len === 0 ? EOF : BigInt(x.a + x.len); // 0 = to EOF
            live.posixLock(x.s, x.ino, reqid, BigInt(x.o), x.pid, x.cmd, x.type, BigInt(x.a), end, () => {});
          } else if (x.k === 'close') live.fileClosed(x.s, x.ino);
          else live.sessionRemoved(x.s);
        }
        expect(rows(replay(records))).toEqual(rows(live));
      }),
      { numRuns: 300 },
    );
  });

  it('a hot follower applies the leader\'s lock records through applyChange and refuses one that does not fit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-lockrec-'));
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    const local = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
    const m = new Master({ cfg: { ...local, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    await m.start();
    try {
      expect(m.applyChange('1700000000|FLOCK(5,3,17,W)')).toBe('ok');
      expect(m.applyChange(`1700000000|POSIXLOCK(6,3,18,R,0,${EOF},99)`)).toBe('ok');
      expect(m.applyChange('1700000000|FLOCK(5,4,19,R)')).toMatch(/FLOCK.*status/);
      expect(rows(m.locks)).toEqual([`6/3/18/1/99/0-${EOF}`, '5/3/17/2/0/0-0'].sort());
    } finally {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
