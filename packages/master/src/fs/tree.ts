// In-memory namespace state and its primitive mutations (fsnodes_* in mfsmaster/filesystem.c):
// nodes, edges (with MooseFS edge ids for readdir continuation), directory statistics, trash and
// sustained lists, inode allocation with delayed reuse, open files. Only the applier (apply.ts)
// and the read-only queries of namespace.ts use this module.
import { aclCopyDefaults, cloneAcl } from './acl.js';
import type { ChangelogRecord } from './changelog.js';
import { ChunkBook } from './chunks.js';
import { NodeTable } from './nodetable.js';
import {
  DEFAULT_SCLASS,
  DEFAULT_TRASHTIME,
  EATTR_APPENDONLY,
  EATTR_IMMUTABLE,
  EATTR_NOECACHE,
  EATTR_SNAPSHOT,
  EATTR_UNDELETABLE,
  MFS_PATH_MAX,
  MFS_ROOT_ID,
  SUSTAINED_BUCKETS,
  TRASH_BUCKETS,
  TYPE_BLOCKDEV,
  TYPE_CHARDEV,
  TYPE_DIRECTORY,
  TYPE_FILE,
  TYPE_SUSTAINED,
  TYPE_SYMLINK,
  TYPE_TRASH,
  type PosixAcl,
  type Quota,
} from './types.js';

export const MFSCHUNKBITS = 26;
export const MFSCHUNKSIZE = 0x4000000;
export const MFSCHUNKMASK = 0x3ffffff;
export const MFSBLOCKSIZE = 0x10000;
export const MFSHDRSIZE = 0x2000;
export const EDGEID_MAX = 0x7fffffffffffffffn;

export interface Stats {
  inodes: number;
  dirs: number;
  files: number;
  chunks: number;
  length: number;
  size: number;
  realsize: number;
}

export function zeroStats(): Stats {
  return { inodes: 0, dirs: 0, files: 0, chunks: 0, length: 0, size: 0, realsize: 0 };
}

export interface Edge {
  /** null for trash/sustained edges (the name is then the original path). */
  parent: FsNode | null;
  child: FsNode;
  name: Buffer;
  key: string;
  edgeid: bigint;
}

/**
 * What an incremental metadata dump (metadump.ts) needs to hear from the tree while it runs: nodes
 * created after the dump's version, trash/sustained buckets about to change, and every record before
 * it is applied (so the nodes it touches are captured first).
 */
export interface TreeDumpHook {
  born(n: FsNode): void;
  bucket(sustained: boolean, bid: number): void;
  beforeRecord(rec: ChangelogRecord): void;
}

export function nameKey(name: Buffer): string {
  return name.toString('latin1');
}

/**
 * An edge made by the tree: the name is kept as its latin1 string only (the children map's key) and
 * turned back into bytes when asked, which halves an edge's memory.
 */
export class TreeEdge implements Edge {
  /** EDGEID_MAX - edgeid as a plain number (ids are handed out downwards from there), else the id. */
  private readonly eid: number | bigint;

  constructor(
    public parent: FsNode | null,
    public child: FsNode,
    public key: string,
    edgeid: bigint,
  ) {
    const d = EDGEID_MAX - edgeid;
    this.eid = d >= 0n && d <= 0x1fffffffffffffn ? Number(d) : edgeid;
  }

  get edgeid(): bigint {
    const e = this.eid;
    return typeof e === 'number' ? EDGEID_MAX - BigInt(e) : e;
  }

  get name(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }
}

const NO_PATH = Buffer.alloc(0);

/**
 * The chunk list of every file that has none yet: one shared, frozen array (a file's own array is
 * made when it gets its first chunk, ownChunks), so an empty file costs no array of its own.
 */
const NO_CHUNKS = Object.freeze([]) as unknown as number[];

/** The file's chunk list, made its own first if it is still the shared empty one. */
export function ownChunks(n: FsNode): number[] {
  if (n.chunks === NO_CHUNKS) n.chunks = [];
  return n.chunks;
}

/**
 * What few nodes have: directory data, symlink paths, devices, xattrs, ACLs, quotas, windows
 * attributes. Kept out of FsNode so a plain file costs only its common fields.
 */
