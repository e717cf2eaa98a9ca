import {
  LOOKUP_ACCESS_BITS,
  LOOKUP_RO_FILESYSTEM,
} from '@mfs-ts/protocol';
import {
  CLTOMA_FUSE_ACCESS,
  CLTOMA_FUSE_AMTIME_INODES,
  CLTOMA_FUSE_CREATE,
  CLTOMA_FUSE_GETATTR,
  CLTOMA_FUSE_LINK,
  CLTOMA_FUSE_LOOKUP,
  CLTOMA_FUSE_MKDIR,
  CLTOMA_FUSE_MKNOD,
  CLTOMA_FUSE_OPEN,
  CLTOMA_FUSE_READDIR,
  CLTOMA_FUSE_READLINK,
  CLTOMA_FUSE_RENAME,
  CLTOMA_FUSE_RMDIR,
  CLTOMA_FUSE_SETATTR,
  CLTOMA_FUSE_STATFS,
  CLTOMA_FUSE_SUSTAINED_INODES,
  CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED,
  CLTOMA_FUSE_SYMLINK,
  CLTOMA_FUSE_TIME_SYNC,
  CLTOMA_FUSE_UNLINK,
  CltomaFuseAccess,
  CltomaFuseAmtimeInodes,
  CltomaFuseCreate,
  CltomaFuseGetattr,
  CltomaFuseLink,
  CltomaFuseLookup,
  CltomaFuseMkdir,
  CltomaFuseMknod,
  CltomaFuseOpen,
  CltomaFuseReaddir,
  CltomaFuseReadlink,
  CltomaFuseRename,
  CltomaFuseRmdir,
  CltomaFuseSetattr,
  CltomaFuseStatfs,
  CltomaFuseSustainedInodes,
  CltomaFuseSymlink,
  CltomaFuseTimeSync,
  CltomaFuseUnlink,
  MatoclFuseAccess,
  MatoclFuseCreate,
  MatoclFuseGetattr,
  MatoclFuseLink,
  MatoclFuseLookup,
  MatoclFuseMkdir,
  MatoclFuseMknod,
  MatoclFuseOpen,
  MatoclFuseReaddir,
  MatoclFuseReadlink,
  MatoclFuseRename,
  MatoclFuseRmdir,
  MatoclFuseSetattr,
  MatoclFuseStatfs,
  MatoclFuseSymlink,
  MatoclFuseTimeSync,
  MatoclFuseUnlink,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
  ReaddirReplyWriter,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SOCKET,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { disableMask } from '../exports.js';
import { STAT } from '../sessions.js';
import { GETDIR_FLAG_WITHATTR, OPEN_TRUNCATE, SET_GID_FLAG, SET_MODE_FLAG, SET_UID_FLAG, type FsResult } from '../fs/index.js';

// Namespace requests of a mount (matoclserv_fuse_*): decode, map the caller, check the export's


export const gidsOf = (v: { gid?: number; gids?: number[] }): number[] => v.gids ?? [v.gid ?? 0];

export function disabled(c: ClConn, ...names: string[]): boolean {
  const d = c.session!.disables;
  return names.some((n) => (d & disableMask(n)) !== 0);
}

type StatusOr = { $v: 'status'; msgid: number; status: number };
const st = (msgid: number, status: number): StatusOr => ({ $v: 'status', msgid, status });

/** Sends `ok(value)` or the status form. */
function answer<T, R>(c: ClConn, def: { encode(v: R): Buffer }, msgid: number, r: FsResult<T>, ok: (v: T) => R): void {
  if (r.ok) c.conn.send(def.encode(ok(r.value)));
  else c.conn.send(def.encode(st(msgid, r.status) as unknown as R));
}

function statfs(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseStatfs, p);
  if (!v) return;
  const s = c.ctx.ns.statfs(c.fsctx(0, [0]));
  // Space comes from the chunkservers (fs_statfs asks matocsserv_getspace); the rest from the namespace.
  let total = 0;
  let avail = 0;
  for (const cs of c.ctx.cs.registered()) {
    total += cs.totalspace;
    avail += Math.max(0, cs.totalspace - cs.usedspace);
  }
  c.session!.inc(STAT.STATFS);
  c.sendMsg(MatoclFuseStatfs, {
    $v: 'full', msgid: v.msgid, totalspace: BigInt(total), availspace: BigInt(avail), freespace: BigInt(avail),
    trashspace: BigInt(s.trashspace), sustainedspace: BigInt(s.sustainedspace), inodes: s.inodes,
  });
}

