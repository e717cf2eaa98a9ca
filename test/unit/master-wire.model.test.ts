// Model-based test of the master THROUGH ITS WIRE: random operation sequences (mkdir, create,
// mknod, symlink, unlink, rmdir, rename, link, chmod/chown/chgrp, truncate, setxattr/removexattr,
// lookup) are sent by our Node client (@mfs-ts/client FsOps over registered sessions) to an
// in-process mfsmaster-ts on loopback, as three different users through three sessions of different
// exports on the same tree (rw with maproot=0:0 on "/", rw with mapall=2000:2000 on "/w", ro on
// "/w/x"), and run against a plain in-memory model with POSIX rules and the export's id mapping. Every status is compared, and after every step every visible attribute
// (type, mode, uid, gid, nlink, length), every directory listing (names and inodes, with the
// attributes READDIR carries), every symlink target and every xattr list.
import {
  MFS_ERROR_EACCES,
  MFS_ERROR_EEXIST,
  MFS_ERROR_EINVAL,
  MFS_ERROR_ENOATTR,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_ENOTEMPTY,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_REMOVE,
  MFS_XATTR_REPLACE_ONLY,
  SET_GID_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  TYPE_DIRECTORY,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SYMLINK,
  type Attr,
} from '@mfs-ts/protocol';
import { MfsClient, type FsOps } from '@mfs-ts/client';
import { Master } from '@mfs-ts/master';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MFS_ERROR_EROFS } from '@mfs-ts/protocol';

type Creds = { uid: number; gids: number[] };
const USERS: Creds[] = [{ uid: 0, gids: [0] }, { uid: 1000, gids: [1000, 50] }, { uid: 1001, gids: [1001] }];
const ROOT = USERS[0]!;
const NAMES = ['a', 'b', 'c'];
const MODES = [0o755, 0o700, 0o777, 0o1777, 0o644, 0o600, 0o555, 0o000, 0o1733];
const GIDS = [0, 50, 1000, 1001];
const UIDS = [0, 1000, 1001];
const R = 4;
const W = 2;
const X = 1;

// ---------------- the model ----------------

interface MNode {
  type: 'f' | 'd' | 'l' | 'p';
  mode: number;
  uid: number;
  gid: number;
  length: number;
  target: string;
  children: Map<string, number>;
  /** (parent, name) links; a directory has exactly one */
  links: Array<{ parent: number; name: string }>;
  xattrs: Map<string, string>;
}

interface Model {
  nodes: Map<number, MNode>;
}

/** Each property run gets its own directory (in /w/x), so runs stay independent. */
interface Real {
  /** one per session (SESSIONS) */
  fs: FsOps[];
  top: number;
}

/** The exports the sessions use: how a session maps the caller (sessions_ugid_remap: uid and first gid). */
interface SessionKind {
  path: string;
  ro: boolean;
  mapall: boolean;
  map: (u: Creds) => Creds;
}
const SESSIONS: SessionKind[] = [
  { path: '/', ro: false, mapall: false, map: (u) => u }, // maproot=0:0
  { path: '/w', ro: false, mapall: true, map: (u) => ({ uid: 2000, gids: [2000, ...u.gids.slice(1)] }) }, // mapall=2000:2000
  { path: '/w/x', ro: true, mapall: false, map: (u) => u }, // ro,maproot=0:0
];
const EXPORTS = ['* / rw,maproot=0:0', '* /w rw,mapall=2000:2000', '* /w/x ro,maproot=0:0'].join('\n');

const TYPE_OF: Record<MNode['type'], number> = { f: TYPE_FILE, d: TYPE_DIRECTORY, l: TYPE_SYMLINK, p: TYPE_FIFO };

function allow(n: MNode, u: Creds, mask: number): boolean {
  if (u.uid === 0) return true; // the master lets root do everything (no x-bit test for root either)
  let bits: number;
  if (u.uid === n.uid) bits = (n.mode >> 6) & 7;
  else if (u.gids.includes(n.gid)) bits = (n.mode >> 3) & 7;
  else bits = n.mode & 7;
  return (bits & mask) === mask;
}

