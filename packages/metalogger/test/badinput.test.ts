// Bad input is a value: whatever the master sends, the metalogger either takes it or drops that
// connection with a log line; it never throws, never writes a broken line, and stays up.
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MatoanDownloadInfo } from '@mfs-ts/protocol';
import { Metalogger } from '../src/index.js';
import { FakeMaster } from './fakemaster.js';

function packet(type: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt32BE(type >>> 0, 0);
  b.writeUInt32BE(payload.length, 4);
  b.set(payload, 8);
  return b;
}

const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  // Near-valid forms: the right first byte, wrong lengths or contents.
  fc.uint8Array({ maxLength: 40 }).map((a) => Uint8Array.from([0xff, ...a])),
  fc.uint8Array({ maxLength: 3 }).map((a) => Uint8Array.from([0x55, ...a])),
  fc.uint8Array({ minLength: 16, maxLength: 40 }),
);
const typeArb = fc.oneof(fc.constantFrom(0, 1, 2, 51, 61, 63), fc.integer({ min: 0, max: 0xffffffff }));

describe('a master sending garbage', () => {
  it('never takes the metalogger down, and a valid record after garbage is written whole or not at all', async () => {
    await fc.assert(
      fc.asyncProperty(typeArb, payloadArb, fc.boolean(), async (type, payload, midDownload) => {
        const dir = mkdtempSync(join(tmpdir(), 'mfsml-bad-'));
        const master = new FakeMaster();
        master.autoServe = false;
        await master.listen();
        const ml = new Metalogger({ cfg: { DATA_PATH: dir, MASTER_HOST: '127.0.0.1', MASTER_PORT: String(master.port) } });
        try {
          await ml.start();
          const c = await master.nextConnection();
          await c.next('ANTOMA_DOWNLOAD_START');
          if (midDownload) {
            c.send(MatoanDownloadInfo.encode({ $v: 'ok', size: 100 }));
            await c.next('ANTOMA_DOWNLOAD_REQUEST');
          }
          const outcome = Promise.race([once(ml, 'disconnected').then(() => 'dropped'), once(ml, 'record').then(() => 'kept')]);
          c.send(packet(type, payload));
          c.send(c.record(5, '1|PROBE()'));
          const how = await outcome;
          expect(['dropped', 'kept']).toContain(how);
          const log = join(dir, 'changelog_ml.0.mfs');
          if (existsSync(log)) {
            // Whatever got in is whole lines "<version>: <text>".
            for (const l of readFileSync(log, 'latin1').split('\n').filter(Boolean)) expect(l).toMatch(/^\d+: /);
          }
          if (how === 'dropped') expect(existsSync(join(dir, 'metadata_ml.tmp'))).toBe(false);
        } finally {
          await ml.stop();
          await master.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('drops a master announcing a packet above 1,500,000 bytes before reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfsml-bad-'));
    const master = new FakeMaster();
    master.autoServe = false;
    await master.listen();
    const ml = new Metalogger({ cfg: { DATA_PATH: dir, MASTER_HOST: '127.0.0.1', MASTER_PORT: String(master.port) } });
    try {
      await ml.start();
      const c = await master.nextConnection();
      await c.next('ANTOMA_REGISTER');
      const gone = once(ml, 'disconnected');
      const head = Buffer.alloc(8);
      head.writeUInt32BE(51, 0);
      head.writeUInt32BE(1_500_001, 4);
      c.send(head);
      expect((await gone)[0].reason).toMatch(/too long/);
    } finally {
      await ml.stop();
      await master.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
