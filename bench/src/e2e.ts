// bench:e2e — the whole path through FUSE, a real MooseFS 3.0.117 cluster and then ours in the same
// run, each in a fresh lab: master host, two chunkserver hosts, a client host with the mount.
// Where one of our daemons cannot start, the real one takes its place and the table says so.
// Sizes: BENCH_E2E_MIB (256 per sequential file), BENCH_META_FILES (10000), BENCH_RSS_FILES (100000),
// BENCH_RSS_SEC (90, limit for creating them), BENCH_PHASE_SEC (120, limit per phase),
// BENCH_CLUSTERS (real,ours).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, labUnavailableReason, type Impl, type Lab, type Master, type Mount } from '@mfs-ts/lab';
import { runWorker } from './lib/child.js';
import { cpuSeconds, rssTree } from './lib/proc.js';
import { envNum, failedReason, fmt, loadLine, printTable, ratio, withTimeout, type Outcome } from './lib/report.js';
import type { TimedOps } from './e2e/fsworker.js';

const MIB = envNum('BENCH_E2E_MIB', 256);
const META_FILES = envNum('BENCH_META_FILES', 10000);
const RSS_FILES = envNum('BENCH_RSS_FILES', 100000);
const RSS_SEC = envNum('BENCH_RSS_SEC', 90);
const PHASE_MS = envNum('BENCH_PHASE_SEC', 120) * 1000;
const REPEAT = Math.round(envNum('BENCH_REPEAT', 1));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Which implementation runs each role of a cluster. */
interface Shape {
  label: string;
  master: Impl;
  cs: Impl;
  mount: Impl;
}

/**
 * `real`, `ours`, or a mix such as `master=real/cs=real/mount=ts` (to see which daemon a figure
 * comes from); entries separated by commas or spaces.
 */
function parseShape(spec: string): Shape {
  if (spec === 'real') return { label: 'real', master: 'real', cs: 'real', mount: 'real' };
  if (spec === 'ours') return { label: 'ours', master: 'ts', cs: 'ts', mount: 'ts' };
  const sh: Shape = { label: spec, master: 'real', cs: 'real', mount: 'real' };
  for (const part of spec.split('/')) {
    const m = /^(master|cs|mount)=(real|ts)$/.exec(part);
    if (!m) throw new Error(`BENCH_CLUSTERS: bad entry ${JSON.stringify(spec)} (real, ours, or e.g. master=real/cs=real/mount=ts)`);
    sh[m[1] as 'master' | 'cs' | 'mount'] = m[2] as Impl;
  }
  return sh;
}
const shapes = (process.env.BENCH_CLUSTERS ?? 'real,ours').split(/[\s,]+/).filter(Boolean).map(parseShape);

type Key =
  | 'write1'
  | 'write2'
  | 'read'
  | 'create'
  | 'stat'
  | 'list'
  | 'rename'
  | 'unlink'
  | 'rss0'
  | 'rssN'
  | 'perFile'
  | 'mkfilesRate';

interface ClusterResult {
  label: string;
  /** Which implementation each role ended up running, and why where it is not the one asked for. */
  roles: string[];
  values: Partial<Record<Key, Outcome>>;
  lastLoad: string;
  /** CPU seconds each daemon used over the whole run. */
  cpu: string;
}

async function phase(res: ClusterResult, keys: Key[], what: string, f: () => Promise<void>): Promise<void> {
  try {
    await withTimeout(what, PHASE_MS * REPEAT, f());
  } catch (e) {
    for (const k of keys) if (!res.values[k]) res.values[k] = { failed: `${what}: ${failedReason(e)}` };
  }
}

async function startRole<T>(res: ClusterResult, role: string, want: Impl, start: (impl: Impl) => Promise<T>): Promise<T> {
  if (want === 'real') {
    const d = await start('real');
    res.roles.push(`${role}: real`);
    return d;
  }
  try {
    const d = await start('ts');
    res.roles.push(`${role}: ours`);
    return d;
  } catch (e) {
    const why = failedReason(e);
    console.log(`  our ${role} failed (${why}); using the real one`);
    const d = await start('real');
    res.roles.push(`${role}: REAL (ours failed — ${why})`);
    return d;
  }
}

