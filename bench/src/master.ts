// bench:master — the master alone makes the difference: the real mfsmaster 3.0.117 and then ours,
// each with two REAL mfschunkservers and the REAL mfsmount in a fresh lab (hosts master, cs1, cs2,
// client), in the same run. Measured:
// - BENCH_META_FILES (10000) empty files in one directory through the mount: create, stat, list,
//   rename, unlink (e2e/fsworker.ts, synchronous node:fs calls one at a time);
// - the master's RSS (process tree) before bulk files and after each of BENCH_RSS_STAGES
//   (100000,1000000) files in total, made through the master protocol by our client core
//   (e2e/mkfiles.ts: directories of 1000, BENCH_MK_CONC (64) creates in flight on each of
//   BENCH_MK_CONNS (2) sessions; FUSE would take an hour for a million). BENCH_RSS_SEC (600)
//   bounds each stage; fewer files are then noted.
// BENCH_MASTERS (real,ts) picks the masters; BENCH_PROF_DIR=DIR profiles ours (lib/cpuprof-hook.mjs; a
// .cpuprofile written to DIR when it stops) and stops it gracefully so the profile is written.
import { mkdirSync } from 'node:fs';
import { createLab, labUnavailableReason, type Impl, type Lab, type Master, type Mount } from '@mfs-ts/lab';
import { join } from 'node:path';
import { BENCH_DIR, runWorker } from './lib/child.js';
import { cpuSeconds, rssTree } from './lib/proc.js';
import { envNum, failedReason, fmt, loadLine, printTable, ratio, withTimeout, type Outcome } from './lib/report.js';
import type { TimedOps } from './e2e/fsworker.js';

const META_FILES = envNum('BENCH_META_FILES', 10000);
const STAGES = (process.env.BENCH_RSS_STAGES ?? '100000,1000000').split(',').map(Number).filter((n) => n > 0);
const RSS_SEC = envNum('BENCH_RSS_SEC', 600);
const MK_CONC = envNum('BENCH_MK_CONC', 64);
const MK_CONNS = envNum('BENCH_MK_CONNS', 2);
const PHASE_MS = envNum('BENCH_PHASE_SEC', 300) * 1000;
const PROF_DIR = process.env.BENCH_PROF_DIR;
const masters = (process.env.BENCH_MASTERS ?? 'real,ts').split(/[\s,]+/).filter(Boolean) as Impl[];

const META_KEYS = ['create', 'stat', 'list', 'rename', 'unlink'] as const;

interface Result {
  impl: Impl;
  values: Record<string, Outcome>;
  notes: string[];
}

