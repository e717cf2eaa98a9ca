// Per-operation tests of the namespace; expected statuses are what mfsmaster/filesystem.c returns in
// the same situation (function named in each test).
import {
  MFS_ERROR_CANTCREATEPATH,
  MFS_ERROR_EACCES,
  MFS_ERROR_EEXIST,
  MFS_ERROR_EINVAL,
  MFS_ERROR_ENOATTR,
  MFS_ERROR_ENOENT,
  MFS_ERROR_ENOENT_NOCACHE,
  MFS_ERROR_ENOTDIR,
  MFS_ERROR_ENOTEMPTY,
  MFS_ERROR_EPERM,
  MFS_ERROR_EROFS,
  MFS_ERROR_LOCKED,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import { describe, expect, test } from 'vitest';
import {
  CHUNKOPFLAG_CANMODTIME,
  CHUNKOPFLAG_CONTINUEOP,
  EATTR_IMMUTABLE,
  EATTR_NOOWNER,
  GETDIR_FLAG_WITHATTR,
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_REMOVE,
  MFS_XATTR_REPLACE_ONLY,
  MODE_MASK_R,
  MODE_MASK_W,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SESFLAG_ADMIN,
  SESFLAG_READONLY,
  SET_GID_FLAG,
  SET_MODE_FLAG,
  SET_MTIME_NOW_FLAG,
  SET_UID_FLAG,
  SMODE_RMASK,
  SMODE_SET,
  SUGID_CLEAR_MODE_ALWAYS,
  SUGID_CLEAR_MODE_EXT,
  SUGID_CLEAR_MODE_NEVER,
  TYPE_DIRECTORY,
  TYPE_FIFO,
  TYPE_FILE,
  TYPE_SYMLINK,
  type SetattrArgs,
} from '../../src/fs/index.js';
import { b, ctxOf, META, ok, ROOT, setup, status } from './helpers.js';

const U1 = ctxOf(1000, [1000, 50]);
const U2 = ctxOf(1001, [1001]);

function sa(p: Partial<SetattrArgs>): SetattrArgs {
  return { setmask: 0, mode: 0, uid: 0, gid: 0, atime: 0, mtime: 0, winattr: 0, sugidclearmode: SUGID_CLEAR_MODE_NEVER, ...p };
}

describe('create, mkdir, mknod (fs_univ_create)', () => {
  test('new nodes: inode numbers, umask, attributes, parent nlink and times', () => {
    const { ns, clock, lines } = setup();
    clock.t += 5;
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o777, 0o022, false));
    expect(d.inode).toBe(2);
    expect(d.attr).toMatchObject({ type: TYPE_DIRECTORY, mode: 0o755, nlink: 2, length: 1, uid: 0, gid: 0 });
    // uid 1000 may not create in a root-owned 0755 directory
    expect(status(ns.mknod(U1, 2, b('f'), TYPE_FILE, 0o666, 0o002, 0))).toBe(MFS_ERROR_EACCES);
    ok(ns.setattr(ROOT, 2, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o777 })));
    const g = ok(ns.mknod(U1, 2, b('g'), TYPE_FILE, 0o666, 0o002, 0));
    expect(g.inode).toBe(3);
    expect(g.attr).toMatchObject({ type: TYPE_FILE, mode: 0o664, uid: 1000, gid: 1000, nlink: 1, length: 0 });
    expect(ok(ns.getattr(ROOT, 1)).nlink).toBe(3);
    expect(ok(ns.getattr(ROOT, 2)).mtime).toBe(clock.t);
    expect(lines[0]).toBe(`1: ${clock.t}|CREATE(1,d,2,511,18,0,0,0):2`);
  });

  test('statuses: EEXIST, ENOENT, ENOTDIR, EINVAL names, EROFS', () => {
    const { ns } = setup();
    ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0));
    expect(status(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0))).toBe(MFS_ERROR_EEXIST);
    expect(status(ns.mkdir(ROOT, 99, b('x'), 0o755, 0, false))).toBe(MFS_ERROR_ENOENT);
    expect(status(ns.mkdir(ROOT, 2, b('x'), 0o755, 0, false))).toBe(MFS_ERROR_ENOTDIR);
    for (const bad of ['.', '..', 'a/b', '', 'x'.repeat(256), 'a\0b']) {
      expect(status(ns.mkdir(ROOT, 1, b(bad), 0o755, 0, false))).toBe(MFS_ERROR_EINVAL);
    }
    expect(status(ns.mkdir(ROOT, 1, b('x'.repeat(255)), 0o755, 0, false))).toBe(MFS_STATUS_OK);
    expect(status(ns.mkdir(ctxOf(0, [0], SESFLAG_READONLY), 1, b('ro'), 0o755, 0, false))).toBe(MFS_ERROR_EROFS);
    expect(status(ns.mknod(ROOT, 1, b('bad'), TYPE_SYMLINK, 0o777, 0, 0))).toBe(MFS_ERROR_EINVAL);
  });

  test('setgid directory: children take its gid, mkdir with copysgid keeps the bit', () => {
    const { ns, lines } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('sg'), 0o2777, 0, false)).inode;
    ok(ns.setattr(ROOT, d, 0, sa({ setmask: SET_GID_FLAG, gid: 77 })));
    const f = ok(ns.mknod(U1, d, b('f'), TYPE_FILE, 0o644, 0, 0));
    expect(f.attr.gid).toBe(77);
    const sub = ok(ns.mkdir(U1, d, b('sub'), 0o755, 0, true));
    expect(sub.attr.gid).toBe(77);
    expect(sub.attr.mode).toBe(0o2755);
    const plain = ok(ns.mkdir(U1, d, b('plain'), 0o755, 0, false));
    expect(plain.attr.mode).toBe(0o755);
    expect(lines.some((l) => l.includes('CREATE(2,sub,2,1517,0,1000,77,0)'))).toBe(true);
  });

  test('fifo and devices', () => {
    const { ns } = setup();
    const c = ok(ns.mknod(ROOT, 1, b('c'), 6, 0o600, 0, 0x0501));
    expect(c.attr).toMatchObject({ type: 6, rdev: 0x0501, length: 0 });
    expect(ok(ns.mknod(ROOT, 1, b('p'), TYPE_FIFO, 0o600, 0, 0)).attr.type).toBe(TYPE_FIFO);
  });
});

