import { array, blob32, bytes, c8, constant, cstr32, gids, list, lists, name, struct, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { FUSE_REGISTER_BLOB_ACL } from '../auth.js';
import { gForms, msg, vmsg } from './common.js';

// Client -> master requests (port 9421), as parsed by mfsmaster/matoclserv.c and built by
// mfsclient/mastercomm.c (mfsmount) and mfsclient/mfstools.c / mfstools_master.c (the mfs* tools).
// Every request after registration starts with msgid:32. Where the master accepts several lengths for
// one request (older clients; 3.0.117 clients with no supplementary groups send the single-gid form
// with gid 0xFFFFFFFF), each accepted form is a variant.

const blob = constant(bytes(64), FUSE_REGISTER_BLOB_ACL);

/**
 * The optional tail of NEWSESSION / NEWMETASESSION: `[sessionid:32 [metaid:64]] [passcode:16]`
 * (matoclserv_fuse_register accepts tails of 0, 4, 12, 16, 20 and 28 bytes).
 */
function registerTails<P extends Record<string, any>>(prefix: P, tag: string) {
  return {
    [`${tag}_sid_meta_pass`]: { fields: { ...prefix, sessionid: u32, metaid: u64, passcode: bytes(16) } },
    [`${tag}_sid_meta`]: { fields: { ...prefix, sessionid: u32, metaid: u64 } },
    [`${tag}_sid_pass`]: { fields: { ...prefix, sessionid: u32, passcode: bytes(16) } },
    [`${tag}_sid`]: { fields: { ...prefix, sessionid: u32 } },
    [`${tag}_pass`]: { fields: { ...prefix, passcode: bytes(16) } },
    [tag]: { fields: { ...prefix } },
  };
}

const rc = (r: number) => when.byteAt(64, r);

/**
 * CLTOMA_FUSE_REGISTER: blob:64B rcode:8 ...; variant keys name the rcode (REGISTER_* in MFSCommunication.h):
 *  getrandom (1): -
 *  newsession* (2): version:32 ileng:32 info:ilengB pleng:32 path:plengB (path counts its NUL) + tail
 *  reconnect / tools (3 / 4): sessionid:32 version:32 [metaid:64]
 *  newmetasession* (5): version:32 ileng:32 info:ilengB + tail
 *  closesession (6): sessionid:32 [metaid:64]
 */
export const CltomaFuseRegister = vmsg('CLTOMA_FUSE_REGISTER', {
  getrandom: { match: rc(1), fields: { blob, rcode: c8(1) } },
  ...mapMatch(registerTails({ blob, rcode: c8(2), version: u32, info: blob32, path: blob32 }, 'newsession'), rc(2)),
  reconnect_meta: { match: rc(3), fields: { blob, rcode: c8(3), sessionid: u32, version: u32, metaid: u64 } },
  reconnect: { match: rc(3), fields: { blob, rcode: c8(3), sessionid: u32, version: u32 } },
  tools_meta: { match: rc(4), fields: { blob, rcode: c8(4), sessionid: u32, version: u32, metaid: u64 } },
  tools: { match: rc(4), fields: { blob, rcode: c8(4), sessionid: u32, version: u32 } },
  ...mapMatch(registerTails({ blob, rcode: c8(5), version: u32, info: blob32 }, 'newmetasession'), rc(5)),
  closesession_meta: { match: rc(6), fields: { blob, rcode: c8(6), sessionid: u32, metaid: u64 } },
  closesession: { match: rc(6), fields: { blob, rcode: c8(6), sessionid: u32 } },
});

function mapMatch<V extends Record<string, { fields: any }>>(v: V, match: (p: Buffer) => boolean) {
  const out: Record<string, { fields: any; match: (p: Buffer) => boolean }> = {};
  for (const [k, e] of Object.entries(v)) out[k] = { ...e, match };
  return out as { [K in keyof V]: V[K] & { match: (p: Buffer) => boolean } };
}

// --- session upkeep (no msgid) ---
/** N*[inode:32] every 60 s (fs_send_open_inodes). */
export const CltomaFuseSustainedInodes = msg('CLTOMA_FUSE_SUSTAINED_INODES', { inodes: list(u32, 'rest') });
export const CltomaFuseSustainedInodesDeprecated = msg('CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED', { inodes: list(u32, 'rest') });
/** N*[inode:32 atime:32 mtime:32] (fs_send_amtime_inodes). */
export const CltomaFuseAmtimeInodes = msg('CLTOMA_FUSE_AMTIME_INODES', {
  entries: list(struct({ inode: u32, atime: u32, mtime: u32 }), 'rest'),
});
/** `[msgid:32]`; the 3.0.117 mount sends msgid 0 every 60 s. */
export const CltomaFuseTimeSync = vmsg('CLTOMA_FUSE_TIME_SYNC', {
  bare: { match: when.length(0), fields: {} },
  withMsgid: { fields: { msgid: u32 } },
});

// --- namespace ---
export const CltomaFuseStatfs = msg('CLTOMA_FUSE_STATFS', { msgid: u32 });
/** single form: modemask is 8 bits; groups form: 16 bits. */
export const CltomaFuseAccess = vmsg('CLTOMA_FUSE_ACCESS', {
  single: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32, modemask: u8 } },
  groups: { fields: { msgid: u32, inode: u32, uid: u32, gids, modemask: u16 } },
});
export const CltomaFuseLookup = vmsg('CLTOMA_FUSE_LOOKUP', gForms({ msgid: u32, inode: u32, name }, {}));
/** `msgid inode [[opened:8] uid gid]` (8, 16 or 17 bytes; 3.0.117 sends 17). */
export const CltomaFuseGetattr = vmsg('CLTOMA_FUSE_GETATTR', {
  bare: { fields: { msgid: u32, inode: u32 } },
  nopened: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32 } },
  full: { fields: { msgid: u32, inode: u32, opened: u8, uid: u32, gid: u32 } },
});
/** 3.0.93+ form: msgid inode opened:8 uid gcnt gids setmask:8 mode:16 uid gid atime mtime winattr:8 sugidclearmode:8 */
export const CltomaFuseSetattr = msg('CLTOMA_FUSE_SETATTR', {
  msgid: u32, inode: u32, opened: u8, uid: u32, gids,
  setmask: u8, attrmode: u16, attruid: u32, attrgid: u32, attratime: u32, attrmtime: u32, winattr: u8, sugidclearmode: u8,
});
/** `msgid inode [flags:8] uid (gid | gcnt gids) length:64` (24, 25, 25+4n). */
export const CltomaFuseTruncate = vmsg('CLTOMA_FUSE_TRUNCATE', {
  noflags: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32, length: u64n } },
  ...gForms({ msgid: u32, inode: u32, flags: u8 }, { length: u64n }),
});
export const CltomaFuseReadlink = msg('CLTOMA_FUSE_READLINK', { msgid: u32, inode: u32 });
/** path: pleng:32 counting the NUL the client sends. */
export const CltomaFuseSymlink = vmsg('CLTOMA_FUSE_SYMLINK', gForms({ msgid: u32, inode: u32, name, path: cstr32 }, {}));
/** `msgid parent NAME type:8 mode:16 [umask:16] uid (gid|G) rdev:32` */
export const CltomaFuseMknod = vmsg('CLTOMA_FUSE_MKNOD', {
  noumask: { fields: { msgid: u32, inode: u32, name, type: u8, mode: u16, uid: u32, gid: u32, rdev: u32 } },
  ...gForms({ msgid: u32, inode: u32, name, type: u8, mode: u16, umask: u16 }, { rdev: u32 }),
});
/** `msgid parent NAME mode:16 [umask:16] uid (gid|G) [copysgid:8]` (19+n, 22+n, 22+n+4g) */
export const CltomaFuseMkdir = vmsg('CLTOMA_FUSE_MKDIR', {
  old: { fields: { msgid: u32, inode: u32, name, mode: u16, uid: u32, gid: u32 } },
  ...gForms({ msgid: u32, inode: u32, name, mode: u16, umask: u16 }, { copysgid: u8 }),
});
export const CltomaFuseUnlink = vmsg('CLTOMA_FUSE_UNLINK', gForms({ msgid: u32, inode: u32, name }, {}));
export const CltomaFuseRmdir = vmsg('CLTOMA_FUSE_RMDIR', gForms({ msgid: u32, inode: u32, name }, {}));
export const CltomaFuseRename = vmsg('CLTOMA_FUSE_RENAME', gForms({ msgid: u32, inodeSrc: u32, nameSrc: name, inodeDst: u32, nameDst: name }, {}));
export const CltomaFuseLink = vmsg('CLTOMA_FUSE_LINK', gForms({ msgid: u32, inode: u32, inodeDst: u32, nameDst: name }, {}));
/**
 * `msgid inode uid (gid | gcnt gids) [flags:8 [maxentries:32 nedgeid:64]]` — 16, 17, 29 (one gid) or
 * 25+4n bytes; flags GETDIR_FLAG_WITHATTR (1) asks for ATTR records, ADDTOCACHE (2).
 */
