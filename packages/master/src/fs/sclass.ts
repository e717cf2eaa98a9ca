// Storage class definitions (mfsmaster/storageclass.c): the table, the records that change it
// (SCSET / SCDUP / SCREN / SCDEL, applied by applyRecord like every other change) and the SCLA
// section of metadata.mfs (sclass_store / sclass_load, version 1.6).
import {
  MFS_ERROR_CLASSEXISTS,
  MFS_ERROR_CLASSINUSE,
  MFS_ERROR_CLASSLIMITREACH,
  MFS_ERROR_EINVAL,
  MFS_ERROR_EPERM,
  MFS_ERROR_MISMATCH,
  MFS_ERROR_NOSUCHCLASS,
  MFS_STATUS_OK,
  SCLASS_CHG_ADMIN_ONLY,
  SCLASS_CHG_ARCH_DELAY,
  SCLASS_CHG_ARCH_MASKS,
  SCLASS_CHG_CREATE_MASKS,
  SCLASS_CHG_FORCE,
  SCLASS_CHG_KEEP_MASKS,
  SCLASS_CHG_MODE,
  SCLASS_MODE_STD,
} from '@mfs-ts/protocol';
import type { ChangelogRecord, ClArg } from './changelog.js';
import { BadRecord, nameArg, num, result } from './recargs.js';

/** storageclass.h / MFSCommunication.h */
export const MAXSCLASS = 256;
export const MAXLABELSCNT = 9;
export const MASKORGROUP = 4;
/** Ids below this are the plain goals "1".."9" (sclass_is_simple_goal). */
export const FIRSTSCLASSID = 10;
export const SCLA_VERSION = 0x16;

/** One label expression per copy: MASKORGROUP label masks (or-groups) each. */
export type LabelExpr = number[];

export interface StorageClass {
  name: Buffer;
  adminOnly: number;
  mode: number;
  archDelay: number;
  /** create, keep, archive: one expression per copy (1..9 each). */
  labels: [LabelExpr[], LabelExpr[], LabelExpr[]];
}

const anyLabels = (n: number): LabelExpr[] => Array.from({ length: n }, () => new Array<number>(MASKORGROUP).fill(0));
const copyLabels = (l: StorageClass['labels']): StorageClass['labels'] => [l[0].map((e) => [...e]), l[1].map((e) => [...e]), l[2].map((e) => [...e])];
const badCounts = (l: StorageClass['labels']) => l.some((x) => x.length === 0 || x.length > MAXLABELSCNT);

/** sclass_name_check: 1..255 bytes, no NUL. */
function nameOk(name: Buffer): boolean {
  return name.length > 0 && name.length < 256 && !name.includes(0);
}

/** Where a class's chunks go (chunks.ts Placement): shared, never changed (a class change makes a new one). */
export interface Placement {
  readonly goal: number;
  readonly create: number[][] | null;
  readonly keep: number[][] | null;
  readonly mode: number;
}

export class SclassTable {
  /** Index = sclassid; undefined = free slot. */
  private readonly tab: Array<StorageClass | undefined> = [];
  /** placement() per id, dropped whenever a class changes */
  private readonly placements = new Map<number, Placement>();
  /** firstneverused */
  private end = FIRSTSCLASSID;

  constructor() {
    this.reset();
  }

  /** sclass_init / sclass_cleanup: the nine plain goals, "i" copies anywhere. */
  reset(): void {
    this.placements.clear();
    this.tab.length = 0;
    for (let i = 1; i < FIRSTSCLASSID; i++) {
      this.tab[i] = { name: Buffer.from(String(i)), adminOnly: 0, mode: SCLASS_MODE_STD, archDelay: 0, labels: [anyLabels(i), anyLabels(i), anyLabels(i)] };
    }
    this.end = FIRSTSCLASSID;
  }

  get(id: number): StorageClass | undefined {
    return this.tab[id];
  }

  /** [id, class] for every defined class, by id. */
  entries(): Array<[number, StorageClass]> {
    const out: Array<[number, StorageClass]> = [];
    for (let i = 1; i < this.end; i++) {
      const c = this.tab[i];
      if (c) out.push([i, c]);
    }
    return out;
  }

  findByName(name: Buffer): number {
    for (let i = 1; i < this.end; i++) if (this.tab[i]?.name.equals(name)) return i;
    return 0;
  }

  /** sclass_get_keepmax_goal: copies a file of this class keeps (0 for an unknown id). */
  keepMax(id: number): number {
    const c = this.tab[id];
    return c ? Math.max(c.labels[1].length, c.labels[2].length) : 0;
  }

