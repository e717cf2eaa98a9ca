import {
  FLOCK_UNLOCK,
  FLOCK_TRY_SHARED,
  FLOCK_LOCK_SHARED,
  FLOCK_TRY_EXCLUSIVE,
  FLOCK_LOCK_EXCLUSIVE,
  FLOCK_INTERRUPT,
  FLOCK_RELEASE,
  POSIX_LOCK_CMD_GET,
  POSIX_LOCK_CMD_SET,
  POSIX_LOCK_CMD_TRY,
  POSIX_LOCK_CMD_INT,
  POSIX_LOCK_RDLCK,
  POSIX_LOCK_UNLCK,
  POSIX_LOCK_WRLCK,
  MFS_ERROR_EAGAIN,
  MFS_ERROR_EINTR,
  MFS_ERROR_EINVAL,
  MFS_ERROR_MISMATCH,
  MFS_STATUS_OK,
  Reader,
  Writer,
} from '@mfs-ts/protocol';

/**
 * flock(2) and fcntl(2) locks held through the master (mfsmaster/flocklocks.c, posixlocks.c). A lock
 * belongs to (session, owner); a request that must wait is answered later, when it is granted
 * (MFS_ERROR_WAITING in MooseFS), or with EINTR when the client interrupts it. Granted locks are kept
 * in metadata.mfs as MooseFS does (FLCK and PLCK sections); waiting requests are not.
 */

/** FLCK and PLCK section versions (flock_store / posix_lock_store in flocklocks.c, posixlocks.c). */
export const FLCK_VERSION = 0x10;
export const PLCK_VERSION = 0x10;
/** Is this file open by this session? Only such locks are stored and loaded (of_checknode in the loaders). */
export type OpenCheck = (sessionid: number, inode: number) => boolean;

/** Answer for a request that had to wait. */
export type Wake = (status: number) => void;
/** `undefined` = the request waits; its `wake` is called later. */
export type LockResult = number | undefined;

interface FlockHolder {
  sessionid: number;
  owner: bigint;
  exclusive: boolean;
}
interface FlockWaiter extends FlockHolder {
  reqid: number;
  wake: Wake;
}

interface Range {
  start: bigint;
  end: bigint;
  type: number;
}
interface PosixHolder {
  sessionid: number;
  owner: bigint;
  pid: number;
  ranges: Range[];
}
interface PosixWaiter {
  sessionid: number;
  owner: bigint;
  pid: number;
  reqid: number;
  type: number;
  start: bigint;
  end: bigint;
  wake: Wake;
}

const same = (a: { sessionid: number; owner: bigint }, b: { sessionid: number; owner: bigint }) => a.sessionid === b.sessionid && a.owner === b.owner;

export class Locks {
  private readonly flocks = new Map<number, { active: FlockHolder[]; waiting: FlockWaiter[] }>();
  private readonly posix = new Map<number, { active: PosixHolder[]; waiting: PosixWaiter[] }>();
  /**
   * Receives a changelog record text (without the `ts|` prefix) for every change of the granted locks:
   * `FLOCK(inode,sessionid,owner,R|W|U)` (flocklocks.c flock_lock_inode_attach / flock_lock_remove) and
   * `POSIXLOCK(inode,sessionid,owner,R|W|U,start,end,pid)` (posixlocks.c posix_lock_apply_lock).
   */
  changes: ((text: string) => void) | undefined;
  /** Set while a changelog record is replayed: the change is not reported again. */
  private muted = false;

  private flockRec(inode: number, h: { sessionid: number; owner: bigint }, c: 'R' | 'W' | 'U'): void {
    if (!this.muted) this.changes?.(`FLOCK(${inode},${h.sessionid},${h.owner},${c})`);
  }

  private posixRec(inode: number, h: { sessionid: number; owner: bigint }, type: number, start: bigint, end: bigint, pid: number): void {
    const c = type === POSIX_LOCK_RDLCK ? 'R' : type === POSIX_LOCK_WRLCK ? 'W' : 'U';
    if (!this.muted) this.changes?.(`POSIXLOCK(${inode},${h.sessionid},${h.owner},${c},${start},${end},${pid})`);
  }

  // ------------------------------------------------------------------ flock
  private fl(inode: number) {
    let l = this.flocks.get(inode);
    if (!l) {
      l = { active: [], waiting: [] };
      this.flocks.set(inode, l);
    }
    return l;
  }

  private flockConflicts(l: { active: FlockHolder[] }, who: FlockHolder, exclusive: boolean): boolean {
    return l.active.some((h) => !same(h, who) && (exclusive || h.exclusive));
  }

