import { runDaemonCli } from '@mfs-ts/common';
import { masterCfgSchema } from './cfg.js';
import { Master } from './master.js';

// mfsmaster-ts [-c CFG] [-f] [-a] start|stop|restart|reload|test|kill
const code = await runDaemonCli({
  appName: 'mfsmaster',
  binName: 'mfsmaster-ts',
  defaultCfg: '/etc/mfs/mfsmaster.cfg',
  schema: masterCfgSchema,
  // TODO: -a (restore from changelogs) is accepted but the namespace does not load metadata yet.
  extraFlags: { a: 'automatically restore metadata from change logs' },
  create: ({ cfg, log }) => new Master({ cfg, log, persist: true }),
});
process.exit(code);
