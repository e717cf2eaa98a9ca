import { array, Reader, struct, u8, u16, u32, u64, Writer } from '@mfs-ts/protocol';
import { SESFLAG_MAPALL } from '@mfs-ts/protocol';
import type { ExportGrant } from './exports.js';
import { nowSec } from './util.js';

/**
 * Client sessions (mfsmaster/sessions.c): a session outlives its TCP connection, so a mount that
 * reconnects (REGISTER_RECONNECT with its session id) keeps its open files; a session with no
 * connection is removed SESSION_SUSTAIN_TIME seconds after the last one went away, or at once when the
 * client closed it (REGISTER_CLOSESESSION).
 */

/** Per-session operation counters (SESSION_STATS in sessions.c); indexes as matoclserv counts them. */
export const SESSION_STATS = 16;
export const STAT = {
  STATFS: 0, GETATTR: 1, SETATTR: 2, LOOKUP: 3, MKDIR: 4, RMDIR: 5, SYMLINK: 6, READLINK: 7,
  MKNOD: 8, UNLINK: 9, RENAME: 10, LINK: 11, READDIR: 12, OPEN: 13, READ: 14, WRITE: 15,
} as const;

/** What a session keeps of its export grant (exports_check's out-parameters), plus its own. */
export interface SessionParams extends Omit<ExportGrant, 'entry'> {
  exportsChecksum: bigint;
  /** 0 = meta session. */
  rootinode: number;
  peerip: number;
  info: Buffer;
}

export class Session implements SessionParams {
  exportsChecksum = 0n;
  rootinode = 0;
  sesflags = 0;
  umask = 0;
  rootuid = 0;
  rootgid = 0;
  mapalluid = 0;
  mapallgid = 0;
  mingoal = 1;
  maxgoal = 9;
  mintrashtime = 0;
  maxtrashtime = 0xffffffff;
  disables = 0;
  peerip = 0;
  info: Buffer = Buffer.alloc(0);
  /** Live connections using this session. */
  nsocks = 0;
  closed = false;
  /** Time (s) the last connection went away; 0 while connected. */
  disconnected = 0;
  infopeerip = 0;
  infoversion = 0;
  readonly currentStats = new Uint32Array(SESSION_STATS);
  readonly lastHourStats = new Uint32Array(SESSION_STATS);
  /** Inodes this session holds open (of_openfile / of_sync in openfiles.c). */
  readonly openFiles = new Set<number>();

  constructor(readonly id: number) {}

  set(p: SessionParams): void {
    Object.assign(this, p);
  }

  /** uid/gid mapping the master applies to what a client sends (sessions_ugid_remap). */
  remap(uid: number, gid: number): { uid: number; gid: number } {
    if (uid === 0) return { uid: this.rootuid, gid: this.rootgid };
    if (this.sesflags & SESFLAG_MAPALL) return { uid: this.mapalluid, gid: this.mapallgid };
    return { uid, gid };
  }

  /** Whether a goal (storage class id 1..9) is allowed by the export (sessions_check_goal, SMODE_SET). */
  goalAllowed(goal: number): boolean {
    return goal >= this.mingoal && goal <= this.maxgoal;
  }

  trashtimeAllowed(t: number): boolean {
    return t >= this.mintrashtime && t <= this.maxtrashtime;
  }

  inc(stat: number): void {
    if (stat < SESSION_STATS) this.currentStats[stat]!++;
  }
}

export interface SessionEvents {
  /** A session was removed; its open files must be released. */
  removed?(s: Session): void;
  /** Changelog hooks (SESADD / SESCHANGED / SESDISCONNECTED / SESDEL records). */
  added?(s: Session): void;
  changed?(s: Session): void;
  disconnected?(s: Session): void;
}

/** The argument list MooseFS logs for a session (sessions.c SESADD / SESCHANGED), without the id. */
export function sessionLogArgs(s: Session, escape: (b: Buffer) => string): string {
  const umask = `0${s.umask.toString(8).padStart(3, '0')}`;
  const dis = `0x${s.disables.toString(16).toUpperCase().padStart(8, '0')}`;
  return [
    `#${s.exportsChecksum}`, s.rootinode, s.sesflags, umask, s.rootuid, s.rootgid, s.mapalluid, s.mapallgid, s.mingoal, s.maxgoal,
    s.mintrashtime, s.maxtrashtime, dis, s.peerip, escape(s.info),
  ].join(',');
}

export function grantParams(g: ExportGrant, rootinode: number, exportsChecksum: bigint, peerip: number, info: Buffer): SessionParams {
  return {
    exportsChecksum,
    rootinode,
    sesflags: g.sesflags,
    umask: g.umask,
    rootuid: g.rootuid,
    rootgid: g.rootgid,
    mapalluid: g.mapalluid,
    mapallgid: g.mapallgid,
    mingoal: g.mingoal,
    maxgoal: g.maxgoal,
    mintrashtime: g.mintrashtime,
    maxtrashtime: g.maxtrashtime,
    disables: g.disables,
    peerip,
    info: Buffer.from(info),
  };
}

/**
 * One SESS 1.5 record of metadata.mfs (sessions_store in sessions.c); the info string (ileng bytes)
 * follows it. A record with session id 0 ends the list.
 */
const sessRecord = struct({
  sessionid: u32, exportscsum: u64, ileng: u32, peerip: u32, rootinode: u32, sesflags: u8, umask: u16, mingoal: u8, maxgoal: u8,
  mintrashtime: u32, maxtrashtime: u32, rootuid: u32, rootgid: u32, mapalluid: u32, mapallgid: u32, disables: u32, disconnected: u32,
  stats: array(u32, SESSION_STATS * 2),
});
export const SESS_VERSION = 0x15;

