import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  ANTOAN_GET_CONFIG,
  ANTOAN_GET_VERSION,
  ANTOAN_NOP,
  ANTOAN_NOP_PACKET,
  ANTOMA_DOWNLOAD_END,
  ANTOMA_DOWNLOAD_REQUEST,
  ANTOMA_DOWNLOAD_START,
  ANTOMA_MAXPACKETSIZE,
  ANTOMA_MFSTS_CHECKSUM,
  ANTOMA_MFSTS_FOLLOWER_ACK,
  ANTOMA_REGISTER,
  AntoanConfigValue,
  AntoanGetConfig,
  AntoanGetVersion,
  AntoanVersion,
  AntomaDownloadEnd,
  AntomaDownloadRequest,
  AntomaDownloadStart,
  AntomaMfstsChecksum,
  AntomaMfstsFollowerAck,
  AntomaRegister,
  MatoanDownloadData,
  MatoanDownloadInfo,
  MatoanMetachangesLog,
  MatoanMfstsChecksum,
  VERSHEX,
  VERSSTR,
  type MessageDef,
} from '@mfs-ts/protocol';
import { listenTcp, type Logger } from '@mfs-ts/common';
import { Conn, msgName } from './conn.js';
import { OldChanges } from './oldchanges.js';
import { zlibCrc32 } from './util.js';

/**
 * Metalogger link of the master (port 9419, mfsmaster/matomlserv.c): a metalogger registers, downloads
 * metadata.mfs.back and changelog.0/1.mfs from DATA_PATH, and then receives every change as it is
 * logged (MATOAN_METACHANGES_LOG), or a 0x55 byte when the master rotates its changelog.
 */

/** Largest piece one DOWNLOAD_REQUEST may ask for (the metalogger asks for 1,000,000). */
const MAX_DOWNLOAD = 1_000_000;

export interface MatomlOptions {
  log: Logger;
  host: string | undefined;
  port: number;
  dataPath: () => string;
  /** MATOAN_LOG_PRESERVE_SECONDS: recent changes kept for metaloggers that reconnect (rversion 2). */
  preserveSeconds: number;
  /** Hot followers (follow.ts); absent: the link behaves as 3.0.117's. */
  followers?: FollowerHooks;
}

/** The master's side of the mfs-ts follower extensions (protocol ids.ts, follow.ts). */
export interface FollowerHooks {
  /** ANTOAN_GET_CONFIG: a cfg value as a string ("" when unknown, as cfg_getstr(name, "")). */
  config(name: string): string;
  /** ANTOMA_MFSTS_FOLLOWER_ACK from any follower. */
  ack(version: bigint): void;
  /** A follower's connection closed. */
  gone(): void;
  /** MATOAN_MFSTS_CHECKSUM: the next metaversion and the checksum of every change before it. */
  checksum(): { version: bigint; checksum: bigint };
  /** MLOG_LIST version word for a follower (its sync state). */
  listVersion(): number;
}

class MlConn {
  version = 0;
  timeout = 10;
  /** Receives live changes. */
  sync = false;
  /** A hot follower (it sent ANTOMA_MFSTS_FOLLOWER_ACK): it acknowledges what it logged. */
  follower = false;
  acked = 0n;
  private files: { meta: number; chain1: number; chain2: number } = { meta: -1, chain1: -1, chain2: -1 };

  constructor(
    readonly conn: Conn,
    private readonly srv: MatomlServer,
  ) {}

  private dec<T>(def: MessageDef<T>, p: Buffer): T | undefined {
    const r = def.decode(p);
    if (!r.ok) {
      this.conn.bad(def, r.error.message);
      return undefined;
    }
    return r.value;
  }

  private closeFile(k: keyof MlConn['files']): void {
    if (this.files[k] >= 0) closeSync(this.files[k]);
    this.files[k] = -1;
  }

  closeAll(): void {
    this.closeFile('meta');
    this.closeFile('chain1');
    this.closeFile('chain2');
  }

  private open(name: string): number {
    try {
      return openSync(join(this.srv.opts.dataPath(), name), 'r');
    } catch {
      return -1;
    }
  }

