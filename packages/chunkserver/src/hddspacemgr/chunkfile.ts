import { open, type FileHandle } from 'node:fs/promises';
import { constants as FS, read as fsRead, readv as fsReadv, writev as fsWritev } from 'node:fs';
import { crc32 } from 'node:zlib';
import {
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_BNUMTOOBIG,
  MFS_ERROR_CRC,
  MFS_ERROR_IO,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_WRONGOFFSET,
  MFS_ERROR_WRONGSIZE,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import type { BufferPool } from './bufpool.js';
import { since, type DiskStats } from './hddstats.js';
import {
  CHUNKCRCSIZE,
  EMPTY_BLOCK_CRC,
  HDR_USED,
  MFSBLOCKSINCHUNK,
  MFSBLOCKSIZE,
  NEWHDRSIZE,
  chunkPath,
  crcOfZeros,
  dataOffset,
  parseHeader,
} from './layout.js';

/** What a chunk needs from its disk and from the space manager. */
export interface ChunkOwner {
  /** The disk directory, ending in '/'. */
  readonly path: string;
  readonly readOnly: boolean;
  /** An I/O or CRC problem with this chunk: counted against the disk; `damaged` also tells the master. */
  chunkError(c: ChunkFile, damaged: boolean, err?: unknown): void;
  /** The disk's usage changed (new blocks, removed chunk). */
  touched(): void;
  /** I/O statistics of the disk (CSTOCL_HDD_LIST). */
  readonly stats: DiskStats;
}

export interface ChunkEnv {
  readonly blocks: BufferPool;
  fsyncBeforeClose(): boolean;
  /** HDD_SPARSIFY_ON_WRITE: zero runs written into new blocks are left as holes. */
  sparsify(): boolean;
}

/**
 * The part of `b[from, to)` worth writing into a new (all-zero) block, `b` holding the block from its
 * start: from the first to the last non-zero byte, widened to 512-byte boundaries and kept inside the
 * piece (hdd_write's sparsification). Empty when the piece is all zeros.
 */
export function nonZeroSpan(b: Buffer, from: number, to: number): [number, number] {
  let s = from;
  while (s < to && b[s] === 0) s++;
  if (s === to) return [from, from];
  let e = to;
  while (e > s && b[e - 1] === 0) e--;
  return [Math.max(from, Math.floor(s / 512) * 512), Math.min(to, Math.ceil(e / 512) * 512)];
}

/** pwritev / preadv of all of `bufs` at `pos`, as one promise (the callback API: cheaper than FileHandle's). */
function pwritev(fd: number, bufs: Buffer[], pos: number): Promise<number> {
  return new Promise((resolve, reject) => fsWritev(fd, bufs, pos, (err, n) => (err ? reject(err) : resolve(n))));
}
function pread(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}
function preadv(fd: number, bufs: Buffer[], pos: number): Promise<number> {
  return new Promise((resolve, reject) => fsReadv(fd, bufs, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** The CRC table and file handle stay open this long after the last user, as MooseFS's OPEN_DELAY. */
const OPEN_DELAY_MS = 500;

type Mode = 'existing' | 'new' | 'ignvers';

/**
 * One chunk on one disk: its identity and version (which name the file), its block count, and while
 * in use an open file handle with the CRC table in memory. Every operation on the file runs inside
 * `exclusive`, one at a time, so a reader never sees a block and its CRC out of step.
 */
export class ChunkFile {
  blocks = 0;
  hdrSize = NEWHDRSIZE;
  /** blocks/hdrSize come from the file's size; false when the file could not be examined. */
  validAttr = true;
  /** 'busy' while being created by replication (invisible to clients and the master). */
  state: 'avail' | 'busy' | 'deleted' = 'avail';
  damaged = false;
  /** Set while the data lives under a temporary name (replication in progress). */
  tmpName: string | undefined;
  /** Seconds (epoch) of the last use or test: the background tester skips recently used chunks. */
  testTime = 0;

  private fh: FileHandle | undefined;
  refs = 0;
  private crc: Buffer | undefined;
  private crcChanged = false;
  private fsyncNeeded = false;
  private block: Buffer | undefined;
  private blockNo = -1;
  private closeTimer: NodeJS.Timeout | undefined;
  /** When the last user let go (ms epoch). */
  private lastEnd = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: number,
    public version: number,
    public owner: ChunkOwner,
    public pathId: number,
    private readonly env: ChunkEnv,
  ) {}

  get path(): string {
    return this.tmpName ?? chunkPath(this.owner.path, this.pathId, this.id, this.version);
  }

  pathFor(version: number): string {
    return chunkPath(this.owner.path, this.pathId, this.id, version);
  }

  /** Bytes the file takes on disk (header, CRC table, blocks). */
  get fileSize(): number {
    return dataOffset(this.hdrSize, this.blocks);
  }

  get isOpen(): boolean {
    return this.fh !== undefined;
  }

  /** Runs `fn` after every operation queued before it; failures do not break the queue. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** hdd_io_begin: opens the file and loads the CRC table (checks the header). Call inside exclusive. */
  async ioBegin(mode: Mode = 'existing'): Promise<number> {
    this.testTime = Math.floor(Date.now() / 1000);
    if (this.refs === 0 || !this.fh) {
      if (!this.validAttr && mode !== 'new') return MFS_ERROR_IO;
      if (!this.fh) {
        try {
          const flags = mode === 'new' ? FS.O_RDWR | FS.O_CREAT | FS.O_EXCL : this.owner.readOnly ? FS.O_RDONLY : FS.O_RDWR;
          this.fh = await open(this.path, flags, 0o666);
          this.fsyncNeeded = false;
        } catch (e) {
          // hdd_open reports an existing chunk it cannot open as damaged; a failed create is only an error.
          this.owner.chunkError(this, mode !== 'new', e);
          return (e as NodeJS.ErrnoException).code === 'ENOSPC' ? MFS_ERROR_NOSPACE : MFS_ERROR_IO;
        }
      }
      if (!this.crc) {
        if (mode === 'new') {
          this.crc = Buffer.allocUnsafe(CHUNKCRCSIZE);
          for (let i = 0; i < CHUNKCRCSIZE; i += 4) this.crc.writeUInt32BE(EMPTY_BLOCK_CRC, i);
        } else {
          const st = await this.readCrc(mode);
          if (st !== MFS_STATUS_OK) {
            if (this.refs === 0) await this.closeNow();
            return st;
          }
        }
        this.crcChanged = false;
      }
    }
    this.refs++;
    return MFS_STATUS_OK;
  }

  private async readCrc(mode: Mode): Promise<number> {
    const fh = this.fh!;
    const hdr = Buffer.allocUnsafe(HDR_USED);
    try {
      const r = await fh.read(hdr, 0, HDR_USED, 0);
      if (r.bytesRead !== HDR_USED) throw new Error('short header read');
      const h = parseHeader(hdr);
      if (!h.ok) throw new Error(h.reason);
      if (h.chunkId !== this.id || (mode !== 'ignvers' && h.version !== this.version)) {
        throw new Error(`wrong id/version in header (${h.chunkId.toString(16)}_${h.version.toString(16)})`);
      }
      const crc = Buffer.allocUnsafe(CHUNKCRCSIZE);
      const c = await fh.read(crc, 0, CHUNKCRCSIZE, this.hdrSize);
      if (c.bytesRead !== CHUNKCRCSIZE) throw new Error('short CRC table read');
      this.crc = crc;
      return MFS_STATUS_OK;
    } catch (e) {
      this.owner.chunkError(this, true, e);
      return MFS_ERROR_IO;
    }
  }

  /** hdd_io_end: writes the CRC table if it changed; the file closes a moment after the last user. */
  async ioEnd(): Promise<number> {
    let status = MFS_STATUS_OK;
    if (this.crcChanged && this.fh && this.crc) {
      try {
        await this.fh.write(this.crc, 0, CHUNKCRCSIZE, this.hdrSize);
        this.fsyncNeeded = true;
      } catch (e) {
        this.owner.chunkError(this, true, e);
        status = MFS_ERROR_IO;
      }
      this.crcChanged = false;
      this.owner.touched();
    }
    if (this.refs > 0) this.refs--;
    if (this.refs === 0 && this.fh) {
      this.lastEnd = Date.now();
      if (!this.closeTimer) this.armClose(OPEN_DELAY_MS);
    }
    return status;
  }

  /**
   * One timer closes the file OPEN_DELAY_MS after its last user: it is not re-created for every
   * use (many short reads of one chunk), it looks again when it fires and waits for the rest.
   */
  private armClose(ms: number): void {
    this.closeTimer = setTimeout(() => {
      this.closeTimer = undefined;
      void this.exclusive(async () => {
        if (this.refs !== 0 || !this.fh || this.closeTimer) return;
        const left = this.lastEnd + OPEN_DELAY_MS - Date.now();
        if (left > 0) this.armClose(left);
        else await this.closeNow();
      });
    }, ms);
    this.closeTimer.unref();
  }

  /** Closes the file at once (fsync first when HDD_FSYNC_BEFORE_CLOSE). Call inside exclusive. */
  async closeNow(): Promise<void> {
    if (this.closeTimer) {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
    }
    const fh = this.fh;
    this.fh = undefined;
    if (fh) {
      try {
        if (this.crcChanged && this.crc) await fh.write(this.crc, 0, CHUNKCRCSIZE, this.hdrSize);
        if (this.fsyncNeeded && this.env.fsyncBeforeClose()) {
          const t0 = process.hrtime.bigint();
          await fh.sync();
          this.owner.stats.fsync(since(t0));
        }
      } catch (e) {
        this.owner.chunkError(this, true, e);
      }
      await fh.close().catch(() => undefined);
    }
    this.crcChanged = false;
    this.fsyncNeeded = false;
    this.crc = undefined;
    this.refs = 0;
    if (this.block) {
      this.env.blocks.give(this.block);
      this.block = undefined;
    }
    this.blockNo = -1;
  }

  /** The in-memory CRC of a block (the chunk must be open). */
  blockCrc(block: number): number {
    return this.crc!.readUInt32BE(block * 4);
  }

  /** The CRC table as stored (4096 bytes); the chunk must be open. */
  crcTable(): Buffer {
    return this.crc!;
  }

  setCrcTable(src: Buffer): void {
    src.copy(this.crc!, 0, 0, CHUNKCRCSIZE);
    this.crcChanged = true;
  }

  setBlockCrc(block: number, crc: number): void {
    this.crc!.writeUInt32BE(crc >>> 0, block * 4);
    this.crcChanged = true;
  }

  get handle(): FileHandle {
    return this.fh!;
  }

  invalidateBlock(fromBlock = 0): void {
    if (this.blockNo >= fromBlock) this.blockNo = -1;
  }

  private checkArgs(version: number, block: number, offset: number, size: number): number {
    if (!this.fh || this.state === 'deleted') return MFS_ERROR_NOCHUNK;
    if (this.version !== version && version > 0) return MFS_ERROR_WRONGVERSION;
    if (block >= MFSBLOCKSINCHUNK) return MFS_ERROR_BNUMTOOBIG;
    if (size > MFSBLOCKSIZE) return MFS_ERROR_WRONGSIZE;
    if (offset >= MFSBLOCKSIZE || offset + size > MFSBLOCKSIZE) return MFS_ERROR_WRONGOFFSET;
    return MFS_STATUS_OK;
  }

  /** Loads block `block` into the preserved block buffer and checks it against the CRC table. */
  private async loadBlock(block: number): Promise<number> {
    if (!this.block) this.block = this.env.blocks.take();
    if (this.blockNo === block) return MFS_STATUS_OK;
    this.blockNo = -1;
    let n: number;
    try {
      const t0 = process.hrtime.bigint();
      n = await pread(this.fh!.fd, this.block, 0, MFSBLOCKSIZE, dataOffset(this.hdrSize, block));
      this.owner.stats.read(MFSBLOCKSIZE, since(t0));
    } catch (e) {
      this.owner.chunkError(this, true, e);
      return MFS_ERROR_IO;
    }
    if (n !== MFSBLOCKSIZE) {
      // A short file: the block cannot match its CRC, and must not be served.
      this.owner.chunkError(this, true, new Error(`block ${block}: short read (${n})`));
      return MFS_ERROR_IO;
    }
    if (crc32(this.block) !== this.blockCrc(block)) {
      this.owner.chunkError(this, true, new Error(`block ${block}: crc error`));
      return MFS_ERROR_CRC;
    }
    this.blockNo = block;
    return MFS_STATUS_OK;
  }

  /**
   * hdd_read: `size` bytes at `offset` of block `block` into dst[dataOff..], and the crc32 of those
   * bytes at dst[crcOff] (big-endian). The whole block is checked against the CRC table first; on a
   * mismatch the data is not returned, the status is MFS_ERROR_CRC and the chunk is reported damaged.
   * The chunk must be open (ioBegin).
   */
  async read(version: number, block: number, offset: number, size: number, dst: Buffer, dataOff: number, crcOff: number): Promise<number> {
    const st = this.checkArgs(version, block, offset, size);
    if (st !== MFS_STATUS_OK) return st;
    if (block >= this.blocks) {
      dst.fill(0, dataOff, dataOff + size);
      dst.writeUInt32BE(crcOfZeros(size), crcOff);
      return MFS_STATUS_OK;
    }
    if (offset === 0 && size === MFSBLOCKSIZE && this.blockNo !== block) {
      let n: number;
      try {
        const t0 = process.hrtime.bigint();
        n = await pread(this.fh!.fd, dst, dataOff, MFSBLOCKSIZE, dataOffset(this.hdrSize, block));
        this.owner.stats.read(MFSBLOCKSIZE, since(t0));
      } catch (e) {
        this.owner.chunkError(this, true, e);
        return MFS_ERROR_IO;
      }
      const crc = crc32(dst.subarray(dataOff, dataOff + MFSBLOCKSIZE));
      if (n !== MFSBLOCKSIZE) {
        this.owner.chunkError(this, true, new Error(`block ${block}: short read (${n})`));
        return MFS_ERROR_IO;
      }
      if (crc !== this.blockCrc(block)) {
        this.owner.chunkError(this, true, new Error(`block ${block}: crc error (data ${crc.toString(16)}, table ${this.blockCrc(block).toString(16)})`));
        return MFS_ERROR_CRC;
      }
      dst.writeUInt32BE(crc, crcOff);
      return MFS_STATUS_OK;
    }
    const ls = await this.loadBlock(block);
    if (ls !== MFS_STATUS_OK) return ls;
    this.block!.copy(dst, dataOff, offset, offset + size);
    dst.writeUInt32BE(size === MFSBLOCKSIZE ? this.blockCrc(block) : crc32(this.block!.subarray(offset, offset + size)), crcOff);
    return MFS_STATUS_OK;
  }

  /**
   * hdd_write: `size` bytes of data[dataOff..] at `offset` of block `block`, whose crc32 the sender
   * gave as `crc`. Data whose CRC does not match is refused (MFS_ERROR_CRC) and nothing is written.
   * A partial write into an existing block checks that block against the table first. Blocks past
   * the end are added (a gap becomes zero blocks). The chunk must be open.
   */
  async write(version: number, block: number, offset: number, size: number, data: Buffer, dataOff: number, crc: number): Promise<number> {
    const st = this.checkArgs(version, block, offset, size);
    if (st !== MFS_STATUS_OK) return st;
    const piece = data.subarray(dataOff, dataOff + size);
    if (crc32(piece) !== crc >>> 0) return MFS_ERROR_CRC;
    const fh = this.fh!;
    const grew = block >= this.blocks;
    try {
      const sparse = grew && this.env.sparsify();
      if (offset === 0 && size === MFSBLOCKSIZE) {
        if (grew) this.extendTo(block);
        this.invalidateBlock();
        const [s, e] = sparse ? nonZeroSpan(piece, 0, MFSBLOCKSIZE) : [0, MFSBLOCKSIZE];
        if (e > s) {
          const t0 = process.hrtime.bigint();
          await fh.write(piece, s, e - s, dataOffset(this.hdrSize, block) + s);
          this.owner.stats.write(e - s, since(t0));
        }
        if (e < MFSBLOCKSIZE) await fh.truncate(dataOffset(this.hdrSize, block + 1));
        // The bytes went to the disk while we waited: if the buffer changed meanwhile (a pooled buffer
        // reused too early), the disk does not hold what the CRC says. Refuse, as hdd_write does.
        if (crc32(piece) !== crc >>> 0) return await this.changedUnderWrite(block);
        this.setBlockCrc(block, crc);
      } else {
        let truncNeeded = false;
        if (!grew) {
          const ls = await this.loadBlock(block);
          if (ls !== MFS_STATUS_OK) return ls;
        } else {
          if (!this.block) this.block = this.env.blocks.take();
          this.extendTo(block);
          this.block.fill(0);
          this.blockNo = block;
          truncNeeded = offset + size < MFSBLOCKSIZE;
        }
        const b = this.block!;
        piece.copy(b, offset);
        // The CRC of what is sent to the disk, taken before the write and checked after it (see above).
        const blockCrc = crc32(b);
        const [s, e] = sparse ? nonZeroSpan(b, offset, offset + size) : [offset, offset + size];
        if (e > s) {
          const t0 = process.hrtime.bigint();
          await fh.write(b, s, e - s, dataOffset(this.hdrSize, block) + s);
          this.owner.stats.write(e - s, since(t0));
        }
        if (truncNeeded || (grew && e < MFSBLOCKSIZE)) await fh.truncate(dataOffset(this.hdrSize, block + 1));
        if (crc32(b) !== blockCrc) return await this.changedUnderWrite(block);
        this.setBlockCrc(block, blockCrc);
      }
    } catch (e) {
      this.invalidateBlock();
      this.owner.chunkError(this, true, e);
      return (e as NodeJS.ErrnoException).code === 'ENOSPC' ? MFS_ERROR_NOSPACE : MFS_ERROR_IO;
    }
    if (grew) this.owner.touched();
    return MFS_STATUS_OK;
  }

  /**
   * hdd_write for whole consecutive blocks `first`, `first + 1`... in one pwritev: `pieces[i]` is
   * block `first + i` (64 KiB) and `crcs[i]` the CRC its sender gave. Every piece is checked against
   * its CRC before the write and again after it (as write() does); the run stops before the first
   * piece that is not a whole block, fails its CRC, or (HDD_SPARSIFY_ON_WRITE) would leave a hole in
   * a new block: those go through write(), one by one. `out[i]` gets each written block's status;
   * the return value is how many pieces were handled (0 when the first one cannot be batched).
   * The chunk must be open (ioBegin).
   */
  async writeBlocks(version: number, first: number, pieces: readonly Buffer[], crcs: readonly number[], out: number[]): Promise<number> {
    const st = this.checkArgs(version, first, 0, MFSBLOCKSIZE);
    let k = 0;
    if (st === MFS_STATUS_OK) {
      const sparse = this.env.sparsify();
      const max = Math.min(pieces.length, MFSBLOCKSINCHUNK - first);
      for (; k < max; k++) {
        const p = pieces[k]!;
        if (p.length !== MFSBLOCKSIZE || crc32(p) !== crcs[k]! >>> 0) break;
        if (sparse && first + k >= this.blocks) {
          const [s0, e0] = nonZeroSpan(p, 0, MFSBLOCKSIZE);
          if (s0 !== 0 || e0 !== MFSBLOCKSIZE) break;
        }
      }
    }
    if (k === 0) return 0;
    const run = k === pieces.length ? (pieces as Buffer[]) : pieces.slice(0, k);
    const grew = first + k > this.blocks;
    try {
      if (grew) this.extendTo(first + k - 1);
      this.invalidateBlock();
      const t0 = process.hrtime.bigint();
      const n = await pwritev(this.fh!.fd, run, dataOffset(this.hdrSize, first));
      this.owner.stats.write(n, since(t0));
      if (n !== k * MFSBLOCKSIZE) {
        const e = new Error(`blocks ${first}-${first + k - 1}: short write (${n})`) as NodeJS.ErrnoException;
        e.code = 'ENOSPC';
        throw e;
      }
    } catch (e) {
      this.owner.chunkError(this, true, e);
      const code = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? MFS_ERROR_NOSPACE : MFS_ERROR_IO;
      for (let i = 0; i < k; i++) out[i] = code;
      return k;
    }
    for (let i = 0; i < k; i++) {
      if (crc32(pieces[i]!) !== crcs[i]! >>> 0) out[i] = await this.changedUnderWrite(first + i);
      else {
        this.setBlockCrc(first + i, crcs[i]!);
        out[i] = MFS_STATUS_OK;
      }
    }
    if (grew) this.owner.touched();
    return k;
  }

  /**
   * hdd_read for whole blocks `first`, `first + 1`... that the chunk has, in one preadv: block
   * `first + i` into `dsts[i]` at `dataOff`, its CRC (checked against the table before anything is
   * returned) at `crcOff`. A CRC mismatch or short read fails the whole call as read() would, and
   * reports the chunk damaged. The chunk must be open (ioBegin).
   */
  async readBlocks(version: number, first: number, dsts: readonly Buffer[], dataOff: number, crcOff: number, views: Buffer[]): Promise<number> {
    const k = dsts.length;
    const st = this.checkArgs(version, first + k - 1, 0, MFSBLOCKSIZE);
    if (st !== MFS_STATUS_OK) return st;
    if (first + k > this.blocks) return MFS_ERROR_WRONGOFFSET;
    views.length = k;
    for (let i = 0; i < k; i++) views[i] = dsts[i]!.subarray(dataOff, dataOff + MFSBLOCKSIZE);
    let n: number;
    try {
      const t0 = process.hrtime.bigint();
      n = await preadv(this.fh!.fd, views, dataOffset(this.hdrSize, first));
      this.owner.stats.read(n, since(t0));
    } catch (e) {
      this.owner.chunkError(this, true, e);
      return MFS_ERROR_IO;
    }
    if (n !== k * MFSBLOCKSIZE) {
      this.owner.chunkError(this, true, new Error(`blocks ${first}-${first + k - 1}: short read (${n})`));
      return MFS_ERROR_IO;
    }
    for (let i = 0; i < k; i++) {
      const crc = crc32(views[i]!);
      if (crc !== this.blockCrc(first + i)) {
        this.owner.chunkError(this, true, new Error(`block ${first + i}: crc error (data ${crc.toString(16)}, table ${this.blockCrc(first + i).toString(16)})`));
        return MFS_ERROR_CRC;
      }
      dsts[i]!.writeUInt32BE(crc, crcOff);
    }
    return MFS_STATUS_OK;
  }

  /**
   * The source buffer of a block write changed before the write finished, so the disk holds neither
   * the old block nor exactly the new one. The block is read back and its CRC entry made to match the
   * disk (the chunk stays consistent, a resent piece can be merged into it), the error is counted and
   * the writer gets MFS_ERROR_CRC, so it sends the data again; nothing is acknowledged that is not on disk.
   */
  private async changedUnderWrite(block: number): Promise<number> {
    this.invalidateBlock();
    this.owner.chunkError(this, false, new Error(`block ${block}: data changed while being written (buffer reused) - write refused`));
    const back = Buffer.alloc(MFSBLOCKSIZE);
    await this.fh!.read(back, 0, MFSBLOCKSIZE, dataOffset(this.hdrSize, block));
    this.setBlockCrc(block, crc32(back));
    return MFS_ERROR_CRC;
  }

  /** Blocks [this.blocks, block) become empty blocks and `block` the last one. */
  private extendTo(block: number): void {
    for (let i = this.blocks; i < block; i++) this.crc!.writeUInt32BE(EMPTY_BLOCK_CRC, i * 4);
    this.crcChanged = true;
    this.blocks = block + 1;
  }
}
