import {
  ANTOAN_GET_VERSION,
  AntoanGetVersion,
  AntoanVersion,
  CLTOMA_CHUNKS_MATRIX,
  CLTOMA_CSERV_LIST,
  CLTOMA_EXPORTS_INFO,
  CLTOMA_INFO,
  CLTOMA_MEMORY_INFO,
  CLTOMA_MLOG_LIST,
  CLTOMA_SESSION_LIST,
  CltomaChunksMatrix,
  CltomaCservList,
  CltomaExportsInfo,
  CltomaInfo,
  CltomaMemoryInfo,
  CltomaMlogList,
  CltomaSessionList,
  MatoclChunksMatrix,
  MatoclCservList,
  MatoclExportsInfo,
  MatoclInfo,
  MatoclMemoryInfo,
  MatoclMlogList,
  MatoclSessionList,
  VERSHEX,
  VERSSTR,
  CLTOMA_LIST_ACQUIRED_LOCKS,
  CLTOMA_LIST_OPEN_FILES,
  CLTOMA_MISSING_CHUNKS,
  CLTOMA_SCLASS_INFO,
  CltomaListAcquiredLocks,
  CltomaListOpenFiles,
  CltomaMissingChunks,
  CltomaSclassInfo,
  MatoclListAcquiredLocks,
  MatoclListOpenFiles,
  MatoclMissingChunks,
  MatoclSclassInfo,
  CLTOMA_CHUNKSTEST_INFO,
  CLTOMA_FSTEST_INFO,
  CLTOMA_QUOTA_INFO,
  CltomaChunkstestInfo,
  CltomaFstestInfo,
  CltomaQuotaInfo,
  MatoclChunkstestInfo,
  MatoclFstestInfo,
  MatoclQuotaInfo,
  TYPE_DIRECTORY,
  TYPE_FILE,
  TYPE_SUSTAINED,
  TYPE_TRASH,
  CLTOMA_CSSERV_COMMAND,
  CLTOMA_SESSION_COMMAND,
  CltomaCsservCommand,
  CltomaSessionCommand,
  MatoclCsservCommand,
  MatoclSessionCommand,
  MFS_ERROR_ACTIVE,
  MFS_ERROR_EINVAL,
  MFS_ERROR_NOTFOUND,
  MFS_STATUS_OK,
  AntoclModuleInfo,
  CLTOAN_CHART,
  CLTOAN_CHART_DATA,
  CLTOAN_MODULE_INFO,
  CLTOAN_MONOTONIC_DATA,
  CltoanChart,
  CltoanChartData,
  CltoanModuleInfo,
  CltoanMonotonicData,
  Writer,
  list,
  struct,
  u8,
  u32,
  u64,
} from '@mfs-ts/protocol';
import { chartDataPacket, chartPacket, monotonicPacket } from '@mfs-ts/common';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { MFS_ROOT_ID } from '../fs/index.js';
import type { Session } from '../sessions.js';
import { nowSec } from '../util.js';
import { labelsMatch } from '../chunks.js';
import { exportPath, oldExportsInfo, oldSessionList } from './listings.js';

// Requests mfscli and the CGI send without registering (matoclserv_info, _cserv_list,
// _session_list, _exports_info, _mlog_list, _memory_info, _chunks_matrix) and ANTOAN_GET_VERSION.

const ROOT = { uid: 0, gids: [0], sesflags: 0, rootinode: MFS_ROOT_ID };

function getVersion(c: ClConn, p: Buffer): void {
  const v = c.decode(AntoanGetVersion, p);
  if (!v) return;
  const vstring = Buffer.from(VERSSTR);
  if (v.$v === 'msgid') c.sendMsg(AntoanVersion, { $v: 'msgid', msgid: v.msgid, version: VERSHEX, vstring });
  else c.sendMsg(AntoanVersion, { $v: 'bare', version: VERSHEX, vstring });
}

function space(c: ClConn): { total: number; avail: number } {
  let total = 0;
  let avail = 0;
  for (const cs of c.ctx.cs.registered()) {
    total += cs.totalspace;
    avail += Math.max(0, cs.totalspace - cs.usedspace);
  }
  return { total, avail };
}

