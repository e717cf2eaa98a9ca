import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NodeTable } from '../../src/fs/nodetable.js';

describe('NodeTable (inode -> node)', () => {
  it('behaves as a Map for set/get/has/delete/size, and iterates in inode order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constant(0xffffffff))), { maxLength: 300 }), (ops) => {
        const t = new NodeTable<{ inode: number; v: number }>();
        const m = new Map<number, { inode: number; v: number }>();
        ops.forEach(([add, inode], i) => {
          if (add) {
            const n = { inode, v: i };
            t.set(inode, n);
            m.set(inode, n);
          } else expect(t.delete(inode)).toBe(m.delete(inode));
          expect(t.size).toBe(m.size);
          expect(t.get(inode)).toBe(m.get(inode));
          expect(t.has(inode)).toBe(m.has(inode));
        });
        const sorted = [...m.entries()].sort((a, b) => a[0] - b[0]);
        expect([...t]).toEqual(sorted);
        expect([...t.keys()]).toEqual(sorted.map((e) => e[0]));
        expect([...t.values()]).toEqual(sorted.map((e) => e[1]));
      }),
    );
  });

  it('a node removed during iteration is not visited; clear empties it', () => {
    const t = new NodeTable<{ inode: number }>();
    for (const i of [1, 2, 3, 5000, 9000]) t.set(i, { inode: i });
    const seen: number[] = [];
    for (const n of t.values()) {
      seen.push(n.inode);
      if (n.inode === 2) t.delete(5000);
    }
    expect(seen).toEqual([1, 2, 3, 9000]);
    expect(() => t.set(-1, { inode: -1 })).toThrow(RangeError);
    t.clear();
    expect(t.size).toBe(0);
    expect([...t]).toEqual([]);
  });
});
