import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, MESSAGES, MESSAGE_IDS, messageById, messageByName, ProtocolError } from '../src/index.js';
import { messageArb } from './arbitraries.js';

const payloadOf = (packet: Buffer) => packet.subarray(8);

describe('message catalogue', () => {
  it('defines every MooseFS id exactly once, under its MooseFS name and number', () => {
    const names = MESSAGES.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const e of MESSAGE_IDS) {
      const m = messageByName(e.name);
      expect(m, e.name).toBeDefined();
      expect(m!.id).toBe(e.id);
      expect(m!.link).toBe(e.link);
    }
    expect(MESSAGES.length).toBe(MESSAGE_IDS.length);
  });

  it('finds definitions by id, the link telling apart ids shared by two directions', () => {
    expect(messageById(499, 'MATOCL')!.name).toBe('MATOCL_FUSE_FSYNC');
    expect(messageById(499, 'CLTOMA')!.name).toBe('CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED');
    expect(messageById(406, 'CLTOMA')!.name).toBe('CLTOMA_FUSE_LOOKUP');
    expect(messageById(0, 'CSTOMA')!.name).toBe('ANTOAN_NOP');
    expect(messageById(12345)).toBeUndefined();
  });

  it('decodes a packet by type and link, unknown types as an error value', () => {
    const r = decodePacket(409, Buffer.from('0000000703', 'hex'), 'MATOCL');
    expect(r.ok && r.value.def.name).toBe('MATOCL_FUSE_GETATTR');
    expect(r.ok && r.value.value).toMatchObject({ $v: 'status', msgid: 7, status: 3 });
    const u = decodePacket(9999, Buffer.alloc(0), 'CLTOMA');
    expect(u.ok || u.error.code).toBe('MFS_PROTO_UNKNOWN');
  });
});

describe.each(MESSAGES.map((m) => [m.name, m] as const))('%s', (_name, m) => {
  it('encode -> decode -> encode is the identity on bytes', () => {
    fc.assert(
      fc.property(messageArb(m), (v) => {
        const p1 = m.encode(v);
        expect(p1.readUInt32BE(0)).toBe(m.id);
        expect(p1.readUInt32BE(4)).toBe(p1.length - 8);
        const d = m.decode(payloadOf(p1));
        if (!d.ok) throw new Error(`${m.name} did not decode its own encoding: ${d.error.message} (${payloadOf(p1).toString('hex')})`);
        const p2 = m.encode(d.value);
        expect(p2.toString('hex')).toBe(p1.toString('hex'));
      }),
      { numRuns: 60 },
    );
  });

  it('never throws on random, truncated or corrupted payloads', () => {
    fc.assert(
      fc.property(
        messageArb(m),
        fc.uint8Array({ maxLength: 120 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (v, junk, pos, byte) => {
          const good = payloadOf(m.encode(v));
          const cases = [Buffer.from(junk), good.subarray(0, pos % (good.length + 1)), Buffer.concat([good, Buffer.from(junk)])];
          if (good.length > 0) {
            const c = Buffer.from(good);
            c[pos % c.length] = byte;
            cases.push(c);
          }
          for (const p of cases) {
            const r = m.decode(p);
            if (!r.ok) expect(ProtocolError.is(r.error)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
