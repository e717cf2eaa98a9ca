export { MfsClient, MfsFileHandle, MfsStats, type MfsDirent } from './api.js';
export { MfsClientError, statusToErrno, errnoNumber, type ErrnoCode } from './errors.js';
export { RegisterError, MasterLinkError, MasterConn, retryDelayMs, type SessionParams } from './mastercomm.js';
export { MfsCore } from './core.js';
export { FsOps } from './fsops.js';
export { parseMountArgs, clientOptions, DEFAULT_OPTIONS, OptionError, type ClientOptions, type ConnectOptions, type MountArgs } from './options.js';
// The FUSE front end is '@mfs-ts/client/mount' (it loads fuse-native, which needs libfuse2); the
// Node API above does not.