async function runOne(impl: Impl): Promise<Result> {
  const res: Result = { impl, values: {}, notes: [] };
  const fail = (keys: readonly string[], why: string): void => {
    for (const k of keys) res.values[k] ??= { failed: why };
  };
  let lab: Lab | undefined;
  let master: Master | undefined;
  try {
    lab = await createLab({ hosts: ['master', 'cs1', 'cs2', 'client'], stop: 'kill' });
    const prof = impl === 'ts' && PROF_DIR;
    const saved = process.env.NODE_OPTIONS;
    if (prof) {
      mkdirSync(PROF_DIR, { recursive: true });
      process.env.NODE_OPTIONS = `${saved ?? ''} --import ${join(BENCH_DIR, 'src/lib/cpuprof-hook.mjs')}`.trim();
      process.env.CPUPROF_DIR = PROF_DIR;
    }
    try {
      master = await lab.startMaster({ host: 'master', impl });
    } finally {
      if (prof) {
        delete process.env.CPUPROF_DIR;
        if (saved === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = saved;
      }
    }
    const m = master;
    const pid = m.proc!.pid!;
    for (const h of ['cs1', 'cs2']) await lab.startChunkserver({ host: h, master: m, impl: 'real' });
    await m.waitChunkservers(2);
    const mnt: Mount = await lab.mount({ host: 'client', master: m, impl: 'real' });
    const client = lab.host('client');
    const cpu0 = cpuSeconds(pid) ?? 0;

    try {
      await withTimeout('metadata', PHASE_MS, (async () => {
        await mnt.exec(['mkdir', '-p', mnt.path('meta')]);
        const r = await runWorker<TimedOps>(client, 'e2e/fsworker.ts', { op: 'meta', dir: mnt.path('meta'), files: META_FILES }, PHASE_MS);
        for (const k of META_KEYS) {
          const p = r[k];
          res.values[k] = p && 'ops' in p ? { value: p.ops / p.sec } : { failed: p && 'error' in p ? p.error.slice(0, 120) : 'no result' };
        }
      })());
    } catch (e) {
      fail(META_KEYS, `metadata: ${failedReason(e)}`);
    }
    const cpu1 = cpuSeconds(pid) ?? 0;
    res.values.metaCpu = { value: cpu1 - cpu0 };

    const rss0 = rssTree(pid);
    res.values.rss0 = { value: rss0 / 2 ** 20 };
    let made = 0;
    let mkSec = 0;
    for (const target of STAGES) {
      const key = `rss${target}`;
      const want = target - made;
      if (want <= 0) continue;
      try {
        // Several sessions, each its own worker process and share of the files.
        const per = Math.ceil(want / MK_CONNS);
        const rs = await Promise.all(
          Array.from({ length: MK_CONNS }, (_, i) =>
            runWorker<{ created: number; sec: number; complete: boolean }>(
              client,
              'e2e/mkfiles.ts',
              { master: m.addr, port: m.ports.cl, files: Math.min(per, want - i * per), perDir: 1000, conc: MK_CONC, maxSec: RSS_SEC },
              (RSS_SEC + 120) * 1000,
            ),
          ),
        );
        const created = rs.reduce((a, r) => a + r.created, 0);
        made += created;
        mkSec += Math.max(...rs.map((r) => r.sec));
        const rss = rssTree(pid);
        const note = created < want ? `only ${made} files in ${RSS_SEC} s` : undefined;
        res.values[key] = note ? { value: rss / 2 ** 20, note } : { value: rss / 2 ** 20 };
        res.values[`per${target}`] = { value: (rss - rss0) / made };
        if (created < want) break;
      } catch (e) {
        fail([key, `per${target}`], failedReason(e));
        break;
      }
    }
    res.values.mkRate = mkSec > 0 ? { value: made / mkSec } : { failed: 'no file created' };
    res.values.totalCpu = { value: (cpuSeconds(pid) ?? 0) - cpu0 };
    if (prof) {
      await mnt.unmount().catch(() => undefined);
      await m.stop(300_000);
      res.notes.push(`profile written to ${PROF_DIR}`);
    }
  } catch (e) {
    const why = failedReason(e);
    console.log(`  ${impl} master: ${why}`);
    if (lab && process.env.BENCH_VERBOSE) lab.printLogs();
    fail([...META_KEYS, 'rss0'], `set-up: ${why}`);
  } finally {
    if (lab) await lab.teardown().catch((e: unknown) => console.error(`teardown: ${failedReason(e)}`));
  }
  return res;
}

async function main(): Promise<void> {
  console.log(`bench:master  ${new Date().toISOString()}  ${loadLine()}`);
  const why = labUnavailableReason('real');
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  const out = new Map<Impl, Result>();
  for (const impl of masters) {
    console.log(`\n[${impl === 'ts' ? 'ours' : 'real'} master] + 2 real chunkservers + real mfsmount ... (${loadLine()})`);
    out.set(impl, await runOne(impl));
  }
  const real = out.get('real');
  const ours = out.get('ts');
  const rows: Array<[string, string]> = [
    [`create ${META_FILES} empty files, ops/s`, 'create'],
    ['stat, ops/s', 'stat'],
    ['list (readdir), entries/s', 'list'],
    ['rename, ops/s', 'rename'],
    ['unlink, ops/s', 'unlink'],
    ['master CPU s over those five steps', 'metaCpu'],
    ['master RSS before bulk files, MiB', 'rss0'],
    ...STAGES.flatMap((n): Array<[string, string]> => [
      [`master RSS at ${n.toLocaleString('en-US')} files, MiB`, `rss${n}`],
      [`master bytes per file at ${n.toLocaleString('en-US')}`, `per${n}`],
    ]),
    ['(bulk create via client API, files/s)', 'mkRate'],
    ['master CPU s over the whole run', 'totalCpu'],
  ];
  printTable(
    `master: ours vs real, both with real mfschunkserver x2 and real mfsmount (${loadLine()})`,
    ['measure', 'real 3.0.117', 'ours', 'ours/real'],
    rows.map(([label, k]) => [label, fmt(real?.values[k]), fmt(ours?.values[k]), ratio(ours?.values[k], real?.values[k])]),
  );
  for (const r of out.values()) for (const n of r.notes) console.log(`${r.impl}: ${n}`);
  console.log('(memory and CPU: lower is better, so a ratio above 1x there means ours uses more)');
}

await main();