  private flockWakeUp(inode: number): void {
    const l = this.flocks.get(inode);
    if (!l) return;
    // Grant waiting requests in order while they fit (flock_lock_check_waiting).
    while (l.waiting.length > 0) {
      const w = l.waiting[0]!;
      if (this.flockConflicts(l, w, w.exclusive)) break;
      l.waiting.shift();
      if (l.active.some((h) => same(h, w))) this.flockRec(inode, w, 'U');
      l.active = l.active.filter((h) => !same(h, w));
      l.active.push({ sessionid: w.sessionid, owner: w.owner, exclusive: w.exclusive });
      this.flockRec(inode, w, w.exclusive ? 'W' : 'R');
      w.wake(MFS_STATUS_OK);
    }
    if (l.active.length === 0 && l.waiting.length === 0) this.flocks.delete(inode);
  }

  flock(sessionid: number, inode: number, reqid: number, owner: bigint, op: number, wake: Wake): LockResult {
    const who = { sessionid, owner };
    const l = this.flocks.get(inode);
    switch (op) {
      case FLOCK_INTERRUPT: {
        if (!l) return MFS_STATUS_OK;
        for (const w of l.waiting.filter((x) => same(x, who))) w.wake(MFS_ERROR_EINTR);
        l.waiting = l.waiting.filter((x) => !same(x, who));
        this.flockWakeUp(inode);
        return MFS_STATUS_OK;
      }
      case FLOCK_UNLOCK:
      case FLOCK_RELEASE: {
        if (!l) return MFS_STATUS_OK;
        if (l.active.some((h) => same(h, who))) this.flockRec(inode, who, 'U');
        l.active = l.active.filter((h) => !same(h, who));
        if (op === FLOCK_RELEASE) {
          for (const w of l.waiting.filter((x) => same(x, who))) w.wake(MFS_ERROR_EINTR);
          l.waiting = l.waiting.filter((x) => !same(x, who));
        }
        this.flockWakeUp(inode);
        return MFS_STATUS_OK;
      }
      case FLOCK_TRY_SHARED:
      case FLOCK_LOCK_SHARED:
      case FLOCK_TRY_EXCLUSIVE:
      case FLOCK_LOCK_EXCLUSIVE: {
        const exclusive = op === FLOCK_TRY_EXCLUSIVE || op === FLOCK_LOCK_EXCLUSIVE;
        const tryOnly = op === FLOCK_TRY_SHARED || op === FLOCK_TRY_EXCLUSIVE;
        const ll = this.fl(inode);
        if (!this.flockConflicts(ll, { ...who, exclusive }, exclusive)) {
          const held = ll.active.find((h) => same(h, who));
          if (held?.exclusive === exclusive) return MFS_STATUS_OK;
          // A type change is logged as release + new lock, which the replay (flock_mr_change) accepts.
          if (held) this.flockRec(inode, who, 'U');
          ll.active = ll.active.filter((h) => !same(h, who));
          ll.active.push({ ...who, exclusive });
          this.flockRec(inode, who, exclusive ? 'W' : 'R');
          // A writer turned reader may let others in.
          this.flockWakeUp(inode);
          return MFS_STATUS_OK;
        }
        if (tryOnly) {
          if (ll.active.length === 0 && ll.waiting.length === 0) this.flocks.delete(inode);
          return MFS_ERROR_EAGAIN;
        }
        // Converting a held lock: give it up first, as flock_lock_unlock + flock_lock_new do.
        if (ll.active.some((h) => same(h, who))) this.flockRec(inode, who, 'U');
        ll.active = ll.active.filter((h) => !same(h, who));
        ll.waiting.push({ ...who, exclusive, reqid, wake });
        this.flockWakeUp(inode);
        return undefined;
      }
      default:
        return MFS_ERROR_EINVAL;
    }
  }

  // ------------------------------------------------------------------ posix
  private px(inode: number) {
    let l = this.posix.get(inode);
    if (!l) {
      l = { active: [], waiting: [] };
      this.posix.set(inode, l);
    }
    return l;
  }

  /** The first lock of another owner that conflicts with [start, end) of `type`. */
  private offending(inode: number, who: { sessionid: number; owner: bigint }, type: number, start: bigint, end: bigint): { pid: number; r: Range } | undefined {
    const l = this.posix.get(inode);
    if (!l) return undefined;
    for (const h of l.active) {
      if (same(h, who)) continue;
      for (const r of h.ranges) {
        if ((type === POSIX_LOCK_WRLCK || r.type === POSIX_LOCK_WRLCK) && end > r.start && start < r.end) return { pid: h.pid, r };
      }
    }
    return undefined;
  }

