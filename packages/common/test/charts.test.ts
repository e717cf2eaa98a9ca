import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gunzipSync, inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import {
  CHARTS_LENGTH,
  CHARTS_MODE_ADD,
  CHARTS_MODE_MAX,
  CHARTS_NODATA,
  CHARTS_SCALE_NONE,
  ChartStore,
  ChartsData,
  PNG_1X1,
  chartDataPacket,
  monotonicPacket,
  strid,
  type StatDef,
} from '../src/charts.js';

const def = (name: string, id: string, mode: number): StatDef => ({
  name,
  statid: strid(id),
  mode: mode as StatDef['mode'],
  percent: 0,
  scale: CHARTS_SCALE_NONE,
  multiplier: 1,
  divisor: 1,
});
const STATS = [def('ops', 'OPSX', CHARTS_MODE_ADD), def('mem', 'MEMX', CHARTS_MODE_MAX)];
const ESTATS = [{ name: 'both', statid: strid('BOTH'), sources: [{ stat: 0 }, { stat: 1 }], mode: CHARTS_MODE_ADD as 0 }];
/** A UTC minute boundary, with the zone offset the store applies (local time, as MooseFS counts). */
const T0 = 1_800_000_000 - (1_800_000_000 % 86400);
const LOCAL = -new Date(T0 * 1000).getTimezoneOffset() * 60;
const N = Number(CHARTS_NODATA);
const vals = (s: ChartStore, id: number, n: number) => s.chartData(id, n)!.values.map((v) => (v === CHARTS_NODATA ? N : Number(v)));

function started(): ChartStore {
  const s = new ChartStore(STATS, ESTATS);
  s.start(T0);
  return s;
}

