// `npm start`: a whole mfs-ts cluster on this machine (master, metalogger, two chunkservers at goal 2,
// and a FUSE mount when FUSE is there), all on 127.0.0.1, kept in the foreground until Ctrl-C.
//
//   node --import tsx scripts/start.ts [start|stop|status] [--base DIR] [--port N] [--no-mount]
//
// --base (MFS_START_BASE): where var/ and mnt/ go (default: the repository). --port (MFS_START_PORT):
// the first of the five ports of a new cluster (default 9419: 9419-9421 master, 9422-9423
// chunkservers); a port in use moves to the next free one. An existing var/ keeps the ports its cfg
// files name. `stop` stops a cluster left running (the launcher killed); `status` prints one line.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, hddCfg, isInitialised, layout, readDataPath, readPorts, ROLES, writeConfigs, type DaemonFiles, type Layout, type Ports, type Role } from './start/layout.js';
import { busyPorts, planPorts } from './start/ports.js';
import { alive, chunkservers, daemonPid, metaloggers, mountEntry, tail, type CsInfo } from './start/probe.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

class StartError extends Error {
  readonly code = 'MFS_START';
}

function say(line = ''): void {
  clearStatus();
  process.stdout.write(`${line}\n`);
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : `./${r}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether `p` settles within `ms` (the timer is cleared, so it never holds the process open). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<{ code: number; out: string }> {
  return new Promise((resolveRun) => {
    execFile(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolveRun({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

function daemonCmd(d: DaemonFiles, action: string, extra: string[] = []): string[] {
  return [process.execPath, d.bin, '-c', d.cfg, '-t', '60', ...extra, action];
}

const LABEL: Record<Role, string> = { master: 'mfsmaster-ts', metalogger: 'mfsmetalogger-ts', cs1: 'mfschunkserver-ts 1', cs2: 'mfschunkserver-ts 2' };

/** `BIN -c CFG start`: returns once the daemon says it serves, or throws with its log. */
async function startDaemon(d: DaemonFiles, extra: string[] = []): Promise<void> {
  const r = await run(daemonCmd(d, 'start', extra), { MFS_TS_LOG_FILE: d.log });
  if (r.code !== 0) throw new StartError(`${LABEL[d.role]} did not start: ${r.out}\n  last lines of ${rel(d.log)}:\n${tail(d.log)}`);
}

/** `BIN -c CFG stop`: returns once the daemon has exited (the master after writing metadata.mfs). */
async function stopDaemon(d: DaemonFiles): Promise<string | undefined> {
  if (!daemonPid(d)) return undefined;
  const r = await run(daemonCmd(d, 'stop'), {}, 90_000);
  if (r.code !== 0 || daemonPid(d)) return `${LABEL[d.role]} did not stop: ${r.out}`;
  return undefined;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, onTimeout: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (interrupted) throw new StartError('interrupted');
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new StartError(`${what}: not ready after ${timeoutMs / 1000} s. ${onTimeout()}`);
    await sleep(200);
  }
}

function fuseProblem(): string | undefined {
  if (!existsSync('/dev/fuse')) return 'FUSE is not available here (no /dev/fuse)';
  const libs = ['/lib/x86_64-linux-gnu/libfuse.so.2', '/usr/lib/x86_64-linux-gnu/libfuse.so.2', '/lib/aarch64-linux-gnu/libfuse.so.2', '/usr/lib/libfuse.so.2', '/lib64/libfuse.so.2'];
  if (!libs.some((l) => existsSync(l))) return 'libfuse2 is not installed (as root, `npm start` installs it: apt-get install libfuse2 fuse3)';
  if (process.getuid?.() !== 0) return 'mounting needs root here (mfsmount-ts mounts with allow_other); run `sudo npm start`, or use the Node API';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Status

let statusShown = false;
let lastStatus = '';
let lastStatusAt = 0;
function clearStatus(): void {
  if (statusShown && process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  statusShown = false;
}

function size(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

async function statusLine(l: Layout, p: Ports, mounted: boolean): Promise<string> {
  let cs: CsInfo[] | undefined;
  let mls: string[] | undefined;
  try {
    cs = await chunkservers(p.cl);
    mls = await metaloggers(p.cl);
  } catch {
    /* master down */
  }
  const parts: string[] = [];
  parts.push(cs ? `master up` : `master :${p.cl} DOWN`);
  if (cs) {
    const on = cs.filter((c) => !c.disconnected);
    const chunks = on.reduce((a, c) => a + c.chunks, 0);
    const used = on.reduce((a, c) => a + c.used, 0);
    const total = on.reduce((a, c) => a + c.total, 0);
    parts.push(`chunkservers ${on.length}/2, ${chunks} chunk copies, ${size(used)}/${size(total)} used`);
    parts.push(`metalogger ${mls && mls.length > 0 ? 'ok' : 'NOT connected'}`);
  } else {
    const down = ROLES.filter((r) => !daemonPid(l.daemons[r])).map((r) => LABEL[r]);
    if (down.length) parts.push(`not running: ${down.join(', ')}`);
  }
  if (mounted) parts.push(mountEntry(l.mnt) ? `mounted` : `${rel(l.mnt)} NOT mounted`);
  return parts.join(' | ');
}

function showStatus(line: string): void {
  if (process.stdout.isTTY) {
    const t = new Date().toTimeString().slice(0, 8);
    const cols = process.stdout.columns ?? 120;
    let s = `[${t}] ${line} (Ctrl-C stops)`;
    if (s.length > cols - 1) s = `${s.slice(0, cols - 4)}...`;
    process.stdout.write(`\r\x1b[K${s}`);
    statusShown = true;
  } else {
    // Not a terminal (a log, CI): a line when something other than the space figures changes, or each minute.
    const key = line.replace(/[\d.]+ [KMGT]?i?B/g, '#');
    if (key !== lastStatus || Date.now() - lastStatusAt > 60_000) {
      process.stdout.write(`status: ${line}\n`);
      lastStatus = key;
      lastStatusAt = Date.now();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mount

interface MountProc {
  child: ChildProcess;
  exited: Promise<number | null>;
}

async function mount(l: Layout, p: Ports): Promise<MountProc> {
  const fd = openSync(l.mountLog, 'a');
  const bin = resolve(REPO, 'packages/client/bin/mfsmount-ts.js');
  const child = spawn(process.execPath, [bin, l.mnt, '-H', HOST, '-P', String(p.cl), '-f'], {
    detached: true, // its own process group: the terminal's Ctrl-C reaches the launcher only
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(
    'mfsmount-ts',
    30_000,
    async () => {
      if (gone) throw new StartError(`mfsmount-ts exited before mounting ${rel(l.mnt)}:\n${tail(l.mountLog)}`);
      return mountEntry(l.mnt) ? true : undefined;
    },
    () => `last lines of ${rel(l.mountLog)}:\n${tail(l.mountLog)}`,
  ).catch((e) => {
    if (!gone) child.kill('SIGKILL');
    throw e;
  });
  statSync(l.mnt); // the mount answers
  return { child, exited };
}

async function unmount(l: Layout, m: MountProc | undefined): Promise<string | undefined> {
  if (mountEntry(l.mnt)) {
    const r = await run(['umount', l.mnt], {}, 60_000);
    if (r.code !== 0 && mountEntry(l.mnt)) {
      const f = await run(['fusermount', '-u', l.mnt], {}, 30_000);
      if (f.code !== 0 && mountEntry(l.mnt)) {
        say(`  umount ${rel(l.mnt)} failed (${r.out || f.out}); detaching it (umount -l)`);
        await run(['umount', '-l', l.mnt], {}, 30_000);
      }
    }
  }
  if (m && m.child.exitCode === null && m.child.signalCode === null) {
    // After the unmount mfsmount-ts flushes, closes its session and exits by itself.
    if (!(await within(m.exited, 20_000))) {
      say('  mfsmount-ts did not exit 20 s after the unmount: SIGTERM');
      m.child.kill('SIGTERM');
      if (!(await within(m.exited, 5000))) m.child.kill('SIGKILL');
    }
  }
  return mountEntry(l.mnt) ? `${rel(l.mnt)} is still mounted` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Stop

/** Stops in MooseFS's order: mount, chunkservers, metalogger, master (which writes metadata.mfs). */
async function stopAll(l: Layout, m: MountProc | undefined): Promise<string[]> {
  const problems: string[] = [];
  say('stopping: unmounting');
  const u = await unmount(l, m);
  if (u) problems.push(u);
  say('stopping: chunkservers, metalogger');
  for (const r of await Promise.all([stopDaemon(l.daemons.cs1), stopDaemon(l.daemons.cs2), stopDaemon(l.daemons.metalogger)])) if (r) problems.push(r);
  say('stopping: master (writing metadata)');
  const r = await stopDaemon(l.daemons.master);
  if (r) problems.push(r);
  for (const role of ROLES) {
    const pid = daemonPid(l.daemons[role]);
    if (pid) problems.push(`${LABEL[role]} (pid ${pid}) is still running`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Main

let interrupted = false;

/** The pid of a live launcher of this base (its state file), or 0. */
function runningLauncher(l: Layout): number {
  try {
    const pid = Number((JSON.parse(readFileSync(l.stateFile, 'utf8')) as { pid?: unknown }).pid);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return 0;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start.ts') ? pid : 0;
  } catch {
    return 0;
  }
}

function leftovers(l: Layout): string[] {
  const out: string[] = [];
  const launcher = runningLauncher(l);
  if (launcher) out.push(`another npm start (pid ${launcher}) runs this cluster`);
  for (const role of ROLES) {
    const pid = daemonPid(l.daemons[role]);
    if (pid) out.push(`${LABEL[role]} is still running (pid ${pid}, ${rel(l.daemons[role].cfg)})`);
  }
  const me = mountEntry(l.mnt);
  if (me) out.push(`${rel(l.mnt)} is still mounted (${me})`);
  return out;
}

function usageText(): string {
  return (
    'usage: npm start [-- [start|stop|status] [--base DIR] [--port N] [--no-mount]]\n' +
    '  start     (default) start the cluster and stay in the foreground; Ctrl-C stops it\n' +
    '  stop      stop a cluster of DIR/var left running (unmount, then every daemon)\n' +
    '  status    print the state of the cluster of DIR/var\n' +
    '  --base    where var/ and mnt/ are (env MFS_START_BASE; default: the repository)\n' +
    '  --port    first of the five ports of a new cluster (env MFS_START_PORT; default 9419)\n' +
    '  --no-mount  do not mount (env MFS_START_MOUNT=0)\n'
  );
}

async function main(): Promise<number> {
  const a = parseArgs({
    allowPositionals: true,
    options: { base: { type: 'string' }, port: { type: 'string' }, 'no-mount': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (a.values.help) {
    process.stdout.write(usageText());
    return 0;
  }
  const action = a.positionals[0] ?? 'start';
  if (!['start', 'stop', 'status'].includes(action) || a.positionals.length > 1) {
    process.stderr.write(usageText());
    return 1;
  }
  const base = resolve(a.values.base ?? process.env.MFS_START_BASE ?? REPO);
  const firstPort = Number(a.values.port ?? process.env.MFS_START_PORT ?? 9419);
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort > 65531) {
    process.stderr.write(`--port: not a port number: ${a.values.port ?? process.env.MFS_START_PORT}\n`);
    return 1;
  }
  const wantMount = !a.values['no-mount'] && process.env.MFS_START_MOUNT !== '0';
  const l = layout(base, REPO);

  if (action === 'status') {
    if (!isInitialised(l)) {
      say(`no cluster in ${rel(l.varDir)} yet (npm start creates it)`);
      return 1;
    }
    say(await statusLine(l, readPorts(l), true));
    return 0;
  }
  if (action === 'stop') {
    const launcher = runningLauncher(l);
    if (launcher) {
      // Let the launcher that runs this cluster stop it (it also owns the mount process).
      say(`asking the npm start that runs this cluster (pid ${launcher}) to stop it`);
      process.kill(launcher, 'SIGINT');
      const deadline = Date.now() + 180_000;
      while (alive(launcher) && Date.now() < deadline) await sleep(200);
    }
    const left = leftovers(l);
    if (left.length === 0) {
      say(launcher ? `stopped; data kept in ${rel(l.varDir)}` : `nothing of ${rel(l.varDir)} is running`);
      return 0;
    }
    const problems = await stopAll(l, undefined);
    rmSync(l.stateFile, { force: true });
    for (const p of problems) say(`  ${p}`);
    say(problems.length ? 'stop: some things are left (above)' : 'stopped; data kept in ' + rel(l.varDir));
    return problems.length ? 1 : 0;
  }
  return startCluster(l, firstPort, wantMount);
}

async function startCluster(l: Layout, firstPort: number, wantMount: boolean): Promise<number> {
  // Refuse what an earlier run left, before touching anything.
  const left = leftovers(l);
  if (left.length) {
    for (const x of left) say(`npm start: ${x}`);
    say(`A cluster of ${rel(l.varDir)} is still running or was not stopped cleanly.`);
    say(`Stop it with:  npm start -- stop${l.base === REPO ? '' : ` --base ${l.base}`}`);
    if (mountEntry(l.mnt)) say(`(or unmount by hand: umount ${l.mnt}  -- if busy: umount -l ${l.mnt})`);
    return 1;
  }

  let ports: Ports;
  const fresh = !isInitialised(l);
  if (fresh) {
    const plan = await planPorts(firstPort);
    for (const m of plan.moved) say(`npm start: ${m}`);
    ports = plan.ports;
    writeConfigs(l, ports);
    say(`new cluster: configuration written to ${rel(l.etc)}/ (edit and run npm start again)`);
  } else {
    ports = readPorts(l);
    const busy = await busyPorts(ports);
    if (busy.length) {
      for (const b of busy) say(`npm start: ${b}`);
      say(`Those ports come from ${rel(l.etc)}/*.cfg. Stop what holds them, or change the port there.`);
      return 1;
    }
    mkdirSync(l.logDir, { recursive: true });
    mkdirSync(l.mnt, { recursive: true });
    say(`reusing ${rel(l.varDir)} (configuration in ${rel(l.etc)}/)`);
  }

  let mnt: MountProc | undefined;
  let mountNote: string | undefined;
  const onSignal = (sig: string): void => {
    if (!interrupted) {
      interrupted = true;
      say(`\n${sig}: stopping the cluster (this takes a few seconds; the master writes its metadata)`);
      wake?.();
    } else say(`${sig}: still stopping, please wait`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP'));

  let failure: string | undefined;
  try {
    const m = l.daemons.master;
    const md = readDataPath(m);
    const restore = !existsSync(resolve(md, 'metadata.mfs')) && existsSync(resolve(md, 'metadata.mfs.back'));
    if (restore) say('the master did not stop cleanly last time: starting it with -a (metadata.mfs.back + change logs)');
    say(`starting mfsmaster-ts on ${HOST}:${ports.ml},${ports.cs},${ports.cl}`);
    await startDaemon(m, restore ? ['-a'] : []);
    if (interrupted) throw new StartError('interrupted');
    say(`starting mfschunkserver-ts x2 (${HOST}:${ports.cs1}, ${HOST}:${ports.cs2}) and mfsmetalogger-ts`);
    await Promise.all([startDaemon(l.daemons.cs1), startDaemon(l.daemons.cs2), startDaemon(l.daemons.metalogger)]);
    let seen = 'no answer';
    await waitFor(
      'chunkservers',
      60_000,
      async () => {
        const cs = await chunkservers(ports.cl);
        seen = cs.length ? cs.map((c) => `${c.ip}:${c.port}${c.disconnected ? ' (disconnected)' : ''} total ${size(c.total)}`).join(', ') : 'none';
        return cs.filter((c) => !c.disconnected && c.total > 0).length >= 2 ? cs : undefined;
      },
      () => `The master lists: ${seen}. See ${rel(l.daemons.cs1.log)}, ${rel(l.daemons.cs2.log)}, ${rel(m.log)}`,
    );
    await waitFor('mfsmetalogger-ts', 30_000, async () => ((await metaloggers(ports.cl)).length > 0 ? true : undefined), () => `see ${rel(l.daemons.metalogger.log)}`);
    if (interrupted) throw new StartError('interrupted');
    if (wantMount) {
      const problem = fuseProblem();
      let entries: string[] = [];
      try {
        entries = readdirSync(l.mnt);
      } catch {
        /* made above */
      }
      if (problem) mountNote = problem;
      else if (entries.length) mountNote = `${rel(l.mnt)} is not empty (${entries.length} entries): not mounting over it; move them away`;
      else {
        say(`mounting ${rel(l.mnt)} with mfsmount-ts`);
        try {
          mnt = await mount(l, ports);
        } catch (e) {
          if (interrupted) throw e;
          mountNote = `mount failed: ${(e as Error).message}`;
        }
      }
    } else mountNote = 'not mounting (--no-mount)';
  } catch (e) {
    failure = interrupted ? undefined : (e as Error).message;
  }

  if (!failure && !interrupted) {
    writeFileSync(
      l.stateFile,
      `${JSON.stringify({ pid: process.pid, host: HOST, ports, mount: mnt ? l.mnt : null, mountPid: mnt?.child.pid ?? null, daemons: Object.fromEntries(ROLES.map((r) => [r, { pid: daemonPid(l.daemons[r]), cfg: l.daemons[r].cfg, data: readDataPath(l.daemons[r]), log: l.daemons[r].log }])) }, null, 2)}\n`,
    );
    printSummary(l, ports, mnt !== undefined, mountNote);
    say('ready');
    // Live status until a signal.
    while (!interrupted) {
      showStatus(await statusLine(l, ports, mnt !== undefined));
      await within(new Promise<void>((r) => (wake = r)), 2000);
    }
  }

  if (failure) say(`npm start: ${failure}`);
  const problems = await stopAll(l, mnt);
  rmSync(l.stateFile, { force: true });
  for (const p of problems) say(`  ${p}`);
  if (problems.length) {
    say(`stop: some things are left (above); try: npm start -- stop${l.base === REPO ? '' : ` --base ${l.base}`}`);
    return 1;
  }
  say(`stopped cleanly; data kept in ${rel(l.varDir)} (npm start again to go on)`);
  return failure ? 1 : 0;
}

