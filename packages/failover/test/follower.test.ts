// The hot follower in one process, over loopback: a persisted leader (mfsmaster-ts as a library), a
// Follower of its metalogger port, and the Node API client making changes. The follower's copy must
// track the leader exactly (checksums), start over on a mismatch, refuse another file system, be
// promoted in place and serve what was written; with FOLLOWER_SYNC_ACK the leader waits for its
// acknowledgements and degrades to asynchronous answers, loudly, when they stop.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MfsClient } from '@mfs-ts/client';
import { Master, masterCfg, type MasterCfg } from '@mfs-ts/master';
import { Follower, FOLLOWER_STATUS } from '../src/follower.js';

let dir: string;
let cleanup: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mfsts-follower-'));
  writeFileSync(join(dir, 'exports.cfg'), '* / rw,alldirs,maproot=0:0\n');
});
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A logger that keeps every line (to look for the loud ones). */
function memLog(): { log: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, lines };
}

function cfgFor(name: string, over: Record<string, unknown> = {}): MasterCfg {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return masterCfg({
    DATA_PATH: d,
    EXPORTS_FILENAME: join(dir, 'exports.cfg'),
    MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0',
    MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0',
    MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0',
    ...over,
  });
}

async function leader(over: Record<string, unknown> = {}, log = memLog().log): Promise<Master> {
  const cfg = cfgFor('leader', over);
  writeFileSync(join(cfg.DATA_PATH, 'metadata.mfs'), 'MFSM NEW');
  const m = new Master({ cfg, log, persist: true });
  await m.start();
  cleanup.push(() => m.stop());
  return m;
}

