// Model-based data-integrity test of the Node API against a real cluster (run inside the lab host's
// network namespace by ../client.test.ts): random writes, truncates, reads, syncs and reopens at
// random offsets and sizes, near the start of a file and around the 64 MiB chunk boundary, each
// applied to the real file and to an in-memory model; every read and stat must match the model.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MfsClient, type MfsFileHandle } from '../../../src/index.js';

const { host, port, password, runs, commands } = JSON.parse(process.argv[2]!) as {
  host: string;
  port: number;
  password: string;
  runs: number;
  commands: number;
};

const CH = 64 * 1024 * 1024;
const CAP = CH + 2 * 1024 * 1024;

interface Model {
  data: Buffer;
  len: number;
}
interface Real {
  c: MfsClient;
  h: MfsFileHandle;
  path: string;
}

// Offsets: near the start (several blocks) or around the chunk boundary.
const offsetArb = fc.oneof(fc.integer({ min: 0, max: 3 * 1024 * 1024 }), fc.integer({ min: CH - 512 * 1024, max: CH + 512 * 1024 }));
const sizeArb = fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 400 * 1024 }));

class WriteCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly size: number, readonly seed: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const b = Buffer.allocUnsafe(this.size);
    for (let i = 0; i < b.length; i++) b[i] = (this.seed + i * 31) & 255;
    await r.h.write(b, 0, b.length, this.off);
    b.copy(m.data, this.off);
    m.len = Math.max(m.len, this.off + this.size);
  }
  toString = () => `write(${this.off}, ${this.size})`;
}

class TruncateCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly len: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await r.h.truncate(this.len);
    if (this.len < m.len) m.data.fill(0, this.len, m.len);
    m.len = this.len;
  }
  toString = () => `truncate(${this.len})`;
}

class ReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly size: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const b = Buffer.alloc(this.size);
    const { bytesRead } = await r.h.read(b, 0, this.size, this.off);
    const want = Math.max(0, Math.min(m.len, this.off + this.size) - this.off);
    assert.equal(bytesRead, want, `${this} read length`);
    if (want > 0) assert.ok(b.subarray(0, want).equals(m.data.subarray(this.off, this.off + want)), `${this}: data differs from the model`);
  }
  toString = () => `read(${this.off}, ${this.size})`;
}

/** Reads one after another (128 KiB pieces as the kernel sends, or odd sizes): the read-ahead chain's path. */
class SeqReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly off: number, readonly count: number, readonly piece: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const piece = this.piece;
    const b = Buffer.alloc(piece);
    for (let k = 0; k < this.count; k++) {
      const at = this.off + k * piece;
      const { bytesRead } = await r.h.read(b, 0, piece, at);
      const want = Math.max(0, Math.min(m.len, at + piece) - at);
      assert.equal(bytesRead, want, `${this} piece ${k} length`);
      if (want > 0) assert.ok(b.subarray(0, want).equals(m.data.subarray(at, at + want)), `${this} piece ${k}: data differs from the model`);
      if (want < piece) break;
    }
  }
  toString = () => `seqread(${this.off}, ${this.count}x${this.piece})`;
}

class StatCmd implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    assert.equal((await r.h.stat()).size, m.len, 'fstat size');
    assert.equal((await r.c.stat(r.path)).size, m.len, 'stat size');
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
    r.h = await r.c.open(r.path, 'r+');
  }
  toString = () => 'reopen';
}

const cmds = [
  fc.tuple(offsetArb, sizeArb, fc.integer({ min: 0, max: 255 })).map(([o, s, k]) => new WriteCmd(o, s, k)),
  fc.tuple(offsetArb, sizeArb, fc.integer({ min: 0, max: 255 })).map(([o, s, k]) => new WriteCmd(o, s, k)),
  offsetArb.map((l) => new TruncateCmd(l)),
  fc.tuple(offsetArb, sizeArb).map(([o, s]) => new ReadCmd(o, s)),
  fc.tuple(offsetArb, sizeArb).map(([o, s]) => new ReadCmd(o, s)),
  fc
    .tuple(offsetArb, fc.integer({ min: 2, max: 40 }), fc.constantFrom(131072, 100_000, 4096, 300_001))
    .map(([o, n, p]) => new SeqReadCmd(o, n, p)),
  fc.constant(new StatCmd()),
  fc.constant(new SyncCmd()),
  fc.constant(new ReopenCmd()),
];

const c = await MfsClient.connect({ host, port, password, ioRetries: 5 });
let n = 0;
let total = 0;
try {
  await c.mkdir('/model', { recursive: true });
  const modelData = Buffer.alloc(CAP);
  await fc.assert(
    fc.asyncProperty(fc.commands(cmds, { maxCommands: commands, size: 'max' }), async (list) => {
      const path = `/model/f${n++}`;
      modelData.fill(0);
      const m: Model = { data: modelData, len: 0 };
      const r: Real = { c, h: await c.open(path, 'w+'), path };
      try {
        await fc.asyncModelRun(() => ({ model: m, real: r }), list);
        // Finally compare the whole file after closing (what reached the chunkservers).
        await r.h.close();
        const h = await c.open(path, 'r');
        r.h = h;
        const all = await h.readFile();
        assert.equal(all.length, m.len, 'final length');
        assert.ok(all.equals(m.data.subarray(0, m.len)), 'final content differs from the model');
        total += [...list].length;
      } finally {
        await r.h.close().catch(() => undefined);
        await c.unlink(path).catch(() => undefined);
      }
    }),
    { numRuns: runs, endOnFailure: true },
  );
} finally {
  await c.close();
}
process.stdout.write(`ok model ${n} runs ${total} commands\n`);