  /** Sets [start, end) of the owner's ranges to `type` (UNLCK removes), splitting ranges as needed. */
  private apply(inode: number, who: { sessionid: number; owner: bigint }, pid: number, type: number, start: bigint, end: bigint): void {
    const l = this.px(inode);
    let h = l.active.find((x) => same(x, who));
    // An unlock of nothing is not logged: its replay could find no inode (posix_lock_mr_change refuses).
    if (h || type !== POSIX_LOCK_UNLCK) this.posixRec(inode, who, type, start, end, pid);
    if (!h) {
      if (type === POSIX_LOCK_UNLCK) return;
      h = { ...who, pid, ranges: [] };
      l.active.push(h);
    }
    const out: Range[] = [];
    for (const r of h.ranges) {
      if (r.end <= start || r.start >= end) out.push(r);
      else {
        if (r.start < start) out.push({ start: r.start, end: start, type: r.type });
        if (r.end > end) out.push({ start: end, end: r.end, type: r.type });
      }
    }
    if (type !== POSIX_LOCK_UNLCK) out.push({ start, end, type });
    out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    h.ranges = out;
    h.pid = pid;
    if (h.ranges.length === 0) l.active = l.active.filter((x) => x !== h);
  }

  private posixWakeUp(inode: number): void {
    const l = this.posix.get(inode);
    if (!l) return;
    let progress = true;
    while (progress) {
      progress = false;
      for (const w of [...l.waiting]) {
        if (this.offending(inode, w, w.type, w.start, w.end)) continue;
        l.waiting = l.waiting.filter((x) => x !== w);
        this.apply(inode, w, w.pid, w.type, w.start, w.end);
        w.wake(MFS_STATUS_OK);
        progress = true;
      }
    }
    if (l.active.length === 0 && l.waiting.length === 0) this.posix.delete(inode);
  }

  /** GET: the conflicting lock (type UNLCK when none). Others: a status or undefined (waits). */
  posixLock(
    sessionid: number, inode: number, reqid: number, owner: bigint, pid: number, cmd: number, type: number, start: bigint, end: bigint, wake: Wake,
  ): { status: LockResult; got?: { pid: number; type: number; start: bigint; end: bigint } } {
    const who = { sessionid, owner };
    if (cmd === POSIX_LOCK_CMD_INT) {
      const l = this.posix.get(inode);
      if (!l) return { status: MFS_STATUS_OK };
      for (const w of l.waiting.filter((x) => x.sessionid === sessionid && x.reqid === reqid)) w.wake(MFS_ERROR_EINTR);
      l.waiting = l.waiting.filter((x) => !(x.sessionid === sessionid && x.reqid === reqid));
      this.posixWakeUp(inode);
      return { status: MFS_STATUS_OK };
    }
    if (cmd === POSIX_LOCK_CMD_GET) {
      const o = type === POSIX_LOCK_UNLCK ? undefined : this.offending(inode, who, type, start, end);
      return { status: MFS_STATUS_OK, got: o ? { pid: o.pid, type: o.r.type, start: o.r.start, end: o.r.end } : { pid: 0, type: POSIX_LOCK_UNLCK, start: 0n, end: 0n } };
    }
    if (cmd !== POSIX_LOCK_CMD_SET && cmd !== POSIX_LOCK_CMD_TRY) return { status: MFS_ERROR_EINVAL };
    if (type !== POSIX_LOCK_UNLCK && this.offending(inode, who, type, start, end)) {
      if (cmd === POSIX_LOCK_CMD_TRY) return { status: MFS_ERROR_EAGAIN };
      this.px(inode).waiting.push({ ...who, pid, reqid, type, start, end, wake });
      return { status: undefined };
    }
    this.apply(inode, who, pid, type, start, end);
    this.posixWakeUp(inode);
    return { status: MFS_STATUS_OK };
  }

  /** Replay of a FLOCK record (flock_mr_change): MISMATCH when it does not fit the table. */
  mrFlock(inode: number, sessionid: number, owner: bigint, cmd: string): number {
    const who = { sessionid, owner };
    const c = cmd.toUpperCase();
    if (c === 'U') {
      const l = this.flocks.get(inode);
      if (!l) return MFS_ERROR_MISMATCH;
      l.active = l.active.filter((h) => !same(h, who));
      if (l.active.length === 0 && l.waiting.length === 0) this.flocks.delete(inode);
      return MFS_STATUS_OK;
    }
    let exclusive: boolean;
    if (c === 'R' || c === 'S') exclusive = false;
    else if (c === 'W' || c === 'E') exclusive = true;
    else return MFS_ERROR_EINVAL;
    const l = this.fl(inode);
    if (l.active.length > 0 && (exclusive || l.active.some((h) => h.exclusive))) return MFS_ERROR_MISMATCH;
    l.active.push({ ...who, exclusive });
    return MFS_STATUS_OK;
  }

