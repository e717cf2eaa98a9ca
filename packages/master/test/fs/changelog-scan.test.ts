// The changelog scanner (parseRecord / parseLine / ChangelogReader.parseText) against the reference
// parser it replaced on the replay path: same records, same errors, for generated records of every op
// (escaped names, gid lists, raw tokens, numbers past 2^53, results) and for damaged copies of them.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ChangelogReader,
  escapeName,
  formatRecord,
  parseLine,
  parseLineReference,
  parseRecord,
  parseRecordAt,
  parseRecordReference,
  type ClArg,
} from '../../src/fs/index.js';

// Each op with how many arguments it has and which are names (the NAME_ARGS of changelog.ts, from the
// changelog(...) calls in mfsmaster/filesystem.c, sessions.c, chunks.c).
const OPS: Record<string, { n: number; names: number[] }> = {
  ACCESS: { n: 1, names: [] }, ATTR: { n: 8, names: [] }, AMTIME: { n: 4, names: [] },
  CREATE: { n: 8, names: [1] }, SYMLINK: { n: 5, names: [1, 2] }, UNLINK: { n: 2, names: [1] },
  MOVE: { n: 4, names: [1, 3] }, LINK: { n: 3, names: [2] }, LENGTH: { n: 3, names: [] },
  TRUNC: { n: 3, names: [] }, WRITE: { n: 4, names: [] }, UNLOCK: { n: 1, names: [] },
  ROLLBACK: { n: 4, names: [] }, SETXATTR: { n: 4, names: [1, 2] }, SETACL: { n: 11, names: [10] },
  SETSCLASS: { n: 6, names: [] }, SETGOAL: { n: 5, names: [] }, SETTRASHTIME: { n: 5, names: [] },
  SETEATTR: { n: 5, names: [] }, UNDEL: { n: 1, names: [] }, PURGE: { n: 1, names: [] },
  SETPATH: { n: 2, names: [1] }, EMPTYTRASH: { n: 2, names: [] }, EMPTYSUSTAINED: { n: 1, names: [] },
  FREEINODES: { n: 2, names: [] }, ACQUIRE: { n: 2, names: [] }, AQUIRE: { n: 2, names: [] },
  RELEASE: { n: 2, names: [] }, SNAPSHOT: { n: 7, names: [2] }, REPAIR: { n: 3, names: [] },
  NEXTCHUNKID: { n: 1, names: [] }, SETFILECHUNK: { n: 3, names: [] }, QUOTA: { n: 12, names: [] },
  APPEND: { n: 4, names: [] }, SCSET: { n: 13, names: [0] }, SCDUP: { n: 2, names: [0, 1] },
  SCREN: { n: 2, names: [0, 1] }, SCDEL: { n: 1, names: [0] }, SESADD: { n: 16, names: [14] },
  SESCHANGED: { n: 17, names: [15] }, SESDEL: { n: 1, names: [] }, SESSION: { n: 1, names: [] },
  SETMETAID: { n: 1, names: [] }, SETVERSION: { n: 1, names: [] }, CSDBOP: { n: 4, names: [] },
  CHUNKADD: { n: 3, names: [] }, INCVERSION: { n: 1, names: [] }, FLOCK: { n: 4, names: [] },
  POSIXLOCK: { n: 8, names: [] }, CUSTOMER: { n: 0, names: [] }, IDLE: { n: 0, names: [] },
  // not a MooseFS op: the scanner's path for names it does not know
  NOSUCHOP: { n: 3, names: [] },
};

const number = fc.oneof(
  fc.nat({ max: 20 }),
  fc.nat(),
  fc.maxSafeNat(),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
);
// Names: any bytes, weighted towards the ones that get escaped and the ones the parser splits on.
const nameByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x25, 0x2c, 0x28, 0x29, 0x5b, 0x5d, 0x3a, 0x7c, 0x30, 0x41));
const name = fc.array(nameByte, { maxLength: 24 }).map((a) => Buffer.from(a));
const raw = fc.constantFrom('0755', '0022', '#12', 'R', 'W2', '0x0000001F', 'f', 'd', '', '00', '1x', '[', 'a[b');
const gids = fc.array(fc.maxSafeNat(), { maxLength: 5 });
const other: fc.Arbitrary<ClArg> = fc.oneof({ weight: 6, arbitrary: number }, { weight: 2, arbitrary: raw }, { weight: 1, arbitrary: gids });

const record = fc.constantFrom(...Object.keys(OPS)).chain((op) => {
  const { n, names } = OPS[op]!;
  const args = fc.tuple(...Array.from({ length: n }, (_, i) => (names.includes(i) ? name : other)));
  return fc.record(
    { ts: fc.oneof(fc.nat(), fc.maxSafeNat()), op: fc.constant(op), args: n === 0 ? fc.constant([] as ClArg[]) : args, result: fc.array(number, { minLength: 1, maxLength: 4 }) },
    { requiredKeys: ['ts', 'op', 'args'] },
  );
});

