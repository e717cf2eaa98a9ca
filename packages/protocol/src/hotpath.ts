import { crc32 } from 'node:zlib';
import {
  ANTOAN_NOP,
  CLTOCS_READ,
  CLTOCS_WRITE,
  CLTOCS_WRITE_DATA,
  CLTOCS_WRITE_FINISH,
  CSTOCL_READ_DATA,
  CSTOCL_READ_STATUS,
  CSTOCL_WRITE_STATUS,
} from './ids.js';
import { MFSBLOCKSIZE } from './limits.js';

/**
 * Hand-written codecs for the data-port packets that carry chunk data (every 64 KiB of file I/O goes
 * through them). Encoders write into a caller-owned buffer at an offset and return the end offset;
 * decoders fill a caller-owned view object and return an error code or undefined, so a steady stream
 * allocates nothing but the data view. Layouts: mfschunkserver/mainserv.c (read/write loops),
 * mfsclient/readdata.c and writedata.c. CRC: MooseFS's crc32 is zlib's.
 */

/** Packet header (8) + CLTOCS_WRITE_DATA fields (24): chunkid:64 writeid:32 block:16 offset:16 size:32 crc:32. */
export const WRITE_DATA_HEADER_SIZE = 32;
/** Packet header (8) + CSTOCL_READ_DATA fields (20): chunkid:64 block:16 offset:16 size:32 crc:32. */
export const READ_DATA_HEADER_SIZE = 28;

/** The 8-byte NOP (type 0, length 0) every server link uses. Do not modify. */
export const ANTOAN_NOP_PACKET: Buffer = Buffer.alloc(8);
/** The 12-byte NOP mfsmount sends to the master (msgid 0). */
export const ANTOAN_NOP_MSGID0_PACKET: Buffer = Buffer.from([0, 0, 0, ANTOAN_NOP, 0, 0, 0, 4, 0, 0, 0, 0]);

export type HotError = 'MFS_PROTO_TRUNCATED' | 'MFS_PROTO_BAD_VALUE';

function put64(buf: Buffer, off: number, v: number): void {
  const hi = Math.floor(v / 0x100000000);
  buf.writeUInt32BE(hi >>> 0, off);
  buf.writeUInt32BE((v - hi * 0x100000000) >>> 0, off + 4);
}
function get64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 0x100000000 + buf.readUInt32BE(off + 4);
}

/**
 * Writes the 32-byte header of a CLTOCS_WRITE_DATA packet whose `size` data bytes the caller sends
 * right after (writev / cork). Returns off + 32.
 */
export function putWriteDataHeader(
  buf: Buffer, off: number, chunkid: number, writeid: number, blocknum: number, offset: number, size: number, crc: number,
): number {
  buf.writeUInt32BE(CLTOCS_WRITE_DATA, off);
  buf.writeUInt32BE(24 + size, off + 4);
  put64(buf, off + 8, chunkid);
  buf.writeUInt32BE(writeid >>> 0, off + 16);
  buf.writeUInt16BE(blocknum, off + 20);
  buf.writeUInt16BE(offset, off + 22);
  buf.writeUInt32BE(size, off + 24);
  buf.writeUInt32BE(crc >>> 0, off + 28);
  return off + WRITE_DATA_HEADER_SIZE;
}

/** Header + data (copied) + CRC computed here. Returns the end offset. */
export function putWriteData(
  buf: Buffer, off: number, chunkid: number, writeid: number, blocknum: number, offset: number, data: Uint8Array,
): number {
  const p = putWriteDataHeader(buf, off, chunkid, writeid, blocknum, offset, data.length, crc32(data));
  buf.set(data, p);
  return p + data.length;
}

export function putReadDataHeader(buf: Buffer, off: number, chunkid: number, blocknum: number, offset: number, size: number, crc: number): number {
  buf.writeUInt32BE(CSTOCL_READ_DATA, off);
  buf.writeUInt32BE(20 + size, off + 4);
  put64(buf, off + 8, chunkid);
  buf.writeUInt16BE(blocknum, off + 16);
  buf.writeUInt16BE(offset, off + 18);
  buf.writeUInt32BE(size, off + 20);
  buf.writeUInt32BE(crc >>> 0, off + 24);
  return off + READ_DATA_HEADER_SIZE;
}

export function putReadData(buf: Buffer, off: number, chunkid: number, blocknum: number, offset: number, data: Uint8Array): number {
  const p = putReadDataHeader(buf, off, chunkid, blocknum, offset, data.length, crc32(data));
  buf.set(data, p);
  return p + data.length;
}

/** CSTOCL_READ_STATUS `chunkid:64 status:8` (17 bytes). */
export function putReadStatus(buf: Buffer, off: number, chunkid: number, status: number): number {
  buf.writeUInt32BE(CSTOCL_READ_STATUS, off);
  buf.writeUInt32BE(9, off + 4);
  put64(buf, off + 8, chunkid);
  buf[off + 16] = status;
  return off + 17;
}