  packet(type: number, p: Buffer): void {
    switch (type) {
      case ANTOAN_NOP:
        return;
      case ANTOAN_GET_VERSION: {
        const v = this.dec(AntoanGetVersion, p);
        if (!v) return;
        const vstring = Buffer.from(VERSSTR);
        if (v.$v === 'msgid') this.conn.sendMsg(AntoanVersion, { $v: 'msgid', msgid: v.msgid, version: VERSHEX, vstring });
        else this.conn.sendMsg(AntoanVersion, { $v: 'bare', version: VERSHEX, vstring });
        return;
      }
      case ANTOAN_GET_CONFIG: {
        // matomlserv_get_config: any cfg value by name; our followers ask for the extension key.
        const v = this.dec(AntoanGetConfig, p);
        if (!v) return;
        const value = Buffer.from(this.srv.opts.followers?.config(v.name.toString('latin1')) ?? '', 'latin1').subarray(0, 255);
        this.conn.sendMsg(AntoanConfigValue, { msgid: v.msgid, value });
        return;
      }
      case ANTOMA_MFSTS_FOLLOWER_ACK: {
        const f = this.srv.opts.followers;
        if (!f) return this.conn.kill('ANTOMA_MFSTS_FOLLOWER_ACK', 'unknown message');
        const v = this.dec(AntomaMfstsFollowerAck, p);
        if (!v) return;
        if (!this.follower) this.srv.opts.log.info({ peer: this.conn.peer, version: String(v.version) }, 'hot follower acknowledging changes');
        this.follower = true;
        if (v.version > this.acked) this.acked = v.version;
        f.ack(v.version);
        return;
      }
      case ANTOMA_MFSTS_CHECKSUM: {
        const f = this.srv.opts.followers;
        if (!f) return this.conn.kill('ANTOMA_MFSTS_CHECKSUM', 'unknown message');
        const v = this.dec(AntomaMfstsChecksum, p);
        if (!v) return;
        this.conn.sendMsg(MatoanMfstsChecksum, { msgid: v.msgid, ...f.checksum() });
        return;
      }
      case ANTOMA_REGISTER: {
        if (this.version > 0) return this.conn.kill('ANTOMA_REGISTER', 'got register message from registered metalogger');
        const v = this.dec(AntomaRegister, p);
        if (!v) return;
        this.version = v.version;
        this.timeout = Math.max(3, v.timeout);
        if (v.$v === 'v2') this.srv.sendOldChanges(this, v.minversion);
        this.sync = true;
        this.conn.keepAlive((this.timeout * 1000) / 3, this.timeout * 1000, () => this.conn.send(ANTOAN_NOP_PACKET));
        this.srv.opts.log.info({ peer: this.conn.peer, version: v.version.toString(16) }, 'metalogger registered');
        return;
      }
      case ANTOMA_DOWNLOAD_START: {
        const v = this.dec(AntomaDownloadStart, p);
        if (!v) return;
        const n = v.filenum;
        if (n === 1 || n === 2) this.closeAll();
        if (n === 1) {
          this.files.meta = this.open('metadata.mfs.back');
          this.files.chain1 = this.open('changelog.0.mfs');
          this.files.chain2 = this.open('changelog.1.mfs');
        } else if (n === 2) {
          this.files.meta = this.open('sessions.mfs');
        } else if (n === 11 || n === 12) {
          this.closeFile('meta');
          const k = n === 11 ? 'chain1' : 'chain2';
          this.files.meta = this.files[k];
          this.files[k] = -1;
        } else {
          return this.conn.kill('ANTOMA_DOWNLOAD_START', `unknown file number ${n}`);
        }
        if (this.files.meta < 0) {
          // A missing changelog is an empty one; a missing metadata file an error.
          if (n === 11 || n === 12) this.conn.sendMsg(MatoanDownloadInfo, { $v: 'ok', size: 0 });
          else this.conn.sendMsg(MatoanDownloadInfo, { $v: 'error', status: 0xff });
          return;
        }
        this.conn.sendMsg(MatoanDownloadInfo, { $v: 'ok', size: fstatSync(this.files.meta).size });
        return;
      }
      case ANTOMA_DOWNLOAD_REQUEST: {
        const v = this.dec(AntomaDownloadRequest, p);
        if (!v) return;
        if (this.files.meta < 0) return this.conn.kill('ANTOMA_DOWNLOAD_REQUEST', 'file not opened');
        if (v.leng > MAX_DOWNLOAD) return this.conn.kill('ANTOMA_DOWNLOAD_REQUEST', `length ${v.leng} too big`);
        const data = Buffer.allocUnsafe(v.leng);
        const got = readSync(this.files.meta, data, 0, v.leng, v.offset);
        if (got !== v.leng) return this.conn.kill('ANTOMA_DOWNLOAD_REQUEST', 'error reading metafile');
        this.conn.sendMsg(MatoanDownloadData, { offset: v.offset, leng: v.leng, crc: zlibCrc32(data), data });
        return;
      }
      case ANTOMA_DOWNLOAD_END:
        if (!this.dec(AntomaDownloadEnd, p)) return;
        this.closeFile('meta');
        return;
      default:
        this.conn.kill(msgName(type, 'ANTOMA'), 'unknown message');
    }
  }
}