async function runCluster(shape: Shape): Promise<ClusterResult> {
  const label = shape.label;
  const res: ClusterResult = { label, roles: [], values: {}, lastLoad: '', cpu: '' };
  let lab: Lab | undefined;
  try {
    lab = await createLab({ hosts: ['master', 'cs1', 'cs2', 'client'], stop: 'kill' });
    const l = lab;
    const master: Master = await startRole(res, 'master', shape.master, (impl) => l.startMaster({ host: 'master', impl }));
    const rss0 = rssTree(master.proc!.pid);
    for (const h of ['cs1', 'cs2']) await startRole(res, `chunkserver ${h}`, shape.cs, (impl) => l.startChunkserver({ host: h, master, impl }));
    await master.waitChunkservers(2);
    const mnt: Mount = await startRole(res, 'mount', shape.mount, (impl) => l.mount({ host: 'client', master, impl }));
    const client = l.host('client');
    const work = <T>(job: unknown): Promise<T> => runWorker<T>(client, 'e2e/fsworker.ts', job, PHASE_MS);

    // Untimed: until a small fsynced file can be written (a master may refuse chunk creation for a
    // moment after chunkservers register).
    await phase(res, ['write1', 'write2', 'read'], 'first write', async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await work({ op: 'probe', path: mnt.path('probe.bin') });
          return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    });
    for (const goal of [1, 2] as const) {
      const key: Key = goal === 1 ? 'write1' : 'write2';
      await phase(res, [key], `write goal ${goal}`, async () => {
        const dir = mnt.path(`g${goal}`);
        await mnt.exec(['mkdir', '-p', dir]);
        // A failed mfssetgoal does not stop the write; the goal check below then says what the file got.
        await mnt.exec(['mfssetgoal', String(goal), dir], { allowFail: true });
        const file = join(dir, 'big.bin');
        const rates: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          const r = await work<{ bytes: number; sec: number }>({ op: 'write', path: file, mib: MIB });
          rates.push(r.bytes / r.sec / 1e6);
        }
        // The goal the file really got (the master's answer through the mount's tools proxy).
        const g = await mnt.exec(['mfsgetgoal', file], { allowFail: true });
        const got = /:\s*(\d+)\s*$/m.exec(g.stdout)?.[1];
        const note = got === String(goal) ? undefined : `file goal: ${got ?? `mfsgetgoal failed: ${g.stderr.trim().slice(0, 60)}`}`;
        res.values[key] = note ? { value: median(rates), note } : { value: median(rates) };
      });
    }
    await phase(res, ['read'], 'read', async () => {
      if (res.values.write1 && 'failed' in res.values.write1) throw new Error('nothing written at goal 1');
      const rates: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        writeFileSync('/proc/sys/vm/drop_caches', '3');
        const r = await work<{ bytes: number; sec: number }>({ op: 'read', path: mnt.path('g1/big.bin'), mib: MIB });
        rates.push(r.bytes / r.sec / 1e6);
      }
      res.values.read = { value: median(rates) };
    });
    const metaKeys: Key[] = ['create', 'stat', 'list', 'rename', 'unlink'];
    await phase(res, metaKeys, 'metadata', async () => {
      await mnt.exec(['mkdir', '-p', mnt.path('meta')]);
      const runs: TimedOps[] = [];
      for (let i = 0; i < REPEAT; i++) runs.push(await work<TimedOps>({ op: 'meta', dir: mnt.path('meta'), files: META_FILES }));
      for (const k of metaKeys) {
        const rates = runs.flatMap((r) => {
          const p = r[k];
          return p && 'ops' in p ? [p.ops / p.sec] : [];
        });
        const err = runs.map((r) => r[k]).find((p) => p && 'error' in p) as { error: string } | undefined;
        if (rates.length) res.values[k] = err ? { value: median(rates), note: `failed in ${runs.length - rates.length} of ${runs.length}: ${err.error.slice(0, 80)}` } : { value: median(rates) };
        else if (err) res.values[k] = { failed: err.error.slice(0, 160) };
      }
    });
    await phase(res, ['rss0', 'rssN', 'perFile', 'mkfilesRate'], 'master RSS', async () => {
      const before = rssTree(master.proc!.pid);
      res.values.rss0 = { value: before / 2 ** 20, note: `${(rss0 / 2 ** 20).toFixed(0)} at start` };
      const r = await runWorker<{ created: number; sec: number; complete: boolean }>(
        client,
        'e2e/mkfiles.ts',
        { master: master.addr, port: master.ports.cl, files: RSS_FILES, perDir: 1000, conc: 64, maxSec: RSS_SEC },
        (RSS_SEC + 60) * 1000,
      );
      const after = rssTree(master.proc!.pid);
      const note = r.complete ? undefined : `only ${r.created} files in ${RSS_SEC} s`;
      res.values.rssN = note ? { value: after / 2 ** 20, note } : { value: after / 2 ** 20 };
      res.values.perFile = r.created > 0 ? { value: (after - before) / r.created } : { failed: 'no file created' };
      res.values.mkfilesRate = { value: r.created / r.sec };
    });
    res.lastLoad = loadLine();
    const cpu = (name: string, pid: number | undefined): string => `${name} ${cpuSeconds(pid)?.toFixed(1) ?? '?'}`;
    res.cpu = [cpu('master', master.proc?.pid), ...l.daemons.filter((d) => d.role === 'chunkserver').map((d) => cpu(d.host.name, d.proc?.pid)), cpu('mount', mnt.proc?.pid)].join(', ');
  } catch (e) {
    const why = failedReason(e);
    console.log(`  ${label} cluster: ${why}`);
    if (lab && process.env.BENCH_VERBOSE) lab.printLogs();
    for (const k of ['write1', 'write2', 'read', 'create', 'stat', 'list', 'rename', 'unlink', 'rss0', 'rssN', 'perFile', 'mkfilesRate'] as Key[])
      if (!res.values[k]) res.values[k] = { failed: `set-up: ${why}` };
  } finally {
    if (lab) await lab.teardown().catch((e: unknown) => console.error(`teardown: ${e instanceof Error ? e.message.replace(/\n/g, " / ") : String(e)}`));
  }
  return res;
}

