import {
  ANTOAN_NOP,
  CLTOCS_READ,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_WRONGOFFSET,
  MFS_ERROR_WRONGSIZE,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
  MFSBLOCKSIZE,
  MFSCHUNKSIZE,
  READ_DATA_HEADER_SIZE,
  putReadDataHeader,
  putReadStatus,
} from '@mfs-ts/protocol';
import type { CsConn } from '../csserv.js';

/** At most this many whole blocks are read from the disk in one preadv and sent in one socket write. */
const READ_BATCH = 16;

function status(conn: CsConn, chunkid: number, st: number): void {
  const b = Buffer.allocUnsafe(17);
  putReadStatus(b, 0, chunkid, st);
  conn.send(b);
}

/**
 * CLTOCS_READ `[protover:8] chunkid:64 version:32 offset:32 size:32` (mainserv_read): streams
 * CSTOCL_READ_DATA pieces that never cross a 64 KiB block, each with the crc32 of its bytes, then
 * CSTOCL_READ_STATUS. Any error ends the stream with that status; data that fails its CRC check on
 * disk is never sent. The client may only send NOPs meanwhile; anything else closes the link.
 */
export async function serveRead(conn: CsConn, payload: Buffer): Promise<void> {
  if (payload.length !== 20 && payload.length !== 21) {
    conn.kill(`CLTOCS_READ - wrong size (${payload.length}/20|21)`, CLTOCS_READ);
    conn.detach(false);
    return;
  }
  const base = payload.length === 21 ? 1 : 0;
  const protover = base ? payload[0]! : 0;
  const chunkid = payload.readUInt32BE(base) * 0x100000000 + payload.readUInt32BE(base + 4);
  const version = payload.readUInt32BE(base + 8);
  let offset = payload.readUInt32BE(base + 12);
  let size = payload.readUInt32BE(base + 16);
  if (size === 0) {
    status(conn, chunkid, MFS_STATUS_OK);
    return conn.detach(true);
  }
  if (size > MFSCHUNKSIZE) {
    status(conn, chunkid, MFS_ERROR_WRONGSIZE);
    return conn.detach(true);
  }
  if (offset >= MFSCHUNKSIZE || offset + size > MFSCHUNKSIZE) {
    status(conn, chunkid, MFS_ERROR_WRONGOFFSET);
    return conn.detach(true);
  }
  let gone = false;
  conn.attach(
    (type) => {
      if (type !== ANTOAN_NOP) {
        conn.kill('received garbage during read', type);
      }
    },
    () => {
      gone = true;
    },
  );
  const hdd = conn.hdd;
  const c = hdd.get(chunkid);
  if (!c) {
    status(conn, chunkid, MFS_ERROR_NOCHUNK);
    return conn.detach(true);
  }
  if (c.version !== version && version > 0) {
    status(conn, chunkid, MFS_ERROR_WRONGVERSION);
    return conn.detach(true);
  }
  conn.readKeepalive = protover === 1;
  const pool = conn.bufs.packets;
  let st = await c.exclusive(() => c.ioBegin());
  const opened = st === MFS_STATUS_OK;
  try {
    if (!opened) {
      if (!gone) status(conn, chunkid, st);
      return;
    }
    const bufs: Buffer[] = [];
    const views: Buffer[] = [];
    while (size > 0 && !gone) {
      const block = Math.floor(offset / MFSBLOCKSIZE);
      const inBlock = offset % MFSBLOCKSIZE;
      let piece = Math.min(size, MFSBLOCKSIZE - inBlock);
      st = await c.exclusive(() => {
        // Whole blocks the chunk has go in one preadv (up to READ_BATCH); anything else one by one.
        const k = inBlock === 0 ? Math.min(Math.floor(size / MFSBLOCKSIZE), c.blocks - block, READ_BATCH) : 0;
        if (k >= 2) {
          for (let i = 0; i < k; i++) bufs.push(pool.take());
          return c.readBlocks(version, block, bufs, READ_DATA_HEADER_SIZE, 24, views);
        }
        bufs.push(pool.take());
        return c.read(version, block, inBlock, piece, bufs[0]!, READ_DATA_HEADER_SIZE, 24);
      });
      if (st !== MFS_STATUS_OK) {
        for (const b of bufs) pool.give(b);
        bufs.length = 0;
        if (!gone) status(conn, chunkid, st);
        return;
      }
      // Every piece of the batch (and the final status after the last one) in one socket write.
      conn.sock.cork();
      for (let i = 0; i < bufs.length; i++) {
        const buf = bufs[i]!;
        if (bufs.length > 1) piece = MFSBLOCKSIZE;
        putReadDataHeader(buf, 0, chunkid, block + i, inBlock, piece, buf.readUInt32BE(24));
        conn.send(buf.subarray(0, READ_DATA_HEADER_SIZE + piece), () => pool.give(buf));
        offset += piece;
        size -= piece;
      }
      bufs.length = 0;
      if (size === 0 && !gone) status(conn, chunkid, MFS_STATUS_OK);
      conn.sock.uncork();
      await conn.drained();
    }
  } finally {
    conn.readKeepalive = false;
    // The final status is out: the client's next request waits for detach instead of being "garbage".
    conn.unroute();
    if (opened) await c.exclusive(() => c.ioEnd()).catch(() => undefined);
    conn.detach(!gone);
  }
}