function stickyDenies(dir: MNode, child: MNode, u: Creds): boolean {
  return (dir.mode & 0o1000) !== 0 && u.uid !== 0 && u.uid !== dir.uid && u.uid !== child.uid;
}

const sorted = (m: Model, f: (n: MNode) => boolean = () => true) => [...m.nodes.entries()].filter(([, n]) => f(n)).map(([i]) => i).sort((x, y) => x - y);
const pick = (list: number[], k: number): number => list[k % list.length]!;

function isAncestor(m: Model, a: number, d: number, top: number): boolean {
  for (let p = d; ; p = m.nodes.get(p)!.links[0]!.parent) {
    if (p === a) return true;
    if (p === top) return false;
  }
}

function removeLink(m: Model, parent: number, name: string): void {
  const dir = m.nodes.get(parent)!;
  const ino = dir.children.get(name)!;
  const n = m.nodes.get(ino)!;
  dir.children.delete(name);
  n.links = n.links.filter((l) => !(l.parent === parent && l.name === name));
  if (n.links.length === 0) m.nodes.delete(ino); // to the trash / gone: no longer reachable here
}

function addLink(m: Model, parent: number, name: string, ino: number): void {
  m.nodes.get(parent)!.children.set(name, ino);
  m.nodes.get(ino)!.links.unshift({ parent, name });
}

function nlinkOf(m: Model, ino: number): number {
  const n = m.nodes.get(ino)!;
  if (n.type === 'd') return 2 + [...n.children.values()].filter((c) => m.nodes.get(c)!.type === 'd').length;
  return n.links.length;
}

// ---------------- the wire ----------------

/** The status of a request: OK, or the MooseFS status the master answered with. */
async function call<T>(p: Promise<T>): Promise<{ st: number; v?: T }> {
  try {
    return { st: MFS_STATUS_OK, v: await p };
  } catch (e) {
    const s = (e as { status?: unknown }).status;
    if (typeof s !== 'number') throw e;
    return { st: s };
  }
}

function wantAttr(m: Model, ino: number): Record<string, number> {
  const n = m.nodes.get(ino)!;
  const w: Record<string, number> = { type: TYPE_OF[n.type], mode: n.mode, uid: n.uid, gid: n.gid, nlink: nlinkOf(m, ino) };
  if (n.type === 'f') w.length = n.length;
  if (n.type === 'l') w.length = n.target.length;
  return w;
}

const attrOf = (a: Attr) => ({ type: a.type, mode: a.mode, uid: a.uid, gid: a.gid, nlink: a.nlink, length: a.length });

async function compare(m: Model, r: Real): Promise<void> {
  for (const [ino, n] of m.nodes) {
    const a = await call(r.fs[0]!.getattr(ino, ROOT));
    expect(a.st, `getattr ${ino}`).toBe(MFS_STATUS_OK);
    expect(attrOf(a.v!), `attr ${ino}`).toMatchObject(wantAttr(m, ino));
    if (n.type === 'd') {
      const rd = await r.fs[0]!.readdir(ino, ROOT);
      expect(rd.slice(0, 2).map((e) => e.name.toString()), `readdir ${ino} . and ..`).toEqual(['.', '..']);
      const got = rd.slice(2).map((e) => [e.name.toString(), e.inode] as const).sort();
      expect(got, `readdir ${ino}`).toEqual([...n.children.entries()].sort());
      // the attributes READDIR carries are the node's
      for (const e of rd.slice(2)) expect(attrOf(e.attr), `readdir attr ${e.inode}`).toMatchObject(wantAttr(m, e.inode));
    }
    if (n.type === 'l') expect((await r.fs[0]!.readlink(ino)).toString(), `readlink ${ino}`).toBe(n.target);
    const xl = await r.fs[0]!.getxattr(ino, Buffer.alloc(0), ROOT);
    const names = xl.toString('latin1').split('\0').filter(Boolean).sort();
    expect(names, `xattrs ${ino}`).toEqual([...n.xattrs.keys()].sort());
    for (const [k, v] of n.xattrs) expect((await r.fs[0]!.getxattr(ino, Buffer.from(k), ROOT)).toString(), `xattr ${ino} ${k}`).toBe(v);
  }
}