describe('lookup, access, getattr', () => {
  test('lookup of names, "." and "..", ENOENT, EACCES without x, ENOENT_NOCACHE for a bad parent', () => {
    const { ns } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o700, 0, false)).inode;
    const f = ok(ns.mknod(ROOT, d, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    expect(ok(ns.lookup(ROOT, d, b('f'))).inode).toBe(f);
    expect(ok(ns.lookup(ROOT, d, b('.'))).inode).toBe(d);
    expect(ok(ns.lookup(ROOT, d, b('..'))).inode).toBe(1);
    expect(ok(ns.lookup(ROOT, 1, b('..'))).inode).toBe(1);
    expect(status(ns.lookup(ROOT, d, b('nope')))).toBe(MFS_ERROR_ENOENT);
    expect(status(ns.lookup(U1, d, b('f')))).toBe(MFS_ERROR_EACCES);
    expect(status(ns.lookup(ROOT, 77, b('f')))).toBe(MFS_ERROR_ENOENT_NOCACHE);
    expect(status(ns.lookup(ROOT, f, b('x')))).toBe(MFS_ERROR_ENOTDIR);
    expect(ns.access(U1, f, MODE_MASK_R)).toBe(MFS_STATUS_OK);
    expect(ns.access(U1, f, MODE_MASK_W)).toBe(MFS_ERROR_EACCES);
    expect(ns.access(ctxOf(1000, [1000], SESFLAG_READONLY), f, MODE_MASK_W)).toBe(MFS_ERROR_EROFS);
    expect(ns.access(ROOT, 50, MODE_MASK_R)).toBe(MFS_ERROR_ENOENT);
  });

  test('group and other permissions, ignoregid', () => {
    const { ns } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o640, 0, 0)).inode;
    ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_GID_FLAG | SET_UID_FLAG, uid: 1001, gid: 50 })));
    expect(ns.access(U1, f, MODE_MASK_R)).toBe(MFS_STATUS_OK); // via group 50
    expect(ns.access(ctxOf(1002, [1002]), f, MODE_MASK_R)).toBe(MFS_ERROR_EACCES);
    expect(ns.access(ctxOf(1002, [1002], 0x04), f, MODE_MASK_R)).toBe(MFS_STATUS_OK); // SESFLAG_IGNOREGID: group|other
  });

  test('an export rooted in a subdirectory sees it as inode 1 and nothing outside', () => {
    const { ns } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('export'), 0o755, 0, false)).inode;
    const out = ok(ns.mknod(ROOT, 1, b('outside'), TYPE_FILE, 0o644, 0, 0)).inode;
    const f = ok(ns.mknod(ROOT, d, b('in'), TYPE_FILE, 0o644, 0, 0)).inode;
    const sub = ctxOf(0, [0], 0, d);
    expect(ok(ns.lookup(sub, 1, b('in'))).inode).toBe(f);
    expect(ok(ns.lookup(sub, 1, b('..'))).inode).toBe(1);
    expect(status(ns.getattr(sub, out))).toBe(MFS_ERROR_ENOENT);
    expect(ok(ns.getattr(sub, f)).type).toBe(TYPE_FILE);
    const rd = ok(ns.readdir(sub, 1, 0, 100, 0n));
    expect(rd.entries.map((e) => [e.name.toString(), e.inode])).toEqual([['.', 1], ['..', 1], ['in', f]]);
  });
});

