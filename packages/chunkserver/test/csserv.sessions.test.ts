// Back-to-back sessions on one data connection, as mfsmount and our client open them: the client
// reuses a link for its next request as soon as it has the previous session's final status (after
// WRITE_FINISH it does not even wait). That request may reach the server while the finished session
// still cleans up (waits for its disk writes, writes the CRC table); it must be served, not dropped.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MFS_STATUS_OK, CLTOCS_READ, CSTOCL_READ_STATUS, CSTOCL_READ_DATA, CLTOCS_WRITE, CSTOCL_WRITE_STATUS, CLTOCS_WRITE_DATA, CLTOCS_WRITE_FINISH } from '@mfs-ts/protocol';
import { createChunk } from '../src/hddspacemgr/chunkops.js';
import { pattern } from './helpers.js';
import { WireClient, pkt, type Packet } from './wire.js';
import { useCsNodes, LOCALHOST } from './csnodes.js';

const B = 65536;

const { node, client } = useCsNodes();

const writeReq = (id: number, ver: number, next?: number): Buffer =>
  next === undefined ? pkt(CLTOCS_WRITE, ['u8', 1], ['u64', id], ['u32', ver]) : pkt(CLTOCS_WRITE, ['u8', 1], ['u64', id], ['u32', ver], ['u32', LOCALHOST], ['u16', next]);
const writeData = (id: number, writeid: number, block: number, off: number, data: Buffer): Buffer =>
  pkt(CLTOCS_WRITE_DATA, ['u64', id], ['u32', writeid], ['u16', block], ['u16', off], ['u32', data.length], ['u32', crc32(data)], data);
const finish = (id: number, ver: number): Buffer => pkt(CLTOCS_WRITE_FINISH, ['u64', id], ['u32', ver]);
const readReq = (id: number, ver: number, off: number, size: number): Buffer => pkt(CLTOCS_READ, ['u8', 1], ['u64', id], ['u32', ver], ['u32', off], ['u32', size]);

function status(p: Packet): { id: number; writeid: number; status: number } {
  expect(p.type).toBe(CSTOCL_WRITE_STATUS);
  return { id: Number(p.data.readBigUInt64BE(0)), writeid: p.data.readUInt32BE(8), status: p.data[12]! };
}

/** Reads [off, off+size) of a chunk on a fresh connection. */
async function readBack(port: number, id: number, ver: number, size: number): Promise<Buffer> {
  const c = await client(port);
  c.send(readReq(id, ver, 0, size));
  const parts: Buffer[] = [];
  for (;;) {
    const p = await c.next();
    if (p.type === CSTOCL_READ_STATUS) {
      expect(p.data[8]).toBe(MFS_STATUS_OK);
      return Buffer.concat(parts);
    }
    expect(p.type).toBe(CSTOCL_READ_DATA);
    parts.push(p.data.subarray(20));
  }
}

/**
 * One write session on `c`, opened by `open` (the previous session's FINISH may be glued in front of
 * it, as a client that reuses the link at once sends it): the chain status, `pieces` small writes,
 * their acks. Returns the FINISH packet, not yet sent.
 */
async function session(c: WireClient, open: Buffer, id: number, pieces: Array<[block: number, off: number, data: Buffer]>): Promise<Buffer> {
  c.send(open);
  expect(status(await c.next(2000))).toEqual({ id, writeid: 0, status: MFS_STATUS_OK });
  c.send(Buffer.concat(pieces.map(([b, o, d], i) => writeData(id, i + 1, b, o, d))));
  for (let i = 0; i < pieces.length; i++) expect(status(await c.next(2000))).toEqual({ id, writeid: i + 1, status: MFS_STATUS_OK });
  return finish(id, 1);
}

