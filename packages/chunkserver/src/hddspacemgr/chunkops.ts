import { open, rename, unlink } from 'node:fs/promises';
import { constants as FS } from 'node:fs';
import { crc32 } from 'node:zlib';
import {
  MFS_ERROR_CHUNKEXIST,
  MFS_ERROR_CRC,
  MFS_ERROR_EINVAL,
  MFS_ERROR_IO,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_WRONGSIZE,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import type { ChunkFile } from './chunkfile.js';
import type { HddSpaceMgr } from './index.js';
import {
  CHUNKCRCSIZE,
  EMPTY_BLOCK_CRC,
  HDR_VERSION_OFFSET,
  MFSBLOCKSINCHUNK,
  MFSBLOCKSIZE,
  MFSCHUNKSIZE,
  NEWHDRSIZE,
  blocksFor,
  dataOffset,
  encodeHeader,
} from './layout.js';

/**
 * The chunk operations the master orders (hdd_chunkop and the hdd_int_* functions of
 * mfschunkserver/hddspacemgr.c). Each returns a MooseFS status. A version argument of 0 means
 * "whatever version it has". New files are written under a temporary name and renamed into place,
 * so a crash never leaves a partial chunk under a chunk file name.
 */

const NOVERSION_LEN = 0xffffffff;

function versionOk(c: ChunkFile, version: number): boolean {
  return version === 0 || c.version === version;
}

async function writeVersion(c: ChunkFile, newVersion: number): Promise<number> {
  const vb = Buffer.allocUnsafe(4);
  vb.writeUInt32BE(newVersion >>> 0);
  try {
    await c.handle.write(vb, 0, 4, HDR_VERSION_OFFSET);
    return MFS_STATUS_OK;
  } catch (e) {
    c.owner.chunkError(c, true, e);
    return MFS_ERROR_IO;
  }
}

/** Renames the file to the new version and rewrites the header's version; leaves the chunk open on success. */
async function changeVersion(c: ChunkFile, version: number, newVersion: number): Promise<number> {
  if (newVersion === c.version) {
    return c.ioBegin('existing');
  }
  const from = c.path;
  const to = c.pathFor(newVersion);
  // An open handle survives the rename; readers holding the old version get WRONGVERSION.
  try {
    await rename(from, to);
  } catch (e) {
    c.owner.chunkError(c, true, e);
    return MFS_ERROR_IO;
  }
  c.version = newVersion;
  let st = await c.ioBegin('ignvers');
  if (st === MFS_STATUS_OK) {
    st = await writeVersion(c, newVersion);
    if (st !== MFS_STATUS_OK) await c.ioEnd();
  }
  if (st !== MFS_STATUS_OK) {
    await rename(to, from).then(
      () => (c.version = version),
      () => undefined,
    );
  }
  return st;
}

export async function createChunk(h: HddSpaceMgr, id: number, version: number): Promise<number> {
  const f = h.chooseFolder();
  if (!f) return MFS_ERROR_NOSPACE;
  const c = h.newChunk(f, id, version);
  if (!c) return MFS_ERROR_CHUNKEXIST;
  return c.exclusive(async () => {
    const st = await writeNewFile(c, encodeHeader(Buffer.allocUnsafe(NEWHDRSIZE + CHUNKCRCSIZE), id, version), undefined);
    if (st !== MFS_STATUS_OK) h.forget(c);
    return st;
  });
}

/**
 * Writes header (+CRC table) and, when `copyFrom` is given, that chunk's blocks into `<name>.tmp`,
 * then renames it to the chunk's name. `c.blocks` is set from what was written.
 */
async function writeNewFile(c: ChunkFile, hdr: Buffer, copyFrom: ChunkFile | undefined): Promise<number> {
  const final = c.path;
  const tmp = `${final}.tmp`;
  let fh;
  try {
    fh = await open(tmp, FS.O_RDWR | FS.O_CREAT | FS.O_TRUNC, 0o666);
  } catch (e) {
    c.owner.chunkError(c, false, e);
    return (e as NodeJS.ErrnoException).code === 'ENOSPC' ? MFS_ERROR_NOSPACE : MFS_ERROR_IO;
  }
  try {
    await fh.write(hdr, 0, NEWHDRSIZE + CHUNKCRCSIZE, 0);
    if (copyFrom) {
      const buf = Buffer.allocUnsafe(MFSBLOCKSIZE);
      const src = copyFrom.handle;
      for (let b = 0; b < copyFrom.blocks; b++) {
        const r = await src.read(buf, 0, MFSBLOCKSIZE, dataOffset(copyFrom.hdrSize, b));
        if (r.bytesRead !== MFSBLOCKSIZE) {
          copyFrom.owner.chunkError(copyFrom, true, new Error(`duplicate: short read of block ${b}`));
          throw Object.assign(new Error('source read error'), { reported: true });
        }
        await fh.write(buf, 0, MFSBLOCKSIZE, dataOffset(NEWHDRSIZE, b));
      }
    }
    await fh.close();
    fh = undefined;
    await rename(tmp, final);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (!(e as { reported?: boolean }).reported) c.owner.chunkError(c, false, e);
    return (e as NodeJS.ErrnoException).code === 'ENOSPC' ? MFS_ERROR_NOSPACE : MFS_ERROR_IO;
  }
  c.hdrSize = NEWHDRSIZE;
  c.blocks = copyFrom ? copyFrom.blocks : 0;
  c.owner.touched();
  return MFS_STATUS_OK;
}

export async function deleteChunk(h: HddSpaceMgr, id: number, version: number): Promise<number> {
  const c = h.getAny(id);
  if (!c || c.state === 'busy') return MFS_ERROR_NOCHUNK;
  return c.exclusive(async () => {
    if (c.state === 'deleted') return MFS_ERROR_NOCHUNK;
    if (!versionOk(c, version)) return MFS_ERROR_WRONGVERSION;
    if (!c.isOpen || c.refs === 0) await c.closeNow();
    try {
      await unlink(c.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        c.owner.chunkError(c, false, e);
        return MFS_ERROR_IO;
      }
    }
    h.forget(c);
    return MFS_STATUS_OK;
  });
}

export async function setChunkVersion(h: HddSpaceMgr, id: number, version: number, newVersion: number): Promise<number> {
  const c = h.get(id);
  if (!c) return MFS_ERROR_NOCHUNK;
  return c.exclusive(async () => {
    if (c.state !== 'avail') return MFS_ERROR_NOCHUNK;
    if (!versionOk(c, version)) return MFS_ERROR_WRONGVERSION;
    const st = await changeVersion(c, c.version, newVersion);
    if (st !== MFS_STATUS_OK) return st;
    return c.ioEnd();
  });
}

/** Cuts or extends chunk data to `length` bytes (the last partial block is zero-filled past length). */
async function truncateOpen(c: ChunkFile, length: number): Promise<number> {
  const blocks = blocksFor(length);
  const fh = c.handle;
  try {
    if (blocks > c.blocks) {
      await fh.truncate(dataOffset(c.hdrSize, blocks));
      for (let i = c.blocks; i < blocks; i++) c.setBlockCrc(i, EMPTY_BLOCK_CRC);
    } else {
      const last = Math.floor(length / MFSBLOCKSIZE);
      const inBlock = length % MFSBLOCKSIZE;
      await fh.truncate(dataOffset(c.hdrSize, 0) + length);
      c.invalidateBlock(last);
      let next = last;
      if (inBlock > 0) {
        await fh.truncate(dataOffset(c.hdrSize, blocks));
        const buf = Buffer.alloc(MFSBLOCKSIZE);
        const r = await fh.read(buf, 0, inBlock, dataOffset(c.hdrSize, last));
        if (r.bytesRead !== inBlock) throw new Error('truncate: short read');
        c.setBlockCrc(last, crc32(buf));
        next = last + 1;
      }
      for (let i = next; i < c.blocks; i++) c.setBlockCrc(i, EMPTY_BLOCK_CRC);
    }
  } catch (e) {
    c.owner.chunkError(c, true, e);
    return MFS_ERROR_IO;
  }
  c.blocks = blocks;
  c.owner.touched();
  return MFS_STATUS_OK;
}

export async function truncateChunk(h: HddSpaceMgr, id: number, version: number, newVersion: number, length: number): Promise<number> {
  if (length > MFSCHUNKSIZE) return MFS_ERROR_WRONGSIZE;
  const c = h.get(id);
  if (!c) return MFS_ERROR_NOCHUNK;
  return c.exclusive(async () => {
    if (c.state !== 'avail') return MFS_ERROR_NOCHUNK;
    if (!versionOk(c, version)) return MFS_ERROR_WRONGVERSION;
    let st = await changeVersion(c, c.version, newVersion);
    if (st !== MFS_STATUS_OK) return st;
    st = await truncateOpen(c, length);
    const end = await c.ioEnd();
    return st !== MFS_STATUS_OK ? st : end;
  });
}

/**
 * Copies chunk `id` (first renamed to `newVersion`) as a new chunk `copyId` at `copyVersion`
 * (0 = newVersion); with `length` the copy is then truncated to it (DUPTRUNC).
 */
export async function duplicateChunk(
  h: HddSpaceMgr,
  id: number,
  version: number,
  newVersion: number,
  copyId: number,
  copyVersion: number,
  length?: number,
): Promise<number> {
  if (length !== undefined && length > MFSCHUNKSIZE) return MFS_ERROR_WRONGSIZE;
  const oc = h.get(id);
  if (!oc) return MFS_ERROR_NOCHUNK;
  if (copyVersion === 0) copyVersion = newVersion;
  return oc.exclusive(async () => {
    if (oc.state !== 'avail') return MFS_ERROR_NOCHUNK;
    if (!versionOk(oc, version)) return MFS_ERROR_WRONGVERSION;
    const f = h.chooseFolder();
    if (!f) return MFS_ERROR_NOSPACE;
    const c = h.newChunk(f, copyId, copyVersion);
    if (!c) return MFS_ERROR_CHUNKEXIST;
    c.state = 'busy';
    let st = await changeVersion(oc, oc.version, newVersion);
    if (st !== MFS_STATUS_OK) {
      h.forget(c);
      return st;
    }
    const hdr = encodeHeader(Buffer.allocUnsafe(NEWHDRSIZE + CHUNKCRCSIZE), copyId, copyVersion);
    oc.crcTable().copy(hdr, NEWHDRSIZE, 0, CHUNKCRCSIZE);
    for (let i = oc.blocks; i < MFSBLOCKSINCHUNK; i++) hdr.writeUInt32BE(EMPTY_BLOCK_CRC, NEWHDRSIZE + i * 4);
    st = await writeNewFile(c, hdr, oc);
    await oc.ioEnd();
    if (st !== MFS_STATUS_OK) {
      h.forget(c);
      return st;
    }
    c.state = 'avail';
    if (length !== undefined) {
      st = await c.exclusive(async () => {
        let s = await c.ioBegin('existing');
        if (s !== MFS_STATUS_OK) return s;
        s = await truncateOpen(c, length);
        const e = await c.ioEnd();
        return s !== MFS_STATUS_OK ? s : e;
      });
    }
    return st;
  });
}

/** Reads every block and checks it against the CRC table (chunkop "test"). */
export async function testChunk(h: HddSpaceMgr, id: number, version: number): Promise<number> {
  const c = h.get(id);
  if (!c) return MFS_ERROR_NOCHUNK;
  return c.exclusive(async () => {
    if (!versionOk(c, version)) return MFS_ERROR_WRONGVERSION;
    const st = await c.ioBegin('existing');
    if (st !== MFS_STATUS_OK) return st;
    const buf = h.blocks.take();
    let res = MFS_STATUS_OK;
    try {
      for (let b = 0; b < c.blocks && res === MFS_STATUS_OK; b++) {
        const r = await c.handle.read(buf, 0, MFSBLOCKSIZE, dataOffset(c.hdrSize, b));
        if (r.bytesRead !== MFSBLOCKSIZE) {
          c.owner.chunkError(c, true, new Error(`test_chunk: data read error (block ${b})`));
          res = MFS_ERROR_IO;
        } else if (crc32(buf) !== c.blockCrc(b)) {
          c.owner.chunkError(c, true, new Error(`test_chunk: crc error (data block ${b})`));
          res = MFS_ERROR_CRC;
        }
      }
    } catch (e) {
      c.owner.chunkError(c, true, e);
      res = MFS_ERROR_IO;
    } finally {
      h.blocks.give(buf);
    }
    await c.ioEnd();
    return res;
  });
}

/**
 * MATOCS_CHUNKOP's one-call form (hdd_chunkop):
 * newversion>0: length 0xFFFFFFFF -> set version (copyid 0) / duplicate; length <= 64 MiB -> truncate /
 * duplicate+truncate. newversion 0: length 0 delete, 1 create, 2 test.
 */
export function chunkOp(h: HddSpaceMgr, id: number, version: number, newVersion: number, copyId: number, copyVersion: number, length: number): Promise<number> {
  if (newVersion > 0) {
    if (length === NOVERSION_LEN) {
      return copyId === 0 ? setChunkVersion(h, id, version, newVersion) : duplicateChunk(h, id, version, newVersion, copyId, copyVersion);
    }
    if (length <= MFSCHUNKSIZE) {
      return copyId === 0 ? truncateChunk(h, id, version, newVersion, length) : duplicateChunk(h, id, version, version, copyId, copyVersion, length);
    }
    return Promise.resolve(MFS_ERROR_EINVAL);
  }
  if (length === 0) return deleteChunk(h, id, version);
  if (length === 1) return createChunk(h, id, version);
  if (length === 2) return testChunk(h, id, version);
  return Promise.resolve(MFS_ERROR_EINVAL);
}

/** hdd_get_blocks */
export async function getChunkBlocks(h: HddSpaceMgr, id: number, version: number): Promise<{ status: number; blocks: number }> {
  const c = h.get(id);
  if (!c) return { status: MFS_ERROR_NOCHUNK, blocks: 0 };
  if (!versionOk(c, version)) return { status: MFS_ERROR_WRONGVERSION, blocks: 0 };
  return { status: MFS_STATUS_OK, blocks: c.blocks };
}

/** hdd_get_checksum_tab: the CRC table as stored (4096 bytes). */
export async function getChunkChecksumTab(h: HddSpaceMgr, id: number, version: number): Promise<{ status: number; tab?: Buffer }> {
  const c = h.get(id);
  if (!c) return { status: MFS_ERROR_NOCHUNK };
  return c.exclusive(async () => {
    if (!versionOk(c, version)) return { status: MFS_ERROR_WRONGVERSION };
    const st = await c.ioBegin('existing');
    if (st !== MFS_STATUS_OK) return { status: st };
    const tab = Buffer.from(c.crcTable());
    await c.ioEnd();
    return { status: MFS_STATUS_OK, tab };
  });
}

/** hdd_get_checksum: a 32-bit digest of the CRC table (x *= 426265243, x ^= entry, from x = 1). */
export async function getChunkChecksum(h: HddSpaceMgr, id: number, version: number): Promise<{ status: number; checksum: number }> {
  const r = await getChunkChecksumTab(h, id, version);
  if (!r.tab) return { status: r.status, checksum: 0 };
  let x = 1;
  for (let i = 0; i < CHUNKCRCSIZE; i += 4) {
    x = Math.imul(x, 426265243) >>> 0;
    x = (x ^ r.tab.readUInt32BE(i)) >>> 0;
  }
  return { status: MFS_STATUS_OK, checksum: x };
}
