import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { connect, isIPv4, type Socket } from 'node:net';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '@mfs-ts/common';
import {
  ANTOAN_BAD_COMMAND_SIZE,
  ANTOAN_NOP,
  ANTOAN_UNKNOWN_COMMAND,
  AntoanNop,
  AntomaDownloadEnd,
  AntomaDownloadRequest,
  AntomaDownloadStart,
  AntomaRegister,
  MATOAN_DOWNLOAD_DATA,
  MATOAN_DOWNLOAD_INFO,
  MATOAN_MAXPACKETSIZE,
  MATOAN_METACHANGES_LOG,
  MatoanDownloadData,
  MatoanDownloadInfo,
  MatoanMetachangesLog,
  PacketFramer,
  VERSHEX,
} from '@mfs-ts/protocol';
import { ChangelogMl, renameQuiet } from './changelog.js';
import type { MetaloggerSettings } from './cfg.js';
import { checkMetadataFile, DOWNLOAD_TARGETS, installMetadata, ML_FILE_METADATA, nextInChain, type DownloadTarget } from './metafiles.js';

/** Largest block asked for in one ANTOMA_DOWNLOAD_REQUEST (META_DL_BLOCK in masterconn.c). */
export const META_DL_BLOCK = Math.min(MATOAN_MAXPACKETSIZE - 1000, 1_000_000);
/** A connection attempt that has not completed after this long is abandoned (masterconn_serve). */
export const CONNECT_TIMEOUT_MS = 1000;
/** A block that fails its CRC (or cannot be written) is asked for again this many times. */
export const DOWNLOAD_RETRIES = 5;

export type LinkState = 'free' | 'connecting' | 'data';

export interface DownloadedInfo {
  filenum: number;
  label: string;
  /** The name the file got (undefined: the metadata check refused it, so it stayed as the tmp file). */
  installedAs: string | undefined;
  size: number;
  ms: number;
}

/** Events of the link (all synchronous with the input that caused them). */
export interface MasterConnEvents {
  connected: [{ master: string }];
  disconnected: [{ reason: string }];
  record: [{ version: number }];
  rotate: [];
  lost: [{ from: number; to: number }];
  downloaded: [DownloadedInfo];
  downloadFailed: [{ filenum: number; reason: string }];
}

const NOP_PACKET = AntoanNop.encode({ $v: 'empty' });

type WriteLoss = { error: Error; lost: number } | undefined;

/**
 * Where the streamed changes go: ChangelogMl (changelog_ml.0.mfs) for a metalogger; a hot follower
 * (packages/failover) passes its own, which applies each change to a namespace and logs it as a
 * master does. `flush` runs at the end of each batch of input.
 */
export interface ChangeSink {
  append(version: number, text: Buffer): void;
  flush(): WriteLoss;
  close(): WriteLoss;
  rotate(backLogs: number): WriteLoss;
  removeAll(backLogs: number): void;
}

export interface MasterConnHooks {
  /** Replaces changelog_ml.N.mfs as the destination of the change stream. */
  sink?: ChangeSink;
  /**
   * Packets the metalogger does not know (a follower's mfs-ts extensions, ANTOAN_CONFIG_VALUE):
   * return true if handled; otherwise the link is dropped as for any unknown message.
   */
  packet?: (type: number, payload: Buffer) => boolean;
}

interface Download {
  target: DownloadTarget;
  fd: number | undefined;
  size: number;
  offset: number;
  retries: number;
  startMs: number;
}

/**
 * The metalogger's link to the master (the role of mfsmetalogger/masterconn.c): register, write the
 * streamed changes to changelog_ml.0.mfs, rotate on the master's rotate record, and download
 * metadata.mfs.back and changelog.0/1.mfs when asked. One connection at a time; the owner
 * (Metalogger) decides when to connect and when to download, and calls tick() for keepalive and
 * timeout.
 */
export class MasterConn extends EventEmitter<MasterConnEvents> {
  state: LinkState = 'free';
  /** Version of the last change written (0 = none yet, or started over after a gap). */
  lastLogVersion = 0;
  readonly changelog: ChangeSink;

  private sock: Socket | undefined;
  private framer: PacketFramer | undefined;
  private masterIp: string | undefined;
  private bindIp: string | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private lastRead = 0;
  private lastWrite = 0;
  private dl: Download | undefined;
  /** filenum being downloaded (0 = none), as `downloading` in masterconn.c; set from START to END. */
  private downloading = 0;
  private log: Logger;
  private peerLog: Logger;

