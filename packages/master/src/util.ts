import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** MooseFS's crc32 is zlib's. */
export function zlibCrc32(b: Uint8Array, init = 0): number {
  return crc32(b, init) >>> 0;
}

export function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function passcodeEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export { ipToU32, u32ToIp } from '@mfs-ts/protocol';

/** Seconds since the epoch. */
export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
