// Our metadata.mfs read by the real MooseFS 3.0.117 tools: mfsmetadump must accept it and list the
// same nodes and edges; the real `mfsmaster -a restore` must replay our changelog onto our image and
// arrive at exactly the state we store ourselves (the C applier as the oracle for ours); and mfsmetadirinfo must compute the same directory statistics as the
// namespace keeps (on a tree without hard links, symlinks and holes in files, which the tool counts
// differently: it dedups hard links, skips symlink lengths, and does not advance past a hole).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync } from 'node:fs';
import { MetadataDump, Namespace, storeMetadata, TYPE_FILE, TYPE_FIFO, type FsCtx } from '../../src/fs/index.js';
import { b, ctxOf, META, ok, ROOT, setup } from '../fs/helpers.js';
import { scenario } from '../fs/scenario.js';
import { Master } from '../../src/index.js';
import { FLOCK_LOCK_EXCLUSIVE, FLOCK_LOCK_SHARED, FLOCK_TRY_SHARED, FLOCK_UNLOCK, POSIX_LOCK_CMD_SET, POSIX_LOCK_RDLCK, POSIX_LOCK_UNLCK, POSIX_LOCK_WRLCK } from '@mfs-ts/protocol';
import { readdirSync, unlinkSync } from 'node:fs';