class NodeExtra {
  winattr = 0;
  childCache: Edge[] | null = null;
  dirNlink = 2;
  stats: Stats | null = null;
  path: Buffer = NO_PATH;
  rdev = 0;
  xattrs: Map<string, { name: Buffer; value: Buffer }> | null = null;
  aclAccess: PosixAcl | null = null;
  aclDefault: PosixAcl | null = null;
  quota: Quota | null = null;
}

export class FsNode {
  mode = 0;
  uid = 0;
  gid = 0;
  atime = 0;
  mtime = 0;
  ctime = 0;
  /**
   * type (bits 0-7), eattr (8-15), sclassid (16-23) and realsizeRatio (24-30) in one small integer,
   * behind the accessors below: four fields for the price of one.
   */
  private bits = 0;
  trashtime = DEFAULT_TRASHTIME;
  /** Newest link first (fsnodes_link prepends). */
  parents: Edge[] = [];
  /** Links of non-directories (fdata/sdata/devdata/odata nlink). */
  nlink = 0;
  // directories
  children: Map<string, Edge> | null = null;
  // files
  length = 0;
  /** Chunk ids by index (0 = hole); grow it only through ownChunks(). */
  chunks: number[] = NO_CHUNKS;
  /** The rarely set fields (accessors below); null while all of them have their defaults. */
  private x: NodeExtra | null = null;

  private setBits(shift: number, width: number, v: number, what: string): void {
    const max = (1 << width) - 1;
    if (!(v >= 0 && v <= max && Number.isInteger(v))) throw new RangeError(`node ${this.inode}: ${what} ${v} out of range`);
    this.bits = (this.bits & ~(max << shift)) | (v << shift);
  }

  /** TYPE_* */
  get type(): number {
    return this.bits & 0xff;
  }
  set type(v: number) {
    this.setBits(0, 8, v, 'type');
  }
  /** EATTR_* bits */
  get eattr(): number {
    return (this.bits >>> 8) & 0xff;
  }
  set eattr(v: number) {
    this.setBits(8, 8, v, 'eattr');
  }
  get sclassid(): number {
    return (this.bits >>> 16) & 0xff;
  }
  set sclassid(v: number) {
    this.setBits(16, 8, v, 'sclassid');
  }
  /** Copies the file's storage class keeps (realsize = size * this), as fsnodes_get_stats uses it. */
  get realsizeRatio(): number {
    return (this.bits >>> 24) & 0x7f;
  }
  set realsizeRatio(v: number) {
    this.setBits(24, 7, v, 'realsizeRatio');
  }

  private extra(): NodeExtra {
    return (this.x ??= new NodeExtra());
  }

  get winattr(): number {
    return this.x?.winattr ?? 0;
  }
  set winattr(v: number) {
    if (v !== 0 || this.x !== null) this.extra().winattr = v;
  }
  /** childList() cache; dropped whenever children change. */
  get childCache(): Edge[] | null {
    return this.x?.childCache ?? null;
  }
  set childCache(v: Edge[] | null) {
    if (v !== null || this.x !== null) this.extra().childCache = v;
  }
  get dirNlink(): number {
    return this.x?.dirNlink ?? 2;
  }
  set dirNlink(v: number) {
    if (v !== 2 || this.x !== null) this.extra().dirNlink = v;
  }
  /** A directory's totals (files have none: getStats computes theirs). */
  get stats(): Stats {
    const x = this.extra();
    return (x.stats ??= zeroStats());
  }
  set stats(v: Stats) {
    this.extra().stats = v;
  }
  // symlinks
  get path(): Buffer {
    return this.x?.path ?? NO_PATH;
  }
  set path(v: Buffer) {
    if (v.length !== 0 || this.x !== null) this.extra().path = v;
  }
  // devices
  get rdev(): number {
    return this.x?.rdev ?? 0;
  }
  set rdev(v: number) {
    if (v !== 0 || this.x !== null) this.extra().rdev = v;
  }
  get xattrs(): Map<string, { name: Buffer; value: Buffer }> | null {
    return this.x?.xattrs ?? null;
  }
  set xattrs(v: Map<string, { name: Buffer; value: Buffer }> | null) {
    if (v !== null || this.x !== null) this.extra().xattrs = v;
  }
  get aclAccess(): PosixAcl | null {
    return this.x?.aclAccess ?? null;
  }
  set aclAccess(v: PosixAcl | null) {
    if (v !== null || this.x !== null) this.extra().aclAccess = v;
  }
  get aclDefault(): PosixAcl | null {
    return this.x?.aclDefault ?? null;
  }
  set aclDefault(v: PosixAcl | null) {
    if (v !== null || this.x !== null) this.extra().aclDefault = v;
  }
  /** Directories with a quota. */
  get quota(): Quota | null {
    return this.x?.quota ?? null;
  }
  set quota(v: Quota | null) {
    if (v !== null || this.x !== null) this.extra().quota = v;
  }
  /** The metadata dump that has this node captured (or that saw it born); see metadump.ts. */
  dumpEpoch = 0;

