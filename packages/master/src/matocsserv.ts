import {
  HLSTATUS_DEFAULT,
} from '@mfs-ts/protocol';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  ANTOAN_GET_VERSION,
  ANTOAN_NOP,
  AntoanGetVersion,
  AntoanVersion,
  CSTOMA_CHUNK_DAMAGED,
  CSTOMA_CHUNK_LOST,
  CSTOMA_CHUNK_NEW,
  CSTOMA_CREATE,
  CSTOMA_CURRENT_LOAD,
  CSTOMA_DELETE,
  CSTOMA_DUPLICATE,
  CSTOMA_DUPTRUNC,
  CSTOMA_ERROR_OCCURRED,
  CSTOMA_LABELS,
  CSTOMA_MAXPACKETSIZE,
  CSTOMA_REGISTER,
  CSTOMA_REPLICATE,
  CSTOMA_SET_VERSION,
  CSTOMA_SPACE,
  CSTOMA_TRUNCATE,
  CstomaChunkDamaged,
  CstomaChunkLost,
  CstomaChunkNew,
  CstomaCreate,
  CstomaCurrentLoad,
  CstomaDelete,
  CstomaDuplicate,
  CstomaDuptrunc,
  CstomaLabels,
  CstomaRegister,
  CstomaReplicate,
  CstomaSetVersion,
  CstomaSpace,
  CstomaTruncate,
  MatocsCreate,
  MatocsDelete,
  MatocsDuplicate,
  MatocsDuptrunc,
  MatocsMasterAck,
  MatocsReplicate,
  MatocsSetVersion,
  MatocsTruncate,
  VERSHEX,
  VERSSTR,
  type MessageDef,
} from '@mfs-ts/protocol';
import { listenTcp, type Logger } from '@mfs-ts/common';
import {
  CH_CHANGECHUNK,
  CH_CHANGECHUNK_ERR,
  CH_CHANGECHUNK_OK,
  CH_CREATECHUNK,
  CH_CREATECHUNK_ERR,
  CH_CREATECHUNK_OK,
  CH_DELCHUNK,
  CH_DELETECHUNK_ERR,
  CH_DELETECHUNK_OK,
  CH_REPLCHUNK,
  CH_REPLICATECHUNK_ERR,
  CH_REPLICATECHUNK_OK,
} from './charts.js';
import { Conn, msgName } from './conn.js';
import type { ChunkRegistry, ChunkServerLink } from './chunks.js';
import { md5, passcodeEquals, u32ToIp } from './util.js';

/**
 * Chunkserver link of the master (port 9420, mfsmaster/matocsserv.c): registration in stages
 * (BEGIN with the optional AUTH_CODE challenge, CHUNKS batches, END), space / load / label reports,
 * and the chunk commands with their replies, which go to the ChunkRegistry.
 */

const NOP = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]);
/** HLSTATUS_* (MFSCommunication.h). */

const V = (a: number, b: number, c: number) => (a << 16) | (b << 8) | (a > 1 ? c * 2 : c);

export interface MatocsOptions {
  log: Logger;
  registry: ChunkRegistry;
  host: string | undefined;
  port: number;
  /** MATOCS_TIMEOUT (seconds), used when a chunkserver asks for 0. */
  timeout: number;
  authCode: () => string;
  metaid: () => bigint;
  /** ALLOW_LOOPBACK_CHUNKSERVERS (mfs-ts only): accept a chunkserver on 127.x. */
  allowLoopback?: () => boolean;
  /** The master's chart counters: chunk commands sent and their results (chunk_stats). */
  charts?: Float64Array;
}

export class CsConn implements ChunkServerLink {
  csid = 0;
  ip = 0;
  port = 0;
  version = 0;
  labelmask = 0;
  usedspace = 0;
  totalspace = 0;
  chunkscount = 0;
  tdusedspace = 0;
  tdtotalspace = 0;
  tdchunkscount = 0;
  errorcounter = 0;
  load = 0;
  hlstatus = HLSTATUS_DEFAULT;
  timeout = 10;
  registered = false;
  /** BEGIN accepted (csid allocated). */
  begun = false;
  private challenge: Buffer | undefined;

  constructor(
    readonly conn: Conn,
    private readonly srv: MatocsServer,
  ) {}

