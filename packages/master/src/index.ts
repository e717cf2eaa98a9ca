// @mfs-ts/master: the MooseFS master (mfsmaster-ts) as a library.
export { Master, type MasterOptions } from './master.js';
export { masterCfgSchema, masterCfg, type MasterCfg } from './cfg.js';
export * from './exports.js';
export { Sessions, Session, SESSION_STATS } from './sessions.js';
export { ChunkRegistry, type ChunkServerLink, type ChunkMeta, type ChunkLocation } from './chunks.js';
