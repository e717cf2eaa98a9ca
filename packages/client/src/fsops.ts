import {
  GETDIR_FLAG_WITHATTR,
  MFS_XATTR_GETA_DATA,
  SMODE_SET,
} from '@mfs-ts/protocol';
import {
  CltomaFuseCreate,
  CltomaFuseGetattr,
  CltomaFuseGetsclass,
  CltomaFuseGettrashtime,
  CltomaFuseGetxattr,
  CltomaFuseLink,
  CltomaFuseLookup,
  CltomaFuseMkdir,
  CltomaFuseMknod,
  CltomaFuseOpen,
  CltomaFuseReadChunk,
  CltomaFuseReaddir,
  CltomaFuseReadlink,
  CltomaFuseRename,
  CltomaFuseRmdir,
  CltomaFuseSetattr,
  CltomaFuseSetsclass,
  CltomaFuseSettrashtime,
  CltomaFuseSetxattr,
  CltomaFuseStatfs,
  CltomaFuseSymlink,
  CltomaFuseTruncate,
  CltomaFuseUnlink,
  CltomaFuseWriteChunk,
  CltomaFuseWriteChunkEnd,
  MatoclFuseCreate,
  MatoclFuseGetattr,
  MatoclFuseGetsclass,
  MatoclFuseGettrashtime,
  MatoclFuseGetxattr,
  MatoclFuseLink,
  MatoclFuseLookup,
  MatoclFuseMkdir,
  MatoclFuseMknod,
  MatoclFuseOpen,
  MatoclFuseReadChunk,
  MatoclFuseReaddir,
  MatoclFuseReadlink,
  MatoclFuseRename,
  MatoclFuseRmdir,
  MatoclFuseSetattr,
  MatoclFuseSetsclass,
  MatoclFuseSettrashtime,
  MatoclFuseSetxattr,
  MatoclFuseStatfs,
  MatoclFuseSymlink,
  MatoclFuseTruncate,
  MatoclFuseUnlink,
  MatoclFuseWriteChunk,
  MatoclFuseWriteChunkEnd,
  MFS_ERROR_IO,
  MFS_STATUS_OK,
  type Attr,
  type MessageDef,
} from './proto.js';
import { StatusError } from './errors.js';
import type { MasterConn } from './mastercomm.js';

/**
 * The master's namespace and chunk operations (the fs_* calls of mfsclient/mastercomm.c), with
 * statuses thrown as StatusError (turned into errno codes at the API / FUSE edge). Credentials are
 * one uid and a group list; the 3.0.117 mount sends the group-list form of every request.
 */

export interface Creds {
  uid: number;
  gids: number[];
}

export const ROOT_CREDS: Creds = Object.freeze({ uid: 0, gids: [0] }) as Creds;

export interface ChunkLocation {
  ip: number;
  port: number;
  csver: number;
  labelmask: number;
}

export interface ChunkInfo {
  /** File length the master knows. */
  length: number;
  chunkid: number;
  version: number;
  servers: ChunkLocation[];
}

export interface DirEntry {
  name: Buffer;
  inode: number;
  attr: Attr;
}

export interface StatFs {
  totalspace: bigint;
  availspace: bigint;
  freespace: bigint;
  trashspace: bigint;
  sustainedspace: bigint;
  inodes: number;
}

// setattr masks (MFSCommunication.h SET_*_FLAG)
export {
  SET_WINATTR_FLAG,
  SET_MODE_FLAG,
  SET_UID_FLAG,
  SET_GID_FLAG,
  SET_MTIME_NOW_FLAG,
  SET_MTIME_FLAG,
  SET_ATIME_FLAG,
  SET_ATIME_NOW_FLAG,
  TRUNCATE_FLAG_OPENED,
  TRUNCATE_FLAG_UPDATE,
  TRUNCATE_FLAG_TIMEFIX,
  OPEN_READ,
  OPEN_WRITE,
  OPEN_AFTER_CREATE,
  OPEN_TRUNCATE,
  CHUNKOPFLAG_CANMODTIME,
  CHUNKOPFLAG_CONTINUEOP,
  CHUNKOPFLAG_CANUSERESERVESPACE,
  MFS_XATTR_CREATE_OR_REPLACE,
  MFS_XATTR_CREATE_ONLY,
  MFS_XATTR_REPLACE_ONLY,
  MFS_XATTR_REMOVE,
  MFS_XATTR_GETA_DATA,
  SMODE_SET,
  SMODE_RMASK,
} from '@mfs-ts/protocol';
// truncate flags
// open flags (OPEN_*)
// chunk op flags
// xattr modes

