import { c8, list, rest, struct, u16, u32, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Client (or an upstream chunkserver in a write chain, or a replicating chunkserver) -> chunkserver
// data port 9422: built by mfsclient/readdata.c, writedata.c, mfschunkserver/replicator.c and
// mainserv.c (forwarding), parsed by mfschunkserver/mainserv.c / csserv.c.

/** `[protover:8(=1)] chunkid:64 version:32 offset:32 size:32` (20 or 21 bytes). */
export const CltocsRead = vmsg('CLTOCS_READ', {
  v1: { match: when.length(21), fields: { protover: c8(1), chunkid: u64n, version: u32, offset: u32, size: u32 } },
  old: { fields: { chunkid: u64n, version: u32, offset: u32, size: u32 } },
});
export const chainEntry = struct({ ip: u32, port: u16 });
/**
 * `[protover:8(=1)] chunkid:64 version:32 N*[ip:32 port:16]` — odd length has the protocol byte; the
 * list is the rest of the chain, which the receiving server forwards (minus itself) downstream.
 */
export const CltocsWrite = vmsg('CLTOCS_WRITE', {
  v1: { match: (p) => (p.length & 1) === 1, fields: { protover: c8(1), chunkid: u64n, version: u32, chain: list(chainEntry, 'rest') } },
  old: { fields: { chunkid: u64n, version: u32, chain: list(chainEntry, 'rest') } },
});
/**
 * `chunkid:64 writeid:32 blocknum:16 offset:16 size:32 crc:32 data:size` (24+size). The hot path uses
 * hotpath.ts; this definition is for tests, logs and fixtures.
 */
export const CltocsWriteData = msg('CLTOCS_WRITE_DATA', {
  chunkid: u64n, writeid: u32, blocknum: u16, offset: u16, size: u32, crc: u32, data: rest,
});
/** `chunkid:64 version:32`; no reply, the connection may be reused. */
export const CltocsWriteFinish = msg('CLTOCS_WRITE_FINISH', { chunkid: u64n, version: u32 });
export const CltocsHddList = msg('CLTOCS_HDD_LIST', {});

export const CLTOCS_MESSAGES = [CltocsRead, CltocsWrite, CltocsWriteData, CltocsWriteFinish, CltocsHddList];