  get strip(): string {
    return `${u32ToIp(this.ip)}:${this.port}`;
  }

  private cmd<T>(def: MessageDef<T>, v: T, stat: number): void {
    const ch = this.srv.opts.charts;
    if (ch) ch[stat]!++;
    this.conn.sendMsg(def, v);
  }
  /** Counts a command's result in its _OK or _ERR chart. */
  private result(ok: number, err: number, status: number): void {
    const ch = this.srv.opts.charts;
    if (ch) ch[status === 0 ? ok : err]!++;
  }
  sendCreate(chunkid: number, version: number): void {
    this.cmd(MatocsCreate, { chunkid, version }, CH_CREATECHUNK);
  }
  sendDelete(chunkid: number, version: number): void {
    this.cmd(MatocsDelete, { chunkid, version }, CH_DELCHUNK);
  }
  sendSetVersion(chunkid: number, newversion: number, version: number): void {
    this.cmd(MatocsSetVersion, { chunkid, newversion, version }, CH_CHANGECHUNK);
  }
  sendDuplicate(copychunkid: number, copyversion: number, chunkid: number, version: number): void {
    this.cmd(MatocsDuplicate, { copychunkid, copyversion, chunkid, version }, CH_CHANGECHUNK);
  }
  sendTruncate(chunkid: number, length: number, newversion: number, version: number): void {
    this.cmd(MatocsTruncate, { chunkid, length, newversion, version }, CH_CHANGECHUNK);
  }
  sendDuptrunc(copychunkid: number, copyversion: number, chunkid: number, version: number, length: number): void {
    this.cmd(MatocsDuptrunc, { copychunkid, copyversion, chunkid, version, length }, CH_CHANGECHUNK);
  }
  sendReplicate(chunkid: number, version: number, ip: number, port: number): void {
    this.cmd(MatocsReplicate, { $v: 'simple', chunkid, version, ip, port }, CH_REPLCHUNK);
  }

