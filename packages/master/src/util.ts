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

/** "A.B.C.D" -> u32; undefined for anything else (IPv4-mapped IPv6 is unwrapped). */
export function ipToU32(addr: string | undefined): number | undefined {
  if (!addr) return undefined;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  const p = a.split('.');
  if (p.length !== 4) return undefined;
  let v = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    v = v * 256 + Number(x);
  }
  return v >>> 0;
}

export function u32ToIp(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Seconds since the epoch. */
export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
