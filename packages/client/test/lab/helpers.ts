import { join } from 'node:path';
import type { Host, Master, RunResult } from '@mfs-ts/lab';
import { REPO_ROOT } from '@mfs-ts/lab';

/**
 * The test process cannot reach addresses inside a lab namespace, so each scenario runs as a child
 * process inside the host's network namespace (nsenter through the lab), with tsx, and reports
 * "ok <step>" lines on stdout.
 */
export async function runScenario(host: Host, name: string, args: Record<string, unknown>, timeoutMs = 150_000): Promise<RunResult> {
  const script = join(REPO_ROOT, 'packages/client/test/lab/scenarios', `${name}.ts`);
  const r = await host.exec(['node', '--import', 'tsx', script, JSON.stringify(args)], { allowFail: true, timeoutMs, cwd: REPO_ROOT });
  if (!r.ok) throw new Error(`scenario ${name} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function steps(r: RunResult): string[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('ok '))
    .map((l) => l.slice(3));
}

export function masterArgs(m: Master): { host: string; port: number } {
  return { host: m.addr, port: m.ports.cl };
}
