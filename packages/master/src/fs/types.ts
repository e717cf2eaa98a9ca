import type { Attr } from '@mfs-ts/protocol';
import {
  MFS_ROOT_ID,
  SESFLAG_MAPALL,
  GETDIR_FLAG_WITHATTR,
  CHUNKOPFLAG_CONTINUEOP,
} from '@mfs-ts/protocol';
// Public types of the master's namespace core. Constants are MooseFS 3.0.117 values

/** Node types (TYPE_* in MFSCommunication.h). TRASH/SUSTAINED exist only in metadata listings. */
export {
  TYPE_FILE,
  TYPE_DIRECTORY,
  TYPE_SYMLINK,
  TYPE_FIFO,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_SOCKET,
  TYPE_TRASH,
  TYPE_SUSTAINED,
  MFS_ROOT_ID,
  MFS_NAME_MAX,
  MFS_SYMLINK_MAX,
  MFS_PATH_MAX,
  TRASH_BUCKETS,
  SUSTAINED_BUCKETS,
  SESFLAG_READONLY,
  SESFLAG_DYNAMICIP,
  SESFLAG_IGNOREGID,
  SESFLAG_ADMIN,
  SESFLAG_MAPALL,
  SESFLAG_ATTRBIT,
  SESFLAG_METARESTORE,
  MODE_MASK_R,
  MODE_MASK_W,
  MODE_MASK_X,
  SET_WINATTR_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  SET_GID_FLAG,
  SET_MTIME_NOW_FLAG,
  SET_MTIME_FLAG,
  SET_ATIME_FLAG,
  SET_ATIME_NOW_FLAG,
  SUGID_CLEAR_MODE_NEVER,
  SUGID_CLEAR_MODE_ALWAYS,
  SUGID_CLEAR_MODE_OSX,
  SUGID_CLEAR_MODE_BSD,
  SUGID_CLEAR_MODE_EXT,
  SUGID_CLEAR_MODE_XFS,
  SMODE_SET,
  SMODE_INCREASE,
  SMODE_DECREASE,
  SMODE_EXCHANGE,
  SMODE_TMASK,
  SMODE_RMASK,
  GMODE_NORMAL,
  GMODE_RECURSIVE,
  EATTR_NOOWNER,
  EATTR_NOACACHE,
  EATTR_NOECACHE,
  EATTR_NODATACACHE,
  EATTR_SNAPSHOT,
  EATTR_UNDELETABLE,
  EATTR_APPENDONLY,
  EATTR_IMMUTABLE,
  OPEN_READ,
  OPEN_WRITE,
  OPEN_AFTER_CREATE,
  OPEN_TRUNCATE,
  OPEN_CACHE_CLEARED,
  OPEN_KEEPCACHE,
  OPEN_DIRECTMODE,
  OPEN_APPENDONLY,
  TRUNCATE_FLAG_OPENED,
  TRUNCATE_FLAG_UPDATE,
  TRUNCATE_FLAG_TIMEFIX,
  TRUNCATE_FLAG_RESERVE,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_REPLACE_ONLY,
  MFS_XATTR_REMOVE,
  MFS_XATTR_NAME_MAX,
  MFS_XATTR_SIZE_MAX,
  MFS_XATTR_LIST_MAX,
  POSIX_ACL_NONE,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  GETDIR_FLAG_WITHATTR,
  GETDIR_FLAG_ADDTOCACHE,
  CHUNKOPFLAG_CANMODTIME,
  CHUNKOPFLAG_CONTINUEOP,
  CHUNKOPFLAG_CANUSERESERVESPACE,
  SNAPSHOT_MODE_CAN_OVERWRITE,
  SNAPSHOT_MODE_CPLIKE_ATTR,
  SNAPSHOT_MODE_FORCE_REMOVAL,
  SNAPSHOT_MODE_PRESERVE_HARDLINKS,
  SNAPSHOT_MODE_DELETE,
  DTYPE_UNKNOWN,
  DTYPE_TRASH,
  DTYPE_SUSTAINED,
  ATIME_ALWAYS,
  ATIME_FILES_ONLY,
  ATIME_RELATIVE_ONLY,
  ATIME_FILES_AND_RELATIVE_ONLY,
  ATIME_NEVER,
  LOOKUP_ACCESS_MODES_RO,
  LOOKUP_IMMUTABLE,
  LOOKUP_DIRECTMODE,
  LOOKUP_APPENDONLY,
  MATTR_NOACACHE,
  MATTR_NOECACHE,
  MATTR_ALLOWDATACACHE,
  MATTR_NOXATTR,
  MATTR_DIRECTMODE,
  MATTR_UNDELETABLE,
  QUOTA_FLAG_SINODES,
  QUOTA_FLAG_SLENGTH,
  QUOTA_FLAG_SSIZE,
  QUOTA_FLAG_SREALSIZE,
  QUOTA_FLAG_HINODES,
  QUOTA_FLAG_HLENGTH,
  QUOTA_FLAG_HSIZE,
  QUOTA_FLAG_HREALSIZE,
  MFSCHUNKSIZE,
} from '@mfs-ts/protocol';