  /**
   * Where the chunks of a file of this class go: keep-copies count, create and keep label
   * expressions (null when they are all "*"), mode. Unknown ids: goal 2 anywhere.
   */
  placement(id: number): Placement {
    let p = this.placements.get(id);
    if (p === undefined) {
      const c = this.tab[id];
      const labelled = (l: LabelExpr[]) => (l.some((e) => e.some((m) => m !== 0)) ? l.map((e) => [...e]) : null);
      p = c ? { goal: c.labels[1].length, create: labelled(c.labels[0]), keep: labelled(c.labels[1]), mode: c.mode } : { goal: 2, create: null, keep: null, mode: SCLASS_MODE_STD };
      this.placements.set(id, Object.freeze(p));
    }
    return p;
  }

  /** sclass_get_create_goal */
  createGoal(id: number): number {
    return this.tab[id]?.labels[0].length ?? 0;
  }

  adminOnly(id: number): boolean {
    return (this.tab[id]?.adminOnly ?? 0) !== 0;
  }

  /** A free id for a new class (the lowest free slot, else the next never used one), or a status. */
  private freeId(name: Buffer): number {
    let free = 0;
    for (let i = 1; i < this.end; i++) {
      const c = this.tab[i];
      if (c?.name.equals(name)) return -MFS_ERROR_CLASSEXISTS;
      if (!c && free === 0) free = i;
    }
    if (free === 0) {
      if (this.end >= MAXSCLASS) return -MFS_ERROR_CLASSLIMITREACH;
      free = this.end;
    }
    return free;
  }

  private take(id: number, c: StorageClass): void {
    this.placements.delete(id);
    this.tab[id] = c;
    if (id >= this.end) this.end = id + 1;
  }

  // ---- live operations: check, and build the record the applier then executes ----

  /** sclass_create_entry -> SCSET(name,1,...) */
  createRecord(c: StorageClass): ClArg[] | number {
    if (!nameOk(c.name)) return MFS_ERROR_EINVAL;
    const id = this.freeId(c.name);
    if (id < 0) return -id;
    if (badCounts(c.labels)) return MFS_ERROR_EINVAL;
    return scsetArgs(c, 1);
  }

  /**
   * sclass_change_entry: `chgmask` says which fields of `c` to take; returns the resulting class
   * (for the reply) and the SCSET(name,0,...) record to apply, or null when nothing changes.
   */
  changeRecord(name: Buffer, chgmask: number, c: Omit<StorageClass, 'name'>): { cls: StorageClass; args: ClArg[] | null } | number {
    if (!nameOk(name)) return MFS_ERROR_EINVAL;
    const id = this.findByName(name);
    if (id === 0) return MFS_ERROR_NOSUCHCLASS;
    // storageclass.c compares the loop counter, one past the class found: "9" can be changed without force.
    if (id + 1 < FIRSTSCLASSID && (chgmask & SCLASS_CHG_FORCE) === 0 && chgmask !== 0) return MFS_ERROR_EPERM;
    const masks = [SCLASS_CHG_CREATE_MASKS, SCLASS_CHG_KEEP_MASKS, SCLASS_CHG_ARCH_MASKS];
    for (let k = 0; k < 3; k++) {
      const l = c.labels[k]!;
      if (chgmask & masks[k]! && (l.length === 0 || l.length > MAXLABELSCNT)) return MFS_ERROR_EINVAL;
    }
    const cur = this.tab[id]!;
    const cls: StorageClass = {
      name: cur.name,
      adminOnly: chgmask & SCLASS_CHG_ADMIN_ONLY ? c.adminOnly : cur.adminOnly,
      mode: chgmask & SCLASS_CHG_MODE ? c.mode : cur.mode,
      archDelay: chgmask & SCLASS_CHG_ARCH_DELAY ? c.archDelay : cur.archDelay,
      labels: copyLabels([0, 1, 2].map((k) => (chgmask & masks[k]! ? c.labels[k]! : cur.labels[k]!)) as StorageClass['labels']),
    };
    return { cls, args: chgmask !== 0 ? scsetArgs(cls, 0) : null };
  }

  /** sclass_delete_entry checks; `inUse(id)` = files or directories of this class exist. */
  deleteCheck(name: Buffer, inUse: (id: number) => boolean): number {
    if (!nameOk(name)) return MFS_ERROR_EINVAL;
    const id = this.findByName(name);
    if (id === 0) return MFS_ERROR_NOSUCHCLASS;
    if (id < FIRSTSCLASSID) return MFS_ERROR_EPERM;
    if (inUse(id)) return MFS_ERROR_CLASSINUSE;
    return MFS_STATUS_OK;
  }

