// The master's namespace: nodes, edges, trash, open files, per-file chunk tables.
// Every change: validate (as fs_* in mfsmaster/filesystem.c) -> build the changelog record -> apply it
// with the one applier (this.apply), which is also what restore and a follower run.
import { MFS_ERROR_ENOTSUP } from '@mfs-ts/protocol';
import type { ChangelogRecord } from './changelog.js';
import type {
  CreateReply,
  DirStats,
  EntryReply,
  FsAttr,
  FsCtx,
  FsResult,
  LookupReply,
  PosixAcl,
  ReadChunkReply,
  ReaddirReply,
  RecursiveChangeReply,
  StatfsReply,
  TrashEntry,
  TruncateReply,
  WriteChunkOp,
} from './types.js';

export interface NamespaceOptions {
  /** Seconds since the epoch (main_time); injectable for tests. */
  now?: () => number;
  /** Called with every record after it was applied (the daemon appends it to changelog.0.mfs). */
  onRecord?: (rec: ChangelogRecord) => void;
  /** INODE_REUSE_DELAY (seconds, default 86400). */
  inodeReuseDelay?: number;
  /** ATIME_MODE (0 always ... 4 never; default 0). */
  atimeMode?: number;
  /** MAX_ALLOWED_HARD_LINKS (default 32767). */
  maxAllowedHardLinks?: number;
}

export interface SetattrArgs {
  setmask: number;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  winattr: number;
  sugidclearmode: number;
}

export interface WriteChunkOptions {
  chunkopflags: number;
  /** The chunk layer's verdict that the existing chunk needs a new version (chunks.c needverincrease). */
  needVersionIncrease?: boolean;
}

const notYet = { ok: false as const, status: MFS_ERROR_ENOTSUP };

export class Namespace {
  constructor(readonly opts: NamespaceOptions = {}) {}

  // ---- the applier ----
  /** Applies one record (live, restore, follower). Returns a status; OK = applied. */
  apply(_rec: ChangelogRecord): number { return MFS_ERROR_ENOTSUP; }
  /** Whether `op` is a namespace record (others: sessions, chunkservers, storage classes). */
  static handles(_op: string): boolean { return false; }

  // ---- attributes and lookup ----
  getattr(_ctx: FsCtx, _inode: number, _opened = 0): FsResult<FsAttr> { return notYet; }
  lookup(_ctx: FsCtx, _parent: number, _name: Buffer): FsResult<LookupReply> { return notYet; }
  access(_ctx: FsCtx, _inode: number, _modemask: number): number { return MFS_ERROR_ENOTSUP; }
  setattr(_ctx: FsCtx, _inode: number, _opened: number, _a: SetattrArgs): FsResult<FsAttr> { return notYet; }
  statfs(_ctx: FsCtx): StatfsReply { return { totalspace: 0, availspace: 0, freespace: 0, trashspace: 0, sustainedspace: 0, inodes: 0 }; }

  // ---- namespace changes ----
  mknod(_ctx: FsCtx, _parent: number, _name: Buffer, _type: number, _mode: number, _umask: number, _rdev: number): FsResult<EntryReply> { return notYet; }
  mkdir(_ctx: FsCtx, _parent: number, _name: Buffer, _mode: number, _umask: number, _copysgid: boolean): FsResult<EntryReply> { return notYet; }
  /** CLTOMA_FUSE_CREATE: mknod(TYPE_FILE) + open for the session. */
  create(_ctx: FsCtx, _sessionId: number, _parent: number, _name: Buffer, _mode: number, _umask: number): FsResult<CreateReply> { return notYet; }
  symlink(_ctx: FsCtx, _parent: number, _name: Buffer, _path: Buffer): FsResult<EntryReply> { return notYet; }
  readlink(_ctx: FsCtx, _inode: number): FsResult<Buffer> { return notYet; }
  link(_ctx: FsCtx, _inode: number, _parent: number, _name: Buffer): FsResult<EntryReply> { return notYet; }
  /** Returns the unlinked inode. */
  unlink(_ctx: FsCtx, _parent: number, _name: Buffer): FsResult<number> { return notYet; }
  rmdir(_ctx: FsCtx, _parent: number, _name: Buffer): FsResult<number> { return notYet; }
  rename(_ctx: FsCtx, _psrc: number, _nsrc: Buffer, _pdst: number, _ndst: Buffer): FsResult<EntryReply> { return notYet; }
  readdir(_ctx: FsCtx, _inode: number, _flags: number, _maxentries: number, _nedgeid: bigint): FsResult<ReaddirReply> { return notYet; }

  // ---- open files (openfiles.c: ACQUIRE/RELEASE records) ----
  /** fs_opencheck: permission and flags check for OPEN; then call acquire(). */
  opencheck(_ctx: FsCtx, _inode: number, _flags: number): FsResult<{ attr: FsAttr; oflags: number }> { return notYet; }
  acquire(_sessionId: number, _inode: number): number { return MFS_ERROR_ENOTSUP; }
  release(_sessionId: number, _inode: number): number { return MFS_ERROR_ENOTSUP; }
  /** Session ended: release all its inodes (unlinked ones become free / purged). */
  sessionClosed(_sessionId: number): void {}

