import { readFile, stat, unlink } from 'node:fs/promises';
import { MFSBLOCKSIZE } from '@mfs-ts/protocol';
import type { Logger } from '@mfs-ts/common';
import { BufferPool } from './bufpool.js';
import { ChunkFile, type ChunkEnv } from './chunkfile.js';
import { Folder } from './folder.js';
import { parseHddCfg, type HddLine } from './hddcfg.js';
import { chunkPath, layoutFromSize } from './layout.js';

export { ChunkFile } from './chunkfile.js';
export { Folder, encodeChunkDb, parseChunkDb } from './folder.js';
export { parseHddCfg, parseMfsSize, type HddLine, type HddCfg } from './hddcfg.js';
export * from './layout.js';
export { BufferPool } from './bufpool.js';

export interface HddOptions {
  /** HDD_CONF_FILENAME */
  hddConfFile: string;
  /** HDD_LEAVE_SPACE_DEFAULT in bytes */
  leaveSpaceDefault: number;
  fsyncBeforeClose: boolean;
  /** HDD_SPARSIFY_ON_WRITE (default on) */
  sparsify?: boolean;
  /** HDD_KEEP_DUPLICATES_HOURS (default 168) */
  keepDuplicatesHours?: number;
  /** HDD_RR_CHUNK_COUNT */
  rrChunkCount: number;
  /** The metaid this chunkserver already belongs to (chunkserverid.mfs), 0n if none. */
  knownMetaId: bigint;
  /** HDD_ERROR_TOLERANCE_COUNT / _PERIOD: more I/O errors than this in that many seconds and a disk is given up. */
  errorTolerance?: { count: number; periodS: number };
  log: Logger;
}

export class HddError extends Error {
  readonly code = 'MFS_CS_HDD';
  constructor(message: string) {
    super(message);
    this.name = 'HddError';
  }
}

export interface SpaceInfo {
  used: number;
  total: number;
  chunks: number;
  tdUsed: number;
  tdTotal: number;
  tdChunks: number;
}

/**
 * The disk registry and chunk map (mfschunkserver/hddspacemgr.c): which disks there are, which
 * chunks live where, free space, and the reports waiting for the master (damaged, lost and new
 * chunks, error count, space changes).
 */
export class HddSpaceMgr implements ChunkEnv {
  readonly blocks = new BufferPool(MFSBLOCKSIZE, 256);
  readonly folders: Folder[] = [];
  private readonly chunks = new Map<number, ChunkFile>();
  private readonly log: Logger;
  /** The metaid found in the disks' `.metaid` files when the master has not confirmed one yet. */
  hddMetaId = 0n;

  // Reports for the master (drained by masterconn).
  damaged: number[] = [];
  lost: number[] = [];
  newChunks: Array<{ id: number; version: number }> = [];
  errorCount = 0;
  spaceChanged = true;
  /** Called when a report is queued, so the master link can send it without polling. */
  onReport: (() => void) | undefined;

  private refreshTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private testerTimer: NodeJS.Timeout | undefined;
  private testOrder = new Map<Folder, ChunkFile[]>();
  private fsync: boolean;

  constructor(private readonly opts: HddOptions) {
    this.log = opts.log;
    this.fsync = opts.fsyncBeforeClose;
  }

  fsyncBeforeClose(): boolean {
    return this.fsync;
  }

  sparsify(): boolean {
    return this.opts.sparsify ?? true;
  }

  setFsyncBeforeClose(v: boolean): void {
    this.fsync = v;
  }

  private readonly hooks = {
    chunkError: (f: Folder, c: ChunkFile, damaged: boolean, err?: unknown) => this.chunkError(f, c, damaged, err),
    touched: () => undefined,
  };

  private async readCfg(): Promise<HddLine[]> {
    let text: string;
    try {
      text = await readFile(this.opts.hddConfFile, 'utf8');
    } catch (e) {
      throw new HddError(`hdd space configuration file (${this.opts.hddConfFile}) not found: ${(e as Error).message}`);
    }
    const cfg = parseHddCfg(text);
    for (const w of cfg.warnings) this.log.warn(w);
    // MooseFS prepends each line to its list, so disks appear in reverse file order (HDD_LIST too).
    const seen = new Set<string>();
    return [...cfg.disks].reverse().filter((l) => !seen.has(l.path) && seen.add(l.path));
  }

