// The one applier: every namespace change, live or replayed (restore, follower), goes through
// applyRecord. Semantics are those of the fs_mr_* / fs_univ_* functions in mfsmaster/filesystem.c
// with SESFLAG_METARESTORE (structure checks, no permission checks); records whose result is
// computed by the change itself (CREATE's inode, recursive counters...) get `result` filled in when it
// is absent (live) and checked when present (replay: MFS_ERROR_MISMATCH on a difference).
import type { SclassTable } from './sclass.js';
import {
  MFS_ERROR_CANTCREATEPATH,
  MFS_ERROR_EEXIST,
  MFS_ERROR_EINVAL,
  MFS_ERROR_ENOATTR,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_ENOTEMPTY,
  MFS_ERROR_ENOTSUP,
  MFS_ERROR_EPERM,
  MFS_ERROR_ERANGE,
  MFS_ERROR_INDEXTOOBIG,
  MFS_ERROR_MISMATCH,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_QUOTA,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import { aclFromBlob, aclSetMode } from './acl.js';
import type { ChangelogRecord, ClArg } from './changelog.js';
import { BadRecord, big, nameArg, namecheck, num, result } from './recargs.js';
import { snapshot } from './snapshot.js';
export { namecheck } from './recargs.js';
export { removeSnapshotTest, snapshotTest } from './snapshot.js';
import { type Edge, type FsNode, type FsTree, MFSCHUNKSIZE, nameKey, ownChunks, SoleHolder } from './tree.js';
import {
  EATTR_IMMUTABLE,
  EATTR_NOECACHE,
  EATTR_NOOWNER,
  EATTR_SNAPSHOT,
  MAX_INDEX,
  MFS_NAME_MAX,
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_LIST_MAX,
  MFS_XATTR_NAME_MAX,
  MFS_XATTR_REMOVE,
  MFS_XATTR_REPLACE_ONLY,
  MFS_XATTR_SIZE_MAX,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SMODE_DECREASE,
  SMODE_EXCHANGE,
  SMODE_INCREASE,
  SMODE_RMASK,
  SMODE_SET,
  SMODE_TMASK,
  SUSTAINED_BUCKETS,
  TRASH_BUCKETS,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_DIRECTORY,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SOCKET,
  TYPE_SUSTAINED,
  TYPE_SYMLINK,
  TYPE_TRASH,
} from './types.js';

/** Ops the namespace applies (others in a changelog belong to sessions, chunk servers, storage classes). */
export const NAMESPACE_OPS: ReadonlySet<string> = new Set([
  'ACCESS', 'ATTR', 'AMTIME', 'CREATE', 'SYMLINK', 'UNLINK', 'MOVE', 'LINK', 'LENGTH', 'TRUNC', 'WRITE',
  'UNLOCK', 'ROLLBACK', 'SETXATTR', 'SETACL', 'SETSCLASS', 'SETGOAL', 'SETTRASHTIME', 'SETEATTR', 'UNDEL',
  'PURGE', 'SETPATH', 'EMPTYTRASH', 'EMPTYSUSTAINED', 'FREEINODES', 'ACQUIRE', 'AQUIRE', 'RELEASE',
  'SNAPSHOT', 'REPAIR', 'NEXTCHUNKID', 'SETFILECHUNK', 'QUOTA', 'APPEND',
  'SCSET', 'SCDUP', 'SCREN', 'SCDEL',
]);

export interface ApplyOptions {
  /** Storage classes only an admin session may use (sclass_is_admin_only); default none. */
  sclassAdminOnly?: (sclassid: number) => boolean;
  /** The storage class definitions (SCSET / SCDUP / SCREN / SCDEL change them). */
  sclasses?: SclassTable;
}

/** Converts the old one-letter type codes (DISP_TYPE_*) of pre-1.7 records. */
function typeCode(a: ClArg | undefined): number {
  if (typeof a === 'number') return a;
  if (typeof a === 'string' && a.length === 1) {
    const m: Record<string, number> = { f: TYPE_FILE, d: TYPE_DIRECTORY, l: TYPE_SYMLINK, q: TYPE_FIFO, b: TYPE_BLOCKDEV, c: TYPE_CHARDEV, s: TYPE_SOCKET, t: TYPE_TRASH, r: TYPE_SUSTAINED };
    const t = m[a];
    if (t !== undefined) return t;
  }
  throw new BadRecord('bad type');
}

/** Live-only inputs and outputs of a record (not part of the changelog text). */
export interface LiveInfo {
  /** WRITE: CHUNKOPFLAG_CONTINUEOP (the client continues its own locked write). */
  continueop?: boolean;
  /** WRITE/TRUNC: what the chunk layer has to do. */
  chunkOp?: { action: 'create' | 'setversion' | 'duplicate' | 'continue'; chunkId: number; version: number; oldChunkId: number; oldVersion: number };
}

export function applyRecord(t: FsTree, rec: ChangelogRecord, opts: ApplyOptions = {}, live?: LiveInfo): number {
  try {
    // An incremental metadata dump captures what this record is about to change (metadump.ts).
    if (t.dumper !== null) t.dumper.beforeRecord(rec);
    return dispatch(t, rec, opts, live);
  } catch (e) {
    if (e instanceof BadRecord) return MFS_ERROR_EINVAL;
    throw e;
  }
}

function fileNode(t: FsTree, inode: number): FsNode | number {
  const p = t.nodes.get(inode);
  if (p === undefined) return MFS_ERROR_ENOENT;
  if (!p.isFile) return MFS_ERROR_EPERM;
  return p;
}

function dispatch(t: FsTree, rec: ChangelogRecord, opts: ApplyOptions, live: LiveInfo | undefined): number {
  const ts = rec.ts;
  switch (rec.op) {
    case 'ACCESS': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      p.atime = ts;
      return MFS_STATUS_OK;
    }
    case 'ATTR': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      const mode = num(rec, 1);
      if (mode > 0o7777) return MFS_ERROR_EINVAL;
      p.mode = mode;
      if (p.aclAccess !== null) {
        let aclmode = rec.args.length > 7 ? num(rec, 7) : 0;
        if ((aclmode & (1 << 12)) === 0) aclmode = (mode & 0o707) | 0o070;
        aclSetMode(p.aclAccess, aclmode);
      }
      p.uid = num(rec, 2);
      p.gid = num(rec, 3);
      p.atime = num(rec, 4);
      p.mtime = num(rec, 5);
      p.ctime = ts;
      if (rec.args.length > 6) p.winattr = num(rec, 6);
      return MFS_STATUS_OK;
    }
    case 'AMTIME': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      p.atime = num(rec, 1);
      p.mtime = num(rec, 2);
      p.ctime = num(rec, 3);
      return MFS_STATUS_OK;
    }
    case 'CREATE': {
      const type = typeCode(rec.args[2]);
      const oldFormat = rec.args.length === 7;
      const mode = num(rec, 3);
      const cumask = oldFormat ? 0 : num(rec, 4);
      const o = oldFormat ? -1 : 0;
      return create(t, rec, ts, num(rec, 0), nameArg(rec, 1), type, mode, cumask, num(rec, 5 + o), num(rec, 6 + o), num(rec, 7 + o));
    }
    case 'SYMLINK':
      return symlink(t, rec, ts, num(rec, 0), nameArg(rec, 1), nameArg(rec, 2), num(rec, 3), num(rec, 4));
    case 'UNLINK':
      return unlinkRec(t, rec, ts);
    case 'MOVE':
      return move(t, rec, ts);
    case 'LINK': {
      const sp = t.nodes.get(num(rec, 0));
      const dwd = t.nodes.get(num(rec, 1));
      const name = nameArg(rec, 2);
      if (sp === undefined || dwd === undefined) return MFS_ERROR_ENOENT;
      if (sp.type === TYPE_TRASH || sp.type === TYPE_SUSTAINED) return MFS_ERROR_ENOENT;
      if (sp.type === TYPE_DIRECTORY) return MFS_ERROR_EPERM;
      if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
      if (!namecheck(name)) return MFS_ERROR_EINVAL;
      if (t.lookup(dwd, name)) return MFS_ERROR_EEXIST;
      t.link(ts, dwd, sp, name);
      return MFS_STATUS_OK;
    }
    case 'LENGTH': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      if (!p.isFile) return MFS_ERROR_EINVAL;
      t.setLength(p, num(rec, 1));
      if (rec.args.length < 3 || num(rec, 2)) p.mtime = p.ctime = ts;
      return MFS_STATUS_OK;
    }
    case 'TRUNC': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      if (!p.isFile) return MFS_ERROR_EINVAL;
      const indx = num(rec, 1);
      if (indx > MAX_INDEX) return MFS_ERROR_INDEXTOOBIG;
      if (indx >= p.chunks.length) return MFS_ERROR_EINVAL;
      const ochunkid = p.chunks[indx]!;
      const replay = rec.result !== undefined ? { nchunkid: big(rec.result[0]) } : undefined;
      const r = t.chunks.truncate(ts, ochunkid, replay);
      if (r.status !== MFS_STATUS_OK) return r.status;
      p.chunks[indx] = r.chunkid;
      if (rec.result === undefined) rec.result = [r.chunkid];
      if (live) live.chunkOp = { action: r.action, chunkId: r.chunkid, version: t.chunks.get(r.chunkid)!.version, oldChunkId: ochunkid, oldVersion: r.oldVersion };
      return MFS_STATUS_OK;
    }
    case 'WRITE':
      return write(t, rec, ts, live);
    case 'UNLOCK':
      return t.chunks.unlock(num(rec, 0));
    case 'ROLLBACK': {
      const f = fileNode(t, num(rec, 0));
      if (typeof f === 'number') return f;
      const indx = num(rec, 1);
      const prev = num(rec, 2);
      const cur = num(rec, 3);
      if (indx > MAX_INDEX) return MFS_ERROR_INDEXTOOBIG;
      if (indx >= f.chunks.length) return MFS_ERROR_EINVAL;
      if (prev !== cur) {
        const psr = t.getStats(f, 0);
        if (prev > 0) t.chunks.addFile(prev);
        t.chunks.deleteFile(cur);
        f.chunks[indx] = prev;
        t.statsChanged(f, psr);
      }
      t.chunks.unlock(cur);
      return MFS_STATUS_OK;
    }
    case 'REPAIR': {
      const f = fileNode(t, num(rec, 0));
      if (typeof f === 'number') return f;
      const indx = num(rec, 1);
      if (indx > MAX_INDEX) return MFS_ERROR_INDEXTOOBIG;
      if (indx >= f.chunks.length || f.chunks[indx] === 0) return MFS_ERROR_NOCHUNK;
      const nversion = big(rec.result?.[0]);
      const psr = t.getStats(f, 0);
      let status: number = MFS_STATUS_OK;
      if (nversion === 0) {
        status = t.chunks.deleteFile(f.chunks[indx]!);
        f.chunks[indx] = 0;
      } else {
        const c = t.chunks.get(f.chunks[indx]!);
        if (c === undefined) status = MFS_ERROR_NOCHUNK;
        else {
          t.chunks.touch(c);
          c.version = nversion;
        }
      }
      t.statsChanged(f, psr);
      f.mtime = f.ctime = ts;
      return status;
    }
    case 'SETFILECHUNK': {
      const f = fileNode(t, num(rec, 0));
      if (typeof f === 'number') return f;
      const indx = num(rec, 1);
      const chunkid = num(rec, 2);
      if (indx >= f.chunks.length) return MFS_ERROR_EINVAL;
      const psr = t.getStats(f, 0);
      if (f.chunks[indx]! > 0) t.chunks.deleteFile(f.chunks[indx]!);
      f.chunks[indx] = chunkid;
      if (chunkid > 0) t.chunks.addFile(chunkid);
      t.statsChanged(f, psr);
      return MFS_STATUS_OK;
    }
    case 'NEXTCHUNKID': {
      const n = num(rec, 0);
      if (n > t.chunks.nextChunkId) t.chunks.nextChunkId = n;
      return MFS_STATUS_OK;
    }
    case 'SETXATTR':
      return setxattr(t, rec, ts);
    case 'SETACL':
      return setacl(t, rec, ts);
    case 'SETGOAL':
    case 'SETSCLASS':
      return setsclass(t, rec, ts, opts);
    case 'SETTRASHTIME':
      return settrashtime(t, rec, ts);
    case 'SETEATTR':
      return seteattr(t, rec, ts);
    case 'UNDEL': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
      return undel(t, ts, p);
    }
    case 'PURGE': {
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
      t.purge(ts, p);
      return MFS_STATUS_OK;
    }
    case 'SETPATH': {
      const p = t.nodes.get(num(rec, 0));
      const path = nameArg(rec, 1);
      if (path.length === 0 || path.length > 1024 || path.includes(0)) return MFS_ERROR_EINVAL;
      if (p === undefined || p.type !== TYPE_TRASH) return MFS_ERROR_ENOENT;
      t.setTrashPath(p, path);
      return MFS_STATUS_OK;
    }
    case 'EMPTYTRASH':
      return emptyTrash(t, rec, ts);
    case 'EMPTYSUSTAINED':
      return emptySustained(t, rec, ts);
    case 'FREEINODES': {
      const exp = rec.result?.map(big);
      const r = t.freeInodes(ts, num(rec, 0), rec.result !== undefined, exp?.[1] ?? 0);
      if (exp === undefined) {
        rec.result = [r.fi, r.si, r.ics];
        return MFS_STATUS_OK;
      }
      if (exp[0] !== r.fi || exp[1] !== r.si || ((exp[2] ?? 0) !== 0 && exp[2] !== r.ics)) return MFS_ERROR_MISMATCH;
      return MFS_STATUS_OK;
    }
    case 'AQUIRE':
    case 'ACQUIRE': {
      const ses = num(rec, 0);
      const inode = num(rec, 1);
      const s = t.open.get(inode);
      if (s?.has(ses)) return MFS_ERROR_MISMATCH;
      if (s === undefined) t.open.set(inode, t.soleHolder(ses));
      else if (s instanceof SoleHolder) t.open.set(inode, new Set([...s, ses]));
      else s.add(ses);
      return MFS_STATUS_OK;
    }
    case 'RELEASE': {
      const ses = num(rec, 0);
      const inode = num(rec, 1);
      const s = t.open.get(inode);
      if (s === undefined || !s.has(ses)) return MFS_ERROR_MISMATCH;
      if (s.size === 1) t.open.delete(inode);
      else s.delete(ses);
      return MFS_STATUS_OK;
    }
    case 'SNAPSHOT':
      return snapshot(t, rec, ts);
    case 'APPEND': {
      // fs_mr_append_slice: APPEND(inode,inode_src,slice_from,slice_to), slice inclusive
      const inode = num(rec, 0);
      const src = num(rec, 1);
      if (inode === src) return MFS_ERROR_EINVAL;
      const sp = t.nodes.get(src);
      const p = t.nodes.get(inode);
      if (sp === undefined || p === undefined) return MFS_ERROR_ENOENT;
      if (!sp.isFile || !p.isFile) return MFS_ERROR_EPERM;
      if (sp.length === 0) return MFS_STATUS_OK;
      return appendSlice(t, ts, p, sp, num(rec, 2), num(rec, 3));
    }
    case 'SCSET':
    case 'SCDUP':
    case 'SCREN':
    case 'SCDEL':
      if (!opts.sclasses) return MFS_ERROR_ENOTSUP;
      return opts.sclasses.apply(rec);
    case 'QUOTA': {
      // fs_mr_quota: QUOTA(inode,exceeded,flags,stimestamp,sinodes,hinodes,slength,hlength,ssize,hsize,srealsize,hrealsize[,graceperiod])
      const p = t.nodes.get(num(rec, 0));
      if (p === undefined) return MFS_ERROR_ENOENT;
      if (p.type !== TYPE_DIRECTORY) return MFS_ERROR_EPERM;
      const flags = num(rec, 2);
      if (flags === 0) {
        if (p.quota !== null) {
          p.quota = null;
          t.quotaDirs = t.quotaDirs.filter((d) => d !== p);
        }
        return MFS_STATUS_OK;
      }
      if (p.quota === null) {
        p.quota = { flags: 0, graceperiod: 0, exceeded: 0, stimestamp: 0, sinodes: 0, hinodes: 0, slength: 0, hlength: 0, ssize: 0, hsize: 0, srealsize: 0, hrealsize: 0 };
        t.quotaDirs.unshift(p);
      }
      const q = p.quota;
      q.flags = flags;
      const grace = rec.args.length > 12 ? num(rec, 12) : 0;
      if (grace !== 0) q.graceperiod = grace;
      q.exceeded = num(rec, 1);
      q.stimestamp = num(rec, 3);
      q.sinodes = num(rec, 4);
      q.hinodes = num(rec, 5);
      q.slength = big(rec.args[6]);
      q.hlength = big(rec.args[7]);
      q.ssize = big(rec.args[8]);
      q.hsize = big(rec.args[9]);
      q.srealsize = big(rec.args[10]);
      q.hrealsize = big(rec.args[11]);
      return MFS_STATUS_OK;
    }
    default:
      return MFS_ERROR_ENOTSUP;
  }
}

