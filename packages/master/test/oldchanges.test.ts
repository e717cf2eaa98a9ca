import { describe, expect, it } from 'vitest';
import { OldChanges } from '../src/oldchanges.js';

const text = (v: bigint): string => `${1700000000 + Number(v)}|ACCESS(${v})`;

describe('OldChanges (records kept for metaloggers)', () => {
  it('gives back every record from a version on, across blocks, with the NUL of the wire form', () => {
    let preserve = 600_000;
    const oc = new OldChanges(() => preserve);
    for (let v = 10n; v < 10_010n; v++) {
      const d = oc.add(v, text(v), 1000);
      expect(d.toString('latin1')).toBe(`${text(v)}\0`);
    }
    expect(oc.minVersion).toBe(10n);
    const got = [...oc.since(5005n)];
    expect(got.length).toBe(5005);
    expect(got.map((r) => r.version)).toEqual(Array.from({ length: 5005 }, (_, i) => 5005n + BigInt(i)));
    for (const r of got) expect(r.data.toString('latin1')).toBe(`${text(r.version)}\0`);
    expect([...oc.since(0n)].length).toBe(10_000);
    expect([...oc.since(20_000n)]).toEqual([]);
    // A gap in versions starts a new block; both stay readable in order.
    oc.add(20_000n, text(20_000n), 2000);
    expect([...oc.since(10_009n)].map((r) => r.version)).toEqual([10_009n, 20_000n]);
    // Expiry drops whole blocks whose newest record is older than the preserve time.
    preserve = 500;
    oc.add(20_001n, text(20_001n), 2400);
    expect(oc.minVersion).toBe(20_000n);
    expect([...oc.since(0n)].map((r) => r.version)).toEqual([20_000n, 20_001n]);
    preserve = 0;
    oc.add(20_002n, 'x'.repeat(70_000), 5000);
    expect([...oc.since(0n)].map((r) => [r.version, r.data.length])).toEqual([[20_002n, 70_001]]);
  });
});
