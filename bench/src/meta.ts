// bench:meta — metadata persistence at BENCH_PERSIST_FILES (1,000,000) files, ours vs the real
// mfsmaster 3.0.117 in one run, on the same namespace:
//
// 1. The namespace is made with our namespace API in this process (BENCH_PERSIST_PER_DIR (1000) files
//    per directory, one clock second for every record), keeping every record as changelog text. Files:
//    base.mfs (the empty namespace at version 1), changelog.0.mfs (one CREATE per directory and file),
//    full.mfs (the whole namespace, written by our storeMetadata). The real master loads full.mfs and
//    replays base.mfs + changelog.0.mfs exactly as ours does.
// 2. Ours in process: storeMetadata (synchronous), the sliced writer (fs/metadump.ts: wall time, time
//    spent encoding, longest slice), loadMetadata, replay of the changelog (parse + apply).
// 3. The real master, `mfsmaster -f restore` (load, [-a: replay], store, clean up, exit; it prints a line
//    per phase, timed here as they arrive): on full.mfs (load; store = from the end of loading to
//    "cleaning metadata"), on base.mfs + changelog (replay = that span minus the store); then
//    `mfsmaster start` on full.mfs (start to serving) and `mfsmaster stop` (store at stop + clean-up).
// 4. Our master (Master, the daemon's class, in a child process: meta/tsmaster.ts) on full.mfs: start
//    to serving (load + the .back it writes at start), then the pause test: a client in another process
//    (meta/pauser.ts) sends CLTOMA_FUSE_GETATTR of random inodes one at a time; its latencies are
//    recorded BENCH_PAUSE_BASE_SEC (3) s without a dump, during the periodic dump (Master.dumpMetadata,
//    what METADATA_SAVE_FREQ runs), and during the old synchronous dump (storeMetadata + writeFileSync);
//    then stop (stores metadata.mfs). Then -a on base.mfs + changelog (start to serving = replay).
//
// The real master's own dump runs in a forked child (meta_storeall), so its clients wait only for the
// fork; 3.0.117 has no command to start that dump (the hourly one at the top of the hour, or a stop),
// so it is not part of the pause test. Our master has no operator trigger either: bench and tests call
// Master.dumpMetadata(), the function its METADATA_SAVE_FREQ timer calls.
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangelogReader, formatLine, loadMetadata, MetadataDump, Namespace, storeMetadata, TYPE_FILE, type FsCtx } from '@mfs-ts/master/fs';
import { BENCH_DIR } from './lib/child.js';
import { envNum, failedReason, loadLine, printTable } from './lib/report.js';

const N = envNum('BENCH_PERSIST_FILES', 1_000_000);
const PER_DIR = envNum('BENCH_PERSIST_PER_DIR', 1000);
const BASE_SEC = envNum('BENCH_PAUSE_BASE_SEC', 3);
/** Which parts run: inproc (ours in process), real (the real master), ours (our daemon, pause test, -a). */
const STEPS = new Set((process.env.BENCH_META_STEPS ?? 'inproc,real,ours').split(/[\s,]+/).filter(Boolean));
const TS = 1_764_590_000;
const METAID = 0x6d66732d74730001n;
const ROOT: FsCtx = { uid: 0, gids: [0], sesflags: 0, rootinode: 1 };

const sec = (ms: number) => ms / 1000;
const now = () => performance.now();
const cells: Record<string, { ours?: number; real?: number; note?: string }> = {};
const notes: string[] = [];
function put(row: string, who: 'ours' | 'real', seconds: number | undefined): void {
  (cells[row] ??= {})[who] = seconds;
}

// ------------------------------------------------------------------ 1 + 2: the namespace, ours in process

