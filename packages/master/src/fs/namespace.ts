// The master's namespace: every operation checks its arguments and permissions as the fs_* function
// of the same name in mfsmaster/filesystem.c does, builds the MooseFS changelog record, and hands it to
// the one applier (apply.ts) -- which is also what restore and a follower run. Reads (getattr, lookup,
// readdir, ...) answer from the tree directly.
import {
  MFS_ERROR_CANTCREATEPATH,
  MFS_ERROR_EACCES,
  MFS_ERROR_EEXIST,
  MFS_ERROR_EINVAL,
  MFS_ERROR_ENOATTR,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOENT_NOCACHE,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_ENOTEMPTY,
  MFS_ERROR_EPERM,
  MFS_ERROR_ERANGE,
  MFS_ERROR_EROFS,
  MFS_ERROR_INDEXTOOBIG,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_QUOTA,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import { aclBlob, aclGetMode, cloneAcl, MODE_TO_ACCMODE } from './acl.js';
import { SclassTable, type StorageClass } from './sclass.js';
import { appendSlice, applyRecord, NAMESPACE_OPS, namecheck, removeSnapshotTest, snapshotTest, type ApplyOptions, type LiveInfo } from './apply.js';
import type { ChangelogRecord, ClArg } from './changelog.js';
import type { ChunkBook } from './chunks.js';
import { accessMode, hasAccess, stickyAccess } from './perms.js';
import { EDGEID_MAX, type Edge, FsNode, FsTree, lastChunkInfo, MFSCHUNKSIZE, MFSHDRSIZE } from './tree.js';
import {
  ATIME_ALWAYS,
  ATIME_FILES_AND_RELATIVE_ONLY,
  ATIME_FILES_ONLY,
  ATIME_RELATIVE_ONLY,
  CHUNKOPFLAG_CANMODTIME,
  CHUNKOPFLAG_CONTINUEOP,
  DTYPE_SUSTAINED,
  DTYPE_TRASH,
  EATTR_APPENDONLY,
  EATTR_IMMUTABLE,
  EATTR_NOACACHE,
  EATTR_NODATACACHE,
  EATTR_NOECACHE,
  EATTR_NOOWNER,
  EATTR_UNDELETABLE,
  GETDIR_FLAG_WITHATTR,
  LOOKUP_ACCESS_MODES_RO,
  LOOKUP_APPENDONLY,
  LOOKUP_DIRECTMODE,
  LOOKUP_IMMUTABLE,
  MATTR_ALLOWDATACACHE,
  MATTR_DIRECTMODE,
  MATTR_NOACACHE,
  MATTR_NOECACHE,
  MATTR_NOXATTR,
  MATTR_UNDELETABLE,
  MAX_INDEX,
  MFS_PATH_MAX,
  MFS_ROOT_ID,
  MFS_SYMLINK_MAX,
  MFS_XATTR_LIST_MAX,
  MFS_XATTR_NAME_MAX,
  MFS_XATTR_REMOVE,
  MFS_XATTR_SIZE_MAX,
  MODE_MASK_R,
  MODE_MASK_W,
  MODE_MASK_X,
  OPEN_AFTER_CREATE,
  OPEN_APPENDONLY,
  OPEN_DIRECTMODE,
  OPEN_READ,
  OPEN_TRUNCATE,
  OPEN_WRITE,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SESFLAG_ADMIN,
  SESFLAG_MAPALL,
  SESFLAG_READONLY,
  SET_ATIME_FLAG,
  SET_ATIME_NOW_FLAG,
  SET_GID_FLAG,
  SET_MODE_FLAG,
  SET_MTIME_FLAG,
  SET_MTIME_NOW_FLAG,
  SET_UID_FLAG,
  SET_WINATTR_FLAG,
  SMODE_DECREASE,
  SMODE_INCREASE,
  SMODE_SET,
  SMODE_TMASK,
  SMODE_RMASK,
  SNAPSHOT_MODE_CAN_OVERWRITE,
  SNAPSHOT_MODE_DELETE,
  SNAPSHOT_MODE_FORCE_REMOVAL,
  SUGID_CLEAR_MODE_ALWAYS,
  SUGID_CLEAR_MODE_BSD,
  SUGID_CLEAR_MODE_EXT,
  SUGID_CLEAR_MODE_OSX,
  SUGID_CLEAR_MODE_XFS,
  SUSTAINED_BUCKETS,
  TRASH_BUCKETS,
  TRUNCATE_FLAG_OPENED,
  TRUNCATE_FLAG_RESERVE,
  TRUNCATE_FLAG_TIMEFIX,
  TRUNCATE_FLAG_UPDATE,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_DIRECTORY,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SOCKET,
  TYPE_SUSTAINED,
  TYPE_SYMLINK,
  TYPE_TRASH,
  type CreateReply,
  type DirStats,
  type EntryReply,
  type FsAttr,
  type FsCtx,
  type FsResult,
  type LookupReply,
  type PosixAcl,
  type Quota,
  type QuotaReply,
  type ReadChunkReply,
  type ReaddirEntry,
  type ReaddirReply,
  type RecursiveChangeReply,
  type StatfsReply,
  type TrashEntry,
  type TruncateReply,
  type WriteChunkOp,
} from './types.js';

export interface NamespaceOptions {
  /** Seconds since the epoch (main_time); injectable for tests. */
  now?: () => number;
  /** Called with every record after it was applied (the daemon appends it to changelog.0.mfs). */
  onRecord?: (rec: ChangelogRecord) => void;
  /** INODE_REUSE_DELAY (seconds, default 86400). */
  inodeReuseDelay?: number;
  /** ATIME_MODE (0 always ... 4 never; default 2 = relative only, as mfsmaster). */
  atimeMode?: number;
  /** MAX_ALLOWED_HARD_LINKS (default 32767). */
  maxAllowedHardLinks?: number;
  /** Storage class id -> keep-max goal (realsize ratio for directory stats); default: classes 1..9 -> id. */
  sclassKeepMax?: (sclassid: number) => number;
  /** Storage classes only admin sessions may set. */
  sclassAdminOnly?: (sclassid: number) => boolean;
  /** Use this chunk book (shared with the chunk registry) instead of a private one. */
  chunks?: ChunkBook;
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
  /**
   * The chunk registry's needverincrease for the existing chunk (chunks.c); when given it overrides the
   * book's own flag. Ignored for new and shared chunks (those always get a new chunk).
   */
  needVersionIncrease?: boolean;
}

const OK = <T>(value: T): FsResult<T> => ({ ok: true, value });
const ERR = <T>(status: number): FsResult<T> => ({ ok: false, status });

const TIME_UNITS_WITHOUT_RELATIVE = new Set([ATIME_ALWAYS]);

export class Namespace {
  readonly tree: FsTree;
  private readonly now: () => number;
  private readonly applyOpts: ApplyOptions;
  /** Storage class definitions (SCLA section; SCSET/SCDUP/SCREN/SCDEL records). */
  readonly sclasses = new SclassTable();
  private readonly inodeReuseDelay: number;
  private readonly atimeMode: number;
  private readonly maxHardLinks: number;
  onRecord: ((rec: ChangelogRecord) => void) | undefined;

  constructor(readonly opts: NamespaceOptions = {}) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    // Storage class definitions: copies per class (realsize) and admin-only flags come from the table unless given.
    this.tree = new FsTree(this.now(), { sclassKeepMax: opts.sclassKeepMax ?? ((id) => this.sclasses.keepMax(id)) }, opts.chunks);
    this.applyOpts = { sclassAdminOnly: opts.sclassAdminOnly ?? ((id) => this.sclasses.adminOnly(id)), sclasses: this.sclasses };
    this.inodeReuseDelay = opts.inodeReuseDelay ?? 86400;
    this.atimeMode = opts.atimeMode ?? ATIME_RELATIVE_ONLY;
    this.maxHardLinks = opts.maxAllowedHardLinks ?? 32767;
    this.onRecord = opts.onRecord;
  }

  get chunks(): ChunkBook {
    return this.tree.chunks;
  }

  // ================= the applier =================

  /** Applies one record (restore, follower). Returns a status; OK = applied. */
  apply(rec: ChangelogRecord): number {
    return applyRecord(this.tree, rec, this.applyOpts);
  }

  /** Whether `op` is a namespace record (others: sessions, chunkservers, storage classes). */
  static handles(op: string): boolean {
    return NAMESPACE_OPS.has(op);
  }

  /** Live path: apply, then publish. A failure here means validation let through what the applier refuses. */
  private commit(op: string, args: ClArg[], live?: LiveInfo, ts = this.now()): number {
    const rec: ChangelogRecord = { ts, op, args };
    const st = applyRecord(this.tree, rec, this.applyOpts, live);
    if (st === MFS_STATUS_OK) this.onRecord?.(rec);
    return st;
  }

  private lastResult = 0;
  private commitR(op: string, args: ClArg[], ts = this.now()): number {
    const rec: ChangelogRecord = { ts, op, args };
    const st = applyRecord(this.tree, rec, this.applyOpts);
    if (st === MFS_STATUS_OK) {
      this.lastResult = Number(rec.result?.[0] ?? 0);
      this.onRecord?.(rec);
    }
    return st;
  }

  /**
   * The whole state as plain data in a canonical order (tests: replay == live; followers: compare with
   * the leader). Includes what metadata.mfs stores plus open files and the free-inode list.
   */
  dumpState(): unknown {
    const t = this.tree;
    const hex = (b: Buffer): string => b.toString('hex');
    const acl = (a: PosixAcl | null): unknown => a && { ...a, namedusers: a.namedusers.map((e) => [e.id, e.perm]), namedgroups: a.namedgroups.map((e) => [e.id, e.perm]) };
    const nodes = [...t.nodes.values()].sort((a, b) => a.inode - b.inode).map((n) => ({
      inode: n.inode, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, atime: n.atime, mtime: n.mtime, ctime: n.ctime,
      sclassid: n.sclassid, eattr: n.eattr, winattr: n.winattr, trashtime: n.trashtime, nlink: n.nlink,
      dir: n.type === TYPE_DIRECTORY ? { nlink: n.dirNlink, stats: n.stats, children: t.childList(n).map((e) => [hex(e.name), e.child.inode, e.edgeid.toString()]) } : undefined,
      // trailing holes in a chunk table are not observable (and metadata.mfs does not keep them)
      file: n.isFile ? { length: n.length, chunks: trimZeros(n.chunks), ratio: n.realsizeRatio } : undefined,
      path: n.type === TYPE_SYMLINK ? hex(n.path) : undefined,
      rdev: n.rdev,
      parents: n.parents.map((e) => [e.parent?.inode ?? null, hex(e.name), e.edgeid.toString()]),
      xattrs: n.xattrs ? [...n.xattrs.values()].map((x) => [hex(x.name), hex(x.value)]) : null,
      aclAccess: acl(n.aclAccess),
      aclDefault: acl(n.aclDefault),
      quota: n.quota,
    }));
    const detached = (b: Array<Map<number, Edge>>): unknown => b.flatMap((m) => [...m.values()].map((e) => [e.child.inode, hex(e.name), e.edgeid.toString()]));
    return {
      nodes,
      trash: detached(t.trash),
      sustained: detached(t.sustained),
      trashspace: t.trashspace, trashnodes: t.trashnodes, sustainedspace: t.sustainedspace, sustainednodes: t.sustainednodes,
      freelist: t.freelist, maxnodeid: t.maxnodeid, nextEdgeId: t.nextEdgeId.toString(),
      open: [...t.open.entries()].sort((a, b) => a[0] - b[0]).map(([i, s]) => [i, [...s].sort((a, b) => a - b)]),
      chunks: { next: t.chunks.nextChunkId, list: [...t.chunks.chunks.values()].sort((a, b) => a.chunkid - b.chunkid).map((c) => [c.chunkid, c.version, c.fcount, c.lockedto]) },
      sclasses: this.sclasses.store().toString('hex'),
    };
  }

  // ================= helpers =================

  /** fsnodes_node_find_ext: client inode -> node, honouring the export's root (and meta root 0). */
  private find(ctx: FsCtx, inode: number, skipAncestor = false): { node: FsNode; inode: number } | undefined {
    const t = this.tree;
    const rootinode = ctx.rootinode;
    if (rootinode === MFS_ROOT_ID) {
      const p = t.nodes.get(inode);
      return p ? { node: p, inode } : undefined;
    }
    if (rootinode === 0) {
      const p = t.nodes.get(inode);
      if (p === undefined || (p.type !== TYPE_TRASH && p.type !== TYPE_SUSTAINED)) return undefined;
      return { node: p, inode };
    }
    const rn = t.nodes.get(rootinode);
    if (rn === undefined || rn.type !== TYPE_DIRECTORY) return undefined;
    if (inode === MFS_ROOT_ID) return { node: rn, inode: rootinode };
    const p = t.nodes.get(inode);
    if (p === undefined) return undefined;
    if (!skipAncestor && !t.isAncestor(rn, p)) return undefined;
    return { node: p, inode };
  }

  private rootNode(ctx: FsCtx): FsNode | undefined {
    return ctx.rootinode === MFS_ROOT_ID ? this.tree.root : this.tree.nodes.get(ctx.rootinode);
  }

  private gid0(ctx: FsCtx): number {
    return ctx.gids[0] ?? 0;
  }

  private can(node: FsNode, ctx: FsCtx, mask: number): boolean {
    return hasAccess(node, ctx.uid, ctx.gids, mask, ctx.sesflags);
  }

  private ro(ctx: FsCtx): boolean {
    return (ctx.sesflags & SESFLAG_READONLY) !== 0;
  }

  /** fsnodes_fill_attr */
  fillAttr(node: FsNode, parent: FsNode | null, ctx: FsCtx, uidIn = ctx.uid, gidIn = this.gid0(ctx)): FsAttr {
    let uid = uidIn;
    let gid = gidIn;
    const auid = ctx.auid ?? ctx.uid;
    const agid = ctx.agid ?? this.gid0(ctx);
    const sesflags = ctx.sesflags;
    let type = node.type;
    if (type === TYPE_TRASH || type === TYPE_SUSTAINED) type = TYPE_FILE;
    let flags = 0;
    if (parent !== null && parent.eattr & EATTR_NOECACHE) flags |= MATTR_NOECACHE;
    if (node.eattr & (EATTR_NOOWNER | EATTR_NOACACHE) || sesflags & SESFLAG_MAPALL) flags |= MATTR_NOACACHE;
    if ((node.eattr & EATTR_NODATACACHE) === 0) flags |= MATTR_ALLOWDATACACHE;
    else flags |= MATTR_DIRECTMODE;
    if (node.xattrs === null && node.aclAccess === null && node.aclDefault === null) flags |= MATTR_NOXATTR;
    if (node.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) flags |= MATTR_UNDELETABLE;
    let mode = node.aclAccess !== null ? (aclGetMode(node.aclAccess) & 0o777) | (node.mode & 0o7000) : node.mode & 0o7777;
    if (node.eattr & EATTR_NOOWNER && uid !== 0) {
      mode &= 0o7700;
      mode |= (mode & 0o700) >> 3;
      mode |= (mode & 0o700) >> 6;
      if (sesflags & SESFLAG_MAPALL) {
        uid = auid;
        gid = agid;
      }
    } else if (sesflags & SESFLAG_MAPALL && auid !== 0) {
      uid = node.uid === uid ? auid : 0;
      gid = node.gid === gid ? agid : 0;
    } else {
      uid = node.uid;
      gid = node.gid;
    }
    let nlink: number;
    let length = 0;
    let rdev = 0;
    switch (node.type) {
      case TYPE_FILE:
      case TYPE_TRASH:
      case TYPE_SUSTAINED:
        nlink = node.nlink;
        length = node.length;
        break;
      case TYPE_DIRECTORY:
        nlink = node.dirNlink;
        length = dirLengthCode(node.stats.length);
        break;
      case TYPE_SYMLINK:
        nlink = node.nlink;
        length = node.path.length;
        break;
      case TYPE_BLOCKDEV:
      case TYPE_CHARDEV:
        nlink = node.nlink;
        rdev = node.rdev;
        break;
      default:
        nlink = node.nlink;
    }
    return { flags, type, mode, uid, gid, atime: node.atime, mtime: node.mtime, ctime: node.ctime, nlink, length, rdev, winattr: node.winattr };
  }

  private atimeShouldUpdate(p: FsNode, ts: number, filesOnlyAllowed: boolean): boolean {
    const m = this.atimeMode;
    const relative = (p.atime <= p.ctime && ts >= p.ctime) || (p.atime <= p.mtime && ts >= p.mtime) || p.atime + 86400 < ts;
    if (filesOnlyAllowed) {
      return m === ATIME_ALWAYS || m === ATIME_FILES_ONLY || (relative && (m === ATIME_RELATIVE_ONLY || m === ATIME_FILES_AND_RELATIVE_ONLY));
    }
    return TIME_UNITS_WITHOUT_RELATIVE.has(m) || (relative && m === ATIME_RELATIVE_ONLY);
  }

  // ================= attributes and lookup =================

  getattr(ctx: FsCtx, inode: number, opened = 0): FsResult<FsAttr> {
    const f = this.find(ctx, inode, opened !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    return OK(this.fillAttr(f.node, null, ctx));
  }

  access(ctx: FsCtx, inode: number, modemask: number): number {
    if (this.ro(ctx) && modemask & MODE_MASK_W) return MFS_ERROR_EROFS;
    const f = this.find(ctx, inode, true);
    if (f === undefined) return MFS_ERROR_ENOENT;
    if (f.node.eattr & EATTR_IMMUTABLE && modemask & MODE_MASK_W) return MFS_ERROR_EPERM;
    return this.can(f.node, ctx, modemask) ? MFS_STATUS_OK : MFS_ERROR_EACCES;
  }

  lookup(ctx: FsCtx, parent: number, name: Buffer): FsResult<LookupReply> {
    const f = this.find(ctx, parent);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT_NOCACHE);
    const wd = f.node;
    const rootinode = ctx.rootinode;
    if (wd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (!this.can(wd, ctx, MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    let p: FsNode | undefined;
    let inode = 0;
    if (name.length > 0 && name[0] === 0x2e) {
      if (name.length === 1) {
        inode = f.inode === rootinode ? MFS_ROOT_ID : wd.inode;
        p = wd;
      } else if (name.length === 2 && name[1] === 0x2e) {
        if (f.inode === rootinode) {
          inode = MFS_ROOT_ID;
          p = wd;
        } else if (wd.parents.length > 0 && wd.parents[0]!.parent !== null) {
          const pp = wd.parents[0]!.parent!;
          inode = pp.inode === rootinode ? MFS_ROOT_ID : pp.inode;
          p = pp;
        } else {
          inode = MFS_ROOT_ID;
          p = this.rootNode(ctx) ?? wd;
        }
      }
    }
    if (p === undefined) {
      if (!namecheck(name)) return ERR(MFS_ERROR_EINVAL);
      const e = this.tree.lookup(wd, name);
      if (e === undefined) return ERR(wd.eattr & EATTR_NOECACHE ? MFS_ERROR_ENOENT_NOCACHE : MFS_ERROR_ENOENT);
      p = e.child;
      inode = p.inode;
    }
    const attr = this.fillAttr(p, wd, ctx);
    let accmode = accessMode(p, ctx.uid, ctx.gids, ctx.sesflags);
    if (p.eattr & EATTR_IMMUTABLE) {
      accmode &= LOOKUP_ACCESS_MODES_RO;
      accmode |= LOOKUP_IMMUTABLE;
    }
    if (p.eattr & EATTR_APPENDONLY) accmode |= LOOKUP_APPENDONLY;
    if (p.eattr & EATTR_NODATACACHE) accmode |= LOOKUP_DIRECTMODE;
    const chunkid = p.isFile && p.chunks.length === 1 ? p.chunks[0]! : 0;
    return OK({ inode, attr, accmode, chunkid });
  }

  setattr(ctx: FsCtx, inode: number, opened: number, a: SetattrArgs): FsResult<FsAttr> {
    const ts = this.now();
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const f = this.find(ctx, inode, opened !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    const uid = ctx.uid;
    const gids = ctx.gids;
    const setmask = a.setmask;
    let attrmode = a.mode & 0xffff;
    if (p.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!(uid !== 0 && setmask === SET_MODE_FLAG && attrmode === (p.mode & 0o1777) && (p.mode & 0o6000) !== 0)) {
      if (uid !== 0 && ctx.sesflags & SESFLAG_MAPALL && setmask & (SET_UID_FLAG | SET_GID_FLAG)) return ERR(MFS_ERROR_EPERM);
      if ((p.eattr & EATTR_NOOWNER) === 0) {
        if (uid !== 0 && uid !== p.uid && setmask & (SET_MODE_FLAG | SET_UID_FLAG | SET_GID_FLAG | SET_ATIME_FLAG | SET_MTIME_FLAG)) {
          return ERR(MFS_ERROR_EPERM);
        }
        if (uid !== 0 && uid !== p.uid && setmask & (SET_ATIME_NOW_FLAG | SET_MTIME_NOW_FLAG)) {
          if (!this.can(p, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
        }
      }
      if (uid !== 0 && uid !== a.uid && setmask & SET_UID_FLAG) return ERR(MFS_ERROR_EPERM);
      if ((ctx.sesflags & 0x04) === 0 && uid !== 0 && setmask & SET_GID_FLAG && !gids.includes(a.gid)) {
        return ERR(MFS_ERROR_EPERM);
      }
    }
    // The node's new values, computed as fs_setattr does, then written as one ATTR record.
    let nmode = p.mode;
    let nuid = p.uid;
    let ngid = p.gid;
    let natime = p.atime;
    let nmtime = p.mtime;
    let nwin = p.winattr;
    if (setmask & (SET_UID_FLAG | SET_GID_FLAG) && setmask & SET_MODE_FLAG) attrmode |= p.mode & 0o6000;
    if (p.mode & 0o6000 && setmask & (SET_UID_FLAG | SET_GID_FLAG)) {
      const clearBoth = (): void => {
        nmode &= 0o1777;
        attrmode &= 0o1777;
      };
      const clearSuid = (): void => {
        nmode &= 0o3777;
        attrmode &= 0o3777;
      };
      switch (a.sugidclearmode) {
        case SUGID_CLEAR_MODE_ALWAYS:
          clearBoth();
          break;
        case SUGID_CLEAR_MODE_OSX:
          if (uid !== 0) clearBoth();
          break;
        case SUGID_CLEAR_MODE_BSD:
          if (uid !== 0 && setmask & SET_GID_FLAG && p.gid !== a.gid) clearBoth();
          break;
        case SUGID_CLEAR_MODE_EXT:
          if (p.type !== TYPE_DIRECTORY) {
            if (p.mode & 0o010) clearBoth();
            else clearSuid();
          }
          break;
        case SUGID_CLEAR_MODE_XFS:
          if (p.type !== TYPE_DIRECTORY) {
            if (p.mode & 0o010) clearBoth();
            else clearSuid();
          } else if (uid !== 0) {
            clearBoth();
          }
          break;
      }
    }
    if (setmask & SET_UID_FLAG) nuid = a.uid;
    if (setmask & SET_GID_FLAG) ngid = a.gid;
    let aclmode = 0;
    if (setmask & SET_MODE_FLAG) {
      if (uid !== 0 && (attrmode & 0o2000) !== 0 && !gids.includes(ngid)) attrmode &= 0o5777;
      if (p.aclAccess !== null) {
        // posix_acl_setmode(attrmode) then the node keeps its group bits (they are the ACL's group entry)
        aclmode = attrmode & 0o7777;
        nmode = (nmode & 0o0070) | (attrmode & 0o7707);
      } else {
        nmode = attrmode & 0o7777;
      }
    }
    if (p.aclAccess !== null) {
      if ((setmask & SET_MODE_FLAG) === 0) aclmode = aclGetMode(p.aclAccess) & 0o7777;
      aclmode = (aclmode & 0o7777) + (1 << 12);
    }
    if (setmask & SET_ATIME_FLAG) natime = a.atime;
    if (setmask & SET_MTIME_FLAG) nmtime = a.mtime;
    if (setmask & SET_ATIME_NOW_FLAG) natime = ts;
    if (setmask & SET_MTIME_NOW_FLAG) nmtime = ts;
    if (setmask & SET_WINATTR_FLAG) nwin = a.winattr & 0xff;
    const st = this.commit('ATTR', [f.inode, nmode & 0xffff, nuid, ngid, natime, nmtime, nwin, aclmode], undefined, ts);
    if (st !== MFS_STATUS_OK) return ERR(st);
    return OK(this.fillAttr(p, null, ctx));
  }

  statfs(ctx: FsCtx): StatfsReply {
    const t = this.tree;
    const rn = this.rootNode(ctx);
    const whole = ctx.rootinode === MFS_ROOT_ID;
    return {
      totalspace: 0,
      availspace: 0,
      freespace: 0,
      trashspace: whole ? t.trashspace : 0,
      sustainedspace: whole ? t.sustainedspace : 0,
      inodes: rn !== undefined && rn.type === TYPE_DIRECTORY ? t.getStats(rn, 2).inodes : 0,
    };
  }

  // ================= namespace changes =================

  private createCommon(ctx: FsCtx, parent: number, name: Buffer, type: number, mode: number, umask: number, rdev: number, copysgid: boolean): FsResult<EntryReply & { node: FsNode; wd: FsNode }> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    if (type !== TYPE_FILE && type !== TYPE_SOCKET && type !== TYPE_FIFO && type !== TYPE_BLOCKDEV && type !== TYPE_CHARDEV && type !== TYPE_DIRECTORY) {
      return ERR(MFS_ERROR_EINVAL);
    }
    const f = this.find(ctx, parent);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const wd = f.node;
    if (wd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (wd.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(wd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (!namecheck(name)) return ERR(MFS_ERROR_EINVAL);
    if (this.tree.lookup(wd, name)) return ERR(MFS_ERROR_EEXIST);
    if (this.tree.quotaExceeded(wd, 1, 0, 0, 0)) return ERR(MFS_ERROR_QUOTA);
    // What the new node's uid/gid and sgid bit will be (fsnodes_create_node), for the record.
    const gid = (wd.mode & 0o2000) === 0o2000 ? wd.gid : this.gid0(ctx);
    let chlogmode = mode & 0xffff;
    if (copysgid && type === TYPE_DIRECTORY) {
      chlogmode &= 0xfbff;
      const resultingSgid = ((mode & ~umask) & 0o2000) | ((wd.mode & 0o2000) === 0o2000 ? 0o2000 : 0);
      chlogmode |= resultingSgid & 0x0400;
    }
    const st = this.commitR('CREATE', [f.inode, name, type, chlogmode, umask & 0xffff, ctx.uid, gid, rdev >>> 0]);
    if (st !== MFS_STATUS_OK) return ERR(st);
    const node = this.tree.nodes.get(this.lastResult)!;
    return OK({ inode: node.inode, attr: this.fillAttr(node, wd, ctx), node, wd });
  }

  mknod(ctx: FsCtx, parent: number, name: Buffer, type: number, mode: number, umask: number, rdev: number): FsResult<EntryReply> {
    const r = this.createCommon(ctx, parent, name, type, mode, umask, rdev, false);
    return r.ok ? OK({ inode: r.value.inode, attr: r.value.attr }) : r;
  }

  mkdir(ctx: FsCtx, parent: number, name: Buffer, mode: number, umask: number, copysgid: boolean): FsResult<EntryReply> {
    const r = this.createCommon(ctx, parent, name, TYPE_DIRECTORY, mode, umask, 0, copysgid);
    return r.ok ? OK({ inode: r.value.inode, attr: r.value.attr }) : r;
  }

  /** CLTOMA_FUSE_CREATE: mknod(TYPE_FILE) + acquire for the session; oflags as fs_mknod's. */
  create(ctx: FsCtx, sessionId: number, parent: number, name: Buffer, mode: number, umask: number): FsResult<CreateReply> {
    const r = this.createCommon(ctx, parent, name, TYPE_FILE, mode, umask, 0, false);
    if (!r.ok) return r;
    const p = r.value.node;
    let oflags = 0;
    if (p.eattr & EATTR_NODATACACHE) oflags |= OPEN_DIRECTMODE;
    if (p.eattr & EATTR_APPENDONLY) oflags |= OPEN_APPENDONLY;
    this.acquire(sessionId, p.inode);
    return OK({ inode: r.value.inode, attr: r.value.attr, oflags });
  }

  symlink(ctx: FsCtx, parent: number, name: Buffer, path: Buffer): FsResult<EntryReply> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    if (path.length === 0 || path.length > MFS_SYMLINK_MAX || path.includes(0)) return ERR(MFS_ERROR_EINVAL);
    const f = this.find(ctx, parent);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const wd = f.node;
    if (wd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (wd.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(wd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (!namecheck(name)) return ERR(MFS_ERROR_EINVAL);
    if (this.tree.lookup(wd, name)) return ERR(MFS_ERROR_EEXIST);
    if (this.tree.quotaExceeded(wd, 1, path.length, 0, 0)) return ERR(MFS_ERROR_QUOTA);
    const st = this.commitR('SYMLINK', [f.inode, name, path, ctx.uid, this.gid0(ctx)]);
    if (st !== MFS_STATUS_OK) return ERR(st);
    const node = this.tree.nodes.get(this.lastResult)!;
    return OK({ inode: node.inode, attr: this.fillAttr(node, wd, ctx) });
  }

  readlink(ctx: FsCtx, inode: number): FsResult<Buffer> {
    const ts = this.now();
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (p.type !== TYPE_SYMLINK) return ERR(MFS_ERROR_EINVAL);
    if (p.atime !== ts && this.atimeShouldUpdate(p, ts, false)) this.commit('ACCESS', [f.inode], undefined, ts);
    return OK(p.path);
  }

  link(ctx: FsCtx, inode: number, parent: number, name: Buffer): FsResult<EntryReply> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const fs = this.find(ctx, inode);
    const fd = this.find(ctx, parent);
    if (fs === undefined || fd === undefined) return ERR(MFS_ERROR_ENOENT);
    const sp = fs.node;
    const dwd = fd.node;
    if (sp.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (sp.type === TYPE_TRASH || sp.type === TYPE_SUSTAINED) return ERR(MFS_ERROR_ENOENT);
    if (sp.type === TYPE_DIRECTORY) return ERR(MFS_ERROR_EPERM);
    if (sp.nlink >= this.maxHardLinks) return ERR(MFS_ERROR_NOSPACE);
    if (dwd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (dwd.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(dwd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (!namecheck(name)) return ERR(MFS_ERROR_EINVAL);
    if (this.tree.lookup(dwd, name)) return ERR(MFS_ERROR_EEXIST);
    const lsr = this.tree.getStats(sp, 2);
    if (this.tree.quotaExceeded(dwd, lsr.inodes, lsr.length, lsr.size, lsr.realsize)) return ERR(MFS_ERROR_QUOTA);
    const st = this.commit('LINK', [fs.inode, fd.inode, name]);
    if (st !== MFS_STATUS_OK) return ERR(st);
    return OK({ inode: fs.inode, attr: this.fillAttr(sp, dwd, ctx) });
  }

  private unlinkCommon(ctx: FsCtx, parent: number, name: Buffer, dirmode: boolean): FsResult<number> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const f = this.find(ctx, parent);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const wd = f.node;
    if (wd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (wd.eattr & (EATTR_IMMUTABLE | EATTR_APPENDONLY)) return ERR(MFS_ERROR_EPERM);
    if (!this.can(wd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (!namecheck(name)) return ERR(MFS_ERROR_EINVAL);
    const e = this.tree.lookup(wd, name);
    if (e === undefined) return ERR(MFS_ERROR_ENOENT);
    if (!stickyAccess(wd, e.child, ctx.uid)) return ERR(MFS_ERROR_EPERM);
    if (e.child.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) return ERR(MFS_ERROR_EPERM);
    if (!dirmode) {
      if (e.child.type === TYPE_DIRECTORY) return ERR(MFS_ERROR_EPERM);
    } else {
      if (e.child.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
      if (e.child.children!.size > 0) return ERR(MFS_ERROR_ENOTEMPTY);
    }
    const inode = e.child.inode;
    const st = this.commit('UNLINK', [f.inode, name]);
    return st === MFS_STATUS_OK ? OK(inode) : ERR(st);
  }

  unlink(ctx: FsCtx, parent: number, name: Buffer): FsResult<number> {
    return this.unlinkCommon(ctx, parent, name, false);
  }

  rmdir(ctx: FsCtx, parent: number, name: Buffer): FsResult<number> {
    return this.unlinkCommon(ctx, parent, name, true);
  }

  /** fs_rename; `delflags` bit 1: unlink not allowed in the session, bit 2: rmdir not allowed. */
  rename(ctx: FsCtx, psrc: number, nsrc: Buffer, pdst: number, ndst: Buffer, delflags = 0): FsResult<EntryReply> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const fs = this.find(ctx, psrc);
    const fd = this.find(ctx, pdst);
    if (fs === undefined || fd === undefined) return ERR(MFS_ERROR_ENOENT);
    const swd = fs.node;
    const dwd = fd.node;
    if (swd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (swd.eattr & (EATTR_IMMUTABLE | EATTR_APPENDONLY)) return ERR(MFS_ERROR_EPERM);
    if (!this.can(swd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (!namecheck(nsrc)) return ERR(MFS_ERROR_EINVAL);
    const se = this.tree.lookup(swd, nsrc);
    if (se === undefined) return ERR(MFS_ERROR_ENOENT);
    const node = se.child;
    if (!stickyAccess(swd, node, ctx.uid)) return ERR(MFS_ERROR_EPERM);
    if (dwd.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (dwd.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(dwd, ctx, MODE_MASK_W | MODE_MASK_X)) return ERR(MFS_ERROR_EACCES);
    if (node.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (node.type === TYPE_DIRECTORY) {
      // node === dwd: the C master relies on the kernel refusing this; we refuse it here.
      if (node === dwd || this.tree.isAncestor(node, dwd)) return ERR(MFS_ERROR_EINVAL);
      if (fs.inode !== fd.inode && !this.can(node, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
    }
    if (!namecheck(ndst)) return ERR(MFS_ERROR_EINVAL);
    const de = this.tree.lookup(dwd, ndst);
    if (de !== undefined) {
      if (delflags & 1 && de.child.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_EPERM);
      if (delflags & 2 && de.child.type === TYPE_DIRECTORY) return ERR(MFS_ERROR_EPERM);
    }
    {
      const ssr = this.tree.getStats(node, 2);
      if (de !== undefined) {
        const dsr = this.tree.getStats(de.child, 2);
        ssr.inodes = Math.max(0, ssr.inodes - dsr.inodes);
        ssr.length = Math.max(0, ssr.length - dsr.length);
        ssr.size = Math.max(0, ssr.size - dsr.size);
        ssr.realsize = Math.max(0, ssr.realsize - dsr.realsize);
      }
      if (this.tree.quotaExceededUncommon(dwd, swd, ssr.inodes, ssr.length, ssr.size, ssr.realsize)) return ERR(MFS_ERROR_QUOTA);
    }
    if (de !== undefined) {
      if (de.child.type === TYPE_DIRECTORY && de.child.children!.size > 0) return ERR(MFS_ERROR_ENOTEMPTY);
      if (!stickyAccess(dwd, de.child, ctx.uid)) return ERR(MFS_ERROR_EPERM);
      if (de.child.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) return ERR(MFS_ERROR_EPERM);
    }
    // Source and target are the same file (same edge, or two links of one inode): POSIX says do nothing,
    // and the kernel never sends it; the C master would unlink the target first, so we log nothing.
    if (de !== undefined && de.child === node) return OK({ inode: node.inode, attr: this.fillAttr(node, dwd, ctx) });
    const st = this.commit('MOVE', [fs.inode, nsrc, fd.inode, ndst]);
    if (st !== MFS_STATUS_OK) return ERR(st);
    return OK({ inode: node.inode, attr: this.fillAttr(node, dwd, ctx) });
  }

  /**
   * fs_readdir: "." and ".." first, then children newest first. `nedgeid` 0 starts, the returned
   * nextEdgeId continues (EDGEID_MAX = end), as CLTOMA_FUSE_READDIR with maxentries does.
   */
  readdir(ctx: FsCtx, inode: number, flags: number, maxentries: number, nedgeid: bigint): FsResult<ReaddirReply> {
    const entries: ReaddirEntry[] = [];
    const r = this.readdirEach(ctx, inode, flags, maxentries, nedgeid, (name, ino, type, attr) => {
      const ent: ReaddirEntry = { name: Buffer.from(name, 'latin1'), inode: ino, type };
      if (attr !== undefined) ent.attr = attr;
      entries.push(ent);
    });
    return r.ok ? OK({ nextEdgeId: r.value, entries }) : r;
  }

  /**
   * readdir without building the list: `emit` gets each entry (its name as a latin1 string, the type
   * a client sees, the attributes with GETDIR_FLAG_WITHATTR); the result is the next edge id.
   */
  readdirEach(
    ctx: FsCtx,
    inode: number,
    flags: number,
    maxentries: number,
    nedgeid: bigint,
    emit: (name: string, inode: number, type: number, attr: FsAttr | undefined) => void,
  ): FsResult<bigint> {
    const ts = this.now();
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (p.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_ENOTDIR);
    if (nedgeid === 0n) {
      const mask = flags & GETDIR_FLAG_WITHATTR ? MODE_MASK_R | MODE_MASK_X : MODE_MASK_R;
      if (!this.can(p, ctx, mask)) return ERR(MFS_ERROR_EACCES);
    }
    if (p.atime !== ts && this.atimeShouldUpdate(p, ts, false)) this.commit('ACCESS', [p.inode], undefined, ts);
    const withAttr = (flags & GETDIR_FLAG_WITHATTR) !== 0;
    const rootinode = ctx.rootinode;
    const list = this.tree.childList(p);
    let idx = 0;
    if (nedgeid > 1n) {
      // children are kept in ascending edge id order (newest edge = lowest id, first): lower bound
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.edgeid < nedgeid) lo = mid + 1;
        else hi = mid;
      }
      idx = lo;
    }
    let n = maxentries;
    let cur = nedgeid;
    const add = (name: string, ino: number, node: FsNode, parent: FsNode): void => {
      emit(name, ino, node.type === TYPE_TRASH || node.type === TYPE_SUSTAINED ? TYPE_FILE : node.type, withAttr ? this.fillAttr(node, parent, ctx) : undefined);
    };
    while (n > 0 && cur < EDGEID_MAX) {
      if (cur === 0n) {
        add('.', p.inode !== rootinode ? p.inode : MFS_ROOT_ID, p, p);
        cur = 1n;
      } else {
        if (cur === 1n) {
          if (p.inode === rootinode || (rootinode === MFS_ROOT_ID && p === this.tree.root)) {
            add('..', MFS_ROOT_ID, p, p);
          } else {
            const pp = p.parents[0]?.parent ?? null;
            const pino = pp !== null && pp.inode !== rootinode ? pp.inode : MFS_ROOT_ID;
            add('..', pino, pp ?? this.rootNode(ctx) ?? p, p);
          }
          idx = 0;
        } else if (idx < list.length) {
          const e = list[idx]!;
          emit(e.key, e.child.inode, e.child.type, withAttr ? this.fillAttr(e.child, p, ctx) : undefined);
          idx++;
        }
        cur = idx < list.length ? list[idx]!.edgeid : EDGEID_MAX;
      }
      n--;
    }
    return OK(cur);
  }

  // ================= open files =================

  opencheck(ctx: FsCtx, inode: number, flags: number): FsResult<{ attr: FsAttr; oflags: number }> {
    if (this.ro(ctx) && flags & OPEN_WRITE) return ERR(MFS_ERROR_EROFS);
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_IMMUTABLE && flags & (OPEN_WRITE | OPEN_TRUNCATE)) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_APPENDONLY && flags & OPEN_TRUNCATE) return ERR(MFS_ERROR_EPERM);
    if ((flags & OPEN_AFTER_CREATE) === 0) {
      let modemask = 0;
      if (flags & OPEN_READ) modemask |= MODE_MASK_R;
      if (flags & OPEN_WRITE) modemask |= MODE_MASK_W;
      if (!this.can(p, ctx, modemask)) return ERR(MFS_ERROR_EACCES);
      if (flags & OPEN_TRUNCATE) {
        if (!this.can(p, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
        const st = this.commit('LENGTH', [f.inode, 0, 1]);
        if (st !== MFS_STATUS_OK) return ERR(st);
      }
    }
    let oflags = 0;
    if (p.eattr & EATTR_NODATACACHE) oflags |= OPEN_DIRECTMODE;
    if (p.eattr & EATTR_APPENDONLY) oflags |= OPEN_APPENDONLY;
    return OK({ attr: this.fillAttr(p, null, ctx), oflags });
  }

  /** of_openfile: ACQUIRE once per (session, inode). */
  acquire(sessionId: number, inode: number): number {
    if (!this.tree.nodes.has(inode)) return MFS_ERROR_ENOENT;
    if (this.tree.open.get(inode)?.has(sessionId)) return MFS_STATUS_OK;
    return this.commit('ACQUIRE', [sessionId, inode]);
  }

  release(sessionId: number, inode: number): number {
    if (!this.tree.open.get(inode)?.has(sessionId)) return MFS_STATUS_OK;
    return this.commit('RELEASE', [sessionId, inode]);
  }

  /** of_sync (CLTOMA_FUSE_SUSTAINED_INODES): the session's open set becomes exactly `inodes`. */
  syncOpenFiles(sessionId: number, inodes: readonly number[]): void {
    const want = new Set(inodes);
    // (a Map iterated while release() deletes the current entry visits every other entry once)
    for (const [inode, s] of this.tree.open) if (s.has(sessionId) && !want.has(inode)) this.release(sessionId, inode);
    for (const inode of [...want].sort((a, b) => a - b)) this.acquire(sessionId, inode);
  }

  /** Session deleted (SESDEL): its open files are dropped without records (of_session_removed). */
  sessionClosed(sessionId: number): void {
    for (const [inode, s] of this.tree.open) {
      if (!s.has(sessionId)) continue;
      if (s.size === 1) this.tree.open.delete(inode);
      else s.delete(sessionId);
    }
  }

  isOpen(inode: number): boolean {
    return this.tree.open.has(inode);
  }

  // ================= truncate =================

  tryTruncate(ctx: FsCtx, inode: number, flags: number, length: number, disflags = 0): FsResult<(WriteChunkOp & { indx: number }) | null> {
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const f = this.find(ctx, inode, (flags & TRUNCATE_FLAG_OPENED) !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (p.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_APPENDONLY && (flags & (TRUNCATE_FLAG_RESERVE | TRUNCATE_FLAG_UPDATE)) === 0) return ERR(MFS_ERROR_EPERM);
    if ((flags & TRUNCATE_FLAG_OPENED) === 0 && !this.can(p, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (flags & TRUNCATE_FLAG_UPDATE) return OK(null);
    if (flags & TRUNCATE_FLAG_RESERVE) {
      length += p.length;
    } else {
      if (disflags & 1 && length < p.length) return ERR(MFS_ERROR_EPERM);
      if (disflags & 2 && length > p.length) return ERR(MFS_ERROR_EPERM);
    }
    if (length > p.length) {
      if (Math.floor((length - 1) / MFSCHUNKSIZE) > MAX_INDEX) return ERR(MFS_ERROR_INDEXTOOBIG);
      const pre = lastChunkInfo(p.length);
      const post = lastChunkInfo(length);
      let sizeDiff = 0;
      if (pre.lastchunk < p.chunks.length && p.chunks[pre.lastchunk]! > 0) {
        sizeDiff = post.lastchunk > pre.lastchunk ? MFSCHUNKSIZE + MFSHDRSIZE - pre.lastchunksize : post.lastchunksize - pre.lastchunksize;
      }
      if (this.quotaForFile(p, 0, length - p.length, sizeDiff, this.tree.sclassKeepMax(p.sclassid) * sizeDiff)) return ERR(MFS_ERROR_QUOTA);
    }
    if ((flags & TRUNCATE_FLAG_RESERVE) === 0 && length !== p.length && length % MFSCHUNKSIZE !== 0) {
      const indx = Math.floor(length / MFSCHUNKSIZE);
      if (indx < p.chunks.length && p.chunks[indx]! > 0) {
        const live: LiveInfo = {};
        const st = this.commit('TRUNC', [f.inode, indx], live);
        if (st !== MFS_STATUS_OK) return ERR(st);
        const op = live.chunkOp!;
        return OK({ action: op.action, chunkId: op.chunkId, version: op.version, oldChunkId: op.oldChunkId, oldVersion: op.oldVersion, length: p.length, indx });
      }
    }
    return OK(null);
  }

  /** The chunk truncate finished (fs_end_setlength): UNLOCK. */
  truncateChunkDone(chunkId: number): number {
    return this.commit('UNLOCK', [chunkId]);
  }

  doTruncate(ctx: FsCtx, inode: number, flags: number, length: number): FsResult<TruncateReply> {
    const ts = this.now();
    const f = this.find(ctx, inode, (flags & TRUNCATE_FLAG_OPENED) !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    const prevLength = p.length;
    if (flags & TRUNCATE_FLAG_RESERVE) {
      // Append reservations (appendres) are not modelled: the reservation length is the file length.
    } else if (flags & TRUNCATE_FLAG_UPDATE) {
      if (length > p.length) {
        const st = this.commit('LENGTH', [f.inode, length, 0], undefined, ts);
        if (st !== MFS_STATUS_OK) return ERR(st);
      }
    } else {
      const chtime = length === p.length && flags & TRUNCATE_FLAG_TIMEFIX ? 0 : 1;
      const st = this.commit('LENGTH', [f.inode, length, chtime], undefined, ts);
      if (st !== MFS_STATUS_OK) return ERR(st);
    }
    return OK({ prevLength, attr: this.fillAttr(p, null, ctx) });
  }

  /** Both steps when no chunk truncate is needed, or when the caller does not care (tests, tools). */
  truncate(ctx: FsCtx, inode: number, flags: number, length: number): FsResult<TruncateReply & { chunkOp: (WriteChunkOp & { indx: number }) | null }> {
    const t = this.tryTruncate(ctx, inode, flags, length);
    if (!t.ok) return t;
    if (t.value !== null) this.truncateChunkDone(t.value.chunkId);
    const d = this.doTruncate(ctx, inode, flags, length);
    if (!d.ok) return d;
    return OK({ ...d.value, chunkOp: t.value });
  }

  // ================= chunks of files =================

  readChunk(inode: number, indx: number, chunkopflags = 0): FsResult<ReadChunkReply> {
    const ts = this.now();
    const p = this.tree.nodes.get(inode);
    if (p === undefined) return ERR(MFS_ERROR_ENOENT);
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (indx > MAX_INDEX) return ERR(MFS_ERROR_INDEXTOOBIG);
    const chunkId = indx < p.chunks.length ? p.chunks[indx]! : 0;
    const version = chunkId > 0 ? (this.chunks.get(chunkId)?.version ?? 0) : 0;
    if (p.atime !== ts && chunkopflags & CHUNKOPFLAG_CANMODTIME && this.atimeShouldUpdate(p, ts, true)) {
      this.commit('ACCESS', [inode], undefined, ts);
    }
    return OK({ chunkId, version, length: p.length });
  }

  writeChunk(inode: number, indx: number, o: WriteChunkOptions): FsResult<WriteChunkOp> {
    const p = this.tree.nodes.get(inode);
    if (p === undefined) return ERR(MFS_ERROR_ENOENT);
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (indx > MAX_INDEX) return ERR(MFS_ERROR_INDEXTOOBIG);
    {
      // fs_writechunk's quota test: the length and size this write can add
      const { lastchunk, lastchunksize } = lastChunkInfo(p.length);
      const has = indx < p.chunks.length && p.chunks[indx] !== 0;
      let nlength = p.length;
      let sizediff = MFSCHUNKSIZE + MFSHDRSIZE;
      if (indx < lastchunk) sizediff = has ? 0 : sizediff;
      else if (indx === lastchunk) sizediff = has ? MFSCHUNKSIZE + MFSHDRSIZE - lastchunksize : sizediff;
      else nlength = indx * MFSCHUNKSIZE;
      const lengdiff = Math.max(0, nlength - p.length);
      if (this.quotaForFile(p, 0, lengdiff, sizediff, this.tree.sclassKeepMax(p.sclassid) * sizediff)) {
        return ERR(MFS_ERROR_QUOTA);
      }
    }
    const cur = indx < p.chunks.length ? p.chunks[indx]! : 0;
    if (cur > 0 && o.needVersionIncrease !== undefined) {
      if (o.needVersionIncrease) this.chunks.markNeedVersionIncrease(cur);
      else this.chunks.operationDone(cur);
    }
    const live: LiveInfo = { continueop: (o.chunkopflags & CHUNKOPFLAG_CONTINUEOP) !== 0 };
    const st = this.commit('WRITE', [inode, indx, 0, o.chunkopflags & CHUNKOPFLAG_CANMODTIME ? 1 : 0], live);
    if (st !== MFS_STATUS_OK) return ERR(st);
    const c = live.chunkOp!;
    return OK({ action: c.action, chunkId: c.chunkId, version: c.version, oldChunkId: c.oldChunkId, oldVersion: c.oldVersion, length: p.length });
  }

  /** fs_writeend: grow the length if needed (LENGTH), then UNLOCK the chunk. */
  writeChunkEnd(inode: number, chunkId: number, length: number, chunkopflags: number): number {
    if (length > 0) {
      const p = this.tree.nodes.get(inode);
      if (p === undefined) return MFS_ERROR_ENOENT;
      if (!p.isFile) return MFS_ERROR_EPERM;
      if (length > p.length) {
        if (this.quotaForFile(p, 0, length - p.length, 0, 0)) return MFS_ERROR_QUOTA;
        const st = this.commit('LENGTH', [inode, length, chunkopflags & CHUNKOPFLAG_CANMODTIME ? 1 : 0]);
        if (st !== MFS_STATUS_OK) return st;
      }
    }
    return this.commit('UNLOCK', [chunkId]);
  }

  rollback(inode: number, indx: number, prevChunkId: number, chunkId: number): number {
    return this.commit('ROLLBACK', [inode, indx, prevChunkId, chunkId]);
  }

  fileChunks(inode: number): number[] {
    const p = this.tree.nodes.get(inode);
    return p?.isFile ? [...p.chunks] : [];
  }

  /** fsnodes_test_quota(file, ...): a file's quotas are those of the directories it is linked in. */
  private quotaForFile(p: FsNode, inodes: number, length: number, size: number, realsize: number): boolean {
    if (this.tree.quotaExceeded(p, inodes, length, size, realsize)) return true;
    return false;
  }

  // ================= appending chunks (mfsappendchunks) =================

  /**
   * fs_append_slice: append chunks [sliceFrom, sliceTo) of `srcInode` to `inode` (flags 1/2: the bounds
   * count from the end, APPEND_SLICE_FROM_NEG / APPEND_SLICE_TO_NEG). Chunks are shared, not copied.
   * Returns the new length.
   */
  appendSlice(ctx: FsCtx, flags: number, inode: number, srcInode: number, sliceFrom: number, sliceTo: number): FsResult<number> {
    if (inode === srcInode) return ERR(MFS_ERROR_EINVAL);
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const fs = this.find(ctx, srcInode);
    const fd = this.find(ctx, inode);
    if (fs === undefined || fd === undefined) return ERR(MFS_ERROR_ENOENT);
    const sp = fs.node;
    const p = fd.node;
    if (!sp.isFile) return ERR(MFS_ERROR_EPERM);
    if (!this.can(sp, ctx, MODE_MASK_R)) return ERR(MFS_ERROR_EACCES);
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(p, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
    if (sp.length === 0) return OK(p.length);
    const lastsrc = Math.floor((sp.length - 1) / MFSCHUNKSIZE);
    let from = sliceFrom;
    let to = sliceTo;
    if (flags & 1) from = from > lastsrc + 1 ? 0 : lastsrc + 1 - from;
    if (flags & 2) {
      if (to > lastsrc + 1) return OK(p.length);
      to = lastsrc + 1 - to;
    }
    if (to <= from) return OK(p.length);
    to--;
    let addlength: number;
    let lastsrcsize: number;
    if (to >= lastsrc) {
      to = lastsrc;
      if (to < from) return OK(p.length);
      addlength = sp.length - from * MFSCHUNKSIZE;
      lastsrcsize = lastChunkInfo(sp.length).lastchunksize;
    } else {
      addlength = (1 + to - from) * MFSCHUNKSIZE;
      lastsrcsize = MFSCHUNKSIZE + MFSHDRSIZE;
    }
    const dstInfo = lastChunkInfo(p.length);
    const lastdst = p.length > 0 ? dstInfo.lastchunk : -1;
    const dstchunks = lastdst + 1;
    const newlength = dstchunks * MFSCHUNKSIZE + addlength;
    const lengdiff = newlength - p.length;
    let sizediff = 0;
    for (let i = from; i <= to; i++) {
      if (i < sp.chunks.length && sp.chunks[i]! > 0) {
        if (i < lastsrc) sizediff += MFSCHUNKSIZE + MFSHDRSIZE;
        else if (i === lastsrc) sizediff += lastsrcsize;
      }
    }
    for (let i = 0; i < p.chunks.length; i++) {
      if (p.chunks[i]! > 0) {
        if (i > lastdst || dstchunks === 0) sizediff -= MFSCHUNKSIZE + MFSHDRSIZE;
        else if (i === lastdst) sizediff += MFSCHUNKSIZE + MFSHDRSIZE - dstInfo.lastchunksize;
      }
    }
    if (this.tree.quotaExceeded(p, 0, lengdiff, sizediff, this.tree.sclassKeepMax(p.sclassid) * sizediff)) return ERR(MFS_ERROR_QUOTA);
    // validate as fsnodes_append_slice_of_chunks does, so that a refused append writes no record
    if (from > lastsrc || dstchunks + (to - from + 1) - 1 > MAX_INDEX) return ERR(dstchunks + (to - from + 1) - 1 > MAX_INDEX ? MFS_ERROR_INDEXTOOBIG : MFS_ERROR_EINVAL);
    void appendSlice;
    const st = this.commit('APPEND', [fd.inode, fs.inode, from, to]);
    return st === MFS_STATUS_OK ? OK(p.length) : ERR(st);
  }

  /**
   * fs_repair (mfsfilerepair): for every chunk of the file ask the chunk registry (`chunkRepair`, as
   * chunk_repair does) whether it must change: null = leave it, 0 = erase it (hole), v = use version v.
   * Each change is one REPAIR record. Returns the counters the reply carries.
   */
  repair(ctx: FsCtx, inode: number, chunkRepair: (chunkId: number) => number | null): FsResult<{ notChanged: number; erased: number; repaired: number }> {
    const ts = this.now();
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (!p.isFile) return ERR(MFS_ERROR_EPERM);
    if (p.eattr & EATTR_IMMUTABLE) return ERR(MFS_ERROR_EPERM);
    if (!this.can(p, ctx, MODE_MASK_W)) return ERR(MFS_ERROR_EACCES);
    const out = { notChanged: 0, erased: 0, repaired: 0 };
    for (let indx = 0; indx < p.chunks.length; indx++) {
      const id = p.chunks[indx]!;
      const nversion = id > 0 ? chunkRepair(id) : null;
      if (nversion === null) {
        out.notChanged++;
        continue;
      }
      const rec: ChangelogRecord = { ts, op: 'REPAIR', args: [f.inode, indx], result: [nversion] };
      if (applyRecord(this.tree, rec, this.applyOpts) === MFS_STATUS_OK) this.onRecord?.(rec);
      if (nversion > 0) out.repaired++;
      else out.erased++;
    }
    return OK(out);
  }

  /** fs_get_parents: parent inodes of a node as the export sees them (1 = the export root). */
  getParents(ctx: FsCtx, inode: number): FsResult<number[]> {
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    const rootinode = ctx.rootinode === 0 ? MFS_ROOT_ID : ctx.rootinode;
    if (p.inode === rootinode) return OK([]);
    const out: number[] = [];
    for (const e of p.parents) {
      if (e.parent === null) continue;
      if (rootinode === MFS_ROOT_ID) {
        out.push(e.parent.inode);
        continue;
      }
      let q: FsNode | null = e.parent;
      while (q !== null) {
        if (q.inode === rootinode) {
          out.push(e.parent.inode === rootinode ? MFS_ROOT_ID : e.parent.inode);
          break;
        }
        q = q.parents[0]?.parent ?? null;
      }
    }
    return OK(out);
  }

  // ================= storage class definitions (mfsscadmin) =================
  // The session's admin flag is checked by the caller (matoclserv: EPERM_NOTADMIN), as in MooseFS.

  /** sclass_create_entry */
  sclassCreate(c: StorageClass): number {
    const args = this.sclasses.createRecord(c);
    return typeof args === 'number' ? args : this.commit('SCSET', args);
  }

  /** sclass_change_entry: chgmask 0 only shows the class. */
  sclassChange(name: Buffer, chgmask: number, c: Omit<StorageClass, 'name'>): FsResult<StorageClass> {
    const r = this.sclasses.changeRecord(name, chgmask, c);
    if (typeof r === 'number') return ERR(r);
    if (r.args) {
      const st = this.commit('SCSET', r.args);
      if (st !== MFS_STATUS_OK) return ERR(st);
    }
    return OK(r.cls);
  }

  /** sclass_delete_entry: refused while a file or directory (trash and sustained included) has the class. */
  sclassDelete(name: Buffer): number {
    const st = this.sclasses.deleteCheck(name, (id) => {
      for (const n of this.tree.nodes.values()) if (n.sclassid === id && (n.type === TYPE_DIRECTORY || n.isFile)) return true;
      return false;
    });
    return st !== MFS_STATUS_OK ? st : this.commit('SCDEL', [Buffer.from(name)]);
  }

  sclassDuplicate(src: Buffer, dst: Buffer): number {
    return this.commit('SCDUP', [Buffer.from(src), Buffer.from(dst)]);
  }

  sclassRename(src: Buffer, dst: Buffer): number {
    return this.commit('SCREN', [Buffer.from(src), Buffer.from(dst)]);
  }

  // ================= quotas =================

  /**
   * fs_quotacontrol: `flags` = QUOTA_FLAG_* to set (or, with delflag, to remove); 0 = just read. Setting
   * or removing needs an admin session. Writes a QUOTA record when something changed.
   */
  quotacontrol(ctx: FsCtx, inode: number, delflag: boolean, set: Partial<Omit<Quota, 'exceeded' | 'stimestamp'>> & { flags: number }): FsResult<QuotaReply> {
    const flags = set.flags & 0xff;
    if (flags) {
      if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
      if ((ctx.sesflags & SESFLAG_ADMIN) === 0) return ERR(MFS_ERROR_EPERM);
    }
    if (ctx.rootinode === 0) return ERR(MFS_ERROR_EPERM);
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (p.type !== TYPE_DIRECTORY) return ERR(MFS_ERROR_EPERM);
    const zero: Quota = { flags: 0, graceperiod: 0, exceeded: 0, stimestamp: 0, sinodes: 0, hinodes: 0, slength: 0, hlength: 0, ssize: 0, hsize: 0, srealsize: 0, hrealsize: 0 };
    let q: Quota | null = p.quota ? { ...p.quota } : null;
    let chg = flags !== 0;
    if (delflag) {
      if (q) {
        q.flags &= ~flags;
        if (q.flags === 0) {
          chg = true;
          q = null;
        }
      }
    } else {
      if (q === null && flags !== 0) q = { ...zero };
      if (q) {
        q.flags |= flags;
        // (the C master also takes a grace period given with flags 0, without logging it; we do not)
        if (set.graceperiod && flags !== 0) q.graceperiod = set.graceperiod;
        const keys: Array<[number, keyof Quota]> = [[0x01, 'sinodes'], [0x02, 'slength'], [0x04, 'ssize'], [0x08, 'srealsize'], [0x10, 'hinodes'], [0x20, 'hlength'], [0x40, 'hsize'], [0x80, 'hrealsize']];
        for (const [bit, k] of keys) if (flags & bit) q[k] = (set[k as keyof typeof set] as number | undefined) ?? 0;
      }
    }
    if (q) {
      const keys: Array<[number, keyof Quota]> = [[0x01, 'sinodes'], [0x10, 'hinodes'], [0x02, 'slength'], [0x20, 'hlength'], [0x04, 'ssize'], [0x40, 'hsize'], [0x08, 'srealsize'], [0x80, 'hrealsize']];
      for (const [bit, k] of keys) if ((q.flags & bit) === 0) q[k] = 0;
    }
    if (chg) {
      const st = this.commit('QUOTA', q ? this.quotaArgs(f.inode, q) : [f.inode, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      if (st !== MFS_STATUS_OK) return ERR(st);
    }
    const r = q ?? zero;
    return OK({
      flags: r.flags, graceperiod: r.graceperiod, sinodes: r.sinodes, hinodes: r.hinodes, slength: r.slength, hlength: r.hlength,
      ssize: r.ssize, hsize: r.hsize, srealsize: r.srealsize, hrealsize: r.hrealsize,
      curinodes: p.stats.inodes, curlength: p.stats.length, cursize: p.stats.size, currealsize: p.stats.realsize,
    });
  }

  private quotaArgs(inode: number, q: Quota): ClArg[] {
    return [inode, q.exceeded, q.flags, q.stimestamp, q.sinodes, q.hinodes, q.slength, q.hlength, q.ssize, q.hsize, q.srealsize, q.hrealsize, q.graceperiod];
  }

  /** Directories with quotas and their current usage (fs_getquotainfo, for mfscli). */
  quotaList(): Array<{ inode: number; quota: Quota; stats: DirStats }> {
    return this.tree.quotaDirs.map((d) => ({ inode: d.inode, quota: { ...d.quota! }, stats: { ...d.stats } }));
  }

  /** fsnodes_check_all_quotas (each second): soft-limit timestamps and the exceeded flag; QUOTA on change. */
  checkQuotas(): void {
    const ts = this.now();
    for (const d of [...this.tree.quotaDirs]) {
      const q = d.quota!;
      const s = d.stats;
      const soft =
        (q.flags & 0x01 && s.inodes > q.sinodes) || (q.flags & 0x02 && s.length > q.slength) || (q.flags & 0x04 && s.size > q.ssize) || (q.flags & 0x08 && s.realsize > q.srealsize);
      const n = { ...q };
      let chg = false;
      if (!soft && n.stimestamp > 0) {
        n.stimestamp = 0;
        chg = true;
      } else if (soft && n.stimestamp === 0) {
        n.stimestamp = ts;
        chg = true;
      }
      const exceeded = n.stimestamp && n.stimestamp + n.graceperiod < ts ? 1 : 0;
      if (n.exceeded !== exceeded) {
        n.exceeded = exceeded;
        chg = true;
      }
      if (chg) this.commit('QUOTA', this.quotaArgs(d.inode, n), undefined, ts);
    }
  }

  // ================= xattrs and ACLs =================

  getxattr(ctx: FsCtx, inode: number, opened: number, name: Buffer): FsResult<Buffer> {
    const f = this.find(ctx, inode, opened !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    if (ctx.uid !== 0 && name.subarray(0, 8).toString('latin1') === 'trusted.') return ERR(MFS_ERROR_EPERM);
    if (opened === 0 && !this.can(f.node, ctx, MODE_MASK_R)) return ERR(MFS_ERROR_EACCES);
    if (name.includes(0)) return ERR(MFS_ERROR_EINVAL);
    const x = f.node.xattrs?.get(name.toString('latin1'));
    return x ? OK(x.value) : ERR(MFS_ERROR_ENOATTR);
  }

  /** Names, newest first (xattr_listattr_data). */
  listxattr(ctx: FsCtx, inode: number, opened: number): FsResult<Buffer[]> {
    const f = this.find(ctx, inode, opened !== 0);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    if (opened === 0 && !this.can(f.node, ctx, MODE_MASK_R)) return ERR(MFS_ERROR_EACCES);
    const names = f.node.xattrs ? [...f.node.xattrs.values()].map((x) => x.name).reverse() : [];
    let len = 0;
    for (const n of names) len += n.length + 1;
    if (len > MFS_XATTR_LIST_MAX) return ERR(MFS_ERROR_ERANGE);
    return OK(names);
  }

  setxattr(ctx: FsCtx, inode: number, opened: number, name: Buffer, value: Buffer, mode: number): number {
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const f = this.find(ctx, inode, opened !== 0);
    if (f === undefined) return MFS_ERROR_ENOENT;
    const p = f.node;
    const s = name.toString('latin1');
    if (ctx.uid !== 0 && (s.startsWith('trusted.') || s.startsWith('security.'))) return MFS_ERROR_EPERM;
    if ((p.eattr & EATTR_NOOWNER) === 0 && ctx.uid !== 0 && ctx.uid !== p.uid && s.startsWith('system.')) return MFS_ERROR_EPERM;
    if (p.eattr & EATTR_IMMUTABLE) return MFS_ERROR_EPERM;
    if (opened === 0 && !this.can(p, ctx, MODE_MASK_W)) return MFS_ERROR_EACCES;
    if (name.includes(0)) return MFS_ERROR_EINVAL;
    if (mode > MFS_XATTR_REMOVE) return MFS_ERROR_EINVAL;
    if (name.length === 0 || name.length > MFS_XATTR_NAME_MAX) return MFS_ERROR_EINVAL;
    if (value.length > MFS_XATTR_SIZE_MAX) return MFS_ERROR_ERANGE;
    return this.commit('SETXATTR', [f.inode, name, value, mode]);
  }

  getfacl(ctx: FsCtx, inode: number, acltype: number): FsResult<PosixAcl> {
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const a = acltype === POSIX_ACL_ACCESS ? f.node.aclAccess : acltype === POSIX_ACL_DEFAULT ? f.node.aclDefault : null;
    return a ? OK(cloneAcl(a)) : ERR(MFS_ERROR_ENOATTR);
  }

  /** fs_setfacl; `acl` null (or all-0xFFFF perms without named entries) removes. */
  setfacl(ctx: FsCtx, inode: number, acltype: number, acl: PosixAcl | null): number {
    const ts = this.now();
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const f = this.find(ctx, inode);
    if (f === undefined) return MFS_ERROR_ENOENT;
    const p = f.node;
    if ((p.eattr & EATTR_NOOWNER) === 0 && ctx.uid !== 0 && ctx.uid !== p.uid) return MFS_ERROR_EPERM;
    if (p.eattr & EATTR_IMMUTABLE) return MFS_ERROR_EPERM;
    if (acltype !== POSIX_ACL_ACCESS && acltype !== POSIX_ACL_DEFAULT) return MFS_ERROR_EINVAL;
    const a = acl ?? { userperm: 0xffff, groupperm: 0xffff, otherperm: 0xffff, mask: 0xffff, namedusers: [], namedgroups: [] };
    let { userperm, groupperm, otherperm } = a;
    const mask = a.mask;
    const nu = a.namedusers.length;
    const ng = a.namedgroups.length;
    let mode = p.mode;
    let changectime = p.ctime === ts ? 1 : 0;
    if ((userperm & groupperm & otherperm & mask) === 0xffff && (nu | ng) === 0) {
      // removal: mode unchanged
    } else {
      if (userperm === 0xffff) userperm = (p.mode >> 6) & 7;
      if (groupperm === 0xffff) groupperm = (p.mode >> 3) & 7;
      if (otherperm === 0xffff) otherperm = p.mode & 7;
      if (acltype === POSIX_ACL_ACCESS) mode = (p.mode & 0o7000) | ((userperm & 7) << 6) | ((groupperm & 7) << 3) | (otherperm & 7);
      if (mode !== p.mode) changectime = 1;
    }
    const blob = aclBlob({ ...a, userperm, groupperm, otherperm });
    return this.commit('SETACL', [f.inode, mode, changectime, acltype, userperm, groupperm, otherperm, mask, nu, ng, blob], undefined, ts);
  }

  // ================= goal (storage class), trashtime, eattr =================

  private collect(ctx: FsCtx, inode: number, gmode: number, key: (n: FsNode) => number, filesDirsOnly: boolean): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> {
    if (gmode > 1) return ERR(MFS_ERROR_EINVAL);
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (filesDirsOnly && p.type !== TYPE_DIRECTORY && !p.isFile) return ERR(MFS_ERROR_EPERM);
    const files = new Map<number, number>();
    const dirs = new Map<number, number>();
    const inc = (m: Map<number, number>, k: number): void => void m.set(k, (m.get(k) ?? 0) + 1);
    const walk = (n: FsNode): void => {
      if (n.type === TYPE_DIRECTORY) {
        inc(dirs, key(n));
        if (gmode === 1) for (const e of this.tree.childList(n)) walk(e.child);
      } else if (n.isFile || !filesDirsOnly) {
        inc(files, key(n));
      }
    };
    walk(p);
    return OK({ files, dirs });
  }

  getsclass(ctx: FsCtx, inode: number, gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> {
    return this.collect(ctx, inode, gmode, (n) => n.sclassid, true);
  }

  /** Trash times in seconds (node trashtime is kept in hours). */
  gettrashtime(ctx: FsCtx, inode: number, gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> {
    return this.collect(ctx, inode, gmode, (n) => n.trashtime * 3600, true);
  }

  geteattr(ctx: FsCtx, inode: number, gmode: number): FsResult<{ files: Map<number, number>; dirs: Map<number, number> }> {
    return this.collect(ctx, inode, gmode, (n) => (n.type === TYPE_DIRECTORY ? n.eattr : n.eattr & ~EATTR_NOECACHE), false);
  }

  private recursiveReply(st: number): FsResult<RecursiveChangeReply> {
    if (st !== MFS_STATUS_OK) return ERR(st);
    return OK({ changed: this.lastCounters[0]!, notChanged: this.lastCounters[1]!, notPermitted: this.lastCounters[2]! });
  }

  private lastCounters: number[] = [0, 0, 0];
  private commitCounters(op: string, args: ClArg[]): number {
    const rec: ChangelogRecord = { ts: this.now(), op, args };
    const st = applyRecord(this.tree, rec, this.applyOpts);
    if (st === MFS_STATUS_OK) {
      this.lastCounters = (rec.result ?? []).map(Number);
      this.onRecord?.(rec);
    }
    return st;
  }

  private recursiveCheck(ctx: FsCtx, inode: number, smode: number, filesDirsOnly: boolean): { inode: number; node: FsNode } | number {
    if (smode > 7) return MFS_ERROR_EINVAL;
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const f = this.find(ctx, inode);
    if (f === undefined) return MFS_ERROR_ENOENT;
    if (filesDirsOnly && f.node.type !== TYPE_DIRECTORY && !f.node.isFile) return MFS_ERROR_EPERM;
    return f;
  }

  setsclass(ctx: FsCtx, inode: number, src: number, dst: number, smode: number): FsResult<RecursiveChangeReply> {
    if (smode > 7 || dst === 0 || src === 0) return ERR(MFS_ERROR_EINVAL);
    if (((smode & SMODE_TMASK) === SMODE_INCREASE || (smode & SMODE_TMASK) === SMODE_DECREASE) && dst > 9) return ERR(MFS_ERROR_EINVAL);
    const f = this.recursiveCheck(ctx, inode, smode, true);
    if (typeof f === 'number') return ERR(f);
    if ((smode & SMODE_TMASK) === SMODE_SET || (smode & SMODE_TMASK) === SMODE_INCREASE) {
      if (this.setsclassQuota(f.node, ctx.uid, this.tree.sclassKeepMax(dst), (smode & 4) !== 0 ? 1 : 0, { rs: 0 })) return ERR(MFS_ERROR_QUOTA);
    }
    const adminOnly = this.applyOpts.sclassAdminOnly;
    if (adminOnly && (ctx.sesflags & SESFLAG_ADMIN) === 0) {
      // fsnodes_setsclass_recursive refuses a node whose class or target class is admin-only to a
      // session without the admin flag. Into such a class: every node would be refused. Out of one:
      // the node itself (non-recursive), or, recursively, the whole request when any node in the tree
      // has such a class (the C master changes the others and counts these; replay here is admin-only).
      if (adminOnly(dst)) return ERR(MFS_ERROR_EPERM);
      const t = this.tree;
      const has = (n: FsNode): boolean => adminOnly(n.sclassid) || ((smode & SMODE_RMASK) !== 0 && n.type === TYPE_DIRECTORY && t.childList(n).some((e) => has(e.child)));
      if (has(f.node)) return ERR(MFS_ERROR_EPERM);
    }
    return this.recursiveReply(this.commitCounters('SETSCLASS', [f.inode, ctx.uid, src, dst, smode]));
  }

  /** fsnodes_setsclass_recursive_test_quota */
  private setsclassQuota(node: FsNode, uid: number, goal: number, recursive: number, acc: { rs: number }): boolean {
    const t = this.tree;
    if (node.type === TYPE_DIRECTORY && recursive) {
      const sub = { rs: 0 };
      for (const e of t.childList(node)) if (this.setsclassQuota(e.child, uid, goal, 2, sub)) return true;
      if (recursive < 2 ? t.quotaExceeded(node, 0, 0, 0, sub.rs) : t.quotaExceededHere(node, 0, 0, 0, sub.rs)) return true;
      acc.rs += sub.rs;
      return false;
    }
    if (node.isFile && !((node.eattr & EATTR_NOOWNER) === 0 && uid !== 0 && node.uid !== uid) && (node.eattr & EATTR_IMMUTABLE) === 0) {
      const cur = t.sclassKeepMax(node.sclassid);
      if (goal > cur) {
        const rs = t.fileSize(node) * (goal - cur);
        if (recursive < 2 && t.quotaExceeded(node, 0, 0, 0, rs)) return true;
        acc.rs += rs;
      }
    }
    return false;
  }

  /** fsnodes_snapshot_recursive_test_quota: usage the snapshot shares with what it overwrites. */
  private snapshotQuota(src: FsNode, parent: FsNode, name: Buffer, c: { inodes: number; length: number; size: number; realsize: number }): boolean {
    const t = this.tree;
    const e = t.lookup(parent, name);
    if (e === undefined) return false;
    const dst = e.child;
    c.inodes++;
    if (dst.type === TYPE_FILE) {
      const fsize = t.fileSize(dst);
      c.length += dst.length;
      c.size += fsize;
      c.realsize += fsize * t.sclassKeepMax(dst.sclassid);
    } else if (dst.type === TYPE_SYMLINK) {
      c.length += dst.path.length;
    } else if (dst.type === TYPE_DIRECTORY && src.type === TYPE_DIRECTORY) {
      const ssr = t.getStats(src, 2);
      const cc = { inodes: 0, length: 0, size: 0, realsize: 0 };
      for (const ce of t.childList(src)) if (this.snapshotQuota(ce.child, dst, ce.name, cc)) return true;
      if (t.quotaExceededHere(dst, Math.max(0, ssr.inodes - cc.inodes), Math.max(0, ssr.length - cc.length), Math.max(0, ssr.size - cc.size), Math.max(0, ssr.realsize - cc.realsize))) return true;
      c.inodes += cc.inodes;
      c.length += cc.length;
      c.size += cc.size;
      c.realsize += cc.realsize;
    }
    return false;
  }

  /** `trashtime` in seconds (stored rounded up to hours). */
  settrashtime(ctx: FsCtx, inode: number, trashtime: number, smode: number): FsResult<RecursiveChangeReply> {
    const f = this.recursiveCheck(ctx, inode, smode, true);
    if (typeof f === 'number') return ERR(f);
    return this.recursiveReply(this.commitCounters('SETTRASHTIME', [f.inode, ctx.uid, trashtime >>> 0, smode]));
  }

  seteattr(ctx: FsCtx, inode: number, eattr: number, smode: number): FsResult<RecursiveChangeReply> {
    if (smode > 7 || eattr > 0xff || eattr < 0) return ERR(MFS_ERROR_EINVAL);
    if (this.ro(ctx)) return ERR(MFS_ERROR_EROFS);
    if ((ctx.sesflags & SESFLAG_ADMIN) === 0 && (eattr & (EATTR_UNDELETABLE | EATTR_APPENDONLY | EATTR_IMMUTABLE)) !== 0) return ERR(MFS_ERROR_EPERM);
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    return this.recursiveReply(this.commitCounters('SETEATTR', [f.inode, ctx.uid, eattr, smode]));
  }

  // ================= trash and sustained (meta mount, rootinode 0) =================

  private detachedList(buckets: Array<Map<number, Edge>>): TrashEntry[] {
    const out: TrashEntry[] = [];
    for (const b of buckets) for (const e of [...b.values()].reverse()) out.push({ inode: e.child.inode, path: e.name });
    return out;
  }

  /** `bid` >= TRASH_BUCKETS (default): every bucket. */
  readTrash(ctx: FsCtx, bid = TRASH_BUCKETS): FsResult<TrashEntry[]> {
    if (ctx.rootinode !== 0) return ERR(MFS_ERROR_EPERM);
    if (bid >= TRASH_BUCKETS) return OK(this.detachedList(this.tree.trash));
    return OK(this.detachedList([this.tree.trash[bid]!]));
  }

  readSustained(ctx: FsCtx): FsResult<TrashEntry[]> {
    if (ctx.rootinode !== 0) return ERR(MFS_ERROR_EPERM);
    return OK(this.detachedList(this.tree.sustained));
  }

  getDetachedAttr(ctx: FsCtx, inode: number, dtype: number): FsResult<FsAttr> {
    if (ctx.rootinode !== 0) return ERR(MFS_ERROR_EPERM);
    if (dtype > 2) return ERR(MFS_ERROR_EINVAL);
    const p = this.tree.nodes.get(inode);
    if (p === undefined || (p.type !== TYPE_TRASH && p.type !== TYPE_SUSTAINED)) return ERR(MFS_ERROR_ENOENT);
    if (dtype === DTYPE_TRASH && p.type === TYPE_SUSTAINED) return ERR(MFS_ERROR_ENOENT);
    if (dtype === DTYPE_SUSTAINED && p.type === TYPE_TRASH) return ERR(MFS_ERROR_ENOENT);
    return OK(this.fillAttr(p, null, { ...ctx, uid: p.uid, gids: [p.gid], auid: p.uid, agid: p.gid }, p.uid, p.gid));
  }

  getTrashPath(ctx: FsCtx, inode: number): FsResult<Buffer> {
    if (ctx.rootinode !== 0) return ERR(MFS_ERROR_EPERM);
    const p = this.tree.nodes.get(inode);
    if (p === undefined || p.type !== TYPE_TRASH) return ERR(MFS_ERROR_ENOENT);
    return OK(p.parents[0]!.name);
  }

  setTrashPath(ctx: FsCtx, inode: number, path: Buffer): number {
    if (ctx.rootinode !== 0) return MFS_ERROR_EPERM;
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    if (path.length === 0 || path.length > MFS_PATH_MAX || path.includes(0)) return MFS_ERROR_EINVAL;
    const p = this.tree.nodes.get(inode);
    if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
    return this.commit('SETPATH', [inode, path]);
  }

  undel(ctx: FsCtx, inode: number): number {
    if (ctx.rootinode !== 0) return MFS_ERROR_EPERM;
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const p = this.tree.nodes.get(inode);
    if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
    // fsnodes_undel fails without changing anything only before it creates directories; check the
    // conditions that make it fail first so that a failing undel writes no record.
    const st = this.undelPrecheck(p);
    if (st !== MFS_STATUS_OK) return st;
    return this.commit('UNDEL', [inode]);
  }

  private undelPrecheck(p: FsNode): number {
    let path = p.parents[0]!.name;
    let s = 0;
    while (s < path.length && path[s] === 0x2f) s++;
    path = path.subarray(s);
    if (path.length === 0) return MFS_ERROR_CANTCREATEPATH;
    const parts = path.toString('latin1').split('/');
    for (const part of parts) {
      if (part.length === 0 || part.length > 255 || part.includes('\0')) return MFS_ERROR_CANTCREATEPATH;
      if (/^\.{1,2}$/.test(part)) return MFS_ERROR_CANTCREATEPATH;
    }
    let d: FsNode = this.tree.root;
    for (let i = 0; i < parts.length; i++) {
      if (d.quota !== null && d.quota.exceeded) return MFS_ERROR_QUOTA;
      if (d.eattr & EATTR_IMMUTABLE) return MFS_ERROR_EPERM;
      const name = Buffer.from(parts[i]!, 'latin1');
      const e = this.tree.lookup(d, name);
      if (i === parts.length - 1) return e ? MFS_ERROR_EEXIST : MFS_STATUS_OK;
      if (e === undefined) return MFS_STATUS_OK; // the rest is created
      if (e.child.type !== TYPE_DIRECTORY) return MFS_ERROR_CANTCREATEPATH;
      d = e.child;
    }
    return MFS_STATUS_OK;
  }

  purge(ctx: FsCtx, inode: number): number {
    if (ctx.rootinode !== 0) return MFS_ERROR_EPERM;
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const p = this.tree.nodes.get(inode);
    if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
    return this.commit('PURGE', [inode]);
  }

  /**
   * Once a second in MooseFS: one trash bucket (EMPTYTRASH), one sustained bucket (EMPTYSUSTAINED) and
   * the inode free list (FREEINODES); records only when something happened.
   */
  periodic(): void {
    this.checkQuotas();
    const ts = this.now();
    const t = this.tree;
    const bid = t.trashBid;
    t.trashBid = (t.trashBid + 1) % TRASH_BUCKETS;
    this.commitIfChanged('EMPTYTRASH', [bid], ts, (r) => r[0]! + r[1]! > 0);
    const sbid = t.sustainedBid;
    t.sustainedBid = (t.sustainedBid + 1) % SUSTAINED_BUCKETS;
    this.commitIfChanged('EMPTYSUSTAINED', [sbid], ts, (r) => r[0]! > 0);
    this.commitIfChanged('FREEINODES', [this.inodeReuseDelay], ts, (r) => r[0]! + r[1]! > 0);
  }

  /** Empties every trash bucket whose files expired (tools / tests); same records as periodic(). */
  emptyAllTrash(): void {
    this.commitIfChanged('EMPTYTRASH', [TRASH_BUCKETS], this.now(), (r) => r[0]! + r[1]! > 0);
    this.commitIfChanged('EMPTYSUSTAINED', [SUSTAINED_BUCKETS], this.now(), (r) => r[0]! > 0);
  }

  private commitIfChanged(op: string, args: ClArg[], ts: number, changed: (r: number[]) => boolean): void {
    const rec: ChangelogRecord = { ts, op, args };
    const st = applyRecord(this.tree, rec, this.applyOpts);
    if (st === MFS_STATUS_OK && changed((rec.result ?? []).map(Number))) this.onRecord?.(rec);
  }

  // ================= snapshots, stats, paths =================

  snapshot(ctx: FsCtx, srcInode: number, dstParent: number, name: Buffer, smode: number, umask: number): number {
    if (this.ro(ctx)) return MFS_ERROR_EROFS;
    const t = this.tree;
    if (smode & SNAPSHOT_MODE_DELETE) {
      if (srcInode !== 0) return MFS_ERROR_EINVAL;
      const fd = this.find(ctx, dstParent);
      if (fd === undefined) return MFS_ERROR_ENOENT;
      const dwd = fd.node;
      if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_EPERM;
      if (!this.can(dwd, ctx, MODE_MASK_W | MODE_MASK_X)) return MFS_ERROR_EACCES;
      if (!namecheck(name)) return MFS_ERROR_EINVAL;
      const e = t.lookup(dwd, name);
      if (e === undefined) return MFS_ERROR_ENOENT;
      if (!stickyAccess(dwd, e.child, ctx.uid)) return MFS_ERROR_EPERM;
      if ((smode & SNAPSHOT_MODE_FORCE_REMOVAL) === 0) {
        if (dwd.eattr & (EATTR_APPENDONLY | EATTR_IMMUTABLE)) return MFS_ERROR_EPERM;
        const st = removeSnapshotTest(t, e, { uid: ctx.uid, gids: ctx.gids, sesflags: ctx.sesflags });
        if (st !== MFS_STATUS_OK) return st;
      }
      return this.commit('SNAPSHOT', [0, fd.inode, name, smode, ctx.sesflags, ctx.uid, [...ctx.gids], umask]);
    }
    if (srcInode === 0) return MFS_ERROR_EINVAL;
    const fs = this.find(ctx, srcInode);
    const fd = this.find(ctx, dstParent);
    if (fs === undefined || fd === undefined) return MFS_ERROR_ENOENT;
    const sp = fs.node;
    const dwd = fd.node;
    if (dwd.eattr & EATTR_IMMUTABLE) return MFS_ERROR_EPERM;
    if (!this.can(sp, ctx, MODE_MASK_R)) return MFS_ERROR_EACCES;
    if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_EPERM;
    if (sp.type === TYPE_DIRECTORY && (sp === dwd || t.isAncestor(sp, dwd))) return MFS_ERROR_EINVAL;
    if (!this.can(dwd, ctx, MODE_MASK_W | MODE_MASK_X)) return MFS_ERROR_EACCES;
    if (!namecheck(name)) return MFS_ERROR_EINVAL;
    const st = snapshotTest(t, sp, sp, dwd, name, (smode & SNAPSHOT_MODE_CAN_OVERWRITE) !== 0);
    if (st !== MFS_STATUS_OK) return st;
    {
      const ssr = t.getStats(sp, 2);
      const c = { inodes: 0, length: 0, size: 0, realsize: 0 };
      if (this.snapshotQuota(sp, dwd, name, c)) return MFS_ERROR_QUOTA;
      if (t.quotaExceeded(dwd, Math.max(0, ssr.inodes - c.inodes), Math.max(0, ssr.length - c.length), Math.max(0, ssr.size - c.size), Math.max(0, ssr.realsize - c.realsize))) return MFS_ERROR_QUOTA;
    }
    return this.commit('SNAPSHOT', [fs.inode, fd.inode, name, smode, ctx.sesflags, ctx.uid, [...ctx.gids], umask]);
  }

  getDirStats(ctx: FsCtx, inode: number): FsResult<DirStats> {
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    if (f.node.type !== TYPE_DIRECTORY && !f.node.isFile) return ERR(MFS_ERROR_EPERM);
    const s = this.tree.getStats(f.node, 2);
    return OK({ inodes: s.inodes, dirs: s.dirs, files: s.files, chunks: s.chunks, length: s.length, size: s.size, realsize: s.realsize });
  }

  /** fs_get_paths_data: every path of the node (relative to the export root), or the trash forms. */
  getPaths(ctx: FsCtx, inode: number): FsResult<Buffer[]> {
    const f = this.find(ctx, inode);
    if (f === undefined) return ERR(MFS_ERROR_ENOENT);
    const p = f.node;
    if (p.type === TYPE_TRASH) return OK([Buffer.concat([Buffer.from('./TRASH ('), p.parents[0]!.name, Buffer.from(')')])]);
    if (p.type === TYPE_SUSTAINED) return OK([Buffer.concat([Buffer.from('./SUSTAINED ('), p.parents[0]!.name, Buffer.from(')')])]);
    const rootinode = f.inode === MFS_ROOT_ID || ctx.rootinode === MFS_ROOT_ID ? MFS_ROOT_ID : ctx.rootinode;
    if (p.inode === (rootinode === MFS_ROOT_ID ? MFS_ROOT_ID : ctx.rootinode)) return OK([Buffer.from('/')]);
    const out: Buffer[] = [];
    for (const e of p.parents) {
      const parts: Buffer[] = [e.name];
      let q = e.parent;
      let reached = false;
      while (q !== null) {
        if (q.inode === rootinode) {
          reached = true;
          break;
        }
        if (q.parents.length === 0) break;
        parts.push(q.parents[0]!.name);
        q = q.parents[0]!.parent;
      }
      if (reached) out.push(Buffer.from(parts.reverse().map((b) => b.toString('latin1')).join('/'), 'latin1'));
    }
    return OK(out);
  }

  /** CLTOMA_FUSE_AMTIME_INODES (fs_amtime_update). */
  amtimeUpdate(ctx: FsCtx, entries: Array<{ inode: number; atime: number; mtime: number }>): void {
    const ts = this.now();
    const m = this.atimeMode;
    for (const en of entries) {
      const f = this.find(ctx, en.inode, true);
      if (f === undefined) continue;
      const p = f.node;
      let atime = p.atime;
      let mtime = p.mtime;
      let ctime = p.ctime;
      let chg = false;
      if (p.atime < en.atime) {
        const rel = (p.atime <= p.ctime && en.atime >= p.ctime) || (p.atime <= p.mtime && en.atime >= p.mtime) || p.atime + 86400 < en.atime;
        if (m === ATIME_ALWAYS || m === ATIME_FILES_ONLY || (rel && (m === ATIME_RELATIVE_ONLY || m === ATIME_FILES_AND_RELATIVE_ONLY))) {
          atime = en.atime;
          chg = true;
        }
      }
      if (p.mtime < en.mtime) {
        ctime = mtime = en.mtime;
        chg = true;
      }
      if (chg) this.commit('AMTIME', [f.inode, atime, mtime, ctime], undefined, ts);
    }
  }
}

function trimZeros(a: number[]): number[] {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0) n--;
  return a.slice(0, n);
}

/** Directory "length" code (fsnodes_fill_attr). */
export function dirLengthCode(size: number): number {
  let d = BigInt(Math.max(0, Math.floor(size)));
  if (d === 0n) return 1;
  if (d < 0x400n) return Number(d * 100n);
  if (d < 0x100000n) return Number(((d * 100n) >> 10n) + 1000000n);
  if (d < 0x40000000n) return Number(((d * 100n) >> 20n) + 2000000n);
  if (d < 0x10000000000n) return Number(((d * 100n) >> 30n) + 3000000n);
  if (d < 0x4000000000000n) return Number(((d * 100n) >> 40n) + 4000000n);
  if (d < 0x1000000000000000n) {
    d >>= 10n;
    return Number(((d * 100n) >> 40n) + 5000000n);
  }
  d >>= 10n;
  return Number(BigInt.asUintN(64, ((d * 100n) >> 50n) + 6000000n));
}

export { MODE_TO_ACCMODE };
