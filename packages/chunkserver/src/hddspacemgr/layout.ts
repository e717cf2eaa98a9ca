import { crc32 } from 'node:zlib';
import { MFSBLOCKSIZE, MFSBLOCKSINCHUNK, MFSCHUNKSIZE } from '@mfs-ts/protocol';

/**
 * The on-disk chunk file, as mfschunkserver/hddspacemgr.c writes and reads it:
 *
 *   0            header ("MFSC 1.0" chunkid:64 version:32, zero padded to HDRSIZE)
 *   HDRSIZE      CRC table: 1024 x crc32:32 big-endian, one per 64 KiB block (4096 bytes)
 *   HDRSIZE+4096 block 0, block 1, ... (64 KiB each; the file holds only blocks 0..blocks-1)
 *
 * HDRSIZE is 4096 for every file MooseFS 3 creates; files of old chunkservers have a 1024-byte
 * header and are still read. The block count is not stored: it is (file size - HDRSIZE - 4096) / 64 KiB
 * (hdd_chunk_getattr). A new chunk is HDRSIZE + 4096 bytes with an all-zero CRC table; entries of
 * blocks that do not exist are not meaningful. The signature's last digit may be '0' or '1'.
 * File name: `<disk>/<XX>/chunk_<ID %016X>_<VERSION %08X>.mfs`, XX = the subfolder (00..FF) the
 * chunk was put in, not derived from the id.
 */
export const CHUNK_SIGNATURE = Buffer.from('MFSC 1.0', 'latin1');
export const NEWHDRSIZE = 4096;
export const OLDHDRSIZE = 1024;
export const CHUNKCRCSIZE = 4096;
/** Offset of the version field in the header (rewritten in place by set-version/truncate). */
export const HDR_VERSION_OFFSET = 16;
/** Bytes of header that carry data: signature, id, version. */
export const HDR_USED = 20;

/** crc32 of a whole block of zeros (0xD7978EEB): the CRC of a block never written. */
export const EMPTY_BLOCK_CRC = crc32(Buffer.alloc(MFSBLOCKSIZE));

const ZEROS = Buffer.alloc(MFSBLOCKSIZE);
/** crc32 of `n` zero bytes (n <= 64 KiB). */
export function crcOfZeros(n: number): number {
  return n === MFSBLOCKSIZE ? EMPTY_BLOCK_CRC : crc32(ZEROS.subarray(0, n));
}

export function dataOffset(hdrSize: number, block: number): number {
  return hdrSize + CHUNKCRCSIZE + block * MFSBLOCKSIZE;
}

/** The block count a file of `size` bytes holds, or undefined if the size fits no valid layout. */
export function layoutFromSize(size: number): { hdrSize: number; blocks: number } | undefined {
  const hdrSize = (size - CHUNKCRCSIZE) & 0xffff;
  if (hdrSize !== NEWHDRSIZE && hdrSize !== OLDHDRSIZE) return undefined;
  if (size < hdrSize + CHUNKCRCSIZE || size > hdrSize + CHUNKCRCSIZE + MFSCHUNKSIZE) return undefined;
  return { hdrSize, blocks: (size - hdrSize - CHUNKCRCSIZE) / MFSBLOCKSIZE };
}

/** Writes the header of a new chunk (and a zero CRC table) into `dst` (HDRSIZE + 4096 bytes). */
export function encodeHeader(dst: Buffer, chunkId: number, version: number): Buffer {
  dst.fill(0, 0, NEWHDRSIZE + CHUNKCRCSIZE);
  CHUNK_SIGNATURE.copy(dst, 0);
  dst.writeUInt32BE(Math.floor(chunkId / 0x100000000) >>> 0, 8);
  dst.writeUInt32BE(chunkId >>> 0, 12);
  dst.writeUInt32BE(version >>> 0, HDR_VERSION_OFFSET);
  return dst;
}

export type HeaderCheck = { ok: true; chunkId: number; version: number } | { ok: false; reason: string };

/** Checks the first 20 bytes of a chunk file (chunk_readcrc). */
export function parseHeader(b: Buffer): HeaderCheck {
  if (b.length < HDR_USED) return { ok: false, reason: 'short header' };
  if (b.compare(CHUNK_SIGNATURE, 0, 7, 0, 7) !== 0 || (b[7] !== 0x30 && b[7] !== 0x31)) {
    return { ok: false, reason: 'wrong header' };
  }
  const chunkId = b.readUInt32BE(8) * 0x100000000 + b.readUInt32BE(12);
  return { ok: true, chunkId, version: b.readUInt32BE(16) };
}

const HEX = /^[0-9A-F]+$/;

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

export function subfolderName(pathId: number): string {
  return hex(pathId, 2);
}

export function chunkFileName(chunkId: number, version: number): string {
  return `chunk_${hex(chunkId, 16)}_${hex(version >>> 0, 8)}.mfs`;
}

/** `<disk path ending in />XX/chunk_..._....mfs` */
export function chunkPath(diskPath: string, pathId: number, chunkId: number, version: number): string {
  return `${diskPath}${subfolderName(pathId)}/${chunkFileName(chunkId, version)}`;
}

/** Parses `chunk_<16 hex>_<8 hex>.mfs` (uppercase only, as hdd_check_filename). */
export function parseChunkFileName(name: string): { chunkId: number; version: number } | undefined {
  if (name.length !== 35 || !name.startsWith('chunk_') || name[22] !== '_' || !name.endsWith('.mfs')) return undefined;
  const id = name.slice(6, 22);
  const ver = name.slice(23, 31);
  if (!HEX.test(id) || !HEX.test(ver)) return undefined;
  const chunkId = Number.parseInt(id, 16);
  // Ids above 2^53 cannot be held exactly; MooseFS never hands them out.
  if (!Number.isSafeInteger(chunkId)) return undefined;
  return { chunkId, version: Number.parseInt(ver, 16) };
}

/** Number of blocks covering `length` bytes of chunk data. */
export function blocksFor(length: number): number {
  return Math.ceil(length / MFSBLOCKSIZE);
}

export { MFSBLOCKSIZE, MFSBLOCKSINCHUNK, MFSCHUNKSIZE };
