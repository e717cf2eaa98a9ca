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
  readonly kind: 'bytes' | 'rest' | 'name' | 'blob32' | 'cstr32';
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

/** `len:32 bytes` (symlink targets, xattr values, info strings). */
export const blob32: BytesField = {
  kind: 'blob32',
  read: (r) => r.bytes(r.u32()),
  write: (w, v) => void w.u32(v.length).bytes(v),
};

/** `len:32 bytes` where the bytes end in a NUL that `len` counts; the value excludes the NUL. */
export const cstr32: BytesField = {
  kind: 'cstr32',
  read: (r) => {
    const n = r.u32();
    if (n === 0) return r.bytes(0);
    const b = r.bytes(n);
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
        while (r.remaining > 0) out.push(of.read(r));
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
  return {
    kind: 'struct',
    fields,
    read: (r) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) o[keys[i]!] = defs[i]!.read(r);
      return o as InferFields<S>;
    },
    write: (w, v) => {
      const o = v as Record<string, unknown>;
      for (let i = 0; i < keys.length; i++) defs[i]!.write(w, o[keys[i]!]);
    },
  };
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
