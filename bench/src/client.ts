// bench:client — the client alone: one real MooseFS 3.0.117 cluster (mfsmaster and two
// mfschunkservers, each on its own lab host) and, on a fourth host, the real mfsmount, our
// mfsmount-ts and our Node API (@mfs-ts/client) side by side, taking turns on the same cluster in
// the same run. Steps: sequential write of BENCH_CLIENT_MIB MiB (1024) in 1 MiB writes + fsync,
// sequential read of it after dropping caches, 4 KiB random reads of it after dropping caches
// (BENCH_RAND_OPS, 20000, or BENCH_RAND_SEC, 10 s), create/stat/unlink of BENCH_META_FILES (10000)
// empty files. MB/s, ops/s and the client's CPU seconds (the mount process; for the Node API the
// process making the calls), with ratios to the real mfsmount. BENCH_GOAL (1) is the files' goal,
// BENCH_REPEAT (1) runs of every step (medians), BENCH_CLIENTS (real,ts,api) which clients,
// BENCH_STEPS (write,read,rand,meta) which steps. Last, unless BENCH_NOOP=0, the same workloads on a
// no-op fuse-native file system (packages/client/scripts/fuse-noop.ts): the binding's own ceiling.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, labUnavailableReason, REPO_ROOT, run as runCmd, type Lab, type Mount } from '@mfs-ts/lab';
import { runWorker } from './lib/child.js';
import { envNum, failedReason, fmt, loadLine, printTable, ratio, withTimeout, type Outcome } from './lib/report.js';
import type { ClientJob, Step, StepResult } from './client/worker.js';

const MIB = envNum('BENCH_CLIENT_MIB', 1024);
const META_FILES = envNum('BENCH_META_FILES', 10000);
const RAND_OPS = envNum('BENCH_RAND_OPS', 20000);
const RAND_SEC = envNum('BENCH_RAND_SEC', 10);
const GOAL = envNum('BENCH_GOAL', 1);
const REPEAT = Math.round(envNum('BENCH_REPEAT', 1));
const PHASE_MS = envNum('BENCH_PHASE_SEC', 180) * 1000;
const NOOP = process.env.BENCH_NOOP !== '0';
const STEPS = new Set((process.env.BENCH_STEPS ?? 'write,read,rand,meta').split(/[\s,]+/).filter(Boolean));
const CLIENTS = (process.env.BENCH_CLIENTS ?? 'real,ts,api').split(/[\s,]+/).filter(Boolean) as ClientName[];
type ClientName = 'real' | 'ts' | 'api' | 'noop';
const TITLE: Record<ClientName, string> = { real: 'real mfsmount', ts: 'mfsmount-ts', api: 'Node API', noop: 'fuse-native no-op' };

