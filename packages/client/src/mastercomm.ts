import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import type { Logger } from '@mfs-ts/common';
import {
  ANTOAN_BAD_COMMAND_SIZE,
  ANTOAN_NOP,
  ANTOAN_UNKNOWN_COMMAND,
  MATOCL_FUSE_CHUNK_HAS_CHANGED,
  MATOCL_FUSE_FLENG_HAS_CHANGED,
  MATOCL_FUSE_INVALIDATE_CHUNK_CACHE,
  MATOCL_FUSE_REGISTER,
  MATOCL_FUSE_TIME_SYNC,
  MATOCL_MAXPACKETSIZE_GUESS,
  MFS_ERROR_EPERM,
  MFS_ERROR_ENOTSUP,
  MFS_ERROR_IO,
  MFS_STATUS_OK,
  PacketFramer,
  mfsStrerror,
  versionAtLeast,
} from './proto.js';
import * as W from './proto.js';
import { MfsClientError, type ErrnoCode } from './errors.js';
import type { ClientOptions } from './options.js';

/**
 * The client's link to the master (mfsclient/mastercomm.c): registration, msgid-multiplexed
 * requests, reconnection with the same session, keepalive and the master's unsolicited messages.
 *
 * Facts used (mastercomm.c): the client sends a NOP (msgid 0) after 2 s without writing, a TIME_SYNC
 * every 60 s (masters >= 3.0.74) and its sustained inodes every 60 s; it drops the connection after
 * 10 s without receiving anything (the master sends NOPs every second); after a loss it retries every
 * 2 s, first RECONNECT with the old session (status EPERM: the session is gone, register anew quoting
 * the old id; other non-zero statuses: register a brand new session); a pending request is resent
 * after 1 ms + (try-1) * 300 ms (10 s from the 30th try on) up to mfsioretries times, then fails with
 * EIO. A reply ANTOAN_UNKNOWN_COMMAND / BAD_COMMAND_SIZE means ENOTSUP.
 */

const NOP_IDLE_MS = 2000;
const RECEIVE_TIMEOUT_MS = 10_000;
const RECONNECT_DELAY_MS = 2000;
/**
 * mfsmount waits RECONNECT_DELAY_MS before each attempt; we first try every FAST_RECONNECT_MS for
 * about as long, so a master that is back sooner (a hot standby promoted behind a VIP,
 * packages/failover) costs a client a fraction of a second instead of two.
 */
const FAST_RECONNECT_MS = 200;
const FAST_RECONNECTS = 10;
const TIME_SYNC_EVERY_MS = 60_000;
const SUSTAINED_EVERY_MS = 60_000;
const CONNECT_TIMEOUT_MS = 2000;
const REGISTER_TIMEOUT_MS = 5000;

export function retryDelayMs(attempt: number): number {
  return 1 + (attempt < 30 ? (attempt - 1) * 300 : 10_000);
}

export interface SessionParams {
  sessionid: number;
  metaid: bigint;
  masterVersion: number;
  sesflags: number;
  umask: number;
  rootuid: number;
  rootgid: number;
  mapalluid: number;
  mapallgid: number;
  mingoal: number;
  maxgoal: number;
  mintrashtime: number;
  maxtrashtime: number;
  disables: number;
}

/** A failed registration (wrong password, no matching export...), with MooseFS's message. */
export class RegisterError extends MfsClientError {
  constructor(status: number) {
    const code: ErrnoCode = status === W.MFS_ERROR_EACCES || status === W.MFS_ERROR_BADPASSWORD || status === W.MFS_ERROR_NOPASSWORD ? 'EACCES' : 'EIO';
    super(code, `mfsmaster register error: ${mfsStrerror(status)}`, status, 'connect');
    this.name = 'RegisterError';
  }
}

/** A transport failure (cannot connect, bad answer); code EIO. */
export class MasterLinkError extends MfsClientError {
  constructor(message: string) {
    super('EIO', message, MFS_ERROR_IO, 'connect');
    this.name = 'MasterLinkError';
  }
}

interface Pending {
  /** Expected answer type; ANY_REPLY takes whatever comes (the tools proxy). */
  replyType: number;
  resolve: (payload: Buffer, type: number) => void;
  /** Called on connection loss (the request will be resent) or a fatal answer. */
  lost: () => void;
}

const ANY_REPLY = -1;

