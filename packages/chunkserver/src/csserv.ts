import { createServer, type Server, type Socket } from 'node:net';
import {
  ANTOAN_BAD_COMMAND_SIZE,
  ANTOAN_GET_CONFIG,
  ANTOAN_GET_VERSION,
  ANTOAN_NOP,
  ANTOAN_NOP_PACKET,
  ANTOAN_UNKNOWN_COMMAND,
  ANTOCS_GET_CHUNK_BLOCKS,
  ANTOCS_GET_CHUNK_CHECKSUM,
  ANTOCS_GET_CHUNK_CHECKSUM_TAB,
  AntoanConfigValue,
  AntoanGetConfig,
  AntoclChart,
  AntoclChartData,
  AntoclMonotonicData,
  CltoanChart,
  CltoanChartData,
  CLTOAN_MONOTONIC_DATA,
  AntoclModuleInfo,
  AntoanVersion,
  CLTOAN_CHART,
  CLTOAN_CHART_DATA,
  CLTOAN_MODULE_INFO,
  CLTOCS_HDD_LIST,
  CLTOCS_READ,
  CLTOCS_WRITE,
  CLTOCS_WRITE_DATA,
  CLTOCS_WRITE_FINISH,
  CSTOCL_HDD_LIST,
  CSTOCS_MAXPACKETSIZE,
  CstoanChunkBlocks,
  CstoanChunkChecksum,
  CstoanChunkChecksumTab,
  PacketFramer,
  VERSHEX,
  VERSSTR,
  type PacketHandler,
} from '@mfs-ts/protocol';
import { chartDataPacket, chartPacket, listenTcp, monotonicPacket, type ChartsData, type Logger } from '@mfs-ts/common';
import { CS_CSSERVIN, CS_CSSERVOUT, CS_HLOPR, CS_HLOPW } from './charts.js';
import type { HddSpaceMgr } from './hddspacemgr/index.js';
import { getChunkBlocks, getChunkChecksum, getChunkChecksumTab } from './hddspacemgr/chunkops.js';
import { diskInfo, diskMonotonic } from './hddspacemgr/diskinfo.js';
import { serveRead } from './mainserv/read.js';
import { serveWrite } from './mainserv/write.js';
import { packetName } from './names.js';
import { BufferPool } from './hddspacemgr/bufpool.js';

/** With protocol version 1 a slow read is kept alive with a NOP every second (mainserv.c). */
const READ_NOP_INTERVAL_MS = 1000;
/** Idle data connections are closed after this much silence; a NOP goes out after a third of it (csserv.c). */
export const CSSERV_TIMEOUT_MS = 5000;
const MODULE_TYPE_CHUNKSERVER = 2;

export interface CsServDeps {
  hdd: HddSpaceMgr;
  log: Logger;
  /** ANTOAN_GET_CONFIG: the config value as a string ('' when unknown). */
  cfgValue(name: string): string;
  /** For CLTOAN_MODULE_INFO: our csid, metaid and the master we are registered with. */
  moduleInfo(): { csid: number; metaId: bigint; masterIp: number; masterPort: number };
  /** Jobs in progress (reported to the master as load). */
  jobs: { count: number };
  /** The chunkserver's charts (CLTOAN_CHART*; data port bytes and high-level ops are counted here). */
  charts?: ChartsData;
}

/**
 * Makes `sock` read into `buf` and call `cb(bytes, buf)` for each read instead of emitting 'data'
 * with a new buffer per read (what net.Socket's `onread` option does for sockets we create; an
 * accepted socket has no such option, so it is set up the same way here). The socket must not
 * have started reading (server `pauseOnConnect`). Returns false, leaving the socket as it was,
 * where this Node has no such hook.
 */
