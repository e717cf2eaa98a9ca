// mfsmetalogger-ts against the real MooseFS 3.0.117 master, beside the real mfsmetalogger, and the
// strongest oracle: the real `mfsmaster -a` rebuilding the namespace from the files ours wrote.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  chmodSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createLogger } from '@mfs-ts/common';
import { Master as MasterTs } from '@mfs-ts/master';
import { Master, run, seededBytes, waitFor, writeFileSynced, type Lab, type Metalogger as LabMetalogger } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';

/** Namespace changes of many kinds, with names that the changelog must escape. */
function populate(root: string, tag: string): void {
  const d = join(root, `dir-${tag}`);
  mkdirSync(join(d, 'sub', 'deeper'), { recursive: true });
  writeFileSynced(join(d, 'data.bin'), seededBytes(200_000, tag.charCodeAt(0)));
  writeFileSynced(join(d, 'we(i)rd %name, ü\t.txt'), Buffer.from(`hello ${tag}\n`));
  for (let i = 0; i < 20; i++) writeFileSynced(join(d, 'sub', `f${i}`), Buffer.from(`${tag}${i}`));
  symlinkSync('../data.bin', join(d, 'sub', 'link'));
  linkSync(join(d, 'data.bin'), join(d, 'hard'));
  renameSync(join(d, 'sub', 'f0'), join(d, 'sub', 'deeper', 'moved'));
  unlinkSync(join(d, 'sub', 'f1'));
  chmodSync(join(d, 'sub', 'f2'), 0o600);
  truncateSync(join(d, 'sub', 'f3'), 70_000);
  mkdirSync(join(d, 'gone'));
  rmdirSync(join(d, 'gone'));
}

/** A comparable picture of a tree: one line per entry with type, mode, size, link target, content hash. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (rel === '' && name.startsWith('.')) continue; // .masterinfo and friends
      const p = join(root, rel, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push(`d ${r} ${(st.mode & 0o7777).toString(8)}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`l ${r} -> ${readlinkSync(p)}`);
      else out.push(`f ${r} ${(st.mode & 0o7777).toString(8)} ${st.size} nlink=${st.nlink} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk('');
  return out;
}

/** The versions in a changelog file's lines (`<version>: ...`). */
function versions(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'latin1')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => Number(l.slice(0, l.indexOf(':'))));
}

function lastVersion(path: string): number {
  const v = versions(path);
  return v.length ? v[v.length - 1]! : 0;
}

/**
 * A real master rotates its changelog (and tells the metaloggers, 0x55) and stores metadata.mfs.back
 * at the top of every hour (meta_dostoreall, wall-clock aligned). This test compares whole files, so
 * it does not start when the next hour is closer than `needMs`; it waits for that hour to pass.
 */
async function clearOfHourBoundary(needMs: number): Promise<void> {
  const toHour = 3_600_000 - (Date.now() % 3_600_000);
  if (toHour < needMs) await new Promise((r) => setTimeout(r, toHour + 2_000));
}

function mode(path: string): string {
  return (lstatSync(path).mode & 0o777).toString(8);
}

/** Lines of a changelog file with versions in [from, to]. */
function linesIn(path: string, from: number, to: number): string[] {
  return readFileSync(path, 'latin1')
    .split('\n')
    .filter((l) => {
      const v = Number(l.slice(0, l.indexOf(':')));
      return l.length > 0 && v >= from && v <= to;
    });
}

