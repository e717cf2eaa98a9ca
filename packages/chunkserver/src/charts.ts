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
import type { HddSpaceMgr } from './hddspacemgr/index.js';

// The chunkserver's 34 statistics (mfschunkserver/chartsdefs.h, fed as in chartsdata.c); their
// order is their number in chart ids, their names the keys of csstats.mfs.

export const CS_UCPU = 0;
export const CS_SCPU = 1;
export const CS_MASTERIN = 2;
export const CS_MASTEROUT = 3;
export const CS_CSREPIN = 4;
export const CS_CSREPOUT = 5;
export const CS_CSSERVIN = 6;
export const CS_CSSERVOUT = 7;
export const CS_HDRBYTESR = 8;
export const CS_HDRBYTESW = 9;
export const CS_HDRLLOPR = 10;
export const CS_HDRLLOPW = 11;
export const CS_DATABYTESR = 12;
export const CS_DATABYTESW = 13;
export const CS_DATALLOPR = 14;
export const CS_DATALLOPW = 15;
export const CS_HLOPR = 16;
export const CS_HLOPW = 17;
export const CS_RTIME = 18;
export const CS_WTIME = 19;
export const CS_REPL = 20;
export const CS_CREATE = 21;
export const CS_DELETE = 22;
export const CS_VERSION = 23;
export const CS_DUPLICATE = 24;
export const CS_TRUNCATE = 25;
export const CS_DUPTRUNC = 26;
export const CS_TEST = 27;
export const CS_LOAD = 28;
export const CS_MEMORY_RSS = 29;
export const CS_MEMORY_VIRT = 30;
export const CS_MOVELS = 31;
export const CS_MOVEHS = 32;
export const CS_CHANGE = 33;

export const CHUNKSERVER_STATS = statDefs([
  ['ucpu', 'UCPU', ADD, 1, MICRO, 100, 60],
  ['scpu', 'SCPU', ADD, 1, MICRO, 100, 60],
  ['masterin', 'MSTI', ADD, 0, MILI, 8000, 60],
  ['masterout', 'MSTO', ADD, 0, MILI, 8000, 60],
  ['csrepin', 'REPI', ADD, 0, MILI, 8000, 60],
  ['csrepout', 'REPO', ADD, 0, MILI, 8000, 60],
  ['csservin', 'SRVI', ADD, 0, MILI, 8000, 60],
  ['csservout', 'SRVO', ADD, 0, MILI, 8000, 60],
  ['hdrbytesr', 'HRBR', ADD, 0, MILI, 1000, 60],
  ['hdrbytesw', 'HRBW', ADD, 0, MILI, 1000, 60],
  ['hdrllopr', 'HROR', ADD, 0, NONE, 1, 1],
  ['hdrllopw', 'HROW', ADD, 0, NONE, 1, 1],
  ['databytesr', 'DTBR', ADD, 0, MILI, 1000, 60],
  ['databytesw', 'DTBW', ADD, 0, MILI, 1000, 60],
  ['datallopr', 'DTOR', ADD, 0, NONE, 1, 1],
  ['datallopw', 'DTOW', ADD, 0, NONE, 1, 1],
  ['hlopr', 'HLOR', ADD, 0, NONE, 1, 1],
  ['hlopw', 'HLOW', ADD, 0, NONE, 1, 1],
  ['rtime', 'TIMR', ADD, 0, MICRO, 1, 60000],
  ['wtime', 'TIMW', ADD, 0, MICRO, 1, 60000],
  ['repl', 'REPC', ADD, 0, NONE, 1, 1],
  ['create', 'CREC', ADD, 0, NONE, 1, 1],
  ['delete', 'DELC', ADD, 0, NONE, 1, 1],
  ['version', 'VERC', ADD, 0, NONE, 1, 1],
  ['duplicate', 'DUPC', ADD, 0, NONE, 1, 1],
  ['truncate', 'TRUC', ADD, 0, NONE, 1, 1],
  ['duptrunc', 'DTRC', ADD, 0, NONE, 1, 1],
  ['test', 'TSTC', ADD, 0, NONE, 1, 1],
  ['load', 'LOAD', MAX, 0, NONE, 1, 1],
  ['memoryrss', 'MEMR', MAX, 0, NONE, 1, 1],
  ['memoryvirt', 'MEMV', MAX, 0, NONE, 1, 1],
  ['movels', 'MOVL', ADD, 0, NONE, 1, 1],
  ['movehs', 'MOVH', ADD, 0, NONE, 1, 1],
  ['change', 'CHGC', ADD, 0, NONE, 1, 1],
]);

