import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { renameQuiet } from './changelog.js';

/** ANTOMA_DOWNLOAD_START filenum values (mfsmaster/matomlserv.c matomlserv_download_start). */
export const ML_FILE_METADATA = 1; // metadata.mfs.back; the master also opens changelog.0/1.mfs for 11/12
export const ML_FILE_CHANGELOG0 = 11; // changelog.0.mfs as it was when filenum 1 was asked for
export const ML_FILE_CHANGELOG1 = 12; // changelog.1.mfs, likewise

/**
 * The files a download writes, by ANTOMA_DOWNLOAD_START filenum (mfsmetalogger/masterconn.c): data
 * goes to a temporary name and is renamed into place once complete and checked.
 */
export interface DownloadTarget {
  filenum: number;
  /** For logs: metadata, changelog_0, changelog_1 (the names 3.0.117 logs). */
  label: string;
  tmpName: string;
  finalName: string;
}

export const METADATA_ML = 'metadata_ml.mfs.back';

export const DOWNLOAD_TARGETS: Readonly<Record<number, DownloadTarget>> = {
  [ML_FILE_METADATA]: { filenum: ML_FILE_METADATA, label: 'metadata', tmpName: 'metadata_ml.tmp', finalName: METADATA_ML },
  [ML_FILE_CHANGELOG0]: { filenum: ML_FILE_CHANGELOG0, label: 'changelog_0', tmpName: 'changelog_ml.tmp', finalName: 'changelog_ml_back.0.mfs' },
  [ML_FILE_CHANGELOG1]: { filenum: ML_FILE_CHANGELOG1, label: 'changelog_1', tmpName: 'changelog_ml.tmp', finalName: 'changelog_ml_back.1.mfs' },
};

/** What follows a completed download in 3.0.117's chain: metadata, then changelog.0, then changelog.1. */
export function nextInChain(filenum: number): number | undefined {
  if (filenum === ML_FILE_METADATA) return ML_FILE_CHANGELOG0;
  if (filenum === ML_FILE_CHANGELOG0) return ML_FILE_CHANGELOG1;
  return undefined;
}

export type MetadataCheck =
  | { ok: true; version?: number; metaid?: bigint }
  | { ok: false; reason: 'new' | 'unreadable' | 'bad-header' | 'truncated' };

const EOF_MARKER = Buffer.from('[MFS EOF MARKER]', 'latin1');
const NEW_FILE = Buffer.from('MFSM NEW', 'latin1');

/**
 * Checks a downloaded metadata file the way masterconn_metadata_check does: header `MFSM x.y`
 * ("MFSM NEW", an empty file system, is refused silently), and for format 1.7 and later the
 * `[MFS EOF MARKER]` at the end (16 zero bytes before 1.7); 2.0 and later carry version and metaid
 * after the header.
 */
export function checkMetadataFile(path: string): MetadataCheck {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { ok: false, reason: 'unreadable' };
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(24);
    if (readSync(fd, head, 0, 8, 0) !== 8) return { ok: false, reason: 'unreadable' };
    if (head.subarray(0, 8).equals(NEW_FILE)) return { ok: false, reason: 'new' };
    const d1 = head[5]!;
    const d2 = head[7]!;
    if (head.toString('latin1', 0, 5) !== 'MFSM ' || d1 < 0x31 || d1 > 0x39 || head[6] !== 0x2e || d2 < 0x30 || d2 > 0x39) {
      return { ok: false, reason: 'bad-header' };
    }
    const fver = ((d1 - 0x30) << 4) + (d2 - 0x30);
    const eof = fver < 0x17 ? Buffer.alloc(16) : EOF_MARKER;
    let version: number | undefined;
    let metaid: bigint | undefined;
    if (fver >= 0x20) {
      if (readSync(fd, head, 8, 16, 8) !== 16) return { ok: false, reason: 'unreadable' };
      version = Number(head.readBigUInt64BE(8));
      metaid = head.readBigUInt64BE(16);
    }
    if (size < 16) return { ok: false, reason: 'unreadable' };
    const tail = Buffer.alloc(16);
    if (readSync(fd, tail, 0, 16, size - 16) !== 16) return { ok: false, reason: 'unreadable' };
    if (!tail.equals(eof)) return { ok: false, reason: 'truncated' };
    return { ok: true, version, metaid };
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a checked metadata download in place, keeping `copies` previous ones:
 * metadata_ml.mfs.back.(i) -> .(i+1) for i = copies-1..1, metadata_ml.mfs.back -> .1, tmp -> back.
 * Returns false if the final rename failed.
 */
export function installMetadata(dir: string, tmpName: string, copies: number): boolean {
  if (copies > 0) {
    for (let i = copies - 1; i > 0; i--) renameQuiet(join(dir, `${METADATA_ML}.${i}`), join(dir, `${METADATA_ML}.${i + 1}`));
    renameQuiet(join(dir, METADATA_ML), join(dir, `${METADATA_ML}.1`));
  }
  return renameQuiet(join(dir, tmpName), join(dir, METADATA_ML));
}