function access(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseAccess, p);
  if (!v) return;
  const status = c.ctx.ns.access(c.fsctx(v.uid, gidsOf(v)), v.inode, v.modemask);
  c.sendMsg(MatoclFuseAccess, { msgid: v.msgid, status });
}

function lookup(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseLookup, p);
  if (!v) return;
  const r = c.ctx.ns.lookup(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name);
  c.session!.inc(STAT.LOOKUP);
  answer(c, MatoclFuseLookup, v.msgid, r, (x) => {
    let lflags = x.accmode & LOOKUP_ACCESS_BITS;
    if (c.session!.sesflags & 0x01) lflags |= LOOKUP_RO_FILESYSTEM;
    return { $v: 'flags' as const, msgid: v.msgid, inode: x.inode, attr: x.attr, lflags };
  });
}

function getattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetattr, p);
  if (!v) return;
  const uid = v.$v === 'bare' ? 0 : v.uid;
  const gid = v.$v === 'bare' ? 0 : v.gid;
  const opened = v.$v === 'full' ? v.opened : 0;
  const r = c.ctx.ns.getattr(c.fsctx(uid, [gid]), v.inode, opened);
  c.session!.inc(STAT.GETATTR);
  answer(c, MatoclFuseGetattr, v.msgid, r, (attr) => ({ $v: 'ok' as const, msgid: v.msgid, attr }));
}

function setattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSetattr, p);
  if (!v) return;
  c.session!.inc(STAT.SETATTR);
  if ((disabled(c, 'chown') && v.setmask & (SET_UID_FLAG | SET_GID_FLAG)) || (disabled(c, 'chmod') && v.setmask & SET_MODE_FLAG)) {
    c.sendMsg(MatoclFuseSetattr, st(v.msgid, MFS_ERROR_EPERM));
    return;
  }
  const r = c.ctx.ns.setattr(c.fsctx(v.uid, v.gids), v.inode, v.opened, {
    setmask: v.setmask, mode: v.attrmode, uid: v.attruid, gid: v.attrgid, atime: v.attratime, mtime: v.attrmtime,
    winattr: v.winattr, sugidclearmode: v.sugidclearmode,
  });
  answer(c, MatoclFuseSetattr, v.msgid, r, (attr) => ({ $v: 'ok' as const, msgid: v.msgid, attr }));
}

function readlink(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseReadlink, p);
  if (!v) return;
  c.session!.inc(STAT.READLINK);
  const r = c.ctx.ns.readlink(c.fsctx(0, [0]), v.inode);
  answer(c, MatoclFuseReadlink, v.msgid, r, (path) => ({ $v: 'ok' as const, msgid: v.msgid, path }));
}

function symlink(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSymlink, p);
  if (!v) return;
  c.session!.inc(STAT.SYMLINK);
  if (disabled(c, 'symlink')) return c.sendMsg(MatoclFuseSymlink, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.symlink(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name, v.path);
  answer(c, MatoclFuseSymlink, v.msgid, r, (x) => ({ $v: 'ok' as const, msgid: v.msgid, inode: x.inode, attr: x.attr }));
}

function mknod(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseMknod, p);
  if (!v) return;
  c.session!.inc(STAT.MKNOD);
  const t = v.type;
  if (
    (disabled(c, 'mkfifo') && t === TYPE_FIFO) || (disabled(c, 'mkdev') && (t === TYPE_BLOCKDEV || t === TYPE_CHARDEV)) ||
    (disabled(c, 'mksock') && t === TYPE_SOCKET) || (disabled(c, 'create') && t === TYPE_FILE)
  ) return c.sendMsg(MatoclFuseMknod, st(v.msgid, MFS_ERROR_EPERM));
  const umask = ('umask' in v ? v.umask : 0) | c.session!.umask;
  const r = c.ctx.ns.mknod(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name, t, v.mode, umask, v.rdev);
  answer(c, MatoclFuseMknod, v.msgid, r, (x) => ({ $v: 'ok' as const, msgid: v.msgid, inode: x.inode, attr: x.attr }));
}