// ---------------- commands ----------------

type Cmd = fc.AsyncCommand<Model, Real>;

/** How many times each command ran (class name -> count). */
const STATS = new Map<string, number>();
abstract class Base implements Cmd {
  /** which session (SESSIONS) sends it; set by the arbitrary */
  s = 0;
  check(): boolean {
    return true;
  }
  /** The caller as the session maps it, the session's wire, and whether the session is read-only. */
  who(r: Real, u: number): { u: Creds; sent: Creds; fs: FsOps; ro: boolean } {
    const k = SESSIONS[this.s]!;
    const sent = USERS[u]!;
    return { u: k.map(sent), sent, fs: r.fs[this.s]!, ro: k.ro };
  }
  get tag(): string {
    return `s${this.s}`;
  }
  /**
   * The attributes this session's caller is shown (fsnodes_fill_attr): a mapall session shows a
   * non-root caller the nodes of the mapped owner as its own, and owner 0 for the others.
   */
  seen(m: Model, ino: number, u: number): Record<string, number> {
    const w = wantAttr(m, ino);
    const sent = USERS[u]!;
    if (!SESSIONS[this.s]!.mapall || sent.uid === 0) return w;
    const mapped = SESSIONS[this.s]!.map(sent);
    return { ...w, uid: w.uid === mapped.uid ? sent.uid : 0, gid: w.gid === mapped.gids[0] ? sent.gids[0]! : 0 };
  }
  async run(m: Model, r: Real): Promise<void> {
    for (const k of [this.constructor.name, this.tag]) STATS.set(k, (STATS.get(k) ?? 0) + 1);
    await this.step(m, r);
    await compare(m, r);
  }
  abstract step(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

class Create extends Base {
  constructor(readonly pk: number, readonly name: string, readonly mode: number, readonly u: number, readonly kind: MNode['type']) {
    super();
  }
  toString() {
    return `create(${this.kind},${this.pk},${this.name},${this.mode.toString(8)},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m), this.pk);
    const { u, sent, fs, ro } = this.who(r, this.u);
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const nm = Buffer.from(this.name);
    const target = `../t-${this.name}`;
    const res = await call(
      this.kind === 'd' ? fs.mkdir(parent, nm, this.mode, 0, sent)
      : this.kind === 'f' ? fs.create(parent, nm, this.mode, 0, sent)
      : this.kind === 'p' ? fs.mknod(parent, nm, TYPE_FIFO, this.mode, 0, sent)
      : fs.symlink(parent, nm, Buffer.from(target), sent),
    );
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      const node: MNode = { type: this.kind, mode: this.kind === 'l' ? 0o777 : this.mode, uid: u.uid, gid: u.gids[0]!, length: 0, target: this.kind === 'l' ? target : '', children: new Map(), links: [], xattrs: new Map() };
      m.nodes.set(res.v.inode, node);
      addLink(m, parent, this.name, res.v.inode);
      expect(attrOf(res.v.attr), `${this.toString()} reply attr`).toMatchObject(this.seen(m, res.v.inode, this.u));
    }
  }
}

class Remove extends Base {
  constructor(readonly pk: number, readonly name: string, readonly u: number, readonly dir: boolean) {
    super();
  }
  toString() {
    return `${this.dir ? 'rmdir' : 'unlink'}(${this.pk},${this.name},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m, (n) => n.type === 'd'), this.pk);
    const { u, sent, fs, ro } = this.who(r, this.u);
    const pn = m.nodes.get(parent)!;
    const ci = pn.children.get(this.name);
    const c = ci === undefined ? undefined : m.nodes.get(ci)!;
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (c === undefined) expected = MFS_ERROR_ENOENT;
    else if (stickyDenies(pn, c, u)) expected = MFS_ERROR_EPERM;
    else if (!this.dir && c.type === 'd') expected = MFS_ERROR_EPERM;
    else if (this.dir && c.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (this.dir && c.children.size > 0) expected = MFS_ERROR_ENOTEMPTY;
    else expected = MFS_STATUS_OK;
    const nm = Buffer.from(this.name);
    const res = await call(this.dir ? fs.rmdir(parent, nm, sent) : fs.unlink(parent, nm, sent));
    expect(res.st, this.toString()).toBe(expected);
    if (res.st === MFS_STATUS_OK) removeLink(m, parent, this.name);
  }
}

class Link extends Base {
  constructor(readonly sk: number, readonly pk: number, readonly name: string, readonly u: number) {
    super();
  }
  toString() {
    return `link(${this.sk},${this.pk},${this.name},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const all = sorted(m);
    const src = pick(all, this.sk);
    const parent = pick(all, this.pk);
    const { u, sent, fs, ro } = this.who(r, this.u);
    const sn = m.nodes.get(src)!;
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (sn.type === 'd') expected = MFS_ERROR_EPERM;
    else if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const res = await call(fs.link(src, parent, Buffer.from(this.name), sent));
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      expect(res.v.inode).toBe(src);
      addLink(m, parent, this.name, src);
    }
  }
}

class Rename extends Base {
  constructor(readonly sk: number, readonly sname: string, readonly dk: number, readonly dname: string, readonly u: number) {
    super();
  }
  toString() {
    return `rename(${this.sk},${this.sname},${this.dk},${this.dname},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ds = sorted(m, (n) => n.type === 'd');
    const sp = pick(ds, this.sk);
    const dp = pick(ds, this.dk);
    const { u, sent, fs, ro } = this.who(r, this.u);
    const swd = m.nodes.get(sp)!;
    const dwd = m.nodes.get(dp)!;
    const ni = swd.children.get(this.sname);
    const node = ni === undefined ? undefined : m.nodes.get(ni)!;
    const di = dwd.children.get(this.dname);
    const dst = di === undefined ? undefined : m.nodes.get(di)!;
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (!allow(swd, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (node === undefined) expected = MFS_ERROR_ENOENT;
    else if (stickyDenies(swd, node, u)) expected = MFS_ERROR_EPERM;
    else if (!allow(dwd, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (node.type === 'd' && isAncestor(m, ni!, dp, r.top)) expected = MFS_ERROR_EINVAL;
    else if (node.type === 'd' && sp !== dp && !allow(node, u, W)) expected = MFS_ERROR_EACCES;
    else if (dst !== undefined && dst.type === 'd' && dst.children.size > 0) expected = MFS_ERROR_ENOTEMPTY;
    else if (dst !== undefined && stickyDenies(dwd, dst, u)) expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = await call(fs.rename(sp, Buffer.from(this.sname), dp, Buffer.from(this.dname), sent));
    expect(res.st, this.toString()).toBe(expected);
    if (res.st === MFS_STATUS_OK && di !== ni) {
      if (dst !== undefined) removeLink(m, dp, this.dname);
      const n = m.nodes.get(ni!)!;
      swd.children.delete(this.sname);
      n.links = n.links.filter((l) => !(l.parent === sp && l.name === this.sname));
      addLink(m, dp, this.dname, ni!);
    }
  }
}

class Chattr extends Base {
  constructor(readonly nk: number, readonly what: 'mode' | 'uid' | 'gid', readonly value: number, readonly u: number) {
    super();
  }
  toString() {
    return `set${this.what}(${this.nk},${this.what === 'mode' ? this.value.toString(8) : this.value},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.nk);
    const n = m.nodes.get(ino)!;
    const { u, sent, fs, ro } = this.who(r, this.u);
    let expected: number = MFS_STATUS_OK;
    if (ro) expected = MFS_ERROR_EROFS;
    // a mapall session may not give files away (fs_setattr)
    else if (u.uid !== 0 && SESSIONS[this.s]!.mapall && this.what !== 'mode') expected = MFS_ERROR_EPERM;
    else if (u.uid !== 0 && u.uid !== n.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'uid' && u.uid !== 0 && this.value !== u.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'gid' && u.uid !== 0 && !u.gids.includes(this.value)) expected = MFS_ERROR_EPERM;
    const setmask = this.what === 'mode' ? SET_MODE_FLAG : this.what === 'uid' ? SET_UID_FLAG : SET_GID_FLAG;
    const res = await call(fs.setattr(ino, sent, { setmask, mode: this.value, uid: this.value, gid: this.value }));
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      if (this.what === 'mode') n.mode = this.value & 0o7777; // symlinks too (fs_setattr)
      else if (this.what === 'uid') n.uid = this.value;
      else n.gid = this.value;
      expect(attrOf(res.v), `${this.toString()} reply attr`).toMatchObject(this.seen(m, ino, this.u));
    }
  }
}

class Truncate extends Base {
  constructor(readonly fk: number, readonly length: number, readonly u: number) {
    super();
  }
  toString() {
    return `truncate(${this.fk},${this.length},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.fk);
    const n = m.nodes.get(ino)!;
    const { u, sent, fs, ro } = this.who(r, this.u);
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if (n.type !== 'f') expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = await call(fs.truncate(ino, this.length, sent));
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      expect(res.v.prevlength).toBe(n.length);
      n.length = this.length;
    }
  }
}

class Xattr extends Base {
  constructor(readonly nk: number, readonly name: string, readonly value: string, readonly mode: number, readonly u: number) {
    super();
  }
  toString() {
    return `setxattr(${this.nk},${this.name},${this.value},${this.mode},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.nk);
    const n = m.nodes.get(ino)!;
    const { u, sent, fs, ro } = this.who(r, this.u);
    const has = n.xattrs.has(this.name);
    let expected: number;
    if (ro) expected = MFS_ERROR_EROFS;
    else if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if ((this.mode === MFS_XATTR_REPLACE_ONLY || this.mode === MFS_XATTR_REMOVE) && !has) expected = MFS_ERROR_ENOATTR;
    else if (this.mode === MFS_XATTR_CREATE_ONLY && has) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const res = await call(fs.setxattr(ino, Buffer.from(this.name), Buffer.from(this.value), this.mode, sent));
    expect(res.st, this.toString()).toBe(expected);
    if (res.st === MFS_STATUS_OK) {
      if (this.mode === MFS_XATTR_REMOVE) n.xattrs.delete(this.name);
      else n.xattrs.set(this.name, this.value);
    }
  }
}

/** LOOKUP as a user: search permission on the directory, then the name. */
class Lookup extends Base {
  constructor(readonly pk: number, readonly name: string, readonly u: number) {
    super();
  }
  toString() {
    return `lookup(${this.pk},${this.name},u${this.u},${this.tag})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m), this.pk);
    const { u, sent, fs } = this.who(r, this.u);
    const pn = m.nodes.get(parent)!;
    const ci = pn.children.get(this.name);
    let expected: number;
    if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, X)) expected = MFS_ERROR_EACCES;
    else if (ci === undefined) expected = MFS_ERROR_ENOENT;
    else expected = MFS_STATUS_OK;
    const res = await call(fs.lookup(parent, Buffer.from(this.name), sent));
    // a miss may be the "don't cache" flavour of ENOENT (MFS_ERROR_ENOENT_NOCACHE) only with eattrs, never here
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      expect(res.v.inode).toBe(ci);
      expect(attrOf(res.v.attr), `${this.toString()} reply attr`).toMatchObject(this.seen(m, ci!, this.u));
    }
  }
}

const ix = fc.nat({ max: 40 });
const nm = fc.constantFrom(...NAMES);
const user = fc.nat({ max: USERS.length - 1 });
/** Mostly the rw root session, then the mapall and the ro one. */
const session = fc.constantFrom(0, 0, 0, 1, 1, 2);
const withSession = (a: fc.Arbitrary<Base>): fc.Arbitrary<Cmd> =>
  fc.tuple(a, session).map(([c, s]) => Object.assign(Object.create(Object.getPrototypeOf(c) as object) as Base, c, { s }));
const commands = [
  fc.tuple(ix, nm, fc.constantFrom(...MODES), user, fc.constantFrom<MNode['type']>('f', 'd', 'd', 'l', 'p')).map(([a, n, md, u, k]) => new Create(a, n, md, u, k)),
  fc.tuple(ix, nm, user, fc.boolean()).map(([a, n, u, d]) => new Remove(a, n, u, d)),
  fc.tuple(ix, ix, nm, user).map(([a, p, n, u]) => new Link(a, p, n, u)),
  fc.tuple(ix, nm, ix, nm, user).map(([a, n, d, n2, u]) => new Rename(a, n, d, n2, u)),
  fc.tuple(ix, fc.constantFrom<'mode' | 'uid' | 'gid'>('mode', 'uid', 'gid'), user).chain(([a, w, u]) =>
    (w === 'mode' ? fc.constantFrom(...MODES) : w === 'uid' ? fc.constantFrom(...UIDS) : fc.constantFrom(...GIDS)).map((v) => new Chattr(a, w, v, u)),
  ),
  fc.tuple(ix, fc.constantFrom(0, 1, 4096, 70_000_000, 3), user).map(([a, l, u]) => new Truncate(a, l, u)),
  fc.tuple(ix, fc.constantFrom('user.x', 'user.y'), fc.constantFrom('1', 'value-2'), fc.constantFrom(MFS_XATTR_CREATE_OR_REPLACE, MFS_XATTR_CREATE_ONLY, MFS_XATTR_REPLACE_ONLY, MFS_XATTR_REMOVE), user).map(
    ([a, n, v, md, u]) => new Xattr(a, n, v, md, u),
  ),
  fc.tuple(ix, nm, user).map(([a, n, u]) => new Lookup(a, n, u)),
].map((a) => withSession(a as fc.Arbitrary<Base>));

// ---------------- the run ----------------

let master: Master;
let clients: MfsClient[] = [];
let runNo = 0;

beforeAll(async () => {
  master = new Master({
    cfg: { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' },
    exportsText: EXPORTS,
  });
  await master.start();
  const port = master.ports.cl;
  const first = await MfsClient.connect({ host: '127.0.0.1', port });
  const w = (await first.core.fs.mkdir(1, Buffer.from('w'), 0o777, 0, ROOT)).inode;
  await first.core.fs.mkdir(w, Buffer.from('x'), 0o777, 0, ROOT);
  clients = [first];
  for (const k of SESSIONS.slice(1)) clients.push(await MfsClient.connect({ host: '127.0.0.1', port, subfolder: k.path }));
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await master?.stop();
});

test('random namespace operations through the master wire agree with the model (statuses and attributes)', async () => {
  const fss = clients.map((c) => c.core.fs);
  const fs = fss[0]!;
  const x = (await fs.lookup((await fs.lookup(1, Buffer.from('w'), ROOT)).inode, Buffer.from('x'), ROOT)).inode;
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 80, size: 'max' }), async (cmds) => {
      // A fresh world per run: a top directory (mode 0777, root's) standing in for the root.
      const top = (await fs.mkdir(x, Buffer.from(`run${runNo++}`), 0o777, 0, ROOT)).inode;
      const m: Model = { nodes: new Map([[top, { type: 'd', mode: 0o777, uid: 0, gid: 0, length: 0, target: '', children: new Map(), links: [{ parent: 1, name: '' }], xattrs: new Map() }]]) };
      await fc.asyncModelRun(() => ({ model: m, real: { fs: fss, top } }), cmds);
    }),
    { numRuns: 60 },
  );
  // Every kind of operation ran many times, and many nodes were made while the master kept answering.
  for (const k of ['Create', 'Remove', 'Link', 'Rename', 'Chattr', 'Truncate', 'Xattr', 'Lookup']) expect(STATS.get(k) ?? 0, k).toBeGreaterThan(50);
  for (const k of ['s0', 's1', 's2']) expect(STATS.get(k) ?? 0, k).toBeGreaterThan(100);
  const st = await fs.statfs();
  expect(st.inodes).toBeGreaterThan(62); // w, x, 60 run directories and what is left in them
});
