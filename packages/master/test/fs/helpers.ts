import { expect } from 'vitest';
import {
  ChangelogReader,
  formatLine,
  Namespace,
  type ChangelogRecord,
  type FsCtx,
  type FsResult,
} from '../../src/fs/index.js';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export function ctxOf(uid: number, gids: number[] = [uid], sesflags = 0, rootinode = 1): FsCtx {
  return { uid, gids, sesflags, rootinode };
}

export const ROOT = ctxOf(0, [0]);
export const META = ctxOf(0, [0], 0, 0);

/** A namespace with a settable clock that keeps every record as changelog text. */
export function setup(start = 1_700_000_000, opts: ConstructorParameters<typeof Namespace>[0] = {}) {
  const clock = { t: start };
  const lines: string[] = [];
  let version = 1n;
  const ns = new Namespace({
    now: () => clock.t,
    inodeReuseDelay: 300,
    onRecord: (r: ChangelogRecord) => lines.push(formatLine(version++, r)),
    ...opts,
  });
  return { ns, clock, lines, start };
}

/** Replays changelog text into a fresh namespace created at `start`; every record must apply. */
export function replay(lines: string[], start: number, opts: ConstructorParameters<typeof Namespace>[0] = {}): Namespace {
  const fresh = new Namespace({ now: () => start, inodeReuseDelay: 300, ...opts });
  const { records, issues } = ChangelogReader.parseText(lines.join('\n') + '\n');
  expect(issues).toEqual([]);
  let expectVersion = records[0]?.version ?? 1n;
  for (const r of records) {
    expect(r.version).toBe(expectVersion++);
    const st = fresh.apply(r.rec);
    if (st !== 0) throw new Error(`replay of ${formatLine(r.version, r.rec)} failed with status ${st}`);
  }
  return fresh;
}

export function ok<T>(r: FsResult<T>): T {
  if (!r.ok) throw new Error(`expected OK, got status ${r.status}`);
  return r.value;
}

export function status<T>(r: FsResult<T>): number {
  return r.ok ? 0 : r.status;
}
