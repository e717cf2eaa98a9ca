import { readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { deflateSync, crc32 } from 'node:zlib';
import { AntoclChart, AntoclChartData, AntoclMonotonicData, type CltoanChart, type CltoanChartData, type ValueOf } from '@mfs-ts/protocol';

// The statistics behind mfscli's and the CGI's charts (facts from mfscommon/charts.c and charts.h of
// MooseFS 3.0.117): each statistic keeps four rings of 4096 entries, one per range: short (one entry
// a minute), medium (6 minutes), long (30 minutes) and very long (a day). Once a minute the daemon
// hands in the figures of the minute that just ended; each ring joins them into its current entry by
// adding them (counters) or keeping the largest (gauges). Entries nobody filled hold the "no data"
// marker (all ones on the wire and on disk; NaN here). Times are minutes of local time, as MooseFS
// counts them (seconds since the epoch plus the zone offset).

export const CHARTS_MODE_ADD = 0;
export const CHARTS_MODE_MAX = 1;
export const CHARTS_SCALE_MICRO = 0;
export const CHARTS_SCALE_MILI = 1;
export const CHARTS_SCALE_NONE = 2;
/** Entries per ring (MAXLENG). */
export const CHARTS_LENGTH = 4096;
export const CHARTS_RANGES = 4;
/** Seconds one entry of each range covers. */
export const CHARTS_RANGE_SECONDS: readonly number[] = [60, 360, 1800, 86400];
/** The no-data marker as it travels (u64 all ones). */
export const CHARTS_NODATA = 0xffffffffffffffffn;
/** Extended (composite) charts are numbered from here (CHARTS_EXTENDED_START). */
export const CHARTS_EXTENDED_START = 100;
/** stats.mfs header word (CHARTS_FILE_VERSION). */
export const CHARTS_FILE_VERSION = 0x00010000;

/** A four-letter statistic id (STRID): 'GATR' -> 0x47415452. */
export function strid(s: string): number {
  return ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
}

export interface StatDef {
  name: string;
  statid: number;
  mode: typeof CHARTS_MODE_ADD | typeof CHARTS_MODE_MAX;
  percent: 0 | 1;
  scale: number;
  multiplier: number;
  divisor: number;
}

/** One colour of an extended chart: a statistic, or max(0, a - b) of two (the CALCDEFS both daemons use). */
export type ChartSource = { stat: number } | { diff: [number, number] };

export interface EStatDef {
  name: string;
  statid: number;
  sources: ChartSource[];
  mode: typeof CHARTS_MODE_ADD | typeof CHARTS_MODE_MAX;
  /** How the image's scale reads (as in StatDef); default a plain count. */
  percent?: 0 | 1;
  scale?: number;
  multiplier?: number;
  divisor?: number;
}

/** Shorthand for the tables: [name, STRID, mode, percent, scale, multiplier, divisor]. */
export function statDefs(rows: ReadonlyArray<readonly [string, string, number, number, number, number, number]>): StatDef[] {
  return rows.map(([name, id, mode, percent, scale, multiplier, divisor]) => ({
    name,
    statid: strid(id),
    mode: mode as StatDef['mode'],
    percent: percent as 0 | 1,
    scale,
    multiplier,
    divisor,
  }));
}

/** Seconds to add to UTC for local time at `unixS` (tm_gmtoff). */
function gmtoff(unixS: number): number {
  return -new Date(unixS * 1000).getTimezoneOffset() * 60;
}

export type ChartsLoadResult = { ok: true; loaded: number } | { ok: false; error: string };

/** A chart id decoded (charts_statid_converter): a statistic or extended chart and a range. */
export interface ChartRef {
  /** Index into the statistics, or CHARTS_EXTENDED_START + index into the extended charts. */
  type: number;
  range: number;
}

export class ChartStore {
  /** series[stat * 4 + range]: a ring of CHARTS_LENGTH entries, NaN = no data. */
  private readonly series: Float64Array[];
  /** The newest entry of each range. */
  private readonly pointers = [0, 0, 0, 0];
  /** The current entry's number of each range, in range units of local time. */
  private readonly timepoint = [0, 0, 0, 0];
  /** Everything ever added, per statistic (CLTOAN_MONOTONIC_DATA). */
  readonly monotonic: Float64Array;

  constructor(
    readonly stats: readonly StatDef[],
    readonly estats: readonly EStatDef[] = [],
  ) {
    this.series = Array.from({ length: stats.length * CHARTS_RANGES }, () => new Float64Array(CHARTS_LENGTH).fill(NaN));
    this.monotonic = new Float64Array(stats.length);
  }

  /** Starts the rings at `unixS` (charts_inittimepointers + the first charts_add without data). */
  start(unixS: number): void {
    if (this.timepoint[0] === 0) this.setTimepoints(Math.floor((unixS + gmtoff(unixS)) / 60));
    this.add(null, unixS);
  }

  /** Every range's current entry from the short range's minute (a loaded file keeps only that one). */
  private setTimepoints(minute: number): void {
    this.timepoint[0] = minute;
    for (let r = 1; r < CHARTS_RANGES; r++) this.timepoint[r] = Math.floor((minute * 60) / CHARTS_RANGE_SECONDS[r]!);
  }

  private ring(stat: number, range: number): Float64Array {
    return this.series[stat * CHARTS_RANGES + range]!;
  }

  /**
   * The figures of one minute (NaN = none), for the minute holding `unixS` (charts_add): every ring
   * moves on to that minute first, marking skipped entries as without data.
   */
  add(data: ArrayLike<number> | null, unixS: number): void {
    const n = this.stats.length;
    if (data) for (let j = 0; j < n; j++) if (!Number.isNaN(data[j]!)) this.monotonic[j]! += data[j]!;
    const local = unixS + gmtoff(unixS);
    for (let r = 0; r < CHARTS_RANGES; r++) {
      const now = Math.floor(local / CHARTS_RANGE_SECONDS[r]!);
      let delta = now - this.timepoint[r]!;
      if (delta > 0) {
        for (let k = Math.min(delta, CHARTS_LENGTH); k > 0; k--) {
          this.pointers[r] = (this.pointers[r]! + 1) % CHARTS_LENGTH;
          for (let j = 0; j < n; j++) this.ring(j, r)[this.pointers[r]!] = NaN;
        }
        this.timepoint[r] = now;
        delta = 0;
      }
      if (!data || delta <= -CHARTS_LENGTH) continue;
      const i = (this.pointers[r]! + CHARTS_LENGTH + delta) % CHARTS_LENGTH;
      for (let j = 0; j < n; j++) {
        const v = data[j]!;
        if (Number.isNaN(v)) continue;
        const t = this.ring(j, r);
        const old = t[i]!;
        if (Number.isNaN(old)) t[i] = v;
        else if (this.stats[j]!.mode === CHARTS_MODE_ADD) t[i] = old + v;
        else if (v > old) t[i] = v;
      }
    }
  }

  /** A chart id as mfscli and the CGI send it: statistic * 10 + range, or a STRID with range bits. */
  decodeId(chartid: number): ChartRef | undefined {
    let type: number;
    let range: number;
    if (chartid < 0x1000000) {
      type = Math.floor(chartid / 10);
      range = chartid % 10;
    } else {
      // Lower-case letters (bit 5 of each byte) spell the range in binary.
      const m = chartid & 0x20202020;
      range = ((m >>> 5) & 1) | ((m >>> 12) & 2) | ((m >>> 19) & 4) | ((m >>> 26) & 8);
      const id = (chartid & 0xdfdfdfdf) >>> 0;
      const s = this.stats.findIndex((d) => (d.statid & 0xdfdfdfdf) >>> 0 === id);
      const e = this.estats.findIndex((d) => (d.statid & 0xdfdfdfdf) >>> 0 === id);
      if (s >= 0) type = s;
      else if (e >= 0) type = CHARTS_EXTENDED_START + e;
      else return undefined;
    }
    if (range >= CHARTS_RANGES) return undefined;
    if (type < this.stats.length || (type >= CHARTS_EXTENDED_START && type < CHARTS_EXTENDED_START + this.estats.length)) return { type, range };
    return undefined;
  }

  /**
   * CLTOAN_CHART_DATA (charts_makedata): the start of the newest entry's period (local time, seconds)
   * and up to `maxentries` entries, newest first. Only plain statistics; undefined for anything else.
   */
  chartData(chartid: number, maxentries = CHARTS_LENGTH): { timestamp: number; values: bigint[] } | undefined {
    const ref = this.decodeId(chartid);
    if (!ref || ref.type >= this.stats.length) return undefined;
    const n = Math.min(maxentries, CHARTS_LENGTH);
    const t = this.ring(ref.type, ref.range);
    const values = new Array<bigint>(n);
    let j = this.pointers[ref.range]!;
    for (let i = 0; i < n; i++) {
      const v = t[j]!;
      values[i] = Number.isNaN(v) ? CHARTS_NODATA : BigInt(Math.min(Math.max(0, Math.round(v)), Number.MAX_SAFE_INTEGER));
      j = j > 0 ? j - 1 : CHARTS_LENGTH - 1;
    }
    return { timestamp: (this.timepoint[ref.range]! * CHARTS_RANGE_SECONDS[ref.range]!) >>> 0, values };
  }

  /** The last `count` entries of a chart's colours, oldest first (charts_filltab). */
  columns(ref: ChartRef, count: number): Float64Array[] {
    const ptr = this.pointers[ref.range]!;
    const col = (src: ChartSource): Float64Array => {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const j = (CHARTS_LENGTH - count + 1 + ptr + i) % CHARTS_LENGTH;
        if ('stat' in src) out[i] = this.ring(src.stat, ref.range)[j]!;
        else {
          const a = this.ring(src.diff[0], ref.range)[j]!;
          const b = this.ring(src.diff[1], ref.range)[j]!;
          out[i] = Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(0, a - b);
        }
      }
      return out;
    };
    if (ref.type < this.stats.length) return [col({ stat: ref.type })];
    return this.estats[ref.type - CHARTS_EXTENDED_START]!.sources.map(col);
  }

  /** The factor turning a chart's raw entries into its display unit (charts_data_multiplier). */
  private unit(ref: ChartRef): { mul: number; percent: boolean } {
    const d = ref.type < this.stats.length ? this.stats[ref.type]! : this.estats[ref.type - CHARTS_EXTENDED_START]!;
    let mul = d.mode === CHARTS_MODE_ADD ? 60 / CHARTS_RANGE_SECONDS[ref.range]! : 1;
    mul *= (d.multiplier ?? 1) / (d.divisor ?? 1);
    mul *= [1e-6, 1e-3, 1, 1e3, 1e6, 1e9][d.scale ?? CHARTS_SCALE_NONE] ?? 1;
    return { mul, percent: d.percent === 1 };
  }

  /** stats.mfs (charts_store): header, then per statistic its name in 100 bytes and its four rings, oldest first. */
  serialize(): Buffer {
    const n = this.stats.length;
    const b = Buffer.alloc(16 + n * (100 + CHARTS_RANGES * CHARTS_LENGTH * 8));
    b.writeUInt32BE(CHARTS_FILE_VERSION, 0);
    b.writeUInt32BE(CHARTS_LENGTH, 4);
    b.writeUInt32BE(n, 8);
    b.writeUInt32BE(this.timepoint[0]! >>> 0, 12);
    // Each ring is laid out as u32 pairs in a scratch array, turned big-endian by one swap32.
    const words = new Uint32Array(2 * CHARTS_LENGTH);
    const bytes = Buffer.from(words.buffer);
    let o = 16;
    for (let s = 0; s < n; s++) {
      b.write(this.stats[s]!.name.slice(0, 100), o, 'latin1');
      o += 100;
      for (let r = 0; r < CHARTS_RANGES; r++) {
        const t = this.ring(s, r);
        const p = this.pointers[r]! + 1;
        for (let k = 0; k < CHARTS_LENGTH; k++) {
          const v = t[(p + k) & (CHARTS_LENGTH - 1)]!;
          if (Number.isNaN(v)) {
            words[2 * k] = 0xffffffff;
            words[2 * k + 1] = 0xffffffff;
          } else {
            const x = v > 0 ? Math.round(v) : 0;
            words[2 * k] = Math.floor(x / 0x100000000);
            words[2 * k + 1] = x % 0x100000000;
          }
        }
        if (LITTLE_ENDIAN) bytes.swap32();
        bytes.copy(b, o);
        o += bytes.length;
      }
    }
    return b;
  }

  /**
   * Loads stats.mfs contents (charts_load) into a store that has not started yet: statistics are
   * matched by name (unknown ones skipped), rings of another length are cut or padded at the old end.
   */
  load(b: Buffer): ChartsLoadResult {
    if (b.length < 16) return { ok: false, error: 'file too short' };
    if (b.readUInt32BE(0) !== CHARTS_FILE_VERSION) return { ok: false, error: 'unrecognized charts data file format' };
    const fleng = b.readUInt32BE(4);
    const fcharts = b.readUInt32BE(8);
    const tp = b.readUInt32BE(12);
    const per = 100 + CHARTS_RANGES * fleng * 8;
    if (b.length < 16 + fcharts * per) return { ok: false, error: `truncated (${b.length} bytes for ${fcharts} charts of ${fleng} entries)` };
    const words = new Uint32Array(2 * CHARTS_LENGTH);
    const bytes = Buffer.from(words.buffer);
    let loaded = 0;
    let o = 16;
    for (let c = 0; c < fcharts; c++) {
      const raw = b.subarray(o, o + 100);
      const z = raw.indexOf(0);
      const name = raw.subarray(0, z < 0 ? 100 : z).toString('latin1');
      o += 100;
      const s = this.stats.findIndex((d) => d.name === name);
      if (s < 0) {
        o += CHARTS_RANGES * fleng * 8;
        continue;
      }
      loaded++;
      for (let r = 0; r < CHARTS_RANGES; r++) {
        const t = this.ring(s, r);
        t.fill(NaN);
        const keep = Math.min(fleng, CHARTS_LENGTH);
        const from = o + (fleng - keep) * 8;
        b.copy(bytes, 0, from, from + keep * 8);
        if (LITTLE_ENDIAN) bytes.swap32();
        for (let i = 0, k = CHARTS_LENGTH - keep; k < CHARTS_LENGTH; k++, i += 2) {
          const hi = words[i]!;
          const lo = words[i + 1]!;
          t[k] = hi === 0xffffffff && lo === 0xffffffff ? NaN : hi * 0x100000000 + lo;
        }
        o += fleng * 8;
      }
    }
    for (let r = 0; r < CHARTS_RANGES; r++) this.pointers[r] = CHARTS_LENGTH - 1;
    this.setTimepoints(tp);
    return { ok: true, loaded };
  }

  /** The current entry's number per range (for tests and the PNG's time axis). */
  timepoints(): readonly number[] {
    return this.timepoint;
  }

  /**
   * CLTOAN_CHART (charts_make_png), drawn simply: the chart's columns as stacked bars (three blues,
   * oldest at the left) on white, grey where there is no data, axes, horizontal guide lines with
   * their values in the chart's unit (per second, bits, percent... as charts_data_multiplier
   * scales them), and the times of full hours (or days) under the axis, in a small font of our own. Sizes are clamped like MooseFS's (plot 100..4096 x 100..1000, height a multiple of 20,
   * 50 x 20 pixels of margin); 0 x 0 gives the default 1000 x 120. An unknown chart gives a 1x1 image.
   */
  png(chartid: number, width = 0, height = 0): Buffer {
    const ref = this.decodeId(chartid);
    if (!ref) return PNG_1X1;
    if (width === 0 && height === 0) {
      width = 950 + XADD;
      height = 100 + YADD;
    }
    height = Math.max(MINHEIGHT + YADD, Math.min(MAXHEIGHT + YADD, height));
    height -= (height - YADD) % 20;
    width = Math.max(MINLENG + XADD, Math.min(CHARTS_LENGTH + XADD, width));
    const pw = width - XADD;
    const ph = height - YADD;
    const cols = this.columns(ref, pw);
    let max = 0;
    for (let i = 0; i < pw; i++) {
      let d = 0;
      for (const c of cols) if (!Number.isNaN(c[i]!)) d += c[i]!;
      if (d > max) max = d;
    }
    const img = Buffer.alloc((width + 1) * height); // each row: filter byte 0, then palette indexes
    const put = (x: number, y: number, c: number): void => {
      img[y * (width + 1) + 1 + x] = c;
    };
    for (let i = 0; i < pw; i++) {
      const x = XPOS + i;
      const none = cols.every((c) => Number.isNaN(c[i]!));
      for (let y = 0; y < ph; y++) put(x, YPOS + y, none ? COLOR_NODATA : COLOR_BKG);
      if (none || max <= 0) continue;
      let base = 0;
      cols.forEach((c, k) => {
        const v = c[i]!;
        if (Number.isNaN(v) || v <= 0) return;
        const top = Math.round(((base + v) / max) * ph);
        for (let y = Math.round((base / max) * ph); y < top; y++) put(x, YPOS + ph - 1 - y, COLOR_DATA + k);
        base += v;
      });
    }
    const text = (x: number, y: number, str: string): void => {
      for (const ch of str) {
        const g = GLYPHS[ch];
        if (g) for (let r = 0; r < 5; r++) for (let c = 0; c < 3; c++) if ((g[r]! >> (2 - c)) & 1 && x + c >= 0 && x + c < width) put(x + c, y + r, COLOR_TEXT);
        x += 4;
      }
    };
    const unit = this.unit(ref);
    for (let y = 0; y <= ph; y += 20) {
      for (let x = XPOS; x < XPOS + pw; x += 2) put(x, YPOS + ph - y, COLOR_AUX);
      const label = humanize(((max * y) / ph) * unit.mul) + (unit.percent ? '%' : '');
      text(XPOS - 4 - 4 * label.length, Math.max(0, YPOS + ph - y - 2), label);
    }
    for (let y = YPOS - 3; y <= YPOS + ph + 2; y++) put(XPOS - 1, y, COLOR_AXIS);
    for (let x = XPOS - 3; x < XPOS + pw + 3; x++) put(x, YPOS + ph, COLOR_AXIS);
    const rsec = CHARTS_RANGE_SECONDS[ref.range]!;
    const every = [3600, 6 * 3600, 86400, 86400][ref.range]!;
    for (let i = 0; i < pw; i++) {
      const t = (this.timepoint[ref.range]! - (pw - 1 - i)) * rsec; // local time, seconds
      if (t % every !== 0 || (ref.range === 3 && new Date(t * 1000).getUTCDate() !== 1)) continue;
      const d = new Date(t * 1000);
      const two = (n: number) => String(n).padStart(2, '0');
      const label = ref.range < 2 ? `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}` : `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
      for (let y = YPOS + ph + 1; y <= YPOS + ph + 3; y++) put(XPOS + i, y, COLOR_AXIS);
      text(XPOS + i - 2 * label.length, YPOS + ph + 6, label);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 3; // indexed colour
    const trns = Buffer.from([0]); // palette entry 0 is transparent
    return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('PLTE', PALETTE), pngChunk('tRNS', trns), pngChunk('IDAT', deflateSync(img, { level: 1 })), pngChunk('IEND', Buffer.alloc(0))]);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const XPOS = 43;
const YPOS = 6;
const XADD = 50;
const YADD = 20;
const MINLENG = 100;
const MINHEIGHT = 100;
const MAXHEIGHT = 1000;
/** A 3x5 font of our own for the scale and the times: rows top to bottom, 3 bits each. */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  ':': [0, 2, 0, 2, 0],
  '-': [0, 0, 7, 0, 0],
  '%': [5, 1, 2, 4, 5],
  u: [0, 5, 5, 5, 7],
  m: [0, 6, 7, 5, 5],
  k: [4, 5, 6, 5, 5],
  M: [5, 7, 7, 5, 5],
  G: [7, 4, 5, 5, 7],
  T: [7, 2, 2, 2, 2],
  P: [7, 5, 7, 4, 4],
};

/** A scale value in at most 4 digits and an SI prefix: 0, 950, 1.25k, 12.5M, 3.00m. */
function humanize(v: number): string {
  if (!(v > 0)) return '0';
  const prefixes = ['u', 'm', '', 'k', 'M', 'G', 'T', 'P'];
  let p = 2;
  while (v >= 999.5 && p < prefixes.length - 1) {
    v /= 1000;
    p++;
  }
  while (v < 1 && p > 0) {
    v *= 1000;
    p--;
  }
  const n = v >= 99.5 ? v.toFixed(0) : v >= 9.95 ? v.toFixed(1) : v.toFixed(2);
  return n + prefixes[p];
}

const COLOR_BKG = 1;
const COLOR_AXIS = 2;
const COLOR_AUX = 3;
const COLOR_NODATA = 4;
const COLOR_DATA = 5;
const COLOR_TEXT = 8;
const PALETTE = Buffer.from([
  0xff, 0xff, 0xff, // transparent
  0xff, 0xff, 0xff, // chart background
  0x00, 0x00, 0x00, // axes
  0x00, 0x00, 0x00, // guide lines
  0xc0, 0xc0, 0xc0, // no data
  0x04, 0xec, 0xf1, // first colour
  0x23, 0x86, 0xb4, // second
  0x15, 0x2f, 0x5f, // third
  0x5f, 0x20, 0x00, // text
]);
const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

function pngChunk(type: string, data: Buffer): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  data.copy(b, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
  return b;
}

/** A fully transparent 1x1 image, what MooseFS answers for an unknown chart. */
export const PNG_1X1: Buffer = (() => {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 4, 0, 0, 0]); // 8-bit grey + alpha
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.from([0, 0, 0]))), pngChunk('IEND', Buffer.alloc(0))]);
})();

/** ANTOCL_CHART for a decoded CLTOAN_CHART (matoclserv_chart / csserv_chart). */
export function chartPacket(store: ChartStore, req: ValueOf<typeof CltoanChart>): Buffer {
  return AntoclChart.encode({ png: req.$v === 'sized' ? store.png(req.chartid, req.width, req.height) : store.png(req.chartid) });
}

/** ANTOCL_CHART_DATA for a decoded CLTOAN_CHART_DATA (no maxentries = all 4096). */
export function chartDataPacket(store: ChartStore, req: ValueOf<typeof CltoanChartData>): Buffer {
  const d = store.chartData(req.chartid, req.$v === 'limited' ? req.maxentries : CHARTS_LENGTH);
  return d ? AntoclChartData.encode({ $v: 'data', timestamp: d.timestamp, values: d.values }) : AntoclChartData.encode({ $v: 'none' });
}

/** ANTOCL_MONOTONIC_DATA: every statistic's total, then (chunkservers) the disks' part. */
export function monotonicPacket(store: ChartStore, disks: Buffer = Buffer.alloc(0)): Buffer {
  const values = Array.from(store.monotonic, (v) => BigInt(Math.min(Math.round(v), Number.MAX_SAFE_INTEGER)));
  return AntoclMonotonicData.encode({ values, disks });
}

export interface ChartsDataOptions {
  stats: readonly StatDef[];
  estats?: readonly EStatDef[];
  /** Where stats.mfs (or csstats.mfs) lives; undefined keeps nothing on disk. */
  file?: string;
  /** Fills the gauges of the minute that ended (cpu, memory, space...) into `data` (NaN = none). */
  sample(data: Float64Array): void;
  /** Indexes of the statistics counted in `counters` (moved into the minute's figures, then zeroed). */
  counted: readonly number[];
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** Clock, seconds (tests). */
  now?: () => number;
}

/**
 * A daemon's charts (chartsdata.c): counters the daemon bumps as things happen, a refresh on every
 * minute boundary that turns them and the sampled gauges into that minute's figures, stats.mfs
 * loaded at start, written every hour (at half past the minute 30 s in, like MooseFS) and at stop.
 * The timers are unref'ed and the file is written asynchronously.
 */
export class ChartsData {
  readonly store: ChartStore;
  /** Bumped on the hot paths: `counters[STAT]++` / `+= bytes`. */
  readonly counters: Float64Array;
  private timer: NodeJS.Timeout | undefined;
  private storeTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ChartsDataOptions) {
    this.store = new ChartStore(opts.stats, opts.estats ?? []);
    this.counters = new Float64Array(opts.stats.length);
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  /** Loads the file (a missing or foreign file gives empty charts) and starts the minute timer. */
  async start(): Promise<void> {
    if (this.opts.file) {
      try {
        const r = this.store.load(await readFile(this.opts.file));
        if (r.ok) this.opts.log?.info({ file: this.opts.file, charts: r.loaded }, 'stats file has been loaded');
        else this.opts.log?.warn({ file: this.opts.file, err: r.error }, 'charts data file not used - initializing empty charts');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') this.opts.log?.info({ file: this.opts.file }, 'no charts data file - initializing empty charts');
        else this.opts.log?.warn({ file: this.opts.file, err: (e as Error).message }, 'error reading charts data file');
      }
    }
    this.store.start(Math.floor(this.now()));
    this.schedule();
  }

  private schedule(): void {
    const ms = (60 - (this.now() % 60)) * 1000;
    this.timer = setTimeout(() => {
      this.refresh(Math.round(this.now()) - 60);
      this.schedule();
    }, Math.max(1, ms));
    this.timer.unref();
    if (this.opts.file && !this.storeTimer) {
      const first = ((3600 + 30 - (this.now() % 3600)) % 3600) * 1000;
      this.storeTimer = setTimeout(() => {
        void this.save();
        this.storeTimer = setInterval(() => void this.save(), 3600_000);
        this.storeTimer.unref();
      }, first || 3600_000);
      this.storeTimer.unref();
    }
  }

  /** The figures of the minute holding `unixS` (chartsdata_refresh). */
  refresh(unixS: number): void {
    const data = new Float64Array(this.opts.stats.length).fill(NaN);
    for (const i of this.opts.counted) {
      data[i] = this.counters[i]!;
      this.counters[i] = 0;
    }
    try {
      this.opts.sample(data);
    } catch (e) {
      this.opts.log?.warn({ err: (e as Error).message }, 'charts sample failed');
    }
    this.store.add(data, unixS);
  }

  /** Writes the file (via a temporary file, so a crash never leaves half of it). */
  save(): Promise<void> {
    const file = this.opts.file;
    if (!file) return Promise.resolve();
    this.writing = this.writing.then(async () => {
      try {
        await writeFile(`${file}.tmp`, this.store.serialize());
        await rename(`${file}.tmp`, file);
      } catch (e) {
        // A full disk: the partial .tmp goes, so it does not hold the space the metadata needs.
        await rm(`${file}.tmp`, { force: true }).catch(() => undefined);
        this.opts.log?.warn({ file, err: (e as Error).message }, 'error writing charts data file');
      }
    });
    return this.writing;
  }

  /** chartsdata_term: the last (partial) minute, then the file. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.storeTimer);
    clearInterval(this.storeTimer);
    this.timer = this.storeTimer = undefined;
    this.refresh(Math.round(this.now()) - 60);
    await this.save();
  }
}

/** CPU used since the last call, as chartsdata.c records it: microseconds per minute of wall time. */
export class CpuSampler {
  private last = process.cpuUsage();
  private at = process.hrtime.bigint();

  sample(): { user: number; sys: number } {
    const now = process.hrtime.bigint();
    const u = process.cpuUsage(this.last);
    this.last = process.cpuUsage();
    const us = Number(now - this.at) / 1000;
    this.at = now;
    if (us <= 0) return { user: 0, sys: 0 };
    return { user: Math.floor((u.user * 60e6) / us), sys: Math.floor((u.system * 60e6) / us) };
  }
}

/**
 * Resident and virtual memory of this process in bytes (mem_used: /proc/self/statm, a procfs read
 * that never waits on a disk), undefined where there is no /proc.
 */
export function memoryUsage(): { rss: number; virt: number } | undefined {
  try {
    const [size, resident] = readFileSync('/proc/self/statm', 'latin1').split(' ').map(Number);
    if (!Number.isFinite(size) || !Number.isFinite(resident)) return undefined;
    return { rss: resident! * 4096, virt: size! * 4096 };
  } catch {
    return undefined;
  }
}

/** Where a daemon keeps its own cpu and memory statistics (their numbers in its chartsdefs.h). */
export interface ProcessStatSlots {
  ucpu: number;
  scpu: number;
  rss: number;
  virt: number;
}

/** Samples this process's cpu and memory into a daemon's minute figures (both daemons' chartsdata.c do). */
export class ProcessSampler {
  private readonly cpu = new CpuSampler();
  constructor(private readonly slots: ProcessStatSlots) {}

  sample(d: Float64Array): void {
    const c = this.cpu.sample();
    if (c.user > 0 || c.sys > 0) {
      d[this.slots.ucpu] = c.user;
      d[this.slots.scpu] = c.sys;
    }
    const m = memoryUsage();
    if (m) {
      d[this.slots.rss] = m.rss;
      d[this.slots.virt] = m.virt;
    }
  }
}