const SPECIAL = [',', '(', ')', '[', ']', ':', '|', '%', '0', '9', 'A', 'a', ' ', '\r', '\n', '%4', '%zz', '\u0100'];
const damage = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...SPECIAL)), { minLength: 1, maxLength: 3 });
function applyDamage(text: string, edits: Array<[number, number, string]>): string {
  for (const [at, kind, s] of edits) {
    const i = text.length === 0 ? 0 : at % (text.length + 1);
    if (kind === 0) text = text.slice(0, i) + s + text.slice(i); // insert
    else if (kind === 1) text = text.slice(0, i) + s + text.slice(i + 1); // replace
    else text = text.slice(0, i) + text.slice(i + 1); // delete
  }
  return text;
}

describe('changelog scanner = reference parser', () => {
  test('generated records of every op parse the same, and round-trip', () => {
    fc.assert(
      fc.property(record, (rec) => {
        const text = formatRecord(rec);
        const fast = parseRecord(text);
        expect(fast).toEqual(parseRecordReference(text));
        // Well-formed records (no raw token the text cannot carry) must also come back as written.
        if (fast.ok) expect(formatRecord(fast.value)).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });

  test('damaged records: the same value or the same error', () => {
    fc.assert(
      fc.property(record, damage, fc.nat(), (rec, edits, version) => {
        const text = applyDamage(formatRecord(rec), edits);
        expect(parseRecord(text)).toEqual(parseRecordReference(text));
        // In place inside a longer text (what -a does with a whole changelog file).
        expect(parseRecordAt(`7: ${text}\n8:`, 3, 3 + text.length)).toEqual(parseRecordReference(text));
        const line = `${version}: ${text}`;
        expect(parseLine(line)).toEqual(parseLineReference(line));
        expect(parseLine(line + '\n')).toEqual(parseLineReference(line + '\n'));
        expect(parseLine(line + '\r\n')).toEqual(parseLineReference(line + '\r\n'));
      }),
      { numRuns: 5000 },
    );
  });

  test('a whole file: parseText gives what splitting and the reference give', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(record, fc.option(damage, { freq: 4 })), { maxLength: 30 }), fc.boolean(), (recs, finalNl) => {
        const lines = recs.map(([r, d], i) => `${i + 1}: ${d ? applyDamage(formatRecord(r), d) : formatRecord(r)}`);
        const text = lines.join('\n') + (finalNl ? '\n' : '');
        const want = { records: [] as unknown[], issues: [] as unknown[] };
        text.split('\n').forEach((line, i) => {
          if (line.length === 0) return;
          const r = parseLineReference(line);
          if (r.ok) want.records.push(r.value);
          else want.issues.push({ lineNo: i + 1, line, error: r.error });
        });
        expect(ChangelogReader.parseText(text)).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  test('fixed cases: escapes, big numbers, gid lists, raw tokens', () => {
    const cases = [
      '5|CREATE(1,a%2Cb%25c%28%29,f,420,18,0,0,0):2',
      '5|CREATE(1,%2,f,420,18,0,0,0):2',
      '5|CREATE(1,%2g,f,420,18,0,0,0):2',
      '5|SESADD(#1,0,1,0755,0,0,0,0,0,0,0,0,0,0,/mnt%20x,16777343):7',
      '5|ACCESS(18446744073709551615)',
      '5|ACCESS(9007199254740993):18446744073709551615',
      '5|ACCESS(0123)',
      '5|SETACL(1,0,0,0,0,0,0,0,0,[1,2,3],%41)',
      '5|SETACL(1,0,0,0,0,0,0,0,0,[],x)',
      '5|SETACL(1,0,0,0,0,0,0,0,0,[1,,2],x)',
      '5|SETACL(1,0,0,0,0,0,0,0,0,[1,2,x)',
      '5|SETACL(1,0,0,0,0,0,0,0,0,[1]2,3],x)',
      '5|ACCESS([9007199254740993])',
      '5|IDLE()', '5|IDLE(,)', '5|IDLE(1,)', '5|IDLE():', '5|IDLE():1,', '5|IDLE():01', '5|IDLE())',
      '05|IDLE()', '9007199254740993|IDLE()', '|IDLE()', '5|()', '5|IDLE', '5|IDLE(',
    ];
    for (const c of cases) expect(parseRecord(c), c).toEqual(parseRecordReference(c));
    expect(parseRecord(cases[0]!)).toMatchObject({ ok: true, value: { args: [1, Buffer.from('a,b%c()'), 'f', 420, 18, 0, 0, 0], result: [2] } });
    expect(escapeName(Buffer.from('a,b%c()'))).toBe('a%2Cb%25c%28%29');
  });
});
