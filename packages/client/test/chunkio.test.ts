import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  CLTOMA_FUSE_READ_CHUNK,
  CLTOMA_FUSE_WRITE_CHUNK,
  CLTOMA_FUSE_WRITE_CHUNK_END,
  CltomaFuseReadChunk,
  CltomaFuseWriteChunk,
  CltomaFuseWriteChunkEnd,
  MatoclFuseReadChunk,
  MatoclFuseWriteChunk,
  MatoclFuseWriteChunkEnd,
  MFSBLOCKSIZE,
} from '@mfs-ts/protocol';
import { silentLogger } from '@mfs-ts/common';
import { clientOptions } from '../src/options.js';
import { MasterConn } from '../src/mastercomm.js';
import { FsOps } from '../src/fsops.js';
import { CsPool } from '../src/csconn.js';
import { ChunkReader } from '../src/readdata.js';
import { WriteCache } from '../src/writedata.js';
import { CsWriteWorker } from '../src/csworker.js';
import { FakeMaster } from './fake-master.js';
import { FakeChunkserver } from './fake-cs.js';

const LOCALHOST = 0x7f000001;
const CHUNKID = 0x1234_5678_9a;

let closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

async function cluster(fileLength: number) {
  const cs1 = await new FakeChunkserver().listen();
  const cs2 = await new FakeChunkserver().listen();
  const writeEnds: Array<{ chunkid: number; length: number }> = [];
  const servers = [cs1, cs2].map((c) => ({ ip: LOCALHOST, port: c.port, csver: 0x0300ea, labelmask: 0 }));
  const master = await new FakeMaster({
    onRequest: (c, type, payload) => {
      if (type === CLTOMA_FUSE_READ_CHUNK) {
        const r = CltomaFuseReadChunk.decode(payload);
        if (!r.ok) throw r.error;
        c.send(MatoclFuseReadChunk.encode({ $v: 'ok', msgid: r.value.msgid, protover: 2, length: fileLength, chunkid: CHUNKID, version: 1, servers }));
      } else if (type === CLTOMA_FUSE_WRITE_CHUNK) {
        const r = CltomaFuseWriteChunk.decode(payload);
        if (!r.ok) throw r.error;
        c.send(MatoclFuseWriteChunk.encode({ $v: 'ok', msgid: r.value.msgid, protover: 2, length: fileLength, chunkid: CHUNKID, version: 1, servers }));
      } else if (type === CLTOMA_FUSE_WRITE_CHUNK_END) {
        const r = CltomaFuseWriteChunkEnd.decode(payload);
        if (!r.ok || r.value.$v !== 'full') throw new Error('bad WRITE_CHUNK_END');
        writeEnds.push({ chunkid: r.value.chunkid, length: r.value.length });
        c.send(MatoclFuseWriteChunkEnd.encode({ msgid: r.value.msgid, status: 0 }));
      }
    },
  }).listen();
  const conn = await MasterConn.connect(clientOptions({ host: '127.0.0.1', port: master.port, ioRetries: 3 }), silentLogger());
  const pool = new CsPool();
  closers.push(() => master.close(), () => cs1.close(), () => cs2.close(), () => conn.close(), async () => pool.closeAll());
  return { cs1, cs2, writeEnds, fs: new FsOps(conn), pool };
}

describe('chunk reads', () => {
  it('checks the crc of every piece and fails over to the other copy', async () => {
    const { cs1, cs2, fs, pool } = await cluster(3 * MFSBLOCKSIZE + 100);
    const content = randomBytes(cs1.data.length);
    content.copy(cs1.data);
    content.copy(cs2.data);
    cs1.corrupt = true;
    const reader = new ChunkReader(fs, pool, 3, silentLogger());
    const got = await reader.read(5, 1000, 3 * MFSBLOCKSIZE);
    // Clamped at the file length the master reported.
    expect(got.length).toBe(3 * MFSBLOCKSIZE + 100 - 1000);
    expect(got.equals(content.subarray(1000, 3 * MFSBLOCKSIZE + 100))).toBe(true);
    expect(cs1.reads).toBe(1);
    expect(cs2.reads).toBe(1);
  });

  it('gives EIO (no wrong data) when every copy is corrupt', async () => {
    const { cs1, cs2, fs, pool } = await cluster(MFSBLOCKSIZE);
    cs1.corrupt = true;
    cs2.corrupt = true;
    const reader = new ChunkReader(fs, pool, 2, silentLogger());
    await expect(reader.read(5, 0, 100)).rejects.toMatchObject({ status: 22 });
  });
});

