import { ProtocolError, fail, ok, type Result } from './codec/errors.js';
import type { Field } from './codec/fields.js';
import { Reader } from './codec/reader.js';
import type { Writer } from './codec/writer.js';

/**
 * The 36-byte attribute record (ATTR_RECORD_SIZE) a 3.0.117 master sends to sessions that set
 * SESFLAG_ATTRBIT (every client >= 1.7.32). Layout, from fsnodes_fill_attr in mfsmaster/filesystem.c:
 *
 *   flags:8  (type<<12 | mode&07777):16  uid:32 gid:32 atime:32 mtime:32 ctime:32 nlink:32
 *   8-byte union:  file/dir/other: length:64 (directories: the length code, see dirLengthCode;
 *                  symlink: 0:32 pleng:32, i.e. length:64 == pleng; fifo/socket: 0:64)
 *                  block/char device: rdev:32 0:32
 *   winattr:8
 */
export const ATTR_RECORD_SIZE = 36;

export const TYPE_FILE = 1;
export const TYPE_DIRECTORY = 2;
export const TYPE_SYMLINK = 3;
export const TYPE_FIFO = 4;
export const TYPE_BLOCKDEV = 5;
export const TYPE_CHARDEV = 6;
export const TYPE_SOCKET = 7;
// Only in metadata / trash listings; a client sees them as files.
export const TYPE_TRASH = 8;
export const TYPE_SUSTAINED = 9;

// Attribute flags (MATTR_* in MFSCommunication.h).
export const MATTR_NOACACHE = 0x01;
export const MATTR_NOECACHE = 0x02;
export const MATTR_ALLOWDATACACHE = 0x04;
export const MATTR_NOXATTR = 0x08;
export const MATTR_DIRECTMODE = 0x10;
export const MATTR_UNDELETABLE = 0x20;

export interface Attr {
  flags: number;
  /** Top 4 bits of the mode word (TYPE_*). */
  type: number;
  /** Low 12 bits of the mode word (permission and sugid bits). */
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  ctime: number;
  nlink: number;
  /**
   * The union as a 64-bit number, for every type but devices: file length, directory length code,
   * symlink target length. For devices: the second 32-bit half (0 from a real master).
   */
  length: number;
  /** Devices: the first 32-bit half of the union. Other types: 0. */
  rdev: number;
  winattr: number;
}

function isDevice(type: number): boolean {
  return type === TYPE_BLOCKDEV || type === TYPE_CHARDEV;
}

/** Reads one record at the reader's position (throws ProtocolError; see decodeAttr for a Result). */
export function readAttr(r: Reader): Attr {
  const flags = r.u8();
  const mw = r.u16();
  const type = mw >>> 12;
  const uid = r.u32();
  const gid = r.u32();
  const atime = r.u32();
  const mtime = r.u32();
  const ctime = r.u32();
  const nlink = r.u32();
  let length: number;
  let rdev = 0;
  if (isDevice(type)) {
    rdev = r.u32();
    length = r.u32();
  } else {
    length = r.u64n();
  }
  const winattr = r.u8();
  return { flags, type, mode: mw & 0o7777, uid, gid, atime, mtime, ctime, nlink, length, rdev, winattr };
}

export function writeAttr(w: Writer, a: Attr): void {
  w.u8(a.flags).u16(((a.type & 0xf) << 12) | (a.mode & 0o7777));
  w.u32(a.uid).u32(a.gid).u32(a.atime).u32(a.mtime).u32(a.ctime).u32(a.nlink);
  if (isDevice(a.type)) w.u32(a.rdev).u32(a.length);
  else w.u64n(a.length);
  w.u8(a.winattr);
}

/** Writes a record into `buf` at `off` without a Writer (master hot paths: lookup, readdir). */
export function putAttr(buf: Buffer, off: number, a: Attr): number {
  buf[off] = a.flags & 0xff;
  buf.writeUInt16BE((((a.type & 0xf) << 12) | (a.mode & 0o7777)) & 0xffff, off + 1);
  buf.writeUInt32BE(a.uid >>> 0, off + 3);
  buf.writeUInt32BE(a.gid >>> 0, off + 7);
  buf.writeUInt32BE(a.atime >>> 0, off + 11);
  buf.writeUInt32BE(a.mtime >>> 0, off + 15);
  buf.writeUInt32BE(a.ctime >>> 0, off + 19);
  buf.writeUInt32BE(a.nlink >>> 0, off + 23);
  if (isDevice(a.type)) {
    buf.writeUInt32BE(a.rdev >>> 0, off + 27);
    buf.writeUInt32BE(a.length >>> 0, off + 31);
  } else {
    const hi = Math.floor(a.length / 0x100000000);
    buf.writeUInt32BE(hi >>> 0, off + 27);
    buf.writeUInt32BE((a.length - hi * 0x100000000) >>> 0, off + 31);
  }
  buf[off + 35] = a.winattr & 0xff;
  return off + ATTR_RECORD_SIZE;
}

const attrReader = new Reader();

export function decodeAttr(b: Buffer): Result<Attr> {
  if (b.length !== ATTR_RECORD_SIZE) {
    return fail(new ProtocolError('MFS_PROTO_BAD_VALUE', `attribute record of ${b.length} bytes, expected 36`));
  }
  try {
    return ok(readAttr(attrReader.reset(b)));
  } catch (e) {
    if (ProtocolError.is(e)) return fail(e);
    throw e;
  }
}

export function encodeAttr(a: Attr): Buffer {
  const b = Buffer.allocUnsafe(ATTR_RECORD_SIZE);
  putAttr(b, 0, a);
  return b;
}

/** The ATTR field for message layouts. */
export const attr: Field<Attr> = { kind: 'attr', read: readAttr, write: writeAttr };

/**
 * The "length" a master reports for a directory: a decimal float code of the directory's total size
 * (fsnodes_fill_attr): 0 -> 1; < 1 KiB -> bytes*100; otherwise unit*1,000,000 + round-down(size*100/1024^unit)
 * for units KiB (1) ... PiB (5, computed as (size>>10)*100>>40); >= 2^60: unit 6 ((size>>10)*100>>50).
 */
export function dirLengthCode(size: bigint | number): number {
  let d = BigInt(size);
  const M = (v: bigint) => Number(BigInt.asUintN(64, v));
  if (d === 0n) return 1;
  if (d < 0x400n) return M(d * 100n);
  if (d < 0x100000n) return M(((d * 100n) >> 10n) + 1000000n);
  if (d < 0x40000000n) return M(((d * 100n) >> 20n) + 2000000n);
  if (d < 0x10000000000n) return M(((d * 100n) >> 30n) + 3000000n);
  if (d < 0x4000000000000n) return M(((d * 100n) >> 40n) + 4000000n);
  d >>= 10n;
  if (d << 10n < 0x1000000000000000n) return M(((d * 100n) >> 40n) + 5000000n);
  return M(((d * 100n) >> 50n) + 6000000n);
}

/** Approximate size in bytes a directory length code stands for (inverse of dirLengthCode, rounded down). */
export function dirLengthFromCode(code: number): number {
  if (code < 1000000) return Math.floor(code / 100);
  const unit = Math.floor(code / 1000000);
  const mant = code % 1000000;
  return Math.floor((mant * 1024 ** unit) / 100);
}

export function attrIsDir(a: Attr): boolean {
  return a.type === TYPE_DIRECTORY;
}
