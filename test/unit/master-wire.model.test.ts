// Model-based test of the master THROUGH ITS WIRE: random operation sequences (mkdir, create,
// mknod, symlink, unlink, rmdir, rename, link, chmod/chown/chgrp, truncate, setxattr/removexattr,
// lookup, access) are sent by our Node client (@mfs-ts/client FsOps over a registered session) to an
// in-process mfsmaster-ts on loopback, as three different users, and run against a plain in-memory
// model with POSIX rules. Every status is compared, and after every step every visible attribute
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

/** Each property run gets its own directory under the export root, so runs stay independent. */
interface Real {
  fs: FsOps;
  top: number;
}

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
    const a = await call(r.fs.getattr(ino, ROOT));
    expect(a.st, `getattr ${ino}`).toBe(MFS_STATUS_OK);
    expect(attrOf(a.v!), `attr ${ino}`).toMatchObject(wantAttr(m, ino));
    if (n.type === 'd') {
      const rd = await r.fs.readdir(ino, ROOT);
      expect(rd.slice(0, 2).map((e) => e.name.toString()), `readdir ${ino} . and ..`).toEqual(['.', '..']);
      const got = rd.slice(2).map((e) => [e.name.toString(), e.inode] as const).sort();
      expect(got, `readdir ${ino}`).toEqual([...n.children.entries()].sort());
      // the attributes READDIR carries are the node's
      for (const e of rd.slice(2)) expect(attrOf(e.attr), `readdir attr ${e.inode}`).toMatchObject(wantAttr(m, e.inode));
    }
    if (n.type === 'l') expect((await r.fs.readlink(ino)).toString(), `readlink ${ino}`).toBe(n.target);
    const xl = await r.fs.getxattr(ino, Buffer.alloc(0), ROOT);
    const names = xl.toString('latin1').split('\0').filter(Boolean).sort();
    expect(names, `xattrs ${ino}`).toEqual([...n.xattrs.keys()].sort());
    for (const [k, v] of n.xattrs) expect((await r.fs.getxattr(ino, Buffer.from(k), ROOT)).toString(), `xattr ${ino} ${k}`).toBe(v);
  }
}

// ---------------- commands ----------------

type Cmd = fc.AsyncCommand<Model, Real>;

/** How many times each command ran (class name -> count). */
const STATS = new Map<string, number>();
abstract class Base implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    STATS.set(this.constructor.name, (STATS.get(this.constructor.name) ?? 0) + 1);
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
    return `create(${this.kind},${this.pk},${this.name},${this.mode.toString(8)},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m), this.pk);
    const u = USERS[this.u]!;
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const nm = Buffer.from(this.name);
    const target = `../t-${this.name}`;
    const res = await call(
      this.kind === 'd' ? r.fs.mkdir(parent, nm, this.mode, 0, u)
      : this.kind === 'f' ? r.fs.create(parent, nm, this.mode, 0, u)
      : this.kind === 'p' ? r.fs.mknod(parent, nm, TYPE_FIFO, this.mode, 0, u)
      : r.fs.symlink(parent, nm, Buffer.from(target), u),
    );
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      const node: MNode = { type: this.kind, mode: this.kind === 'l' ? 0o777 : this.mode, uid: u.uid, gid: u.gids[0]!, length: 0, target: this.kind === 'l' ? target : '', children: new Map(), links: [], xattrs: new Map() };
      m.nodes.set(res.v.inode, node);
      addLink(m, parent, this.name, res.v.inode);
      expect(attrOf(res.v.attr), `${this.toString()} reply attr`).toMatchObject(wantAttr(m, res.v.inode));
    }
  }
}

class Remove extends Base {
  constructor(readonly pk: number, readonly name: string, readonly u: number, readonly dir: boolean) {
    super();
  }
  toString() {
    return `${this.dir ? 'rmdir' : 'unlink'}(${this.pk},${this.name},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m, (n) => n.type === 'd'), this.pk);
    const u = USERS[this.u]!;
    const pn = m.nodes.get(parent)!;
    const ci = pn.children.get(this.name);
    const c = ci === undefined ? undefined : m.nodes.get(ci)!;
    let expected: number;
    if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (c === undefined) expected = MFS_ERROR_ENOENT;
    else if (stickyDenies(pn, c, u)) expected = MFS_ERROR_EPERM;
    else if (!this.dir && c.type === 'd') expected = MFS_ERROR_EPERM;
    else if (this.dir && c.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (this.dir && c.children.size > 0) expected = MFS_ERROR_ENOTEMPTY;
    else expected = MFS_STATUS_OK;
    const nm = Buffer.from(this.name);
    const res = await call(this.dir ? r.fs.rmdir(parent, nm, u) : r.fs.unlink(parent, nm, u));
    expect(res.st, this.toString()).toBe(expected);
    if (res.st === MFS_STATUS_OK) removeLink(m, parent, this.name);
  }
}

