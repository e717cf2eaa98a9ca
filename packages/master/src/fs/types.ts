// Public types of the master's namespace core. Constants are MooseFS 3.0.117 values
// (mfscommon/MFSCommunication.h); behaviour follows mfsmaster/filesystem.c.

/** Node types (TYPE_* in MFSCommunication.h). TRASH/SUSTAINED exist only in metadata listings. */
export const TYPE_FILE = 1;
export const TYPE_DIRECTORY = 2;
export const TYPE_SYMLINK = 3;
export const TYPE_FIFO = 4;
export const TYPE_BLOCKDEV = 5;
export const TYPE_CHARDEV = 6;
export const TYPE_SOCKET = 7;
export const TYPE_TRASH = 8;
export const TYPE_SUSTAINED = 9;

export const MFS_ROOT_ID = 1;
export const MFS_NAME_MAX = 255;
export const MFS_SYMLINK_MAX = 4096;
export const MFS_PATH_MAX = 1024;
export const TRASH_BUCKETS = 4096;
export const SUSTAINED_BUCKETS = 256;
/** Largest chunk index (filesystem.c MAX_INDEX) and the chunk size. */
export const MAX_INDEX = 0x7fffffff;
export const MFSCHUNKSIZE = 0x4000000;
export const DEFAULT_SCLASS = 2;
export const DEFAULT_TRASHTIME = 24;

export const SESFLAG_READONLY = 0x01;
export const SESFLAG_DYNAMICIP = 0x02;
export const SESFLAG_IGNOREGID = 0x04;
export const SESFLAG_ADMIN = 0x08;
export const SESFLAG_MAPALL = 0x10;
export const SESFLAG_ATTRBIT = 0x40;
export const SESFLAG_METARESTORE = 0x80;

export const MODE_MASK_R = 4;
export const MODE_MASK_W = 2;
export const MODE_MASK_X = 1;

export const SET_WINATTR_FLAG = 0x01;
export const SET_MODE_FLAG = 0x02;
export const SET_UID_FLAG = 0x04;
export const SET_GID_FLAG = 0x08;
export const SET_MTIME_NOW_FLAG = 0x10;
export const SET_MTIME_FLAG = 0x20;
export const SET_ATIME_FLAG = 0x40;
export const SET_ATIME_NOW_FLAG = 0x80;

export const SUGID_CLEAR_MODE_NEVER = 0;
export const SUGID_CLEAR_MODE_ALWAYS = 1;
export const SUGID_CLEAR_MODE_OSX = 2;
export const SUGID_CLEAR_MODE_BSD = 3;
export const SUGID_CLEAR_MODE_EXT = 4;
export const SUGID_CLEAR_MODE_XFS = 5;

export const SMODE_SET = 0;
export const SMODE_INCREASE = 1;
export const SMODE_DECREASE = 2;
export const SMODE_EXCHANGE = 3;
export const SMODE_TMASK = 3;
export const SMODE_RMASK = 4;
export const GMODE_NORMAL = 0;
export const GMODE_RECURSIVE = 1;

export const EATTR_NOOWNER = 0x01;
export const EATTR_NOACACHE = 0x02;
export const EATTR_NOECACHE = 0x04;
export const EATTR_NODATACACHE = 0x08;
export const EATTR_SNAPSHOT = 0x10;
export const EATTR_UNDELETABLE = 0x20;
export const EATTR_APPENDONLY = 0x40;
export const EATTR_IMMUTABLE = 0x80;

export const OPEN_READ = 0x01;
export const OPEN_WRITE = 0x02;
export const OPEN_AFTER_CREATE = 0x04;
export const OPEN_TRUNCATE = 0x08;
export const OPEN_CACHE_CLEARED = 0x10;
/** oflags in OPEN/CREATE replies. */
export const OPEN_KEEPCACHE = 0x01;
export const OPEN_DIRECTMODE = 0x02;
export const OPEN_APPENDONLY = 0x04;

export const TRUNCATE_FLAG_OPENED = 0x01;
export const TRUNCATE_FLAG_UPDATE = 0x02;
export const TRUNCATE_FLAG_TIMEFIX = 0x04;
export const TRUNCATE_FLAG_RESERVE = 0x08;

export const MFS_XATTR_CREATE_OR_REPLACE = 0;
export const MFS_XATTR_CREATE_ONLY = 1;
export const MFS_XATTR_REPLACE_ONLY = 2;
export const MFS_XATTR_REMOVE = 3;
export const MFS_XATTR_NAME_MAX = 255;
export const MFS_XATTR_SIZE_MAX = 65536;
export const MFS_XATTR_LIST_MAX = 65536;

export const POSIX_ACL_NONE = 0;
export const POSIX_ACL_ACCESS = 1;
export const POSIX_ACL_DEFAULT = 2;

export const GETDIR_FLAG_WITHATTR = 0x01;
export const GETDIR_FLAG_ADDTOCACHE = 0x02;

export const CHUNKOPFLAG_CANMODTIME = 1;
export const CHUNKOPFLAG_CONTINUEOP = 2;
export const CHUNKOPFLAG_CANUSERESERVESPACE = 4;

/** Snapshot smode bits (MFSCommunication.h SNAPSHOT_MODE_*). */
export const SNAPSHOT_MODE_CAN_OVERWRITE = 0x01;
export const SNAPSHOT_MODE_CPLIKE_ATTR = 0x02;
export const SNAPSHOT_MODE_FORCE_REMOVAL = 0x04;
export const SNAPSHOT_MODE_PRESERVE_HARDLINKS = 0x08;
export const SNAPSHOT_MODE_DELETE = 0x80;

/** fs_getdetachedattr dtype. */
export const DTYPE_UNKNOWN = 0;
export const DTYPE_TRASH = 1;
export const DTYPE_SUSTAINED = 2;

/** ATIME_MODE values (mfsmaster.cfg). */
export const ATIME_ALWAYS = 0;
export const ATIME_FILES_ONLY = 1;
export const ATIME_RELATIVE_ONLY = 2;
export const ATIME_FILES_AND_RELATIVE_ONLY = 3;
export const ATIME_NEVER = 4;

/** LOOKUP_* access-mode bits of the lookup reply. */
export const LOOKUP_ACCESS_MODES_RO = 0xff33;
export const LOOKUP_IMMUTABLE = 0x0800;
export const LOOKUP_DIRECTMODE = 0x1000;
export const LOOKUP_APPENDONLY = 0x2000;

/** ATTR flags (MATTR_*). */
export const MATTR_NOACACHE = 0x01;
export const MATTR_NOECACHE = 0x02;
export const MATTR_ALLOWDATACACHE = 0x04;
export const MATTR_NOXATTR = 0x08;
export const MATTR_DIRECTMODE = 0x10;
export const MATTR_UNDELETABLE = 0x20;

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

/** The 36-byte ATTR record fields (same shape as @mfs-ts/protocol's Attr). */
export interface FsAttr {
  flags: number;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  ctime: number;
  nlink: number;
  length: number;
  rdev: number;
  winattr: number;
}

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

export const QUOTA_FLAG_SINODES = 0x01;
export const QUOTA_FLAG_SLENGTH = 0x02;
export const QUOTA_FLAG_SSIZE = 0x04;
export const QUOTA_FLAG_SREALSIZE = 0x08;
export const QUOTA_FLAG_HINODES = 0x10;
export const QUOTA_FLAG_HLENGTH = 0x20;
export const QUOTA_FLAG_HSIZE = 0x40;
export const QUOTA_FLAG_HREALSIZE = 0x80;

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
