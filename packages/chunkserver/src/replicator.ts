import type { Socket } from 'node:net';
import { open, rename, unlink } from 'node:fs/promises';
import {
  ANTOCS_GET_CHUNK_BLOCKS,
  CLTOCS_READ,
  CSTOAN_CHUNK_BLOCKS,
  CSTOCL_READ_DATA,
  CSTOCL_READ_STATUS,
  CSTOCS_MAXPACKETSIZE,
  MFS_ERROR_CANTCONNECT,
  MFS_ERROR_CHUNKEXIST,
  MFS_ERROR_DISCONNECTED,
  MFS_ERROR_IO,
  MFS_ERROR_NOSPACE,
  MFS_ERROR_WRONGCHUNKID,
  MFS_ERROR_WRONGOFFSET,
  MFS_ERROR_WRONGSIZE,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
  MFSBLOCKSIZE,
  PacketFramer,
  u32ToIp,
} from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';
import type { HddSpaceMgr } from './hddspacemgr/index.js';
import { CHUNKCRCSIZE, NEWHDRSIZE, encodeHeader } from './hddspacemgr/layout.js';
import { connectOnce } from './mainserv/write.js';

/** Connect / send / receive timeouts of the replicator (replicator.c *MSECTO). */
const CONN_MS = 5000;
const RECV_MS = 5000;

/** Whole packets from a socket, awaited one at a time. */
class PacketReader {
  private readonly framer = new PacketFramer(CSTOCS_MAXPACKETSIZE);
  private readonly queue: Array<{ type: number; data: Buffer }> = [];
  private waiter: (() => void) | undefined;
  private done = false;

  constructor(
    private readonly sock: Socket,
    private readonly received?: (n: number) => void,
  ) {
    sock.on('data', (d: Buffer) => {
      this.received?.(d.length);
      const err = this.framer.push(d, (type, payload, stable) => this.queue.push({ type, data: stable ? payload : Buffer.from(payload) }));
      if (err) this.sock.destroy();
      this.waiter?.();
    });
    sock.on('close', () => {
      this.done = true;
      this.waiter?.();
    });
    sock.on('error', () => undefined);
  }

  async next(ms: number): Promise<{ type: number; data: Buffer } | undefined> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.done) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          r();
        };
      });
    }
    return this.queue.shift();
  }
}

function u64(b: Buffer, o: number): number {
  return b.readUInt32BE(o) * 0x100000000 + b.readUInt32BE(o + 4);
}

/**
 * MATOCS_REPLICATE (replicator.c, one source): makes a copy of chunk `chunkid` at `version` by asking
 * the source server for its block count (ANTOCS_GET_CHUNK_BLOCKS) and reading all blocks
 * (CLTOCS_READ). Each block is checked against the CRC sent with it as it is written. The copy is
 * built under a temporary name and appears under its chunk name only when complete.
 */
