// Bench workers run as child processes inside a lab host (its network namespace), where the daemons'
// addresses are; they print one JSON line on stdout as their last line.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '@mfs-ts/lab';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '../..');

export async function runWorker<T>(host: Host, script: string, args: unknown, timeoutMs: number): Promise<T> {
  const r = await host.exec(['node', '--import', 'tsx', join(BENCH_DIR, 'src', script), JSON.stringify(args)], {
    cwd: BENCH_DIR,
    timeoutMs,
    allowFail: true,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    const why = r.signal ? `killed (${r.signal}) after ${Math.round(timeoutMs / 1000)} s limit` : `exit ${r.code}`;
    throw new Error(`${script} ${why}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200)}`);
  }
  if (parsed && typeof parsed === 'object' && 'error' in parsed) throw new Error(String((parsed as { error: unknown }).error));
  return parsed as T;
}

/** For workers: run `main`, print its result (or {error}) as the last line, exit. */
export function workerMain(main: (args: never) => Promise<unknown>): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as never;
  main(args).then(
    (res) => {
      process.stdout.write(`${JSON.stringify(res)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
      process.exit(1);
    },
  );
}
