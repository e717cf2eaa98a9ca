// The metadata.mfs writer that does not stop the master. mfsmaster forks and lets the child write the
// image of the moment (metadata.c meta_storeall); a Node process cannot fork, so this writer takes the
// namespace as it is at one changelog version V and encodes it in slices between which the event loop
// serves clients, while changes after V go on. Copy-on-write keeps the image at V:
//
// - Nodes: a node is "captured" once its NODE record (and its XATR / PACL records, and for a directory
//   the reference to its child list, an array the tree replaces and never edits) has been encoded. The
//   writer walks the node map; before a record is applied, every node it is about to change that is
//   not captured yet is captured first (beforeRecord: the nodes a record names, the entries it looks up,
//   whole subtrees for recursive records). Nodes created after V are marked born and left out.
// - Trash and sustained buckets: copied when first about to change, or when the writer reaches them.
// - Chunks (CHNK): like nodes, through the chunk book's hook.
// - Small parts (FREE, QUOT, OPEN, the counters, the caller's SESS/SCLA/... sections) are taken at V.
//
// With nothing changing meanwhile the bytes are exactly storeMetadata's (tested); the sections' record
// layouts are those of metadata.ts (fs_storenodes, fs_storeedges, xattr_store, posix_acl_store,
// chunk_store). Records within NODE, XATR, PACL and CHNK may come in another order when changes ran
// during the dump: MooseFS loads those by id, order-free.
import { write as fsWrite } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { expired } from './apply.js';
import type { ChangelogRecord } from './changelog.js';
import type { ChunkDumpHook, ChunkEntry } from './chunks.js';
import { defaultSclassSection, EOF_MARKER, METADATA_SIGNATURE, SECTION_ORDER, type RawSection, type StoreOptions } from './metadata.js';
import type { Namespace } from './namespace.js';
import type { Edge, FsNode, FsTree, TreeDumpHook } from './tree.js';
import {
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SMODE_RMASK,
  SUSTAINED_BUCKETS,
  TRASH_BUCKETS,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_DIRECTORY,
  TYPE_SYMLINK,
  type PosixAcl,
} from './types.js';

const BLOCK = 1 << 20;

/**
 * Positional writes to an open file; written blocks go back to a small pool, so a dump streamed to
 * its file holds a few MiB of buffers instead of the whole image (whose external memory made V8 run
 * extra collections, the longest pauses of a dump kept in memory).
 */
class FileOut {
  private readonly pool: Buffer[] = [];
  private inflight = 0;
  private failed: Error | undefined;
  private readonly waiters: Array<() => void> = [];
  constructor(
    readonly fd: number,
    readonly blockSize: number,
  ) {}

  take(n: number): Buffer {
    return (n <= this.blockSize ? this.pool.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(this.blockSize, n));
  }

  /** Writes `len` bytes of `block` at `pos`; `recycle`: the block may be reused once written. */
  write(block: Buffer, len: number, pos: number, recycle: boolean): void {
    if (len === 0) return;
    this.inflight++;
    fsWrite(this.fd, block, 0, len, pos, (err, written) => {
      this.inflight--;
      if (err) this.failed ??= err;
      else if (written !== len) this.failed ??= new Error(`short write at byte ${pos} (${written} of ${len} bytes)`);
      if (recycle && block.length === this.blockSize && this.pool.length < 8) this.pool.push(block);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves when every write is done; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failed) throw this.failed;
  }

  get error(): Error | undefined {
    return this.failed;
  }
}

/** Append-only byte sink in blocks (no growth copies); kept in memory, or streamed to a file once attached. */
class Sink {
  readonly parts: Buffer[] = [];
  private buf: Buffer;
  private file: FileOut | undefined;
  private filePos = 0;

