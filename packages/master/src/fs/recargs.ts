// Reading the arguments of a parsed changelog record, and filling or checking its result.
import { MFS_ERROR_MISMATCH, MFS_STATUS_OK } from '@mfs-ts/protocol';
import type { ChangelogRecord, ClArg } from './changelog.js';
import { MFS_NAME_MAX } from './types.js';

export class BadRecord extends Error {}

export function num(rec: ChangelogRecord, i: number): number {
  const a = rec.args[i];
  if (typeof a === 'number') return a;
  throw new BadRecord(`${rec.op}: argument ${i} is not a number`);
}

export function big(a: ClArg | number | bigint | undefined): number {
  if (typeof a === 'number') return a;
  if (typeof a === 'bigint') return Number(a);
  throw new BadRecord('number expected');
}

export function nameArg(rec: ChangelogRecord, i: number): Buffer {
  const a = rec.args[i];
  if (Buffer.isBuffer(a)) return a;
  throw new BadRecord(`${rec.op}: argument ${i} is not a name`);
}

/** Fills the result (live) or compares it (replay). */
export function result(rec: ChangelogRecord, values: number[], checkZeroes = false): number {
  if (rec.result === undefined) {
    rec.result = values;
    return MFS_STATUS_OK;
  }
  // Compared in place (replay runs this once per record).
  const got = rec.result;
  if (checkZeroes) {
    let zeroes = true;
    for (let i = 0; i < got.length && zeroes; i++) zeroes = Number(got[i]) === 0;
    if (zeroes) return MFS_STATUS_OK;
  }
  if (got.length !== values.length) return MFS_ERROR_MISMATCH;
  for (let i = 0; i < values.length; i++) if (Number(got[i]) !== values[i]) return MFS_ERROR_MISMATCH;
  return MFS_STATUS_OK;
}

export function namecheck(name: Buffer): boolean {
  if (name.length === 0 || name.length > MFS_NAME_MAX) return false;
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === 0 || c === 0x2f) return false;
  }
  return true;
}
