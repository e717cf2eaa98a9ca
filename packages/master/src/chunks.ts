import {
  MFS_ERROR_ACTIVE,
  MFS_ERROR_NOTFOUND,
  MFS_ERROR_CHUNKBUSY,
  MFS_ERROR_CHUNKLOST,
  MFS_ERROR_CSNOTPRESENT,
  MFS_ERROR_NOCHUNKSERVERS,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_NOTDONE,
  MFS_STATUS_OK,
  Reader,
  Writer,
} from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';

/**
 * The master's view of chunk copies (mfsmaster/chunks.c): for each chunk id the copies the
 * chunkservers reported, their state, the operation in flight (create / set version / duplicate /
 * truncate), and the clients waiting for it. The file -> chunk tables and chunk versions in the
 * metadata belong to the namespace; this registry follows them through `ChunkMeta`.
 */

/** Copy states (chunks.c: INVALID, DEL, BUSY, VALID, WVER; TD* are "to delete" variants). */
export type CopyState = 'valid' | 'busy' | 'invalid' | 'wver' | 'del' | 'tdvalid' | 'tdbusy' | 'tdwver';
export type ChunkOperation = 'none' | 'create' | 'setversion' | 'duplicate' | 'truncate' | 'duptrunc' | 'replicate';

export interface ChunkCopy {
  csid: number;
  version: number;
  state: CopyState;
}

/**
 * Where a chunk's copies go: its storage class's label expressions (one per copy; each up to
 * MASKORGROUP and-masks or'd together, all zero = any server) and mode (storageclass.c). `null`
 * expressions = any servers.
 */
export interface Placement {
  goal: number;
  create: number[][] | null;
  keep: number[][] | null;
  /** SCLASS_MODE_LOOSE 0 (labels ignored), STD 1 (other servers when none match), STRICT 2 (never) */
  mode: number;
}
/** A plain goal (copies anywhere) or a placement. */
export type GoalSpec = number | Placement;
const placementOf = (g: GoalSpec): Placement => (typeof g === 'number' ? { goal: g, create: null, keep: null, mode: 1 } : g);
const isAny = (expr: readonly number[]): boolean => expr.every((m) => m === 0);

/** A server with `labelmask` fulfils `expr` when one of its non-zero masks is a subset (matocsserv_server_has_labels). */
export function labelsMatch(expr: readonly number[], labelmask: number): boolean {
  if (isAny(expr)) return true;
  return expr.some((m) => m !== 0 && ((m & labelmask) >>> 0) === m >>> 0);
}

/** What the registry needs from a chunkserver link (matocsserv.ts implements it). */
export interface ChunkServerLink {
  readonly csid: number;
  readonly ip: number;
  readonly port: number;
  readonly version: number;
  readonly labelmask: number;
  readonly usedspace: number;
  readonly totalspace: number;
  readonly chunkscount: number;
  readonly load: number;
  readonly registered: boolean;
  sendCreate(chunkid: number, version: number): void;
  sendDelete(chunkid: number, version: number): void;
  sendSetVersion(chunkid: number, newversion: number, version: number): void;
  sendDuplicate(copychunkid: number, copyversion: number, chunkid: number, version: number): void;
  sendTruncate(chunkid: number, length: number, newversion: number, version: number): void;
  sendDuptrunc(copychunkid: number, copyversion: number, chunkid: number, version: number, length: number): void;
  sendReplicate(chunkid: number, version: number, srcip: number, srcport: number): void;
}

/**
 * The namespace's chunk book (versions, file references, the needverincrease flag): the registry
 * reads versions there and reports what the chunkservers did.
 */
export interface ChunkMeta {
  /** undefined = the metadata has no such chunk. */
  chunkInfo(chunkid: number): { version: number; refs: number } | undefined;
  markNeedVersionIncrease(chunkid: number): void;
  operationDone(chunkid: number): void;
  /** Every copy of an unreferenced chunk is gone: forget it. */
  drop(chunkid: number): void;
}

