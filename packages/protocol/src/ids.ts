// Message ids of MooseFS 3.0.117, by their MooseFS names and numbers.
// Source of the facts: mfscommon/MFSCommunication.h (PROTO_BASE = 0). Generated once from it; kept by hand.

import type { Link } from './codec/message.js';

export const ANTOAN_NOP = 0;
export const ANTOAN_UNKNOWN_COMMAND = 1;
export const ANTOAN_BAD_COMMAND_SIZE = 2;
export const ANTOAN_GET_VERSION = 10;
export const ANTOAN_VERSION = 11;
export const ANTOMA_REGISTER = 50;
export const MATOAN_METACHANGES_LOG = 51;
export const ANTOMA_DOWNLOAD_START = 60;
export const MATOAN_DOWNLOAD_INFO = 61;
export const ANTOMA_DOWNLOAD_REQUEST = 62;
export const MATOAN_DOWNLOAD_DATA = 63;
export const ANTOMA_DOWNLOAD_END = 64;
export const ANTOAN_GET_CONFIG = 80;
export const ANTOAN_CONFIG_VALUE = 81;
export const CSTOMA_REGISTER = 100;
export const CSTOMA_SPACE = 101;
export const CSTOMA_CHUNK_DAMAGED = 102;
export const CSTOMA_CURRENT_LOAD = 103;
export const MATOCS_MASTER_ACK = 104;
export const CSTOMA_CHUNK_LOST = 105;
export const CSTOMA_ERROR_OCCURRED = 106;
export const CSTOMA_CHUNK_NEW = 107;
export const CSTOMA_LABELS = 109;
export const MATOCS_CREATE = 110;
export const CSTOMA_CREATE = 111;
export const MATOCS_DELETE = 120;
export const CSTOMA_DELETE = 121;
export const MATOCS_DUPLICATE = 130;
export const CSTOMA_DUPLICATE = 131;
export const MATOCS_SET_VERSION = 140;
export const CSTOMA_SET_VERSION = 141;
export const MATOCS_REPLICATE = 150;
export const CSTOMA_REPLICATE = 151;
export const MATOCS_CHUNKOP = 152;
export const CSTOMA_CHUNKOP = 153;
export const MATOCS_TRUNCATE = 160;
export const CSTOMA_TRUNCATE = 161;
export const MATOCS_DUPTRUNC = 170;
export const CSTOMA_DUPTRUNC = 171;
export const CLTOCS_READ = 200;
export const CSTOCL_READ_STATUS = 201;
export const CSTOCL_READ_DATA = 202;
export const CLTOCS_WRITE = 210;
export const CSTOCL_WRITE_STATUS = 211;
export const CLTOCS_WRITE_DATA = 212;
export const CLTOCS_WRITE_FINISH = 213;
export const ANTOCS_GET_CHUNK_BLOCKS = 250;
export const CSTOAN_CHUNK_BLOCKS = 251;
export const ANTOCS_GET_CHUNK_CHECKSUM = 300;
export const CSTOAN_CHUNK_CHECKSUM = 301;
export const ANTOCS_GET_CHUNK_CHECKSUM_TAB = 302;
export const CSTOAN_CHUNK_CHECKSUM_TAB = 303;
export const CLTOMA_SCLASS_CREATE = 350;
export const MATOCL_SCLASS_CREATE = 351;
export const CLTOMA_SCLASS_CHANGE = 352;
export const MATOCL_SCLASS_CHANGE = 353;
export const CLTOMA_SCLASS_DELETE = 354;
export const MATOCL_SCLASS_DELETE = 355;
export const CLTOMA_SCLASS_DUPLICATE = 356;
export const MATOCL_SCLASS_DUPLICATE = 357;
export const CLTOMA_SCLASS_RENAME = 358;
export const MATOCL_SCLASS_RENAME = 359;
export const CLTOMA_SCLASS_LIST = 360;
export const MATOCL_SCLASS_LIST = 361;
export const CLTOMA_FUSE_REGISTER = 400;
export const MATOCL_FUSE_REGISTER = 401;
export const CLTOMA_FUSE_STATFS = 402;
export const MATOCL_FUSE_STATFS = 403;
export const CLTOMA_FUSE_ACCESS = 404;
export const MATOCL_FUSE_ACCESS = 405;
export const CLTOMA_FUSE_LOOKUP = 406;
export const MATOCL_FUSE_LOOKUP = 407;
export const CLTOMA_FUSE_GETATTR = 408;
export const MATOCL_FUSE_GETATTR = 409;
export const CLTOMA_FUSE_SETATTR = 410;
export const MATOCL_FUSE_SETATTR = 411;
export const CLTOMA_FUSE_READLINK = 412;
export const MATOCL_FUSE_READLINK = 413;
export const CLTOMA_FUSE_SYMLINK = 414;
export const MATOCL_FUSE_SYMLINK = 415;
export const CLTOMA_FUSE_MKNOD = 416;
export const MATOCL_FUSE_MKNOD = 417;
export const CLTOMA_FUSE_MKDIR = 418;
export const MATOCL_FUSE_MKDIR = 419;
export const CLTOMA_FUSE_UNLINK = 420;
export const MATOCL_FUSE_UNLINK = 421;
export const CLTOMA_FUSE_RMDIR = 422;
export const MATOCL_FUSE_RMDIR = 423;
export const CLTOMA_FUSE_RENAME = 424;
export const MATOCL_FUSE_RENAME = 425;
export const CLTOMA_FUSE_LINK = 426;
export const MATOCL_FUSE_LINK = 427;
export const CLTOMA_FUSE_READDIR = 428;
export const MATOCL_FUSE_READDIR = 429;
export const CLTOMA_FUSE_OPEN = 430;
export const MATOCL_FUSE_OPEN = 431;
export const CLTOMA_FUSE_READ_CHUNK = 432;
export const MATOCL_FUSE_READ_CHUNK = 433;
export const CLTOMA_FUSE_WRITE_CHUNK = 434;
export const MATOCL_FUSE_WRITE_CHUNK = 435;
export const CLTOMA_FUSE_WRITE_CHUNK_END = 436;
export const MATOCL_FUSE_WRITE_CHUNK_END = 437;
export const CLTOMA_FUSE_APPEND_SLICE = 438;
export const MATOCL_FUSE_APPEND_SLICE = 439;
export const CLTOMA_FUSE_CHECK = 440;
export const MATOCL_FUSE_CHECK = 441;
export const CLTOMA_FUSE_GETTRASHTIME = 442;
export const MATOCL_FUSE_GETTRASHTIME = 443;
export const CLTOMA_FUSE_SETTRASHTIME = 444;
export const MATOCL_FUSE_SETTRASHTIME = 445;
export const CLTOMA_FUSE_GETSCLASS = 446;
export const MATOCL_FUSE_GETSCLASS = 447;
export const CLTOMA_FUSE_SETSCLASS = 448;
export const MATOCL_FUSE_SETSCLASS = 449;
export const CLTOMA_FUSE_GETTRASH = 450;
export const MATOCL_FUSE_GETTRASH = 451;
export const CLTOMA_FUSE_GETDETACHEDATTR = 452;
export const MATOCL_FUSE_GETDETACHEDATTR = 453;
export const CLTOMA_FUSE_GETTRASHPATH = 454;
export const MATOCL_FUSE_GETTRASHPATH = 455;
export const CLTOMA_FUSE_SETTRASHPATH = 456;
export const MATOCL_FUSE_SETTRASHPATH = 457;
export const CLTOMA_FUSE_UNDEL = 458;
export const MATOCL_FUSE_UNDEL = 459;
export const CLTOMA_FUSE_PURGE = 460;
export const MATOCL_FUSE_PURGE = 461;
export const CLTOMA_FUSE_GETDIRSTATS = 462;
export const MATOCL_FUSE_GETDIRSTATS = 463;
export const CLTOMA_FUSE_TRUNCATE = 464;
export const MATOCL_FUSE_TRUNCATE = 465;
export const CLTOMA_FUSE_REPAIR = 466;
export const MATOCL_FUSE_REPAIR = 467;
export const CLTOMA_FUSE_SNAPSHOT = 468;
export const MATOCL_FUSE_SNAPSHOT = 469;
export const CLTOMA_FUSE_GETSUSTAINED = 470;
export const MATOCL_FUSE_GETSUSTAINED = 471;
export const CLTOMA_FUSE_GETEATTR = 472;
export const MATOCL_FUSE_GETEATTR = 473;
export const CLTOMA_FUSE_SETEATTR = 474;
export const MATOCL_FUSE_SETEATTR = 475;
export const CLTOMA_FUSE_QUOTACONTROL = 476;
export const MATOCL_FUSE_QUOTACONTROL = 477;
export const CLTOMA_FUSE_GETXATTR = 478;
export const MATOCL_FUSE_GETXATTR = 479;
export const CLTOMA_FUSE_SETXATTR = 480;
export const MATOCL_FUSE_SETXATTR = 481;
export const CLTOMA_FUSE_CREATE = 482;
export const MATOCL_FUSE_CREATE = 483;
export const CLTOMA_FUSE_PARENTS = 484;
export const MATOCL_FUSE_PARENTS = 485;
export const CLTOMA_FUSE_PATHS = 486;
export const MATOCL_FUSE_PATHS = 487;
export const CLTOMA_FUSE_GETFACL = 488;
export const MATOCL_FUSE_GETFACL = 489;
export const CLTOMA_FUSE_SETFACL = 490;
export const MATOCL_FUSE_SETFACL = 491;
export const CLTOMA_FUSE_FLOCK = 492;
export const MATOCL_FUSE_FLOCK = 493;
export const CLTOMA_FUSE_POSIX_LOCK = 494;
export const MATOCL_FUSE_POSIX_LOCK = 495;
export const CLTOMA_FUSE_ARCHCTL = 496;
export const MATOCL_FUSE_ARCHCTL = 497;
export const CLTOMA_FUSE_FSYNC = 498;
export const MATOCL_FUSE_FSYNC = 499;
export const CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED = 499;
export const CLTOMA_CSERV_LIST = 500;
export const MATOCL_CSERV_LIST = 501;
export const CLTOAN_MONOTONIC_DATA = 502;
export const ANTOCL_MONOTONIC_DATA = 503;
export const CLTOAN_CHART = 504;
export const ANTOCL_CHART = 505;
export const CLTOAN_CHART_DATA = 506;
export const ANTOCL_CHART_DATA = 507;
export const CLTOMA_SESSION_LIST = 508;
export const MATOCL_SESSION_LIST = 509;
export const CLTOMA_INFO = 510;
export const MATOCL_INFO = 511;
export const CLTOMA_FSTEST_INFO = 512;
export const MATOCL_FSTEST_INFO = 513;
export const CLTOMA_CHUNKSTEST_INFO = 514;
export const MATOCL_CHUNKSTEST_INFO = 515;
export const CLTOMA_CHUNKS_MATRIX = 516;
export const MATOCL_CHUNKS_MATRIX = 517;
export const CLTOMA_QUOTA_INFO = 518;
export const MATOCL_QUOTA_INFO = 519;
export const CLTOMA_EXPORTS_INFO = 520;
export const MATOCL_EXPORTS_INFO = 521;
export const CLTOMA_MLOG_LIST = 522;
export const MATOCL_MLOG_LIST = 523;
export const CLTOMA_CSSERV_COMMAND = 524;
export const MATOCL_CSSERV_COMMAND = 525;
export const CLTOMA_SESSION_COMMAND = 526;
export const MATOCL_SESSION_COMMAND = 527;
export const CLTOMA_MEMORY_INFO = 528;
export const MATOCL_MEMORY_INFO = 529;
export const CLTOAN_MODULE_INFO = 530;
export const ANTOCL_MODULE_INFO = 531;
export const CLTOMA_LIST_OPEN_FILES = 532;
export const MATOCL_LIST_OPEN_FILES = 533;
export const CLTOMA_LIST_ACQUIRED_LOCKS = 534;
export const MATOCL_LIST_ACQUIRED_LOCKS = 535;
export const CLTOMA_MASS_RESOLVE_PATHS = 536;
export const MATOCL_MASS_RESOLVE_PATHS = 537;
export const CLTOMA_SCLASS_INFO = 542;
export const MATOCL_SCLASS_INFO = 543;
export const CLTOMA_MISSING_CHUNKS = 544;
export const MATOCL_MISSING_CHUNKS = 545;
export const CLTOMA_NODE_INFO = 546;
export const MATOCL_NODE_INFO = 547;
export const CLTOCS_HDD_LIST = 600;
export const CSTOCL_HDD_LIST = 601;
export const CLTOMA_FUSE_SUSTAINED_INODES = 700;
export const CLTOMA_FUSE_AMTIME_INODES = 701;
export const MATOCL_FUSE_CHUNK_HAS_CHANGED = 702;
export const MATOCL_FUSE_FLENG_HAS_CHANGED = 703;
export const CLTOMA_FUSE_TIME_SYNC = 704;
export const MATOCL_FUSE_TIME_SYNC = 705;
export const MATOCL_FUSE_INVALIDATE_CHUNK_CACHE = 706;

