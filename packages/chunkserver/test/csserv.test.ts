import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { HDD_ENTRY, MFS_ERROR_CANTCONNECT, MFS_ERROR_CRC, MFS_ERROR_NOCHUNK, MFS_ERROR_WRONGOFFSET, MFS_STATUS_OK, CLTOCS_READ, CSTOCL_READ_STATUS, CSTOCL_READ_DATA, CLTOCS_WRITE, CSTOCL_WRITE_STATUS, CLTOCS_WRITE_DATA, CLTOCS_WRITE_FINISH } from '@mfs-ts/protocol';
import { createChunk } from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { pattern } from './helpers.js';
import { pkt } from './wire.js';
import { useCsNodes, LOCALHOST } from './csnodes.js';

const B = 65536;

const { node, client } = useCsNodes({
  cfgValue: (n) => (n === 'LABELS' ? 'A,B' : ''),
  moduleInfo: () => ({ csid: 7, metaId: 0x1234n, masterIp: 0, masterPort: 0 }),
});


function readReq(id: number, ver: number, off: number, size: number, protover = true): Buffer {
  return protover ? pkt(CLTOCS_READ, ['u8', 1], ['u64', id], ['u32', ver], ['u32', off], ['u32', size]) : pkt(CLTOCS_READ, ['u64', id], ['u32', ver], ['u32', off], ['u32', size]);
}

function writeData(id: number, writeid: number, block: number, off: number, data: Buffer, crc = crc32(data)): Buffer {
  return pkt(CLTOCS_WRITE_DATA, ['u64', id], ['u32', writeid], ['u16', block], ['u16', off], ['u32', data.length], ['u32', crc], data);
}

function writeStatus(p: { type: number; data: Buffer }): { id: number; writeid: number; status: number } {
  expect(p.type).toBe(CSTOCL_WRITE_STATUS);
  expect(p.data.length).toBe(13);
  return { id: Number(p.data.readBigUInt64BE(0)), writeid: p.data.readUInt32BE(8), status: p.data[12]! };
}

/** Reads `size` bytes at `off` of chunk `id` over the wire; returns the bytes and checks every piece. */
async function wireRead(port: number, id: number, ver: number, off: number, size: number): Promise<{ data: Buffer; status: number; pieces: number }> {
  const c = await client(port);
  c.send(readReq(id, ver, off, size));
  const parts: Buffer[] = [];
  let pieces = 0;
  for (;;) {
    const p = await c.next();
    if (p.type === CSTOCL_READ_STATUS) {
      expect(Number(p.data.readBigUInt64BE(0))).toBe(id);
      return { data: Buffer.concat(parts), status: p.data[8]!, pieces };
    }
    expect(p.type).toBe(CSTOCL_READ_DATA);
    const block = p.data.readUInt16BE(8);
    const boff = p.data.readUInt16BE(10);
    const psize = p.data.readUInt32BE(12);
    const crc = p.data.readUInt32BE(16);
    const data = p.data.subarray(20);
    expect(data.length).toBe(psize);
    expect(boff + psize).toBeLessThanOrEqual(B);
    expect(block * B + boff).toBe(off + parts.reduce((a, b) => a + b.length, 0));
    expect(crc).toBe(crc32(data));
    parts.push(data);
    pieces++;
  }
}

async function put(h: HddSpaceMgr, id: number, ver: number, blocks: Buffer[]): Promise<void> {
  expect(await createChunk(h, id, ver)).toBe(MFS_STATUS_OK);
  const c = h.get(id)!;
  await c.exclusive(() => c.ioBegin());
  for (let i = 0; i < blocks.length; i++) expect(await c.exclusive(() => c.write(ver, i, 0, B, blocks[i]!, 0, crc32(blocks[i]!)))).toBe(0);
  await c.exclusive(() => c.ioEnd());
}