export const CltomaFuseReaddir = vmsg('CLTOMA_FUSE_READDIR', {
  old: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32 } },
  flags: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32, flags: u8 } },
  single: { fields: { msgid: u32, inode: u32, uid: u32, gid: u32, flags: u8, maxentries: u32, nedgeid: u64 } },
  groups: { fields: { msgid: u32, inode: u32, uid: u32, gids, flags: u8, maxentries: u32, nedgeid: u64 } },
});
export const CltomaFuseOpen = vmsg('CLTOMA_FUSE_OPEN', gForms({ msgid: u32, inode: u32 }, { flags: u8 }));
/** `msgid parent NAME mode:16 [umask:16] uid (gid|G)` */
export const CltomaFuseCreate = vmsg('CLTOMA_FUSE_CREATE', {
  noumask: { fields: { msgid: u32, inode: u32, name, mode: u16, uid: u32, gid: u32 } },
  ...gForms({ msgid: u32, inode: u32, name, mode: u16, umask: u16 }, {}),
});
export const CltomaFuseReadChunk = vmsg('CLTOMA_FUSE_READ_CHUNK', {
  old: { fields: { msgid: u32, inode: u32, indx: u32 } },
  full: { fields: { msgid: u32, inode: u32, indx: u32, chunkopflags: u8 } },
});
export const CltomaFuseWriteChunk = vmsg('CLTOMA_FUSE_WRITE_CHUNK', {
  old: { fields: { msgid: u32, inode: u32, indx: u32 } },
  full: { fields: { msgid: u32, inode: u32, indx: u32, chunkopflags: u8 } },
});
/** `msgid chunkid:64 inode [indx:32] length:64 [chunkopflags:8]` (24, 25, 29). */
export const CltomaFuseWriteChunkEnd = vmsg('CLTOMA_FUSE_WRITE_CHUNK_END', {
  old: { fields: { msgid: u32, chunkid: u64n, inode: u32, length: u64n } },
  flags: { fields: { msgid: u32, chunkid: u64n, inode: u32, length: u64n, chunkopflags: u8 } },
  full: { fields: { msgid: u32, chunkid: u64n, inode: u32, indx: u32, length: u64n, chunkopflags: u8 } },
});
export const CltomaFuseFlock = msg('CLTOMA_FUSE_FLOCK', { msgid: u32, inode: u32, reqid: u32, owner: u64, cmd: u8 });
export const CltomaFusePosixLock = msg('CLTOMA_FUSE_POSIX_LOCK', {
  msgid: u32, inode: u32, reqid: u32, owner: u64, pid: u32, cmd: u8, type: u8, start: u64, end: u64,
});
/** Header only (not handled by the 3.0.117 master; answered with ANTOAN_UNKNOWN_COMMAND-free silence). */
export const CltomaFuseFsync = msg('CLTOMA_FUSE_FSYNC', { msgid: u32, inode: u32 });