export class MatomlServer {
  private server: Server | undefined;
  private readonly conns = new Set<MlConn>();
  /** Recent changes, for metaloggers that ask from a version. */
  private readonly recent: OldChanges;

  constructor(readonly opts: MatomlOptions) {
    this.recent = new OldChanges(() => this.opts.preserveSeconds * 1000);
  }

  async listen(): Promise<number> {
    const srv = createServer((sock) => this.accept(sock));
    this.server = srv;
    return (await listenTcp(srv, this.opts.host, this.opts.port)).port;
  }

  private accept(sock: Socket): void {
    const log = this.opts.log.child({ link: 'matoml', peer: `${sock.remoteAddress}:${sock.remotePort}` });
    let ml: MlConn | undefined = undefined;
    const conn = new Conn(sock, log, ANTOMA_MAXPACKETSIZE, (t, p) => ml!.packet(t, p), 'ANTOMA', false);
    ml = new MlConn(conn, this);
    this.conns.add(ml);
    conn.keepAlive(3333, 10000, () => conn.send(ANTOAN_NOP_PACKET));
    conn.onClose(() => {
      ml!.closeAll();
      this.conns.delete(ml!);
      if (ml!.follower) this.opts.followers?.gone();
    });
  }

  /** A change was logged with this version (matomlserv_broadcast_logstring). */
  broadcast(version: bigint, text: string): void {
    const data = this.recent.add(version, text, Date.now());
    for (const c of this.conns) if (c.version > 0 && c.sync) c.conn.sendMsg(MatoanMetachangesLog, { $v: 'change', rtype: 0xff, version, data });
  }

  /** The changelog was rotated (0x55). */
  rotate(): void {
    for (const c of this.conns) if (c.version > 0) c.conn.sendMsg(MatoanMetachangesLog, { $v: 'rotate', rtype: 0x55 });
  }

  sendOldChanges(c: MlConn, from: bigint): void {
    const first = this.recent.minVersion;
    if (first === undefined || first > from) return;
    for (const r of this.recent.since(from)) c.conn.sendMsg(MatoanMetachangesLog, { $v: 'change', rtype: 0xff, version: r.version, data: r.data });
  }

  /** MLOG_LIST entries (a hot follower's version word tells its sync state, follow.ts). */
  list(): Array<{ version: number; ip: number }> {
    const f = this.opts.followers;
    return [...this.conns].filter((c) => c.version > 0 && !c.conn.closed).map((c) => ({ version: c.follower && f ? f.listVersion() : c.version, ip: c.conn.peerip }));
  }

  /** Connected hot followers. */
  followerCount(): number {
    let n = 0;
    for (const c of this.conns) if (c.follower && !c.conn.closed) n++;
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.conn.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
