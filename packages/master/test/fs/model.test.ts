// Model-based test: random operation sequences run against the namespace and against a plain model
// (a tree of maps with POSIX-style rules written independently from the C code's structure); every
// status and every visible attribute is compared after each step, and at the end the changelog the
// run produced is replayed into a fresh namespace, which must equal the live one.
import {
  MFS_ERROR_CANTCREATEPATH,
  MFS_ERROR_EACCES,
  MFS_ERROR_EEXIST,
  MFS_ERROR_EINVAL,
  MFS_ERROR_ENOATTR,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_ENOTEMPTY,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_REMOVE,
  MFS_XATTR_REPLACE_ONLY,
  Namespace,
  SET_GID_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  TYPE_DIRECTORY,
  TYPE_FILE,
  TYPE_SYMLINK,
  type FsCtx,
} from '../../src/fs/index.js';
import { b, ctxOf, META, replay, setup } from './helpers.js';

// ---------------- the model ----------------

interface MNode {
  type: 'f' | 'd' | 'l';
  mode: number;
  uid: number;
  gid: number;
  length: number;
  target: string;
  /** directories: name -> inode */
  children: Map<string, number>;
  /** (parent, name) links; a directory has exactly one */
  links: Array<{ parent: number; name: string }>;
  xattrs: Map<string, string>;
}

interface Model {
  nodes: Map<number, MNode>;
  /** inode -> path (names from the root) of files in the trash */
  trash: Map<number, string[]>;
}

interface Real {
  ns: Namespace;
  lines: string[];
  start: number;
}

const USERS: FsCtx[] = [ctxOf(0, [0]), ctxOf(1000, [1000, 50]), ctxOf(1001, [1001])];
const NAMES = ['a', 'b', 'c'];
const MODES = [0o755, 0o700, 0o777, 0o1777, 0o644, 0o600, 0o555, 0o000, 0o1733];
const GIDS = [0, 50, 1000, 1001];

function newModel(): Model {
  const root: MNode = { type: 'd', mode: 0o777, uid: 0, gid: 0, length: 0, target: '', children: new Map(), links: [], xattrs: new Map() };
  return { nodes: new Map([[1, root]]), trash: new Map() };
}

function allow(n: MNode, u: FsCtx, mask: number): boolean {
  if (u.uid === 0) return true; // MooseFS: root may do everything, even x on a file without x bits
  let bits: number;
  if (u.uid === n.uid) bits = (n.mode >> 6) & 7;
  else if (u.gids.includes(n.gid)) bits = (n.mode >> 3) & 7;
  else bits = n.mode & 7;
  return (bits & mask) === mask;
}

const W = 2;
const X = 1;
const R = 4;

function stickyDenies(dir: MNode, child: MNode, u: FsCtx): boolean {
  return (dir.mode & 0o1000) !== 0 && u.uid !== 0 && u.uid !== dir.uid && u.uid !== child.uid;
}

function dirs(m: Model): number[] {
  return [...m.nodes.entries()].filter(([, n]) => n.type === 'd').map(([i]) => i).sort((x, y) => x - y);
}

function all(m: Model): number[] {
  return [...m.nodes.keys()].sort((x, y) => x - y);
}

function pick(list: number[], k: number): number {
  return list[k % list.length]!;
}

function pathOf(m: Model, parent: number, name: string): string[] {
  const out = [name];
  let p = parent;
  while (p !== 1) {
    const l = m.nodes.get(p)!.links[0]!;
    out.unshift(l.name);
    p = l.parent;
  }
  return out;
}

function isAncestor(m: Model, a: number, d: number): boolean {
  let p = d;
  for (;;) {
    if (p === a) return true;
    if (p === 1) return false;
    p = m.nodes.get(p)!.links[0]!.parent;
  }
}

