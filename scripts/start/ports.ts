import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { HOST, PORT_KEYS, PORT_NAMES, type Ports } from './layout.js';

/** Whether HOST:port can be bound now (what the daemon will do). */
export function portFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** "pid 1234 (mfsmaster)" for the process listening on the port, as far as `ss` or /proc tell. */
export function portOwner(port: number): string {
  try {
    const out = execFileSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    if (m) {
      let cmd = m[1]!;
      try {
        // node daemons: show which script (mfsmaster-ts, ...) rather than "node".
        const argv = readFileSync(`/proc/${m[2]}/cmdline`, 'utf8').split('\0').filter(Boolean);
        const named = argv.find((a) => /mfs[a-z]*(-ts)?(\.js)?$/.test(a));
        if (named) cmd = named.split('/').pop()!.replace(/\.js$/, '');
      } catch {
        /* gone or not ours to read */
      }
      return `pid ${m[2]} (${cmd})`;
    }
    if (out.trim() !== '') return 'another process (not visible to this user)';
  } catch {
    /* no ss */
  }
  return 'another process';
}

export interface PortPlan {
  ports: Ports;
  /** Human-readable notes about moved ports. */
  moved: string[];
}

/**
 * Default ports for a new cluster: first, first+1, ... (MooseFS's 9419..9423); a port that is taken
 * moves to the next free one above the others, and the note says which, why and by whom.
 */
export async function planPorts(first: number): Promise<PortPlan> {
  const want = PORT_KEYS.map((_, i) => first + i);
  const used = new Set<number>();
  const out: Partial<Ports> = {};
  const moved: string[] = [];
  let next = first + PORT_KEYS.length;
  for (let i = 0; i < PORT_KEYS.length; i++) {
    const k = PORT_KEYS[i]!;
    let p = want[i]!;
    if (!(await portFree(p))) {
      const owner = portOwner(p);
      let q = next;
      while (q <= 65535 && (used.has(q) || want.includes(q) || !(await portFree(q)))) q++;
      if (q > 65535) throw new Error(`no free port above ${next} for the ${PORT_NAMES[k]}`);
      moved.push(`port ${p} (${PORT_NAMES[k]}) is in use by ${owner}: using ${q} instead`);
      p = q;
      next = q + 1;
    }
    used.add(p);
    out[k] = p;
  }
  return { ports: out as Ports, moved };
}

/** The ports of an existing cluster that are taken now, each with who holds it. */
export async function busyPorts(p: Ports): Promise<string[]> {
  const out: string[] = [];
  for (const k of PORT_KEYS) {
    if (!(await portFree(p[k]))) out.push(`port ${p[k]} (${PORT_NAMES[k]}) is in use by ${portOwner(p[k])}`);
  }
  return out;
}