async function follower(lead: Master, name = 'follower', over: Record<string, unknown> = {}, log = memLog().log): Promise<Follower> {
  const f = new Follower({ cfg: cfgFor(name, { FOLLOW_MASTER_HOST: '127.0.0.1', FOLLOW_MASTER_PORT: String(lead.ports.ml), ...over }), log, tickMs: 50 });
  await f.start();
  cleanup.push(() => f.stop());
  return f;
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function client(port: number): Promise<MfsClient> {
  const c = await MfsClient.connect({ host: '127.0.0.1', port });
  cleanup.push(() => c.close());
  return c;
}

/** In step: same next version and the same namespace checksum. */
const inStep = (l: Master, f: Follower): boolean => f.master !== undefined && f.synced && f.master.metaversion === l.metaversion && f.master.stateChecksum() === l.stateChecksum();

describe('hot follower', () => {
  it('follows every change, compares checksums, and serves it all once promoted in place', async () => {
    const lead = await leader();
    const c = await client(lead.ports.cl);
    await c.mkdir('/before');
    await c.symlink('/x', '/before/link');
    const f = await follower(lead, 'follower', { FOLLOW_CHECK_FREQ: 1 });
    await until('the follower to load the download', () => inStep(lead, f));
    for (let i = 0; i < 50; i++) await c.mkdir(`/before/d${i}`);
    await c.rename('/before/d0', '/moved');
    await until('the follower to apply the stream', () => inStep(lead, f));
    await until('a checksum comparison', () => f.status().lastCheck?.ok === true, 15_000);
    expect(f.status()).toMatchObject({ state: 'following', synced: true, extensions: true, downloads: 1 });
    const st = JSON.parse(readFileSync(join(f.master!.cfg.DATA_PATH, FOLLOWER_STATUS), 'utf8')) as { synced: boolean };
    expect(st.synced).toBe(true);
    // Its own changelog holds the leader's records with the leader's versions.
    const ours = readFileSync(join(f.master!.cfg.DATA_PATH, 'changelog.0.mfs'), 'latin1').trim().split('\n');
    const theirs = readFileSync(join(lead.cfg.DATA_PATH, 'changelog.0.mfs'), 'latin1').trim().split('\n');
    expect(ours.length).toBeGreaterThan(40);
    expect(theirs.slice(-ours.length)).toEqual(ours);

    // The leader goes away; the follower is promoted in place and serves the same tree.
    await lead.stop();
    cleanup = cleanup.filter((x) => x !== cleanup[0]);
    await f.promote();
    expect(f.state).toBe('leader');
    const c2 = await client(f.master!.ports.cl);
    expect((await c2.readdir('/before')).length).toBe(50); // link + d1..d49
    expect(await c2.readlink('/before/link')).toBe('/x');
    expect(await c2.exists('/moved')).toBe(true);
    await c2.mkdir('/after');
    expect(await c2.exists('/after')).toBe(true);
  });

  it('a namespace that drifts from the leader is detected by the checksum and downloaded again', async () => {
    const lead = await leader();
    const c = await client(lead.ports.cl);
    await c.mkdir('/a');
    const f = await follower(lead, 'follower', { FOLLOW_CHECK_FREQ: 1 });
    await until('in step', () => inStep(lead, f));
    // Damage our copy behind the stream's back (what a bug or a bit flip would do).
    const m = f.master!;
    const node = [...m.ns.tree.nodes.values()].find((n) => n.inode !== 1)!;
    node.mode ^= 0o7;
    await until('a second download', () => f.status().downloads >= 2, 10_000);
    await c.mkdir('/b');
    await until('in step again', () => inStep(lead, f));
  });

  it('refuses to be promoted while its copy is behind what it saw from the leader', async () => {
    const lead = await leader();
    const c = await client(lead.ports.cl);
    await c.mkdir('/a');
    const f = await follower(lead);
    await until('in step', () => inStep(lead, f));
    expect(f.synced).toBe(true);
    // As if the leader had been seen at a later change than our copy holds (a lost stream tail).
    (f as unknown as { see(v: bigint): void }).see(f.master!.metaversion + 3n);
    expect(f.synced).toBe(false);
    expect(f.status()).toMatchObject({ synced: false });
    await expect(f.promote()).rejects.toThrow(/our copy stops at/);
    expect(f.state).not.toBe('leader');
    expect(f.master!.standby).toBe(true);
  });

  it('refuses a leader of another file system (metaid)', async () => {
    const lead = await leader();
    const cfg = cfgFor('follower', { FOLLOW_MASTER_HOST: '127.0.0.1', FOLLOW_MASTER_PORT: String(lead.ports.ml) });
    // Files of another file system already here.
    const other = new Master({ cfg: cfgFor('other'), persist: true });
    writeFileSync(join(other.cfg.DATA_PATH, 'metadata.mfs'), 'MFSM NEW');
    await other.start();
    await other.stop();
    writeFileSync(join(cfg.DATA_PATH, 'metadata.mfs'), readFileSync(join(other.cfg.DATA_PATH, 'metadata.mfs')));
    const f = new Follower({ cfg, log: memLog().log, tickMs: 50 });
    await f.start();
    cleanup.push(() => f.stop());
    await until('the refusal', () => f.state === 'refused');
    expect(f.master).toBeUndefined();
    expect(readFileSync(join(cfg.DATA_PATH, 'metadata.mfs')).equals(readFileSync(join(other.cfg.DATA_PATH, 'metadata.mfs')))).toBe(true);
    await expect(f.promote()).rejects.toThrow(/promotion refused/);
  });

  it('FOLLOWER_SYNC_ACK: answers wait for the follower; without acks the leader degrades to async, loudly, and mfscli -SMB says so', async () => {
    const { log, lines } = memLog();
    const lead = await leader({ FOLLOWER_SYNC_ACK: 1, FOLLOWER_SYNC_TIMEOUT_MS: 300 }, log);
    const c = await client(lead.ports.cl);
    await c.mkdir('/x');
    expect(lead.syncGate.state).toBe('async'); // no follower yet
    const f = await follower(lead);
    await until('sync', () => lead.syncGate.state === 'sync' && inStep(lead, f));
    expect((await listMl(lead.ports.cl)).map((e) => e.version)).toEqual([0x0301ea]); // "3.1.117": synchronous
    // Every answered change is already in the follower's changelog on disk.
    for (let i = 0; i < 20; i++) {
      await c.mkdir(`/x/s${i}`);
      const logged = readFileSync(join(f.master!.cfg.DATA_PATH, 'changelog.0.mfs'), 'latin1');
      expect(logged).toContain(`|CREATE(`);
      expect(f.master!.metaversion).toBe(lead.metaversion);
    }
    // The follower stops acknowledging (frozen, not gone): the next change waits the timeout, then the
    // leader answers anyway and says it degraded.
    const sink = (f as unknown as { sink: { flush(): unknown } }).sink;
    const flush = sink.flush;
    sink.flush = () => undefined;
    expect(lead.syncGate.degradations).toBe(0);
    await c.mkdir('/x/late'); // answered only once the gate gave up waiting
    expect(lead.syncGate.degradations).toBe(1);
    expect(lead.syncGate.state).toBe('async');
    expect(lines.some((l) => l.level >= 50 && /DEGRADED TO ASYNCHRONOUS/.test(l.msg))).toBe(true);
    expect((await listMl(lead.ports.cl)).map((e) => e.version)).toEqual([0x0302ea]); // "3.2.117": asynchronous
    // It acknowledges again: synchronous again.
    sink.flush = flush;
    await c.mkdir('/x/again');
    await until('sync again', () => lead.syncGate.state === 'sync');
    expect(lines.some((l) => /answered synchronously again/.test(l.msg))).toBe(true);
  });
});

/** MLOG_LIST as mfscli -SMB asks it (bare CLTOMA_MLOG_LIST on 9421). */
async function listMl(port: number): Promise<Array<{ version: number; ip: number }>> {
  const { CltomaMlogList, MatoclMlogList, MATOCL_MLOG_LIST } = await import('@mfs-ts/protocol');
  const { TestPeer } = await import('../../master/test/client.js');
  const p = await TestPeer.connect(port);
  try {
    p.send(CltomaMlogList, {});
    const r = MatoclMlogList.decode(await p.next(MATOCL_MLOG_LIST));
    if (!r.ok) throw new Error(r.error.message);
    return r.value.loggers;
  } finally {
    p.sock.destroy();
  }
}
