// Creates many empty files straight through the master protocol with our client core (no FUSE, so
// 100,000 files take seconds, not minutes): `dirs` directories of `perDir` files each, `conc`
// CLTOMA_FUSE_CREATE requests in flight. Stops at `maxSec` and says how many it made.
import { MfsCore, clientOptions } from '@mfs-ts/client';
import { MFS_ROOT_ID } from '@mfs-ts/protocol';
import { workerMain } from '../lib/child.js';
import { seconds } from '../lib/report.js';

interface Args {
  master: string;
  port: number;
  files: number;
  perDir: number;
  conc: number;
  maxSec: number;
}

async function main(a: Args): Promise<{ created: number; sec: number; complete: boolean }> {
  const core = await MfsCore.connect(clientOptions({ host: a.master, port: a.port, info: 'mfs-ts bench mkfiles' }));
  const creds = { uid: 0, gids: [0] };
  try {
    const top = await core.fs.mkdir(MFS_ROOT_ID, Buffer.from(`rss-${process.pid}-${Date.now()}`), 0o755, 0, creds);
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + a.maxSec * 1000;
    let next = 0;
    let created = 0;
    const dirs = new Map<number, Promise<number>>();
    const dirFor = (d: number): Promise<number> => {
      let p = dirs.get(d);
      if (!p) dirs.set(d, (p = core.fs.mkdir(top.inode, Buffer.from(`d${d}`), 0o755, 0, creds).then((r) => r.inode)));
      return p;
    };
    await Promise.all(
      Array.from({ length: a.conc }, async () => {
        while (next < a.files && Date.now() < deadline) {
          const i = next++;
          const parent = await dirFor(Math.floor(i / a.perDir));
          await core.fs.create(parent, Buffer.from(`f${i}`), 0o644, 0, creds);
          created++;
        }
      }),
    );
    return { created, sec: seconds(t0), complete: created === a.files };
  } finally {
    await core.close().catch(() => undefined);
  }
}

workerMain(main as (a: never) => Promise<unknown>);
