export * from './cfg.js';
export * from './changelog.js';
export * from './metafiles.js';
export * from './masterconn.js';
export * from './metalogger.js';