  constructor(
    readonly inode: number,
    type: number,
  ) {
    this.type = type;
    if (type === TYPE_DIRECTORY) {
      this.children = new Map();
      this.extra().stats = zeroStats();
    }
  }

  get isFile(): boolean {
    return this.type === TYPE_FILE || this.type === TYPE_TRASH || this.type === TYPE_SUSTAINED;
  }
}

/**
 * The holder set of a file open in one session only: one shared, sealed instance per session, so a
 * file open once costs a map entry and no set of its own. Mutating it throws; ACQUIRE / RELEASE
 * replace it instead (apply.ts).
 */
export class SoleHolder extends Set<number> {
  private sealed = false;
  constructor(session: number) {
    super();
    super.add(session);
    this.sealed = true;
  }
  override add(v: number): this {
    if (this.sealed) throw new TypeError('SoleHolder is shared: replace it, do not add to it');
    return super.add(v);
  }
  override delete(_v: number): boolean {
    throw new TypeError('SoleHolder is shared: replace it, do not delete from it');
  }
  override clear(): void {
    throw new TypeError('SoleHolder is shared: replace it, do not clear it');
  }
}

export interface TreeOptions {
  /** Storage class id -> its keep-max goal (realsize ratio); MooseFS's default classes 1..9 keep that many copies. */
  sclassKeepMax?: (sclassid: number) => number;
}

export class FsTree {
  readonly nodes = new NodeTable<FsNode>();
  root: FsNode;
  readonly chunks: ChunkBook;
  nextEdgeId = EDGEID_MAX - 1n;
  /** trash[bid] / sustained[bid]: inode -> edge, newest last. */
  readonly trash: Array<Map<number, Edge>> = [];
  readonly sustained: Array<Map<number, Edge>> = [];
  trashspace = 0;
  trashnodes = 0;
  sustainedspace = 0;
  sustainednodes = 0;
  // inode allocation (fsnodes_get_next_id / fsnodes_free_id)
  freebits: Uint32Array;
  searchpos = 0;
  maxnodeid = MFS_ROOT_ID;
  freelist: Array<{ inode: number; ftime: number }> = [];
  freelastts = 0;
  /** Open files: inode -> sessions. */
  readonly open = new Map<number, Set<number>>();
  private readonly soleHolders = new Map<number, SoleHolder>();
  trashBid = 0;
  sustainedBid = 0;
  readonly sclassKeepMax: (sclassid: number) => number;
  /** Directories with quotas, newest first (quotahead). */
  quotaDirs: FsNode[] = [];
  /** The incremental metadata dump in progress, if any (metadump.ts). */
  dumper: TreeDumpHook | null = null;

  constructor(ts: number, opts: TreeOptions = {}, chunks?: ChunkBook) {
    this.sclassKeepMax = opts.sclassKeepMax ?? ((id) => (id >= 1 && id <= 9 ? id : 0));
    this.chunks = chunks ?? new ChunkBook();
    for (let i = 0; i < TRASH_BUCKETS; i++) this.trash.push(new Map());
    for (let i = 0; i < SUSTAINED_BUCKETS; i++) this.sustained.push(new Map());
    this.freebits = new Uint32Array(0x100);
    this.freebits[0] = 1; // inode 0 reserved
    const root = new FsNode(MFS_ROOT_ID, TYPE_DIRECTORY);
    root.atime = root.mtime = root.ctime = ts;
    root.sclassid = DEFAULT_SCLASS;
    root.trashtime = DEFAULT_TRASHTIME;
    root.mode = 0o777;
    this.nodes.set(root.inode, root);
    this.markUsed(root.inode);
    this.root = root;
  }

