// bench:chunk — the chunk I/O hot path. Part 1: in-process micro-benchmarks of our chunkserver's
// storage code (CRC, ChunkFile block write/read). Part 2: one chunkserver, ours vs the real
// mfschunkserver 3.0.117, each in a fresh lab with the real mfsmaster, driven over the data port by
// chunk/loadgen.ts (sequential 64 KiB writes with CRC, sequential reads, random 4 KiB reads).
// Sizes: BENCH_CHUNK_MIB (256), BENCH_WINDOW (64 pieces in flight), BENCH_READ_KIB (1024 per
// CLTOCS_READ), BENCH_RAND_OPS (20000), BENCH_RAND_CONC (4), BENCH_RAND_SEC (15), BENCH_MS (800 per
// micro case), BENCH_IMPLS (real,ts), BENCH_REPEAT (1: load generator runs per chunkserver, medians).
import { createLab, labUnavailableReason, type Impl, type Lab } from '@mfs-ts/lab';
import type { LoadArgs, LoadResult, Timed } from './chunk/loadgen.js';
import { storageBench } from './chunk/storage.js';
import { runWorker } from './lib/child.js';
import { cpuSeconds } from './lib/proc.js';
import { envNum, failedReason, fmt, loadLine, printTable, ratio, withTimeout, type Outcome } from './lib/report.js';

const args: LoadArgs = {
  master: '',
  port: 9421,
  mib: envNum('BENCH_CHUNK_MIB', 256),
  window: Math.min(1024, envNum('BENCH_WINDOW', 64)),
  readReq: envNum('BENCH_READ_KIB', 1024) * 1024,
  randOps: envNum('BENCH_RAND_OPS', 20000),
  randConc: envNum('BENCH_RAND_CONC', 4),
  randMaxSec: envNum('BENCH_RAND_SEC', 15),
};
const impls = (process.env.BENCH_IMPLS ?? 'real,ts').split(',').filter((x): x is Impl => x === 'real' || x === 'ts');

interface ImplResult {
  readyWait: Outcome;
  writeMBs: Outcome;
  writeOps: Outcome;
  readMBs: Outcome;
  randOps: Outcome;
  randMBs: Outcome;
  randP50: Outcome;
  randP99: Outcome;
  rand1Ops: Outcome;
  rand1P50: Outcome;
  writeCpu: Outcome;
  readCpu: Outcome;
  randCpu: Outcome;
}

function failedAll(why: string): ImplResult {
  const f = { failed: why };
  return { readyWait: f, writeMBs: f, writeOps: f, readMBs: f, randOps: f, randMBs: f, randP50: f, randP99: f, rand1Ops: f, rand1P50: f, writeCpu: f, readCpu: f, randCpu: f };
}

const REPEAT = Math.round(envNum('BENCH_REPEAT', 1));
const cpuLines: string[] = [];

const GiB = 1024 * 1024 * 1024;
/** The chunkserver's CPU seconds per GiB moved in a phase (undefined: not measured). */
const perGiB = (t: Timed): Outcome => (t.csCpu === undefined ? { failed: 'no CPU figure' } : { value: t.csCpu / (t.bytes / GiB) });

function toResult(r: LoadResult): ImplResult {
  const fail = (e: { error: string }): Outcome => ({ failed: e.error.slice(0, 160) });
  const rd = 'error' in r.read ? undefined : r.read;
  const rn = 'error' in r.rand ? undefined : r.rand;
  const r1 = 'error' in r.rand1 ? undefined : r.rand1;
  return {
    readyWait: { value: r.readyWaitSec },
    writeMBs: { value: r.write.bytes / r.write.sec / 1e6 },
    writeOps: { value: r.write.ops / r.write.sec },
    readMBs: rd ? { value: rd.bytes / rd.sec / 1e6 } : fail(r.read as { error: string }),
    randOps: rn ? { value: rn.ops / rn.sec } : fail(r.rand as { error: string }),
    randMBs: rn ? { value: rn.bytes / rn.sec / 1e6 } : fail(r.rand as { error: string }),
    randP50: rn ? { value: rn.p50us } : fail(r.rand as { error: string }),
    randP99: rn ? { value: rn.p99us } : fail(r.rand as { error: string }),
    rand1Ops: r1 ? { value: r1.ops / r1.sec } : fail(r.rand1 as { error: string }),
    rand1P50: r1 ? { value: r1.p50us } : fail(r.rand1 as { error: string }),
    writeCpu: perGiB(r.write),
    readCpu: rd ? perGiB(rd) : fail(r.read as { error: string }),
    randCpu: rn ? (rn.csCpu === undefined ? { failed: 'no CPU figure' } : { value: (rn.csCpu * 1e6) / rn.ops }) : fail(r.rand as { error: string }),
  };
}