export class Chunk {
  readonly copies = new Map<number, ChunkCopy>();
  operation: ChunkOperation = 'none';
  /** chunks.c needverincrease: a new copy appeared or an operation failed; bump the version on the next write. */
  needVerIncrease = true;
  interrupted = false;
  goal = 1;
  /** Keep label expressions and mode of the chunk's class (null: copies anywhere). */
  keep: number[][] | null = null;
  mode = 1;
  /** The goal came from this run (create / setgoal); chunks only known from reports have none yet. */
  goalKnown = false;
  /** Resolvers waiting for the operation in flight. */
  waiters: Array<(status: number) => void> = [];
  /** The registry is sure the namespace no longer references it: delete the copies. */
  orphan = false;

  constructor(
    readonly id: number,
    public version: number,
  ) {}

  setPlacement(p: Placement): void {
    this.goal = p.goal;
    this.keep = p.keep;
    this.mode = p.mode;
    this.goalKnown = true;
  }

  validCopies(): ChunkCopy[] {
    return [...this.copies.values()].filter((c) => c.state === 'valid' || c.state === 'tdvalid');
  }
}

export interface ChunkLocation {
  ip: number;
  port: number;
  csver: number;
  labelmask: number;
}

export interface RegistryOptions {
  log: Logger;
  meta?: ChunkMeta;
  /** REPLICATIONS_DELAY_INIT: no replication in the first seconds after start. */
  replicationsDelayInit?: number;
  now?: () => number;
}

const isValid = (s: CopyState) => s === 'valid' || s === 'tdvalid';
const isBusy = (s: CopyState) => s === 'busy' || s === 'tdbusy';
/** Copies that take part in a version change (not INVALID/DEL/WVER). */
const isUsable = (s: CopyState) => s !== 'invalid' && s !== 'del' && s !== 'wver' && s !== 'tdwver';

/** CSDB section version (csdb_store in csdb.c). */
export const CSDB_VERSION = 0x13;

export class ChunkRegistry {
  readonly chunks = new Map<number, Chunk>();
  readonly servers = new Map<number, ChunkServerLink>();
  /** Next csid to hand out (csdb.c keeps them per ip:port; we reuse by ip:port too). */
  private readonly csidByAddr = new Map<string, number>();
  private nextCsid = 1;
  private readonly log: Logger;
  readonly started: number;
  /** Round-robin cursor for creation placement ties. */
  private rr = 0;
  stats = { creates: 0, deletes: 0, replications: 0, setversions: 0, duplicates: 0, truncates: 0 };
  /** Requests parked until a chunk is unlocked or its operation ends (matoclserv lwchunks). */
  private readonly idleWaiters = new Map<number, Array<() => void>>();
  /** Goals of chunks not reported yet (from the metadata at start), applied when a copy shows up. */
  private readonly goalHints = new Map<number, Placement>();

  constructor(private readonly opts: RegistryOptions) {
    this.log = opts.log;
    this.started = this.now();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Math.floor(Date.now() / 1000);
  }

  setMeta(meta: ChunkMeta): void {
    this.opts.meta = meta;
  }

  // ---------------------------------------------------------------- servers
  /** csid for a server address; stable across reconnects of the same ip:port. `wanted` is the csid the server remembers. */
  allocCsid(ip: number, port: number, wanted: number): number {
    const key = `${ip}:${port}`;
    const known = this.csidByAddr.get(key);
    if (known !== undefined && !this.servers.has(known)) return known;
    if (wanted > 0 && !this.servers.has(wanted) && ![...this.csidByAddr.values()].includes(wanted)) {
      this.csidByAddr.set(key, wanted);
      this.nextCsid = Math.max(this.nextCsid, wanted + 1);
      return wanted;
    }
    while (this.servers.has(this.nextCsid) || [...this.csidByAddr.values()].includes(this.nextCsid)) this.nextCsid++;
    const id = this.nextCsid++;
    this.csidByAddr.set(key, id);
    return id;
  }

  /** mfscli -CRC (csdb_remove_server): forget a disconnected server's csid. */
  removeServer(ip: number, port: number): number {
    if (this.serverAt(ip, port)) return MFS_ERROR_ACTIVE;
    return this.csidByAddr.delete(`${ip}:${port}`) ? MFS_STATUS_OK : MFS_ERROR_NOTFOUND;
  }

