// Sequential throughput, a measuring aid (not a test). One lab: a real mfsmaster and two real
// chunkservers, goal 1. For each client, ROUNDS times, interleaved (the machine is shared, so only
// figures from the same run compare): write MIB MiB with dd (1 MiB blocks, fsync at the end), a
// fresh mount (cold page cache), read it back with dd. Clients: `ts` (this tree's mfsmount-ts),
// `real` (mfsmount), `api` (this tree's Node API, scripts/api-seq.ts), and with OLD=<an older
// packages/client/src copy inside packages/client, e.g. packages/client/.old-src> also `ts-old` and `api-old` (e.g. from `git archive REV packages/client/src`).
// Run as root:  [OLD=dir] [CLIENTS=ts,real,api] node --import tsx packages/client/scripts/throughput.ts [MIB] [ROUNDS]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, REPO_ROOT, waitFor, type Host, type Lab, type Master } from '@mfs-ts/lab';

const MIB = Number(process.argv[2] ?? 512);
const ROUNDS = Number(process.argv[3] ?? 3);
const OLD = process.env.OLD;
const CLIENTS = (process.env.CLIENTS ?? (OLD ? 'ts,ts-old,real,api,api-old' : 'ts,real,api')).split(',');
const SRC = join(REPO_ROOT, 'packages/client/src');

function rate(stderr: string): number {
  // dd: "536870912 bytes (537 MB, 512 MiB) copied, 1.2 s, 440 MB/s"
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(stderr);
  if (!m) throw new Error(`no dd figure in: ${stderr}`);
  return Number(m[1]) / Number(m[2]) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let n = 0;
/** Mounts with mfsmount or mfsmount-ts from `src`, runs `fn`, unmounts. */
async function withMount<T>(h: Host, master: Master, lab: Lab, src: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(lab.dir, `tp-${n++}`);
  mkdirSync(dir);
  const args = ['-f', '-H', master.addr, '-P', String(master.ports.cl), dir];
  const p = h.spawn(`tp-${n}`, src ? ['node', '--import', 'tsx', join(src, 'cli.ts'), ...args] : ['mfsmount', ...args]);
  try {
    await waitFor(`${dir} mounted`, async () => (await h.exec(['mountpoint', '-q', dir], { allowFail: true })).ok, { timeoutMs: 30_000, abort: () => p.exitReason() });
    return await fn(dir);
  } finally {
    await h.exec(['umount', dir], { allowFail: true });
    await p.exited;
  }
}

let lab: Lab | undefined;
try {
  lab = await createLab({ hosts: 1, stop: 'kill' });
  const master = await lab.startMaster();
  await lab.startChunkserver({ master });
  await lab.startChunkserver({ master });
  const h = lab.host(0);
  await withMount(h, master, lab, undefined, (d) => h.exec(['mfssetgoal', '1', d]));
  const res = new Map<string, { w: number[]; r: number[] }>(CLIENTS.map((c) => [c, { w: [], r: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CLIENTS) {
      const src = c.endsWith('-old') ? OLD! : SRC;
      let w: number;
      let r: number;
      if (c.startsWith('api')) {
        const args = JSON.stringify({ host: master.addr, port: master.ports.cl, mib: MIB, src });
        const out = await h.exec(['node', '--import', 'tsx', join(REPO_ROOT, 'packages/client/scripts/api-seq.ts'), args], { cwd: REPO_ROOT, timeoutMs: 300_000 });
        const m = /write (\d+) MB\/s read (\d+) MB\/s/.exec(out.stdout)!;
        [w, r] = [Number(m[1]), Number(m[2])];
      } else {
        const s = c === 'real' ? undefined : src;
        const f = `seq-${c}-${round}.bin`;
        w = await withMount(h, master, lab, s, async (d) => rate((await h.exec(['dd', 'if=/dev/zero', `of=${d}/${f}`, 'bs=1M', `count=${MIB}`, 'conv=fsync'], { timeoutMs: 300_000 })).stderr));
        r = await withMount(h, master, lab, s, async (d) => {
          const x = rate((await h.exec(['dd', `if=${d}/${f}`, 'of=/dev/null', 'bs=1M'], { timeoutMs: 300_000 })).stderr);
          await h.exec(['rm', '-f', `${d}/${f}`]);
          return x;
        });
      }
      res.get(c)!.w.push(w);
      res.get(c)!.r.push(r);
      console.log(`round ${round} ${c}: write ${w.toFixed(0)} MB/s, read ${r.toFixed(0)} MB/s`);
    }
  }
  for (const [c, x] of res) {
    console.log(`${c.padEnd(8)} write median ${median(x.w).toFixed(0)} MB/s (${x.w.map((v) => v.toFixed(0)).join(', ')}), read median ${median(x.r).toFixed(0)} MB/s (${x.r.map((v) => v.toFixed(0)).join(', ')})`);
  }
} finally {
  await lab?.teardown();
}