function generate(work: string): { records: number; files: number } {
  let version = 1n;
  const cl = openSync(join(work, 'changelog.0.mfs'), 'w');
  let pending: string[] = [];
  const flush = () => {
    writeSync(cl, pending.join('\n') + '\n');
    pending = [];
  };
  const ns = new Namespace({
    now: () => TS,
    onRecord: (r) => {
      pending.push(formatLine(version++, r));
      if (pending.length >= 10000) flush();
    },
  });
  writeFileSync(join(work, 'base.mfs'), storeMetadata(ns, { metaversion: 1n, metaid: METAID, now: TS }));
  const t0 = now();
  let files = 0;
  for (let d = 0; files < N; d++) {
    const dir = ns.mkdir(ROOT, 1, Buffer.from(`d${d}`), 0o755, 0, false);
    if (!dir.ok) throw new Error(`mkdir d${d}: status ${dir.status}`);
    for (let i = 0; i < PER_DIR && files < N; i++, files++) {
      const f = ns.mknod(ROOT, dir.value.inode, Buffer.from(`f${i}`), TYPE_FILE, 0o644, 0, 0);
      if (!f.ok) throw new Error(`mknod: status ${f.status}`);
    }
  }
  flush();
  closeSync(cl);
  notes.push(`namespace made in ${sec(now() - t0).toFixed(1)} s through our namespace API: ${files} files in ${Math.ceil(files / PER_DIR)} directories, ${version - 1n} records`);
  const o = { metaversion: version, metaid: METAID, now: TS };
  let t = now();
  const img = storeMetadata(ns, o);
  put('store metadata.mfs: in process, synchronous (storeMetadata)', 'ours', sec(now() - t));
  writeFileSync(join(work, 'full.mfs'), img);
  notes.push(`metadata.mfs of ${(img.length / 1e6).toFixed(1)} MB`);
  return { records: Number(version - 1n), files };
}

async function oursInProcess(work: string): Promise<void> {
  const img = readFileSync(join(work, 'full.mfs'));
  const ns = new Namespace({ now: () => TS });
  let t = now();
  loadMetadata(ns, img);
  put('load metadata.mfs: in process (loadMetadata)', 'ours', sec(now() - t));
  t = now();
  const dump = new MetadataDump(ns, { metaversion: img.readBigUInt64BE(8), metaid: METAID, now: TS });
  const parts = await dump.run();
  const wall = now() - t;
  put('store metadata.mfs: in process, sliced (MetadataDump.run), wall', 'ours', sec(wall));
  put('  of which encoding (sum of slices)', 'ours', sec(dump.busyMs));
  notes.push(`sliced writer: ${dump.slices} slices, longest ${dump.longestSliceMs.toFixed(1)} ms; same bytes as storeMetadata: ${Buffer.concat(parts).equals(img)}`);
  const fresh = new Namespace({ now: () => TS });
  loadMetadata(fresh, readFileSync(join(work, 'base.mfs')));
  t = now();
  const { records, issues } = ChangelogReader.readFile(join(work, 'changelog.0.mfs'));
  const parsed = now() - t;
  let bad = issues.length;
  for (const r of records) if (fresh.apply(r.rec) !== 0) bad++;
  put('replay the changelog: in process (parse + apply)', 'ours', sec(now() - t));
  notes.push(`in-process replay: parse ${sec(parsed).toFixed(1)} s of it; ${bad} records failed; nodes ${fresh.tree.nodes.size} (live ${ns.tree.nodes.size})`);
}

// ------------------------------------------------------------------ 3: the real master

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function realCfg(work: string, name: string): Promise<{ cfg: string; data: string }> {
  const data = join(work, name);
  mkdirSync(data, { recursive: true });
  writeFileSync(join(work, 'mfsexports.cfg'), '* / rw,alldirs,maproot=0:0\n');
  const cfg = join(work, `${name}.cfg`);
  const [ml, cs, cl] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    cfg,
    [`DATA_PATH = ${data}`, `EXPORTS_FILENAME = ${join(work, 'mfsexports.cfg')}`, 'WORKING_USER = root', 'WORKING_GROUP = root', 'MATOML_LISTEN_HOST = 127.0.0.1', `MATOML_LISTEN_PORT = ${ml}`, 'MATOCS_LISTEN_HOST = 127.0.0.1', `MATOCS_LISTEN_PORT = ${cs}`, 'MATOCL_LISTEN_HOST = 127.0.0.1', `MATOCL_LISTEN_PORT = ${cl}`, ''].join('\n'),
  );
  return { cfg, data };
}