  /** A disk from its line: checked (.metaid), locked; undefined when it must be ignored. */
  private async openFolder(line: HddLine): Promise<Folder | undefined> {
    const f = new Folder(line, this.opts.leaveSpaceDefault, this.hooks, this.log);
    const fileMetaId = await f.readMetaId();
    const expected = this.opts.knownMetaId || this.hddMetaId;
    if (fileMetaId > 0n && expected > 0n && fileMetaId !== expected) {
      this.log.error(
        { disk: f.path },
        `hdd space manager: wrong meta id (mfs instance id) in file '${f.path}.metaid' (0x${fileMetaId.toString(16).toUpperCase()},expected:0x${expected.toString(16).toUpperCase()}) - likely this is drive from different mfs instance (drive ignored, remove this file to skip this test)`,
      );
      return undefined;
    }
    if (this.opts.knownMetaId === 0n && fileMetaId > 0n) this.hddMetaId = fileMetaId;
    try {
      await f.touchLock();
    } catch (e) {
      const m = (e as Error).message;
      this.log.error({ disk: f.path, err: e }, m.startsWith('hdd space manager') ? m : `hdd space manager: can't create lock file '${f.path}.lock'`);
      return undefined;
    }
    if (this.opts.knownMetaId > 0n && fileMetaId === 0n) await f.writeMetaId(this.opts.knownMetaId);
    return f;
  }

  /** Scans a disk and registers what it holds; returns the chunks added. */
  private async scanFolder(f: Folder): Promise<ChunkFile[]> {
    this.log.info({ disk: f.path }, `hdd space manager: folder ${f.path} will be scanned`);
    await f.refreshUsage();
    const found = await f.scan();
    const added: ChunkFile[] = [];
    for (const fc of found) {
      let layout = fc.layout;
      if (!layout) {
        try {
          const st = await stat(chunkPath(f.path, fc.pathId, fc.chunkId, fc.version));
          layout = layoutFromSize(st.size);
        } catch {
          layout = undefined;
        }
      }
      const c = this.addFound(f, fc.chunkId, fc.version, fc.pathId, layout);
      if (c) added.push(c);
    }
    await f.refreshUsage();
    return added;
  }

  /** Reads mfshdd.cfg, checks and scans every disk. Rejects when the file is missing or no disk is usable. */
  async init(): Promise<void> {
    for (const line of await this.readCfg()) {
      const f = await this.openFolder(line);
      if (f) this.folders.push(f);
    }
    if (this.folders.length === 0) throw new HddError(`hdd space manager: no hdd space defined in ${this.opts.hddConfFile} file`);
    for (const f of this.folders) await this.scanFolder(f);
    this.spaceChanged = true;
    this.refreshTimer = setInterval(() => void this.refreshAll(), 1000);
    this.refreshTimer.unref();
    this.statsTimer = setInterval(() => {
      for (const f of this.folders) f.stats.rotate();
    }, 60_000);
    this.statsTimer.unref();
  }

  /**
   * Re-reads mfshdd.cfg (SIGHUP, hdd_folders_reinit): new disks are scanned and their chunks
   * reported new; disks no longer listed are dropped and their chunks reported lost; a change of the
   * '*' mark re-reports a disk's chunks with the marked-for-removal bit (31) set or clear; size
   * options are updated in place.
   */
  async reload(): Promise<void> {
    const lines = await this.readCfg();
    const byPath = new Map(lines.map((l) => [l.path, l]));
    for (const f of [...this.folders]) {
      const l = byPath.get(f.path);
      if (!l) {
        this.log.info({ disk: f.path }, `hdd space manager: folder ${f.path} will be removed`);
        this.giveUp(f);
        this.folders.splice(this.folders.indexOf(f), 1);
        continue;
      }
      const mfrChanged = l.markedForRemoval !== f.markedForRemoval;
      f.markedForRemoval = l.markedForRemoval;
      f.ignoreSize = l.ignoreSize;
      f.sizeLimit = l.sizeLimit;
      f.leaveFree = l.leaveFree ?? this.opts.leaveSpaceDefault;
      if (mfrChanged) {
        this.log.info({ disk: f.path }, `hdd space manager: folder ${f.path} will be resend`);
        for (const c of f.chunks) if (c.state === 'avail') this.newChunks.push({ id: c.id, version: (c.version | (f.markedForRemoval ? 0x80000000 : 0)) >>> 0 });
      }
    }
    for (const l of lines) {
      if (this.folders.some((f) => f.path === l.path)) continue;
      const f = await this.openFolder(l);
      if (!f) continue;
      this.folders.push(f);
      for (const c of await this.scanFolder(f)) this.newChunks.push({ id: c.id, version: (c.version | (f.markedForRemoval ? 0x80000000 : 0)) >>> 0 });
    }
    this.spaceChanged = true;
    this.onReport?.();
  }

