import { ProtocolError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/**
 * Field descriptors: each knows how to read and write itself and says what it is (`kind` and the
 * parameters below), so tests can derive arbitraries from the same definitions the codec uses.
 */
export interface Field<T> {
  readonly kind: string;
  read(r: Reader): T;
  write(w: Writer, v: T): void;
}

export type Infer<F> = F extends Field<infer T> ? T : never;
export type Fields = Record<string, Field<any>>;
export type InferFields<S extends Fields> = { [K in keyof S]: Infer<S[K]> };

export interface IntField extends Field<number> {
  readonly kind: 'u8' | 'u16' | 'u32' | 'i32' | 'u64n';
}
export interface BigField extends Field<bigint> {
  readonly kind: 'u64';
}
export interface BytesField extends Field<Buffer> {
  readonly kind: 'bytes' | 'rest' | 'name' | 'blob16' | 'blob32' | 'cstr32';
  readonly size?: number;
}
export interface ListField<T> extends Field<T[]> {
  readonly kind: 'list';
  readonly count: 'u8' | 'u16' | 'u32' | 'rest';
  readonly of: Field<T>;
}
export interface StructField<S extends Fields> extends Field<InferFields<S>> {
  readonly kind: 'struct';
  readonly fields: S;
}
export interface OptionalField<T> extends Field<T | undefined> {
  readonly kind: 'optional';
  readonly of: Field<T>;
}
/** A field whose value is fixed by the layout (a stage byte, a magic blob); any other value is an error. */
export interface ConstField<T> extends Field<T> {
  readonly kind: 'const';
  readonly of: Field<T>;
  readonly value: T;
}
/** Exactly `size` elements, no count on the wire. */
export interface ArrayField<T> extends Field<T[]> {
  readonly kind: 'array';
  readonly of: Field<T>;
  readonly size: number;
}
/** n lists whose counts all come first: `c1:C ... cn:C c1*[E] ... cn*[E]` (e.g. files then directories). */
export interface ListsField<T> extends Field<T[][]> {
  readonly kind: 'lists';
  readonly count: 'u8' | 'u16' | 'u32';
  readonly n: number;
  readonly of: Field<T>;
}
/** n lists each of whose counts follows a flag byte, all (flag, count) pairs first. */
export interface FlaggedListsField<T> extends Field<{ flag: number; items: T[] }[]> {
  readonly kind: 'flaggedLists';
  readonly n: number;
  readonly of: Field<T>;
}
/** A leading tag byte selects the rest of the layout; `cases[tag]` or, for any other tag, `cases.other`. */
export interface TaggedField extends Field<TaggedValue> {
  readonly kind: 'tagged';
  readonly cases: Readonly<Record<string, Fields>>;
}
export type TaggedValue = { tag: number } & Record<string, any>;

function int(kind: IntField['kind']): IntField {
  switch (kind) {
    case 'u8':
      return { kind, read: (r) => r.u8(), write: (w, v) => void w.u8(v) };
    case 'u16':
      return { kind, read: (r) => r.u16(), write: (w, v) => void w.u16(v) };
    case 'u32':
      return { kind, read: (r) => r.u32(), write: (w, v) => void w.u32(v) };
    case 'i32':
      return { kind, read: (r) => r.i32(), write: (w, v) => void w.i32(v) };
    case 'u64n':
      return { kind, read: (r) => r.u64n(), write: (w, v) => void w.u64n(v) };
  }
}

export const u8 = int('u8');
export const u16 = int('u16');
export const u32 = int('u32');
export const i32 = int('i32');
/** 64-bit field kept as a number: lengths, offsets and chunk ids (MooseFS keeps them below 2^53). */
export const u64n = int('u64n');
/** 64-bit field kept exact: meta ids, edge ids, checksums. */
export const u64: BigField = { kind: 'u64', read: (r) => r.u64(), write: (w, v) => void w.u64(v) };

/** Exactly n bytes, as a view. */
export function bytes(size: number): BytesField {
  return {
    kind: 'bytes',
    size,
    read: (r) => r.bytes(size),
    write: (w, v) => {
      if (v.length !== size) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `expected ${size} bytes, got ${v.length}`);
      w.bytes(v);
    },
  };
}

/** Everything up to the end of the payload (file data, opaque tails). */
export const rest: BytesField = { kind: 'rest', read: (r) => r.rest(), write: (w, v) => void w.bytes(v) };

