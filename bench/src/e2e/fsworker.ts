// File-system workloads through a mount (run as a child process, see e2e.ts): plain synchronous
// node:fs calls, one at a time, as a program using the mount would make them. Prints one JSON line.
import { closeSync, fsyncSync, openSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { workerMain } from '../lib/child.js';
import { patternBuffer, seconds } from '../lib/report.js';

export type FsJob =
  | { op: 'write'; path: string; mib: number }
  | { op: 'read'; path: string; mib: number }
  | { op: 'meta'; dir: string; files: number }
  | { op: 'probe'; path: string };

const PIECE = 1024 * 1024;
/** 8 MiB of non-zero data, written in turn; the first MiB is checked when read back. */
const pattern = patternBuffer(8 * PIECE, 11);

export interface TimedOps {
  [phase: string]: { ops: number; sec: number } | { error: string };
}

async function main(job: FsJob): Promise<unknown> {
  if (job.op === 'probe') {
    // A small fsynced write: succeeds once the cluster can create chunks.
    const fd = openSync(job.path, 'w');
    try {
      writeSync(fd, pattern, 0, 4096);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(job.path);
    return { ok: true };
  }
  if (job.op === 'write') {
    const t0 = process.hrtime.bigint();
    const fd = openSync(job.path, 'w');
    for (let i = 0; i < job.mib; i++) {
      const off = (i % 8) * PIECE;
      let done = 0;
      while (done < PIECE) done += writeSync(fd, pattern, off + done, PIECE - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    return { bytes: job.mib * PIECE, sec: seconds(t0) };
  }
  if (job.op === 'read') {
    const buf = Buffer.allocUnsafe(PIECE);
    const t0 = process.hrtime.bigint();
    const fd = openSync(job.path, 'r');
    let total = 0;
    let first = true;
    for (;;) {
      const n = readSync(fd, buf, 0, PIECE, null);
      if (n === 0) break;
      if (first && n === PIECE && !buf.equals(pattern.subarray(0, PIECE))) throw new Error('first MiB read back differs from what was written');
      first = false;
      total += n;
    }
    closeSync(fd);
    const sec = seconds(t0);
    if (total !== job.mib * PIECE) throw new Error(`read ${total} bytes, expected ${job.mib * PIECE}`);
    return { bytes: total, sec };
  }
  // metadata: create, stat, list, rename, unlink of `files` empty files in one directory
  const out: TimedOps = {};
  const names = Array.from({ length: job.files }, (_, i) => join(job.dir, `f${i}`));
  const renamed = names.map((n) => `${n}.r`);
  // A wrong answer in one step (e.g. a listing with entries missing) is that step's failure; the
  // following steps still run (a failed create is not survivable: every later step needs the files).
  const phase = (name: string, ops: number, f: () => void): void => {
    const t0 = process.hrtime.bigint();
    try {
      f();
      out[name] = { ops, sec: seconds(t0) };
    } catch (e) {
      if (name === 'create') throw e;
      out[name] = { error: e instanceof Error ? e.message : String(e) };
    }
  };
  phase('create', job.files, () => {
    for (const n of names) closeSync(openSync(n, 'wx'));
  });
  phase('stat', job.files, () => {
    for (const n of names) statSync(n);
  });
  phase('list', job.files, () => {
    const got = new Set(readdirSync(job.dir));
    if (got.size !== job.files) {
      const missing = names.map((n) => n.slice(job.dir.length + 1)).filter((n) => !got.has(n));
      throw new Error(`readdir listed ${got.size} of ${job.files} files (missing ${missing.slice(0, 5).join(' ')}${missing.length > 5 ? ' ...' : ''})`);
    }
  });
  phase('rename', job.files, () => {
    for (let i = 0; i < names.length; i++) renameSync(names[i]!, renamed[i]!);
  });
  phase('unlink', job.files, () => {
    for (const n of renamed) unlinkSync(n);
  });
  return out;
}

workerMain(main as (a: never) => Promise<unknown>);