  /** The shared holder set of a file open in session `ses` alone. */
  soleHolder(ses: number): SoleHolder {
    let h = this.soleHolders.get(ses);
    if (h === undefined) this.soleHolders.set(ses, (h = new SoleHolder(ses)));
    return h;
  }

  // ---------- inode numbers ----------
  markUsed(inode: number): void {
    const pos = inode >>> 5;
    if (pos >= this.freebits.length) {
      const nb = new Uint32Array(0x100 + (pos & 0xffffff80));
      nb.set(this.freebits);
      this.freebits = nb;
    }
    this.freebits[pos]! |= 1 << (inode & 31);
  }

  allocInode(): number {
    while (this.searchpos < this.freebits.length && this.freebits[this.searchpos] === 0xffffffff) this.searchpos++;
    if (this.searchpos === this.freebits.length) {
      const nb = new Uint32Array(this.freebits.length + 0x80);
      nb.set(this.freebits);
      this.freebits = nb;
    }
    let mask = this.freebits[this.searchpos]!;
    let i = 0;
    while (mask & 1) {
      i++;
      mask >>>= 1;
    }
    this.freebits[this.searchpos] = (this.freebits[this.searchpos]! | (1 << i)) >>> 0;
    const inode = i + this.searchpos * 32;
    if (inode > this.maxnodeid) this.maxnodeid = inode;
    return inode;
  }

  private freeId(inode: number, ts: number): void {
    if (ts < this.freelastts) {
      for (const f of this.freelist) if (f.ftime > ts) f.ftime = ts;
    }
    this.freelist.push({ inode, ftime: ts });
    this.freelastts = ts;
  }

  /** fs_univ_freeinodes: release inodes freed more than `delay` seconds ago; returns fi, si, checksum. */
  freeInodes(ts: number, delay: number, metarestore: boolean, sustainedExpected: number): { fi: number; si: number; ics: number } {
    let fi = 0;
    let si = 0;
    let ics = 0;
    if (ts < this.freelastts) {
      for (const f of this.freelist) if (f.ftime > ts) f.ftime = ts;
      this.freelastts = ts;
    }
    const kept: Array<{ inode: number; ftime: number }> = [];
    let i = 0;
    while (i < this.freelist.length && this.freelist[i]!.ftime + delay < ts) {
      const n = this.freelist[i]!;
      ics = (ics ^ n.inode) >>> 0;
      if ((!metarestore || sustainedExpected > 0) && this.open.has(n.inode)) {
        si++;
        kept.push({ inode: n.inode, ftime: ts });
      } else {
        fi++;
        const pos = n.inode >>> 5;
        this.freebits[pos] = (this.freebits[pos]! & ~(1 << (n.inode & 31))) >>> 0;
        if (pos < this.searchpos) this.searchpos = pos;
      }
      i++;
    }
    if (i > 0) this.freelist = this.freelist.slice(i);
    if (this.freelist.length === 0) this.freelastts = 0;
    if (kept.length > 0) {
      this.freelist.push(...kept);
      this.freelastts = ts;
    }
    return { fi, si, ics };
  }

  // ---------- edges ----------
  newEdgeId(): bigint {
    if (this.nextEdgeId < EDGEID_MAX) return this.nextEdgeId--;
    return 0n;
  }

  /** Children of a directory in MooseFS list order (newest first = ascending edge id). */
  childList(dir: FsNode): readonly Edge[] {
    if (dir.childCache === null) {
      const out = [...dir.children!.values()];
      out.reverse();
      dir.childCache = out;
    }
    return dir.childCache;
  }

  lookup(dir: FsNode, name: Buffer): Edge | undefined {
    return dir.children!.get(nameKey(name));
  }

  isAncestor(f: FsNode, p: FsNode): boolean {
    if (p.type === TYPE_TRASH || p.type === TYPE_SUSTAINED || f.type !== TYPE_DIRECTORY) return false;
    for (const e of p.parents) {
      let q: FsNode | null = e.parent;
      while (q !== null) {
        if (q === f) return true;
        q = q.parents.length > 0 ? q.parents[0]!.parent : null;
      }
    }
    return false;
  }