describe('unlink, rmdir (fs_univ_unlink), trash, sustained, undel, purge', () => {
  test('statuses', () => {
    const { ns } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false)).inode;
    ok(ns.mknod(ROOT, d, b('f'), TYPE_FILE, 0o644, 0, 0));
    expect(status(ns.unlink(ROOT, 1, b('d')))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.rmdir(ROOT, 1, b('d')))).toBe(MFS_ERROR_ENOTEMPTY);
    expect(status(ns.rmdir(ROOT, d, b('f')))).toBe(MFS_ERROR_ENOTDIR);
    expect(status(ns.unlink(ROOT, d, b('g')))).toBe(MFS_ERROR_ENOENT);
    expect(status(ns.unlink(U1, d, b('f')))).toBe(MFS_ERROR_EACCES);
    expect(status(ns.unlink(ROOT, d, b('f')))).toBe(MFS_STATUS_OK);
    expect(status(ns.rmdir(ROOT, 1, b('d')))).toBe(MFS_STATUS_OK);
    expect(ok(ns.getattr(ROOT, 1)).nlink).toBe(2);
  });

  test('sticky directory: only the owner of the file or directory (or root) may remove', () => {
    const { ns } = setup();
    const tmp = ok(ns.mkdir(ROOT, 1, b('tmp'), 0o1777, 0, false)).inode;
    ok(ns.mknod(U1, tmp, b('mine'), TYPE_FILE, 0o666, 0, 0));
    expect(status(ns.unlink(U2, tmp, b('mine')))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.rename(U2, tmp, b('mine'), tmp, b('other')))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.unlink(U1, tmp, b('mine')))).toBe(MFS_STATUS_OK);
  });

  test('trash: unlinked file keeps its path; undel recreates directories; purge removes', () => {
    const { ns, clock } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('a'), 0o755, 0, false)).inode;
    const d2 = ok(ns.mkdir(ROOT, d, b('b'), 0o755, 0, false)).inode;
    const f = ok(ns.mknod(ROOT, d2, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    ok(ns.unlink(ROOT, d2, b('f')));
    expect(ok(ns.readTrash(META)).map((e) => [e.inode, e.path.toString()])).toEqual([[f, 'a/b/f']]);
    expect(status(ns.readTrash(ROOT))).toBe(MFS_ERROR_EPERM);
    expect(ok(ns.getDetachedAttr(META, f, 1)).type).toBe(TYPE_FILE);
    expect(ok(ns.getTrashPath(META, f)).toString()).toBe('a/b/f');
    ok(ns.rmdir(ROOT, d, b('b')));
    ok(ns.rmdir(ROOT, 1, b('a')));
    expect(ns.undel(META, f)).toBe(MFS_STATUS_OK);
    const a = ok(ns.lookup(ROOT, 1, b('a')));
    expect(a.attr.mode).toBe(0o755);
    const bb = ok(ns.lookup(ROOT, a.inode, b('b')));
    expect(ok(ns.lookup(ROOT, bb.inode, b('f'))).inode).toBe(f);
    expect(ok(ns.readTrash(META))).toEqual([]);
    // into trash again, rename the path onto an existing file: undel says EEXIST
    ok(ns.unlink(ROOT, bb.inode, b('f')));
    ok(ns.mknod(ROOT, bb.inode, b('f'), TYPE_FILE, 0o644, 0, 0));
    expect(ns.undel(META, f)).toBe(MFS_ERROR_EEXIST);
    expect(ns.setTrashPath(META, f, b('x/../y'))).toBe(MFS_STATUS_OK);
    expect(ns.undel(META, f)).toBe(MFS_ERROR_CANTCREATEPATH);
    expect(ns.purge(META, f)).toBe(MFS_STATUS_OK);
    expect(status(ns.getattr(ROOT, f))).toBe(MFS_ERROR_ENOENT);
    expect(ns.purge(META, f)).toBe(MFS_ERROR_ENOENT);
    void clock;
  });

  test('trash expiry (EMPTYTRASH) and delayed inode reuse (FREEINODES)', () => {
    const { ns, clock, lines } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    ok(ns.settrashtime(ROOT, f, 3600, SMODE_SET));
    ok(ns.unlink(ROOT, 1, b('f')));
    clock.t += 3601;
    ns.emptyAllTrash();
    expect(status(ns.getattr(ROOT, f))).toBe(MFS_ERROR_ENOENT);
    // the freed inode is not reused before INODE_REUSE_DELAY (300 s in these tests)
    expect(ok(ns.mknod(ROOT, 1, b('g'), TYPE_FILE, 0o644, 0, 0)).inode).toBe(f + 1);
    clock.t += 301;
    ns.periodic();
    expect(lines.some((l) => /\|FREEINODES\(300\):1,0,2$/.test(l))).toBe(true);
    expect(ok(ns.mknod(ROOT, 1, b('h'), TYPE_FILE, 0o644, 0, 0)).inode).toBe(f);
  });

  test('open unlinked file goes to sustained and is freed after release (trashtime 0)', () => {
    const { ns } = setup();
    ok(ns.settrashtime(ROOT, 1, 0, SMODE_SET));
    const f = ok(ns.create(ROOT, 9, 1, b('o'), 0o644, 0)).inode;
    ok(ns.unlink(ROOT, 1, b('o')));
    expect(ok(ns.readSustained(META)).map((e) => e.inode)).toEqual([f]);
    expect(ok(ns.getattr(ROOT, f, 1)).nlink).toBe(0);
    ns.emptyAllTrash();
    expect(ok(ns.readSustained(META)).length).toBe(1);
    expect(ns.release(9, f)).toBe(MFS_STATUS_OK);
    ns.emptyAllTrash();
    expect(ok(ns.readSustained(META))).toEqual([]);
    expect(status(ns.getattr(ROOT, f))).toBe(MFS_ERROR_ENOENT);
  });
});

describe('rename (fs_univ_move)', () => {
  test('over an existing file, dirs, own subtree refused, ENOTEMPTY', () => {
    const { ns } = setup();
    const a = ok(ns.mkdir(ROOT, 1, b('a'), 0o755, 0, false)).inode;
    const a2 = ok(ns.mkdir(ROOT, a, b('a2'), 0o755, 0, false)).inode;
    const x = ok(ns.mknod(ROOT, 1, b('x'), TYPE_FILE, 0o644, 0, 0)).inode;
    const y = ok(ns.mknod(ROOT, 1, b('y'), TYPE_FILE, 0o644, 0, 0)).inode;
    expect(status(ns.rename(ROOT, 1, b('a'), a2, b('loop')))).toBe(MFS_ERROR_EINVAL);
    expect(status(ns.rename(ROOT, 1, b('a'), a, b('self')))).toBe(MFS_ERROR_EINVAL);
    expect(ok(ns.rename(ROOT, 1, b('x'), 1, b('y'))).inode).toBe(x);
    expect(ok(ns.lookup(ROOT, 1, b('y'))).inode).toBe(x);
    expect(ok(ns.readTrash(META)).map((e) => e.inode)).toEqual([y]);
    const e = ok(ns.mkdir(ROOT, 1, b('e'), 0o755, 0, false)).inode;
    expect(status(ns.rename(ROOT, 1, b('e'), 1, b('a')))).toBe(MFS_ERROR_ENOTEMPTY);
    ok(ns.rename(ROOT, 1, b('e'), a, b('e')));
    expect(ok(ns.getattr(ROOT, 1)).nlink).toBe(3);
    expect(ok(ns.getattr(ROOT, a)).nlink).toBe(4);
    expect(status(ns.rename(ROOT, 1, b('nope'), 1, b('z')))).toBe(MFS_ERROR_ENOENT);
    expect(status(ns.rename(ROOT, 1, b('y'), 1, b('.')))).toBe(MFS_ERROR_EINVAL);
    void e;
  });

  test('moving a directory to another parent needs write access to it', () => {
    const { ns } = setup();
    ok(ns.setattr(ROOT, 1, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o777 })));
    const d = ok(ns.mkdir(U1, 1, b('d'), 0o555, 0, false)).inode;
    const t = ok(ns.mkdir(U1, 1, b('t'), 0o777, 0, false)).inode;
    expect(status(ns.rename(U1, 1, b('d'), t, b('d')))).toBe(MFS_ERROR_EACCES);
    expect(status(ns.rename(U1, 1, b('d'), 1, b('d2')))).toBe(MFS_STATUS_OK);
    void d;
  });
});

