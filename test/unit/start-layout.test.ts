// The pieces of `npm start` (scripts/start/) that need no cluster: the cfg files it writes load
// cleanly with each daemon's real schema, and a port in use moves to a free one with a note naming it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCfgFile } from '@mfs-ts/common';
import { masterCfgSchema } from '@mfs-ts/master';
import { chunkserverSchema } from '@mfs-ts/chunkserver';
import { metaloggerCfgSchema } from '@mfs-ts/metalogger';
import { hddCfg, hddDir, isInitialised, layout, readPorts, writeConfigs } from '../../scripts/start/layout.js';
import { busyPorts, planPorts, portFree } from '../../scripts/start/ports.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('npm start: generated cfg files', () => {
  it('load with the daemons own schemas, without unknown keys, and say what the launcher chose', () => {
    const base = mkdtempSync(join(tmpdir(), 'mfs-start-cfg-'));
    dirs.push(base);
    const l = layout(base, '/repo');
    expect(isInitialised(l)).toBe(false);
    const ports = { ml: 19419, cs: 19420, cl: 19421, cs1: 19422, cs2: 19423 };
    writeConfigs(l, ports);
    expect(isInitialised(l)).toBe(true);
    expect(readPorts(l)).toEqual(ports);

    const m = loadCfgFile(masterCfgSchema, l.daemons.master.cfg, true);
    expect(m.unknown).toEqual([]);
    expect(m.warnings).toEqual([]);
    expect(m.values.ALLOW_LOOPBACK_CHUNKSERVERS).toBe(true);
    expect(m.values.MATOCL_LISTEN_HOST).toBe('127.0.0.1');
    expect(m.values.MATOCS_LISTEN_PORT).toBe('19420');
    expect(m.values.DATA_PATH).toBe(l.daemons.master.dataPath);
    expect(m.values.EXPORTS_FILENAME).toBe(l.exportsCfg);
    expect(readFileSync(join(l.daemons.master.dataPath, 'metadata.mfs'), 'latin1')).toBe('MFSM NEW');
    expect(readFileSync(l.exportsCfg, 'utf8')).toMatch(/^127\.0\.0\.1\t\/\trw,alldirs,admin,maproot=0:0$/m);

    for (const [role, port] of [['cs1', 19422], ['cs2', 19423]] as const) {
      const c = loadCfgFile(chunkserverSchema, l.daemons[role].cfg, true);
      expect(c.unknown).toEqual([]);
      expect(c.values.ALLOW_LOOPBACK_MASTER).toBe(true);
      expect(c.values.MASTER_HOST).toBe('127.0.0.1');
      expect(c.values.MASTER_PORT).toBe('19420');
      expect(c.values.CSSERV_LISTEN_PORT).toBe(String(port));
      expect(c.values.HDD_CONF_FILENAME).toBe(hddCfg(l, role));
      expect(readFileSync(hddCfg(l, role), 'utf8').split('\n').filter((x) => x && !x.startsWith('#'))).toEqual([hddDir(l, role)]);
    }
    expect(l.daemons.cs1.dataPath).not.toBe(l.daemons.cs2.dataPath);

    const ml = loadCfgFile(metaloggerCfgSchema, l.daemons.metalogger.cfg, true);
    expect(ml.unknown).toEqual([]);
    expect(ml.values.MASTER_PORT).toBe('19419');
  });

  it('keep a user edit: ports are read back from the files', () => {
    const base = mkdtempSync(join(tmpdir(), 'mfs-start-cfg-'));
    dirs.push(base);
    const l = layout(base, '/repo');
    writeConfigs(l, { ml: 9419, cs: 9420, cl: 9421, cs1: 9422, cs2: 9423 });
    const text = readFileSync(l.daemons.master.cfg, 'utf8').replace('MATOCL_LISTEN_PORT = 9421', 'MATOCL_LISTEN_PORT = 9521');
    writeFileSync(l.daemons.master.cfg, text);
    expect(readPorts(l).cl).toBe(9521);
  });
});

describe('npm start: ports', () => {
  it('a taken port moves to the next free one, and the note names the port, its role and its owner', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as { port: number }).port;
    try {
      expect(await portFree(taken)).toBe(false);
      // the taken port is the client port (the third) of a plan starting two below it
      const plan = await planPorts(taken - 2);
      expect(plan.ports.cl).not.toBe(taken);
      const all = Object.values(plan.ports);
      expect(new Set(all).size).toBe(5);
      for (const p of all) expect(await portFree(p)).toBe(true);
      const note = plan.moved.find((x) => x.startsWith(`port ${taken} `));
      const owner = `is in use by pid ${process.pid} \\(.+\\)`;
      expect(note).toMatch(new RegExp(`^port ${taken} \\(master, client port \\(MATOCL_LISTEN_PORT\\)\\) ${owner}: using ${plan.ports.cl} instead$`));
      const busy = await busyPorts({ ...plan.ports, cl: taken });
      expect(busy).toHaveLength(1);
      expect(busy[0]).toMatch(new RegExp(`^port ${taken} \\(master, client port \\(MATOCL_LISTEN_PORT\\)\\) ${owner}$`));
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
