// mfschunkserver-ts among the real MooseFS 3.0.117 daemons: a real mfsmaster and a real mfsmount use
// our chunkservers as their own (goal 2, chunk boundaries), chains mix real and ours in both orders,
// mfscli lists and inspects ours, and a disk written by the real chunkserver is served by ours.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { expect, it } from 'vitest';
import { REPO_ROOT, binFor } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import { B, MiB, addr, chunkFileIntact, chunkFiles, chunkIds, copies, patchFile, readBack, sha, waitCopies, waitFor, wchar, writeFiles } from './helpers.js';

// Our daemons log each write session's place in the chain at debug level; the tests read it.
process.env.MFS_LOG_LEVEL = 'debug';

describeLab('mfschunkserver-ts with the real MooseFS 3.0.117 master and mount', () => {
  it('two of ours at goal 2: files across a chunk boundary are stored twice and read back; mfscli sees them; fuzzing both data ports under load', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const cs1 = await lab.startChunkserver({ host: 'cs1', master, impl: 'ts' });
      const cs2 = await lab.startChunkserver({ host: 'cs2', master, impl: 'ts', hdds: 2 });
      const mnt = await lab.mount({ host: 'client', master });

      const rows = await master.chunkservers();
      expect(rows.map((r) => `${r.ip}:${r.port}`).sort()).toEqual([addr(cs1), addr(cs2)].sort());
      for (const r of rows) {
        expect(r.version).toMatch(/^3\.0\.117/);
        expect(r.total).toBeGreaterThan(0);
      }

      const files = await writeFiles(mnt, { 'small.bin': 3 * MiB + 12345, 'tiny.txt': 100, 'big.bin': 64 * MiB + 5 * MiB });
      await waitCopies(mnt, 'small.bin', [addr(cs1), addr(cs2)], 1);
      await waitCopies(mnt, 'tiny.txt', [addr(cs1), addr(cs2)], 1);
      await waitCopies(mnt, 'big.bin', [addr(cs1), addr(cs2)], 2);
      await readBack(lab, master, files);

      // Overwrite in the middle of the big file (a partial block write into existing chunks).
      const patch = randomBytes(300_000);
      const big = files.get('big.bin')!;
      patch.copy(big, 64 * MiB - 100_000);
      await patchFile(mnt.path('big.bin'), 64 * MiB - 100_000, patch);
      await readBack(lab, master, new Map([['big.bin', big]]), 'direct2');

      // The master's view: chunk counts per server, and mfscli's disk listing comes from our HDD_LIST.
      await waitFor(async () => (await master.chunkservers()).every((r) => r.chunks === 4));
      const hd = (await master.cli(['-SHD'])).stdout;
      for (const p of [...cs1.hddPaths, ...cs2.hddPaths]) expect(hd).toContain(`${p}/`);

      // Truncate (MATOCS_TRUNCATE), snapshots written to (DUPLICATE) and cut (DUPTRUNC), on both copies.
      const cut = 64 * MiB + 12345;
      await truncate(mnt.path('big.bin'), cut);
      let want = Buffer.from(big.subarray(0, cut));
      await mnt.exec(['mfsmakesnapshot', mnt.path('big.bin'), mnt.path('snap.bin')]);
      await mnt.exec(['mfsmakesnapshot', mnt.path('big.bin'), mnt.path('snap2.bin')]);
      const snap = Buffer.from(want);
      const p1 = randomBytes(5000);
      p1.copy(snap, 100);
      await patchFile(mnt.path('snap.bin'), 100, p1);
      await truncate(mnt.path('snap2.bin'), 70_000);
      await truncate(mnt.path('big.bin'), cut + 3 * B);
      want = Buffer.concat([want, Buffer.alloc(3 * B)]);
      await readBack(lab, master, new Map([['big.bin', want], ['snap.bin', snap], ['snap2.bin', Buffer.from(big.subarray(0, 70_000))]]), 'direct3');
      for (const f of ['big.bin', 'snap.bin', 'snap2.bin']) {
        for (const c of await copies(mnt, f)) expect(c).toEqual([addr(cs1), addr(cs2)].sort());
      }
      // The real master really used those commands on our servers (our debug log names each one done;
      // lines reach the file through the lab's pipe a moment later, so poll).
      for (const cs of [cs1, cs2]) {
        const seen = async (): Promise<boolean> => {
          const cmds = new Set([...(await readFile(lab.logFile(cs.name), 'utf8')).matchAll(/"msg":"(MATOCS_[A-Z_]+) done \(status 0\)"/g)].map((m) => m[1]));
          return ['MATOCS_CREATE', 'MATOCS_TRUNCATE', 'MATOCS_DUPLICATE', 'MATOCS_DUPTRUNC'].every((c) => cmds.has(c));
        };
        await waitFor(seen, 10_000);
      }

      // Fuzz: six connections on each of our data ports send random and malformed packets for 12 s
      // (fuzz-peer.ts) while the real mount writes new files and reads old ones. Both servers stay
      // up and registered, refuse the garbage with a log line, and the client's data is intact.
      const seed = Date.now() >>> 0;
      const fuzz = lab.host('client').exec(
        ['node', '--import', 'tsx', join(REPO_ROOT, 'packages/chunkserver/test/lab/fuzz-peer.ts'),
          JSON.stringify({ targets: [cs1, cs2].map((c) => ({ ip: c.host.ip, port: c.port })), ips: [cs1.host.ip, cs2.host.ip, master.host.ip], conns: 6, seconds: 12, seed })],
        { cwd: REPO_ROOT, timeoutMs: 90_000 },
      );
      let fuzzing = true;
      void fuzz.finally(() => (fuzzing = false)).catch(() => undefined);
      const written = new Map<string, Buffer>([['small.bin', files.get('small.bin')!]]);
      const direct = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT'], name: 'direct-fuzz' });
      try {
        for (let round = 0; fuzzing || round < 2; round++) {
          for (const [f, d] of await writeFiles(mnt, { [`fz${round}.bin`]: 3 * MiB + round * 4099 }, round)) written.set(f, d);
          for (const [f, d] of written) expect(sha(await readFile(direct.path(f))), `${f} while fuzzing (seed ${seed})`).toBe(sha(d));
        }
      } finally {
        await direct.unmount();
      }
      const counts = JSON.parse((await fuzz).stdout.trim().split('\n').pop()!) as { connections: number; packets: number; closedByServer: number };
      expect(counts.closedByServer, JSON.stringify(counts)).toBeGreaterThan(50);
      expect([cs1.running, cs2.running]).toEqual([true, true]);
      expect((await master.chunkservers()).map((r) => `${r.ip}:${r.port}`).sort()).toEqual([addr(cs1), addr(cs2)].sort());
      for (const f of written.keys()) await waitCopies(mnt, f, [addr(cs1), addr(cs2)], 1);
      const logs = (await readFile(lab.logFile(cs1.name), 'utf8')) + (await readFile(lab.logFile(cs2.name), 'utf8'));
      for (const m of ['wrong size', 'packet too long', 'got unknown message']) expect(logs, `seed ${seed}`).toContain(m);
    });
  });

  it('mixed chains, real and ours in both orders: every chunk lands intact on both; kill -9 of ours mid-read and mid-write, the client carries on, ours registers again', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const real = await lab.startChunkserver({ host: 'cs1', master, impl: 'real' });
      const ours = await lab.startChunkserver({ host: 'cs2', master, impl: 'ts', cfg: { LABELS: 'A' } });
      const mnt = await lab.mount({ host: 'client', master });
      const sizes: Record<string, number> = {};
      for (let i = 0; i < 8; i++) sizes[`f${i}.bin`] = 1 * MiB + i * 77_777;
      const files = await writeFiles(mnt, sizes);
      for (const f of files.keys()) await waitCopies(mnt, f, [addr(real), addr(ours)], 1);
      // Our log says where we stood in each chain; over 8 files both orders should have happened.
      let forwarding = 0;
      let lastInChain = 0;
      await waitFor(async () => {
        const log = await readFile(lab.logFile(ours.name), 'utf8');
        forwarding = (log.match(/write session \(forwarding\)/g) ?? []).length;
        lastInChain = (log.match(/write session \(last in chain\)/g) ?? []).length;
        return forwarding + lastInChain >= 8;
      }, 10_000);
      // Each copy alone is complete: read with only ours, then with only the real one.
      await real.stop();
      await readBack(lab, master, files, 'only-ours');
      await real.start();
      await ours.stop();
      await readBack(lab, master, files, 'only-real');
      await ours.start();
      expect({ forwarding: forwarding > 0, lastInChain: lastInChain > 0 }).toEqual({ forwarding: true, lastInChain: true });

      // kill -9 of ours in the middle of a read: a mount that prefers ours (LABELS A,
      // mfspreflabels=A) reads a two-copy file, ours dies after a few MiB have come from it, and the
      // client finishes from the real copy.
      const kr = await writeFiles(mnt, { 'kr.bin': 60 * MiB }, 11);
      await waitCopies(mnt, 'kr.bin', [addr(real), addr(ours)], 1);
      const want = kr.get('kr.bin')!;
      const pref = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT', 'mfspreflabels=A'], name: 'pref-ours' });
      try {
        const got = Buffer.alloc(want.length);
        const fh = await open(pref.path('kr.bin'), 'r');
        try {
          const w0 = await wchar(ours.proc!.pid);
          const fill = async (from: number, to: number): Promise<void> => {
            for (let pos = from; pos < to; ) {
              const { bytesRead } = await fh.read(got, pos, Math.min(MiB, to - pos), pos);
              if (bytesRead === 0) throw new Error(`kr.bin: end of file at ${pos}`);
              pos += bytesRead;
            }
          };
          await fill(0, 4 * MiB);
          // The bytes came from ours (it sent at least 3 MiB since the read began).
          expect((await wchar(ours.proc!.pid)) - w0).toBeGreaterThan(3 * MiB);
          await ours.kill();
          await fill(4 * MiB, want.length);
        } finally {
          await fh.close();
        }
        expect(sha(got), 'read across the kill').toBe(sha(want));
      } finally {
        await pref.unmount();
      }
      // Restarted, it registers again with its chunks: the master lists its copies as valid.
      await ours.start();
      for (const f of [...files.keys(), 'kr.bin']) await waitCopies(mnt, f, [addr(real), addr(ours)], 1);

      // kill -9 of ours in the middle of a write: a writer appends 1 MiB pieces at a steady pace;
      // once ours has stored 4 MiB of them (its wchar, as the log reaches its file late) it is
      // killed. The mount gets a new chain from the master and the whole file reads back intact.
      const wdata = randomBytes(64 * MiB);
      let wrote = 0;
      const w0 = await wchar(ours.proc!.pid);
      const writer = (async () => {
        const fh = await open(mnt.path('kw.bin'), 'w');
        try {
          for (let pos = 0; pos < wdata.length; pos += MiB) {
            await fh.write(wdata, pos, MiB, pos);
            wrote = pos + MiB;
            await new Promise((r) => setTimeout(r, 15));
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
      })();
      void writer.catch(() => undefined);
      const deadline = Date.now() + 30_000;
      while ((await wchar(ours.proc!.pid)) - w0 < 4 * MiB) {
        if (Date.now() > deadline || wrote >= wdata.length) throw new Error(`ours stored ${(await wchar(ours.proc!.pid)) - w0} bytes of kw.bin (writer at ${wrote})`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const killedAt = wrote;
      await ours.kill();
      await writer;
      expect(killedAt).toBeLessThan(wdata.length);
      await readBack(lab, master, new Map([['kw.bin', wdata]]), 'after-kill-write');
      await ours.start();
      for (const f of [...files.keys(), 'kr.bin']) await waitCopies(mnt, f, [addr(real), addr(ours)], 1);
      expect((await master.chunkservers()).find((r) => `${r.ip}:${r.port}` === addr(ours))?.chunks).toBeGreaterThanOrEqual(files.size + 1);
    });
  });

  it('the real master replicates to ours and from ours (goal raised from 1 to 2); a flipped byte in our copy is caught, reported and replaced', async () => {
    await withLab({ hosts: ['master', 'cs1', 'cs2', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master', cfg: { CHUNKS_LOOP_MIN_TIME: 60, REPLICATIONS_DELAY_INIT: 0 } });
      const real = await lab.startChunkserver({ host: 'cs1', master, impl: 'real' });
      const ours = await lab.startChunkserver({ host: 'cs2', master, impl: 'ts', cfg: { LABELS: 'A' } });
      const mnt = await lab.mount({ host: 'client', master });
      await mnt.exec(['mkdir', mnt.path('r')]);
      await mnt.exec(['mfssetgoal', '1', mnt.path('r')]);
      // Goal 1 with both servers up: the master spreads new chunks over both.
      const sizes: Record<string, number> = {};
      for (let i = 0; i < 6; i++) sizes[`r/g${i}.bin`] = 700_000 + i * 1000;
      const files = await writeFiles(mnt, sizes, 3);
      const where = new Set<string>();
      for (const f of files.keys()) for (const c of await copies(mnt, f)) where.add(c.join(','));
      await mnt.exec(['mfssetgoal', '-r', '2', mnt.path('r')]);
      for (const f of files.keys()) await waitCopies(mnt, f, [addr(real), addr(ours)], 1, 150_000);

      // A flipped byte in our copy of one chunk (goal 2: the other copy is on the real server). A
      // mount that prefers ours (LABELS A, mfspreflabels=A) still reads the right data; ours answers
      // the read with a CRC error and reports the chunk damaged; the master has the copy replaced.
      const victim = 'r/g2.bin';
      const [id] = await chunkIds(mnt, victim);
      const [path] = await chunkFiles(ours, id!);
      const raw = await readFile(path!);
      raw[8192 + 3 * B + 777]! ^= 0x20;
      await writeFile(path!, raw);
      const crcErrors = async (): Promise<number> =>
        (await readFile(lab.logFile(ours.name), 'utf8')).split('\n').filter((l) => l.includes('crc error') && l.includes(`"chunk":"${Number.parseInt(id!, 16).toString(16)}"`)).length;
      // mfspreflabels makes the client try ours first; a few rounds in case it picks the real copy.
      for (let round = 0; (await crcErrors()) === 0; round++) {
        if (round === 5) throw new Error(`no read of ${victim} reached our damaged copy in 5 rounds`);
        const m = await lab.mount({ host: 'client', master, options: ['mfscachemode=DIRECT', 'mfspreflabels=A'], name: `flip${round}` });
        try {
          expect(sha(await readFile(m.path(victim))), `${victim} with a damaged copy`).toBe(sha(files.get(victim)!));
        } finally {
          await m.unmount();
        }
      }
      // Replaced: our copy of that chunk is whole again (every block matches its CRC) and valid.
      await waitFor(async () => {
        const now = await chunkFiles(ours, id!);
        return now.length === 1 && (await chunkFileIntact(now[0]!));
      }, 120_000);
      await waitCopies(mnt, victim, [addr(real), addr(ours)], 1, 60_000);
      await real.stop();
      await readBack(lab, master, files, 'only-ours');
      await real.start();
      await ours.stop();
      await readBack(lab, master, files, 'only-real');
      // Which directions were exercised: chunks first on the real server were copied to ours, and back.
      expect([...where].sort()).toEqual([addr(real), addr(ours)].sort());
    });
  }, 280_000);

  it('a disk written by the real mfschunkserver is served by ours, and back', async () => {
    await withLab({ hosts: ['master', 'cs1', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const hdd = join(lab.dir, 'shared-hdd');
      const real = await lab.startChunkserver({ host: 'cs1', master, impl: 'real', hdds: [hdd], port: 9422 });
      const mnt = await lab.mount({ host: 'client', master });
      await mnt.exec(['mfssetgoal', '1', mnt.path('')]);
      const files = await writeFiles(mnt, { 'a.bin': 2 * MiB + 999, 'b.bin': 200_000 }, 1);
      await waitCopies(mnt, 'a.bin', [addr(real)], 1);
      await real.stop();

      // The real chunkserver's file, checked against the documented layout byte by byte.
      const names: string[] = [];
      for (const sub of await readdir(hdd)) if (/^[0-9A-F]{2}$/.test(sub)) for (const n of await readdir(join(hdd, sub))) names.push(join(hdd, sub, n));
      expect(names.length).toBe(2);
      for (const p of names) {
        const m = /chunk_([0-9A-F]{16})_([0-9A-F]{8})\.mfs$/.exec(p)!;
        const b = await readFile(p);
        expect(b.subarray(0, 8).toString('latin1')).toBe('MFSC 1.0');
        expect(b.readBigUInt64BE(8)).toBe(BigInt(`0x${m[1]}`));
        expect(b.readUInt32BE(16)).toBe(Number.parseInt(m[2]!, 16));
        expect(b.subarray(20, 4096).equals(Buffer.alloc(4076))).toBe(true);
        expect((b.length - 8192) % B).toBe(0);
        const blocks = (b.length - 8192) / B;
        for (let i = 0; i < blocks; i++) expect(b.readUInt32BE(4096 + 4 * i)).toBe(crc32(b.subarray(8192 + i * B, 8192 + (i + 1) * B)));
      }
      expect(await readFile(join(hdd, '.metaid'))).toHaveLength(8);

      const ours = await lab.startChunkserver({ host: 'cs1', master, impl: 'ts', hdds: [hdd], port: 9422 });
      await waitCopies(mnt, 'a.bin', [addr(ours)], 1);
      await readBack(lab, master, files, 'read-ours');
      // Ours changes the chunks (append: partial last block, new blocks), then the real one serves them.
      const more = randomBytes(150_000);
      await patchFile(mnt.path('a.bin'), files.get('a.bin')!.length, more);
      files.set('a.bin', Buffer.concat([files.get('a.bin')!, more]));
      await ours.stop();
      await real.start();
      await readBack(lab, master, files, 'read-real');
      // Each side started from the other's .chunkdb (no full scan): the format is the same.
      expect(await readFile(lab.logFile(ours.name), 'utf8')).toContain('.chunkdb used - full scan not needed');
      expect(await readFile(lab.logFile(real.name), 'utf8')).toContain('.chunkdb used - full scan not needed');
    });
  });
});

describeLab('mfschunkserver-ts command line', () => {
  it('start daemonizes and returns once initialised; test/stop find it by its lock file', async () => {
    await withLab({ hosts: ['master', 'cs1'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const h = lab.host('cs1');
      const dir = join(lab.dir, 'cli-cs');
      const data = join(dir, 'data');
      await mkdir(join(dir, 'hdd'), { recursive: true });
      await mkdir(data, { recursive: true });
      await writeFile(join(dir, 'mfshdd.cfg'), `${join(dir, 'hdd')}\n`);
      const cfg = join(dir, 'mfschunkserver.cfg');
      await writeFile(
        cfg,
        [
          `DATA_PATH = ${data}`,
          `HDD_CONF_FILENAME = ${join(dir, 'mfshdd.cfg')}`,
          `MASTER_HOST = ${master.addr}`,
          `BIND_HOST = ${h.ip}`,
          `CSSERV_LISTEN_HOST = ${h.ip}`,
          'CSSERV_LISTEN_PORT = 9430',
        ].join('\n') + '\n',
      );
      const bin = binFor('chunkserver', 'ts');
      const start = await h.exec([bin, '-c', cfg, 'start'], { env: { ...process.env, MFS_TS_LOG_FILE: lab.logFile('cli-cs') } });
      expect(start.stderr).toContain('mfschunkserver daemon initialized properly');
      await waitFor(async () => (await master.chunkservers()).some((r) => r.ip === h.ip && r.port === 9430 && r.total > 0));
      const pid = Number((await readFile(join(data, '.mfschunkserver.lock'), 'utf8')).trim());
      expect(pid).toBeGreaterThan(0);
      expect((await h.exec([bin, '-c', cfg, 'test'], { allowFail: true })).stderr).toContain(`mfschunkserver pid: ${pid}`);
      const again = await h.exec([bin, '-c', cfg, 'start'], { allowFail: true });
      expect(again.ok).toBe(false);
      const stop = await h.exec([bin, '-c', cfg, 'stop']);
      expect(stop.stderr).toContain('terminated');
      expect((await h.exec([bin, '-c', cfg, 'test'], { allowFail: true })).ok).toBe(false);
      // A clean stop leaves .chunkdb for a fast next start, as MooseFS does.
      expect((await readFile(join(dir, 'hdd', '.chunkdb'))).subarray(0, 12).toString()).toBe('MFS CHUNKDB2');
      // A 127.x master is refused at start, with MooseFS's message.
      await writeFile(cfg, (await readFile(cfg, 'utf8')).replace(`MASTER_HOST = ${master.addr}`, 'MASTER_HOST = 127.0.0.1'));
      const bad = await h.exec([bin, '-c', cfg, '-f', 'start'], { allowFail: true, timeoutMs: 30_000 });
      expect(bad.ok).toBe(false);
      expect(bad.stderr).toContain("can't be used for connecting with master");
    });
  });
});
