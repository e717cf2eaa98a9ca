import { readFile, stat, writeFile, readdir, open } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MFS_ERROR_CHUNKEXIST,
  MFS_ERROR_CRC,
  MFS_ERROR_NOCHUNK,
  MFS_ERROR_WRONGVERSION,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';
import {
  chunkOp,
  createChunk,
  deleteChunk,
  duplicateChunk,
  getChunkBlocks,
  getChunkChecksum,
  setChunkVersion,
  testChunk,
  truncateChunk,
} from '../src/hddspacemgr/chunkops.js';
import type { HddSpaceMgr } from '../src/hddspacemgr/index.js';
import { openHdd, pattern, tmpDisks, type TmpDisks } from './helpers.js';

// An independent bitwise CRC-32 (reflected 0xEDB88320), so expectations do not come from zlib.
function refCrc(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) {
    c ^= b[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const B = 65536;
let env: TmpDisks | undefined;
let hdd: HddSpaceMgr | undefined;

afterEach(async () => {
  await hdd?.stop();
  hdd = undefined;
  await env?.cleanup();
  env = undefined;
});

async function setup(n = 1): Promise<{ h: HddSpaceMgr; e: TmpDisks }> {
  env = await tmpDisks(n);
  hdd = await openHdd(env.hddCfg);
  return { h: hdd, e: env };
}

/** Writes through the ChunkFile API the way a data connection does: open, write pieces, close. */
async function writePieces(h: HddSpaceMgr, id: number, version: number, pieces: Array<{ block: number; offset: number; data: Buffer; crc?: number }>): Promise<number[]> {
  const c = h.get(id)!;
  const out: number[] = [];
  expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
  for (const p of pieces) out.push(await c.exclusive(() => c.write(version, p.block, p.offset, p.data.length, p.data, 0, p.crc ?? refCrc(p.data))));
  await c.exclusive(() => c.ioEnd());
  return out;
}

async function readPiece(h: HddSpaceMgr, id: number, version: number, block: number, offset: number, size: number): Promise<{ status: number; data: Buffer; crc: number }> {
  const c = h.get(id)!;
  const dst = Buffer.alloc(size + 4);
  expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
  const status = await c.exclusive(() => c.read(version, block, offset, size, dst, 4, 0));
  await c.exclusive(() => c.ioEnd());
  return { status, data: dst.subarray(4), crc: dst.readUInt32BE(0) };
}

describe('chunk file format (hddspacemgr.c layout)', () => {
  it('a new chunk is "MFSC 1.0" id:64 version:32, zero header to 4096, zero CRC table to 8192', async () => {
    const { h, e } = await setup();
    expect(await createChunk(h, 0x123456789abc, 0x0a0b0c0d)).toBe(MFS_STATUS_OK);
    const file = `${e.disks[0]}00/chunk_0000123456789ABC_0A0B0C0D.mfs`;
    const bytes = await readFile(file);
    const expected = Buffer.alloc(8192);
    expected.write('MFSC 1.0', 0, 'latin1');
    Buffer.from([0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x0a, 0x0b, 0x0c, 0x0d]).copy(expected, 8);
    expect(bytes.equals(expected)).toBe(true);
    expect((await readdir(`${e.disks[0]}00`)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await createChunk(h, 0x123456789abc, 1)).toBe(MFS_ERROR_CHUNKEXIST);
  });

  it('blocks live at 8192 + b*64KiB with their crc32 in the table at 4096; gaps are zero blocks', async () => {
    const { h, e } = await setup();
    expect(await createChunk(h, 5, 1)).toBe(MFS_STATUS_OK);
    const b0 = pattern(B, 7);
    const part = pattern(1000, 9);
    expect(await writePieces(h, 5, 1, [{ block: 0, offset: 0, data: b0 }, { block: 2, offset: 300, data: part }])).toEqual([0, 0]);
    await h.get(5)!.exclusive(() => h.get(5)!.closeNow());
    const bytes = await readFile(`${e.disks[0]}00/chunk_0000000000000005_00000001.mfs`);
    expect(bytes.length).toBe(8192 + 3 * B);
    const block2 = Buffer.alloc(B);
    part.copy(block2, 300);
    expect(bytes.readUInt32BE(4096)).toBe(refCrc(b0));
    expect(bytes.readUInt32BE(4100)).toBe(refCrc(Buffer.alloc(B)));
    expect(bytes.readUInt32BE(4100)).toBe(0xd7978eeb);
    expect(bytes.readUInt32BE(4104)).toBe(refCrc(block2));
    expect(bytes.subarray(8192, 8192 + B).equals(b0)).toBe(true);
    expect(bytes.subarray(8192 + B, 8192 + 2 * B).equals(Buffer.alloc(B))).toBe(true);
    expect(bytes.subarray(8192 + 2 * B).equals(block2)).toBe(true);
    expect((await getChunkBlocks(h, 5, 1)).blocks).toBe(3);
  });

  it('reads return the data and the crc32 of exactly the piece read', async () => {
    const { h } = await setup();
    await createChunk(h, 9, 3);
    const b0 = pattern(B, 3);
    await writePieces(h, 9, 3, [{ block: 0, offset: 0, data: b0 }]);
    const whole = await readPiece(h, 9, 3, 0, 0, B);
    expect(whole.status).toBe(MFS_STATUS_OK);
    expect(whole.data.equals(b0)).toBe(true);
    expect(whole.crc).toBe(refCrc(b0));
    const piece = await readPiece(h, 9, 3, 0, 1234, 5000);
    expect(piece.data.equals(b0.subarray(1234, 6234))).toBe(true);
    expect(piece.crc).toBe(refCrc(b0.subarray(1234, 6234)));
    const hole = await readPiece(h, 9, 3, 7, 10, 100);
    expect(hole.status).toBe(MFS_STATUS_OK);
    expect(hole.data.equals(Buffer.alloc(100))).toBe(true);
    expect(hole.crc).toBe(refCrc(Buffer.alloc(100)));
    expect((await readPiece(h, 9, 4, 0, 0, 10)).status).toBe(MFS_ERROR_WRONGVERSION);
  });

  it('a partial write into an existing block keeps the rest of the block and updates its CRC', async () => {
    const { h } = await setup();
    await createChunk(h, 11, 1);
    const b0 = pattern(B, 5);
    const patch = pattern(333, 6);
    await writePieces(h, 11, 1, [{ block: 0, offset: 0, data: b0 }, { block: 0, offset: 100, data: patch }]);
    const want = Buffer.from(b0);
    patch.copy(want, 100);
    const r = await readPiece(h, 11, 1, 0, 0, B);
    expect(r.data.equals(want)).toBe(true);
    expect(r.crc).toBe(refCrc(want));
    expect(await testChunk(h, 11, 1)).toBe(MFS_STATUS_OK);
  });
});

describe('sparse writes (HDD_SPARSIFY_ON_WRITE)', () => {
  it('zero runs written into new blocks become holes; the data and CRCs read back the same', async () => {
    const { h, e } = await setup();
    await createChunk(h, 71, 1);
    const zeros = Buffer.alloc(B);
    const mixed = Buffer.alloc(B);
    pattern(1000, 3).copy(mixed, 20_000);
    const tail = Buffer.alloc(3000);
    tail[2999] = 7;
    expect(await writePieces(h, 71, 1, [
      { block: 0, offset: 0, data: zeros },
      { block: 1, offset: 0, data: mixed },
      { block: 3, offset: 100, data: tail },
    ])).toEqual([0, 0, 0]);
    await h.get(71)!.exclusive(() => h.get(71)!.closeNow());
    const p = `${e.disks[0]}00/chunk_0000000000000047_00000001.mfs`;
    const st = await stat(p);
    expect(st.size).toBe(8192 + 4 * B);
    expect(st.blocks * 512).toBeLessThan(8192 + 2 * B);
    const bytes = await readFile(p);
    const b3 = Buffer.alloc(B);
    tail.copy(b3, 100);
    expect(bytes.subarray(8192).equals(Buffer.concat([zeros, mixed, zeros, b3]))).toBe(true);
    for (const [i, blk] of [zeros, mixed, zeros, b3].entries()) expect(bytes.readUInt32BE(4096 + 4 * i)).toBe(refCrc(blk));
    expect(await testChunk(h, 71, 1)).toBe(MFS_STATUS_OK);
    expect((await readPiece(h, 71, 1, 3, 0, B)).data.equals(b3)).toBe(true);
  });
});

describe('CRC checks', () => {
  it('refuses data whose CRC does not match and leaves the chunk as it was', async () => {
    const { h, e } = await setup();
    await createChunk(h, 21, 1);
    const data = pattern(B, 1);
    expect(await writePieces(h, 21, 1, [{ block: 0, offset: 0, data, crc: refCrc(data) ^ 1 }])).toEqual([MFS_ERROR_CRC]);
    expect((await stat(`${e.disks[0]}00/chunk_0000000000000015_00000001.mfs`)).size).toBe(8192);
    expect(h.damaged).toEqual([]);
  });

  it('a block corrupted on disk is never returned: CRC error, chunk reported damaged, error counted', async () => {
    const { h, e } = await setup();
    await createChunk(h, 22, 1);
    await writePieces(h, 22, 1, [{ block: 0, offset: 0, data: pattern(B, 2) }, { block: 1, offset: 0, data: pattern(B, 3) }]);
    await h.get(22)!.exclusive(() => h.get(22)!.closeNow());
    const fh = await open(`${e.disks[0]}00/chunk_0000000000000016_00000001.mfs`, 'r+');
    await fh.write(Buffer.from([0x55]), 0, 1, 8192 + B + 777);
    await fh.close();
    expect((await readPiece(h, 22, 1, 0, 0, B)).status).toBe(MFS_STATUS_OK);
    const bad = await readPiece(h, 22, 1, 1, 0, B);
    expect(bad.status).toBe(MFS_ERROR_CRC);
    expect((await readPiece(h, 22, 1, 1, 700, 10)).status).toBe(MFS_ERROR_CRC);
    expect(h.damaged).toEqual([22]);
    expect(h.errorCount).toBeGreaterThanOrEqual(1);
    expect(await testChunk(h, 22, 1)).toBe(MFS_ERROR_CRC);
    // A partial write into the damaged block must not "repair" it with a fresh CRC.
    expect(await writePieces(h, 22, 1, [{ block: 1, offset: 0, data: pattern(10, 4) }])).toEqual([MFS_ERROR_CRC]);
  });

  it('a file with a wrong header is an I/O error, reported damaged', async () => {
    const { h, e } = await setup();
    await createChunk(h, 23, 1);
    const p = `${e.disks[0]}00/chunk_0000000000000017_00000001.mfs`;
    const b = await readFile(p);
    b.write('XXXX', 0, 'latin1');
    await writeFile(p, b);
    const c = h.get(23)!;
    expect(await c.exclusive(() => c.ioBegin())).not.toBe(MFS_STATUS_OK);
    expect(h.damaged).toEqual([23]);
  });
});

describe('chunk operations (hdd_chunkop)', () => {
  it('set version renames the file and rewrites the version in the header', async () => {
    const { h, e } = await setup();
    await createChunk(h, 31, 1);
    await writePieces(h, 31, 1, [{ block: 0, offset: 0, data: pattern(B, 8) }]);
    expect(await setChunkVersion(h, 31, 2, 5)).toBe(MFS_ERROR_WRONGVERSION);
    expect(await setChunkVersion(h, 31, 1, 5)).toBe(MFS_STATUS_OK);
    const names = await readdir(`${e.disks[0]}00`);
    expect(names).toContain('chunk_000000000000001F_00000005.mfs');
    expect(names).not.toContain('chunk_000000000000001F_00000001.mfs');
    const b = await readFile(`${e.disks[0]}00/chunk_000000000000001F_00000005.mfs`);
    expect(b.readUInt32BE(16)).toBe(5);
    expect((await readPiece(h, 31, 5, 0, 0, B)).data.equals(pattern(B, 8))).toBe(true);
  });

  it('truncate cuts to the length (zero-filling the last block) and bumps the version', async () => {
    const { h, e } = await setup();
    await createChunk(h, 32, 1);
    await writePieces(h, 32, 1, [{ block: 0, offset: 0, data: pattern(B, 1) }, { block: 1, offset: 0, data: pattern(B, 2) }, { block: 2, offset: 0, data: pattern(B, 3) }]);
    expect(await truncateChunk(h, 32, 1, 2, B + 100)).toBe(MFS_STATUS_OK);
    const p = `${e.disks[0]}00/chunk_0000000000000020_00000002.mfs`;
    const b = await readFile(p);
    expect(b.length).toBe(8192 + 2 * B);
    const last = Buffer.alloc(B);
    pattern(B, 2).copy(last, 0, 0, 100);
    expect(b.subarray(8192 + B).equals(last)).toBe(true);
    expect(b.readUInt32BE(4100)).toBe(refCrc(last));
    expect(await testChunk(h, 32, 2)).toBe(MFS_STATUS_OK);
    // Growing adds empty blocks.
    expect(await truncateChunk(h, 32, 2, 3, 4 * B)).toBe(MFS_STATUS_OK);
    expect((await getChunkBlocks(h, 32, 3)).blocks).toBe(4);
    expect(await testChunk(h, 32, 3)).toBe(MFS_STATUS_OK);
    expect((await readPiece(h, 32, 3, 3, 0, B)).data.equals(Buffer.alloc(B))).toBe(true);
  });

  it('duplicate copies data and CRCs to a new id; duptrunc also truncates the copy', async () => {
    const { h, e } = await setup();
    await createChunk(h, 40, 1);
    await writePieces(h, 40, 1, [{ block: 0, offset: 0, data: pattern(B, 4) }, { block: 1, offset: 0, data: pattern(B, 5) }]);
    expect(await duplicateChunk(h, 40, 1, 2, 41, 7)).toBe(MFS_STATUS_OK);
    expect(await testChunk(h, 41, 7)).toBe(MFS_STATUS_OK);
    expect(h.get(40)!.version).toBe(2);
    expect((await readPiece(h, 41, 7, 1, 0, B)).data.equals(pattern(B, 5))).toBe(true);
    const copy = await readFile(`${e.disks[0]}00/chunk_0000000000000029_00000007.mfs`);
    expect(copy.subarray(0, 20).equals(Buffer.from('4d46534320312e30000000000000002900000007', 'hex'))).toBe(true);
    // chunkop form: newversion>0, copyid>0, length<=64MiB -> duptrunc (original keeps its version)
    expect(await chunkOp(h, 40, 2, 3, 42, 9, 10)).toBe(MFS_STATUS_OK);
    expect(h.get(40)!.version).toBe(2);
    expect((await getChunkBlocks(h, 42, 9)).blocks).toBe(1);
    const r = await readPiece(h, 42, 9, 0, 0, B);
    const want = Buffer.alloc(B);
    pattern(B, 4).copy(want, 0, 0, 10);
    expect(r.data.equals(want)).toBe(true);
    expect((await getChunkChecksum(h, 42, 9)).status).toBe(MFS_STATUS_OK);
  });

  it('delete removes the file; unknown ids and wrong versions are refused', async () => {
    const { h, e } = await setup();
    await createChunk(h, 50, 1);
    expect(await deleteChunk(h, 50, 2)).toBe(MFS_ERROR_WRONGVERSION);
    expect(await deleteChunk(h, 50, 1)).toBe(MFS_STATUS_OK);
    expect(await readdir(`${e.disks[0]}00`)).toEqual([]);
    expect(await deleteChunk(h, 50, 1)).toBe(MFS_ERROR_NOCHUNK);
    expect(await chunkOp(h, 51, 1, 0, 0, 0, 1)).toBe(MFS_STATUS_OK);
    expect(h.get(51)).toBeDefined();
    expect(await chunkOp(h, 51, 1, 0, 0, 0, 7)).not.toBe(MFS_STATUS_OK);
  });
});

describe('disk statistics (CSTOCL_HDD_LIST)', () => {
  it('counts data reads and writes per minute, and reports the last minute, hour and day', async () => {
    const { h } = await setup();
    await createChunk(h, 81, 1);
    await writePieces(h, 81, 1, [{ block: 0, offset: 0, data: pattern(B, 1) }, { block: 1, offset: 0, data: pattern(B, 2) }]);
    await readPiece(h, 81, 1, 1, 10, 20);
    const f = h.folders[0]!;
    f.stats.rotate();
    const { diskInfo } = await import('../src/hddspacemgr/diskinfo.js');
    const e = diskInfo(h);
    const plen = e[2]!;
    const st = e.subarray(3 + plen + 33);
    for (const slot of [0, 64, 128]) {
      expect(Number(st.readBigUInt64BE(slot))).toBe(B); // rbytes: a whole block read for a piece
      expect(Number(st.readBigUInt64BE(slot + 8))).toBe(2 * B); // wbytes
      expect(st.readUInt32BE(slot + 40)).toBe(1); // rops
      expect(st.readUInt32BE(slot + 44)).toBe(2); // wops
    }
    f.stats.rotate();
    const st2 = diskInfo(h).subarray(3 + plen + 33);
    expect(st2.readUInt32BE(44)).toBe(0); // last minute: nothing
    expect(st2.readUInt32BE(64 + 44)).toBe(2); // last hour still has them
  });
});

describe('background tester', () => {
  it('finds a block corrupted on disk and reports the chunk damaged', async () => {
    const { h, e } = await setup();
    for (const id of [61, 62, 63]) {
      await createChunk(h, id, 1);
      await writePieces(h, id, 1, [{ block: 0, offset: 0, data: pattern(B, id) }]);
      await h.get(id)!.exclusive(() => h.get(id)!.closeNow());
    }
    const fh = await open(`${e.disks[0]}00/chunk_000000000000003E_00000001.mfs`, 'r+');
    await fh.write(Buffer.from([0xee]), 0, 1, 8192 + 5);
    await fh.close();
    const tested: number[] = [];
    h.startTester(1000, 0, async (c) => {
      tested.push(c.id);
      return testChunk(h, c.id, c.version);
    });
    const deadline = Date.now() + 10_000;
    while (h.damaged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(h.damaged).toEqual([62]);
    expect(tested).toContain(62);
  });
});

describe('disk registry', () => {
  it('a restart finds every chunk again, through .chunkdb and through a full scan', async () => {
    env = await tmpDisks(2);
    let h = await openHdd(env.hddCfg);
    for (let i = 1; i <= 6; i++) expect(await createChunk(h, 100 + i, i)).toBe(MFS_STATUS_OK);
    await writePieces(h, 103, 3, [{ block: 0, offset: 0, data: pattern(B, 1) }]);
    const before = h.chunkList().sort((a, b) => a.id - b.id);
    expect(new Set([...h.allChunks()].map((c) => c.owner.path)).size).toBe(2);
    await h.stop();
    for (const d of env.disks) expect((await readFile(`${d}.chunkdb`)).subarray(0, 12).toString()).toBe('MFS CHUNKDB2');
    h = await openHdd(env.hddCfg);
    expect(h.chunkList().sort((a, b) => a.id - b.id)).toEqual(before);
    expect(h.get(103)!.blocks).toBe(1);
    for (const d of env.disks) await expect(stat(`${d}.chunkdb`)).rejects.toThrow();
    await h.stop();
    for (const d of env.disks) await (await import('node:fs/promises')).unlink(`${d}.chunkdb`);
    hdd = await openHdd(env.hddCfg);
    expect(hdd.chunkList().sort((a, b) => a.id - b.id)).toEqual(before);
    expect(hdd.get(103)!.blocks).toBe(1);
    expect(hdd.space().chunks).toBe(6);
    expect(hdd.space().total).toBeGreaterThan(0);
  });

  it('gives up a disk after more than HDD_ERROR_TOLERANCE_COUNT I/O errors: its chunks are reported lost', async () => {
    env = await tmpDisks(2);
    hdd = await openHdd(env.hddCfg, { errorTolerance: { count: 2, periodS: 600 } });
    for (let i = 1; i <= 8; i++) expect(await createChunk(hdd, 200 + i, 1)).toBe(MFS_STATUS_OK);
    const bad = hdd.folders[0]!;
    const onBad = [...hdd.allChunks()].filter((c) => c.owner === bad);
    const onGood = [...hdd.allChunks()].filter((c) => c.owner !== bad);
    expect(onBad.length).toBeGreaterThanOrEqual(3);
    for (const c of onBad) await (await import('node:fs/promises')).unlink(c.path);
    for (const c of onBad) expect(await c.exclusive(() => c.ioBegin())).not.toBe(MFS_STATUS_OK);
    expect(hdd.damaged.sort()).toEqual(onBad.map((c) => c.id).sort());
    const deadline = Date.now() + 5000;
    while (!bad.damaged && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(bad.damaged).toBe(true);
    expect(hdd.lost.sort()).toEqual(onBad.map((c) => c.id).sort());
    expect(hdd.chunkList().map((c) => c.id).sort()).toEqual(onGood.map((c) => c.id).sort());
    expect(hdd.space().chunks).toBe(onGood.length);
    expect(await createChunk(hdd, 300, 1)).toBe(MFS_STATUS_OK);
    expect(hdd.get(300)!.owner).not.toBe(bad);
  });

  it('reload of mfshdd.cfg: marking for removal re-reports chunks with bit 31, new disks are scanned, dropped ones lost', async () => {
    env = await tmpDisks(3);
    const [d0, d1, d2] = env.disks.map((d) => d.slice(0, -1));
    await writeFile(env.hddCfg, `${d0}\n${d1}\n`);
    hdd = await openHdd(env.hddCfg);
    for (let i = 1; i <= 6; i++) await createChunk(hdd, 400 + i, 2);
    const on = (p: string) => [...hdd!.allChunks()].filter((c) => c.owner.path === `${p}/`).map((c) => c.id).sort();
    const on0 = on(d0!);
    const on1 = on(d1!);
    // A chunk already on the third disk (written earlier by someone else) appears when the disk is added.
    await writeFile(`${env.root}/only2.cfg`, `${d2}\n`);
    const other = await openHdd(`${env.root}/only2.cfg`);
    await createChunk(other, 499, 9);
    await other.stop();
    await (await import('node:fs/promises')).unlink(`${d2}/.chunkdb`);
    await writeFile(env.hddCfg, `*${d0}\n${d2}\n`);
    await hdd.reload();
    expect(hdd.folders.map((f) => f.path).sort()).toEqual([`${d0}/`, `${d2}/`].sort());
    expect(hdd.lost.sort()).toEqual(on1);
    const marked = hdd.newChunks.filter((c) => c.version === (0x80000000 | 2) >>> 0).map((c) => c.id).sort();
    expect(marked).toEqual(on0);
    expect(hdd.newChunks).toContainEqual({ id: 499, version: 9 });
    expect(hdd.space().tdChunks).toBe(on0.length);
    expect(hdd.space().chunks).toBe(1);
    expect(hdd.chunkList().find((c) => c.id === on0[0])!.version).toBe((0x80000000 | 2) >>> 0);
  });

  it('refuses a disk whose .lock another process holds (as a running real chunkserver does)', async () => {
    env = await tmpDisks(2);
    const { spawn } = await import('node:child_process');
    const lockPath = `${env.disks[1]}.lock`;
    await writeFile(lockPath, '');
    const holder = spawn('flock', ['-x', lockPath, 'sleep', '30'], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5000;
      const ino = (await stat(lockPath)).ino;
      while (!(await readFile('/proc/locks', 'utf8')).includes(`:${ino} `) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      hdd = await openHdd(env.hddCfg);
      expect(hdd.folders.map((f) => f.path)).toEqual([env.disks[0]]);
      expect((await readFile(`${env.disks[0]}.lock`, 'utf8')).trim()).toBe(String(process.pid));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('keeps the newest of two copies of a chunk; the older file goes after HDD_KEEP_DUPLICATES_HOURS', async () => {
    env = await tmpDisks(2);
    const [d0, d1] = env.disks.map((d) => d.slice(0, -1));
    const fsp = await import('node:fs/promises');
    for (const [d, v] of [[d0, 1], [d1, 2]] as const) {
      await writeFile(`${env.root}/one.cfg`, `${d}\n`);
      const one = await openHdd(`${env.root}/one.cfg`);
      expect(await createChunk(one, 91, v)).toBe(MFS_STATUS_OK);
      await one.stop();
      await fsp.unlink(`${d}/.chunkdb`);
    }
    const oldFile = `${d0}/00/chunk_000000000000005B_00000001.mfs`;
    hdd = await openHdd(env.hddCfg, { keepDuplicatesHours: 168 });
    expect(hdd.get(91)).toMatchObject({ version: 2 });
    expect(hdd.get(91)!.owner.path).toBe(`${d1}/`);
    await new Promise((r) => setTimeout(r, 1300));
    await stat(oldFile);
    await hdd.stop();
    hdd = await openHdd(env.hddCfg, { keepDuplicatesHours: 0 });
    const deadline = Date.now() + 5000;
    while ((await stat(oldFile).then(() => true, () => false)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await expect(stat(oldFile)).rejects.toThrow();
    expect(hdd.chunkList()).toEqual([{ id: 91, version: 2 }]);
  });

  it('ignores a disk whose .metaid belongs to another instance', async () => {
    env = await tmpDisks(2);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(0x1111n);
    await writeFile(`${env.disks[1]}.metaid`, b);
    hdd = await openHdd(env.hddCfg, { knownMetaId: 0x2222n });
    expect(hdd.folders.map((f) => f.path)).toEqual([env.disks[0]]);
    expect((await readFile(`${env.disks[0]}.metaid`)).readBigUInt64BE(0)).toBe(0x2222n);
  });
});

describe('a write buffer changed while its disk write is in flight', () => {
  // Deterministic interleaving of the classic pooled-buffer bug: the source of the pwrite is changed
  // (here: byte 0 zeroed, the "\0i\n" seen once) between the CRC check and the moment the write
  // reaches the disk. The write must not be acknowledged with the client's CRC in the table and other
  // bytes on disk; the writer gets MFS_ERROR_CRC and sends the block again.
  for (const kind of ['small piece into a new block', 'whole new block'] as const) {
    it(`${kind}: refused, never acknowledged as written; the resent block is stored exactly`, async () => {
      const { h, e } = await setup();
      const id = kind === 'whole new block' ? 92 : 91;
      await createChunk(h, id, 1);
      const data = kind === 'whole new block' ? Buffer.concat([Buffer.from('hi\n'), Buffer.alloc(B - 3)]) : Buffer.from('hi\n');
      const c = h.get(id)!;
      expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
      const fh = c.handle;
      const realWrite = fh.write.bind(fh) as (b: Buffer, o: number, l: number, p: number) => Promise<unknown>;
      let hit = 0;
      (fh as unknown as { write: typeof realWrite }).write = (b, o, l, p) => {
        if (p >= 8192 && hit++ === 0) b[o] = 0; // someone else's use of the buffer, mid-write
        return realWrite(b, o, l, p);
      };
      const st = await c.exclusive(() => c.write(1, 0, 0, data.length, Buffer.from(data), 0, refCrc(data)));
      (fh as unknown as { write: typeof realWrite }).write = realWrite;
      expect(hit).toBe(1);
      expect(st).toBe(MFS_ERROR_CRC);
      // The client sends the block again (a fresh buffer): now stored and recorded exactly.
      expect(await c.exclusive(() => c.write(1, 0, 0, data.length, Buffer.from(data), 0, refCrc(data)))).toBe(MFS_STATUS_OK);
      await c.exclusive(() => c.ioEnd());
      await c.exclusive(() => c.closeNow());
      const bytes = await readFile(`${e.disks[0]}00/chunk_${id.toString(16).toUpperCase().padStart(16, '0')}_00000001.mfs`);
      const want = Buffer.alloc(B);
      data.copy(want);
      expect(bytes.subarray(8192).equals(want)).toBe(true);
      expect(bytes.readUInt32BE(4096)).toBe(refCrc(want));
      expect(await testChunk(h, id, 1)).toBe(MFS_STATUS_OK);
    });
  }
});

/** A chunk file's path on a disk (the subfolder is not derived from the id). */
async function findChunkFile(disk: string, name: string): Promise<string> {
  for (const d of await readdir(disk)) if (/^[0-9A-F]{2}$/.test(d) && (await readdir(`${disk}${d}`)).includes(name)) return `${disk}${d}/${name}`;
  throw new Error(`${name} not found on ${disk}`);
}

describe('batched block I/O (writeBlocks / readBlocks: one pwritev / preadv per run)', () => {
  it('a run of whole blocks lands byte for byte with its CRCs; the run stops at a bad CRC and at a zero block that would be a hole', async () => {
    const { h, e } = await setup();
    expect(await createChunk(h, 71, 1)).toBe(MFS_STATUS_OK);
    const c = h.get(71)!;
    const data = pattern(6 * B, 71);
    data.fill(0, 4 * B, 5 * B); // block 4 is all zeros: with sparsify it must not go in the batch
    const pieces = Array.from({ length: 6 }, (_, i) => data.subarray(i * B, (i + 1) * B));
    const crcs = pieces.map((p) => refCrc(p));
    const out: number[] = [];
    expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
    // Blocks 1.. first (block 0 stays a gap), with block 3's CRC wrong: 1 and 2 are written, then the run stops.
    const bad = [...crcs];
    bad[3] = (bad[3]! ^ 1) >>> 0;
    expect(await c.exclusive(() => c.writeBlocks(1, 1, pieces.slice(1), bad.slice(1), out))).toBe(2);
    expect(out.slice(0, 2)).toEqual([MFS_STATUS_OK, MFS_STATUS_OK]);
    // The rest as the session does it: the refused piece goes through write() (CRC error), then 3 again, then 4 (zeros) stops a run.
    expect(await c.exclusive(() => c.write(1, 3, 0, B, data, 3 * B, bad[3]!))).toBe(MFS_ERROR_CRC);
    expect(await c.exclusive(() => c.writeBlocks(1, 3, pieces.slice(3), crcs.slice(3), out))).toBe(1);
    expect(await c.exclusive(() => c.writeBlocks(1, 4, pieces.slice(4), crcs.slice(4), out))).toBe(0);
    expect(await c.exclusive(() => c.write(1, 4, 0, B, data, 4 * B, crcs[4]!))).toBe(MFS_STATUS_OK);
    expect(await c.exclusive(() => c.writeBlocks(1, 5, pieces.slice(5), crcs.slice(5), out))).toBe(1);
    expect(await c.exclusive(() => c.writeBlocks(2, 5, pieces.slice(5), crcs.slice(5), out))).toBe(0); // wrong version: nothing
    // Read back in one preadv: all six blocks, CRCs from the table.
    const dsts = Array.from({ length: 6 }, () => Buffer.alloc(8 + B));
    expect(await c.exclusive(() => c.readBlocks(1, 0, dsts, 8, 0, []))).toBe(MFS_STATUS_OK);
    await c.exclusive(() => c.ioEnd());
    await h.stop();
    hdd = undefined;
    const want = Buffer.from(data);
    want.fill(0, 0, B);
    for (let i = 0; i < 6; i++) {
      expect(dsts[i]!.subarray(8).equals(want.subarray(i * B, (i + 1) * B)), `block ${i}`).toBe(true);
      expect(dsts[i]!.readUInt32BE(0)).toBe(refCrc(want.subarray(i * B, (i + 1) * B)));
    }
    const file = await readFile(await findChunkFile(e.disks[0]!, 'chunk_0000000000000047_00000001.mfs'));
    expect(file.length).toBe(8192 + 6 * B);
    expect(file.subarray(8192).equals(want)).toBe(true);
    for (let i = 0; i < 6; i++) expect(file.readUInt32BE(4096 + 4 * i)).toBe(refCrc(want.subarray(i * B, (i + 1) * B)));
  });

  it('readBlocks never returns a block that fails its CRC: the chunk is reported damaged', async () => {
    const { h, e } = await setup();
    expect(await createChunk(h, 72, 1)).toBe(MFS_STATUS_OK);
    const data = pattern(3 * B, 72);
    expect(await writePieces(h, 72, 1, [0, 1, 2].map((b) => ({ block: b, offset: 0, data: data.subarray(b * B, (b + 1) * B) })))).toEqual([0, 0, 0]);
    const c = h.get(72)!;
    await c.exclusive(() => c.closeNow());
    const fh = await open(await findChunkFile(e.disks[0]!, 'chunk_0000000000000048_00000001.mfs'), 'r+');
    await fh.write(Buffer.from([data[2 * B + 5]! ^ 0xff]), 0, 1, 8192 + 2 * B + 5);
    await fh.close();
    const dsts = Array.from({ length: 3 }, () => Buffer.alloc(B + 4));
    expect(await c.exclusive(() => c.ioBegin())).toBe(MFS_STATUS_OK);
    expect(await c.exclusive(() => c.readBlocks(1, 0, dsts, 4, 0, []))).toBe(MFS_ERROR_CRC);
    expect(await c.exclusive(() => c.readBlocks(1, 0, dsts.slice(0, 2), 4, 0, []))).toBe(MFS_STATUS_OK);
    await c.exclusive(() => c.ioEnd());
    expect(h.damaged).toEqual([72]);
  });
});