// --- xattr / acl ---
/** `msgid inode NAME mode:8 opened:8 uid (gid|G)` (3.0.117 client order). mode: 0 data, 1 length only. */
export const CltomaFuseGetxattr = vmsg('CLTOMA_FUSE_GETXATTR', gForms({ msgid: u32, inode: u32, name, mode: u8, opened: u8 }, {}));
/** `msgid inode NAME vleng:32 value mode:8 opened:8 uid (gid|G)`; mode MFS_XATTR_* (3 = remove). */
export const CltomaFuseSetxattr = vmsg('CLTOMA_FUSE_SETXATTR', gForms({ msgid: u32, inode: u32, name, value: blob32, mode: u8, opened: u8 }, {}));
export const CltomaFuseGetfacl = vmsg('CLTOMA_FUSE_GETFACL', {
  bare: { fields: { msgid: u32, inode: u32, acltype: u8 } },
  ...gForms({ msgid: u32, inode: u32, acltype: u8, opened: u8 }, {}),
});
/** `msgid inode uid acltype:8 userperm groupperm otherperm mask:16 nu:16 ng:16 (nu+ng)*[id:32 perm:16]` */
export const CltomaFuseSetfacl = msg('CLTOMA_FUSE_SETFACL', {
  msgid: u32, inode: u32, uid: u32, acltype: u8, userperm: u16, groupperm: u16, otherperm: u16, mask: u16,
  named: lists(struct({ id: u32, perm: u16 }), 'u16', 2),
});