function info(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaInfo, p)) return;
  const s = c.ctx.ns.statfs(ROOT);
  const sp = space(c);
  const ci = c.ctx.registry.info();
  const cpu = process.cpuUsage();
  let dirnodes = 0;
  let filenodes = 0;
  for (const n of c.ctx.ns.tree.nodes.values()) {
    if (n.type === TYPE_DIRECTORY) dirnodes++;
    else if (n.type === TYPE_FILE || n.type === TYPE_TRASH || n.type === TYPE_SUSTAINED) filenodes++;
  }
  c.sendMsg(MatoclInfo, {
    version: VERSHEX,
    memusage: BigInt(process.memoryUsage().rss),
    // MooseFS reports CPU as a fraction * 10^7 (mfscli divides by 10,000,000); give the average since start.
    syscpu: BigInt(Math.round((cpu.system / 1e6 / Math.max(1, process.uptime())) * 1e7)),
    usercpu: BigInt(Math.round((cpu.user / 1e6 / Math.max(1, process.uptime())) * 1e7)),
    totalspace: BigInt(sp.total),
    availspace: BigInt(sp.avail),
    freespace: BigInt(sp.avail),
    trashspace: BigInt(s.trashspace),
    trashnodes: 0,
    sustainedspace: BigInt(s.sustainedspace),
    sustainednodes: 0,
    inodes: s.inodes,
    dirnodes,
    filenodes,
    chunks: ci.chunks,
    chunkcopies: ci.copies,
    tdcopies: ci.copies - ci.validCopies,
    laststore: 0,
    laststoretime: 0,
    laststorestatus: 0,
    // workingstate/nextstate/stablestate/sync = 0xFF: a master without the Pro HA states (leader).
    pad: [0xff, 0xff, 0xff, 0xff],
    zero1: 0,
    zero2: 0,
    metaversion: c.ctx.metaversion(),
    exportschecksum: c.ctx.exports().checksum,
    utime: BigInt(Date.now()) * 1000n,
    zero3: 0,
  });
}

function cservList(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaCservList, p)) return;
  const servers = [...c.ctx.cs.conns].filter((cs) => cs.begun).map((cs) => ({
    flagsVersion: (cs.version & 0xffffff) >>> 0,
    ip: cs.ip,
    port: cs.port,
    csid: cs.csid,
    usedspace: BigInt(cs.usedspace),
    totalspace: BigInt(cs.totalspace),
    chunks: cs.chunkscount,
    tdusedspace: BigInt(cs.tdusedspace),
    tdtotalspace: BigInt(cs.tdtotalspace),
    tdchunks: cs.tdchunkscount,
    errorcounter: cs.errorcounter,
    load: cs.load,
    gracetime: cs.hlstatus === 2 ? 0xc0000000 : cs.hlstatus === 3 ? 0x80000000 : 0,
    labelmask: cs.labelmask,
    mfrstatus: 0,
  }));
  c.sendMsg(MatoclCservList, { servers });
}

/** The path a session's root has, as mfscli shows it ("/" for the whole tree). */
function rootPath(c: ClConn, inode: number): Buffer {
  if (inode === MFS_ROOT_ID) return Buffer.from('/');
  const r = c.ctx.ns.getPaths(ROOT, inode);
  if (r.ok && r.value.length > 0) {
    const p = r.value[0]!;
    return p[0] === 0x2f ? p : Buffer.concat([Buffer.from('/'), p]);
  }
  return Buffer.from('?');
}

