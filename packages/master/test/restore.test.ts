// `-a` like `mfsmaster -a` (metadata.c meta_loadall, merger.c, restore.c), and the refusals of a start
// without -a: directories built from a namespace's own records and images, restored by the Master.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@mfs-ts/common';
import { Master } from '../src/index.js';
import { Namespace, storeMetadata } from '../src/fs/index.js';
import { chooseMetadataFile, replayChangelogs } from '../src/restore.js';
import { b, ok, ROOT, setup } from './fs/helpers.js';

const LOCAL = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mfsm-restore-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A master on `dir` with its log lines kept. */
function master(dir: string, opts: { autoRestore?: boolean; ignoreErrors?: boolean; restoreProgressEvery?: number } = {}) {
  const lines: string[] = [];
  const log = createLogger({ role: 'mfsmaster', stream: { write: (s: string) => void lines.push(JSON.parse(s).msg as string) } });
  const m = new Master({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true, log, ...opts });
  return { m, lines };
}

async function startStop(m: Master): Promise<void> {
  await m.start();
  await m.stop();
}

/** A history of 90 changes: dirs d0..d29 with a file each, then renames; images at versions 1 and 44 (after d14's mkdir). */
function history() {
  const { ns, clock, lines } = setup();
  const img1 = storeMetadata(ns, { metaversion: 1n, metaid: 0xabcn, now: clock.t });
  let img44: Buffer | undefined;
  for (let i = 0; i < 30; i++) {
    clock.t++;
    const d = ok(ns.mkdir(ROOT, 1, b(`d${i}`), 0o755, 0, false)).inode;
    if (i === 14) img44 = storeMetadata(ns, { metaversion: BigInt(lines.length + 1), metaid: 0xabcn, now: clock.t });
    ok(ns.mknod(ROOT, d, b('f'), 1, 0o644, 0, 0));
    ok(ns.rename(ROOT, d, b('f'), d, b('g')));
  }
  expect(lines).toHaveLength(90);
  return { ns, clock, lines, img1, img44: img44!, final: storeMetadata(ns, { metaversion: 91n, metaid: 0xabcn, now: clock.t }) };
}

const text = (lines: string[]) => lines.join('\n') + '\n';

/** Names (and inodes) in the root of a restored master: what the history above left. */
function rootNames(ns: Namespace): string[] {
  return ok(ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2).map((e) => e.name.toString()).sort();
}