  constructor(
    private s: MetaloggerSettings,
    log: Logger,
    private readonly hooks: MasterConnHooks = {},
  ) {
    super();
    this.log = log;
    this.peerLog = log;
    this.changelog = hooks.sink ?? new ChangelogMl(s.dataPath, 0o666 & ~s.fileUmask);
  }

  /** Sends a packet on the live link (a follower's extensions); false when not connected. */
  sendPacket(packet: Buffer): boolean {
    if (this.state !== 'data') return false;
    this.send(packet);
    return true;
  }

  /** The logger bound to the current master (its address). */
  get linkLog(): Logger {
    return this.peerLog;
  }

  get downloadingFile(): number {
    return this.downloading;
  }

  /** New settings (reload): the master address is resolved again, and a live link is dropped. */
  updateSettings(s: MetaloggerSettings): void {
    this.s = s;
    this.masterIp = undefined;
    if (this.state !== 'free') this.kill('configuration reloaded');
  }

  /**
   * One connection attempt. Resolves false if the master's name does not resolve (the attempt is not
   * made), true once the attempt is under way; how it ends is reported by events and `state`.
   */
  async connect(): Promise<boolean> {
    if (this.state !== 'free') return true;
    this.state = 'connecting';
    if (this.masterIp === undefined) {
      this.bindIp = this.s.bindHost === undefined ? undefined : await resolve4(this.s.bindHost);
      const ip = await resolve4(this.s.masterHost);
      if (this.state !== 'connecting') return false; // stopped meanwhile
      if (ip === undefined) {
        this.state = 'free';
        this.log.warn({ master: this.s.masterHost, port: this.s.masterPort }, `can't resolve master host/port (${this.s.masterHost}:${this.s.masterPort})`);
        return false;
      }
      this.masterIp = ip;
    }
    const master = `${this.masterIp}:${this.s.masterPort}`;
    this.peerLog = this.log.child({ peer: master });
    const sock = connect({ host: this.masterIp, port: this.s.masterPort, localAddress: this.bindIp, family: 4 });
    this.sock = sock;
    this.connectTimer = setTimeout(() => {
      if (this.sock !== sock || this.state !== 'connecting') return;
      this.peerLog.warn('connection timed out');
      this.dropAttempt();
    }, CONNECT_TIMEOUT_MS);
    sock.once('connect', () => this.onConnected(sock, master));
    sock.on('error', (e) => {
      if (this.sock !== sock) return;
      if (this.state === 'connecting') {
        this.peerLog.warn({ err: e.message }, 'connection failed, error');
        this.dropAttempt();
      } else this.kill(`read from Master error: ${e.message}`);
    });
    sock.on('data', (chunk: Buffer) => this.onData(sock, chunk));
    sock.on('end', () => {
      if (this.sock === sock && this.state === 'data') this.kill('connection was reset by Master');
    });
    sock.on('close', () => {
      if (this.sock === sock && this.state === 'data') this.kill('connection was reset by Master');
    });
    return true;
  }

  /** Asks for a download chain starting at `filenum` (1 = metadata, then 11 and 12) if none is running. */
  downloadInit(filenum: number): boolean {
    if (this.state !== 'data' || this.downloading !== 0) return false;
    this.send(AntomaDownloadStart.encode({ filenum }));
    this.downloading = filenum;
    return true;
  }

  /** Keepalive and timeout, called often (a few times a second) by the owner. */
  tick(nowS = monotonicS()): void {
    if (this.state !== 'data' || !this.sock) return;
    if (this.lastRead + this.s.timeout < nowS) {
      this.kill(`timeout: nothing from Master for ${this.s.timeout}s`);
      return;
    }
    if (this.lastWrite + this.s.timeout / 3 < nowS && this.sock.writableLength === 0) this.send(NOP_PACKET);
  }

  /** Drops the link (a bad packet, a timeout, the master gone, stop). */
  kill(reason: string): void {
    if (this.state === 'free') return;
    const wasData = this.state === 'data';
    this.beforeClose();
    const sock = this.sock;
    this.sock = undefined;
    this.framer = undefined;
    this.state = 'free';
    clearTimeout(this.connectTimer);
    sock?.destroy();
    if (wasData) {
      this.peerLog.info({ reason }, reason);
      this.emit('disconnected', { reason });
    }
  }

