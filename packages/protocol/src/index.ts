export * from './codec/errors.js';
export * from './codec/fields.js';
export * from './codec/message.js';
export { Reader } from './codec/reader.js';
export { Writer } from './codec/writer.js';
export * from './framer.js';
export * from './ids.js';
export * from './status.js';
export * from './limits.js';