/** Composite charts 100..108 (the CGI's "CC" section draws them). */
export const CHUNKSERVER_ESTATS: EStatDef[] = [
  { name: 'cpu', statid: strid('TCPU'), sources: [{ stat: CS_UCPU }, { stat: CS_SCPU }], mode: ADD, percent: 1, scale: MICRO, multiplier: 100, divisor: 60 },
  { name: 'bwin', statid: strid('BWIN'), sources: [{ stat: CS_CSREPIN }, { stat: CS_CSSERVIN }], mode: ADD, scale: MILI, multiplier: 8000, divisor: 60 },
  { name: 'bwout', statid: strid('BWOU'), sources: [{ stat: CS_CSREPOUT }, { stat: CS_CSSERVOUT }], mode: ADD, scale: MILI, multiplier: 8000, divisor: 60 },
  { name: 'hddread', statid: strid('HDBR'), sources: [{ stat: CS_HDRBYTESR }, { stat: CS_DATABYTESR }], mode: ADD, scale: MILI, multiplier: 1000, divisor: 60 },
  { name: 'hddwrite', statid: strid('HDBW'), sources: [{ stat: CS_HDRBYTESW }, { stat: CS_DATABYTESW }], mode: ADD, scale: MILI, multiplier: 1000, divisor: 60 },
  { name: 'hddopsr', statid: strid('HDOR'), sources: [{ stat: CS_HDRLLOPR }, { stat: CS_DATALLOPR }], mode: ADD },
  { name: 'hddopsw', statid: strid('HDOW'), sources: [{ stat: CS_HDRLLOPW }, { stat: CS_DATALLOPW }], mode: ADD },
  { name: 'mem', statid: strid('TMEM'), sources: [{ diff: [CS_MEMORY_VIRT, CS_MEMORY_RSS] }, { stat: CS_MEMORY_RSS }], mode: MAX },
  { name: 'move', statid: strid('MOVE'), sources: [{ stat: CS_MOVELS }, { stat: CS_MOVEHS }], mode: ADD },
];

/** Counted as things happen: link bytes, high-level ops, master commands, chunk tests. */
const COUNTED = [CS_MASTERIN, CS_MASTEROUT, CS_CSREPIN, CS_CSREPOUT, CS_CSSERVIN, CS_CSSERVOUT, CS_HLOPR, CS_HLOPW, CS_REPL, CS_CREATE, CS_DELETE, CS_VERSION, CS_DUPLICATE, CS_TRUNCATE, CS_DUPTRUNC, CS_TEST];

/**
 * The chunkserver's charts. Disk figures come from the disks' own I/O statistics (the difference of
 * their running totals since the last minute); header I/O and chunk moves between disks are not
 * separate in mfs-ts and stay 0.
 */
export function chunkserverCharts(opts: {
  file?: string;
  hdd: () => HddSpaceMgr | undefined;
  jobs: () => number;
  log?: ConstructorParameters<typeof ChartsData>[0]['log'];
}): ChartsData {
  const proc = new ProcessSampler({ ucpu: CS_UCPU, scpu: CS_SCPU, rss: CS_MEMORY_RSS, virt: CS_MEMORY_VIRT });
  const last = { rbytes: 0, wbytes: 0, rops: 0, wops: 0, rnsec: 0, wnsec: 0 };
  return new ChartsData({
    stats: CHUNKSERVER_STATS,
    estats: CHUNKSERVER_ESTATS,
    file: opts.file,
    counted: COUNTED,
    log: opts.log,
    sample(d) {
      proc.sample(d);
      d[CS_LOAD] = opts.jobs();
      const now = { rbytes: 0, wbytes: 0, rops: 0, wops: 0, rnsec: 0, wnsec: 0 };
      for (const f of opts.hdd()?.folders ?? []) {
        for (const s of [f.stats.done, f.stats.cur]) {
          now.rbytes += s.rbytes;
          now.wbytes += s.wbytes;
          now.rops += s.rops;
          now.wops += s.wops;
          now.rnsec += s.rnsec;
          now.wnsec += s.wnsec;
        }
      }
      const delta = (k: keyof typeof now): number => Math.max(0, now[k] - last[k]);
      d[CS_DATABYTESR] = delta('rbytes');
      d[CS_DATABYTESW] = delta('wbytes');
      d[CS_DATALLOPR] = delta('rops');
      d[CS_DATALLOPW] = delta('wops');
      d[CS_RTIME] = Math.floor(delta('rnsec') / 1000);
      d[CS_WTIME] = Math.floor(delta('wnsec') / 1000);
      Object.assign(last, now);
      for (const i of [CS_HDRBYTESR, CS_HDRBYTESW, CS_HDRLLOPR, CS_HDRLLOPW, CS_MOVELS, CS_MOVEHS]) d[i] = 0;
      d[CS_CHANGE] = d[CS_VERSION]! + d[CS_DUPLICATE]! + d[CS_TRUNCATE]! + d[CS_DUPTRUNC]!;
    },
  });
}
