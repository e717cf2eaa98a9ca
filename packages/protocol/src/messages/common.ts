import { defineMessage, defineVariants, when, type Link, type MessageDef, type Variants, type VariantValue } from '../codec/message.js';
import { u8, u32, gids, type Fields, type InferFields } from '../codec/fields.js';
import { MESSAGE_IDS } from '../ids.js';

// Small helpers so each definition is one line of layout: the id and link come from the MooseFS name.

const byName = new Map(MESSAGE_IDS.map((e) => [e.name, e]));

export function idOf(name: string): { id: number; link: Link } {
  const e = byName.get(name);
  if (!e) throw new Error(`unknown MooseFS message name ${name}`);
  return { id: e.id, link: e.link };
}

export function msg<S extends Fields>(name: string, fields: S): MessageDef<InferFields<S>> {
  return defineMessage({ name, ...idOf(name), fields });
}

export function vmsg<V extends Variants>(name: string, variants: V): MessageDef<VariantValue<V>> {
  return defineVariants({ name, ...idOf(name), variants });
}

/** `msgid:32 status:8`, the error form of nearly every master reply. */
export const statusFields = { msgid: u32, status: u8 };

/** A reply that is `msgid status:8` (5 bytes) or the success layout. */
export function statusOr<O extends Fields>(name: string, okFields: O) {
  return vmsg(name, {
    status: { match: when.length(5), fields: statusFields },
    ok: { fields: okFields },
  });
}

/**
 * The two credential forms the master accepts in most namespace requests (matoclserv.c): a single
 * `uid:32 gid:32` (old clients, and 3.0.117 clients whose caller has no groups: gid 0xFFFFFFFF), or
 * `uid:32 gcnt:32 gcnt*gid:32`. The master takes the exact single-gid length as the old form, so
 * `single` is tried first.
 */
export function gForms<P extends Fields, Q extends Fields>(prefix: P, suffix: Q) {
  return {
    single: { fields: { ...prefix, uid: u32, gid: u32, ...suffix } },
    groups: { fields: { ...prefix, uid: u32, gids, ...suffix } },
  };
}
