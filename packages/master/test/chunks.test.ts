import { describe, expect, it } from 'vitest';
import { silentLogger } from '@mfs-ts/common';
import { MFS_ERROR_CHUNKBUSY, MFS_ERROR_NOCHUNKSERVERS, MFS_ERROR_NOSPACE, MFS_ERROR_NOTDONE, MFS_STATUS_OK } from '@mfs-ts/protocol';
import { ChunkRegistry, type ChunkMeta, type ChunkServerLink } from '../src/chunks.js';

// The chunk registry against fake chunkserver links that record the commands they were sent.

class FakeCs implements ChunkServerLink {
  sent: string[] = [];
  registered = true;
  version = 0x0300ea;
  labelmask = 0;
  load = 0;
  chunkscount = 0;
  constructor(
    readonly csid: number,
    readonly ip: number,
    readonly port = 9422,
    public usedspace = 0,
    public totalspace = 1e12,
  ) {}
  sendCreate(id: number, v: number) { this.sent.push(`create ${id} ${v}`); }
  sendDelete(id: number, v: number) { this.sent.push(`delete ${id} ${v}`); }
  sendSetVersion(id: number, nv: number, v: number) { this.sent.push(`setversion ${id} ${v}->${nv}`); }
  sendDuplicate(nid: number, nv: number, id: number, v: number) { this.sent.push(`duplicate ${id}:${v} -> ${nid}:${nv}`); }
  sendTruncate(id: number, len: number, nv: number, v: number) { this.sent.push(`truncate ${id} ${len} ${v}->${nv}`); }
  sendDuptrunc(nid: number, nv: number, id: number, v: number, len: number) { this.sent.push(`duptrunc ${id}:${v} -> ${nid}:${nv} ${len}`); }
  sendReplicate(id: number, v: number, ip: number, port: number) { this.sent.push(`replicate ${id} ${v} from ${ip}:${port}`); }
}

function setup(meta?: ChunkMeta) {
  const reg = new ChunkRegistry({ log: silentLogger(), replicationsDelayInit: 0, meta });
  const a = new FakeCs(1, 0x0a000001, 9422, 100);
  const b = new FakeCs(2, 0x0a000002, 9422, 0);
  return { reg, a, b };
}

