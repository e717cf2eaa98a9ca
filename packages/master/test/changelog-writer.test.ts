// ChangelogWriter on a device that refuses every write (/dev/full: ENOSPC): the records are kept in
// memory, the failure is reported once, and close() hands them to the next writer, which writes them
// first; so a full disk never leaves a hole or a torn record in the changelog.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ChangelogWriter } from '../src/fs/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('a full disk: records kept, reported once, carried to the next writer in order', () => {
  const failed: string[] = [];
  const full = new ChangelogWriter('/dev/full', 10n, 'never', { writeFailed: (e, first) => failed.push(`${e.code} ${first}`) });
  for (let i = 0; i < 5; i++) full.appendText(`1700000000|IDLE()`);
  full.flush();
  full.appendText('1700000001|IDLE()');
  full.flush();
  expect(failed).toEqual(['ENOSPC 10']);
  expect(full.unwritten).toBe(6n);
  const left = full.close();
  expect(left.first).toBe(10n);

  const dir = mkdtempSync(join(tmpdir(), 'mfsm-clw-'));
  dirs.push(dir);
  const recovered: number[] = [];
  const next = new ChangelogWriter(join(dir, 'changelog.0.mfs'), 16n, 'never', { writeRecovered: (n) => recovered.push(n) }, left);
  next.appendText('1700000002|IDLE()');
  next.close();
  expect(recovered).toEqual([6]);
  const ids = readFileSync(join(dir, 'changelog.0.mfs'), 'latin1').split('\n').filter(Boolean).map((l) => Number(l.slice(0, l.indexOf(':'))));
  expect(ids).toEqual([10, 11, 12, 13, 14, 15, 16]);
});