export interface CallOptions {
  /** Give up (EIO) after this long, across retries; 0 = only mfsioretries bounds it. */
  timeoutMs?: number;
}

export interface MasterEvents {
  chunkChanged: [inode: number, indx: number, chunkid: number, version: number, fleng: number, truncflag: number];
  flengChanged: [inode: number, fleng: number];
  invalidateChunkCache: [];
  connected: [reconnect: boolean];
  disconnected: [reason: string];
}

export class MasterConn extends EventEmitter<MasterEvents> {
  private sock: Socket | undefined;
  private framer = new PacketFramer(MATOCL_MAXPACKETSIZE_GUESS);
  private up = false;
  private closed = false;
  private registering: ((type: number, payload: Buffer) => void) | undefined;
  private pending = new Map<number, Pending>();
  private nextMsgid = 1;
  private lastWrite = 0;
  private lastRecv = 0;
  private lastTimeSync = 0;
  private lastSustained = 0;
  private lastAmtime = 0;
  private tick: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Reconnection attempts since the link was last up. */
  private reconnectTries = 0;
  /** 0: have a session; 1: lost, register anew; 2: lost with EPERM, register quoting the old id. */
  private sessionLost: 0 | 1 | 2 = 0;
  private waiters: Array<() => void> = [];
  session: SessionParams | undefined;
  /** Master wall clock minus local wall clock, µs (TIME_SYNC). */
  clockOffsetUs = 0;

  /** The master's wall clock now, in seconds (what atime/mtime are measured in). */
  masterSeconds(): number {
    return Math.floor((Date.now() * 1000 + this.clockOffsetUs) / 1e6);
  }
  /** Inodes the client holds open; sent as sustained inodes so the master keeps them. */
  sustainedInodes: () => Iterable<number> = () => [];
  /** Access/modification times to report (fs_send_amtime_inodes), taken once a second. */
  amtimes: () => Array<{ inode: number; atime: number; mtime: number }> = () => [];

  private constructor(
    readonly opts: ClientOptions,
    readonly log: Logger,
  ) {
    super();
  }