async function main(): Promise<void> {
  console.log(`bench:e2e  ${new Date().toISOString()}  ${loadLine()}`);
  const why = labUnavailableReason('real');
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  const out: ClusterResult[] = [];
  for (const sh of shapes) {
    console.log(`\n[${sh.label}] master + 2 chunkservers + mount ... (${loadLine()})`);
    const r = await runCluster(sh);
    out.push(r);
    for (const role of r.roles) console.log(`  ${role}`);
  }
  const real = out.find((r) => r.label === 'real');
  const ours = out.find((r) => r.label === 'ours');
  const others = out.filter((r) => r !== real && r !== ours);
  const rows: Array<[string, Key, number]> = [
    [`seq write ${MIB} MiB + fsync, goal 1, MB/s`, 'write1', 0],
    [`seq write ${MIB} MiB + fsync, goal 2, MB/s`, 'write2', 0],
    ['seq read after drop_caches, MB/s', 'read', 0],
    [`create ${META_FILES} empty files, ops/s`, 'create', 0],
    ['stat, ops/s', 'stat', 0],
    ['list (readdir), entries/s', 'list', 0],
    ['rename, ops/s', 'rename', 0],
    ['unlink, ops/s', 'unlink', 0],
    ['master RSS before bulk files, MiB', 'rss0', 0],
    [`master RSS after ${RSS_FILES} files, MiB`, 'rssN', 0],
    ['master bytes per file', 'perFile', 0],
    ['(bulk create via client API, files/s)', 'mkfilesRate', 0],
  ];
  printTable(
    `end to end through FUSE (${loadLine()})`,
    ['measure', 'real 3.0.117', 'ours', 'ours/real', ...others.map((o) => o.label)],
    rows.map(([label, k, d]) => [
      label,
      fmt(real?.values[k], d),
      fmt(ours?.values[k], d),
      ratio(ours?.values[k], real?.values[k]),
      ...others.map((o) => fmt(o.values[k], d)),
    ]),
  );
  for (const r of [ours, ...others]) if (r) console.log(`\n"${r.label}" ran: ${r.roles.join('; ')}`);
  console.log(`\nCPU seconds used over each cluster's run (on ${loadLine().split(' on ')[1]}; REPEAT=${REPEAT}, medians):`);
  for (const r of out) if (r.cpu) console.log(`  ${r.label}: ${r.cpu}`);
  console.log('(memory: lower is better, so a ratio above 1x there means ours uses more)');
}

await main();
