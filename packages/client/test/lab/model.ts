// An fsx-style data-integrity model shared by the Node API variant (scenarios/api-model.ts, run in
// the lab host's namespace) and the FUSE variant (integrity.test.ts, node:fs on an mfsmount-ts
// mount): random writes, truncates, reads, stats, syncs and reopens at offsets near the start of a
// file, around 64 KiB block edges and around the 64 MiB chunk boundary, each applied to the real file
// and to an in-memory model; every read and size must match the model. Mostly small I/O so that
// 10,000 operations stay cheap; the model buffer grows to the largest offset touched (about 65 MiB).
import assert from 'node:assert/strict';
import fc from 'fast-check';

export const CHUNK = 64 * 1024 * 1024;
const BLOCK = 64 * 1024;
const MAX_IO = 256 * 1024;

/** What both a node:fs FileHandle and an MfsFileHandle offer. */
export interface Handle {
  write(b: Uint8Array, off: number, len: number, pos: number): Promise<unknown>;
  read(b: Uint8Array, off: number, len: number, pos: number): Promise<{ bytesRead: number }>;
  truncate(len: number): Promise<void>;
  stat(): Promise<{ size: number | bigint }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Target {
  open(path: string, flags: 'w+' | 'r+' | 'r'): Promise<Handle>;
  statSize(path: string): Promise<number>;
  unlink(path: string): Promise<void>;
}

class Model {
  data = Buffer.alloc(4 * 1024 * 1024);
  len = 0;
  reset() {
    this.data.fill(0, 0, this.len);
    this.len = 0;
  }
  /** Makes `data` hold at least `n` bytes (zeros beyond len). */
  ensure(n: number) {
    if (n <= this.data.length) return;
    const grown = Buffer.alloc(Math.max(n, Math.min(this.data.length * 2, CHUNK + 2 * 1024 * 1024)));
    this.data.copy(grown, 0, 0, this.len);
    this.data = grown;
  }
}

interface Real {
  t: Target;
  h: Handle;
  path: string;
  scratch: Buffer;
}

/** Bytes of a write: xorshift32 from the command's seed, so a misplaced byte is always visible. */
function fillPattern(b: Buffer, len: number, seed: number) {
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
}

function checkRead(what: string, m: Model, got: Buffer, bytesRead: number, off: number, size: number) {
  const want = Math.max(0, Math.min(m.len, off + size) - off);
  assert.equal(bytesRead, want, `${what}: read ${bytesRead} bytes, the model has ${want} (length ${m.len})`);
  if (want > 0 && !got.subarray(0, want).equals(m.data.subarray(off, off + want))) {
    let i = 0;
    while (got[i] === m.data[off + i]) i++;
    assert.fail(`${what}: data differs from the model at file offset ${off + i} (got ${got[i]}, want ${m.data[off + i]})`);
  }
}

class WriteCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly size: number, readonly seed: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    fillPattern(r.scratch, this.size, this.seed);
    await r.h.write(r.scratch, 0, this.size, this.off);
    m.ensure(this.off + this.size);
    r.scratch.copy(m.data, this.off, 0, this.size);
    m.len = Math.max(m.len, this.off + this.size);
  }
  toString = () => `write(${this.off}, ${this.size})`;
}

class TruncateCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly len: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await r.h.truncate(this.len);
    m.ensure(this.len);
    if (this.len < m.len) m.data.fill(0, this.len, m.len);
    m.len = this.len;
  }
  toString = () => `truncate(${this.len})`;
}

class ReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly size: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { bytesRead } = await r.h.read(r.scratch, 0, this.size, this.off);
    checkRead(String(this), m, r.scratch, bytesRead, this.off, this.size);
  }
  toString = () => `read(${this.off}, ${this.size})`;
}

/** A few reads one after another (the read-ahead path). */
class SeqReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly count: number, readonly piece: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    for (let k = 0; k < this.count; k++) {
      const at = this.off + k * this.piece;
      const { bytesRead } = await r.h.read(r.scratch, 0, this.piece, at);
      checkRead(`${this} piece ${k}`, m, r.scratch, bytesRead, at, this.piece);
      if (bytesRead < this.piece) break;
    }
  }
  toString = () => `seqread(${this.off}, ${this.count}x${this.piece})`;
}

class StatCmd implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    assert.equal(Number((await r.h.stat()).size), m.len, 'fstat size');
    assert.equal(await r.t.statSize(r.path), m.len, 'stat size');
  }
  toString = () => 'stat';
}

class SyncCmd implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    await r.h.sync();
  }
  toString = () => 'sync';
}