describe('mfsmaster-ts -a', () => {
  it('restores from metalogger files only: newest metadata_ml.mfs.back(.N), changelog_ml_back + changelog_ml merged by id, duplicates skipped', async () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'metadata_ml.mfs.back.1'), h.img1);
    writeFileSync(join(dir, 'metadata_ml.mfs.back'), h.img44);
    writeFileSync(join(dir, 'changelog_ml_back.1.mfs'), text(h.lines.slice(0, 20)));
    writeFileSync(join(dir, 'changelog_ml_back.0.mfs'), text(h.lines.slice(20, 60)));
    writeFileSync(join(dir, 'changelog_ml.0.mfs'), text(h.lines.slice(40))); // 41..90 overlaps 41..60
    const { m, lines } = master(dir, { autoRestore: true });
    await m.start();
    try {
      expect(m.metaid).toBe(0xabcn);
      expect(m.metaversion).toBe(91n);
      // byte for byte what the live namespace stores (before a readdir changes an atime)
      expect(storeMetadata(m.ns, { metaversion: 91n, metaid: 0xabcn, now: h.clock.t }).equals(h.final)).toBe(true);
      expect(rootNames(m.ns)).toEqual(rootNames(h.ns));
    } finally {
      await m.stop();
    }
    expect(lines).toContain('chosen most recent metadata file: metadata_ml.mfs.back (version: 44 ; id: ABC)');
    expect(lines).toContain('skipping changelog file: changelog_ml_back.1.mfs (changes: 1 - 20)');
    expect(lines).toContain('using changelog file: changelog_ml_back.0.mfs (changes: 21 - 60)');
    expect(lines).toContain('using changelog file: changelog_ml.0.mfs (changes: 41 - 90)');
    expect(lines).toContain('metadata restored: 47 changes applied (44 - 90), 17 duplicates skipped; next change: 91');
  });

  it('takes the newest valid file: a truncated newer one is named and passed over; progress is logged', async () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.mfs.back.1'), h.img1);
    writeFileSync(join(dir, 'metadata.mfs.back'), h.img44.subarray(0, h.img44.length - 40));
    writeFileSync(join(dir, 'changelog.1.mfs'), text(h.lines.slice(0, 50)));
    writeFileSync(join(dir, 'changelog.0.mfs'), text(h.lines.slice(50)));
    const { m, lines } = master(dir, { autoRestore: true, restoreProgressEvery: 25 });
    await startStop(m);
    expect(lines).toContain('found invalid metadata file (wrong ending): metadata.mfs.back (version: 44 ; id: ABC)');
    expect(lines).toContain('chosen most recent metadata file: metadata.mfs.back.1 (version: 1 ; id: ABC)');
    expect(lines.filter((l) => l.startsWith('restore progress: change '))).toEqual([
      expect.stringMatching(/^restore progress: change 25 \(first: 1 - last: 90 - 26%/),
      expect.stringMatching(/^restore progress: change 50 \(first: 1 - last: 90 - 55%/),
      expect.stringMatching(/^restore progress: change 75 \(first: 1 - last: 90 - 83%/),
    ]);
    expect(lines).toContain('metadata restored: 90 changes applied (1 - 90), 0 duplicates skipped; next change: 91');
  });

  it('refuses metadata files of two metaids (naming both) unless -i', async () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.mfs.back'), h.img44);
    writeFileSync(join(dir, 'metadata_ml.mfs.back'), storeMetadata(new Namespace(), { metaversion: 5n, metaid: 0x999n }));
    const { m } = master(dir, { autoRestore: true });
    await expect(m.start()).rejects.toThrow("found metadata files of different metaids: metadata.mfs.back (id ABC) and metadata_ml.mfs.back (id 999) - clean up the data directory (keep the files of one file system) or use '-i' (might be dangerous)");
    const { m: m2, lines } = master(dir, { autoRestore: true, ignoreErrors: true });
    await startStop(m2);
    expect(lines).toContain('found metadata file with different id number - ignoring (-i)');
    expect(m2.metaid).toBe(0xabcn);
  });

  it('stops at a hole: the start is refused naming the missing ids; with -i it starts from the last change before the hole', async () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.mfs.back'), h.img1);
    writeFileSync(join(dir, 'changelog_ml_back.0.mfs'), text(h.lines.slice(0, 40)));
    writeFileSync(join(dir, 'changelog_ml.0.mfs'), text(h.lines.slice(45)));
    const { m } = master(dir, { autoRestore: true });
    await expect(m.start()).rejects.toThrow(
      "error applying changelogs: hole in change files (entries from changelog_ml_back.0.mfs up to 40 and changelog_ml.0.mfs:46 - changes 41 to 45 are missing) - add more files; 40 changes applied up to version 41 - fix changelogs manually or use '-i' to start from version 41",
    );
    const { m: m2, lines } = master(dir, { autoRestore: true, ignoreErrors: true });
    await m2.start();
    try {
      expect(m2.metaversion).toBe(41n);
      expect(rootNames(m2.ns)).toHaveLength(14); // d0..d12 whole, d13 made by change 40
    } finally {
      await m2.stop();
    }
    expect(lines).toContain('error applying changelogs - ignoring (-i): starting from version 41 (50 later changes dropped)');
  });

  it('a change that does not parse stops the restore, naming the file and its byte offset; a torn last line is fine', async () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.mfs.back'), h.img1);
    const bad = [...h.lines.slice(0, 90)];
    bad[9] = '10: 1700000004|CREATE(1,d3'; // torn in the middle of the file
    const body = text(bad);
    writeFileSync(join(dir, 'changelog.0.mfs'), body);
    const { m } = master(dir, { autoRestore: true });
    const off = body.indexOf('10: ');
    await expect(m.start()).rejects.toThrow(`error applying changelogs: changelog.0.mfs (byte ${off}): change 10 can't be parsed (')' expected): 1700000004|CREATE(1,d3; 9 changes applied up to version 10`);
    // The same torn line as the very last one (what a crash leaves): nothing after it, so -a starts.
    writeFileSync(join(dir, 'changelog.0.mfs'), text([...h.lines.slice(0, 89), '90: 1700000031|MOVE(31,g']));
    const { m: m2, lines } = master(dir, { autoRestore: true });
    await m2.start();
    expect(m2.metaversion).toBe(90n);
    await m2.stop();
    const torn = text(h.lines.slice(0, 89)).length;
    expect(lines).toContain(`changelog.0.mfs (byte ${torn}): change 90 can't be parsed (')' expected) - the last one, ignored: 1700000031|MOVE(31,g`);
    expect(lines).toContain('metadata restored: 89 changes applied (1 - 89), 0 duplicates skipped; next change: 90');
  });

  it('ends a file at garbage (an id that does not follow) as merger.c does, and replays what came before', () => {
    const h = history();
    const dir = tmp();
    writeFileSync(join(dir, 'changelog.0.mfs'), text([...h.lines.slice(0, 30), '5: 1|IDLE()', ...h.lines.slice(30)]));
    const ns = new Namespace({ now: () => h.clock.t, inodeReuseDelay: 300 });
    const garbage: string[] = [];
    const out = replayChangelogs(dir, 1n, (rec) => ns.apply(rec), { garbage: (f) => garbage.push(`${f.name}@${f.garbageAt!.offset}:${f.garbageAt!.afterId}`) });
    expect(garbage).toEqual([`changelog.0.mfs@${text(h.lines.slice(0, 30)).length}:30`]);
    expect(out).toMatchObject({ applied: 30, version: 31n, stop: { kind: 'end' } });
  });

  it('chooses like meta_loadall: "MFSM NEW" counts as version 1, names not starting with metadata are ignored', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    writeFileSync(join(dir, 'old-metadata.mfs.back'), storeMetadata(new Namespace(), { metaversion: 9n, metaid: 1n }));
    const c = chooseMetadataFile(dir);
    expect(c).toMatchObject({ ok: true, name: 'metadata.mfs', version: 1n, id: 0n });
  });
});