/** `mfsmaster -c CFG [-a] -f restore`, each output line with its arrival time (ms from the start). */
async function realRestore(cfg: string, auto: boolean): Promise<Array<{ t: number; line: string }>> {
  const t0 = now();
  const out: Array<{ t: number; line: string }> = [];
  const p = spawn('mfsmaster', ['-c', cfg, ...(auto ? ['-a'] : []), '-f', 'restore'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  const take = (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    const parts = buf.split(/[\r\n]/);
    buf = parts.pop()!;
    for (const l of parts) if (l.trim() !== '') out.push({ t: now() - t0, line: l });
  };
  p.stdout.on('data', take);
  p.stderr.on('data', take);
  const code = await new Promise<number | null>((r) => p.on('close', r));
  if (code !== 0) throw new Error(`mfsmaster restore exit ${code}: ${out.slice(-3).map((x) => x.line).join(' | ')}`);
  return out;
}

const at = (lines: Array<{ t: number; line: string }>, re: RegExp): number => {
  const l = lines.find((x) => re.test(x.line));
  if (!l) throw new Error(`no line ${re} in the real master's output`);
  return l.t;
};

function headerVersion(file: string): bigint {
  const b = readFileSync(file).subarray(0, 16);
  return b.readBigUInt64BE(8);
}

async function real(work: string, want: bigint): Promise<void> {
  if (spawnSync('mfsmaster', ['-v']).error) {
    notes.push('real mfsmaster: not installed (npm run setup) - its column is empty');
    return;
  }
  let storeMs = 0;
  try {
    const { cfg, data } = await realCfg(work, 'real-load');
    copyFileSync(join(work, 'full.mfs'), join(data, 'metadata.mfs'));
    const l = await realRestore(cfg, false);
    const loaded = at(l, /^chunks:/);
    put('load metadata.mfs: real `-f restore` (loading ... chunks)', 'real', sec(loaded - at(l, /loading metadata/)));
    storeMs = at(l, /cleaning metadata/) - loaded;
    put('store metadata.mfs: real, foreground meta_storeall (end of load .. cleaning)', 'real', sec(storeMs));
    if (headerVersion(join(data, 'metadata.mfs')) !== want) notes.push('real load: stored file has another version');
    rmSync(data, { recursive: true, force: true });
  } catch (e) {
    notes.push(`real load/store: failed — ${failedReason(e)}`);
  }
  try {
    const { cfg, data } = await realCfg(work, 'real-replay');
    copyFileSync(join(work, 'base.mfs'), join(data, 'metadata.mfs'));
    copyFileSync(join(work, 'changelog.0.mfs'), join(data, 'changelog.0.mfs'));
    const l = await realRestore(cfg, true);
    const span = at(l, /cleaning metadata/) - at(l, /^chunks:/);
    put('replay the changelog: real `-a -f restore` (minus its store)', 'real', sec(span - storeMs));
    const v = headerVersion(join(data, 'metadata.mfs'));
    notes.push(`real -a: restored to version ${v} (want ${want})${v === want ? '' : ' - NOT ALL RECORDS'}`);
    rmSync(data, { recursive: true, force: true });
  } catch (e) {
    notes.push(`real replay: failed — ${failedReason(e)}`);
  }
  const ra = await realCfg(work, 'real-a-start');
  try {
    copyFileSync(join(work, 'base.mfs'), join(ra.data, 'metadata.mfs'));
    copyFileSync(join(work, 'changelog.0.mfs'), join(ra.data, 'changelog.0.mfs'));
    const t = now();
    const s = spawnSync('mfsmaster', ['-c', ra.cfg, '-a', 'start'], { encoding: 'latin1', timeout: 600_000 });
    if (s.status !== 0) throw new Error(`mfsmaster -a start: ${s.stderr.trim().split('\n').pop()}`);
    put('-a: start to serving on the empty image + changelog (daemon)', 'real', sec(now() - t));
  } catch (e) {
    notes.push(`real -a start: failed — ${failedReason(e)}`);
  } finally {
    if (existsSync(join(ra.data, '.mfsmaster.lock'))) spawnSync('mfsmaster', ['-c', ra.cfg, 'stop'], { timeout: 600_000 });
    rmSync(ra.data, { recursive: true, force: true });
  }
  const { cfg, data } = await realCfg(work, 'real-start');
  try {
    copyFileSync(join(work, 'full.mfs'), join(data, 'metadata.mfs'));
    let t = now();
    const s = spawnSync('mfsmaster', ['-c', cfg, 'start'], { encoding: 'latin1', timeout: 600_000 });
    if (s.status !== 0) throw new Error(`mfsmaster start: ${s.stderr.trim().split('\n').pop()}`);
    put('start to serving on metadata.mfs (daemon)', 'real', sec(now() - t));
    t = now();
    const st = spawnSync('mfsmaster', ['-c', cfg, 'stop'], { encoding: 'latin1', timeout: 600_000 });
    if (st.status !== 0) throw new Error(`mfsmaster stop: ${st.stderr.trim().split('\n').pop()}`);
    put('stop (store metadata.mfs, clean up, exit; daemon)', 'real', sec(now() - t));
  } catch (e) {
    notes.push(`real start/stop: failed — ${failedReason(e)}`);
  } finally {
    if (existsSync(join(data, '.mfsmaster.lock'))) spawnSync('mfsmaster', ['-c', cfg, 'kill'], { timeout: 60_000 });
    rmSync(data, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ 4: our master, and the pause test

interface Worker {
  p: ChildProcess;
  call(msg: object, timeoutMs?: number): Promise<Record<string, unknown>>;
}

async function worker(script: string): Promise<Worker> {
  const p = fork(join(BENCH_DIR, 'src', 'meta', script), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=8192', ...(process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)], cwd: BENCH_DIR, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (process.env.BENCH_VERBOSE) p.on('message', (m) => console.error(script, 'says', JSON.stringify(m)));
  await new Promise<void>((res, rej) => {
    p.once('message', () => res());
    p.once('exit', (c) => rej(new Error(`${script} exited (${c}) before it was ready`)));
  });
  return {
    p,
    call: (msg, timeoutMs = 900_000) =>
      new Promise((res, rej) => {
        const to = setTimeout(() => rej(new Error(`${script}: no answer to ${JSON.stringify(msg)} in ${timeoutMs} ms`)), timeoutMs);
        p.once('message', (m: Record<string, unknown>) => {
          clearTimeout(to);
          if (m.ok === false) rej(new Error(`${script}: ${String(m.error)}`));
          else res(m);
        });
        p.send(msg);
      }),
  };
}

const stopWorker = async (w: Worker | undefined) => {
  if (!w || w.p.exitCode !== null) return;
  w.p.kill('SIGKILL');
  await new Promise((r) => w.p.once('exit', r));
};

type Pause = { ops: number; maxMs: number; p99Ms: number; p999Ms: number; over100: number; errors: number };
const pauses: Array<{ what: string; r: Pause; extra: string }> = [];

async function ours(work: string, files: number, want: bigint): Promise<void> {
  let m: Worker | undefined;
  let c: Worker | undefined;
  const data = join(work, 'ours');
  try {
    mkdirSync(data, { recursive: true });
    copyFileSync(join(work, 'full.mfs'), join(data, 'metadata.mfs'));
    m = await worker('tsmaster.ts');
    const st = await m.call({ cmd: 'start', dir: data, autoRestore: false });
    put('start to serving on metadata.mfs (daemon)', 'ours', sec(st.ms as number));
    c = await worker('pauser.ts');
    await c.call({ cmd: 'connect', port: st.port, maxInode: files + Math.ceil(files / PER_DIR) + 1 });
    const window = async (what: string, during: () => Promise<Record<string, unknown>>) => {
      await c!.call({ cmd: 'run' });
      const extra = await during();
      const r = (await c!.call({ cmd: 'halt' })) as unknown as Pause;
      pauses.push({ what, r, extra: Object.entries(extra).filter(([k]) => k !== 'ok').map(([k, v]) => `${k} ${typeof v === 'number' ? Math.round(v) : String(v)}`).join(', ') });
      return extra;
    };
    await window('no dump (baseline)', async () => {
      await new Promise((r) => setTimeout(r, BASE_SEC * 1000));
      return {};
    });
    const d = await window('periodic dump (Master.dumpMetadata, sliced)', () => m!.call({ cmd: 'dump' }));
    put('periodic dump to metadata.mfs.back, wall (daemon, clients served)', 'ours', sec(d.ms as number));
    const s = await window('old synchronous dump (storeMetadata + writeFileSync)', () => m!.call({ cmd: 'dumpSync' }));
    put('old synchronous dump (daemon, clients wait)', 'ours', sec(s.ms as number));
    const sp = await m.call({ cmd: 'stop' });
    put('stop (store metadata.mfs, clean up, exit; daemon)', 'ours', sec(sp.ms as number));
    if (headerVersion(join(data, 'metadata.mfs')) < want) notes.push('ours: metadata.mfs at stop has an older version');
  } catch (e) {
    notes.push(`ours (daemon, pause test): failed — ${failedReason(e)}`);
  } finally {
    await stopWorker(c);
    await stopWorker(m);
    rmSync(data, { recursive: true, force: true });
  }
  const rdata = join(work, 'ours-a');
  try {
    mkdirSync(rdata, { recursive: true });
    copyFileSync(join(work, 'base.mfs'), join(rdata, 'metadata.mfs'));
    copyFileSync(join(work, 'changelog.0.mfs'), join(rdata, 'changelog.0.mfs'));
    m = await worker('tsmaster.ts');
    const st = await m.call({ cmd: 'start', dir: rdata, autoRestore: true });
    put('-a: start to serving on the empty image + changelog (daemon)', 'ours', sec(st.ms as number));
    notes.push(`ours -a: metaversion ${String(st.metaversion)} (want ${want}), ${String(st.nodes)} nodes`);
  } catch (e) {
    notes.push(`ours -a: failed — ${failedReason(e)}`);
  } finally {
    await stopWorker(m);
    rmSync(rdata, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mfs-bench-meta-'));
  try {
    const g = generate(work);
    const want = BigInt(g.records + 1);
    if (STEPS.has('inproc')) await oursInProcess(work);
    if (STEPS.has('real')) await real(work, want);
    if (STEPS.has('ours')) await ours(work, g.files, want);
    // ours -a vs the real -a (restore mode, no serving) are not the same command: show both rows.
    const rows = Object.entries(cells).map(([k, v]) => [k, v.ours === undefined ? '-' : v.ours.toFixed(2), v.real === undefined ? '-' : v.real.toFixed(2), v.ours !== undefined && v.real ? `${(v.ours / v.real).toFixed(2)}x` : '-']);
    printTable(`bench:meta — ${g.files.toLocaleString('en-US')} files; seconds (${loadLine()})`, ['step', 'ours s', 'real s', 'ours/real'], rows);
    printTable('longest client wait (GETATTR of random inodes, one at a time, own process)', ['window', 'ops', 'max ms', 'p99 ms', 'p99.9 ms', '>100 ms', 'errors', 'master side'], pauses.map((p) => [p.what, String(p.r.ops), p.r.maxMs.toFixed(1), p.r.p99Ms.toFixed(2), p.r.p999Ms.toFixed(2), String(p.r.over100), String(p.r.errors), p.extra]));
    for (const n of notes) console.log(`- ${n}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