class Link extends Base {
  constructor(readonly sk: number, readonly pk: number, readonly name: string, readonly u: number) {
    super();
  }
  toString() {
    return `link(${this.sk},${this.pk},${this.name},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const all = sorted(m);
    const src = pick(all, this.sk);
    const parent = pick(all, this.pk);
    const u = USERS[this.u]!;
    const sn = m.nodes.get(src)!;
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (sn.type === 'd') expected = MFS_ERROR_EPERM;
    else if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const res = await call(r.fs.link(src, parent, Buffer.from(this.name), u));
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
    return `rename(${this.sk},${this.sname},${this.dk},${this.dname},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ds = sorted(m, (n) => n.type === 'd');
    const sp = pick(ds, this.sk);
    const dp = pick(ds, this.dk);
    const u = USERS[this.u]!;
    const swd = m.nodes.get(sp)!;
    const dwd = m.nodes.get(dp)!;
    const ni = swd.children.get(this.sname);
    const node = ni === undefined ? undefined : m.nodes.get(ni)!;
    const di = dwd.children.get(this.dname);
    const dst = di === undefined ? undefined : m.nodes.get(di)!;
    let expected: number;
    if (!allow(swd, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (node === undefined) expected = MFS_ERROR_ENOENT;
    else if (stickyDenies(swd, node, u)) expected = MFS_ERROR_EPERM;
    else if (!allow(dwd, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (node.type === 'd' && isAncestor(m, ni!, dp, r.top)) expected = MFS_ERROR_EINVAL;
    else if (node.type === 'd' && sp !== dp && !allow(node, u, W)) expected = MFS_ERROR_EACCES;
    else if (dst !== undefined && dst.type === 'd' && dst.children.size > 0) expected = MFS_ERROR_ENOTEMPTY;
    else if (dst !== undefined && stickyDenies(dwd, dst, u)) expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = await call(r.fs.rename(sp, Buffer.from(this.sname), dp, Buffer.from(this.dname), u));
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
    return `set${this.what}(${this.nk},${this.what === 'mode' ? this.value.toString(8) : this.value},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.nk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    let expected: number = MFS_STATUS_OK;
    if (u.uid !== 0 && u.uid !== n.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'uid' && u.uid !== 0 && this.value !== u.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'gid' && u.uid !== 0 && !u.gids.includes(this.value)) expected = MFS_ERROR_EPERM;
    const setmask = this.what === 'mode' ? SET_MODE_FLAG : this.what === 'uid' ? SET_UID_FLAG : SET_GID_FLAG;
    const res = await call(r.fs.setattr(ino, u, { setmask, mode: this.value, uid: this.value, gid: this.value }));
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      if (this.what === 'mode') n.mode = this.value & 0o7777; // symlinks too (fs_setattr)
      else if (this.what === 'uid') n.uid = this.value;
      else n.gid = this.value;
      expect(attrOf(res.v), `${this.toString()} reply attr`).toMatchObject(wantAttr(m, ino));
    }
  }
}

class Truncate extends Base {
  constructor(readonly fk: number, readonly length: number, readonly u: number) {
    super();
  }
  toString() {
    return `truncate(${this.fk},${this.length},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.fk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    let expected: number;
    if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if (n.type !== 'f') expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = await call(r.fs.truncate(ino, this.length, u));
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
    return `setxattr(${this.nk},${this.name},${this.value},${this.mode},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const ino = pick(sorted(m), this.nk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    const has = n.xattrs.has(this.name);
    let expected: number;
    if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if ((this.mode === MFS_XATTR_REPLACE_ONLY || this.mode === MFS_XATTR_REMOVE) && !has) expected = MFS_ERROR_ENOATTR;
    else if (this.mode === MFS_XATTR_CREATE_ONLY && has) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const res = await call(r.fs.setxattr(ino, Buffer.from(this.name), Buffer.from(this.value), this.mode, u));
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
    return `lookup(${this.pk},${this.name},u${this.u})`;
  }
  async step(m: Model, r: Real): Promise<void> {
    const parent = pick(sorted(m), this.pk);
    const u = USERS[this.u]!;
    const pn = m.nodes.get(parent)!;
    const ci = pn.children.get(this.name);
    let expected: number;
    if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, X)) expected = MFS_ERROR_EACCES;
    else if (ci === undefined) expected = MFS_ERROR_ENOENT;
    else expected = MFS_STATUS_OK;
    const res = await call(r.fs.lookup(parent, Buffer.from(this.name), u));
    // a miss may be the "don't cache" flavour of ENOENT (MFS_ERROR_ENOENT_NOCACHE) only with eattrs, never here
    expect(res.st, this.toString()).toBe(expected);
    if (res.v) {
      expect(res.v.inode).toBe(ci);
      expect(attrOf(res.v.attr)).toMatchObject(wantAttr(m, ci!));
    }
  }
}

const ix = fc.nat({ max: 40 });
const nm = fc.constantFrom(...NAMES);
const user = fc.nat({ max: USERS.length - 1 });
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
];

// ---------------- the run ----------------

let master: Master;
let client: MfsClient;
let runNo = 0;

beforeAll(async () => {
  master = new Master({
    cfg: { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' },
    exportsText: '* / rw,alldirs,maproot=0:0',
  });
  await master.start();
  client = await MfsClient.connect({ host: '127.0.0.1', port: master.ports.cl });
});

afterAll(async () => {
  await client?.close();
  await master?.stop();
});

test('random namespace operations through the master wire agree with the model (statuses and attributes)', async () => {
  const fs = client.core.fs;
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 80, size: 'max' }), async (cmds) => {
      // A fresh world per run: a top directory (mode 0777, root's) standing in for the root.
      const top = (await fs.mkdir(1, Buffer.from(`run${runNo++}`), 0o777, 0, ROOT)).inode;
      const m: Model = { nodes: new Map([[top, { type: 'd', mode: 0o777, uid: 0, gid: 0, length: 0, target: '', children: new Map(), links: [{ parent: 1, name: '' }], xattrs: new Map() }]]) };
      await fc.asyncModelRun(() => ({ model: m, real: { fs, top } }), cmds);
    }),
    { numRuns: 60 },
  );
  // Every kind of operation ran many times, and many nodes were made while the master kept answering.
  for (const k of ['Create', 'Remove', 'Link', 'Rename', 'Chattr', 'Truncate', 'Xattr', 'Lookup']) expect(STATS.get(k) ?? 0, k).toBeGreaterThan(50);
  const st = await fs.statfs();
  expect(st.inodes).toBeGreaterThan(60); // 60 run directories and what is left in them
});