  packet(type: number, payload: Buffer): void {
    const reg = this.srv.opts.registry;
    const name = msgName(type, 'CSTOMA');
    if (type !== CSTOMA_REGISTER && type !== ANTOAN_NOP && type !== ANTOAN_GET_VERSION && !this.begun) {
      this.conn.kill(name, 'command before registration');
      return;
    }
    const dec = <T>(def: MessageDef<T>): T | undefined => {
      const r = def.decode(payload);
      if (!r.ok) {
        this.conn.bad(def, r.error.message);
        return undefined;
      }
      return r.value;
    };
    switch (type) {
      case ANTOAN_NOP:
        return;
      case ANTOAN_GET_VERSION: {
        const v = dec(AntoanGetVersion);
        if (!v) return;
        const vstring = Buffer.from(VERSSTR);
        if (v.$v === 'msgid') this.conn.sendMsg(AntoanVersion, { $v: 'msgid', msgid: v.msgid, version: VERSHEX, vstring });
        else this.conn.sendMsg(AntoanVersion, { $v: 'bare', version: VERSHEX, vstring });
        return;
      }
      case CSTOMA_REGISTER:
        return this.register(payload);
      case CSTOMA_SPACE: {
        const v = dec(CstomaSpace);
        if (!v) return;
        this.usedspace = Number(v.usedspace);
        this.totalspace = Number(v.totalspace);
        if (v.$v === 'full') {
          this.chunkscount = v.chunkcount;
          this.tdchunkscount = v.tdchunkcount;
        }
        if (v.$v !== 'basic') {
          this.tdusedspace = Number(v.tdusedspace);
          this.tdtotalspace = Number(v.tdtotalspace);
        }
        return;
      }
      case CSTOMA_CURRENT_LOAD: {
        const v = dec(CstomaCurrentLoad);
        if (!v) return;
        this.load = v.load;
        if (v.$v === 'full') this.hlstatus = v.hlstatus;
        return;
      }
      case CSTOMA_LABELS: {
        const v = dec(CstomaLabels);
        if (v) this.labelmask = v.labelmask >>> 0;
        return;
      }
      case CSTOMA_CHUNK_DAMAGED: {
        const v = dec(CstomaChunkDamaged);
        if (v) for (const id of v.chunks) reg.serverLostChunk(this.csid, id, true);
        return;
      }
      case CSTOMA_CHUNK_LOST: {
        const v = dec(CstomaChunkLost);
        if (v) for (const id of v.chunks) reg.serverLostChunk(this.csid, id, false);
        return;
      }
      case CSTOMA_CHUNK_NEW: {
        const v = dec(CstomaChunkNew);
        if (v) for (const c of v.chunks) reg.serverHasChunk(this.csid, c.chunkid, c.version);
        return;
      }
      case CSTOMA_ERROR_OCCURRED:
        if (payload.length !== 0) return this.conn.bad('CSTOMA_ERROR_OCCURRED', `${payload.length}/0`);
        this.errorcounter++;
        return;
      case CSTOMA_CREATE:
      case CSTOMA_SET_VERSION:
      case CSTOMA_DUPLICATE:
      case CSTOMA_TRUNCATE:
      case CSTOMA_DUPTRUNC: {
        const def = { [CSTOMA_CREATE]: CstomaCreate, [CSTOMA_SET_VERSION]: CstomaSetVersion, [CSTOMA_DUPLICATE]: CstomaDuplicate, [CSTOMA_TRUNCATE]: CstomaTruncate, [CSTOMA_DUPTRUNC]: CstomaDuptrunc }[type]!;
        const v = dec(def);
        if (!v) return;
        if (v.status !== 0) this.srv.opts.log.info({ cs: this.strip, msg_name: name, chunkid: v.chunkid, status: v.status }, 'chunk operation failed on chunkserver');
        if (type === CSTOMA_CREATE) this.result(CH_CREATECHUNK_OK, CH_CREATECHUNK_ERR, v.status);
        else this.result(CH_CHANGECHUNK_OK, CH_CHANGECHUNK_ERR, v.status);
        reg.operationStatus(this.csid, v.chunkid, v.status);
        return;
      }
      case CSTOMA_DELETE: {
        const v = dec(CstomaDelete);
        if (!v) return;
        this.result(CH_DELETECHUNK_OK, CH_DELETECHUNK_ERR, v.status);
        reg.deleteStatus(this.csid, v.chunkid, v.status);
        return;
      }
      case CSTOMA_REPLICATE: {
        const v = dec(CstomaReplicate);
        if (!v) return;
        this.result(CH_REPLICATECHUNK_OK, CH_REPLICATECHUNK_ERR, v.status);
        reg.replicateStatus(this.csid, v.chunkid, v.version, v.status);
        return;
      }
      default:
        this.conn.kill(name, 'unknown message');
    }
  }