type Decoded<D> = D extends MessageDef<infer T> ? T : never;
type Ok<T> = T extends { $v: 'status' } ? never : T;

/** Decodes a reply; a status reply (non-zero) throws StatusError, a malformed one EIO. */
function reply<D extends MessageDef<any>>(def: D, payload: Buffer, op: string): Ok<Decoded<D>> {
  const r = def.decode(payload);
  if (!r.ok) throw new StatusError(MFS_ERROR_IO, `${op}: malformed answer (${r.error.message})`);
  const v = r.value as { $v?: string; status?: number };
  if (v.$v === 'status') throw new StatusError(v.status === MFS_STATUS_OK ? MFS_ERROR_IO : v.status!, op);
  return r.value as Ok<Decoded<D>>;
}

function statusOnly(def: MessageDef<{ msgid: number; status: number }>, payload: Buffer, op: string): void {
  const r = def.decode(payload);
  if (!r.ok) throw new StatusError(MFS_ERROR_IO, `${op}: malformed answer`);
  if (r.value.status !== MFS_STATUS_OK) throw new StatusError(r.value.status, op);
}

export class FsOps {
  constructor(readonly m: MasterConn) {}

  async statfs(): Promise<StatFs> {
    const p = await this.m.call((msgid) => CltomaFuseStatfs.encode({ msgid }), MatoclFuseStatfs.id);
    const r = MatoclFuseStatfs.decode(p);
    if (!r.ok) throw new StatusError(MFS_ERROR_IO, 'statfs');
    const v = r.value;
    return {
      totalspace: v.totalspace,
      availspace: v.availspace,
      freespace: v.$v === 'full' ? v.freespace : v.availspace,
      trashspace: v.trashspace,
      sustainedspace: v.sustainedspace,
      inodes: v.inodes,
    };
  }

