import type { Link } from './codec/message.js';

// Largest payload a receiver accepts on each link; a larger length field closes the connection
// before anything is allocated for it. Facts from mfscommon/MFSCommunication.h (*_MAXPACKETSIZE).
export const CSTOMA_MAXPACKETSIZE = 500_000_000;
export const CLTOMA_MAXPACKETSIZE = 50_000_000;
export const ANTOMA_MAXPACKETSIZE = 1_500_000;
export const MATOAN_MAXPACKETSIZE = 1_500_000;
export const MATOCS_MAXPACKETSIZE = 10_000;
export const CSTOCS_MAXPACKETSIZE = 100_000;
export const CLTOCS_MAXPACKETSIZE = 100_000;
export const ANTOCS_MAXPACKETSIZE = 100_000;
export const CSTOCL_MAXPACKETSIZE = 100_000;

/** MooseFS geometry (MFSCommunication.h, non-LIGHT build). */
export const MFSBLOCKSINCHUNK = 0x400;
export const MFSCHUNKSIZE = 0x04000000;
export const MFSCHUNKMASK = 0x03ffffff;
export const MFSCHUNKBITS = 26;
export const MFSBLOCKSIZE = 0x10000;
export const MFSBLOCKMASK = 0x0ffff;
export const MFSBLOCKBITS = 16;
/** crc32 of one 64 KiB block of zeros: the CRC of a block never written. */
export const MFSCRCEMPTY = 0xd7978eeb;
/** Chunk file header + CRC table size. */
export const MFSHDRSIZE = 0x2000;
export const MFS_ROOT_ID = 1;
export const MFS_NAME_MAX = 255;
export const MFS_SYMLINK_MAX = 4096;
export const MFS_PATH_MAX = 1024;
export const MFS_MAX_FILE_SIZE = MFSCHUNKSIZE * 2 ** 31;

/** What the receiving end of a link accepts (the limit is the receiver's). */
export const MAX_PACKET_SIZE: Partial<Record<Link, number>> = {
  CLTOMA: CLTOMA_MAXPACKETSIZE,
  CSTOMA: CSTOMA_MAXPACKETSIZE,
  ANTOMA: ANTOMA_MAXPACKETSIZE,
  MATOAN: MATOAN_MAXPACKETSIZE,
  MATOCS: MATOCS_MAXPACKETSIZE,
  CSTOCS: CSTOCS_MAXPACKETSIZE,
  CLTOCS: CLTOCS_MAXPACKETSIZE,
  ANTOCS: ANTOCS_MAXPACKETSIZE,
  CSTOCL: CSTOCL_MAXPACKETSIZE,
};