  // ---------- statistics (fsnodes_get_stats & co.) ----------
  getStats(node: FsNode, fix: 0 | 1 | 2): Stats {
    if (node.type === TYPE_DIRECTORY) {
      const s = { ...node.stats };
      s.inodes++;
      s.dirs++;
      return s;
    }
    if (node.isFile) {
      const sr = zeroStats();
      sr.inodes = 1;
      sr.files = 1;
      sr.length = node.length;
      const { lastchunk, lastchunksize } = lastChunkInfo(node.length);
      for (let i = 0; i < node.chunks.length; i++) {
        if (node.chunks[i]! > 0) {
          if (i < lastchunk) sr.size += MFSCHUNKSIZE + MFSHDRSIZE;
          else if (i === lastchunk) sr.size += lastchunksize;
          sr.chunks++;
        }
      }
      if (fix === 2) {
        const ratio = this.sclassKeepMax(node.sclassid);
        if (ratio !== node.realsizeRatio) {
          const diff = sr.size * ratio - sr.size * node.realsizeRatio;
          for (const e of node.parents) this.fixRealsize(e.parent, diff);
          node.realsizeRatio = ratio;
        }
      } else if (fix === 1) {
        node.realsizeRatio = this.sclassKeepMax(node.sclassid);
      }
      sr.realsize = sr.size * node.realsizeRatio;
      return sr;
    }
    const sr = zeroStats();
    sr.inodes = 1;
    if (node.type === TYPE_SYMLINK) sr.length = node.path.length;
    return sr;
  }

  private fixRealsize(parent: FsNode | null, diff: number): void {
    if (parent === null) return;
    parent.stats.realsize += diff;
    if (parent !== this.root) for (const e of parent.parents) this.fixRealsize(e.parent, diff);
  }

  addStats(parent: FsNode | null, sr: Stats, sign = 1): void {
    if (parent === null) return;
    const p = parent.stats;
    p.inodes += sign * sr.inodes;
    p.dirs += sign * sr.dirs;
    p.files += sign * sr.files;
    p.chunks += sign * sr.chunks;
    p.length += sign * sr.length;
    p.size += sign * sr.size;
    p.realsize += sign * sr.realsize;
    if (parent !== this.root) for (const e of parent.parents) this.addStats(e.parent, sr, sign);
  }

  addSubStats(parent: FsNode | null, nsr: Stats, psr: Stats): void {
    this.addStats(parent, {
      inodes: nsr.inodes - psr.inodes,
      dirs: nsr.dirs - psr.dirs,
      files: nsr.files - psr.files,
      chunks: nsr.chunks - psr.chunks,
      length: nsr.length - psr.length,
      size: nsr.size - psr.size,
      realsize: nsr.realsize - psr.realsize,
    });
  }

  /** Re-propagates a file's stats after its chunks/length changed (callers take `psr` before). */
  statsChanged(node: FsNode, psr: Stats): void {
    const nsr = this.getStats(node, 1);
    for (const e of node.parents) this.addSubStats(e.parent, nsr, psr);
  }

  // ---------- links ----------
  /** fsnodes_link */
  link(ts: number, parent: FsNode, child: FsNode, name: Buffer): Edge {
    const e = new TreeEdge(parent, child, nameKey(name), this.newEdgeId());
    parent.children!.set(e.key, e);
    parent.childCache = null;
    // A new array for the first link: push/unshift onto [] would reserve room for 17.
    if (child.parents.length === 0) child.parents = [e];
    else child.parents.unshift(e);
    if (child.type === TYPE_DIRECTORY) parent.dirNlink++;
    else child.nlink++;
    parent.eattr &= ~EATTR_SNAPSHOT;
    const sr = this.getStats(child, 1);
    this.addStats(parent, sr);
    if (ts > 0) {
      parent.mtime = parent.ctime = ts;
      child.ctime = ts;
    }
    return e;
  }

