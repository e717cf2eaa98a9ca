import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadCfgFile, type CfgSchema, type CfgValues } from './cfg.js';
import { LockFile } from './lockfile.js';
import { createLogger, type Logger } from './logger.js';

/** What every mfs-ts daemon is as a library: start it with a config object, stop it. */
export interface Daemon {
  /** Resolves once the daemon serves (listening, registered, ...); rejects with a clear error. */
  start(): Promise<void>;
  /** Resolves once everything is flushed and closed. */
  stop(): Promise<void>;
  /** SIGHUP / `reload`: the re-read config (keys marked reloadable take effect). */
  reload?(values: Record<string, unknown>): Promise<void> | void;
  /** SIGUSR1 / `info`: log a state summary. */
  info?(): void;
}

export interface DaemonContext<S extends CfgSchema> {
  cfg: CfgValues<S>;
  cfgPath: string;
  log: Logger;
  /** Extra command-line flags of this daemon (e.g. `-a` for the master). */
  flags: Record<string, boolean>;
}

export interface DaemonCliSpec<S extends CfgSchema> {
  /** MooseFS name: mfsmaster, mfschunkserver, mfsmetalogger (lock file `.NAME.lock`). */
  appName: string;
  /** Our executable: mfsmaster-ts, ... */
  binName: string;
  /** Default config path, MooseFS's (e.g. /etc/mfs/mfsmaster.cfg). */
  defaultCfg: string;
  schema: S;
  /** One-letter flags beyond MooseFS's common ones, with their help text. */
  extraFlags?: Record<string, string>;
  create(ctx: DaemonContext<S>): Daemon;
}

const NOTIFY_ENV = 'MFS_TS_NOTIFY_FD';
const ACTIONS = ['start', 'stop', 'restart', 'try-restart', 'reload', 'info', 'test', 'status', 'kill'] as const;
type Action = (typeof ACTIONS)[number];

interface Parsed {
  cfgPath: string;
  cfgGiven: boolean;
  foreground: boolean;
  logUndefined: boolean;
  lockTimeout: number;
  flags: Record<string, boolean>;
  action: Action;
  /** Arguments to pass to the foreground child when daemonizing. */
  childArgs: string[];
}

function usage<S extends CfgSchema>(spec: DaemonCliSpec<S>): string {
  const extra = Object.entries(spec.extraFlags ?? {})
    .map(([f, d]) => `-${f} : ${d}\n`)
    .join('');
  return (
    `usage: ${spec.binName} [-vfun] [-t locktimeout] [-c cfgfile] ${Object.keys(spec.extraFlags ?? {}).map((f) => `[-${f}] `).join('')}` +
    `[start|stop|restart|reload|info|test|kill]\n\n` +
    `-v : print version number and exit\n-f : run in foreground\n-u : log undefined config variables\n` +
    `-n : ignored (MooseFS: core dump limit)\n-t locktimeout : how long wait for lockfile\n-c cfgfile : use given config file\n${extra}`
  );
}

/** Parses MooseFS-style flags (getopt "nuvfdc:t:" plus the daemon's own). */
function parseArgs<S extends CfgSchema>(spec: DaemonCliSpec<S>, argv: string[]): Parsed | string {
  const extra = Object.keys(spec.extraFlags ?? {});
  const p: Parsed = { cfgPath: spec.defaultCfg, cfgGiven: false, foreground: false, logUndefined: false, lockTimeout: 1800, flags: {}, action: 'start', childArgs: [] };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const f = a[j]!;
        if (f === 'c' || f === 't') {
          const v = a.length > j + 1 ? a.slice(j + 1) : argv[++i];
          if (v === undefined) return `option -${f} needs a value`;
          if (f === 'c') {
            p.cfgPath = v;
            p.cfgGiven = true;
            p.childArgs.push('-c', v);
          } else {
            p.lockTimeout = Number.parseInt(v, 10) || 1800;
            p.childArgs.push('-t', v);
          }
          break;
        }
        if (f === 'f') p.foreground = true;
        else if (f === 'u') {
          p.logUndefined = true;
          p.childArgs.push('-u');
        } else if (f === 'v') return 'version';
        else if (f === 'n' || f === 'd') continue;
        else if (extra.includes(f)) {
          p.flags[f] = true;
          p.childArgs.push(`-${f}`);
        } else return `unknown option -${f}`;
      }
    } else rest.push(a);
  }
  if (rest.length > 1) return 'too many arguments';
  if (rest.length === 1) {
    const act = rest[0]!.toLowerCase() as Action;
    if (!ACTIONS.includes(act)) return `unknown action '${rest[0]}'`;
    p.action = act;
  }
  return p;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitGone(lock: LockFile, pid: number, timeoutS: number): Promise<boolean> {
  const deadline = Date.now() + timeoutS * 1000;
  process.stderr.write('waiting for termination ');
  while (lock.owner() === pid) {
    if (Date.now() > deadline) {
      process.stderr.write(':giving up\n');
      return false;
    }
    await sleep(50);
  }
  process.stderr.write('terminated\n');
  return true;
}

