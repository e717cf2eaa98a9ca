import { blob16, bytes, list, name, rest, struct, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { msg } from './common.js';

// Chunkserver -> client on the data port (mfschunkserver/mainserv.c, csserv.c; parsed by
// mfsclient/readdata.c, writedata.c and the upstream server of a write chain).

export const CstoclReadStatus = msg('CSTOCL_READ_STATUS', { chunkid: u64n, status: u8 });
/**
 * `chunkid:64 blocknum:16 offset:16 size:32 crc:32 data:size` — never crosses a 64 KiB block; crc is
 * crc32 of the piece. Hot path: hotpath.ts.
 */
export const CstoclReadData = msg('CSTOCL_READ_DATA', {
  chunkid: u64n, blocknum: u16, offset: u16, size: u32, crc: u32, data: rest,
});
/** `chunkid:64 writeid:32 status:8`; writeid 0 = chain set up (or a chain-level error). */
export const CstoclWriteStatus = msg('CSTOCL_WRITE_STATUS', { chunkid: u64n, writeid: u32, status: u8 });
/**
 * N*[entrysize:16 entry] (hdd_diskinfo_data in mfschunkserver/hddspacemgr.c); decode an entry with
 * HDD_ENTRY.
 */
export const CstoclHddList = msg('CSTOCL_HDD_LIST', { disks: list(blob16, 'rest') });
/**
 * One disk: `path:NAME flags:8 (1 marked for removal, 2 damaged, 4 scanning) lasterrchunkid:64
 * lasterrtime:32 used:64 total:64 chunks:32` then 3 stats blocks of 64 bytes (minute, hour, day:
 * read/write/fsync byte counters, operation counts and max times).
 */
export const HDD_ENTRY = struct({
  path: name, flags: u8, lasterrchunkid: u64, lasterrtime: u32, used: u64, total: u64, chunks: u32, stats: bytes(192),
});

export const CSTOCL_MESSAGES = [CstoclReadStatus, CstoclReadData, CstoclWriteStatus, CstoclHddList];

