// Model-based: random streams of change records and rotate markers, cut into random pieces, sent by
// the fake master; the files the metalogger leaves must be what a plain model of 3.0.117's
// masterconn_metachanges_log says (line format, order, rotation, BACK_LOGS).
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MatoanMetachangesLog } from '@mfs-ts/protocol';
import { ChangelogMl, Metalogger } from '../src/index.js';
import { FakeMaster } from './fakemaster.js';

type Op = { kind: 'rec'; text: Uint8Array } | { kind: 'rot' };

/** Text bytes as the master sends them: no NUL inside (the NUL is added at the end). */
const textArb = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => a.map((b) => (b === 0 ? 0x41 : b)));
const opsArb = fc.array(fc.oneof({ weight: 4, arbitrary: textArb.map((text) => ({ kind: 'rec' as const, text })) }, { weight: 1, arbitrary: fc.constant({ kind: 'rot' as const }) }), {
  minLength: 1,
  maxLength: 120,
  size: 'max',
});

/** The model: file index -> content; a rotation shifts the files up by one, as renames. */
function model(ops: Op[], first: number, backLogs: number): Map<number, Buffer> {
  const files = new Map<number, Buffer>();
  let v = first;
  for (const op of ops) {
    if (op.kind === 'rot') {
      // rename(i-1, i) for i = backLogs..1: a missing i-1 renames nothing, so the file at backLogs
      // stays until something is renamed onto it.
      for (let i = backLogs; i > 0; i--) {
        const b = files.get(i - 1);
        if (b !== undefined) {
          files.set(i, b);
          files.delete(i - 1);
        }
      }
    } else {
      const line = Buffer.concat([Buffer.from(`${v}: `), Buffer.from(op.text), Buffer.from('\n')]);
      files.set(0, Buffer.concat([files.get(0) ?? Buffer.alloc(0), line]));
      v++;
    }
  }
  return files;
}

function onDisk(dir: string): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const f of readdirSync(dir)) {
    const m = /^changelog_ml\.(\d+)\.mfs$/.exec(f);
    if (m) out.set(Number(m[1]), readFileSync(join(dir, f)));
  }
  return out;
}

describe('changelog_ml files against a model of 3.0.117', () => {
  it('ChangelogMl alone: any sequence of records and rotations', () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 5, max: 8 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 10 }), (ops, backLogs, first, flushEvery) => {
        const dir = mkdtempSync(join(tmpdir(), 'mfsml-model-'));
        try {
          const log = new ChangelogMl(dir);
          let v = first;
          ops.forEach((op, i) => {
            if (op.kind === 'rot') log.rotate(backLogs);
            else log.append(v++, Buffer.concat([Buffer.from(op.text), Buffer.from([0])]));
            if (i % flushEvery === 0) log.flush();
          });
          log.close();
          expect(onDisk(dir)).toEqual(model(ops, first, backLogs));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('through the socket, with the byte stream cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(opsArb, fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), async (ops, cuts) => {
        const dir = mkdtempSync(join(tmpdir(), 'mfsml-model-'));
        const master = new FakeMaster();
        await master.listen();
        const ml = new Metalogger({ cfg: { DATA_PATH: dir, MASTER_HOST: '127.0.0.1', MASTER_PORT: String(master.port), BACK_LOGS: 5 } });
        try {
          await ml.start();
          const c = await master.nextConnection();
          await c.next('ANTOMA_REGISTER');
          let v = 100;
          const packets = ops.map((op) =>
            op.kind === 'rot'
              ? c.rotate()
              : MatoanMetachangesLog.encode({ $v: 'change', rtype: 0xff, version: BigInt(v++), data: Buffer.concat([Buffer.from(op.text), Buffer.from([0])]) }),
          );
          // A last record to wait for.
          packets.push(c.record(v, 'END'));
          const all = Buffer.concat(packets);
          for (let off = 0, k = 0; off < all.length; k++) {
            const n = cuts[k % cuts.length]!;
            c.send(all.subarray(off, off + n));
            off += n;
          }
          while (ml.lastLogVersion < v) await once(ml, 'record');
          const want = model([...ops, { kind: 'rec', text: Buffer.from('END') }], 100, 5);
          expect(onDisk(dir)).toEqual(want);
        } finally {
          await ml.stop();
          await master.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });
});
