import { createHash, randomBytes } from 'node:crypto';

/**
 * Registration secrets. Facts from mfscommon/MFSCommunication.h (register blobs), mfsmaster/exports.c and
 * mfsclient/mastercomm.c (password challenge), mfschunkserver/masterconn.c and mfsmaster/matocsserv.c
 * (AUTH_CODE challenge).
 */

/** CLTOMA_FUSE_REGISTER starts with this 64-byte blob (FUSE_REGISTER_BLOB_ACL) for every 3.x client. */
export const FUSE_REGISTER_BLOB_ACL = Buffer.from('DjI1GAQDULI5d2YjA26ypc3ovkhjvhciTQVx3CS4nYgtBoUcsljiVpsErJENHaw0', 'latin1');
/** Pre-1.6 blobs (plain register without rcode); a 3.0.117 master answers them with an error. */
export const FUSE_REGISTER_BLOB_NOACL = Buffer.from('kFh9mdZsR84l5e675v8bi54VfXaXSYozaU3DSz9AsLLtOtKipzb9aQNkxeOISx64', 'latin1');
export const FUSE_REGISTER_BLOB_TOOLS_NOACL = Buffer.from('kFh9mdZsR84l5e675v8bi54VfXaXSYozaU3DSz9AsLLtOtKipzb9aQNkxeOISx63', 'latin1');

/** rcode values after the blob. */
export const REGISTER_GETRANDOM = 1;
export const REGISTER_NEWSESSION = 2;
export const REGISTER_RECONNECT = 3;
export const REGISTER_TOOLS = 4;
export const REGISTER_NEWMETASESSION = 5;
export const REGISTER_CLOSESESSION = 6;

/** Length of the random challenge the master sends (GETRANDOM reply, MASTER_ACK type 3). */
export const CHALLENGE_SIZE = 32;

export function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** What mfsmount keeps for `password=`: MD5 of the password (`md5pass=` in mfsexports.cfg is its hex). */
export function passwordDigest(password: string | Uint8Array): Buffer {
  return md5(typeof password === 'string' ? Buffer.from(password, 'utf8') : password);
}

/**
 * The 16-byte passcode of a NEWSESSION / NEWMETASESSION register: MD5(rnd[0:16] + digest + rnd[16:32]),
 * where digest = MD5(password) and rnd is the GETRANDOM reply.
 */
export function clientPasscode(rnd: Uint8Array, digest: Uint8Array): Buffer {
  if (rnd.length !== CHALLENGE_SIZE) throw new RangeError('challenge must be 32 bytes');
  if (digest.length !== 16) throw new RangeError('password digest must be 16 bytes');
  return md5(rnd.subarray(0, 16), digest, rnd.subarray(16, 32));
}

/**
 * The 16-byte passcode a chunkserver puts after the stage byte of CSTOMA_REGISTER (rver 60) when the
 * master asked with MATOCS_MASTER_ACK type 3: MD5(rnd[0:16] + AUTH_CODE + rnd[16:32]).
 */
export function authCodePasscode(rnd: Uint8Array, authCode: string | Uint8Array): Buffer {
  if (rnd.length !== CHALLENGE_SIZE) throw new RangeError('challenge must be 32 bytes');
  const code = typeof authCode === 'string' ? Buffer.from(authCode, 'utf8') : authCode;
  return md5(rnd.subarray(0, 16), code, rnd.subarray(16, 32));
}

/** Constant-time comparison of two passcodes. */
export function passcodeEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function newChallenge(): Buffer {
  return randomBytes(CHALLENGE_SIZE);
}
