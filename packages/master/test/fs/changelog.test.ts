// Changelog text: MooseFS name escaping (changelog_escape_name), record parsing (restore.c), and the
// append-only writer/reader.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ChangelogReader,
  ChangelogWriter,
  escapeName,
  formatRecord,
  parseLine,
  parseRecord,
  unescapeName,
} from '../../src/fs/index.js';

describe('name escaping', () => {
  test('bytes < 32, >= 127 and , % ( ) become %XX with upper-case hex', () => {
    expect(escapeName(Buffer.from('plain-name.txt'))).toBe('plain-name.txt');
    expect(escapeName(Buffer.from('a,b%c(d)e'))).toBe('a%2Cb%25c%28d%29e');
    expect(escapeName(Buffer.from([0x0a, 0x7f, 0xff, 0x20]))).toBe('%0A%7F%FF ');
    expect(unescapeName('a%2Cb%25')).toEqual(Buffer.from('a,b%'));
    expect(unescapeName('bad%2c')).toBeUndefined(); // lower-case hex is refused, as restore.c GETNAME does
    expect(unescapeName('bad%2')).toBeUndefined();
  });

  test('escape/unescape round trip for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const esc = escapeName(buf);
        expect(/[,()\x00-\x1f\x7f-\xff]/.test(esc)).toBe(false);
        expect(unescapeName(esc)).toEqual(buf);
      }),
    );
  });
});

describe('record parsing', () => {
  test('records as mfsmaster writes them', () => {
    const r = parseLine('123: 1700000000|CREATE(1,a%2Cb,1,420,18,1000,1000,0):5');
    expect(r.ok && r.value).toEqual({
      version: 123n,
      rec: { ts: 1700000000, op: 'CREATE', args: [1, Buffer.from('a,b'), 1, 420, 18, 1000, 1000, 0], result: [5] },
    });
    const s = parseRecord('1|SNAPSHOT(2,1,snap,0,0,1000,[1000,50],18):9,0,0,0,0,3');
    expect(s.ok && s.value.args[6]).toEqual([1000, 50]);
    expect(s.ok && s.value.result).toEqual([9, 0, 0, 0, 0, 3]);
    const big = parseRecord('1|SETMETAID(18446744073709551615)');
    expect(big.ok && big.value.args[0]).toBe(18446744073709551615n);
    const ses = parseRecord('5|SESADD(#123,1,2,0755,0,0,999,999,1,9,0,4294967295,0x0000001F,2130706433,info%20x):7');
    expect(ses.ok && ses.value.args.slice(0, 4)).toEqual(['#123', 1, 2, '0755']);
    expect(ses.ok && formatRecord(ses.value)).toBe('5|SESADD(#123,1,2,0755,0,0,999,999,1,9,0,4294967295,0x0000001F,2130706433,info x):7');
    expect(ses.ok && ses.value.args[12]).toBe('0x0000001F');
    expect(ses.ok && ses.value.args[14]).toEqual(Buffer.from('info x'));
    const names = parseRecord('7|UNLINK(1,123):4');
    expect(names.ok && names.value.args[1]).toEqual(Buffer.from('123')); // a numeric-looking name stays a name
    expect(parseRecord('7|IDLE()').ok).toBe(true);
    // a CRLF line end, a name with a latin1 byte and no escape, a zero-padded umask kept raw
    const crlf = parseLine('42: 9|CREATE(1,caf\u00e9,1,420,0022,0,0,0):3\r\n');
    expect(crlf.ok && crlf.value.version).toBe(42n);
    expect(crlf.ok && crlf.value.rec.args[1]).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(crlf.ok && crlf.value.rec.args[4]).toBe('0022');
    expect(crlf.ok && crlf.value.rec.result).toEqual([3]);
  });

  test('malformed lines are values, not exceptions', () => {
    for (const bad of ['', 'x', '12 1|A()', '1: |A()', '1: 5|A(', '1: 5|a()', '1: 5|A():', '1: 5|A()x', '1: 5|UNLINK(1,%G0):1', '1: 5|A([1,x])']) {
      const r = parseLine(bad);
      expect(r.ok, bad).toBe(false);
    }
    fc.assert(fc.property(fc.string(), (s) => void parseLine(s)));
  });

  test('format -> parse -> format is the identity for generated records', () => {
    const arg = fc.oneof(fc.nat(), fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)));
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.nat(), { maxLength: 4 }), fc.uint8Array({ maxLength: 40 }), (ts, nums, name) => {
        // CREATE's name position is known to the parser; everything else is numeric
        const rec = { ts, op: 'CREATE', args: [nums[0] ?? 1, Buffer.from(name), ...nums], result: [ts % 1000] };
        const text = formatRecord(rec);
        const p = parseRecord(text);
        expect(p.ok).toBe(true);
        if (p.ok) expect(formatRecord(p.value)).toBe(text);
      }),
    );
    void arg;
  });
});

describe('ChangelogWriter / ChangelogReader', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test('appends consecutive versions; the reader gives them back; fsync policies', () => {
    dir = mkdtempSync(join(tmpdir(), 'mfs-chlog-'));
    const path = join(dir, 'changelog.0.mfs');
    const w = new ChangelogWriter(path, 41n, { everyRecords: 2 });
    expect(w.append({ ts: 10, op: 'CREATE', args: [1, Buffer.from('x y'), 1, 420, 18, 0, 0, 0], result: [2] })).toBe(41n);
    expect(w.appendText('11|SESDEL(5)')).toBe(42n);
    expect(w.append({ ts: 12, op: 'UNLINK', args: [1, Buffer.from('x y')], result: [2] })).toBe(43n);
    w.close();
    expect(readFileSync(path, 'latin1')).toBe('41: 10|CREATE(1,x y,1,420,18,0,0,0):2\n42: 11|SESDEL(5)\n43: 12|UNLINK(1,x y):2\n');
    const w2 = new ChangelogWriter(path, 44n, 'always');
    w2.append({ ts: 13, op: 'ACCESS', args: [1] });
    w2.close();
    const { records, issues } = ChangelogReader.readFile(path);
    expect(issues).toEqual([]);
    expect(records.map((r) => r.version)).toEqual([41n, 42n, 43n, 44n]);
    expect(records[3]!.rec).toEqual({ ts: 13, op: 'ACCESS', args: [1] });
  });

  test('the reader reports bad lines with their numbers', () => {
    const { records, issues } = ChangelogReader.parseText('1: 5|ACCESS(1)\ngarbage\n2: 6|ACCESS(1)\n');
    expect(records.length).toBe(2);
    expect(issues).toEqual([{ lineNo: 2, line: 'garbage', error: "'<version>: ' expected" }]);
  });
});