  constructor(private readonly blockSize = BLOCK) {
    this.buf = Buffer.allocUnsafe(blockSize);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** From now on full blocks go to `file` at `pos` on (what was kept so far first). */
  attach(file: FileOut, pos: number): void {
    for (const p of this.parts) {
      file.write(p, p.length, pos, false);
      pos += p.length;
    }
    this.parts.length = 0;
    this.file = file;
    this.filePos = pos;
  }
  /** For 64-bit BigInts: DataView.setBigUint64 writes without the temporaries Buffer.writeBigUInt64BE makes. */
  private dv: DataView;
  private pos = 0;
  private done = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    this.buf = this.file ? this.file.take(n) : Buffer.allocUnsafe(Math.max(this.blockSize, n));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }
  private flush(): void {
    if (this.pos > 0) {
      if (this.file) {
        this.file.write(this.buf, this.pos, this.filePos, true);
        this.filePos += this.pos;
      } else {
        this.parts.push(this.buf.subarray(0, this.pos));
      }
    }
    this.done += this.pos;
    this.pos = 0;
  }
  get length(): number {
    return this.done + this.pos;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  /** A non-negative integer below 2^53 as 64 bits. */
  u64n(v: number): void {
    this.room(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x100000000) >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
  }
  u64(v: bigint): void {
    this.room(8);
    this.dv.setBigUint64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  /** A string of code points below 256, one byte each. */
  latin1(v: string): void {
    this.room(v.length);
    this.pos += this.buf.write(v, this.pos, v.length, 'latin1');
  }
  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
  finish(): Buffer[] {
    this.flush();
    return this.parts;
  }
}

function sectionHeader(name: string, version: number, length: number): Buffer {
  const h = Buffer.alloc(16);
  h.write(name.slice(0, 4), 0, 'latin1');
  h[4] = 0x20;
  h[5] = 0x30 + ((version >> 4) & 15);
  h[6] = 0x2e;
  h[7] = 0x30 + (version & 15);
  h.writeBigUInt64BE(BigInt(length), 8);
  return h;
}

export class DumpError extends Error {
  readonly code = 'MFS_DUMP_FAILED';
}

let epochs = 0;

export interface DumpOptions extends StoreOptions {
  /** Longest run of encoding between two turns of the event loop, in ms (run()); default 2. */
  sliceMs?: number;
  /**
   * An open file to stream the image to (run() then resolves with no buffers once all is written):
   * NODE and EDGE are written as they are encoded, the smaller sections at the end.
   */
  fd?: number;
  /** Buffer block size (tests make it small); default 1 MiB. */
  blockSize?: number;
}

type Phase = 'nodes' | 'buckets' | 'edges' | 'chunks' | 'done';

/**
 * One metadata.mfs image of the namespace at the moment of construction, written in slices:
 * `await dump.run()` (yields to the event loop between slices) or `step()` from a test. The result is
 * the file as a list of buffers. Only one dump per namespace at a time; `abort()` lets go.
 */
export class MetadataDump implements TreeDumpHook, ChunkDumpHook {
  readonly metaversion: bigint;
  private readonly epoch = ++epochs;
  private readonly t: FsTree;
  private readonly now: number;
  private readonly sliceMs: number;
  private phase: Phase = 'nodes';
  private aborted = false;
  // taken at V
  private readonly maxnodeid: number;
  private readonly nodeCount: number;
  private readonly nextEdgeId: bigint;
  private readonly nextChunkId: number;
  private readonly head: Buffer;
  private readonly extra: Map<string, RawSection>;
  private readonly free: Buffer;
  private readonly quot: Buffer;
  private readonly open: Buffer;
  // captured as the dump goes
  private readonly node: Sink;
  private readonly xatr: Sink;
  private readonly pacl: Sink;
  private readonly edge: Sink;
  private readonly chnk: Sink;
  private readonly file: FileOut | undefined;
  private nodeBodyPos = 0;
  /** Bytes written to the file (streamed dumps). */
  fileBytes = 0;
  private nodesWritten = 0;
  private readonly dirLists = new Map<FsNode, readonly Edge[]>();
  private readonly trashCap: Array<readonly Edge[] | undefined> = new Array(TRASH_BUCKETS);
  private readonly sustCap: Array<readonly Edge[] | undefined> = new Array(SUSTAINED_BUCKETS);
  private nodeIter: Iterator<FsNode>;
  private chunkIter: Iterator<ChunkEntry> | undefined;
  private bucketPos = 0;
  private readonly stack: Array<{ list: readonly Edge[]; ei: number; ri: number }> = [];
  private edgePhase: 'tree' | 'trash' = 'tree';
  private result: Buffer[] | undefined;
  /** Wall time spent encoding (sum of the slices), ms. */
  busyMs = 0;
  /** Longest slice, ms. */
  longestSliceMs = 0;
  slices = 0;

  constructor(ns: Namespace, o: DumpOptions) {
    const t = ns.tree;
    if (t.dumper !== null) throw new DumpError('a metadata dump is already running');
    this.t = t;
    this.metaversion = o.metaversion;
    this.now = o.now ?? Math.floor(Date.now() / 1000);
    this.sliceMs = o.sliceMs ?? 2;
    const bs = o.blockSize ?? BLOCK;
    this.node = new Sink(bs);
    this.xatr = new Sink(bs);
    this.pacl = new Sink(bs);
    this.edge = new Sink(bs);
    this.chnk = new Sink(bs);
    this.file = o.fd === undefined ? undefined : new FileOut(o.fd, bs);
    if (this.file && (o.extra ?? []).some((x) => x.name === 'NODE' || x.name === 'EDGE')) throw new DumpError('NODE and EDGE are this writer\'s own sections');
    this.maxnodeid = t.maxnodeid;
    this.nodeCount = t.nodes.size;
    this.nextEdgeId = t.nextEdgeId;
    this.nextChunkId = t.chunks.nextChunkId;
    const h = Buffer.alloc(24);
    h.write(METADATA_SIGNATURE, 0, 'latin1');
    h.writeBigUInt64BE(o.metaversion, 8);
    h.writeBigUInt64BE(o.metaid, 16);
    this.head = h;
    this.extra = new Map((o.extra ?? []).map((s) => [s.name, s]));
    if (!this.extra.has('SCLA') && !this.extra.has('LABS')) this.extra.set('SCLA', defaultSclassSection());
    this.free = this.storeFree();
    this.quot = this.storeQuotas();
    this.open = this.storeOpen();
    this.node.u32(this.maxnodeid);
    this.node.u32(this.nodeCount);
    this.edge.u64(this.nextEdgeId);
    this.chnk.u64n(this.nextChunkId);
    this.nodeIter = t.nodes.values();
    if (this.file) {
      let pos = this.head.length;
      for (const name of SECTION_ORDER) {
        if (name === 'NODE') break;
        const x = this.extra.get(name);
        if (x) pos += 16 + x.data.length;
      }
      this.nodeBodyPos = pos + 16;
      this.node.attach(this.file, this.nodeBodyPos);
    }
    t.dumper = this;
    t.chunks.dumper = this;
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  // ---------------------------------------------------------------- hooks (the tree, the chunk book, the applier)

  born(x: FsNode | ChunkEntry): void {
    x.dumpEpoch = this.epoch;
  }

  touch(c: ChunkEntry): void {
    if (c.dumpEpoch !== this.epoch) this.captureChunk(c);
  }

  bucket(sustained: boolean, bid: number): void {
    const cap = sustained ? this.sustCap : this.trashCap;
    if (cap[bid] === undefined) cap[bid] = [...(sustained ? this.t.sustained : this.t.trash)[bid]!.values()].reverse();
  }

  beforeRecord(rec: ChangelogRecord): void {
    if (this.phase !== 'nodes') return; // every node of V is captured already
    try {
      this.touchRecord(rec);
    } catch {
      try {
        this.captureAllNodes();
      } catch {
        this.abort(); // run() reports it; the record itself is applied as usual
      }
    }
  }

  // ---------------------------------------------------------------- capture

  private captureNode(n: FsNode): void {
    n.dumpEpoch = this.epoch;
    this.nodesWritten++;
    const w = this.node;
    w.u8(n.type);
    w.u32(n.inode);
    w.u8(n.sclassid);
    w.u8(n.eattr);
    w.u8(n.winattr);
    w.u16(n.mode & 0o7777);
    w.u32(n.uid);
    w.u32(n.gid);
    w.u32(n.atime);
    w.u32(n.mtime);
    w.u32(n.ctime);
    w.u16(n.trashtime);
    if (n.type === TYPE_BLOCKDEV || n.type === TYPE_CHARDEV) {
      w.u32(n.rdev);
    } else if (n.type === TYPE_SYMLINK) {
      w.u32(n.path.length);
      w.bytes(n.path);
    } else if (n.isFile) {
      const chunks = n.chunks;
      let ch = 0;
      for (let i = 0; i < chunks.length; i++) if (chunks[i] !== 0) ch = i + 1;
      w.u64n(n.length);
      w.u32(ch);
      for (let i = 0; i < ch; i++) w.u64n(chunks[i]!);
    } else if (n.type === TYPE_DIRECTORY) {
      this.dirLists.set(n, this.t.childList(n));
    }
    if (n.xattrs !== null) {
      const x = this.xatr;
      const list = [...n.xattrs.values()];
      for (let i = list.length - 1; i >= 0; i--) {
        const { name, value } = list[i]!;
        x.u32(n.inode);
        x.u8(Math.min(255, name.length));
        x.u32(value.length);
        x.bytes(name.length > 255 ? name.subarray(0, 255) : name);
        x.bytes(value);
      }
    }
    if (n.aclAccess !== null) this.acl(n.inode, POSIX_ACL_ACCESS, n.aclAccess);
    if (n.aclDefault !== null) this.acl(n.inode, POSIX_ACL_DEFAULT, n.aclDefault);
  }

  private acl(inode: number, type: number, a: PosixAcl): void {
    const w = this.pacl;
    w.u32(inode);
    w.u8(type);
    w.u16(a.userperm);
    w.u16(a.groupperm);
    w.u16(a.otherperm);
    w.u16(a.mask);
    w.u16(a.namedusers.length);
    w.u16(a.namedgroups.length);
    for (const e of a.namedusers) {
      w.u32(e.id);
      w.u16(e.perm);
    }
    for (const e of a.namedgroups) {
      w.u32(e.id);
      w.u16(e.perm);
    }
  }

  private captureChunk(c: ChunkEntry): void {
    c.dumpEpoch = this.epoch;
    const w = this.chnk;
    w.u64n(c.chunkid);
    w.u32(c.version);
    w.u32(c.lockedto < this.now ? 0 : c.lockedto);
    w.u8(0);
  }

  private node_(n: FsNode | undefined): void {
    if (n !== undefined && n.dumpEpoch !== this.epoch) this.captureNode(n);
  }

  private subtree(n: FsNode | undefined): void {
    if (n === undefined) return;
    const todo: FsNode[] = [n];
    while (todo.length > 0) {
      const x = todo.pop()!;
      this.node_(x);
      if (x.type === TYPE_DIRECTORY) {
        // the list at V when x was captured now, or the current one (a superset of what the record can reach)
        for (const e of this.t.childList(x)) todo.push(e.child);
      }
    }
  }

  /** The nodes `rec` can change (conservatively); captured before it is applied. */
  private touchRecord(rec: ChangelogRecord): void {
    const t = this.t;
    const a = rec.args;
    const nodeAt = (i: number): FsNode | undefined => {
      const v = a[i];
      return typeof v === 'number' ? t.nodes.get(v) : undefined;
    };
    const named = (pi: number, ni: number): FsNode | undefined => {
      const p = nodeAt(pi);
      const name = a[ni];
      if (p === undefined || p.children === null || !Buffer.isBuffer(name)) return undefined;
      return t.lookup(p, name)?.child;
    };
    const recursive = (smodeAt: number): void => {
      const smode = a[smodeAt];
      if (typeof smode === 'number' && (smode & SMODE_RMASK) === 0) this.node_(nodeAt(0));
      else this.subtree(nodeAt(0));
    };
    switch (rec.op) {
      case 'ACCESS':
      case 'ATTR':
      case 'AMTIME':
      case 'LENGTH':
      case 'TRUNC':
      case 'WRITE':
      case 'ROLLBACK':
      case 'REPAIR':
      case 'SETFILECHUNK':
      case 'SETXATTR':
      case 'SETACL':
      case 'PURGE':
      case 'SETPATH':
      case 'CREATE':
      case 'SYMLINK':
        this.node_(nodeAt(0));
        return;
      case 'UNLINK':
        this.node_(nodeAt(0));
        this.node_(named(0, 1));
        return;
      case 'MOVE':
        this.node_(nodeAt(0));
        this.node_(nodeAt(2));
        this.node_(named(0, 1));
        this.node_(named(2, 3));
        return;
      case 'LINK':
      case 'APPEND':
        this.node_(nodeAt(0));
        this.node_(nodeAt(1));
        return;
      case 'SETSCLASS':
        recursive(4);
        return;
      case 'SETGOAL':
      case 'SETTRASHTIME':
      case 'SETEATTR':
        recursive(3);
        return;
      case 'UNDEL': {
        const p = nodeAt(0);
        this.node_(p);
        const path = p?.parents[0]?.name;
        if (path === undefined) return;
        let d: FsNode | undefined = t.root;
        this.node_(d);
        for (const part of path.toString('latin1').split('/')) {
          if (part === '' || d === undefined || d.children === null) continue;
          d = t.lookup(d, Buffer.from(part, 'latin1'))?.child;
          this.node_(d);
        }
        return;
      }
      case 'EMPTYTRASH': {
        const bid = a[0];
        if (typeof bid !== 'number') return;
        for (let b = bid >= TRASH_BUCKETS ? 0 : bid; b < (bid >= TRASH_BUCKETS ? TRASH_BUCKETS : bid + 1); b++) {
          for (const e of t.trash[b]!.values()) if (expired(e.child, rec.ts)) this.node_(e.child);
        }
        return;
      }
      case 'EMPTYSUSTAINED': {
        const bid = a[0];
        if (typeof bid !== 'number') return;
        for (let b = bid >= SUSTAINED_BUCKETS ? 0 : bid; b < (bid >= SUSTAINED_BUCKETS ? SUSTAINED_BUCKETS : bid + 1); b++) {
          for (const e of t.sustained[b]!.values()) if (!t.open.has(e.child.inode)) this.node_(e.child);
        }
        return;
      }
      case 'SNAPSHOT':
        // the destination directory, and whatever already is at the destination name (overwritten or removed)
        this.node_(nodeAt(1));
        this.subtree(named(1, 2));
        return;
      // Parts taken at V (FREE, OPEN, QUOT, counters), chunk entries (their own hook) and storage classes:
      case 'UNLOCK':
      case 'NEXTCHUNKID':
      case 'FREEINODES':
      case 'ACQUIRE':
      case 'AQUIRE':
      case 'RELEASE':
      case 'QUOTA':
      case 'SCSET':
      case 'SCDUP':
      case 'SCREN':
      case 'SCDEL':
        return;
      default:
        // A record this writer does not know: keep the image right, whatever it costs.
        this.captureAllNodes();
    }
  }

  private captureAllNodes(): void {
    while (this.phase === 'nodes') this.step(Infinity);
  }

  // ---------------------------------------------------------------- the parts taken at V

  private storeFree(): Buffer {
    const fl = this.t.freelist;
    const b = Buffer.allocUnsafe(4 + 8 * fl.length);
    b.writeUInt32BE(fl.length, 0);
    let p = 4;
    for (const f of fl) {
      b.writeUInt32BE(f.inode, p);
      b.writeUInt32BE(f.ftime >>> 0, p + 4);
      p += 8;
    }
    return b;
  }

  private storeQuotas(): Buffer {
    const w = new Sink();
    const dirs = this.t.quotaDirs;
    w.u32(dirs.length);
    for (const d of dirs) {
      const q = d.quota!;
      w.u32(d.inode);
      w.u32(q.graceperiod);
      w.u8(q.exceeded);
      w.u8(q.flags);
      w.u32(q.stimestamp);
      w.u32(q.sinodes);
      w.u32(q.hinodes);
      for (const v of [q.slength, q.hlength, q.ssize, q.hsize, q.srealsize, q.hrealsize]) w.u64n(v);
    }
    return Buffer.concat(w.finish());
  }

  private storeOpen(): Buffer {
    const w = new Sink();
    for (const [inode, s] of this.t.open) {
      for (const ses of s) {
        w.u32(ses);
        w.u32(inode);
      }
    }
    w.zeros(8);
    return Buffer.concat(w.finish());
  }

  // ---------------------------------------------------------------- the walk

  /**
   * Encodes until done, `maxItems` items, or `until` (performance.now() ms) has passed. Returns true
   * when the image is complete.
   */
  step(maxItems: number, until = Infinity): boolean {
    if (this.aborted) throw new DumpError('metadata dump aborted');
    let k = 0;
    const more = (): boolean => {
      k++;
      if (k >= maxItems) return false;
      return (k & 127) !== 0 || performance.now() < until;
    };
    const t = this.t;
    while (this.phase !== 'done') {
      if (this.phase === 'nodes') {
        for (;;) {
          const r = this.nodeIter.next();
          if (r.done === true) {
            if (this.nodesWritten !== this.nodeCount) {
              this.abort();
              throw new DumpError(`metadata dump: ${this.nodesWritten} nodes captured, ${this.nodeCount} at version ${this.metaversion}`);
            }
            this.node.u8(0);
            this.xatr.zeros(9);
            this.pacl.zeros(4 + 1 + 12);
            // EDGE follows NODE in the file: now its place is known
            if (this.file) this.edge.attach(this.file, this.nodeBodyPos + this.node.length + 16);
            this.phase = 'buckets';
            break;
          }
          if (r.value.dumpEpoch !== this.epoch) this.captureNode(r.value);
          if (!more()) return false;
        }
      } else if (this.phase === 'buckets') {
        while (this.bucketPos < TRASH_BUCKETS + SUSTAINED_BUCKETS) {
          const b = this.bucketPos++;
          if (b < TRASH_BUCKETS) this.bucket(false, b);
          else this.bucket(true, b - TRASH_BUCKETS);
          if (!more()) return false;
        }
        this.stack.push({ list: this.dirLists.get(t.root)!, ei: 0, ri: 0 });
        this.bucketPos = 0;
        this.phase = 'edges';
      } else if (this.phase === 'edges') {
        const w = this.edge;
        const edge = (e: Edge): void => {
          w.u32(e.parent?.inode ?? 0);
          w.u32(e.child.inode);
          w.u64(e.edgeid);
          if (e.parent !== null) {
            // a tree edge's key is its name in latin1: written as is, no Buffer per edge
            w.u16(e.key.length);
            w.latin1(e.key);
          } else {
            const name = e.name;
            w.u16(name.length);
            w.bytes(name);
          }
        };
        if (this.edgePhase === 'tree') {
          while (this.stack.length > 0) {
            const f = this.stack[this.stack.length - 1]!;
            if (f.ei < f.list.length) {
              edge(f.list[f.ei++]!);
            } else if (f.ri < f.list.length) {
              const l = this.dirLists.get(f.list[f.ri++]!.child);
              if (l !== undefined) this.stack.push({ list: l, ei: 0, ri: 0 });
            } else {
              this.stack.pop();
            }
            if (!more()) return false;
          }
          this.edgePhase = 'trash';
        }
        while (this.bucketPos < TRASH_BUCKETS + SUSTAINED_BUCKETS) {
          const b = this.bucketPos++;
          const list = b < TRASH_BUCKETS ? this.trashCap[b]! : this.sustCap[b - TRASH_BUCKETS]!;
          for (const e of list) edge(e);
          if (!more()) return false;
        }
        w.zeros(4 + 4 + 8 + 2);
        // the tree is no longer needed: from here on only chunk entries change what is left to write
        t.dumper = null;
        this.dirLists.clear();
        this.chunkIter = t.chunks.chunks.values();
        this.phase = 'chunks';
      } else {
        for (;;) {
          const r = this.chunkIter!.next();
          if (r.done === true) {
            this.chnk.zeros(17);
            this.finishImage();
            break;
          }
          if (r.value.dumpEpoch !== this.epoch) this.captureChunk(r.value);
          if (!more()) return false;
        }
      }
    }
    return true;
  }

  private finishImage(): void {
    this.detach();
    const own: Record<string, [number, Sink | Buffer]> = {
      NODE: [0x14, this.node],
      EDGE: [0x11, this.edge],
      FREE: [0x10, this.free],
      QUOT: [0x11, this.quot],
      XATR: [0x10, this.xatr],
      PACL: [0x11, this.pacl],
      OPEN: [0x10, this.open],
      CHNK: [0x11, this.chnk],
    };
    const sections: Array<{ name: string; version: number; parts: Buffer[]; length: number }> = [];
    for (const name of SECTION_ORDER) {
      const x = this.extra.get(name);
      if (x) sections.push({ name, version: x.version, parts: [x.data], length: x.data.length });
      else if (own[name]) {
        const [version, body] = own[name];
        if (Buffer.isBuffer(body)) sections.push({ name, version, parts: [body], length: body.length });
        else {
          const parts = body.finish(); // streamed sinks: already in the file
          sections.push({ name, version, parts, length: body.length });
        }
      }
    }
    for (const [name, x] of this.extra) if (!(SECTION_ORDER as readonly string[]).includes(name)) sections.push({ name, version: x.version, parts: [x.data], length: x.data.length });
    const eof = Buffer.from(EOF_MARKER, 'latin1');
    if (this.file === undefined) {
      const out: Buffer[] = [this.head];
      for (const x of sections) out.push(sectionHeader(x.name, x.version, x.length), ...x.parts);
      out.push(eof);
      this.result = out;
    } else {
      const f = this.file;
      let pos = 0;
      const put = (b: Buffer): void => {
        f.write(b, b.length, pos, false);
        pos += b.length;
      };
      put(this.head);
      for (const x of sections) {
        put(sectionHeader(x.name, x.version, x.length));
        if (x.name === 'NODE' || x.name === 'EDGE') pos += x.length;
        else for (const p of x.parts) put(p);
      }
      put(eof);
      this.fileBytes = pos;
      this.result = [];
    }
    this.phase = 'done';
  }

  private detach(): void {
    if (this.t.dumper === this) this.t.dumper = null;
    if (this.t.chunks.dumper === this) this.t.chunks.dumper = null;
  }

  /** The image (after step() returned true or run() resolved). */
  get image(): Buffer[] {
    if (this.result === undefined) throw new DumpError('metadata dump not finished');
    return this.result;
  }

  /** Stops: the namespace no longer reports to this dump (a stop that stores metadata.mfs itself). */
  abort(): void {
    this.aborted = true;
    this.detach();
  }

  /**
   * Encodes in slices of at most `sliceMs`, letting the event loop run between them. Resolves with
   * the image, or (streamed to `fd`) with no buffers once every write is done.
   */
  async run(): Promise<Buffer[]> {
    for (;;) {
      const s = performance.now();
      const fin = this.step(Infinity, s + this.sliceMs);
      const d = performance.now() - s;
      this.busyMs += d;
      this.slices++;
      if (d > this.longestSliceMs) this.longestSliceMs = d;
      if (fin) {
        await this.file?.drain();
        return this.image;
      }
      await new Promise<void>((r) => setImmediate(r));
      if (this.aborted) throw new DumpError('metadata dump aborted');
      if (this.file?.error) {
        this.abort();
        throw this.file.error;
      }
    }
  }

  /** Waits for the writes already started (before the caller closes the file); never rejects. */
  async settled(): Promise<void> {
    await this.file?.drain().catch(() => undefined);
  }

  /** Everything left, now (no yielding); in memory only. */
  finishSync(): Buffer[] {
    if (this.file) throw new DumpError('finishSync: this dump streams to a file, use run()');
    this.step(Infinity);
    return this.image;
  }
}

/** The whole image in one go, as storeMetadata but through this writer. */
export function dumpMetadataSync(ns: Namespace, o: StoreOptions): Buffer {
  return Buffer.concat(new MetadataDump(ns, o).finishSync());
}