function sessionList(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSessionList, p);
  if (!v) return;
  const vmode = v.$v === 'vmode' ? v.vmode : 0;
  const sessions = c.ctx.sessions;
  if (vmode >= 4) {
    const now = nowSec();
    const expire = (s: Session) => (s.nsocks > 0 ? 0xffffffff : s.closed || s.disconnected + sessions.sustainTime < now ? 0 : s.disconnected + sessions.sustainTime - now);
    c.sendMsg(MatoclSessionList, {
      $v: 'v4',
      statscount: 16,
      sessions: [...sessions.all()].map((s) => ({
        sessionid: s.id,
        peerip: s.infopeerip === 0 && s.peerip !== 0 ? s.peerip : s.infopeerip,
        version: s.infoversion,
        openfiles: s.openFiles.size,
        nsocks: Math.min(255, s.nsocks),
        expire: expire(s) >>> 0,
        info: s.info,
        path: s.rootinode === 0 ? Buffer.from('.') : rootPath(c, s.rootinode),
        sesflags: s.sesflags,
        umask: s.umask,
        rootuid: s.rootuid,
        rootgid: s.rootgid,
        mapalluid: s.mapalluid,
        mapallgid: s.mapallgid,
        mingoal: s.mingoal,
        maxgoal: s.maxgoal,
        mintrashtime: s.mintrashtime,
        maxtrashtime: s.maxtrashtime,
        disables: s.disables,
        stats: [...s.currentStats, ...s.lastHourStats],
      })),
    });
    return;
  }
  const now = nowSec();
  const rows = [...sessions.all()].map((s) => ({
    session: s,
    peerip: s.infopeerip === 0 && s.peerip !== 0 ? s.peerip : s.infopeerip,
    expire: s.nsocks > 0 ? 0xffffffff : s.closed || s.disconnected + sessions.sustainTime < now ? 0 : s.disconnected + sessions.sustainTime - now,
    path: s.rootinode === 0 ? Buffer.from('.') : rootPath(c, s.rootinode),
  }));
  c.sendMsg(MatoclSessionList, { $v: 'raw', statscount: 16, data: oldSessionList(vmode, rows) });
}

function exportsInfo(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaExportsInfo, p);
  if (!v) return;
  const vmode = v.$v === 'vmode' ? v.vmode : 0;
  const ex = c.ctx.exports();
  if (vmode >= 3) {
    c.sendMsg(MatoclExportsInfo, {
      $v: 'v3',
      exports: ex.entries.map((e) => ({
        fromip: e.fromip, toip: e.toip, path: exportPath(e),
        minversion: e.minversion, flags: (e.alldirs ? 1 : 0) + (e.needpassword ? 2 : 0), sesflags: e.sesflags, umask: e.umask,
        rootuid: e.rootuid, rootgid: e.rootgid, mapalluid: e.mapalluid, mapallgid: e.mapallgid, mingoal: e.mingoal, maxgoal: e.maxgoal,
        mintrashtime: e.mintrashtime, maxtrashtime: e.maxtrashtime, disables: e.disables,
      })),
    });
    return;
  }
  c.sendMsg(MatoclExportsInfo, { $v: 'raw', data: oldExportsInfo(vmode, ex.entries) });
}

function mlogList(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaMlogList, p)) return;
  c.sendMsg(MatoclMlogList, { loggers: c.ctx.metaloggers() });
}

function memoryInfo(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaMemoryInfo, p)) return;
  const m = process.memoryUsage();
  const usage = Array.from({ length: 11 }, () => ({ allocated: 0n, used: 0n }));
  // No C-style hash tables here: report the JS heap as the node table, the rest as zero.
  usage[3] = { allocated: BigInt(m.heapTotal), used: BigInt(m.heapUsed) };
  c.sendMsg(MatoclMemoryInfo, { usage });
}

function chunksMatrix(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaChunksMatrix, p);
  if (!v) return;
  const m = (id: number) => {
    const b = c.ctx.registry.matrix(id);
    return Array.from({ length: 121 }, (_, i) => b.readUInt32BE(i * 4));
  };
  if (v.$v === 'one') c.sendMsg(MatoclChunksMatrix, { $v: 'one', matrix: m(v.matrixid) });
  else c.sendMsg(MatoclChunksMatrix, { $v: 'both', progress: 0, allMatrix: m(0), regularMatrix: m(1) });
}

/**
 * MISSING_CHUNKS (missinglog.c): file chunks without a valid copy, with the reason (0 no copy, 1 only
 * invalid copies, 2 only wrong versions). Computed on request from the file table; empty while no
 * chunkserver is registered (nothing can be told apart then).
 */
