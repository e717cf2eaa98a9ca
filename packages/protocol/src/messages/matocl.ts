import { array, blob32, bytes, c8, cstr32, list, lists, name, rest, struct, tagged, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { attr } from '../attr.js';
import { msg, statusFields, statusOr, vmsg } from './common.js';

// Master -> client replies and notices (port 9421), as built by mfsmaster/matoclserv.c for a 3.0.117
// client (ATTR records of 36 bytes, csdata version 2) and parsed by mfsclient/mastercomm.c.
// Every packet after registration starts with msgid:32 (0 for unsolicited notices).

/** One chunkserver in a chunk location list (chunk_get_version_and_csdata mode 2): 14 bytes. */
export const csLocation = struct({ ip: u32, port: u16, csver: u32, labelmask: u32 });
/** mode 1 (clients 1.7.32 .. 3.0.9): 10 bytes. */
export const csLocationV1 = struct({ ip: u32, port: u16, csver: u32 });

/**
 * MATOCL_FUSE_REGISTER carries no msgid. By length (3.0.117 client): 1 status; 5 reconnect
 * `version:32 status:8`; 27 meta session; 32 GETRANDOM blob; 49 new session.
 */
export const MatoclFuseRegister = vmsg('MATOCL_FUSE_REGISTER', {
  status: { match: when.length(1), fields: { status: u8 } },
  reconnect: { match: when.length(5), fields: { version: u32, status: u8 } },
  random: { match: when.length(32), fields: { random: bytes(32) } },
  metasession: {
    match: when.length(27),
    fields: { version: u32, sessionid: u32, metaid: u64, sesflags: u8, mingoal: u8, maxgoal: u8, mintrashtime: u32, maxtrashtime: u32 },
  },
  session: {
    fields: {
      version: u32, sessionid: u32, metaid: u64, sesflags: u8, umask: u16, rootuid: u32, rootgid: u32,
      mapalluid: u32, mapallgid: u32, mingoal: u8, maxgoal: u8, mintrashtime: u32, maxtrashtime: u32, disables: u32,
    },
  },
});

export const MatoclFuseTimeSync = vmsg('MATOCL_FUSE_TIME_SYNC', {
  bare: { match: when.length(8), fields: { usec: u64 } },
  withMsgid: { fields: { msgid: u32, usec: u64 } },
});

/** 3.0.102+ clients get freespace too (48 bytes); older 40. */
export const MatoclFuseStatfs = vmsg('MATOCL_FUSE_STATFS', {
  full: { match: when.length(48), fields: { msgid: u32, totalspace: u64, availspace: u64, freespace: u64, trashspace: u64, sustainedspace: u64, inodes: u32 } },
  old: { fields: { msgid: u32, totalspace: u64, availspace: u64, trashspace: u64, sustainedspace: u64, inodes: u32 } },
});
export const MatoclFuseAccess = msg('MATOCL_FUSE_ACCESS', statusFields);

/**
 * `msgid inode ATTR [lflags:16 [csdataver:8(=2) chunkid:64 version:32 N*csLocation]]`; the chunk part
 * is present when lflags has LOOKUP_CHUNK_ZERO_DATA (0x100).
 */
export const MatoclFuseLookup = vmsg('MATOCL_FUSE_LOOKUP', {
  status: { match: when.length(5), fields: statusFields },
  short: { match: when.length(44), fields: { msgid: u32, inode: u32, attr } },
  flags: { match: when.length(46), fields: { msgid: u32, inode: u32, attr, lflags: u16 } },
  chunk: { fields: { msgid: u32, inode: u32, attr, lflags: u16, csdataver: c8(2), chunkid: u64n, version: u32, servers: list(csLocation, 'rest') } },
});
export const MatoclFuseGetattr = statusOr('MATOCL_FUSE_GETATTR', { msgid: u32, attr });
export const MatoclFuseSetattr = statusOr('MATOCL_FUSE_SETATTR', { msgid: u32, attr });
/** 3.0.113+: `msgid prevlength:64 ATTR`. */
export const MatoclFuseTruncate = statusOr('MATOCL_FUSE_TRUNCATE', { msgid: u32, prevlength: u64n, attr });
/** path: pleng:32 counting a trailing NUL. */
export const MatoclFuseReadlink = statusOr('MATOCL_FUSE_READLINK', { msgid: u32, path: cstr32 });
export const MatoclFuseSymlink = statusOr('MATOCL_FUSE_SYMLINK', { msgid: u32, inode: u32, attr });
export const MatoclFuseMknod = statusOr('MATOCL_FUSE_MKNOD', { msgid: u32, inode: u32, attr });
export const MatoclFuseMkdir = statusOr('MATOCL_FUSE_MKDIR', { msgid: u32, inode: u32, attr });
/** 3.0.107+: success is `msgid inode:32` (the removed inode), errors `msgid status`. */
export const MatoclFuseUnlink = statusOr('MATOCL_FUSE_UNLINK', { msgid: u32, inode: u32 });
export const MatoclFuseRmdir = statusOr('MATOCL_FUSE_RMDIR', { msgid: u32, inode: u32 });
export const MatoclFuseRename = statusOr('MATOCL_FUSE_RENAME', { msgid: u32, inode: u32, attr });
export const MatoclFuseLink = statusOr('MATOCL_FUSE_LINK', { msgid: u32, inode: u32, attr });

/** READDIR entries (fsnodes_readdirdata): `NAME inode:32` then ATTR (GETDIR_FLAG_WITHATTR) or type:8. */
export const direntAttr = struct({ name, inode: u32, attr });
export const direntType = struct({ name, inode: u32, type: u8 });
/**
 * True when the entries after `msgid nedgeid` tile the payload as `NAME inode ATTR` records whose mode
 * words carry a real node type (1..7): tells the ATTR form from the 1-byte-type form.
 */
function readdirHasAttrs(p: Buffer): boolean {
  let pos = 12;
  while (pos < p.length) {
    const a = pos + 1 + p[pos]! + 4;
    if (a + 36 > p.length) return false;
    const t = p[a + 1]! >> 4;
    if (t < 1 || t > 7) return false;
    pos = a + 36;
  }
  return pos === p.length;
}

/**
 * `msgid nedgeid:64 entries` ("." and ".." first on the first page). Which entry form is used depends
 * on the request's flags (GETDIR_FLAG_WITHATTR); the ATTR form is chosen when every entry fits it
 * (readdirHasAttrs), else the type form; anything else is kept `raw`. A consumer that knows its request
 * can decode `raw`/`plain` entries itself with READDIR_PLAIN_ENTRIES.
 */
export const MatoclFuseReaddir = vmsg('MATOCL_FUSE_READDIR', {
  status: { match: when.length(5), fields: statusFields },
  withAttr: { match: readdirHasAttrs, fields: { msgid: u32, nedgeid: u64, entries: list(direntAttr, 'rest') } },
  plain: { fields: { msgid: u32, nedgeid: u64, entries: list(direntType, 'rest') } },
  raw: { fields: { msgid: u32, nedgeid: u64, data: rest } },
});
export const READDIR_PLAIN_ENTRIES = list(direntType, 'rest');

/** 3.0.113+: `msgid oflags:8 ATTR`; older clients `msgid ATTR`. */
export const MatoclFuseOpen = vmsg('MATOCL_FUSE_OPEN', {
  status: { match: when.length(5), fields: statusFields },
  ok: { match: when.length(41), fields: { msgid: u32, oflags: u8, attr } },
  old: { fields: { msgid: u32, attr } },
});
export const MatoclFuseCreate = vmsg('MATOCL_FUSE_CREATE', {
  status: { match: when.length(5), fields: statusFields },
  ok: { match: when.length(45), fields: { msgid: u32, oflags: u8, inode: u32, attr } },
  old: { fields: { msgid: u32, inode: u32, attr } },
});

/**
 * READ_CHUNK / WRITE_CHUNK replies: `msgid protover:8 filelength:64 chunkid:64 version:32 N*location`,
 * protover 2 = 14-byte locations (3.0.10+), 1 = 10-byte ones.
 */
function chunkReply(n: string) {
  return vmsg(n, {
    status: { match: when.length(5), fields: statusFields },
    ok: { match: when.byteAt(4, 2), fields: { msgid: u32, protover: c8(2), length: u64n, chunkid: u64n, version: u32, servers: list(csLocation, 'rest') } },
    v1: { match: when.byteAt(4, 1), fields: { msgid: u32, protover: c8(1), length: u64n, chunkid: u64n, version: u32, servers: list(csLocationV1, 'rest') } },
  });
}
export const MatoclFuseReadChunk = chunkReply('MATOCL_FUSE_READ_CHUNK');
export const MatoclFuseWriteChunk = chunkReply('MATOCL_FUSE_WRITE_CHUNK');
export const MatoclFuseWriteChunkEnd = msg('MATOCL_FUSE_WRITE_CHUNK_END', statusFields);
export const MatoclFuseFlock = msg('MATOCL_FUSE_FLOCK', statusFields);
/** POSIX_LOCK_CMD_GET success: `msgid pid:32 type:8 start:64 end:64`. */
export const MatoclFusePosixLock = statusOr('MATOCL_FUSE_POSIX_LOCK', { msgid: u32, pid: u32, type: u8, start: u64, end: u64 });
export const MatoclFuseFsync = msg('MATOCL_FUSE_FSYNC', statusFields);

/** Unsolicited (msgid 0) notices for sessions holding the file open (3.0.74+). */
export const MatoclFuseChunkHasChanged = msg('MATOCL_FUSE_CHUNK_HAS_CHANGED', {
  msgid: u32, inode: u32, chindx: u32, chunkid: u64n, version: u32, fleng: u64n, truncateflag: u8,
});
export const MatoclFuseFlengHasChanged = msg('MATOCL_FUSE_FLENG_HAS_CHANGED', { msgid: u32, inode: u32, fleng: u64n });
export const MatoclFuseInvalidateChunkCache = msg('MATOCL_FUSE_INVALIDATE_CHUNK_CACHE', { msgid: u32 });

// --- xattr / acl ---
/** `msgid vleng:32 [value]` (no value bytes when the request asked for the length only). */
export const MatoclFuseGetxattr = statusOr('MATOCL_FUSE_GETXATTR', { msgid: u32, size: u32, value: rest });
export const MatoclFuseSetxattr = msg('MATOCL_FUSE_SETXATTR', statusFields);
export const MatoclFuseGetfacl = statusOr('MATOCL_FUSE_GETFACL', {
  msgid: u32, userperm: u16, groupperm: u16, otherperm: u16, mask: u16, named: lists(struct({ id: u32, perm: u16 }), 'u16', 2),
});
export const MatoclFuseSetfacl = msg('MATOCL_FUSE_SETFACL', statusFields);

// --- tool replies ---
const counters3 = { msgid: u32, changed: u32, notchanged: u32, notpermitted: u32 };
/** `msgid fnodes:32 dnodes:32` then fnodes*[trashtime:32 count:32] and dnodes*[...] (files first). */
export const MatoclFuseGettrashtime = statusOr('MATOCL_FUSE_GETTRASHTIME', {
  msgid: u32, nodes: lists(struct({ trashtime: u32, count: u32 }), 'u32', 2),
});
export const MatoclFuseSettrashtime = statusOr('MATOCL_FUSE_SETTRASHTIME', counters3);
/** `msgid fn:8 dn:8` then records: `goal:8 count:32` (simple goals) or `0xFF NAME count:32` (named classes). */
export const sclassCount = tagged({ '255': { name, count: u32 }, other: { count: u32 } });
export const MatoclFuseGetsclass = statusOr('MATOCL_FUSE_GETSCLASS', { msgid: u32, nodes: lists(sclassCount, 'u8', 2) });
export const MatoclFuseSetsclass = statusOr('MATOCL_FUSE_SETSCLASS', counters3);
/** `msgid fn:8 dn:8` then (fn+dn)*[eattr:8 count:32]. */
export const MatoclFuseGeteattr = statusOr('MATOCL_FUSE_GETEATTR', { msgid: u32, nodes: lists(struct({ eattr: u8, count: u32 }), 'u8', 2) });
export const MatoclFuseSeteattr = statusOr('MATOCL_FUSE_SETEATTR', counters3);
export const MatoclFuseArchctl = vmsg('MATOCL_FUSE_ARCHCTL', {
  status: { match: when.length(5), fields: statusFields },
  set: { match: when.length(24), fields: { msgid: u32, changed: u64, notchanged: u64, notpermitted: u32 } },
  get: { fields: { msgid: u32, archchunks: u64, notarchchunks: u64, archinodes: u32, partinodes: u32, notarchinodes: u32 } },
});
/**
 * CHECK: per chunk `msgid chunkid:64 version:32 N*[ip:32 port:16 checkstatus:8]`; per file
 * `msgid 12*count:32` (3.0.30+; 11 counters before).
 */
export const MatoclFuseCheck = vmsg('MATOCL_FUSE_CHECK', {
  status: { match: when.length(5), fields: statusFields },
  file: { match: when.length(52), fields: { msgid: u32, counts: array(u32, 12) } },
  file11: { match: when.length(48), fields: { msgid: u32, counts: array(u32, 11) } },
  chunk: { fields: { msgid: u32, chunkid: u64n, version: u32, copies: list(struct({ ip: u32, port: u16, state: u8 }), 'rest') } },
});
/**
 * A mount session (fuse) gets the old 60-byte form with zero padding; a tools session the 44-byte one.
 */
export const MatoclFuseGetdirstats = vmsg('MATOCL_FUSE_GETDIRSTATS', {
  status: { match: when.length(5), fields: statusFields },
  old: {
    match: when.length(60),
    fields: { msgid: u32, inodes: u32, dirs: u32, files: u32, zero1: u32, zero2: u32, chunks: u32, zero3: u32, zero4: u32, length: u64, size: u64, realsize: u64 },
  },
  ok: { fields: { msgid: u32, inodes: u32, dirs: u32, files: u32, chunks: u32, length: u64, size: u64, realsize: u64 } },
});
export const MatoclFuseRepair = statusOr('MATOCL_FUSE_REPAIR', { msgid: u32, notchanged: u32, erased: u32, repaired: u32 });
export const MatoclFuseSnapshot = msg('MATOCL_FUSE_SNAPSHOT', statusFields);
export const MatoclFuseAppendSlice = msg('MATOCL_FUSE_APPEND_SLICE', statusFields);
export const MatoclFuseParents = statusOr('MATOCL_FUSE_PARENTS', { msgid: u32, parents: list(u32, 'rest') });
/** `msgid N*[pleng:32 path]` (no NULs). */
export const MatoclFusePaths = statusOr('MATOCL_FUSE_PATHS', { msgid: u32, paths: list(blob32, 'rest') });
export const MatoclFuseQuotacontrol = statusOr('MATOCL_FUSE_QUOTACONTROL', {
  msgid: u32, flags: u8, graceperiod: u32,
  sinodes: u32, slength: u64, ssize: u64, srealsize: u64, hinodes: u32, hlength: u64, hsize: u64, hrealsize: u64,
  curinodes: u32, curlength: u64, cursize: u64, currealsize: u64,
});

// --- meta session ---
/** Detached entries (fsnodes_getdetached): `NAME inode:32`, '/' in names replaced by '|'. */
export const detachedEntry = struct({ name, inode: u32 });
export const MatoclFuseGettrash = statusOr('MATOCL_FUSE_GETTRASH', { msgid: u32, entries: list(detachedEntry, 'rest') });
export const MatoclFuseGetdetachedattr = statusOr('MATOCL_FUSE_GETDETACHEDATTR', { msgid: u32, attr });
export const MatoclFuseGettrashpath = statusOr('MATOCL_FUSE_GETTRASHPATH', { msgid: u32, path: cstr32 });
export const MatoclFuseSettrashpath = msg('MATOCL_FUSE_SETTRASHPATH', statusFields);
export const MatoclFuseUndel = msg('MATOCL_FUSE_UNDEL', statusFields);
export const MatoclFusePurge = msg('MATOCL_FUSE_PURGE', statusFields);
export const MatoclFuseGetsustained = statusOr('MATOCL_FUSE_GETSUSTAINED', { msgid: u32, entries: list(detachedEntry, 'rest') });

// --- storage classes ---
export const MatoclSclassCreate = msg('MATOCL_SCLASS_CREATE', statusFields);
export const MatoclSclassChange = statusOr('MATOCL_SCLASS_CHANGE', {
  msgid: u32, fver: c8(0), adminOnly: u8, mode: u8, archDelay: u16, labels: lists(array(u32, 4), 'u8', 3),
});
export const MatoclSclassDelete = msg('MATOCL_SCLASS_DELETE', statusFields);
export const MatoclSclassDuplicate = msg('MATOCL_SCLASS_DUPLICATE', statusFields);
export const MatoclSclassRename = msg('MATOCL_SCLASS_RENAME', statusFields);
/**
 * `msgid` then per class `NAME` (longmode 0) or `NAME admin_only:8 mode:8 arch_delay:16 c:8 k:8 a:8
 * masks` (longmode 1; sclass_list_entries in mfsmaster/storageclass.c). Which form depends on the
 * request, so the body is kept raw; decode it with SCLASS_LIST_SHORT / SCLASS_LIST_LONG.
 */
export const MatoclSclassList = msg('MATOCL_SCLASS_LIST', { msgid: u32, data: rest });
export const SCLASS_LIST_SHORT = list(name, 'rest');
export const SCLASS_LIST_LONG = list(struct({ name, adminOnly: u8, mode: u8, archDelay: u16, labels: lists(array(u32, 4), 'u8', 3) }), 'rest');

export const MATOCL_MESSAGES = [
  MatoclFuseRegister, MatoclFuseTimeSync, MatoclFuseStatfs, MatoclFuseAccess, MatoclFuseLookup, MatoclFuseGetattr,
  MatoclFuseSetattr, MatoclFuseTruncate, MatoclFuseReadlink, MatoclFuseSymlink, MatoclFuseMknod, MatoclFuseMkdir,
  MatoclFuseUnlink, MatoclFuseRmdir, MatoclFuseRename, MatoclFuseLink, MatoclFuseReaddir, MatoclFuseOpen,
  MatoclFuseCreate, MatoclFuseReadChunk, MatoclFuseWriteChunk, MatoclFuseWriteChunkEnd, MatoclFuseFlock,
  MatoclFusePosixLock, MatoclFuseFsync, MatoclFuseChunkHasChanged, MatoclFuseFlengHasChanged,
  MatoclFuseInvalidateChunkCache, MatoclFuseGetxattr, MatoclFuseSetxattr, MatoclFuseGetfacl, MatoclFuseSetfacl,
  MatoclFuseGettrashtime, MatoclFuseSettrashtime, MatoclFuseGetsclass, MatoclFuseSetsclass, MatoclFuseGeteattr,
  MatoclFuseSeteattr, MatoclFuseArchctl, MatoclFuseCheck, MatoclFuseGetdirstats, MatoclFuseRepair,
  MatoclFuseSnapshot, MatoclFuseAppendSlice, MatoclFuseParents, MatoclFusePaths, MatoclFuseQuotacontrol,
  MatoclFuseGettrash, MatoclFuseGetdetachedattr, MatoclFuseGettrashpath, MatoclFuseSettrashpath, MatoclFuseUndel,
  MatoclFusePurge, MatoclFuseGetsustained, MatoclSclassCreate, MatoclSclassChange, MatoclSclassDelete,
  MatoclSclassDuplicate, MatoclSclassRename, MatoclSclassList,
];
