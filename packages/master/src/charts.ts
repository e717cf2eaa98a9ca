import {
  CHARTS_MODE_ADD as ADD,
  CHARTS_MODE_MAX as MAX,
  CHARTS_SCALE_MICRO as MICRO,
  CHARTS_SCALE_MILI as MILI,
  CHARTS_SCALE_NONE as NONE,
  ChartsData,
  ProcessSampler,
  statDefs,
  strid,
  type EStatDef,
} from '@mfs-ts/common';

// The master's 38 statistics (mfsmaster/chartsdefs.h, fed as in mfsmaster/chartsdata.c): their
// order is their number in chart ids (statistic * 10 + range), their names are the keys of stats.mfs.

export const CH_UCPU = 0;
export const CH_SCPU = 1;
export const CH_DELCHUNK = 2;
export const CH_REPLCHUNK = 3;
export const CH_STATFS = 4;
export const CH_GETATTR = 5;
export const CH_SETATTR = 6;
export const CH_LOOKUP = 7;
export const CH_MKDIR = 8;
export const CH_RMDIR = 9;
export const CH_SYMLINK = 10;
export const CH_READLINK = 11;
export const CH_MKNOD = 12;
export const CH_UNLINK = 13;
export const CH_RENAME = 14;
export const CH_LINK = 15;
export const CH_READDIR = 16;
export const CH_OPEN = 17;
export const CH_READ = 18;
export const CH_WRITE = 19;
export const CH_MEMORY_RSS = 20;
export const CH_PACKETSRCVD = 21;
export const CH_PACKETSSENT = 22;
export const CH_BYTESRCVD = 23;
export const CH_BYTESSENT = 24;
export const CH_MEMORY_VIRT = 25;
export const CH_USED_SPACE = 26;
export const CH_TOTAL_SPACE = 27;
export const CH_CREATECHUNK = 28;
export const CH_CHANGECHUNK = 29;
export const CH_DELETECHUNK_OK = 30;
export const CH_DELETECHUNK_ERR = 31;
export const CH_REPLICATECHUNK_OK = 32;
export const CH_REPLICATECHUNK_ERR = 33;
export const CH_CREATECHUNK_OK = 34;
export const CH_CREATECHUNK_ERR = 35;
export const CH_CHANGECHUNK_OK = 36;
export const CH_CHANGECHUNK_ERR = 37;

export const MASTER_STATS = statDefs([
  ['ucpu', 'UCPU', ADD, 1, MICRO, 100, 60],
  ['scpu', 'SCPU', ADD, 1, MICRO, 100, 60],
  ['delete', 'DELC', ADD, 0, NONE, 1, 1],
  ['replicate', 'REPC', ADD, 0, NONE, 1, 1],
  ['statfs', 'STFS', ADD, 0, NONE, 1, 1],
  ['getattr', 'GATR', ADD, 0, NONE, 1, 1],
  ['setattr', 'SATR', ADD, 0, NONE, 1, 1],
  ['lookup', 'LOOK', ADD, 0, NONE, 1, 1],
  ['mkdir', 'MKDI', ADD, 0, NONE, 1, 1],
  ['rmdir', 'RMDI', ADD, 0, NONE, 1, 1],
  ['symlink', 'SLNK', ADD, 0, NONE, 1, 1],
  ['readlink', 'RLNK', ADD, 0, NONE, 1, 1],
  ['mknod', 'MKND', ADD, 0, NONE, 1, 1],
  ['unlink', 'UNLK', ADD, 0, NONE, 1, 1],
  ['rename', 'RENA', ADD, 0, NONE, 1, 1],
  ['link', 'LINK', ADD, 0, NONE, 1, 1],
  ['readdir', 'RDIR', ADD, 0, NONE, 1, 1],
  ['open', 'OPEN', ADD, 0, NONE, 1, 1],
  ['read', 'READ', ADD, 0, NONE, 1, 1],
  ['write', 'WRIT', ADD, 0, NONE, 1, 1],
  ['memoryrss', 'MEMR', MAX, 0, NONE, 1, 1],
  ['prcvd', 'PRCV', ADD, 0, MILI, 1000, 60],
  ['psent', 'PSNT', ADD, 0, MILI, 1000, 60],
  ['brcvd', 'BRCV', ADD, 0, MILI, 8000, 60],
  ['bsent', 'BSNT', ADD, 0, MILI, 8000, 60],
  ['memoryvirt', 'MEMV', MAX, 0, NONE, 1, 1],
  ['usedspace', 'USPC', MAX, 0, NONE, 1, 1],
  ['totalspace', 'TSPC', MAX, 0, NONE, 1, 1],
  ['create', 'NEWC', ADD, 0, NONE, 1, 1],
  ['change', 'INTC', ADD, 0, NONE, 1, 1],
  ['delete_ok', 'DELO', ADD, 0, NONE, 1, 1],
  ['delete_err', 'DELE', ADD, 0, NONE, 1, 1],
  ['replicate_ok', 'REPO', ADD, 0, NONE, 1, 1],
  ['replicate_err', 'REPE', ADD, 0, NONE, 1, 1],
  ['create_ok', 'NEWO', ADD, 0, NONE, 1, 1],
  ['create_err', 'NEWE', ADD, 0, NONE, 1, 1],
  ['change_ok', 'INTO', ADD, 0, NONE, 1, 1],
  ['change_err', 'INTE', ADD, 0, NONE, 1, 1],
]);