describe('link, symlink, readlink', () => {
  test('hard links count, directories refused', () => {
    const { ns } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false)).inode;
    expect(ok(ns.link(ROOT, f, d, b('f2'))).attr.nlink).toBe(2);
    expect(status(ns.link(ROOT, f, d, b('f2')))).toBe(MFS_ERROR_EEXIST);
    expect(status(ns.link(ROOT, d, 1, b('d2')))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.link(ROOT, f, f, b('x')))).toBe(MFS_ERROR_ENOTDIR);
    ok(ns.unlink(ROOT, 1, b('f')));
    expect(ok(ns.getattr(ROOT, f)).nlink).toBe(1);
    expect(ok(ns.readTrash(META))).toEqual([]);
    expect(ok(ns.getPaths(ROOT, f)).map(String)).toEqual(['d/f2']);
  });

  test('symlink attributes and readlink', () => {
    const { ns } = setup();
    const s = ok(ns.symlink(U1, 1, b('l'), b('/some/target')));
    expect(s.attr).toMatchObject({ type: TYPE_SYMLINK, mode: 0o777, length: 12 });
    expect(status(ns.symlink(ROOT, 1, b('l2'), b('')))).toBe(MFS_ERROR_EINVAL);
    expect(ok(ns.readlink(ROOT, s.inode)).toString()).toBe('/some/target');
    expect(status(ns.readlink(ROOT, 1))).toBe(MFS_ERROR_EINVAL);
    expect(ok(ns.getDirStats(ROOT, 1)).length).toBe(12);
  });
});

describe('setattr (fs_setattr)', () => {
  test('chmod and chown rules', () => {
    const { ns, clock } = setup();
    ok(ns.setattr(ROOT, 1, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o777 })));
    const f = ok(ns.mknod(U1, 1, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    expect(status(ns.setattr(U2, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o777 })))).toBe(MFS_ERROR_EPERM);
    expect(ok(ns.setattr(U1, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o4755 }))).mode).toBe(0o4755);
    expect(status(ns.setattr(U1, f, 0, sa({ setmask: SET_UID_FLAG, uid: 1001 })))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.setattr(U1, f, 0, sa({ setmask: SET_GID_FLAG, gid: 60 })))).toBe(MFS_ERROR_EPERM);
    expect(ok(ns.setattr(U1, f, 0, sa({ setmask: SET_GID_FLAG, gid: 50, sugidclearmode: SUGID_CLEAR_MODE_ALWAYS }))).mode).toBe(0o755);
    // sgid without membership in the file's group is dropped
    expect(ok(ns.setattr(U1, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o2755 }))).mode).toBe(0o2755);
    ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_GID_FLAG, gid: 99 })));
    expect(ok(ns.setattr(U1, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o2755 }))).mode).toBe(0o755);
    // EXT mode: chown of a g-x file with suid+sgid clears only suid
    ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o6644 })));
    expect(ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_UID_FLAG, uid: 1000, sugidclearmode: SUGID_CLEAR_MODE_EXT }))).mode).toBe(0o2644);
    // special case: anyone may clear sugid bits while writing
    ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o4644 })));
    expect(ok(ns.setattr(U2, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o644 }))).mode).toBe(0o644);
    // utimes(NOW) by a non-owner needs write access
    expect(status(ns.setattr(U2, f, 0, sa({ setmask: SET_MTIME_NOW_FLAG })))).toBe(MFS_ERROR_EACCES);
    clock.t += 10;
    ok(ns.setattr(ROOT, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o666 })));
    expect(ok(ns.setattr(U2, f, 0, sa({ setmask: SET_MTIME_NOW_FLAG }))).mtime).toBe(clock.t);
  });

  test('immutable and noowner', () => {
    const { ns } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o600, 0, 0)).inode;
    expect(status(ns.seteattr(ROOT, f, EATTR_IMMUTABLE, SMODE_SET))).toBe(MFS_ERROR_EPERM); // admin only
    ok(ns.seteattr(ctxOf(0, [0], SESFLAG_ADMIN), f, EATTR_IMMUTABLE, SMODE_SET));
    expect(status(ns.setattr(ROOT, f, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o644 })))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.unlink(ROOT, 1, b('f')))).toBe(MFS_ERROR_EPERM);
    expect(ok(ns.getattr(ROOT, f)).flags & 0x20).toBe(0x20); // MATTR_UNDELETABLE
    const g = ok(ns.mknod(ROOT, 1, b('g'), TYPE_FILE, 0o600, 0, 0)).inode;
    ok(ns.seteattr(ROOT, g, EATTR_NOOWNER, SMODE_SET));
    expect(ns.access(U2, g, MODE_MASK_R | MODE_MASK_W)).toBe(MFS_STATUS_OK);
    expect(ok(ns.getattr(U2, g)).mode).toBe(0o666);
  });
});