function create(
  t: FsTree,
  rec: ChangelogRecord,
  ts: number,
  parent: number,
  name: Buffer,
  type: number,
  mode: number,
  cumask: number,
  uid: number,
  gid: number,
  rdev: number,
): number {
  if (type !== TYPE_FILE && type !== TYPE_SOCKET && type !== TYPE_FIFO && type !== TYPE_BLOCKDEV && type !== TYPE_CHARDEV && type !== TYPE_DIRECTORY) {
    return MFS_ERROR_EINVAL;
  }
  const wd = t.nodes.get(parent);
  if (wd === undefined) return MFS_ERROR_ENOENT;
  if (wd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
  if (!namecheck(name)) return MFS_ERROR_EINVAL;
  if (t.lookup(wd, name)) return MFS_ERROR_EEXIST;
  // The record's mode already carries the sgid bit a copysgid mkdir set (chlogmode).
  const p = t.createNode(ts, wd, name, type, mode, cumask, uid, gid, false);
  if (type === TYPE_DIRECTORY && (mode & 0o2000) && (wd.mode & 0o2000)) p.mode |= 0o2000;
  if (type === TYPE_BLOCKDEV || type === TYPE_CHARDEV) p.rdev = rdev;
  return result(rec, [p.inode]);
}

function symlink(t: FsTree, rec: ChangelogRecord, ts: number, parent: number, name: Buffer, path: Buffer, uid: number, gid: number): number {
  if (path.length === 0 || path.length > 4096 || path.includes(0)) return MFS_ERROR_EINVAL;
  const wd = t.nodes.get(parent);
  if (wd === undefined) return MFS_ERROR_ENOENT;
  if (wd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
  if (!namecheck(name)) return MFS_ERROR_EINVAL;
  if (t.lookup(wd, name)) return MFS_ERROR_EEXIST;
  const p = t.createNode(ts, wd, name, TYPE_SYMLINK, 0o777, 0, uid, gid, false);
  p.path = Buffer.from(path);
  t.addStats(wd, { inodes: 0, dirs: 0, files: 0, chunks: 0, length: path.length, size: 0, realsize: 0 });
  return result(rec, [p.inode]);
}

function unlinkRec(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const wd = t.nodes.get(num(rec, 0));
  const name = nameArg(rec, 1);
  if (wd === undefined) return MFS_ERROR_ENOENT;
  if (wd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
  if (!namecheck(name)) return MFS_ERROR_EINVAL;
  const e = t.lookup(wd, name);
  if (e === undefined) return MFS_ERROR_ENOENT;
  if (e.child.type === TYPE_DIRECTORY && e.child.children!.size > 0) return MFS_ERROR_ENOTEMPTY;
  const st = result(rec, [e.child.inode]);
  if (st !== MFS_STATUS_OK) return st;
  t.unlink(ts, e);
  return MFS_STATUS_OK;
}

function move(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const swd = t.nodes.get(num(rec, 0));
  const nsrc = nameArg(rec, 1);
  const dwd = t.nodes.get(num(rec, 2));
  const ndst = nameArg(rec, 3);
  if (swd === undefined || dwd === undefined) return MFS_ERROR_ENOENT;
  if (swd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
  if (!namecheck(nsrc)) return MFS_ERROR_EINVAL;
  const se = t.lookup(swd, nsrc);
  if (se === undefined) return MFS_ERROR_ENOENT;
  const node = se.child;
  if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_ENOTDIR;
  if (node.type === TYPE_DIRECTORY && (node === dwd || t.isAncestor(node, dwd))) return MFS_ERROR_EINVAL;
  if (!namecheck(ndst)) return MFS_ERROR_EINVAL;
  const de = t.lookup(dwd, ndst);
  if (de !== undefined && de.child.type === TYPE_DIRECTORY && de.child.children!.size > 0) return MFS_ERROR_ENOTEMPTY;
  const st = result(rec, [node.inode]);
  if (st !== MFS_STATUS_OK) return st;
  if (de === se) {
    // rename onto itself: nothing to change (the C master would free the edge twice here).
    return MFS_STATUS_OK;
  }
  if (de !== undefined) t.unlink(ts, de);
  t.removeEdge(ts, se);
  t.link(ts, dwd, node, ndst);
  return MFS_STATUS_OK;
}

function write(t: FsTree, rec: ChangelogRecord, ts: number, live: LiveInfo | undefined): number {
  const f = fileNode(t, num(rec, 0));
  if (typeof f === 'number') return f;
  const indx = num(rec, 1);
  if (indx > MAX_INDEX) return MFS_ERROR_INDEXTOOBIG;
  const opflag = num(rec, 2);
  const canmodmtime = rec.args.length > 3 ? num(rec, 3) : 1;
  const replay = rec.result !== undefined ? { opflag, nchunkid: big(rec.result[0]) } : undefined;
  const psr = t.getStats(f, 0);
  const ochunkid = indx < f.chunks.length ? f.chunks[indx]! : 0;
  const r = t.chunks.modify(ts, ochunkid, live?.continueop === true, replay);
  if (r.status !== MFS_STATUS_OK) return r.status;
  const chunks = ownChunks(f);
  while (chunks.length <= indx) chunks.push(0);
  chunks[indx] = r.chunkid;
  let nlength = indx * MFSCHUNKSIZE;
  if (nlength < f.length) nlength = f.length;
  if (nlength > f.length) {
    if (f.type === TYPE_TRASH) t.trashspace += nlength - f.length;
    else if (f.type === TYPE_SUSTAINED) t.sustainedspace += nlength - f.length;
    f.length = nlength;
  }
  t.statsChanged(f, psr);
  f.eattr &= ~EATTR_SNAPSHOT;
  if (canmodmtime) f.mtime = f.ctime = ts;
  if (rec.result === undefined) {
    rec.args[2] = r.opflag;
    rec.result = [r.chunkid];
  }
  if (live) live.chunkOp = { action: r.action, chunkId: r.chunkid, version: t.chunks.get(r.chunkid)!.version, oldChunkId: ochunkid, oldVersion: r.oldVersion };
  return MFS_STATUS_OK;
}

/** fsnodes_append_slice_of_chunks: the source's chunks [from, to] appended after the destination's last chunk. */
export function appendSlice(t: FsTree, ts: number, dst: FsNode, src: FsNode, from: number, to: number): number {
  const lastsrc = src.length > 0 ? Math.floor((src.length - 1) / MFSCHUNKSIZE) : 0;
  if (from === 0xffffffff && to === 0) {
    from = 0;
    to = lastsrc;
  }
  if (to > lastsrc || from > lastsrc || from > to) return MFS_ERROR_EINVAL;
  const srcchunks = src.length > 0 ? to - from + 1 : 0;
  const dstchunks = dst.length > 0 ? 1 + Math.floor((dst.length - 1) / MFSCHUNKSIZE) : 0;
  const newchunks = srcchunks + dstchunks;
  if (newchunks - 1 > MAX_INDEX) return MFS_ERROR_INDEXTOOBIG;
  const psr = t.getStats(dst, 0);
  const dchunks = ownChunks(dst);
  while (dchunks.length < newchunks) dchunks.push(0);
  for (let i = dstchunks; i < dst.chunks.length; i++) {
    const c = dst.chunks[i]!;
    if (c > 0) t.chunks.deleteFile(c);
    dst.chunks[i] = 0;
  }
  for (let i = 0; i < srcchunks; i++) {
    const c = from + i < src.chunks.length ? src.chunks[from + i]! : 0;
    dst.chunks[i + dstchunks] = c;
    if (c > 0) t.chunks.addFile(c);
  }
  const length = to >= lastsrc ? dstchunks * MFSCHUNKSIZE + src.length - from * MFSCHUNKSIZE : newchunks * MFSCHUNKSIZE;
  if (dst.type === TYPE_TRASH) t.trashspace += length - dst.length;
  else if (dst.type === TYPE_SUSTAINED) t.sustainedspace += length - dst.length;
  dst.length = length;
  t.statsChanged(dst, psr);
  dst.mtime = ts;
  dst.atime = ts;
  src.atime = ts;
  return MFS_STATUS_OK;
}

function xattrListLength(p: FsNode): number {
  let n = 0;
  if (p.xattrs) for (const x of p.xattrs.values()) n += x.name.length + 1;
  return n;
}

function setxattr(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const inode = num(rec, 0);
  const name = nameArg(rec, 1);
  const value = nameArg(rec, 2);
  const mode = num(rec, 3);
  if (name.length === 0 || name.length > MFS_XATTR_NAME_MAX || value.length > MFS_XATTR_SIZE_MAX || mode > MFS_XATTR_REMOVE) {
    return MFS_ERROR_EINVAL;
  }
  const p = t.nodes.get(inode);
  if (p === undefined) return MFS_ERROR_ENOENT;
  const st = xattrSet(p, name, value, mode);
  if (st !== MFS_STATUS_OK) return st;
  p.ctime = ts;
  return MFS_STATUS_OK;
}

/** xattr_setattr (mfsmaster/xattr.c). */
export function xattrSet(p: FsNode, name: Buffer, value: Buffer, mode: number): number {
  if (name.length + 1 > MFS_XATTR_LIST_MAX) return MFS_ERROR_ERANGE;
  const key = nameKey(name);
  const existing = p.xattrs?.get(key);
  if (mode === MFS_XATTR_REPLACE_ONLY || mode === MFS_XATTR_REMOVE) {
    if (existing === undefined) return MFS_ERROR_ENOATTR;
    if (mode === MFS_XATTR_REMOVE) {
      p.xattrs!.delete(key);
      if (p.xattrs!.size === 0) p.xattrs = null;
      return MFS_STATUS_OK;
    }
  }
  if (existing !== undefined) {
    if (mode === MFS_XATTR_CREATE_ONLY) return MFS_ERROR_EEXIST;
    if (value.length > MFS_XATTR_SIZE_MAX) return MFS_ERROR_ERANGE;
    existing.value = Buffer.from(value);
    return MFS_STATUS_OK;
  }
  if (xattrListLength(p) + name.length + 1 > MFS_XATTR_LIST_MAX) return MFS_ERROR_ERANGE;
  if (p.xattrs === null) p.xattrs = new Map();
  p.xattrs.set(key, { name: Buffer.from(name), value: Buffer.from(value) });
  return MFS_STATUS_OK;
}

function setacl(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const p = t.nodes.get(num(rec, 0));
  if (p === undefined) return MFS_ERROR_ENOENT;
  const mode = num(rec, 1);
  const changectime = num(rec, 2);
  const acltype = num(rec, 3);
  const [u, g, o, m, nu, ng] = [num(rec, 4), num(rec, 5), num(rec, 6), num(rec, 7), num(rec, 8), num(rec, 9)];
  const blob = nameArg(rec, 10);
  if (acltype !== POSIX_ACL_ACCESS && acltype !== POSIX_ACL_DEFAULT) return MFS_ERROR_EINVAL;
  if ((u & g & o & m) === 0xffff && (nu | ng) === 0) {
    if (acltype === POSIX_ACL_ACCESS) p.aclAccess = null;
    else p.aclDefault = null;
    return MFS_STATUS_OK;
  }
  const acl = aclFromBlob(u, g, o, m, nu, ng, blob);
  if (acl === undefined) return MFS_ERROR_EINVAL;
  // posix_acl_set: a "simple" access ACL is no ACL.
  if (acltype === POSIX_ACL_ACCESS && nu + ng === 0 && u <= 7 && g <= 7 && o <= 7 && m === 0xffff) p.aclAccess = null;
  else if (acltype === POSIX_ACL_ACCESS) p.aclAccess = acl;
  else p.aclDefault = acl;
  p.mode = mode & 0o7777;
  if (changectime) p.ctime = ts;
  return MFS_STATUS_OK;
}

function recursiveCounters(rec: ChangelogRecord, c: { s: number; nc: number; ns: number }, smode: number): number {
  if ((smode & SMODE_RMASK) === 0 && c.ns > 0 && c.s === 0 && c.nc === 0) return MFS_ERROR_EPERM;
  return result(rec, [c.s, c.nc, c.ns]);
}

function isFileOrDir(p: FsNode): boolean {
  return p.type === TYPE_FILE || p.type === TYPE_DIRECTORY || p.type === TYPE_TRASH || p.type === TYPE_SUSTAINED;
}

/**
 * The walk shared by fs_setsclass and fs_settrashtime replay: files and directories only; a node the
 * uid may not change (or an immutable one) counts as refused; `change` says whether it changed the
 * node (then its ctime is set); directories recurse when SMODE_RMASK is set.
 */
function walkSetter(t: FsTree, p: FsNode, uid: number, smode: number, ts: number, c: { s: number; nc: number; ns: number }, change: (n: FsNode) => boolean): void {
  const walk = (n: FsNode): void => {
    if (!isFileOrDir(n)) return;
    if (((n.eattr & EATTR_NOOWNER) === 0 && uid !== 0 && n.uid !== uid) || (n.eattr & EATTR_IMMUTABLE)) {
      c.ns++;
    } else if (change(n)) {
      c.s++;
      n.ctime = ts;
    } else {
      c.nc++;
    }
    if (n.type === TYPE_DIRECTORY && (smode & SMODE_RMASK)) for (const e of t.childList(n)) walk(e.child);
  };
  walk(p);
}

function setsclass(t: FsTree, rec: ChangelogRecord, ts: number, opts: ApplyOptions): number {
  const inode = num(rec, 0);
  const uid = num(rec, 1);
  let src: number;
  let dst: number;
  let smode: number;
  if (rec.op === 'SETGOAL') {
    // SETGOAL(inode,uid,goal,smode) of older masters: goal id == storage class id.
    dst = src = num(rec, 2);
    smode = num(rec, 3);
  } else {
    src = num(rec, 2);
    dst = num(rec, 3);
    smode = num(rec, 4);
  }
  if (smode > 7 || dst === 0 || src === 0) return MFS_ERROR_EINVAL;
  if (((smode & SMODE_TMASK) === SMODE_INCREASE || (smode & SMODE_TMASK) === SMODE_DECREASE) && dst > 9) return MFS_ERROR_EINVAL;
  const p = t.nodes.get(inode);
  if (p === undefined) return MFS_ERROR_ENOENT;
  if (!isFileOrDir(p)) return MFS_ERROR_EPERM;
  const c = { s: 0, nc: 0, ns: 0 };
  const adminOnly = opts.sclassAdminOnly ?? (() => false);
  void adminOnly; // replay runs with admin rights (fs_mr_setsclass)
  walkSetter(t, p, uid, smode, ts, c, (n) => {
    let set = false;
    switch (smode & SMODE_TMASK) {
      case SMODE_SET: set = n.sclassid !== dst; break;
      case SMODE_INCREASE: set = n.sclassid < dst; break;
      case SMODE_DECREASE: set = n.sclassid > dst; break;
      case SMODE_EXCHANGE: set = n.sclassid === src; break;
    }
    if (!set) return false;
    if (n.type !== TYPE_DIRECTORY) {
      const psr = t.getStats(n, 0);
      n.sclassid = dst;
      const nsr = t.getStats(n, 1);
      for (const e of n.parents) t.addSubStats(e.parent, nsr, psr);
    } else {
      n.sclassid = dst;
    }
    return true;
  });
  return recursiveCounters(rec, c, smode);
}

function settrashtime(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const inode = num(rec, 0);
  const uid = num(rec, 1);
  const seconds = num(rec, 2);
  const smode = num(rec, 3);
  if (smode > 7) return MFS_ERROR_EINVAL;
  const p = t.nodes.get(inode);
  if (p === undefined) return MFS_ERROR_ENOENT;
  if (!isFileOrDir(p)) return MFS_ERROR_EPERM;
  const hours = Math.floor((seconds + 3599) / 3600) & 0xffff;
  const c = { s: 0, nc: 0, ns: 0 };
  walkSetter(t, p, uid, smode, ts, c, (n) => {
    let set = false;
    switch (smode & SMODE_TMASK) {
      case SMODE_SET: set = n.trashtime !== hours; break;
      case SMODE_INCREASE: set = n.trashtime < hours; break;
      case SMODE_DECREASE: set = n.trashtime > hours; break;
    }
    if (set) n.trashtime = hours;
    return set;
  });
  return recursiveCounters(rec, c, smode);
}

function seteattr(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const inode = num(rec, 0);
  const uid = num(rec, 1);
  const eattr = num(rec, 2);
  const smode = num(rec, 3);
  if (smode > 7 || eattr > 0xff) return MFS_ERROR_EINVAL;
  const p = t.nodes.get(inode);
  if (p === undefined) return MFS_ERROR_ENOENT;
  const c = { s: 0, nc: 0, ns: 0 };
  const walk = (n: FsNode): void => {
    if (((n.eattr & EATTR_NOOWNER) === 0 && uid !== 0 && n.uid !== uid) || ((n.eattr & EATTR_IMMUTABLE) && (eattr & EATTR_NOOWNER))) {
      c.ns++;
    } else {
      let seattr = eattr;
      if (n.type !== TYPE_DIRECTORY) {
        n.eattr &= ~EATTR_NOECACHE;
        seattr &= ~EATTR_NOECACHE;
      }
      let ne = n.eattr;
      switch (smode & SMODE_TMASK) {
        case SMODE_SET: ne = seattr; break;
        case SMODE_INCREASE: ne |= seattr; break;
        case SMODE_DECREASE: ne &= ~seattr; break;
      }
      if (ne !== n.eattr) {
        n.eattr = ne;
        c.s++;
        n.ctime = ts;
      } else {
        c.nc++;
      }
    }
    if (n.type === TYPE_DIRECTORY && (smode & SMODE_RMASK)) for (const e of t.childList(n)) walk(e.child);
  };
  walk(p);
  return recursiveCounters(rec, c, smode);
}

/** fsnodes_undel: recreate the path (as root-owned 0755 directories) and relink the file. */
function undel(t: FsTree, ts: number, node: FsNode): number {
  const e = node.parents[0]!;
  let path = e.name;
  let start = 0;
  while (start < path.length && path[start] === 0x2f) start++;
  path = path.subarray(start);
  if (path.length === 0) return MFS_ERROR_CANTCREATEPATH;
  const parts: Buffer[] = [];
  let s = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      parts.push(path.subarray(s, i));
      s = i + 1;
    } else if (path[i] === 0) {
      return MFS_ERROR_CANTCREATEPATH;
    }
  }
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.length === 0) return MFS_ERROR_CANTCREATEPATH;
    if (part.length > MFS_NAME_MAX) return MFS_ERROR_CANTCREATEPATH;
    if (part.every((c) => c === 0x2e) && part.length <= 2) return MFS_ERROR_CANTCREATEPATH;
  }
  let p = t.root;
  let created = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (p.quota !== null && p.quota.exceeded) return MFS_ERROR_QUOTA;
    if (p.eattr & EATTR_IMMUTABLE) return MFS_ERROR_EPERM;
    if (i === parts.length - 1) {
      if (t.lookup(p, part)) return MFS_ERROR_EEXIST;
      node.type = TYPE_FILE;
      node.ctime = ts;
      t.link(ts, p, node, part);
      t.removeEdge(ts, e);
      t.trashspace -= node.length;
      t.trashnodes--;
      return MFS_STATUS_OK;
    }
    let n: FsNode | undefined;
    if (!created) {
      const pe = t.lookup(p, part);
      if (pe === undefined) created = true;
      else {
        n = pe.child;
        if (n.type !== TYPE_DIRECTORY) return MFS_ERROR_CANTCREATEPATH;
      }
    }
    if (created) n = t.createNode(ts, p, part, TYPE_DIRECTORY, 0o755, 0, 0, 0, false);
    p = n!;
  }
  return MFS_ERROR_CANTCREATEPATH;
}

