import { c8, u8, u16, u32, u64, u64n } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Metalogger (any) -> master (port 9419): mfsmetalogger/masterconn.c builds, mfsmaster/matomlserv.c parses.

/** `1 version:32 timeout:16` or `2 version:32 timeout:16 minversion:64` (ask for changes from minversion). */
export const AntomaRegister = vmsg('ANTOMA_REGISTER', {
  v1: { match: when.firstByte(1), fields: { rversion: c8(1), version: u32, timeout: u16 } },
  v2: { match: when.firstByte(2), fields: { rversion: c8(2), version: u32, timeout: u16, minversion: u64 } },
});
/** filenum: 1 metadata.mfs.back (+ opens changelogs), 2 sessions.mfs, 11 changelog.0.mfs, 12 changelog.1.mfs. */
export const AntomaDownloadStart = msg('ANTOMA_DOWNLOAD_START', { filenum: u8 });
export const AntomaDownloadRequest = msg('ANTOMA_DOWNLOAD_REQUEST', { offset: u64n, leng: u32 });
export const AntomaDownloadEnd = msg('ANTOMA_DOWNLOAD_END', {});

// mfs-ts extensions (ids.ts): a hot follower (packages/failover) to our master.
/** The follower has durably logged (fsync) every change up to and including `version`. */
export const AntomaMfstsFollowerAck = msg('ANTOMA_MFSTS_FOLLOWER_ACK', { version: u64 });
/** Asks for MATOAN_MFSTS_CHECKSUM. */
export const AntomaMfstsChecksum = msg('ANTOMA_MFSTS_CHECKSUM', { msgid: u32 });

export const ANTOMA_MESSAGES = [AntomaRegister, AntomaDownloadStart, AntomaDownloadRequest, AntomaDownloadEnd, AntomaMfstsFollowerAck, AntomaMfstsChecksum];