/**
 * The MooseFS daemon command line: `BIN [-c CFG] [-f] [-u] [-t T] start|stop|restart|reload|info|test|kill`.
 * `start` forks a foreground copy of itself and returns once that copy says it serves (or failed);
 * `stop` returns once the daemon has exited. Returns the exit code.
 */
export async function runDaemonCli<S extends CfgSchema>(spec: DaemonCliSpec<S>, argv = process.argv.slice(2)): Promise<number> {
  const parsed = parseArgs(spec, argv);
  if (parsed === 'version') {
    process.stdout.write(`${spec.binName} (mfs-ts) compatible with MooseFS 3.0.117\n`);
    return 0;
  }
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${usage(spec)}`);
    return 1;
  }
  let loaded;
  try {
    loaded = loadCfgFile(spec.schema, parsed.cfgPath, parsed.cfgGiven);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  for (const w of loaded.warnings) process.stderr.write(`${w}\n`);
  const values = loaded.values as Record<string, unknown>;
  const dataPath = String(values.DATA_PATH ?? '.');
  const lock = new LockFile(dataPath, spec.appName, [spec.binName]);
  const owner = lock.owner();

  switch (parsed.action) {
    case 'test':
    case 'status':
      if (owner) {
        process.stderr.write(`${spec.appName} pid: ${owner}\n`);
        return 0;
      }
      process.stderr.write(`${spec.appName} is not running\n`);
      return 1;
    case 'reload':
    case 'info':
      if (!owner) {
        process.stderr.write(`can't find process to ${parsed.action === 'reload' ? 'reload' : 'send info to'}\n`);
        return 1;
      }
      process.kill(owner, parsed.action === 'reload' ? 'SIGHUP' : 'SIGUSR1');
      process.stderr.write(`${parsed.action === 'reload' ? 'reload' : 'info'} signal has been sent\n`);
      return 0;
    case 'stop':
    case 'kill':
      if (!owner) {
        process.stderr.write("can't find process to terminate\n");
        return 0;
      }
      process.stderr.write(`sending ${parsed.action === 'kill' ? 'SIGKILL' : 'SIGTERM'} to lock owner (pid:${owner})\n`);
      process.kill(owner, parsed.action === 'kill' ? 'SIGKILL' : 'SIGTERM');
      return (await waitGone(lock, owner, parsed.lockTimeout)) ? 0 : 1;
    case 'restart':
    case 'try-restart':
      if (owner) {
        process.stderr.write(`sending SIGTERM to lock owner (pid:${owner})\n`);
        process.kill(owner, 'SIGTERM');
        if (!(await waitGone(lock, owner, parsed.lockTimeout))) return 1;
      } else if (parsed.action === 'try-restart') {
        process.stderr.write("can't find process to restart\n");
        return 1;
      }
      break;
    case 'start':
      if (owner) {
        process.stderr.write('can\'t start: lockfile is already locked by another process\n');
        return 1;
      }
      break;
  }

  if (!parsed.foreground) return daemonize(spec, parsed, dataPath);
  return runForeground(spec, parsed, loaded.values, lock, loaded.unknown);
}

