import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authCodePasscode,
  CltomaFuseCreate,
  CltomaFuseRegister,
  CltomaSessionList,
  CstomaRegister,
  FUSE_REGISTER_BLOB_ACL,
  MatoclFuseCreate,
  MatoclFuseRegister,
  MatoclSessionList,
  MatocsMasterAck,
  MFS_ERROR_BADSESSIONID,
  MFS_ERROR_EPERM,
  MFS_STATUS_OK,
  VERSHEX,
} from '@mfs-ts/protocol';
import { Master, masterCfg, masterCfgSchema } from '../src/index.js';
import { applyCfgSchema, ConfigError } from '@mfs-ts/common';
import { Sessions } from '../src/sessions.js';
import { TestPeer } from './client.js';

type Reg = Parameters<typeof CltomaFuseRegister.encode>[0];
const reg = (v: Record<string, unknown>) => ({ blob: FUSE_REGISTER_BLOB_ACL, ...v }) as unknown as Reg;
const LOCAL = { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function started(opts: ConstructorParameters<typeof Master>[0]): Promise<Master> {
  const m = new Master(opts);
  await m.start();
  cleanup.push(() => m.stop());
  return m;
}

async function peer(port: number): Promise<TestPeer> {
  const p = await TestPeer.connect(port);
  cleanup.push(() => p.close());
  return p;
}

async function newSession(port: number): Promise<{ p: TestPeer; sessionid: number }> {
  const p = await peer(port);
  p.send(CltomaFuseRegister, reg({ $v: 'newsession', rcode: 2, version: VERSHEX, info: Buffer.from('t\0'), path: Buffer.from('/\0') }));
  const r = await p.reply(MatoclFuseRegister);
  if (r.$v !== 'session') throw new Error(`register: ${JSON.stringify(r)}`);
  return { p, sessionid: r.sessionid };
}

describe('sessions', () => {
  it('a session outlives its connection: RECONNECT with its id works, an unknown id is refused', async () => {
    const m = await started({ cfg: LOCAL, exportsText: '* / rw,maproot=0:0' });
    const { p, sessionid } = await newSession(m.ports.cl);
    p.send(CltomaFuseCreate, { $v: 'groups', msgid: 1, inode: 1, name: Buffer.from('f'), mode: 0o644, umask: 0, uid: 0, gids: [0] });
    const cr = await p.reply(MatoclFuseCreate);
    expect(cr.$v).toBe('ok');
    p.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(m.sessions.find(sessionid)?.nsocks).toBe(0);

    const q = await peer(m.ports.cl);
    q.send(CltomaFuseRegister, reg({ $v: 'reconnect_meta', rcode: 3, sessionid, version: VERSHEX, metaid: m.metaid }));
    expect(await q.reply(MatoclFuseRegister)).toEqual({ $v: 'reconnect', version: VERSHEX, status: MFS_STATUS_OK });
    // The open file stays with the session.
    const cli = await peer(m.ports.cl);
    cli.send(CltomaSessionList, { $v: 'vmode', vmode: 4 });
    const sl = await cli.reply(MatoclSessionList);
    if (sl.$v !== 'v4') throw new Error('form');
    expect(sl.sessions.find((s) => s.sessionid === sessionid)).toMatchObject({ openfiles: 1, nsocks: 1 });

    const bad = await peer(m.ports.cl);
    bad.send(CltomaFuseRegister, reg({ $v: 'reconnect', rcode: 3, sessionid: 9999, version: VERSHEX }));
    expect(await bad.reply(MatoclFuseRegister)).toMatchObject({ status: MFS_ERROR_BADSESSIONID });
    const wrongMeta = await peer(m.ports.cl);
    wrongMeta.send(CltomaFuseRegister, reg({ $v: 'reconnect_meta', rcode: 3, sessionid, version: VERSHEX, metaid: m.metaid ^ 1n }));
    expect(await wrongMeta.reply(MatoclFuseRegister)).toMatchObject({ status: MFS_ERROR_BADSESSIONID });
  });

  it('SESSION_COMMAND (mfscli -CRS) removes only a session without connections', async () => {
    const { CltomaSessionCommand, MatoclSessionCommand, MFS_ERROR_ACTIVE, MFS_ERROR_NOTFOUND } = await import('@mfs-ts/protocol');
    const m = await started({ cfg: LOCAL, exportsText: '* / rw' });
    const { p, sessionid } = await newSession(m.ports.cl);
    const cli = await peer(m.ports.cl);
    cli.send(CltomaSessionCommand, { cmd: 0, sessionid });
    expect(await cli.reply(MatoclSessionCommand)).toEqual({ status: MFS_ERROR_ACTIVE });
    p.close();
    for (let i = 0; i < 50 && (m.sessions.find(sessionid)?.nsocks ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    cli.send(CltomaSessionCommand, { cmd: 0, sessionid });
    expect(await cli.reply(MatoclSessionCommand)).toEqual({ status: MFS_STATUS_OK });
    expect(m.sessions.find(sessionid)).toBeUndefined();
    cli.send(CltomaSessionCommand, { cmd: 0, sessionid });
    expect(await cli.reply(MatoclSessionCommand)).toEqual({ status: MFS_ERROR_NOTFOUND });
  });

  it('CLOSESESSION ends the session; a sustained one is removed after SESSION_SUSTAIN_TIME', () => {
    const removed: number[] = [];
    const s = new Sessions(100, { removed: (x) => removed.push(x.id) });
    const p = { exportsChecksum: 0n, rootinode: 1, sesflags: 0, umask: 0, rootuid: 0, rootgid: 0, mapalluid: 0, mapallgid: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0, disables: 0, peerip: 1, info: Buffer.alloc(0) };
    const a = s.create(p);
    const b = s.create(p);
    s.attach(a, 1, VERSHEX);
    s.attach(b, 1, VERSHEX);
    s.close(a.id);
    s.detach(a);
    s.detach(b);
    const now = Math.floor(Date.now() / 1000);
    expect(s.check(now + 50).map((x) => x.id)).toEqual([a.id]); // closed: at once, even in the start-up grace
    expect(s.check(now + 50, true)).toEqual([]); // b: within its sustain time
    expect(s.check(now + 500, true).map((x) => x.id)).toEqual([b.id]);
    expect(removed).toEqual([a.id, b.id]);
  });

  it('maproot / mapall remapping of the caller', () => {
    const s = new Sessions();
    const base = { exportsChecksum: 0n, rootinode: 1, umask: 0, mingoal: 1, maxgoal: 9, mintrashtime: 0, maxtrashtime: 0, disables: 0, peerip: 1, info: Buffer.alloc(0) };
    const a = s.create({ ...base, sesflags: 0, rootuid: 999, rootgid: 998, mapalluid: 5, mapallgid: 6 });
    expect(a.remap(0, 0)).toEqual({ uid: 999, gid: 998 });
    expect(a.remap(1000, 100)).toEqual({ uid: 1000, gid: 100 });
    const b = s.create({ ...base, sesflags: 0x10, rootuid: 0, rootgid: 0, mapalluid: 5, mapallgid: 6 });
    expect(b.remap(1000, 100)).toEqual({ uid: 5, gid: 6 });
    expect(b.remap(0, 0)).toEqual({ uid: 0, gid: 0 });
  });

  it('SIGHUP reload: changed exports disconnect sessions granted by the old rules; RECONNECT then gets EPERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'mfsexports.cfg');
    writeFileSync(file, '* / rw\n');
    const cfg = { ...LOCAL, EXPORTS_FILENAME: file };
    const m = await started({ cfg });
    const { p, sessionid } = await newSession(m.ports.cl);
    writeFileSync(file, '* / ro\n');
    m.reload({ ...cfg });
    expect(await p.waitClosed()).toBe(true);
    const q = await peer(m.ports.cl);
    q.send(CltomaFuseRegister, reg({ $v: 'reconnect', rcode: 3, sessionid, version: VERSHEX }));
    expect(await q.reply(MatoclFuseRegister)).toMatchObject({ status: MFS_ERROR_EPERM });
    // A new session gets the new options.
    const r = await peer(m.ports.cl);
    r.send(CltomaFuseRegister, reg({ $v: 'newsession_sid', rcode: 2, version: VERSHEX, info: Buffer.from('t\0'), path: Buffer.from('/\0'), sessionid }));
    const again = await r.reply(MatoclFuseRegister);
    expect(again).toMatchObject({ $v: 'session', sessionid, sesflags: 1 });
  });
});

describe('chunkserver registration (matocsserv)', () => {
  const space = { usedspace: 0n, totalspace: 1n << 30n, chunkcount: 0, tdusedspace: 0n, tdtotalspace: 0n, tdchunkcount: 0 };
  const begin = { rversion: 60, version: VERSHEX, ip: 0x0a000009, port: 9422, timeout: 0, csid: 0, ...space };

  it('AUTH_CODE: a challenge, then the right passcode registers and a wrong one is dropped', async () => {
    const m = await started({ cfg: { ...LOCAL, AUTH_CODE: 'k3y' }, exportsText: '* /' });
    const cs = await peer(m.ports.cs);
    cs.send(CstomaRegister, { $v: 'begin', ...begin });
    const ch = await cs.reply(MatocsMasterAck);
    if (ch.$v !== 'challenge') throw new Error(`expected a challenge, got ${ch.$v}`);
    cs.send(CstomaRegister, { $v: 'beginAuth', ...begin, passcode: authCodePasscode(ch.random, 'k3y') });
    const ack = await cs.reply(MatocsMasterAck);
    expect(ack).toMatchObject({ $v: 'registeredMeta', version: VERSHEX, timeout: 10, metaid: m.metaid });

    const bad = await peer(m.ports.cs);
    bad.send(CstomaRegister, { $v: 'begin', ...begin, ip: 0x0a00000a });
    const ch2 = await bad.reply(MatocsMasterAck);
    if (ch2.$v !== 'challenge') throw new Error('challenge');
    bad.send(CstomaRegister, { $v: 'beginAuth', ...begin, ip: 0x0a00000a, passcode: authCodePasscode(ch2.random, 'nope') });
    expect(await bad.waitClosed()).toBe(true);
    expect(cs.closed).toBe(false);
  });

  it('drops a chunkserver on 127.x, one that sends commands before registering, and a bad packet', async () => {
    const m = await started({ cfg: LOCAL, exportsText: '* /' });
    const lo = await peer(m.ports.cs);
    lo.send(CstomaRegister, { $v: 'begin', ...begin, ip: 0 }); // 0 = use the peer address: 127.0.0.1
    expect(await lo.waitClosed()).toBe(true);
    const early = await peer(m.ports.cs);
    const b = Buffer.alloc(12);
    b.writeUInt32BE(103, 0); // CSTOMA_CURRENT_LOAD
    b.writeUInt32BE(4, 4);
    early.raw(b);
    expect(await early.waitClosed()).toBe(true);
    const trunc = await peer(m.ports.cs);
    const t = Buffer.alloc(8 + 5);
    t.writeUInt32BE(100, 0);
    t.writeUInt32BE(5, 4);
    t[8] = 60;
    trunc.raw(t);
    expect(await trunc.waitClosed()).toBe(true);
  });
});

describe('mfsmaster.cfg', () => {
  it('has MooseFS defaults and refuses a bad value naming the key', () => {
    const c = masterCfg();
    expect([c.DATA_PATH, c.EXPORTS_FILENAME, c.MATOCL_LISTEN_PORT, c.MATOCS_LISTEN_PORT, c.MATOML_LISTEN_PORT, c.MATOCS_TIMEOUT, c.REPLICATIONS_DELAY_INIT, c.CHUNKS_LOOP_MAX_CPS]).toEqual([
      '/var/lib/mfs', '/etc/mfs/mfsexports.cfg', '9421', '9420', '9419', 10, 60, 100000,
    ]);
    const bad = (k: string, v: string) => () => applyCfgSchema(masterCfgSchema, new Map([[k, v]]));
    expect(bad('MATOCS_TIMEOUT', '5')).toThrow(ConfigError);
    expect(bad('MATOCS_TIMEOUT', '5')).toThrow(/MATOCS_TIMEOUT/);
    expect(bad('MATOCL_LISTEN_PORT', '70000')).toThrow(/MATOCL_LISTEN_PORT/);
    expect(bad('CHUNKS_LOOP_TIME', 'abc')).toThrow(/CHUNKS_LOOP_TIME/);
    expect(applyCfgSchema(masterCfgSchema, new Map([['NO_SUCH_KEY', '1']])).unknown).toEqual(['NO_SUCH_KEY']);
  });
});

describe('metadata in DATA_PATH (persist)', () => {
  it('starts a new file system from "MFSM NEW", logs changes, stores metadata.mfs at stop and loads it again', async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const { CltomaFuseMkdir, CltomaFuseLookup, MatoclFuseMkdir, MatoclFuseLookup } = await import('@mfs-ts/protocol');
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    const cfg = { ...LOCAL, DATA_PATH: dir };
    const m1 = new Master({ cfg, exportsText: '* / rw,maproot=0:0', persist: true });
    await m1.start();
    expect(existsSync(join(dir, 'metadata.mfs.back'))).toBe(true);
    const { p, sessionid } = await newSession(m1.ports.cl);
    p.send(CltomaFuseMkdir, { $v: 'groups', msgid: 1, inode: 1, name: Buffer.from('kept'), mode: 0o755, umask: 0, uid: 0, gids: [0], copysgid: 0 });
    const mk = await p.reply(MatoclFuseMkdir);
    if (mk.$v !== 'ok') throw new Error('mkdir');
    // A new file system's first change is its metaid (meta_check_id), then the session, then the mkdir.
    expect(readFileSync(join(dir, 'changelog.0.mfs'), 'utf8')).toMatch(new RegExp(`^1: \\d+\\|SETMETAID\\(${m1.metaid}\\)\n2: \\d+\\|SESADD\\(.*\n3: \\d+\\|CREATE\\(1,kept,2,493,`));
    const metaid = m1.metaid;
    p.close();
    await m1.stop();
    expect(readFileSync(join(dir, 'metadata.mfs')).subarray(0, 8).toString()).toBe('MFSM 2.0');

    const m2 = await started({ cfg, exportsText: '* / rw,maproot=0:0', persist: true });
    expect(m2.metaid).toBe(metaid);
    expect(m2.metaversion).toBeGreaterThan(1n);
    // The session came back with the metadata (SESS section): the mount may RECONNECT to it.
    const rc = await peer(m2.ports.cl);
    rc.send(CltomaFuseRegister, reg({ $v: 'reconnect_meta', rcode: 3, sessionid, version: VERSHEX, metaid }));
    expect(await rc.reply(MatoclFuseRegister)).toEqual({ $v: 'reconnect', version: VERSHEX, status: MFS_STATUS_OK });
    const s2 = await newSession(m2.ports.cl);
    s2.p.send(CltomaFuseLookup, { $v: 'groups', msgid: 2, inode: 1, name: Buffer.from('kept'), uid: 0, gids: [0] });
    const lk = await s2.p.reply(MatoclFuseLookup);
    expect(lk.$v === 'status' ? -1 : lk.inode).toBe(mk.inode);
  });

  it('-a after a crash: metadata.mfs.back plus changelog.0.mfs give back every change', async () => {
    const { cpSync, existsSync } = await import('node:fs');
    const { CltomaFuseMkdir, CltomaFuseLookup, MatoclFuseMkdir, MatoclFuseLookup } = await import('@mfs-ts/protocol');
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    const crash = mkdtempSync(join(tmpdir(), 'mfsm-crash-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => rmSync(crash, { recursive: true, force: true }));
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    const m1 = await started({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    const { p, sessionid } = await newSession(m1.ports.cl);
    const inodes: number[] = [];
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      p.send(CltomaFuseMkdir, { $v: 'groups', msgid: i + 1, inode: 1, name: Buffer.from(name), mode: 0o755, umask: 0, uid: 0, gids: [0], copysgid: 0 });
      const r = await p.reply(MatoclFuseMkdir);
      if (r.$v !== 'ok') throw new Error('mkdir');
      inodes.push(r.inode);
    }
    // What a kill -9 leaves: no metadata.mfs, the .back from the start, and the changelog.
    cpSync(dir, crash, { recursive: true });
    expect(existsSync(join(crash, 'metadata.mfs'))).toBe(false);
    const refused = new Master({ cfg: { ...LOCAL, DATA_PATH: crash }, exportsText: '* /', persist: true });
    await expect(refused.start()).rejects.toThrow(/-a/);
    const m2 = await started({ cfg: { ...LOCAL, DATA_PATH: crash }, exportsText: '* / rw,maproot=0:0', persist: true, autoRestore: true });
    expect(m2.metaid).toBe(m1.metaid);
    // The session exists only as a SESADD record in the changelog: replayed, the mount may RECONNECT.
    const rc = await peer(m2.ports.cl);
    rc.send(CltomaFuseRegister, reg({ $v: 'reconnect_meta', rcode: 3, sessionid, version: VERSHEX, metaid: m1.metaid }));
    expect(await rc.reply(MatoclFuseRegister)).toEqual({ $v: 'reconnect', version: VERSHEX, status: MFS_STATUS_OK });
    const s2 = await newSession(m2.ports.cl);
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      s2.p.send(CltomaFuseLookup, { $v: 'groups', msgid: 10 + i, inode: 1, name: Buffer.from(name), uid: 0, gids: [0] });
      const lk = await s2.p.reply(MatoclFuseLookup);
      expect(lk.$v === 'status' ? -1 : lk.inode).toBe(inodes[i]);
    }
  });

  it('-a on a metalogger\'s files (metadata_ml.mfs.back + changelog_ml.0.mfs): a standby becomes the master', async () => {
    const { copyFileSync } = await import('node:fs');
    const { CltomaFuseMkdir, CltomaFuseLookup, MatoclFuseMkdir, MatoclFuseLookup } = await import('@mfs-ts/protocol');
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    const ml = mkdtempSync(join(tmpdir(), 'mfsm-ml-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => rmSync(ml, { recursive: true, force: true }));
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    const m1 = await started({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    const { p } = await newSession(m1.ports.cl);
    p.send(CltomaFuseMkdir, { $v: 'groups', msgid: 1, inode: 1, name: Buffer.from('via-ml'), mode: 0o755, umask: 0, uid: 0, gids: [0], copysgid: 0 });
    const mk = await p.reply(MatoclFuseMkdir);
    if (mk.$v !== 'ok') throw new Error('mkdir');
    // What a metalogger holds (it names the files its own way).
    copyFileSync(join(dir, 'metadata.mfs.back'), join(ml, 'metadata_ml.mfs.back'));
    copyFileSync(join(dir, 'changelog.0.mfs'), join(ml, 'changelog_ml.0.mfs'));
    const m2 = await started({ cfg: { ...LOCAL, DATA_PATH: ml }, exportsText: '* / rw,maproot=0:0', persist: true, autoRestore: true });
    expect(m2.metaid).toBe(m1.metaid);
    const s2 = await newSession(m2.ports.cl);
    s2.p.send(CltomaFuseLookup, { $v: 'groups', msgid: 2, inode: 1, name: Buffer.from('via-ml'), uid: 0, gids: [0] });
    const lk = await s2.p.reply(MatoclFuseLookup);
    expect(lk.$v === 'status' ? -1 : lk.inode).toBe(mk.inode);
  });

  it('refuses to start without metadata.mfs, naming DATA_PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const m = new Master({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* /', persist: true });
    await expect(m.start()).rejects.toThrow(/metadata\.mfs/);
  });
});

describe('metalogger link (matomlserv)', () => {
  it('streams each change and serves metadata.mfs.back and the changelogs for download', async () => {
    const { CltomaFuseMkdir, MatoclFuseMkdir, AntomaRegister, AntomaDownloadStart, AntomaDownloadRequest, AntomaDownloadEnd, MatoanMetachangesLog, MatoanDownloadInfo, MatoanDownloadData } = await import('@mfs-ts/protocol');
    const { crc32 } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'mfsm-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'metadata.mfs'), 'MFSM NEW');
    const m = await started({ cfg: { ...LOCAL, DATA_PATH: dir }, exportsText: '* / rw,maproot=0:0', persist: true });
    const ml = await peer(m.ports.ml);
    ml.send(AntomaRegister, { $v: 'v1', rversion: 1, version: VERSHEX, timeout: 10 });
    const { p } = await newSession(m.ports.cl);
    // The new session is logged first (SESADD), then the mkdir.
    p.send(CltomaFuseMkdir, { $v: 'groups', msgid: 1, inode: 1, name: Buffer.from('logged'), mode: 0o755, umask: 0, uid: 0, gids: [0], copysgid: 0 });
    await p.reply(MatoclFuseMkdir);
    const ses = await ml.reply(MatoanMetachangesLog);
    if (ses.$v !== 'change') throw new Error('expected a change');
    expect(ses.version).toBe(2n); // 1 is the new file system's SETMETAID, logged before anyone attached
    expect(ses.data.toString('latin1')).toMatch(/^\d+\|SESADD\(#\d+,1,0,0000,0,0,999,999,1,9,0,4294967295,0x00000000,2130706433,t%00\):1\0$/);
    const ch = await ml.reply(MatoanMetachangesLog);
    if (ch.$v !== 'change') throw new Error('expected a change');
    expect(ch.version).toBe(3n);
    expect(ch.data.toString('latin1')).toMatch(/^\d+\|CREATE\(1,logged,2,493,0,0,0,0\):2\0$/);

    ml.send(AntomaDownloadStart, { filenum: 1 });
    const info = await ml.reply(MatoanDownloadInfo);
    if (info.$v !== 'ok') throw new Error('no metadata.mfs.back');
    expect(info.size).toBeGreaterThan(16);
    ml.send(AntomaDownloadRequest, { offset: 0, leng: info.size });
    const d = await ml.reply(MatoanDownloadData);
    expect(d.data.subarray(0, 8).toString()).toBe('MFSM 2.0');
    expect(d.crc).toBe(crc32(d.data) >>> 0);
    ml.send(AntomaDownloadEnd, {});
    ml.send(AntomaDownloadStart, { filenum: 11 });
    const cl0 = await ml.reply(MatoanDownloadInfo);
    if (cl0.$v !== 'ok') throw new Error('changelog.0');
    ml.send(AntomaDownloadRequest, { offset: 0, leng: cl0.size });
    expect((await ml.reply(MatoanDownloadData)).data.toString()).toMatch(/^3: \d+\|CREATE\(1,logged,/m);
    expect(m.ports.ml).toBeGreaterThan(0);
  });
});