  private addFound(f: Folder, id: number, version: number, pathId: number, layout: { hdrSize: number; blocks: number } | undefined): ChunkFile | undefined {
    const old = this.chunks.get(id);
    if (old) {
      // Two copies of one chunk: keep the newer version (hdd_add_chunk); the other stays on disk.
      if (version <= old.version) {
        this.log.warn({ chunk: id, version }, `duplicate chunk ${id.toString(16)}: keeping version ${old.version}`);
        f.duplicates.push({ chunkId: id, version, pathId });
        return undefined;
      }
      if (old.owner instanceof Folder) {
        old.owner.removeChunk(old);
        old.owner.duplicates.push({ chunkId: id, version: old.version, pathId: old.pathId });
      }
    }
    const c = new ChunkFile(id, version, f, pathId, this);
    if (layout) {
      c.hdrSize = layout.hdrSize;
      c.blocks = layout.blocks;
    } else c.validAttr = false;
    this.chunks.set(id, c);
    f.addChunk(c);
    return c;
  }

  private async refreshAll(): Promise<void> {
    const tol = this.opts.errorTolerance ?? { count: 2, periodS: 600 };
    for (const f of this.folders) {
      if (f.damaged) continue;
      const errs = f.recentIoErrors(tol.periodS);
      if (errs > tol.count && !f.readOnly) {
        this.log.warn({ disk: f.path }, `${errs} errors occurred in ${tol.periodS} seconds on folder: ${f.path}`);
        this.giveUp(f);
        continue;
      }
      const now = performance.now();
      if (f.needRefresh || now - f.lastRefresh > 60_000) {
        f.needRefresh = false;
        f.lastRefresh = now;
        if (await f.refreshUsage()) this.spaceChanged = true;
      }
      await this.removeDuplicates(f);
    }
  }

  /** Older duplicate copies go once the disk has been in use HDD_KEEP_DUPLICATES_HOURS (hdd_wfr_check). */
  private async removeDuplicates(f: Folder): Promise<void> {
    if (f.duplicates.length === 0 || f.readOnly) return;
    const keepS = (this.opts.keepDuplicatesHours ?? 168) * 3600;
    if (performance.now() / 1000 < f.addedAt + keepS) return;
    const list = f.duplicates.splice(0);
    for (const d of list) await unlink(chunkPath(f.path, d.pathId, d.chunkId, d.version)).catch(() => undefined);
    this.log.info({ disk: f.path, removed: list.length }, `all duplicates have been removed from drive '${f.path}'`);
  }

  /** A damaged disk: its chunks are reported lost and dropped; it takes no new chunks. */
  private giveUp(f: Folder): void {
    f.damaged = true;
    for (const c of [...f.chunks]) {
      if (c.state === 'avail') this.lost.push(c.id);
      void c.exclusive(() => c.closeNow());
      this.forget(c);
    }
    this.spaceChanged = true;
    this.onReport?.();
  }

  private chunkError(f: Folder, c: ChunkFile, damaged: boolean, err?: unknown): void {
    this.log.warn({ chunk: c.id.toString(16), file: c.path, disk: f.path, err }, `chunk ${c.path}: ${err instanceof Error ? err.message : 'error'}`);
    this.errorCount++;
    if (damaged && !c.damaged && c.state === 'avail') {
      c.damaged = true;
      this.damaged.push(c.id);
    }
    this.onReport?.();
  }

  /** A chunk clients and the master may use. */
  get(id: number): ChunkFile | undefined {
    const c = this.chunks.get(id);
    return c && c.state === 'avail' ? c : undefined;
  }

