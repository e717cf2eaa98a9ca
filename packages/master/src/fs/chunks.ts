// The namespace's view of chunks: id, version, how many files use the chunk (fcount), lock time.
// Rules from chunk_univ_multi_modify / chunk_univ_multi_truncate (mfsmaster/chunks.c), without the
// chunkserver side: which servers hold copies is the chunk registry's business (it reads versions here
// and tells this book, via markNeedVersionIncrease / operationDone, what MooseFS tracks as
// needverincrease). Live and replay run the same code, so WRITE/TRUNC records replay to equal state.
import {
  MFS_ERROR_CHUNKLOST,
  MFS_ERROR_LOCKED,
  MFS_ERROR_MISMATCH,
  MFS_ERROR_NOCHUNK,
  MFS_STATUS_OK,
} from '@mfs-ts/protocol';

/** chunks.c LOCKTIMEOUT: a chunk stays locked this long after WRITE_CHUNK unless unlocked. */
export const CHUNK_LOCKTIMEOUT = 120;

export interface ChunkEntry {
  chunkid: number;
  version: number;
  /** Number of file references (a file with the chunk at two indexes counts twice). */
  fcount: number;
  /** Locked until this time (0 = unlocked). */
  lockedto: number;
  /** The next write must bump the version (true for new chunks, after replication, lost copies...). */
  needVerIncrease: boolean;
  /** The metadata dump that has this entry captured or saw it born (metadump.ts). */
  dumpEpoch?: number;
}

/** An incremental metadata dump in progress (metadump.ts): told before an entry's version, lock or existence changes. */
export interface ChunkDumpHook {
  born(c: ChunkEntry): void;
  touch(c: ChunkEntry): void;
}

export interface ChunkModifyResult {
  status: number;
  chunkid: number;
  /** 1 = the chunk layer must act (create / set version / duplicate); 0 = reuse as is. */
  opflag: number;
  action: 'create' | 'setversion' | 'duplicate' | 'continue';
  oldVersion: number;
}

export class ChunkBook {
  readonly chunks = new Map<number, ChunkEntry>();
  nextChunkId = 1;
  dumper: ChunkDumpHook | null = null;

  get(chunkid: number): ChunkEntry | undefined {
    return this.chunks.get(chunkid);
  }

  private newChunk(): ChunkEntry {
    const c: ChunkEntry = { chunkid: this.nextChunkId++, version: 1, fcount: 0, lockedto: 0, needVerIncrease: true };
    this.dumper?.born(c);
    this.chunks.set(c.chunkid, c);
    return c;
  }

  addFile(chunkid: number): number {
    const c = this.chunks.get(chunkid);
    if (c === undefined) return MFS_ERROR_NOCHUNK;
    c.fcount++;
    return MFS_STATUS_OK;
  }

  deleteFile(chunkid: number): number {
    const c = this.chunks.get(chunkid);
    if (c === undefined) return MFS_ERROR_NOCHUNK;
    if (c.fcount > 0) c.fcount--;
    return MFS_STATUS_OK;
  }

  /** Chunks no file refers to any more (the chunk registry deletes them from servers and calls drop). */
  unused(): ChunkEntry[] {
    return [...this.chunks.values()].filter((c) => c.fcount === 0);
  }

  drop(chunkid: number): void {
    const c = this.chunks.get(chunkid);
    if (c !== undefined && c.fcount === 0) {
      this.dumper?.touch(c);
      this.chunks.delete(chunkid);
    }
  }

  unlock(chunkid: number): number {
    const c = this.chunks.get(chunkid);
    if (c === undefined) return MFS_ERROR_NOCHUNK;
    this.dumper?.touch(c);
    c.lockedto = 0;
    return MFS_STATUS_OK;
  }

  isLocked(chunkid: number, ts: number): boolean {
    const c = this.chunks.get(chunkid);
    return c !== undefined && c.lockedto >= ts;
  }

  markNeedVersionIncrease(chunkid: number): void {
    const c = this.chunks.get(chunkid);
    if (c !== undefined) c.needVerIncrease = true;
  }

  /** Before a version is set from outside this book (REPAIR). */
  touch(c: ChunkEntry): void {
    this.dumper?.touch(c);
  }