describe('mfsmaster-ts without -a', () => {
  const cases: Array<[string, (img: Buffer) => Buffer | string, RegExp]> = [
    ['missing', () => '', /^can't find metadata\.mfs in .* - try using option '-a' \(metadata\.mfs\.back exists: the master did not stop cleanly\)$/],
    ['wrong header', (img) => Buffer.concat([Buffer.from('MFSX'), img.subarray(4)]), /^metadata\.mfs in .* has wrong header - try using option '-a'$/],
    ['truncated', (img) => img.subarray(0, img.length - 30), /^metadata\.mfs in .* has wrong ending: truncated: the file \(\d+ bytes\) ends inside section CHNK \(header at byte \d+, \d+ bytes declared, \d+ present\); no "\[MFS EOF MARKER\]" - try using option '-a'$/],
    ['a node of a bad type', (img) => {
      const x = Buffer.from(img);
      const at = x.indexOf('NODE 1.4') + 16 + 8; // maxnodeid, nodes, then the first node's type
      x[at] = 0x42;
      return x;
    }, /^error loading metadata\.mfs in .*: section NODE \(bytes \d+-\d+\): bad node type 66 at byte \d+ - try using option '-a'$/],
    ['an edge to nowhere', (img) => {
      const x = Buffer.from(img);
      const at = x.indexOf('EDGE 1.1') + 16 + 8 + 4; // nextedgeid, then the first edge's parent, child
      x.writeUInt32BE(0x7777, at);
      return x;
    }, /^error loading metadata\.mfs in .*: section EDGE: the edge at byte \d+ leads to node 30583, which is not in section NODE - try using option '-a'$/],
    ['a section length past the end', (img) => {
      const x = Buffer.from(img);
      x.writeBigUInt64BE(1n << 40n, x.indexOf('XATR 1.0') + 8);
      return x;
    }, /^error loading metadata\.mfs in .*: section XATR \(header at byte \d+\) declares 1099511627776 bytes, only \d+ left before the EOF marker - try using option '-a'$/],
  ];
  for (const [what, damage, msg] of cases) {
    it(`metadata.mfs ${what}: refused, telling about -a`, async () => {
      const h = history();
      const dir = tmp();
      writeFileSync(join(dir, 'metadata.mfs.back'), h.img1);
      const d = damage(h.final);
      if (d !== '') writeFileSync(join(dir, 'metadata.mfs'), d);
      const { m } = master(dir);
      const err = await m.start().then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(msg);
      await m.stop();
    });
  }
});