/** NAME: `len:8 bytes` (file names are bytes in MooseFS, not strings). */
export const name: BytesField = {
  kind: 'name',
  read: (r) => r.bytes(r.u8()),
  write: (w, v) => {
    if (v.length > 255) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `name longer than 255 bytes`);
    w.u8(v.length).bytes(v);
  },
};

/** `len:16 bytes` (chunkserver disk list entries). */
export const blob16: BytesField = {
  kind: 'blob16',
  read: (r) => r.bytes(r.u16()),
  write: (w, v) => {
    if (v.length > 0xffff) throw new ProtocolError('MFS_PROTO_BAD_VALUE', 'blob longer than 65535 bytes');
    w.u16(v.length).bytes(v);
  },
};

/** `len:32 bytes` (symlink targets, xattr values, info strings). */
export const blob32: BytesField = {
  kind: 'blob32',
  read: (r) => r.bytes(r.u32()),
  write: (w, v) => void w.u32(v.length).bytes(v),
};

/**
 * `len:32 bytes` where the bytes end in a NUL that `len` counts; the value excludes the NUL. A length of
 * 0 or a missing NUL is an error (it could not be re-encoded byte for byte).
 */
export const cstr32: BytesField = {
  kind: 'cstr32',
  read: (r) => {
    const n = r.u32();
    if (n === 0) throw new ProtocolError('MFS_PROTO_BAD_VALUE', 'NUL-terminated string of length 0');
    const b = r.bytes(n);
    if (b[n - 1] !== 0) throw new ProtocolError('MFS_PROTO_BAD_VALUE', 'string without terminating NUL');
    return b.subarray(0, n - 1);
  },
  write: (w, v) => void w.u32(v.length + 1).bytes(v).u8(0),
};

export function list<T>(of: Field<T>, count: ListField<T>['count']): ListField<T> {
  return {
    kind: 'list',
    of,
    count,
    read: (r) => {
      const out: T[] = [];
      if (count === 'rest') {
        while (r.remaining > 0) {
          const before = r.pos;
          out.push(of.read(r));
          if (r.pos === before) throw new ProtocolError('MFS_PROTO_BAD_VALUE', 'empty list element');
        }
        return out;
      }
      const n = count === 'u8' ? r.u8() : count === 'u16' ? r.u16() : r.u32();
      // Each element takes at least one byte: a count above what is left is a lie, not an allocation.
      if (n > r.remaining) throw new ProtocolError('MFS_PROTO_TRUNCATED', `list of ${n} with ${r.remaining} bytes left`);
      for (let i = 0; i < n; i++) out.push(of.read(r));
      return out;
    },
    write: (w, v) => {
      if (count === 'u8') w.u8(v.length);
      else if (count === 'u16') w.u16(v.length);
      else if (count === 'u32') w.u32(v.length);
      for (const e of v) of.write(w, e);
    },
  };
}

export function struct<S extends Fields>(fields: S): StructField<S> {
  const keys = Object.keys(fields);
  const defs = keys.map((k) => fields[k]!);
  return { kind: 'struct', fields, ...compileStruct(keys, defs) } as StructField<S>;
}

/**
 * Builds the read/write pair of a struct as straight-line code (one object literal of fixed shape per
 * decode, no loop over keys), which V8 keeps monomorphic; falls back to a loop where code generation
 * is not allowed.
 */
function compileStruct(keys: string[], defs: Field<any>[]): Pick<Field<any>, 'read' | 'write'> {
  try {
    const props = keys.map((k, i) => `${JSON.stringify(k)}: d[${i}].read(r)`).join(', ');
    const writes = keys.map((k, i) => `d[${i}].write(w, v[${JSON.stringify(k)}]);`).join(' ');
    const read = new Function('d', `return function read(r) { return { ${props} }; }`)(defs) as Field<any>['read'];
    const write = new Function('d', `return function write(w, v) { ${writes} }`)(defs) as Field<any>['write'];
    return { read, write };
  } catch {
    return {
      read: (r) => {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < keys.length; i++) o[keys[i]!] = defs[i]!.read(r);
        return o;
      },
      write: (w, v) => {
        const o = v as Record<string, unknown>;
        for (let i = 0; i < keys.length; i++) defs[i]!.write(w, o[keys[i]!]);
      },
    };
  }
}

/** A trailing group that older peers leave out: present when bytes remain. */
export function optional<T>(of: Field<T>): OptionalField<T> {
  return {
    kind: 'optional',
    of,
    read: (r) => (r.remaining > 0 ? of.read(r) : undefined),
    write: (w, v) => {
      if (v !== undefined) of.write(w, v);
    },
  };
}