describe('ChartStore (mfscommon/charts.c rings)', () => {
  it('joins figures of one minute by adding (counters) or keeping the largest (gauges)', () => {
    const s = started();
    s.add([3, 100], T0 + 1);
    s.add([4, 50], T0 + 59);
    expect(vals(s, 0, 2)).toEqual([7, N]);
    expect(vals(s, 10, 2)).toEqual([100, N]);
    expect(s.chartData(0, 1)!.timestamp).toBe(T0 + LOCAL);
  });

  it('rolls over each minute, newest first, with no-data entries for skipped minutes', () => {
    const s = started();
    s.add([1, 10], T0);
    s.add([2, 20], T0 + 60);
    s.add([5, 50], T0 + 4 * 60 + 30);
    expect(vals(s, 0, 6)).toEqual([5, N, N, 2, 1, N]);
    expect(vals(s, 10, 5)).toEqual([50, N, N, 20, 10]);
    expect(s.chartData(0, 1)!.timestamp).toBe(T0 + LOCAL + 4 * 60);
    // figures that arrive late go to their own minute
    s.add([7, 0], T0 + 2 * 60);
    expect(vals(s, 0, 4)).toEqual([5, N, 7, 2]);
  });

  it('keeps the medium, long and very long ranges by 6 minutes, 30 minutes and days', () => {
    const s = started();
    for (let m = 0; m < 7; m++) s.add([1, m], T0 + m * 60);
    // medium range (chart id stat*10 + 1): minutes 0..5 in one entry, minute 6 in the next
    expect(vals(s, 1, 2)).toEqual([1, 6]);
    expect(vals(s, 11, 2)).toEqual([6, 5]);
    expect(s.chartData(1, 1)!.timestamp % 360).toBe(0);
    expect(vals(s, 2, 1)).toEqual([7]);
    expect(vals(s, 3, 1)).toEqual([7]);
    expect(s.chartData(3, 1)!.timestamp % 86400).toBe(0);
    s.add([1, 1], T0 + 86400);
    expect(vals(s, 3, 2)).toEqual([1, 7]);
  });

  it('decodes chart ids like charts_statid_converter and has no data form for composite charts', () => {
    const s = started();
    expect(s.decodeId(11)).toEqual({ type: 1, range: 1 });
    expect(s.decodeId(1003)).toEqual({ type: 100, range: 3 });
    expect(s.decodeId(24)).toBeUndefined(); // range 4
    expect(s.decodeId(30)).toBeUndefined(); // no statistic 3
    expect(s.decodeId(strid('MEMX'))).toEqual({ type: 1, range: 0 });
    expect(s.decodeId(strid('mEMX'))).toBeUndefined(); // a lower-case first letter is range bit 3: 8, none
    expect(s.decodeId(strid('MEMx'))).toEqual({ type: 1, range: 1 });
    expect(s.decodeId(strid('BOtH'))).toEqual({ type: 100, range: 2 });
    expect(s.chartData(1000)).toBeUndefined();
    expect(s.chartData(0, 0xffffffff)!.values.length).toBe(CHARTS_LENGTH);
  });

  it('answers ANTOCL_CHART_DATA in the charts_makedata layout', () => {
    const s = started();
    s.add([0x123456789, 0], T0);
    s.add([2, 0], T0 + 60);
    const p = chartDataPacket(s, { $v: 'limited', chartid: 0, maxentries: 3 });
    const want = Buffer.alloc(8 + 8 + 24);
    want.writeUInt32BE(507, 0);
    want.writeUInt32BE(8 + 24, 4);
    want.writeUInt32BE(T0 + LOCAL + 60, 8);
    want.writeUInt32BE(3, 12);
    want.writeBigUInt64BE(2n, 16);
    want.writeBigUInt64BE(0x123456789n, 24);
    want.writeBigUInt64BE(0xffffffffffffffffn, 32);
    expect(p.toString('hex')).toBe(want.toString('hex'));
    expect(chartDataPacket(s, { $v: 'id', chartid: 1000 }).toString('hex')).toBe('000001fb00000000');
    expect(chartDataPacket(s, { $v: 'id', chartid: 0 }).length).toBe(16 + 8 * CHARTS_LENGTH);
  });

  it('answers ANTOCL_MONOTONIC_DATA with every statistic total', () => {
    const s = started();
    s.add([5, 7], T0);
    s.add([6, NaN], T0 + 60);
    expect(monotonicPacket(s).toString('hex')).toBe('000001f7000000120002' + '000000000000000b' + '0000000000000007');
  });

  it('writes stats.mfs in the charts_store layout and loads it back', () => {
    const s = started();
    for (let m = 0; m < 20; m++) s.add([m, 1000 - m], T0 + m * 60);
    const b = s.serialize();
    expect(b.length).toBe(16 + STATS.length * (100 + 4 * CHARTS_LENGTH * 8));
    expect(b.subarray(0, 12).toString('hex')).toBe('00010000' + '00001000' + '00000002');
    expect(b.readUInt32BE(12)).toBe((T0 + LOCAL) / 60 + 19);
    expect(b.subarray(16, 22).toString('latin1')).toBe('ops\0\0\0');
    // the newest short-range entry is the last of the first ring
    expect(b.readBigUInt64BE(16 + 100 + (CHARTS_LENGTH - 1) * 8)).toBe(19n);
    const t = new ChartStore(STATS, ESTATS);
    expect(t.load(b)).toEqual({ ok: true, loaded: 2 });
    for (const id of [0, 1, 2, 3, 10, 11, 12, 13]) expect(t.chartData(id)).toEqual(s.chartData(id));
    t.start(T0 + 21 * 60);
    expect(vals(t, 0, 3)).toEqual([N, N, 19]);
    // unknown statistics are skipped, a foreign header refused
    const other = new ChartStore([def('mem', 'MEMX', CHARTS_MODE_MAX)]);
    expect(other.load(b)).toEqual({ ok: true, loaded: 1 });
    expect(vals(other, 0, 2)).toEqual([981, 982]);
    expect(new ChartStore(STATS).load(Buffer.alloc(16)).ok).toBe(false);
    expect(new ChartStore(STATS).load(b.subarray(0, 1000)).ok).toBe(false);
  });

  it('loads the stats.mfs a real 3.0.117 mfsmaster wrote on stop', () => {
    // Written by `mfsmaster` (Debian 3.0.117) after about 9 minutes; the figures below are what the
    // same master answered to CLTOAN_CHART_DATA (maxentries 12) just before it was stopped. Its stop
    // adds the last partial minute to the newest entry, so that one is compared loosely.
    const real = gunzipSync(readFileSync(new URL('./fixtures/real-master-stats.mfs.gz', import.meta.url)));
    const names = Array.from({ length: real.readUInt32BE(8) }, (_, i) => {
      const raw = real.subarray(16 + i * (100 + 4 * 4096 * 8), 16 + i * (100 + 4 * 4096 * 8) + 100);
      return raw.subarray(0, raw.indexOf(0)).toString('latin1');
    });
    expect(names.slice(0, 6)).toEqual(['ucpu', 'scpu', 'delete', 'replicate', 'statfs', 'getattr']);
    const defs = names.map((n, i) => def(n, 'X' + String(i).padStart(3, '0'), ['memoryrss', 'memoryvirt', 'usedspace', 'totalspace'].includes(n) ? CHARTS_MODE_MAX : CHARTS_MODE_ADD));
    const s = new ChartStore(defs);
    expect(s.load(real)).toEqual({ ok: true, loaded: 38 });
    const live: Record<number, [number, number[]]> = {
      0: [1796133180, [49833, 58238, 57448, 61964, 76469, 38027]],
      10: [1796133180, [71703, 81689, 70814, 78946, 74407, 72889]],
      200: [1796133180, [217227264, 217227264, 217227264, 217227264, 217227264, 217227264]],
      210: [1796133180, [0, 0, 0, 0, 0, 0]],
      201: [1796132880, [217227264, 217227264, N, N, N, N]],
      203: [1796083200, [217227264, N, N, N, N, N]],
    };
    for (const [id, [ts, v]] of Object.entries(live)) {
      const d = s.chartData(Number(id), 6)!;
      expect(d.timestamp, `chart ${id}`).toBe(ts);
      const got = d.values.map((x) => (x === CHARTS_NODATA ? N : Number(x)));
      expect(got.slice(1), `chart ${id}`).toEqual(v.slice(1));
      expect(got[0]! >= v[0]!, `chart ${id}: newest entry`).toBe(true);
    }
  });

  it('draws a valid PNG of the requested size, and a 1x1 one for an unknown chart', () => {
    const s = started();
    for (let m = 0; m < 30; m++) s.add([m, 5], T0 + m * 60);
    for (const [id, w, h, ew, eh] of [
      [0, 0, 0, 1000, 120],
      [1000, 300, 131, 300, 120],
      [11, 20, 5000, 150, 1020],
    ] as const) {
      const png = s.png(id, w, h);
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      const chunks: Record<string, Buffer[]> = {};
      for (let o = 8; o < png.length; ) {
        const len = png.readUInt32BE(o);
        const type = png.subarray(o + 4, o + 8).toString('latin1');
        expect(png.readUInt32BE(o + 8 + len), `${type} crc`).toBe(crc32(png.subarray(o + 4, o + 8 + len)));
        (chunks[type] ??= []).push(png.subarray(o + 8, o + 8 + len));
        o += 12 + len;
      }
      expect(Object.keys(chunks)).toEqual(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);
      expect([chunks.IHDR![0]!.readUInt32BE(0), chunks.IHDR![0]!.readUInt32BE(4)]).toEqual([ew, eh]);
      const raw = inflateSync(Buffer.concat(chunks.IDAT!));
      expect(raw.length).toBe((ew + 1) * eh);
      // data colours are used somewhere (there is data in the last 30 minutes)
      expect(raw.some((px, i) => i % (ew + 1) !== 0 && px >= 5 && px <= 7)).toBe(true);
      // and the scale is lettered (text colour 8)
      expect(raw.includes(8)).toBe(true);
    }
    expect(s.png(24)).toBe(PNG_1X1);
    expect(PNG_1X1.subarray(16, 24).toString('hex')).toBe('0000000100000001');
  });
});