/** Removes one link; the last link of a file sends it to the trash (trashtime 24 h), others vanish. */
function removeLink(m: Model, parent: number, name: string): void {
  const dir = m.nodes.get(parent)!;
  const ino = dir.children.get(name)!;
  const n = m.nodes.get(ino)!;
  const path = pathOf(m, parent, name);
  dir.children.delete(name);
  n.links = n.links.filter((l) => !(l.parent === parent && l.name === name));
  if (n.links.length === 0) {
    if (n.type === 'f') m.trash.set(ino, path);
    else m.nodes.delete(ino);
  }
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

/** Compares everything a client can see: attributes, directory listings, xattrs, the trash. */
function compare(m: Model, r: Real): void {
  const ns = r.ns;
  const root = USERS[0]!;
  for (const [ino, n] of m.nodes) {
    if (m.trash.has(ino)) continue;
    const a = ns.getattr(root, ino);
    expect(a.ok, `getattr ${ino}`).toBe(true);
    if (!a.ok) return;
    const want: Record<string, number> = { type: n.type === 'd' ? TYPE_DIRECTORY : n.type === 'f' ? TYPE_FILE : TYPE_SYMLINK, mode: n.mode, uid: n.uid, gid: n.gid, nlink: nlinkOf(m, ino) };
    if (n.type !== 'd') want.length = n.type === 'l' ? n.target.length : n.length;
    expect(a.value, `attr ${ino}`).toMatchObject(want);
    if (n.type === 'd') {
      const rd = ns.readdir(root, ino, 0, 1000, 0n);
      expect(rd.ok).toBe(true);
      if (rd.ok) {
        const got = rd.value.entries.slice(2).map((e) => [e.name.toString(), e.inode] as const).sort();
        expect(got, `readdir ${ino}`).toEqual([...n.children.entries()].sort());
      }
    }
    const xl = ns.listxattr(root, ino, 0);
    if (xl.ok) expect(xl.value.map(String).sort(), `xattrs ${ino}`).toEqual([...n.xattrs.keys()].sort());
  }
  const tr = ns.readTrash(META);
  expect(tr.ok).toBe(true);
  if (tr.ok) {
    const got = tr.value.map((e) => [e.inode, e.path.toString()] as const).sort((x, y) => x[0] - y[0]);
    const want = [...m.trash.entries()].map(([i, p]) => [i, p.join('/')] as const).sort((x, y) => x[0] - y[0]);
    expect(got).toEqual(want);
  }
}

function st(r: { ok: boolean; status?: number }): number {
  return r.ok ? MFS_STATUS_OK : r.status!;
}

type Cmd = fc.Command<Model, Real>;

abstract class Base implements Cmd {
  check(): boolean {
    return true;
  }
  abstract run(m: Model, r: Real): void;
  abstract toString(): string;
}

class Create extends Base {
  constructor(readonly pk: number, readonly name: string, readonly mode: number, readonly u: number, readonly kind: 'f' | 'd' | 'l') {
    super();
  }
  toString() {
    return `create(${this.kind},${this.pk},${this.name},${this.mode.toString(8)},u${this.u})`;
  }
  run(m: Model, r: Real): void {
    const parent = pick(all(m).filter((i) => !m.trash.has(i)), this.pk);
    const u = USERS[this.u]!;
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const nm = b(this.name);
    const res =
      this.kind === 'd' ? r.ns.mkdir(u, parent, nm, this.mode, 0, false)
      : this.kind === 'f' ? r.ns.mknod(u, parent, nm, TYPE_FILE, this.mode, 0, 0)
      : r.ns.symlink(u, parent, nm, b('target-' + this.name));
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok) {
      const mode = this.kind === 'l' ? 0o777 : this.mode;
      const node: MNode = { type: this.kind, mode, uid: u.uid, gid: u.gids[0]!, length: 0, target: this.kind === 'l' ? 'target-' + this.name : '', children: new Map(), links: [], xattrs: new Map() };
      m.nodes.set(res.value.inode, node);
      addLink(m, parent, this.name, res.value.inode);
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
  run(m: Model, r: Real): void {
    const parent = pick(dirs(m), this.pk);
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
    const res = this.dir ? r.ns.rmdir(u, parent, b(this.name)) : r.ns.unlink(u, parent, b(this.name));
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok) removeLink(m, parent, this.name);
  }
}

class Link extends Base {
  constructor(readonly sk: number, readonly pk: number, readonly name: string, readonly u: number) {
    super();
  }
  toString() {
    return `link(${this.sk},${this.pk},${this.name},u${this.u})`;
  }
  run(m: Model, r: Real): void {
    const live = all(m).filter((i) => !m.trash.has(i));
    const src = pick(live, this.sk);
    const parent = pick(live, this.pk);
    const u = USERS[this.u]!;
    const sn = m.nodes.get(src)!;
    const pn = m.nodes.get(parent)!;
    let expected: number;
    if (sn.type === 'd') expected = MFS_ERROR_EPERM;
    else if (pn.type !== 'd') expected = MFS_ERROR_ENOTDIR;
    else if (!allow(pn, u, W | X)) expected = MFS_ERROR_EACCES;
    else if (pn.children.has(this.name)) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    const res = r.ns.link(u, src, parent, b(this.name));
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok) addLink(m, parent, this.name, src);
  }
}