export function readInto(sock: Socket, buf: Buffer, cb: (n: number, buf: Buffer) => void): boolean {
  const handle = (sock as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  const syms = Object.getOwnPropertySymbols(sock);
  const kBuffer = syms.find((x) => x.description === 'kBuffer');
  const kBufferCb = syms.find((x) => x.description === 'kBufferCb');
  if (typeof handle?.useUserBuffer !== 'function' || !kBuffer || !kBufferCb) return false;
  const slots = sock as unknown as Record<symbol, unknown>;
  slots[kBuffer] = buf;
  slots[kBufferCb] = cb;
  handle.useUserBuffer(buf);
  return true;
}

/** Shared by every connection: buffers for outgoing READ_DATA packets and incoming WRITE_DATA copies. */
export class DataBuffers {
  /** Where every data connection's socket reads land (see readInto). */
  readonly read = Buffer.allocUnsafe(256 * 1024);
  /** 28-byte READ_DATA header + 64 KiB. */
  readonly packets = new BufferPool(28 + 65536, 128);
  /** 8-byte header + 24-byte WRITE_DATA fields + 64 KiB (a whole packet, forwardable as is). */
  readonly writes = new BufferPool(32 + 65536, 256);
}

/**
 * One connection on the data port (csserv.c `csserventry`): idle packets are dispatched here; a READ
 * or WRITE hands the connection to a session (mainserv.c) until it ends, then it is idle again or
 * closed.
 */
export class CsConn {
  readonly framer = new PacketFramer(CSTOCS_MAXPACKETSIZE);
  readonly log: Logger;
  state: 'idle' | 'busy' | 'closed' = 'idle';
  lastRead = Date.now();
  lastWrite = Date.now();
  /** While a session runs, packets go here. */
  private session: PacketHandler | undefined;
  private sessionEnd: (() => void) | undefined;
  private queued: Array<{ type: number; payload: Buffer }> = [];
  /** Set by a read session with protocol 1: tick() sends NOPs while it runs. */
  readKeepalive = false;
  private readonly counters: Float64Array | undefined;

  constructor(
    readonly sock: Socket,
    readonly deps: CsServDeps,
    readonly bufs: DataBuffers,
    private readonly onClose: (c: CsConn) => void,
  ) {
    this.log = deps.log.child({ peer: `${sock.remoteAddress}:${sock.remotePort}` });
    this.counters = deps.charts?.counters;
    sock.setNoDelay(true);
    // Reads land in one buffer shared by every connection (each read is handled before the next),
    // so no buffer is allocated per read; packets are then views of it, valid only during the
    // callback (unstable: whatever must outlive it is copied, a reassembled one can be adopted).
    if (!readInto(sock, bufs.read, this.onRead)) sock.on('data', (d: Buffer) => this.received(d, this.onFramed));
    sock.on('error', (e) => this.log.debug({ err: e }, 'data connection error'));
    sock.on('close', () => this.closed());
    sock.resume();
  }

  private readonly onRead = (n: number, buf: Buffer): void => this.received(buf.subarray(0, n), this.onShared);
  private readonly onFramed = (t: number, p: Buffer, stable: boolean): void => this.onPacket(t, p, stable);
  private readonly onShared = (t: number, p: Buffer): void => this.onPacket(t, p, false);

  private received(d: Buffer, onPacket: PacketHandler): void {
    this.lastRead = Date.now();
    if (this.counters) this.counters[CS_CSSERVIN]! += d.length;
    const err = this.framer.push(d, onPacket);
    if (err) this.kill(`(read) packet too long: ${err.message}`);
  }

  get hdd(): HddSpaceMgr {
    return this.deps.hdd;
  }

  send(buf: Buffer, cb?: () => void): boolean {
    if (this.state === 'closed') {
      cb?.();
      return false;
    }
    this.lastWrite = Date.now();
    if (this.counters) this.counters[CS_CSSERVOUT]! += buf.length;
    return this.sock.write(buf, cb ? () => cb() : undefined);
  }

  /** Resolves when the socket can take more (back-pressure for data streams). */
  drained(): Promise<void> {
    if (!this.sock.writableNeedDrain || this.state === 'closed') return Promise.resolve();
    return new Promise((r) => {
      const done = (): void => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        r();
      };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  }

  /** Closes the connection, logging why with the packet's name. */
  kill(reason: string, type?: number): void {
    if (this.state === 'closed') return;
    this.log.info({ msg_name: type !== undefined ? packetName(type) : undefined }, reason);
    this.destroy();
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.sock.destroy();
    this.closed();
  }

  private closed(): void {
    const end = this.sessionEnd;
    this.session = undefined;
    this.sessionEnd = undefined;
    if (this.state !== 'closed') this.state = 'closed';
    end?.();
    this.onClose(this);
  }

  /** Routes packets to a session; `onEnd` runs if the connection closes under it. */
  attach(handler: PacketHandler, onEnd: () => void): void {
    this.session = handler;
    this.sessionEnd = onEnd;
  }

  /**
   * The session has said its last word (final status sent) but still cleans up (disk, chunk close):
   * from now on packets are kept for after `detach`, not fed to the finished session. A client may
   * send its next request as soon as it has the final status (mfsmount and ours reuse the link at
   * once), and that request must not be lost.
   */
  unroute(): void {
    this.session = undefined;
    this.sessionEnd = undefined;
  }

  /** Ends the session: idle again (`keep`) or closed. Packets that arrived meanwhile are processed. */
  detach(keep: boolean): void {
    this.session = undefined;
    this.sessionEnd = undefined;
    this.deps.jobs.count--;
    if (!keep) {
      this.destroy();
      return;
    }
    if (this.state === 'closed') return;
    this.state = 'idle';
    this.lastRead = Date.now();
    this.runQueued();
  }

  /** Queued packets, in order: requests while idle; a request that starts a session gets the packets behind it. */
  private runQueued(): void {
    while (this.state !== 'closed' && this.queued.length > 0) {
      if (!this.session && this.state !== 'idle') break; // a session that already finished: the rest waits for its detach
      const p = this.queued.shift()!;
      if (this.session) this.session(p.type, p.payload, true);
      else this.dispatch(p.type, p.payload, true);
    }
  }

  private onPacket(type: number, payload: Buffer, stable: boolean): void {
    if (this.state === 'closed') return;
    if (this.session) {
      this.session(type, payload, stable);
      return;
    }
    if (this.state === 'busy') {
      // A request sent before the previous one ended: keep it for later (MooseFS would drop the link).
      if (type === ANTOAN_NOP) return;
      this.queued.push({ type, payload: stable ? payload : Buffer.from(payload) });
      if (this.queued.length > 16) this.kill('too many pipelined requests', type);
      return;
    }
    this.dispatch(type, payload, stable);
  }

  private begin(): void {
    this.state = 'busy';
    this.deps.jobs.count++;
  }

  private dispatch(type: number, payload: Buffer, stable: boolean): void {
    switch (type) {
      case ANTOAN_NOP:
      case ANTOAN_UNKNOWN_COMMAND:
      case ANTOAN_BAD_COMMAND_SIZE:
        return;
      case ANTOAN_GET_VERSION:
        return this.getVersion(payload);
      case ANTOAN_GET_CONFIG:
        return this.getConfig(payload);
      case CLTOCS_READ:
        if (this.counters) this.counters[CS_HLOPR]!++;
        this.begin();
        void serveRead(this, payload);
        return;
      case CLTOCS_WRITE:
        if (this.counters) this.counters[CS_HLOPW]!++;
        this.begin();
        // The session keeps the request (its chain) beyond this call.
        void serveWrite(this, stable ? payload : Buffer.from(payload));
        return;
      case ANTOCS_GET_CHUNK_BLOCKS:
      case ANTOCS_GET_CHUNK_CHECKSUM:
      case ANTOCS_GET_CHUNK_CHECKSUM_TAB:
        return this.idleJob(type, payload);
      case CLTOCS_HDD_LIST:
        if (payload.length !== 0) return this.kill(`CLTOCS_HDD_LIST - wrong size (${payload.length}/0)`, type);
        this.send(hddListPacket(this.hdd));
        return;
      case CLTOAN_CHART: {
        const r = CltoanChart.decode(payload);
        if (!r.ok) return this.kill(`CLTOAN_CHART - wrong size (${payload.length}/4|8)`, type);
        this.send(this.deps.charts ? chartPacket(this.deps.charts.store, r.value) : AntoclChart.encode({ png: Buffer.alloc(0) }));
        return;
      }
      case CLTOAN_CHART_DATA: {
        const r = CltoanChartData.decode(payload);
        if (!r.ok) return this.kill(`CLTOAN_CHART_DATA - wrong size (${payload.length}/4|8)`, type);
        this.send(this.deps.charts ? chartDataPacket(this.deps.charts.store, r.value) : AntoclChartData.encode({ $v: 'none' }));
        return;
      }
      case CLTOAN_MONOTONIC_DATA:
        // csserv_monotonic_data: the charts' totals, then the disks' (hdd_diskinfo_monotonic_data).
        if (payload.length !== 0) return this.kill(`CLTOAN_MONOTONIC_DATA - wrong size (${payload.length}/0)`, type);
        if (this.deps.charts) this.send(monotonicPacket(this.deps.charts.store, diskMonotonic(this.hdd)));
        else this.send(AntoclMonotonicData.encode({ values: [], disks: diskMonotonic(this.hdd) }));
        return;
      case CLTOAN_MODULE_INFO: {
        if (payload.length !== 0) return this.kill(`CLTOAN_MODULE_INFO - wrong size (${payload.length}/0)`, type);
        const mi = this.deps.moduleInfo();
        this.send(
          AntoclModuleInfo.encode({ $v: 'bare', moduletype: MODULE_TYPE_CHUNKSERVER, version: VERSHEX, csid: mi.csid, metaid: mi.metaId, ip: mi.masterIp, port: mi.masterPort }),
        );
        return;
      }
      case CLTOCS_WRITE_DATA:
      case CLTOCS_WRITE_FINISH:
        // Leftovers of a write that already ended: MooseFS drops the connection without a word.
        this.destroy();
        return;
      default:
        this.kill(`got unknown message (type:${type})`, type);
    }
  }

  private getVersion(payload: Buffer): void {
    if (payload.length !== 0 && payload.length !== 4) return this.kill(`ANTOAN_GET_VERSION - wrong size (${payload.length}/4|0)`, ANTOAN_GET_VERSION);
    const vstring = Buffer.from(VERSSTR);
    this.send(
      payload.length === 4
        ? AntoanVersion.encode({ $v: 'msgid', msgid: payload.readUInt32BE(0), version: VERSHEX, vstring })
        : AntoanVersion.encode({ $v: 'bare', version: VERSHEX, vstring }),
    );
  }

  private getConfig(payload: Buffer): void {
    const r = AntoanGetConfig.decode(payload);
    if (!r.ok) return this.kill(`ANTOAN_GET_CONFIG - wrong size (${payload.length})`, ANTOAN_GET_CONFIG);
    let v = Buffer.from(this.deps.cfgValue(r.value.name.toString('latin1')));
    if (v.length > 255) v = v.subarray(0, 255);
    this.send(AntoanConfigValue.encode({ msgid: r.value.msgid, value: v }));
  }

  private idleJob(type: number, payload: Buffer): void {
    if (payload.length !== 12) return this.kill(`${packetName(type)} - wrong size (${payload.length}/12)`, type);
    const chunkid = payload.readUInt32BE(0) * 0x100000000 + payload.readUInt32BE(4);
    const version = payload.readUInt32BE(8);
    void chunkInfoReply(this.hdd, type, chunkid, version).then((b) => this.send(b));
  }

  /**
   * Called twice a second: NOP on quiet idle links, close silent idle ones; during a read with
   * protocol 1, a NOP when nothing went out for a second (mainserv.c keeps slow reads alive so).
   */
  tick(now: number): void {
    if (this.state === 'busy' && this.readKeepalive && now - this.lastWrite >= READ_NOP_INTERVAL_MS) this.send(ANTOAN_NOP_PACKET);
    if (this.state !== 'idle') return;
    if (now - this.lastRead > CSSERV_TIMEOUT_MS) {
      this.destroy();
      return;
    }
    if (now - this.lastWrite > CSSERV_TIMEOUT_MS / 3 && this.sock.writableLength === 0) this.send(ANTOAN_NOP_PACKET);
  }
}

/** CSTOAN_CHUNK_BLOCKS / _CHECKSUM / _CHECKSUM_TAB for a request (same replies on the master link). */
export async function chunkInfoReply(hdd: HddSpaceMgr, type: number, chunkid: number, version: number): Promise<Buffer> {
  if (type === ANTOCS_GET_CHUNK_BLOCKS) {
    const r = await getChunkBlocks(hdd, chunkid, version);
    return CstoanChunkBlocks.encode({ chunkid, version, blocks: r.status === 0 ? r.blocks : 0, status: r.status });
  }
  if (type === ANTOCS_GET_CHUNK_CHECKSUM) {
    const r = await getChunkChecksum(hdd, chunkid, version);
    return r.status === 0
      ? CstoanChunkChecksum.encode({ $v: 'ok', chunkid, version, checksum: r.checksum })
      : CstoanChunkChecksum.encode({ $v: 'status', chunkid, version, status: r.status });
  }
  const r = await getChunkChecksumTab(hdd, chunkid, version);
  return r.tab
    ? CstoanChunkChecksumTab.encode({ $v: 'ok', chunkid, version, crctab: r.tab })
    : CstoanChunkChecksumTab.encode({ $v: 'status', chunkid, version, status: r.status });
}

function hddListPacket(hdd: HddSpaceMgr): Buffer {
  const body = diskInfo(hdd);
  const b = Buffer.allocUnsafe(8 + body.length);
  b.writeUInt32BE(CSTOCL_HDD_LIST, 0);
  b.writeUInt32BE(body.length, 4);
  body.copy(b, 8);
  return b;
}

/** The data port listener (csserv_init): accepts connections and keeps their timers. */
export class CsServ {
  private server: Server | undefined;
  private readonly conns = new Set<CsConn>();
  private timer: NodeJS.Timeout | undefined;
  readonly bufs = new DataBuffers();

  constructor(private readonly deps: CsServDeps) {}

  /** Listens; resolves with the bound address and port. */
  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    const server = createServer({ pauseOnConnect: true }, (s) => {
      const c = new CsConn(s, this.deps, this.bufs, (x) => this.conns.delete(x));
      this.conns.add(c);
    });
    this.server = server;
    const a = await listenTcp(server, host, port, 100);
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns) c.tick(now);
    }, READ_NOP_INTERVAL_MS / 2);
    this.timer.unref();
    this.deps.log.info(`main server module: listen on ${host}:${a.port}`);
    return { address: a.address, port: a.port };
  }


  get connections(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const s = this.server;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