const PHASES = ['write', 'read', 'rand', 'create', 'stat', 'unlink'] as const;
type Phase = (typeof PHASES)[number];
const LABEL: Record<Phase, string> = {
  write: `sequential write ${MIB} MiB + fsync (MB/s)`,
  read: 'sequential read, caches dropped (MB/s)',
  rand: '4 KiB random reads, caches dropped (ops/s)',
  create: `create ${META_FILES} files (ops/s)`,
  stat: 'stat (ops/s)',
  unlink: 'unlink (ops/s)',
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const dropCaches = (): void => writeFileSync('/proc/sys/vm/drop_caches', '3\n');

interface Figures {
  rate: Partial<Record<Phase, Outcome>>;
  cpu: Partial<Record<Phase, Outcome>>;
}

async function main(): Promise<void> {
  const why = labUnavailableReason();
  if (why) {
    console.log(`bench:client needs the lab (root, namespaces, FUSE, the MooseFS packages): ${why}`);
    return;
  }
  console.log(`bench:client: ${MIB} MiB sequential, ${RAND_OPS} random 4 KiB reads (at most ${RAND_SEC} s), ${META_FILES} files, goal ${GOAL}, ${REPEAT} run(s) each; ${loadLine()}`);
  let lab: Lab | undefined;
  const res = new Map<ClientName, Figures>(CLIENTS.map((c) => [c, { rate: {}, cpu: {} }]));
  const notes: string[] = [];
  try {
    lab = await createLab({ hosts: ['master', 'cs1', 'cs2', 'client'], stop: 'kill' });
    const master = await lab.startMaster({ host: 'master' });
    for (const h of ['cs1', 'cs2']) await lab.startChunkserver({ host: h, master });
    await master.waitChunkservers(2);
    const client = lab.host('client');
    const mounts: Partial<Record<ClientName, Mount>> = {};
    mounts.real = await lab.mount({ host: 'client', master, impl: 'real' });
    if (CLIENTS.includes('ts')) mounts.ts = await lab.mount({ host: 'client', master, impl: 'ts' });
    const real = mounts.real;
    await real.exec(['mkdir', '-p', real.path('bench')]);
    await real.exec(['mfssetgoal', '-r', String(GOAL), real.path('bench')]);
    for (const c of CLIENTS) await real.exec(['mkdir', '-p', real.path(`bench/${c}`), real.path(`bench/${c}-meta`)]);
    // Untimed: until the master agrees to create chunks (it may refuse for a moment after the
    // chunkservers register).
    await withTimeout('first chunk', 60_000, (async () => {
      for (;;) {
        const r = await real.sh(`dd if=/dev/zero of=${real.path('bench/probe')} bs=4k count=1 conv=fsync 2>&1`, { allowFail: true });
        if (r.ok) break;
        await new Promise((ok) => setTimeout(ok, 500));
      }
      await real.exec(['rm', '-f', real.path('bench/probe')]);
    })());

    const job = (c: ClientName): ClientJob => (c === 'api' ? { via: 'api', host: master.addr, port: master.ports.cl } : { via: 'fs', root: mounts[c]!.dir, cpuPid: mounts[c]!.proc?.pid });
    const run = async (c: ClientName, s: Step, phases: Phase[], before?: () => void): Promise<void> => {
      const f = res.get(c)!;
      const rates: Record<string, number[]> = {};
      const cpus: Record<string, number[]> = {};
      try {
        for (let i = 0; i < REPEAT; i++) {
          before?.();
          const out = await withTimeout(`${c} ${phases.join('/')}`, PHASE_MS, runWorker<StepResult>(client, 'client/worker.ts', { job: job(c), step: s }, PHASE_MS));
          for (const p of phases) {
            const r = out[p]!;
            (rates[p] ??= []).push(p === 'write' || p === 'read' ? r.n / r.sec / 1e6 : r.n / r.sec);
            (cpus[p] ??= []).push(r.cpu);
          }
        }
        for (const p of phases) {
          f.rate[p] = { value: median(rates[p]!) };
          f.cpu[p] = { value: median(cpus[p]!) };
        }
      } catch (e) {
        for (const p of phases) if (!f.rate[p]) f.rate[p] = { failed: failedReason(e) };
      }
    };
    const file = (c: ClientName) => `/bench/${c}/big.bin`;
    // Steps alternate between the clients, so slow drifts of the shared machine touch all of them.
    // (the read steps need the written file: BENCH_STEPS=read alone fails them)
    if (STEPS.has('write')) for (const c of CLIENTS) await run(c, { op: 'write', file: file(c), mib: MIB }, ['write']);
    if (STEPS.has('read')) for (const c of CLIENTS) await run(c, { op: 'read', file: file(c), mib: MIB }, ['read'], dropCaches);
    if (STEPS.has('rand')) for (const c of CLIENTS) await run(c, { op: 'rand', file: file(c), mib: MIB, ops: RAND_OPS, sec: RAND_SEC }, ['rand'], dropCaches);
    if (STEPS.has('meta')) for (const c of CLIENTS) await run(c, { op: 'meta', dir: `/bench/${c}-meta`, files: META_FILES }, ['create', 'stat', 'unlink']);
    const fi = await real.exec(['mfsgetgoal', real.path(file(CLIENTS[0]!))], { allowFail: true });
    const got = /:\s*(\d+)\s*$/m.exec(fi.stdout)?.[1];
    if (got !== String(GOAL)) notes.push(`the files' goal is ${got ?? '?'}, not ${GOAL}`);
  } catch (e) {
    notes.push(`stopped early: ${failedReason(e)}`);
    if (process.env.BENCH_VERBOSE) lab?.printLogs();
  } finally {
    await lab?.teardown();
  }
  // The ceiling fuse-native itself leaves: a file system whose handlers do nothing, same options,
  // same workloads (packages/client/scripts/fuse-noop.ts; no cluster, so it runs after the teardown).
  if (NOOP) {
    const f: Figures = { rate: {}, cpu: {} };
    res.set('noop', f);
    try {
      const r = await runCmd(['node', '--import', 'tsx', join(REPO_ROOT, 'packages/client/scripts/fuse-noop.ts'), String(MIB), String(META_FILES)], { cwd: REPO_ROOT, timeoutMs: PHASE_MS });
      const v = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<Phase, number>;
      for (const p of PHASES) f.rate[p] = { value: v[p] };
    } catch (e) {
      for (const p of PHASES) f.rate[p] = { failed: failedReason(e) };
    }
  }

  const cols: ClientName[] = [...CLIENTS, ...(NOOP ? (['noop'] as const) : [])];
  const others = cols.filter((c) => c !== 'real');
  const header = ['', ...cols.map((c) => TITLE[c]), ...others.map((c) => `${c}/real`)];
  const val = (c: ClientName, k: keyof Figures, p: Phase): Outcome | undefined => res.get(c)?.[k][p];
  const rows = (k: keyof Figures, digits: number) =>
    PHASES.map((p) => [
      k === 'rate' ? LABEL[p] : LABEL[p].replace(/ \((MB|ops)\/s\)$/, ''),
      ...cols.map((c) => fmt(val(c, k, p), digits)),
      ...others.map((c) => ratio(val(c, k, p), val('real', k, p))),
    ]);
  printTable(`Throughput, same real cluster, same run (${loadLine()})`, header, rows('rate', 1));
  printTable('Client CPU seconds per step (mounts: the mount process; Node API: the process making the calls)', header, rows('cpu', 2));
  for (const n of notes) console.log(n);
}

await main();
