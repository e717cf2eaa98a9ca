import {
  CLTOMA_FUSE_FLOCK,
  CLTOMA_FUSE_POSIX_LOCK,
  CltomaFuseFlock,
  CltomaFusePosixLock,
  MatoclFuseFlock,
  MatoclFusePosixLock,
  MFS_ERROR_NOTOPENED,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { FLOCK_INTERRUPT, FLOCK_RELEASE, POSIX_LOCK_CMD_GET, POSIX_LOCK_CMD_INT, POSIX_LOCK_UNLCK } from '@mfs-ts/protocol';

// CLTOMA_FUSE_FLOCK / CLTOMA_FUSE_POSIX_LOCK (matoclserv_fuse_flock, _posix_lock): a request that has
// to wait is answered when the lock is granted.

function flock(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFuseFlock, p);
  if (!v) return;
  const s = c.session!;
  if (v.cmd !== FLOCK_INTERRUPT && v.cmd !== FLOCK_RELEASE && !s.openFiles.has(v.inode)) {
    return c.sendMsg(MatoclFuseFlock, { msgid: v.msgid, status: MFS_ERROR_NOTOPENED });
  }
  c.log.debug({ msg_name: 'CLTOMA_FUSE_FLOCK', inode: v.inode, cmd: v.cmd, session: s.id }, 'flock');
  const status = c.ctx.locks.flock(s.id, v.inode, v.reqid, v.owner, v.cmd, (st) => {
    if (!c.closed) c.sendMsg(MatoclFuseFlock, { msgid: v.msgid, status: st });
  });
  if (status !== undefined) c.sendMsg(MatoclFuseFlock, { msgid: v.msgid, status });
}

function posixLock(c: ClConn, p: Buffer): void {
  const v = c.decode(CltomaFusePosixLock, p);
  if (!v) return;
  const s = c.session!;
  if (v.cmd !== POSIX_LOCK_CMD_GET && v.cmd !== POSIX_LOCK_CMD_INT && v.type !== POSIX_LOCK_UNLCK && !s.openFiles.has(v.inode)) {
    return c.sendMsg(MatoclFusePosixLock, { $v: 'status', msgid: v.msgid, status: MFS_ERROR_NOTOPENED });
  }
  c.log.debug({ msg_name: 'CLTOMA_FUSE_POSIX_LOCK', inode: v.inode, cmd: v.cmd, type: v.type, session: s.id }, 'posix lock');
  const r = c.ctx.locks.posixLock(s.id, v.inode, v.reqid, v.owner, v.pid, v.cmd, v.type, v.start, v.end, (st) => {
    if (!c.closed) c.sendMsg(MatoclFusePosixLock, { $v: 'status', msgid: v.msgid, status: st });
  });
  if (r.status === undefined) return;
  if (v.cmd === POSIX_LOCK_CMD_GET && r.status === MFS_STATUS_OK && r.got) {
    c.sendMsg(MatoclFusePosixLock, { $v: 'ok', msgid: v.msgid, pid: r.got.pid, type: r.got.type, start: r.got.start, end: r.got.end });
  } else c.sendMsg(MatoclFusePosixLock, { $v: 'status', msgid: v.msgid, status: r.status });
}

export const lockHandlers: HandlerGroup = {
  session: { [CLTOMA_FUSE_FLOCK]: flock, [CLTOMA_FUSE_POSIX_LOCK]: posixLock },
};