describe('readdir (fs_readdir_size / fs_readdir_data)', () => {
  test('order and edge-id continuation', () => {
    const { ns } = setup();
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const n of names) ok(ns.mknod(ROOT, 1, b(n), TYPE_FILE, 0o644, 0, 0));
    const all = ok(ns.readdir(ROOT, 1, 0, 1000, 0n));
    expect(all.entries.map((e) => e.name.toString())).toEqual(['.', '..', 'e', 'd', 'c', 'b', 'a']);
    expect(all.nextEdgeId).toBe(0x7fffffffffffffffn);
    const got: string[] = [];
    let next = 0n;
    for (let i = 0; i < 10 && next !== 0x7fffffffffffffffn; i++) {
      const r = ok(ns.readdir(ROOT, 1, GETDIR_FLAG_WITHATTR, 3, next));
      got.push(...r.entries.map((e) => e.name.toString()));
      expect(r.entries.every((e) => e.attr !== undefined)).toBe(true);
      next = r.nextEdgeId;
    }
    expect(got).toEqual(['.', '..', 'e', 'd', 'c', 'b', 'a']);
    // continuation survives removal of the next entry
    const first = ok(ns.readdir(ROOT, 1, 0, 3, 0n));
    ok(ns.unlink(ROOT, 1, b('d')));
    expect(ok(ns.readdir(ROOT, 1, 0, 10, first.nextEdgeId)).entries.map((e) => e.name.toString())).toEqual(['c', 'b', 'a']);
    expect(status(ns.readdir(U1, 2, 0, 10, 0n))).toBe(MFS_ERROR_ENOTDIR);
    const d = ok(ns.mkdir(ROOT, 1, b('priv'), 0o700, 0, false)).inode;
    expect(status(ns.readdir(U1, d, 0, 10, 0n))).toBe(MFS_ERROR_EACCES);
  });
});