/** The composite charts the CGI draws (ids 100..106: cpu, memory, space, then ok/err of chunk operations). */
export const MASTER_ESTATS: EStatDef[] = [
  { name: 'cpu', statid: strid('TCPU'), sources: [{ stat: CH_UCPU }, { stat: CH_SCPU }], mode: ADD, percent: 1, scale: MICRO, multiplier: 100, divisor: 60 },
  { name: 'mem', statid: strid('TMEM'), sources: [{ diff: [CH_MEMORY_VIRT, CH_MEMORY_RSS] }, { stat: CH_MEMORY_RSS }], mode: MAX },
  { name: 'space', statid: strid('SPAC'), sources: [{ diff: [CH_TOTAL_SPACE, CH_USED_SPACE] }, { stat: CH_USED_SPACE }], mode: MAX },
  { name: 'delete_stat', statid: strid('DELS'), sources: [{ stat: CH_DELETECHUNK_ERR }, { stat: CH_DELETECHUNK_OK }], mode: ADD },
  { name: 'replicate_stat', statid: strid('REPS'), sources: [{ stat: CH_REPLICATECHUNK_ERR }, { stat: CH_REPLICATECHUNK_OK }], mode: ADD },
  { name: 'create_stat', statid: strid('NEWS'), sources: [{ stat: CH_CREATECHUNK_ERR }, { stat: CH_CREATECHUNK_OK }], mode: ADD },
  { name: 'change_stat', statid: strid('INTS'), sources: [{ stat: CH_CHANGECHUNK_ERR }, { stat: CH_CHANGECHUNK_OK }], mode: ADD },
];

/** Everything counted as it happens (the rest is sampled once a minute). */
const COUNTED = [...Array(MASTER_STATS.length).keys()].filter(
  (i) => i !== CH_UCPU && i !== CH_SCPU && i !== CH_MEMORY_RSS && i !== CH_MEMORY_VIRT && i !== CH_USED_SPACE && i !== CH_TOTAL_SPACE,
);

/** The master's charts; `space()` gives the chunkservers' total and used bytes (matocsserv_getspace). */
export function masterCharts(opts: {
  file?: string;
  space(): { total: number; used: number };
  log?: ConstructorParameters<typeof ChartsData>[0]['log'];
}): ChartsData {
  const proc = new ProcessSampler({ ucpu: CH_UCPU, scpu: CH_SCPU, rss: CH_MEMORY_RSS, virt: CH_MEMORY_VIRT });
  return new ChartsData({
    stats: MASTER_STATS,
    estats: MASTER_ESTATS,
    file: opts.file,
    counted: COUNTED,
    log: opts.log,
    sample(d) {
      proc.sample(d);
      const s = opts.space();
      d[CH_USED_SPACE] = s.used;
      d[CH_TOTAL_SPACE] = s.total;
    },
  });
}
