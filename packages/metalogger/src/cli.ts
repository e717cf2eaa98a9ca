import { runDaemonCli } from '@mfs-ts/common';
import { metaloggerCfgSchema } from './cfg.js';
import { Metalogger } from './metalogger.js';

// mfsmetalogger-ts [-c CFG] [-f] start|stop|restart|reload|info|test|kill, as mfsmetalogger.
const code = await runDaemonCli({
  appName: 'mfsmetalogger',
  binName: 'mfsmetalogger-ts',
  defaultCfg: '/etc/mfs/mfsmetalogger.cfg',
  schema: metaloggerCfgSchema,
  create: ({ cfg, log }) => {
    // mfscommon/main.c: umask(FILE_UMASK & 077) for everything the daemon creates.
    process.umask(cfg.FILE_UMASK & 0o77);
    return new Metalogger({ cfg, log });
  },
});
process.exitCode = code;
