import { writeAttr, type Attr } from '../attr.js';
import { Writer } from '../codec/writer.js';
import { MATOCL_FUSE_READDIR } from '../ids.js';

/**
 * A MATOCL_FUSE_READDIR reply written entry by entry, in the layouts of MatoclFuseReaddir's
 * `withAttr` and `plain` forms (`msgid nedgeid:64` then `NAME inode:32 ATTR` or `NAME inode:32
 * type:8` per entry; fsnodes_readdirdata in mfsmaster/filesystem.c): a directory of many entries
 * is encoded without an object per entry. Names are given as latin1 strings (one char per byte).
 * One writer serves one reply at a time: `begin`, the entries, `finish`.
 */
export class ReaddirReplyWriter {
  private readonly w = new Writer(64 * 1024);

  begin(msgid: number, nedgeid: bigint): this {
    this.w.reset();
    this.w.begin(MATOCL_FUSE_READDIR);
    this.w.u32(msgid).u64(nedgeid);
    return this;
  }

  entryAttr(name: string, inode: number, attr: Attr): void {
    this.w.u8(name.length).latin1(name).u32(inode);
    writeAttr(this.w, attr);
  }

  entryType(name: string, inode: number, type: number): void {
    this.w.u8(name.length).latin1(name).u32(inode).u8(type);
  }

  /** The packet, as a buffer of its own. */
  finish(): Buffer {
    return this.w.finishCopy();
  }
}