// mfs-ts extensions on the metalogger link (port 9419), not part of MooseFS 3.0.117: the hot follower
// of packages/failover. 3.0.117 numbers its messages below 1000 (mfscommon/MFSCommunication.h); these
// sit at 0x4D540000 ("MT") so no MooseFS id can collide. A real master kills a connection that sends
// them (matomlserv_gotpacket: unknown message), so a follower sends them only after the leader said
// it speaks them (ANTOAN_GET_CONFIG of MFSTS_FOLLOWER_PROTOCOL_KEY answers "1"; 3.0.117 answers "").
/** `version:64`: the follower has durably logged every change up to and including `version`. */
export const ANTOMA_MFSTS_FOLLOWER_ACK = 0x4d540001;
/** `msgid:32`: asks for the leader's namespace checksum. */
export const ANTOMA_MFSTS_CHECKSUM = 0x4d540002;
/** `msgid:32 version:64 checksum:64`: version = the leader's next metaversion when it was taken. */
export const MATOAN_MFSTS_CHECKSUM = 0x4d540003;
/** The ANTOAN_GET_CONFIG name a follower asks for; our master answers MFSTS_FOLLOWER_PROTOCOL_VERSION. */
export const MFSTS_FOLLOWER_PROTOCOL_KEY = 'MFSTS_FOLLOWER_PROTOCOL';
export const MFSTS_FOLLOWER_PROTOCOL_VERSION = '1';

