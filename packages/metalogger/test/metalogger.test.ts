import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AntoanNop, AntomaDownloadRequest, AntomaDownloadStart, AntomaRegister, VERSHEX } from '@mfs-ts/protocol';
import { Metalogger, type MetaloggerOptions } from '../src/index.js';
import { fakeMetadata, FakeMaster, type FakeConn } from './fakemaster.js';

let dir: string;
let master: FakeMaster;
let ml: Metalogger | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mfsml-'));
  master = new FakeMaster();
  await master.listen();
});

afterEach(async () => {
  await ml?.stop();
  ml = undefined;
  await master.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startMl(cfg: MetaloggerOptions['cfg'] = {}, timing?: MetaloggerOptions['timing']): Promise<Metalogger> {
  ml = new Metalogger({
    cfg: { DATA_PATH: dir, MASTER_HOST: '127.0.0.1', MASTER_PORT: String(master.port), MASTER_RECONNECTION_DELAY: 1, ...cfg },
    timing,
  });
  await ml.start();
  return ml;
}

/** Waits until the metalogger has written `version` (records are flushed per input batch). */
async function waitRecord(m: Metalogger, version: number): Promise<void> {
  while (m.lastLogVersion < version) await once(m, 'record');
}

/** Byte comparison without vitest's element-by-element diff (slow on megabytes). */
function sameFile(name: string, want: Buffer | undefined): boolean {
  return want !== undefined && readFileSync(join(dir, name)).equals(want);
}

function read(name: string): string {
  return readFileSync(join(dir, name), 'latin1');
}

/** Waits for the download chain 1 -> 11 -> 12 to finish. */
async function waitChain(m: Metalogger): Promise<number[]> {
  const done: number[] = [];
  while (!done.includes(12)) {
    const [info] = await once(m, 'downloaded');
    done.push(info.filenum);
  }
  return done;
}

describe('registration', () => {
  it('registers as a 3.0.117 metalogger without a log position, then asks for the metadata', async () => {
    await startMl({ MASTER_TIMEOUT: 30 });
    const c = await master.nextConnection();
    const reg = AntomaRegister.decode((await c.next('ANTOMA_REGISTER')).payload);
    expect(reg.ok && reg.value).toEqual({ $v: 'v1', rversion: 1, version: VERSHEX, timeout: 30 });
    const start = AntomaDownloadStart.decode((await c.next('ANTOMA_DOWNLOAD_START')).payload);
    expect(start.ok && start.value.filenum).toBe(1);
    expect(c.names().slice(0, 2)).toEqual(['ANTOMA_REGISTER', 'ANTOMA_DOWNLOAD_START']);
  });

  it('clamps MASTER_TIMEOUT to at least 10 seconds as 3.0.117 does', async () => {
    await startMl({ MASTER_TIMEOUT: 3 });
    const c = await master.nextConnection();
    const reg = AntomaRegister.decode((await c.next('ANTOMA_REGISTER')).payload);
    expect(reg.ok && reg.value.timeout).toBe(10);
  });

  it('refuses to start when MASTER_HOST does not resolve, or DATA_PATH is missing', async () => {
    const bad = new Metalogger({ cfg: { DATA_PATH: dir, MASTER_HOST: 'no-such-host.invalid' } });
    await expect(bad.start()).rejects.toThrow(/can't resolve master/);
    const bad2 = new Metalogger({ cfg: { DATA_PATH: join(dir, 'missing'), MASTER_HOST: '127.0.0.1' } });
    await expect(bad2.start()).rejects.toThrow(/working directory/);
  });
});

describe('change stream', () => {
  it('writes streamed records in order, in the master changelog line format, however the bytes are split', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const lines: string[] = [];
    const packets: Buffer[] = [];
    for (let v = 1000; v < 1400; v++) {
      // Real lines: "ts|OP(args):result", names escaped with %XX (mfsmaster/changelog.c, fs_*).
      const text = v % 3 === 0 ? `1764583200|CREATE(1,f%28${v}%29,1,420,18,0,0,0):${v}` : `1764583200|ACCESS(${v})`;
      lines.push(`${v}: ${text}\n`);
      packets.push(c.record(v, text));
    }
    const all = Buffer.concat(packets);
    // Odd slices: headers and payloads split across writes.
    for (let off = 0, step = 1; off < all.length; off += step, step = (step * 7 + 3) % 997 || 1) c.send(all.subarray(off, off + step));
    await waitRecord(m, 1399);
    expect(read('changelog_ml.0.mfs')).toBe(lines.join(''));
  });

  it('keeps raw bytes and stops the line at the NUL like the C %s', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const { MatoanMetachangesLog } = await import('@mfs-ts/protocol');
    c.send(MatoanMetachangesLog.encode({ $v: 'change', rtype: 0xff, version: 7n, data: Buffer.from([0x41, 0xe9, 0x00]) }));
    c.send(c.record(8, 'X'));
    await waitRecord(m, 8);
    expect(sameFile('changelog_ml.0.mfs', Buffer.from('7: A\xe9\n8: X\n', 'latin1'))).toBe(true);
  });

  it('rotates on the 0x55 record: changelog_ml.0 -> .1 -> ..., keeping BACK_LOGS files', async () => {
    const m = await startMl({ BACK_LOGS: 5 });
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    let v = 1;
    for (let round = 0; round < 8; round++) {
      c.send(c.record(v, `1|ROUND(${round})`));
      c.send(c.record(v + 1, `1|ROUND(${round})`));
      v += 2;
      c.send(c.rotate());
    }
    c.send(c.record(v, '1|LAST()'));
    await waitRecord(m, v);
    expect(read('changelog_ml.0.mfs')).toBe(`${v}: 1|LAST()\n`);
    // Rounds 7, 6, ..., 3 are in .1 ... .5; older rounds fell off.
    for (let i = 1; i <= 5; i++) {
      const round = 8 - i;
      const first = round * 2 + 1;
      expect(read(`changelog_ml.${i}.mfs`)).toBe(`${first}: 1|ROUND(${round})\n${first + 1}: 1|ROUND(${round})\n`);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('changelog_ml.')).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `changelog_ml.${i}.mfs`));
  });

  it('on a hole in the versions drops its changelogs, disconnects, and starts over with a download', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    c.send(c.record(10, '1|A()'));
    c.send(c.record(11, '1|B()'));
    c.send(c.rotate());
    c.send(c.record(12, '1|C()'));
    await waitRecord(m, 12);
    const lost = once(m, 'lost');
    c.send(c.record(15, '1|D()'));
    expect((await lost)[0]).toEqual({ from: 12, to: 14 });
    await once(c, 'closed');
    expect(readdirSync(dir).filter((f) => f.startsWith('changelog_ml.'))).toEqual([]);
    const c2 = await master.nextConnection();
    const reg = AntomaRegister.decode((await c2.next('ANTOMA_REGISTER')).payload);
    expect(reg.ok && reg.value.$v).toBe('v1');
    await c2.next('ANTOMA_DOWNLOAD_START');
  });

  it('a changelog it cannot write: the changes are lost, and it starts over as 3.0.117 does after a hole', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    c.send(c.record(1, '1|A()'));
    await waitRecord(m, 1);
    const rotated = once(m, 'rotate');
    c.send(c.rotate()); // closes changelog_ml.0.mfs and renames it to .1
    await rotated;
    mkdirSync(join(dir, 'changelog_ml.0.mfs')); // open(..., 'a') now fails with EISDIR
    const gone = once(m, 'disconnected');
    c.send(c.record(2, '1|B()'));
    expect((await gone)[0].reason).toMatch(/changes lost/);
    expect(existsSync(join(dir, 'changelog_ml.1.mfs'))).toBe(false); // dropped like after a hole
    rmdirSync(join(dir, 'changelog_ml.0.mfs'));
    const c2 = await master.nextConnection();
    const reg = AntomaRegister.decode((await c2.next('ANTOMA_REGISTER')).payload);
    expect(reg.ok && reg.value.$v).toBe('v1');
    c2.send(c2.record(7, '1|C()'));
    await waitRecord(m, 7);
    expect(m.state).toBe('data');
    expect(read('changelog_ml.0.mfs')).toBe('7: 1|C()\n');
  });

  it('drops the link on a bad packet and comes back', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const gone = once(m, 'disconnected');
    c.send(Buffer.from([0, 0, 0, 51, 0, 0, 0, 2, 0xfe, 0])); // METACHANGES_LOG of an unknown kind
    expect((await gone)[0].reason).toMatch(/wrong/);
    const c2 = await master.nextConnection();
    await c2.next('ANTOMA_REGISTER');
  });
});

