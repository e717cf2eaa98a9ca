import { array, bytes, c8, list, struct, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Master -> chunkserver (port 9420), built by mfsmaster/matocsserv.c and parsed by
// mfschunkserver/masterconn.c.

/**
 * MATOCS_MASTER_ACK `atype:8 ...` (masterconn_master_ack):
 *  0: `[version:32 [timeout:16 csid:16 [metaid:64]]]` (1, 5, 9, 17 bytes) — registered / chunk batch ack
 *  1: `masterip:32` — go to the leader (Pro);  2: `version:32 timeout:16 [metaid:64]` — wait (Pro)
 *  3: `random:32B` — send the AUTH_CODE passcode.
 */
export const MatocsMasterAck = vmsg('MATOCS_MASTER_ACK', {
  ack: { match: when.length(1), fields: { atype: c8(0) } },
  ackVersion: { match: when.length(5), fields: { atype: c8(0), version: u32 } },
  registered: { match: when.length(9), fields: { atype: c8(0), version: u32, timeout: u16, csid: u16 } },
  registeredMeta: { match: when.length(17), fields: { atype: c8(0), version: u32, timeout: u16, csid: u16, metaid: u64 } },
  leader: { match: when.length(5), fields: { atype: c8(1), masterip: u32 } },
  wait: { match: when.length(7), fields: { atype: c8(2), version: u32, timeout: u16 } },
  waitMeta: { match: when.length(15), fields: { atype: c8(2), version: u32, timeout: u16, metaid: u64 } },
  challenge: { match: when.length(33), fields: { atype: c8(3), random: bytes(32) } },
});
export const MatocsCreate = msg('MATOCS_CREATE', { chunkid: u64n, version: u32 });
export const MatocsDelete = msg('MATOCS_DELETE', { chunkid: u64n, version: u32 });
export const MatocsSetVersion = msg('MATOCS_SET_VERSION', { chunkid: u64n, newversion: u32, version: u32 });
/** The new chunk first: `copychunkid copyversion chunkid version` (the header comment has it the other way). */
export const MatocsDuplicate = msg('MATOCS_DUPLICATE', { copychunkid: u64n, copyversion: u32, chunkid: u64n, version: u32 });
export const MatocsTruncate = msg('MATOCS_TRUNCATE', { chunkid: u64n, length: u32, newversion: u32, version: u32 });
export const MatocsDuptrunc = msg('MATOCS_DUPTRUNC', { copychunkid: u64n, copyversion: u32, chunkid: u64n, version: u32, length: u32 });
/** `chunkid version newversion copychunkid copyversion length` (32 bytes). */
export const MatocsChunkop = msg('MATOCS_CHUNKOP', { chunkid: u64n, version: u32, newversion: u32, copychunkid: u64n, copyversion: u32, length: u32 });
/**
 * Simple: `chunkid version ip:32 port:16` (18); raid (Pro): `chunkid version xormasks:4*32
 * N*[chunkid:64 version:32 ip:32 port:16]`.
 */
export const MatocsReplicate = vmsg('MATOCS_REPLICATE', {
  simple: { match: when.length(18), fields: { chunkid: u64n, version: u32, ip: u32, port: u16 } },
  multi: {
    fields: { chunkid: u64n, version: u32, xormasks: array(u32, 4), sources: list(struct({ chunkid: u64n, version: u32, ip: u32, port: u16 }), 'rest') },
  },
});

export const MATOCS_MESSAGES = [
  MatocsMasterAck, MatocsCreate, MatocsDelete, MatocsSetVersion, MatocsDuplicate, MatocsTruncate, MatocsDuptrunc,
  MatocsChunkop, MatocsReplicate,
];
