// bench:client's workloads, run as a child process inside the lab's client host: through a mount
// with plain synchronous node:fs calls (`via: 'fs'`, one at a time, as a program would make them),
// or through @mfs-ts/client's Node API (`via: 'api'`, one awaited call at a time). Each job reports
// the seconds it took and this process's own CPU seconds. Prints one JSON line.
import { closeSync, fsyncSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { MfsClient } from '@mfs-ts/client';
import { workerMain } from '../lib/child.js';
import { cpuSeconds } from '../lib/proc.js';
import { patternBuffer, seconds } from '../lib/report.js';

/** cpuPid: the mount process, whose CPU seconds each phase reports (else this process's own). */
export type ClientJob = { via: 'fs'; root: string; cpuPid?: number } | { via: 'api'; host: string; port: number };
export type Step =
  | { op: 'write'; file: string; mib: number }
  | { op: 'read'; file: string; mib: number }
  | { op: 'rand'; file: string; mib: number; ops: number; sec: number }
  | { op: 'meta'; dir: string; files: number };
export interface StepResult {
  /** Per phase: operations (bytes for write/read), seconds, CPU seconds (the mount's, or this process's). */
  [phase: string]: { n: number; sec: number; cpu: number };
}

const MiB = 1024 * 1024;
/** 8 MiB of non-zero data written in turn; every MiB read back sequentially is compared with it. */
const pattern = patternBuffer(8 * MiB, 11);
let cpuPid: number | undefined;
const cpuNow = (): number => {
  if (cpuPid !== undefined) return cpuSeconds(cpuPid) ?? NaN;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The calls a workload needs, over node:fs or the Node API. */
interface Io {
  create(path: string): Promise<number>;
  open(path: string): Promise<number>;
  pwrite(fd: number, b: Buffer, pos: number): Promise<void>;
  pread(fd: number, b: Buffer, pos: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  createExcl(path: string): Promise<void>;
  stat(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  end(): Promise<void>;
}

function fsIo(root: string): Io {
  const p = (rel: string) => `${root}${rel}`;
  return {
    create: async (f) => openSync(p(f), 'w'),
    open: async (f) => openSync(p(f), 'r'),
    pwrite: async (fd, b, pos) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
    },
    pread: async (fd, b, pos) => readSync(fd, b, 0, b.length, pos),
    fsync: async (fd) => fsyncSync(fd),
    close: async (fd) => closeSync(fd),
    createExcl: async (f) => closeSync(openSync(p(f), 'wx')),
    stat: async (f) => void statSync(p(f)),
    unlink: async (f) => unlinkSync(p(f)),
    end: async () => undefined,
  };
}

async function apiIo(host: string, port: number): Promise<Io> {
  const c = await MfsClient.connect({ host, port });
  type H = Awaited<ReturnType<MfsClient['open']>>;
  const fds = new Map<number, H>();
  let next = 1;
  const put = (h: H) => (fds.set(next, h), next++);
  return {
    create: async (f) => put(await c.open(f, 'w')),
    open: async (f) => put(await c.open(f, 'r')),
    pwrite: async (fd, b, pos) => void (await fds.get(fd)!.write(b, 0, b.length, pos)),
    pread: async (fd, b, pos) => (await fds.get(fd)!.read(b, 0, b.length, pos)).bytesRead,
    fsync: (fd) => fds.get(fd)!.sync(),
    close: async (fd) => {
      await fds.get(fd)!.close();
      fds.delete(fd);
    },
    createExcl: async (f) => (await c.open(f, 'wx')).close(),
    stat: async (f) => void (await c.stat(f)),
    unlink: (f) => c.unlink(f),
    end: () => c.close(),
  };
}

async function timed(out: StepResult, name: string, n: number | (() => number), f: () => Promise<void>): Promise<void> {
  const t0 = process.hrtime.bigint();
  const c0 = cpuNow();
  await f();
  out[name] = { n: typeof n === 'number' ? n : n(), sec: seconds(t0), cpu: cpuNow() - c0 };
}

async function step(io: Io, s: Step): Promise<StepResult> {
  const out: StepResult = {};
  if (s.op === 'write') {
    await timed(out, 'write', s.mib * MiB, async () => {
      const fd = await io.create(s.file);
      for (let i = 0; i < s.mib; i++) await io.pwrite(fd, pattern.subarray((i % 8) * MiB, (i % 8 + 1) * MiB), i * MiB);
      await io.fsync(fd);
      await io.close(fd);
    });
  } else if (s.op === 'read') {
    const buf = Buffer.allocUnsafe(MiB);
    await timed(out, 'read', s.mib * MiB, async () => {
      const fd = await io.open(s.file);
      for (let i = 0; i < s.mib; i++) {
        let got = 0;
        while (got < MiB) {
          const n = await io.pread(fd, buf.subarray(got), i * MiB + got);
          if (n === 0) throw new Error(`short read at ${i * MiB + got}`);
          got += n;
        }
        if (!buf.equals(pattern.subarray((i % 8) * MiB, (i % 8 + 1) * MiB))) throw new Error(`MiB ${i} read back differs from what was written`);
      }
      await io.close(fd);
    });
  } else if (s.op === 'rand') {
    // 4 KiB reads at 4 KiB-aligned offsets from a fixed xorshift sequence, one at a time.
    const buf = Buffer.allocUnsafe(4096);
    const blocks = (s.mib * MiB) / 4096;
    let x = 2463534242;
    let done = 0;
    await timed(out, 'rand', () => done, async () => {
      const fd = await io.open(s.file);
      const end = Date.now() + s.sec * 1000;
      while (done < s.ops && Date.now() < end) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const at = ((x >>> 0) % blocks) * 4096;
        if ((await io.pread(fd, buf, at)) !== 4096) throw new Error(`short 4 KiB read at ${at}`);
        const off = at % (8 * MiB);
        if (buf.compare(pattern, off, off + 4096) !== 0) throw new Error(`4 KiB at ${at} differs from what was written`);
        done++;
      }
      await io.close(fd);
    });
  } else {
    const names = Array.from({ length: s.files }, (_, i) => `${s.dir}/f${i}`);
    await timed(out, 'create', s.files, async () => {
      for (const n of names) await io.createExcl(n);
    });
    await timed(out, 'stat', s.files, async () => {
      for (const n of names) await io.stat(n);
    });
    await timed(out, 'unlink', s.files, async () => {
      for (const n of names) await io.unlink(n);
    });
  }
  return out;
}

async function main(a: { job: ClientJob; step: Step }): Promise<StepResult> {
  if (a.job.via === 'fs') cpuPid = a.job.cpuPid;
  const io = a.job.via === 'fs' ? fsIo(a.job.root) : await apiIo(a.job.host, a.job.port);
  try {
    return await step(io, a.step);
  } finally {
    await io.end();
  }
}

workerMain(main as (a: never) => Promise<unknown>);