  async lookup(parent: number, name: Buffer, c: Creds): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call((msgid) => CltomaFuseLookup.encode({ $v: 'groups', msgid, inode: parent, name, uid: c.uid, gids: c.gids }), MatoclFuseLookup.id);
    const v = reply(MatoclFuseLookup, p, 'lookup');
    return { inode: v.inode, attr: v.attr };
  }

  async getattr(inode: number, c: Creds, opened = 0): Promise<Attr> {
    const p = await this.m.call((msgid) => CltomaFuseGetattr.encode({ $v: 'full', msgid, inode, opened, uid: c.uid, gid: c.gids[0] ?? 0 }), MatoclFuseGetattr.id);
    return reply(MatoclFuseGetattr, p, 'getattr').attr;
  }

  async setattr(
    inode: number,
    c: Creds,
    a: { setmask: number; mode?: number; uid?: number; gid?: number; atime?: number; mtime?: number; opened?: number },
  ): Promise<Attr> {
    const p = await this.m.call(
      (msgid) =>
        CltomaFuseSetattr.encode({
          msgid, inode, opened: a.opened ?? 0, uid: c.uid, gids: c.gids, setmask: a.setmask, attrmode: a.mode ?? 0,
          attruid: a.uid ?? 0, attrgid: a.gid ?? 0, attratime: a.atime ?? 0, attrmtime: a.mtime ?? 0, winattr: 0,
          sugidclearmode: 0,
        }),
      MatoclFuseSetattr.id,
    );
    return reply(MatoclFuseSetattr, p, 'setattr').attr;
  }

  async truncate(inode: number, length: number, c: Creds, flags = 0): Promise<{ prevlength: number; attr: Attr }> {
    const p = await this.m.call((msgid) => CltomaFuseTruncate.encode({ $v: 'groups', msgid, inode, flags, uid: c.uid, gids: c.gids, length }), MatoclFuseTruncate.id);
    const v = reply(MatoclFuseTruncate, p, 'truncate');
    return { prevlength: v.prevlength, attr: v.attr };
  }

  async readlink(inode: number): Promise<Buffer> {
    const p = await this.m.call((msgid) => CltomaFuseReadlink.encode({ msgid, inode }), MatoclFuseReadlink.id);
    return reply(MatoclFuseReadlink, p, 'readlink').path;
  }

  async symlink(parent: number, name: Buffer, target: Buffer, c: Creds): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call((msgid) => CltomaFuseSymlink.encode({ $v: 'groups', msgid, inode: parent, name, path: target, uid: c.uid, gids: c.gids }), MatoclFuseSymlink.id);
    const v = reply(MatoclFuseSymlink, p, 'symlink');
    return { inode: v.inode, attr: v.attr };
  }

  async mknod(parent: number, name: Buffer, type: number, mode: number, umask: number, c: Creds, rdev = 0): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call(
      (msgid) => CltomaFuseMknod.encode({ $v: 'groups', msgid, inode: parent, name, type, mode, umask, uid: c.uid, gids: c.gids, rdev }),
      MatoclFuseMknod.id,
    );
    const v = reply(MatoclFuseMknod, p, 'mknod');
    return { inode: v.inode, attr: v.attr };
  }

  async mkdir(parent: number, name: Buffer, mode: number, umask: number, c: Creds): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call(
      (msgid) => CltomaFuseMkdir.encode({ $v: 'groups', msgid, inode: parent, name, mode, umask, uid: c.uid, gids: c.gids, copysgid: 0 }),
      MatoclFuseMkdir.id,
    );
    const v = reply(MatoclFuseMkdir, p, 'mkdir');
    return { inode: v.inode, attr: v.attr };
  }

  async unlink(parent: number, name: Buffer, c: Creds): Promise<void> {
    const p = await this.m.call((msgid) => CltomaFuseUnlink.encode({ $v: 'groups', msgid, inode: parent, name, uid: c.uid, gids: c.gids }), MatoclFuseUnlink.id);
    reply(MatoclFuseUnlink, p, 'unlink');
  }

  async rmdir(parent: number, name: Buffer, c: Creds): Promise<void> {
    const p = await this.m.call((msgid) => CltomaFuseRmdir.encode({ $v: 'groups', msgid, inode: parent, name, uid: c.uid, gids: c.gids }), MatoclFuseRmdir.id);
    reply(MatoclFuseRmdir, p, 'rmdir');
  }

  async rename(psrc: number, nsrc: Buffer, pdst: number, ndst: Buffer, c: Creds): Promise<void> {
    const p = await this.m.call(
      (msgid) => CltomaFuseRename.encode({ $v: 'groups', msgid, inodeSrc: psrc, nameSrc: nsrc, inodeDst: pdst, nameDst: ndst, uid: c.uid, gids: c.gids }),
      MatoclFuseRename.id,
    );
    reply(MatoclFuseRename, p, 'rename');
  }

  async link(inode: number, pdst: number, ndst: Buffer, c: Creds): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call((msgid) => CltomaFuseLink.encode({ $v: 'groups', msgid, inode, inodeDst: pdst, nameDst: ndst, uid: c.uid, gids: c.gids }), MatoclFuseLink.id);
    const v = reply(MatoclFuseLink, p, 'link');
    return { inode: v.inode, attr: v.attr };
  }

  /**
   * All entries of a directory with attributes, "." and ".." included, in one request as mfsmount
   * does (maxentries 0xFFFFFFFF, nedgeid 0): a 3.0.117 master echoes the request's nedgeid instead of
   * the next one (matoclserv_fuse_readdir), so paging by the reply's nedgeid would loop or lose entries.
   */
  async readdir(inode: number, c: Creds): Promise<DirEntry[]> {
    const p = await this.m.call(
      (msgid) => CltomaFuseReaddir.encode({ $v: 'groups', msgid, inode, uid: c.uid, gids: c.gids, flags: GETDIR_FLAG_WITHATTR, maxentries: 0xffffffff, nedgeid: 0n }),
      MatoclFuseReaddir.id,
    );
    const v = reply(MatoclFuseReaddir, p, 'readdir');
    if (v.$v !== 'withAttr') throw new StatusError(MFS_ERROR_IO, 'readdir: entries without attributes');
    return v.entries.map((e) => ({ name: Buffer.from(e.name), inode: e.inode, attr: e.attr }));
  }

  async create(parent: number, name: Buffer, mode: number, umask: number, c: Creds): Promise<{ inode: number; attr: Attr }> {
    const p = await this.m.call((msgid) => CltomaFuseCreate.encode({ $v: 'groups', msgid, inode: parent, name, mode, umask, uid: c.uid, gids: c.gids }), MatoclFuseCreate.id);
    const v = reply(MatoclFuseCreate, p, 'create');
    return { inode: v.inode, attr: v.attr };
  }

  async open(inode: number, flags: number, c: Creds): Promise<Attr> {
    const p = await this.m.call((msgid) => CltomaFuseOpen.encode({ $v: 'groups', msgid, inode, uid: c.uid, gids: c.gids, flags }), MatoclFuseOpen.id);
    return reply(MatoclFuseOpen, p, 'open').attr;
  }

  async readChunk(inode: number, indx: number, flags = 0): Promise<ChunkInfo> {
    const p = await this.m.call((msgid) => CltomaFuseReadChunk.encode({ $v: 'full', msgid, inode, indx, chunkopflags: flags }), MatoclFuseReadChunk.id);
    const v = reply(MatoclFuseReadChunk, p, 'read_chunk');
    return chunkInfo(v);
  }

  async writeChunk(inode: number, indx: number, flags = 0): Promise<ChunkInfo> {
    // The master answers when the chunk is ready on its chunkservers; a locked chunk can take a while.
    const p = await this.m.call((msgid) => CltomaFuseWriteChunk.encode({ $v: 'full', msgid, inode, indx, chunkopflags: flags }), MatoclFuseWriteChunk.id);
    const v = reply(MatoclFuseWriteChunk, p, 'write_chunk');
    return chunkInfo(v);
  }

  async writeChunkEnd(chunkid: number, inode: number, indx: number, length: number, flags = 0): Promise<void> {
    const p = await this.m.call(
      (msgid) => CltomaFuseWriteChunkEnd.encode({ $v: 'full', msgid, chunkid, inode, indx, length, chunkopflags: flags }),
      MatoclFuseWriteChunkEnd.id,
    );
    statusOnly(MatoclFuseWriteChunkEnd, p, 'write_chunk_end');
  }

  /** name empty = list (the value is then NUL-separated names). */
  async getxattr(inode: number, name: Buffer, c: Creds, opened = 0): Promise<Buffer> {
    const p = await this.m.call(
      (msgid) => CltomaFuseGetxattr.encode({ $v: 'groups', msgid, inode, name, mode: MFS_XATTR_GETA_DATA, opened, uid: c.uid, gids: c.gids }),
      MatoclFuseGetxattr.id,
    );
    return reply(MatoclFuseGetxattr, p, 'getxattr').value;
  }

  async setxattr(inode: number, name: Buffer, value: Buffer, mode: number, c: Creds, opened = 0): Promise<void> {
    const p = await this.m.call(
      (msgid) => CltomaFuseSetxattr.encode({ $v: 'groups', msgid, inode, name, value, mode, opened, uid: c.uid, gids: c.gids }),
      MatoclFuseSetxattr.id,
    );
    statusOnly(MatoclFuseSetxattr, p, 'setxattr');
  }

  /** Simple goal (1..9) of one inode; a named storage class is reported by name. */
  async getgoal(inode: number): Promise<number | string> {
    const p = await this.m.call((msgid) => CltomaFuseGetsclass.encode({ msgid, inode, gmode: 0 }), MatoclFuseGetsclass.id);
    const v = reply(MatoclFuseGetsclass, p, 'getgoal');
    const rec = v.nodes[0]?.[0] ?? v.nodes[1]?.[0];
    if (!rec) throw new StatusError(MFS_ERROR_IO, 'getgoal: empty answer');
    return rec.tag === 255 ? Buffer.from(rec.name as Buffer).toString('utf8') : rec.tag;
  }

  async setgoal(inode: number, goal: number, uid: number): Promise<void> {
    const p = await this.m.call((msgid) => CltomaFuseSetsclass.encode({ $v: 'goal', msgid, inode, uid, setid: goal, smode: SMODE_SET }), MatoclFuseSetsclass.id);
    const v = reply(MatoclFuseSetsclass, p, 'setgoal');
    if (v.notpermitted > 0) throw new StatusError(1, 'setgoal');
  }

  async gettrashtime(inode: number): Promise<number> {
    const p = await this.m.call((msgid) => CltomaFuseGettrashtime.encode({ msgid, inode, gmode: 0 }), MatoclFuseGettrashtime.id);
    const v = reply(MatoclFuseGettrashtime, p, 'gettrashtime');
    const rec = v.nodes[0]?.[0] ?? v.nodes[1]?.[0];
    if (!rec) throw new StatusError(MFS_ERROR_IO, 'gettrashtime: empty answer');
    return rec.trashtime;
  }

  async settrashtime(inode: number, trashtime: number, uid: number): Promise<void> {
    const p = await this.m.call((msgid) => CltomaFuseSettrashtime.encode({ msgid, inode, uid, trashtime, smode: SMODE_SET }), MatoclFuseSettrashtime.id);
    const v = reply(MatoclFuseSettrashtime, p, 'settrashtime');
    if (v.notpermitted > 0) throw new StatusError(1, 'settrashtime');
  }
}

function chunkInfo(v: { length: number; chunkid: number; version: number; servers: Array<{ ip: number; port: number; csver: number; labelmask?: number }> }): ChunkInfo {
  return {
    length: v.length,
    chunkid: v.chunkid,
    version: v.version,
    servers: v.servers.map((s) => ({ ip: s.ip, port: s.port, csver: s.csver, labelmask: s.labelmask ?? 0 })),
  };
}
