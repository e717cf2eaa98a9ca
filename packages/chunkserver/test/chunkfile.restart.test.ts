import { readFile, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { MFS_STATUS_OK } from '@mfs-ts/protocol';
import { createChunk, testChunk } from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { openHdd, tmpDisks, type TmpDisks } from './helpers.js';

// Property: small writes (with zero runs where sparsification skips bytes) into new chunks, some
// still in flight or in an open session when the space manager stops, then a start (from .chunkdb
// or from a full scan): every acknowledged byte is on disk, every block matches its CRC in the table,
// reads return the model, and the chunk test passes. Mirrors "echo hi > f; stop; start".

const B = 65536;
const MAXB = 3;

let env: TmpDisks;
let hdd: HddSpaceMgr;
let nextId = 1;

beforeAll(async () => {
  env = await tmpDisks(1);
  hdd = await openHdd(env.hddCfg);
});
afterAll(async () => {
  await hdd.stop();
  await env.cleanup();
});

/** Bytes with runs of zeros (leading, inner, trailing), the shapes sparsification cares about. */
const bytesArb = (max: number): fc.Arbitrary<Buffer> =>
  fc
    .array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)), fc.nat(1500).map((n) => Buffer.alloc(n + 1))), { minLength: 1, maxLength: 6 })
    .map((parts) => Buffer.concat(parts).subarray(0, max))
    .filter((b) => b.length > 0);

interface W {
  chunk: number;
  block: number;
  offset: number;
  data: Buffer;
}
const writeArb: fc.Arbitrary<W> = fc
  .record({ chunk: fc.nat(2), block: fc.nat(MAXB - 1), offset: fc.nat(B - 1), data: fc.oneof({ weight: 4, arbitrary: bytesArb(3000) }, { weight: 1, arbitrary: bytesArb(B).map((d) => Buffer.concat([d, Buffer.alloc(B - d.length)])) }) })
  .map((w) => ({ ...w, offset: w.data.length === B ? 0 : Math.min(w.offset, B - w.data.length) }));

type Step = { kind: 'writes'; ws: W[]; close: boolean } | { kind: 'restart'; scan: boolean };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('writes' as const), ws: fc.array(writeArb, { minLength: 1, maxLength: 5 }), close: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), scan: fc.boolean() }) },
);

async function checkOnDisk(id: number, model: Buffer): Promise<void> {
  const c = hdd.get(id)!;
  expect(c.blocks * B).toBe(model.length);
  const file = await readFile(c.path);
  expect(file.length).toBe(8192 + model.length);
  for (let b = 0; b < model.length / B; b++) {
    const onDisk = file.subarray(8192 + b * B, 8192 + (b + 1) * B);
    const want = model.subarray(b * B, (b + 1) * B);
    if (!onDisk.equals(want)) {
      let i = 0;
      while (onDisk[i] === want[i]) i++;
      throw new Error(`chunk ${id} block ${b}: byte ${i} on disk is ${onDisk[i]}, written ${want[i]}`);
    }
    expect(file.readUInt32BE(4096 + 4 * b)).toBe(crc32(want));
  }
  expect(await testChunk(hdd, id, 1)).toBe(MFS_STATUS_OK);
}

it('acknowledged small writes survive a stop/start byte for byte, CRCs included', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 6 }), async (steps) => {
      const ids = [nextId++, nextId++, nextId++];
      const models = ids.map(() => Buffer.alloc(0));
      for (const id of ids) expect(await createChunk(hdd, id, 1)).toBe(MFS_STATUS_OK);
      const open = new Set<number>();
      for (const s of [...steps, { kind: 'restart' as const, scan: false }]) {
        if (s.kind === 'writes') {
          // All pieces at once (as pipelined WRITE_DATA), each acknowledged when its promise resolves.
          const pend: Array<Promise<number>> = [];
          for (const w of s.ws) {
            const id = ids[w.chunk]!;
            const c = hdd.get(id)!;
            if (!open.has(id)) {
              expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
              open.add(id);
            }
            pend.push(c.exclusive(() => c.write(1, w.block, w.offset, w.data.length, w.data, 0, crc32(w.data))));
            const m = models[w.chunk]!;
            const end = (w.block + 1) * B;
            if (m.length < end) models[w.chunk] = Buffer.concat([m, Buffer.alloc(end - m.length)]);
            w.data.copy(models[w.chunk]!, w.block * B + w.offset);
          }
          for (const st of await Promise.all(pend)) expect(st).toBe(MFS_STATUS_OK);
          if (s.close) {
            for (const id of open) {
              const c = hdd.get(id)!;
              await c.exclusive(() => c.ioEnd());
            }
            open.clear();
          }
        } else {
          // Stop with sessions possibly still open (the connection is cut at stop), then start.
          open.clear();
          await hdd.stop();
          if (s.scan) await unlink(`${env.disks[0]}.chunkdb`).catch(() => undefined);
          hdd = await openHdd(env.hddCfg);
          for (let i = 0; i < ids.length; i++) await checkOnDisk(ids[i]!, models[i]!);
        }
      }
    }),
    { numRuns: 40, interruptAfterTimeLimit: 15_000 },
  );
}, 60_000);
