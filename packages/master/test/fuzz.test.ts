import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CltomaFuseRegister, CltomaInfo, FUSE_REGISTER_BLOB_ACL, MatoclFuseRegister, MatoclInfo, MESSAGE_IDS, VERSHEX } from '@mfs-ts/protocol';
import { Master } from '../src/index.js';
import { TestPeer } from './client.js';
import { messageArb } from '../../protocol/test/arbitraries.js';
import { CLTOMA_MESSAGES, type MessageDef } from '@mfs-ts/protocol';

// Random packets of every client-link message type, on registered and unregistered connections: the
// master answers or closes that connection, and keeps serving everyone else.

const LOCAL = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
type Reg = Parameters<typeof CltomaFuseRegister.encode>[0];

describe('fuzz: random client packets', () => {
  let m: Master;
  beforeAll(async () => {
    m = new Master({ cfg: LOCAL, exportsText: '* / rw,alldirs,maproot=0:0\n* . rw' });
    await m.start();
  });
  afterAll(async () => {
    await m.stop();
  });

  const types = [...new Set(MESSAGE_IDS.filter((x) => x.link === 'CLTOMA' || x.link === 'ANTOAN' || x.link === 'CLTOAN').map((x) => x.id))];

  it('never takes the master down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.record({ type: fc.constantFrom(...types), payload: fc.uint8Array({ maxLength: 96 }), msgid: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        async (register, packets) => {
          const p = await TestPeer.connect(m.ports.cl);
          try {
            if (register) {
              p.send(CltomaFuseRegister, { $v: 'newsession', blob: FUSE_REGISTER_BLOB_ACL, rcode: 2, version: VERSHEX, info: Buffer.from('fuzz\0'), path: Buffer.from('/\0') } as unknown as Reg);
              await p.next(MatoclFuseRegister.id, 2000);
            }
            for (const { type, payload, msgid } of packets) {
              const body = Buffer.from(payload);
              if (msgid && body.length >= 4) body.writeUInt32BE(1, 0);
              const h = Buffer.alloc(8);
              h.writeUInt32BE(type, 0);
              h.writeUInt32BE(body.length, 4);
              p.raw(Buffer.concat([h, body]));
            }
          } finally {
            p.close();
          }
          // Everyone else is still served.
          const q = await TestPeer.connect(m.ports.cl);
          try {
            q.send(CltomaInfo, {});
            expect((await q.next(MatoclInfo.id, 2000)).length).toBe(149);
          } finally {
            q.close();
          }
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 15_000 },
    );
  }, 60_000);

  it('well-formed requests with random values (small inodes) never take it down either', async () => {
    const defs = CLTOMA_MESSAGES.filter((d) => d.name !== 'CLTOMA_FUSE_REGISTER');
    const req = fc.constantFrom(...defs).chain((d) =>
      messageArb(d).map((v: Record<string, unknown>) => {
        const x = { ...v };
        for (const k of ['inode', 'inodeSrc', 'inodeDst', 'parent']) if (typeof x[k] === 'number') x[k] = ((x[k] as number) % 8) + 1;
        return { d, v: x };
      }),
    );
    const p = await TestPeer.connect(m.ports.cl);
    p.send(CltomaFuseRegister, { $v: 'newsession', blob: FUSE_REGISTER_BLOB_ACL, rcode: 2, version: VERSHEX, info: Buffer.from('fuzz\0'), path: Buffer.from('/\0') } as unknown as Reg);
    await p.next(MatoclFuseRegister.id, 2000);
    let conn = p;
    await fc.assert(
      fc.asyncProperty(fc.array(req, { minLength: 1, maxLength: 10 }), async (reqs) => {
        if (conn.closed) {
          conn = await TestPeer.connect(m.ports.cl);
          conn.send(CltomaFuseRegister, { $v: 'newsession', blob: FUSE_REGISTER_BLOB_ACL, rcode: 2, version: VERSHEX, info: Buffer.from('fuzz\0'), path: Buffer.from('/\0') } as unknown as Reg);
          await conn.next(MatoclFuseRegister.id, 2000);
        }
        for (const { d, v } of reqs) {
          let b: Buffer;
          try {
            b = (d as MessageDef<unknown>).encode(v);
          } catch {
            continue; // a value the layout cannot carry (e.g. a constant field)
          }
          conn.raw(b);
        }
        const q = await TestPeer.connect(m.ports.cl);
        try {
          q.send(CltomaInfo, {});
          expect((await q.next(MatoclInfo.id, 3000)).length).toBe(149);
        } finally {
          q.close();
        }
      }),
      { numRuns: 200, interruptAfterTimeLimit: 20_000 },
    );
    conn.close();
  }, 60_000);
});
