// Public API of the namespace core (packages/master/src/fs).
export * from './types.js';
export * from './changelog.js';
export { Namespace, type NamespaceOptions, type SetattrArgs, type WriteChunkOptions } from './namespace.js';
