import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCfgFile, LockFile, runDaemonCli } from '@mfs-ts/common';
import { masterCfgSchema } from './cfg.js';
import { Master } from './master.js';

/**
 * `mfsmaster-ts [-c CFG] promote` (mfs-ts only): tells the hot follower running on CFG (SIGUSR2) to
 * take over in place, and waits until it serves (or refuses). Exit 0 once it serves.
 */
async function promoteCommand(argv: string[]): Promise<number> {
  const i = argv.indexOf('-c');
  const cfgPath = i >= 0 && argv[i + 1] ? argv[i + 1]! : '/etc/mfs/mfsmaster.cfg';
  const cfg = loadCfgFile(masterCfgSchema, cfgPath, i >= 0).values;
  const pid = new LockFile(cfg.DATA_PATH, 'mfsmaster', ['mfsmaster-ts']).owner();
  if (!pid) {
    process.stderr.write(`can't find process to promote (no mfsmaster-ts owns ${cfg.DATA_PATH})\n`);
    return 1;
  }
  const statusFile = join(cfg.DATA_PATH, 'follower.json');
  process.kill(pid, 'SIGUSR2');
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    try {
      const st = JSON.parse(readFileSync(statusFile, 'utf8')) as { state?: string; note?: string };
      if (st.state === 'leader') {
        process.stderr.write(`promoted: pid ${pid} serves\n`);
        return 0;
      }
      if (st.note?.startsWith('promotion refused')) {
        process.stderr.write(`${st.note}\n`);
        return 1;
      }
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stderr.write('the follower did not report serving within 60 s\n');
  return 1;
}

if (process.argv.slice(2).includes('promote')) process.exit(await promoteCommand(process.argv.slice(2)));
// With FOLLOW_MASTER_HOST set the daemon runs as a hot follower (packages/failover/src/follower.ts).
const follower = await import('@mfs-ts/failover/follower');

// mfsmaster-ts [-c CFG] [-f] [-a] [-i] [-x] start|stop|restart|reload|test|kill
const code = await runDaemonCli({
  appName: 'mfsmaster',
  binName: 'mfsmaster-ts',
  defaultCfg: '/etc/mfs/mfsmaster.cfg',
  schema: masterCfgSchema,
  extraFlags: {
    a: 'automatically restore metadata from change logs',
    i: 'ignore some metadata structure errors (with -a: start from the best state reached)',
    x: 'produce more verbose output (mfs-ts: -a always names the files it uses)',
  },
  create: ({ cfg, log, flags }) => {
    // A promise that fails outside any connection's handler is logged; the daemon keeps serving.
    process.on('unhandledRejection', (e) => log.error({ err: e }, 'unhandled rejection'));
    if (cfg.FOLLOW_MASTER_HOST !== '') {
      const f = new follower.Follower({ cfg, log });
      process.on('SIGUSR2', () => void f.promote().catch(() => undefined));
      return f;
    }
    return new Master({ cfg, log, persist: true, autoRestore: flags.a === true, ignoreErrors: flags.i === true });
  },
});
process.exit(code);