class ReopenCmd implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    await r.h.close();
    r.h = await r.t.open(r.path, 'r+');
  }
  toString = () => 'reopen';
}

// Offsets: the first MiB, 64 KiB block edges, the chunk boundary (±256 KiB), anywhere in chunk 0.
const offsetArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1024 * 1024 }) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: -300, max: 300 })).map(([k, d]) => k * BLOCK + d) },
  { weight: 3, arbitrary: fc.integer({ min: CHUNK - 256 * 1024, max: CHUNK + 256 * 1024 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: CHUNK + 1024 * 1024 }) },
);
const sizeArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4096 }) }, { weight: 1, arbitrary: fc.integer({ min: 4097, max: MAX_IO }) });
const seedArb = fc.integer({ min: 1, max: 0x7fffffff });

const cmdArb: fc.Arbitrary<fc.AsyncCommand<Model, Real>> = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(offsetArb, sizeArb, seedArb).map(([o, s, k]) => new WriteCmd(o, s, k)) },
  { weight: 4, arbitrary: offsetArb.map((l) => new TruncateCmd(l)) },
  { weight: 30, arbitrary: fc.tuple(offsetArb, sizeArb).map(([o, s]) => new ReadCmd(o, s)) },
  {
    weight: 3,
    arbitrary: fc.tuple(offsetArb, fc.integer({ min: 2, max: 6 }), fc.constantFrom(131072, 4096, 100_001)).map(([o, n, p]) => new SeqReadCmd(o, n, p)),
  },
  { weight: 4, arbitrary: fc.constant(new StatCmd()) },
  { weight: 1, arbitrary: fc.constant(new SyncCmd()) },
  { weight: 1, arbitrary: fc.constant(new ReopenCmd()) },
);

export interface ModelRunOptions {
  target: Target;
  /** Directory (in the target's namespace) for the test files; must exist. */
  dir: string;
  runs: number;
  /** Operations per run (exactly). */
  ops: number;
  seed: number;
}

/**
 * Runs `runs` files of `ops` operations each; every file is finally closed, reopened read-only and
 * compared in full. Returns the number of operations done. Throws with the seed in the message.
 */
export async function runModel(o: ModelRunOptions): Promise<{ ops: number; files: number }> {
  const m = new Model();
  const scratch = Buffer.alloc(MAX_IO);
  let files = 0;
  let ops = 0;
  let lastRun: fc.AsyncCommand<Model, Real>[] = [];
  let lastIndex = -1;
  const r = await fc.check(
    fc.asyncProperty(fc.array(cmdArb, { minLength: o.ops, maxLength: o.ops }), async (list) => {
      const path = `${o.dir}/f${files++}`;
      m.reset();
      const real: Real = { t: o.target, h: await o.target.open(path, 'w+'), path, scratch };
      try {
        lastRun = list;
        lastIndex = -1;
        const counted = list.map((c, i) => ({
          check: () => true,
          run: (mm: Model, rr: Real) => {
            lastIndex = i;
            return c.run(mm, rr);
          },
          toString: () => String(c),
        }));
        await fc.asyncModelRun(() => ({ model: m, real }), counted);
        lastIndex = -1;
        await real.h.close();
        real.h = await o.target.open(path, 'r');
        // The whole file, 1 MiB at a time, after a close (what reached the chunkservers).
        const piece = Buffer.alloc(1024 * 1024);
        for (let at = 0; at < m.len; at += piece.length) {
          const { bytesRead } = await real.h.read(piece, 0, piece.length, at);
          checkRead(`final read at ${at}`, m, piece, bytesRead, at, piece.length);
        }
        assert.equal(await o.target.statSize(path), m.len, 'final size');
        ops += list.length;
      } finally {
        await real.h.close().catch(() => undefined);
        await o.target.unlink(path).catch(() => undefined);
      }
    }),
    { numRuns: o.runs, seed: o.seed, endOnFailure: true },
  );
  if (r.failed) {
    const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
    // The commands of the failing file up to the failing one (-1: the final comparison).
    const upTo = lastIndex < 0 ? lastRun.length : lastIndex + 1;
    const shown = lastRun.slice(Math.max(0, upTo - 40), upTo).map(String).join('; ');
    throw new Error(`model test failed: seed ${o.seed} (file ${files - 1}, command ${lastIndex} of ${lastRun.length}): ${err}\nlast commands: ${shown}`);
  }
  return { ops, files };
}

/** The seed: MFS_MODEL_SEED if set, else random. */
export function modelSeed(): number {
  const s = process.env.MFS_MODEL_SEED;
  return s ? Number(s) : (Date.now() ^ (Math.random() * 0x7fffffff)) & 0x7fffffff;
}
