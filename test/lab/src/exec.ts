import { spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LabError } from './errors.js';

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill the command (SIGKILL, whole process group) after this long. Default 60 s. */
  timeoutMs?: number;
  /** Resolve with the result instead of rejecting when the command fails. */
  allowFail?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ok: boolean;
}

/** Quotes an argv for error messages and logs (not for a shell). */
export function showCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a command to completion and collects its output. Never uses a shell. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new LabError('MFSL_USAGE', 'run: empty command');
  const command = showCommand(argv);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise<RunResult>((resolve, reject) => {
    const so: SpawnOptions = { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true };
    const child = spawn(cmd, args, so);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdin!.on('error', () => {}); // the command may exit before reading its input
    child.stdin!.end(opts.input ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LabError('MFSL_COMMAND_FAILED', `cannot run ${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r: RunResult = {
        command,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ok: code === 0,
      };
      if (timedOut) {
        reject(new LabError('MFSL_TIMEOUT', `${command}: no exit after ${timeoutMs} ms (killed)`, tail(r)));
      } else if (!r.ok && !opts.allowFail) {
        reject(new LabError('MFSL_COMMAND_FAILED', `${command}: exit ${code ?? signal}`, tail(r)));
      } else {
        resolve(r);
      }
    });
  });
}

function tail(r: RunResult): string {
  const text = `${r.stderr}${r.stdout}`.trim();
  return text.length > 4000 ? `...${text.slice(-4000)}` : text;
}

/** Signals a whole process group (children are spawned `detached`, so pid = pgid); ignores ESRCH. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** True while `pid` exists and is not a zombie (an exited child nobody has reaped yet). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined/false, or throws
 * MFSL_TIMEOUT naming `what` (and the last error `check` threw, if any). `abort` is checked each
 * round: return a string there to stop early with that reason (e.g. "the daemon exited").
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = opts.abort?.();
    if (reason !== undefined) throw new LabError('MFSL_DAEMON_EXITED', `while waiting for ${what}: ${reason}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : last === undefined ? undefined : String(last);
      throw new LabError('MFSL_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`, detail);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
