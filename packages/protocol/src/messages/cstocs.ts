import { bytes, u8, u16, u32, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Chunkserver <-> chunkserver (and master -> chunkserver checksum probes): replication in
// mfschunkserver/replicator.c asks the source server with ANTOCS_GET_CHUNK_BLOCKS, then reads with
// CLTOCS_READ. Chained writes reuse CLTOCS_WRITE / CLTOCS_WRITE_DATA / CSTOCL_WRITE_STATUS (cltocs.ts,
// cstocl.ts). Replies built in mfschunkserver/csserv.c (csserv_idlejob_finished).

export const AntocsGetChunkBlocks = msg('ANTOCS_GET_CHUNK_BLOCKS', { chunkid: u64n, version: u32 });
/** `chunkid version blocks:16 status:8` (blocks 0 on error). */
export const CstoanChunkBlocks = msg('CSTOAN_CHUNK_BLOCKS', { chunkid: u64n, version: u32, blocks: u16, status: u8 });
export const AntocsGetChunkChecksum = msg('ANTOCS_GET_CHUNK_CHECKSUM', { chunkid: u64n, version: u32 });
/** `chunkid version status:8` or `chunkid version checksum:32`. */
export const CstoanChunkChecksum = vmsg('CSTOAN_CHUNK_CHECKSUM', {
  status: { match: when.length(13), fields: { chunkid: u64n, version: u32, status: u8 } },
  ok: { fields: { chunkid: u64n, version: u32, checksum: u32 } },
});
export const AntocsGetChunkChecksumTab = msg('ANTOCS_GET_CHUNK_CHECKSUM_TAB', { chunkid: u64n, version: u32 });
/** `chunkid version status:8` or `chunkid version crctab:4096B` (1024 block CRCs). */
export const CstoanChunkChecksumTab = vmsg('CSTOAN_CHUNK_CHECKSUM_TAB', {
  status: { match: when.length(13), fields: { chunkid: u64n, version: u32, status: u8 } },
  ok: { fields: { chunkid: u64n, version: u32, crctab: bytes(4096) } },
});

export const CSTOCS_MESSAGES = [
  AntocsGetChunkBlocks, CstoanChunkBlocks, AntocsGetChunkChecksum, CstoanChunkChecksum, AntocsGetChunkChecksumTab,
  CstoanChunkChecksumTab,
];