describe('chunks of files (fs_writechunk, fs_writeend, fs_readchunk, truncate)', () => {
  test('new chunk, version bump, continue, lock, length', () => {
    const { ns, lines } = setup();
    const f = ok(ns.create(ROOT, 1, 1, b('f'), 0o644, 0)).inode;
    const w1 = ok(ns.writeChunk(f, 0, { chunkopflags: CHUNKOPFLAG_CANMODTIME }));
    expect(w1).toMatchObject({ action: 'create', chunkId: 1, version: 1, oldChunkId: 0 });
    expect(status(ns.writeChunk(f, 0, { chunkopflags: 0 }))).toBe(MFS_ERROR_LOCKED);
    expect(ok(ns.writeChunk(f, 0, { chunkopflags: CHUNKOPFLAG_CONTINUEOP })).action).toBe('setversion');
    expect(ns.writeChunkEnd(f, 1, 1000, CHUNKOPFLAG_CANMODTIME)).toBe(MFS_STATUS_OK);
    expect(ok(ns.getattr(ROOT, f)).length).toBe(1000);
    ns.chunks.operationDone(1);
    const w3 = ok(ns.writeChunk(f, 0, { chunkopflags: 0 }));
    expect(w3).toMatchObject({ action: 'continue', chunkId: 1, version: 2 });
    ns.writeChunkEnd(f, 1, 0, 0);
    expect(ok(ns.writeChunk(f, 2, { chunkopflags: 0 }))).toMatchObject({ action: 'create', chunkId: 2, length: 2 * 0x4000000 });
    ns.writeChunkEnd(f, 2, 2 * 0x4000000 + 10, 0);
    expect(ok(ns.readChunk(f, 1))).toEqual({ chunkId: 0, version: 0, length: 2 * 0x4000000 + 10 });
    expect(ok(ns.readChunk(f, 2)).chunkId).toBe(2);
    expect(ok(ns.getDirStats(ROOT, 1))).toMatchObject({ files: 1, chunks: 2, length: 2 * 0x4000000 + 10, size: 0x4000000 + 0x2000 + 0x10000 + 0x2000 });
    expect(lines.filter((l) => l.includes('|WRITE(')).map((l) => l.replace(/^\d+: \d+\|/, ''))).toEqual([
      'WRITE(3,0,1,1):1', 'WRITE(3,0,1,0):1', 'WRITE(3,0,0,0):1', 'WRITE(3,2,1,0):2',
    ].map((s) => s.replace(/\(3,/, `(${f},`)));
  });

  test('snapshot shares chunks; writing the copy duplicates the chunk', () => {
    const { ns } = setup();
    const d = ok(ns.mkdir(ROOT, 1, b('src'), 0o755, 0, false)).inode;
    const f = ok(ns.create(ROOT, 1, d, b('f'), 0o644, 0)).inode;
    ok(ns.writeChunk(f, 0, { chunkopflags: 0 }));
    ns.writeChunkEnd(f, 1, 5000, 0);
    expect(ns.snapshot(ROOT, d, 1, b('snap'), 0, 0o022)).toBe(MFS_STATUS_OK);
    const s = ok(ns.lookup(ROOT, 1, b('snap')));
    const sf = ok(ns.lookup(ROOT, s.inode, b('f')));
    expect(ns.fileChunks(sf.inode)).toEqual([1]);
    expect(ns.chunks.get(1)!.fcount).toBe(2);
    expect(sf.attr.length).toBe(5000);
    const w = ok(ns.writeChunk(sf.inode, 0, { chunkopflags: 0 }));
    expect(w).toMatchObject({ action: 'duplicate', chunkId: 2, version: 1, oldChunkId: 1, oldVersion: 1 });
    expect(ns.chunks.get(1)!.fcount).toBe(1);
    // snapshot onto an existing destination without the overwrite flag
    expect(ns.snapshot(ROOT, d, 1, b('snap'), 0, 0)).toBe(MFS_ERROR_EEXIST);
    expect(ns.snapshot(ROOT, d, d, b('inside'), 0, 0)).toBe(MFS_ERROR_EINVAL);
    // SNAPSHOT_MODE_DELETE removes only untouched snapshot objects (EATTR_SNAPSHOT): the written copy is not
    expect(ns.snapshot(ROOT, 0, 1, b('snap'), 0x80, 0)).toBe(MFS_ERROR_EPERM);
    expect(ns.snapshot(ROOT, d, 1, b('snap2'), 0, 0)).toBe(MFS_STATUS_OK);
    expect(ns.snapshot(ROOT, 0, 1, b('snap2'), 0x80, 0)).toBe(MFS_STATUS_OK);
    expect(status(ns.lookup(ROOT, 1, b('snap2')))).toBe(MFS_ERROR_ENOENT);
    expect(ns.chunks.get(1)!.fcount).toBe(1);
  });

  test('truncate: inside a chunk needs a chunk truncate (TRUNC), then LENGTH; open truncate', () => {
    const { ns, lines } = setup();
    const f = ok(ns.create(ROOT, 1, 1, b('f'), 0o644, 0)).inode;
    ok(ns.writeChunk(f, 0, { chunkopflags: 0 }));
    ns.writeChunkEnd(f, 1, 100000, 0);
    const t = ok(ns.tryTruncate(ROOT, f, 0, 1000));
    expect(t).toMatchObject({ action: 'setversion', chunkId: 1, version: 2, indx: 0 });
    expect(status(ns.tryTruncate(ROOT, f, 0, 500))).toBe(MFS_ERROR_LOCKED);
    ns.truncateChunkDone(1);
    const d = ok(ns.doTruncate(ROOT, f, 0, 1000));
    expect(d.prevLength).toBe(100000);
    expect(d.attr.length).toBe(1000);
    expect(ok(ns.truncate(ROOT, f, 0, 0)).attr.length).toBe(0);
    expect(ns.fileChunks(f)).toEqual([]);
    expect(ns.chunks.get(1)!.fcount).toBe(0);
    expect(lines.some((l) => l.endsWith(`|TRUNC(${f},0):1`))).toBe(true);
    expect(status(ns.truncate(U1, f, 0, 10))).toBe(MFS_ERROR_EACCES);
    expect(status(ns.truncate(ROOT, 1, 0, 10))).toBe(MFS_ERROR_EPERM);
  });
});

describe('xattrs (fs_setxattr, xattr.c) and ACLs', () => {
  test('set, get, list, replace, remove', () => {
    const { ns } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    expect(ok(ns.getattr(ROOT, f)).flags & 0x08).toBe(0x08); // MATTR_NOXATTR
    expect(ns.setxattr(ROOT, f, 0, b('user.a'), b('1'), MFS_XATTR_CREATE_OR_REPLACE)).toBe(MFS_STATUS_OK);
    expect(ns.setxattr(ROOT, f, 0, b('user.b'), b('22'), MFS_XATTR_CREATE_ONLY)).toBe(MFS_STATUS_OK);
    expect(ns.setxattr(ROOT, f, 0, b('user.b'), b('x'), MFS_XATTR_CREATE_ONLY)).toBe(MFS_ERROR_EEXIST);
    expect(ns.setxattr(ROOT, f, 0, b('user.c'), b('x'), MFS_XATTR_REPLACE_ONLY)).toBe(MFS_ERROR_ENOATTR);
    expect(ns.setxattr(ROOT, f, 0, b('user.a'), b('333'), MFS_XATTR_REPLACE_ONLY)).toBe(MFS_STATUS_OK);
    expect(ok(ns.getxattr(ROOT, f, 0, b('user.a'))).toString()).toBe('333');
    expect(ok(ns.listxattr(ROOT, f, 0)).map(String)).toEqual(['user.b', 'user.a']);
    expect(ok(ns.getattr(ROOT, f)).flags & 0x08).toBe(0);
    expect(ns.setxattr(U1, f, 0, b('user.x'), b('1'), 0)).toBe(MFS_ERROR_EACCES);
    expect(ns.setxattr(U1, f, 1, b('trusted.x'), b('1'), 0)).toBe(MFS_ERROR_EPERM);
    expect(status(ns.getxattr(U1, f, 0, b('trusted.x')))).toBe(MFS_ERROR_EPERM);
    expect(ns.setxattr(ROOT, f, 0, b('user.b'), b(''), MFS_XATTR_REMOVE)).toBe(MFS_STATUS_OK);
    expect(status(ns.getxattr(ROOT, f, 0, b('user.b')))).toBe(MFS_ERROR_ENOATTR);
  });

  test('access ACL with a named user; default ACL inherited by new files', () => {
    const { ns } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o600, 0, 0)).inode;
    expect(ns.access(U2, f, MODE_MASK_R)).toBe(MFS_ERROR_EACCES);
    const acl = { userperm: 6, groupperm: 0, otherperm: 0, mask: 4, namedusers: [{ id: 1001, perm: 6 }], namedgroups: [] };
    expect(ns.setfacl(ROOT, f, POSIX_ACL_ACCESS, acl)).toBe(MFS_STATUS_OK);
    expect(ns.access(U2, f, MODE_MASK_R)).toBe(MFS_STATUS_OK);
    expect(ns.access(U2, f, MODE_MASK_W)).toBe(MFS_ERROR_EACCES); // masked
    expect(ok(ns.getattr(ROOT, f)).mode).toBe(0o640); // group bits show the mask
    expect(ok(ns.getfacl(ROOT, f, POSIX_ACL_ACCESS)).namedusers).toEqual([{ id: 1001, perm: 6 }]);
    expect(ns.setfacl(U1, f, POSIX_ACL_ACCESS, acl)).toBe(MFS_ERROR_EPERM);
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false)).inode;
    ns.setfacl(ROOT, d, POSIX_ACL_DEFAULT, { userperm: 7, groupperm: 5, otherperm: 0, mask: 7, namedusers: [{ id: 1001, perm: 7 }], namedgroups: [] });
    const g = ok(ns.mknod(ROOT, d, b('g'), TYPE_FILE, 0o666, 0o022, 0)).inode;
    expect(ok(ns.getfacl(ROOT, g, POSIX_ACL_ACCESS)).namedusers).toEqual([{ id: 1001, perm: 7 }]);
    expect(ns.access(U2, g, MODE_MASK_W)).toBe(MFS_STATUS_OK);
    const sub = ok(ns.mkdir(ROOT, d, b('sub'), 0o777, 0, false)).inode;
    expect(status(ns.getfacl(ROOT, sub, POSIX_ACL_DEFAULT))).toBe(MFS_STATUS_OK);
    expect(ns.setfacl(ROOT, f, POSIX_ACL_ACCESS, null)).toBe(MFS_STATUS_OK);
    expect(status(ns.getfacl(ROOT, f, POSIX_ACL_ACCESS))).toBe(MFS_ERROR_ENOATTR);
  });
});

