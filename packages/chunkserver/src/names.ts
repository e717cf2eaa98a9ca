import { MESSAGE_IDS } from '@mfs-ts/protocol';

const LINKS_IN = new Set(['ANTOAN', 'CLTOCS', 'CSTOCS', 'ANTOCS', 'CLTOAN', 'MATOCS', 'CSTOCL', 'CSTOAN']);
const byId = new Map<number, string>();
for (const e of MESSAGE_IDS) if (LINKS_IN.has(e.link) && !byId.has(e.id)) byId.set(e.id, e.name);

/** The MooseFS name of a packet type a chunkserver sees, for log lines. */
export function packetName(type: number): string {
  return byId.get(type) ?? `type ${type}`;
}

/** "a.b.c.d" from a MooseFS u32 address. */
export function ipString(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** u32 from "a.b.c.d" (0 for anything else, e.g. IPv6). */
export function ipNumber(s: string | undefined): number {
  const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s ?? '');
  if (!m) return 0;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}
