// The real MooseFS CGI monitor (Debian's moosefs-cgi, /usr/share/moosefs-cgi/mfs.cgi, run as a CGI
// program with QUERY_STRING) against our master, our chunkserver and our metalogger, side by side
// with the same monitor against a real cluster: every section renders without the monitor's
// "Oops!" traceback, shows the same tables, and names our servers, sessions and metalogger.
// The charts ("MC" master charts, "CC" chunkserver charts): the pages render, chart.cgi gets a PNG
// from our master and chunkserver, and the real mfscli (the same program in text mode) reads our
// CLTOAN_CHART_DATA answers like the real daemons': same entries, same minutes, and after a
// workload non-zero getattr/lookup counts (master) and data bytes (chunkserver). The real master's
// stats.mfs, written when it stops, loads into our store with the figures it answered.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type Host, type Impl, type Lab, type Master, type Mount } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { ChartStore, CHARTS_NODATA } from '@mfs-ts/common';
import { MASTER_STATS } from '../../packages/master/src/charts.js';

const CGI = '/usr/share/moosefs-cgi/mfs.cgi';
const CHART_CGI = '/usr/share/moosefs-cgi/chart.cgi';
/** The sections mfs.cgi offers for a 3.0 master (the "sectiondef" of mfs.cgi for masters >= 2.1). */
const SECTIONS = ['IN', 'CS', 'HD', 'EX', 'MS', 'MO', 'RS', 'QU'];

