import { runDaemonCli } from '@mfs-ts/common';
import { masterCfgSchema } from './cfg.js';
import { Master } from './master.js';

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
    return new Master({ cfg, log, persist: true, autoRestore: flags.a === true, ignoreErrors: flags.i === true });
  },
});
process.exit(code);