describe('chunk registry', () => {
  it('refuses a new chunk without servers, and with servers that are full', () => {
    const { reg, a } = setup();
    expect(reg.precheckModify(0, 2)).toBe(MFS_ERROR_NOCHUNKSERVERS);
    a.usedspace = a.totalspace;
    reg.serverConnected(a);
    expect(reg.precheckModify(0, 2)).toBe(MFS_ERROR_NOSPACE);
  });

  it('creates on `goal` servers and resolves only when every one answered', async () => {
    const { reg, a, b } = setup();
    reg.serverConnected(a);
    reg.serverConnected(b);
    let done: number | undefined;
    const p = reg.create(7, 1, 2).then((s) => (done = s));
    expect(a.sent).toEqual(['create 7 1']);
    expect(b.sent).toEqual(['create 7 1']);
    expect(reg.precheckModify(7, 2)).toBe(MFS_ERROR_CHUNKBUSY);
    reg.operationStatus(1, 7, MFS_STATUS_OK);
    await Promise.resolve();
    expect(done).toBeUndefined();
    reg.operationStatus(2, 7, MFS_STATUS_OK);
    expect(await p).toBe(MFS_STATUS_OK);
    expect(reg.locations(7).map((l) => l.ip).sort()).toEqual([0x0a000001, 0x0a000002]);
  });

  it('a failed copy is dropped; all failed -> the error; a vanished server ends the wait', async () => {
    const { reg, a, b } = setup();
    reg.serverConnected(a);
    reg.serverConnected(b);
    const p = reg.create(8, 1, 2);
    reg.operationStatus(1, 8, MFS_ERROR_NOTDONE);
    reg.operationStatus(2, 8, MFS_STATUS_OK);
    expect(await p).toBe(MFS_STATUS_OK);
    expect(reg.locations(8).map((l) => l.ip)).toEqual([0x0a000002]);

    const q = reg.setVersion(8, 2, 1);
    expect(b.sent.at(-1)).toBe('setversion 8 1->2');
    reg.serverDisconnected(2);
    expect(await q).not.toBe(MFS_STATUS_OK);
  });

  it('tells the namespace when the version must go up and when an operation finished', async () => {
    const calls: string[] = [];
    const meta: ChunkMeta = {
      chunkInfo: () => ({ version: 1, refs: 1 }),
      markNeedVersionIncrease: (id) => calls.push(`need ${id}`),
      operationDone: (id) => calls.push(`done ${id}`),
      drop: (id) => calls.push(`drop ${id}`),
    };
    const { reg, a } = setup(meta);
    reg.serverConnected(a);
    reg.serverHasChunk(1, 5, 1);
    expect(calls).toEqual(['need 5']);
    const p = reg.setVersion(5, 2, 1);
    reg.operationStatus(1, 5, MFS_STATUS_OK);
    expect(await p).toBe(MFS_STATUS_OK);
    expect(calls).toEqual(['need 5', 'done 5']);
  });

  it('replicates an under-goal chunk, deletes an over-goal copy, and deletes unreferenced chunks', async () => {
    const refs = new Map<number, number>([[9, 1]]);
    const dropped: number[] = [];
    const meta: ChunkMeta = {
      chunkInfo: (id) => (refs.has(id) ? { version: 1, refs: refs.get(id)! } : undefined),
      markNeedVersionIncrease: () => {},
      operationDone: () => {},
      drop: (id) => dropped.push(id),
    };
    const { reg, a, b } = setup(meta);
    reg.serverConnected(a);
    const p = reg.create(9, 1, 1);
    reg.operationStatus(1, 9, MFS_STATUS_OK);
    await p;
    reg.serverConnected(b);
    reg.setGoal(9, 2);
    reg.jobs();
    expect(b.sent).toEqual([`replicate 9 1 from ${0x0a000001}:9422`]);
    reg.replicateStatus(2, 9, 1, MFS_STATUS_OK);
    expect(reg.locations(9)).toHaveLength(2);
    reg.setGoal(9, 1);
    reg.jobs();
    // The fuller server (a: 100 bytes used) loses its copy.
    expect(a.sent.at(-1)).toBe('delete 9 1');
    reg.deleteStatus(1, 9, MFS_STATUS_OK);
    expect(reg.locations(9).map((l) => l.ip)).toEqual([0x0a000002]);
    refs.set(9, 0);
    reg.jobs();
    expect(b.sent.at(-1)).toBe('delete 9 1');
    reg.deleteStatus(2, 9, MFS_STATUS_OK);
    expect(dropped).toEqual([9]);
    expect(reg.chunks.has(9)).toBe(false);
  });

  it('a copy with the wrong version is deleted once a valid copy exists', () => {
    const meta: ChunkMeta = { chunkInfo: () => ({ version: 3, refs: 1 }), markNeedVersionIncrease: () => {}, operationDone: () => {}, drop: () => {} };
    const { reg, a, b } = setup(meta);
    reg.serverConnected(a);
    reg.serverConnected(b);
    reg.serverHasChunk(1, 4, 3);
    reg.serverHasChunk(2, 4, 2);
    expect(reg.copiesOf(4).map((c) => c.state).sort()).toEqual(['valid', 'wver']);
    reg.jobs();
    expect(b.sent).toEqual(['delete 4 2']);
    expect(a.sent).toEqual([]);
  });

  it('keeps csids stable per address and refuses nothing twice', () => {
    const { reg } = setup();
    const id1 = reg.allocCsid(1, 9422, 0);
    const id2 = reg.allocCsid(2, 9422, 0);
    expect(id1).not.toBe(id2);
    expect(reg.allocCsid(1, 9422, 0)).toBe(id1);
    expect(reg.allocCsid(3, 9422, id1)).not.toBe(id1); // taken by another address
  });
});

describe('missing chunks (MISSING_CHUNKS types)', () => {
  it('0 = no copy, 1 = only invalid, 2 = only wrong version, none when a copy is valid', () => {
    const meta: ChunkMeta = { chunkInfo: () => ({ version: 3, refs: 1 }), markNeedVersionIncrease: () => {}, operationDone: () => {}, drop: () => {} };
    const { reg, a, b } = setup(meta);
    reg.serverConnected(a);
    reg.serverConnected(b);
    expect(reg.missingType(1)).toBe(0);
    reg.serverHasChunk(1, 2, 2);
    expect(reg.missingType(2)).toBe(2);
    reg.serverHasChunk(1, 3, 3);
    reg.serverLostChunk(1, 3, true);
    expect(reg.missingType(3)).toBe(1);
    reg.serverHasChunk(2, 3, 3);
    expect(reg.missingType(3)).toBeUndefined();
  });
});

