// Shared by the chunkserver lab tests: writing files through a mount, reading them back through an
// uncached one, and waiting for mfsfileinfo to show the expected copies.
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { expect } from 'vitest';
import type { Chunkserver as LabCs, Lab, Master, Mount } from '@mfs-ts/lab';

export const MiB = 1024 * 1024;
export const B = 65536;

export function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes files through the mount and returns their contents by name. */
export async function writeFiles(mnt: Mount, files: Record<string, number>, seed = 0): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [name, size] of Object.entries(files)) {
    const data = randomBytes(size);
    data[0] = seed;
    await writeFile(mnt.path(name), data);
    out.set(name, data);
  }
  // fsync through the mount: the data is on the chunkservers before we look.
  const r = await mnt.exec(['sync']);
  expect(r.ok).toBe(true);
  return out;
}

/** Copies per chunk from mfsfileinfo: [['ip:port', ...], ...]. */
export async function copies(mnt: Mount, name: string): Promise<string[][]> {
  const info = (await mnt.exec(['mfsfileinfo', mnt.path(name)])).stdout;
  return info
    .split(/\n\s*chunk \d+:/)
    .slice(1)
    .map((c) => [...c.matchAll(/copy \d+: (\d+\.\d+\.\d+\.\d+):(\d+) \(status:VALID\)/g)].map((m) => `${m[1]}:${m[2]}`).sort());
}

export async function waitCopies(mnt: Mount, name: string, want: string[], chunks: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: string[][] = [];
  for (;;) {
    last = await copies(mnt, name);
    if (last.length === chunks && last.every((c) => JSON.stringify(c) === JSON.stringify([...want].sort()))) return;
    if (Date.now() > deadline) throw new Error(`${name}: copies ${JSON.stringify(last)}, want ${chunks} x ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function readBack(lab: Lab, master: Master, files: Map<string, Buffer>, name = 'direct'): Promise<void> {
  const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name });
  try {
    for (const [f, data] of files) expect(sha(await readFile(direct.path(f))), f).toBe(sha(data));
  } finally {
    await direct.unmount();
  }
}

export const addr = (cs: LabCs): string => `${cs.host.ip}:${cs.port}`;

/** Writes `data` at `pos` of an existing file and fsyncs it (through the mount). */
export async function patchFile(path: string, pos: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, pos);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function waitFor(f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Chunk ids (hex, 16 digits) of a file, in chunk order, from mfsfileinfo. */
export async function chunkIds(mnt: Mount, name: string): Promise<string[]> {
  const info = (await mnt.exec(['mfsfileinfo', mnt.path(name)])).stdout;
  return [...info.matchAll(/chunk \d+: ([0-9A-F]{16})_[0-9A-F]{8}/g)].map((m) => m[1]!);
}

/** Paths of the chunk files a chunkserver holds for chunk `id` (hex), on any of its disks. */
export async function chunkFiles(cs: LabCs, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const hdd of cs.hddPaths) {
    for (const sub of await readdir(hdd)) {
      if (!/^[0-9A-F]{2}$/.test(sub)) continue;
      for (const n of await readdir(join(hdd, sub))) if (n.startsWith(`chunk_${id}_`) && n.endsWith('.mfs')) out.push(join(hdd, sub, n));
    }
  }
  return out;
}

/** Whether every block of a chunk file matches its CRC table entry (the layout in hddspacemgr/layout.ts). */
export async function chunkFileIntact(path: string): Promise<boolean> {
  const b = await readFile(path);
  const blocks = (b.length - 8192) / B;
  for (let i = 0; i < blocks; i++) if (b.readUInt32BE(4096 + 4 * i) !== crc32(b.subarray(8192 + i * B, 8192 + (i + 1) * B))) return false;
  return true;
}

/** Bytes a process has written (to sockets and files) so far: /proc/PID/io wchar. */
export async function wchar(pid: number): Promise<number> {
  const m = /^wchar: (\d+)$/m.exec(await readFile(`/proc/${pid}/io`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}
