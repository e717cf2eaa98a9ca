// @mfs-ts/lab: isolated network namespaces with real MooseFS 3.0.117 daemons or ours, for tests.
// Vitest helpers (withLab, useLab, describeLab) are in '@mfs-ts/lab/vitest'.
export { createLab, labUnavailableReason, Lab, type LabOptions } from './lab.js';
export { Host, Proc, type ExitInfo, type SpawnOpts } from './host.js';
export {
  binFor,
  Chunkserver,
  Daemon,
  DEFAULT_EXPORTS,
  EMPTY_METADATA,
  Master,
  Metalogger,
  Mount,
  REPO_ROOT,
  writeCfg,
  type CfgValues,
  type ChunkserverOptions,
  type DaemonOptions,
  type Impl,
  type MasterOptions,
  type MetaloggerOptions,
  type MountOptions,
  type Role,
} from './daemons.js';
export { LabError, type LabErrorCode } from './errors.js';
export { isAlive, killGroup, run, showCommand, waitFor, type RunOptions, type RunResult } from './exec.js';
export { parseChunkservers, parseRows, ipsInRows, type ChunkserverRow } from './mfscli.js';
export { sweepStale, mountsUnder, listNetns } from './netns.js';
export * from './pcap.js';
export { seededBytes, writeFileSynced } from './files.js';