  private register(payload: Buffer): void {
    const opts = this.srv.opts;
    const r = CstomaRegister.decode(payload);
    if (!r.ok) {
      this.conn.bad(CstomaRegister, r.error.message);
      return;
    }
    const v = r.value;
    switch (v.$v) {
      case 'begin':
      case 'beginAuth': {
        if (this.begun) return this.conn.kill('CSTOMA_REGISTER', 'second BEGIN');
        const auth = opts.authCode();
        if (auth) {
          if (v.$v === 'begin') {
            this.challenge = randomBytes(32);
            this.conn.sendMsg(MatocsMasterAck, { $v: 'challenge', atype: 3, random: this.challenge });
            return;
          }
          const want = this.challenge ? md5(this.challenge.subarray(0, 16), Buffer.from(auth), this.challenge.subarray(16, 32)) : undefined;
          if (!want || !passcodeEquals(want, v.passcode)) {
            this.conn.kill('CSTOMA_REGISTER', 'access denied - check password (AUTH_CODE)');
            return;
          }
        }
        this.version = v.version;
        this.ip = v.ip === 0 ? this.conn.peerip : v.ip;
        this.port = v.port;
        this.timeout = v.timeout === 0 ? opts.timeout : v.timeout;
        if (v.timeout !== 0 && v.timeout < 10) return this.conn.kill('CSTOMA_REGISTER', `communication timeout too small (${v.timeout} seconds - should be at least 10 seconds)`);
        this.usedspace = Number(v.usedspace);
        this.totalspace = Number(v.totalspace);
        this.chunkscount = v.chunkcount;
        this.tdusedspace = Number(v.tdusedspace);
        this.tdtotalspace = Number(v.tdtotalspace);
        this.tdchunkscount = v.tdchunkcount;
        if ((this.ip & 0xff000000) >>> 0 === 0x7f000000 && !opts.allowLoopback?.()) {
          return this.conn.kill('CSTOMA_REGISTER', `chunkserver connected using localhost (IP: ${u32ToIp(this.ip)}) - you cannot use localhost for communication between chunkserver and master`);
        }
        if (opts.registry.serverAt(this.ip, this.port)) return this.conn.kill('CSTOMA_REGISTER', `can't accept chunkserver (ip: ${u32ToIp(this.ip)} / port: ${this.port}): already connected`);
        this.csid = opts.registry.allocCsid(this.ip, this.port, v.csid);
        this.begun = true;
        opts.registry.serverConnected(this);
        opts.log.info({ cs: this.strip, csid: this.csid, usedspace: this.usedspace, totalspace: this.totalspace }, 'chunkserver register begin (packet version: 6)');
        if (this.version >= V(2, 0, 33)) {
          this.conn.sendMsg(MatocsMasterAck, { $v: 'registeredMeta', atype: 0, version: VERSHEX, timeout: this.timeout, csid: this.csid, metaid: opts.metaid() });
        } else if (this.version >= V(1, 6, 28)) {
          this.conn.sendMsg(MatocsMasterAck, { $v: 'registered', atype: 0, version: VERSHEX, timeout: this.timeout, csid: this.csid });
        }
        this.conn.keepAlive((this.timeout * 1000) / 3, this.timeout * 1000, () => this.conn.send(NOP));
        return;
      }
      case 'chunks': {
        if (!this.begun) return this.conn.kill('CSTOMA_REGISTER', 'CHUNKS packet before proper BEGIN packet');
        for (const c of v.chunks) opts.registry.serverHasChunk(this.csid, c.chunkid, c.version);
        if (this.version >= V(2, 0, 0)) this.conn.sendMsg(MatocsMasterAck, { $v: 'ack', atype: 0 });
        return;
      }
      case 'end':
        if (!this.begun) return this.conn.kill('CSTOMA_REGISTER', 'END packet before proper BEGIN packet');
        this.registered = true;
        opts.log.info({ cs: this.strip, csid: this.csid }, 'chunkserver register end (packet version: 6)');
        this.srv.emitChange();
        return;
      case 'disconnect':
        opts.log.info({ cs: this.strip }, 'chunkserver graceful disconnection (packet version: 6)');
        this.conn.close();
        return;
      default:
        this.conn.kill('CSTOMA_REGISTER', `registration packet version ${payload[0]} not supported (3.0.117 chunkservers send 60..63)`);
    }
  }
}

export class MatocsServer {
  private server: Server | undefined;
  readonly conns = new Set<CsConn>();
  private changeCbs: Array<() => void> = [];

  constructor(readonly opts: MatocsOptions) {}

  /** Resolves with the bound port. */
  async listen(): Promise<number> {
    const srv = createServer((sock) => this.accept(sock));
    this.server = srv;
    return (await listenTcp(srv, this.opts.host, this.opts.port)).port;
  }

  private accept(sock: Socket): void {
    const log = this.opts.log.child({ link: 'matocs', peer: `${sock.remoteAddress}:${sock.remotePort}` });
    let cs: CsConn | undefined = undefined;
    const conn = new Conn(sock, log, CSTOMA_MAXPACKETSIZE, (t, p) => cs!.packet(t, p), 'CSTOMA');
    cs = new CsConn(conn, this);
    this.conns.add(cs);
    // Until BEGIN tells us the chunkserver's timeout, use ours.
    conn.keepAlive((this.opts.timeout * 1000) / 3, this.opts.timeout * 1000, () => conn.send(NOP));
    conn.onClose(() => {
      this.conns.delete(cs!);
      if (cs!.begun) {
        log.info({ cs: cs!.strip, csid: cs!.csid }, 'chunkserver disconnected');
        this.opts.registry.serverDisconnected(cs!.csid);
        this.emitChange();
      }
    });
  }

  onChange(cb: () => void): void {
    this.changeCbs.push(cb);
  }

  emitChange(): void {
    for (const cb of this.changeCbs) cb();
  }

  registered(): CsConn[] {
    return [...this.conns].filter((c) => c.registered);
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.conn.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
