import { createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketFramer } from '@mfs-ts/protocol';
import { Chunkserver } from '../src/chunkserver.js';
import { chunkserverConfig } from '../src/cfg.js';
import { createChunk } from '../src/hddspacemgr/chunkops.js';
import { pattern, tmpDisks, type TmpDisks } from './helpers.js';
import { WireClient, pkt, type Packet } from './wire.js';

/** A scripted master: accepts chunkserver connections and records their packets. */
class FakeMaster {
  readonly conns: FakeLink[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(): Promise<FakeMaster> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const m = new FakeMaster(server, (server.address() as { port: number }).port);
    server.on('connection', (s) => {
      m.conns.push(new FakeLink(s));
      for (const w of m.waiters.splice(0)) w();
    });
    return m;
  }

  async link(n: number, ms = 8000): Promise<FakeLink> {
    const deadline = Date.now() + ms;
    while (this.conns.length <= n) {
      if (Date.now() > deadline) throw new Error('no connection from the chunkserver');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.conns[n]!;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.sock.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

class FakeLink {
  readonly packets: Packet[] = [];
  closed = false;
  private waiter: (() => void) | undefined;
  constructor(readonly sock: Socket) {
    const f = new PacketFramer(500_000_000);
    sock.on('data', (d: Buffer) => {
      f.push(d, (type, p) => this.packets.push({ type, data: Buffer.from(p) }));
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => undefined);
  }

  /** Next packet of `type` (NOPs and others skipped unless asked for). */
  async expect(type: number, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.packets.findIndex((p) => p.type === type);
      if (i >= 0) return this.packets.splice(i, 1)[0]!.data;
      if (this.closed) throw new Error(`closed while waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${type}; got ${this.packets.map((p) => p.type).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  send(b: Buffer): void {
    this.sock.write(b);
  }
}

const REGISTER = 100;
const SPACE = 101;
const MASTER_ACK = 104;
const LABELS = 109;

let master: FakeMaster | undefined;
const servers: Chunkserver[] = [];
const envs: TmpDisks[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  await master?.close();
  master = undefined;
  for (const e of envs.splice(0)) await e.cleanup();
});

async function chunkserver(over: Record<string, string | number> = {}, allowLoopbackMaster = true): Promise<Chunkserver> {
  const env = await tmpDisks(1);
  envs.push(env);
  const cs = new Chunkserver({
    cfg: chunkserverConfig({
      DATA_PATH: env.root,
      HDD_CONF_FILENAME: env.hddCfg,
      MASTER_HOST: '127.0.0.1',
      MASTER_PORT: master?.port ?? 9,
      CSSERV_LISTEN_HOST: '127.0.0.1',
      CSSERV_LISTEN_PORT: 0,
      HDD_LEAVE_SPACE_DEFAULT: '0',
      MASTER_RECONNECTION_DELAY: 1,
      ...over,
    }),
    allowLoopbackMaster,
  });
  await cs.start();
  servers.push(cs);
  return cs;
}

/** Plays the master's side of a registration; returns the chunk list the chunkserver sent. */
async function register(l: FakeLink, csid = 5, metaid = 0x99n): Promise<Array<{ id: number; version: number }>> {
  const b = await l.expect(REGISTER);
  expect(b[0]).toBe(60);
  expect(b.length).toBe(55);
  expect(b.readUInt32BE(1)).toBe(0x0300ea);
  l.send(pkt(MASTER_ACK, ['u8', 0], ['u32', 0x0300ea], ['u16', 10], ['u16', csid], ['u64', Number(metaid)]));
  const chunks: Array<{ id: number; version: number }> = [];
  for (;;) {
    const r = await l.expect(REGISTER);
    if (r[0] === 62) return chunks;
    expect(r[0]).toBe(61);
    for (let o = 1; o < r.length; o += 12) chunks.push({ id: Number(r.readBigUInt64BE(o)), version: r.readUInt32BE(o + 8) });
    l.send(pkt(MASTER_ACK, ['u8', 0]));
  }
}

describe('link to the master (masterconn)', () => {
  it('refuses a master on 127.x, as MooseFS does', async () => {
    const env = await tmpDisks(1);
    envs.push(env);
    const cs = new Chunkserver({
      cfg: chunkserverConfig({ DATA_PATH: env.root, HDD_CONF_FILENAME: env.hddCfg, MASTER_HOST: '127.0.0.1', CSSERV_LISTEN_PORT: 0, HDD_LEAVE_SPACE_DEFAULT: '0' }),
    });
    await expect(cs.start()).rejects.toThrow(/localhost .* can't be used for connecting with master/);
  });

  it('connects to a 127.x master when ALLOW_LOOPBACK_MASTER = 1 (mfs-ts only key)', async () => {
    master = await FakeMaster.start();
    const cs = await chunkserver({ ALLOW_LOOPBACK_MASTER: 1 }, false);
    await register(await master.link(0));
    await cs.master.registered();
  });

  it('registers in stages: BEGIN with space, LABELS, chunk batches each acked, END; stores csid/metaid', async () => {
    master = await FakeMaster.start();
    const cs = await chunkserver({ LABELS: 'A,C' });
    await createChunk(cs.hdd, 0x41, 3);
    await createChunk(cs.hdd, 0x42, 7);
    const l = await master.link(0);
    const reg = await l.expect(REGISTER);
    expect(reg[0]).toBe(60);
    expect(reg.length).toBe(55);
    expect(reg.readUInt32BE(5)).toBe(0x7f000001); // CSSERV_LISTEN_HOST (0 for "*")
    expect(reg.readUInt16BE(9)).toBe(cs.dataPort);
    expect(reg.readUInt16BE(11)).toBe(0); // MASTER_TIMEOUT 0
    expect(Number(reg.readBigUInt64BE(23))).toBeGreaterThan(0); // total space
    l.send(pkt(MASTER_ACK, ['u8', 0], ['u32', 0x0300ea], ['u16', 10], ['u16', 5], ['u64', 0x99]));
    expect((await l.expect(LABELS)).readUInt32BE(0)).toBe(0b101);
    const r61 = await l.expect(REGISTER);
    expect(r61[0]).toBe(61);
    const got = new Set<string>();
    for (let o = 1; o < r61.length; o += 12) got.add(`${r61.readBigUInt64BE(o)}:${r61.readUInt32BE(o + 8)}`);
    expect(got).toEqual(new Set(['65:3', '66:7']));
    l.send(pkt(MASTER_ACK, ['u8', 0]));
    expect((await l.expect(REGISTER))[0]).toBe(62);
    await cs.master.registered();
    const space = await l.expect(SPACE);
    expect(space.length).toBe(40);
    const id = await readFile(join(envs[0]!.root, 'chunkserverid.mfs'));
    expect(id.toString('hex')).toBe('00050000000000000099');
    const mid = await readFile(`${envs[0]!.disks[0]}.metaid`);
    expect(mid.toString('hex')).toBe('0000000000000099');
  });

  it('answers the AUTH_CODE challenge with md5(rnd[0:16] + code + rnd[16:32])', async () => {
    master = await FakeMaster.start();
    await chunkserver({ AUTH_CODE: 'sekret' });
    const l = await master.link(0);
    expect((await l.expect(REGISTER)).length).toBe(55);
    const rnd = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));
    l.send(pkt(MASTER_ACK, ['u8', 3], rnd));
    const r = await l.expect(REGISTER);
    expect(r.length).toBe(71);
    const want = createHash('md5').update(rnd.subarray(0, 16)).update('sekret').update(rnd.subarray(16)).digest();
    expect(r.subarray(1, 17).equals(want)).toBe(true);
    expect(r.readUInt32BE(17)).toBe(0x0300ea);
  });

  it('executes master commands and replies with their status', async () => {
    master = await FakeMaster.start();
    const cs = await chunkserver();
    const l = await master.link(0);
    await register(l);
    const reply = async (type: number): Promise<{ id: number; status: number; raw: Buffer }> => {
      const b = await l.expect(type);
      return { id: Number(b.readBigUInt64BE(0)), status: b[b.length - 1]!, raw: b };
    };
    l.send(pkt(110, ['u64', 0x500], ['u32', 1])); // CREATE
    expect(await reply(111)).toMatchObject({ id: 0x500, status: 0 });
    l.send(pkt(110, ['u64', 0x500], ['u32', 1]));
    expect((await reply(111)).status).toBe(20); // CHUNKEXIST
    l.send(pkt(140, ['u64', 0x500], ['u32', 2], ['u32', 1])); // SET_VERSION new=2 old=1
    expect(await reply(141)).toMatchObject({ id: 0x500, status: 0 });
    expect(cs.hdd.get(0x500)!.version).toBe(2);
    l.send(pkt(130, ['u64', 0x501], ['u32', 4], ['u64', 0x500], ['u32', 2])); // DUPLICATE copy first
    expect(await reply(131)).toMatchObject({ id: 0x501, status: 0 });
    expect(cs.hdd.get(0x501)!.version).toBe(4);
    l.send(pkt(160, ['u64', 0x500], ['u32', 1000], ['u32', 3], ['u32', 2])); // TRUNCATE len=1000 new=3 old=2
    expect(await reply(161)).toMatchObject({ id: 0x500, status: 0 });
    expect(cs.hdd.get(0x500)!).toMatchObject({ version: 3, blocks: 1 });
    l.send(pkt(170, ['u64', 0x502], ['u32', 1], ['u64', 0x500], ['u32', 3], ['u32', 70000])); // DUPTRUNC
    expect(await reply(171)).toMatchObject({ id: 0x502, status: 0 });
    expect(cs.hdd.get(0x502)!.blocks).toBe(2);
    l.send(pkt(152, ['u64', 0x502], ['u32', 1], ['u32', 0], ['u64', 0], ['u32', 0], ['u32', 0])); // CHUNKOP delete
    const op = await reply(153);
    expect(op.raw.length).toBe(33);
    expect(op.status).toBe(0);
    expect(cs.hdd.get(0x502)).toBeUndefined();
    l.send(pkt(120, ['u64', 0x777], ['u32', 1])); // DELETE unknown
    expect(await reply(121)).toMatchObject({ id: 0x777, status: 13 });
    l.send(pkt(140, ['u64', 0x500], ['u32', 0], ['u32', 3])); // SET_VERSION to 0: EINVAL
    expect((await reply(141)).status).toBe(6);
    l.send(pkt(250, ['u64', 0x500], ['u32', 3])); // GET_CHUNK_BLOCKS on the master link
    const gb = await l.expect(251);
    expect(gb.readUInt16BE(12)).toBe(1);
  });

  it('replicates a chunk from another chunkserver', async () => {
    master = await FakeMaster.start();
    const a = await chunkserver();
    const b = await chunkserver();
    const la = await master.link(0);
    const lb = await master.link(1);
    const [ra, rb] = [register(la, 1), register(lb, 2)];
    await ra;
    await rb;
    await createChunk(b.hdd, 0x900, 5);
    const c = b.hdd.get(0x900)!;
    const blocks = [pattern(65536, 1), pattern(65536, 2), pattern(65536, 3)];
    await c.exclusive(() => c.ioBegin());
    for (let i = 0; i < 3; i++) await c.exclusive(() => c.write(5, i, 0, 65536, blocks[i]!, 0, crc32(blocks[i]!)));
    await c.exclusive(() => c.ioEnd());
    la.send(pkt(150, ['u64', 0x900], ['u32', 5], ['u32', 0x7f000001], ['u16', b.dataPort]));
    const r = await la.expect(151);
    expect(r.length).toBe(13);
    expect(r[12]).toBe(0);
    const copy = a.hdd.get(0x900)!;
    expect(copy).toMatchObject({ version: 5, blocks: 3 });
    const file = await readFile(copy.path);
    expect(copy.path.endsWith('chunk_0000000000000900_00000005.mfs')).toBe(true);
    expect(file.subarray(8192).equals(Buffer.concat(blocks))).toBe(true);
    expect(file.readUInt32BE(4096 + 8)).toBe(crc32(blocks[2]!));
    // A chunk the source does not have: the status comes back, and nothing is left behind.
    la.send(pkt(150, ['u64', 0x901], ['u32', 1], ['u32', 0x7f000001], ['u16', b.dataPort]));
    const r2 = await la.expect(151);
    expect(r2[12]).toBe(13);
    expect(a.hdd.getAny(0x901)).toBeUndefined();
  });

  it('reports a chunk damaged (and the error) when a read finds a bad CRC', async () => {
    master = await FakeMaster.start();
    const cs = await chunkserver();
    await createChunk(cs.hdd, 0x600, 1);
    const c = cs.hdd.get(0x600)!;
    const data = pattern(65536, 5);
    await c.exclusive(() => c.ioBegin());
    await c.exclusive(() => c.write(1, 0, 0, 65536, data, 0, crc32(data)));
    await c.exclusive(() => c.ioEnd());
    await c.exclusive(() => c.closeNow());
    const l = await master.link(0);
    await register(l);
    const raw = await readFile(c.path);
    raw[8192 + 100] ^= 0xff;
    await writeFile(c.path, raw);
    const w = await WireClient.open(cs.dataPort);
    w.send(pkt(200, ['u8', 1], ['u64', 0x600], ['u32', 1], ['u32', 0], ['u32', 65536]));
    const st = await w.next();
    w.close();
    expect(st.type).toBe(201);
    expect(st.data[8]).toBe(29); // MFS_ERROR_CRC, no data before it
    expect((await l.expect(102)).readBigUInt64BE(0)).toBe(0x600n); // CSTOMA_CHUNK_DAMAGED
    expect((await l.expect(106)).length).toBe(0); // CSTOMA_ERROR_OCCURRED
  });

  it('reconnects after the master drops the link, and unregisters (63) on stop', async () => {
    master = await FakeMaster.start();
    const cs = await chunkserver();
    const l0 = await master.link(0);
    await register(l0);
    l0.sock.destroy();
    const l1 = await master.link(1, 5000);
    await register(l1);
    await cs.master.registered();
    await cs.stop();
    servers.splice(servers.indexOf(cs), 1);
    const bye = await l1.expect(REGISTER);
    expect([...bye]).toEqual([63]);
  });
});