function missingChunks(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaMissingChunks, p);
  if (!v) return;
  const chunks: Array<{ chunkid: number; inode: number; indx: number; type: number }> = [];
  if (c.ctx.registry.serverCount() > 0) {
    for (const n of c.ctx.ns.tree.nodes.values()) {
      for (let indx = 0; indx < n.chunks.length && chunks.length < 100000; indx++) {
        const id = n.chunks[indx]!;
        if (id === 0) continue;
        const t = c.ctx.registry.missingType(id);
        if (t !== undefined) chunks.push({ chunkid: id, inode: n.inode, indx, type: t });
      }
    }
  }
  if (v.$v === 'mode') c.sendMsg(MatoclMissingChunks, { $v: 'typed', chunks });
  else c.sendMsg(MatoclMissingChunks, { $v: 'plain', chunks: chunks.map(({ chunkid, inode, indx }) => ({ chunkid, inode, indx })) });
}

/** of_lsof: `sessionid inode` pairs for session 0 (all), else the inodes of that session. */
const lsofAll = list(struct({ sessionid: u32, inode: u32 }), 'rest');
const lsofOne = list(u32, 'rest');
function listOpenFiles(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaListOpenFiles, p);
  if (!v) return;
  const w = new Writer(256);
  if (v.$v === 'msgid') w.u32(v.msgid);
  if (v.sessionid === 0) {
    lsofAll.write(w, [...c.ctx.sessions.all()].flatMap((s) => [...s.openFiles].map((inode) => ({ sessionid: s.id, inode }))));
  } else {
    lsofOne.write(w, [...(c.ctx.sessions.find(v.sessionid)?.openFiles ?? [])]);
  }
  c.sendMsg(MatoclListOpenFiles, { data: Buffer.from(w.buf.subarray(0, w.pos)) });
}

/** LIST_ACQUIRED_LOCKS: 37-byte rows with the inode when asked for all (inode 0), else 33-byte rows. */
const lockRowAll = list(struct({ inode: u32, sessionid: u32, owner: u64, pid: u32, start: u64, end: u64, type: u8 }), 'rest');
const lockRowOne = list(struct({ sessionid: u32, owner: u64, pid: u32, start: u64, end: u64, type: u8 }), 'rest');
function listAcquiredLocks(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaListAcquiredLocks, p);
  if (!v) return;
  const w = new Writer(64);
  if (v.$v === 'msgid') w.u32(v.msgid);
  const rows = c.ctx.locks.list(v.inode);
  if (v.inode === 0) lockRowAll.write(w, rows);
  else lockRowOne.write(w, rows);
  c.sendMsg(MatoclListAcquiredLocks, { data: Buffer.from(w.buf.subarray(0, w.pos)) });
}

/**
 * SCLASS_INFO (sclass_info in storageclass.c, mfscli -SSC): every defined class with its file and
 * directory counts, chunks under/at/over its goal (plain goals), and per label expression the
 * servers that match it and whether the expressions can all be fulfilled at once.
 */
function sclassInfo(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaSclassInfo, p)) return;
  const servers = c.ctx.registry.serverCount();
  const m = c.ctx.registry.matrix(1);
  const files = new Map<number, number>();
  const dirs = new Map<number, number>();
  for (const n of c.ctx.ns.tree.nodes.values()) {
    if (n.type === TYPE_DIRECTORY) dirs.set(n.sclassid, (dirs.get(n.sclassid) ?? 0) + 1);
    else if (n.isFile) files.set(n.sclassid, (files.get(n.sclassid) ?? 0) + 1);
  }
  const classes = [];
  for (const [id, sc] of c.ctx.ns.sclasses.entries()) {
    const goal = c.ctx.ns.sclasses.keepMax(id);
    let under = 0n;
    let exact = 0n;
    let over = 0n;
    // The registry's matrix is by goal, not by class: plain goals only.
    if (id < 10) {
      for (let copies = 0; copies <= 10; copies++) {
        const n = BigInt(m.readUInt32BE((Math.min(goal, 10) * 11 + copies) * 4));
        if (copies < goal) under += n;
        else if (copies === goal) exact += n;
        else over += n;
      }
    }
    // chunk_labelset_can_be_fulfilled: 3 = enough servers.
    const reg = c.ctx.registry;
    const labels = reg.serverLabels();
    const group = (exprs: number[][]) => ({
      flag: reg.canFulfil(exprs),
      items: exprs.map((masks) => ({ masks, servers: labels.filter((l) => labelsMatch(masks, l)).length })),
    });
    classes.push({
      id, name: sc.name, files: files.get(id) ?? 0, dirs: dirs.get(id) ?? 0, stdUnder: under, archUnder: 0n, stdExact: exact, archExact: 0n,
      stdOver: over, archOver: 0n, adminOnly: sc.adminOnly, mode: sc.mode, archDelay: sc.archDelay, labels: sc.labels.map(group),
    });
  }
  c.sendMsg(MatoclSclassInfo, { servers, classes });
}