  /** fsnodes_remove_edge */
  removeEdge(ts: number, e: Edge): void {
    const child = e.child;
    if (e.parent !== null) {
      const sr = this.getStats(child, 0);
      this.addStats(e.parent, sr, -1);
      e.parent.mtime = e.parent.ctime = ts;
      if (child.type === TYPE_DIRECTORY) e.parent.dirNlink--;
      else child.nlink--;
      e.parent.eattr &= ~EATTR_SNAPSHOT;
      e.parent.children!.delete(e.key);
      e.parent.childCache = null;
    } else {
      const list = child.type === TYPE_SUSTAINED ? this.sustained : this.trash;
      const buckets = list === this.sustained ? SUSTAINED_BUCKETS : TRASH_BUCKETS;
      this.dumper?.bucket(list === this.sustained, child.inode % buckets);
      list[child.inode % buckets]!.delete(child.inode);
    }
    if (ts > 0) child.ctime = ts;
    const i = child.parents.indexOf(e);
    if (i >= 0) child.parents.splice(i, 1);
  }

  /** fsnodes_create_node */
  createNode(
    ts: number,
    parent: FsNode,
    name: Buffer,
    type: number,
    mode: number,
    cumask: number,
    uid: number,
    gid: number,
    copysgid: boolean,
  ): FsNode {
    const p = new FsNode(this.allocInode(), type);
    p.atime = p.mtime = p.ctime = ts;
    if (type === TYPE_DIRECTORY || type === TYPE_FILE) {
      p.sclassid = parent.sclassid;
      p.trashtime = parent.trashtime;
    } else {
      p.sclassid = 0;
      p.trashtime = DEFAULT_TRASHTIME;
    }
    if (type === TYPE_DIRECTORY) {
      p.eattr = parent.eattr & ~(EATTR_SNAPSHOT | EATTR_UNDELETABLE | EATTR_APPENDONLY | EATTR_IMMUTABLE);
    } else {
      p.eattr = parent.eattr & ~(EATTR_NOECACHE | EATTR_SNAPSHOT | EATTR_UNDELETABLE | EATTR_APPENDONLY | EATTR_IMMUTABLE);
    }
    if (parent.aclDefault !== null) {
      const r = aclCopyDefaults(parent.aclDefault, mode, type === TYPE_DIRECTORY);
      p.mode = r.mode & 0xffff;
      if (r.access) p.aclAccess = r.access;
      if (r.default) p.aclDefault = r.default;
    } else {
      p.mode = mode & ~cumask;
    }
    p.mode &= 0o7777;
    p.uid = uid;
    if ((parent.mode & 0o2000) === 0o2000) {
      p.gid = parent.gid;
      if (copysgid && type === TYPE_DIRECTORY) p.mode |= 0o2000;
    } else {
      p.gid = gid;
    }
    this.dumper?.born(p);
    this.nodes.set(p.inode, p);
    this.link(ts, parent, p, name);
    return p;
  }

  /** fsnodes_getpath: the first-parent path from the root (at most MFS_PATH_MAX bytes, cut from the front). */
  getPath(e: Edge): Buffer {
    const parts: Buffer[] = [e.name];
    let p = e.parent;
    while (p !== null && p !== this.root && p.parents.length > 0) {
      parts.push(p.parents[0]!.name);
      p = p.parents[0]!.parent;
    }
    parts.reverse();
    const full = Buffer.from(parts.map((b) => b.toString('latin1')).join('/'), 'latin1');
    return full.length > MFS_PATH_MAX ? full.subarray(full.length - MFS_PATH_MAX) : full;
  }

  /** fsnodes_setlength */
  setLength(node: FsNode, length: number): void {
    const psr = this.getStats(node, 0);
    if (node.type === TYPE_TRASH) this.trashspace += length - node.length;
    else if (node.type === TYPE_SUSTAINED) this.sustainedspace += length - node.length;
    node.length = length;
    const chunks = length > 0 ? Math.floor((length - 1) / MFSCHUNKSIZE) + 1 : 0;
    for (let i = chunks; i < node.chunks.length; i++) {
      const c = node.chunks[i]!;
      if (c > 0) this.chunks.deleteFile(c);
    }
    if (chunks < node.chunks.length) node.chunks.length = chunks;
    const nsr = this.getStats(node, 1);
    for (const e of node.parents) this.addSubStats(e.parent, nsr, psr);
    node.eattr &= ~EATTR_SNAPSHOT;
  }