function mkdir(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseMkdir, p);
  if (!v) return;
  c.session!.inc(STAT.MKDIR);
  if (disabled(c, 'mkdir')) return c.sendMsg(MatoclFuseMkdir, st(v.msgid, MFS_ERROR_EPERM));
  const umask = ('umask' in v ? v.umask : 0) | c.session!.umask;
  const copysgid = 'copysgid' in v ? v.copysgid !== 0 : false;
  const r = c.ctx.ns.mkdir(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name, v.mode, umask, copysgid);
  answer(c, MatoclFuseMkdir, v.msgid, r, (x) => ({ $v: 'ok' as const, msgid: v.msgid, inode: x.inode, attr: x.attr }));
}

function unlink(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseUnlink, p);
  if (!v) return;
  c.session!.inc(STAT.UNLINK);
  if (disabled(c, 'unlink')) return c.sendMsg(MatoclFuseUnlink, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.unlink(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name);
  answer(c, MatoclFuseUnlink, v.msgid, r, (inode) => ({ $v: 'ok' as const, msgid: v.msgid, inode }));
}

function rmdir(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseRmdir, p);
  if (!v) return;
  c.session!.inc(STAT.RMDIR);
  if (disabled(c, 'rmdir')) return c.sendMsg(MatoclFuseRmdir, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.rmdir(c.fsctx(v.uid, gidsOf(v)), v.inode, v.name);
  answer(c, MatoclFuseRmdir, v.msgid, r, (inode) => ({ $v: 'ok' as const, msgid: v.msgid, inode }));
}

function rename(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseRename, p);
  if (!v) return;
  c.session!.inc(STAT.RENAME);
  const renamed = !v.nameSrc.equals(v.nameDst);
  const moved = v.inodeSrc !== v.inodeDst;
  if ((disabled(c, 'rename') && disabled(c, 'move')) || (disabled(c, 'rename') && renamed) || (disabled(c, 'move') && moved)) {
    return c.sendMsg(MatoclFuseRename, st(v.msgid, MFS_ERROR_EPERM));
  }
  const r = c.ctx.ns.rename(c.fsctx(v.uid, gidsOf(v)), v.inodeSrc, v.nameSrc, v.inodeDst, v.nameDst);
  answer(c, MatoclFuseRename, v.msgid, r, (x) => ({ $v: 'ok' as const, msgid: v.msgid, inode: x.inode, attr: x.attr }));
}

function link(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseLink, p);
  if (!v) return;
  c.session!.inc(STAT.LINK);
  if (disabled(c, 'link')) return c.sendMsg(MatoclFuseLink, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.link(c.fsctx(v.uid, gidsOf(v)), v.inode, v.inodeDst, v.nameDst);
  answer(c, MatoclFuseLink, v.msgid, r, (x) => ({ $v: 'ok' as const, msgid: v.msgid, inode: x.inode, attr: x.attr }));
}

function readdir(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseReaddir, p);
  if (!v) return;
  c.session!.inc(STAT.READDIR);
  if (disabled(c, 'readdir')) return c.sendMsg(MatoclFuseReaddir, st(v.msgid, MFS_ERROR_EPERM));
  const flags = v.$v === 'old' ? 0 : v.flags;
  const maxentries = v.$v === 'single' || v.$v === 'groups' ? v.maxentries : 0xffffffff;
  const nedgeid = v.$v === 'single' || v.$v === 'groups' ? v.nedgeid : 0n;
  // 3.0.117 writes the request's nedgeid into the reply before fs_readdir_data advances it
  // (matoclserv_fuse_readdir), so the reply echoes it; clients ask for everything in one go.
  // Entries go straight into the reply (MatoclFuseReaddir's withAttr / plain layouts).
  const w = readdirReply.begin(v.msgid, nedgeid);
  const r = c.ctx.ns.readdirEach(c.fsctx(v.uid, gidsOf(v as { gid?: number; gids?: number[] })), v.inode, flags, maxentries, nedgeid, (name, ino, type, attr) => {
    if (attr !== undefined) w.entryAttr(name, ino, attr);
    else w.entryType(name, ino, type);
  });
  if (!r.ok) return c.sendMsg(MatoclFuseReaddir, st(v.msgid, r.status));
  c.conn.send(w.finish());
}