  /** Stop: close the link and the files. */
  close(): void {
    this.kill('terminating');
    this.reportLost(this.changelog.close());
  }

  // ------------------------------------------------------------------------------------------------

  private dropAttempt(): void {
    clearTimeout(this.connectTimer);
    this.sock?.destroy();
    this.sock = undefined;
    this.state = 'free';
    this.masterIp = undefined; // resolve again next time: the master may have moved
  }

  private onConnected(sock: Socket, master: string): void {
    if (this.sock !== sock || this.state !== 'connecting') return;
    clearTimeout(this.connectTimer);
    sock.setNoDelay(true);
    this.state = 'data';
    this.framer = new PacketFramer(MATOAN_MAXPACKETSIZE);
    this.lastRead = this.lastWrite = monotonicS();
    this.downloading = 0;
    this.dl = undefined;
    this.peerLog.info('connected to Master');
    // masterconn_sendregister: with a log position the master can resend what we missed.
    if (this.lastLogVersion > 0) {
      this.send(AntomaRegister.encode({ $v: 'v2', rversion: 2, version: VERSHEX, timeout: this.s.timeout, minversion: BigInt(this.lastLogVersion + 1) }));
    } else {
      this.send(AntomaRegister.encode({ $v: 'v1', rversion: 1, version: VERSHEX, timeout: this.s.timeout }));
    }
    this.emit('connected', { master });
    if (this.lastLogVersion === 0) this.downloadInit(ML_FILE_METADATA);
  }

  private onData(sock: Socket, chunk: Buffer): void {
    if (this.sock !== sock || this.state !== 'data' || !this.framer) return;
    this.lastRead = monotonicS();
    const err = this.framer.push(chunk, this.onPacket);
    this.reportLost(this.changelog.flush());
    if (err && this.state === 'data') {
      this.peerLog.warn({ err: err.message }, `Master packet too long (${err.message})`);
      this.kill('packet too long');
    }
  }

  private onPacket = (type: number, payload: Buffer): void => {
    if (this.state !== 'data') return;
    switch (type) {
      case ANTOAN_NOP:
      case ANTOAN_UNKNOWN_COMMAND:
      case ANTOAN_BAD_COMMAND_SIZE:
        return;
      case MATOAN_METACHANGES_LOG:
        return this.onMetachanges(payload);
      case MATOAN_DOWNLOAD_INFO:
        return this.onDownloadInfo(payload);
      case MATOAN_DOWNLOAD_DATA:
        return this.onDownloadData(payload);
      default:
        if (this.hooks.packet?.(type, payload)) return;
        this.bad('UNKNOWN', `got unknown message (type:${type})`);
    }
  };

  private bad(msgName: string, message: string): void {
    this.peerLog.warn({ msg_name: msgName }, message);
    this.kill(`bad packet: ${message}`);
  }

  private onMetachanges(payload: Buffer): void {
    const r = MatoanMetachangesLog.decode(payload);
    if (!r.ok) {
      this.bad('MATOAN_METACHANGES_LOG', payload.length < 10 ? `MATOAN_METACHANGES_LOG - wrong size (${payload.length}/9+data)` : 'MATOAN_METACHANGES_LOG - wrong packet');
      return;
    }
    const m = r.value;
    if (m.$v === 'rotate') {
      this.reportLost(this.changelog.rotate(this.s.backLogs));
      this.emit('rotate');
      return;
    }
    if (payload.length < 10) return this.bad('MATOAN_METACHANGES_LOG', `MATOAN_METACHANGES_LOG - wrong size (${payload.length}/9+data)`);
    if (payload[payload.length - 1] !== 0) return this.bad('MATOAN_METACHANGES_LOG', 'MATOAN_METACHANGES_LOG - invalid string');
    const version = Number(m.version);
    if (this.lastLogVersion > 0 && version !== this.lastLogVersion + 1) {
      // A hole (or a repeat): what we hold can no longer be continued. Start over from a new download.
      this.peerLog.warn({ msg_name: 'MATOAN_METACHANGES_LOG' }, `some changes lost: [${this.lastLogVersion}-${version - 1}], download metadata again`);
      this.emit('lost', { from: this.lastLogVersion, to: version - 1 });
      this.changelog.removeAll(this.s.backLogs);
      this.lastLogVersion = 0;
      this.kill('changes lost');
      return;
    }
    this.changelog.append(version, m.data);
    this.lastLogVersion = version;
    this.emit('record', { version });
  }

