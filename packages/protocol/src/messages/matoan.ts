import { c8, rest, u8, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Master -> metalogger (port 9419): mfsmaster/matomlserv.c builds, mfsmetalogger/masterconn.c parses.

/** `0xFF version:64 "ts|OP(...)"` (the text ends with a NUL) or a single 0x55 = rotate the log. */
export const MatoanMetachangesLog = vmsg('MATOAN_METACHANGES_LOG', {
  rotate: { match: (p) => p.length === 1 && p[0] === 0x55, fields: { rtype: c8(0x55) } },
  change: { match: when.firstByte(0xff), fields: { rtype: c8(0xff), version: u64, data: rest } },
});
/** `size:64`, or one byte 0xFF = the file cannot be opened. */
export const MatoanDownloadInfo = vmsg('MATOAN_DOWNLOAD_INFO', {
  error: { match: when.length(1), fields: { status: u8 } },
  ok: { fields: { size: u64n } },
});
/** `offset:64 leng:32 crc:32 data` (crc32 of the data). */
export const MatoanDownloadData = msg('MATOAN_DOWNLOAD_DATA', { offset: u64n, leng: u32, crc: u32, data: rest });

// mfs-ts extension (ids.ts): the leader's namespace checksum for a hot follower.
/** `version` = the leader's next metaversion (the checksum covers every change before it). */
export const MatoanMfstsChecksum = msg('MATOAN_MFSTS_CHECKSUM', { msgid: u32, version: u64, checksum: u64 });

export const MATOAN_MESSAGES = [MatoanMetachangesLog, MatoanDownloadInfo, MatoanDownloadData, MatoanMfstsChecksum];
