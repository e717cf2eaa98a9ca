// What the master offers hot followers (packages/failover) on top of the metalogger link:
// - a namespace checksum they compare with their own replayed copy (MATOAN_MFSTS_CHECKSUM);
// - FOLLOWER_SYNC_ACK: a client's change is answered only once a follower has acknowledged
//   (ANTOMA_MFSTS_FOLLOWER_ACK) that it logged it durably, degrading to asynchronous answers, loudly,
//   when no follower does within FOLLOWER_SYNC_TIMEOUT_MS.
// 3.0.117 has neither: its metaloggers get the change stream and never answer it.
import { crc32 } from 'node:zlib';
import type { Logger } from '@mfs-ts/common';
import { VERSHEX } from '@mfs-ts/protocol';
import { TYPE_SYMLINK, type Namespace } from './fs/index.js';

/** Two 32-bit lanes of a running hash (murmur3-style mixing; a checksum, not a MAC). */
class Mix {
  a = 0x9e3779b9;
  b = 0x85ebca6b;
  u(v: number): void {
    this.a = Math.imul((this.a ^ v) >>> 0, 0xcc9e2d51);
    this.a = Math.imul((this.a << 15) | (this.a >>> 17), 0x1b873593);
    this.b = Math.imul((this.b ^ v) >>> 0, 0x85ebca6b) ^ (this.b >>> 13);
    this.b = Math.imul(this.b, 0xc2b2ae35);
  }
  /** A non-negative number below 2^53 (lengths, times, versions). */
  n(v: number): void {
    this.u(v >>> 0);
    this.u(Math.floor(v / 4294967296) >>> 0);
  }
  big(v: bigint): void {
    this.u(Number(v & 0xffffffffn));
    this.u(Number((v >> 32n) & 0xffffffffn));
  }
  buf(b: Buffer): void {
    this.u(b.length);
    if (b.length > 32) {
      this.u(crc32(b));
      return;
    }
    // short names: cheaper than a call into zlib
    let w = 0;
    for (let i = 0; i < b.length; i++) {
      w = (w << 8) | b[i]!;
      if ((i & 3) === 3) (this.u(w >>> 0), (w = 0));
    }
    this.u(w >>> 0);
  }
  json(v: unknown): void {
    if (v === null || v === undefined) this.u(0);
    else this.buf(Buffer.from(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))));
  }
  reset(): void {
    this.a = 0x9e3779b9;
    this.b = 0x85ebca6b;
  }
}

/**
 * A 64-bit digest of everything the changelog determines in the namespace (what
 * Namespace.dumpState lists: nodes with their attributes, edges (edge ids only through the next one to give), chunk tables, symlink targets,
 * xattrs, ACLs, quotas; trash and sustained lists; free inodes; the chunk book; open files). Per
 * node a hash, summed (so the order nodes were inserted in does not matter), without building the
 * state as text: about 20 ms per 100,000 nodes. Leader and follower agree on it exactly when they
 * applied the same changes.
 */
export function namespaceChecksum(ns: Namespace): bigint {
  const t = ns.tree;
  const m = new Mix();
  let sa = 0;
  let sb = 0;
  const add = (): void => {
    sa = (sa + m.a) >>> 0;
    sb = (sb + (m.b ^ 0x5bd1e995)) >>> 0;
    m.reset();
  };
  for (const n of t.nodes.values()) {
    m.u(n.inode);
    m.u(n.type);
    m.u(n.mode);
    m.u(n.uid);
    m.u(n.gid);
    m.n(n.atime);
    m.n(n.mtime);
    m.n(n.ctime);
    m.u(n.sclassid);
    m.u(n.eattr);
    m.u(n.winattr);
    m.u(n.trashtime);
    m.u(n.nlink);
    m.u(n.rdev);
    if (n.isFile) {
      m.n(n.length);
      let last = n.chunks.length;
      while (last > 0 && n.chunks[last - 1] === 0) last--; // trailing holes are not observable
      for (let i = 0; i < last; i++) m.n(n.chunks[i]!);
    }
    if (n.type === TYPE_SYMLINK) m.buf(n.path);
    for (const e of n.parents) {
      m.u(e.parent?.inode ?? 0);
      m.buf(e.name);
    }
    if (n.xattrs) for (const x of n.xattrs.values()) (m.buf(x.name), m.buf(x.value));
    if (n.aclAccess || n.aclDefault || n.quota) m.json([n.aclAccess, n.aclDefault, n.quota]);
    add();
  }
  for (const list of [t.trash, t.sustained]) {
    for (const b of list) {
      for (const e of b.values()) {
        m.u(e.child.inode);
        m.buf(e.name);
        add();
      }
    }
  }
  for (const f of t.freelist) {
    m.u(f.inode);
    m.n(f.ftime);
    add();
  }
  for (const [inode, sessions] of t.open) {
    m.u(inode);
    let x = 0;
    for (const s of sessions) x = (x + Math.imul(s, 0x9e3779b1)) >>> 0;
    m.u(x);
    m.u(sessions.size);
    add();
  }
  for (const c of t.chunks.chunks.values()) {
    m.n(c.chunkid);
    m.u(c.version);
    m.u(c.fcount);
    m.n(c.lockedto);
    add();
  }
  m.n(t.trashspace);
  m.u(t.trashnodes);
  m.n(t.sustainedspace);
  m.u(t.sustainednodes);
  m.u(t.maxnodeid);
  m.big(t.nextEdgeId);
  m.n(t.chunks.nextChunkId);
  m.u(t.nodes.size);
  add();
  return (BigInt(sa) << 32n) | BigInt(sb);
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