/** FSTEST_INFO (fs_test_getdata): the namespace checker loop has not run; all counters zero. */
function fstestInfo(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFstestInfo, p);
  if (!v) return;
  const z = { loopstart: 0, loopend: 0, files: 0, ugfiles: 0, mfiles: 0, chunks: 0, ugchunks: 0, mchunks: 0, msg: Buffer.alloc(0) };
  if (v.$v === 'ext') c.sendMsg(MatoclFstestInfo, { $v: 'ext', ...z, mtfiles: 0, msfiles: 0 });
  else c.sendMsg(MatoclFstestInfo, { $v: 'old', ...z });
}

/** CHUNKSTEST_INFO (chunk_store_info): loop times and job counters. */
function chunkstestInfo(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaChunkstestInfo, p)) return;
  const s = c.ctx.registry.stats;
  const counters = new Array<number>(18).fill(0);
  counters[0] = c.ctx.startTime;
  counters[1] = nowSec();
  counters[2] = s.deletes;
  counters[6] = s.replications;
  c.sendMsg(MatoclChunkstestInfo, { counters });
}

/** QUOTA_INFO (fs_getquotainfo, mfscli -SQU): every quota directory, its limits (unset ones 0) and usage. */
function quotaInfo(c: ClConn, p: Buffer): void {
  if (!c.decode(CltomaQuotaInfo, p)) return;
  const now = nowSec();
  const quotas = c.ctx.ns.quotaList().map(({ inode, quota: q, stats }) => {
    const paths = c.ctx.ns.getPaths(ROOT, inode);
    // fs_getquotainfo: '/' and the path from the root
    const rel = paths.ok && paths.value.length > 0 ? paths.value[0]! : Buffer.alloc(0);
    const path = rel[0] === 0x2f ? rel : Buffer.concat([Buffer.from('/'), rel]);
    // time to block: none while under the soft limits, 0 once the grace period is over
    const timetoblock = q.stimestamp === 0 ? 0xffffffff : q.stimestamp + q.graceperiod < now ? 0 : q.stimestamp + q.graceperiod - now;
    const lim = (i: number, l: number, sz: number, rs: number, bits: [number, number, number, number]) => ({
      inodes: q.flags & bits[0] ? i : 0, length: BigInt(q.flags & bits[1] ? l : 0), size: BigInt(q.flags & bits[2] ? sz : 0), realsize: BigInt(q.flags & bits[3] ? rs : 0),
    });
    return {
      inode, path, graceperiod: q.graceperiod, exceeded: q.exceeded, flags: q.flags, timetoblock,
      soft: lim(q.sinodes, q.slength, q.ssize, q.srealsize, [0x01, 0x02, 0x04, 0x08]),
      hard: lim(q.hinodes, q.hlength, q.hsize, q.hrealsize, [0x10, 0x20, 0x40, 0x80]),
      current: { inodes: stats.inodes, length: BigInt(stats.length), size: BigInt(stats.size), realsize: BigInt(stats.realsize) },
    };
  });
  c.sendMsg(MatoclQuotaInfo, { quotas });
}