describe('goal, trashtime, eattr (recursive variants)', () => {
  test('counters and not-permitted nodes', () => {
    const { ns } = setup();
    ok(ns.setattr(ROOT, 1, 0, sa({ setmask: SET_MODE_FLAG, mode: 0o777 })));
    const d = ok(ns.mkdir(U1, 1, b('d'), 0o777, 0, false)).inode;
    ok(ns.mknod(U1, d, b('a'), TYPE_FILE, 0o644, 0, 0));
    ok(ns.mknod(U2, d, b('b'), TYPE_FILE, 0o644, 0, 0));
    expect(ok(ns.setsclass(U1, d, 1, 3, SMODE_SET | SMODE_RMASK))).toEqual({ changed: 2, notChanged: 0, notPermitted: 1 });
    expect(ok(ns.setsclass(U1, d, 1, 3, SMODE_SET | SMODE_RMASK))).toEqual({ changed: 0, notChanged: 2, notPermitted: 1 });
    const g = ok(ns.getsclass(ROOT, d, 1));
    expect([...g.files.entries()].sort()).toEqual([[2, 1], [3, 1]]);
    expect([...g.dirs.entries()]).toEqual([[3, 1]]);
    expect(status(ns.setsclass(U2, d, 1, 3, SMODE_SET))).toBe(MFS_ERROR_EPERM);
    expect(ok(ns.settrashtime(ROOT, d, 7200, SMODE_SET | SMODE_RMASK)).changed).toBe(3);
    expect([...ok(ns.gettrashtime(ROOT, d, 1)).files.entries()]).toEqual([[7200, 2]]);
    expect(status(ns.setsclass(ROOT, d, 1, 0, SMODE_SET))).toBe(MFS_ERROR_EINVAL);
    expect(ok(ns.getDirStats(ROOT, d))).toMatchObject({ inodes: 3, dirs: 1, files: 2 });
  });
});

