// Snapshots (fsnodes_snapshot, fsnodes_snapshot_test, fsnodes_remove_snapshot* in mfsmaster/filesystem.c):
// the SNAPSHOT record's applier and the checks the live operation runs first.
import { MFS_ERROR_EACCES, MFS_ERROR_EEXIST, MFS_ERROR_EINVAL, MFS_ERROR_ENOENT, MFS_ERROR_EPERM, MFS_STATUS_OK } from '@mfs-ts/protocol';
import type { ChangelogRecord } from './changelog.js';
import { hasAccess } from './perms.js';
import { nameArg, namecheck, num, result } from './recargs.js';
import type { Edge, FsNode, FsTree } from './tree.js';
import {
  EATTR_APPENDONLY,
  EATTR_IMMUTABLE,
  EATTR_SNAPSHOT,
  EATTR_UNDELETABLE,
  MODE_MASK_R,
  MODE_MASK_W,
  MODE_MASK_X,
  SNAPSHOT_MODE_CAN_OVERWRITE,
  SNAPSHOT_MODE_CPLIKE_ATTR,
  SNAPSHOT_MODE_DELETE,
  SNAPSHOT_MODE_FORCE_REMOVAL,
  SNAPSHOT_MODE_PRESERVE_HARDLINKS,
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

// ---------------- snapshots (fsnodes_snapshot & co.) ----------------

interface SnapArgs {
  ts: number;
  smode: number;
  sesflags: number;
  cumask: number;
  uid: number;
  gids: number[];
  chk: number;
  removed: number;
  same: number;
  existing: number;
  hardlinks: number;
  created: number;
  linked: Map<number, FsNode>;
}

export function snapshotTest(t: FsTree, orig: FsNode, src: FsNode, parent: FsNode, name: Buffer, canoverwrite: boolean): number {
  const e = t.lookup(parent, name);
  if (e === undefined) return MFS_STATUS_OK;
  const dst = e.child;
  if (dst === orig) return MFS_ERROR_EINVAL;
  if (dst.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) return MFS_ERROR_EPERM;
  if (dst.type !== src.type) return MFS_ERROR_EPERM;
  if (src.type === TYPE_TRASH || src.type === TYPE_SUSTAINED) return MFS_ERROR_EPERM;
  if (src.type === TYPE_DIRECTORY) {
    for (const ce of t.childList(src)) {
      const st = snapshotTest(t, orig, ce.child, dst, ce.name, canoverwrite);
      if (st !== MFS_STATUS_OK) return st;
    }
  } else if (!canoverwrite) {
    return MFS_ERROR_EEXIST;
  }
  return MFS_STATUS_OK;
}

export function removeSnapshotTest(t: FsTree, e: Edge, a: { uid: number; gids: readonly number[]; sesflags: number }): number {
  const n = e.child;
  if (n.type === TYPE_DIRECTORY) {
    if (n.eattr & EATTR_APPENDONLY) return MFS_ERROR_EPERM;
    if (!hasAccess(n, a.uid, a.gids, MODE_MASK_W | MODE_MASK_X, a.sesflags)) return MFS_ERROR_EACCES;
    for (const ie of t.childList(n)) {
      const st = removeSnapshotTest(t, ie, a);
      if (st !== MFS_STATUS_OK) return st;
    }
  }
  if ((n.eattr & EATTR_SNAPSHOT) === 0 || (n.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) !== 0) return MFS_ERROR_EPERM;
  return MFS_STATUS_OK;
}

function removeSnapshot(t: FsTree, e: Edge, a: SnapArgs, allowed: boolean): void {
  const n = e.child;
  if (n.type === TYPE_DIRECTORY) {
    const back = n.eattr;
    if (hasAccess(n, a.uid, a.gids, MODE_MASK_W | MODE_MASK_X, a.sesflags)) {
      for (const ie of t.childList(n)) removeSnapshot(t, ie, a, (n.eattr & (EATTR_APPENDONLY | EATTR_IMMUTABLE)) === 0);
    }
    if (n.children!.size > 0) return;
    n.eattr = back;
  }
  if ((n.eattr & EATTR_SNAPSHOT) !== 0 && (n.eattr & (EATTR_UNDELETABLE | EATTR_IMMUTABLE | EATTR_APPENDONLY)) === 0 && allowed) {
    n.trashtime = 0;
    a.chk = (a.chk ^ n.inode) >>> 0;
    a.removed++;
    t.unlink(a.ts, e);
  }
}

function copyFileData(t: FsTree, src: FsNode, dst: FsNode, parent: FsNode): void {
  const psr = t.getStats(dst, 0);
  dst.chunks = [...src.chunks];
  for (const c of dst.chunks) if (c > 0) t.chunks.addFile(c);
  dst.length = src.length;
  const nsr = t.getStats(dst, 1);
  t.addSubStats(parent, nsr, psr);
}

function doSnapshot(t: FsTree, src: FsNode, parent: FsNode, name: Buffer, newflag: boolean, a: SnapArgs): void {
  let rec: boolean;
  let ok: boolean;
  if (src.type === TYPE_DIRECTORY) {
    rec = hasAccess(src, a.uid, a.gids, MODE_MASK_R | MODE_MASK_X, a.sesflags);
    ok = true;
  } else if (src.type === TYPE_FILE) {
    rec = false;
    ok = hasAccess(src, a.uid, a.gids, MODE_MASK_R, a.sesflags);
  } else {
    rec = false;
    ok = true;
  }
  if (!ok) return;
  const gid0 = a.gids[0] ?? 0;
  const cplike = (a.smode & SNAPSHOT_MODE_CPLIKE_ATTR) !== 0;
  const owner = a.uid === 0 || a.uid === src.uid;
  const e = newflag ? undefined : t.lookup(parent, name);
  if (e !== undefined) {
    let dst = e.child;
    if (src.type === TYPE_DIRECTORY) {
      a.existing++;
      if (rec) for (const ce of t.childList(src)) doSnapshot(t, ce.child, dst, ce.name, false, a);
    } else if (src.type === TYPE_FILE) {
      const same = dst.length === src.length && dst.chunks.length === src.chunks.length && dst.chunks.every((c, i) => c === src.chunks[i]);
      if (!same) {
        a.chk = (a.chk ^ dst.inode) >>> 0;
        t.unlink(a.ts, e);
        if (cplike) dst = t.createNode(a.ts, parent, name, TYPE_FILE, src.mode, a.cumask, a.uid, gid0, false);
        else if (owner) dst = t.createNode(a.ts, parent, name, TYPE_FILE, src.mode & 0xfff, 0, src.uid, src.gid, false);
        else dst = t.createNode(a.ts, parent, name, TYPE_FILE, src.mode & 0x3ff, 0, a.uid, gid0, false);
        a.existing++;
        a.chk = (a.chk ^ dst.inode) >>> 0;
        dst.sclassid = src.sclassid;
        dst.trashtime = src.trashtime;
        copyFileData(t, src, dst, parent);
      } else {
        a.same++;
      }
    } else if (src.type === TYPE_SYMLINK) {
      a.existing++;
      if (dst.path.length !== src.path.length) {
        t.addStats(parent, { inodes: 0, dirs: 0, files: 0, chunks: 0, length: src.path.length - dst.path.length, size: 0, realsize: 0 });
      }
      dst.path = Buffer.from(src.path);
    } else if (src.type === TYPE_BLOCKDEV || src.type === TYPE_CHARDEV) {
      a.existing++;
      dst.rdev = src.rdev;
    } else {
      a.existing++;
    }
    if (cplike) {
      dst.uid = a.uid;
      dst.gid = gid0;
      dst.mode = src.mode & ~a.cumask & 0o7777;
      dst.ctime = a.ts;
    } else {
      if (owner) {
        dst.mode = src.mode;
        dst.uid = src.uid;
        dst.gid = src.gid;
        dst.ctime = src.ctime;
      } else {
        dst.mode = src.mode & 0x3ff;
        dst.uid = a.uid;
        dst.gid = gid0;
        dst.ctime = a.ts;
      }
      dst.atime = src.atime;
      dst.mtime = src.mtime;
    }
    dst.eattr |= EATTR_SNAPSHOT;
    return;
  }
  if (![TYPE_FILE, TYPE_DIRECTORY, TYPE_SYMLINK, TYPE_BLOCKDEV, TYPE_CHARDEV, TYPE_SOCKET, TYPE_FIFO].includes(src.type)) return;
  const hard = (a.smode & SNAPSHOT_MODE_PRESERVE_HARDLINKS) !== 0 && src.type !== TYPE_DIRECTORY && src.parents.length > 1;
  if (hard) {
    const d = a.linked.get(src.inode);
    if (d !== undefined) {
      a.hardlinks++;
      t.link(a.ts, parent, d, name);
      return;
    }
  }
  let dst: FsNode;
  if (cplike) dst = t.createNode(a.ts, parent, name, src.type, src.mode, a.cumask, a.uid, gid0, false);
  else if (owner) dst = t.createNode(a.ts, parent, name, src.type, src.mode, 0, src.uid, src.gid, false);
  else dst = t.createNode(a.ts, parent, name, src.type, src.mode & 0x3ff, 0, a.uid, gid0, false);
  a.chk = (a.chk ^ dst.inode) >>> 0;
  a.created++;
  if (hard) a.linked.set(src.inode, dst);
  if (!cplike) {
    if (dst.isFile) {
      const psr = t.getStats(dst, 0);
      dst.sclassid = src.sclassid;
      const nsr = t.getStats(dst, 1);
      t.addSubStats(parent, nsr, psr);
    } else {
      dst.sclassid = src.sclassid;
    }
    dst.trashtime = src.trashtime;
    dst.eattr = src.eattr;
    dst.winattr = src.winattr;
    dst.mode = src.mode;
    if (!owner) dst.mode &= 0x3ff;
    if (src.xattrs) {
      dst.xattrs = new Map();
      for (const [k, v] of src.xattrs) dst.xattrs.set(k, { name: Buffer.from(v.name), value: Buffer.from(v.value) });
    }
    t.copyAcls(src, dst);
  }
  if (src.type === TYPE_DIRECTORY) {
    if (rec) for (const ce of t.childList(src)) doSnapshot(t, ce.child, dst, ce.name, true, a);
  } else if (src.type === TYPE_FILE) {
    copyFileData(t, src, dst, parent);
  } else if (src.type === TYPE_SYMLINK) {
    const psr = t.getStats(dst, 0);
    dst.path = Buffer.from(src.path);
    const nsr = t.getStats(dst, 1);
    t.addSubStats(parent, nsr, psr);
  } else if (src.type === TYPE_BLOCKDEV || src.type === TYPE_CHARDEV) {
    dst.rdev = src.rdev;
  }
  if (!cplike) {
    dst.atime = src.atime;
    dst.mtime = src.mtime;
    dst.ctime = src.ctime;
  }
  dst.eattr |= EATTR_SNAPSHOT;
}

export function snapshot(t: FsTree, rec: ChangelogRecord, ts: number): number {
  const inodeSrc = num(rec, 0);
  const parentDst = num(rec, 1);
  const name = nameArg(rec, 2);
  const smode = num(rec, 3);
  const sesflags = num(rec, 4);
  const uid = num(rec, 5);
  const g = rec.args[6];
  let gids: number[];
  let cumask: number;
  if (Array.isArray(g)) {
    gids = g;
    cumask = num(rec, 7);
  } else {
    // SNAPSHOT(...,uid,gid,cumask) from masters before 3.0.x
    gids = [num(rec, 6)];
    cumask = num(rec, 7);
  }
  const a: SnapArgs = { ts, smode, sesflags, cumask, uid, gids, chk: 0, removed: 0, same: 0, existing: 0, hardlinks: 0, created: 0, linked: new Map() };
  const dwd = t.nodes.get(parentDst);
  if (smode & SNAPSHOT_MODE_DELETE) {
    if (inodeSrc !== 0) return MFS_ERROR_EINVAL;
    if (dwd === undefined) return MFS_ERROR_ENOENT;
    if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_EPERM;
    if (!namecheck(name)) return MFS_ERROR_EINVAL;
    const e = t.lookup(dwd, name);
    if (e === undefined) return MFS_ERROR_ENOENT;
    void SNAPSHOT_MODE_FORCE_REMOVAL;
    removeSnapshot(t, e, a, (dwd.eattr & (EATTR_APPENDONLY | EATTR_IMMUTABLE)) === 0);
  } else {
    if (inodeSrc === 0) return MFS_ERROR_EINVAL;
    const sp = t.nodes.get(inodeSrc);
    if (sp === undefined || dwd === undefined) return MFS_ERROR_ENOENT;
    if (dwd.type !== TYPE_DIRECTORY) return MFS_ERROR_EPERM;
    if (sp.type === TYPE_DIRECTORY && (sp === dwd || t.isAncestor(sp, dwd))) return MFS_ERROR_EINVAL;
    if (!namecheck(name)) return MFS_ERROR_EINVAL;
    const st = snapshotTest(t, sp, sp, dwd, name, (smode & SNAPSHOT_MODE_CAN_OVERWRITE) !== 0);
    if (st !== MFS_STATUS_OK) return st;
    doSnapshot(t, sp, dwd, name, false, a);
  }
  return result(rec, [a.chk, a.removed, a.same, a.existing, a.hardlinks, a.created], true);
}