describe('downloads', () => {
  it('downloads metadata.mfs.back, then changelog.0 and changelog.1, byte for byte, in blocks of at most 1,000,000', async () => {
    const meta = fakeMetadata(12345, 2_500_000);
    master.files = { 1: meta, 11: Buffer.from('1: 1|A()\n2: 1|B()\n'), 12: Buffer.from('0: 1|Z()\n') };
    writeFileSync(join(dir, 'metadata_ml.mfs.back'), 'previous');
    writeFileSync(join(dir, 'metadata_ml.mfs.back.1'), 'older');
    const m = await startMl({ BACK_META_KEEP_PREVIOUS: 3 });
    const c = await master.nextConnection();
    expect(await waitChain(m)).toEqual([1, 11, 12]);
    for (let i = 0; i < 3; i++) await c.next('ANTOMA_DOWNLOAD_END');
    expect(sameFile('metadata_ml.mfs.back', meta)).toBe(true);
    expect(read('metadata_ml.mfs.back.1')).toBe('previous');
    expect(read('metadata_ml.mfs.back.2')).toBe('older');
    expect(read('changelog_ml_back.0.mfs')).toBe('1: 1|A()\n2: 1|B()\n');
    expect(read('changelog_ml_back.1.mfs')).toBe('0: 1|Z()\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const reqs = c.received.filter((r) => r.name === 'ANTOMA_DOWNLOAD_REQUEST').map((r) => {
      const d = AntomaDownloadRequest.decode(r.payload);
      return d.ok ? d.value : undefined;
    });
    expect(reqs.slice(0, 3)).toEqual([
      { offset: 0, leng: 1_000_000 },
      { offset: 1_000_000, leng: 1_000_000 },
      { offset: 2_000_000, leng: meta.length - 2_000_000 },
    ]);
    const flow = c.names().filter((n) => n !== 'ANTOMA_DOWNLOAD_REQUEST' && n !== 'ANTOAN_NOP');
    expect(flow).toEqual(['ANTOMA_REGISTER', 'ANTOMA_DOWNLOAD_START', 'ANTOMA_DOWNLOAD_END', 'ANTOMA_DOWNLOAD_START', 'ANTOMA_DOWNLOAD_END', 'ANTOMA_DOWNLOAD_START', 'ANTOMA_DOWNLOAD_END']);
    const filenums = c.received.filter((r) => r.name === 'ANTOMA_DOWNLOAD_START').map((r) => r.payload[0]);
    expect(filenums).toEqual([1, 11, 12]);
  });

  it('asks again for a block whose CRC is wrong and still ends with an exact copy', async () => {
    const meta = fakeMetadata(77, 1_500_000, 9);
    master.files = { 1: meta };
    let bad = 0;
    master.corrupt = (offset) => offset === 1_000_000 && bad++ < 2;
    const m = await startMl();
    const c = await master.nextConnection();
    await waitChain(m);
    expect(bad).toBe(3);
    expect(sameFile('metadata_ml.mfs.back', meta)).toBe(true);
    const offsets = c.received.filter((r) => r.name === 'ANTOMA_DOWNLOAD_REQUEST').map((r) => r.payload.readUInt32BE(4));
    expect(offsets.slice(0, 4)).toEqual([0, 1_000_000, 1_000_000, 1_000_000]);
    // Missing changelogs come as length 0 and give empty files, as with the real master.
    expect(read('changelog_ml_back.0.mfs')).toBe('');
  });

  it('gives a file up after repeated CRC errors: nothing installed, no tmp file left, link kept', async () => {
    master.files = { 1: fakeMetadata(5, 10_000) };
    master.corrupt = () => true;
    writeFileSync(join(dir, 'metadata_ml.mfs.back'), 'previous');
    const m = await startMl();
    const c = await master.nextConnection();
    const [failed] = await once(m, 'downloadFailed');
    expect(failed).toMatchObject({ filenum: 1, reason: 'metafile data crc error' });
    await c.next('ANTOMA_DOWNLOAD_END');
    expect(c.received.filter((r) => r.name === 'ANTOMA_DOWNLOAD_REQUEST')).toHaveLength(6);
    expect(read('metadata_ml.mfs.back')).toBe('previous');
    expect(existsSync(join(dir, 'metadata_ml.tmp'))).toBe(false);
    expect(m.state).toBe('data');
    expect(c.closed).toBe(false);
  });

  it('does not install an empty ("MFSM NEW") or truncated metadata file', async () => {
    master.files = { 1: Buffer.from('MFSM NEW') };
    const m = await startMl();
    const [info] = await once(m, 'downloaded');
    expect(info).toMatchObject({ filenum: 1, installedAs: undefined });
    await waitChain(m).catch(() => undefined);
    expect(existsSync(join(dir, 'metadata_ml.mfs.back'))).toBe(false);
    const full = fakeMetadata(9, 100);
    master.files = { 1: full.subarray(0, full.length - 3) };
    expect(m.downloadNow()).toBe(true);
    const [info2] = await once(m, 'downloaded');
    expect(info2).toMatchObject({ filenum: 1, installedAs: undefined });
    expect(existsSync(join(dir, 'metadata_ml.mfs.back'))).toBe(false);
  });

  it('a metadata.mfs.back the master cannot open ends the chain ("download start error")', async () => {
    const m = await startMl();
    const [failed] = await once(m, 'downloadFailed');
    expect(failed).toMatchObject({ filenum: 1, reason: 'download start error' });
    expect(m.downloadNow()).toBe(true); // nothing is stuck
  });

  it('downloads again on its schedule', async () => {
    master.files = { 1: fakeMetadata(1, 100) };
    const m = await startMl({}, { downloadPeriodMs: 1500 });
    await waitChain(m);
    master.files = { 1: fakeMetadata(2, 100) };
    await waitChain(m);
    expect(sameFile('metadata_ml.mfs.back', master.files[1])).toBe(true);
    expect(sameFile('metadata_ml.mfs.back.1', fakeMetadata(1, 100))).toBe(true);
  });

  it('a connection lost in the middle of a download leaves no tmp file', async () => {
    master.files = { 1: fakeMetadata(1, 3_000_000) };
    master.corrupt = () => false;
    master.autoServe = true;
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_DOWNLOAD_REQUEST');
    await c.next('ANTOMA_DOWNLOAD_REQUEST'); // the first block arrived and was written
    const gone = once(m, 'disconnected');
    await c.close();
    await gone;
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'metadata_ml.mfs.back'))).toBe(false);
  });
});