// --- trash time / storage class / eattr (mfsgettrashtime, mfsgetgoal, mfsgeteattr and set*) ---
export const CltomaFuseGettrashtime = msg('CLTOMA_FUSE_GETTRASHTIME', { msgid: u32, inode: u32, gmode: u8 });
export const CltomaFuseSettrashtime = msg('CLTOMA_FUSE_SETTRASHTIME', { msgid: u32, inode: u32, uid: u32, trashtime: u32, smode: u8 });
export const CltomaFuseGetsclass = msg('CLTOMA_FUSE_GETSCLASS', { msgid: u32, inode: u32, gmode: u8 });
/**
 * `msgid inode uid setid:8 smode:8` with setid = goal 1..9, or setid 0xFF followed by
 * `[srcNAME] dstNAME` (the source class only when smode&3 == SMODE_EXCHANGE).
 */
export const CltomaFuseSetsclass = vmsg('CLTOMA_FUSE_SETSCLASS', {
  named: { fields: { msgid: u32, inode: u32, uid: u32, setid: c8(0xff), smode: u8, dst: name } },
  exchange: { fields: { msgid: u32, inode: u32, uid: u32, setid: c8(0xff), smode: u8, src: name, dst: name } },
  goal: { fields: { msgid: u32, inode: u32, uid: u32, setid: u8, smode: u8 } },
});
export const CltomaFuseGeteattr = msg('CLTOMA_FUSE_GETEATTR', { msgid: u32, inode: u32, gmode: u8 });
export const CltomaFuseSeteattr = msg('CLTOMA_FUSE_SETEATTR', { msgid: u32, inode: u32, uid: u32, eattr: u8, smode: u8 });
export const CltomaFuseArchctl = vmsg('CLTOMA_FUSE_ARCHCTL', {
  get: { fields: { msgid: u32, inode: u32, cmd: u8 } },
  set: { fields: { msgid: u32, inode: u32, cmd: u8, uid: u32 } },
});

// --- tools ---
/** mfsfileinfo / mfscheckfile: `msgid inode [indx:32]` */
export const CltomaFuseCheck = vmsg('CLTOMA_FUSE_CHECK', {
  file: { fields: { msgid: u32, inode: u32 } },
  chunk: { fields: { msgid: u32, inode: u32, indx: u32 } },
});
export const CltomaFuseGetdirstats = msg('CLTOMA_FUSE_GETDIRSTATS', { msgid: u32, inode: u32 });
export const CltomaFuseRepair = vmsg('CLTOMA_FUSE_REPAIR', gForms({ msgid: u32, inode: u32 }, {}));
/** `msgid inode dstparent dstNAME uid (gid|G) smode:8 [umask:16]` (22+n, 24+n, 24+n+4g). */
export const CltomaFuseSnapshot = vmsg('CLTOMA_FUSE_SNAPSHOT', {
  noumask: { fields: { msgid: u32, inode: u32, inodeDst: u32, nameDst: name, uid: u32, gid: u32, smode: u8 } },
  ...gForms({ msgid: u32, inode: u32, inodeDst: u32, nameDst: name }, { smode: u8, umask: u16 }),
});
/**
 * mfsappendchunks: even form `msgid inode srcinode uid (gid|G)`; odd form
 * `msgid flags:8 inode srcinode slicefrom:32 sliceto:32 uid gcnt gids`.
 */
export const CltomaFuseAppendSlice = vmsg('CLTOMA_FUSE_APPEND_SLICE', {
  ...gForms({ msgid: u32, inode: u32, inodeSrc: u32 }, {}),
  slice: { fields: { msgid: u32, flags: u8, inode: u32, inodeSrc: u32, sliceFrom: u32, sliceTo: u32, uid: u32, gids } },
});
export const CltomaFuseParents = msg('CLTOMA_FUSE_PARENTS', { msgid: u32, inode: u32 });
export const CltomaFusePaths = msg('CLTOMA_FUSE_PATHS', { msgid: u32, inode: u32 });
const quotaLimits = {
  sinodes: u32, slength: u64, ssize: u64, srealsize: u64, hinodes: u32, hlength: u64, hsize: u64, hrealsize: u64,
};
/** `msgid inode flags:8 [[graceperiod:32] limits]` (9, 65, 69 bytes). */
export const CltomaFuseQuotacontrol = vmsg('CLTOMA_FUSE_QUOTACONTROL', {
  get: { fields: { msgid: u32, inode: u32, flags: u8 } },
  nograce: { fields: { msgid: u32, inode: u32, flags: u8, ...quotaLimits } },
  full: { fields: { msgid: u32, inode: u32, flags: u8, graceperiod: u32, ...quotaLimits } },
});

