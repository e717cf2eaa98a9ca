// Our master as a library in a child process of bench:meta, driven over IPC: start on a data
// directory (optionally -a), the periodic dump (Master.dumpMetadata, sliced), the old synchronous
// dump for comparison (storeMetadata + writeFileSync, what dumpMetadata did before fs/metadump.ts),
// stop. Every reply carries the wall time of the command; the dump's own figures come from its log line.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@mfs-ts/common';
import { Master } from '@mfs-ts/master';
import { storeMetadata } from '@mfs-ts/master/fs';

type Cmd = { cmd: 'start'; dir: string; autoRestore: boolean } | { cmd: 'dump' } | { cmd: 'dumpSync' } | { cmd: 'stop' };

let master: Master | undefined;
let dir = '';
let lastDumpLine: Record<string, unknown> = {};
const log = createLogger({
  role: 'mfsmaster',
  level: 'info',
  stream: {
    write: (s: string) => {
      const o = JSON.parse(s) as Record<string, unknown>;
      if (o.msg === 'metadata dumped') lastDumpLine = o;
      if (typeof o.level === 'number' && o.level >= 50) process.stderr.write(s);
    },
  },
});

async function run(c: Cmd): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const ms = () => performance.now() - t0;
  switch (c.cmd) {
    case 'start': {
      dir = c.dir;
      const local = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
      master = new Master({ cfg: { ...local, DATA_PATH: dir }, exportsText: '* / rw,alldirs,maproot=0:0', persist: true, autoRestore: c.autoRestore, log });
      await master.start();
      return { ms: ms(), port: master.ports.cl, nodes: master.ns.tree.nodes.size, metaversion: String(master.metaversion) };
    }
    case 'dump': {
      if (process.env.BENCH_VERBOSE) process.stderr.write(`dump begins at ${Math.round(performance.now())} ms\n`);
      const ok = await master!.dumpMetadata();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`dump ends at ${Math.round(performance.now())} ms\n`);
      return { ms: ms(), ok, encodeMs: lastDumpLine.encodeMs, slices: lastDumpLine.slices, longestSliceMs: lastDumpLine.longestSliceMs };
    }
    case 'dumpSync': {
      const m = master!;
      const tmp = join(dir, 'metadata.mfs.back.tmp');
      writeFileSync(tmp, storeMetadata(m.ns, { metaversion: m.metaversion, metaid: m.metaid }));
      renameSync(tmp, join(dir, 'metadata.mfs.back'));
      return { ms: ms(), ok: true };
    }
    case 'stop':
      await master!.stop();
      master = undefined;
      return { ms: ms() };
  }
}

process.on('message', (c: Cmd) => {
  run(c).then(
    (r) => process.send!({ ok: true, ...r }),
    (e: unknown) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
process.send!({ ready: true });
