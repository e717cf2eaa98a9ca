import { runDaemonCli } from '@mfs-ts/common';
import { chunkserverSchema } from './cfg.js';
import { Chunkserver } from './chunkserver.js';

// mfschunkserver-ts [-c CFG] [-f] [-u] start|stop|restart|reload|info|test|kill, as mfschunkserver.
const code = await runDaemonCli({
  appName: 'mfschunkserver',
  binName: 'mfschunkserver-ts',
  defaultCfg: '/etc/mfs/mfschunkserver.cfg',
  schema: chunkserverSchema,
  create: ({ cfg, log }) => {
    // mfscommon/main.c: umask(FILE_UMASK & 077) for everything the daemon creates.
    process.umask(cfg.FILE_UMASK & 0o77);
    const cs: Chunkserver = new Chunkserver({
      cfg,
      log,
      // A master of another MooseFS instance: MooseFS terminates (main_exit in masterconn.c).
      onFatal: () => void cs.stop().finally(() => process.exit(1)),
    });
    return cs;
  },
});
process.exit(code);