const dir = mkdtempSync(join(tmpdir(), 'mfs-meta-lab-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dump(file: string): string {
  return execFileSync('mfsmetadump', [file], { encoding: 'latin1', maxBuffer: 64 << 20 });
}

describe('metadata.mfs against the real tools', () => {
  test('mfsmetadump accepts the image and shows our nodes, edges, xattrs, ACLs and chunks', () => {
    const { ns, clock } = setup();
    scenario(ns, clock);
    const file = join(dir, 'metadata.mfs');
    writeFileSync(file, storeMetadata(ns, { metaversion: 777n, metaid: 0xabcdefn, now: clock.t }));
    const out = dump(file);
    expect(out).toContain('# version: 777 ; fileid: 0xABCDEF');
    const nodes = out.split('\n').filter((l) => l.startsWith('NODE|'));
    expect(nodes.length).toBe(ns.tree.nodes.size);
    for (const n of ns.tree.nodes.values()) {
      const line = nodes.find((l) => new RegExp(`\\|i:\\s*${n.inode}\\|`).test(l));
      expect(line, `node ${n.inode}`).toBeDefined();
      expect(line).toContain(`|m:${n.mode.toString(8).padStart(5, '0')}|`);
      expect(line).toMatch(new RegExp(`\\|u:\\s*${n.uid}\\|g:\\s*${n.gid}\\|`));
    }
    const edges = out.split('\n').filter((l) => l.startsWith('EDGE|'));
    let linkCount = 0;
    for (const n of ns.tree.nodes.values()) linkCount += n.parents.length;
    // a name holding a newline makes two lines of output: count edge starts only
    expect(edges.length).toBe(linkCount);
    expect(out).toContain('n:dir, with (odd) %name');
    expect(out).toMatch(/XATTR\|i:\s*\d+\|n:user\.k,1\|v:0001022528FF/);
    expect(out).toMatch(/POSIXACL\|i:\s*\d+\|t:1\|.*u\(1000\):000006,g\(44\):000004/);
    const chunks = out.split('\n').filter((l) => l.startsWith('CHUNK|'));
    expect(chunks.length).toBe(ns.chunks.chunks.size);
  });

  test('mfsmetadirinfo agrees with the namespace directory statistics', () => {
    const ns = new Namespace({ now: () => 1_700_000_000 });
    const d = ok(ns.mkdir(ROOT, 1, b('data'), 0o755, 0, false)).inode;
    const sub = ok(ns.mkdir(ROOT, d, b('sub'), 0o755, 0, false)).inode;
    const sizes = [1, 70000, 0x4000000 + 123, 3 * 0x4000000 + 9];
    sizes.forEach((len, i) => {
      const f = ok(ns.mknod(ROOT, i % 2 ? sub : d, b(`f${i}`), TYPE_FILE, 0o644, 0, 0)).inode;
      for (let indx = 0; indx * 0x4000000 < len; indx++) {
        const w = ok(ns.writeChunk(f, indx, { chunkopflags: 0 }));
        ns.writeChunkEnd(f, w.chunkId, Math.min(len, (indx + 1) * 0x4000000), 0);
      }
      ok(ns.truncate(ROOT, f, 0, len));
    });
    ok(ns.setsclass(ROOT, sub, 2, 3, 4));
    const file = join(dir, 'dirinfo.mfs');
    writeFileSync(file, storeMetadata(ns, { metaversion: 1n, metaid: 1n }));
    const out = execFileSync('mfsmetadirinfo', [file, '/data', '/data/sub'], { encoding: 'latin1' });
    const blocks = out.split('path: ').slice(1);
    const field = (blk: string, k: string): number => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(blk)![1]);
    for (const [blk, ino] of [[blocks[0]!, d], [blocks[1]!, sub]] as const) {
      const s = ok(ns.getDirStats(ROOT, ino));
      expect({ inodes: field(blk, 'inodes'), files: field(blk, ' files'), dirs: field(blk, ' dirs'), chunks: field(blk, 'chunks'), length: field(blk, 'length'), size: field(blk, 'size'), realsize: field(blk, 'real size') })
        .toEqual({ inodes: s.inodes, files: s.files, dirs: s.dirs, chunks: s.chunks, length: s.length, size: s.size, realsize: s.realsize });
    }
  });

  test('real mfsmaster -a restore: our image + our changelog == our final image', () => {
    const { ns, clock, lines } = setup();
    const data = join(dir, 'restore');
    mkdirSync(data, { recursive: true });
    const metaid = 0x5eedn;
    writeFileSync(join(data, 'metadata.mfs'), storeMetadata(ns, { metaversion: 1n, metaid, now: clock.t }));
    scenario(ns, clock);
    const old = ok(ns.mkdir(ROOT, 1, b('old'), 0o755, 0, false)).inode;
    for (const e of ok(ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2)) if (e.inode !== old) ok(ns.rename(ROOT, 1, e.name, old, e.name));
    scenario(ns, clock);
    writeFileSync(join(data, 'changelog.0.mfs'), lines.join('\n') + '\n');
    const ours = join(dir, 'ours.mfs');
    writeFileSync(ours, storeMetadata(ns, { metaversion: BigInt(lines.length + 1), metaid, now: clock.t }));
    const cfg = join(dir, 'mfsmaster.cfg');
    writeFileSync(join(dir, 'mfsexports.cfg'), '* / rw\n');
    writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(dir, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
    const log = execFileSync('mfsmaster', ['-c', cfg, '-a', '-f', 'restore'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(log).not.toMatch(/mismatch|error/i);
    const keep = (t: string) => t.split('\n').filter((l) => /^(NODE|EDGE|XATTR|POSIXACL|CHUNK|FREE|QUOTA)\|/.test(l) || /^# (version|maxinode|nextedgeid|nextchunkid|free nodes)/.test(l)).sort();
    const real = keep(dump(join(data, 'metadata.mfs')));
    expect(real.length).toBeGreaterThan(50);
    expect(keep(dump(ours))).toEqual(real);
  });

  test('real mfsmaster -a restore replays our storage class records (SCSET/SCDUP/SCREN/SCDEL) onto our SCLA', () => {
    const { ns, clock, lines } = setup();
    const data = join(dir, 'sclass');
    mkdirSync(data, { recursive: true });
    const scla = () => [{ name: 'SCLA', version: 0x16, data: ns.sclasses.store() }];
    writeFileSync(join(data, 'metadata.mfs'), storeMetadata(ns, { metaversion: 1n, metaid: 9n, now: clock.t, extra: scla() }));
    const mask = (m: number) => [m, 0, 0, 0];
    const ADMIN = ctxOf(0, [0], 0x08);
    expect(ns.sclassCreate({ name: b('gold'), adminOnly: 0, mode: 1, archDelay: 0, labels: [[mask(1)], [mask(2), mask(0)], [mask(4), mask(3)]] })).toBe(0);
    const d = ok(ns.mkdir(ROOT, 1, b('d'), 0o755, 0, false)).inode;
    ok(ns.setsclass(ADMIN, d, 10, 10, 0));
    ok(ns.mknod(ROOT, d, b('f'), TYPE_FILE, 0o644, 0, 0));
    clock.t += 5;
    expect(ns.sclassDuplicate(b('gold'), b('silver,%x'))).toBe(0);
    expect(ns.sclassRename(b('silver,%x'), b('bronze'))).toBe(0);
    ok(ns.sclassChange(b('gold'), 0x01 | 0x02 | 0x20 | 0x08, { adminOnly: 1, mode: 2, archDelay: 9, labels: [[], [mask(7), mask(7), mask(0)], []] }));
    ok(ns.sclassChange(b('2'), 0x8000 | 0x01, { adminOnly: 1, mode: 1, archDelay: 0, labels: [[], [], []] }));
    expect(ns.sclassDelete(b('bronze'))).toBe(0);
    expect(ns.sclassCreate({ name: b('tin'), adminOnly: 0, mode: 0, archDelay: 0, labels: [[mask(0)], [mask(0)], [mask(0)]] })).toBe(0);
    expect(lines.filter((l) => /\|SC(SET|DUP|REN|DEL)\(/.test(l))).toHaveLength(7);
    writeFileSync(join(data, 'changelog.0.mfs'), lines.join('\n') + '\n');
    const ours = join(data, 'ours.mfs');
    writeFileSync(ours, storeMetadata(ns, { metaversion: BigInt(lines.length + 1), metaid: 9n, now: clock.t, extra: scla() }));
    const cfg = join(data, 'mfsmaster.cfg');
    writeFileSync(join(data, 'mfsexports.cfg'), '* / rw\n');
    writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(data, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
    const log = execFileSync('mfsmaster', ['-c', cfg, '-a', '-f', 'restore'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(log).not.toMatch(/mismatch|error/i);
    const keep = (t: string) => t.split('\n').filter((l) => /^(SCLASS|NODE|EDGE)\|/.test(l) || /^# version/.test(l)).sort();
    const real = keep(dump(join(data, 'metadata.mfs')));
    expect(real.filter((l) => l.startsWith('SCLASS|'))).toHaveLength(11); // 1..9, gold, tin
    expect(real.join('\n')).toMatch(/SCLASS\|#:\s+11\|.*\|n:tin/);
    expect(keep(dump(ours))).toEqual(real);
  });

  test('an image the sliced writer made while the namespace changed: the real mfsmaster loads it to the state at its version', () => {
    const { ns, clock, lines } = setup();
    scenario(ns, clock);
    const data = join(dir, 'sliced');
    mkdirSync(data, { recursive: true });
    const o = { metaversion: BigInt(lines.length + 1), metaid: 0x51ceen, now: clock.t };
    const atV = join(data, 'at-version.mfs');
    writeFileSync(atV, storeMetadata(ns, o));
    const d = new MetadataDump(ns, o);
    const log = ns.onRecord!;
    ns.onRecord = (r) => {
      log(r);
      if (!d.done) d.step(1);
    };
    const old = ok(ns.mkdir(ROOT, 1, b('old'), 0o755, 0, false)).inode;
    for (const e of ok(ns.readdir(ROOT, 1, 0, 1000, 0n)).entries.slice(2)) if (e.inode !== old) ok(ns.rename(ROOT, 1, e.name, old, e.name));
    scenario(ns, clock);
    ns.onRecord = log;
    const img = Buffer.concat(d.finishSync());
    expect(img.equals(readFileSync(atV))).toBe(false); // records of nodes changed meanwhile came out of order
    writeFileSync(join(data, 'metadata.mfs'), img);
    const cfg = join(data, 'mfsmaster.cfg');
    writeFileSync(join(data, 'mfsexports.cfg'), '* / rw\n');
    writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(data, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
    const out = execFileSync('mfsmaster', ['-c', cfg, '-f', 'restore'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(out).not.toMatch(/mismatch|error/i);
    const keep = (t: string) => t.split('\n').filter((l) => /^(NODE|EDGE|XATTR|POSIXACL|CHUNK|FREE|QUOTA)\|/.test(l) || /^# (version|maxinode|nextedgeid|nextchunkid|free nodes)/.test(l)).sort();
    const real = keep(dump(join(data, 'metadata.mfs')));
    expect(real.length).toBeGreaterThan(50);
    expect(real).toEqual(keep(dump(atV)));
  });

  test('random operation sequences: real mfsmaster -a restore agrees with us', () => {
    const users: FsCtx[] = [ROOT, ctxOf(1000, [1000, 50]), ctxOf(1001, [1001]), ctxOf(0, [0], 0x08)];
    const names = ['a', 'b', 'c'].map(b);
    const action = fc.record({
      op: fc.integer({ min: 0, max: 23 }),
      x: fc.nat(30),
      y: fc.nat(30),
      n: fc.nat(2),
      m: fc.nat(2),
      u: fc.nat(5),
      v: fc.nat(0xffff),
    });
    let run = 0;
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 120 }), (acts) => {
        run++;
        const { ns, clock, lines } = setup();
        const data = join(dir, `rnd${run}`);
        mkdirSync(data, { recursive: true });
        writeFileSync(join(data, 'metadata.mfs'), storeMetadata(ns, { metaversion: 1n, metaid: 7n, now: clock.t }));
        const inodes = () => [...ns.tree.nodes.keys()].sort((p, q) => p - q);
        const pick = (k: number) => inodes()[k % inodes().length]!;
        const dirsOnly = () => inodes().filter((i) => ns.tree.nodes.get(i)!.type === 2);
        const filesOnly = () => inodes().filter((i) => ns.tree.nodes.get(i)!.type === TYPE_FILE);
        const pickDir = (k: number) => dirsOnly()[k % dirsOnly().length]!;
        const pickFile = (k: number) => { const f = filesOnly(); return f.length ? f[k % f.length]! : 1; };
        const modes = [0o755, 0o777, 0o700, 0o1777, 0o644, 0o2775];
        for (const a of acts) {
          const u = users[[0, 0, 0, 1, 2, 3][a.u]!]!;
          const parentOps = [0, 1, 2, 4, 5, 6, 16];
          const x = parentOps.includes(a.op) ? pickDir(a.x) : a.op === 8 || a.op === 9 ? pickFile(a.x) : pick(a.x);
          const y = a.op === 3 || a.op === 6 || a.op === 15 || a.op === 16 ? pickDir(a.y) : pick(a.y);
          const nm = names[a.n]!;
          const nm2 = names[a.m]!;
          clock.t += a.v % 7 === 0 ? 4000 : 1;
          switch (a.op) {
            case 0: ns.mkdir(u, x, nm, modes[a.v % modes.length]!, a.v & 0o22, (a.v & 1) === 1); break;
            case 1: ns.mknod(u, x, nm, a.v % 5 === 0 ? TYPE_FIFO : TYPE_FILE, modes[a.v % modes.length]!, 0o022, 0); break;
            case 2: ns.symlink(u, x, nm, b('t'.repeat(1 + (a.v % 9)))); break;
            case 3: ns.link(u, x, y, nm); break;
            case 4: ns.unlink(u, x, nm); break;
            case 5: ns.rmdir(u, x, nm); break;
            case 6: ns.rename(u, x, nm, y, nm2); break;
            case 7: ns.setattr(u, x, 0, { setmask: [0x02, 0x04, 0x08, 0x40 | 0x20, 0x10, 0x0c][a.v % 6]!, mode: modes[a.v % modes.length]! | (a.v & 0o4000), uid: [0, 1000, 1001][a.m]!, gid: [0, 50, 1001][a.n]!, atime: a.v, mtime: a.v * 3, winattr: 0, sugidclearmode: a.v % 6 }); break;
            case 8: {
              const w = ns.writeChunk(x, a.v % 3, { chunkopflags: a.n === 0 ? 1 : 0 });
              if (w.ok) ns.writeChunkEnd(x, w.value.chunkId, (a.v % 3) * 0x4000000 + a.v + 1, a.n === 0 ? 1 : 0);
              break;
            }
            case 9: ns.truncate(u, x, 0, [0, 100, 70000, 0x4000000 + 5][a.v % 4]!); break;
            case 10: ns.setxattr(u, x, 0, b(`user.${a.n}`), b('v'.repeat(a.m)), a.v % 4); break;
            case 11: ns.setfacl(u, x, 1 + (a.v % 2), a.m === 0 ? null : { userperm: 7, groupperm: a.v & 7, otherperm: 0, mask: a.m === 1 ? 0xffff : 5, namedusers: a.n ? [{ id: 1001, perm: 6 }] : [], namedgroups: [] }); break;
            case 12: ns.settrashtime(u, x, [0, 3600, 86400][a.m]!, a.v % 8); break;
            case 13: ns.setsclass(u, x, 1 + (a.v % 5), 1 + (a.n * 3), a.v % 8); break;
            case 14: ns.seteattr(u, x, [0x01, 0x02, 0x04, 0x10, 0x20][a.v % 5]!, a.v % 8); break;
            // Snapshots as root only: the real restore parses SNAPSHOT's gid list with GETARRAYU32, which
            // drops the first digit of every gid ("[1000,50]" -> 0,0), so a replay by the C master differs
            // from its own live run whenever a gid matters (ours replays what the live run did).
            case 15: ns.snapshot(ROOT, x, y, nm, a.v & 0x0b, 0o022); break;
            case 16: ns.snapshot(ROOT, 0, y, nm, 0x80 | (a.v & 0x04), 0); break;
            case 17: { const t = ok(ns.readTrash(META)); if (t.length) ns.undel(META, t[a.x % t.length]!.inode); break; }
            case 18: { const t = ok(ns.readTrash(META)); if (t.length) ns.purge(META, t[a.x % t.length]!.inode); break; }
            case 19: if (a.n) ns.acquire(1 + a.m, x); else ns.release(1 + a.m, x); break;
            case 20: ns.periodic(); ns.emptyAllTrash(); break;
            case 22: ns.quotacontrol(users[3]!, pickDir(a.x), a.n === 2, { flags: a.v & 0xff, sinodes: a.m + 2, hinodes: a.m + 3, slength: a.v, hlength: 2 * a.v, ssize: 0x20000, hsize: 0x40000, srealsize: 0x40000, hrealsize: 0x80000, graceperiod: 1 + (a.v % 5000) }); break;
            case 23: ns.appendSlice(u, a.v % 4, pickFile(a.x), pickFile(a.y), a.n, a.m + a.n); break;
            case 21: ns.readdir(u, x, 0, 10, 0n); ns.readlink(u, x); ns.amtimeUpdate(u, [{ inode: x, atime: clock.t + 1, mtime: clock.t + a.n }]); break;
          }
        }
        writeFileSync(join(data, 'changelog.0.mfs'), lines.join('\n') + '\n');
        const ours = join(data, 'ours.mfs');
        writeFileSync(ours, storeMetadata(ns, { metaversion: BigInt(lines.length + 1), metaid: 7n, now: clock.t }));
        const cfg = join(data, 'mfsmaster.cfg');
        writeFileSync(join(data, 'mfsexports.cfg'), '* / rw\n');
        writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(data, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
        try {
          // a file size limit and a timeout: a wrong changelog must not let the real master fill the disk
          const log = execFileSync('bash', ['-c', 'ulimit -f 200000; exec mfsmaster -c "$1" -a -f restore', 'restore', cfg], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
          expect(log).not.toMatch(/mismatch|error/i);
          const keep = (t: string) => t.split('\n').filter((l) => /^(NODE|EDGE|XATTR|POSIXACL|CHUNK|FREE|QUOTA)\|/.test(l) || /^# (version|maxinode|nextedgeid|nextchunkid|free nodes)/.test(l)).sort();
          expect(keep(dump(ours))).toEqual(keep(dump(join(data, 'metadata.mfs'))));
        } finally {
          if (process.env.MFS_KEEP_RESTORE === '1') process.stderr.write(`CHANGELOG\n${lines.join('\n')}\n`);
          rmSync(data, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.MFS_RESTORE_RUNS ?? 16), ...(process.env.MFS_SEED ? { seed: Number(process.env.MFS_SEED), path: process.env.MFS_PATH, endOnFailure: true } : {}) },
    );
  }, 120_000);

  test('our FLCK, PLCK and CSDB: the real mfsmaster loads them (open-file and range checks) and stores the same locks and servers', async () => {
    const data = join(dir, 'locks');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'metadata.mfs'), 'MFSM NEW');
    const local = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
    const m = new Master({ cfg: { ...local, DATA_PATH: data }, exportsText: '* / rw,maproot=0:0', persist: true });
    await m.start();
    try {
      const p = { exportsChecksum: 0n, rootinode: 1, sesflags: 0, umask: 0, rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0, disables: 0, peerip: 0x7f000001, info: Buffer.from('/mnt/x') };
      const s1 = m.sessions.create(p).id;
      const s2 = m.sessions.create(p).id;
      const f1 = ok(m.ns.mknod(ROOT, 1, b('f1'), TYPE_FILE, 0o644, 0, 0)).inode;
      const f2 = ok(m.ns.mknod(ROOT, 1, b('f2'), TYPE_FILE, 0o644, 0, 0)).inode;
      for (const [s, f] of [[s1, f1], [s2, f1], [s1, f2], [s2, f2]] as const) m.ns.acquire(s, f);
      const never = () => { throw new Error('unexpected wake'); };
      m.locks.flock(s1, f1, 1, 0x11n, FLOCK_TRY_SHARED, never);
      m.locks.flock(s2, f1, 1, 0x22n, FLOCK_TRY_SHARED, never);
      const set = (s: number, owner: bigint, type: number, a: bigint, z: bigint) => m.locks.posixLock(s, f2, 1, owner, 77, POSIX_LOCK_CMD_SET, type, a, z, never);
      set(s1, 0x33n, POSIX_LOCK_WRLCK, 0n, 10n);
      set(s1, 0x33n, POSIX_LOCK_WRLCK, 10n, 20n); // adjacent: must be joined for the real loader
      set(s1, 0x33n, POSIX_LOCK_RDLCK, 20n, 30n);
      set(s2, 0x44n, POSIX_LOCK_RDLCK, 40n, 50n);
      m.registry.allocCsid(0x7f000001, 9422, 0);
      m.registry.allocCsid(0x7f000002, 9433, 9);
    } finally {
      await m.stop();
    }
    const ours = join(data, 'ours.mfs');
    writeFileSync(ours, readFileSync(join(data, 'metadata.mfs')));
    const keep = (t: string) => t.split('\n').filter((l) => /^(FLOCK|POSIXLOCK|CHUNKSERVER|OPENFILE)\|/.test(l)).sort();
    const mine = keep(dump(ours));
    expect(mine.filter((l) => l.startsWith('FLOCK|')).length).toBe(2);
    expect(mine.filter((l) => l.startsWith('POSIXLOCK|')).length).toBe(3);
    expect(mine.filter((l) => l.startsWith('CHUNKSERVER|')).length).toBe(2);
    const cfg = join(data, 'mfsmaster.cfg');
    writeFileSync(join(data, 'mfsexports.cfg'), '* / rw\n');
    writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(data, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
    const out = execFileSync('mfsmaster', ['-c', cfg, '-f', 'restore'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(out).not.toMatch(/mismatch|error|wrong|not in order|not connected|closed file/i);
    expect(keep(dump(join(data, 'metadata.mfs')))).toEqual(mine);
  });
  test('our FLOCK / POSIXLOCK changelog records: the real mfsmaster -a and ours replay them onto the image before them and get the live lock table', async () => {
    const data = join(dir, 'lockrecs');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'metadata.mfs'), 'MFSM NEW');
    const local = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
    const master = (autoRestore = false) => new Master({ cfg: { ...local, DATA_PATH: data }, exportsText: '* / rw,maproot=0:0', persist: true, autoRestore });
    // Run 1: sessions holding two files open, no locks; its image is the start of the replay.
    let m = master();
    await m.start();
    const p = { exportsChecksum: 0n, rootinode: 1, sesflags: 0, umask: 0, rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0, disables: 0, peerip: 0x7f000001, info: Buffer.from('/mnt/x') };
    let s1 = 0, s2 = 0, f1 = 0, f2 = 0;
    try {
      s1 = m.sessions.create(p).id;
      s2 = m.sessions.create(p).id;
      f1 = ok(m.ns.mknod(ROOT, 1, b('f1'), TYPE_FILE, 0o644, 0, 0)).inode;
      f2 = ok(m.ns.mknod(ROOT, 1, b('f2'), TYPE_FILE, 0o644, 0, 0)).inode;
      for (const [s, f] of [[s1, f1], [s2, f1], [s1, f2], [s2, f2]] as const) m.ns.acquire(s, f);
    } finally {
      await m.stop();
    }
    const before = readFileSync(join(data, 'metadata.mfs'));
    // Run 2: lock changes only, each logged.
    m = master();
    await m.start();
    let live: string[] = [];
    const rows = (x: Master) => x.locks.list(0).map((r) => `${r.inode}/${r.sessionid}/${r.owner}/${r.type}/${r.pid}/${r.start}-${r.end}`).sort();
    try {
      const never = () => { throw new Error('unexpected wake'); };
      const woke: number[] = [];
      m.locks.flock(s1, f1, 1, 0x11n, FLOCK_TRY_SHARED, never);
      m.locks.flock(s2, f1, 1, 0x22n, FLOCK_LOCK_SHARED, never);
      m.locks.flock(s1, f1, 2, 0x11n, FLOCK_LOCK_EXCLUSIVE, (st) => woke.push(st)); // waits: U then W once s2 lets go
      m.locks.flock(s2, f1, 2, 0x22n, FLOCK_UNLOCK, never);
      expect(woke).toEqual([0]);
      const set = (s: number, owner: bigint, type: number, a: bigint, z: bigint) => m.locks.posixLock(s, f2, 1, owner, 77, POSIX_LOCK_CMD_SET, type, a, z, never);
      set(s1, 0x33n, POSIX_LOCK_WRLCK, 0n, 0xffffffffffffffffn);
      set(s1, 0x33n, POSIX_LOCK_UNLCK, 10n, 20n);
      set(s1, 0x33n, POSIX_LOCK_RDLCK, 30n, 40n);
      set(s2, 0x44n, POSIX_LOCK_RDLCK, 12n, 18n);
      live = rows(m);
    } finally {
      await m.stop();
    }
    const log = readdirSync(data).filter((f) => /^changelog\.\d+\.mfs$/.test(f)).map((f) => readFileSync(join(data, f), 'latin1')).join('');
    expect(log).toMatch(/\|FLOCK\(\d+,\d+,17,W\)/);
    expect(log).toMatch(/\|POSIXLOCK\(\d+,\d+,51,U,10,20,77\)/);
    const ours = join(data, 'ours.mfs');
    writeFileSync(ours, readFileSync(join(data, 'metadata.mfs')));
    const keep = (t: string) => t.split('\n').filter((l) => /^(FLOCK|POSIXLOCK)\|/.test(l)).sort();
    const mine = keep(dump(ours));
    expect(mine.length).toBe(6); // one flock; s1: [0,10) W, [20,30) W, [30,40) R, [40,EOF) W; s2: [12,18) R
    const rewind = () => {
      for (const f of readdirSync(data)) if (/^metadata.*\.(back|mfs)(\.\d+)?$/.test(f) && f !== 'ours.mfs') unlinkSync(join(data, f));
      writeFileSync(join(data, 'metadata.mfs.back'), before);
    };
    // Ours: -a from the lock-free image plus the changelogs.
    rewind();
    m = master(true);
    await m.start();
    try {
      expect(rows(m)).toEqual(live);
    } finally {
      await m.stop();
    }
    // The real one, from the same image and changelogs.
    rewind();
    const cfg = join(data, 'mfsmaster.cfg');
    writeFileSync(join(data, 'mfsexports.cfg'), '* / rw\n');
    writeFileSync(cfg, `DATA_PATH = ${data}\nEXPORTS_FILENAME = ${join(data, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
    const out = execFileSync('mfsmaster', ['-c', cfg, '-a', '-f', 'restore'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(out).not.toMatch(/mismatch|error|wrong|not in order|closed file/i);
    expect(keep(dump(join(data, 'metadata.mfs')))).toEqual(mine);
  });
});