describe('data port: back-to-back sessions on one connection', () => {
  it('a WRITE sent right behind the previous WRITE_FINISH (same segment) is served, last and chained', async () => {
    const a = await node();
    const b = await node();
    const ids = [0x101, 0x102, 0x103, 0x104];
    for (const id of ids) for (const x of [a, b]) expect(await createChunk(x.hdd, id, 1)).toBe(MFS_STATUS_OK);
    for (const chained of [false, true]) {
      const c = await client(a.port);
      const want = new Map<number, Buffer>();
      let pending: Buffer = Buffer.alloc(0);
      for (const id of ids) {
        const d = pattern(3000, id + (chained ? 7 : 0));
        want.set(id, d);
        // The previous session's FINISH and this WRITE arrive together: the old session is still
        // finishing (CRC table write, chunk release) when the WRITE is read.
        pending = await session(c, Buffer.concat([pending, writeReq(id, 1, chained ? b.port : undefined)]), id, [[0, 0, d]]);
      }
      // The last FINISH glued to a READ on the same link.
      c.send(Buffer.concat([pending, readReq(ids[0]!, 1, 0, 3000)]));
      const p = await c.next(2000);
      expect(p.type).toBe(CSTOCL_READ_DATA);
      expect(p.data.subarray(20).equals(want.get(ids[0]!)!)).toBe(true);
      expect((await c.next(2000)).type).toBe(CSTOCL_READ_STATUS);
      for (const x of chained ? [a, b] : [a]) for (const [id, d] of want) expect((await readBack(x.port, id, 1, 3000)).equals(d)).toBe(true);
    }
  });

  it('a READ sent as soon as the previous READ_STATUS arrives is served while that read still closes the chunk', async () => {
    const a = await node();
    expect(await createChunk(a.hdd, 0x201, 1)).toBe(MFS_STATUS_OK);
    const w = await client(a.port);
    const data = pattern(2 * B, 5);
    const f = await session(w, writeReq(0x201, 1), 0x201, [
      [0, 0, data.subarray(0, B)],
      [1, 0, data.subarray(B)],
    ]);
    w.send(f);
    await w.next(200).catch(() => undefined); // nothing comes: just let the write session end
    // A slow disk: closing the read session (ioEnd) takes a while, after READ_STATUS went out.
    const ch = a.hdd.get(0x201)!;
    const ioEnd = ch.ioEnd.bind(ch);
    ch.ioEnd = async () => {
      await new Promise((r) => setTimeout(r, 20));
      return ioEnd();
    };
    const c = await client(a.port);
    for (let i = 0; i < 20; i++) {
      const off = (i * 977) % (B - 100) + (i % 2) * B; // one piece, never across a block
      c.send(readReq(0x201, 1, off, 100));
      const p = await c.next(2000);
      expect(p.type).toBe(CSTOCL_READ_DATA);
      const got = p.data.subarray(20);
      if (!got.equals(data.subarray(off, off + 100))) {
        let d = 0;
        while (got[d] === data[off + d]) d++;
        throw new Error(`round ${i} off ${off}: first diff at ${d}: got ${got.subarray(d, d + 8).toString('hex')} want ${data.subarray(off + d, off + d + 8).toString('hex')} len ${got.length}`);
      }
      expect((await c.next(2000)).type).toBe(CSTOCL_READ_STATUS);
    }
  });

  it('ten writers at once, each reusing its own link for chained sessions back to back, finish quickly', async () => {
    const a = await node();
    const b = await node();
    const writers = 10;
    const perWriter = 4;
    for (let w = 0; w < writers; w++) for (let k = 0; k < perWriter; k++) for (const x of [a, b]) expect(await createChunk(x.hdd, 0x1000 + w * 16 + k, 1)).toBe(MFS_STATUS_OK);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const c = await client(a.port);
        let pending: Buffer = Buffer.alloc(0);
        for (let k = 0; k < perWriter; k++) {
          const id = 0x1000 + w * 16 + k;
          pending = await session(c, Buffer.concat([pending, writeReq(id, 1, b.port)]), id, [
            [0, 0, pattern(700, id)],
            [0, 700, pattern(300, id + 1)],
            [2, 10, pattern(B - 10, id + 2)],
          ]);
        }
        c.send(pending);
      }),
    );
    // Without the fix a reused link loses its next WRITE and the writer waits out its 2 s timeout.
    expect(Date.now() - t0).toBeLessThan(3000);
    for (let w = 0; w < writers; w++)
      for (let k = 0; k < perWriter; k++) {
        const id = 0x1000 + w * 16 + k;
        const want = Buffer.alloc(3 * B);
        pattern(700, id).copy(want, 0);
        pattern(300, id + 1).copy(want, 700);
        pattern(B - 10, id + 2).copy(want, 2 * B + 10);
        for (const x of [a, b]) expect((await readBack(x.port, id, 1, 3 * B)).equals(want)).toBe(true);
      }
  });
});