/** A trash file whose trash time has run out (EMPTYTRASH purges it). */
export function expired(n: FsNode, ts: number): boolean {
  const s = n.trashtime * 3600;
  return n.atime + s < ts && n.mtime + s < ts && n.ctime + s < ts;
}

function emptyTrash(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const bid = num(rec, 0);
  let fi = 0;
  let si = 0;
  let ics = 0;
  const part = (b: number): void => {
    for (const e of [...t.trash[b]!.values()].reverse()) {
      const p = e.child;
      if (expired(p, ts)) {
        ics = (ics ^ p.inode) >>> 0;
        if (t.purge(ts, p)) fi++;
        else si++;
      }
    }
  };
  if (bid >= TRASH_BUCKETS) for (let b = 0; b < TRASH_BUCKETS; b++) part(b);
  else part(bid);
  if (rec.result === undefined) {
    rec.result = [fi, si, ics];
    return MFS_STATUS_OK;
  }
  const r = rec.result.map(big);
  if (r[0] !== fi || r[1] !== si || ((r[2] ?? 0) !== 0 && r[2] !== ics)) return MFS_ERROR_MISMATCH;
  return MFS_STATUS_OK;
}

function emptySustained(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const bid = num(rec, 0);
  let fi = 0;
  let ics = 0;
  const part = (b: number): void => {
    for (const e of [...t.sustained[b]!.values()].reverse()) {
      const p = e.child;
      if (!t.open.has(p.inode)) {
        ics = (ics ^ p.inode) >>> 0;
        t.purge(ts, p);
        fi++;
      }
    }
  };
  if (bid >= SUSTAINED_BUCKETS) for (let b = 0; b < SUSTAINED_BUCKETS; b++) part(b);
  else part(bid);
  if (rec.result === undefined) {
    rec.result = [fi, ics];
    return MFS_STATUS_OK;
  }
  const r = rec.result.map(big);
  if (r[0] !== fi || ((r[1] ?? 0) !== 0 && r[1] !== ics)) return MFS_ERROR_MISMATCH;
  return MFS_STATUS_OK;
}
