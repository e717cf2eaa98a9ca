// The client of bench:meta's pause test, in its own process: one session on the master (our client
// core, no cache), CLTOMA_FUSE_GETATTR of random inodes one at a time, every latency recorded between
// `run` and `halt`; `halt` answers with the count, the longest wait and percentiles.
import { MfsCore, clientOptions } from '@mfs-ts/client';

type Cmd = { cmd: 'connect'; port: number; maxInode: number } | { cmd: 'run' } | { cmd: 'halt' };

let core: MfsCore | undefined;
let maxInode = 2;
let running: Promise<{ lat: number[]; errors: number }> | undefined;
let halt = false;
const creds = { uid: 0, gids: [0] };

async function loop(): Promise<{ lat: number[]; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  while (!halt) {
    const inode = 1 + Math.floor(Math.random() * maxInode);
    const t = performance.now();
    try {
      await core!.fs.getattr(inode, creds);
    } catch {
      errors++;
    }
    lat.push(performance.now() - t);
  }
  return { lat, errors };
}

function summary(lat: number[], errors: number): Record<string, number> {
  const s = [...lat].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { ops: s.length, errors, maxMs: s[s.length - 1] ?? 0, p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), over100: s.filter((x) => x > 100).length };
}

async function run(c: Cmd): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'connect':
      maxInode = c.maxInode;
      core = await MfsCore.connect(clientOptions({ host: '127.0.0.1', port: c.port, info: 'mfs-ts bench:meta pause' }));
      return {};
    case 'run':
      halt = false;
      running = loop();
      return {};
    case 'halt': {
      halt = true;
      const r = await running!;
      return summary(r.lat, r.errors);
    }
  }
}

process.on('message', (c: Cmd) => {
  run(c).then(
    (r) => process.send!({ ok: true, ...r }),
    (e: unknown) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
process.send!({ ready: true });