export async function replicate(
  hdd: HddSpaceMgr,
  log: Logger,
  chunkid: number,
  version: number,
  ip: number,
  port: number,
  /** Bytes received from / sent to the source (the csrepin / csrepout charts). */
  traffic?: { in(n: number): void; out(n: number): void },
): Promise<number> {
  if (hdd.getAny(chunkid)) return MFS_ERROR_CHUNKEXIST;
  const f = hdd.chooseFolder();
  if (!f) return MFS_ERROR_NOSPACE;
  const c = hdd.newChunk(f, chunkid, version);
  if (!c) return MFS_ERROR_CHUNKEXIST;
  c.state = 'busy';
  const final = c.path;
  c.tmpName = `${final}.tmp`;
  let sock: Socket | undefined;
  let opened = false;
  const fail = async (st: number, why: string): Promise<number> => {
    log.info({ chunk: chunkid.toString(16), source: `${u32ToIp(ip)}:${port}` }, `replicator: ${why}`);
    sock?.destroy();
    await c.exclusive(async () => {
      if (opened) await c.ioEnd();
      await c.closeNow();
    });
    await unlink(c.tmpName!).catch(() => undefined);
    hdd.forget(c);
    return st;
  };
  try {
    const fh = await open(c.tmpName, 'wx', 0o666);
    await fh.write(encodeHeader(Buffer.allocUnsafe(NEWHDRSIZE + CHUNKCRCSIZE), chunkid, version), 0, NEWHDRSIZE + CHUNKCRCSIZE, 0);
    await fh.close();
  } catch (e) {
    return fail(MFS_ERROR_IO, `create error: ${(e as Error).message}`);
  }
  sock = await connectOnce(ip, port, CONN_MS);
  if (!sock) return fail(MFS_ERROR_CANTCONNECT, 'connect error');
  const rd = new PacketReader(sock, traffic?.in);
  const st0 = await c.exclusive(() => c.ioBegin('existing'));
  if (st0 !== MFS_STATUS_OK) return fail(st0, 'open error');
  opened = true;
  const req = Buffer.alloc(20);
  req.writeUInt32BE(ANTOCS_GET_CHUNK_BLOCKS, 0);
  req.writeUInt32BE(12, 4);
  req.writeUInt32BE(Math.floor(chunkid / 0x100000000), 8);
  req.writeUInt32BE(chunkid >>> 0, 12);
  req.writeUInt32BE(version >>> 0, 16);
  traffic?.out(req.length);
  sock.write(req);
  const bp = await rd.next(RECV_MS);
  if (!bp || bp.type !== CSTOAN_CHUNK_BLOCKS || bp.data.length !== 15) return fail(MFS_ERROR_DISCONNECTED, 'get # of blocks: got wrong answer');
  if (u64(bp.data, 0) !== chunkid) return fail(MFS_ERROR_WRONGCHUNKID, 'get # of blocks: wrong chunk id');
  if (bp.data.readUInt32BE(8) !== version) return fail(MFS_ERROR_WRONGVERSION, 'get # of blocks: wrong version');
  if (bp.data[14] !== MFS_STATUS_OK) return fail(bp.data[14]!, `get # of blocks: got status ${bp.data[14]}`);
  const blocks = bp.data.readUInt16BE(12);
  if (blocks > 0) {
    const rq = Buffer.alloc(28);
    rq.writeUInt32BE(CLTOCS_READ, 0);
    rq.writeUInt32BE(20, 4);
    rq.writeUInt32BE(Math.floor(chunkid / 0x100000000), 8);
    rq.writeUInt32BE(chunkid >>> 0, 12);
    rq.writeUInt32BE(version >>> 0, 16);
    rq.writeUInt32BE(0, 20);
    rq.writeUInt32BE(blocks * MFSBLOCKSIZE, 24);
    traffic?.out(rq.length);
    sock.write(rq);
    for (let b = 0; b < blocks; b++) {
      const p = await rd.next(RECV_MS);
      if (!p) return fail(MFS_ERROR_DISCONNECTED, 'read chunks: connection lost');
      if (p.type === CSTOCL_READ_STATUS && p.data.length === 9) {
        if (u64(p.data, 0) !== chunkid) return fail(MFS_ERROR_WRONGCHUNKID, 'read chunks: wrong chunk id');
        if (p.data[8] === MFS_STATUS_OK) return fail(MFS_ERROR_DISCONNECTED, 'read chunks: got unexpected ok status');
        return fail(p.data[8]!, `read chunks: got status ${p.data[8]}`);
      }
      if (p.type !== CSTOCL_READ_DATA || p.data.length !== 20 + MFSBLOCKSIZE) return fail(MFS_ERROR_DISCONNECTED, 'read chunks: got wrong answer');
      if (u64(p.data, 0) !== chunkid) return fail(MFS_ERROR_WRONGCHUNKID, 'read chunks: wrong chunk id');
      if (p.data.readUInt16BE(8) !== b) return fail(MFS_ERROR_DISCONNECTED, 'read chunks: wrong block number');
      if (p.data.readUInt16BE(10) !== 0) return fail(MFS_ERROR_WRONGOFFSET, 'read chunks: wrong offset');
      if (p.data.readUInt32BE(12) !== MFSBLOCKSIZE) return fail(MFS_ERROR_WRONGSIZE, 'read chunks: wrong size');
      const st = await c.exclusive(() => c.write(0, b, 0, MFSBLOCKSIZE, p.data, 20, p.data.readUInt32BE(16)));
      if (st !== MFS_STATUS_OK) return fail(st, `write status ${st}`);
    }
    const end = await rd.next(RECV_MS);
    if (!end || end.type !== CSTOCL_READ_STATUS || end.data.length !== 9) return fail(MFS_ERROR_DISCONNECTED, 'read chunks: no final status');
    if (end.data[8] !== MFS_STATUS_OK) return fail(end.data[8]!, `read chunks: got status ${end.data[8]}`);
  }
  sock.destroy();
  sock = undefined;
  const st = await c.exclusive(async () => {
    const s = await c.ioEnd();
    opened = false;
    if (s !== MFS_STATUS_OK) return s;
    try {
      const fh = await open(c.tmpName!, 'r+');
      await fh.sync();
      await fh.close();
      await c.closeNow();
      await rename(c.tmpName!, final);
    } catch {
      return MFS_ERROR_IO;
    }
    c.tmpName = undefined;
    return MFS_STATUS_OK;
  });
  if (st !== MFS_STATUS_OK) return fail(st, 'finish error');
  c.state = 'avail';
  hdd.spaceChanged = true;
  return MFS_STATUS_OK;
}
