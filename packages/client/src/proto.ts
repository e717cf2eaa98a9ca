// The client's view of @mfs-ts/protocol: re-exports, plus the few fixed packets and register
// helpers the master link needs, all built from the protocol package's message definitions.
import {
  CltomaFuseRegister,
  CltomaFuseSustainedInodes,
  CltomaFuseAmtimeInodes,
  CltomaFuseSustainedInodesDeprecated,
  CltomaFuseTimeSync,
  MatoclFuseChunkHasChanged,
  MatoclFuseFlengHasChanged,
  MatoclFuseRegister,
  MatoclFuseTimeSync,
  ANTOAN_NOP_MSGID0_PACKET,
  FUSE_REGISTER_BLOB_ACL,
  VERSHEX,
  versionAtLeast,
} from '@mfs-ts/protocol';
import type { SessionParams } from './mastercomm.js';

export * from '@mfs-ts/protocol';

/** What the client accepts from the master: the limit the master applies the other way. */
export const MATOCL_MAXPACKETSIZE_GUESS = 50_000_000;

export const NOP_PACKET = ANTOAN_NOP_MSGID0_PACKET;
export const TIME_SYNC_PACKET = CltomaFuseTimeSync.encode({ $v: 'withMsgid', msgid: 0 });

const blob = FUSE_REGISTER_BLOB_ACL;

/**
 * The NEWSESSION variants' keys are computed in the protocol definition, so their literal types are
 * lost; this view of the same encoder takes them by name (the encoder checks the key at run time).
 */
const encodeRegister = CltomaFuseRegister.encode as (v: { $v: string } & Record<string, unknown>) => Buffer;

