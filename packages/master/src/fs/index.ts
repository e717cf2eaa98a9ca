// Public API of the namespace core (packages/master/src/fs).
export * from './types.js';
export * from './changelog.js';
export { Namespace, dirLengthCode, type NamespaceOptions, type SetattrArgs, type WriteChunkOptions } from './namespace.js';
export { ChunkBook, CHUNK_LOCKTIMEOUT, type ChunkEntry } from './chunks.js';
export { NAMESPACE_OPS } from './apply.js';
export { EDGEID_MAX } from './tree.js';
export { storeMetadata, loadMetadata, defaultSclassSection, MetadataError, METADATA_SIGNATURE, SECTION_ORDER, type RawSection, type StoreOptions, type LoadResult } from './metadata.js';
export { MetadataDump, DumpError, dumpMetadataSync, type DumpOptions } from './metadump.js';
