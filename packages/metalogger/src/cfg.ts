import { bool, int, str, uint, type CfgValues } from '@mfs-ts/common';

/**
 * mfsmetalogger.cfg keys with MooseFS 3.0.117's defaults (the cfg_get* calls in
 * mfsmetalogger/masterconn.c and mfscommon/main.c; DATA_PATH and WORKING_USER as the Debian package
 * builds them). 3.0.117's metalogger has no AUTH_CODE. The runtime keys (WORKING_USER, NICE_LEVEL...)
 * are accepted so a real cfg file loads without warnings; of them we act on DATA_PATH and FILE_UMASK.
 */
const notReload = { reloadable: false } as const;

export const metaloggerCfgSchema = {
  WORKING_USER: str('mfs', notReload),
  WORKING_GROUP: str('', notReload),
  SYSLOG_IDENT: str('mfsmetalogger', notReload),
  LOCK_MEMORY: bool(false, notReload),
  LIMIT_GLIBC_MALLOC_ARENAS: uint(4, notReload),
  DISABLE_OOM_KILLER: bool(true, notReload),
  NICE_LEVEL: int(-19, notReload),
  FILE_UMASK: uint(0o27, notReload),
  DATA_PATH: str('/var/lib/mfs', notReload),
  BACK_LOGS: uint(50),
  BACK_META_KEEP_PREVIOUS: uint(3),
  META_DOWNLOAD_FREQ: uint(24),
  MASTER_RECONNECTION_DELAY: uint(5),
  BIND_HOST: str('*'),
  MASTER_HOST: str('mfsmaster'),
  MASTER_PORT: str('9419', { check: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) <= 65535 ? undefined : 'not a TCP port') }),
  MASTER_TIMEOUT: uint(10),
};

export type MetaloggerCfg = CfgValues<typeof metaloggerCfgSchema>;

/** The values the link actually uses, after 3.0.117's clamping (masterconn_init / masterconn_reload). */
export interface MetaloggerSettings {
  dataPath: string;
  masterHost: string;
  masterPort: number;
  /** undefined = let the kernel choose ('*'). */
  bindHost: string | undefined;
  /** Seconds, 10..65535: silence before the link is dropped; NOP after a third of it. */
  timeout: number;
  /** 5..10000: changelog_ml.1..N.mfs kept on rotation. */
  backLogs: number;
  /** 0..99: metadata_ml.mfs.back.1..N kept. */
  backMetaCopies: number;
  /** Hours between metadata downloads, at most backLogs/2; 0 = never (3.0.117 cannot run with 0). */
  metaDownloadFreq: number;
  /** Seconds between connection attempts while not connected. */
  reconnectionDelay: number;
  /** Permission bits taken away from the files we create (FILE_UMASK & 077). */
  fileUmask: number;
}

export function settingsFrom(cfg: MetaloggerCfg): MetaloggerSettings {
  const timeout = Math.min(65535, Math.max(10, cfg.MASTER_TIMEOUT));
  const backLogs = Math.min(10000, Math.max(5, cfg.BACK_LOGS));
  const metaDownloadFreq = Math.min(cfg.META_DOWNLOAD_FREQ, Math.floor(backLogs / 2));
  const bind = cfg.BIND_HOST.trim();
  return {
    dataPath: cfg.DATA_PATH,
    masterHost: cfg.MASTER_HOST,
    masterPort: Number(cfg.MASTER_PORT),
    bindHost: bind === '' || bind === '*' ? undefined : bind,
    timeout,
    backLogs,
    backMetaCopies: Math.min(99, cfg.BACK_META_KEEP_PREVIOUS),
    metaDownloadFreq,
    reconnectionDelay: Math.max(1, cfg.MASTER_RECONNECTION_DELAY),
    fileUmask: cfg.FILE_UMASK & 0o77,
  };
}
