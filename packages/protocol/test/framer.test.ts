import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { PacketFramer } from '../src/index.js';

type Pkt = { type: number; payload: Buffer };

const packetArb = fc.record({
  type: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 70000 }) },
  ).map((a) => Buffer.from(a)),
});

function serialize(pkts: Pkt[]): Buffer {
  return Buffer.concat(
    pkts.map((p) => {
      const h = Buffer.alloc(8);
      h.writeUInt32BE(p.type >>> 0, 0);
      h.writeUInt32BE(p.payload.length, 4);
      return Buffer.concat([h, p.payload]);
    }),
  );
}

function feed(framer: PacketFramer, chunks: Buffer[]): Pkt[] {
  const out: Pkt[] = [];
  for (const c of chunks) {
    const err = framer.push(c, (type, payload) => out.push({ type, payload: Buffer.from(payload) }));
    expect(err).toBeUndefined();
  }
  return out;
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of pts) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const same = (a: Pkt[], b: Pkt[]) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i]!.type).toBe(b[i]!.type >>> 0);
    expect(a[i]!.payload.equals(b[i]!.payload)).toBe(true);
  }
};

describe('PacketFramer', () => {
  it('splitting a stream at random boundaries yields the same packets', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (pkts, cuts) => {
        const stream = serialize(pkts);
        same(feed(new PacketFramer(100_000, 16), split(stream, cuts)), pkts);
      }),
      { numRuns: 200 },
    );
  });

  it('feeding one byte at a time (every boundary) yields the same packets', () => {
    fc.assert(
      fc.property(fc.array(packetArb.filter((p) => p.payload.length < 200), { maxLength: 8 }), (pkts) => {
        const stream = serialize(pkts);
        const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
        same(feed(new PacketFramer(100_000), chunks), pkts);
      }),
      { numRuns: 50 },
    );
  });

  it('delivers packets that arrive whole without copying them (stable views of the chunk)', () => {
    const stream = serialize([{ type: 1, payload: Buffer.from('abc') }, { type: 2, payload: Buffer.from('de') }]);
    const seen: boolean[] = [];
    new PacketFramer(1000).push(stream, (_t, p, stable) => {
      seen.push(stable && p.buffer === stream.buffer);
    });
    expect(seen).toEqual([true, true]);
  });

  it('adopt hands over a reassembled packet (header at 0) and frames on in the buffer given', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), (pkts, cuts) => {
        const stream = serialize(pkts);
        const f = new PacketFramer(100_000, 16);
        const got: Array<{ type: number; payload: Buffer }> = [];
        const taken = new Set<Buffer>();
        for (const c of split(stream, cuts)) {
          f.push(c, (type, payload, stable) => {
            if (stable) {
              expect(f.adopt(Buffer.alloc(4))).toBeUndefined();
              got.push({ type, payload: Buffer.from(payload) });
              return;
            }
            const b = f.adopt(Buffer.alloc(payload.length % 3 === 0 ? 8 : 70_000))!;
            expect(taken.has(b)).toBe(false);
            taken.add(b);
            expect(b.readUInt32BE(0)).toBe(type);
            expect(b.readUInt32BE(4)).toBe(payload.length);
            expect(b.subarray(8, 8 + payload.length).equals(payload)).toBe(true);
            expect(f.adopt(Buffer.alloc(8))).toBeUndefined(); // once per packet
            got.push({ type, payload: b.subarray(8, 8 + payload.length) });
          });
        }
        expect(f.adopt(Buffer.alloc(8))).toBeUndefined();
        same(got, pkts);
      }),
      { numRuns: 200 },
    );
  });

  it('reports an oversized length as an error value before allocating, and stays broken', () => {
    const f = new PacketFramer(100_000);
    const sizes: number[] = [];
    const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const).map((k) => {
      const orig = Buffer[k].bind(Buffer) as (n: number) => Buffer;
      return vi.spyOn(Buffer, k).mockImplementation(((n: number) => {
        sizes.push(n);
        return orig(n);
      }) as any);
    });
    const hdr = Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0]);
    const got: number[] = [];
    const err = f.push(hdr.subarray(0, 5), () => got.push(1)) ?? f.push(hdr.subarray(5), () => got.push(1));
    expect(err?.code).toBe('MFS_PROTO_TOO_BIG');
    expect(f.pending).toBe(0);
    // a length just above the maximum, header split: still nothing allocated for it
    const g = new PacketFramer(100_000, 16);
    const near = Buffer.from([0, 0, 0, 1, 0, 0x02, 0x49, 0xf0]); // 150000
    expect(g.push(near.subarray(0, 3), () => got.push(1))).toBeUndefined();
    expect(g.push(near.subarray(3), () => got.push(1))?.code).toBe('MFS_PROTO_TOO_BIG');
    for (const sp of spies) sp.mockRestore();
    expect(sizes.filter((n) => n > 100_000)).toEqual([]);
    expect(f.push(Buffer.alloc(8), () => got.push(1))?.code).toBe('MFS_PROTO_TOO_BIG');
    expect(got).toEqual([]);
    // also when the header arrives whole
    expect(new PacketFramer(10).push(Buffer.from([0, 0, 0, 1, 0, 0, 0, 11]), () => got.push(1))?.code).toBe('MFS_PROTO_TOO_BIG');
  });

  it('accepts a packet of exactly the maximum length', () => {
    const p = { type: 7, payload: Buffer.alloc(100) };
    same(feed(new PacketFramer(100), [serialize([p])]), [p]);
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.integer({ min: 0, max: 5000 }), (chunks, max) => {
        const f = new PacketFramer(max);
        for (const c of chunks) {
          const e = f.push(Buffer.from(c), (_t, p) => expect(p.length).toBeLessThanOrEqual(max));
          if (e) expect(e.code).toBe('MFS_PROTO_TOO_BIG');
        }
      }),
      { numRuns: 300 },
    );
  });
});