  /** Replay of a POSIXLOCK record (posix_lock_mr_change): MISMATCH when it does not fit the table. */
  mrPosix(inode: number, sessionid: number, owner: bigint, cmd: string, start: bigint, end: bigint, pid: number): number {
    const who = { sessionid, owner };
    const c = cmd.toUpperCase();
    let type: number;
    if (c === 'U') {
      if (!this.posix.has(inode)) return MFS_ERROR_MISMATCH;
      type = POSIX_LOCK_UNLCK;
    } else if (c === 'R' || c === 'S') type = POSIX_LOCK_RDLCK;
    else if (c === 'W' || c === 'E') type = POSIX_LOCK_WRLCK;
    else return MFS_ERROR_EINVAL;
    if (type !== POSIX_LOCK_UNLCK && this.offending(inode, who, type, start, end)) return MFS_ERROR_MISMATCH;
    this.muted = true;
    try {
      this.apply(inode, who, pid, type, start, end);
    } finally {
      this.muted = false;
    }
    const l = this.posix.get(inode);
    if (l && l.active.length === 0 && l.waiting.length === 0) this.posix.delete(inode);
    return MFS_STATUS_OK;
  }

  /** A session's file was closed for good (posix_lock_file_closed): drop its POSIX locks on it. */
  fileClosed(sessionid: number, inode: number): void {
    const l = this.posix.get(inode);
    if (!l) return;
    l.waiting = l.waiting.filter((w) => w.sessionid !== sessionid);
    // posix_lock_file_closed logs nothing; we log the unlock so a replay drops these locks too.
    for (const h of l.active) if (h.sessionid === sessionid) this.posixRec(inode, h, POSIX_LOCK_UNLCK, 0n, 0xffffffffffffffffn, h.pid);
    l.active = l.active.filter((h) => h.sessionid !== sessionid);
    this.posixWakeUp(inode);
  }

  /** A session is gone: every lock and waiting request of it goes. */
  sessionRemoved(sessionid: number): void {
    for (const inode of [...this.flocks.keys()]) {
      const l = this.flocks.get(inode)!;
      for (const h of l.active) if (h.sessionid === sessionid) this.flockRec(inode, h, 'U');
      l.active = l.active.filter((h) => h.sessionid !== sessionid);
      l.waiting = l.waiting.filter((w) => w.sessionid !== sessionid);
      this.flockWakeUp(inode);
    }
    for (const inode of [...this.posix.keys()]) this.fileClosed(sessionid, inode);
  }

  /**
   * LIST_ACQUIRED_LOCKS rows (posix_lock_list then flock_list): type 1 = read/shared, 2 = write/exclusive;
   * flock rows carry pid, start and end 0. `inode` 0 = every inode.
   */
  list(inode: number): Array<{ inode: number; sessionid: number; owner: bigint; pid: number; start: bigint; end: bigint; type: number }> {
    const out: Array<{ inode: number; sessionid: number; owner: bigint; pid: number; start: bigint; end: bigint; type: number }> = [];
    for (const [ino, l] of this.posix) {
      if (inode !== 0 && ino !== inode) continue;
      for (const h of l.active) for (const r of h.ranges) out.push({ inode: ino, sessionid: h.sessionid, owner: h.owner, pid: h.pid, start: r.start, end: r.end, type: r.type });
    }
    for (const [ino, l] of this.flocks) {
      if (inode !== 0 && ino !== inode) continue;
      for (const h of l.active) out.push({ inode: ino, sessionid: h.sessionid, owner: h.owner, pid: 0, start: 0n, end: 0n, type: h.exclusive ? 2 : 1 });
    }
    return out;
  }

