// Stress: the "echo hi > f; stop; start" path end to end at the data port. Several client links write
// small pieces (with zero runs) into new chunks through a chain of two servers, reusing each link for
// back-to-back sessions; the last session of each link is left open and both servers stop at once
// (data port closed, then the space manager, as the daemon stops). After a start from .chunkdb every
// acknowledged byte must be on both disks, every block must match its CRC entry, and reads must agree.
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { expect, it } from 'vitest';
import { MFS_STATUS_OK, CLTOCS_WRITE, CSTOCL_WRITE_STATUS, CLTOCS_WRITE_DATA, CLTOCS_WRITE_FINISH } from '@mfs-ts/protocol';
import { createChunk, testChunk } from '../src/hddspacemgr/chunkops.js';
import { tmpDisks } from './helpers.js';
import { pkt } from './wire.js';
import { useCsNodes, LOCALHOST } from './csnodes.js';

const B = 65536;

const { node: serve, client, nodes } = useCsNodes();

/** xorshift32: reproducible pieces per seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** A small piece: random bytes with runs of zeros (sometimes leading or trailing), inside one block. */
function piece(r: () => number): { block: number; offset: number; data: Buffer } {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r() * 900);
    const p = Buffer.alloc(len);
    if (r() < 0.6) for (let k = 0; k < len; k++) p[k] = Math.floor(r() * 256);
    parts.push(p);
  }
  const data = Buffer.concat(parts);
  return { block: Math.floor(r() * 3), offset: Math.floor(r() * (B - data.length)), data };
}

const wd = (id: number, wid: number, p: { block: number; offset: number; data: Buffer }): Buffer =>
  pkt(CLTOCS_WRITE_DATA, ['u64', id], ['u32', wid], ['u16', p.block], ['u16', p.offset], ['u32', p.data.length], ['u32', crc32(p.data)], p.data);

it('acknowledged small chained writes are on both disks, byte for byte with their CRCs, after an abrupt stop and a start', async () => {
  for (const seed of [1, 2, 3]) {
    const envs = [await tmpDisks(1), await tmpDisks(1)];
    let [a, b] = [await serve(envs[0]!), await serve(envs[1]!)];
    const links = 4;
    const perLink = 4;
    const ids = Array.from({ length: links * perLink }, (_, i) => 0x5000 + seed * 0x100 + i);
    for (const id of ids) for (const n of [a, b]) expect(await createChunk(n.hdd, id, 1)).toBe(MFS_STATUS_OK);
    const models = new Map<number, Buffer>(ids.map((id) => [id, Buffer.alloc(0)]));
    const r = rng(seed);
    await Promise.all(
      Array.from({ length: links }, async (_, l) => {
        const c = await client(a.port);
        let finish = Buffer.alloc(0) as Buffer;
        for (let k = 0; k < perLink; k++) {
          const id = ids[l * perLink + k]!;
          c.send(Buffer.concat([finish, pkt(CLTOCS_WRITE, ['u8', 1], ['u64', id], ['u32', 1], ['u32', LOCALHOST], ['u16', b.port])]));
          const s0 = await c.next(3000);
          expect([s0.type, s0.data.readUInt32BE(8), s0.data[12]]).toEqual([CSTOCL_WRITE_STATUS, 0, MFS_STATUS_OK]);
          const ps = Array.from({ length: 1 + Math.floor(r() * 6) }, () => piece(r));
          c.send(Buffer.concat(ps.map((p, i) => wd(id, i + 1, p))));
          for (let i = 0; i < ps.length; i++) {
            const s = await c.next(3000);
            expect([s.type, s.data.readUInt32BE(8), s.data[12]]).toEqual([CSTOCL_WRITE_STATUS, i + 1, MFS_STATUS_OK]);
            // Acknowledged: from now on it must survive.
            const p = ps[i]!;
            let m = models.get(id)!;
            if (m.length < (p.block + 1) * B) m = Buffer.concat([m, Buffer.alloc((p.block + 1) * B - m.length)]);
            p.data.copy(m, p.block * B + p.offset);
            models.set(id, m);
          }
          // The last session of each link stays open: the stop cuts it.
          finish = k < perLink - 1 ? pkt(CLTOCS_WRITE_FINISH, ['u64', id], ['u32', 1]) : Buffer.alloc(0);
        }
      }),
    );
    // Abrupt stop of both servers, as the daemons stop: data port first, then disks (.chunkdb).
    for (const n of [a, b]) {
      await n.cs.close();
      await n.hdd.stop();
    }
    nodes.splice(nodes.indexOf(a), 1);
    nodes.splice(nodes.indexOf(b), 1);
    [a, b] = [await serve(envs[0]!), await serve(envs[1]!)];
    for (const n of [a, b]) {
      for (const id of ids) {
        const want = models.get(id)!;
        const c = n.hdd.get(id)!;
        expect(c.blocks * B).toBe(want.length);
        const file = await readFile(c.path);
        expect(file.length).toBe(8192 + want.length);
        for (let blk = 0; blk < want.length / B; blk++) {
          const disk = file.subarray(8192 + blk * B, 8192 + (blk + 1) * B);
          const exp = want.subarray(blk * B, (blk + 1) * B);
          if (!disk.equals(exp)) {
            let i = 0;
            while (disk[i] === exp[i]) i++;
            throw new Error(`seed ${seed} chunk ${id.toString(16)} block ${blk}: byte ${i} on disk ${disk[i]}, acknowledged ${exp[i]}`);
          }
          expect(file.readUInt32BE(4096 + 4 * blk)).toBe(crc32(exp));
        }
        expect(await testChunk(n.hdd, id, 1)).toBe(MFS_STATUS_OK);
      }
    }
  }
}, 60_000);