/** Median of the runs that gave a figure; the failure (and how many runs had it) otherwise noted. */
function combine(runs: ImplResult[]): ImplResult {
  const out = {} as ImplResult;
  for (const k of Object.keys(runs[0]!) as Array<keyof ImplResult>) {
    const ok = runs.flatMap((r) => ('failed' in r[k] ? [] : [r[k].value]));
    const bad = runs.map((r) => r[k]).find((o) => 'failed' in o);
    if (ok.length === 0) out[k] = bad!;
    else {
      const v = [...ok].sort((a, b) => a - b)[Math.floor((ok.length - 1) / 2)]!;
      out[k] = ok.length < runs.length ? { value: v, note: `${runs.length - ok.length} of ${runs.length} runs failed: ${(bad as { failed: string }).failed.slice(0, 80)}` } : { value: v };
    }
  }
  return out;
}

async function runImpl(impl: Impl): Promise<ImplResult> {
  let lab: Lab | undefined;
  let stage = 'lab';
  try {
    lab = await createLab({ hosts: ['h0'], stop: 'kill' });
    stage = 'real master';
    const master = await lab.startMaster({ impl: 'real' });
    stage = `${impl === 'ts' ? 'our' : 'real'} chunkserver`;
    const cs = await lab.startChunkserver({ master, impl });
    stage = 'load generator';
    const runs: ImplResult[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const r = await runWorker<LoadResult>(lab.host(0), 'chunk/loadgen.ts', { ...args, master: master.addr, port: master.ports.cl, csPid: cs.proc?.pid }, 240_000);
      const one = toResult(r);
      if (('failed' in one.readMBs || 'failed' in one.randOps) && process.env.BENCH_VERBOSE) lab.printLogs();
      runs.push(one);
    }
    const res = combine(runs);
    cpuLines.push(`${impl}: chunkserver ${cpuSeconds(cs.proc?.pid)?.toFixed(1) ?? '?'} s, master ${cpuSeconds(master.proc?.pid)?.toFixed(1) ?? '?'} s`);
    return res;
  } catch (e) {
    if (lab && process.env.BENCH_VERBOSE) lab.printLogs();
    return failedAll(`${stage}: ${failedReason(e)}`);
  } finally {
    if (lab) await lab.teardown().catch((e: unknown) => console.error(`teardown: ${e instanceof Error ? e.message.replace(/\n/g, " / ") : String(e)}`));
  }
}

async function main(): Promise<void> {
  console.log(`bench:chunk  ${new Date().toISOString()}  ${loadLine()}`);
  const micro = await storageBench(envNum('BENCH_MS', 800));
  printTable(
    'our chunkserver storage code, in process (warm page cache)',
    ['case', 'ops/s', 'MB/s'],
    micro.map((r) => [r.case, Math.round(r.opsPerSec).toLocaleString('en-US'), r.mbPerSec.toFixed(0)]),
  );

  const why = labUnavailableReason('real');
  if (why) {
    console.log(`\ndata-port comparison skipped: ${why}`);
    return;
  }
  const res: Partial<Record<Impl, ImplResult>> = {};
  for (const impl of impls) {
    console.log(`\n[${impl}] one ${impl === 'ts' ? 'mfschunkserver-ts' : 'mfschunkserver 3.0.117'} + real mfsmaster ... (${loadLine()})`);
    res[impl] = await withTimeout(`${impl} run`, 60_000 + 240_000 * REPEAT, runImpl(impl)).catch((e: unknown) => failedAll(failedReason(e)));
  }
  const rows: Array<[string, keyof ImplResult, number]> = [
    [`seq write ${args.mib} MiB, 64 KiB pieces, MB/s`, 'writeMBs', 0],
    ['seq write, pieces/s', 'writeOps', 0],
    [`seq read, ${args.readReq / 1024} KiB requests, MB/s`, 'readMBs', 0],
    [`random 4 KiB reads (${args.randConc} conns), ops/s`, 'randOps', 0],
    ['random 4 KiB reads, MB/s', 'randMBs', 1],
    ['random 4 KiB read latency p50, µs', 'randP50', 0],
    ['random 4 KiB read latency p99, µs', 'randP99', 0],
    ['random 4 KiB reads (1 conn), ops/s', 'rand1Ops', 0],
    ['random 4 KiB read latency p50 (1 conn), µs', 'rand1P50', 0],
    ['seq write: chunkserver CPU s per GiB', 'writeCpu', 2],
    ['seq read: chunkserver CPU s per GiB', 'readCpu', 2],
    [`random 4 KiB reads (${args.randConc} conns): chunkserver CPU µs per op`, 'randCpu', 1],
    ['(untimed) s until the master would create a chunk', 'readyWait', 2],
  ];
  printTable(
    `data port, one chunkserver (window ${args.window} pieces; ${loadLine()})`,
    ['measure', 'real 3.0.117', 'ours', 'ours/real'],
    rows.map(([label, k, d]) => [label, fmt(res.real?.[k], d), fmt(res.ts?.[k], d), k === 'readyWait' ? '' : ratio(res.ts?.[k], res.real?.[k])]),
  );
  console.log(`(REPEAT=${REPEAT}: medians. Latency and CPU: lower is better, so a ratio above 1x there means ours is slower or costlier)`);
  console.log('CPU per phase: utime + stime of the chunkserver process (all its threads) from /proc/PID/stat, read by the load generator before and after the phase (10 ms ticks)');
  console.log(`CPU used over the whole run, of 2 cores shared with the load generator: ${cpuLines.join('; ')}`);
}

await main();
