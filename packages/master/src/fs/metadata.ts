// metadata.mfs ("MFSM 2.0") writer and loader for the namespace's sections. Layout from
// mfsmaster/metadata.c (meta_store / meta_load: header, then sections `NAME x.y` + length:64, then
// "[MFS EOF MARKER]") and the section store/load functions: fs_storenodes (NODE 1.4), fs_storeedges
// (EDGE 1.1), fs_storefree (FREE 1.0), fs_storequota (QUOT 1.1, 70-byte records), xattr_store (XATR 1.0),
// posix_acl_store (PACL 1.1), of_store (OPEN 1.0), chunk_store (CHNK 1.1). Sections other modules own
// (SESS, SCLA, FLCK, PLCK, CSDB) are passed in as bytes and written at their place in MooseFS's order.
import { Writer } from '@mfs-ts/protocol';
import { aclFromBlob } from './acl.js';
import type { Namespace } from './namespace.js';
import { FsNode, type Edge, nameKey, zeroStats } from './tree.js';
import {
  MFS_ROOT_ID,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
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

export const METADATA_SIGNATURE = 'MFSM 2.0';
export const EOF_MARKER = '[MFS EOF MARKER]';
/** Section order of meta_store. */
export const SECTION_ORDER = ['SESS', 'SCLA', 'NODE', 'EDGE', 'FREE', 'QUOT', 'XATR', 'PACL', 'OPEN', 'FLCK', 'PLCK', 'CSDB', 'CHNK'] as const;

export interface RawSection {
  /** Four characters, e.g. "SESS". */
  name: string;
  /** Section format version, e.g. 0x13 for "1.3". */
  version: number;
  data: Buffer;
}

export interface StoreOptions {
  /** meta_version: the version the next changelog record gets (ChangelogWriter.version). */
  metaversion: bigint;
  metaid: bigint;
  /** Sections other modules write (SESS, SCLA, FLCK, PLCK, CSDB). */
  extra?: RawSection[];
  /** main_time(), for lockedto values in CHNK (expired locks are stored as 0). */
  now?: number;
}

function out(w: Writer): Buffer {
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function section(w: Writer, name: string, version: number, body: Buffer): void {
  const hdr = Buffer.alloc(16);
  hdr.write(name.slice(0, 4), 0, 'latin1');
  hdr[4] = 0x20;
  hdr[5] = 0x30 + ((version >> 4) & 15);
  hdr[6] = 0x2e;
  hdr[7] = 0x30 + (version & 15);
  hdr.writeBigUInt64BE(BigInt(body.length), 8);
  w.bytes(hdr).bytes(body);
}

function storeNodes(ns: Namespace): Buffer {
  const t = ns.tree;
  const w = new Writer();
  w.u32(t.maxnodeid).u32(t.nodes.size);
  for (const n of t.nodes.values()) {
    w.u8(n.type).u32(n.inode).u8(n.sclassid).u8(n.eattr).u8(n.winattr).u16(n.mode & 0o7777);
    w.u32(n.uid).u32(n.gid).u32(n.atime).u32(n.mtime).u32(n.ctime).u16(n.trashtime);
    if (n.type === TYPE_BLOCKDEV || n.type === TYPE_CHARDEV) {
      w.u32(n.rdev);
    } else if (n.type === TYPE_SYMLINK) {
      w.u32(n.path.length).bytes(n.path);
    } else if (n.isFile) {
      let ch = 0;
      for (let i = 0; i < n.chunks.length; i++) if (n.chunks[i] !== 0) ch = i + 1;
      w.u64n(n.length).u32(ch);
      for (let i = 0; i < ch; i++) w.u64n(n.chunks[i]!);
    }
  }
  w.u8(0);
  return out(w);
}

function storeEdges(ns: Namespace): Buffer {
  const t = ns.tree;
  const w = new Writer();
  w.u64(t.nextEdgeId);
  const edge = (e: Edge): void => {
    w.u32(e.parent?.inode ?? 0).u32(e.child.inode).u64(e.edgeid).u16(e.name.length).bytes(e.name);
  };
  const rec = (dir: FsNode): void => {
    const list = t.childList(dir);
    for (const e of list) edge(e);
    for (const e of list) if (e.child.type === TYPE_DIRECTORY) rec(e.child);
  };
  rec(t.root);
  // trash / sustained buckets: C list order is newest first
  for (const b of t.trash) for (const e of [...b.values()].reverse()) edge(e);
  for (const b of t.sustained) for (const e of [...b.values()].reverse()) edge(e);
  w.bytes(Buffer.alloc(4 + 4 + 8 + 2));
  return out(w);
}

function storeFree(ns: Namespace): Buffer {
  const fl = ns.tree.freelist;
  const w = new Writer();
  w.u32(fl.length);
  for (const f of fl) w.u32(f.inode).u32(f.ftime);
  return out(w);
}

function storeQuotas(ns: Namespace): Buffer {
  const dirs = ns.tree.quotaDirs;
  const w = new Writer();
  w.u32(dirs.length);
  for (const d of dirs) {
    const q = d.quota!;
    w.u32(d.inode).u32(q.graceperiod).u8(q.exceeded).u8(q.flags).u32(q.stimestamp).u32(q.sinodes).u32(q.hinodes);
    w.u64n(q.slength).u64n(q.hlength).u64n(q.ssize).u64n(q.hsize).u64n(q.srealsize).u64n(q.hrealsize);
  }
  return out(w);
}

function storeXattrs(ns: Namespace): Buffer {
  const w = new Writer();
  for (const n of ns.tree.nodes.values()) {
    if (!n.xattrs) continue;
    // xattr.c keeps pairs newest first
    for (const x of [...n.xattrs.values()].reverse()) {
      w.u32(n.inode).u8(Math.min(255, x.name.length)).u32(x.value.length).bytes(x.name.subarray(0, 255)).bytes(x.value);
    }
  }
  w.bytes(Buffer.alloc(9));
  return out(w);
}

function storeAcls(ns: Namespace): Buffer {
  const w = new Writer();
  const one = (inode: number, type: number, a: PosixAcl): void => {
    w.u32(inode).u8(type).u16(a.userperm).u16(a.groupperm).u16(a.otherperm).u16(a.mask).u16(a.namedusers.length).u16(a.namedgroups.length);
    for (const e of [...a.namedusers, ...a.namedgroups]) w.u32(e.id).u16(e.perm);
  };
  for (const n of ns.tree.nodes.values()) {
    if (n.aclAccess) one(n.inode, POSIX_ACL_ACCESS, n.aclAccess);
    if (n.aclDefault) one(n.inode, POSIX_ACL_DEFAULT, n.aclDefault);
  }
  w.bytes(Buffer.alloc(4 + 1 + 12));
  return out(w);
}

function storeOpen(ns: Namespace): Buffer {
  const w = new Writer();
  for (const [inode, s] of ns.tree.open) for (const ses of s) w.u32(ses).u32(inode);
  w.bytes(Buffer.alloc(8));
  return out(w);
}

function storeChunks(ns: Namespace, now: number): Buffer {
  const c = ns.chunks;
  const w = new Writer();
  w.u64n(c.nextChunkId);
  for (const e of c.chunks.values()) w.u64n(e.chunkid).u32(e.version).u32(e.lockedto < now ? 0 : e.lockedto).u8(0);
  w.bytes(Buffer.alloc(17));
  return out(w);
}

/**
 * SCLA 1.6 for the storage classes a fresh mfsmaster has (sclass_init): ids 1..9 named "1".."9",
 * i copies anywhere for create, keep and archive, standard mode, no admin-only flag. Used when the
 * caller passes no SCLA section of its own (sclass_store: masks-per-label byte, then per class
 * `id:16 nleng:8 admin_only:8 mode:8 arch_delay:16 create:8 keep:8 arch:8 name` + label masks
 * (4 x 32 bits each), ending with 10 zero bytes).
 */
export function defaultSclassSection(): RawSection {
  const MASKORGROUP = 4;
  const w = new Writer();
  w.u8(MASKORGROUP);
  for (let i = 1; i <= 9; i++) {
    const name = Buffer.from(String(i), 'latin1');
    w.u16(i).u8(name.length).u8(0).u8(1).u16(0).u8(i).u8(i).u8(i).bytes(name); // mode 1 = SCLASS_MODE_STD
    w.zeros(3 * i * MASKORGROUP * 4);
  }
  w.zeros(10);
  return { name: 'SCLA', version: 0x16, data: out(w) };
}

/** The whole metadata.mfs image. */
export function storeMetadata(ns: Namespace, o: StoreOptions): Buffer {
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const own: Record<string, [number, () => Buffer]> = {
    NODE: [0x14, () => storeNodes(ns)],
    EDGE: [0x11, () => storeEdges(ns)],
    FREE: [0x10, () => storeFree(ns)],
    QUOT: [0x11, () => storeQuotas(ns)],
    XATR: [0x10, () => storeXattrs(ns)],
    PACL: [0x11, () => storeAcls(ns)],
    OPEN: [0x10, () => storeOpen(ns)],
    CHNK: [0x11, () => storeChunks(ns, now)],
  };
  const extra = new Map((o.extra ?? []).map((s) => [s.name, s]));
  if (!extra.has('SCLA') && !extra.has('LABS')) extra.set('SCLA', defaultSclassSection());
  const w = new Writer();
  w.bytes(Buffer.from(METADATA_SIGNATURE, 'latin1')).u64(o.metaversion).u64(o.metaid);
  for (const name of SECTION_ORDER) {
    const x = extra.get(name);
    if (x) section(w, name, x.version, x.data);
    else if (own[name]) section(w, name, own[name][0], own[name][1]());
  }
  for (const [name, x] of extra) if (!(SECTION_ORDER as readonly string[]).includes(name)) section(w, name, x.version, x.data);
  w.bytes(Buffer.from(EOF_MARKER, 'latin1'));
  return out(w);
}

// ---------------------------------------------------------------------------------------------

/**
 * A metadata file that cannot be loaded. The message names the section and the byte offset (from the
 * start of the file) where reading failed; `section` / `offset` carry the same for callers.
 */
export class MetadataError extends Error {
  readonly code = 'MFS_METADATA_BAD';
  constructor(
    message: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** `section NODE (bytes A-B): detail`, the detail's own offset kept. */
function inSection(e: unknown, name: string, start: number, end: number): never {
  if (e instanceof MetadataError && e.section === undefined) throw new MetadataError(`section ${name} (bytes ${start}-${end}): ${e.message}`, name, e.offset ?? start);
  throw e;
}

/**
 * Where a file without the EOF marker was cut: walks the section headers and names the section that
 * runs past the end (or the last complete one).
 */
function truncatedAt(buf: Buffer): MetadataError {
  let pos = 24;
  let last = 'the header';
  while (pos + 16 <= buf.length) {
    const name = buf.toString('latin1', pos, pos + 4);
    if (!/^[A-Z]{4}$/.test(name)) break;
    const len = Number(buf.readBigUInt64BE(pos + 8));
    if (pos + 16 + len > buf.length) {
      return new MetadataError(`truncated: the file (${buf.length} bytes) ends inside section ${name} (header at byte ${pos}, ${len} bytes declared, ${buf.length - pos - 16} present); no "${EOF_MARKER}"`, name, buf.length);
    }
    last = `section ${name}`;
    pos += 16 + len;
  }
  if (pos < buf.length && pos + 16 > buf.length) {
    return new MetadataError(`truncated: the file (${buf.length} bytes) ends inside the section header at byte ${pos} (after ${last}); no "${EOF_MARKER}"`, undefined, buf.length);
  }
  return new MetadataError(`truncated or damaged: no "${EOF_MARKER}" at the end (file ${buf.length} bytes, last complete part: ${last}, ending at byte ${pos})`, undefined, pos);
}

export interface LoadResult {
  metaversion: bigint;
  metaid: bigint;
  /** Sections this module does not load (SESS, SCLA, CSDB, FLCK, PLCK...), for their owners. */
  other: RawSection[];
}

class Cursor {
  pos = 0;
  constructor(readonly b: Buffer, readonly end = b.length) {}
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new MetadataError(`truncated record at byte ${this.pos} (${n} bytes needed, ${this.end - this.pos} left in the section)`, undefined, this.pos);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.b.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  u64n(): number {
    return Number(this.u64());
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = Buffer.from(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }
}

/**
 * Loads a metadata image into a fresh namespace (as meta_load + fs_afterload: directory statistics
 * and chunk file counts are recomputed, nlink counts come from the edges).
 */
export function loadMetadata(ns: Namespace, buf: Buffer): LoadResult {
  const t = ns.tree;
  if (buf.length < 8 || buf.toString('latin1', 0, 8) !== METADATA_SIGNATURE) throw new MetadataError(`wrong header at byte 0: "${buf.toString('latin1', 0, Math.min(8, buf.length))}", not "${METADATA_SIGNATURE}"`, 'header', 0);
  if (buf.length < 8 + 16 + 16) throw new MetadataError(`truncated: ${buf.length} bytes, too short for the header`, 'header', buf.length);
  if (buf.toString('latin1', buf.length - 16) !== EOF_MARKER) throw truncatedAt(buf);
  const c = new Cursor(buf, buf.length - 16);
  c.pos = 8;
  const metaversion = c.u64();
  const metaid = c.u64();
  const other: RawSection[] = [];
  t.nodes.clear();
  const edgesSeen: Array<{ parent: number; child: number; edgeid: bigint; name: Buffer; at: number }> = [];
  let chunkEntries: Array<{ id: number; version: number; lockedto: number }> = [];
  let nextChunkId = 1;
  let open: Array<[number, number]> = [];
  let free: Array<{ inode: number; ftime: number }> = [];
  const xattrs: Array<{ inode: number; name: Buffer; value: Buffer }> = [];
  let quotas: Array<{ inode: number; q: Quota }> = [];
  const acls: Array<{ inode: number; type: number; acl: PosixAcl }> = [];
  const sectionsSeen: string[] = [];
  while (c.pos < c.end) {
    const at = c.pos;
    if (c.end - at < 16) throw new MetadataError(`damaged: ${c.end - at} bytes at byte ${at} before the EOF marker, too short for a section header`, undefined, at);
    const name = c.bytes(4).toString('latin1');
    const ver = c.bytes(4);
    if (!/^[A-Z]{4}$/.test(name) || ver[0] !== 0x20 || ver[2] !== 0x2e || ver[1]! < 0x30 || ver[1]! > 0x39 || ver[3]! < 0x30 || ver[3]! > 0x39) {
      throw new MetadataError(`damaged section header at byte ${at} (after ${sectionsSeen.length ? `section ${sectionsSeen[sectionsSeen.length - 1]}` : 'the file header'}): ${JSON.stringify(buf.toString('latin1', at, at + 8))}`, undefined, at);
    }
    const version = (((ver[1]! - 0x30) & 15) << 4) | ((ver[3]! - 0x30) & 15);
    const len = c.u64n();
    if (len > c.end - c.pos) throw new MetadataError(`section ${name} (header at byte ${at}) declares ${len} bytes, only ${c.end - c.pos} left before the EOF marker`, name, at);
    sectionsSeen.push(name);
    const s = new Cursor(buf, c.pos + len);
    s.pos = c.pos;
    try {
    switch (name) {
      case 'NODE': {
        if (version !== 0x14) throw new MetadataError(`version ${version >> 4}.${version & 15} not supported (1.4 expected)`, undefined, at);
        t.maxnodeid = s.u32();
        s.u32();
        for (;;) {
          const nodeAt = s.pos;
          const type = s.u8();
          if (type === 0) break;
          const n = new FsNode(s.u32(), type);
          n.sclassid = s.u8();
          n.eattr = s.u8();
          n.winattr = s.u8();
          n.mode = s.u16() & 0o7777;
          n.uid = s.u32();
          n.gid = s.u32();
          n.atime = s.u32();
          n.mtime = s.u32();
          n.ctime = s.u32();
          n.trashtime = s.u16();
          if (type === TYPE_BLOCKDEV || type === TYPE_CHARDEV) n.rdev = s.u32();
          else if (type === TYPE_SYMLINK) n.path = s.bytes(s.u32());
          else if (n.isFile) {
            n.length = s.u64n();
            const ch = s.u32();
            if (ch > 0) n.chunks = [];
            for (let i = 0; i < ch; i++) n.chunks.push(s.u64n());
          } else if (type !== TYPE_DIRECTORY && type !== 4 && type !== 7) {
            throw new MetadataError(`bad node type ${type} at byte ${nodeAt}`, undefined, nodeAt);
          }
          t.nodes.set(n.inode, n);
        }
        break;
      }
      case 'EDGE': {
        t.nextEdgeId = s.u64();
        for (;;) {
          const edgeAt = s.pos;
          const parent = s.u32();
          const child = s.u32();
          const edgeid = s.u64();
          const nl = s.u16();
          if (parent === 0 && child === 0) break;
          edgesSeen.push({ parent, child, edgeid, name: s.bytes(nl), at: edgeAt });
        }
        break;
      }
      case 'FREE': {
        const n = s.u32();
        free = [];
        for (let i = 0; i < n; i++) free.push({ inode: s.u32(), ftime: s.u32() });
        break;
      }
      case 'QUOT': {
        const n = s.u32();
        quotas = [];
        for (let i = 0; i < n; i++) {
          const inode = s.u32();
          const graceperiod = version === 0x10 ? 604800 : s.u32();
          quotas.push({
            inode,
            q: { graceperiod, exceeded: s.u8(), flags: s.u8(), stimestamp: s.u32(), sinodes: s.u32(), hinodes: s.u32(), slength: s.u64n(), hlength: s.u64n(), ssize: s.u64n(), hsize: s.u64n(), srealsize: s.u64n(), hrealsize: s.u64n() },
          });
        }
        break;
      }
      case 'XATR': {
        for (;;) {
          const inode = s.u32();
          const nl = s.u8();
          const vl = s.u32();
          if (inode === 0 && nl === 0 && vl === 0) break;
          xattrs.push({ inode, name: s.bytes(nl), value: s.bytes(vl) });
        }
        break;
      }
      case 'PACL': {
        for (;;) {
          const aclAt = s.pos;
          const inode = s.u32();
          const type = s.u8();
          const [u, g, o, m, nu, ng] = [s.u16(), s.u16(), s.u16(), s.u16(), s.u16(), s.u16()];
          if (inode === 0) break;
          const acl = aclFromBlob(u, g, o, m, nu, ng, s.bytes((nu + ng) * 6));
          if (!acl) throw new MetadataError(`bad ACL record at byte ${aclAt}`, undefined, aclAt);
          acls.push({ inode, type, acl });
        }
        break;
      }
      case 'OPEN': {
        open = [];
        for (;;) {
          const ses = s.u32();
          const inode = s.u32();
          if (ses === 0 && inode === 0) break;
          open.push([ses, inode]);
        }
        break;
      }
      case 'CHNK': {
        nextChunkId = s.u64n();
        chunkEntries = [];
        for (;;) {
          const id = s.u64n();
          const version = s.u32();
          const lockedto = s.u32();
          s.u8();
          if (id === 0) break;
          chunkEntries.push({ id, version, lockedto });
        }
        break;
      }
      default:
        other.push({ name, version, data: s.bytes(len) });
    }
    if (s.pos !== c.pos + len) throw new MetadataError(`${c.pos + len - s.pos} bytes after the section's end marker at byte ${s.pos}`, undefined, s.pos);
    } catch (e) {
      inSection(e, name, at, c.pos + len);
    }
    c.pos += len;
  }
  // rebuild
  const root = t.nodes.get(MFS_ROOT_ID);
  if (root === undefined || root.type !== TYPE_DIRECTORY) throw new MetadataError('no root directory (inode 1) in section NODE', 'NODE');
  t.root = root;
  t.freebits = new Uint32Array(0x100 + ((t.maxnodeid >>> 5) & 0xffffff80));
  t.freebits[0] = 1;
  t.searchpos = 0;
  for (const n of t.nodes.values()) t.markUsed(n.inode);
  for (const f of free) t.markUsed(f.inode);
  t.freelist = free;
  t.freelastts = free.length > 0 ? free[free.length - 1]!.ftime : 0;
  for (const b of t.trash) b.clear();
  for (const b of t.sustained) b.clear();
  t.trashspace = t.trashnodes = t.sustainedspace = t.sustainednodes = 0;
  for (const ed of edgesSeen) {
    const child = t.nodes.get(ed.child);
    if (child === undefined) throw new MetadataError(`section EDGE: the edge at byte ${ed.at} leads to node ${ed.child}, which is not in section NODE`, 'EDGE', ed.at);
    const e: Edge = { parent: null, child, name: ed.name, key: nameKey(ed.name), edgeid: ed.edgeid };
    if (ed.parent === 0) {
      if (child.type === TYPE_TRASH) {
        t.trash[child.inode % TRASH_BUCKETS]!.set(child.inode, e);
        t.trashspace += child.length;
        t.trashnodes++;
      } else if (child.type === TYPE_SUSTAINED) {
        t.sustained[child.inode % SUSTAINED_BUCKETS]!.set(child.inode, e);
        t.sustainedspace += child.length;
        t.sustainednodes++;
      } else {
        throw new MetadataError(`section EDGE: the edge at byte ${ed.at} detaches node ${child.inode} of type ${child.type} (only trash and sustained nodes have no parent)`, 'EDGE', ed.at);
      }
    } else {
      const parent = t.nodes.get(ed.parent);
      if (parent === undefined || parent.type !== TYPE_DIRECTORY) throw new MetadataError(`section EDGE: the edge at byte ${ed.at} has parent ${ed.parent}, not a directory in section NODE`, 'EDGE', ed.at);
      e.parent = parent;
      if (child.type === TYPE_DIRECTORY) parent.dirNlink++;
      else child.nlink++;
    }
    child.parents.unshift(e);
  }
  // children maps: insertion order is oldest first = descending edge id (the file lists ascending)
  for (const n of t.nodes.values()) if (n.type === TYPE_DIRECTORY) n.children = new Map();
  for (let i = edgesSeen.length - 1; i >= 0; i--) {
    const ed = edgesSeen[i]!;
    if (ed.parent === 0) continue;
    const parent = t.nodes.get(ed.parent)!;
    const child = t.nodes.get(ed.child)!;
    const e = child.parents.find((x) => x.parent === parent && x.edgeid === ed.edgeid)!;
    parent.children!.set(e.key, e);
    parent.childCache = null;
  }
  for (const x of xattrs) {
    const n = t.nodes.get(x.inode);
    if (!n) continue;
    if (n.xattrs === null) n.xattrs = new Map();
    // stored newest first; our map keeps insertion order oldest first
    const m = new Map([[nameKey(x.name), { name: x.name, value: x.value }], ...n.xattrs]);
    n.xattrs = m;
  }
  for (const a of acls) {
    const n = t.nodes.get(a.inode);
    if (!n) continue;
    if (a.type === POSIX_ACL_ACCESS) n.aclAccess = a.acl;
    else if (a.type === POSIX_ACL_DEFAULT) n.aclDefault = a.acl;
  }
  t.quotaDirs = [];
  for (const { inode, q } of quotas) {
    const n = t.nodes.get(inode);
    if (n === undefined || n.type !== TYPE_DIRECTORY) throw new MetadataError(`section QUOT: quota for inode ${inode}, not a directory`, 'QUOT');
    n.quota = q;
    t.quotaDirs.unshift(n); // fsnodes_new_quotanode prepends, as on load in C
  }
  t.open.clear();
  for (const [ses, inode] of open) {
    let s = t.open.get(inode);
    if (!s) t.open.set(inode, (s = new Set()));
    s.add(ses);
  }
  // chunks: versions from CHNK, file counts from the files (fs_add_files_to_chunks)
  const book = ns.chunks;
  book.chunks.clear();
  book.nextChunkId = nextChunkId;
  for (const ce of chunkEntries) book.chunks.set(ce.id, { chunkid: ce.id, version: ce.version, fcount: 0, lockedto: ce.lockedto, needVerIncrease: true });
  for (const n of t.nodes.values()) {
    if (!n.isFile) continue;
    for (const id of n.chunks) {
      if (id === 0) continue;
      if (!book.chunks.has(id)) book.chunks.set(id, { chunkid: id, version: 0, fcount: 0, lockedto: 0, needVerIncrease: true });
      book.chunks.get(id)!.fcount++;
    }
  }
  // directory statistics, bottom-up (every link of a hard-linked file counts, as fsnodes_link does)
  const done = new Set<FsNode>();
  const stats = (d: FsNode): void => {
    if (done.has(d)) return;
    done.add(d);
    d.stats = zeroStats();
    for (const e of d.children!.values()) {
      if (e.child.type === TYPE_DIRECTORY) stats(e.child);
      const sr = t.getStats(e.child, 1);
      const p = d.stats;
      p.inodes += sr.inodes;
      p.dirs += sr.dirs;
      p.files += sr.files;
      p.chunks += sr.chunks;
      p.length += sr.length;
      p.size += sr.size;
      p.realsize += sr.realsize;
    }
  };
  for (const n of t.nodes.values()) if (n.type === TYPE_DIRECTORY) stats(n);
  for (const n of t.nodes.values()) if (n.isFile && n.parents.every((e) => e.parent === null)) t.getStats(n, 1);
  void TYPE_FILE;
  return { metaversion, metaid, other };
}
