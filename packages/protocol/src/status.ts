// MooseFS status codes (the status:8 byte of replies) and their messages.
// Facts from mfscommon/MFSCommunication.h and mfscommon/mfsstrerr.h of 3.0.117.

export const MFS_STATUS_OK = 0;
export const MFS_ERROR_EPERM = 1;
export const MFS_ERROR_ENOTDIR = 2;
export const MFS_ERROR_ENOENT = 3;
export const MFS_ERROR_EACCES = 4;
export const MFS_ERROR_EEXIST = 5;
export const MFS_ERROR_EINVAL = 6;
export const MFS_ERROR_ENOTEMPTY = 7;
export const MFS_ERROR_CHUNKLOST = 8;
export const MFS_ERROR_OUTOFMEMORY = 9;
export const MFS_ERROR_INDEXTOOBIG = 10;
export const MFS_ERROR_LOCKED = 11;
export const MFS_ERROR_NOCHUNKSERVERS = 12;
export const MFS_ERROR_NOCHUNK = 13;
export const MFS_ERROR_CHUNKBUSY = 14;
export const MFS_ERROR_REGISTER = 15;
export const MFS_ERROR_NOTDONE = 16;
export const MFS_ERROR_NOTOPENED = 17;
export const MFS_ERROR_NOTSTARTED = 18;
export const MFS_ERROR_WRONGVERSION = 19;
export const MFS_ERROR_CHUNKEXIST = 20;
export const MFS_ERROR_NOSPACE = 21;
export const MFS_ERROR_IO = 22;
export const MFS_ERROR_BNUMTOOBIG = 23;
export const MFS_ERROR_WRONGSIZE = 24;
export const MFS_ERROR_WRONGOFFSET = 25;
export const MFS_ERROR_CANTCONNECT = 26;
export const MFS_ERROR_WRONGCHUNKID = 27;
export const MFS_ERROR_DISCONNECTED = 28;
export const MFS_ERROR_CRC = 29;
export const MFS_ERROR_DELAYED = 30;
export const MFS_ERROR_CANTCREATEPATH = 31;
export const MFS_ERROR_MISMATCH = 32;
export const MFS_ERROR_EROFS = 33;
export const MFS_ERROR_QUOTA = 34;
export const MFS_ERROR_BADSESSIONID = 35;
export const MFS_ERROR_NOPASSWORD = 36;
export const MFS_ERROR_BADPASSWORD = 37;
export const MFS_ERROR_ENOATTR = 38;
export const MFS_ERROR_ENOTSUP = 39;
export const MFS_ERROR_ERANGE = 40;
export const MFS_ERROR_NOTFOUND = 41;
export const MFS_ERROR_ACTIVE = 42;
export const MFS_ERROR_CSNOTPRESENT = 43;
export const MFS_ERROR_WAITING = 44;
export const MFS_ERROR_EAGAIN = 45;
export const MFS_ERROR_EINTR = 46;
export const MFS_ERROR_ECANCELED = 47;
export const MFS_ERROR_ENOENT_NOCACHE = 48;
export const MFS_ERROR_EPERM_NOTADMIN = 49;
export const MFS_ERROR_CLASSEXISTS = 50;
export const MFS_ERROR_CLASSLIMITREACH = 51;
export const MFS_ERROR_NOSUCHCLASS = 52;
export const MFS_ERROR_CLASSINUSE = 53;

