import {
  CLTOMA_FUSE_READ_CHUNK,
  CLTOMA_FUSE_TRUNCATE,
  CLTOMA_FUSE_WRITE_CHUNK,
  CLTOMA_FUSE_WRITE_CHUNK_END,
  CltomaFuseReadChunk,
  CltomaFuseTruncate,
  CltomaFuseWriteChunk,
  CltomaFuseWriteChunkEnd,
  MatoclFuseReadChunk,
  MatoclFuseTruncate,
  MatoclFuseWriteChunk,
  MatoclFuseWriteChunkEnd,
  MFS_ERROR_CHUNKBUSY,
  MFS_ERROR_EPERM,
  MFS_ERROR_EROFS,
  MFS_ERROR_LOCKED,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { MatoclFuseChunkHasChanged, MatoclFuseFlengHasChanged } from '@mfs-ts/protocol';
import { disabled, gidsOf } from './fuse.js';
import { STAT } from '../sessions.js';
import { MFSCHUNKSIZE, MFS_ROOT_ID, type Namespace, type WriteChunkOp } from '../fs/index.js';
import { SESFLAG_READONLY } from '@mfs-ts/protocol';
import type { ChunkRegistry, GoalSpec, Placement } from '../chunks.js';

// Chunk access of a mount (matoclserv_fuse_read_chunk / write_chunk / write_chunk_end / truncate).
// WRITE_CHUNK (and a TRUNCATE that cuts a chunk) is answered only after the chunkservers confirmed
// the create / set-version / duplicate / truncate (chunk_multi_modify + matoclserv_chunk_status).

const ROOT = { uid: 0, gids: [0], sesflags: 0, rootinode: MFS_ROOT_ID };
/** CHUNKOPFLAG_CANMODTIME: 3.0.74+ clients update mtime themselves; the master ignores the bit then. */
const CANMODTIME = 1;
const V3_0_74 = 0x030094;

/** MATOCL_FUSE_CHUNK_HAS_CHANGED (msgid 0) to the other sessions that have the file open. */
function chunkChanged(c: ClConn, inode: number, chindx: number, chunkid: number, version: number, fleng: number, truncateflag: number): void {
  for (const x of c.holders(inode)) x.sendMsg(MatoclFuseChunkHasChanged, { msgid: 0, inode, chindx, chunkid, version, fleng, truncateflag });
}

/** MATOCL_FUSE_FLENG_HAS_CHANGED (msgid 0) likewise. */
function flengChanged(c: ClConn, inode: number, fleng: number): void {
  for (const x of c.holders(inode)) x.sendMsg(MatoclFuseFlengHasChanged, { msgid: 0, inode, fleng });
}

/** Where the file's chunks go: its storage class's copies, label expressions and mode. */
export function fileGoal(ns: Namespace, inode: number): Placement {
  const r = ns.getsclass(ROOT, inode, 0);
  if (r.ok) for (const id of [...r.value.files.keys(), ...r.value.dirs.keys()]) return ns.sclasses.placement(id);
  return { goal: 2, create: null, keep: null, mode: 1 };
}

/** Runs the chunkserver side of a namespace WriteChunkOp; resolves with a status. */
export function runChunkOp(reg: ChunkRegistry, op: WriteChunkOp, goal: GoalSpec, truncateTo?: number): Promise<number> {
  if (truncateTo !== undefined) {
    if (op.action === 'duplicate') return reg.truncate(op.chunkId, truncateTo, op.version, op.oldVersion, { id: op.oldChunkId, version: op.oldVersion }, goal);
    if (op.action === 'continue') return Promise.resolve(MFS_STATUS_OK);
    return reg.truncate(op.chunkId, truncateTo, op.version, op.oldVersion);
  }
  switch (op.action) {
    case 'create':
      return reg.create(op.chunkId, op.version, goal);
    case 'setversion':
      if (op.version === op.oldVersion) return Promise.resolve(MFS_STATUS_OK);
      return reg.setVersion(op.chunkId, op.version, op.oldVersion);
    case 'duplicate':
      return reg.duplicate(op.chunkId, op.version, op.oldChunkId, op.oldVersion, goal);
    case 'continue':
      return Promise.resolve(MFS_STATUS_OK);
  }
}

function chunkReply(c: ClConn, def: typeof MatoclFuseReadChunk, msgid: number, length: number, chunkid: number, version: number): void {
  const servers = chunkid === 0 ? [] : c.ctx.registry.locations(chunkid);
  c.sendMsg(def, { $v: 'ok', msgid, protover: 2, length, chunkid, version, servers });
}

function readChunk(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseReadChunk, p);
  if (!v) return;
  c.session!.inc(STAT.READ);
  if (disabled(c, 'read')) return c.sendMsg(MatoclFuseReadChunk, { $v: 'status', msgid: v.msgid, status: MFS_ERROR_EPERM });
  const r = c.ctx.ns.readChunk(v.inode, v.indx);
  if (!r.ok) return c.sendMsg(MatoclFuseReadChunk, { $v: 'status', msgid: v.msgid, status: r.status });
  chunkReply(c, MatoclFuseReadChunk, v.msgid, r.value.length, r.value.chunkId, r.value.version);
}

/** How long a WRITE_CHUNK on a locked or busy chunk is held before the status goes back (matoclserv lwchunks). */
const LOCKED_WAIT_MS = 30_000;