/** CSTOCL_WRITE_STATUS `chunkid:64 writeid:32 status:8` (21 bytes). */
export function putWriteStatus(buf: Buffer, off: number, chunkid: number, writeid: number, status: number): number {
  buf.writeUInt32BE(CSTOCL_WRITE_STATUS, off);
  buf.writeUInt32BE(13, off + 4);
  put64(buf, off + 8, chunkid);
  buf.writeUInt32BE(writeid >>> 0, off + 16);
  buf[off + 20] = status;
  return off + 21;
}

/** CLTOCS_READ `1 chunkid:64 version:32 offset:32 size:32` (29 bytes). */
export function putRead(buf: Buffer, off: number, chunkid: number, version: number, offset: number, size: number): number {
  buf.writeUInt32BE(CLTOCS_READ, off);
  buf.writeUInt32BE(21, off + 4);
  buf[off + 8] = 1;
  put64(buf, off + 9, chunkid);
  buf.writeUInt32BE(version >>> 0, off + 17);
  buf.writeUInt32BE(offset >>> 0, off + 21);
  buf.writeUInt32BE(size >>> 0, off + 25);
  return off + 29;
}

export interface ChainHop {
  ip: number;
  port: number;
}

/**
 * CLTOCS_WRITE `1 chunkid:64 version:32 N*[ip:32 port:16]` with the hops chain[from..]: what a client
 * sends to the first server and what each server forwards downstream (chain minus itself).
 */
export function putWriteInit(buf: Buffer, off: number, chunkid: number, version: number, chain: readonly ChainHop[], from = 0): number {
  const n = Math.max(0, chain.length - from);
  buf.writeUInt32BE(CLTOCS_WRITE, off);
  buf.writeUInt32BE(13 + 6 * n, off + 4);
  buf[off + 8] = 1;
  put64(buf, off + 9, chunkid);
  buf.writeUInt32BE(version >>> 0, off + 17);
  let p = off + 21;
  for (let i = from; i < chain.length; i++) {
    buf.writeUInt32BE(chain[i]!.ip >>> 0, p);
    buf.writeUInt16BE(chain[i]!.port, p + 4);
    p += 6;
  }
  return p;
}

/** CLTOCS_WRITE_FINISH `chunkid:64 version:32` (20 bytes). */
export function putWriteFinish(buf: Buffer, off: number, chunkid: number, version: number): number {
  buf.writeUInt32BE(CLTOCS_WRITE_FINISH, off);
  buf.writeUInt32BE(12, off + 4);
  put64(buf, off + 8, chunkid);
  buf.writeUInt32BE(version >>> 0, off + 16);
  return off + 20;
}

/** A decoded CLTOCS_WRITE_DATA / CSTOCL_READ_DATA; `data` is a view into the payload. */
export interface DataView {
  chunkid: number;
  writeid: number;
  blocknum: number;
  offset: number;
  size: number;
  crc: number;
  data: Buffer;
}

export function newDataView(): DataView {
  return { chunkid: 0, writeid: 0, blocknum: 0, offset: 0, size: 0, crc: 0, data: ANTOAN_NOP_PACKET.subarray(0, 0) };
}

function check(out: DataView): HotError | undefined {
  if (out.blocknum >= 1024 || out.offset + out.size > MFSBLOCKSIZE) return 'MFS_PROTO_BAD_VALUE';
  return undefined;
}

/** Parses a CLTOCS_WRITE_DATA payload (header already stripped by the framer) into `out`. */
export function parseWriteData(payload: Buffer, out: DataView): HotError | undefined {
  if (payload.length < 24) return 'MFS_PROTO_TRUNCATED';
  const size = payload.readUInt32BE(16);
  if (payload.length !== 24 + size) return payload.length < 24 + size ? 'MFS_PROTO_TRUNCATED' : 'MFS_PROTO_BAD_VALUE';
  if (payload.readUInt32BE(0) > 0x1fffff) return 'MFS_PROTO_BAD_VALUE';
  out.chunkid = get64(payload, 0);
  out.writeid = payload.readUInt32BE(8);
  out.blocknum = payload.readUInt16BE(12);
  out.offset = payload.readUInt16BE(14);
  out.size = size;
  out.crc = payload.readUInt32BE(20);
  out.data = payload.subarray(24, 24 + size);
  return check(out);
}

/** Parses a CSTOCL_READ_DATA payload into `out` (writeid is set to 0). */
export function parseReadData(payload: Buffer, out: DataView): HotError | undefined {
  if (payload.length < 20) return 'MFS_PROTO_TRUNCATED';
  const size = payload.readUInt32BE(12);
  if (payload.length !== 20 + size) return payload.length < 20 + size ? 'MFS_PROTO_TRUNCATED' : 'MFS_PROTO_BAD_VALUE';
  if (payload.readUInt32BE(0) > 0x1fffff) return 'MFS_PROTO_BAD_VALUE';
  out.chunkid = get64(payload, 0);
  out.writeid = 0;
  out.blocknum = payload.readUInt16BE(8);
  out.offset = payload.readUInt16BE(10);
  out.size = size;
  out.crc = payload.readUInt32BE(16);
  out.data = payload.subarray(20, 20 + size);
  return check(out);
}

/** True when the piece's CRC matches its data. */
export function crcOk(v: DataView): boolean {
  return crc32(v.data) === v.crc;
}

export { crc32 };
