import { constants as osConstants } from 'node:os';
import * as S from '@mfs-ts/protocol';

/**
 * Client errors. Wire statuses stay MooseFS statuses (numbers) inside the client core; they become
 * Node-style errno codes only here, at the edge (API calls and FUSE replies). The mapping follows
 * mfs_errorconv in mfsclient/mfs_fuse.c: anything not listed there is EINVAL.
 */

export type ErrnoCode =
  | 'EPERM' | 'ENOTDIR' | 'ENOENT' | 'EACCES' | 'EEXIST' | 'EINVAL' | 'ENOTEMPTY' | 'EIO' | 'EROFS'
  | 'EINTR' | 'EAGAIN' | 'ECANCELED' | 'EDQUOT' | 'ENODATA' | 'ENOTSUP' | 'ERANGE' | 'ENOSPC' | 'ENXIO'
  | 'EBADF' | 'EFBIG' | 'EISDIR' | 'ENAMETOOLONG' | 'ENOTCONN';

const STATUS_TO_ERRNO: ReadonlyMap<number, ErrnoCode> = new Map<number, ErrnoCode>([
  [S.MFS_ERROR_EPERM, 'EPERM'],
  [S.MFS_ERROR_ENOTDIR, 'ENOTDIR'],
  [S.MFS_ERROR_ENOENT, 'ENOENT'],
  [S.MFS_ERROR_EACCES, 'EACCES'],
  [S.MFS_ERROR_EEXIST, 'EEXIST'],
  [S.MFS_ERROR_EINVAL, 'EINVAL'],
  [S.MFS_ERROR_ENOTEMPTY, 'ENOTEMPTY'],
  [S.MFS_ERROR_IO, 'EIO'],
  [S.MFS_ERROR_EROFS, 'EROFS'],
  [S.MFS_ERROR_EINTR, 'EINTR'],
  [S.MFS_ERROR_EAGAIN, 'EAGAIN'],
  [S.MFS_ERROR_ECANCELED, 'ECANCELED'],
  [S.MFS_ERROR_QUOTA, 'EDQUOT'],
  // ENOATTR is ENODATA on Linux.
  [S.MFS_ERROR_ENOATTR, 'ENODATA'],
  [S.MFS_ERROR_ENOTSUP, 'ENOTSUP'],
  [S.MFS_ERROR_ERANGE, 'ERANGE'],
  [S.MFS_ERROR_NOSPACE, 'ENOSPC'],
  [S.MFS_ERROR_CHUNKLOST, 'ENXIO'],
  [S.MFS_ERROR_NOCHUNKSERVERS, 'ENOSPC'],
  [S.MFS_ERROR_CSNOTPRESENT, 'ENXIO'],
  [S.MFS_ERROR_NOTOPENED, 'EBADF'],
  [S.MFS_ERROR_INDEXTOOBIG, 'EFBIG'],
  // The master's "do not cache this negative entry" variant of ENOENT (mfs_fuse.c handles it apart).
  [S.MFS_ERROR_ENOENT_NOCACHE, 'ENOENT'],
]);

/** The errno code a MooseFS status becomes at the edge (mfs_errorconv). */
export function statusToErrno(status: number): ErrnoCode {
  return STATUS_TO_ERRNO.get(status) ?? 'EINVAL';
}

/** Negative errno number of a code, as FUSE wants it. */
export function errnoNumber(code: ErrnoCode): number {
  const n = (osConstants.errno as Record<string, number | undefined>)[code];
  return n === undefined ? -osConstants.errno.EIO : -n;
}

const brand = Symbol.for('mfs-ts.MfsClientError');

/**
 * The error every API call rejects with: `code` is a Node errno code (ENOENT, EACCES...), `status`
 * the MooseFS status it came from (if it came from one), `syscall` the API call.
 */
export class MfsClientError extends Error {
  readonly [brand] = true;
  readonly errno: number;
  constructor(
    readonly code: ErrnoCode,
    message: string,
    readonly status?: number,
    readonly syscall?: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'MfsClientError';
    this.errno = errnoNumber(code);
  }
  static is(e: unknown): e is MfsClientError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
  }
}

/** An error carrying a MooseFS status, with the message a MooseFS tool prints for it. */
export function statusError(status: number, syscall?: string, path?: string): MfsClientError {
  const code = statusToErrno(status);
  const where = syscall ? `${syscall}${path !== undefined ? ` '${path}'` : ''}: ` : '';
  return new MfsClientError(code, `${code}: ${where}${S.mfsStrerror(status)}`, status, syscall, path);
}

export function errnoError(code: ErrnoCode, message: string, syscall?: string, path?: string): MfsClientError {
  return new MfsClientError(code, `${code}: ${syscall ? `${syscall}${path !== undefined ? ` '${path}'` : ''}: ` : ''}${message}`, undefined, syscall, path);
}

/** Any thrown value as an errno for FUSE (negative number); unexpected errors are EIO. */
export function toFuseErrno(e: unknown): number {
  if (MfsClientError.is(e)) return e.errno;
  return -osConstants.errno.EIO;
}

/** A status error thrown from the core and converted to MfsClientError at the API edge. */
export class StatusError extends Error {
  constructor(readonly status: number, readonly op: string) {
    // Thrown for every negative lookup (each create starts with one): capturing a stack trace here
    // was a tenth of the mount's JavaScript time under a create workload, and nobody reads it (it
    // becomes an MfsClientError or an errno at the edge).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${op}: ${S.mfsStrerror(status)}`);
    Error.stackTraceLimit = limit;
    this.name = 'StatusError';
  }
}
