import { createServer, type Server, type Socket } from 'node:net';
import {
  ANTOAN_BAD_COMMAND_SIZE,
  ANTOAN_NOP,
  ANTOAN_NOP_MSGID0_PACKET,
  ANTOAN_UNKNOWN_COMMAND,
  CLTOMA_MAXPACKETSIZE,
  CLTOMA_FUSE_CREATE,
  CLTOMA_FUSE_GETATTR,
  CLTOMA_FUSE_LINK,
  CLTOMA_FUSE_LOOKUP,
  CLTOMA_FUSE_MKDIR,
  CLTOMA_FUSE_MKNOD,
  CLTOMA_FUSE_OPEN,
  CLTOMA_FUSE_READDIR,
  CLTOMA_FUSE_READLINK,
  CLTOMA_FUSE_READ_CHUNK,
  CLTOMA_FUSE_RENAME,
  CLTOMA_FUSE_RMDIR,
  CLTOMA_FUSE_SETATTR,
  CLTOMA_FUSE_STATFS,
  CLTOMA_FUSE_SYMLINK,
  CLTOMA_FUSE_TRUNCATE,
  CLTOMA_FUSE_UNLINK,
  CLTOMA_FUSE_WRITE_CHUNK,
  AntoanUnknownCommand,
  MESSAGE_IDS,
  type MessageDef,
} from '@mfs-ts/protocol';
import { listenTcp, type Logger } from '@mfs-ts/common';
import type { Namespace } from './fs/index.js';
import type { FsCtx } from './fs/index.js';
import { Conn, msgName } from './conn.js';
import type { ChunkRegistry } from './chunks.js';
import { SESFLAG_ATTRBIT } from '@mfs-ts/protocol';
import type { Exports } from './exports.js';
import type { MatocsServer } from './matocsserv.js';
import type { Session, Sessions } from './sessions.js';
import type { MasterCfg } from './cfg.js';
import { adminHandlers } from './handlers/admin.js';
import { registerHandlers } from './handlers/register.js';
import { fuseHandlers } from './handlers/fuse.js';
import { chunkHandlers } from './handlers/chunkio.js';
import { toolHandlers } from './handlers/tools.js';
import { metaHandlers } from './handlers/meta.js';
import { lockHandlers } from './handlers/locks.js';
import { quotaHandlers } from './handlers/quota.js';
import { sclassHandlers } from './handlers/sclass.js';
import type { Locks } from './locks.js';
import type { ChartsData } from '@mfs-ts/common';
import { CH_GETATTR, CH_LINK, CH_LOOKUP, CH_MKDIR, CH_MKNOD, CH_OPEN, CH_READ, CH_READDIR, CH_READLINK, CH_RENAME, CH_RMDIR, CH_SETATTR, CH_STATFS, CH_SYMLINK, CH_UNLINK, CH_WRITE } from './charts.js';

/**
 * Client link of the master (port 9421, mfsmaster/matoclserv.c): mounts (after REGISTER), the mfs*
 * tools through a mount's proxy, and mfscli / the CGI, which send bare requests without registering.
 * One handler file per message group; this file owns connections, registration state and dispatch.
 */

/** Everything the handlers reach: the master's parts. */
export interface MasterCtx {
  log: Logger;
  cfg(): MasterCfg;
  exports(): Exports;
  sessions: Sessions;
  ns: Namespace;
  registry: ChunkRegistry;
  cs: MatocsServer;
  locks: Locks;
  metaid(): bigint;
  metaversion(): bigint;
  /** Connected metaloggers for MLOG_LIST: version and ip. */
  metaloggers(): Array<{ version: number; ip: number }>;
  startTime: number;
  /** The master's charts (CLTOAN_CHART*, counters bumped by the client and chunkserver links). */
  charts: ChartsData;
  /** Storage classes changed (setgoal): recompute chunk goals from the namespace. */
  chunkGoalsChanged(): void;
  /**
   * FOLLOWER_SYNC_ACK (follow.ts SyncGate): may hold a packet to a registered client back until a
   * follower acknowledged the changes before it; returns true if it took the packet.
   */
  replyGate?: { hold(packet: Buffer, send: (p: Buffer) => void): boolean };
}

/** Registration state: 0 none, 1 mount (fuse or meta), 100 tools (REGISTER_TOOLS). */
export type RegState = 0 | 1 | 100;

