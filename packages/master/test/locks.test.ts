import { describe, expect, it } from 'vitest';
import {
  MFS_ERROR_EAGAIN, MFS_ERROR_EINTR, MFS_STATUS_OK,
  FLOCK_INTERRUPT, FLOCK_LOCK_EXCLUSIVE, FLOCK_LOCK_SHARED, FLOCK_RELEASE, FLOCK_TRY_EXCLUSIVE, FLOCK_TRY_SHARED, FLOCK_UNLOCK,
  POSIX_LOCK_CMD_GET, POSIX_LOCK_CMD_INT, POSIX_LOCK_CMD_SET, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, POSIX_LOCK_UNLCK, POSIX_LOCK_WRLCK,
} from '@mfs-ts/protocol';
import { Locks } from '../src/locks.js';

// Rules from mfsmaster/flocklocks.c and posixlocks.c: owners are (session, owner), waiting requests
// are answered later, ranges are [start, end).

const noWake = (_s: number): void => {
  throw new Error('unexpected wake');
};

describe('flock', () => {
  it('shared locks coexist, exclusive excludes, waiters are woken in order on unlock', () => {
    const l = new Locks();
    expect(l.flock(1, 10, 1, 1n, FLOCK_TRY_SHARED, noWake)).toBe(MFS_STATUS_OK);
    expect(l.flock(2, 10, 1, 1n, FLOCK_LOCK_SHARED, noWake)).toBe(MFS_STATUS_OK);
    expect(l.flock(3, 10, 1, 1n, FLOCK_TRY_EXCLUSIVE, noWake)).toBe(MFS_ERROR_EAGAIN);
    const woke: number[] = [];
    expect(l.flock(3, 10, 2, 1n, FLOCK_LOCK_EXCLUSIVE, (s) => woke.push(s))).toBeUndefined();
    expect(l.flock(1, 10, 3, 1n, FLOCK_UNLOCK, noWake)).toBe(MFS_STATUS_OK);
    expect(woke).toEqual([]);
    expect(l.flock(2, 10, 3, 1n, FLOCK_RELEASE, noWake)).toBe(MFS_STATUS_OK);
    expect(woke).toEqual([MFS_STATUS_OK]);
    expect(l.flock(1, 10, 4, 1n, FLOCK_TRY_SHARED, noWake)).toBe(MFS_ERROR_EAGAIN);
  });
  it('INTERRUPT answers a waiting request with EINTR; a lone holder can upgrade', () => {
    const l = new Locks();
    expect(l.flock(1, 10, 1, 7n, FLOCK_LOCK_EXCLUSIVE, noWake)).toBe(MFS_STATUS_OK);
    const woke: number[] = [];
    expect(l.flock(2, 10, 2, 7n, FLOCK_LOCK_SHARED, (s) => woke.push(s))).toBeUndefined();
    expect(l.flock(2, 10, 3, 7n, FLOCK_INTERRUPT, noWake)).toBe(MFS_STATUS_OK);
    expect(woke).toEqual([MFS_ERROR_EINTR]);
    const m = new Locks();
    expect(m.flock(1, 10, 1, 1n, FLOCK_LOCK_SHARED, noWake)).toBe(MFS_STATUS_OK);
    expect(m.flock(1, 10, 2, 1n, FLOCK_TRY_EXCLUSIVE, noWake)).toBe(MFS_STATUS_OK);
  });
  it('a removed session gives its locks up', () => {
    const l = new Locks();
    l.flock(1, 10, 1, 1n, FLOCK_LOCK_EXCLUSIVE, noWake);
    const woke: number[] = [];
    l.flock(2, 10, 1, 1n, FLOCK_LOCK_EXCLUSIVE, (s) => woke.push(s));
    l.sessionRemoved(1);
    expect(woke).toEqual([MFS_STATUS_OK]);
  });
});