  /** fsnodes_remove_node (only for nodes without links) */
  removeNode(ts: number, node: FsNode): void {
    if (node.parents.length > 0) return;
    this.nodes.delete(node.inode);
    if (node.quota !== null) {
      node.quota = null;
      this.quotaDirs = this.quotaDirs.filter((d) => d !== node);
    }
    if (node.isFile) for (const c of node.chunks) if (c > 0) this.chunks.deleteFile(c);
    this.freeId(node.inode, ts);
  }

  private detach(ts: number, child: FsNode, path: Buffer, kind: 'trash' | 'sustained'): void {
    const e: Edge = { parent: null, child, name: path, key: '', edgeid: this.newEdgeId() };
    if (kind === 'trash') {
      child.type = TYPE_TRASH;
      child.ctime = ts;
      this.dumper?.bucket(false, child.inode % TRASH_BUCKETS);
      this.trash[child.inode % TRASH_BUCKETS]!.set(child.inode, e);
      this.trashspace += child.length;
      this.trashnodes++;
    } else {
      child.type = TYPE_SUSTAINED;
      this.dumper?.bucket(true, child.inode % SUSTAINED_BUCKETS);
      this.sustained[child.inode % SUSTAINED_BUCKETS]!.set(child.inode, e);
      this.sustainedspace += child.length;
      this.sustainednodes++;
    }
    child.parents = [e];
  }

  /** fsnodes_unlink: remove a link; the last link of a file sends it to trash or sustained. */
  unlink(ts: number, e: Edge): void {
    const child = e.child;
    const isOpen = this.open.has(child.inode);
    let path: Buffer | null = null;
    if (child.parents.length === 1 && child.type === TYPE_FILE && (child.trashtime > 0 || isOpen)) {
      path = this.getPath(e);
    }
    this.removeEdge(ts, e);
    if (child.parents.length === 0) {
      if (child.type === TYPE_FILE) {
        if (child.trashtime > 0) this.detach(ts, child, path!, 'trash');
        else if (isOpen) this.detach(ts, child, path!, 'sustained');
        else this.removeNode(ts, child);
      } else {
        this.removeNode(ts, child);
      }
    }
  }

  /** fsnodes_purge: 1 = removed, 0 = moved to sustained (still open), -1 = not detached. */
  purge(ts: number, p: FsNode): number {
    const e = p.parents[0]!;
    if (p.type === TYPE_TRASH) {
      this.trashspace -= p.length;
      this.trashnodes--;
      if (this.open.has(p.inode)) {
        this.dumper?.bucket(false, p.inode % TRASH_BUCKETS);
        this.dumper?.bucket(true, p.inode % SUSTAINED_BUCKETS);
        this.trash[p.inode % TRASH_BUCKETS]!.delete(p.inode);
        p.type = TYPE_SUSTAINED;
        this.sustainedspace += p.length;
        this.sustainednodes++;
        this.sustained[p.inode % SUSTAINED_BUCKETS]!.set(p.inode, e);
        return 0;
      }
      this.removeEdge(ts, e);
      this.removeNode(ts, p);
      return 1;
    }
    if (p.type === TYPE_SUSTAINED) {
      this.sustainedspace -= p.length;
      this.sustainednodes--;
      this.removeEdge(ts, e);
      this.removeNode(ts, p);
      return 1;
    }
    return -1;
  }

  /** Moves a trash node's path (SETPATH). */
  setTrashPath(p: FsNode, path: Buffer): void {
    const e = p.parents[0]!;
    this.dumper?.bucket(false, p.inode % TRASH_BUCKETS);
    this.trash[p.inode % TRASH_BUCKETS]!.delete(p.inode);
    const ne: Edge = { parent: null, child: p, name: Buffer.from(path), key: '', edgeid: this.newEdgeId() };
    void e;
    this.trash[p.inode % TRASH_BUCKETS]!.set(p.inode, ne);
    p.parents = [ne];
  }

  /** Removes a trash node's edge from its bucket (the trash -> tree transition of undel). */
  dropTrashEdge(p: FsNode): void {
    const e = p.parents[0]!;
    this.dumper?.bucket(false, p.inode % TRASH_BUCKETS);
    this.trash[p.inode % TRASH_BUCKETS]!.delete(p.inode);
    const i = p.parents.indexOf(e);
    if (i >= 0) p.parents.splice(i, 1);
  }

