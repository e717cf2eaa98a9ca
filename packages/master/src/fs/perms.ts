// Permission checks exactly as mfsmaster/filesystem.c: fsnodes_accessmode, fsnodes_access_ext,
// fsnodes_sticky_access.
import { MODE_TO_ACCMODE, aclAccMode } from './acl.js';
import type { FsNode } from './tree.js';
import { EATTR_NOOWNER, SESFLAG_IGNOREGID } from './types.js';

/** The bit set of allowed access modes (index = rwx mask) for uid/gids on node. */
export function accessMode(node: FsNode, uid: number, gids: readonly number[], sesflags: number): number {
  if (uid === 0) return MODE_TO_ACCMODE[7];
  if (node.aclAccess !== null) return aclAccMode(node.aclAccess, uid, gids, node.uid, node.gid);
  if (uid === node.uid || (node.eattr & EATTR_NOOWNER) !== 0) return MODE_TO_ACCMODE[(node.mode >> 6) & 7]!;
  if (sesflags & SESFLAG_IGNOREGID) return MODE_TO_ACCMODE[((node.mode >> 3) | node.mode) & 7]!;
  for (let i = gids.length - 1; i >= 0; i--) {
    if (gids[i] === node.gid) return MODE_TO_ACCMODE[(node.mode >> 3) & 7]!;
  }
  return MODE_TO_ACCMODE[node.mode & 7]!;
}

export function hasAccess(node: FsNode, uid: number, gids: readonly number[], modemask: number, sesflags: number): boolean {
  return (accessMode(node, uid, gids, sesflags) & (1 << (modemask & 7))) !== 0;
}

export function stickyAccess(parent: FsNode, node: FsNode, uid: number): boolean {
  if (uid === 0 || (parent.mode & 0o1000) === 0) return true;
  return uid === parent.uid || (parent.eattr & EATTR_NOOWNER) !== 0 || uid === node.uid || (node.eattr & EATTR_NOOWNER) !== 0;
}
