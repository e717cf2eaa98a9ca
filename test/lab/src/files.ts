// Small file helpers lab tests share: deterministic content and a write that is on the master
// (fsynced) when it returns.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Writes a file (through a mount, typically) and fsyncs it, so the master has its chunks and length. */
export function writeFileSynced(path: string, data: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `n` bytes from a small LCG: the same seed gives the same bytes in every test and on every run. */
export function seededBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}