export class ClConn {
  registered: RegState = 0;
  session: Session | undefined;
  /** Client version word (from NEWSESSION / RECONNECT). */
  version = 0;
  /** GETRANDOM challenge. */
  rnd: Buffer | undefined;
  /** Pending deferred replies keep a reference; the conn may close before they resolve. */
  get closed(): boolean {
    return this.conn.closed;
  }

  constructor(
    readonly conn: Conn,
    readonly ctx: MasterCtx,
    /** The other connections, for notices to sessions holding a file open. */
    readonly peers: () => Iterable<ClConn> = () => [],
  ) {}

  /**
   * Registered mount connections of other sessions that hold `inode` open and understand the
   * change notices (clients >= 3.0.74): matoclserv_fuse_chunk_has_changed / _fleng_has_changed.
   */
  holders(inode: number): ClConn[] {
    const open = this.ctx.ns.tree.open.get(inode);
    if (!open) return [];
    const out: ClConn[] = [];
    for (const x of this.peers()) {
      if (x !== this && !x.closed && x.registered === 1 && x.session && x.version >= 0x030094 && open.has(x.session.id)) out.push(x);
    }
    return out;
  }

  get log(): Logger {
    return this.conn.log;
  }

  get meta(): boolean {
    return this.session !== undefined && this.session.rootinode === 0;
  }

  sendMsg<T>(def: MessageDef<T>, v: T): void {
    this.conn.sendMsg(def, v);
  }

  /** Decodes a request; on failure closes the connection (logged with the message name) and returns undefined. */
  decode<T>(def: MessageDef<T>, payload: Buffer): T | undefined {
    const r = def.decode(payload);
    if (!r.ok) {
      this.conn.bad(def, r.error.message);
      return undefined;
    }
    return r.value;
  }

  /**
   * The namespace caller for a request: uid/gid mapped by the export (sessions_ugid_remap maps the
   * uid and the first gid only), the ids as sent kept in auid/agid.
   */
  fsctx(uid: number, gids: readonly number[]): FsCtx {
    const s = this.session!;
    const g0 = gids.length > 0 ? gids[0]! : 0;
    const m = s.remap(uid, g0);
    const mapped = gids.length > 0 ? [m.gid, ...gids.slice(1)] : [m.gid];
    // Clients >= 1.7.32 understand the 36-byte ATTR record (sessions_get_sesflags adds SESFLAG_ATTRBIT).
    const sesflags = s.sesflags | (s.infoversion >= 0x010720 ? SESFLAG_ATTRBIT : 0);
    return { uid: m.uid, gids: mapped, sesflags, rootinode: s.rootinode, auid: uid, agid: g0, sessionId: s.id };
  }

  /** A context for tool requests that carry a uid only. */
  fsctxUid(uid: number): FsCtx {
    return this.fsctx(uid, [uid === 0 ? 0 : 0xffffffff]);
  }
}

export type Handler = (c: ClConn, payload: Buffer) => void;

export interface HandlerGroup {
  /** Allowed before registration (mfscli). */
  unregistered?: Record<number, Handler>;
  /** For registered mount sessions (fuse and meta). */
  session?: Record<number, Handler>;
}

const GROUPS: HandlerGroup[] = [adminHandlers, registerHandlers, fuseHandlers, chunkHandlers, toolHandlers, metaHandlers, lockHandlers, quotaHandlers, sclassHandlers];

const KNOWN_CLTOMA = new Set(MESSAGE_IDS.filter((m) => m.link === 'CLTOMA').map((m) => m.id));
const UNREG = new Map<number, Handler>();
const SESS = new Map<number, Handler>();
for (const g of GROUPS) {
  for (const [k, h] of Object.entries(g.unregistered ?? {})) UNREG.set(Number(k), h);
  for (const [k, h] of Object.entries(g.session ?? {})) SESS.set(Number(k), h);
}
// mfscli requests are served to registered connections too (matoclserv_gotpacket "for tools" cases).
for (const [k, h] of UNREG) if (!SESS.has(k)) SESS.set(k, h);

