export * from './cfg.js';
export * from './logger.js';
export * from './lockfile.js';
export * from './daemon.js';
export * from './listen.js';
export * from './charts.js';