/** Largest chunk index (filesystem.c MAX_INDEX). */
export const MAX_INDEX = 0x7fffffff;
export const DEFAULT_SCLASS = 2;
export const DEFAULT_TRASHTIME = 24;

/**
 * Who asks. `uid`/`gids` are the ids after the export's maproot/mapall mapping (what the C code calls
 * uid/gid), `auid`/`agid` the ids the client sent (used only when SESFLAG_MAPALL, to show the client
 * its own uid in attributes). `rootinode` is the export's root (MFS_ROOT_ID for "/"); inodes the
 * client passes are relative to it exactly as in fsnodes_node_find_ext (the client's 1 = rootinode).
 */
export interface FsCtx {
  uid: number;
  gids: readonly number[];
  sesflags: number;
  rootinode: number;
  auid?: number;
  agid?: number;
  /** Export's umask-independent limits; used for sclass/trashtime changes (optional). */
  sessionId?: number;
}

/** The 36-byte ATTR record, as the protocol encodes it. */
export type FsAttr = Attr;

/** Success carries a value; failure a MooseFS status (MFS_ERROR_*). */
export type FsResult<T> = { ok: true; value: T } | { ok: false; status: number };

export interface EntryReply {
  inode: number;
  attr: FsAttr;
}

export interface LookupReply extends EntryReply {
  /** LOOKUP_* access-mode bits the 3.0.117 lookup reply carries (fs_lookup accmode). */
  accmode: number;
  /** The file's first chunk, for the lookup-with-chunk extension (0 if none / not a file). */
  chunkid: number;
}

export interface CreateReply extends EntryReply {
  oflags: number;
}

export interface ReaddirEntry {
  name: Buffer;
  inode: number;
  /** With GETDIR_FLAG_WITHATTR. */
  attr?: FsAttr;
  /** Without attributes, the bare type byte. */
  type: number;
}

export interface ReaddirReply {
  /** Continuation edge id for the next call (0 = start, EDGEID_MAX... = end, as in fsnodes_readdirdata). */
  nextEdgeId: bigint;
  entries: ReaddirEntry[];
}

export interface TruncateReply {
  prevLength: number;
  attr: FsAttr;
}

/**
 * What the chunk layer must do for WRITE_CHUNK (from chunk_multi_modify, mfsmaster/chunks.c):
 * - 'create': no chunk at this index; a new chunk `chunkId` version `version` must be created.
 * - 'setversion': the chunk is owned by this file alone; bump `oldVersion` -> `version`.
 * - 'duplicate': the chunk is shared (snapshot/shared); copy `oldChunkId`/`oldVersion` to the new
 *   chunk `chunkId`/`version`.
 * - 'continue': CHUNKOPFLAG_CONTINUEOP on a chunk this file already has locked; nothing to change.
 */
export interface WriteChunkOp {
  action: 'create' | 'setversion' | 'duplicate' | 'continue';
  chunkId: number;
  version: number;
  oldChunkId: number;
  oldVersion: number;
  /** File length at the time of the call (the reply's filelen). */
  length: number;
}

export interface ReadChunkReply {
  /** 0 = hole (no chunk at that index). */
  chunkId: number;
  version: number;
  length: number;
}

export interface DirStats {
  inodes: number;
  dirs: number;
  files: number;
  chunks: number;
  length: number;
  size: number;
  realsize: number;
}

export interface RecursiveChangeReply {
  /** Changed, not changed, and not permitted (fs_setsclass's sinodes, ncinodes, nsinodes). */
  changed: number;
  notChanged: number;
  notPermitted: number;
}

export interface AclEntry {
  /** user or group id */
  id: number;
  perm: number;
}

export interface PosixAcl {
  userperm: number;
  groupperm: number;
  otherperm: number;
  /** 0xFFFF when there is no mask entry (MooseFS convention). */
  mask: number;
  namedusers: AclEntry[];
  namedgroups: AclEntry[];
}

export interface TrashEntry {
  inode: number;
  /** Full original path (fs_gettrashpath), relative to the filesystem root. */
  path: Buffer;
}

export interface StatfsReply {
  totalspace: number;
  availspace: number;
  freespace: number;
  trashspace: number;
  sustainedspace: number;
  inodes: number;
}

/** A directory quota (quotanode in filesystem.c): soft/hard limits per kind, as QUOTA_FLAG_* says which are set. */
export interface Quota {
  flags: number;
  graceperiod: number;
  /** Soft limit over its grace period (or a hard limit hit): writes refused. */
  exceeded: number;
  /** When a soft limit was first exceeded (0 = not exceeded). */
  stimestamp: number;
  sinodes: number;
  hinodes: number;
  slength: number;
  hlength: number;
  ssize: number;
  hsize: number;
  srealsize: number;
  hrealsize: number;
}

export interface QuotaReply extends Omit<Quota, 'exceeded' | 'stimestamp'> {
  curinodes: number;
  curlength: number;
  cursize: number;
  currealsize: number;
}