  private onDownloadInfo(payload: Buffer): void {
    const r = MatoanDownloadInfo.decode(payload);
    if (!r.ok) return this.bad('MATOAN_DOWNLOAD_INFO', `MATOAN_DOWNLOAD_INFO - wrong size (${payload.length}/1|8)`);
    if (r.value.$v === 'error') {
      const filenum = this.downloading;
      this.downloading = 0;
      this.peerLog.info({ msg_name: 'MATOAN_DOWNLOAD_INFO', filenum, status: r.value.status }, 'download start error');
      this.emit('downloadFailed', { filenum, reason: 'download start error' });
      return;
    }
    const target = DOWNLOAD_TARGETS[this.downloading];
    if (!target) return this.bad('MATOAN_DOWNLOAD_INFO', 'unexpected MATOAN_DOWNLOAD_INFO packet');
    this.closeDownloadFile();
    let fd: number | undefined;
    try {
      fd = openSync(join(this.s.dataPath, target.tmpName), 'w', 0o666 & ~this.s.fileUmask);
    } catch (e) {
      this.peerLog.warn({ err: (e as Error).message, file: target.tmpName }, 'error opening metafile');
      this.endDownload(false);
      this.emit('downloadFailed', { filenum: target.filenum, reason: 'error opening metafile' });
      return;
    }
    this.dl = { target, fd, size: r.value.size, offset: 0, retries: 0, startMs: performance.now() };
    this.downloadNext();
  }

  private onDownloadData(payload: Buffer): void {
    const dl = this.dl;
    if (!dl || dl.fd === undefined) return this.bad('MATOAN_DOWNLOAD_DATA', 'MATOAN_DOWNLOAD_DATA - file not opened');
    if (payload.length < 16) return this.bad('MATOAN_DOWNLOAD_DATA', `MATOAN_DOWNLOAD_DATA - wrong size (${payload.length}/16+data)`);
    const r = MatoanDownloadData.decode(payload);
    if (!r.ok) return this.bad('MATOAN_DOWNLOAD_DATA', `MATOAN_DOWNLOAD_DATA - ${r.error.message}`);
    const { offset, leng, crc, data } = r.value;
    if (leng !== data.length) return this.bad('MATOAN_DOWNLOAD_DATA', `MATOAN_DOWNLOAD_DATA - wrong size (${payload.length}/16+${leng})`);
    if (offset !== dl.offset) return this.bad('MATOAN_DOWNLOAD_DATA', `MATOAN_DOWNLOAD_DATA - unexpected file offset (${offset}/${dl.offset})`);
    if (offset + leng > dl.size) return this.bad('MATOAN_DOWNLOAD_DATA', `MATOAN_DOWNLOAD_DATA - unexpected file size (${offset + leng}/${dl.size})`);
    let problem: string | undefined;
    if (crc32(data) >>> 0 !== crc) problem = 'metafile data crc error';
    else {
      try {
        let done = 0;
        while (done < leng) done += writeSync(dl.fd, data, done, leng - done, offset + done);
        fsyncSync(dl.fd);
      } catch (e) {
        problem = `error writing metafile: ${(e as Error).message}`;
      }
    }
    if (problem) {
      this.peerLog.warn({ msg_name: 'MATOAN_DOWNLOAD_DATA', file: dl.target.tmpName, offset, retry: dl.retries }, problem);
      if (dl.retries >= DOWNLOAD_RETRIES) {
        const filenum = dl.target.filenum;
        this.endDownload(false);
        this.emit('downloadFailed', { filenum, reason: problem });
      } else {
        dl.retries++;
        this.downloadNext(); // the same block again
      }
      return;
    }
    dl.offset += leng;
    dl.retries = 0;
    this.downloadNext();
  }

