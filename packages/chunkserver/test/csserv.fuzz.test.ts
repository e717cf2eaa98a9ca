import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { silentLogger } from '@mfs-ts/common';
import { CsServ } from '../src/csserv.js';
import { createChunk } from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { openHdd, tmpDisks, type TmpDisks } from './helpers.js';
import { WireClient, pkt } from './wire.js';

// Random packets (real types with random payloads, random types, random garbage) against a live data
// port: the server answers or closes that connection, never crashes, and keeps serving others.

let env: TmpDisks;
let hdd: HddSpaceMgr;
let cs: CsServ;
let port: number;

beforeAll(async () => {
  env = await tmpDisks(1);
  hdd = await openHdd(env.hddCfg);
  await createChunk(hdd, 1, 1);
  cs = new CsServ({
    hdd,
    log: silentLogger(),
    cfgValue: () => '',
    moduleInfo: () => ({ csid: 1, metaId: 1n, masterIp: 0, masterPort: 0 }),
    jobs: { count: 0 },
  });
  port = (await cs.listen('127.0.0.1', 0)).port;
});

afterAll(async () => {
  await cs.close();
  await hdd.stop();
  await env.cleanup();
});

const types = [0, 1, 2, 10, 80, 200, 210, 212, 213, 250, 300, 302, 504, 506, 530, 600, 7, 9999, 0xffffffff];

it('never crashes on random packets and keeps serving', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constantFrom(...types), body: fc.uint8Array({ maxLength: 80 }) }).map(({ type, body }) => {
            const b = Buffer.from(body);
            // Point many requests at the existing chunk 1 so they get past the first checks.
            if (b.length >= 9 && b[0]! < 128) b.writeBigUInt64BE(1n, b.length === 21 || b.length % 2 === 1 ? 1 : 0);
            return pkt(type, b);
          }),
          fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
        ),
        { minLength: 1, maxLength: 6 },
      ),
      async (packets) => {
        const c = await WireClient.open(port);
        for (const p of packets) c.send(p);
        // Give the server a moment to react, then drop the connection from our side.
        await Promise.race([c.waitClosed(150), c.next(150).catch(() => undefined)]);
        c.close();
        const probe = await WireClient.open(port);
        probe.send(pkt(10));
        const v = await probe.next(3000);
        probe.close();
        expect(v.type).toBe(11);
      },
    ),
    { numRuns: 60, interruptAfterTimeLimit: 20_000 },
  );
}, 40_000);