/** mfscli -CRS (sessions_force_remove): only a session without connections can go. */
function sessionCommand(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaSessionCommand, p);
  if (!v) return;
  let status: number = MFS_ERROR_EINVAL;
  if (v.cmd === 0) {
    const s = c.ctx.sessions.find(v.sessionid);
    if (!s) status = MFS_ERROR_NOTFOUND;
    else if (s.nsocks > 0) status = MFS_ERROR_ACTIVE;
    else {
      c.ctx.sessions.remove(s);
      status = MFS_STATUS_OK;
    }
  }
  c.sendMsg(MatoclSessionCommand, { status });
}

/** mfscli -CRC (remove a disconnected chunkserver); maintenance commands are not supported (EINVAL). */
function csservCommand(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaCsservCommand, p);
  if (!v) return;
  const cmd = v.$v === 'remove' ? 0 : v.cmd;
  const status = cmd === 0 ? c.ctx.registry.removeServer(v.ip, v.port) : MFS_ERROR_EINVAL;
  if (v.$v === 'remove') c.sendMsg(MatoclCsservCommand, { $v: 'empty' });
  else c.sendMsg(MatoclCsservCommand, { $v: 'status', status });
}

// Charts (CLTOAN_CHART / _CHART_DATA / _MONOTONIC_DATA, matoclserv_chart...): from the master's
// statistics (charts.ts, fed once a minute).
function chart(c: ClConn, p: Buffer): void {
  const v = c.decode(CltoanChart, p);
  if (v) c.conn.send(chartPacket(c.ctx.charts.store, v));
}
function chartData(c: ClConn, p: Buffer): void {
  const v = c.decode(CltoanChartData, p);
  if (v) c.conn.send(chartDataPacket(c.ctx.charts.store, v));
}
function monotonicData(c: ClConn, p: Buffer): void {
  if (c.decode(CltoanMonotonicData, p)) c.conn.send(monotonicPacket(c.ctx.charts.store));
}

/** CLTOAN_MODULE_INFO (matoclserv_module_info): MODULE_TYPE_MASTER, version, metaid. */
function moduleInfo(c: ClConn, p: Buffer): void {
  const v = c.decode(CltoanModuleInfo, p);
  if (!v) return;
  const body = { moduletype: 1, version: VERSHEX, csid: 0, metaid: c.ctx.metaid(), ip: 0, port: 0 };
  if (v.$v === 'msgid') c.sendMsg(AntoclModuleInfo, { $v: 'msgid', msgid: v.msgid, ...body });
  else c.sendMsg(AntoclModuleInfo, { $v: 'bare', ...body });
}

const handlers = {
  [CLTOAN_CHART]: chart,
  [CLTOAN_CHART_DATA]: chartData,
  [CLTOAN_MONOTONIC_DATA]: monotonicData,
  [CLTOAN_MODULE_INFO]: moduleInfo,
  [CLTOMA_SESSION_COMMAND]: sessionCommand,
  [CLTOMA_CSSERV_COMMAND]: csservCommand,
  [CLTOMA_FSTEST_INFO]: fstestInfo,
  [CLTOMA_CHUNKSTEST_INFO]: chunkstestInfo,
  [CLTOMA_QUOTA_INFO]: quotaInfo,
  [CLTOMA_MISSING_CHUNKS]: missingChunks,
  [CLTOMA_LIST_OPEN_FILES]: listOpenFiles,
  [CLTOMA_LIST_ACQUIRED_LOCKS]: listAcquiredLocks,
  [CLTOMA_SCLASS_INFO]: sclassInfo,
  [ANTOAN_GET_VERSION]: getVersion,
  [CLTOMA_INFO]: info,
  [CLTOMA_CSERV_LIST]: cservList,
  [CLTOMA_SESSION_LIST]: sessionList,
  [CLTOMA_EXPORTS_INFO]: exportsInfo,
  [CLTOMA_MLOG_LIST]: mlogList,
  [CLTOMA_MEMORY_INFO]: memoryInfo,
  [CLTOMA_CHUNKS_MATRIX]: chunksMatrix,
};

export const adminHandlers: HandlerGroup = { unregistered: handlers, session: handlers };