function writeChunk(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseWriteChunk, p);
  if (!v) return;
  const { ns, registry } = c.ctx;
  const s = c.session!;
  const fail = (status: number) => c.sendMsg(MatoclFuseWriteChunk, { $v: 'status', msgid: v.msgid, status });
  if (disabled(c, 'write')) return fail(MFS_ERROR_EPERM);
  if (s.sesflags & SESFLAG_READONLY) return fail(MFS_ERROR_EROFS);
  const chunkopflags = v.$v === 'full' ? v.chunkopflags : 0;
  const deadline = Date.now() + LOCKED_WAIT_MS;
  const attempt = (): void => {
    if (c.closed) return;
    const prev = ns.readChunk(v.inode, v.indx);
    const prevId = prev.ok ? prev.value.chunkId : 0;
    const goal = fileGoal(ns, v.inode);
    // A chunk another writer holds (LOCKED) or that chunkservers are busy with: park the request
    // until it is free, as MooseFS does, instead of sending the client into its retry loop.
    const park = (status: number): boolean => {
      if ((status !== MFS_ERROR_LOCKED && status !== MFS_ERROR_CHUNKBUSY) || prevId === 0 || Date.now() >= deadline) return false;
      void registry.waitIdle(prevId, Math.min(1000, deadline - Date.now())).then(attempt);
      return true;
    };
    if (prev.ok) {
      const pre = registry.precheckModify(prevId, goal);
      if (pre !== MFS_STATUS_OK) {
        if (!park(pre)) fail(pre);
        return;
      }
    }
    const r = ns.writeChunk(v.inode, v.indx, { chunkopflags });
    if (!r.ok) {
      if (!park(r.status)) fail(r.status);
      return;
    }
    s.inc(STAT.WRITE);
    const op = r.value;
    runChunkOp(registry, op, goal)
      .then((status) => {
        if (status !== MFS_STATUS_OK) {
          c.log.info({ inode: v.inode, indx: v.indx, chunkid: op.chunkId, action: op.action, status }, 'write chunk: chunkservers failed the operation');
          if (op.action !== 'continue') ns.rollback(v.inode, v.indx, prevId, op.chunkId);
          if (!c.closed) fail(status);
          return;
        }
        if (!c.closed) chunkReply(c, MatoclFuseWriteChunk, v.msgid, op.length, op.chunkId, op.version);
        chunkChanged(c, v.inode, v.indx, op.chunkId, op.version, op.length, 0);
      })
      // Whatever throws after the chunkservers answered closes this connection only.
      .catch((e: unknown) => c.conn.kill('CLTOMA_FUSE_WRITE_CHUNK', `chunk operation failed: ${(e as Error).message}`, e));
  };
  attempt();
}

function writeChunkEnd(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseWriteChunkEnd, p);
  if (!v) return;
  let flags = v.$v === 'old' ? CANMODTIME : v.chunkopflags;
  if (c.version >= V3_0_74) flags &= ~CANMODTIME;
  const before = c.ctx.ns.readChunk(v.inode, 0);
  let status: number;
  if (disabled(c, 'write')) status = MFS_ERROR_EPERM;
  else if (c.session!.sesflags & SESFLAG_READONLY) status = MFS_ERROR_EROFS;
  else status = c.ctx.ns.writeChunkEnd(v.inode, v.chunkid, v.length, flags);
  c.sendMsg(MatoclFuseWriteChunkEnd, { msgid: v.msgid, status });
  c.ctx.registry.wakeIdle(v.chunkid);
  if (status !== MFS_STATUS_OK) return;
  if (v.$v === 'full') {
    const after = c.ctx.ns.readChunk(v.inode, v.indx);
    if (after.ok) chunkChanged(c, v.inode, v.indx, v.chunkid, after.value.version, after.value.length, 0);
  } else if (before.ok && v.length > before.value.length) flengChanged(c, v.inode, v.length);
}

function truncate(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseTruncate, p);
  if (!v) return;
  const { ns, registry } = c.ctx;
  const fail = (status: number) => c.sendMsg(MatoclFuseTruncate, { $v: 'status', msgid: v.msgid, status });
  c.session!.inc(STAT.SETATTR);
  if (disabled(c, 'write') || (disabled(c, 'truncate') && disabled(c, 'setlength'))) return fail(MFS_ERROR_EPERM);
  const flags = v.$v === 'noflags' ? 0 : v.flags;
  const ctx = c.fsctx(v.uid, gidsOf(v as { gid?: number; gids?: number[] }));
  const t = ns.tryTruncate(ctx, v.inode, flags, v.length);
  if (!t.ok) return fail(t.status);
  const finish = () => {
    const d = ns.doTruncate(ctx, v.inode, flags, v.length);
    if (!d.ok) return fail(d.status);
    c.sendMsg(MatoclFuseTruncate, { $v: 'ok', msgid: v.msgid, prevlength: d.value.prevLength, attr: d.value.attr });
    flengChanged(c, v.inode, d.value.attr.length);
  };
  const op = t.value;
  if (!op) return finish();
  const inChunk = v.length - op.indx * MFSCHUNKSIZE;
  const goal = fileGoal(ns, v.inode);
  runChunkOp(registry, op, goal, inChunk)
    .then((status) => {
      if (c.closed) return;
      // fs_end_setlength: the chunk is unlocked whatever the chunkservers said.
      ns.truncateChunkDone(op.chunkId);
      registry.wakeIdle(op.chunkId);
      if (status !== MFS_STATUS_OK) return fail(status);
      finish();
    })
    .catch((e: unknown) => c.conn.kill('CLTOMA_FUSE_TRUNCATE', `chunk operation failed: ${(e as Error).message}`, e));
}

export const chunkHandlers: HandlerGroup = {
  session: {
    [CLTOMA_FUSE_READ_CHUNK]: readChunk,
    [CLTOMA_FUSE_WRITE_CHUNK]: writeChunk,
    [CLTOMA_FUSE_WRITE_CHUNK_END]: writeChunkEnd,
    [CLTOMA_FUSE_TRUNCATE]: truncate,
  },
};