class Rename extends Base {
  constructor(readonly sk: number, readonly sname: string, readonly dk: number, readonly dname: string, readonly u: number) {
    super();
  }
  toString() {
    return `rename(${this.sk},${this.sname},${this.dk},${this.dname},u${this.u})`;
  }
  run(m: Model, r: Real): void {
    const ds = dirs(m);
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
    else if (node.type === 'd' && isAncestor(m, ni!, dp)) expected = MFS_ERROR_EINVAL;
    else if (node.type === 'd' && sp !== dp && !allow(node, u, W)) expected = MFS_ERROR_EACCES;
    else if (dst !== undefined && dst.type === 'd' && dst.children.size > 0) expected = MFS_ERROR_ENOTEMPTY;
    else if (dst !== undefined && stickyDenies(dwd, dst, u)) expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = r.ns.rename(u, sp, b(this.sname), dp, b(this.dname));
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok && di !== ni) {
      if (dst !== undefined) removeLink(m, dp, this.dname);
      const n = m.nodes.get(ni!)!;
      m.nodes.get(sp)!.children.delete(this.sname);
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
  run(m: Model, r: Real): void {
    const ino = pick(all(m).filter((i) => !m.trash.has(i)), this.nk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    let expected: number = MFS_STATUS_OK;
    if (u.uid !== 0 && u.uid !== n.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'uid' && u.uid !== 0 && this.value !== u.uid) expected = MFS_ERROR_EPERM;
    else if (this.what === 'gid' && u.uid !== 0 && !u.gids.includes(this.value)) expected = MFS_ERROR_EPERM;
    const setmask = this.what === 'mode' ? SET_MODE_FLAG : this.what === 'uid' ? SET_UID_FLAG : SET_GID_FLAG;
    const res = r.ns.setattr(u, ino, 0, { setmask, mode: this.value, uid: this.value, gid: this.value, atime: 0, mtime: 0, winattr: 0, sugidclearmode: 0 });
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok) {
      if (this.what === 'mode') n.mode = this.value;
      else if (this.what === 'uid') n.uid = this.value;
      else n.gid = this.value;
    }
  }
}

class Write extends Base {
  constructor(readonly fk: number, readonly length: number) {
    super();
  }
  toString() {
    return `write(${this.fk},${this.length})`;
  }
  run(m: Model, r: Real): void {
    const files = all(m).filter((i) => m.nodes.get(i)!.type === 'f' && !m.trash.has(i));
    if (files.length === 0) return;
    const ino = pick(files, this.fk);
    const indx = Math.floor((this.length - 1) / 0x4000000);
    const w = r.ns.writeChunk(ino, indx, { chunkopflags: 0 });
    expect(st(w), this.toString()).toBe(MFS_STATUS_OK);
    if (!w.ok) return;
    expect(r.ns.writeChunkEnd(ino, w.value.chunkId, this.length, 0)).toBe(MFS_STATUS_OK);
    const n = m.nodes.get(ino)!;
    n.length = Math.max(n.length, this.length);
  }
}

class Truncate extends Base {
  constructor(readonly fk: number, readonly length: number, readonly u: number) {
    super();
  }
  toString() {
    return `truncate(${this.fk},${this.length},u${this.u})`;
  }
  run(m: Model, r: Real): void {
    const ino = pick(all(m).filter((i) => !m.trash.has(i)), this.fk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    let expected: number;
    if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if (n.type !== 'f') expected = MFS_ERROR_EPERM;
    else expected = MFS_STATUS_OK;
    const res = r.ns.truncate(u, ino, 0, this.length);
    expect(st(res), this.toString()).toBe(expected);
    if (res.ok) n.length = this.length;
  }
}

class Xattr extends Base {
  constructor(readonly nk: number, readonly name: string, readonly value: string, readonly mode: number, readonly u: number) {
    super();
  }
  toString() {
    return `setxattr(${this.nk},${this.name},${this.value},${this.mode},u${this.u})`;
  }
  run(m: Model, r: Real): void {
    const ino = pick(all(m).filter((i) => !m.trash.has(i)), this.nk);
    const n = m.nodes.get(ino)!;
    const u = USERS[this.u]!;
    const has = n.xattrs.has(this.name);
    let expected: number;
    if (!allow(n, u, W)) expected = MFS_ERROR_EACCES;
    else if ((this.mode === MFS_XATTR_REPLACE_ONLY || this.mode === MFS_XATTR_REMOVE) && !has) expected = MFS_ERROR_ENOATTR;
    else if (this.mode === MFS_XATTR_CREATE_ONLY && has) expected = MFS_ERROR_EEXIST;
    else expected = MFS_STATUS_OK;
    expect(r.ns.setxattr(u, ino, 0, b(this.name), b(this.value), this.mode), this.toString()).toBe(expected);
    if (expected === MFS_STATUS_OK) {
      if (this.mode === MFS_XATTR_REMOVE) n.xattrs.delete(this.name);
      else n.xattrs.set(this.name, this.value);
    }
    if (expected === MFS_STATUS_OK && this.mode !== MFS_XATTR_REMOVE) {
      const g = r.ns.getxattr(USERS[0]!, ino, 0, b(this.name));
      expect(g.ok && g.value.toString()).toBe(this.value);
    }
  }
}

class Undel extends Base {
  constructor(readonly tk: number) {
    super();
  }
  toString() {
    return `undel(${this.tk})`;
  }
  run(m: Model, r: Real): void {
    const list = [...m.trash.keys()].sort((x, y) => x - y);
    if (list.length === 0) return;
    const ino = pick(list, this.tk);
    const path = m.trash.get(ino)!;
    // expected: walk the path from the root; missing directories are created (root, 0755)
    let expected: number = MFS_STATUS_OK;
    let d = 1;
    for (let i = 0; i < path.length - 1; i++) {
      const c = m.nodes.get(d)!.children.get(path[i]!);
      if (c === undefined) break;
      if (m.nodes.get(c)!.type !== 'd') {
        expected = MFS_ERROR_CANTCREATEPATH;
        break;
      }
      d = c;
      if (i === path.length - 2 && m.nodes.get(d)!.children.has(path[path.length - 1]!)) expected = MFS_ERROR_EEXIST;
    }
    if (path.length === 1 && m.nodes.get(1)!.children.has(path[0]!)) expected = MFS_ERROR_EEXIST;
    expect(r.ns.undel(META, ino), `${this.toString()} ${path.join('/')}`).toBe(expected);
    if (expected !== MFS_STATUS_OK) return;
    d = 1;
    for (let i = 0; i < path.length - 1; i++) {
      let c = m.nodes.get(d)!.children.get(path[i]!);
      if (c === undefined) {
        const l = r.ns.lookup(USERS[0]!, d, b(path[i]!));
        expect(l.ok).toBe(true);
        if (!l.ok) return;
        c = l.value.inode;
        m.nodes.set(c, { type: 'd', mode: 0o755, uid: 0, gid: 0, length: 0, target: '', children: new Map(), links: [], xattrs: new Map() });
        addLink(m, d, path[i]!, c);
      }
      d = c;
    }
    m.trash.delete(ino);
    addLink(m, d, path[path.length - 1]!, ino);
  }
}

const user = fc.integer({ min: 0, max: 2 });
const name = fc.constantFrom(...NAMES);
const k = fc.nat(12);
const commands = [
  fc.tuple(k, name, fc.constantFrom(...MODES), user, fc.constantFrom<'f' | 'd' | 'l'>('f', 'f', 'd', 'd', 'l')).map((a) => new Create(...a)),
  fc.tuple(k, name, user, fc.boolean()).map((a) => new Remove(...a)),
  fc.tuple(k, k, name, user).map((a) => new Link(...a)),
  fc.tuple(k, name, k, name, user).map((a) => new Rename(...a)),
  fc.tuple(k, fc.constantFrom<'mode' | 'uid' | 'gid'>('mode', 'uid', 'gid'), fc.oneof(fc.constantFrom(...MODES), fc.constantFrom(...GIDS)), user).map(
    ([n, w, v, u]) => new Chattr(n, w, w === 'mode' ? v & 0o1777 : GIDS.includes(v) ? v : 0, u),
  ),
  fc.tuple(k, fc.constantFrom(1, 1000, 0x4000000, 0x4000001, 3 * 0x4000000 + 7)).map((a) => new Write(...a)),
  fc.tuple(k, fc.constantFrom(0, 10, 0x4000000 + 3, 200), user).map((a) => new Truncate(...a)),
  fc.tuple(k, fc.constantFrom('user.a', 'user.b'), fc.constantFrom('1', 'xyz'), fc.constantFrom(0, 1, 2, 3), user).map((a) => new Xattr(...a)),
  k.map((a) => new Undel(a)),
];

test('namespace == model over random operation sequences; replay == live', () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80, size: 'large' }), (cmds) => {
      const model = newModel();
      const { ns, lines, start } = setup();
      const real: Real = { ns, lines, start };
      fc.modelRun(() => ({ model, real }), [...cmds].map((c) => wrapWithCompare(c)));
      const fresh = replay(lines, start);
      expect(fresh.dumpState()).toEqual(ns.dumpState());
    }),
    { numRuns: Number(process.env.MFS_MODEL_RUNS ?? 120) },
  );
  // the generated sequences must really exercise every operation (not only its error paths)
  for (const op of ['create', 'link', 'rename', 'rmdir', 'unlink', 'setmode', 'setuid', 'setgid', 'setxattr', 'truncate', 'undel', 'write']) {
    expect(STATS.get(`${op}:changed`) ?? 0, op).toBeGreaterThan(0);
  }
});

const STATS = new Map<string, number>();
function wrapWithCompare(c: Cmd): Cmd {
  return {
    check: (m) => c.check(m),
    run: (m, r) => {
      const before = r.lines.length;
      c.run(m, r);
      const key = c.toString().replace(/\(.*/, '') + (r.lines.length > before ? ':changed' : ':nochange');
      STATS.set(key, (STATS.get(key) ?? 0) + 1);
      compare(m, r);
    },
    toString: () => c.toString(),
  };
}

void R;
