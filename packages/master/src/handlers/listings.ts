import { array, blob32, struct, u8, u16, u32, Writer, type Fields } from '@mfs-ts/protocol';
import type { ExportEntry } from '../exports.js';
import { SESSION_STATS, type Session } from '../sessions.js';

// The older SESSION_LIST / EXPORTS_INFO forms (vmode below what mfscli 3.0.117 asks for), built from
// field definitions like every other layout. Facts: sessions_datafill (sessions.c) and
// exports_info_data (exports.c).

const limits = { mingoal: u8, maxgoal: u8, mintrashtime: u32, maxtrashtime: u32 };
const ids = { rootuid: u32, rootgid: u32, mapalluid: u32, mapallgid: u32 };
const stats = { stats: array(u32, SESSION_STATS * 2) };

/** Per vmode 0..3 session record layouts (vmode 4 is the protocol's sessionEntryV4). */
function sessionFields(vmode: number): Fields {
  if (vmode < 2) {
    return { sessionid: u32, peerip: u32, version: u32, info: blob32, path: blob32, sesflags: u8, ...ids, ...(vmode === 1 ? limits : {}), ...stats };
  }
  return {
    sessionid: u32, peerip: u32, version: u32, openfiles: u32, nsocks: u8, expire: u32, info: blob32, path: blob32, sesflags: u8,
    ...(vmode >= 3 ? { umask: u16 } : {}), ...ids, ...limits, ...stats,
  };
}

export interface SessionRow {
  session: Session;
  peerip: number;
  expire: number;
  path: Buffer;
}

/** Body of a SESSION_LIST reply after `statscount:16`, for vmode 0..3 (vmode < 2 lists connected sessions only). */
export function oldSessionList(vmode: number, rows: SessionRow[]): Buffer {
  const s = struct(sessionFields(vmode));
  const w = new Writer(1024);
  for (const r of rows) {
    const x = r.session;
    if (vmode < 2 && x.nsocks === 0) continue;
    s.write(w, {
      sessionid: x.id, peerip: vmode < 2 ? x.infopeerip : r.peerip, version: x.infoversion, openfiles: x.openFiles.size,
      nsocks: Math.min(255, x.nsocks), expire: r.expire >>> 0, info: x.info, path: r.path, sesflags: x.sesflags, umask: x.umask,
      rootuid: x.rootuid, rootgid: x.rootgid, mapalluid: x.mapalluid, mapallgid: x.mapallgid, mingoal: x.mingoal, maxgoal: x.maxgoal,
      mintrashtime: x.mintrashtime, maxtrashtime: x.maxtrashtime, stats: [...x.currentStats, ...x.lastHourStats],
    });
  }
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function exportFields(vmode: number): Fields {
  return {
    fromip: u32, toip: u32, path: blob32, minversion: u32, flags: u8, sesflags: u8,
    ...(vmode >= 2 ? { umask: u16 } : {}), ...ids, ...(vmode >= 1 ? limits : {}),
  };
}

/** The path an EXPORTS_INFO record shows: "." for meta, "/..." otherwise. */
export function exportPath(e: ExportEntry): Buffer {
  return e.meta ? Buffer.from('.') : Buffer.concat([Buffer.from('/'), e.path]);
}

/** EXPORTS_INFO body for vmode 0..2 (vmode 3 is the protocol's exportEntryV3). */
export function oldExportsInfo(vmode: number, entries: readonly ExportEntry[]): Buffer {
  const s = struct(exportFields(vmode));
  const w = new Writer(256);
  for (const e of entries) {
    s.write(w, {
      fromip: e.fromip, toip: e.toip, path: exportPath(e), minversion: e.minversion >>> 0, flags: (e.alldirs ? 1 : 0) + (e.needpassword ? 2 : 0),
      sesflags: e.sesflags, umask: e.umask, rootuid: e.rootuid, rootgid: e.rootgid, mapalluid: e.mapalluid, mapallgid: e.mapallgid,
      mingoal: e.mingoal, maxgoal: e.maxgoal, mintrashtime: e.mintrashtime, maxtrashtime: e.maxtrashtime,
    });
  }
  return Buffer.from(w.buf.subarray(0, w.pos));
}
