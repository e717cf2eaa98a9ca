// The real MooseFS CGI monitor (Debian's moosefs-cgi, /usr/share/moosefs-cgi/mfs.cgi, run as a CGI
// program with QUERY_STRING) against our master, our chunkserver and our metalogger, side by side
// with the same monitor against a real cluster: every section renders without the monitor's
// "Oops!" traceback, shows the same tables, and names our servers, sessions and metalogger.
import { existsSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { type Host, type Impl, type Lab, type Master } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

const CGI = '/usr/share/moosefs-cgi/mfs.cgi';
/** The sections mfs.cgi offers for a 3.0 master (the "sectiondef" of mfs.cgi for masters >= 2.1). */
const SECTIONS = ['IN', 'CS', 'HD', 'EX', 'MS', 'MO', 'RS', 'QU'];

async function cgi(host: Host, master: Master, query: Record<string, string>): Promise<string> {
  const qs = new URLSearchParams({ masterhost: master.addr, masterport: String(master.ports.cl), ...query }).toString();
  const r = await host.exec(['python3', CGI], {
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
}

async function cluster(lab: Lab, impl: Impl, n: string): Promise<Side> {
  const master = await lab.startMaster({ host: `m${n}`, impl });
  const cs = await lab.startChunkserver({ host: `c${n}`, master, impl });
  const ml = await lab.startMetalogger({ host: `c${n}`, master, impl });
  await master.waitChunkservers(1);
  const mnt = await lab.mount({ host: `c${n}`, master });
  writeFileSync(mnt.path('seen-by-the-monitor.txt'), 'hello');
  return { master, client: lab.host(`c${n}`), csAddr: `${cs.host.ip}:${cs.port}`, mlAddr: ml.host.ip };
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
    });
  });
});