// Both ways of talking to the chunkservers: in this thread, and through the write worker.
describe.each([
  ['in this thread', false],
  ['through the write worker', true],
] as const)('chained writes (%s)', (_name, useWorker) => {
  let cache: WriteCache | undefined;
  let started = 0;
  const newCache = (fs: FsOps, pool: CsPool) =>
    (cache = new WriteCache(fs, pool, 64 * 1024 * 1024, 3, silentLogger(), undefined, useWorker ? () => (started++, new CsWriteWorker()) : undefined));
  afterEach(async () => {
    // The worker is started by the first session and only once.
    expect(started).toBe(useWorker ? 1 : 0);
    started = 0;
    await cache?.close();
  });

  it('sends the chain minus the first server, crc-checked pieces, FINISH, then WRITE_CHUNK_END with the new length', async () => {
    const { cs1, cs2, writeEnds, fs, pool } = await cluster(0);
    const w = newCache(fs, pool);
    const a = randomBytes(MFSBLOCKSIZE + 10);
    const b = randomBytes(500);
    await w.write(9, 100, a);
    await w.write(9, 3 * MFSBLOCKSIZE, b);
    expect(w.maxLength(9)).toBe(3 * MFSBLOCKSIZE + 500);
    expect(cs1.pieces).toEqual([]); // write-back: nothing sent yet
    await w.flush(9);
    expect(cs1.chains).toEqual([[{ ip: LOCALHOST, port: cs2.port }]]);
    expect(cs1.pieces.map((p) => [p.blocknum, p.offset, p.size, p.crcOk])).toEqual([
      [0, 100, MFSBLOCKSIZE - 100, true],
      [1, 0, 110, true],
      [3, 0, 500, true],
    ]);
    expect(cs1.pieces.map((p) => p.writeid)).toEqual([1, 2, 3]);
    // WRITE_FINISH goes out before WRITE_CHUNK_END, on another socket (from the worker thread, if
    // used), so it may reach the chunkserver after flush() resolved: wait for it, a bounded while.
    for (let i = 0; i < 200 && cs1.finishes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cs1.finishes).toBe(1);
    expect(writeEnds).toEqual([{ chunkid: CHUNKID, length: 3 * MFSBLOCKSIZE + 500 }]);
    expect(cs1.data.subarray(100, 100 + a.length).equals(a)).toBe(true);
    expect(cs1.data.subarray(3 * MFSBLOCKSIZE, 3 * MFSBLOCKSIZE + 500).equals(b)).toBe(true);
  });

  it('a chunkserver error mid-write: the chunk is unlocked, written again from the unacknowledged blocks, and no byte is lost', async () => {
    const { cs1, writeEnds, fs, pool } = await cluster(0);
    cs1.failWriteId = 2;
    const w = newCache(fs, pool);
    const a = randomBytes(3 * MFSBLOCKSIZE);
    await w.write(4, 0, a);
    await w.flush(4);
    // First session: WRITE_CHUNK_END with what was acknowledged (block 0); second: the new length.
    expect(writeEnds).toEqual([
      { chunkid: CHUNKID, length: MFSBLOCKSIZE },
      { chunkid: CHUNKID, length: 3 * MFSBLOCKSIZE },
    ]);
    expect(cs1.chains.length).toBe(2);
    expect(cs1.data.subarray(0, a.length).equals(a)).toBe(true);
    // Blocks 1 and 2 were not acknowledged the first time, so they went again.
    expect(cs1.pieces.map((p) => p.blocknum)).toEqual([0, 2, 1, 2]);
  });
});