describe('data port: read', () => {
  it('streams pieces that never cross a block, each with its crc32, then READ_STATUS OK', async () => {
    const n = await node();
    const blocks = [pattern(B, 1), pattern(B, 2), pattern(B, 3)];
    await put(n.hdd, 0x77, 2, blocks);
    const all = Buffer.concat(blocks);
    const r = await wireRead(n.port, 0x77, 2, 60000, 80000);
    expect(r.status).toBe(MFS_STATUS_OK);
    expect(r.pieces).toBe(3);
    expect(r.data.equals(all.subarray(60000, 140000))).toBe(true);
    // Past the last block: zeros with a valid CRC.
    const z = await wireRead(n.port, 0x77, 2, 5 * B + 3, 100);
    expect(z.data.equals(Buffer.alloc(100))).toBe(true);
    // The old 20-byte form (no protocol byte) works too.
    const c = await client(n.port);
    c.send(readReq(0x77, 2, 0, 10, false));
    expect((await c.next()).type).toBe(CSTOCL_READ_DATA);
    expect((await c.next()).data[8]).toBe(MFS_STATUS_OK);
  });

  it('answers bad requests with a status and keeps serving', async () => {
    const n = await node();
    await put(n.hdd, 5, 1, [pattern(B, 9)]);
    expect((await wireRead(n.port, 6, 1, 0, 10)).status).toBe(MFS_ERROR_NOCHUNK);
    expect((await wireRead(n.port, 5, 1, 64 * 1024 * 1024 - 5, 10)).status).toBe(MFS_ERROR_WRONGOFFSET);
    const ok = await wireRead(n.port, 5, 1, 0, 0);
    expect(ok).toMatchObject({ status: MFS_STATUS_OK, pieces: 0 });
    // Several requests on one connection, one after another.
    const c = await client(n.port);
    for (let i = 0; i < 3; i++) {
      c.send(readReq(5, 1, i * 100, 100));
      const d = await c.next();
      expect(d.data.subarray(20).equals(pattern(B, 9).subarray(i * 100, i * 100 + 100))).toBe(true);
      expect((await c.next()).type).toBe(CSTOCL_READ_STATUS);
    }
  });
});

describe('data port: write', () => {
  it('last in chain: status 0, in-order acks after the disk write, FINISH keeps the link', async () => {
    const n = await node();
    expect(await createChunk(n.hdd, 0x10, 3)).toBe(MFS_STATUS_OK);
    const c = await client(n.port);
    c.send(pkt(CLTOCS_WRITE, ['u8', 1], ['u64', 0x10], ['u32', 3]));
    expect(writeStatus(await c.next())).toEqual({ id: 0x10, writeid: 0, status: MFS_STATUS_OK });
    const d = [pattern(B, 11), pattern(B, 12), pattern(5000, 13)];
    c.send(Buffer.concat([writeData(0x10, 1, 0, 0, d[0]!), writeData(0x10, 2, 1, 0, d[1]!), writeData(0x10, 3, 2, 100, d[2]!)]));
    for (const w of [1, 2, 3]) expect(writeStatus(await c.next())).toEqual({ id: 0x10, writeid: w, status: MFS_STATUS_OK });
    c.send(pkt(CLTOCS_WRITE_FINISH, ['u64', 0x10], ['u32', 3]));
    // Same connection, next request: a read of what was written.
    c.send(readReq(0x10, 3, 2 * B + 100, 5000));
    const p = await c.next();
    expect(p.type).toBe(CSTOCL_READ_DATA);
    expect(p.data.subarray(20).equals(d[2]!)).toBe(true);
    const r = await wireRead(n.port, 0x10, 3, 0, 2 * B);
    expect(r.data.equals(Buffer.concat([d[0]!, d[1]!]))).toBe(true);
  });

  it('refuses a piece whose CRC is wrong with MFS_ERROR_CRC, and the data is not stored', async () => {
    const n = await node();
    await createChunk(n.hdd, 0x11, 1);
    const c = await client(n.port);
    c.send(pkt(CLTOCS_WRITE, ['u64', 0x11], ['u32', 1]));
    expect(writeStatus(await c.next()).status).toBe(MFS_STATUS_OK);
    const data = pattern(B, 1);
    c.send(writeData(0x11, 1, 0, 0, data, crc32(data) ^ 0x100));
    expect(writeStatus(await c.next())).toEqual({ id: 0x11, writeid: 1, status: MFS_ERROR_CRC });
    expect(n.hdd.get(0x11)!.blocks).toBe(0);
  });

  it('chained: the first server forwards to the second, acks once both wrote, both hold the data', async () => {
    const a = await node();
    const b = await node();
    for (const x of [a, b]) expect(await createChunk(x.hdd, 0x20, 1)).toBe(MFS_STATUS_OK);
    const c = await client(a.port);
    c.send(pkt(CLTOCS_WRITE, ['u8', 1], ['u64', 0x20], ['u32', 1], ['u32', LOCALHOST], ['u16', b.port]));
    expect(writeStatus(await c.next())).toEqual({ id: 0x20, writeid: 0, status: MFS_STATUS_OK });
    const blocks = Array.from({ length: 5 }, (_, i) => pattern(B, 100 + i));
    for (let i = 0; i < blocks.length; i++) c.send(writeData(0x20, i + 1, i, 0, blocks[i]!));
    for (let i = 0; i < blocks.length; i++) expect(writeStatus(await c.next())).toEqual({ id: 0x20, writeid: i + 1, status: MFS_STATUS_OK });
    c.send(pkt(CLTOCS_WRITE_FINISH, ['u64', 0x20], ['u32', 1]));
    const want = Buffer.concat(blocks);
    for (const x of [a, b]) {
      const r = await wireRead(x.port, 0x20, 1, 0, want.length);
      expect(r.status).toBe(MFS_STATUS_OK);
      expect(r.data.equals(want)).toBe(true);
    }
  });

  it('chained: a missing chunk downstream drops the client link; an unreachable next hop is CANTCONNECT', async () => {
    const a = await node();
    const b = await node();
    await createChunk(a.hdd, 0x30, 1);
    const c = await client(a.port);
    c.send(pkt(CLTOCS_WRITE, ['u8', 1], ['u64', 0x30], ['u32', 1], ['u32', LOCALHOST], ['u16', b.port]));
    expect(await c.waitClosed()).toBe(true);
    // A port nobody listens on.
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const c2 = await client(a.port);
    c2.send(pkt(CLTOCS_WRITE, ['u8', 1], ['u64', 0x30], ['u32', 1], ['u32', LOCALHOST], ['u16', deadPort]));
    expect(writeStatus(await c2.next(10000))).toEqual({ id: 0x30, writeid: 0, status: MFS_ERROR_CANTCONNECT });
    const c3 = await client(a.port);
    c3.send(pkt(CLTOCS_WRITE, ['u64', 0x31], ['u32', 1]));
    expect(writeStatus(await c3.next()).status).toBe(MFS_ERROR_NOCHUNK);
  });
});

