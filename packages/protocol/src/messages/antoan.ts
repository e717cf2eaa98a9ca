import { list, name, rest, u8, u16, u32, u64 } from '../codec/fields.js';
import { when } from '../codec/message.js';
import { msg, vmsg } from './common.js';

// Packets any peer may send on any link (mfscommon/MFSCommunication.h; handlers in every *serv.c and
// masterconn.c: matoclserv_get_version, csserv_get_version, matomlserv_get_config ...).

/**
 * NOP: empty on server links; mfsmount sends `msgid:32` (0) to the master and the master answers
 * clients in kind (matoclserv_keep_alive / fs_nop_thread).
 */
export const AntoanNop = vmsg('ANTOAN_NOP', {
  empty: { match: when.length(0), fields: {} },
  msgid: { fields: { msgid: u32 } },
});
/** Never sent by 3.0.117 daemons (receivers ignore it); kept opaque. */
export const AntoanUnknownCommand = msg('ANTOAN_UNKNOWN_COMMAND', { data: rest });
export const AntoanBadCommandSize = msg('ANTOAN_BAD_COMMAND_SIZE', { data: rest });
export const AntoanGetVersion = vmsg('ANTOAN_GET_VERSION', {
  bare: { match: when.length(0), fields: {} },
  msgid: { fields: { msgid: u32 } },
});

const digit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
/**
 * `[msgid:32] version:32 vstring` (vstring = "3.0.117-1", no NUL). The msgid is there when the request
 * had one; the forms are told apart by the byte after the first word: a digit starts the string,
 * a version word starts with 0x00 (shorter than 8 bytes: no room for a msgid).
 */
export const AntoanVersion = vmsg('ANTOAN_VERSION', {
  bare: { match: (p) => p.length < 8 || digit(p[4]), fields: { version: u32, vstring: rest } },
  msgid: { fields: { msgid: u32, version: u32, vstring: rest } },
});
/** `msgid:32 nleng:8 name` -> `msgid:32 vleng:8 value` (value cut at 255 bytes). */
export const AntoanGetConfig = msg('ANTOAN_GET_CONFIG', { msgid: u32, name });
export const AntoanConfigValue = msg('ANTOAN_CONFIG_VALUE', { msgid: u32, value: name });

// Tools (mfscli / CGI) to any server: charts and module info (matoclserv_chart, csserv_chart ...).
export const CltoanChart = vmsg('CLTOAN_CHART', {
  id: { fields: { chartid: u32 } },
  sized: { fields: { chartid: u32, width: u16, height: u16 } },
});
/** PNG bytes (or empty). */
export const AntoclChart = msg('ANTOCL_CHART', { png: rest });
export const CltoanChartData = vmsg('CLTOAN_CHART_DATA', {
  id: { fields: { chartid: u32 } },
  limited: { fields: { chartid: u32, maxentries: u32 } },
});
/**
 * charts_makedata (mfscommon/charts.c): empty (unknown chart, or an extended one) or
 * `timestamp:32 n:32 n*[value:64]`, newest entry first, all ones = no data; the timestamp is the start
 * of the newest entry's period in local time.
 */
export const AntoclChartData = vmsg('ANTOCL_CHART_DATA', {
  none: { match: when.length(0), fields: {} },
  data: { fields: { timestamp: u32, values: list(u64, 'u32') } },
});
export const CltoanMonotonicData = msg('CLTOAN_MONOTONIC_DATA', {});
/**
 * charts_monotonic_data: `n:16 n*[total:64]` (every statistic's sum since start); a chunkserver then
 * adds its disks' I/O totals (hdd_diskinfo_monotonic_data, kept raw in `disks`).
 */
export const AntoclMonotonicData = msg('ANTOCL_MONOTONIC_DATA', { values: list(u64, 'u16'), disks: rest });
export const CltoanModuleInfo = vmsg('CLTOAN_MODULE_INFO', {
  bare: { match: when.length(0), fields: {} },
  msgid: { fields: { msgid: u32 } },
});
/**
 * `[msgid] moduletype:8 version:32 csid:16 metaid:64 masterip:32 masterport:16` (21 or 25 bytes; a
 * master puts 0 in csid, masterip and masterport; a chunkserver its own csid and its master).
 */
export const AntoclModuleInfo = vmsg('ANTOCL_MODULE_INFO', {
  bare: { match: when.length(21), fields: { moduletype: u8, version: u32, csid: u16, metaid: u64, ip: u32, port: u16 } },
  msgid: { fields: { msgid: u32, moduletype: u8, version: u32, csid: u16, metaid: u64, ip: u32, port: u16 } },
});

export const ANTOAN_MESSAGES = [
  AntoanNop, AntoanUnknownCommand, AntoanBadCommandSize, AntoanGetVersion, AntoanVersion, AntoanGetConfig,
  AntoanConfigValue, CltoanChart, AntoclChart, CltoanChartData, AntoclChartData, CltoanMonotonicData,
  AntoclMonotonicData, CltoanModuleInfo, AntoclModuleInfo,
];
