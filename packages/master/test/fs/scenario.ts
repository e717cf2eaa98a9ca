// A scenario that produces every namespace record type (shared by the replay and metadata tests).
import { MFS_STATUS_OK } from '@mfs-ts/protocol';
import { expect } from 'vitest';
import {
  CHUNKOPFLAG_CANMODTIME,
  EATTR_NOECACHE,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_REMOVE,
  Namespace,
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  SESFLAG_ADMIN,
  SET_ATIME_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  SMODE_RMASK,
  SMODE_SET,
  SNAPSHOT_MODE_CAN_OVERWRITE,
  SNAPSHOT_MODE_PRESERVE_HARDLINKS,
  TYPE_FILE,
  TYPE_FIFO,
} from '../../src/fs/index.js';
import { b, ctxOf, META, ok, ROOT } from './helpers.js';

const U1 = ctxOf(1000, [1000]);

export function scenario(ns: Namespace, clock: { t: number }): void {
  const tick = (s = 1) => (clock.t += s);
  const d = ok(ns.mkdir(ROOT, 1, b('dir, with (odd) %name'), 0o777, 0o022, false)).inode;
  ok(ns.setattr(ROOT, d, 0, { setmask: SET_MODE_FLAG, mode: 0o2777, uid: 0, gid: 0, atime: 0, mtime: 0, winattr: 0, sugidclearmode: 0 }));
  const sub = ok(ns.mkdir(U1, d, b('sub'), 0o755, 0o022, true)).inode;
  tick();
  const f = ok(ns.create(U1, 5, d, b('f\n1'), 0o644, 0o022)).inode;
  ok(ns.mknod(ROOT, sub, b('fifo'), TYPE_FIFO, 0o600, 0, 0));
  ok(ns.symlink(U1, d, b('link'), b('../target with spaces,()')));
  ok(ns.link(ROOT, f, sub, b('hard')));
  tick();
  // chunks: create, continue, end, second chunk, rollback, truncate inside a chunk
  ok(ns.writeChunk(f, 0, { chunkopflags: CHUNKOPFLAG_CANMODTIME }));
  ns.writeChunkEnd(f, 1, 70000, CHUNKOPFLAG_CANMODTIME);
  ok(ns.writeChunk(f, 1, { chunkopflags: 0 }));
  ns.writeChunkEnd(f, 2, 0x4000000 + 5, 0);
  tick(200);
  const w = ok(ns.writeChunk(f, 1, { chunkopflags: 0 }));
  ns.rollback(f, 1, 2, w.chunkId);
  const t = ok(ns.tryTruncate(ROOT, f, 0, 1000));
  ns.truncateChunkDone(t!.chunkId);
  ok(ns.doTruncate(ROOT, f, 0, 1000));
  // readlink / readdir atime (ACCESS), amtime, attrs
  tick(100000);
  ok(ns.readlink(ROOT, ok(ns.lookup(ROOT, d, b('link'))).inode));
  ok(ns.readdir(ROOT, d, 1, 100, 0n));
  ns.amtimeUpdate(ROOT, [{ inode: f, atime: clock.t + 5, mtime: clock.t + 6 }]);
  ok(ns.setattr(ROOT, f, 0, { setmask: SET_UID_FLAG | SET_ATIME_FLAG, mode: 0, uid: 1001, gid: 0, atime: 12345, mtime: 0, winattr: 0, sugidclearmode: 1 }));
  // xattrs, ACLs
  ns.setxattr(ROOT, f, 0, b('user.k,1'), Buffer.from([0, 1, 2, 0x25, 0x28, 255]), MFS_XATTR_CREATE_OR_REPLACE);
  ns.setxattr(ROOT, f, 0, b('user.k2'), b('v'), MFS_XATTR_CREATE_OR_REPLACE);
  ns.setxattr(ROOT, f, 0, b('user.k2'), b(''), MFS_XATTR_REMOVE);
  ns.setfacl(ROOT, f, POSIX_ACL_ACCESS, { userperm: 7, groupperm: 4, otherperm: 0, mask: 6, namedusers: [{ id: 1000, perm: 6 }], namedgroups: [{ id: 44, perm: 4 }] });
  ok(ns.setattr(ROOT, f, 0, { setmask: SET_MODE_FLAG, mode: 0o750, uid: 0, gid: 0, atime: 0, mtime: 0, winattr: 0, sugidclearmode: 0 }));
  ns.setfacl(ROOT, sub, POSIX_ACL_DEFAULT, { userperm: 7, groupperm: 5, otherperm: 5, mask: 7, namedusers: [{ id: 7, perm: 5 }], namedgroups: [] });
  ok(ns.mknod(ROOT, sub, b('inherits'), TYPE_FILE, 0o666, 0o022, 0));
  // goal, trashtime, eattr
  ok(ns.setsclass(ROOT, d, 1, 4, SMODE_SET | SMODE_RMASK));
  ok(ns.settrashtime(ROOT, sub, 0, SMODE_SET | SMODE_RMASK));
  ok(ns.settrashtime(ROOT, f, 3600, SMODE_SET));
  ok(ns.seteattr(ctxOf(0, [0], SESFLAG_ADMIN), d, EATTR_NOECACHE, SMODE_SET));
  // snapshot (shares chunks), overwrite, hardlink preservation
  tick();
  ns.snapshot(ROOT, d, 1, b('snap'), SNAPSHOT_MODE_PRESERVE_HARDLINKS, 0o022);
  ns.snapshot(ROOT, d, 1, b('snap'), SNAPSHOT_MODE_CAN_OVERWRITE, 0o022);
  // trash, undel, setpath, purge, sustained, expiry, inode reuse
  ok(ns.unlink(ROOT, d, b('f\n1')));
  ok(ns.unlink(ROOT, sub, b('hard')));
  expect(ns.undel(META, f)).toBe(MFS_STATUS_OK); // back as sub/hard (the path of the last link)
  ok(ns.unlink(ROOT, sub, b('hard')));
  expect(ns.setTrashPath(META, f, b('elsewhere/f'))).toBe(MFS_STATUS_OK);
  expect(ns.undel(META, f)).toBe(MFS_STATUS_OK);
  const g = ok(ns.create(ROOT, 6, sub, b('open-unlinked'), 0o644, 0)).inode;
  ok(ns.unlink(ROOT, sub, b('open-unlinked'))); // trashtime 0 in sub -> sustained
  ns.release(6, g);
  ok(ns.unlink(ROOT, ok(ns.lookup(ROOT, 1, b('elsewhere'))).inode, b('f')));
  expect(ns.purge(META, f)).toBe(MFS_STATUS_OK);
  ok(ns.rename(ROOT, d, b('sub'), 1, b('moved')));
  const x = ok(ns.mknod(ROOT, 1, b('x'), TYPE_FILE, 0o644, 0, 0)).inode;
  ok(ns.unlink(ROOT, 1, b('x')));
  tick(25 * 3600);
  ns.emptyAllTrash();
  tick(400);
  ns.periodic();
  ns.syncOpenFiles(5, []);
  ok(ns.mknod(ROOT, 1, b('reuses-inode'), TYPE_FILE, 0o644, 0, 0));
  // appending chunks (mfsappendchunks): whole file, then a negative-index slice
  const ap = ok(ns.mknod(ROOT, 1, b('append-dst'), TYPE_FILE, 0o644, 0, 0)).inode;
  const as = ok(ns.mknod(ROOT, 1, b('append-src'), TYPE_FILE, 0o644, 0, 0)).inode;
  for (const i of [0, 2]) {
    const w = ok(ns.writeChunk(as, i, { chunkopflags: 0 }));
    ns.writeChunkEnd(as, w.chunkId, i * 0x4000000 + 777, 0);
  }
  ok(ns.writeChunk(ap, 0, { chunkopflags: 0 }));
  ns.writeChunkEnd(ap, ns.fileChunks(ap)[0]!, 10, 0);
  expect(ok(ns.appendSlice(ROOT, 0, ap, as, 0, 3))).toBe(0x4000000 + 2 * 0x4000000 + 777);
  expect(ok(ns.appendSlice(ROOT, 1 | 2, ap, as, 1, 0))).toBe(4 * 0x4000000 + 777);
  // mfsfilerepair: a chunk is erased. (A REPAIR that sets a version is tested in ops.test.ts only: the
  // real restore counts such a record twice -- chunk_mr_set_version and fs_mr_repair both call
  // meta_version_inc -- and then stops with "version mismatch" on the next record.)
  const chunksOfSrc = ns.fileChunks(as).filter((c) => c > 0);
  ok(ns.repair(ROOT, as, (id) => (id === chunksOfSrc[1] ? 0 : null)));
  // quotas: a hard inode limit, then a soft length limit that runs out of grace
  const ADMIN = ctxOf(0, [0], SESFLAG_ADMIN);
  const q = ok(ns.mkdir(ROOT, 1, b('quota'), 0o777, 0, false)).inode;
  ok(ns.quotacontrol(ADMIN, q, false, { flags: 0x10 | 0x02, hinodes: 2, slength: 10, graceperiod: 60 }));
  ok(ns.mknod(ROOT, q, b('q1'), TYPE_FILE, 0o644, 0, 0));
  ok(ns.mknod(ROOT, q, b('q2'), TYPE_FILE, 0o644, 0, 0));
  expect(ns.mknod(ROOT, q, b('q3'), TYPE_FILE, 0o644, 0, 0)).toEqual({ ok: false, status: 34 }); // MFS_ERROR_QUOTA
  ok(ns.truncate(ROOT, ok(ns.lookup(ROOT, q, b('q1'))).inode, 0, 20));
  ns.periodic();
  tick(61);
  ns.periodic();
  expect(ns.truncate(ROOT, ok(ns.lookup(ROOT, q, b('q2'))).inode, 0, 5)).toEqual({ ok: false, status: 34 });
  ok(ns.quotacontrol(ADMIN, q, true, { flags: 0x10 }));
  ok(ns.truncate(ROOT, ok(ns.lookup(ROOT, q, b('q1'))).inode, 0, 0));
  ns.periodic();
  const q2 = ok(ns.mkdir(ROOT, 1, b('quota2'), 0o777, 0, false)).inode;
  ok(ns.quotacontrol(ADMIN, q2, false, { flags: 0x20, hlength: 100 }));
  ok(ns.quotacontrol(ADMIN, q2, true, { flags: 0x20 }));
  void x;
}