describe('quotas (fs_quotacontrol, fsnodes_test_quota, fsnodes_check_quotanode)', () => {
  test('hard and soft limits, grace period, admin only, removal', () => {
    const { ns, clock, lines } = setup();
    const ADMIN = ctxOf(0, [0], SESFLAG_ADMIN);
    const d = ok(ns.mkdir(ROOT, 1, b('q'), 0o777, 0, false)).inode;
    expect(status(ns.quotacontrol(ROOT, d, false, { flags: 0x10, hinodes: 3 }))).toBe(MFS_ERROR_EPERM);
    expect(status(ns.quotacontrol(ADMIN, 2 + 100, false, { flags: 0x10, hinodes: 3 }))).toBe(MFS_ERROR_ENOENT);
    const r = ok(ns.quotacontrol(ADMIN, d, false, { flags: 0x10 | 0x01, hinodes: 3, sinodes: 1, graceperiod: 100 }));
    expect(r).toMatchObject({ flags: 0x11, hinodes: 3, sinodes: 1, graceperiod: 100, curinodes: 0 });
    const sub = ok(ns.mkdir(ROOT, d, b('sub'), 0o777, 0, false)).inode;
    ok(ns.mknod(U1, sub, b('a'), TYPE_FILE, 0o644, 0, 0));
    ok(ns.mknod(U1, d, b('b'), TYPE_FILE, 0o644, 0, 0));
    expect(status(ns.mknod(U1, sub, b('c'), TYPE_FILE, 0o644, 0, 0))).toBe(34); // MFS_ERROR_QUOTA, from the ancestor
    expect(status(ns.symlink(U1, sub, b('l'), b('x')))).toBe(34);
    // moving inside the quota tree is free; moving in from outside counts
    ok(ns.mknod(ROOT, 1, b('outside'), TYPE_FILE, 0o644, 0, 0));
    expect(status(ns.rename(ROOT, 1, b('outside'), sub, b('in')))).toBe(34);
    ok(ns.rename(ROOT, sub, b('a'), d, b('a')));
    // soft limit: exceeded only after the grace period (periodic check writes QUOTA records)
    ns.periodic();
    expect(lines.at(-1)).toMatch(new RegExp(`\\|QUOTA\\(${d},0,17,${clock.t},1,3,`));
    ok(ns.quotacontrol(ADMIN, d, true, { flags: 0x10 }));
    ok(ns.mknod(U1, sub, b('c'), TYPE_FILE, 0o644, 0, 0));
    clock.t += 101;
    ns.periodic();
    expect(ok(ns.quotacontrol(ROOT, d, false, { flags: 0 }))).toMatchObject({ flags: 0x01, curinodes: 4 });
    expect(status(ns.mknod(U1, sub, b('e'), TYPE_FILE, 0o644, 0, 0))).toBe(34);
    ok(ns.quotacontrol(ADMIN, d, true, { flags: 0x01 }));
    expect(ns.quotaList()).toEqual([]);
    ok(ns.mknod(U1, sub, b('e'), TYPE_FILE, 0o644, 0, 0));
    expect(lines.at(-2)).toMatch(new RegExp(`\\|QUOTA\\(${d},0,0,0,0,0,0,0,0,0,0,0,0\\)$`));
  });

  test('length and size limits on writes and truncate', () => {
    const { ns } = setup();
    const ADMIN = ctxOf(0, [0], SESFLAG_ADMIN);
    const d = ok(ns.mkdir(ROOT, 1, b('q'), 0o777, 0, false)).inode;
    const f = ok(ns.mknod(ROOT, d, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    ok(ns.quotacontrol(ADMIN, d, false, { flags: 0x20 | 0x40, hlength: 1000, hsize: 0x5000000 }));
    expect(status(ns.truncate(ROOT, f, 0, 1001))).toBe(34);
    ok(ns.truncate(ROOT, f, 0, 1000));
    ok(ns.writeChunk(f, 0, { chunkopflags: 0 })); // counted as a whole chunk (64 MiB + header) within 80 MiB
    expect(ns.writeChunkEnd(f, 1, 2000, 0)).toBe(34);
    ns.writeChunkEnd(f, 1, 0, 0);
    expect(status(ns.writeChunk(f, 1, { chunkopflags: 0 }))).toBe(34);
  });

  test('snapshot and storage class changes respect quotas', () => {
    const { ns } = setup();
    const ADMIN = ctxOf(0, [0], SESFLAG_ADMIN);
    const src = ok(ns.mkdir(ROOT, 1, b('src'), 0o777, 0, false)).inode;
    for (const n of ['a', 'b', 'c']) ok(ns.mknod(ROOT, src, b(n), TYPE_FILE, 0o644, 0, 0));
    const q = ok(ns.mkdir(ROOT, 1, b('q'), 0o777, 0, false)).inode;
    ok(ns.quotacontrol(ADMIN, q, false, { flags: 0x10, hinodes: 3 }));
    expect(ns.snapshot(ROOT, src, q, b('snap'), 0, 0)).toBe(34); // 4 new inodes > 3
    ok(ns.quotacontrol(ADMIN, q, false, { flags: 0x10, hinodes: 4 }));
    expect(ns.snapshot(ROOT, src, q, b('snap'), 0, 0)).toBe(MFS_STATUS_OK);
    expect(ns.snapshot(ROOT, src, q, b('snap'), 1, 0)).toBe(MFS_STATUS_OK); // overwrite: nothing new
    const f = ok(ns.lookup(ROOT, ok(ns.lookup(ROOT, q, b('snap'))).inode, b('a'))).inode;
    const w = ok(ns.writeChunk(f, 0, { chunkopflags: 0 }));
    ns.writeChunkEnd(f, w.chunkId, 100, 0);
    const rs = ok(ns.getDirStats(ROOT, q)).realsize;
    ok(ns.quotacontrol(ADMIN, q, false, { flags: 0x80, hrealsize: rs + 10 }));
    expect(status(ns.setsclass(ROOT, q, 1, 5, SMODE_SET | SMODE_RMASK))).toBe(34);
    expect(status(ns.setsclass(ROOT, q, 1, 1, SMODE_SET | SMODE_RMASK))).toBe(MFS_STATUS_OK);
  });
});

describe('repair (fs_repair)', () => {
  test('erases or re-versions chunks as the registry decides; REPAIR replays', () => {
    const { ns, lines } = setup();
    const f = ok(ns.mknod(ROOT, 1, b('f'), TYPE_FILE, 0o644, 0, 0)).inode;
    for (const i of [0, 1, 2]) {
      const w = ok(ns.writeChunk(f, i, { chunkopflags: 0 }));
      ns.writeChunkEnd(f, w.chunkId, (i + 1) * 0x4000000, 0);
    }
    expect(status(ns.repair(U1, f, () => null))).toBe(MFS_ERROR_EACCES);
    const r = ok(ns.repair(ROOT, f, (id) => (id === 1 ? 0 : id === 2 ? 7 : null)));
    expect(r).toEqual({ notChanged: 1, erased: 1, repaired: 1 });
    expect(ns.fileChunks(f)).toEqual([0, 2, 3]);
    expect(ns.chunks.get(2)!.version).toBe(7);
    expect(lines.filter((l) => l.includes('|REPAIR(')).map((l) => l.replace(/^\d+: \d+\|/, ''))).toEqual([`REPAIR(${f},0):0`, `REPAIR(${f},1):7`]);
  });
});
