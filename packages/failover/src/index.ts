// @mfs-ts/failover: the keepalived failover kit for a MooseFS master (see README.md).
export { hostOf, loadCluster, parseCluster, type Bins, type Cluster, type Health, type HostSpec } from './cluster.js';
export { FailoverError, type FailoverErrorCode } from './errors.js';
export { assembleMasterFiles, looksLikeMetadata, metaloggerChangelogs, setAside, METADATA_ML, type Assembled } from './files.js';
export { checkScript, cliArgv, keepalivedArgv, keepalivedConf, kitPaths, notifyScript, renderKit, runScript, statePaths, watchArgv, writeKit, type KitFiles } from './generate.js';
export { endProcess, FailoverNode, lockPid, readRole, writeRole, type Log, type Role, type RoleState } from './node.js';
export { probeMaster, type ProbeResult } from './probe.js';
export { FOLLOW_DIR, FOLLOWER_STATUS, type FollowerState, type FollowerStatus } from './status.js';
export type { StandbyMode } from './cluster.js';
