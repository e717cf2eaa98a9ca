export { Chunkserver, type ChunkserverOptions } from './chunkserver.js';
export { chunkserverSchema, chunkserverConfig, parseLabels, type ChunkserverCfg } from './cfg.js';
export { CsServ, CsConn, type CsServDeps } from './csserv.js';
export { MasterConn, MasterConnError, readCsId, type MasterConnOptions } from './masterconn.js';
export { replicate } from './replicator.js';
export * from './hddspacemgr/index.js';
export * as chunkops from './hddspacemgr/chunkops.js';
