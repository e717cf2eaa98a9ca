import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { MFS_STATUS_OK } from '@mfs-ts/protocol';
import { createChunk, deleteChunk, duplicateChunk, testChunk, truncateChunk } from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { openHdd, tmpDisks, type TmpDisks } from './helpers.js';

// Model-based: random writes, truncates and duplicates applied to a real chunk and to a plain buffer;
// after each step reads through the chunk API and the file on disk (checked against its own CRC
// table) must equal the model.

const B = 65536;
const MAXB = 6; // blocks touched by the test (keeps files small)

let env: TmpDisks;
let hdd: HddSpaceMgr;
let nextId = 1000;

beforeAll(async () => {
  env = await tmpDisks(1);
  hdd = await openHdd(env.hddCfg);
});
afterAll(async () => {
  await hdd.stop();
  await env.cleanup();
});

type Op =
  | { kind: 'write'; block: number; offset: number; data: Uint8Array }
  | { kind: 'truncate'; length: number }
  | { kind: 'duplicate' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), block: fc.nat(MAXB - 1), offset: fc.nat(B - 1), data: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.constant(new Uint8Array(B)), fc.uint8Array({ minLength: B, maxLength: B })) }).map((o) => ({ ...o, offset: Math.min(o.offset, B - o.data.length) })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(MAXB * B) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate' as const }) },
);

async function readAll(id: number, version: number, length: number): Promise<Buffer> {
  const c = hdd.get(id)!;
  const out = Buffer.alloc(length + 4);
  expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
  const parts: Buffer[] = [];
  for (let off = 0; off < length; ) {
    const block = Math.floor(off / B);
    const n = Math.min(B - (off % B), length - off);
    const st = await c.exclusive(() => c.read(version, block, off % B, n, out, 4, 0));
    expect(st).toBe(MFS_STATUS_OK);
    expect(out.readUInt32BE(0)).toBe(crc32(out.subarray(4, 4 + n)));
    parts.push(Buffer.from(out.subarray(4, 4 + n)));
    off += n;
  }
  await c.exclusive(() => c.ioEnd());
  return Buffer.concat(parts);
}

it('a chunk behaves as a byte array under writes, truncates and duplicates', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
      let id = nextId++;
      let version = 1;
      expect(await createChunk(hdd, id, version)).toBe(MFS_STATUS_OK);
      let model = Buffer.alloc(0);
      for (const op of ops) {
        if (op.kind === 'write') {
          const c = hdd.get(id)!;
          const d = Buffer.from(op.data);
          expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
          expect(await c.exclusive(() => c.write(version, op.block, op.offset, d.length, d, 0, crc32(d)))).toBe(MFS_STATUS_OK);
          await c.exclusive(() => c.ioEnd());
          // A write makes the chunk cover whole blocks up to the one written.
          const blocksEnd = (op.block + 1) * B;
          if (model.length < blocksEnd) model = Buffer.concat([model, Buffer.alloc(blocksEnd - model.length)]);
          d.copy(model, op.block * B + op.offset);
        } else if (op.kind === 'truncate') {
          expect(await truncateChunk(hdd, id, version, version + 1, op.length)).toBe(MFS_STATUS_OK);
          version++;
          const covered = Math.ceil(op.length / B) * B;
          const next = Buffer.alloc(covered);
          model.copy(next, 0, 0, Math.min(op.length, model.length));
          model = next;
        } else {
          const copy = nextId++;
          expect(await duplicateChunk(hdd, id, version, version, copy, 1)).toBe(MFS_STATUS_OK);
          expect(await deleteChunk(hdd, id, version)).toBe(MFS_STATUS_OK);
          id = copy;
          version = 1;
        }
        const c = hdd.get(id)!;
        expect(c.blocks * B).toBe(model.length);
        expect((await readAll(id, version, model.length)).equals(model)).toBe(true);
      }
      // On disk: header, CRC table matching each stored block, data equal to the model.
      const c = hdd.get(id)!;
      await c.exclusive(() => c.closeNow());
      const file = await readFile(c.path);
      expect(file.length).toBe(8192 + model.length);
      for (let b = 0; b < model.length / B; b++) expect(file.readUInt32BE(4096 + 4 * b)).toBe(crc32(model.subarray(b * B, (b + 1) * B)));
      expect(file.subarray(8192).equals(model)).toBe(true);
      expect(await testChunk(hdd, id, version)).toBe(MFS_STATUS_OK);
      expect(await deleteChunk(hdd, id, version)).toBe(MFS_STATUS_OK);
    }),
    { numRuns: 60, interruptAfterTimeLimit: 10_000 },
  );
}, 40_000);