  // ------------------------------------------------------------------ metadata.mfs
  /**
   * FLCK 1.0 body: per granted flock `inode:32 owner:64 sessionid:32 ltype:8` (ltype 1 = writer), ended
   * by an all-zero record (flocklocks.c). Locks on files their session has not open are left out: the
   * real loader refuses a file holding one.
   */
  storeFlocks(isOpen: OpenCheck): Buffer {
    const w = new Writer(1024);
    for (const [inode, l] of this.flocks) {
      for (const h of l.active) if (isOpen(h.sessionid, inode)) w.u32(inode).u64(h.owner).u32(h.sessionid).u8(h.exclusive ? 1 : 0);
    }
    w.zeros(17);
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  /**
   * PLCK 1.0 body: per range `inode:32 owner:64 sessionid:32 pid:32 start:64 end:64 type:8`, grouped by
   * inode then owner, ranges ascending and adjacent ranges of one type joined (the real loader refuses
   * them otherwise), ended by an all-zero record (posixlocks.c).
   */
  storePosix(isOpen: OpenCheck): Buffer {
    const w = new Writer(1024);
    for (const [inode, l] of this.posix) {
      for (const h of l.active) {
        if (!isOpen(h.sessionid, inode)) continue;
        const joined: Range[] = [];
        for (const r of h.ranges) {
          const last = joined[joined.length - 1];
          if (last && last.type === r.type && last.end === r.start) last.end = r.end;
          else joined.push({ ...r });
        }
        for (const r of joined) w.u32(inode).u64(h.owner).u32(h.sessionid).u32(h.pid).u64(r.start).u64(r.end).u8(r.type);
      }
    }
    w.zeros(37);
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  /**
   * Loads a FLCK section (flock_load). Like the real loader without -i, a lock on a file its session
   * has not open, or a writer beside another lock, is an error (RangeError naming the record).
   */
  loadFlocks(data: Buffer, version: number, isOpen: OpenCheck): void {
    if (version !== FLCK_VERSION) throw new RangeError(`FLCK section version ${version.toString(16)}, expected 10`);
    const r = new Reader(data);
    for (let n = 0; ; n++) {
      if (r.remaining < 17) throw new RangeError(`FLCK section ends inside record ${n}`);
      const inode = r.u32();
      const owner = r.u64();
      const sessionid = r.u32();
      const exclusive = r.u8() !== 0;
      if (inode === 0 && owner === 0n && sessionid === 0) return;
      if (!isOpen(sessionid, inode)) throw new RangeError(`FLCK record ${n}: lock on a file session ${sessionid} has not open (inode ${inode})`);
      const l = this.fl(inode);
      if (l.active.length > 0 && (exclusive || l.active[0]!.exclusive)) throw new RangeError(`FLCK record ${n}: conflicting lock on inode ${inode}`);
      l.active.push({ sessionid, owner, exclusive });
    }
  }

  /** Loads a PLCK section (posix_lock_load), with the real loader's checks (order, joined ranges, open file). */
  loadPosix(data: Buffer, version: number, isOpen: OpenCheck): void {
    if (version !== PLCK_VERSION) throw new RangeError(`PLCK section version ${version.toString(16)}, expected 10`);
    const r = new Reader(data);
    let h: PosixHolder | undefined;
    let hinode = 0;
    for (let n = 0; ; n++) {
      if (r.remaining < 37) throw new RangeError(`PLCK section ends inside record ${n}`);
      const inode = r.u32();
      const owner = r.u64();
      const sessionid = r.u32();
      const pid = r.u32();
      const start = r.u64();
      const end = r.u64();
      const type = r.u8();
      if (inode === 0 && owner === 0n && sessionid === 0) return;
      if (!isOpen(sessionid, inode)) throw new RangeError(`PLCK record ${n}: lock on a file session ${sessionid} has not open (inode ${inode})`);
      if (!h || hinode !== inode || h.sessionid !== sessionid || h.owner !== owner) {
        h = { sessionid, owner, pid, ranges: [] };
        hinode = inode;
        this.px(inode).active.push(h);
      }
      const last = h.ranges[h.ranges.length - 1];
      if (last && start < last.end) throw new RangeError(`PLCK record ${n}: ranges out of order on inode ${inode}`);
      if (last && last.type === type && last.end === start) throw new RangeError(`PLCK record ${n}: adjacent ranges of one type on inode ${inode}`);
      h.ranges.push({ start, end, type });
    }
  }

  /** Forgets every lock (before a metadata file is loaded). */
  clear(): void {
    this.flocks.clear();
    this.posix.clear();
  }

  /** LIST_ACQUIRED_LOCKS counts (for tests and mfscli). */
  count(): { flock: number; posix: number } {
    let f = 0;
    let p = 0;
    for (const l of this.flocks.values()) f += l.active.length;
    for (const l of this.posix.values()) p += l.active.length;
    return { flock: f, posix: p };
  }
}