  private downloadNext(): void {
    const dl = this.dl!;
    if (dl.offset < dl.size) {
      this.send(AntomaDownloadRequest.encode({ offset: dl.offset, leng: Math.min(dl.size - dl.offset, META_DL_BLOCK) }));
      return;
    }
    const target = dl.target;
    if (!this.endDownload(true)) return;
    const ms = performance.now() - dl.startMs;
    this.peerLog.info({ file: target.label, size: dl.size, ms: Math.round(ms) }, `${target.label} downloaded ${dl.size}B/${(ms / 1000).toFixed(6)}s (${(dl.size / Math.max(ms * 1000, 1)).toFixed(3)} MB/s)`);
    let installedAs: string | undefined;
    const dir = this.s.dataPath;
    if (target.filenum === ML_FILE_METADATA) {
      const chk = checkMetadataFile(join(dir, target.tmpName));
      if (chk.ok) {
        if (chk.version !== undefined) this.peerLog.info({ version: chk.version, metaid: chk.metaid?.toString(16) }, `meta data version: ${chk.version}, meta data id: 0x${chk.metaid!.toString(16).toUpperCase().padStart(16, '0')}`);
        if (installMetadata(dir, target.tmpName, this.s.backMetaCopies)) installedAs = target.finalName;
        else this.peerLog.warn("can't rename downloaded metadata - do it manually before next download");
      } else if (chk.reason !== 'new') {
        this.peerLog.warn({ reason: chk.reason }, chk.reason === 'truncated' ? 'truncated metadata file !!!' : chk.reason === 'bad-header' ? 'bad metadata file format' : "can't read downloaded metadata");
      }
    } else if (renameQuiet(join(dir, target.tmpName), join(dir, target.finalName))) installedAs = target.finalName;
    else this.peerLog.warn("can't rename downloaded changelog - do it manually before next download");
    this.emit('downloaded', { filenum: target.filenum, label: target.label, installedAs, size: dl.size, ms });
    const next = nextInChain(target.filenum);
    if (next !== undefined) this.downloadInit(next);
  }

  /** ANTOMA_DOWNLOAD_END and close the file; `keep` false also removes the partial tmp file. */
  private endDownload(keep: boolean): boolean {
    const dl = this.dl;
    this.downloading = 0;
    this.send(AntomaDownloadEnd.encode({}));
    let ok = true;
    if (dl?.fd !== undefined) {
      try {
        closeSync(dl.fd);
      } catch (e) {
        this.peerLog.warn({ err: (e as Error).message }, 'error closing metafile');
        ok = false;
      }
      dl.fd = undefined;
      if (!keep) unlinkIn(this.s.dataPath, dl.target.tmpName);
    }
    this.dl = undefined;
    return ok;
  }

  private closeDownloadFile(): void {
    if (this.dl?.fd !== undefined) {
      try {
        closeSync(this.dl.fd);
      } catch {
        // nothing to save
      }
    }
    this.dl = undefined;
  }

  /** masterconn_beforeclose: an unfinished download leaves no tmp file behind; the log is closed. */
  private beforeClose(): void {
    if (this.dl?.fd !== undefined) {
      this.closeDownloadFile();
      unlinkIn(this.s.dataPath, 'metadata_ml.tmp');
      unlinkIn(this.s.dataPath, 'changelog_ml.tmp');
    }
    this.dl = undefined;
    this.downloading = 0;
    this.reportLost(this.changelog.close());
  }

  /**
   * Lines that could not be written leave a hole in changelog_ml. 3.0.117 notices it at the next record
   * (version != last+1) and starts over: it drops its changelogs, reconnects and downloads anew. We do
   * the same at once.
   */
  private reportLost(r: { error: Error; lost: number } | undefined): void {
    if (!r) return;
    this.peerLog.error({ err: r.error.message, lost: r.lost }, `can't write changelog_ml.0.mfs: ${r.lost} changes lost`);
    if (this.lastLogVersion > 0 && r.lost > 0) {
      this.peerLog.warn(`some changes lost (up to ${this.lastLogVersion}), download metadata again`);
      this.changelog.removeAll(this.s.backLogs);
      this.lastLogVersion = 0;
      this.kill('changes lost (changelog write error)');
    }
  }

  private send(packet: Buffer): void {
    if (!this.sock || this.state !== 'data') return;
    this.sock.write(packet);
    this.lastWrite = monotonicS();
  }
}

function monotonicS(): number {
  return performance.now() / 1000;
}

async function resolve4(host: string): Promise<string | undefined> {
  if (isIPv4(host)) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return undefined;
  }
}

function unlinkIn(dir: string, name: string): void {
  try {
    unlinkSync(join(dir, name));
  } catch {
    // not there
  }
}