describe('data port: concurrency', () => {
  it('parallel chained writes to many chunks and reads of one chunk being rewritten stay consistent', async () => {
    const a = await node();
    const b = await node();
    const ids = Array.from({ length: 6 }, (_, i) => 0x1000 + i);
    for (const id of ids) for (const x of [a, b]) expect(await createChunk(x.hdd, id, 1)).toBe(MFS_STATUS_OK);
    const content = new Map<number, Buffer[]>();
    const writer = async (id: number, round: number): Promise<void> => {
      const c = await client(a.port);
      c.send(pkt(CLTOCS_WRITE, ['u8', 1], ['u64', id], ['u32', 1], ['u32', LOCALHOST], ['u16', b.port]));
      expect(writeStatus(await c.next(5000)).status).toBe(MFS_STATUS_OK);
      const blocks = Array.from({ length: 8 }, (_, i) => pattern(B, id * 100 + round * 10 + i));
      for (let i = 0; i < blocks.length; i++) c.send(writeData(id, i + 1, i, 0, blocks[i]!));
      for (let i = 0; i < blocks.length; i++) expect(writeStatus(await c.next(5000))).toEqual({ id, writeid: i + 1, status: MFS_STATUS_OK });
      c.send(pkt(CLTOCS_WRITE_FINISH, ['u64', id], ['u32', 1]));
      content.set(id, blocks);
    };
    await Promise.all(ids.map((id) => writer(id, 0)));
    // Rewrite one chunk while readers read it: every block a reader gets is one of the two versions.
    const old = content.get(ids[0]!)!;
    const readers = Array.from({ length: 4 }, async () => {
      const r = await wireRead(a.port, ids[0]!, 1, 0, 8 * B);
      expect(r.status).toBe(MFS_STATUS_OK);
      return r.data;
    });
    const rewrite = writer(ids[0]!, 1);
    const got = await Promise.all(readers);
    await rewrite;
    const neu = content.get(ids[0]!)!;
    for (const d of got) for (let i = 0; i < 8; i++) {
      const blk = d.subarray(i * B, (i + 1) * B);
      expect(blk.equals(old[i]!) || blk.equals(neu[i]!)).toBe(true);
    }
    for (const x of [a, b]) for (const id of ids) {
      const r = await wireRead(x.port, id, 1, 0, 8 * B);
      expect(r.data.equals(Buffer.concat(content.get(id)!))).toBe(true);
    }
  });
});

