import fc from 'fast-check';
import type { Field, Fields, MessageDef } from '../src/index.js';

/**
 * fast-check arbitraries derived from the field descriptors themselves (`kind`, `of`, `fields`,
 * `count`, `size`, `cases`), so every message in the catalogue gets a generator without hand work.
 */
const small = { maxLength: 4 };

function bytesArb(min: number, max: number): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
}

export function fieldArb(f: Field<any>): fc.Arbitrary<any> {
  const d = f as any;
  switch (f.kind) {
    case 'u8':
      return fc.integer({ min: 0, max: 0xff });
    case 'u16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'u32':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'i32':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'u64n':
      return fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat());
    case 'u64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'bytes':
      return bytesArb(d.size, d.size);
    case 'rest':
    case 'blob16':
    case 'blob32':
    case 'cstr32':
      return bytesArb(0, 48);
    case 'name':
      return fc.oneof({ weight: 9, arbitrary: bytesArb(0, 16) }, { weight: 1, arbitrary: bytesArb(0, 255) });
    case 'list':
      return fc.array(fieldArb(d.of), small);
    case 'array':
      return fc.array(fieldArb(d.of), { minLength: d.size, maxLength: d.size });
    case 'lists':
      return fc.tuple(...Array.from({ length: d.n }, () => fc.array(fieldArb(d.of), small)));
    case 'flaggedLists':
      return fc.tuple(...Array.from({ length: d.n }, () => fc.record({ flag: fc.integer({ min: 0, max: 255 }), items: fc.array(fieldArb(d.of), small) })));
    case 'struct':
      return fieldsArb(d.fields);
    case 'optional':
      return fc.option(fieldArb(d.of), { nil: undefined });
    case 'const':
      return fc.constant(d.value);
    case 'tagged': {
      const keys = Object.keys(d.cases).filter((k) => k !== 'other').map(Number);
      const arbs: fc.Arbitrary<any>[] = keys.map((k) => fieldsArb(d.cases[String(k)]).map((v) => ({ tag: k, ...v })));
      if (d.cases.other) {
        arbs.push(
          fc.tuple(fc.integer({ min: 0, max: 255 }).filter((t) => !keys.includes(t)), fieldsArb(d.cases.other)).map(([tag, v]) => ({ tag, ...v })),
        );
      }
      return fc.oneof(...arbs);
    }
    case 'attr':
      return fc
        .record({
          flags: fc.integer({ min: 0, max: 255 }),
          type: fc.integer({ min: 0, max: 15 }),
          mode: fc.integer({ min: 0, max: 0o7777 }),
          uid: fc.integer({ min: 0, max: 0xffffffff }),
          gid: fc.integer({ min: 0, max: 0xffffffff }),
          atime: fc.integer({ min: 0, max: 0xffffffff }),
          mtime: fc.integer({ min: 0, max: 0xffffffff }),
          ctime: fc.integer({ min: 0, max: 0xffffffff }),
          nlink: fc.integer({ min: 0, max: 0xffffffff }),
          length: fc.maxSafeNat(),
          rdev: fc.integer({ min: 0, max: 0xffffffff }),
          winattr: fc.integer({ min: 0, max: 255 }),
        })
        .map((a) => (a.type === 5 || a.type === 6 ? { ...a, length: a.length % 0x100000000 } : { ...a, rdev: 0 }));
    default:
      throw new Error(`no arbitrary for field kind ${f.kind}`);
  }
}

export function fieldsArb(fields: Fields): fc.Arbitrary<Record<string, any>> {
  const rec: Record<string, fc.Arbitrary<any>> = {};
  for (const [k, f] of Object.entries(fields)) rec[k] = fieldArb(f);
  return fc.record(rec);
}

/** Values for any layout of the message, tagged with `$v` for variant messages. */
export function messageArb(m: MessageDef<any>): fc.Arbitrary<any> {
  const arbs = m.layouts.map((l) => {
    const a = fieldsArb(l.fields);
    return l.variant === undefined ? a : a.map((v) => ({ $v: l.variant, ...v }));
  });
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}