describe('POSIX locks', () => {
  const set = (l: Locks, sid: number, owner: bigint, type: number, start: bigint, end: bigint, wake = noWake, cmd = POSIX_LOCK_CMD_SET) =>
    l.posixLock(sid, 5, 1, owner, 100 + sid, cmd, type, start, end, wake).status;
  it('read locks share, write locks conflict on overlapping ranges only', () => {
    const l = new Locks();
    expect(set(l, 1, 1n, POSIX_LOCK_RDLCK, 0n, 100n)).toBe(MFS_STATUS_OK);
    expect(set(l, 2, 1n, POSIX_LOCK_RDLCK, 50n, 150n)).toBe(MFS_STATUS_OK);
    expect(set(l, 3, 1n, POSIX_LOCK_WRLCK, 90n, 95n, noWake, POSIX_LOCK_CMD_TRY)).toBe(MFS_ERROR_EAGAIN);
    expect(set(l, 3, 1n, POSIX_LOCK_WRLCK, 150n, 200n)).toBe(MFS_STATUS_OK); // [150,200) touches nothing
    const g = l.posixLock(3, 5, 1, 1n, 0, POSIX_LOCK_CMD_GET, POSIX_LOCK_WRLCK, 0n, 10n, noWake).got;
    expect(g).toEqual({ pid: 101, type: POSIX_LOCK_RDLCK, start: 0n, end: 100n });
    const none = l.posixLock(1, 5, 1, 1n, 0, POSIX_LOCK_CMD_GET, POSIX_LOCK_RDLCK, 0n, 10n, noWake).got;
    expect(none?.type).toBe(POSIX_LOCK_UNLCK);
  });
  it('unlocking the middle of a range splits it; a waiting writer gets its lock when the range frees', () => {
    const l = new Locks();
    expect(set(l, 1, 1n, POSIX_LOCK_WRLCK, 0n, 100n)).toBe(MFS_STATUS_OK);
    const woke: number[] = [];
    expect(set(l, 2, 1n, POSIX_LOCK_WRLCK, 40n, 60n, (s) => woke.push(s))).toBeUndefined();
    expect(set(l, 1, 1n, POSIX_LOCK_UNLCK, 30n, 70n)).toBe(MFS_STATUS_OK);
    expect(woke).toEqual([MFS_STATUS_OK]);
    // Session 1 still holds [0,30) and [70,100).
    expect(set(l, 3, 1n, POSIX_LOCK_RDLCK, 20n, 25n, noWake, POSIX_LOCK_CMD_TRY)).toBe(MFS_ERROR_EAGAIN);
    expect(set(l, 3, 1n, POSIX_LOCK_RDLCK, 30n, 40n, noWake, POSIX_LOCK_CMD_TRY)).toBe(MFS_STATUS_OK);
    expect(set(l, 3, 1n, POSIX_LOCK_RDLCK, 75n, 76n, noWake, POSIX_LOCK_CMD_TRY)).toBe(MFS_ERROR_EAGAIN);
  });
  it('INT interrupts a waiting request; closing the file drops the session\'s locks', () => {
    const l = new Locks();
    set(l, 1, 1n, POSIX_LOCK_WRLCK, 0n, 10n);
    const woke: number[] = [];
    expect(l.posixLock(2, 5, 9, 1n, 0, POSIX_LOCK_CMD_SET, POSIX_LOCK_WRLCK, 0n, 10n, (s) => woke.push(s)).status).toBeUndefined();
    l.posixLock(2, 5, 9, 1n, 0, POSIX_LOCK_CMD_INT, 0, 0n, 0n, noWake);
    expect(woke).toEqual([MFS_ERROR_EINTR]);
    l.fileClosed(1, 5);
    expect(set(l, 2, 1n, POSIX_LOCK_WRLCK, 0n, 10n, noWake, POSIX_LOCK_CMD_TRY)).toBe(MFS_STATUS_OK);
  });
});

describe('LIST_ACQUIRED_LOCKS rows', () => {
  it('lists POSIX ranges first, then flocks (pid/start/end 0), filtered by inode', () => {
    const l = new Locks();
    l.posixLock(1, 5, 1, 9n, 77, POSIX_LOCK_CMD_SET, POSIX_LOCK_WRLCK, 0n, 10n, noWake);
    l.flock(2, 6, 1, 8n, FLOCK_LOCK_SHARED, noWake);
    expect(l.list(0)).toEqual([
      { inode: 5, sessionid: 1, owner: 9n, pid: 77, start: 0n, end: 10n, type: 2 },
      { inode: 6, sessionid: 2, owner: 8n, pid: 0, start: 0n, end: 0n, type: 1 },
    ]);
    expect(l.list(6)).toHaveLength(1);
  });
});