describe('data port: other requests and bad input', () => {
  it('answers GET_VERSION, GET_CHUNK_BLOCKS, HDD_LIST, GET_CONFIG and MODULE_INFO', async () => {
    const n = await node();
    await put(n.hdd, 0x40, 4, [pattern(B, 1), pattern(B, 2)]);
    const c = await client(n.port);
    c.send(pkt(10, ['u32', 99]));
    const v = await c.next();
    expect(v.type).toBe(11);
    expect(v.data.readUInt32BE(0)).toBe(99);
    expect(v.data.readUInt32BE(4)).toBe(0x0300ea);
    expect(v.data.subarray(8).toString()).toBe('3.0.117-1');
    c.send(pkt(250, ['u64', 0x40], ['u32', 4]));
    const cb = await c.next();
    expect(cb.type).toBe(251);
    expect(cb.data.readUInt16BE(12)).toBe(2);
    expect(cb.data[14]).toBe(0);
    c.send(pkt(600));
    const hl = await c.next();
    expect(hl.type).toBe(601);
    const size = hl.data.readUInt16BE(0);
    expect(size + 2).toBe(hl.data.length);
    const plen = hl.data[2]!;
    expect(hl.data.subarray(3, 3 + plen).toString()).toBe(n.env.disks[0]);
    const e = hl.data.subarray(3 + plen);
    expect(e.readUInt32BE(29)).toBe(1); // chunks
    expect(Number(e.readBigUInt64BE(21))).toBeGreaterThan(0); // total
    expect(HDD_ENTRY).toBeDefined();
    c.send(pkt(80, ['u32', 5], ['u8', 6], Buffer.from('LABELS')));
    const cv = await c.next();
    expect(cv.type).toBe(81);
    expect(cv.data.subarray(5).toString()).toBe('A,B');
    c.send(pkt(530));
    const mi = await c.next();
    expect(mi.type).toBe(531);
    expect(mi.data.length).toBe(21);
    expect(mi.data[0]).toBe(2);
    expect(mi.data.readUInt16BE(5)).toBe(7);
  });

  it('a bad packet closes only that connection; the server keeps serving', async () => {
    const n = await node();
    await put(n.hdd, 0x50, 1, [pattern(B, 1)]);
    const bad: Buffer[] = [
      pkt(CLTOCS_READ, ['u32', 1]), // wrong size
      pkt(CLTOCS_WRITE, ['u32', 1], ['u32', 2], ['u8', 3]), // wrong size
      pkt(9999), // unknown type
      Buffer.from([0, 0, 0, 200, 0x10, 0, 0, 0]), // length above the 100,000 limit
      pkt(CLTOCS_WRITE_DATA, ['u64', 1]), // data outside a write
      pkt(600, ['u8', 1]), // HDD_LIST with a payload
    ];
    for (const b of bad) {
      const c = await client(n.port);
      c.send(b);
      expect(await c.waitClosed()).toBe(true);
    }
    const c = await client(n.port);
    c.send(pkt(CLTOCS_WRITE, ['u64', 0x50], ['u32', 1]));
    expect(writeStatus(await c.next()).status).toBe(MFS_STATUS_OK);
    c.send(writeData(0x50, 1, 0, 0, Buffer.alloc(10))); // fine
    expect(writeStatus(await c.next()).status).toBe(MFS_STATUS_OK);
    const r = await wireRead(n.port, 0x50, 1, 0, 10);
    expect(r.data.equals(Buffer.alloc(10))).toBe(true);
  });

  it('an idle connection gets NOPs and is closed after 5 s of silence', async () => {
    const n = await node();
    const c = await client(n.port);
    const t0 = Date.now();
    const p = await c.next(4000, false);
    expect(p.type).toBe(0);
    expect(await c.waitClosed(8000)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4500);
  }, 15000);
});