describe('ChartsData (chartsdata.c)', () => {
  it('rolls the counters into the charts on every minute boundary, by a timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      vi.setSystemTime((T0 + 10) * 1000);
      const c = new ChartsData({ stats: STATS, counted: [0], sample: (d) => void (d[1] = 7) });
      await c.start();
      c.counters[0]! += 5;
      vi.advanceTimersByTime(49_000); // T0 + 59: the minute has not ended
      expect(vals(c.store, 0, 1)).toEqual([N]);
      vi.advanceTimersByTime(1_500); // T0 + 60.5: it has, its figures are in
      expect(c.counters[0]).toBe(0);
      expect(vals(c.store, 0, 2)).toEqual([5, N]);
      c.counters[0]! += 2;
      vi.advanceTimersByTime(60_000);
      expect(vals(c.store, 0, 3)).toEqual([2, 5, N]);
      expect(vals(c.store, 10, 2)).toEqual([7, 7]);
      await c.stop();
    } finally {
      vi.useRealTimers();
    }
  });


  it('moves counters and samples into the minute, and keeps stats.mfs across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charts-'));
    try {
      let now = T0 + 10;
      const file = join(dir, 'stats.mfs');
      const mk = () =>
        new ChartsData({ stats: STATS, file, counted: [0], now: () => now, sample: (d) => void (d[1] = 42) });
      const a = mk();
      await a.start();
      a.counters[0]! += 3;
      a.refresh(T0);
      expect(a.counters[0]).toBe(0);
      a.counters[0]!++;
      now = T0 + 130;
      await a.stop(); // the last (partial) minute goes in too
      expect(vals(a.store, 0, 2)).toEqual([1, 3]);
      expect(vals(a.store, 10, 2)).toEqual([42, 42]);
      expect((await readFile(file)).length).toBe(a.store.serialize().length);
      const b = mk();
      now = T0 + 190;
      await b.start();
      expect(vals(b.store, 0, 4)).toEqual([N, N, 1, 3]);
      await b.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
