import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CLTOAN_CHART, CLTOAN_CHART_DATA, CLTOAN_MONOTONIC_DATA, CLTOCS_READ, CSTOCL_READ_STATUS, ANTOCL_CHART, ANTOCL_CHART_DATA, ANTOCL_MONOTONIC_DATA, MFS_STATUS_OK } from '@mfs-ts/protocol';
import { CHARTS_NODATA } from '@mfs-ts/common';
import { createChunk } from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { CHUNKSERVER_STATS, CS_CSSERVIN, CS_CSSERVOUT, CS_DATABYTESR, CS_DATALLOPR, CS_HLOPR, chunkserverCharts } from '../src/charts.js';
import { pattern } from './helpers.js';
import { pkt } from './wire.js';
import { useCsNodes } from './csnodes.js';

const B = 65536;
const { node, client } = useCsNodes();

describe("the chunkserver's charts (chartsdata.c) on the data port", () => {
  it('counts a read (high-level op, data bytes and ops, port traffic) and answers CLTOAN_CHART_DATA / _CHART / _MONOTONIC_DATA', async () => {
    let hdd: HddSpaceMgr | undefined;
    const charts = chunkserverCharts({ hdd: () => hdd, jobs: () => 0 });
    await charts.start();
    try {
      const n = await node(undefined, { charts });
      hdd = n.hdd;
      expect(await createChunk(n.hdd, 0x42, 1)).toBe(MFS_STATUS_OK);
      const c = n.hdd.get(0x42)!;
      await c.exclusive(() => c.ioBegin());
      const block = pattern(B, 3);
      expect(await c.exclusive(() => c.write(1, 0, 0, B, block, 0, crc32(block)))).toBe(0);
      await c.exclusive(() => c.ioEnd());
      charts.refresh(Date.now() / 1000); // what was written before does not count as read below

      const w = await client(n.port);
      w.send(pkt(CLTOCS_READ, ['u8', 1], ['u64', 0x42], ['u32', 1], ['u32', 0], ['u32', B]));
      for (let p = await w.next(); p.type !== CSTOCL_READ_STATUS; p = await w.next()) expect(p.data.length).toBeGreaterThan(20);
      charts.refresh(Date.now() / 1000);

      const recent = async (stat: number): Promise<number> => {
        w.send(pkt(CLTOAN_CHART_DATA, ['u32', stat * 10], ['u32', 2]));
        const p = await w.next();
        expect(p.type).toBe(ANTOCL_CHART_DATA);
        expect(p.data.length).toBe(8 + 2 * 8);
        expect(p.data.readUInt32BE(4)).toBe(2);
        let sum = 0;
        for (let i = 0; i < 2; i++) {
          const v = p.data.readBigUInt64BE(8 + 8 * i);
          if (v !== CHARTS_NODATA) sum += Number(v);
        }
        return sum;
      };
      expect(await recent(CS_HLOPR)).toBe(1);
      expect(await recent(CS_DATABYTESR)).toBeGreaterThanOrEqual(B);
      expect(await recent(CS_DATALLOPR)).toBeGreaterThanOrEqual(1);
      expect(await recent(CS_CSSERVIN)).toBe(8 + 21);
      expect(await recent(CS_CSSERVOUT)).toBeGreaterThan(B);

      w.send(pkt(CLTOAN_CHART, ['u32', 1030], ['u16', 300], ['u16', 120])); // hddread, short range
      const png = await w.next();
      expect(png.type).toBe(ANTOCL_CHART);
      expect(png.data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      w.send(pkt(CLTOAN_MONOTONIC_DATA));
      const mono = await w.next();
      expect(mono.type).toBe(ANTOCL_MONOTONIC_DATA);
      expect(mono.data.readUInt16BE(0)).toBe(CHUNKSERVER_STATS.length);
      expect(mono.data.readBigUInt64BE(2 + 8 * CS_HLOPR)).toBe(1n);
      // then the disks (hdd_diskinfo_monotonic_data): count, and per disk its entry with one stats
      // block of everything since start (bytes read at 34 + path, written 8 further)
      const d = mono.data.subarray(2 + 8 * CHUNKSERVER_STATS.length);
      expect(d.readUInt16BE(0)).toBe(1);
      const plen = d[4]!;
      expect(d.readUInt16BE(2)).toBe(34 + 64 + plen);
      expect(d.length).toBe(2 + 2 + 34 + 64 + plen);
      expect(Number(d.readBigUInt64BE(4 + 1 + plen + 33))).toBeGreaterThanOrEqual(B); // rbytes
      expect(Number(d.readBigUInt64BE(4 + 1 + plen + 33 + 8))).toBeGreaterThanOrEqual(B); // wbytes
      // an extended chart has no data form: an empty answer
      w.send(pkt(CLTOAN_CHART_DATA, ['u32', 1000], ['u32', 2]));
      expect((await w.next()).data.length).toBe(0);
    } finally {
      await charts.stop();
    }
  });
});