  /** Connects and registers (mfsmount's fs_init_master_connection); rejects with RegisterError. */
  static async connect(opts: ClientOptions, log: Logger): Promise<MasterConn> {
    const m = new MasterConn(opts, log.child({ peer: `${opts.host}:${opts.port}` }));
    let lastErr: unknown;
    // Like mfsmount at start-up: up to 10 attempts to reach the master, but a refusal is final.
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await m.register(false);
        m.startTimers();
        return m;
      } catch (e) {
        lastErr = e;
        if (e instanceof RegisterError) break;
        await sleep(Math.min(1000, 100 * (attempt + 1)));
      }
    }
    m.closed = true;
    m.sock?.destroy();
    throw lastErr;
  }

  get connected(): boolean {
    return this.up;
  }

  get masterVersion(): number {
    return this.session?.masterVersion ?? 0;
  }

  // ---- connection and registration ----

  private openSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: this.opts.host, port: this.opts.port });
      s.setNoDelay(true);
      const t = setTimeout(() => {
        s.destroy();
        reject(new MasterLinkError(`can't connect to mfsmaster ("${this.opts.host}":"${this.opts.port}"): timeout`));
      }, CONNECT_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(new MasterLinkError(`can't connect to mfsmaster ("${this.opts.host}":"${this.opts.port}"): ${e.message}`));
      });
    });
  }

  private attach(s: Socket): void {
    this.sock = s;
    this.framer = new PacketFramer(MATOCL_MAXPACKETSIZE_GUESS);
    this.lastRecv = Date.now();
    s.on('data', (chunk: Buffer) => {
      if (this.sock !== s) return;
      this.lastRecv = Date.now();
      const err = this.framer.push(chunk, (type, payload, stable) => this.onPacket(type, payload, stable));
      if (err) this.drop(`bad packet from master: ${err.message}`);
    });
    s.on('error', (e) => {
      if (this.sock === s) this.drop(`master connection error: ${e.message}`);
    });
    s.on('close', () => {
      if (this.sock === s) this.drop('master closed the connection');
    });
  }

  /** Sends one registration packet and waits for the MATOCL_FUSE_REGISTER answer. */
  private registerExchange(pkt: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.registering = undefined;
        reject(new MasterLinkError('mfsmaster register: no answer'));
      }, REGISTER_TIMEOUT_MS);
      const s = this.sock!;
      const onClose = () => {
        clearTimeout(t);
        this.registering = undefined;
        reject(new MasterLinkError('mfsmaster register: connection lost'));
      };
      s.once('close', onClose);
      this.registering = (type, payload) => {
        clearTimeout(t);
        s.off('close', onClose);
        this.registering = undefined;
        if (type !== MATOCL_FUSE_REGISTER) reject(new MasterLinkError(`got incorrect answer from mfsmaster (type ${type})`));
        else resolve(Buffer.from(payload));
      };
      this.write(pkt);
    });
  }

  /**
   * A new session (fs_connect) or, when `reconnect` and a session exists, RECONNECT (fs_reconnect).
   * Leaves the link up or throws.
   */
  private async register(reconnect: boolean): Promise<void> {
    const s = await this.openSocket();
    if (this.closed) {
      s.destroy();
      throw new MasterLinkError('closed');
    }
    this.attach(s);
    try {
      if (reconnect && this.session && this.sessionLost === 0) {
        const ans = await this.registerExchange(W.encodeReconnect(this.session.sessionid, this.session.metaid, this.session.masterVersion));
        const r = W.decodeReconnectReply(ans);
        if (!r.ok) throw new MasterLinkError(`master: register error (bad answer: ${r.error})`);
        if (r.version !== undefined) this.session.masterVersion = r.version;
        if (r.status !== MFS_STATUS_OK) {
          this.sessionLost = r.status === MFS_ERROR_EPERM ? 2 : 1;
          throw new MasterLinkError(`master: register status: ${mfsStrerror(r.status)}`);
        }
        this.log.info({ sessionid: this.session.sessionid }, 'registered to master');
      } else {
        let passcode: Buffer | undefined;
        const digest = this.opts.passwordDigest;
        if (digest) {
          const rnd = await this.registerExchange(W.encodeGetRandom());
          if (rnd.length !== 32) {
            if (rnd.length === 1) throw new RegisterError(rnd[0]!);
            throw new MasterLinkError('got incorrect answer from mfsmaster');
          }
          passcode = W.clientPasscode(rnd, digest);
        }
        const old = this.sessionLost === 2 ? this.session : undefined;
        const ans = await this.registerExchange(
          W.encodeNewSession({
            meta: this.opts.meta,
            info: this.opts.info,
            subfolder: this.opts.subfolder,
            sessionid: old?.sessionid,
            metaid: old && old.metaid !== 0n ? old.metaid : undefined,
            passcode,
          }),
        );
        const r = W.decodeSessionReply(ans, this.opts.meta);
        if (!r.ok) throw new MasterLinkError(`got incorrect answer from mfsmaster (${r.error})`);
        if ('status' in r) throw new RegisterError(r.status);
        if (!versionAtLeast(r.session.masterVersion, 2, 1, 7)) throw new MasterLinkError('incompatible mfsmaster version');
        const was = this.session !== undefined;
        this.session = r.session;
        this.sessionLost = 0;
        this.log.info({ sessionid: r.session.sessionid }, was ? 'registered to master with new session' : 'mfsmaster accepted connection');
      }
    } catch (e) {
      this.sock = undefined;
      s.destroy();
      throw e;
    }
    this.up = true;
    this.reconnectTries = 0;
    this.lastWrite = Date.now();
    this.lastTimeSync = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    this.emit('connected', reconnect);
  }

  private startTimers(): void {
    this.tick = setInterval(() => this.onTick(), 500);
    this.tick.unref();
  }

  private onTick(): void {
    if (!this.up || !this.sock) return;
    const now = Date.now();
    if (now - this.lastRecv > RECEIVE_TIMEOUT_MS) {
      this.drop('master: connection timed out');
      return;
    }
    if (now - this.lastWrite > NOP_IDLE_MS) this.write(W.NOP_PACKET);
    if (versionAtLeast(this.masterVersion, 3, 0, 74) && (this.lastTimeSync === 0 || now - this.lastTimeSync > TIME_SYNC_EVERY_MS)) {
      this.lastTimeSync = now;
      this.write(W.TIME_SYNC_PACKET);
    }
    if (versionAtLeast(this.masterVersion, 3, 0, 74) && now - this.lastAmtime >= 1000) {
      this.lastAmtime = now;
      const entries = this.amtimes();
      if (entries.length > 0) this.write(W.encodeAmtimeInodes(entries));
    }
    if (now - this.lastSustained > SUSTAINED_EVERY_MS) {
      this.lastSustained = now;
      this.sendSustained();
    }
  }

  private sendSustained(): void {
    const inodes = [...this.sustainedInodes()];
    this.write(W.encodeSustainedInodes(inodes, versionAtLeast(this.masterVersion, 3, 0, 74)));
  }

  private write(pkt: Buffer): void {
    if (!this.sock) return;
    this.lastWrite = Date.now();
    this.sock.write(pkt);
  }

  /** Connection lost: fail in-flight requests over to their retry loop and schedule a reconnect. */
  private drop(reason: string): void {
    const s = this.sock;
    if (!s) return;
    this.sock = undefined;
    const wasUp = this.up;
    this.up = false;
    s.destroy();
    if (wasUp) this.log.warn({ reason }, 'master connection lost');
    const p = [...this.pending.values()];
    this.pending.clear();
    for (const r of p) r.lost();
    if (wasUp) this.emit('disconnected', reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    // Before the first session exists, connect() does its own retrying.
    if (this.closed || this.reconnectTimer || !this.session) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.register(true).catch((e: unknown) => {
        this.log.warn({ err: (e as Error).message }, 'master reconnect failed');
        this.scheduleReconnect();
      });
    }, this.reconnectTries++ < FAST_RECONNECTS ? FAST_RECONNECT_MS : RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }

  // ---- packets ----

  private onPacket(type: number, payload: Buffer, stable: boolean): void {
    if (this.registering) {
      this.registering(type, payload);
      return;
    }
    if (!this.up) return;
    if (payload.length < 4) {
      this.drop(`master: packet too small (type ${type})`);
      return;
    }
    const msgid = payload.readUInt32BE(0);
    if (msgid === 0) {
      this.onUnsolicited(type, payload);
      return;
    }
    const p = this.pending.get(msgid);
    if (!p) {
      this.drop(`master: got unexpected queryid (${msgid} ; cmd:${type})`);
      return;
    }
    this.pending.delete(msgid);
    if (p.replyType === ANY_REPLY) {
      p.resolve(stable ? payload : Buffer.from(payload), type);
      return;
    }
    if (type === ANTOAN_UNKNOWN_COMMAND || type === ANTOAN_BAD_COMMAND_SIZE) {
      p.resolve(W.statusPayload(msgid, MFS_ERROR_ENOTSUP), type);
      return;
    }
    if (type !== p.replyType) {
      p.lost();
      this.drop(`master: unexpected answer type ${type} (expected ${p.replyType})`);
      return;
    }
    p.resolve(stable ? payload : Buffer.from(payload), type);
  }

  private onUnsolicited(type: number, payload: Buffer): void {
    switch (type) {
      case ANTOAN_NOP:
      case ANTOAN_UNKNOWN_COMMAND:
      case ANTOAN_BAD_COMMAND_SIZE:
        return;
      case MATOCL_FUSE_CHUNK_HAS_CHANGED: {
        const r = W.decodeChunkHasChanged(payload);
        if (!r.ok) return this.drop(`master: unexpected msg size (msg:MATOCL_FUSE_CHUNK_HAS_CHANGED ; size:${payload.length})`);
        const v = r.value;
        this.emit('chunkChanged', v.inode, v.indx, v.chunkid, v.version, v.fleng, v.truncflag);
        return;
      }
      case MATOCL_FUSE_FLENG_HAS_CHANGED: {
        const r = W.decodeFlengHasChanged(payload);
        if (!r.ok) return this.drop(`master: unexpected msg size (msg:MATOCL_FUSE_FLENG_HAS_CHANGED ; size:${payload.length})`);
        this.emit('flengChanged', r.value.inode, r.value.fleng);
        return;
      }
      case MATOCL_FUSE_TIME_SYNC: {
        const r = W.decodeTimeSync(payload);
        if (!r.ok) return this.drop(`master: unexpected msg size (msg:MATOCL_FUSE_TIME_SYNC ; size:${payload.length})`);
        this.clockOffsetUs = Number(r.value.usec) - Date.now() * 1000;
        return;
      }
      case MATOCL_FUSE_INVALIDATE_CHUNK_CACHE:
        if (payload.length !== 4) return this.drop('master: unexpected msg size (msg:MATOCL_FUSE_INVALIDATE_CHUNK_CACHE)');
        this.emit('invalidateChunkCache');
        return;
    }
    this.log.warn({ type }, 'master: unexpected unsolicited packet');
  }

  // ---- requests ----

  private whenUp(deadline: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const f = () => {
        if (t) clearTimeout(t);
        resolve(true);
      };
      this.waiters.push(f);
      if (deadline > 0) {
        t = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== f);
          resolve(false);
        }, Math.max(0, deadline - Date.now()));
      }
    });
  }

  /**
   * Sends a request built by `build(msgid)` and resolves with the reply payload (msgid included), or
   * rejects with EIO after mfsioretries attempts (fs_sendandreceive). The payload is owned by the caller.
   */
  async call(build: (msgid: number) => Buffer, replyType: number, co: CallOptions = {}): Promise<Buffer> {
    return (await this.callTyped(build, replyType, co)).payload;
  }

  /** Like call, but takes an answer of any type (fs_sendandreceive_any, for the tools proxy). */
  callAny(build: (msgid: number) => Buffer, co: CallOptions = {}): Promise<{ payload: Buffer; type: number }> {
    return this.callTyped(build, ANY_REPLY, co);
  }

  private async callTyped(build: (msgid: number) => Buffer, replyType: number, co: CallOptions): Promise<{ payload: Buffer; type: number }> {
    const retries = Math.max(1, this.opts.ioRetries);
    const timeoutMs = co.timeoutMs ?? this.opts.timeout * 1000;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (this.closed) break;
      if (!this.up) {
        // Like mfsmount: a try spent waiting for the link, then the retry delay.
        const wait = retryDelayMs(attempt);
        const until = deadline > 0 ? Math.min(deadline, Date.now() + wait) : Date.now() + wait;
        await this.whenUp(until);
        if (!this.up) {
          if (deadline > 0 && Date.now() >= deadline) break;
          continue;
        }
      }
      const r = await this.attempt(build, replyType, deadline);
      if (r !== undefined) return r;
      if (deadline > 0 && Date.now() >= deadline) break;
      await sleep(retryDelayMs(attempt));
    }
    throw new MfsClientError('EIO', 'EIO: no answer from mfsmaster', MFS_ERROR_IO);
  }

  private attempt(build: (msgid: number) => Buffer, replyType: number, deadline: number): Promise<{ payload: Buffer; type: number } | undefined> {
    return new Promise((resolve) => {
      let msgid = this.nextMsgid++;
      if (this.nextMsgid > 0x7fffffff) this.nextMsgid = 1;
      if (msgid === 0) msgid = this.nextMsgid++;
      let t: NodeJS.Timeout | undefined;
      const done = (v: { payload: Buffer; type: number } | undefined) => {
        if (t) clearTimeout(t);
        resolve(v);
      };
      this.pending.set(msgid, { replyType, resolve: (payload, type) => done({ payload, type }), lost: () => done(undefined) });
      if (deadline > 0) {
        t = setTimeout(() => {
          this.pending.delete(msgid);
          resolve(undefined);
        }, Math.max(0, deadline - Date.now()));
      }
      this.write(build(msgid));
    });
  }

  /** Ends the session (sustained inodes, CLOSESESSION) and closes the link. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tick) clearInterval(this.tick);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.sock;
    if (s && this.up && this.session) {
      this.sendSustained();
      this.up = false;
      try {
        // The master answers within 500 ms or not at all (fs_close_session); a late failure is no error.
        const exchange = this.registerExchange(W.encodeCloseSession(this.session.sessionid, this.session.metaid, this.session.masterVersion));
        exchange.catch(() => undefined);
        const ans = await Promise.race([exchange, sleep(500).then(() => undefined)]);
        if (ans && ans.length === 1 && ans[0] !== 0) this.log.info({ status: ans[0] }, `master: closes session error: ${mfsStrerror(ans[0]!)}`);
      } catch {
        // closing anyway
      }
    }
    this.sock = undefined;
    this.up = false;
    s?.destroy();
    const p = [...this.pending.values()];
    this.pending.clear();
    for (const r of p) r.lost();
    for (const f of this.waiters) f();
    this.waiters = [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