  /** posix_acl_copy for each ACL the source has; ACLs the destination inherited stay otherwise (as in C). */
  copyAcls(src: FsNode, dst: FsNode): void {
    if (src.aclAccess) dst.aclAccess = cloneAcl(src.aclAccess);
    if (src.aclDefault) dst.aclDefault = cloneAcl(src.aclDefault);
  }

  /** fsnodes_test_quota: would adding these amounts break a quota of `node` or any ancestor? */
  quotaExceeded(node: FsNode | null, inodes: number, length: number, size: number, realsize: number): boolean {
    if (node === null) return false;
    if (this.quotaExceededHere(node, inodes, length, size, realsize)) return true;
    if (node !== this.root) for (const e of node.parents) if (this.quotaExceeded(e.parent, inodes, length, size, realsize)) return true;
    return false;
  }

  /** fsnodes_test_quota_noparents */
  quotaExceededHere(node: FsNode, inodes: number, length: number, size: number, realsize: number): boolean {
    const q = node.quota;
    if (q !== null && node.type === TYPE_DIRECTORY) {
      const s = node.stats;
      if (inodes > 0 && q.flags & 0x10 && s.inodes + inodes > q.hinodes) return true;
      if (length > 0 && q.flags & 0x20 && s.length + length > q.hlength) return true;
      if (size > 0 && q.flags & 0x40 && s.size + size > q.hsize) return true;
      if (realsize > 0 && q.flags & 0x80 && s.realsize + realsize > q.hrealsize) return true;
      if (q.exceeded) {
        if (inodes > 0 && q.flags & 0x01 && s.inodes + inodes > q.sinodes) return true;
        if (length > 0 && q.flags & 0x02 && s.length + length > q.slength) return true;
        if (size > 0 && q.flags & 0x04 && s.size + size > q.ssize) return true;
        if (realsize > 0 && q.flags & 0x08 && s.realsize + realsize > q.srealsize) return true;
      }
    }
    return false;
  }

  /** The size a file's chunks take (fsnodes_get_stats' size). */
  fileSize(n: FsNode): number {
    const { lastchunk, lastchunksize } = lastChunkInfo(n.length);
    let size = 0;
    for (let i = 0; i < n.chunks.length; i++) {
      if (n.chunks[i]! > 0) {
        if (i < lastchunk) size += MFSCHUNKSIZE + MFSHDRSIZE;
        else if (i === lastchunk) size += lastchunksize;
      }
    }
    return size;
  }

  /** fsnodes_test_quota_for_uncommon_nodes: quotas of dst's ancestors that src does not share. */
  quotaExceededUncommon(dst: FsNode, src: FsNode, inodes: number, length: number, size: number, realsize: number): boolean {
    if (dst === src) return false;
    const chain = (n: FsNode | null): FsNode[] => {
      const out: FsNode[] = [];
      while (n !== null) {
        if (n.quota !== null) out.unshift(n);
        n = n.parents[0]?.parent ?? null;
      }
      return out;
    };
    const d = chain(dst);
    const s = chain(src);
    let i = 0;
    while (i < d.length && i < s.length && d[i] === s[i]) i++;
    let ret = false;
    for (; i < d.length; i++) if (this.quotaExceeded(d[i]!, inodes, length, size, realsize)) ret = true;
    return ret;
  }

  isDevice(n: FsNode): boolean {
    return n.type === TYPE_BLOCKDEV || n.type === TYPE_CHARDEV;
  }
}

export function lastChunkInfo(length: number): { lastchunk: number; lastchunksize: number } {
  if (length > 0) {
    const l = length - 1;
    const lastchunk = Math.floor(l / MFSCHUNKSIZE);
    const within = l % MFSCHUNKSIZE;
    const lastchunksize = Math.floor((within + MFSBLOCKSIZE) / MFSBLOCKSIZE) * MFSBLOCKSIZE + MFSHDRSIZE;
    return { lastchunk, lastchunksize };
  }
  return { lastchunk: 0, lastchunksize: MFSHDRSIZE };
}