/** G: `uid:32 gcnt:32 gcnt*gid:32` is written as uid + this. */
export const gids = list(u32, 'u32');

function same(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

export function constant<T>(of: Field<T>, value: T): ConstField<T> {
  return {
    kind: 'const',
    of,
    value,
    read: (r) => {
      const v = of.read(r);
      if (!same(v, value)) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `expected constant ${String(value)}, got ${String(v)}`);
      return v;
    },
    write: (w, v) => {
      if (v !== undefined && !same(v, value)) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `constant field must be ${String(value)}`);
      of.write(w, value);
    },
  };
}
/** A constant u8 (stage / record-kind bytes). */
export const c8 = (v: number) => constant(u8, v);

export function array<T>(of: Field<T>, size: number): ArrayField<T> {
  return {
    kind: 'array',
    of,
    size,
    read: (r) => {
      const out: T[] = new Array(size);
      for (let i = 0; i < size; i++) out[i] = of.read(r);
      return out;
    },
    write: (w, v) => {
      if (v.length !== size) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `expected ${size} elements, got ${v.length}`);
      for (const e of v) of.write(w, e);
    },
  };
}

export function lists<T>(of: Field<T>, count: 'u8' | 'u16' | 'u32', n: number): ListsField<T> {
  const rc = (r: Reader) => (count === 'u8' ? r.u8() : count === 'u16' ? r.u16() : r.u32());
  return {
    kind: 'lists',
    of,
    count,
    n,
    read: (r) => {
      const counts: number[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const c = rc(r);
        counts.push(c);
        total += c;
      }
      if (total > r.remaining) throw new ProtocolError('MFS_PROTO_TRUNCATED', `lists of ${total} elements with ${r.remaining} bytes left`);
      return counts.map((c) => {
        const out: T[] = [];
        for (let i = 0; i < c; i++) out.push(of.read(r));
        return out;
      });
    },
    write: (w, v) => {
      if (v.length !== n) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `expected ${n} lists, got ${v.length}`);
      for (const l of v) {
        if (count === 'u8') w.u8(l.length);
        else if (count === 'u16') w.u16(l.length);
        else w.u32(l.length);
      }
      for (const l of v) for (const e of l) of.write(w, e);
    },
  };
}

/**
 * `f1:8 c1:8 ... fn:8 cn:8` then c1*[E] ... cn*[E] (sclass_info's label groups: a "can be fulfilled"
 * flag before each count).
 */
export function flaggedLists<T>(of: Field<T>, n: number): FlaggedListsField<T> {
  return {
    kind: 'flaggedLists',
    of,
    n,
    read: (r) => {
      const heads: { flag: number; count: number }[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const flag = r.u8();
        const count = r.u8();
        heads.push({ flag, count });
        total += count;
      }
      if (total > r.remaining) throw new ProtocolError('MFS_PROTO_TRUNCATED', `lists of ${total} elements with ${r.remaining} bytes left`);
      return heads.map((h) => {
        const items: T[] = [];
        for (let i = 0; i < h.count; i++) items.push(of.read(r));
        return { flag: h.flag, items };
      });
    },
    write: (w, v) => {
      if (v.length !== n) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `expected ${n} lists, got ${v.length}`);
      for (const l of v) {
        if (l.items.length > 255) throw new ProtocolError('MFS_PROTO_BAD_VALUE', 'list longer than 255');
        w.u8(l.flag).u8(l.items.length);
      }
      for (const l of v) for (const e of l.items) of.write(w, e);
    },
  };
}

/**
 * A record whose first byte selects its layout: `cases` maps tag values (as strings) to the fields
 * after the tag; `other` (if present) covers every tag not listed.
 */
export function tagged(cases: Record<string, Fields>): TaggedField {
  const compiled = new Map<string, StructField<any>>();
  for (const [k, f] of Object.entries(cases)) compiled.set(k, struct(f));
  const other = compiled.get('other');
  return {
    kind: 'tagged',
    cases,
    read: (r) => {
      const tag = r.u8();
      const s = compiled.get(String(tag)) ?? other;
      if (!s) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `unknown record tag ${tag}`);
      return { tag, ...s.read(r) } as TaggedValue;
    },
    write: (w, v) => {
      const s = compiled.get(String(v.tag)) ?? other;
      if (!s) throw new ProtocolError('MFS_PROTO_BAD_VALUE', `unknown record tag ${v.tag}`);
      w.u8(v.tag);
      s.write(w, v);
    },
  };
}
