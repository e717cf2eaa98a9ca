import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANTOAN_NOP_PACKET, CltocsRead, CltocsWrite, CltocsWriteData, CltocsWriteFinish, CstoclReadData, CstoclReadStatus,
  CstoclWriteStatus, crcOk, newDataView, parseReadData, parseWriteData, putRead, putReadData, putReadStatus, putWriteData,
  putWriteFinish, putWriteInit, putWriteStatus, type MessageDef,
} from '../src/index.js';

// The hand-written encoders must produce exactly what the generic definitions produce.
const decodeWith = (m: MessageDef<any>, pkt: Buffer) => {
  expect(pkt.readUInt32BE(0)).toBe(m.id);
  expect(pkt.readUInt32BE(4)).toBe(pkt.length - 8);
  const r = m.decode(pkt.subarray(8));
  if (!r.ok) throw r.error;
  expect(m.encode(r.value).equals(pkt)).toBe(true);
  return r.value;
};

const piece = fc.record({
  chunkid: fc.maxSafeNat(),
  writeid: fc.integer({ min: 0, max: 0xffffffff }),
  blocknum: fc.integer({ min: 0, max: 1023 }),
  offset: fc.integer({ min: 0, max: 65535 }),
  data: fc.uint8Array({ maxLength: 4096 }),
}).map((p) => ({ ...p, data: Buffer.from(p.data.subarray(0, 65536 - p.offset)) }));

describe('hot path codecs', () => {
  it('WRITE_DATA: putWriteData == generic encoding, parseWriteData gives a view with a valid CRC', () => {
    const buf = Buffer.alloc(70_000);
    const view = newDataView();
    fc.assert(
      fc.property(piece, fc.integer({ min: 0, max: 100 }), (p, at) => {
        const end = putWriteData(buf, at, p.chunkid, p.writeid, p.blocknum, p.offset, p.data);
        const pkt = buf.subarray(at, end);
        const v = decodeWith(CltocsWriteData, Buffer.from(pkt));
        expect(v).toMatchObject({ chunkid: p.chunkid, writeid: p.writeid, blocknum: p.blocknum, offset: p.offset, size: p.data.length, crc: crc32(p.data) });
        expect(parseWriteData(pkt.subarray(8), view)).toBeUndefined();
        expect(view.data.buffer).toBe(buf.buffer);
        expect(view.data.equals(p.data)).toBe(true);
        expect(crcOk(view)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('READ_DATA: putReadData == generic encoding; parse detects truncation, bad sizes and bad CRC', () => {
    const buf = Buffer.alloc(70_000);
    const view = newDataView();
    fc.assert(
      fc.property(piece, (p) => {
        const end = putReadData(buf, 0, p.chunkid, p.blocknum, p.offset, p.data);
        const pkt = Buffer.from(buf.subarray(0, end));
        decodeWith(CstoclReadData, pkt);
        const payload = pkt.subarray(8);
        expect(parseReadData(payload, view)).toBeUndefined();
        expect(view.data.equals(p.data)).toBe(true);
        expect(parseReadData(payload.subarray(0, payload.length - 1), view)).toBe('MFS_PROTO_TRUNCATED');
        if (p.data.length > 0) {
          payload[20] ^= 1;
          parseReadData(payload, view);
          expect(crcOk(view)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
    const bad = Buffer.alloc(20);
    bad.writeUInt16BE(1024, 8);
    expect(parseReadData(bad, view)).toBe('MFS_PROTO_BAD_VALUE');
  });

  it('status, read, write-init and finish encoders match the definitions', () => {
    const b = Buffer.alloc(200);
    expect(decodeWith(CstoclReadStatus, Buffer.from(b.subarray(0, putReadStatus(b, 0, 77, 3))))).toEqual({ chunkid: 77, status: 3 });
    expect(decodeWith(CstoclWriteStatus, Buffer.from(b.subarray(0, putWriteStatus(b, 0, 77, 9, 0))))).toEqual({ chunkid: 77, writeid: 9, status: 0 });
    expect(decodeWith(CltocsRead, Buffer.from(b.subarray(0, putRead(b, 0, 77, 2, 65536, 4096))))).toEqual({ $v: 'v1', protover: 1, chunkid: 77, version: 2, offset: 65536, size: 4096 });
    const chain = [{ ip: 0x0a000001, port: 9422 }, { ip: 0x0a000002, port: 9423 }];
    expect(decodeWith(CltocsWrite, Buffer.from(b.subarray(0, putWriteInit(b, 0, 77, 2, chain, 1))))).toEqual({ $v: 'v1', protover: 1, chunkid: 77, version: 2, chain: [chain[1]] });
    expect(decodeWith(CltocsWriteFinish, Buffer.from(b.subarray(0, putWriteFinish(b, 0, 77, 2))))).toEqual({ chunkid: 77, version: 2 });
    expect(ANTOAN_NOP_PACKET.equals(Buffer.alloc(8))).toBe(true);
  });
});