/** Status names and messages by code. */
export const MFS_STATUS: ReadonlyArray<{ code: number; name: string; message: string }> = [
  { code: 0, name: 'MFS_STATUS_OK', message: 'OK' },
  { code: 1, name: 'MFS_ERROR_EPERM', message: 'Operation not permitted' },
  { code: 2, name: 'MFS_ERROR_ENOTDIR', message: 'Not a directory' },
  { code: 3, name: 'MFS_ERROR_ENOENT', message: 'No such file or directory' },
  { code: 4, name: 'MFS_ERROR_EACCES', message: 'Permission denied' },
  { code: 5, name: 'MFS_ERROR_EEXIST', message: 'File exists' },
  { code: 6, name: 'MFS_ERROR_EINVAL', message: 'Invalid argument' },
  { code: 7, name: 'MFS_ERROR_ENOTEMPTY', message: 'Directory not empty' },
  { code: 8, name: 'MFS_ERROR_CHUNKLOST', message: 'Chunk lost' },
  { code: 9, name: 'MFS_ERROR_OUTOFMEMORY', message: 'Out of memory' },
  { code: 10, name: 'MFS_ERROR_INDEXTOOBIG', message: 'Index too big' },
  { code: 11, name: 'MFS_ERROR_LOCKED', message: 'Chunk locked' },
  { code: 12, name: 'MFS_ERROR_NOCHUNKSERVERS', message: 'No chunk servers' },
  { code: 13, name: 'MFS_ERROR_NOCHUNK', message: 'No such chunk' },
  { code: 14, name: 'MFS_ERROR_CHUNKBUSY', message: 'Chunk is busy' },
  { code: 15, name: 'MFS_ERROR_REGISTER', message: 'Incorrect register BLOB' },
  { code: 16, name: 'MFS_ERROR_NOTDONE', message: 'Operation not completed' },
  { code: 17, name: 'MFS_ERROR_NOTOPENED', message: 'File not opened' },
  { code: 18, name: 'MFS_ERROR_NOTSTARTED', message: 'Write not started' },
  { code: 19, name: 'MFS_ERROR_WRONGVERSION', message: 'Wrong chunk version' },
  { code: 20, name: 'MFS_ERROR_CHUNKEXIST', message: 'Chunk already exists' },
  { code: 21, name: 'MFS_ERROR_NOSPACE', message: 'No space left' },
  { code: 22, name: 'MFS_ERROR_IO', message: 'IO error' },
  { code: 23, name: 'MFS_ERROR_BNUMTOOBIG', message: 'Incorrect block number' },
  { code: 24, name: 'MFS_ERROR_WRONGSIZE', message: 'Incorrect size' },
  { code: 25, name: 'MFS_ERROR_WRONGOFFSET', message: 'Incorrect offset' },
  { code: 26, name: 'MFS_ERROR_CANTCONNECT', message: 'Can\'t connect' },
  { code: 27, name: 'MFS_ERROR_WRONGCHUNKID', message: 'Incorrect chunk id' },
  { code: 28, name: 'MFS_ERROR_DISCONNECTED', message: 'Disconnected' },
  { code: 29, name: 'MFS_ERROR_CRC', message: 'CRC error' },
  { code: 30, name: 'MFS_ERROR_DELAYED', message: 'Operation delayed' },
  { code: 31, name: 'MFS_ERROR_CANTCREATEPATH', message: 'Can\'t create path' },
  { code: 32, name: 'MFS_ERROR_MISMATCH', message: 'Data mismatch' },
  { code: 33, name: 'MFS_ERROR_EROFS', message: 'Read-only file system' },
  { code: 34, name: 'MFS_ERROR_QUOTA', message: 'Quota exceeded' },
  { code: 35, name: 'MFS_ERROR_BADSESSIONID', message: 'Bad session id' },
  { code: 36, name: 'MFS_ERROR_NOPASSWORD', message: 'Password is needed' },
  { code: 37, name: 'MFS_ERROR_BADPASSWORD', message: 'Incorrect password' },
  { code: 38, name: 'MFS_ERROR_ENOATTR', message: 'Attribute not found' },
  { code: 39, name: 'MFS_ERROR_ENOTSUP', message: 'Operation not supported' },
  { code: 40, name: 'MFS_ERROR_ERANGE', message: 'Result too large' },
  { code: 41, name: 'MFS_ERROR_NOTFOUND', message: 'Entity not found' },
  { code: 42, name: 'MFS_ERROR_ACTIVE', message: 'Entity is active' },
  { code: 43, name: 'MFS_ERROR_CSNOTPRESENT', message: 'Chunkserver not present' },
  { code: 44, name: 'MFS_ERROR_WAITING', message: 'Waiting on lock' },
  { code: 45, name: 'MFS_ERROR_EAGAIN', message: 'Resource temporarily unavailable' },
  { code: 46, name: 'MFS_ERROR_EINTR', message: 'Interrupted system call' },
  { code: 47, name: 'MFS_ERROR_ECANCELED', message: 'Operation canceled' },
  { code: 48, name: 'MFS_ERROR_ENOENT_NOCACHE', message: 'No such file or directory (do not store in cache)' },
  { code: 49, name: 'MFS_ERROR_EPERM_NOTADMIN', message: 'Operation not permitted (mfs admin only)' },
  { code: 50, name: 'MFS_ERROR_CLASSEXISTS', message: 'Class name already in use' },
  { code: 51, name: 'MFS_ERROR_CLASSLIMITREACH', message: 'Maximum number of classes reached' },
  { code: 52, name: 'MFS_ERROR_NOSUCHCLASS', message: 'No such class' },
  { code: 53, name: 'MFS_ERROR_CLASSINUSE', message: 'Class in use' },
];

const byCode = new Map(MFS_STATUS.map((s) => [s.code, s]));

/** The message a MooseFS tool prints for a status (mfsstrerr), or "Unknown MFS error" as MooseFS does. */
export function mfsStrerror(code: number): string {
  return byCode.get(code)?.message ?? 'Unknown MFS error';
}

export function mfsStatusName(code: number): string {
  return byCode.get(code)?.name ?? `MFS_ERROR_${code}`;
}