  // ---- the applier (fs_mr side: sclass_mr_set_entry, sclass_univ_*), live and replay ----

  apply(rec: ChangelogRecord): number {
    switch (rec.op) {
      case 'SCSET':
        return this.applySet(rec);
      case 'SCDUP':
        return this.applyDup(rec);
      case 'SCREN':
        return this.applyRen(rec);
      case 'SCDEL':
        return this.applyDel(rec);
    }
    throw new BadRecord(`not a storage class record: ${rec.op}`);
  }

  /** SCSET(name,new,Wc,Kk,Aa,mode,arch_delay,admin_only,masks...|-):id */
  private applySet(rec: ChangelogRecord): number {
    const name = nameArg(rec, 0);
    const isNew = num(rec, 1);
    const cnt = (i: number, letter: string): number => {
      const a = rec.args[i];
      if (typeof a !== 'string' || a[0] !== letter || !/^[WKA]\d+$/.test(a)) throw new BadRecord(`SCSET: argument ${i} is not ${letter}<n>`);
      return Number(a.slice(1));
    };
    const counts = [cnt(2, 'W'), cnt(3, 'K'), cnt(4, 'A')];
    const mode = num(rec, 5);
    const archDelay = num(rec, 6);
    const adminOnly = num(rec, 7);
    if (counts.some((n) => n > MAXLABELSCNT)) return MFS_ERROR_EINVAL;
    const masks = rec.args.slice(8);
    const total = counts.reduce((a, b) => a + b, 0) * MASKORGROUP;
    if (total === 0 ? !(masks.length === 1 && masks[0] === '-') : masks.length !== total || masks.some((m) => typeof m !== 'number')) throw new BadRecord('SCSET: label masks');
    if (!nameOk(name)) return MFS_ERROR_EINVAL;
    let id: number;
    if (isNew) {
      id = this.freeId(name);
      if (id < 0) return -id;
    } else {
      id = this.findByName(name);
      if (id === 0) return MFS_ERROR_NOSUCHCLASS;
    }
    if (counts.some((n) => n === 0)) return MFS_ERROR_EINVAL;
    const st = result(rec, [id]);
    if (st !== MFS_STATUS_OK) return st;
    let p = 0;
    const labels = counts.map((n) => Array.from({ length: n }, () => (masks.slice(p, (p += MASKORGROUP)) as number[]).map((m) => m >>> 0))) as StorageClass['labels'];
    this.take(id, { name: Buffer.from(name), adminOnly, mode, archDelay, labels });
    return MFS_STATUS_OK;
  }

  /** SCDUP(src,dst):srcid,dstid */
  private applyDup(rec: ChangelogRecord): number {
    const src = nameArg(rec, 0);
    const dst = nameArg(rec, 1);
    if (!nameOk(src) || !nameOk(dst)) return MFS_ERROR_EINVAL;
    const sid = this.findByName(src);
    if (sid === 0) return MFS_ERROR_NOSUCHCLASS;
    if (rec.result !== undefined && Number(rec.result[0] ?? 0) !== sid) return MFS_ERROR_MISMATCH;
    const did = this.freeId(dst);
    if (did < 0) return -did;
    const st = result(rec, [sid, did]);
    if (st !== MFS_STATUS_OK) return st;
    const s = this.tab[sid]!;
    this.take(did, { ...s, name: Buffer.from(dst), labels: copyLabels(s.labels) });
    return MFS_STATUS_OK;
  }

  /** SCREN(src,dst):id */
  private applyRen(rec: ChangelogRecord): number {
    const src = nameArg(rec, 0);
    const dst = nameArg(rec, 1);
    if (!nameOk(src) || !nameOk(dst)) return MFS_ERROR_EINVAL;
    const id = this.findByName(src);
    if (id === 0) return MFS_ERROR_NOSUCHCLASS;
    if (id < FIRSTSCLASSID) return MFS_ERROR_EPERM;
    if (rec.result !== undefined && Number(rec.result[0] ?? 0) !== id) return MFS_ERROR_MISMATCH;
    if (this.findByName(dst) !== 0) return MFS_ERROR_CLASSEXISTS;
    const st = result(rec, [id]);
    if (st !== MFS_STATUS_OK) return st;
    this.take(id, { ...this.tab[id]!, name: Buffer.from(dst) });
    return MFS_STATUS_OK;
  }