/** Waits for the master to log the end of a mount's session (SESDISCONNECTED) after `from`; returns its version. */
async function sessionEnd(path: string, from: number): Promise<number> {
  return waitFor(`SESDISCONNECTED in ${path}`, () => {
    if (!existsSync(path)) return undefined;
    const l = readFileSync(path, 'latin1').split('\n').find((x) => /^\d+: \d+\|SESDISCONNECTED\(/.test(x) && Number(x.slice(0, x.indexOf(':'))) >= from);
    return l ? Number(l.slice(0, l.indexOf(':'))) : undefined;
  });
}

/** Waits until a metalogger has completed its download chain (changelog_ml_back.1.mfs is the last file). */
async function waitDownloads(ml: LabMetalogger): Promise<void> {
  await waitFor(`${ml.name}: metadata_ml.mfs.back and changelog_ml_back.0/1.mfs`, () =>
    ['metadata_ml.mfs.back', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs'].every((f) => existsSync(join(ml.dataPath, f))),
  );
}

/** Copies a metalogger's files into a fresh DATA_PATH as the classic failover does. */
function copyMetaloggerFiles(from: string, to: string): string[] {
  const files = readdirSync(from).filter((f) => f.startsWith('metadata_ml') || f.startsWith('changelog_ml'));
  for (const f of files) copyFileSync(join(from, f), join(to, f));
  return files.sort();
}

describeLab('mfsmetalogger-ts with the real mfsmaster 3.0.117', () => {
  it('is listed by mfscli -SMB, keeps the same files as the real metalogger, and real mfsmaster -a restores from them', async () => {
    await clearOfHourBoundary(150_000);
    await withLab({ hosts: ['m', 'mlts', 'mlreal'] }, async (lab: Lab) => {
      // 1. A namespace with history, stored by a clean stop; the restarted master renames that
      //    metadata.mfs to metadata.mfs.back, which is what metaloggers download.
      const master = await lab.startMaster({ host: 'm' });
      await lab.startChunkserver({ host: 'm', master });
      let mnt = await lab.mount({ host: 'm', master });
      populate(mnt.dir, 'a');
      // Enough files that metadata.mfs.back (and the changelog) take several download blocks.
      mkdirSync(join(mnt.dir, 'many'));
      for (let i = 0; i < 20_000; i++) closeSync(openSync(join(mnt.dir, 'many', `file-${i}-with-a-longer-name`), 'w'));
      await mnt.unmount();
      await master.stop();
      await master.start();
      await master.waitChunkservers(1);
      const masterBack = readFileSync(join(master.dataPath, 'metadata.mfs.back'));
      expect(masterBack.subarray(0, 8).toString('latin1')).toBe('MFSM 2.0');
      expect(masterBack.length).toBeGreaterThan(1_000_000); // more than one ANTOMA_DOWNLOAD_REQUEST

      // 2. Ours and the real one, attached side by side.
      const ours = await lab.startMetalogger({ host: 'mlts', master, impl: 'ts' });
      const real = await lab.startMetalogger({ host: 'mlreal', master, impl: 'real' });
      const listed = await master.metaloggers();
      expect(listed).toContain(ours.host.ip);
      expect(listed).toContain(real.host.ip);
      const smb = (await master.rows('-SMB')).find((r) => r.includes(ours.host.ip));
      expect(smb?.join(' ')).toMatch(/3\.0\.117/);
      await waitDownloads(ours);
      await waitDownloads(real);
      expect(readFileSync(join(ours.dataPath, 'metadata_ml.mfs.back')).equals(masterBack)).toBe(true);
      for (const f of ['metadata_ml.mfs.back', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs']) {
        expect(readFileSync(join(ours.dataPath, f)).equals(readFileSync(join(real.dataPath, f))), f).toBe(true);
        expect(mode(join(ours.dataPath, f)), `${f} mode`).toBe(mode(join(real.dataPath, f)));
      }

      // 3. Changes through a real mount: both metaloggers and the master's changelog agree.
      mnt = await lab.mount({ host: 'm', master });
      populate(mnt.dir, 'b');
      renameSync(join(mnt.dir, 'dir-a', 'data.bin'), join(mnt.dir, 'dir-b', 'from-a.bin'));
      unlinkSync(join(mnt.dir, 'dir-a', 'sub', 'f5'));
      let want = tree(mnt.dir);
      // Quiet point: after the unmount the master has logged the session's end, and nothing else
      // changes the namespace.
      await mnt.unmount();
      const masterLog = join(master.dataPath, 'changelog.0.mfs');
      const metaVersion = Number(masterBack.readBigUInt64BE(8));
      let last = await sessionEnd(masterLog, metaVersion);
      const oursFile = join(ours.dataPath, 'changelog_ml.0.mfs');
      const realFile = join(real.dataPath, 'changelog_ml.0.mfs');
      await waitFor(`both metaloggers to hold change ${last}`, () => lastVersion(oursFile) >= last && lastVersion(realFile) >= last);
      // The master's changelog.0.mfs still holds the changes from before its restart; from the version
      // its metadata.mfs.back was stored at (the next change's id, in the file header) on, it is
      // exactly what we wrote: nothing changed between the restart and our attaching.
      const masterLines = linesIn(masterLog, metaVersion, last);
      expect(masterLines.length).toBeGreaterThan(50);
      expect(versions(oursFile)[0]).toBe(metaVersion);
      expect(linesIn(oursFile, 0, last)).toEqual(masterLines);
      expect(readFileSync(oursFile).equals(readFileSync(realFile))).toBe(true);
      expect(mode(oursFile)).toBe(mode(realFile));

      // 3b. Our link is cut while changes happen. We time out, and on reconnecting register with our
      //     log position; the master resends what we missed from its memory, so our file ends up the
      //     same bytes as the real metalogger's, which never lost its link.
      const cut = lab.host('mlts');
      mnt = await lab.mount({ host: 'm', master });
      await run(['ip', '-n', cut.ns, 'link', 'set', 'eth0', 'down']);
      populate(mnt.dir, 'd');
      want = tree(mnt.dir);
      await mnt.unmount();
      const before = last;
      last = await sessionEnd(masterLog, before + 1);
      await waitFor('our metalogger to time out', () => /timeout: nothing from Master/.test(readFileSync(lab.logFile(ours.name), 'utf8')), { timeoutMs: 40_000 });
      expect(lastVersion(oursFile)).toBeLessThan(last);
      await run(['ip', '-n', cut.ns, 'link', 'set', 'eth0', 'up']);
      await waitFor(`our metalogger to catch up to ${last}`, () => lastVersion(oursFile) >= last && lastVersion(realFile) >= last, { timeoutMs: 40_000 });
      expect(linesIn(oursFile, 0, last)).toEqual(linesIn(masterLog, metaVersion, last));
      expect(readFileSync(oursFile).equals(readFileSync(realFile))).toBe(true);
      expect(readFileSync(lab.logFile(ours.name), 'utf8')).not.toMatch(/changes lost/);
      // The master never complained about what we sent (matomlserv.c logs every bad packet).
      expect(readFileSync(lab.logFile(master.name), 'utf8')).not.toMatch(/ANTOMA_|ANTOAN_|got unknown message|from registered metalogger/);

      // 3c. Both restarted: a fresh start registers without a log position and downloads again
      //     (the previous metadata_ml.mfs.back kept as .1), then appends to the same changelog_ml.0.mfs.
      await Promise.all([ours.stop(), real.stop()]);
      await Promise.all([ours.start(), real.start()]);
      await waitFor('both metaloggers to download again', () => [ours, real].every((ml) => existsSync(join(ml.dataPath, 'metadata_ml.mfs.back.1'))));
      mnt = await lab.mount({ host: 'm', master });
      populate(mnt.dir, 'e');
      want = tree(mnt.dir);
      await mnt.unmount();
      last = await sessionEnd(masterLog, last + 1);
      await waitFor(`both metaloggers to hold change ${last}`, () => lastVersion(oursFile) >= last && lastVersion(realFile) >= last);
      for (const f of ['changelog_ml.0.mfs', 'metadata_ml.mfs.back', 'metadata_ml.mfs.back.1', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs']) {
        expect(readFileSync(join(ours.dataPath, f)).equals(readFileSync(join(real.dataPath, f))), f).toBe(true);
      }
      expect(linesIn(oursFile, 0, last)).toEqual(linesIn(masterLog, metaVersion, last));

      // 4. The master dies. Its replacement starts from our files only: real `mfsmaster -a`. Both
      //    metaloggers stay up and must find the new master at the same address by themselves.
      await master.kill();

      // 4a. The real metalogger's files (the master's data directory is gone) restored by both
      //     implementations, each on its own copy: ours (`-a`) must reach exactly the metadata the real
      //     `mfsmaster -a ... restore` stores, and say which files it used and how far it got.
      const both = mkdtempSync(join(tmpdir(), 'mfs-restore-both-'));
      try {
        const viaReal = join(both, 'real');
        const viaOurs = join(both, 'ours');
        mkdirSync(viaReal);
        mkdirSync(viaOurs);
        copyMetaloggerFiles(real.dataPath, viaReal);
        copyMetaloggerFiles(real.dataPath, viaOurs);
        writeFileSync(join(both, 'mfsexports.cfg'), '* / rw\n');
        writeFileSync(join(both, 'mfsmaster.cfg'), `DATA_PATH = ${viaReal}\nEXPORTS_FILENAME = ${join(both, 'mfsexports.cfg')}\nWORKING_USER = root\nWORKING_GROUP = root\n`);
        execFileSync('mfsmaster', ['-c', join(both, 'mfsmaster.cfg'), '-a', '-f', 'restore'], { stdio: 'ignore', timeout: 60_000 });
        const said: string[] = [];
        const log = createLogger({ role: 'mfsmaster', stream: { write: (l: string) => void said.push(JSON.parse(l).msg as string) } });
        const loop = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };
        const ts = new MasterTs({ cfg: { ...loop, DATA_PATH: viaOurs }, exportsText: '* / rw', persist: true, autoRestore: true, log });
        await ts.start();
        await ts.stop();
        expect(said).toContain(`chosen most recent metadata file: metadata_ml.mfs.back (version: ${metaVersion} ; id: ${ts.metaid.toString(16).toUpperCase()})`);
        expect(said.find((l) => l.startsWith('using changelog file: changelog_ml.0.mfs'))).toBe(`using changelog file: changelog_ml.0.mfs (changes: ${metaVersion} - ${last})`);
        const summary = said.find((l) => l.startsWith('metadata restored: ')) ?? said.join('\n');
        // changelog_ml_back.N.mfs repeat part of changelog_ml.0.mfs: those are the duplicates skipped.
        expect(summary).toMatch(new RegExp(`^metadata restored: ${last - metaVersion + 1} changes applied \\(${metaVersion} - ${last}\\), \\d+ duplicates skipped; next change: ${last + 1}$`));
        const keep = (f: string) =>
          execFileSync('mfsmetadump', [f], { encoding: 'latin1', maxBuffer: 64 << 20 })
            .split('\n')
            .filter((l) => /^(NODE|EDGE|XATTR|POSIXACL|CHUNK|FREE|QUOTA)\|/.test(l) || /^# (version|maxinode|nextedgeid|nextchunkid|free nodes)/.test(l))
            .sort();
        const fromReal = keep(join(viaReal, 'metadata.mfs'));
        expect(fromReal.length).toBeGreaterThan(20_000);
        expect(keep(join(viaOurs, 'metadata.mfs'))).toEqual(fromReal);
      } finally {
        rmSync(both, { recursive: true, force: true });
      }

      const restored = new Master(lab, { host: lab.host('m'), metadata: 'none', args: ['-a', '-x'], name: 'restored' });
      const copied = copyMetaloggerFiles(ours.dataPath, restored.dataPath);
      expect(copied).toEqual(['changelog_ml.0.mfs', 'changelog_ml_back.0.mfs', 'changelog_ml_back.1.mfs', 'metadata_ml.mfs.back', 'metadata_ml.mfs.back.1']);
      await restored.start();
      await restored.waitChunkservers(1);
      const restoreLog = readFileSync(lab.logFile('restored'), 'utf8');
      // -x: the master names the metadata file it chose and the changelogs it merged.
      expect(restoreLog).toMatch(/chosen most recent metadata file: metadata_ml\.mfs\.back/);
      expect(restoreLog).toMatch(/using changelog file: changelog_ml\.0\.mfs/);
      const back = await lab.mount({ host: 'm', master: restored, name: 'mnt-restored' });
      expect(tree(back.dir)).toEqual(want);

      // 5. Reconnected (registering with their log position, so the new master resends nothing and
      //    there is no hole): changes on the new master continue both changelogs. (A real master
      //    rotates only at the top of the hour; its stop queues the 0x55 record but exits before it is
      //    sent, for both metaloggers alike, so rotation is covered by the unit tests.)
      await waitFor('both metaloggers listed by the restored master', async () => {
        const ips = await restored.metaloggers();
        return ips.includes(ours.host.ip) && ips.includes(real.host.ip);
      });
      populate(back.dir, 'c');
      await back.unmount();
      const restoredLog = join(restored.dataPath, 'changelog.0.mfs');
      const first2 = versions(restoredLog)[0]!;
      expect(first2).toBe(last + 1);
      const last2 = await sessionEnd(restoredLog, first2);
      await waitFor(`both metaloggers to hold change ${last2}`, () => lastVersion(oursFile) >= last2 && lastVersion(realFile) >= last2);
      const oursAll = versions(oursFile);
      expect(oursAll[0]).toBe(metaVersion);
      expect(oursAll.every((v, i) => i === 0 || v === oursAll[i - 1]! + 1)).toBe(true); // no hole across the failover
      expect(last2).toBeGreaterThan(last + 50);
      // From its first change on, the new master's own changelog is what we hold after `last`.
      expect(linesIn(oursFile, first2, last2)).toEqual(linesIn(restoredLog, first2, last2));
      expect(readFileSync(oursFile).equals(readFileSync(realFile))).toBe(true);
    });
  });
});