/** Starts a detached foreground copy and waits for its "ready" or its error on a pipe. */
async function daemonize<S extends CfgSchema>(spec: DaemonCliSpec<S>, parsed: Parsed, dataPath: string): Promise<number> {
  const logFile = process.env.MFS_TS_LOG_FILE ?? join(existsSync(dataPath) ? dataPath : '.', `${spec.appName}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  await new Promise((r) => out.once('open', r));
  const script = process.argv[1]!;
  const child = spawn(process.execPath, [...process.execArgv, script, ...parsed.childArgs, '-f', 'start'], {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
    env: { ...process.env, [NOTIFY_ENV]: '3', MFS_TS_LOG_FILE: logFile },
  });
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  let msg = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => (msg += d));
  const code = await new Promise<number>((resolve) => {
    pipe.on('end', () => resolve(msg.startsWith('OK') ? 0 : 1));
    child.once('exit', () => setTimeout(() => resolve(msg.startsWith('OK') ? 0 : 1), 50));
  });
  out.end();
  if (code === 0) {
    process.stderr.write(`${spec.appName} daemon initialized properly\n`);
    child.unref();
  } else {
    process.stderr.write(`${msg.replace(/^ERR /, '').trim() || 'daemon exited during start-up'}\n(log: ${logFile})\n`);
  }
  return code;
}

async function runForeground<S extends CfgSchema>(
  spec: DaemonCliSpec<S>,
  parsed: Parsed,
  values: CfgValues<S>,
  lock: LockFile,
  unknown: string[],
): Promise<number> {
  const notifyFd = process.env[NOTIFY_ENV] ? Number(process.env[NOTIFY_ENV]) : undefined;
  const notify = (line: string): void => {
    if (notifyFd === undefined) return;
    try {
      const s = createWriteStream('', { fd: notifyFd });
      s.end(line);
    } catch {
      /* parent gone */
    }
  };
  const log = createLogger({ role: spec.appName, file: process.env.MFS_TS_LOG_FILE });
  const other = lock.acquire();
  if (other) {
    const m = "can't start: lockfile is already locked by another process";
    log.error({ pid: other }, m);
    notify(`ERR ${m}\n`);
    return 1;
  }
  for (const k of unknown) log.warn({ key: k, cfg: parsed.cfgPath }, `config: unknown option '${k}' (ignored)`);
  if (parsed.logUndefined) {
    for (const [k, def] of Object.entries(spec.schema)) log.info({ key: k }, `config: using default value for option '${k}' - '${String(def.default)}'`);
  }
  let daemon: Daemon;
  try {
    daemon = spec.create({ cfg: values, cfgPath: parsed.cfgPath, log, flags: parsed.flags });
    await daemon.start();
  } catch (e) {
    const m = e instanceof ConfigError ? e.message : `start failed: ${(e as Error).message}`;
    log.error({ err: e }, m);
    notify(`ERR ${m}\n`);
    process.stderr.write(`${m}\n`);
    return 1;
  }
  log.info(`${spec.appName} daemon initialized properly`);
  notify('OK\n');

  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'terminate signal received');
    try {
      await daemon.stop();
    } catch (e) {
      log.error({ err: e }, 'error while stopping');
    }
    log.info('process exited successfully');
    log.flush?.();
    setTimeout(() => process.exit(0), 20);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGUSR1', () => daemon.info?.());
  process.on('SIGHUP', () => {
    try {
      const re = loadCfgFile(spec.schema, parsed.cfgPath, parsed.cfgGiven);
      log.info({ unknown: re.unknown }, 'reloading config files');
      void Promise.resolve(daemon.reload?.(re.values as Record<string, unknown>)).catch((e) => log.error({ err: e }, 'reload failed'));
    } catch (e) {
      log.error({ err: e }, `reload refused: ${(e as Error).message}`);
    }
  });
  return new Promise<number>(() => {
    /* runs until a signal stops it */
  });
}