describe('link keeping', () => {
  it('reconnects after the master closes, registering with its log position (no new download)', async () => {
    master.files = { 1: fakeMetadata(1, 100) };
    const m = await startMl();
    const c = await master.nextConnection();
    await waitChain(m);
    c.send(c.record(41, '1|A()'));
    c.send(c.record(42, '1|B()'));
    await waitRecord(m, 42);
    const gone = once(m, 'disconnected');
    await c.close();
    await gone;
    const c2 = await master.nextConnection();
    const reg = AntomaRegister.decode((await c2.next('ANTOMA_REGISTER')).payload);
    expect(reg.ok && reg.value).toEqual({ $v: 'v2', rversion: 2, version: VERSHEX, timeout: 10, minversion: 43n });
    c2.send(c2.record(43, '1|C()'));
    await waitRecord(m, 43);
    expect(c2.names()).not.toContain('ANTOMA_DOWNLOAD_START');
    expect(read('changelog_ml.0.mfs')).toBe('41: 1|A()\n42: 1|B()\n43: 1|C()\n');
  });

  it('keeps trying while the master is down, and connects once it is back on the same port', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const port = master.port;
    await master.close();
    await once(m, 'disconnected');
    master = new FakeMaster();
    await master.listen(port);
    const c2 = await master.nextConnection(8_000);
    await c2.next('ANTOMA_REGISTER');
    expect(m.state).toBe('data');
  });

  it('follows a reload to a master at a new address (the master moved)', async () => {
    const m = await startMl();
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const other = new FakeMaster();
    await other.listen();
    try {
      const gone = once(m, 'disconnected');
      m.reload({ MASTER_HOST: '127.0.0.1', MASTER_PORT: String(other.port) });
      expect((await gone)[0].reason).toMatch(/reload/);
      const c2 = await other.nextConnection(5_000);
      await c2.next('ANTOMA_REGISTER');
      expect(m.state).toBe('data');
    } finally {
      await m.stop();
      await other.close();
    }
  });

  it('sends a NOP after a third of MASTER_TIMEOUT of silence and drops a master silent for MASTER_TIMEOUT', async () => {
    const m = await startMl({ MASTER_TIMEOUT: 10 });
    const c = await master.nextConnection();
    await c.next('ANTOMA_REGISTER');
    const t0 = performance.now();
    const nop = await c.next('ANTOAN_NOP', 6_000);
    expect(AntoanNop.decode(nop.payload).ok).toBe(true);
    expect(nop.payload.length).toBe(0);
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThan(3_000);
    const [why] = await once(m, 'disconnected');
    expect(why.reason).toMatch(/timeout/);
    expect(performance.now() - t0).toBeGreaterThan(9_500);
  }, 20_000);
});
