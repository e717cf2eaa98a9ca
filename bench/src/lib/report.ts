// Shared by the bench entry points: env-configured sizes, a plain text table, the machine's load, and
// "failed — reason" cells instead of crashes.
import { cpus, loadavg } from 'node:os';

/** A positive number from the environment, or the default. */
export function envNum(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
  return n;
}

export function loadLine(): string {
  const [a, b, c] = loadavg();
  return `load average ${a!.toFixed(2)} ${b!.toFixed(2)} ${c!.toFixed(2)} on ${cpus().length} cpus`;
}

/** A measurement, or why there is none. */
export type Outcome = { value: number; note?: string } | { failed: string };

export function failedReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 160);
}

export function fmt(o: Outcome | undefined, digits = 1): string {
  if (!o) return '-';
  if ('failed' in o) return `failed — ${o.failed}`;
  const v = o.value;
  const s = v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
  return o.note ? `${s} (${o.note})` : s;
}

export function ratio(ours: Outcome | undefined, real: Outcome | undefined): string {
  if (!ours || !real || 'failed' in ours || 'failed' in real || real.value === 0) return '-';
  return `${(ours.value / real.value).toFixed(2)}x`;
}

/** Left-aligned first column, right-aligned others, `|` separated (pastes into Markdown). */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    `| ${r.map((c, i) => (i === 0 ? (c ?? '').padEnd(w[i]!) : (c ?? '').padStart(w[i]!))).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${w.map((x, i) => (i === 0 ? ':' : '-') + '-'.repeat(x) + (i === 0 ? '-' : ':')).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** Rejects after `ms` with a message naming `what`. */
export async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        t = setTimeout(() => rej(new Error(`${what}: no result after ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

export function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Deterministic non-zero bytes (so sparse-file tricks on all-zero blocks do not flatter anyone). */
export function patternBuffer(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}