/** Every id above with its name and link, for logs and the fixture tests. */
export const MESSAGE_IDS: ReadonlyArray<{ name: string; id: number; link: Link }> = [
  { name: 'ANTOAN_NOP', id: 0, link: 'ANTOAN' },
  { name: 'ANTOAN_UNKNOWN_COMMAND', id: 1, link: 'ANTOAN' },
  { name: 'ANTOAN_BAD_COMMAND_SIZE', id: 2, link: 'ANTOAN' },
  { name: 'ANTOAN_GET_VERSION', id: 10, link: 'ANTOAN' },
  { name: 'ANTOAN_VERSION', id: 11, link: 'ANTOAN' },
  { name: 'ANTOMA_REGISTER', id: 50, link: 'ANTOMA' },
  { name: 'MATOAN_METACHANGES_LOG', id: 51, link: 'MATOAN' },
  { name: 'ANTOMA_DOWNLOAD_START', id: 60, link: 'ANTOMA' },
  { name: 'MATOAN_DOWNLOAD_INFO', id: 61, link: 'MATOAN' },
  { name: 'ANTOMA_DOWNLOAD_REQUEST', id: 62, link: 'ANTOMA' },
  { name: 'MATOAN_DOWNLOAD_DATA', id: 63, link: 'MATOAN' },
  { name: 'ANTOMA_DOWNLOAD_END', id: 64, link: 'ANTOMA' },
  { name: 'ANTOAN_GET_CONFIG', id: 80, link: 'ANTOAN' },
  { name: 'ANTOAN_CONFIG_VALUE', id: 81, link: 'ANTOAN' },
  { name: 'CSTOMA_REGISTER', id: 100, link: 'CSTOMA' },
  { name: 'CSTOMA_SPACE', id: 101, link: 'CSTOMA' },
  { name: 'CSTOMA_CHUNK_DAMAGED', id: 102, link: 'CSTOMA' },
  { name: 'CSTOMA_CURRENT_LOAD', id: 103, link: 'CSTOMA' },
  { name: 'MATOCS_MASTER_ACK', id: 104, link: 'MATOCS' },
  { name: 'CSTOMA_CHUNK_LOST', id: 105, link: 'CSTOMA' },
  { name: 'CSTOMA_ERROR_OCCURRED', id: 106, link: 'CSTOMA' },
  { name: 'CSTOMA_CHUNK_NEW', id: 107, link: 'CSTOMA' },
  { name: 'CSTOMA_LABELS', id: 109, link: 'CSTOMA' },
  { name: 'MATOCS_CREATE', id: 110, link: 'MATOCS' },
  { name: 'CSTOMA_CREATE', id: 111, link: 'CSTOMA' },
  { name: 'MATOCS_DELETE', id: 120, link: 'MATOCS' },
  { name: 'CSTOMA_DELETE', id: 121, link: 'CSTOMA' },
  { name: 'MATOCS_DUPLICATE', id: 130, link: 'MATOCS' },
  { name: 'CSTOMA_DUPLICATE', id: 131, link: 'CSTOMA' },
  { name: 'MATOCS_SET_VERSION', id: 140, link: 'MATOCS' },
  { name: 'CSTOMA_SET_VERSION', id: 141, link: 'CSTOMA' },
  { name: 'MATOCS_REPLICATE', id: 150, link: 'MATOCS' },
  { name: 'CSTOMA_REPLICATE', id: 151, link: 'CSTOMA' },
  { name: 'MATOCS_CHUNKOP', id: 152, link: 'MATOCS' },
  { name: 'CSTOMA_CHUNKOP', id: 153, link: 'CSTOMA' },
  { name: 'MATOCS_TRUNCATE', id: 160, link: 'MATOCS' },
  { name: 'CSTOMA_TRUNCATE', id: 161, link: 'CSTOMA' },
  { name: 'MATOCS_DUPTRUNC', id: 170, link: 'MATOCS' },
  { name: 'CSTOMA_DUPTRUNC', id: 171, link: 'CSTOMA' },
  { name: 'CLTOCS_READ', id: 200, link: 'CLTOCS' },
  { name: 'CSTOCL_READ_STATUS', id: 201, link: 'CSTOCL' },
  { name: 'CSTOCL_READ_DATA', id: 202, link: 'CSTOCL' },
  { name: 'CLTOCS_WRITE', id: 210, link: 'CLTOCS' },
  { name: 'CSTOCL_WRITE_STATUS', id: 211, link: 'CSTOCL' },
  { name: 'CLTOCS_WRITE_DATA', id: 212, link: 'CLTOCS' },
  { name: 'CLTOCS_WRITE_FINISH', id: 213, link: 'CLTOCS' },
  { name: 'ANTOCS_GET_CHUNK_BLOCKS', id: 250, link: 'ANTOCS' },
  { name: 'CSTOAN_CHUNK_BLOCKS', id: 251, link: 'CSTOAN' },
  { name: 'ANTOCS_GET_CHUNK_CHECKSUM', id: 300, link: 'ANTOCS' },
  { name: 'CSTOAN_CHUNK_CHECKSUM', id: 301, link: 'CSTOAN' },
  { name: 'ANTOCS_GET_CHUNK_CHECKSUM_TAB', id: 302, link: 'ANTOCS' },
  { name: 'CSTOAN_CHUNK_CHECKSUM_TAB', id: 303, link: 'CSTOAN' },
  { name: 'CLTOMA_SCLASS_CREATE', id: 350, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_CREATE', id: 351, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_CHANGE', id: 352, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_CHANGE', id: 353, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_DELETE', id: 354, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_DELETE', id: 355, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_DUPLICATE', id: 356, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_DUPLICATE', id: 357, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_RENAME', id: 358, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_RENAME', id: 359, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_LIST', id: 360, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_LIST', id: 361, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_REGISTER', id: 400, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_REGISTER', id: 401, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_STATFS', id: 402, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_STATFS', id: 403, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_ACCESS', id: 404, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_ACCESS', id: 405, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_LOOKUP', id: 406, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_LOOKUP', id: 407, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETATTR', id: 408, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETATTR', id: 409, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETATTR', id: 410, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETATTR', id: 411, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_READLINK', id: 412, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_READLINK', id: 413, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SYMLINK', id: 414, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SYMLINK', id: 415, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_MKNOD', id: 416, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_MKNOD', id: 417, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_MKDIR', id: 418, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_MKDIR', id: 419, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_UNLINK', id: 420, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_UNLINK', id: 421, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_RMDIR', id: 422, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_RMDIR', id: 423, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_RENAME', id: 424, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_RENAME', id: 425, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_LINK', id: 426, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_LINK', id: 427, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_READDIR', id: 428, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_READDIR', id: 429, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_OPEN', id: 430, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_OPEN', id: 431, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_READ_CHUNK', id: 432, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_READ_CHUNK', id: 433, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_WRITE_CHUNK', id: 434, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_WRITE_CHUNK', id: 435, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_WRITE_CHUNK_END', id: 436, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_WRITE_CHUNK_END', id: 437, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_APPEND_SLICE', id: 438, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_APPEND_SLICE', id: 439, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_CHECK', id: 440, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_CHECK', id: 441, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETTRASHTIME', id: 442, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETTRASHTIME', id: 443, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETTRASHTIME', id: 444, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETTRASHTIME', id: 445, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETSCLASS', id: 446, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETSCLASS', id: 447, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETSCLASS', id: 448, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETSCLASS', id: 449, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETTRASH', id: 450, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETTRASH', id: 451, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETDETACHEDATTR', id: 452, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETDETACHEDATTR', id: 453, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETTRASHPATH', id: 454, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETTRASHPATH', id: 455, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETTRASHPATH', id: 456, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETTRASHPATH', id: 457, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_UNDEL', id: 458, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_UNDEL', id: 459, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_PURGE', id: 460, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_PURGE', id: 461, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETDIRSTATS', id: 462, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETDIRSTATS', id: 463, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_TRUNCATE', id: 464, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_TRUNCATE', id: 465, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_REPAIR', id: 466, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_REPAIR', id: 467, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SNAPSHOT', id: 468, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SNAPSHOT', id: 469, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETSUSTAINED', id: 470, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETSUSTAINED', id: 471, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETEATTR', id: 472, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETEATTR', id: 473, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETEATTR', id: 474, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETEATTR', id: 475, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_QUOTACONTROL', id: 476, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_QUOTACONTROL', id: 477, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETXATTR', id: 478, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETXATTR', id: 479, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETXATTR', id: 480, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETXATTR', id: 481, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_CREATE', id: 482, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_CREATE', id: 483, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_PARENTS', id: 484, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_PARENTS', id: 485, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_PATHS', id: 486, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_PATHS', id: 487, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_GETFACL', id: 488, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_GETFACL', id: 489, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SETFACL', id: 490, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_SETFACL', id: 491, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_FLOCK', id: 492, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_FLOCK', id: 493, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_POSIX_LOCK', id: 494, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_POSIX_LOCK', id: 495, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_ARCHCTL', id: 496, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_ARCHCTL', id: 497, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_FSYNC', id: 498, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_FSYNC', id: 499, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED', id: 499, link: 'CLTOMA' },
  { name: 'CLTOMA_CSERV_LIST', id: 500, link: 'CLTOMA' },
  { name: 'MATOCL_CSERV_LIST', id: 501, link: 'MATOCL' },
  { name: 'CLTOAN_MONOTONIC_DATA', id: 502, link: 'CLTOAN' },
  { name: 'ANTOCL_MONOTONIC_DATA', id: 503, link: 'ANTOCL' },
  { name: 'CLTOAN_CHART', id: 504, link: 'CLTOAN' },
  { name: 'ANTOCL_CHART', id: 505, link: 'ANTOCL' },
  { name: 'CLTOAN_CHART_DATA', id: 506, link: 'CLTOAN' },
  { name: 'ANTOCL_CHART_DATA', id: 507, link: 'ANTOCL' },
  { name: 'CLTOMA_SESSION_LIST', id: 508, link: 'CLTOMA' },
  { name: 'MATOCL_SESSION_LIST', id: 509, link: 'MATOCL' },
  { name: 'CLTOMA_INFO', id: 510, link: 'CLTOMA' },
  { name: 'MATOCL_INFO', id: 511, link: 'MATOCL' },
  { name: 'CLTOMA_FSTEST_INFO', id: 512, link: 'CLTOMA' },
  { name: 'MATOCL_FSTEST_INFO', id: 513, link: 'MATOCL' },
  { name: 'CLTOMA_CHUNKSTEST_INFO', id: 514, link: 'CLTOMA' },
  { name: 'MATOCL_CHUNKSTEST_INFO', id: 515, link: 'MATOCL' },
  { name: 'CLTOMA_CHUNKS_MATRIX', id: 516, link: 'CLTOMA' },
  { name: 'MATOCL_CHUNKS_MATRIX', id: 517, link: 'MATOCL' },
  { name: 'CLTOMA_QUOTA_INFO', id: 518, link: 'CLTOMA' },
  { name: 'MATOCL_QUOTA_INFO', id: 519, link: 'MATOCL' },
  { name: 'CLTOMA_EXPORTS_INFO', id: 520, link: 'CLTOMA' },
  { name: 'MATOCL_EXPORTS_INFO', id: 521, link: 'MATOCL' },
  { name: 'CLTOMA_MLOG_LIST', id: 522, link: 'CLTOMA' },
  { name: 'MATOCL_MLOG_LIST', id: 523, link: 'MATOCL' },
  { name: 'CLTOMA_CSSERV_COMMAND', id: 524, link: 'CLTOMA' },
  { name: 'MATOCL_CSSERV_COMMAND', id: 525, link: 'MATOCL' },
  { name: 'CLTOMA_SESSION_COMMAND', id: 526, link: 'CLTOMA' },
  { name: 'MATOCL_SESSION_COMMAND', id: 527, link: 'MATOCL' },
  { name: 'CLTOMA_MEMORY_INFO', id: 528, link: 'CLTOMA' },
  { name: 'MATOCL_MEMORY_INFO', id: 529, link: 'MATOCL' },
  { name: 'CLTOAN_MODULE_INFO', id: 530, link: 'CLTOAN' },
  { name: 'ANTOCL_MODULE_INFO', id: 531, link: 'ANTOCL' },
  { name: 'CLTOMA_LIST_OPEN_FILES', id: 532, link: 'CLTOMA' },
  { name: 'MATOCL_LIST_OPEN_FILES', id: 533, link: 'MATOCL' },
  { name: 'CLTOMA_LIST_ACQUIRED_LOCKS', id: 534, link: 'CLTOMA' },
  { name: 'MATOCL_LIST_ACQUIRED_LOCKS', id: 535, link: 'MATOCL' },
  { name: 'CLTOMA_MASS_RESOLVE_PATHS', id: 536, link: 'CLTOMA' },
  { name: 'MATOCL_MASS_RESOLVE_PATHS', id: 537, link: 'MATOCL' },
  { name: 'CLTOMA_SCLASS_INFO', id: 542, link: 'CLTOMA' },
  { name: 'MATOCL_SCLASS_INFO', id: 543, link: 'MATOCL' },
  { name: 'CLTOMA_MISSING_CHUNKS', id: 544, link: 'CLTOMA' },
  { name: 'MATOCL_MISSING_CHUNKS', id: 545, link: 'MATOCL' },
  { name: 'CLTOMA_NODE_INFO', id: 546, link: 'CLTOMA' },
  { name: 'MATOCL_NODE_INFO', id: 547, link: 'MATOCL' },
  { name: 'CLTOCS_HDD_LIST', id: 600, link: 'CLTOCS' },
  { name: 'CSTOCL_HDD_LIST', id: 601, link: 'CSTOCL' },
  { name: 'CLTOMA_FUSE_SUSTAINED_INODES', id: 700, link: 'CLTOMA' },
  { name: 'CLTOMA_FUSE_AMTIME_INODES', id: 701, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_CHUNK_HAS_CHANGED', id: 702, link: 'MATOCL' },
  { name: 'MATOCL_FUSE_FLENG_HAS_CHANGED', id: 703, link: 'MATOCL' },
  { name: 'CLTOMA_FUSE_TIME_SYNC', id: 704, link: 'CLTOMA' },
  { name: 'MATOCL_FUSE_TIME_SYNC', id: 705, link: 'MATOCL' },
  { name: 'MATOCL_FUSE_INVALIDATE_CHUNK_CACHE', id: 706, link: 'MATOCL' },
  // mfs-ts extensions (see above)
  { name: 'ANTOMA_MFSTS_FOLLOWER_ACK', id: 0x4d540001, link: 'ANTOMA' },
  { name: 'ANTOMA_MFSTS_CHECKSUM', id: 0x4d540002, link: 'ANTOMA' },
  { name: 'MATOAN_MFSTS_CHECKSUM', id: 0x4d540003, link: 'MATOAN' },
];