let wake: (() => void) | undefined;

function printSummary(l: Layout, p: Ports, mounted: boolean, mountNote: string | undefined): void {
  const d = l.daemons;
  const row = (name: string, where: string, r: Role): string =>
    `  ${name.padEnd(22)}${where.padEnd(30)}pid ${String(daemonPid(d[r])).padEnd(8)}cfg ${rel(d[r].cfg)}\n  ${''.padEnd(52)}data ${rel(readDataPath(d[r]))}  log ${rel(d[r].log)}`;
  say('');
  say('mfs-ts cluster running (MooseFS 3.0.117 protocol):');
  say(row('mfsmaster-ts', `${HOST}:${p.ml} ${p.cs} ${p.cl}`, 'master'));
  say(row('mfsmetalogger-ts', `-> ${HOST}:${p.ml}`, 'metalogger'));
  say(row('mfschunkserver-ts 1', `${HOST}:${p.cs1}`, 'cs1'));
  say(`  ${''.padEnd(52)}disks ${rel(hddCfg(l, 'cs1'))}`);
  say(row('mfschunkserver-ts 2', `${HOST}:${p.cs2}`, 'cs2'));
  say(`  ${''.padEnd(52)}disks ${rel(hddCfg(l, 'cs2'))}`);
  say(`  files are kept at goal 2 (a copy on each chunkserver)`);
  if (mounted) say(`  mfsmount-ts            ${rel(l.mnt)} (log ${rel(l.mountLog)}): use it like any directory`);
  else {
    say(`  no mount: ${mountNote ?? 'not mounted'}`);
    say(`  the Node API works against the running cluster, e.g. from ${REPO}:`);
    say(`    node --import tsx --input-type=module -e "import { MfsClient } from '@mfs-ts/client';`);
    say(`      const c = await MfsClient.connect({ host: '${HOST}', port: ${p.cl} });`);
    say(`      await c.writeFile('/hello.txt', 'hello'); console.log(await c.readdir('/')); await c.close();"`);
  }
  say(`  MooseFS tools: mfscli -H ${HOST} -P ${p.cl} -SIN   |   mfsmount DIR -H ${HOST} -P ${p.cl}`);
  say(`  stop: Ctrl-C (unmounts, stops every daemon, flushes the metadata); data stays in ${rel(l.varDir)}`);
  say('');
}

try {
  process.exitCode = await main();
} catch (e) {
  clearStatus();
  process.stderr.write(`npm start: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}
