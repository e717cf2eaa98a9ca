import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/echo-daemon.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mfsts-daemon-'));
afterAll(() => {
  // Never leave a daemon behind, even if a test failed half-way.
  try {
    const pid = Number(readFileSync(join(dir, '.mfsecho.lock'), 'utf8'));
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    /* none left */
  }
  rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, MFS_TS_LOG_FILE: join(dir, 'echo.log') } }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

/** Alive and not a zombie (a daemon whose parent exited may be reaped late by whoever adopted it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function echoOnce(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write('ping'));
    c.on('data', (d) => {
      resolve(d.toString());
      c.destroy();
    });
    c.on('error', reject);
  });
}

describe('daemon lifecycle (MooseFS CLI verbs)', () => {
  it('start daemonizes and returns once serving; lock holds the pid; second start refused; stop waits for exit', async () => {
    const port = await freePort();
    const cfg = join(dir, 'mfsecho.cfg');
    writeFileSync(cfg, `DATA_PATH = ${dir}\nECHO_PORT = ${port}\nSTOP_MARK = ${join(dir, 'stopped')}\nBOGUS_KEY = 1\n`);
    const s = await run('-c', cfg, 'start');
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toContain('daemon initialized properly');
    // Serving as soon as start returned: no sleep needed.
    expect(await echoOnce(port)).toBe('ping');
    const pid = Number(readFileSync(join(dir, '.mfsecho.lock'), 'utf8'));
    expect(alive(pid)).toBe(true);
    const again = await run('-c', cfg, 'start');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('lockfile is already locked');
    const t = await run('-c', cfg, 'test');
    expect(t.stderr).toContain(`mfsecho pid: ${pid}`);
    expect(readFileSync(join(dir, 'echo.log'), 'utf8')).toContain("unknown option 'BOGUS_KEY'");
    const stop = await run('-c', cfg, 'stop');
    expect(stop.code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir, 'stopped'))).toBe(true);
    const t2 = await run('-c', cfg, 'test');
    expect(t2.code).toBe(1);
  });

  it('start fails with a non-zero exit and the reason when the daemon cannot start', async () => {
    const cfg = join(dir, 'fail.cfg');
    writeFileSync(cfg, `DATA_PATH = ${dir}\nFAIL_START = 1\n`);
    const s = await run('-c', cfg, 'start');
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('asked to fail');
  });

  it('a bad config value fails start naming the key', async () => {
    const cfg = join(dir, 'bad.cfg');
    writeFileSync(cfg, `DATA_PATH = ${dir}\nECHO_PORT = lots\n`);
    const s = await run('-c', cfg, 'start');
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('ECHO_PORT');
  });
});
