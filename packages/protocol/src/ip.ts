/** MooseFS carries IPv4 addresses as `ip:32` (big-endian a.b.c.d). */

/** "a.b.c.d" (or IPv4-mapped "::ffff:a.b.c.d") -> u32; undefined for anything else (IPv6, names). */
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

/** u32 -> "a.b.c.d". */
export function u32ToIp(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