describe('FLCK and PLCK sections (flock_store/flock_load, posix_lock_store/posix_lock_load)', () => {
  const allOpen = () => true;
  function held() {
    const l = new Locks();
    expect(l.flock(1, 10, 1, 0xa1n, FLOCK_TRY_SHARED, noWake)).toBe(MFS_STATUS_OK);
    expect(l.flock(2, 10, 1, 0xb2n, FLOCK_TRY_SHARED, noWake)).toBe(MFS_STATUS_OK);
    expect(l.flock(2, 11, 2, 0xb3n, FLOCK_TRY_EXCLUSIVE, noWake)).toBe(MFS_STATUS_OK);
    const set = (s: number, ino: number, owner: bigint, pid: number, type: number, a: bigint, z: bigint) =>
      expect(l.posixLock(s, ino, 1, owner, pid, POSIX_LOCK_CMD_SET, type, a, z, noWake).status).toBe(MFS_STATUS_OK);
    set(1, 20, 7n, 100, POSIX_LOCK_WRLCK, 0n, 10n);
    set(1, 20, 7n, 100, POSIX_LOCK_WRLCK, 10n, 20n); // joins the first range when stored
    set(1, 20, 7n, 100, POSIX_LOCK_RDLCK, 30n, 40n);
    set(2, 20, 8n, 200, POSIX_LOCK_RDLCK, 50n, 0xffffffffffffffffn);
    set(2, 21, 8n, 200, POSIX_LOCK_RDLCK, 5n, 6n);
    return l;
  }
  const rows = (l: Locks) => l.list(0).sort((a, b) => a.inode - b.inode || a.sessionid - b.sessionid || Number(a.start - b.start));

  it('a store -> load round trip gives back every granted lock, with its session, owner, pid and ranges', () => {
    const l = held();
    const f = l.storeFlocks(allOpen);
    const p = l.storePosix(allOpen);
    expect(f.length).toBe(17 * 4); // 3 records + the zero record
    expect(p.length).toBe(37 * 5); // [0,20) W, [30,40) R, [50,inf) R, [5,6) R + the zero record
    // first flock record: inode 10, owner 0xa1, session 1, reader
    expect(f.subarray(0, 17).toString('hex')).toBe('0000000a' + '00000000000000a1' + '00000001' + '00');
    expect(p.subarray(0, 37).toString('hex')).toBe('00000014' + '0000000000000007' + '00000001' + '00000064' + '0000000000000000' + '0000000000000014' + '02');
    const back = new Locks();
    back.loadFlocks(f, 0x10, allOpen);
    back.loadPosix(p, 0x10, allOpen);
    const want = rows(l);
    const j = want.findIndex((r) => r.inode === 20 && r.start === 0n);
    want.splice(j, 2, { ...want[j]!, end: 20n }); // the two write ranges come back as one
    expect(rows(back)).toEqual(want);
    expect(back.storeFlocks(allOpen).equals(f)).toBe(true);
    expect(back.storePosix(allOpen).equals(p)).toBe(true);
    // the loaded locks act: session 3 cannot get what session 1 holds
    expect(back.flock(3, 11, 1, 1n, FLOCK_TRY_SHARED, noWake)).toBe(MFS_ERROR_EAGAIN);
    expect(back.posixLock(3, 20, 1, 9n, 1, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, 15n, 16n, noWake).status).toBe(MFS_ERROR_EAGAIN);
    expect(back.posixLock(3, 20, 1, 9n, 1, POSIX_LOCK_CMD_TRY, POSIX_LOCK_RDLCK, 35n, 36n, noWake).status).toBe(MFS_STATUS_OK);
  });

  it('locks on files their session has not open are not stored; the loader refuses them and bad records', () => {
    const l = held();
    const onlySession1 = (s: number) => s === 1;
    const back = new Locks();
    back.loadFlocks(l.storeFlocks(onlySession1), 0x10, onlySession1);
    back.loadPosix(l.storePosix(onlySession1), 0x10, onlySession1);
    expect(new Set(back.list(0).map((r) => r.sessionid))).toEqual(new Set([1]));
    expect(() => new Locks().loadFlocks(l.storeFlocks(allOpen), 0x10, onlySession1)).toThrow(/not open/);
    expect(() => new Locks().loadFlocks(l.storeFlocks(allOpen), 0x11, allOpen)).toThrow(/version/);
    expect(() => new Locks().loadFlocks(l.storeFlocks(allOpen).subarray(0, 40), 0x10, allOpen)).toThrow(/ends inside/);
    // a writer beside a reader on one inode
    const two = Buffer.alloc(17 * 3);
    two.writeUInt32BE(5, 0); two.writeUInt32BE(1, 12);
    two.writeUInt32BE(5, 17); two.writeUInt32BE(2, 29); two[33] = 1;
    expect(() => new Locks().loadFlocks(two, 0x10, allOpen)).toThrow(/conflicting/);
    // posix ranges out of order, and adjacent ranges of one type
    const rec = (start: bigint, end: bigint, type: number) => {
      const b = Buffer.alloc(37);
      b.writeUInt32BE(5, 0); b.writeBigUInt64BE(1n, 4); b.writeUInt32BE(1, 12); b.writeBigUInt64BE(start, 20); b.writeBigUInt64BE(end, 28); b[36] = type;
      return b;
    };
    expect(() => new Locks().loadPosix(Buffer.concat([rec(10n, 20n, 1), rec(0n, 5n, 1), Buffer.alloc(37)]), 0x10, allOpen)).toThrow(/order/);
    expect(() => new Locks().loadPosix(Buffer.concat([rec(0n, 5n, 1), rec(5n, 9n, 1), Buffer.alloc(37)]), 0x10, allOpen)).toThrow(/adjacent/);
    new Locks().loadPosix(Buffer.concat([rec(0n, 5n, 1), rec(5n, 9n, 2), Buffer.alloc(37)]), 0x10, allOpen);
  });
});
