import { bool, float, int, str, uint, type CfgSchema, type CfgValues } from '@mfs-ts/common';

/**
 * mfsmaster.cfg keys with MooseFS 3.0.117's defaults (the cfg_get* calls in mfsmaster/*.c and
 * mfscommon/main.c; DATA_PATH and ETC_PATH as the Debian package builds them).
 */
const port = (def: number) =>
  str(String(def), {
    reloadable: false,
    check: (v) => (/^\d+$/.test(v) && Number(v) <= 65535 ? undefined : 'not a TCP port'),
  });
const notReload = { reloadable: false } as const;

export const masterCfgSchema = {
  WORKING_USER: str('mfs', notReload),
  WORKING_GROUP: str('mfs', notReload),
  SYSLOG_IDENT: str('mfsmaster', notReload),
  LOCK_MEMORY: bool(false, notReload),
  LIMIT_GLIBC_MALLOC_ARENAS: uint(4, notReload),
  DISABLE_OOM_KILLER: bool(true, notReload),
  NICE_LEVEL: int(-19, notReload),
  FILE_UMASK: uint(0o27, notReload),
  DATA_PATH: str('/var/lib/mfs', notReload),
  EXPORTS_FILENAME: str('/etc/mfs/mfsexports.cfg'),
  TOPOLOGY_FILENAME: str('/etc/mfs/mfstopology.cfg'),
  BACK_LOGS: uint(50),
  BACK_META_KEEP_PREVIOUS: uint(1),
  CHANGELOG_PRESERVE_SECONDS: uint(1800),
  CHANGELOG_SAVE_MODE: uint(0),
  MISSING_LOG_CAPACITY: uint(100000),
  MATOML_LISTEN_HOST: str('*', notReload),
  MATOML_LISTEN_PORT: port(9419),
  MATOAN_LOG_PRESERVE_SECONDS: uint(600),
  MATOCS_LISTEN_HOST: str('*', notReload),
  MATOCS_LISTEN_PORT: port(9420),
  MATOCS_TIMEOUT: uint(10, { check: (v) => (v < 10 ? 'should be at least 10 seconds' : undefined) }),
  AUTH_CODE: str(''),
  REMAP_BITS: uint(24),
  REMAP_SOURCE_IP_CLASS: str('0.0.0.0'),
  REMAP_DESTINATION_IP_CLASS: str('0.0.0.0'),
  REPLICATIONS_DELAY_INIT: uint(60),
  REPLICATIONS_RESPECT_TOPOLOGY: uint(0),
  CREATIONS_RESPECT_TOPOLOGY: uint(0),
  CHUNKS_LOOP_MAX_CPS: uint(100000),
  CHUNKS_LOOP_MIN_TIME: uint(300),
  CHUNKS_LOOP_TIME: uint(300),
  CHUNKS_SOFT_DEL_LIMIT: uint(10),
  CHUNKS_HARD_DEL_LIMIT: uint(25),
  CHUNKS_WRITE_REP_LIMIT: str('2,1,1,4', { check: (v) => (/^\d+(,\d+){0,3}$/.test(v) ? undefined : 'expected up to four comma-separated numbers') }),
  CHUNKS_READ_REP_LIMIT: str('10,5,2,5', { check: (v) => (/^\d+(,\d+){0,3}$/.test(v) ? undefined : 'expected up to four comma-separated numbers') }),
  CHUNKS_UNIQUE_MODE: uint(0),
  CS_HEAVY_LOAD_THRESHOLD: uint(150),
  CS_HEAVY_LOAD_RATIO_THRESHOLD: float(3.0),
  CS_HEAVY_LOAD_GRACE_PERIOD: uint(900),
  CS_MAINTENANCE_MODE_TIMEOUT: uint(0),
  CS_TEMP_MAINTENANCE_MODE_TIMEOUT: uint(1800),
  CS_DAYS_TO_REMOVE_UNUSED: uint(7),
  ACCEPTABLE_PERCENTAGE_DIFFERENCE: float(1.0),
  ACCEPTABLE_DIFFERENCE: float(0.01),
  PRIORITY_QUEUES_LENGTH: uint(1000000),
  MATOCL_LISTEN_HOST: str('*', notReload),
  MATOCL_LISTEN_PORT: port(9421),
  MATOCU_LISTEN_HOST: str('*', notReload),
  MATOCU_LISTEN_PORT: port(9421),
  SESSION_SUSTAIN_TIME: uint(86400),
  QUOTA_TIME_LIMIT: uint(7 * 86400),
  QUOTA_DEFAULT_GRACE_PERIOD: uint(604800),
  ATIME_MODE: uint(2, { check: (v) => (v > 4 ? 'must be 0..4' : undefined) }),
  METADATA_SAVE_FREQ: uint(1),
  INODE_REUSE_DELAY: uint(86400),
  MAX_ALLOWED_HARD_LINKS: uint(32767),
  RESERVE_SPACE: str('0'),
  /** mfs-ts only (not in MooseFS): accept chunkservers on 127.x, for a one-machine cluster (`npm start`). */
  ALLOW_LOOPBACK_CHUNKSERVERS: bool(false),
  /**
   * mfs-ts only: hot follower (packages/failover/README.md). Set, the master starts as a follower of
   * the leader at FOLLOW_MASTER_HOST:FOLLOW_MASTER_PORT (its metalogger port): it keeps the namespace
   * in memory from the leader's change stream and serves nothing until promoted
   * (`mfsmaster-ts -c CFG promote`, SIGUSR2, or the failover kit's notify_master).
   */
  FOLLOW_MASTER_HOST: str('', notReload),
  FOLLOW_MASTER_PORT: port(9419),
  /** mfs-ts only: seconds between a follower's checksum comparisons with its leader (0 = never). */
  FOLLOW_CHECK_FREQ: uint(10),
  /** mfs-ts only: seconds between a follower's connection attempts. */
  FOLLOW_RECONNECTION_DELAY: uint(1),
  /**
   * mfs-ts only: answer a client's change only once a hot follower has durably logged it (default
   * off: real metaloggers never acknowledge). With no acknowledgement within FOLLOWER_SYNC_TIMEOUT_MS
   * the master degrades to asynchronous answers and says so (log, mfscli -SMB).
   */
  FOLLOWER_SYNC_ACK: bool(false),
  FOLLOWER_SYNC_TIMEOUT_MS: uint(1000),
} satisfies CfgSchema;

export type MasterCfg = CfgValues<typeof masterCfgSchema>;

/** The MooseFS defaults, overridden by `over` (library use: `new Master({ ...over })`). */
export function masterCfg(over: Partial<Record<keyof MasterCfg, unknown>> = {}): MasterCfg {
  const out: Record<string, unknown> = {};
  for (const [k, def] of Object.entries(masterCfgSchema)) out[k] = k in over ? over[k as keyof MasterCfg] : def.default;
  return Object.freeze(out) as MasterCfg;
}

/** "2,1,1,4" -> [2,1,1,4]; missing trailing values repeat MooseFS's defaults. */
export function parseRepLimit(v: string, defs: number[]): number[] {
  const p = v.split(',').map((x) => Number(x));
  return defs.map((d, i) => (p[i] !== undefined && Number.isFinite(p[i]) ? p[i]! : d));
}

