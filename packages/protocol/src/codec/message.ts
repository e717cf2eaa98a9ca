import { fail, ok, ProtocolError, type Result } from './errors.js';
import { struct, type Fields, type InferFields, type StructField } from './fields.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

/** The links of MooseFS, named as in its sources: source TO destination. */
export type Link =
  | 'ANTOAN' // any to any (NOP, version, unknown command)
  | 'CLTOMA' | 'MATOCL' // client <-> master, port 9421
  | 'CSTOMA' | 'MATOCS' // chunkserver <-> master, port 9420
  | 'ANTOMA' | 'MATOAN' // metalogger (any) <-> master, port 9419
  | 'MLTOMA' | 'MATOML'
  | 'CLTOCS' | 'CSTOCL' // client <-> chunkserver, port 9422
  | 'CSTOCS' // chunkserver <-> chunkserver (replication, chained writes), port 9422
  | 'ANTOCS' | 'CSTOAN' // tools (mfscli) <-> chunkserver
  | 'CLTOAN' | 'ANTOCL'; // tools -> client proxy

export type Variants = Record<string, { fields: Fields; match?: (payload: Buffer) => boolean }>;

export type VariantValue<V extends Variants> = {
  [K in keyof V]: { $v: K } & InferFields<V[K]['fields']>;
}[keyof V];

export interface MessageDef<T> {
  readonly name: string;
  readonly id: number;
  readonly link: Link;
  /** Field layout(s); one entry for plain messages. */
  readonly layouts: ReadonlyArray<{ variant: string | undefined; fields: Fields; match?: (payload: Buffer) => boolean }>;
  decode(payload: Buffer): Result<T>;
  /** Appends the whole packet (header included) to the writer. */
  write(w: Writer, v: T): void;
  /** The whole packet as an owned buffer. */
  encode(v: T): Buffer;
}

/** The value type of a definition: `ValueOf<typeof CltomaFuseLookup>`. */
export type ValueOf<M> = M extends MessageDef<infer T> ? T : never;

const scratch = new Reader();

function decodeWith<T>(name: string, s: StructField<any>, payload: Buffer): Result<T> {
  try {
    scratch.reset(payload);
    const v = s.read(scratch);
    if (scratch.remaining !== 0) {
      return fail(new ProtocolError('MFS_PROTO_TRAILING', `${scratch.remaining} trailing bytes`, name));
    }
    return ok(v as T);
  } catch (e) {
    if (ProtocolError.is(e)) return fail(new ProtocolError(e.code, e.message, name));
    return fail(new ProtocolError('MFS_PROTO_BAD_VALUE', String(e), name));
  }
}

/** A message with one layout. */
export function defineMessage<S extends Fields>(def: {
  name: string;
  id: number;
  link: Link;
  fields: S;
}): MessageDef<InferFields<S>> {
  const s = struct(def.fields);
  const self: MessageDef<InferFields<S>> = {
    name: def.name,
    id: def.id,
    link: def.link,
    layouts: [{ variant: undefined, fields: def.fields }],
    decode: (payload) => decodeWith(def.name, s, payload),
    write: (w, v) => {
      w.begin(def.id);
      s.write(w, v);
      w.finish();
    },
    encode: (v) => {
      const w = new Writer(64);
      self.write(w, v);
      return Buffer.from(w.buf.subarray(0, w.pos));
    },
  };
  return self;
}

/**
 * A message with several layouts (a reply that is either a status byte or data, a register packet
 * whose first byte selects the stage). Decoding tries the variants in order; a variant's `match`
 * looks at the raw payload, and the first that decodes completely wins. The value carries `$v`.
 */
export function defineVariants<V extends Variants>(def: {
  name: string;
  id: number;
  link: Link;
  variants: V;
}): MessageDef<VariantValue<V>> {
  const entries = Object.entries(def.variants).map(([k, v]) => ({ key: k, s: struct(v.fields), match: v.match, fields: v.fields }));
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const self: MessageDef<VariantValue<V>> = {
    name: def.name,
    id: def.id,
    link: def.link,
    layouts: entries.map((e) => ({ variant: e.key, fields: e.fields, match: e.match })),
    decode: (payload) => {
      // The named error is built only when no layout fits (the failed tries are the common case).
      let last: unknown;
      for (const e of entries) {
        if (e.match && !e.match(payload)) continue;
        try {
          scratch.reset(payload);
          const v = e.s.read(scratch) as Record<string, unknown>;
          if (scratch.remaining === 0) {
            v.$v = e.key;
            return ok(v as VariantValue<V>);
          }
          last = scratch.remaining;
        } catch (err) {
          last = err;
        }
      }
      if (last === undefined) return fail(new ProtocolError('MFS_PROTO_NO_VARIANT', `no layout matches ${payload.length} bytes`, def.name));
      if (typeof last === 'number') return fail(new ProtocolError('MFS_PROTO_TRAILING', `${last} trailing bytes`, def.name));
      if (ProtocolError.is(last)) return fail(new ProtocolError(last.code, last.message, def.name));
      return fail(new ProtocolError('MFS_PROTO_BAD_VALUE', String(last), def.name));
    },
    write: (w, v) => {
      const e = byKey.get(v.$v as string);
      if (!e) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `unknown variant ${String(v.$v)}`, def.name);
      w.begin(def.id);
      e.s.write(w, v);
      w.finish();
    },
    encode: (v) => {
      const w = new Writer(64);
      self.write(w, v);
      return Buffer.from(w.buf.subarray(0, w.pos));
    },
  };
  return self;
}

/** Matchers for the common variant selectors. */
export const when = {
  length: (n: number) => (p: Buffer) => p.length === n,
  minLength: (n: number) => (p: Buffer) => p.length >= n,
  firstByte: (b: number) => (p: Buffer) => p.length > 0 && p[0] === b,
  /** Byte at offset `at` (e.g. after a msgid) equals b. */
  byteAt: (at: number, b: number) => (p: Buffer) => p.length > at && p[at] === b,
};
