import { bytes, c8, list, struct, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Chunkserver -> master (port 9420), built by mfschunkserver/masterconn.c and parsed by
// mfsmaster/matocsserv.c. No msgids on this link.

export const chunkIdVersion = struct({ chunkid: u64n, version: u32 });
const space = { usedspace: u64, totalspace: u64, chunkcount: u32, tdusedspace: u64, tdtotalspace: u64, tdchunkcount: u32 };
const begin = { version: u32, ip: u32, port: u16, timeout: u16, csid: u16, ...space };

/**
 * CSTOMA_REGISTER: the first byte is the stage (rversion):
 *  60 BEGIN `[passcode:16B] version:32 ip:32 port:16 timeout:16 csid:16 space` (55 or 71 bytes)
 *  61 CHUNKS `N*[chunkid:64 version:32]`, 62 END, 63 graceful DISCONNECT;
 *  the pre-2.0 registration (50 BEGIN `version ip port timeout`, 51 CHUNKS, 52 END `space`).
 */
export const CstomaRegister = vmsg('CSTOMA_REGISTER', {
  beginAuth: { match: (p) => p[0] === 60 && p.length === 71, fields: { rversion: c8(60), passcode: bytes(16), ...begin } },
  begin: { match: when.firstByte(60), fields: { rversion: c8(60), ...begin } },
  chunks: { match: when.firstByte(61), fields: { rversion: c8(61), chunks: list(chunkIdVersion, 'rest') } },
  end: { match: when.firstByte(62), fields: { rversion: c8(62) } },
  disconnect: { match: when.firstByte(63), fields: { rversion: c8(63) } },
  oldBegin: { match: when.firstByte(50), fields: { rversion: c8(50), version: u32, ip: u32, port: u16, timeout: u16 } },
  oldChunks: { match: when.firstByte(51), fields: { rversion: c8(51), chunks: list(chunkIdVersion, 'rest') } },
  oldEnd: { match: when.firstByte(52), fields: { rversion: c8(52), ...space } },
});
/** 40 bytes from 3.0.117 (16 and 32 byte forms accepted from older servers). */
export const CstomaSpace = vmsg('CSTOMA_SPACE', {
  full: { match: when.length(40), fields: space },
  noCounts: { match: when.length(32), fields: { usedspace: u64, totalspace: u64, tdusedspace: u64, tdtotalspace: u64 } },
  basic: { fields: { usedspace: u64, totalspace: u64 } },
});
/** `load:32 [hlstatus:8]` (HLSTATUS_*). */
export const CstomaCurrentLoad = vmsg('CSTOMA_CURRENT_LOAD', {
  full: { match: when.length(5), fields: { load: u32, hlstatus: u8 } },
  old: { fields: { load: u32 } },
});
export const CstomaChunkDamaged = msg('CSTOMA_CHUNK_DAMAGED', { chunks: list(u64n, 'rest') });
export const CstomaChunkLost = msg('CSTOMA_CHUNK_LOST', { chunks: list(u64n, 'rest') });
export const CstomaChunkNew = msg('CSTOMA_CHUNK_NEW', { chunks: list(chunkIdVersion, 'rest') });
export const CstomaErrorOccurred = msg('CSTOMA_ERROR_OCCURRED', {});
export const CstomaLabels = msg('CSTOMA_LABELS', { labelmask: u32 });

/** Replies to master commands: `chunkid:64 status:8` (masterconn_jobfinished). */
const idStatus = { chunkid: u64n, status: u8 };
export const CstomaCreate = msg('CSTOMA_CREATE', idStatus);
export const CstomaDelete = msg('CSTOMA_DELETE', idStatus);
export const CstomaSetVersion = msg('CSTOMA_SET_VERSION', idStatus);
/** chunkid here is the new (copy) chunk id. */
export const CstomaDuplicate = msg('CSTOMA_DUPLICATE', idStatus);
export const CstomaTruncate = msg('CSTOMA_TRUNCATE', idStatus);
export const CstomaDuptrunc = msg('CSTOMA_DUPTRUNC', idStatus);
/** Echoes the command: `chunkid version newversion copychunkid copyversion length status:8`. */
export const CstomaChunkop = msg('CSTOMA_CHUNKOP', {
  chunkid: u64n, version: u32, newversion: u32, copychunkid: u64n, copyversion: u32, length: u32, status: u8,
});
export const CstomaReplicate = msg('CSTOMA_REPLICATE', { chunkid: u64n, version: u32, status: u8 });

export const CSTOMA_MESSAGES = [
  CstomaRegister, CstomaSpace, CstomaCurrentLoad, CstomaChunkDamaged, CstomaChunkLost, CstomaChunkNew,
  CstomaErrorOccurred, CstomaLabels, CstomaCreate, CstomaDelete, CstomaSetVersion, CstomaDuplicate, CstomaTruncate,
  CstomaDuptrunc, CstomaChunkop, CstomaReplicate,
];

