// What the master offers hot followers (packages/failover) on top of the metalogger link:
// - a namespace checksum they compare with their own replayed copy (MATOAN_MFSTS_CHECKSUM);
// - FOLLOWER_SYNC_ACK: a client's change is answered only once a follower has acknowledged
//   (ANTOMA_MFSTS_FOLLOWER_ACK) that it logged it durably, degrading to asynchronous answers, loudly,
//   when no follower does within FOLLOWER_SYNC_TIMEOUT_MS.
// 3.0.117 has neither: its metaloggers get the change stream and never answer it.
import { createHash } from 'node:crypto';
import type { Logger } from '@mfs-ts/common';
import { VERSHEX } from '@mfs-ts/protocol';
import type { Namespace } from './fs/index.js';

/**
 * A 64-bit digest of everything the changelog determines in the namespace (Namespace.dumpState:
 * nodes, edges, trash, free inodes, chunk book, open files). Leader and follower agree on it exactly
 * when they applied the same changes.
 */
export function namespaceChecksum(ns: Namespace): bigint {
  const json = JSON.stringify(ns.dumpState(), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return createHash('sha256').update(json).digest().readBigUInt64BE(0);
}

export type SyncState = 'off' | 'sync' | 'async';

/**
 * The MLOG_LIST version word of a hot follower (mfscli -SMB shows it as "3.S.117"): S = 1 the
 * leader answers clients synchronously (it waits for follower acks), 2 it degraded to asynchronous
 * answers (no ack in time, or no follower caught up), 3 FOLLOWER_SYNC_ACK is off. Plain metaloggers
 * keep the version they registered with.
 */
export function followerListVersion(state: SyncState): number {
  const s = state === 'sync' ? 1 : state === 'async' ? 2 : 3;
  return (VERSHEX & 0xff00ff) | (s << 8);
}

interface Held {
  packet: Buffer;
  send: (p: Buffer) => void;
  need: bigint;
  at: number;
}

export interface SyncGateOptions {
  log: Logger;
  enabled: () => boolean;
  timeoutMs: () => number;
  /** Version of the last change logged (metaversion - 1). */
  lastVersion: () => bigint;
  /** Hot followers connected that acknowledge. */
  followers: () => number;
}

/**
 * Holds replies to clients until a follower has acknowledged every change logged before them.
 * Replies keep their order per connection: they are queued in one FIFO whose `need` only grows,
 * and released as a prefix. A reply sent when nothing is pending and the acks are current goes out
 * at once (reads cost nothing while followers keep up).
 */
export class SyncGate {
  private acked = 0n;
  private queue: Held[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;
  /** Times the gate degraded to asynchronous answers (metrics, `info`). */
  degradations = 0;

  constructor(private readonly o: SyncGateOptions) {}

  get state(): SyncState {
    if (!this.o.enabled()) return 'off';
    return this.syncing ? 'sync' : 'async';
  }

  get ackedVersion(): bigint {
    return this.acked;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** True if it took the packet (it will send it later through `send`). */
  hold(packet: Buffer, send: (p: Buffer) => void): boolean {
    if (!this.syncing || !this.o.enabled()) return false;
    const need = this.o.lastVersion();
    if (this.pending === 0 && this.acked >= need) return false;
    this.queue.push({ packet, send, need, at: Date.now() });
    if (!this.timer) {
      const tick = Math.max(10, Math.floor(this.o.timeoutMs() / 4));
      this.timer = setInterval(() => this.check(), tick);
      this.timer.unref();
    }
    return true;
  }

  /** A follower logged every change up to `version` durably. */
  ack(version: bigint): void {
    if (version > this.acked) this.acked = version;
    this.release();
    if (!this.syncing && this.o.enabled() && this.acked >= this.o.lastVersion()) {
      this.syncing = true;
      this.o.log.warn({ acked: String(this.acked) }, 'FOLLOWER_SYNC_ACK: a follower has caught up - clients are answered synchronously again (a change is acknowledged only once a follower logged it)');
    }
  }

  /** A follower went away: with none left, waiting for acks is pointless. */
  followerGone(): void {
    if (this.syncing && this.o.followers() === 0) this.degrade('no follower connected');
  }

  private release(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.need <= this.acked) {
      const h = this.queue[this.head++]!;
      h.send(h.packet);
    }
    this.compact();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      clearInterval(this.timer);
      this.timer = undefined;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private check(): void {
    const first = this.queue[this.head];
    if (first && Date.now() - first.at >= this.o.timeoutMs()) this.degrade(`no follower acknowledged change ${first.need} within ${this.o.timeoutMs()} ms`);
  }

  private degrade(why: string): void {
    this.syncing = false;
    this.degradations++;
    this.o.log.error(
      { acked: String(this.acked), last: String(this.o.lastVersion()), held: this.pending, followers: this.o.followers() },
      `FOLLOWER_SYNC_ACK: ${why} - DEGRADED TO ASYNCHRONOUS: clients are answered without a follower's acknowledgement, changes acknowledged from now on can be lost at a failover (mfscli -SMB lists followers as 3.2.x)`,
    );
    while (this.head < this.queue.length) {
      const h = this.queue[this.head++]!;
      h.send(h.packet);
    }
    this.compact();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
