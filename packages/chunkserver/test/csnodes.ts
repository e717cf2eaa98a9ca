// Data-port servers (CsServ over a temporary disk) and wire clients for tests, closed after each test.
import { afterEach } from 'vitest';
import { silentLogger } from '@mfs-ts/common';
import { CsServ } from '../src/csserv.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { openHdd, tmpDisks, type TmpDisks } from './helpers.js';
import { WireClient } from './wire.js';

export const LOCALHOST = 0x7f000001;

export interface CsNode {
  env: TmpDisks;
  hdd: HddSpaceMgr;
  cs: CsServ;
  port: number;
}

type CsServOpts = Partial<Omit<ConstructorParameters<typeof CsServ>[0], 'hdd' | 'log'>>;

/** Registers the clean-up; call once at the top of a test file. */
export function useCsNodes(defaults: CsServOpts = {}) {
  const nodes: CsNode[] = [];
  const clients: WireClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const n of nodes.splice(0)) {
      await n.cs.close();
      await n.hdd.stop();
      await n.env.cleanup();
    }
  });
  /** A server on `env` (a new one-disk env when absent), listening on 127.0.0.1:0. */
  async function node(env?: TmpDisks, opts: CsServOpts = {}): Promise<CsNode> {
    const e = env ?? (await tmpDisks(1));
    const hdd = await openHdd(e.hddCfg);
    const cs = new CsServ({
      hdd,
      log: silentLogger(),
      cfgValue: () => '',
      moduleInfo: () => ({ csid: 1, metaId: 1n, masterIp: 0, masterPort: 0 }),
      jobs: { count: 0 },
      ...defaults,
      ...opts,
    });
    const { port } = await cs.listen('127.0.0.1', 0);
    const n = { env: e, hdd, cs, port };
    nodes.push(n);
    return n;
  }
  async function client(port: number): Promise<WireClient> {
    const c = await WireClient.open(port);
    clients.push(c);
    return c;
  }
  return { node, client, nodes };
}
