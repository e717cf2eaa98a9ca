// POSIX ACLs as the MooseFS master keeps them (mfsmaster/posixacl.c): user/group/other/mask perms
// (0xFFFF = entry absent) plus named users and named groups; on the wire and in SETACL records the
// named entries are a blob of `id:32 perm:16` per entry, users first.
import type { AclEntry, PosixAcl } from './types.js';

/** MODE_TO_ACCMODE (MFSCommunication.h): rwx bits -> bit set of the modes they allow. */
export const MODE_TO_ACCMODE = [0x01, 0x03, 0x05, 0x0f, 0x11, 0x33, 0x55, 0xff] as const;

export function cloneAcl(a: PosixAcl): PosixAcl {
  return {
    userperm: a.userperm,
    groupperm: a.groupperm,
    otherperm: a.otherperm,
    mask: a.mask,
    namedusers: a.namedusers.map((e) => ({ ...e })),
    namedgroups: a.namedgroups.map((e) => ({ ...e })),
  };
}

/** posix_acl_getmode: the mode bits an access ACL stands for (mask in the group position). */
export function aclGetMode(a: PosixAcl): number {
  return ((a.userperm & 7) << 6) | ((a.mask & 7) << 3) | (a.otherperm & 7);
}

/** posix_acl_setmode: chmod on a node with an access ACL changes user, mask and other. */
export function aclSetMode(a: PosixAcl, mode: number): void {
  a.userperm = (a.userperm & 0xfff8) | ((mode >> 6) & 7);
  a.mask = (a.mask & 0xfff8) | ((mode >> 3) & 7);
  a.otherperm = (a.otherperm & 0xfff8) | (mode & 7);
}

/** posix_acl_accmode. */
export function aclAccMode(a: PosixAcl | undefined, uid: number, gids: readonly number[], fuid: number, fgid: number): number {
  if (uid === 0) return MODE_TO_ACCMODE[7];
  if (a === undefined) return MODE_TO_ACCMODE[0];
  if (uid === fuid) return MODE_TO_ACCMODE[a.userperm & 7]!;
  for (const e of a.namedusers) {
    if (e.id === uid) return MODE_TO_ACCMODE[e.perm & a.mask & 7]!;
  }
  let found = false;
  let m = 0;
  for (const g of gids) {
    if (g === fgid) {
      m |= MODE_TO_ACCMODE[a.groupperm & a.mask & 7]!;
      found = true;
    }
  }
  for (const e of a.namedgroups) {
    for (const g of gids) {
      if (g === e.id) {
        m |= MODE_TO_ACCMODE[e.perm & a.mask & 7]!;
        found = true;
      }
    }
  }
  if (found) return m;
  return MODE_TO_ACCMODE[a.otherperm & 7]!;
}

/** Blob of named entries: `id:32 perm:16` each, users then groups. */
export function aclBlob(a: PosixAcl): Buffer {
  const entries = [...a.namedusers, ...a.namedgroups];
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach((e, i) => {
    b.writeUInt32BE(e.id >>> 0, i * 6);
    b.writeUInt16BE(e.perm & 0xffff, i * 6 + 4);
  });
  return b;
}

export function aclFromBlob(
  userperm: number,
  groupperm: number,
  otherperm: number,
  mask: number,
  namedusers: number,
  namedgroups: number,
  blob: Buffer,
): PosixAcl | undefined {
  if (blob.length !== (namedusers + namedgroups) * 6) return undefined;
  const read = (i: number): AclEntry => ({ id: blob.readUInt32BE(i * 6), perm: blob.readUInt16BE(i * 6 + 4) });
  const users: AclEntry[] = [];
  const groups: AclEntry[] = [];
  for (let i = 0; i < namedusers; i++) users.push(read(i));
  for (let i = 0; i < namedgroups; i++) groups.push(read(namedusers + i));
  return { userperm, groupperm, otherperm, mask, namedusers: users, namedgroups: groups };
}

/**
 * posix_acl_copydefaults: a new node under a directory with a default ACL. Returns the new mode and
 * the ACLs the node gets (access: when the default is not a "simple" one; default: directories).
 */
export function aclCopyDefaults(
  def: PosixAcl,
  mode: number,
  isDir: boolean,
): { mode: number; access?: PosixAcl; default?: PosixAcl } {
  const named = def.namedusers.length + def.namedgroups.length;
  const out: { mode: number; access?: PosixAcl; default?: PosixAcl } = { mode };
  if (named === 0 && def.userperm <= 7 && def.groupperm <= 7 && def.otherperm <= 7 && def.mask === 0xffff) {
    out.mode = mode & (0xfe00 | (def.userperm << 6) | (def.groupperm << 3) | def.otherperm);
  } else {
    // A fresh access ACL starts all-zero (posix_acl_create), then takes the mode bits masked by the default.
    const userperm = ((mode >> 6) & 7) & def.userperm;
    const otherperm = (mode & 7) & def.otherperm;
    const mask = ((mode >> 3) & 7) & def.mask;
    const access: PosixAcl = {
      userperm,
      groupperm: def.groupperm,
      otherperm,
      mask,
      namedusers: def.namedusers.map((e) => ({ ...e })),
      namedgroups: def.namedgroups.map((e) => ({ ...e })),
    };
    out.access = access;
    out.mode = (mode & 0xfe00) | ((userperm & 7) << 6) | ((access.groupperm & 7) << 3) | (otherperm & 7);
  }
  if (isDir) out.default = cloneAcl(def);
  return out;
}