  /**
   * CSDB 1.3 body (csdb_store in csdb.c): `count:32`, then per known server, connected or not,
   * `ip:32 port:16 csid:16 maintenance:8 maintenance_timeout:32` (no maintenance mode here: 0, 0).
   */
  storeCsdb(): Buffer {
    const w = new Writer(4 + 13 * this.csidByAddr.size);
    w.u32(this.csidByAddr.size);
    for (const [key, csid] of this.csidByAddr) {
      const [ip, port] = key.split(':').map(Number) as [number, number];
      w.u32(ip).u16(port).u16(csid).u8(0).u32(0);
    }
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  /** Loads a CSDB section of any version (csdb_load: 1.0 has no csid, 1.1 adds it, 1.2 maintenance, 1.3 its timeout). */
  loadCsdb(data: Buffer, version: number): void {
    const r = new Reader(data);
    const size = version <= 0x10 ? 6 : version <= 0x11 ? 8 : version <= 0x12 ? 9 : 13;
    if (r.remaining < 4) throw new RangeError('CSDB section too short for its count');
    const count = r.u32();
    if (r.remaining < count * size) throw new RangeError(`CSDB section holds ${r.remaining} bytes for ${count} servers of ${size}`);
    this.csidByAddr.clear();
    for (let n = 0; n < count; n++) {
      const ip = r.u32();
      const port = r.u16();
      const csid = version >= 0x11 ? r.u16() : 0;
      r.bytes(size - (version >= 0x11 ? 8 : 6));
      const key = `${ip}:${port}`;
      if (this.csidByAddr.has(key)) throw new RangeError(`CSDB section: repeated chunkserver ${key}`);
      if (csid > 0) {
        this.csidByAddr.set(key, csid);
        if (csid >= this.nextCsid) this.nextCsid = csid + 1;
      }
    }
  }

  /** The known servers (CSDB): address and csid, connected or not. */
  knownServers(): Array<{ ip: number; port: number; csid: number }> {
    return [...this.csidByAddr].map(([key, csid]) => {
      const [ip, port] = key.split(':').map(Number) as [number, number];
      return { ip, port, csid };
    });
  }

  /** Is a server already connected at this address? (csdb_new_connection refuses a second one.) */
  serverAt(ip: number, port: number): ChunkServerLink | undefined {
    for (const s of this.servers.values()) if (s.ip === ip && s.port === port) return s;
    return undefined;
  }

  serverConnected(s: ChunkServerLink): void {
    this.servers.set(s.csid, s);
  }

  /** A server went away: its copies vanish; operations waiting on it finish as failed (chunk_server_disconnected). */
  serverDisconnected(csid: number): void {
    this.servers.delete(csid);
    for (const c of this.chunks.values()) {
      const cp = c.copies.get(csid);
      if (!cp) continue;
      const wasBusy = isBusy(cp.state);
      c.copies.delete(csid);
      this.markNeedVer(c);
      if (wasBusy) {
        c.interrupted = true;
        this.finishIfDone(c, MFS_ERROR_NOTDONE);
      }
    }
  }

  serverCount(): number {
    let n = 0;
    for (const s of this.servers.values()) if (s.registered) n++;
    return n;
  }

  /** The label masks of the registered servers (for sclass_info). */
  serverLabels(): number[] {
    const out: number[] = [];
    for (const s of this.servers.values()) if (s.registered) out.push(s.labelmask);
    return out;
  }

  /**
   * chunk_labelset_can_be_fulfilled, for the registered servers only: can every expression get a
   * server of its own (a perfect matching)? 3 = yes, 0 = no.
   */
  canFulfil(exprs: readonly (readonly number[])[]): number {
    const servers = this.serverLabels();
    const owner = new Array<number>(servers.length).fill(-1);
    const tryExpr = (e: number, seen: boolean[]): boolean => {
      for (let s = 0; s < servers.length; s++) {
        if (seen[s] || !labelsMatch(exprs[e]!, servers[s]!)) continue;
        seen[s] = true;
        if (owner[s] === -1 || tryExpr(owner[s]!, seen)) {
          owner[s] = e;
          return true;
        }
      }
      return false;
    };
    for (let e = 0; e < exprs.length; e++) if (!tryExpr(e, new Array<boolean>(servers.length).fill(false))) return 0;
    return 3;
  }

  // ---------------------------------------------------------------- chunkserver reports
  private chunk(id: number, version: number): Chunk {
    let c = this.chunks.get(id);
    if (!c) {
      c = new Chunk(id, version);
      const m = this.opts.meta?.chunkInfo(id);
      if (m) c.version = m.version;
      this.chunks.set(id, c);
    }
    return c;
  }

  /** CSTOMA_REGISTER chunk list / CSTOMA_CHUNK_NEW entry (chunk_server_has_chunk). Bit 31 of version = marked for removal. */
  serverHasChunk(csid: number, chunkid: number, rawVersion: number): void {
    if (chunkid === 0) return;
    const todel = (rawVersion & 0x80000000) !== 0;
    const version = rawVersion & 0x7fffffff;
    const meta = this.opts.meta?.chunkInfo(chunkid);
    let c = this.chunks.get(chunkid);
    if (!c) {
      c = new Chunk(chunkid, meta ? meta.version : version);
      const g = this.goalHints.get(chunkid);
      if (g !== undefined) {
        c.setPlacement(g);
        this.goalHints.delete(chunkid);
      }
      this.chunks.set(chunkid, c);
    }
    const have = c.copies.get(csid);
    if (have) {
      if (!isUsable(have.state)) return;
      if (isBusy(have.state)) have.state = todel ? 'tdbusy' : 'busy';
      else have.state = todel ? 'tdvalid' : 'valid';
      return;
    }
    if (c.version !== version) c.copies.set(csid, { csid, version, state: todel ? 'tdwver' : 'wver' });
    else c.copies.set(csid, { csid, version, state: todel ? 'tdvalid' : 'valid' });
    this.markNeedVer(c);
  }

  private markNeedVer(c: Chunk): void {
    c.needVerIncrease = true;
    this.opts.meta?.markNeedVersionIncrease(c.id);
  }

  /** CSTOMA_CHUNK_DAMAGED / CSTOMA_CHUNK_LOST: that copy is gone or useless. */
  serverLostChunk(csid: number, chunkid: number, damaged: boolean): void {
    const c = this.chunks.get(chunkid);
    if (!c) return;
    const cp = c.copies.get(csid);
    if (!cp) return;
    if (damaged) {
      cp.state = 'invalid';
      cp.version = 0;
    } else c.copies.delete(csid);
    this.markNeedVer(c);
  }

  // ---------------------------------------------------------------- client-side queries
  /** Valid copies of a chunk as client locations (chunk_get_version_and_csdata). */
  locations(chunkid: number): ChunkLocation[] {
    const c = this.chunks.get(chunkid);
    if (!c) return [];
    const out: ChunkLocation[] = [];
    for (const cp of c.copies.values()) {
      if (!isValid(cp.state)) continue;
      const s = this.servers.get(cp.csid);
      if (!s || !s.registered) continue;
      out.push({ ip: s.ip, port: s.port, csver: s.version, labelmask: s.labelmask });
    }
    return out;
  }

  copiesOf(chunkid: number): Array<ChunkCopy & { server?: ChunkServerLink }> {
    const c = this.chunks.get(chunkid);
    if (!c) return [];
    return [...c.copies.values()].map((cp) => ({ ...cp, server: this.servers.get(cp.csid) }));
  }


  /**
   * Why a chunk the metadata references has no valid copy (CHUNK_FLOOP_MISSING_*): 0 no copies,
   * 1 only invalid ones, 2 only wrong versions; undefined when it has a valid (or busy) copy.
   */
  missingType(chunkid: number): number | undefined {
    const c = this.chunks.get(chunkid);
    const live = c ? [...c.copies.values()].filter((cp) => this.servers.get(cp.csid)?.registered) : [];
    if (live.some((cp) => isValid(cp.state) || isBusy(cp.state))) return undefined;
    if (live.some((cp) => cp.state === 'wver' || cp.state === 'tdwver')) return 2;
    if (live.length > 0) return 1;
    return 0;
  }

  busy(chunkid: number): boolean {
    const c = this.chunks.get(chunkid);
    return c !== undefined && c.operation !== 'none';
  }

  /**
   * Servers for a new chunk of goal `goal` (chunk_creation_servers): registered servers with space,
   * least used first, at most `goal`. With label expressions, one server per expression: the least
   * used one that matches (specific expressions served before wildcards); in STD mode any other
   * server when none matches, in STRICT mode none, in LOOSE mode labels are ignored.
   */
  creationServers(goal: number, exprs: number[][] | null = null, mode = 1): ChunkServerLink[] {
    const cands = [...this.servers.values()].filter((s) => s.registered && s.totalspace > 0 && s.usedspace < s.totalspace);
    cands.sort((a, b) => a.usedspace / a.totalspace - b.usedspace / b.totalspace || ((a.csid + this.rr) % 7) - ((b.csid + this.rr) % 7));
    this.rr++;
    if (exprs === null || mode === 0) return cands.slice(0, Math.max(1, goal));
    const out: ChunkServerLink[] = [];
    for (const e of [...exprs].sort((a, b) => Number(isAny(a)) - Number(isAny(b)))) {
      let s = cands.find((x) => !out.includes(x) && labelsMatch(e, x.labelmask));
      if (!s && mode !== 2) s = cands.find((x) => !out.includes(x));
      if (s) out.push(s);
    }
    return out;
  }

  /**
   * Which keep expressions the valid copies fulfil (greedy, specific expressions first): the
   * expressions left without a copy and the copies that fulfil none.
   */
  private labelState(keep: number[][], valid: ChunkCopy[]): { missing: number[][]; spare: ChunkCopy[] } {
    const free = [...valid];
    const missing: number[][] = [];
    for (const e of [...keep].sort((a, b) => Number(isAny(a)) - Number(isAny(b)))) {
      const i = free.findIndex((cp) => labelsMatch(e, this.servers.get(cp.csid)?.labelmask ?? 0));
      if (i >= 0) free.splice(i, 1);
      else missing.push(e);
    }
    return { missing, spare: free };
  }

  /** Can a modify of `chunkid` (0 = new) start now? MFS_STATUS_OK or the status to return (chunk_multi_modify's early checks). */
  precheckModify(chunkid: number, goal: GoalSpec): number {
    if (chunkid === 0) {
      const p = placementOf(goal);
      if (this.creationServers(p.goal, p.create ?? p.keep, p.mode).length > 0) return MFS_STATUS_OK;
      return this.serverCount() > 0 ? MFS_ERROR_NOSPACE : MFS_ERROR_NOCHUNKSERVERS;
    }
    const c = this.chunks.get(chunkid);
    if (c && c.operation !== 'none') return MFS_ERROR_CHUNKBUSY;
    if (!c || ![...c.copies.values()].some((cp) => isUsable(cp.state))) {
      return this.serverCount() > 0 ? MFS_ERROR_CHUNKLOST : MFS_ERROR_CSNOTPRESENT;
    }
    return MFS_STATUS_OK;
  }

  /** Resolves when `chunkid` is unlocked or its operation finished, or after `timeoutMs`. */
  waitIdle(chunkid: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      let l = this.idleWaiters.get(chunkid);
      if (!l) {
        l = [];
        this.idleWaiters.set(chunkid, l);
      }
      l.push(done);
    });
  }

  /** The chunk was unlocked (WRITE_CHUNK_END, truncate end) or its operation finished: wake parked requests. */
  wakeIdle(chunkid: number): void {
    const l = this.idleWaiters.get(chunkid);
    if (!l) return;
    this.idleWaiters.delete(chunkid);
    for (const f of l) f();
  }

  // ---------------------------------------------------------------- operations
  private waitFor(c: Chunk): Promise<number> {
    return new Promise((resolve) => c.waiters.push(resolve));
  }

  /** A new chunk on `goal` servers (CREATE). Resolves with the status once every chosen server answered. */
  create(chunkid: number, version: number, goal: GoalSpec): Promise<number> {
    const p = placementOf(goal);
    const servers = this.creationServers(p.goal, p.create ?? p.keep, p.mode);
    if (servers.length === 0) return Promise.resolve(this.serverCount() > 0 ? MFS_ERROR_NOSPACE : MFS_ERROR_NOCHUNKSERVERS);
    const c = this.chunk(chunkid, version);
    c.version = version;
    c.setPlacement(p);
    c.orphan = false;
    c.operation = 'create';
    c.interrupted = false;
    for (const s of servers) {
      c.copies.set(s.csid, { csid: s.csid, version, state: 'busy' });
      s.sendCreate(chunkid, version);
      this.stats.creates++;
    }
    return this.waitFor(c);
  }

  /** Version bump of an existing chunk on every usable copy (SET_VERSION). */
  setVersion(chunkid: number, newVersion: number, oldVersion: number): Promise<number> {
    const c = this.chunk(chunkid, oldVersion);
    const targets = [...c.copies.values()].filter((cp) => isUsable(cp.state) && this.servers.has(cp.csid));
    if (targets.length === 0) return Promise.resolve(this.serverCount() > 0 ? MFS_ERROR_CHUNKLOST : MFS_ERROR_CSNOTPRESENT);
    c.operation = 'setversion';
    c.interrupted = false;
    c.version = newVersion;
    for (const cp of targets) {
      cp.state = cp.state === 'tdvalid' ? 'tdbusy' : 'busy';
      cp.version = newVersion;
      this.servers.get(cp.csid)!.sendSetVersion(chunkid, newVersion, oldVersion);
      this.stats.setversions++;
    }
    return this.waitFor(c);
  }

  /** Copy-on-write of a shared chunk (DUPLICATE): the new chunk lives where the old one has copies. */
  duplicate(newId: number, newVersion: number, oldId: number, oldVersion: number, goal: GoalSpec): Promise<number> {
    const oc = this.chunk(oldId, oldVersion);
    const sources = [...oc.copies.values()].filter((cp) => isUsable(cp.state) && this.servers.has(cp.csid));
    if (sources.length === 0) return Promise.resolve(this.serverCount() > 0 ? MFS_ERROR_CHUNKLOST : MFS_ERROR_CSNOTPRESENT);
    const c = this.chunk(newId, newVersion);
    c.version = newVersion;
    c.setPlacement(placementOf(goal));
    c.operation = 'duplicate';
    c.interrupted = false;
    for (const cp of sources) {
      c.copies.set(cp.csid, { csid: cp.csid, version: newVersion, state: 'busy' });
      this.servers.get(cp.csid)!.sendDuplicate(newId, newVersion, oldId, oldVersion);
      this.stats.duplicates++;
    }
    return this.waitFor(c);
  }

  /** Shrinks a chunk to `length` bytes with a new version (TRUNCATE), or copies and shrinks a shared one (DUPTRUNC). */
  truncate(chunkid: number, length: number, newVersion: number, oldVersion: number, copyOf?: { id: number; version: number }, goal: GoalSpec = 1): Promise<number> {
    const srcId = copyOf ? copyOf.id : chunkid;
    const srcVer = copyOf ? copyOf.version : oldVersion;
    const oc = this.chunk(srcId, srcVer);
    const sources = [...oc.copies.values()].filter((cp) => isUsable(cp.state) && this.servers.has(cp.csid));
    if (sources.length === 0) return Promise.resolve(this.serverCount() > 0 ? MFS_ERROR_CHUNKLOST : MFS_ERROR_CSNOTPRESENT);
    const c = copyOf ? this.chunk(chunkid, newVersion) : oc;
    c.version = newVersion;
    if (copyOf) c.setPlacement(placementOf(goal));
    c.operation = copyOf ? 'duptrunc' : 'truncate';
    c.interrupted = false;
    for (const cp of sources) {
      const s = this.servers.get(cp.csid)!;
      if (copyOf) {
        c.copies.set(cp.csid, { csid: cp.csid, version: newVersion, state: 'busy' });
        s.sendDuptrunc(chunkid, newVersion, srcId, srcVer, length);
      } else {
        cp.state = cp.state === 'tdvalid' ? 'tdbusy' : 'busy';
        cp.version = newVersion;
        s.sendTruncate(chunkid, length, newVersion, oldVersion);
      }
      this.stats.truncates++;
    }
    return this.waitFor(c);
  }

  /** A chunkserver's answer to CREATE / SET_VERSION / DUPLICATE / TRUNCATE / DUPTRUNC (chunk_operation_status). */
  operationStatus(csid: number, chunkid: number, status: number): void {
    const c = this.chunks.get(chunkid);
    if (!c) return;
    const cp = c.copies.get(csid);
    if (cp && isBusy(cp.state)) {
      if (status === MFS_STATUS_OK) cp.state = cp.state === 'tdbusy' ? 'tdvalid' : 'valid';
      else {
        c.interrupted = true;
        if (status === MFS_ERROR_NOTDONE && (c.operation === 'create' || c.operation === 'duplicate' || c.operation === 'duptrunc')) {
          c.copies.delete(csid);
        } else {
          cp.state = 'invalid';
          cp.version = 0;
        }
      }
    }
    this.finishIfDone(c, status === MFS_STATUS_OK ? MFS_ERROR_NOTDONE : status);
  }

  private finishIfDone(c: Chunk, failStatus: number): void {
    if (c.operation === 'none') return;
    let busy = false;
    let valid = false;
    for (const cp of c.copies.values()) {
      if (isBusy(cp.state)) busy = true;
      if (isValid(cp.state)) valid = true;
    }
    if (busy) return;
    const op = c.operation;
    c.operation = 'none';
    let st: number;
    if (valid) {
      st = MFS_STATUS_OK;
      // An interrupted operation leaves copies we cannot trust at this version; bump next time.
      if (c.interrupted) this.markNeedVer(c);
      else {
        c.needVerIncrease = false;
        this.opts.meta?.operationDone(c.id);
      }
      c.interrupted = false;
    } else {
      st = failStatus === MFS_STATUS_OK ? MFS_ERROR_NOTDONE : failStatus;
      this.markNeedVer(c);
    }
    this.log.debug({ chunkid: c.id, op, status: st }, 'chunk operation finished');
    const w = c.waiters.splice(0);
    for (const r of w) r(st);
    this.wakeIdle(c.id);
  }

  /** CSTOMA_DELETE reply: the copy is gone. */
  deleteStatus(csid: number, chunkid: number, _status: number): void {
    const c = this.chunks.get(chunkid);
    if (!c) return;
    c.copies.delete(csid);
    if (c.orphan && c.copies.size === 0) this.forget(c);
  }

  private forget(c: Chunk): void {
    this.chunks.delete(c.id);
    const m = this.opts.meta?.chunkInfo(c.id);
    if (m && m.refs === 0) this.opts.meta!.drop(c.id);
  }

  /** CSTOMA_REPLICATE reply (chunk_got_replicate_status). */
  replicateStatus(csid: number, chunkid: number, version: number, status: number): void {
    const c = this.chunks.get(chunkid);
    if (!c) return;
    const cp = c.copies.get(csid);
    if (!cp) return;
    if (status === MFS_STATUS_OK && version === c.version) cp.state = 'valid';
    else c.copies.delete(csid);
    if (c.operation === 'replicate') c.operation = 'none';
  }

  /** The namespace no longer references this chunk: delete every copy (chunk_delete_file -> jobs). */
  chunkFreed(chunkid: number): void {
    const c = this.chunks.get(chunkid);
    if (!c) return;
    c.orphan = true;
  }

  /** The chunk's goal or class changed (setgoal, class definition): the loop will replicate or delete to match. */
  setGoal(chunkid: number, goal: GoalSpec): void {
    const c = this.chunks.get(chunkid);
    if (c) c.setPlacement(placementOf(goal));
    else this.goalHints.set(chunkid, placementOf(goal));
  }

  // ---------------------------------------------------------------- the jobs loop
  /**
   * One pass of the chunk jobs (chunk_do_jobs, much simplified): delete orphans and wrong-version
   * copies, replicate under-goal chunks, delete over-goal copies. Limits: at most `maxOps` commands
   * per pass (CHUNKS_WRITE_REP_LIMIT / CHUNKS_SOFT_DEL_LIMIT pacing).
   */
  jobs(maxOps = 20, deleteLimit = 10): number {
    let ops = 0;
    let dels = 0;
    const now = this.now();
    const replOk = now >= this.started + (this.opts.replicationsDelayInit ?? 60);
    for (const c of this.chunks.values()) {
      if (ops >= maxOps) break;
      if (c.operation !== 'none') continue;
      if (this.opts.meta) {
        const m = this.opts.meta.chunkInfo(c.id);
        // Unreferenced chunks go at once; chunks the metadata does not know only after the start-up
        // grace time (a chunkserver may report chunks before the metadata is complete).
        c.orphan = m ? m.refs === 0 : replOk;
      }
      const live = [...c.copies.values()].filter((cp) => this.servers.get(cp.csid)?.registered);
      if (c.orphan) {
        for (const cp of live) {
          if (cp.state === 'del' || dels >= deleteLimit) continue;
          cp.state = 'del';
          this.servers.get(cp.csid)!.sendDelete(c.id, cp.version);
          this.stats.deletes++;
          dels++;
          ops++;
        }
        if (c.copies.size === 0) this.forget(c);
        continue;
      }
      const valid = live.filter((cp) => isValid(cp.state));
      // Copies with a wrong version are useless once a valid copy exists.
      if (valid.length > 0) {
        for (const cp of live) {
          if ((cp.state === 'wver' || cp.state === 'tdwver' || cp.state === 'invalid') && dels < deleteLimit) {
            cp.state = 'del';
            this.servers.get(cp.csid)!.sendDelete(c.id, cp.version || c.version);
            this.stats.deletes++;
            dels++;
            ops++;
          }
        }
      }
      if (valid.length === 0 || !c.goalKnown) continue;
      if (c.keep !== null && c.mode !== 0) {
        // Labels: a copy for every keep expression (a new one on a matching server first, then the
        // copy that fulfils nothing goes), as chunks.c moves chunks with wrong labels.
        const { missing, spare } = this.labelState(c.keep, valid);
        const have = new Set(c.copies.keys());
        const free = this.creationServers(this.servers.size).filter((s) => !have.has(s.csid));
        const dst = missing.length > 0 ? (free.find((s) => missing.some((e) => labelsMatch(e, s.labelmask))) ?? (valid.length < c.goal && c.mode !== 2 ? free[0] : undefined)) : undefined;
        if (dst && replOk) {
          this.replicateTo(c, dst, valid[0]!.csid);
          ops++;
        } else if (valid.length > c.goal && spare.length > 0 && dels < deleteLimit && (missing.length === 0 || !dst)) {
          this.deleteOnFullest(c, spare);
          dels++;
          ops++;
        }
        continue;
      }
      if (valid.length < c.goal && replOk) {
        const have = new Set(c.copies.keys());
        const dst = this.creationServers(this.servers.size).find((s) => !have.has(s.csid));
        if (dst) {
          this.replicateTo(c, dst, valid[0]!.csid);
          ops++;
        }
      } else if (valid.length > c.goal && dels < deleteLimit) {
        // Over goal: drop the copy on the fullest server.
        this.deleteOnFullest(c, valid);
        dels++;
        ops++;
      }
    }
    return ops;
  }

  /** A new copy of `c` on `dst`, replicated from the server `srcCsid` (busy until it reports). */
  private replicateTo(c: Chunk, dst: ChunkServerLink, srcCsid: number): void {
    const src = this.servers.get(srcCsid)!;
    c.copies.set(dst.csid, { csid: dst.csid, version: c.version, state: 'busy' });
    c.operation = 'replicate';
    dst.sendReplicate(c.id, c.version, src.ip, src.port);
    this.stats.replications++;
  }

  /** Deletes the one of `copies` on the fullest server (by used/total space). */
  private deleteOnFullest(c: Chunk, copies: ChunkCopy[]): void {
    const victim = copies
      .map((cp) => ({ cp, s: this.servers.get(cp.csid)! }))
      .sort((a, b) => b.s.usedspace / Math.max(1, b.s.totalspace) - a.s.usedspace / Math.max(1, a.s.totalspace))[0]!;
    victim.cp.state = 'del';
    victim.s.sendDelete(c.id, c.version);
    this.stats.deletes++;
  }

  // ---------------------------------------------------------------- info
  /** chunk_info: all chunks, all copies, regular valid copies. */
  info(): { chunks: number; copies: number; validCopies: number } {
    let copies = 0;
    let validCopies = 0;
    for (const c of this.chunks.values()) {
      copies += c.copies.size;
      for (const cp of c.copies.values()) if (cp.state === 'valid') validCopies++;
    }
    return { chunks: this.chunks.size, copies, validCopies };
  }

  /**
   * CHUNKS_MATRIX counters (chunk_store_chunkcounters): an 11x11 table of u32, [goal][valid copies],
   * both clipped at 10; matrix 0 counts all valid copies, matrix 1 regular ones only.
   */
  matrix(matrixid: number): Buffer {
    const b = Buffer.alloc(484);
    const t = new Uint32Array(121);
    for (const c of this.chunks.values()) {
      if (c.orphan) continue;
      const goal = Math.min(10, c.goal);
      const v = [...c.copies.values()].filter((cp) => (matrixid === 0 ? isValid(cp.state) : cp.state === 'valid')).length;
      t[goal * 11 + Math.min(10, v)]!++;
    }
    for (let i = 0; i < 121; i++) b.writeUInt32BE(t[i]!, i * 4);
    return b;
  }
}
