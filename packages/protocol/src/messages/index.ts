import type { Link, MessageDef } from '../codec/message.js';
import { fail, ok, ProtocolError, type Result } from '../codec/errors.js';
import { ANTOAN_MESSAGES } from './antoan.js';
import { ANTOMA_MESSAGES } from './antoma.js';
import { CLTOCS_MESSAGES } from './cltocs.js';
import { CLTOMA_MESSAGES } from './cltoma.js';
import { CSTOCL_MESSAGES } from './cstocl.js';
import { CSTOCS_MESSAGES } from './cstocs.js';
import { CSTOMA_MESSAGES } from './cstoma.js';
import { MATOAN_MESSAGES } from './matoan.js';
import { MATOCL_MESSAGES } from './matocl.js';
import { MATOCS_MESSAGES } from './matocs.js';
import { TOOLS_MESSAGES } from './tools.js';

export * from './antoan.js';
export * from './antoma.js';
export * from './cltocs.js';
export * from './cltoma.js';
export * from './common.js';
export * from './cstocl.js';
export * from './cstocs.js';
export * from './cstoma.js';
export * from './matoan.js';
export * from './matocl.js';
export * from './readdir.js';
export * from './matocs.js';
export * from './tools.js';

/** Every message definition, one per MooseFS constant name. */
export const MESSAGES: MessageDef<any>[] = [
  ...ANTOAN_MESSAGES, ...CLTOMA_MESSAGES, ...MATOCL_MESSAGES, ...TOOLS_MESSAGES, ...CSTOMA_MESSAGES, ...MATOCS_MESSAGES,
  ...ANTOMA_MESSAGES, ...MATOAN_MESSAGES, ...CLTOCS_MESSAGES, ...CSTOCL_MESSAGES, ...CSTOCS_MESSAGES,
];

const byName = new Map<string, MessageDef<any>>();
const byId = new Map<number, MessageDef<any>[]>();
for (const m of MESSAGES) {
  if (byName.has(m.name)) throw new Error(`duplicate message definition ${m.name}`);
  byName.set(m.name, m);
  const l = byId.get(m.id);
  if (l) l.push(m);
  else byId.set(m.id, [m]);
}

export function messageByName(name: string): MessageDef<any> | undefined {
  return byName.get(name);
}

/**
 * The definition for a type number. Ids are unique per link but two directions can share one
 * (499 = MATOCL_FUSE_FSYNC and CLTOMA_FUSE_SUSTAINED_INODES_DEPRECATED), so pass the link to be exact;
 * without it the first definition registered is returned. Links ANTOAN/CLTOAN/ANTOCL/ANTOCS/CSTOAN
 * match any receiver: a `link` of e.g. 'CLTOMA' also finds ANTOAN_NOP; 'CSTOCS' finds the CLTOCS / CSTOCL /
 * ANTOCS / CSTOAN packets chunkservers exchange.
 */
export function messageById(id: number, link?: Link): MessageDef<any> | undefined {
  const l = byId.get(id);
  if (!l) return undefined;
  if (!link) return l[0];
  return (
    l.find((m) => m.link === link) ??
    l.find((m) => GENERIC.has(m.link) && compatible(m.link, link)) ??
    (link === 'CSTOCS' ? l.find((m) => CS_TO_CS.has(m.link)) : undefined)
  );
}

/** Between two chunkservers (chained writes, replication) the client and tool packets are reused. */
const CS_TO_CS = new Set<Link>(['CLTOCS', 'CSTOCL', 'ANTOCS', 'CSTOAN']);

const GENERIC = new Set<Link>(['ANTOAN', 'CLTOAN', 'ANTOCL', 'ANTOCS', 'CSTOAN', 'ANTOMA', 'MATOAN']);
function compatible(generic: Link, link: Link): boolean {
  const [src, dst] = [generic.slice(0, 2), generic.slice(4, 6)];
  const [lsrc, ldst] = [link.slice(0, 2), link.slice(4, 6)];
  return (src === 'AN' || src === lsrc) && (dst === 'AN' || dst === ldst);
}

/**
 * Decodes one framed packet by its type number: the definition (by id and link, see messageById) and
 * the value, or MFS_PROTO_UNKNOWN for a type with no definition on that link.
 */
export function decodePacket(type: number, payload: Buffer, link?: Link): Result<{ def: MessageDef<any>; value: any }> {
  const def = messageById(type, link);
  if (!def) return fail(new ProtocolError('MFS_PROTO_UNKNOWN', `unknown message type ${type}${link ? ` on ${link}` : ''}`));
  const r = def.decode(payload);
  if (!r.ok) return r;
  return ok({ def, value: r.value });
}
