import {
  CLTOMA_FUSE_GETDETACHEDATTR,
  CLTOMA_FUSE_GETFACL,
  CLTOMA_FUSE_GETSUSTAINED,
  CLTOMA_FUSE_GETTRASH,
  CLTOMA_FUSE_GETTRASHPATH,
  CLTOMA_FUSE_PURGE,
  CLTOMA_FUSE_SETFACL,
  CLTOMA_FUSE_SETTRASHPATH,
  CLTOMA_FUSE_UNDEL,
  CltomaFuseGetdetachedattr,
  CltomaFuseGetfacl,
  CltomaFuseGetsustained,
  CltomaFuseGettrash,
  CltomaFuseGettrashpath,
  CltomaFusePurge,
  CltomaFuseSetfacl,
  CltomaFuseSettrashpath,
  CltomaFuseUndel,
  MatoclFuseGetdetachedattr,
  MatoclFuseGetfacl,
  MatoclFuseGetsustained,
  MatoclFuseGettrash,
  MatoclFuseGettrashpath,
  MatoclFusePurge,
  MatoclFuseSetfacl,
  MatoclFuseSettrashpath,
  MatoclFuseUndel,
  MFS_ERROR_EPERM,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { disabled, gidsOf } from './fuse.js';
import { TRASH_BUCKETS, type TrashEntry } from '../fs/index.js';

// The meta mount (mfsmount -m: trash and sustained files) and POSIX ACLs.

const st = (msgid: number, status: number) => ({ $v: 'status' as const, msgid, status });

/**
 * A detached node's listing name (fsnodes_getdetached): the stored path with '/' shown as '|', and
 * names longer than 240 bytes cut to "(...)" plus their last 235 bytes.
 */
export function detachedName(path: Buffer): Buffer {
  const src = path.length > 240 ? path.subarray(path.length - 235) : path;
  const out = Buffer.from(src);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x2f) out[i] = 0x7c;
  return path.length > 240 ? Buffer.concat([Buffer.from('(...)'), out]) : out;
}

const entries = (l: TrashEntry[]) => l.map((e) => ({ name: detachedName(e.path), inode: e.inode }));

function gettrash(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGettrash, p);
  if (!v) return;
  const r = c.ctx.ns.readTrash(c.fsctx(0, [0]), v.$v === 'bucket' ? v.tid : TRASH_BUCKETS);
  if (!r.ok) return c.sendMsg(MatoclFuseGettrash, st(v.msgid, r.status));
  c.sendMsg(MatoclFuseGettrash, { $v: 'ok', msgid: v.msgid, entries: entries(r.value) });
}

function getsustained(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetsustained, p);
  if (!v) return;
  const r = c.ctx.ns.readSustained(c.fsctx(0, [0]));
  if (!r.ok) return c.sendMsg(MatoclFuseGetsustained, st(v.msgid, r.status));
  c.sendMsg(MatoclFuseGetsustained, { $v: 'ok', msgid: v.msgid, entries: entries(r.value) });
}

function getdetachedattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetdetachedattr, p);
  if (!v) return;
  const r = c.ctx.ns.getDetachedAttr(c.fsctx(0, [0]), v.inode, v.$v === 'typed' ? v.dtype : 0);
  if (!r.ok) return c.sendMsg(MatoclFuseGetdetachedattr, st(v.msgid, r.status));
  c.sendMsg(MatoclFuseGetdetachedattr, { $v: 'ok', msgid: v.msgid, attr: r.value });
}

function gettrashpath(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGettrashpath, p);
  if (!v) return;
  const r = c.ctx.ns.getTrashPath(c.fsctx(0, [0]), v.inode);
  if (!r.ok) return c.sendMsg(MatoclFuseGettrashpath, st(v.msgid, r.status));
  c.sendMsg(MatoclFuseGettrashpath, { $v: 'ok', msgid: v.msgid, path: r.value });
}

function settrashpath(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSettrashpath, p);
  if (!v) return;
  // The meta mount sends the path with its NUL.
  const path = v.path.length > 0 && v.path[v.path.length - 1] === 0 ? v.path.subarray(0, v.path.length - 1) : v.path;
  c.sendMsg(MatoclFuseSettrashpath, { msgid: v.msgid, status: c.ctx.ns.setTrashPath(c.fsctx(0, [0]), v.inode, Buffer.from(path)) });
}

function undel(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseUndel, p);
  if (!v) return;
  c.sendMsg(MatoclFuseUndel, { msgid: v.msgid, status: c.ctx.ns.undel(c.fsctx(0, [0]), v.inode) });
}

function purge(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFusePurge, p);
  if (!v) return;
  c.sendMsg(MatoclFusePurge, { msgid: v.msgid, status: c.ctx.ns.purge(c.fsctx(0, [0]), v.inode) });
}

function getfacl(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetfacl, p);
  if (!v) return;
  const ctx = v.$v === 'bare' ? c.fsctx(0, [0]) : c.fsctx(v.uid, gidsOf(v));
  const r = c.ctx.ns.getfacl(ctx, v.inode, v.acltype);
  if (!r.ok) return c.sendMsg(MatoclFuseGetfacl, st(v.msgid, r.status));
  const a = r.value;
  c.sendMsg(MatoclFuseGetfacl, {
    $v: 'ok', msgid: v.msgid, userperm: a.userperm, groupperm: a.groupperm, otherperm: a.otherperm, mask: a.mask,
    named: [a.namedusers.map((e) => ({ id: e.id, perm: e.perm })), a.namedgroups.map((e) => ({ id: e.id, perm: e.perm }))],
  });
}

function setfacl(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSetfacl, p);
  if (!v) return;
  if (disabled(c, 'setfacl')) return c.sendMsg(MatoclFuseSetfacl, { msgid: v.msgid, status: MFS_ERROR_EPERM });
  const [users, groups] = v.named;
  const acl = { userperm: v.userperm, groupperm: v.groupperm, otherperm: v.otherperm, mask: v.mask, namedusers: users ?? [], namedgroups: groups ?? [] };
  const status = c.ctx.ns.setfacl(c.fsctxUid(v.uid), v.inode, v.acltype, acl);
  c.sendMsg(MatoclFuseSetfacl, { msgid: v.msgid, status });
}

export const metaHandlers: HandlerGroup = {
  session: {
    [CLTOMA_FUSE_GETTRASH]: gettrash,
    [CLTOMA_FUSE_GETSUSTAINED]: getsustained,
    [CLTOMA_FUSE_GETDETACHEDATTR]: getdetachedattr,
    [CLTOMA_FUSE_GETTRASHPATH]: gettrashpath,
    [CLTOMA_FUSE_SETTRASHPATH]: settrashpath,
    [CLTOMA_FUSE_UNDEL]: undel,
    [CLTOMA_FUSE_PURGE]: purge,
    [CLTOMA_FUSE_GETFACL]: getfacl,
    [CLTOMA_FUSE_SETFACL]: setfacl,
  },
};
