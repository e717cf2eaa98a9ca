import {
  CLTOMA_FUSE_CHECK,
  CLTOMA_FUSE_GETDIRSTATS,
  CLTOMA_FUSE_GETEATTR,
  CLTOMA_FUSE_GETSCLASS,
  CLTOMA_FUSE_GETTRASHTIME,
  CLTOMA_FUSE_GETXATTR,
  CLTOMA_FUSE_PATHS,
  CLTOMA_FUSE_SETEATTR,
  CLTOMA_FUSE_SETSCLASS,
  CLTOMA_FUSE_SETTRASHTIME,
  CLTOMA_FUSE_SETXATTR,
  CLTOMA_FUSE_SNAPSHOT,
  CltomaFuseCheck,
  CltomaFuseGetdirstats,
  CltomaFuseGeteattr,
  CltomaFuseGetsclass,
  CltomaFuseGettrashtime,
  CltomaFuseGetxattr,
  CltomaFusePaths,
  CltomaFuseSeteattr,
  CltomaFuseSetsclass,
  CltomaFuseSettrashtime,
  CltomaFuseSetxattr,
  CltomaFuseSnapshot,
  MatoclFuseCheck,
  MatoclFuseGetdirstats,
  MatoclFuseGeteattr,
  MatoclFuseGetsclass,
  MatoclFuseGettrashtime,
  MatoclFuseGetxattr,
  MatoclFusePaths,
  MatoclFuseSeteattr,
  MatoclFuseSetsclass,
  MatoclFuseSettrashtime,
  MatoclFuseSetxattr,
  MatoclFuseSnapshot,
  MFS_ERROR_EINVAL,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
  TYPE_FILE,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { disabled, gidsOf } from './fuse.js';
import { MFS_ROOT_ID, SMODE_DECREASE, SMODE_EXCHANGE, SMODE_INCREASE, SMODE_SET, SMODE_TMASK } from '../fs/index.js';
import type { Session } from '../sessions.js';
import type { ChunkCopy } from '../chunks.js';
import { FIRSTSCLASSID } from '../fs/sclass.js';

// Tool requests (mfsfileinfo, mfscheckfile, mfsgetgoal/mfssetgoal, mfsgettrashtime/…, mfsgeteattr/…,
// mfsdirinfo, mfsmakesnapshot) arriving through a mount's proxy, and the mount's xattr calls.

const st = (msgid: number, status: number) => ({ $v: 'status' as const, msgid, status });

/** sessions_check_goal / sessions_check_trashtime by smode. */
function limitCheck(s: Session, smode: number, value: number, min: number, max: number): number {
  switch (smode & SMODE_TMASK) {
    case SMODE_SET:
    case SMODE_EXCHANGE:
      return value < min || value > max ? MFS_ERROR_EPERM : MFS_STATUS_OK;
    case SMODE_INCREASE:
      return value > max ? MFS_ERROR_EPERM : MFS_STATUS_OK;
    case SMODE_DECREASE:
      return value < min ? MFS_ERROR_EPERM : MFS_STATUS_OK;
  }
  void s;
  return MFS_STATUS_OK;
}

/** CHECK_* copy states (MFSCommunication.h). */
function checkState(cp: ChunkCopy): number {
  switch (cp.state) {
    case 'valid':
    case 'busy':
      return 0;
    case 'tdvalid':
    case 'tdbusy':
      return 1;
    case 'wver':
      return 2;
    case 'tdwver':
      return 3;
    default:
      return 4;
  }
}

function check(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseCheck, p);
  if (!v) return;
  const { ns, registry } = c.ctx;
  if (v.$v === 'chunk') {
    const r = ns.readChunk(v.inode, v.indx);
    if (!r.ok) return c.sendMsg(MatoclFuseCheck, st(v.msgid, r.status));
    const copies = r.value.chunkId === 0 ? [] : registry.copiesOf(r.value.chunkId).filter((cp) => cp.server && cp.state !== 'del');
    c.sendMsg(MatoclFuseCheck, {
      $v: 'chunk', msgid: v.msgid, chunkid: r.value.chunkId, version: r.value.version,
      copies: copies.map((cp) => ({ ip: cp.server!.ip, port: cp.server!.port, state: checkState(cp) })),
    });
    return;
  }
  // fs_checkfile: chunks counted by their number of valid copies (0..10+), then empty (hole) chunks.
  const a = ns.getattr(c.fsctx(0, [0]), v.inode, 0);
  if (!a.ok) return c.sendMsg(MatoclFuseCheck, st(v.msgid, a.status));
  const counts = new Array<number>(12).fill(0);
  if (a.value.type === TYPE_FILE) {
    for (const id of ns.fileChunks(v.inode)) {
      if (id === 0) counts[11]!++;
      else counts[Math.min(10, registry.locations(id).length)]!++;
    }
  }
  c.sendMsg(MatoclFuseCheck, { $v: 'file', msgid: v.msgid, counts });
}