export function encodeGetRandom(): Buffer {
  return CltomaFuseRegister.encode({ $v: 'getrandom', blob, rcode: 1 });
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

export function encodeNewSession(a: {
  meta: boolean;
  info: string;
  subfolder: string;
  sessionid: number | undefined;
  metaid: bigint | undefined;
  passcode: Buffer | undefined;
}): Buffer {
  const info = cstr(a.info);
  const path = cstr(a.subfolder);
  const version = VERSHEX;
  const sid = a.sessionid;
  const pass = a.passcode;
  if (a.meta) {
    const base = { blob, rcode: 5, version, info } as const;
    if (sid !== undefined && a.metaid !== undefined && pass) return encodeRegister({ $v: 'newmetasession_sid_meta_pass', ...base, sessionid: sid, metaid: a.metaid, passcode: pass });
    if (sid !== undefined && a.metaid !== undefined) return encodeRegister({ $v: 'newmetasession_sid_meta', ...base, sessionid: sid, metaid: a.metaid });
    if (sid !== undefined && pass) return encodeRegister({ $v: 'newmetasession_sid_pass', ...base, sessionid: sid, passcode: pass });
    if (sid !== undefined) return encodeRegister({ $v: 'newmetasession_sid', ...base, sessionid: sid });
    if (pass) return encodeRegister({ $v: 'newmetasession_pass', ...base, passcode: pass });
    return encodeRegister({ $v: 'newmetasession', ...base });
  }
  const base = { blob, rcode: 2, version, info, path } as const;
  if (sid !== undefined && a.metaid !== undefined && pass) return encodeRegister({ $v: 'newsession_sid_meta_pass', ...base, sessionid: sid, metaid: a.metaid, passcode: pass });
  if (sid !== undefined && a.metaid !== undefined) return encodeRegister({ $v: 'newsession_sid_meta', ...base, sessionid: sid, metaid: a.metaid });
  if (sid !== undefined && pass) return encodeRegister({ $v: 'newsession_sid_pass', ...base, sessionid: sid, passcode: pass });
  if (sid !== undefined) return encodeRegister({ $v: 'newsession_sid', ...base, sessionid: sid });
  if (pass) return encodeRegister({ $v: 'newsession_pass', ...base, passcode: pass });
  return encodeRegister({ $v: 'newsession', ...base });
}

/** RECONNECT carries the metaid for masters >= 3.0.11 that gave one (fs_reconnect). */
export function encodeReconnect(sessionid: number, metaid: bigint, masterVersion: number): Buffer {
  if (versionAtLeast(masterVersion, 3, 0, 11) && metaid !== 0n) {
    return CltomaFuseRegister.encode({ $v: 'reconnect_meta', blob, rcode: 3, sessionid, version: VERSHEX, metaid });
  }
  return CltomaFuseRegister.encode({ $v: 'reconnect', blob, rcode: 3, sessionid, version: VERSHEX });
}

export function encodeCloseSession(sessionid: number, metaid: bigint, masterVersion: number): Buffer {
  if (versionAtLeast(masterVersion, 3, 0, 11) && metaid !== 0n) {
    return CltomaFuseRegister.encode({ $v: 'closesession_meta', blob, rcode: 6, sessionid, metaid });
  }
  return CltomaFuseRegister.encode({ $v: 'closesession', blob, rcode: 6, sessionid });
}

export function decodeReconnectReply(p: Buffer): { ok: true; status: number; version?: number } | { ok: false; error: string } {
  const r = MatoclFuseRegister.decode(p);
  if (!r.ok) return { ok: false, error: r.error.message };
  const v = r.value;
  if (v.$v === 'status') return { ok: true, status: v.status };
  if (v.$v === 'reconnect') return { ok: true, status: v.status, version: v.version };
  return { ok: false, error: `unexpected ${p.length}-byte answer` };
}

export function decodeSessionReply(
  p: Buffer,
  meta: boolean,
): { ok: true; session: SessionParams } | { ok: true; status: number } | { ok: false; error: string } {
  const r = MatoclFuseRegister.decode(p);
  if (!r.ok) return { ok: false, error: r.error.message };
  const v = r.value;
  if (v.$v === 'status') return { ok: true, status: v.status };
  if (v.$v === 'session' && !meta) {
    return {
      ok: true,
      session: {
        sessionid: v.sessionid, metaid: v.metaid, masterVersion: v.version, sesflags: v.sesflags, umask: v.umask,
        rootuid: v.rootuid, rootgid: v.rootgid, mapalluid: v.mapalluid, mapallgid: v.mapallgid, mingoal: v.mingoal,
        maxgoal: v.maxgoal, mintrashtime: v.mintrashtime, maxtrashtime: v.maxtrashtime, disables: v.disables,
      },
    };
  }
  if (v.$v === 'metasession' && meta) {
    return {
      ok: true,
      session: {
        sessionid: v.sessionid, metaid: v.metaid, masterVersion: v.version, sesflags: v.sesflags, umask: 0,
        rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: v.mingoal, maxgoal: v.maxgoal,
        mintrashtime: v.mintrashtime, maxtrashtime: v.maxtrashtime, disables: 0,
      },
    };
  }
  return { ok: false, error: `unexpected ${p.length}-byte register answer` };
}

export function encodeAmtimeInodes(entries: Array<{ inode: number; atime: number; mtime: number }>): Buffer {
  return CltomaFuseAmtimeInodes.encode({ entries });
}

export function encodeSustainedInodes(inodes: number[], current: boolean): Buffer {
  return current ? CltomaFuseSustainedInodes.encode({ inodes }) : CltomaFuseSustainedInodesDeprecated.encode({ inodes });
}

/** `msgid status:8`, what a caller gets in place of an answer the master did not understand. */
export function statusPayload(msgid: number, status: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(msgid, 0);
  b[4] = status;
  return b;
}

export function decodeChunkHasChanged(p: Buffer) {
  const r = MatoclFuseChunkHasChanged.decode(p);
  if (!r.ok) return r;
  const v = r.value;
  return { ok: true as const, value: { inode: v.inode, indx: v.chindx, chunkid: v.chunkid, version: v.version, fleng: v.fleng, truncflag: v.truncateflag } };
}

export function decodeFlengHasChanged(p: Buffer) {
  return MatoclFuseFlengHasChanged.decode(p);
}

export function decodeTimeSync(p: Buffer) {
  return MatoclFuseTimeSync.decode(p);
}

// ---- data port (9422): the protocol package's hot-path codecs (src/hotpath.ts) ----
import { putRead, putWriteInit, putWriteFinish, CstoclReadStatus, CstoclWriteStatus, type ChainHop } from '@mfs-ts/protocol';

export function encodeCsRead(chunkid: number, version: number, offset: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(29);
  putRead(b, 0, chunkid, version, offset, size);
  return b;
}

export function encodeCsWrite(chunkid: number, version: number, chain: readonly ChainHop[]): Buffer {
  const b = Buffer.allocUnsafe(21 + 6 * chain.length);
  putWriteInit(b, 0, chunkid, version, chain);
  return b;
}

export function encodeCsWriteFinish(chunkid: number, version: number): Buffer {
  const b = Buffer.allocUnsafe(20);
  putWriteFinish(b, 0, chunkid, version);
  return b;
}

export function decodeCsReadStatus(p: Buffer) {
  return CstoclReadStatus.decode(p);
}

export function decodeCsWriteStatus(p: Buffer) {
  return CstoclWriteStatus.decode(p);
}
