import { array, blob32, flaggedLists, list, name, rest, struct, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Monitoring / administration requests that mfscli and the CGI (mfsscripts/mfscli.py.in) send to the
// master without registering, and the replies mfsmaster/matoclserv.c builds (data from csdb.c,
// sessions.c, exports.c, chunks.c, matomlserv.c, missinglog.c ...). No msgid unless noted.

export const CltomaCservList = msg('CLTOMA_CSERV_LIST', {});
/**
 * N*69 bytes (csdb_servlist_data): `flags_version:32` (bits 24..31: 1 = disconnected, 2/4 = HL status
 * bits; low 24 bits: version word) `ip:32 port:16 csid:16 used:64 total:64 chunks:32 tdused:64
 * tdtotal:64 tdchunks:32 errors:32 load:32 gracetime:32 labelmask:32 mfrstatus:8`.
 */
export const cservEntry = struct({
  flagsVersion: u32, ip: u32, port: u16, csid: u16, usedspace: u64, totalspace: u64, chunks: u32,
  tdusedspace: u64, tdtotalspace: u64, tdchunks: u32, errorcounter: u32, load: u32, gracetime: u32, labelmask: u32, mfrstatus: u8,
});
export const MatoclCservList = msg('MATOCL_CSERV_LIST', { servers: list(cservEntry, 'rest') });
/** `ip:32 port:16` (remove, answered with an empty packet) or `cmd:8 ip:32 port:16` (answered with status:8). */
export const CltomaCsservCommand = vmsg('CLTOMA_CSSERV_COMMAND', {
  remove: { match: when.length(6), fields: { ip: u32, port: u16 } },
  cmd: { fields: { cmd: u8, ip: u32, port: u16 } },
});
export const MatoclCsservCommand = vmsg('MATOCL_CSSERV_COMMAND', {
  empty: { match: when.length(0), fields: {} },
  status: { fields: { status: u8 } },
});

/** `[vmode:8]`; mfscli 3.0.117 sends vmode 4. */
export const CltomaSessionList = vmsg('CLTOMA_SESSION_LIST', {
  v0: { match: when.length(0), fields: {} },
  vmode: { fields: { vmode: u8 } },
});
/**
 * vmode 4 (sessions_datafill): `statscount:16` then per session `sessionid:32 peerip:32 version:32
 * openfiles:32 nsocks:8 expire:32 ileng:32 info plen:32 path sesflags:8 umask:16 rootuid rootgid
 * mapalluid mapallgid mingoal:8 maxgoal:8 mintrashtime:32 maxtrashtime:32 disables:32
 * statscount*curstats:32 statscount*lasthourstats:32`. Lower vmodes drop fields; they decode as `raw`.
 */
export const sessionEntryV4 = struct({
  sessionid: u32, peerip: u32, version: u32, openfiles: u32, nsocks: u8, expire: u32, info: blob32, path: blob32,
  sesflags: u8, umask: u16, rootuid: u32, rootgid: u32, mapalluid: u32, mapallgid: u32, mingoal: u8, maxgoal: u8,
  mintrashtime: u32, maxtrashtime: u32, disables: u32, stats: array(u32, 32),
});
export const MatoclSessionList = vmsg('MATOCL_SESSION_LIST', {
  v4: { match: (p) => p.length >= 2 && p.readUInt16BE(0) === 16, fields: { statscount: u16, sessions: list(sessionEntryV4, 'rest') } },
  raw: { fields: { statscount: u16, data: rest } },
});
/** `cmd:8 sessionid:32` (MFS_SESSION_COMMAND_REMOVE = 0) -> status:8. */
export const CltomaSessionCommand = msg('CLTOMA_SESSION_COMMAND', { cmd: u8, sessionid: u32 });
export const MatoclSessionCommand = msg('MATOCL_SESSION_COMMAND', { status: u8 });

export const CltomaInfo = msg('CLTOMA_INFO', {});
/** 149 bytes (matoclserv_info). */
export const MatoclInfo = msg('MATOCL_INFO', {
  version: u32, memusage: u64, syscpu: u64, usercpu: u64, totalspace: u64, availspace: u64, freespace: u64,
  trashspace: u64, trashnodes: u32, sustainedspace: u64, sustainednodes: u32, inodes: u32, dirnodes: u32, filenodes: u32,
  chunks: u32, chunkcopies: u32, tdcopies: u32, laststore: u32, laststoretime: u32, laststorestatus: u8,
  pad: array(u8, 4), zero1: u32, zero2: u32, metaversion: u64, exportschecksum: u64, utime: u64, zero3: u32,
});
export const CltomaFstestInfo = vmsg('CLTOMA_FSTEST_INFO', {
  old: { match: when.length(0), fields: {} },
  ext: { fields: { mode: u8 } },
});
/** `loopstart loopend files ugfiles mfiles [mtfiles msfiles] chunks ugchunks mchunks msgleng:32 msg`. */
export const MatoclFstestInfo = vmsg('MATOCL_FSTEST_INFO', {
  ext: { fields: { loopstart: u32, loopend: u32, files: u32, ugfiles: u32, mfiles: u32, mtfiles: u32, msfiles: u32, chunks: u32, ugchunks: u32, mchunks: u32, msg: blob32 } },
  old: { fields: { loopstart: u32, loopend: u32, files: u32, ugfiles: u32, mfiles: u32, chunks: u32, ugchunks: u32, mchunks: u32, msg: blob32 } },
});
export const CltomaChunkstestInfo = msg('CLTOMA_CHUNKSTEST_INFO', {});
/** 18 counters (chunk_store_info): loop start/end, then done/notdone pairs of the replication jobs. */
export const MatoclChunkstestInfo = msg('MATOCL_CHUNKSTEST_INFO', { counters: array(u32, 18) });
export const CltomaChunksMatrix = vmsg('CLTOMA_CHUNKS_MATRIX', {
  both: { match: when.length(0), fields: {} },
  one: { fields: { matrixid: u8 } },
});
/** One 11x11 matrix of u32 (484 bytes), or `progress:8` and both matrices (969 bytes). */
export const MatoclChunksMatrix = vmsg('MATOCL_CHUNKS_MATRIX', {
  one: { match: when.length(484), fields: { matrix: array(u32, 121) } },
  both: { fields: { progress: u8, allMatrix: array(u32, 121), regularMatrix: array(u32, 121) } },
});
export const CltomaQuotaInfo = msg('CLTOMA_QUOTA_INFO', {});
/**
 * fs_getquotainfo: per quota node `inode:32 path:blob32 graceperiod:32 exceeded:8 flags:8
 * timetoblock:32` then soft, hard and current `inodes:32 length:64 size:64 realsize:64` (unset limits 0).
 */
const quotaTriple = struct({ inodes: u32, length: u64, size: u64, realsize: u64 });
export const quotaEntry = struct({
  inode: u32, path: blob32, graceperiod: u32, exceeded: u8, flags: u8, timetoblock: u32, soft: quotaTriple, hard: quotaTriple, current: quotaTriple,
});
export const MatoclQuotaInfo = msg('MATOCL_QUOTA_INFO', { quotas: list(quotaEntry, 'rest') });
/** `[vmode:8]` (mfscli 3.0.117: 3). */
export const CltomaExportsInfo = vmsg('CLTOMA_EXPORTS_INFO', {
  v0: { match: when.length(0), fields: {} },
  vmode: { fields: { vmode: u8 } },
});
/**
 * vmode 3 (exports_info_data): per rule `fromip:32 toip:32 plen:32 path minversion:32 flags:8
 * sesflags:8 umask:16 rootuid rootgid mapalluid mapallgid mingoal:8 maxgoal:8 mintrashtime:32
 * maxtrashtime:32 disables:32`. Other vmodes decode as `raw`.
 */
export const exportEntryV3 = struct({
  fromip: u32, toip: u32, path: blob32, minversion: u32, flags: u8, sesflags: u8, umask: u16, rootuid: u32, rootgid: u32,
  mapalluid: u32, mapallgid: u32, mingoal: u8, maxgoal: u8, mintrashtime: u32, maxtrashtime: u32, disables: u32,
});
export const MatoclExportsInfo = vmsg('MATOCL_EXPORTS_INFO', {
  v3: { fields: { exports: list(exportEntryV3, 'rest') } },
  raw: { fields: { data: rest } },
});
export const CltomaMlogList = msg('CLTOMA_MLOG_LIST', {});
/** N*[version:32 ip:32] of the connected metaloggers. */
export const MatoclMlogList = msg('MATOCL_MLOG_LIST', { loggers: list(struct({ version: u32, ip: u32 }), 'rest') });
export const CltomaMemoryInfo = msg('CLTOMA_MEMORY_INFO', {});
/** 11 (allocated:64 used:64) pairs: 3 chunk tables then 8 fs tables (176 bytes). */
export const MatoclMemoryInfo = msg('MATOCL_MEMORY_INFO', { usage: array(struct({ allocated: u64, used: u64 }), 11) });
/** `[msgid] sessionid:32` (0 = all sessions). */
export const CltomaListOpenFiles = vmsg('CLTOMA_LIST_OPEN_FILES', {
  bare: { match: when.length(4), fields: { sessionid: u32 } },
  msgid: { fields: { msgid: u32, sessionid: u32 } },
});
/**
 * of_lsof: N*[sessionid:32 inode:32] when asked for session 0 (all), else N*[inode:32]; which one
 * depends on the request, so the body is raw: decode it with OPEN_FILES_ALL / OPEN_FILES_SESSION.
 */
export const MatoclListOpenFiles = msg('MATOCL_LIST_OPEN_FILES', { data: rest });
export const OPEN_FILES_ALL = list(struct({ sessionid: u32, inode: u32 }), 'rest');
export const OPEN_FILES_SESSION = list(u32, 'rest');
export const CltomaListAcquiredLocks = vmsg('CLTOMA_LIST_ACQUIRED_LOCKS', {
  bare: { match: when.length(4), fields: { inode: u32 } },
  msgid: { fields: { msgid: u32, inode: u32 } },
});
/** posix_lock_list + flock_list records (37 bytes with inode when asked for inode 0, else 33); raw. */
export const MatoclListAcquiredLocks = msg('MATOCL_LIST_ACQUIRED_LOCKS', { data: rest });
export const CltomaMassResolvePaths = msg('CLTOMA_MASS_RESOLVE_PATHS', { inodes: list(u32, 'rest') });
/** N*[inode:32 psize:32 psize bytes of N*[plen:32 path]]. */
export const MatoclMassResolvePaths = msg('MATOCL_MASS_RESOLVE_PATHS', { entries: list(struct({ inode: u32, paths: blob32 }), 'rest') });
export const PATHS_LIST = list(blob32, 'rest');
export const CltomaSclassInfo = msg('CLTOMA_SCLASS_INFO', {});
/**
 * sclass_info (mfsmaster/storageclass.c): `servers:16` then per class `id:8 NAME files:32 dirs:32`
 * chunk counts (under/exact/over goal, standard and archive: 6*64) `admin_only:8 mode:8 arch_delay:16`
 * and three label groups (create, keep, archive) as `canfulfil:8 count:8` pairs followed by
 * count*[masks:4*32 matching_servers:16].
 */
export const sclassInfoEntry = struct({
  id: u8, name, files: u32, dirs: u32, stdUnder: u64, archUnder: u64, stdExact: u64, archExact: u64, stdOver: u64, archOver: u64,
  adminOnly: u8, mode: u8, archDelay: u16, labels: flaggedLists(struct({ masks: array(u32, 4), servers: u16 }), 3),
});
export const MatoclSclassInfo = msg('MATOCL_SCLASS_INFO', { servers: u16, classes: list(sclassInfoEntry, 'rest') });
export const CltomaMissingChunks = vmsg('CLTOMA_MISSING_CHUNKS', {
  v0: { match: when.length(0), fields: {} },
  mode: { fields: { mode: u8 } },
});
/** N*[chunkid:64 inode:32 indx:32 [type:8]] (17-byte records when the request had mode 1). */
export const MatoclMissingChunks = vmsg('MATOCL_MISSING_CHUNKS', {
  typed: { match: (p) => p.length % 17 === 0, fields: { chunks: list(struct({ chunkid: u64n, inode: u32, indx: u32, type: u8 }), 'rest') } },
  plain: { fields: { chunks: list(struct({ chunkid: u64n, inode: u32, indx: u32 }), 'rest') } },
});
/** `[msgid] inode:32 maxentries:32 continueid:64` (16 or 20). */
export const CltomaNodeInfo = vmsg('CLTOMA_NODE_INFO', {
  bare: { match: when.length(16), fields: { inode: u32, maxentries: u32, continueid: u64 } },
  msgid: { fields: { msgid: u32, inode: u32, maxentries: u32, continueid: u64 } },
});
/** fs_node_info output (prefixed by msgid when the request had one); kept raw. */
export const MatoclNodeInfo = msg('MATOCL_NODE_INFO', { data: rest });

export const TOOLS_MESSAGES = [
  CltomaCservList, MatoclCservList, CltomaCsservCommand, MatoclCsservCommand, CltomaSessionList, MatoclSessionList,
  CltomaSessionCommand, MatoclSessionCommand, CltomaInfo, MatoclInfo, CltomaFstestInfo, MatoclFstestInfo,
  CltomaChunkstestInfo, MatoclChunkstestInfo, CltomaChunksMatrix, MatoclChunksMatrix, CltomaQuotaInfo, MatoclQuotaInfo,
  CltomaExportsInfo, MatoclExportsInfo, CltomaMlogList, MatoclMlogList, CltomaMemoryInfo, MatoclMemoryInfo,
  CltomaListOpenFiles, MatoclListOpenFiles, CltomaListAcquiredLocks, MatoclListAcquiredLocks, CltomaMassResolvePaths,
  MatoclMassResolvePaths, CltomaSclassInfo, MatoclSclassInfo, CltomaMissingChunks, MatoclMissingChunks,
  CltomaNodeInfo, MatoclNodeInfo,
];

