// mfshdd.cfg: one data directory per line (mfschunkserver/hddspacemgr.c hdd_parseline).
//
//   # comment                      (only at the start of a line)
//   /mnt/hdd1                      a disk
//   */mnt/hdd2                     marked for removal: its chunks are reported so the master moves them
//   ~/mnt/hdd3                     ignore changes of the device size
//   >/mnt/hdd4  </mnt/hdd5         rebalance: force destination / force source
//   /mnt/hdd6 100GiB               use at most this much of the device
//   /mnt/hdd7 -5GiB                always leave this much free (instead of HDD_LEAVE_SPACE_DEFAULT)
//
// Prefix characters may be combined. The path gets a trailing '/'. Sizes: a decimal number with an
// optional fraction and suffix k (10^3), Ki (2^10), M/Mi, G/Gi, T/Ti, P/Pi, E/Ei, then an optional 'B'
// (mfscommon/sizestr.h). A size that does not parse is ignored with a warning, as MooseFS does.
export interface HddLine {
  /** Directory, always ending in '/'. */
  path: string;
  markedForRemoval: boolean;
  ignoreSize: boolean;
  rebalance: 'std' | 'dst' | 'src';
  /** Bytes the disk may use at most (0 = the device size). */
  sizeLimit: number;
  /** Bytes to leave free; undefined = HDD_LEAVE_SPACE_DEFAULT. */
  leaveFree: number | undefined;
  line: number;
}

export interface HddCfg {
  disks: HddLine[];
  warnings: string[];
}

const MULT: Record<string, [number, number]> = {
  k: [1e3, 1e3],
  K: [0, 1024],
  M: [1e6, 1048576],
  G: [1e9, 1073741824],
  T: [1e12, 1099511627776],
  P: [1e15, 1125899906842624],
  E: [1e18, 1152921504606846976],
};

/** Parses a MooseFS size ("256MiB", "1.5T", "10G", "1000"); undefined if it does not parse fully. */
export function parseMfsSize(s: string): number | undefined {
  const m = /^(\d*)(?:\.(\d+))?(.*)$/.exec(s);
  if (!m || (m[1] === '' && m[2] === undefined)) return undefined;
  let val = Number(`${m[1] || '0'}.${m[2] ?? '0'}`);
  let rest = m[3]!;
  const c = rest[0];
  if (c !== undefined && c in MULT) {
    const [dec, bin] = MULT[c]!;
    if (rest[1] === 'i') {
      val *= bin;
      rest = rest.slice(2);
    } else if (c !== 'K') {
      val *= dec;
      rest = rest.slice(1);
    }
  }
  if (rest !== '' && rest !== 'B') return undefined;
  return Math.round(val);
}

export function parseHddCfg(text: string): HddCfg {
  const disks: HddLine[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let s = lines[n]!;
    if (s.startsWith('#')) continue;
    s = s.replace(/[\r\n \t]+$/, '');
    if (s === '') continue;
    let sizeLimit = 0;
    let leaveFree: number | undefined;
    const p = Math.max(s.lastIndexOf(' '), s.lastIndexOf('\t')) + 1;
    if (p > 0) {
      const tok = s.slice(p);
      let parsed = false;
      if (tok.startsWith('-')) {
        const v = parseMfsSize(tok.slice(1));
        if (v === undefined) warnings.push(`mfshdd.cfg:${n + 1}: size parse error, data: ${tok}`);
        else {
          leaveFree = v;
          parsed = true;
        }
      } else if (/^[0-9.]/.test(tok)) {
        const v = parseMfsSize(tok);
        if (v === undefined) warnings.push(`mfshdd.cfg:${n + 1}: size parse error, data: ${tok}`);
        else if (v === 0) {
          warnings.push(`mfshdd.cfg:${n + 1}: limit set to zero - using real volume size`);
          parsed = true;
        } else {
          sizeLimit = v;
          parsed = true;
        }
      }
      if (parsed) {
        s = s.slice(0, p).replace(/[ \t]+$/, '');
        if (s === '') continue;
      }
    }
    let markedForRemoval = false;
    let ignoreSize = false;
    let rebalance: HddLine['rebalance'] = 'std';
    let i = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '*') markedForRemoval = true;
      else if (c === '~') ignoreSize = true;
      else if (c === '>') rebalance = 'dst';
      else if (c === '<') rebalance = 'src';
      else break;
    }
    let path = s.slice(i);
    if (path === '') continue;
    if (!path.endsWith('/')) path += '/';
    disks.push({ path, markedForRemoval, ignoreSize, rebalance, sizeLimit, leaveFree, line: n + 1 });
  }
  return { disks, warnings };
}
