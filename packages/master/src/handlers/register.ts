import {
  CLTOMA_FUSE_REGISTER,
  CltomaFuseRegister,
  MatoclFuseRegister,
  MFS_ERROR_BADSESSIONID,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
  TYPE_DIRECTORY,
  VERSHEX,
  newChallenge,
} from '@mfs-ts/protocol';
import type { ClConn, HandlerGroup } from '../matoclserv.js';
import { SESFLAG_DYNAMICIP } from '@mfs-ts/protocol';
import { grantParams } from '../sessions.js';
import { MFS_ROOT_ID, type Namespace } from '../fs/index.js';

// CLTOMA_FUSE_REGISTER (matoclserv_fuse_register): GETRANDOM, NEWSESSION, RECONNECT, TOOLS,
// NEWMETASESSION, CLOSESESSION. Replies carry no msgid.

const V = (a: number, b: number, c: number) => (a << 16) | (b << 8) | (a > 1 ? c * 2 : c);

/** fs_getrootinode: the export subfolder a mount asks for, resolved from the root as root. */
export function resolveRoot(ns: Namespace, path: Buffer): { status: number; inode: number } {
  const parts = path.toString('latin1').split('/').filter((p) => p !== '' && p !== '.');
  let inode = MFS_ROOT_ID;
  const ctx = { uid: 0, gids: [0], sesflags: 0, rootinode: MFS_ROOT_ID };
  for (const p of parts) {
    const r = ns.lookup(ctx, inode, Buffer.from(p, 'latin1'));
    if (!r.ok) return { status: r.status === MFS_ERROR_ENOENT ? MFS_ERROR_ENOENT : r.status, inode: 0 };
    if (r.value.attr.type !== TYPE_DIRECTORY) return { status: MFS_ERROR_ENOTDIR, inode: 0 };
    inode = r.value.inode;
  }
  return { status: MFS_STATUS_OK, inode };
}

