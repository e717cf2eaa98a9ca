import { MESSAGE_IDS } from '@mfs-ts/protocol';

const LINKS_IN = new Set(['ANTOAN', 'CLTOCS', 'CSTOCS', 'ANTOCS', 'CLTOAN', 'MATOCS', 'CSTOCL', 'CSTOAN']);
const byId = new Map<number, string>();
for (const e of MESSAGE_IDS) if (LINKS_IN.has(e.link) && !byId.has(e.id)) byId.set(e.id, e.name);

/** The MooseFS name of a packet type a chunkserver sees, for log lines. */
export function packetName(type: number): string {
  return byId.get(type) ?? `type ${type}`;
}