async function cgi(host: Host, master: Master, query: Record<string, string>, script = CGI): Promise<string> {
  const qs = new URLSearchParams({ masterhost: master.addr, masterport: String(master.ports.cl), ...query }).toString();
  const r = await host.exec(['python3', script], {
    env: { ...process.env, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', QUERY_STRING: qs, SCRIPT_NAME: '/mfs.cgi' },
    timeoutMs: 30_000,
  });
  return r.stdout;
}

/** Table captions and column headers of a page: what an operator sees, without the figures. */
function shape(html: string): string[] {
  const heads = [...html.matchAll(/<th[^>]*>([^<]*)</g)].map((m) => m[1]!.trim()).filter((t) => t !== '');
  return [...new Set(heads)].sort();
}

interface Side {
  master: Master;
  client: Host;
  csAddr: string;
  mlAddr: string;
  mnt: Mount;
}

/**
 * The real mfscli's chart table (`-SMC` / `-SCC` in plain text): one row per entry, newest first,
 * the time then one column per asked chart ("-" = no data).
 */
async function chartRows(side: Side, args: string[]): Promise<string[][]> {
  const r = await side.client.exec(['mfscli', '-H', side.master.addr, '-P', String(side.master.ports.cl), '-s', '|', ...args], { timeoutMs: 30_000 });
  const isTime = (c: string) => /^\d{4}-\d\d-\d\d \d\d:\d\d$/.test(c);
  // rows: "Master chart data:|2026-12-01 14:02|12|-|..."
  return r.stdout
    .split('\n')
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((c) => c.slice(c.findIndex(isTime)))
    .filter((c) => c.length > 0 && isTime(c[0]!));
}
const minute = (t: string) => Date.parse(`${t.replace(' ', 'T')}:00Z`) / 1000;

async function cluster(lab: Lab, impl: Impl, n: string): Promise<Side> {
  const master = await lab.startMaster({ host: `m${n}`, impl });
  const cs = await lab.startChunkserver({ host: `c${n}`, master, impl });
  const ml = await lab.startMetalogger({ host: `c${n}`, master, impl });
  await master.waitChunkservers(1);
  const mnt = await lab.mount({ host: `c${n}`, master, options: ['mfscachemode=DIRECT'] });
  writeFileSync(mnt.path('seen-by-the-monitor.txt'), 'hello');
  // A little workload for the charts: lookups, getattrs, a 2 MiB write and its read.
  await mnt.sh('mkdir -p d && for i in 1 2 3 4 5; do echo $i > d/f$i; done; ls -l d >/dev/null; stat d/f1 >/dev/null; ' + 'dd if=/dev/urandom of=big bs=1M count=2 conv=fsync 2>/dev/null; cat big >/dev/null', { cwd: mnt.path() });
  return { master, client: lab.host(`c${n}`), csAddr: `${cs.host.ip}:${cs.port}`, mlAddr: ml.host.ip, mnt };
}

describeLab('the real CGI monitor (mfs.cgi) against our master, chunkserver and metalogger', () => {
  it('renders every section like it does for a real cluster, naming our servers', async () => {
    expect(existsSync(CGI), 'moosefs-cgi is installed by scripts/setup.sh').toBe(true);
    await withLab({ hosts: ['mr', 'cr', 'mo', 'co'] }, async (lab) => {
      const real = await cluster(lab, 'real', 'r');
      const ours = await cluster(lab, 'ts', 'o');
      for (const sections of SECTIONS) {
        const [r, o] = [await cgi(real.client, real.master, { sections }), await cgi(ours.client, ours.master, { sections })];
        expect(r, `real master, section ${sections}`).not.toContain('Oops!');
        expect(o, `our master, section ${sections}: ${o.match(/<pre>([\s\S]*?)<\/pre>/)?.[1] ?? ''}`).not.toContain('Oops!');
        expect(o).not.toMatch(/Can't connect|Traceback/);
        expect(shape(r).length, `real master, section ${sections}: a page with tables`).toBeGreaterThan(3);
        expect(shape(o), `section ${sections}: table headers`).toEqual(shape(r));
        if (process.env.MFS_CGI_DUMP) console.log(sections, shape(o).join(' | '));
      }
      const all = await cgi(ours.client, ours.master, { sections: SECTIONS.join('|') });
      expect(all).toContain(ours.csAddr.split(':')[0]); // Servers: our chunkserver
      expect(all).toContain(ours.mlAddr); // Servers: the metalogger list
      expect(all).toContain(ours.client.ip); // Mounts: the session of the mount

      // --- charts ---
      const t0 = Date.now();
      // (the server charts page draws a chunkserver's charts once one is chosen: CCdata=ip:port:1)
      for (const sections of ['MC', 'CC']) {
        const q = (s: Side): Record<string, string> => (sections === 'CC' ? { sections, CCdata: `${s.csAddr}:1` } : { sections });
        const [r, o] = [await cgi(real.client, real.master, q(real)), await cgi(ours.client, ours.master, q(ours))];
        expect(r, `real master, section ${sections}`).not.toContain('Oops!');
        expect(o, `our master, section ${sections}: ${o.match(/<pre>([\s\S]*?)<\/pre>/)?.[1] ?? ''}`).not.toContain('Oops!');
        expect(shape(o), `section ${sections}: table headers`).toEqual(shape(r));
        expect(o).toContain('chart.cgi?host=');
      }
      // The images the pages point at: cpu (1000) of the master, data read (1030) of the chunkserver.
      for (const [host, port, id] of [
        [ours.master.addr, ours.master.ports.cl, 1000],
        [ours.csAddr.split(':')[0]!, Number(ours.csAddr.split(':')[1]), 1030],
        [real.master.addr, real.master.ports.cl, 1000],
      ] as const) {
        const png = await cgi(ours.client, ours.master, { host, port: String(port), id: String(id), width: '400', height: '140' }, CHART_CGI);
        expect(png, `chart.cgi ${host}:${port} id ${id}`).toMatch(/^Content-Type: image\/png/);
        expect(png).toContain('PNG');
      }
      // Chart data through the real mfscli: the figures of a minute appear once it has ended (both
      // daemons roll their charts over on the minute), so wait for the one the workload ran in.
      const mc = ['-SMC', '-a', '5', '-b', '+getattr,+lookup,+brcvd,memoryrss'];
      const cc = (s: Side) => ['-SCC', '-c', '5', '-d', `${s.csAddr}:+databytesw,${s.csAddr}:+databytesr,${s.csAddr}:+hlopw`];
      // no data: "-" (master charts) or the raw marker (chunkserver charts print it as a number)
      const num = (c: string | undefined) => (c === undefined || c === '-' || c === String(CHARTS_NODATA) ? 0 : Number(c));
      const tWait = Date.now();
      let [om, oc] = [await chartRows(ours, mc), await chartRows(ours, cc(ours))];
      for (const deadline = Date.now() + 75_000; Date.now() < deadline; ) {
        if (om.slice(0, 2).some((row) => num(row[1]) > 0) && oc.slice(0, 2).some((row) => num(row[1]) > 0)) break;
        await new Promise((r) => setTimeout(r, 2000)); // the charts change once a minute; nothing to ask meanwhile
        [om, oc] = [await chartRows(ours, mc), await chartRows(ours, cc(ours))];
      }
      const [rm, rc] = [await chartRows(real, mc), await chartRows(real, cc(real))];
      if (process.env.MFS_CGI_DUMP) console.log({ om, rm, oc, rc, waitedForMinuteS: (Date.now() - tWait) / 1000 });
      for (const [o, r, what] of [
        [om, rm, 'master'],
        [oc, rc, 'chunkserver'],
      ] as const) {
        expect(o.length, `${what} chart entries`).toBe(5);
        expect(o.length, `${what} chart entries`).toBe(r.length);
        expect(o[0]!.length, `${what} chart columns`).toBe(r[0]!.length);
        // one entry a minute, newest first, the same minutes as the real daemon's (give or take the
        // minute that may have ended between the two questions)
        expect(o.map((row) => minute(row[0]!) - minute(o[0]![0]!))).toEqual([0, -60, -120, -180, -240]);
        expect(Math.abs(minute(o[0]![0]!) - minute(r[0]![0]!))).toBeLessThanOrEqual(60);
      }
      const recent = (rows: string[][], col: number) => rows.slice(0, 2).reduce((a, row) => a + num(row[col]), 0);
      expect(recent(om, 1), `our getattr counts: ${JSON.stringify(om)}`).toBeGreaterThan(0);
      expect(recent(om, 2), 'our lookup counts').toBeGreaterThan(0);
      expect(recent(om, 3), 'our received bytes').toBeGreaterThan(0);
      expect(om[0]![4], 'our memory (rss)').toMatch(/[KMG]i?B?/);
      expect(recent(oc, 1), `our chunkserver's written data bytes: ${JSON.stringify(oc)}`).toBeGreaterThanOrEqual(2 * 1024 * 1024);
      expect(recent(oc, 2), "our chunkserver's read data bytes").toBeGreaterThan(0);
      expect(recent(oc, 3), "our chunkserver's high-level writes").toBeGreaterThan(0);

      // stats.mfs: the real master writes it when it stops; our store reads it with the same figures.
      const before = await chartRows(real, ['-SMC', '-a', '4', '-b', '+lookup,+psent']);
      await real.mnt.unmount(); // (a mount left without its master makes the lab's teardown wait)
      await ours.mnt.unmount();
      await real.master.stop();
      const store = new ChartStore(MASTER_STATS);
      expect(store.load(readFileSync(join(real.master.dataPath, 'stats.mfs')))).toEqual({ ok: true, loaded: MASTER_STATS.length });
      // (a minute may have ended between the question and the stop: then the file has one more entry)
      const shift = (store.chartData(70, 1)!.timestamp - minute(before[0]![0]!)) / 60;
      expect([0, 1]).toContain(shift);
      const fig = (v: bigint) => (v === CHARTS_NODATA ? '-' : String(v));
      // lookup (7) and psent (22), short range: the newest entry the master answered was still
      // growing; the older ones are in the file as answered
      expect(store.chartData(70, 4 + shift)!.values.slice(1 + shift).map(fig)).toEqual(before.slice(1).map((row) => row[1]));
      expect(store.chartData(220, 4 + shift)!.values.slice(1 + shift).map(fig)).toEqual(before.slice(1).map((row) => row[2]));
      await ours.master.stop();
      const back = new ChartStore(MASTER_STATS);
      expect(back.load(readFileSync(join(ours.master.dataPath, 'stats.mfs')))).toEqual({ ok: true, loaded: MASTER_STATS.length });
      expect(back.chartData(50, 3)!.values.some((v) => v !== CHARTS_NODATA && v > 0n), 'our getattr counts kept in stats.mfs').toBe(true);
      if (process.env.MFS_CGI_DUMP) console.log('charts part', (Date.now() - t0) / 1000, 's');
    });
  });
});