const readdirReply = new ReaddirReplyWriter();

function open(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseOpen, p);
  if (!v) return;
  const s = c.session!;
  s.inc(STAT.OPEN);
  if (v.flags & OPEN_TRUNCATE && disabled(c, 'truncate')) return c.sendMsg(MatoclFuseOpen, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.opencheck(c.fsctx(v.uid, gidsOf(v)), v.inode, v.flags);
  if (!r.ok) return c.sendMsg(MatoclFuseOpen, st(v.msgid, r.status));
  if (!s.openFiles.has(v.inode)) {
    const a = c.ctx.ns.acquire(s.id, v.inode);
    if (a === MFS_STATUS_OK) s.openFiles.add(v.inode);
  }
  c.sendMsg(MatoclFuseOpen, { $v: 'ok', msgid: v.msgid, oflags: r.value.oflags, attr: r.value.attr });
}

function create(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseCreate, p);
  if (!v) return;
  const s = c.session!;
  if (disabled(c, 'create')) return c.sendMsg(MatoclFuseCreate, st(v.msgid, MFS_ERROR_EPERM));
  const umask = ('umask' in v ? v.umask : 0) | s.umask;
  const r = c.ctx.ns.create(c.fsctx(v.uid, gidsOf(v)), s.id, v.inode, v.name, v.mode, umask);
  if (!r.ok) return c.sendMsg(MatoclFuseCreate, st(v.msgid, r.status));
  // fs_create opens the new file for this session (of_openfile).
  s.openFiles.add(r.value.inode);
  c.sendMsg(MatoclFuseCreate, { $v: 'ok', msgid: v.msgid, oflags: r.value.oflags, inode: r.value.inode, attr: r.value.attr });
}

function timeSync(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseTimeSync, p);
  if (!v) return;
  const usec = BigInt(Date.now()) * 1000n;
  if (v.$v === 'withMsgid') c.sendMsg(MatoclFuseTimeSync, { $v: 'withMsgid', msgid: v.msgid, usec });
  else c.sendMsg(MatoclFuseTimeSync, { $v: 'bare', usec });
}

/** The inodes a mount holds open, every 60 s (of_sync: acquire new ones, release the others). */
function sustained(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSustainedInodes, p);
  if (!v) return;
  const s = c.session!;
  c.ctx.ns.syncOpenFiles(s.id, v.inodes);
  const now = new Set(v.inodes);
  // Files the mount no longer holds lose their POSIX locks (posix_lock_file_closed).
  for (const ino of s.openFiles) if (!now.has(ino)) c.ctx.locks.fileClosed(s.id, ino);
  s.openFiles.clear();
  for (const ino of v.inodes) if (c.ctx.ns.isOpen(ino)) s.openFiles.add(ino);
}

function amtime(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseAmtimeInodes, p);
  if (!v) return;
  c.ctx.ns.amtimeUpdate(c.fsctx(0, [0]), v.entries);
}

export const fuseHandlers: HandlerGroup = {
  session: {
    [CLTOMA_FUSE_STATFS]: statfs,
    [CLTOMA_FUSE_ACCESS]: access,
    [CLTOMA_FUSE_LOOKUP]: lookup,
    [CLTOMA_FUSE_GETATTR]: getattr,
    [CLTOMA_FUSE_SETATTR]: setattr,
    [CLTOMA_FUSE_READLINK]: readlink,
    [CLTOMA_FUSE_SYMLINK]: symlink,
    [CLTOMA_FUSE_MKNOD]: mknod,
    [CLTOMA_FUSE_MKDIR]: mkdir,
    [CLTOMA_FUSE_UNLINK]: unlink,
    [CLTOMA_FUSE_RMDIR]: rmdir,
    [CLTOMA_FUSE_RENAME]: rename,
    [CLTOMA_FUSE_LINK]: link,
    [CLTOMA_FUSE_READDIR]: readdir,
    [CLTOMA_FUSE_OPEN]: open,
    [CLTOMA_FUSE_CREATE]: create,
    [CLTOMA_FUSE_TIME_SYNC]: timeSync,
    [CLTOMA_FUSE_SUSTAINED_INODES]: sustained,
    [CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED]: sustained,
    [CLTOMA_FUSE_AMTIME_INODES]: amtime,
  },
};
