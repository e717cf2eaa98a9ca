import type { Socket } from 'node:net';
import { MESSAGE_IDS, PacketFramer, type MessageDef } from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';
import { ipToU32 } from './util.js';
import { CH_BYTESRCVD, CH_BYTESSENT, CH_PACKETSRCVD, CH_PACKETSSENT } from './charts.js';

const NAMES = new Map<number, string>();
for (const m of MESSAGE_IDS) if (!NAMES.has(m.id)) NAMES.set(m.id, m.name);
/** A message's MooseFS name for logs (several links share ids; the first name wins). */
export function msgName(type: number, prefer?: string): string {
  if (prefer) {
    const hit = MESSAGE_IDS.find((m) => m.id === type && m.link === prefer);
    if (hit) return hit.name;
  }
  return NAMES.get(type) ?? `UNKNOWN(${type})`;
}

/**
 * Runs before a reply leaves the master: a running master adds its changelog flush here, so a peer
 * never sees a change acknowledged that is only in our memory. While a connection handles the
 * packets of one read, its socket is corked and the barrier runs once before the replies go out
 * together; a packet sent to any other connection runs it first.
 */
export const replyBarrier = new Set<() => void>();

function runReplyBarrier(): void {
  for (const f of replyBarrier) f();
}

/**
 * One TCP peer of the master: framing with the link's size limit, packet sending, idle NOPs and the
 * silence timeout, and a kill that logs why. Handlers never throw out of here: an exception in a
 * handler or a decode error closes this connection only.
 */
export class Conn {
  readonly peer: string;
  readonly peerip: number;
  readonly framer: PacketFramer;
  closed = false;
  lastRead = Date.now();
  lastWrite = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly onCloseCbs: Array<() => void> = [];
  /** The master's chart counters, on client links (matoclserv_stats counts packets and bytes there). */
  stats: Float64Array | undefined;
  /** Inside data(): the socket is corked and the barrier runs before it is uncorked. */
  private batching = false;

  constructor(
    readonly sock: Socket,
    readonly log: Logger,
    maxPacket: number,
    private readonly onPacket: (type: number, payload: Buffer) => void,
    private readonly link: 'CLTOMA' | 'CSTOMA' | 'ANTOMA',
    /** False for metaloggers: the changes they are sent need not be in our changelog first. */
    private readonly barrier = true,
  ) {
    this.peer = `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? 0}`;
    this.peerip = ipToU32(sock.remoteAddress) ?? 0;
    this.framer = new PacketFramer(maxPacket);
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.data(d));
    sock.on('error', (e) => {
      if (!this.closed) this.log.debug({ err: e.message }, 'connection error');
    });
    sock.on('close', () => this.finish());
  }

  private data(d: Buffer): void {
    if (this.closed) return;
    this.lastRead = Date.now();
    if (this.stats) this.stats[CH_BYTESRCVD]! += d.length;
    this.batching = true;
    this.sock.cork();
    try {
      const err = this.framer.push(d, this.dispatch);
      if (err) this.kill(undefined, err.message);
    } finally {
      this.batching = false;
      if (this.barrier) runReplyBarrier();
      this.sock.uncork();
    }
  }

  private readonly dispatch = (type: number, payload: Buffer): void => {
    if (this.closed) return;
    if (this.stats) this.stats[CH_PACKETSRCVD]!++;
    try {
      this.onPacket(type, payload);
    } catch (e) {
      this.kill(msgName(type, this.link), `handler failed: ${(e as Error).message}`, e);
    }
  };

  /** Logs a protocol error naming the peer and the message, and closes this connection. */
  kill(msg: string | undefined, reason: string, err?: unknown): void {
    if (this.closed) return;
    this.log.warn({ msg_name: msg, err: err instanceof Error ? err.stack : undefined }, `${msg ?? 'packet'} - ${reason}: closing connection`);
    this.close();
  }

  /** Rejects a packet that does not decode (wrong size / bad value). */
  bad(def: MessageDef<unknown> | string, detail: string): void {
    this.kill(typeof def === 'string' ? def : def.name, `wrong size or layout (${detail})`);
  }

  send(packet: Buffer): void {
    if (this.closed) return;
    this.lastWrite = Date.now();
    if (!this.batching && this.barrier) runReplyBarrier();
    if (this.stats) {
      this.stats[CH_PACKETSSENT]!++;
      this.stats[CH_BYTESSENT]! += packet.length;
    }
    this.sock.write(packet);
  }

  sendMsg<T>(def: MessageDef<T>, v: T): void {
    this.send(def.encode(v));
  }

  /** Starts the keep-alive: `nop()` after `nopMs` without writes, close after `timeoutMs` without reads. */
  keepAlive(nopMs: number, timeoutMs: number, nop: () => void): void {
    clearInterval(this.timer);
    const tick = Math.max(100, Math.min(nopMs, timeoutMs) / 4);
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastRead > timeoutMs) {
        this.log.info({ peer: this.peer }, 'connection timed out');
        this.close();
        return;
      }
      if (now - this.lastWrite >= nopMs) nop();
    }, tick);
    this.timer.unref();
  }

  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.onCloseCbs.push(cb);
  }

  /** Ends after queued writes are flushed (MooseFS FINISH mode). */
  end(): void {
    if (this.closed) return;
    this.sock.end();
    this.finish();
  }

  close(): void {
    if (this.closed) return;
    this.sock.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed && this.onCloseCbs.length === 0) return;
    this.closed = true;
    clearInterval(this.timer);
    const cbs = this.onCloseCbs.splice(0);
    for (const cb of cbs) {
      try {
        cb();
      } catch (e) {
        this.log.error({ err: e }, 'close handler failed');
      }
    }
  }
}
