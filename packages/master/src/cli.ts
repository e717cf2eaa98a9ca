import { runDaemonCli } from '@mfs-ts/common';
import { masterCfgSchema } from './cfg.js';
import { Master } from './master.js';

// mfsmaster-ts [-c CFG] [-f] [-a] start|stop|restart|reload|test|kill
const code = await runDaemonCli({
  appName: 'mfsmaster',
  binName: 'mfsmaster-ts',
  defaultCfg: '/etc/mfs/mfsmaster.cfg',
  schema: masterCfgSchema,
  extraFlags: { a: 'automatically restore metadata from change logs' },
  create: ({ cfg, log, flags }) => {
    // A promise that fails outside any connection's handler is logged; the daemon keeps serving.
    process.on('unhandledRejection', (e) => log.error({ err: e }, 'unhandled rejection'));
    return new Master({ cfg, log, persist: true, autoRestore: flags.a === true });
  },
});
process.exit(code);