// --- meta session: trash and sustained ---
export const CltomaFuseGettrash = vmsg('CLTOMA_FUSE_GETTRASH', {
  all: { fields: { msgid: u32 } },
  bucket: { fields: { msgid: u32, tid: u32 } },
});
export const CltomaFuseGetdetachedattr = vmsg('CLTOMA_FUSE_GETDETACHEDATTR', {
  any: { fields: { msgid: u32, inode: u32 } },
  typed: { fields: { msgid: u32, inode: u32, dtype: u8 } },
});
export const CltomaFuseGettrashpath = msg('CLTOMA_FUSE_GETTRASHPATH', { msgid: u32, inode: u32 });
/** path: pleng:32 + bytes (the meta mount sends the NUL; kept raw). */
export const CltomaFuseSettrashpath = msg('CLTOMA_FUSE_SETTRASHPATH', { msgid: u32, inode: u32, path: blob32 });
export const CltomaFuseUndel = msg('CLTOMA_FUSE_UNDEL', { msgid: u32, inode: u32 });
export const CltomaFusePurge = msg('CLTOMA_FUSE_PURGE', { msgid: u32, inode: u32 });
export const CltomaFuseGetsustained = msg('CLTOMA_FUSE_GETSUSTAINED', { msgid: u32 });

// --- storage class administration (mfsscadmin) ---
/** Label expressions: create/keep/arch counts first, then count*MASKORGROUP(4) masks each. */
const labelMasks = lists(array(u32, 4), 'u8', 3);
export const CltomaSclassCreate = msg('CLTOMA_SCLASS_CREATE', {
  msgid: u32, name, fver: c8(0), adminOnly: u8, mode: u8, archDelay: u16, labels: labelMasks,
});
export const CltomaSclassChange = msg('CLTOMA_SCLASS_CHANGE', {
  msgid: u32, name, fver: c8(0), chgmask: u16, adminOnly: u8, mode: u8, archDelay: u16, labels: labelMasks,
});
export const CltomaSclassDelete = msg('CLTOMA_SCLASS_DELETE', { msgid: u32, name });
export const CltomaSclassDuplicate = msg('CLTOMA_SCLASS_DUPLICATE', { msgid: u32, src: name, dst: name });
export const CltomaSclassRename = msg('CLTOMA_SCLASS_RENAME', { msgid: u32, src: name, dst: name });
export const CltomaSclassList = msg('CLTOMA_SCLASS_LIST', { msgid: u32, longmode: u8 });

export const CLTOMA_MESSAGES = [
  CltomaFuseRegister, CltomaFuseSustainedInodes, CltomaFuseSustainedInodesDeprecated, CltomaFuseAmtimeInodes,
  CltomaFuseTimeSync, CltomaFuseStatfs, CltomaFuseAccess, CltomaFuseLookup, CltomaFuseGetattr, CltomaFuseSetattr,
  CltomaFuseTruncate, CltomaFuseReadlink, CltomaFuseSymlink, CltomaFuseMknod, CltomaFuseMkdir, CltomaFuseUnlink,
  CltomaFuseRmdir, CltomaFuseRename, CltomaFuseLink, CltomaFuseReaddir, CltomaFuseOpen, CltomaFuseCreate,
  CltomaFuseReadChunk, CltomaFuseWriteChunk, CltomaFuseWriteChunkEnd, CltomaFuseFlock, CltomaFusePosixLock,
  CltomaFuseFsync, CltomaFuseGetxattr, CltomaFuseSetxattr, CltomaFuseGetfacl, CltomaFuseSetfacl,
  CltomaFuseGettrashtime, CltomaFuseSettrashtime, CltomaFuseGetsclass, CltomaFuseSetsclass, CltomaFuseGeteattr,
  CltomaFuseSeteattr, CltomaFuseArchctl, CltomaFuseCheck, CltomaFuseGetdirstats, CltomaFuseRepair,
  CltomaFuseSnapshot, CltomaFuseAppendSlice, CltomaFuseParents, CltomaFusePaths, CltomaFuseQuotacontrol,
  CltomaFuseGettrash, CltomaFuseGetdetachedattr, CltomaFuseGettrashpath, CltomaFuseSettrashpath, CltomaFuseUndel,
  CltomaFusePurge, CltomaFuseGetsustained, CltomaSclassCreate, CltomaSclassChange, CltomaSclassDelete,
  CltomaSclassDuplicate, CltomaSclassRename, CltomaSclassList,
];