/** Which chart counts a mount's request (the stats_* counters of mfsmaster/filesystem.c), by message id. */
const OP_STAT = new Int8Array(1024).fill(-1);
for (const [id, st] of [
  [CLTOMA_FUSE_STATFS, CH_STATFS],
  [CLTOMA_FUSE_GETATTR, CH_GETATTR],
  [CLTOMA_FUSE_SETATTR, CH_SETATTR],
  [CLTOMA_FUSE_TRUNCATE, CH_SETATTR],
  [CLTOMA_FUSE_LOOKUP, CH_LOOKUP],
  [CLTOMA_FUSE_MKDIR, CH_MKDIR],
  [CLTOMA_FUSE_RMDIR, CH_RMDIR],
  [CLTOMA_FUSE_SYMLINK, CH_SYMLINK],
  [CLTOMA_FUSE_READLINK, CH_READLINK],
  [CLTOMA_FUSE_MKNOD, CH_MKNOD],
  [CLTOMA_FUSE_CREATE, CH_MKNOD],
  [CLTOMA_FUSE_UNLINK, CH_UNLINK],
  [CLTOMA_FUSE_RENAME, CH_RENAME],
  [CLTOMA_FUSE_LINK, CH_LINK],
  [CLTOMA_FUSE_READDIR, CH_READDIR],
  [CLTOMA_FUSE_OPEN, CH_OPEN],
  [CLTOMA_FUSE_READ_CHUNK, CH_READ],
  [CLTOMA_FUSE_WRITE_CHUNK, CH_WRITE],
] as const)
  OP_STAT[id] = st;

export interface MatoclOptions {
  host: string | undefined;
  port: number;
}

export class MatoclServer {
  private server: Server | undefined;
  readonly conns = new Set<ClConn>();

  constructor(
    readonly ctx: MasterCtx,
    private readonly opts: MatoclOptions,
  ) {}

  async listen(): Promise<number> {
    const srv = createServer((sock) => this.accept(sock));
    this.server = srv;
    return (await listenTcp(srv, this.opts.host, this.opts.port)).port;
  }

  private accept(sock: Socket): void {
    const log = this.ctx.log.child({ link: 'matocl', peer: `${sock.remoteAddress}:${sock.remotePort}` });
    let cl: ClConn | undefined = undefined;
    const conn = new Conn(sock, log, CLTOMA_MAXPACKETSIZE, (t, p) => this.packet(cl!, t, p), 'CLTOMA');
    conn.stats = this.ctx.charts.counters;
    cl = new ClConn(conn, this.ctx, () => this.conns);
    this.conns.add(cl);
    const gate = this.ctx.replyGate;
    if (gate) {
      // Every packet to a mount goes through the gate, replies and NOPs alike, so their order holds.
      const direct = conn.send.bind(conn);
      conn.send = (p: Buffer): void => {
        if (cl!.registered === 0 || !gate.hold(p, direct)) direct(p);
      };
    }
    // NOP (msgid 0) to registered clients idle for 1 s; drop any client silent for 10 s (matoclserv_serve).
    conn.keepAlive(1000, 10000, () => {
      if (cl!.registered !== 0) conn.send(ANTOAN_NOP_MSGID0_PACKET);
    });
    conn.onClose(() => {
      this.conns.delete(cl!);
      if (cl!.session) this.ctx.sessions.detach(cl!.session);
    });
  }

  private packet(c: ClConn, type: number, payload: Buffer): void {
    if (type === ANTOAN_NOP || type === ANTOAN_UNKNOWN_COMMAND || type === ANTOAN_BAD_COMMAND_SIZE) return;
    const h = c.registered === 0 ? UNREG.get(type) : SESS.get(type);
    if (!h && c.registered !== 0 && KNOWN_CLTOMA.has(type) && payload.length >= 4) {
      // A request we do not serve (locks, quotas, archive, sclass admin...): ANTOAN_UNKNOWN_COMMAND
      // with its msgid, which mfsmount turns into ENOTSUP (mastercomm.c), instead of a disconnect.
      c.log.debug({ msg_name: msgName(type, 'CLTOMA') }, 'not supported: answered ENOTSUP');
      c.sendMsg(AntoanUnknownCommand, { data: Buffer.from(payload.subarray(0, 4)) });
      return;
    }
    if (!h) {
      c.conn.kill(msgName(type, 'CLTOMA'), c.registered === 0 ? 'unknown message from unregistered client' : 'unknown message');
      return;
    }
    if (c.registered !== 0 && c.session === undefined) {
      c.conn.kill(msgName(type, 'CLTOMA'), "session doesn't exist");
      return;
    }
    const st = type < 1024 && c.registered === 1 ? OP_STAT[type]! : -1;
    if (st >= 0) this.ctx.charts.counters[st]!++;
    h(c, payload);
  }

  /** SIGHUP: exports changed; close mount connections whose session was granted by other rules. */
  exportsReloaded(): void {
    const sum = this.ctx.exports().checksum;
    for (const c of this.conns) {
      if (c.registered === 1 && c.session && c.session.exportsChecksum !== sum) {
        c.log.info({ session: c.session.id }, 'exports changed: disconnecting session');
        c.conn.close();
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.conn.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