function register(c: ClConn, payload: Buffer): void {
  const ctx = c.ctx;
  const v = c.decode(CltomaFuseRegister, payload);
  if (!v) return;
  const rcode = payload[64]!;
  if ((c.registered === 0 && rcode === 6) || (c.registered !== 0 && rcode !== 6)) {
    c.conn.kill('CLTOMA_FUSE_REGISTER', `wrong rcode (${rcode}) for registered status (${c.registered})`);
    return;
  }
  const metaid = ctx.metaid();
  switch (v.$v) {
    case 'getrandom': {
      c.rnd = newChallenge();
      c.sendMsg(MatoclFuseRegister, { $v: 'random', random: c.rnd });
      return;
    }
  }
  // The protocol's NEWSESSION / NEWMETASESSION variants (one per optional tail) share these fields.
  const nv = v as unknown as { $v: string; version: number; info: Buffer; path?: Buffer; sessionid?: number; metaid?: bigint; passcode?: Buffer };
  if (nv.$v.startsWith('newsession') || nv.$v.startsWith('newmetasession')) {
    {
      const meta = nv.$v.startsWith('newmeta');
      c.version = nv.version;
      const info = Buffer.from(nv.info);
      let path: Buffer | null = null;
      if (!meta) {
        const p = nv.path ?? Buffer.alloc(0);
        if (p.length > 0 && p[p.length - 1] !== 0) {
          c.conn.kill('CLTOMA_FUSE_REGISTER', 'received path without ending zero');
          return;
        }
        path = Buffer.from(p.subarray(0, Math.max(0, p.length - 1)));
      }
      let sessionid = nv.sessionid ?? 0;
      if (nv.metaid !== undefined && nv.metaid !== metaid) sessionid = 0;
      const passcode = nv.passcode;
      const ex = ctx.exports();
      const chk = ex.check(c.conn.peerip, c.version, path, passcode ? c.rnd : undefined, passcode);
      let status = chk.status;
      let rootinode = 0;
      if (chk.grant && !meta) {
        const r = resolveRoot(ctx.ns, path!);
        status = r.status;
        rootinode = r.inode;
      }
      if (status !== MFS_STATUS_OK || !chk.grant) {
        c.log.info({ status, path: path?.toString(), ip: c.conn.peer }, 'register refused');
        c.sendMsg(MatoclFuseRegister, { $v: 'status', status });
        return;
      }
      const g = chk.grant;
      const params = meta
        ? { ...grantParams(g, 0, ex.checksum, c.conn.peerip, info), rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0 }
        : grantParams(g, rootinode, ex.checksum, c.conn.peerip, info);
      let s = sessionid !== 0 ? ctx.sessions.find(sessionid) : undefined;
      let created = false;
      if (s) ctx.sessions.change(s, params);
      else {
        s = ctx.sessions.create(params);
        created = true;
      }
      ctx.sessions.attach(s, c.conn.peerip, c.version);
      c.session = s;
      c.registered = 1;
      c.conn.log.info({ session: s.id, created, meta, path: path?.toString() }, created ? `created new sessionid:${s.id}` : `reused sessionid:${s.id}`);
      if (meta) {
        c.sendMsg(MatoclFuseRegister, {
          $v: 'metasession', version: VERSHEX, sessionid: s.id, metaid, sesflags: g.sesflags,
          mingoal: g.mingoal, maxgoal: g.maxgoal, mintrashtime: g.mintrashtime, maxtrashtime: g.maxtrashtime,
        });
      } else if (c.version >= V(3, 0, 112)) {
        c.sendMsg(MatoclFuseRegister, {
          $v: 'session', version: VERSHEX, sessionid: s.id, metaid, sesflags: g.sesflags, umask: g.umask,
          rootuid: g.rootuid, rootgid: g.rootgid, mapalluid: g.mapalluid, mapallgid: g.mapallgid,
          mingoal: g.mingoal, maxgoal: g.maxgoal, mintrashtime: g.mintrashtime, maxtrashtime: g.maxtrashtime, disables: g.disables,
        });
      } else {
        // Older clients get shorter replies we do not build; MooseFS 3.0.117 mounts are >= 3.0.112.
        c.conn.kill('CLTOMA_FUSE_REGISTER', `client version ${c.version.toString(16)} too old for this master`);
      }
      return;
    }
  }
  switch (v.$v) {
    case 'reconnect':
    case 'reconnect_meta':
    case 'tools':
    case 'tools_meta': {
      c.version = v.version;
      let status = MFS_STATUS_OK;
      if ('metaid' in v && v.metaid !== metaid) status = MFS_ERROR_BADSESSIONID;
      const s = status === MFS_STATUS_OK ? ctx.sessions.find(v.sessionid) : undefined;
      if (status === MFS_STATUS_OK) {
        if (!s || s.peerip === 0) status = MFS_ERROR_BADSESSIONID;
        else if (s.exportsChecksum !== ctx.exports().checksum || ((s.sesflags & SESFLAG_DYNAMICIP) === 0 && c.conn.peerip !== s.peerip)) {
          // EPERM tells the client it may register again with its session id.
          status = MFS_ERROR_EPERM;
        }
      }
      const isReconnect = v.$v.startsWith('reconnect');
      if (isReconnect && c.version >= V(3, 0, 95)) c.sendMsg(MatoclFuseRegister, { $v: 'reconnect', version: VERSHEX, status });
      else c.sendMsg(MatoclFuseRegister, { $v: 'status', status });
      if (status !== MFS_STATUS_OK || !s) return;
      ctx.sessions.attach(s, c.conn.peerip, c.version);
      c.session = s;
      c.registered = isReconnect ? 1 : 100;
      c.log.info({ session: s.id, tools: !isReconnect }, isReconnect ? 'session reconnected' : 'tools connected');
      return;
    }
    case 'closesession':
    case 'closesession_meta': {
      let status = MFS_STATUS_OK;
      if ('metaid' in v && v.metaid !== metaid) status = MFS_ERROR_BADSESSIONID;
      if (status === MFS_STATUS_OK) ctx.sessions.close(v.sessionid);
      if (c.version >= V(1, 7, 29)) c.sendMsg(MatoclFuseRegister, { $v: 'status', status });
      c.conn.end();
      return;
    }
  }
}

export const registerHandlers: HandlerGroup = {
  unregistered: { [CLTOMA_FUSE_REGISTER]: register },
  session: { [CLTOMA_FUSE_REGISTER]: register },
};