describe('chunk registry: storage class labels', () => {
  const A = [1, 0, 0, 0];
  const B = [2, 0, 0, 0];
  const C = [4, 0, 0, 0];
  function labelled() {
    const reg = new ChunkRegistry({ log: silentLogger(), replicationsDelayInit: 0 });
    const cs = [1, 2, 4, 0].map((mask, i) => {
      const s = new FakeCs(i + 1, 0x0a000001 + i, 9422, 100 - i * 10); // the unlabelled one is the emptiest
      s.labelmask = mask;
      reg.serverConnected(s);
      return s;
    });
    return { reg, cs };
  }
  const where = (reg: ChunkRegistry, id: number) => reg.locations(id).map((l) => l.labelmask).sort();

  it('creates one copy per expression on matching servers; STD falls back to others, STRICT does not', async () => {
    const { reg, cs } = labelled();
    const p = reg.create(1, 1, { goal: 2, create: null, keep: [A, C], mode: 1 });
    for (const s of cs) if (s.sent.length) reg.operationStatus(s.csid, 1, MFS_STATUS_OK);
    expect(await p).toBe(MFS_STATUS_OK);
    expect(where(reg, 1)).toEqual([1, 4]);
    // no server has label 8: STD takes another server, STRICT none
    expect(reg.creationServers(1, [[8, 0, 0, 0]], 1)).toHaveLength(1);
    expect(reg.creationServers(1, [[8, 0, 0, 0]], 2)).toHaveLength(0);
    // or-groups: "D|B" matches B's server; and-masks: "A+B" matches nothing
    expect(reg.creationServers(1, [[8, 2, 0, 0]], 2).map((s) => s.labelmask)).toEqual([2]);
    expect(reg.creationServers(1, [[3, 0, 0, 0]], 2)).toHaveLength(0);
  });

  it('can a class be fulfilled: every expression needs a server of its own (sclass_info)', () => {
    const { reg } = labelled();
    expect(reg.canFulfil([A, B, C])).toBe(3);
    expect(reg.canFulfil([A, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])).toBe(3); // A + three anywhere: four servers
    expect(reg.canFulfil([A, A])).toBe(0);
    expect(reg.canFulfil([[1, 2, 0, 0], A])).toBe(3); // "A|B" takes B so that A gets A
    expect(reg.canFulfil(Array.from({ length: 5 }, () => [0, 0, 0, 0]))).toBe(0);
  });

  it('the jobs loop moves copies to servers with the class labels, then drops the copy that fulfils none', async () => {
    const { reg, cs } = labelled();
    const p = reg.create(5, 1, { goal: 2, create: null, keep: [A, B], mode: 1 });
    for (const s of cs) if (s.sent.length) reg.operationStatus(s.csid, 5, MFS_STATUS_OK);
    await p;
    expect(where(reg, 5)).toEqual([1, 2]);
    expect(reg.jobs()).toBe(0); // placed as the class says: nothing to do
    // the class now keeps A and C: replicate to C first, then delete the B copy
    reg.setGoal(5, { goal: 2, create: null, keep: [A, C], mode: 1 });
    expect(reg.jobs()).toBe(1);
    expect(cs[2]!.sent.at(-1)).toMatch(/^replicate 5 1 from /);
    reg.replicateStatus(3, 5, 1, MFS_STATUS_OK);
    expect(reg.jobs()).toBe(1);
    expect(cs[1]!.sent.at(-1)).toBe('delete 5 1');
    reg.operationStatus(2, 5, MFS_STATUS_OK);
    expect(where(reg, 5)).toEqual([1, 4]);
    expect(reg.jobs()).toBe(0);
  });
});

describe('CSDB section (csdb_store / csdb_load)', () => {
  it('a store -> load round trip keeps every known server, connected or not, with its csid', () => {
    const { reg, a, b } = setup();
    expect(reg.allocCsid(a.ip, a.port, 0)).toBe(1);
    expect(reg.allocCsid(b.ip, b.port, 0)).toBe(2);
    expect(reg.allocCsid(0x0a000003, 9500, 7)).toBe(7); // a server that remembered its csid
    reg.serverConnected(a); // one connected, two known only
    const data = reg.storeCsdb();
    expect(data.length).toBe(4 + 3 * 13);
    expect(data.readUInt32BE(0)).toBe(3);
    expect(data.subarray(4, 17).toString('hex')).toBe('0a000001' + '24ce' + '0001' + '00' + '00000000');
    const back = setup().reg;
    back.loadCsdb(data, 0x13);
    const sorted = (r: ChunkRegistry) => r.knownServers().sort((x, y) => x.csid - y.csid);
    expect(sorted(back)).toEqual([
      { ip: 0x0a000001, port: 9422, csid: 1 },
      { ip: 0x0a000002, port: 9422, csid: 2 },
      { ip: 0x0a000003, port: 9500, csid: 7 },
    ]);
    expect(back.storeCsdb().equals(data)).toBe(true);
    // a server reconnecting gets its stored csid back, even if it does not ask for one; a new one gets a fresh id
    expect(back.allocCsid(0x0a000002, 9422, 0)).toBe(2);
    expect(back.allocCsid(0x0a000009, 9422, 0)).toBe(8);
  });

  it('older versions (1.1: ip, port, csid) load; a repeated server or a short section is refused', () => {
    const { reg } = setup();
    const v11 = Buffer.alloc(4 + 2 * 8);
    v11.writeUInt32BE(2, 0);
    v11.writeUInt32BE(0x7f000001, 4); v11.writeUInt16BE(9422, 8); v11.writeUInt16BE(4, 10);
    v11.writeUInt32BE(0x7f000002, 12); v11.writeUInt16BE(9422, 16); v11.writeUInt16BE(5, 18);
    reg.loadCsdb(v11, 0x11);
    expect(reg.knownServers().map((s) => s.csid).sort()).toEqual([4, 5]);
    const rep = Buffer.from(v11);
    rep.writeUInt32BE(0x7f000001, 12);
    expect(() => setup().reg.loadCsdb(rep, 0x11)).toThrow(/repeated/);
    expect(() => setup().reg.loadCsdb(v11.subarray(0, 15), 0x11)).toThrow(/bytes for 2 servers/);
  });
});