  /** Any chunk with this id, including one being replicated. */
  getAny(id: number): ChunkFile | undefined {
    return this.chunks.get(id);
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  allChunks(): IterableIterator<ChunkFile> {
    return this.chunks.values();
  }

  /** Picks the disk for a new chunk, in proportion to the disks' total space (hdd_getfolder). */
  chooseFolder(): Folder | undefined {
    let best: Folder | undefined;
    let bestScore = Infinity;
    const ok = this.folders.filter((f) => f.writable);
    const notFull = ok.filter((f) => f.avail * 1000 >= f.total);
    for (const f of notFull.length > 0 ? notFull : ok) {
      const score = (f.placed + 1) / f.total;
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    if (best) best.placed++;
    return best;
  }

  /** A new registry entry (the file does not exist yet); undefined if the id is taken. */
  newChunk(f: Folder, id: number, version: number): ChunkFile | undefined {
    if (this.chunks.has(id)) return undefined;
    const c = new ChunkFile(id, version, f, f.nextPathId(this.opts.rrChunkCount), this);
    this.chunks.set(id, c);
    f.addChunk(c);
    this.spaceChanged = true;
    return c;
  }

  /** Drops a chunk from the registry (its file is gone). */
  forget(c: ChunkFile): void {
    c.state = 'deleted';
    if (this.chunks.get(c.id) === c) this.chunks.delete(c.id);
    if (c.owner instanceof Folder) c.owner.removeChunk(c);
    this.spaceChanged = true;
  }

  /** Chunks to announce at registration: `id, version` with bit 31 set for disks marked for removal. */
  chunkList(): Array<{ id: number; version: number }> {
    const out: Array<{ id: number; version: number }> = [];
    for (const c of this.chunks.values()) {
      if (c.state !== 'avail') continue;
      const mfr = c.owner instanceof Folder && c.owner.markedForRemoval;
      out.push({ id: c.id, version: (c.version | (mfr ? 0x80000000 : 0)) >>> 0 });
    }
    return out;
  }

  space(): SpaceInfo {
    const s: SpaceInfo = { used: 0, total: 0, chunks: 0, tdUsed: 0, tdTotal: 0, tdChunks: 0 };
    for (const f of this.folders) {
      if (f.damaged) continue;
      let n = 0;
      for (const c of f.chunks) if (c.state === 'avail') n++;
      if (!f.markedForRemoval) {
        if (!f.scanning) {
          s.used += f.total - f.avail;
          s.total += f.total;
        }
        s.chunks += n;
      } else {
        if (!f.scanning) {
          s.tdUsed += f.total - f.avail;
          s.tdTotal += f.total;
        }
        s.tdChunks += n;
      }
    }
    return s;
  }

  /** The master confirmed our metaid: record it in every disk (hdd_setmetaid). */
  async setMetaId(metaId: bigint): Promise<void> {
    for (const f of this.folders) await f.writeMetaId(metaId);
  }

  reportNew(id: number, version: number): void {
    this.newChunks.push({ id, version });
    this.onReport?.();
  }

  reportLost(id: number): void {
    this.lost.push(id);
    this.onReport?.();
  }

  /**
   * The background tester (hdd_tester_thread): on each disk in turn, reads one chunk and checks every
   * block against its CRC (a mismatch reports the chunk damaged), at about `mbps` MiB/s per disk,
   * skipping chunks used or tested in the last `minIntervalS` seconds.
   */
  startTester(mbps: number, minIntervalS: number, testOne: (c: ChunkFile) => Promise<unknown>): void {
    if (!(mbps > 0)) return;
    const bps = mbps * 1024 * 1024;
    const step = async (): Promise<number> => {
      let tested = 0;
      for (const f of this.folders) {
        if (f.damaged || f.markedForRemoval || f.scanning) continue;
        let queue = this.testOrder.get(f);
        if (!queue || queue.length === 0) {
          queue = [...f.chunks];
          this.testOrder.set(f, queue);
        }
        const now = Math.floor(Date.now() / 1000);
        while (queue.length > 0) {
          const c = queue.shift()!;
          if (c.state !== 'avail' || c.damaged || !f.chunks.has(c) || c.testTime + minIntervalS > now) continue;
          await testOne(c);
          c.testTime = now;
          tested += c.blocks;
          break;
        }
      }
      return tested;
    };
    const next = (blocks = 0): void => {
      // Pace by the bytes just read; when nothing was due, look again in a second.
      const delay = blocks > 0 ? Math.max(100, Math.ceil((blocks * MFSBLOCKSIZE * 1000) / bps)) : 1000;
      this.testerTimer = setTimeout(() => {
        void step().then(
          (b) => {
            if (this.testerTimer) next(b);
          },
          () => undefined,
        );
      }, delay);
      this.testerTimer.unref();
    };
    next(0);
  }

  /** Closes every open chunk and writes each disk's `.chunkdb`. */
  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    if (this.testerTimer) clearTimeout(this.testerTimer);
    this.testerTimer = undefined;
    await Promise.all([...this.chunks.values()].map((c) => c.exclusive(() => c.closeNow())));
    for (const f of this.folders) await f.dumpChunkDb();
  }
}