function countLists(m: { files: Map<number, number>; dirs: Map<number, number> }) {
  const conv = (x: Map<number, number>) => [...x.entries()].map(([k, n]) => ({ k, n }));
  return { files: conv(m.files), dirs: conv(m.dirs) };
}

function getsclass(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetsclass, p);
  if (!v) return;
  const r = c.ctx.ns.getsclass(c.fsctx(0, [0]), v.inode, v.gmode);
  if (!r.ok) return c.sendMsg(MatoclFuseGetsclass, st(v.msgid, r.status));
  const l = countLists(r.value);
  // Plain goals by number, named classes (ids >= 10) as 0xFF + name (clients >= 3.0.75).
  const sc = c.ctx.ns.sclasses;
  const rec = (e: { k: number; n: number }) => (e.k < FIRSTSCLASSID ? { tag: e.k, count: e.n } : { tag: 255, name: sc.get(e.k)?.name ?? Buffer.alloc(0), count: e.n });
  c.sendMsg(MatoclFuseGetsclass, { $v: 'ok', msgid: v.msgid, nodes: [l.files.map(rec), l.dirs.map(rec)] });
}

function setsclass(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSetsclass, p);
  if (!v) return;
  const s = c.session!;
  let status: number = MFS_STATUS_OK;
  let src = 0;
  let dst = 0;
  if (disabled(c, 'setsclass')) status = MFS_ERROR_EPERM;
  else if (v.$v === 'goal') {
    if (v.setid < 1 || v.setid > 9) status = MFS_ERROR_EINVAL;
    else {
      src = dst = v.setid;
      status = limitCheck(s, v.smode, v.setid, s.mingoal, s.maxgoal);
    }
  } else {
    // By name (sclass_find_by_name); the export's goal limits apply to the plain goals only.
    const byName = (n: Buffer) => c.ctx.ns.sclasses.findByName(n);
    dst = byName(v.dst);
    src = v.$v === 'exchange' ? byName(v.src) : 1;
    if (src === 0 || dst === 0) status = MFS_ERROR_EINVAL;
    else if (dst < FIRSTSCLASSID) status = limitCheck(s, v.smode, dst, s.mingoal, s.maxgoal);
  }
  if (status !== MFS_STATUS_OK) return c.sendMsg(MatoclFuseSetsclass, st(v.msgid, status));
  const r = c.ctx.ns.setsclass(c.fsctxUid(v.uid), v.inode, src, dst, v.smode);
  if (!r.ok) return c.sendMsg(MatoclFuseSetsclass, st(v.msgid, r.status));
  // The chunk layer keeps per-chunk goals (the highest among files sharing a chunk): recompute them.
  if (r.value.changed > 0) c.ctx.chunkGoalsChanged();
  c.sendMsg(MatoclFuseSetsclass, { $v: 'ok', msgid: v.msgid, changed: r.value.changed, notchanged: r.value.notChanged, notpermitted: r.value.notPermitted });
}

function gettrashtime(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGettrashtime, p);
  if (!v) return;
  const r = c.ctx.ns.gettrashtime(c.fsctx(0, [0]), v.inode, v.gmode);
  if (!r.ok) return c.sendMsg(MatoclFuseGettrashtime, st(v.msgid, r.status));
  const l = countLists(r.value);
  const rec = (e: { k: number; n: number }) => ({ trashtime: e.k, count: e.n });
  c.sendMsg(MatoclFuseGettrashtime, { $v: 'ok', msgid: v.msgid, nodes: [l.files.map(rec), l.dirs.map(rec)] });
}

function settrashtime(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSettrashtime, p);
  if (!v) return;
  const s = c.session!;
  let status: number = disabled(c, 'settrash') ? MFS_ERROR_EPERM : limitCheck(s, v.smode, v.trashtime, s.mintrashtime, s.maxtrashtime);
  if (status !== MFS_STATUS_OK) return c.sendMsg(MatoclFuseSettrashtime, st(v.msgid, status));
  const r = c.ctx.ns.settrashtime(c.fsctxUid(v.uid), v.inode, v.trashtime, v.smode);
  if (!r.ok) return c.sendMsg(MatoclFuseSettrashtime, st(v.msgid, r.status));
  status = MFS_STATUS_OK;
  c.sendMsg(MatoclFuseSettrashtime, { $v: 'ok', msgid: v.msgid, changed: r.value.changed, notchanged: r.value.notChanged, notpermitted: r.value.notPermitted });
}

function geteattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGeteattr, p);
  if (!v) return;
  const r = c.ctx.ns.geteattr(c.fsctx(0, [0]), v.inode, v.gmode);
  if (!r.ok) return c.sendMsg(MatoclFuseGeteattr, st(v.msgid, r.status));
  const l = countLists(r.value);
  const rec = (e: { k: number; n: number }) => ({ eattr: e.k, count: e.n });
  c.sendMsg(MatoclFuseGeteattr, { $v: 'ok', msgid: v.msgid, nodes: [l.files.map(rec), l.dirs.map(rec)] });
}

function seteattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSeteattr, p);
  if (!v) return;
  if (disabled(c, 'seteattr')) return c.sendMsg(MatoclFuseSeteattr, st(v.msgid, MFS_ERROR_EPERM));
  const r = c.ctx.ns.seteattr(c.fsctxUid(v.uid), v.inode, v.eattr, v.smode);
  if (!r.ok) return c.sendMsg(MatoclFuseSeteattr, st(v.msgid, r.status));
  c.sendMsg(MatoclFuseSeteattr, { $v: 'ok', msgid: v.msgid, changed: r.value.changed, notchanged: r.value.notChanged, notpermitted: r.value.notPermitted });
}

function getdirstats(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetdirstats, p);
  if (!v) return;
  const r = c.ctx.ns.getDirStats(c.fsctx(0, [0]), v.inode);
  if (!r.ok) return c.sendMsg(MatoclFuseGetdirstats, st(v.msgid, r.status));
  const d = r.value;
  const common = { msgid: v.msgid, inodes: d.inodes, dirs: d.dirs, files: d.files, chunks: d.chunks, length: BigInt(d.length), size: BigInt(d.size), realsize: BigInt(d.realsize) };
  if (c.registered === 100) c.sendMsg(MatoclFuseGetdirstats, { $v: 'ok', ...common });
  else c.sendMsg(MatoclFuseGetdirstats, { $v: 'old', ...common, zero1: 0, zero2: 0, zero3: 0, zero4: 0 });
}

function getxattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseGetxattr, p);
  if (!v) return;
  const ctx = c.fsctx(v.uid, gidsOf(v));
  let data: Buffer;
  if (v.name.length === 0) {
    const r = c.ctx.ns.listxattr(ctx, v.inode, v.opened);
    if (!r.ok) return c.sendMsg(MatoclFuseGetxattr, st(v.msgid, r.status));
    data = Buffer.concat(r.value.flatMap((n) => [n, Buffer.alloc(1)]));
  } else {
    const r = c.ctx.ns.getxattr(ctx, v.inode, v.opened, v.name);
    if (!r.ok) return c.sendMsg(MatoclFuseGetxattr, st(v.msgid, r.status));
    data = r.value;
  }
  c.sendMsg(MatoclFuseGetxattr, { $v: 'ok', msgid: v.msgid, size: data.length, value: v.mode === 1 ? Buffer.alloc(0) : data });
}

function setxattr(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSetxattr, p);
  if (!v) return;
  if (disabled(c, 'setxattr')) return c.sendMsg(MatoclFuseSetxattr, { msgid: v.msgid, status: MFS_ERROR_EPERM });
  const status = c.ctx.ns.setxattr(c.fsctx(v.uid, gidsOf(v)), v.inode, v.opened, v.name, v.value, v.mode);
  c.sendMsg(MatoclFuseSetxattr, { msgid: v.msgid, status });
}

function paths(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFusePaths, p);
  if (!v) return;
  const r = c.ctx.ns.getPaths(c.fsctx(0, [0]), v.inode);
  if (!r.ok) return c.sendMsg(MatoclFusePaths, st(v.msgid, r.status));
  c.sendMsg(MatoclFusePaths, { $v: 'ok', msgid: v.msgid, paths: r.value });
}

function snapshot(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseSnapshot, p);
  if (!v) return;
  if (disabled(c, 'snapshot')) return c.sendMsg(MatoclFuseSnapshot, { msgid: v.msgid, status: MFS_ERROR_EPERM });
  const umask = ('umask' in v ? v.umask : 0) | c.session!.umask;
  const status = c.ctx.ns.snapshot(c.fsctx(v.uid, gidsOf(v as { gid?: number; gids?: number[] })), v.inode, v.inodeDst, v.nameDst, v.smode, umask);
  c.sendMsg(MatoclFuseSnapshot, { msgid: v.msgid, status });
}

void MFS_ROOT_ID;

export const toolHandlers: HandlerGroup = {
  session: {
    [CLTOMA_FUSE_CHECK]: check,
    [CLTOMA_FUSE_GETSCLASS]: getsclass,
    [CLTOMA_FUSE_SETSCLASS]: setsclass,
    [CLTOMA_FUSE_GETTRASHTIME]: gettrashtime,
    [CLTOMA_FUSE_SETTRASHTIME]: settrashtime,
    [CLTOMA_FUSE_GETEATTR]: geteattr,
    [CLTOMA_FUSE_SETEATTR]: seteattr,
    [CLTOMA_FUSE_GETDIRSTATS]: getdirstats,
    [CLTOMA_FUSE_GETXATTR]: getxattr,
    [CLTOMA_FUSE_SETXATTR]: setxattr,
    [CLTOMA_FUSE_PATHS]: paths,
    [CLTOMA_FUSE_SNAPSHOT]: snapshot,
  },
};
