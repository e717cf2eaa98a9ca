import { applyCfgSchema, bool, float, int, str, uint, type CfgValues } from '@mfs-ts/common';
import { parseMfsSize } from './hddspacemgr/hddcfg.js';

/**
 * mfschunkserver.cfg keys with MooseFS 3.0.117's defaults (mfsdata/mfschunkserver.cfg.in and the
 * cfg_get* calls in mfschunkserver/*.c). Keys we read but do not act on are listed so a real config
 * file loads without "unknown option" noise.
 */
export const chunkserverSchema = {
  WORKING_USER: str('mfs', { reloadable: false }),
  WORKING_GROUP: str('', { reloadable: false }),
  SYSLOG_IDENT: str('mfschunkserver', { reloadable: false }),
  LOCK_MEMORY: bool(false, { reloadable: false }),
  LIMIT_GLIBC_MALLOC_ARENAS: uint(4, { reloadable: false }),
  DISABLE_OOM_KILLER: bool(true, { reloadable: false }),
  NICE_LEVEL: int(-19, { reloadable: false }),
  FILE_UMASK: uint(0o27, { reloadable: false }),
  DATA_PATH: str('/var/lib/mfs', { reloadable: false }),
  HDD_CONF_FILENAME: str('/etc/mfs/mfshdd.cfg'),
  HDD_TEST_FREQ: uint(10),
  HDD_TEST_SPEED: float(1.0),
  HDD_MIN_TEST_INTERVAL: uint(86400),
  HDD_FADVISE_MIN_TIME: int(86400),
  HDD_LEAVE_SPACE_DEFAULT: str('256MiB', { check: (v) => (parseMfsSize(v) === undefined ? 'not a size' : undefined) }),
  HDD_REBALANCE_UTILIZATION: uint(20),
  HDD_HIGH_SPEED_REBALANCE_LIMIT: uint(0),
  HDD_ERROR_TOLERANCE_COUNT: uint(2),
  HDD_ERROR_TOLERANCE_PERIOD: uint(600),
  HDD_FSYNC_BEFORE_CLOSE: bool(false),
  HDD_SPARSIFY_ON_WRITE: bool(true),
  HDD_RR_CHUNK_COUNT: uint(10000),
  HDD_KEEP_DUPLICATES_HOURS: uint(168),
  ALLOW_STARTING_WITH_INVALID_DISKS: bool(false),
  WORKERS_MAX: uint(250),
  WORKERS_MAX_IDLE: uint(40),
  LABELS: str(''),
  BIND_HOST: str('*'),
  MASTER_HOST: str('mfsmaster'),
  MASTER_PORT: str('9420'),
  MASTER_TIMEOUT: uint(0),
  MASTER_RECONNECTION_DELAY: uint(5),
  /** No default: without the key no passcode is sent (cfg_isdefined in masterconn.c). */
  AUTH_CODE: str(''),
  CHUNKS_PER_REGISTER_PACKET: uint(10000),
  CSSERV_LISTEN_HOST: str('*'),
  CSSERV_LISTEN_PORT: str('9422'),
  /** mfs-ts only (not in MooseFS): allow a master on 127.x, for a one-machine cluster (`npm start`). */
  ALLOW_LOOPBACK_MASTER: bool(false),
};

export type ChunkserverCfg = CfgValues<typeof chunkserverSchema>;

/** A full config from a partial one (library use and tests). */
export function chunkserverConfig(over: Partial<Record<keyof ChunkserverCfg, string | number | boolean>> = {}): ChunkserverCfg {
  const raw = new Map<string, string>();
  for (const [k, v] of Object.entries(over)) raw.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  return applyCfgSchema(chunkserverSchema, raw).values;
}

/** MASTER_TIMEOUT as masterconn.c uses it: 0 = let the master choose, else clamped to 10..65535. */
export function masterTimeout(v: number): number {
  if (v > 65535) return 65535;
  if (v > 0 && v < 10) return 10;
  return v;
}

/** CHUNKS_PER_REGISTER_PACKET clamped to 1000..100000 as masterconn.c does. */
export function chunksPerRegisterPacket(v: number): number {
  return Math.min(100000, Math.max(1000, v));
}

/**
 * LABELS: letters A-Z (case-insensitive) separated by ',' or ';' -> bit mask (masterconn_parselabels).
 * Returns the mask and any complaints MooseFS would log.
 */
export function parseLabels(s: string): { mask: number; warnings: string[] } {
  let mask = 0;
  let sep = false;
  const warnings: string[] = [];
  for (const c of s) {
    const u = c.toUpperCase();
    if (u >= 'A' && u <= 'Z' && u.length === 1) {
      const bit = 1 << (u.charCodeAt(0) - 65);
      if (sep) warnings.push(`LABELS: separator not found before label ${c}`);
      else sep = true;
      if (mask & bit) warnings.push(`LABELS: found duplicate label ${c}`);
      mask |= bit;
    } else if (c === ',' || c === ';') {
      if (sep) sep = false;
      else warnings.push(mask ? 'LABELS: more than one separator found' : 'LABELS: found separator at the beginning of definition');
    } else if (c !== ' ' && c !== '\t') warnings.push(`LABELS: unrecognized character ${c}`);
  }
  if (!sep && mask !== 0) warnings.push('LABELS: found separator at the end of definition');
  return { mask: mask >>> 0, warnings };
}