  /** SCDEL(name):id (the in-use test is the live side's: replay trusts the record). */
  private applyDel(rec: ChangelogRecord): number {
    const name = nameArg(rec, 0);
    if (!nameOk(name)) return MFS_ERROR_EINVAL;
    const id = this.findByName(name);
    if (id === 0) return MFS_ERROR_NOSUCHCLASS;
    if (id < FIRSTSCLASSID) return MFS_ERROR_EPERM;
    const st = result(rec, [id]);
    if (st !== MFS_STATUS_OK) return st;
    this.tab[id] = undefined;
    this.placements.delete(id);
    return MFS_STATUS_OK;
  }

  // ---- SCLA section ----

  /** sclass_store: `MASKORGROUP:8`, then per class `id:16 nleng:8 admin_only:8 mode:8 arch_delay:16 c:8 k:8 a:8 name masks`, then 10 zero bytes. */
  store(): Buffer {
    const parts: Buffer[] = [Buffer.from([MASKORGROUP])];
    for (const [id, c] of this.entries()) {
      const n = c.labels[0].length + c.labels[1].length + c.labels[2].length;
      const b = Buffer.alloc(10 + c.name.length + n * 4 * MASKORGROUP);
      b.writeUInt16BE(id, 0);
      b.writeUInt8(c.name.length, 2);
      b.writeUInt8(c.adminOnly, 3);
      b.writeUInt8(c.mode, 4);
      b.writeUInt16BE(c.archDelay, 5);
      b.writeUInt8(c.labels[0].length, 7);
      b.writeUInt8(c.labels[1].length, 8);
      b.writeUInt8(c.labels[2].length, 9);
      c.name.copy(b, 10);
      let p = 10 + c.name.length;
      for (const group of c.labels) for (const e of group) for (let k = 0; k < MASKORGROUP; k++, p += 4) b.writeUInt32BE((e[k] ?? 0) >>> 0, p);
      parts.push(b);
    }
    parts.push(Buffer.alloc(10));
    return Buffer.concat(parts);
  }

  /** sclass_load for section version 1.6 (the version we and 3.0.117 write). Throws on a malformed section. */
  load(data: Buffer, version: number): void {
    if (version !== SCLA_VERSION) throw new Error(`SCLA section version ${version >> 4}.${version & 15} not supported (1.6 only)`);
    const need = (p: number, n: number) => {
      if (p + n > data.length) throw new Error(`SCLA truncated at byte ${p}`);
    };
    need(0, 1);
    const orgroup = data[0]!;
    if (orgroup < 1 || orgroup > MASKORGROUP) throw new Error(`SCLA: ${orgroup} or-groups`);
    this.tab.length = 0;
    this.placements.clear();
    this.end = FIRSTSCLASSID;
    let p = 1;
    for (;;) {
      need(p, 10);
      const id = data.readUInt16BE(p);
      const nleng = data[p + 2]!;
      const adminOnly = data[p + 3]!;
      const mode = data[p + 4]!;
      const archDelay = data.readUInt16BE(p + 5);
      const counts = [data[p + 7]!, data[p + 8]!, data[p + 9]!];
      p += 10;
      if (id === 0 && counts.every((c) => c === 0) && archDelay === 0) break;
      if (counts.some((c) => c === 0 || c > MAXLABELSCNT)) throw new Error(`SCLA: class ${id}: label counts ${counts.join('/')}`);
      if (id === 0 || id >= MAXSCLASS || nleng === 0) throw new Error(`SCLA: bad class id ${id}`);
      need(p, nleng);
      const name = Buffer.from(data.subarray(p, p + nleng));
      p += nleng;
      const total = counts[0]! + counts[1]! + counts[2]!;
      need(p, total * 4 * orgroup);
      const labels = counts.map((n) =>
        Array.from({ length: n }, () => {
          const e = new Array<number>(MASKORGROUP).fill(0);
          for (let k = 0; k < orgroup; k++, p += 4) e[k] = data.readUInt32BE(p);
          return e;
        }),
      ) as StorageClass['labels'];
      if (id >= FIRSTSCLASSID && this.tab[id]) throw new Error(`SCLA: class ${id} repeated`);
      this.take(id, { name, adminOnly, mode, archDelay, labels });
    }
  }
}

/** The SCSET argument list (sclass_make_changelog). */
function scsetArgs(c: StorageClass, isNew: number): ClArg[] {
  const masks = c.labels.flatMap((g) => g.flatMap((e) => e.map((m) => m >>> 0)));
  return [
    Buffer.from(c.name), isNew, `W${c.labels[0].length}`, `K${c.labels[1].length}`, `A${c.labels[2].length}`, c.mode, c.archDelay, c.adminOnly,
    ...(masks.length > 0 ? masks : ['-']),
  ];
}
