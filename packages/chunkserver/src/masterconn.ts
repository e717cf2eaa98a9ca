import { connect, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import {
  ANTOAN_BAD_COMMAND_SIZE,
  ANTOAN_NOP,
  ANTOAN_NOP_PACKET,
  ANTOAN_UNKNOWN_COMMAND,
  ANTOCS_GET_CHUNK_BLOCKS,
  ANTOCS_GET_CHUNK_CHECKSUM,
  ANTOCS_GET_CHUNK_CHECKSUM_TAB,
  CstomaChunkDamaged,
  CstomaChunkLost,
  CstomaChunkNew,
  CstomaCurrentLoad,
  CstomaErrorOccurred,
  CstomaLabels,
  CstomaRegister,
  CstomaSpace,
  MATOCS_CHUNKOP,
  MATOCS_CREATE,
  MATOCS_DELETE,
  MATOCS_DUPLICATE,
  MATOCS_DUPTRUNC,
  MATOCS_MASTER_ACK,
  MATOCS_MAXPACKETSIZE,
  MATOCS_REPLICATE,
  MATOCS_SET_VERSION,
  MATOCS_TRUNCATE,
  MatocsMasterAck,
  PacketFramer,
  VERSHEX,
  authCodePasscode,
  versionAtLeast,
  type MessageDef,
  ipToU32,
  u32ToIp,
} from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';
import type { HddSpaceMgr } from './hddspacemgr/index.js';
import { chunkInfoReply } from './csserv.js';
import { masterCommand, type CommandContext } from './mastercmds.js';
import { CS_MASTERIN, CS_MASTEROUT } from './charts.js';
import { packetName } from './names.js';

/** Reports: load every 5 s, space every second (masterconn.c REPORT_*_FREQ). */
const REPORT_LOAD_MS = 5000;
const REPORT_SPACE_MS = 1000;
/** A graceful unregister waits this long for its packet to go out. */
const FORCE_DISCONNECTION_MS = 5000;
const CONNECT_TIMEOUT_MS = 1000;
const LOSTCHUNKLIMIT = 25000;
const NEWCHUNKLIMIT = 25000;
const HLSTATUS_OK = 1;
const HLSTATUS_OVERLOADED = 2;

export interface MasterConnOptions {
  masterHost: string;
  masterPort: string;
  bindHost: string;
  /** MASTER_TIMEOUT after clamping; 0 = the master's choice. */
  timeout: number;
  reconnectDelayS: number;
  /** AUTH_CODE, undefined when not configured. */
  authCode: string | undefined;
  labelMask: number;
  chunksPerPacket: number;
  /** Where chunkserverid.mfs lives (DATA_PATH). */
  dataPath: string;
  /** Our data port as announced to the master (ip 0 = "the address you see"). */
  listen(): { ip: number; port: number };
  /** Jobs in progress and the high-load mark (WORKERS_MAX * 3 / 4). */
  load(): { jobs: number; overloaded: boolean };
  /** A real chunkserver refuses a 127.x master; only tests turn this on. */
  allowLoopbackMaster?: boolean;
  /** The master belongs to another MooseFS instance: MooseFS quits. */
  onFatal(reason: string): void;
  /** The chunkserver's chart counters (charts.ts): link bytes and master commands. */
  charts?: Float64Array;
}

export class MasterConnError extends Error {
  readonly code = 'MFS_CS_MASTERCONN';
  constructor(message: string) {
    super(message);
    this.name = 'MasterConnError';
  }
}

type RegState = 'unregistered' | 'waiting' | 'inprogress' | 'registered';

/** Reads DATA_PATH/chunkserverid.mfs: `csid:16 [metaid:64]` (masterconn_initcsid). */
export async function readCsId(dataPath: string): Promise<{ csid: number; metaId: bigint }> {
  try {
    const b = await readFile(join(dataPath, 'chunkserverid.mfs'));
    return { csid: b.length >= 2 ? b.readUInt16BE(0) : 0, metaId: b.length >= 10 ? b.readBigUInt64BE(2) : 0n };
  } catch {
    return { csid: 0, metaId: 0n };
  }
}

/**
 * The link to the master (mfschunkserver/masterconn.c): registration in stages (BEGIN with space,
 * AUTH_CODE challenge, LABELS, the chunk list in batches each acknowledged by the master, END), then
 * space/load/damaged/lost/new reports and the master's chunk commands. Reconnects every
 * MASTER_RECONNECTION_DELAY seconds after the link drops.
 */
export class MasterConn {
  csid = 0;
  metaId = 0n;
  masterVersion = 0;
  masterIp = 0;
  masterPort = 0;
  registerState: RegState = 'unregistered';
  private sock: Socket | undefined;
  private connected = false;
  private conncnt = 0;
  private timeoutS = 10;
  private lastRead = 0;
  private lastWrite = 0;
  private gotChallenge: Buffer | undefined;
  private pendingChunks: Array<{ id: number; version: number }> = [];
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private reportScheduled = false;
  private readonly log: Logger;
  private bindIp = 0;
  /** Resolves when the next registration completes (tests and start-up wait on it). */
  private registeredWaiters: Array<() => void> = [];

  constructor(
    private readonly opts: MasterConnOptions,
    private readonly hdd: HddSpaceMgr,
    log: Logger,
  ) {
    this.log = log.child({ link: 'master' });
    this.timeoutS = opts.timeout > 0 ? opts.timeout : 10;
    this.cmdCtx.hdd = hdd;
    this.cmdCtx.log = this.log;
  }

  /** Resolves the master, refusing 127.x as MooseFS does, and starts connecting. */
  async start(): Promise<void> {
    const ids = await readCsId(this.opts.dataPath);
    this.csid = ids.csid;
    this.metaId = ids.metaId;
    await this.resolve(true);
    this.hdd.onReport = () => this.scheduleReports();
    this.timers.push(setInterval(() => this.tick(), 250));
    this.timers.push(setInterval(() => this.reportSpace(), REPORT_SPACE_MS));
    this.timers.push(setInterval(() => this.reportLoad(), REPORT_LOAD_MS));
    for (const t of this.timers) t.unref();
    this.connect();
  }

  private async resolve(initial: boolean): Promise<boolean> {
    let ip: number;
    try {
      const r = await lookup(this.opts.masterHost, { family: 4 });
      ip = ipToU32(r.address) ?? 0;
    } catch {
      const m = `master connection module: can't resolve master host/port (${this.opts.masterHost}:${this.opts.masterPort})`;
      if (initial) throw new MasterConnError(m);
      this.log.warn(m);
      return false;
    }
    const port = Number.parseInt(this.opts.masterPort, 10);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      const m = `master connection module: can't resolve master host/port (${this.opts.masterHost}:${this.opts.masterPort})`;
      if (initial) throw new MasterConnError(m);
      this.log.warn(m);
      return false;
    }
    if ((ip & 0xff000000) >>> 0 === 0x7f000000 && !this.opts.allowLoopbackMaster) {
      const m = `master connection module: localhost (${u32ToIp(ip)}) can't be used for connecting with master (use ip address of network controller)`;
      if (initial) throw new MasterConnError(m);
      this.log.warn(m);
      return false;
    }
    this.masterIp = ip;
    this.masterPort = port;
    if (this.opts.bindHost && this.opts.bindHost !== '*') {
      try {
        this.bindIp = ipToU32((await lookup(this.opts.bindHost, { family: 4 })).address) ?? 0;
      } catch {
        this.bindIp = 0;
      }
    } else this.bindIp = 0;
    return true;
  }

  /** New LABELS (reload): sent at once when registered, else with the next registration. */
  setLabels(mask: number): void {
    if (mask === this.opts.labelMask) return;
    this.opts.labelMask = mask;
    if (this.isRegistered) this.send(CstomaLabels, { labelmask: mask });
  }

  get isRegistered(): boolean {
    return this.connected && this.registerState === 'registered';
  }

  /** Resolves once registered (at once if already). */
  registered(): Promise<void> {
    if (this.isRegistered) return Promise.resolve();
    return new Promise((r) => this.registeredWaiters.push(r));
  }

  private connect(): void {
    if (this.stopping || this.sock) return;
    const s = connect({ host: u32ToIp(this.masterIp), port: this.masterPort, ...(this.bindIp ? { localAddress: u32ToIp(this.bindIp) } : {}) });
    this.sock = s;
    const framer = new PacketFramer(MATOCS_MAXPACKETSIZE);
    const myConn = ++this.conncnt;
    const ct = setTimeout(() => {
      this.log.warn('connection timed out');
      s.destroy();
    }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(ct);
      s.setNoDelay(true);
      this.log.info('connected to Master');
      this.connected = true;
      this.lastRead = this.lastWrite = Date.now();
      this.masterVersion = 0;
      this.gotChallenge = undefined;
      this.registerState = 'unregistered';
      this.sendRegister();
    });
    s.on('data', (d: Buffer) => {
      this.lastRead = Date.now();
      if (this.opts.charts) this.opts.charts[CS_MASTERIN]! += d.length;
      const err = framer.push(d, (t, p) => {
        if (this.sock === s && myConn === this.conncnt) this.gotPacket(t, p);
      });
      if (err) this.kill(`Master packet too long: ${err.message}`);
    });
    s.on('error', (e) => this.log.debug({ err: e }, 'master connection error'));
    s.on('close', () => {
      clearTimeout(ct);
      if (this.sock !== s) return;
      if (this.connected) this.log.info('connection was reset by Master');
      this.sock = undefined;
      this.connected = false;
      this.registerState = 'unregistered';
      this.pendingChunks = [];
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    const d = Math.max(1, this.opts.reconnectDelayS) * 1000;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        void this.resolve(false).then((ok) => (ok ? this.connect() : this.scheduleReconnect()));
      },
      d - randomInt(0, Math.max(1, Math.floor(d / 2))),
    );
    this.reconnectTimer.unref();
  }

  private kill(reason: string, type?: number): void {
    this.log.info({ msg_name: type !== undefined ? packetName(type) : undefined }, reason);
    this.sock?.destroy();
  }

  private send<T>(def: MessageDef<T>, v: T): void {
    this.sendRaw(def.encode(v));
  }

  private sendRaw(b: Buffer): void {
    if (!this.sock || !this.connected) return;
    this.lastWrite = Date.now();
    if (this.opts.charts) this.opts.charts[CS_MASTEROUT]! += b.length;
    this.sock.write(b);
  }

  private sendRegister(): void {
    const sp = this.hdd.space();
    const l = this.opts.listen();
    const common = {
      rversion: 60,
      version: VERSHEX,
      ip: l.ip,
      port: l.port,
      timeout: this.opts.timeout,
      csid: this.csid,
      usedspace: BigInt(sp.used),
      totalspace: BigInt(sp.total),
      chunkcount: sp.chunks,
      tdusedspace: BigInt(sp.tdUsed),
      tdtotalspace: BigInt(sp.tdTotal),
      tdchunkcount: sp.tdChunks,
    };
    if (this.gotChallenge && this.opts.authCode !== undefined) {
      this.send(CstomaRegister, { $v: 'beginAuth', ...common, passcode: authCodePasscode(this.gotChallenge, this.opts.authCode) });
    } else this.send(CstomaRegister, { $v: 'begin', ...common });
  }

  private gotPacket(type: number, p: Buffer): void {
    switch (type) {
      case ANTOAN_NOP:
      case ANTOAN_UNKNOWN_COMMAND:
      case ANTOAN_BAD_COMMAND_SIZE:
        return;
      case MATOCS_MASTER_ACK:
        return this.masterAck(p);
      case MATOCS_CREATE:
      case MATOCS_DELETE:
      case MATOCS_SET_VERSION:
      case MATOCS_DUPLICATE:
      case MATOCS_TRUNCATE:
      case MATOCS_DUPTRUNC:
      case MATOCS_CHUNKOP:
      case MATOCS_REPLICATE:
        return masterCommand(this.cmdCtx, type, p);
      case ANTOCS_GET_CHUNK_BLOCKS:
      case ANTOCS_GET_CHUNK_CHECKSUM:
      case ANTOCS_GET_CHUNK_CHECKSUM_TAB: {
        if (p.length !== 12) return this.kill(`${packetName(type)} - wrong size (${p.length}/12)`, type);
        const id = p.readUInt32BE(0) * 0x100000000 + p.readUInt32BE(4);
        const cc = this.conncnt;
        void chunkInfoReply(this.hdd, type, id, p.readUInt32BE(8)).then((b) => {
          if (cc === this.conncnt) this.sendRaw(b);
        });
        return;
      }
      default:
        this.kill(`got unknown message (type:${type})`, type);
    }
  }

  /** Chunk operations and replications in progress (part of the reported load). */
  get jobs(): number {
    return this.cmdCtx.jobs;
  }

  /** What the command handlers need: replies go out only on the connection the command came on. */
  private readonly cmdCtx: CommandContext = {
    hdd: undefined as unknown as HddSpaceMgr,
    log: undefined as unknown as Logger,
    jobs: 0,
    current: () => this.conncnt,
    isCurrent: (cc) => cc === this.conncnt && this.connected,
    send: (b) => this.sendRaw(b),
    kill: (reason, type) => this.kill(reason, type),
    count: (stat, n = 1) => {
      if (this.opts.charts) this.opts.charts[stat]! += n;
    },
  };

  private masterAck(p: Buffer): void {
    const r = MatocsMasterAck.decode(p);
    if (!r.ok) return this.kill(`MATOCS_MASTER_ACK - wrong size (${p.length}/1|5|7|9|15|17|33)`, MATOCS_MASTER_ACK);
    const a = r.value;
    switch (a.$v) {
      case 'ack':
      case 'ackVersion':
      case 'registered':
      case 'registeredMeta': {
        if (a.$v !== 'ack') this.masterVersion = a.version;
        let csid = 0;
        let metaId = 0n;
        if (a.$v === 'registered' || a.$v === 'registeredMeta') {
          if (this.opts.timeout === 0 && a.timeout > 0) this.timeoutS = a.timeout;
          csid = a.csid;
        }
        if (a.$v === 'registeredMeta') {
          metaId = a.metaid;
          if (metaId > 0n && this.metaId > 0n && metaId !== this.metaId) {
            const m = `MATOCS_MASTER_ACK - wrong meta data id (file chunkserverid.mfs:${hex64(this.metaId)} ; received from master:${hex64(metaId)}). Can't connect to master`;
            this.log.warn(m);
            this.stopping = true;
            this.sock?.destroy();
            this.opts.onFatal(m);
            return;
          }
          if (metaId > 0n && this.metaId === 0n && this.hdd.hddMetaId > 0n && metaId !== this.hdd.hddMetaId) {
            const m = `MATOCS_MASTER_ACK - wrong meta data id (files .metaid:${hex64(this.hdd.hddMetaId)} ; received from master:${hex64(metaId)}). Can't connect to master`;
            this.log.warn(m);
            this.stopping = true;
            this.sock?.destroy();
            this.opts.onFatal(m);
            return;
          }
        }
        if (csid > 0 || metaId > 0n) void this.setCsId(csid, metaId);
        if (this.registerState === 'unregistered' || this.registerState === 'waiting') {
          this.pendingChunks = this.hdd.chunkList();
          this.registerState = 'inprogress';
          if (versionAtLeast(this.masterVersion, 2, 1, 0)) this.send(CstomaLabels, { labelmask: this.opts.labelMask });
        }
        if (this.registerState === 'inprogress') this.sendNextChunks();
        return;
      }
      case 'challenge':
        if (this.opts.authCode === undefined) {
          this.log.warn('MATOCS_MASTER_ACK - master needs authorization, but password was not defined');
          this.sock?.destroy();
          return;
        }
        this.gotChallenge = Buffer.from(a.random);
        this.sendRegister();
        return;
      case 'wait':
      case 'waitMeta':
        this.registerState = 'waiting';
        this.masterVersion = a.version;
        if (this.opts.timeout === 0 && a.timeout > 0) this.timeoutS = a.timeout;
        return;
      case 'leader':
        // A Pro follower pointing at the leader; we only know one master address: reconnect.
        this.log.info('masterconn: redirected to other master');
        this.sock?.destroy();
        return;
    }
  }

  private sendNextChunks(): void {
    const n = Math.min(this.opts.chunksPerPacket, this.pendingChunks.length);
    if (n === 0) {
      this.send(CstomaRegister, { $v: 'end', rversion: 62 });
      this.registerState = 'registered';
      this.log.info('registered to master');
      for (const w of this.registeredWaiters.splice(0)) w();
      this.hdd.spaceChanged = true;
      this.scheduleReports();
      return;
    }
    const batch = this.pendingChunks.splice(0, n);
    this.send(CstomaRegister, { $v: 'chunks', rversion: 61, chunks: batch.map((c) => ({ chunkid: c.id, version: c.version })) });
  }

  private async setCsId(csid: number, metaId: bigint): Promise<void> {
    if (csid === this.csid && (metaId === 0n || metaId === this.metaId)) return;
    if (csid > 0) this.csid = csid;
    if (metaId > 0n) this.metaId = metaId;
    const b = Buffer.alloc(10);
    b.writeUInt16BE(this.csid, 0);
    b.writeBigUInt64BE(this.metaId, 2);
    try {
      await writeFile(join(this.opts.dataPath, 'chunkserverid.mfs'), b, { mode: 0o666 });
    } catch (e) {
      this.log.warn({ err: e }, "can't store chunkserver id");
    }
    if (this.metaId > 0n) await this.hdd.setMetaId(this.metaId);
  }

  private tick(): void {
    if (!this.connected || !this.sock) return;
    const now = Date.now();
    if (now - this.lastWrite > 1000 && this.sock.writableLength === 0) this.sendRaw(ANTOAN_NOP_PACKET);
    if (now - this.lastRead > this.timeoutS * 1000) this.kill('masterconn: connection timed out');
  }

  private scheduleReports(): void {
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    setImmediate(() => {
      this.reportScheduled = false;
      this.sendReports();
    });
  }

  /** masterconn_check_hdd_reports: errors, damaged, lost and new chunks. */
  private sendReports(): void {
    if (!this.isRegistered) return;
    const h = this.hdd;
    for (; h.errorCount > 0; h.errorCount--) this.send(CstomaErrorOccurred, {});
    if (h.damaged.length > 0) this.send(CstomaChunkDamaged, { chunks: h.damaged.splice(0) });
    while (h.lost.length > 0) this.send(CstomaChunkLost, { chunks: h.lost.splice(0, LOSTCHUNKLIMIT) });
    while (h.newChunks.length > 0) this.send(CstomaChunkNew, { chunks: h.newChunks.splice(0, NEWCHUNKLIMIT).map((c) => ({ chunkid: c.id, version: c.version })) });
  }

  private reportSpace(): void {
    if (!this.connected || (this.registerState !== 'registered' && this.registerState !== 'inprogress')) return;
    if (!this.hdd.spaceChanged) return;
    this.hdd.spaceChanged = false;
    const s = this.hdd.space();
    this.send(CstomaSpace, {
      $v: 'full',
      usedspace: BigInt(s.used),
      totalspace: BigInt(s.total),
      chunkcount: s.chunks,
      tdusedspace: BigInt(s.tdUsed),
      tdtotalspace: BigInt(s.tdTotal),
      tdchunkcount: s.tdChunks,
    });
  }

  private reportLoad(): void {
    if (!this.isRegistered || !versionAtLeast(this.masterVersion, 1, 6, 28)) return;
    const l = this.opts.load();
    if (versionAtLeast(this.masterVersion, 3, 0, 7)) {
      this.send(CstomaCurrentLoad, { $v: 'full', load: l.jobs + this.jobs, hlstatus: l.overloaded ? HLSTATUS_OVERLOADED : HLSTATUS_OK });
    } else this.send(CstomaCurrentLoad, { $v: 'old', load: l.jobs + this.jobs });
  }

  /** Graceful stop: REGISTER 63 (masters >= 3.0.75) and close once it is sent (at most 5 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const s = this.sock;
    if (!s) return;
    if (this.isRegistered && versionAtLeast(this.masterVersion, 3, 0, 75)) {
      this.log.info('sending unregister command ...');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, FORCE_DISCONNECTION_MS);
        t.unref();
        s.write(CstomaRegister.encode({ $v: 'disconnect', rversion: 63 }), () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.sock = undefined;
    this.connected = false;
    s.destroy();
  }
}

function hex64(v: bigint): string {
  return v.toString(16).toUpperCase().padStart(16, '0');
}