  // ---- truncate: fs_try_setlength (may need a chunk truncate first) + fs_do_setlength ----
  /** OK + null: go on with doTruncate; OK + op: the chunk layer must truncate chunk op.chunkId first (TRUNC record written). */
  tryTruncate(_ctx: FsCtx, _inode: number, _flags: number, _length: number): FsResult<(WriteChunkOp & { indx: number }) | null> { return notYet; }
  doTruncate(_ctx: FsCtx, _inode: number, _flags: number, _length: number): FsResult<TruncateReply> { return notYet; }

  // ---- chunks of files ----
  readChunk(_inode: number, _indx: number): FsResult<ReadChunkReply> { return notYet; }
  writeChunk(_inode: number, _indx: number, _o: WriteChunkOptions): FsResult<WriteChunkOp> { return notYet; }
  /** WRITE_CHUNK_END: unlock, set the length if it grew (LENGTH record). */
  writeChunkEnd(_inode: number, _chunkId: number, _length: number, _chunkopflags: number): number { return MFS_ERROR_ENOTSUP; }
  /** The chunk layer failed a write op: restore the previous chunk (ROLLBACK). */
  rollback(_inode: number, _indx: number, _prevChunkId: number, _chunkId: number): number { return MFS_ERROR_ENOTSUP; }
  /** Chunk ids of a file (for fileinfo / checkfile). */
  fileChunks(_inode: number): number[] { return []; }

  // ---- xattrs and ACLs ----
  getxattr(_ctx: FsCtx, _inode: number, _opened: number, _name: Buffer): FsResult<Buffer> { return notYet; }
  listxattr(_ctx: FsCtx, _inode: number, _opened: number): FsResult<Buffer[]> { return notYet; }
  setxattr(_ctx: FsCtx, _inode: number, _opened: number, _name: Buffer, _value: Buffer, _mode: number): number { return MFS_ERROR_ENOTSUP; }
  getfacl(_ctx: FsCtx, _inode: number, _acltype: number): FsResult<PosixAcl> { return notYet; }
  setfacl(_ctx: FsCtx, _inode: number, _acltype: number, _acl: PosixAcl | null): number { return MFS_ERROR_ENOTSUP; }

  // ---- goal (storage class), trashtime, eattr ----
  getsclass(_ctx: FsCtx, _inode: number, _gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> { return notYet; }
  setsclass(_ctx: FsCtx, _inode: number, _src: number, _dst: number, _smode: number): FsResult<RecursiveChangeReply> { return notYet; }
  gettrashtime(_ctx: FsCtx, _inode: number, _gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> { return notYet; }
  settrashtime(_ctx: FsCtx, _inode: number, _trashtime: number, _smode: number): FsResult<RecursiveChangeReply> { return notYet; }
  geteattr(_ctx: FsCtx, _inode: number, _gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> { return notYet; }
  seteattr(_ctx: FsCtx, _inode: number, _eattr: number, _smode: number): FsResult<RecursiveChangeReply> { return notYet; }

  // ---- trash and sustained (meta mount) ----
  readTrash(_ctx: FsCtx, _bid?: number): FsResult<TrashEntry[]> { return notYet; }
  readSustained(_ctx: FsCtx): FsResult<TrashEntry[]> { return notYet; }
  getDetachedAttr(_ctx: FsCtx, _inode: number, _dtype: number): FsResult<FsAttr> { return notYet; }
  getTrashPath(_ctx: FsCtx, _inode: number): FsResult<Buffer> { return notYet; }
  setTrashPath(_ctx: FsCtx, _inode: number, _path: Buffer): number { return MFS_ERROR_ENOTSUP; }
  undel(_ctx: FsCtx, _inode: number): number { return MFS_ERROR_ENOTSUP; }
  purge(_ctx: FsCtx, _inode: number): number { return MFS_ERROR_ENOTSUP; }
  /** Periodic (each second in MooseFS): purge expired trash (EMPTYTRASH), free unused sustained (EMPTYSUSTAINED), release reusable inodes (FREEINODES). */
  periodic(): void {}

  // ---- snapshots, stats, paths ----
  snapshot(_ctx: FsCtx, _srcInode: number, _dstParent: number, _name: Buffer, _smode: number, _umask: number): number { return MFS_ERROR_ENOTSUP; }
  getDirStats(_ctx: FsCtx, _inode: number): FsResult<DirStats> { return notYet; }
  getPaths(_ctx: FsCtx, _inode: number): FsResult<Buffer[]> { return notYet; }
  /** CLTOMA_FUSE_AMTIME_INODES / atime updates on read. */
  amtimeUpdate(_ctx: FsCtx, _entries: Array<{ inode: number; atime: number; mtime: number }>): void {}
}
