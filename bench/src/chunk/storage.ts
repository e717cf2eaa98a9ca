// In-process micro-benchmarks of our chunkserver's storage code (packages/chunkserver/src/hddspacemgr):
// crc32 on the piece sizes the data port carries, and ChunkFile block writes/reads (what mainserv
// calls for every CLTOCS_WRITE_DATA / CLTOCS_READ), beside plain node:fs positional I/O on the same
// file layout as a floor. Files live in a temporary directory on the same disk as the lab; the page
// cache is warm, so this measures our code path and syscalls, not the disk.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { HddSpaceMgr, chunkops } from '@mfs-ts/chunkserver';
import { silentLogger } from '@mfs-ts/common';
import { MFSBLOCKSIZE } from '@mfs-ts/protocol';
import { patternBuffer, seconds } from '../lib/report.js';

export interface StorageRow {
  case: string;
  opsPerSec: number;
  mbPerSec: number;
}

function timeLoop(budgetMs: number, op: () => void, perCall: number): { ops: number; sec: number } {
  for (let i = 0; i < 8; i++) op();
  const t0 = process.hrtime.bigint();
  const end = Date.now() + budgetMs;
  let n = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 16; i++) op();
    n += 16 * perCall;
  }
  return { ops: n, sec: seconds(t0) };
}

async function timeAsync(budgetMs: number, minOps: number, op: (i: number) => Promise<void>): Promise<{ ops: number; sec: number }> {
  const t0 = process.hrtime.bigint();
  const end = Date.now() + budgetMs;
  let n = 0;
  while (n < minOps || Date.now() < end) {
    await op(n);
    n++;
    if (n >= minOps * 50) break;
  }
  return { ops: n, sec: seconds(t0) };
}

export async function storageBench(budgetMs: number): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  const add = (name: string, bytes: number, r: { ops: number; sec: number }): void => {
    rows.push({ case: name, opsPerSec: r.ops / r.sec, mbPerSec: (r.ops * bytes) / r.sec / 1e6 });
  };
  const data = patternBuffer(MFSBLOCKSIZE, 3);
  let sink = 0;
  add('crc32 64 KiB', MFSBLOCKSIZE, timeLoop(budgetMs, () => (sink ^= crc32(data)), 1));
  const small = data.subarray(0, 4096);
  add('crc32 4 KiB', 4096, timeLoop(budgetMs, () => (sink ^= crc32(small)), 1));

  const dir = mkdtempSync(join(tmpdir(), 'mfs-bench-hdd-'));
  try {
    const hdd = join(dir, 'hdd');
    const cfg = join(dir, 'mfshdd.cfg');
    writeFileSync(cfg, `${hdd}\n`);
    mkdirSync(hdd);
    const h = new HddSpaceMgr({ hddConfFile: cfg, leaveSpaceDefault: 0, fsyncBeforeClose: false, rrChunkCount: 10000, knownMetaId: 0n, log: silentLogger() });
    await h.init();
    try {
      const id = 0x1234;
      const st = await chunkops.createChunk(h, id, 1);
      if (st !== 0) throw new Error(`createChunk status ${st}`);
      const c = h.get(id)!;
      if ((await c.exclusive(() => c.ioBegin())) !== 0) throw new Error('ioBegin failed');
      const crc = crc32(data);
      // Whole-block writes, cycling over the 1024 blocks of one chunk (first pass grows the file).
      add(
        'ChunkFile.write 64 KiB block',
        MFSBLOCKSIZE,
        await timeAsync(budgetMs, 1024, async (i) => {
          const s = await c.exclusive(() => c.write(1, i % 1024, 0, MFSBLOCKSIZE, data, 0, crc));
          if (s !== 0) throw new Error(`write status ${s}`);
        }),
      );
      const piece = data.subarray(0, 4096);
      const pcrc = crc32(piece);
      add(
        'ChunkFile.write 4 KiB (partial block)',
        4096,
        await timeAsync(budgetMs, 1024, async (i) => {
          const s = await c.exclusive(() => c.write(1, (i * 7) % 1024, ((i * 5) % 16) * 4096, 4096, piece, 0, pcrc));
          if (s !== 0) throw new Error(`write status ${s}`);
        }),
      );
      const dst = Buffer.allocUnsafe(MFSBLOCKSIZE + 64);
      add(
        'ChunkFile.read 64 KiB block (+crc check)',
        MFSBLOCKSIZE,
        await timeAsync(budgetMs, 1024, async (i) => {
          const s = await c.exclusive(() => c.read(1, i % 1024, 0, MFSBLOCKSIZE, dst, 28, 24));
          if (s !== 0) throw new Error(`read status ${s}`);
        }),
      );
      let seed = 99;
      add(
        'ChunkFile.read 4 KiB random (+crc)',
        4096,
        await timeAsync(budgetMs, 1024, async () => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const s = await c.exclusive(() => c.read(1, seed % 1024, ((seed >>> 10) % 16) * 4096, 4096, dst, 28, 24));
          if (s !== 0) throw new Error(`read status ${s}`);
        }),
      );
      await c.exclusive(() => c.ioEnd());

      // Floor: the same positional I/O with node:fs alone (no CRC table, no queue).
      const fh = await open(join(dir, 'plain.bin'), 'w+');
      try {
        add(
          'node:fs write 64 KiB (floor)',
          MFSBLOCKSIZE,
          await timeAsync(budgetMs, 1024, async (i) => {
            sink ^= crc32(data);
            await fh.write(data, 0, MFSBLOCKSIZE, 8192 + (i % 1024) * MFSBLOCKSIZE);
          }),
        );
        add(
          'node:fs read 64 KiB + crc32 (floor)',
          MFSBLOCKSIZE,
          await timeAsync(budgetMs, 1024, async (i) => {
            await fh.read(dst, 0, MFSBLOCKSIZE, 8192 + (i % 1024) * MFSBLOCKSIZE);
            sink ^= crc32(dst.subarray(0, MFSBLOCKSIZE));
          }),
        );
      } finally {
        await fh.close();
      }
    } finally {
      await h.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (sink === 0.5) console.log(sink);
  return rows;
}