export class Sessions {
  private readonly byId = new Map<number, Session>();
  private nextId = 1;
  private readonly started = nowSec();

  constructor(
    public sustainTime = 86400,
    private readonly events: SessionEvents = {},
  ) {}

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  find(id: number): Session | undefined {
    return id === 0 ? undefined : this.byId.get(id);
  }

  create(p: SessionParams): Session {
    const s = new Session(this.nextId++);
    if (this.nextId > 0xffffffff) this.nextId = 1;
    s.set(p);
    this.byId.set(s.id, s);
    this.events.added?.(s);
    return s;
  }

  /** A known session registered again with new export parameters (sessions_chg_session). */
  change(s: Session, p: SessionParams): void {
    s.set(p);
    this.events.changed?.(s);
  }

  /** Replay of SESADD / SESCHANGED (restore): the session with exactly this id. */
  replayAdd(id: number, p: SessionParams): Session {
    let s = this.byId.get(id);
    if (!s) {
      s = new Session(id);
      this.byId.set(id, s);
    }
    s.set(p);
    s.disconnected = nowSec();
    if (id >= this.nextId) this.nextId = id + 1;
    return s;
  }

  replayDel(id: number): void {
    const s = this.byId.get(id);
    if (s) this.remove(s);
  }

  /** A connection starts using the session (sessions_attach_session). */
  attach(s: Session, peerip: number, version: number): void {
    s.closed = false;
    s.nsocks++;
    s.infopeerip = peerip;
    s.infoversion = version;
    s.disconnected = 0;
  }

  /** A connection using the session went away (sessions_disconnection). */
  detach(s: Session): void {
    if (s.nsocks > 0) s.nsocks--;
    if (s.nsocks === 0) {
      s.disconnected = nowSec();
      if (this.byId.has(s.id)) this.events.disconnected?.(s);
    }
  }

  /** REGISTER_CLOSESESSION: the session goes at the next check if this was its only connection. */
  close(id: number): void {
    const s = this.find(id);
    if (s && s.nsocks === 1) s.closed = true;
  }

  /** Removes sessions without connections that were closed or outlived the sustain time (sessions_check). */
  check(now = nowSec(), force = false): Session[] {
    const removed: Session[] = [];
    if (!force && this.started + 120 > now) {
      // MooseFS gives reconnecting clients two minutes after a start; only closed sessions go earlier.
      for (const s of this.byId.values()) if (s.nsocks === 0 && s.closed) removed.push(s);
    } else {
      for (const s of this.byId.values()) {
        if (s.nsocks === 0 && (s.closed || s.disconnected + this.sustainTime < now)) removed.push(s);
      }
    }
    for (const s of removed) this.remove(s);
    return removed;
  }

  remove(s: Session): void {
    if (!this.byId.delete(s.id)) return;
    this.events.removed?.(s);
    s.openFiles.clear();
  }

  /** Moves the current counters to the last-hour ones (sessions_statsmove, hourly). */
  statsMove(): void {
    for (const s of this.byId.values()) {
      s.lastHourStats.set(s.currentStats);
      s.currentStats.fill(0);
    }
  }

  /** The SESS section body (sessions_store): open sessions only, closed ones are not kept. */
  store(): Buffer {
    const w = new Writer(1024);
    w.u32(this.nextId).u16(SESSION_STATS);
    for (const x of this.byId.values()) {
      if (x.closed) continue;
      sessRecord.write(w, {
        sessionid: x.id, exportscsum: x.exportsChecksum, ileng: x.info.length, peerip: x.peerip, rootinode: x.rootinode, sesflags: x.sesflags,
        umask: x.umask, mingoal: x.mingoal, maxgoal: x.maxgoal, mintrashtime: x.mintrashtime, maxtrashtime: x.maxtrashtime,
        rootuid: x.rootuid, rootgid: x.rootgid, mapalluid: x.mapalluid, mapallgid: x.mapallgid, disables: x.disables,
        disconnected: x.nsocks > 0 ? nowSec() : x.disconnected, stats: [...x.currentStats, ...x.lastHourStats],
      });
      w.bytes(x.info);
    }
    w.zeros(61 + SESSION_STATS * 8);
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  /** Loads a SESS 1.5 section (sessions_load); every session starts disconnected. */
  load(data: Buffer): void {
    const r = new Reader(data);
    this.nextId = Math.max(1, r.u32());
    const nstats = r.u16();
    if (nstats !== SESSION_STATS) throw new RangeError(`SESS section with ${nstats} stats per session, expected ${SESSION_STATS}`);
    for (;;) {
      const v = sessRecord.read(r);
      if (v.sessionid === 0) break;
      const info = Buffer.from(r.bytes(v.ileng));
      const x = new Session(v.sessionid);
      x.set({
        exportsChecksum: v.exportscsum, rootinode: v.rootinode, sesflags: v.sesflags, umask: v.umask, rootuid: v.rootuid, rootgid: v.rootgid,
        mapalluid: v.mapalluid, mapallgid: v.mapallgid, mingoal: v.mingoal, maxgoal: v.maxgoal, mintrashtime: v.mintrashtime,
        maxtrashtime: v.maxtrashtime, disables: v.disables, peerip: v.peerip, info,
      });
      x.disconnected = v.disconnected || nowSec();
      x.currentStats.set(v.stats.slice(0, SESSION_STATS));
      x.lastHourStats.set(v.stats.slice(SESSION_STATS));
      this.byId.set(x.id, x);
      if (x.id >= this.nextId) this.nextId = x.id + 1;
    }
  }
}