  /** The chunkservers finished the create/set-version/duplicate/truncate op successfully. */
  operationDone(chunkid: number): void {
    const c = this.chunks.get(chunkid);
    if (c !== undefined) c.needVerIncrease = false;
  }

  /**
   * WRITE_CHUNK for a file's chunk `ochunkid` (0 = none). Live (`replay` undefined) decides; replay
   * (`replay` = the record's opflag and result chunk id) repeats the decision and checks it.
   */
  modify(ts: number, ochunkid: number, continueop: boolean, replay?: { opflag: number; nchunkid: number }): ChunkModifyResult {
    const fail = (status: number): ChunkModifyResult => ({ status, chunkid: 0, opflag: 0, action: 'create', oldVersion: 0 });
    let c: ChunkEntry;
    let opflag: number;
    let action: ChunkModifyResult['action'];
    let oldVersion = 0;
    if (ochunkid === 0) {
      if (replay !== undefined && replay.nchunkid !== this.nextChunkId) return fail(MFS_ERROR_MISMATCH);
      c = this.newChunk();
      c.fcount = 1;
      opflag = 1;
      action = 'create';
    } else {
      const oc = this.chunks.get(ochunkid);
      if (oc === undefined) return fail(MFS_ERROR_NOCHUNK);
      this.dumper?.touch(oc);
      oldVersion = oc.version;
      if (replay === undefined && oc.lockedto >= ts && !continueop) return fail(MFS_ERROR_LOCKED);
      if (oc.fcount === 1) {
        c = oc;
        if (replay === undefined) {
          if (c.needVerIncrease) {
            c.version++;
            opflag = 1;
            action = 'setversion';
          } else {
            opflag = 0;
            action = 'continue';
          }
        } else {
          if (replay.nchunkid !== ochunkid) return fail(MFS_ERROR_MISMATCH);
          opflag = replay.opflag;
          if (opflag) c.version++;
          action = opflag ? 'setversion' : 'continue';
        }
      } else {
        if (oc.fcount === 0) return fail(MFS_ERROR_CHUNKLOST);
        if (replay !== undefined && replay.nchunkid !== this.nextChunkId) return fail(MFS_ERROR_MISMATCH);
        c = this.newChunk();
        oc.fcount--;
        c.fcount = 1;
        opflag = 1;
        action = 'duplicate';
      }
    }
    c.lockedto = ts + CHUNK_LOCKTIMEOUT;
    return { status: MFS_STATUS_OK, chunkid: c.chunkid, opflag, action, oldVersion };
  }

  /** Truncate of the chunk holding the new end of file (TRUNC record); same sharing rule as modify. */
  truncate(ts: number, ochunkid: number, replay?: { nchunkid: number }): ChunkModifyResult {
    const fail = (status: number): ChunkModifyResult => ({ status, chunkid: 0, opflag: 0, action: 'create', oldVersion: 0 });
    const oc = this.chunks.get(ochunkid);
    if (oc === undefined) return fail(MFS_ERROR_NOCHUNK);
    if (replay === undefined && oc.lockedto >= ts) return fail(MFS_ERROR_LOCKED);
    this.dumper?.touch(oc);
    const oldVersion = oc.version;
    let c: ChunkEntry;
    let action: ChunkModifyResult['action'];
    if (oc.fcount === 1) {
      if (replay !== undefined && replay.nchunkid !== ochunkid) return fail(MFS_ERROR_MISMATCH);
      c = oc;
      c.version++;
      action = 'setversion';
    } else {
      if (oc.fcount === 0) return fail(MFS_ERROR_CHUNKLOST);
      if (replay !== undefined && replay.nchunkid !== this.nextChunkId) return fail(MFS_ERROR_MISMATCH);
      c = this.newChunk();
      oc.fcount--;
      c.fcount = 1;
      action = 'duplicate';
    }
    c.lockedto = ts + CHUNK_LOCKTIMEOUT;
    return { status: MFS_STATUS_OK, chunkid: c.chunkid, opflag: 1, action, oldVersion };
  }

  clone(): ChunkBook {
    const b = new ChunkBook();
    b.nextChunkId = this.nextChunkId;
    for (const [k, v] of this.chunks) b.chunks.set(k, { ...v });
    return b;
  }
}
