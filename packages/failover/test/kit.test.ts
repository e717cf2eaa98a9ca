import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MATOCL_INFO, MatoclInfo } from '@mfs-ts/protocol';
import { parseCluster, type Cluster } from '../src/cluster.js';
import { FailoverError } from '../src/errors.js';
import { assembleMasterFiles, setAside } from '../src/files.js';
import { checkScript, keepalivedConf, notifyScript, renderKit, statePaths, writeKit } from '../src/generate.js';
import { FailoverNode, readRole, writeRole } from '../src/node.js';
import { probeMaster } from '../src/probe.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mfsfo-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function desc(over: Record<string, unknown> = {}, hostOver: Array<Record<string, unknown>> = [{}, {}]): Record<string, unknown> {
  return {
    vip: '10.9.9.200',
    stateRoot: join(dir, 'state'),
    kitRoot: join(dir, 'kit'),
    hosts: [
      { name: 'a', address: '10.9.9.1', priority: 150, primary: true, masterDataPath: join(dir, 'a/master'), metaloggerDataPath: join(dir, 'a/ml'), ...hostOver[0] },
      { name: 'b', address: '10.9.9.2', priority: 100, masterDataPath: join(dir, 'b/master'), metaloggerDataPath: join(dir, 'b/ml'), ...hostOver[1] },
    ],
    ...over,
  };
}
const cluster = (over?: Record<string, unknown>, hosts?: Array<Record<string, unknown>>): Cluster => parseCluster(desc(over, hosts), '/repo');

describe('cluster description', () => {
  it('fills defaults and keeps what was given', () => {
    const c = cluster();
    expect(c.virtualRouterId).toBe(51);
    expect(c.ports).toEqual({ ml: 9419, cl: 9421 });
    expect(c.hosts[0]!.stateDir).toBe(join(dir, 'state/a'));
    expect(c.hosts[1]!.kitDir).toBe(join(dir, 'kit/b'));
    expect(c.hosts[1]!.masterCfg).toBe('/etc/mfs/mfsmaster.cfg');
    expect(c.repoRoot).toBe('/repo');
  });

  it.each([
    ['two primaries', () => desc({}, [{}, { primary: true }])],
    ['no primary', () => desc({}, [{ primary: false }, {}])],
    ['equal priorities', () => desc({}, [{}, { priority: 150 }])],
    ['primary not highest', () => desc({}, [{ priority: 90 }, {}])],
    ['bad address', () => desc({}, [{ address: '10.9.9' }, {}])],
    ['VIP is a host address', () => desc({ vip: '10.9.9.2' })],
    ['one directory for master and metalogger', () => desc({}, [{ metaloggerDataPath: join(dir, 'a/master') }, {}])],
    ['relative path', () => desc({}, [{ masterDataPath: 'data' }, {}])],
    ['long auth pass', () => desc({ authPass: '123456789' })],
    ['one host', () => ({ ...desc(), hosts: (desc().hosts as unknown[]).slice(0, 1) })],
  ])('rejects %s', (_what, d) => {
    expect(() => parseCluster(d(), '/repo')).toThrow(FailoverError);
  });
});

describe('generated kit', () => {
  it('keepalived.conf: both BACKUP + nopreempt, own priority, peers, VIP, health tracking, notify scripts', () => {
    const c = cluster({ authPass: 'pw' });
    const [a, b] = c.hosts as [Cluster['hosts'][0], Cluster['hosts'][0]];
    for (const h of [a, b]) {
      const conf = keepalivedConf(c, h);
      expect(conf).toMatch(/^\s+state BACKUP$/m);
      expect(conf).toMatch(/^\s+nopreempt$/m);
      expect(conf).not.toMatch(/state MASTER/);
      expect(conf).toContain(`priority ${h.priority}\n`);
      expect(conf).toContain(`unicast_src_ip ${h.address}\n`);
      const peer = h === a ? b : a;
      expect(conf).toMatch(new RegExp(`unicast_peer \\{\\n\\s+${peer.address.replace(/\./g, '\\.')}\\n\\s+\\}`));
      expect(conf).toContain('10.9.9.200/24 dev eth0');
      expect(conf).toContain(`file "${statePaths(h).track}"`);
      expect(conf).toMatch(/weight 0\n/);
      expect(conf).toContain('auth_pass pw');
      for (const s of ['master', 'backup', 'fault', 'stop']) expect(conf).toContain(`notify_${s} "${join(h.kitDir, 'notify.sh')} ${s}"`);
    }
  });

  it('notify.sh serialises the calls and runs the kit from the repository', () => {
    const c = cluster();
    const s = notifyScript(c, c.hosts[1]!);
    expect(s).toContain(`cd '/repo'`);
    expect(s).toMatch(/exec flock '.*notify\.lock' 'node' '--import' 'tsx' '\/repo\/packages\/failover\/src\/cli\.ts' notify "\$1" --cluster '.*\/kit\/b\/cluster\.json' --host 'b'/);
  });

  it('writeKit writes every host, scripts executable, and the cluster copy parses back to the same cluster', () => {
    const c = cluster();
    const files = writeKit(c);
    expect(files).toHaveLength(10);
    for (const f of files.filter((x) => x.endsWith('.sh'))) expect(spawnSync('test', ['-x', f]).status).toBe(0);
    const back = parseCluster(JSON.parse(readFileSync(join(c.hosts[0]!.kitDir, 'cluster.json'), 'utf8')), '/elsewhere');
    expect(back).toEqual(c);
    expect(renderKit(c).map((k) => k.host)).toEqual(['a', 'b']);
  });

  it('check.sh passes only on a fresh "0"', () => {
    const c = cluster();
    const h = c.hosts[0]!;
    writeKit(c);
    const check = join(h.kitDir, 'check.sh');
    expect(checkScript(h)).toContain(statePaths(h).track);
    const status = (): number | null => spawnSync('sh', [check]).status;
    expect(status()).toBe(1); // no file
    mkdirSync(h.stateDir, { recursive: true });
    writeFileSync(statePaths(h).track, '0\n');
    expect(status()).toBe(0);
    writeFileSync(statePaths(h).track, '1\n');
    expect(status()).toBe(1);
    writeFileSync(statePaths(h).track, '0\n');
    const old = new Date(Date.now() - 10_000);
    utimesSync(statePaths(h).track, old, old); // the watcher stopped writing
    expect(status()).toBe(1);
  });
});

describe('metadata files: open writes', () => {
  it('appends UNLOCK for chunks a WRITE or TRUNC locked with no UNLOCK after it (when asked)', () => {
    const ml = join(dir, 'ml');
    mkdirSync(ml);
    writeFileSync(join(ml, 'metadata_ml.mfs.back'), 'MFSM 2.0 fake');
    const recs = [
      '7: 1796124786|WRITE(43,0,1,0):41',
      '8: 1796124786|LENGTH(43,10584,0)',
      '9: 1796124786|UNLOCK(41)',
      '10: 1796124786|TRUNC(50,0,3):60',
      '11: 1796124786|CREATE(2,r1-41,1,438,18,0,0,0):44',
      '12: 1796124786|WRITE(44,0,1,0):42',
    ];
    writeFileSync(join(ml, 'changelog_ml.0.mfs'), `${recs.join('\n')}\n`);
    const plain = assembleMasterFiles(ml, join(dir, 'm1'));
    expect(plain.unlocked).toEqual([]);
    expect(readFileSync(join(dir, 'm1/changelog.0.mfs'), 'latin1')).toBe(`${recs.join('\n')}\n`);
    const a = assembleMasterFiles(ml, join(dir, 'm2'), { unlockOpenWrites: true, now: 1_800_000_000_000 });
    expect(a.unlocked).toEqual([60, 42]);
    expect(readFileSync(join(dir, 'm2/changelog.0.mfs'), 'latin1')).toBe(`${[...recs, '13: 1800000000|UNLOCK(60)', '14: 1800000000|UNLOCK(42)'].join('\n')}\n`);
    expect(a.lastVersion).toBe(12n);
  });
});

describe('metadata files', () => {
  it('setAside moves metadata and changelogs only', () => {
    const d = join(dir, 'm');
    mkdirSync(d);
    for (const n of ['metadata.mfs', 'metadata.mfs.back', 'metadata.mfs.back.1', 'changelog.0.mfs', 'changelog.12.mfs', 'sessions.mfs', 'mfsmaster.log', '.mfsmaster.lock', 'stats.mfs.x'])
      writeFileSync(join(d, n), n);
    expect(setAside(d, 'master', join(dir, 'arch')).sort()).toEqual(['changelog.0.mfs', 'changelog.12.mfs', 'metadata.mfs', 'metadata.mfs.back', 'metadata.mfs.back.1', 'sessions.mfs']);
    expect(readdirSync(d).sort()).toEqual(['.mfsmaster.lock', 'mfsmaster.log', 'stats.mfs.x']);
    expect(readFileSync(join(dir, 'arch/metadata.mfs'), 'utf8')).toBe('metadata.mfs');
    const l = join(dir, 'l');
    mkdirSync(l);
    for (const n of ['metadata_ml.mfs.back', 'metadata_ml.mfs.back.1', 'changelog_ml.0.mfs', 'changelog_ml_back.1.mfs', 'mfsmetalogger.log', 'metadata_ml.tmp']) writeFileSync(join(l, n), n);
    expect(setAside(l, 'metalogger', join(dir, 'arch2')).sort()).toEqual(['changelog_ml.0.mfs', 'changelog_ml_back.1.mfs', 'metadata_ml.mfs.back', 'metadata_ml.mfs.back.1', 'metadata_ml.tmp']);
    expect(readdirSync(l)).toEqual(['mfsmetalogger.log']);
    expect(setAside(join(dir, 'none'), 'master', join(dir, 'arch3'))).toEqual([]);
  });

  it('assembleMasterFiles: one line per version from overlapping metalogger files, in order; torn lines dropped; holes reported', () => {
    const ml = join(dir, 'ml');
    const m = join(dir, 'master');
    mkdirSync(ml);
    const rec = (v: number): string => `${v}: 1700000000|CREATE(1,f${v},1,438,18,0,0,0):${v + 1}`;
    writeFileSync(join(ml, 'metadata_ml.mfs.back'), 'MFSM 2.0 fake');
    writeFileSync(join(ml, 'changelog_ml_back.1.mfs'), [1, 2, 3].map(rec).join('\n') + '\n');
    writeFileSync(join(ml, 'changelog_ml_back.0.mfs'), [3, 4, 5].map(rec).join('\n') + '\n');
    writeFileSync(join(ml, 'changelog_ml.1.mfs'), [5, 6].map(rec).join('\n') + '\n');
    writeFileSync(join(ml, 'changelog_ml.0.mfs'), [6, 7, 9].map(rec).join('\n') + '\n10: 17000'); // torn last line
    const a = assembleMasterFiles(ml, m);
    expect(readFileSync(join(m, 'metadata.mfs.back'), 'utf8')).toBe('MFSM 2.0 fake');
    expect(readFileSync(join(m, 'changelog.0.mfs'), 'latin1')).toBe([1, 2, 3, 4, 5, 6, 7, 9].map(rec).join('\n') + '\n');
    expect(a.records).toBe(8);
    expect([a.firstVersion, a.lastVersion]).toEqual([1n, 9n]);
    expect(a.holes).toEqual([[8n, 8n]]);
  });
});

// ---- probe and health --------------------------------------------------------------------------

function infoReply(metaversion: bigint): Buffer {
  return MatoclInfo.encode({
    version: 0x0300ea, memusage: 1n, syscpu: 0n, usercpu: 0n, totalspace: 0n, availspace: 0n, freespace: 0n, trashspace: 0n, trashnodes: 0,
    sustainedspace: 0n, sustainednodes: 0, inodes: 1, dirnodes: 1, filenodes: 0, chunks: 0, chunkcopies: 0, tdcopies: 0, laststore: 0,
    laststoretime: 0, laststorestatus: 0, pad: [0, 0, 0, 0], zero1: 0, zero2: 0, metaversion, exportschecksum: 0n, utime: 0n, zero3: 0,
  });
}

/** A fake master on 127.0.0.1:0: `mode` says how it treats CLTOMA_INFO. */
async function fakeMaster(mode: 'answer' | 'silent' | 'garbage', seen: number[] = []): Promise<{ server: Server; port: number }> {
  const socks: Socket[] = [];
  const server = createServer((s) => {
    socks.push(s);
    s.on('data', (d: Buffer) => {
      seen.push(d.readUInt32BE(0), d.readUInt32BE(4));
      if (mode === 'answer') s.write(infoReply(1234n));
      if (mode === 'garbage') s.write(Buffer.from([0, 0, 0x01, 0xff, 0, 0, 0, 3, 1, 2, 3]));
    });
  });
  server.on('close', () => socks.forEach((x) => x.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port };
}
const closeServer = (s: Server): Promise<void> => new Promise((r) => { s.close(() => r()); s.emit('close'); });

describe('probe', () => {
  it('sends a bare CLTOMA_INFO and reads metaversion from MATOCL_INFO', async () => {
    const seen: number[] = [];
    const { server, port } = await fakeMaster('answer', seen);
    try {
      const r = await probeMaster('127.0.0.1', port, 2000);
      expect(r.ok && r.metaversion).toBe(1234n);
      expect(seen.slice(0, 2)).toEqual([510, 0]); // CLTOMA_INFO, empty
      expect(MATOCL_INFO).toBe(511);
    } finally {
      await closeServer(server);
    }
  });

  it('tells refused, timeout and a bad reply apart', async () => {
    const { server, port } = await fakeMaster('silent');
    const g = await fakeMaster('garbage');
    try {
      const t = await probeMaster('127.0.0.1', port, 200);
      expect(t.ok ? 'ok' : t.reason).toBe('timeout');
      const b = await probeMaster('127.0.0.1', g.port, 2000);
      expect(b.ok ? 'ok' : b.reason).toBe('bad-reply');
    } finally {
      await closeServer(server);
      await closeServer(g.server);
    }
    const r = await probeMaster('127.0.0.1', port, 2000);
    expect(r.ok ? 'ok' : r.reason).toBe('refused');
  });
});

describe('health verdicts and transitions', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });
  /** A live process whose command line says mfsmetalogger, its pid in DATA_PATH/.mfsmetalogger.lock. */
  async function fakeMetalogger(dataPath: string): Promise<number> {
    const c = spawn('bash', ['-c', 'exec -a mfsmetalogger-ts sleep 60'], { stdio: 'ignore' });
    children.push(c);
    await new Promise((r) => c.once('spawn', r));
    for (let k = 0; k < 100 && !readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').includes('mfsmetalogger'); k++) await new Promise((r) => setTimeout(r, 10));
    mkdirSync(dataPath, { recursive: true });
    writeFileSync(join(dataPath, '.mfsmetalogger.lock'), `${c.pid}\n`);
    return c.pid!;
  }

  it('a follower is healthy only with a live metalogger that has the metadata', async () => {
    const c = cluster();
    const h = c.hosts[1]!;
    const node = new FailoverNode(c, h, () => {});
    writeRole(h, 'follower');
    expect(await node.evaluate()).toMatchObject({ ok: false, detail: 'metalogger not running' });
    await fakeMetalogger(h.metaloggerDataPath);
    expect(await node.evaluate()).toMatchObject({ ok: false, detail: 'metalogger has no metadata yet' });
    writeFileSync(join(h.metaloggerDataPath, 'metadata_ml.mfs.back'), 'MFSM 2.0');
    expect(await node.evaluate()).toMatchObject({ ok: true });
    const v = await node.writeHealth();
    expect(v.ok).toBe(true);
    expect(readFileSync(statePaths(h).track, 'utf8')).toBe('0\n');
  });

  it('a leader is healthy while its master answers; refused fails at once, timeouts after failAfter', async () => {
    const { server, port } = await fakeMaster('answer');
    const c = cluster({ ports: { cl: port }, health: { timeoutMs: 150, failAfter: 2 } }, [{ address: '127.0.0.1' }, {}]);
    const h = c.hosts[0]!;
    const node = new FailoverNode(c, h, () => {});
    writeRole(h, 'leader');
    try {
      expect(await node.evaluate()).toMatchObject({ ok: true, role: 'leader' });
    } finally {
      await closeServer(server);
    }
    expect(await node.evaluate()).toMatchObject({ ok: false });
    const silent = await fakeMaster('silent');
    const c2 = cluster({ ports: { cl: silent.port }, health: { timeoutMs: 100, failAfter: 2 } }, [{ address: '127.0.0.1' }, {}]);
    const n2 = new FailoverNode(c2, c2.hosts[0]!, () => {});
    try {
      expect((await n2.evaluate()).ok).toBe(true); // one slow answer is tolerated
      expect((await n2.evaluate()).ok).toBe(false);
      await n2.writeHealth();
      expect(readFileSync(statePaths(c2.hosts[0]!).track, 'utf8')).toBe('1\n');
    } finally {
      await closeServer(silent.server);
    }
  });

  it('starting roles get a grace period; stopped and failed are unhealthy', async () => {
    const c = cluster({ health: { startGraceMs: 1000 } });
    const h = c.hosts[0]!;
    const node = new FailoverNode(c, h, () => {});
    for (const r of ['bootstrap', 'promoting'] as const) {
      writeRole(h, r);
      expect((await node.evaluate()).ok).toBe(true);
      writeFileSync(statePaths(h).role, JSON.stringify({ role: r, since: Date.now() - 5000 }));
      expect((await node.evaluate()).ok).toBe(false);
    }
    for (const r of ['stopped', 'failed'] as const) {
      writeRole(h, r);
      expect((await node.evaluate()).ok).toBe(false);
    }
  });

  it('guards: MASTER as a stopped host or as a leader without its master refuses; a standby with no metadata does not promote', async () => {
    const c = cluster({ bins: { master: '/bin/false', metalogger: '/bin/false' } });
    const [a, b] = c.hosts as [Cluster['hosts'][0], Cluster['hosts'][0]];
    const na = new FailoverNode(c, a, () => {});
    writeRole(a, 'stopped');
    await na.notify('master');
    expect(readRole(a).role).toBe('failed');
    writeRole(a, 'leader');
    await na.notify('master');
    expect(readRole(a).role).toBe('failed');
    const nb = new FailoverNode(c, b, () => {});
    writeRole(b, 'follower');
    await expect(nb.notify('master')).rejects.toMatchObject({ code: 'FO_NO_METADATA' });
    expect(readRole(b).role).toBe('failed');
    expect(existsSync(join(b.masterDataPath, 'metadata.mfs.back'))).toBe(false);
    await expect(nb.start(true)).rejects.toMatchObject({ code: 'FO_USAGE' }); // only the primary bootstraps
  });

  it('boot path: a returning host sets its old metadata aside and starts as a follower, never as master', async () => {
    const marker = join(dir, 'started');
    const fakeBin = join(dir, 'fake-ml.sh');
    writeFileSync(fakeBin, `#!/bin/sh\necho "$@" >> '${marker}'\n`, { mode: 0o755 });
    const c = cluster({ bins: { master: '/bin/false', metalogger: fakeBin } });
    const a = c.hosts[0]!;
    mkdirSync(a.masterDataPath, { recursive: true });
    writeFileSync(join(a.masterDataPath, 'metadata.mfs.back'), 'MFSM 2.0 stale');
    writeFileSync(join(a.masterDataPath, 'changelog.0.mfs'), '5: x\n');
    mkdirSync(a.metaloggerDataPath, { recursive: true });
    writeFileSync(join(a.metaloggerDataPath, 'changelog_ml.0.mfs'), '3: y\n');
    await new FailoverNode(c, a, () => {}).start(false);
    expect(readRole(a).role).toBe('follower');
    expect(readdirSync(a.masterDataPath)).toEqual([]);
    expect(readdirSync(a.metaloggerDataPath)).toEqual([]);
    const arch = readdirSync(statePaths(a).archive);
    expect(arch).toHaveLength(1);
    expect(readdirSync(join(statePaths(a).archive, arch[0]!, 'master')).sort()).toEqual(['changelog.0.mfs', 'metadata.mfs.back']);
    expect(readFileSync(marker, 'utf8').trim()).toBe(`-c ${a.metaloggerCfg} start`);
  });
});

describe('hot mode', () => {
  it('keepalived.conf: VRRP v3 (no auth) below 1 s adverts, nopreempt still explicit', () => {
    const c = cluster({ mode: 'hot', advertInt: 0.3, authPass: 'pw' });
    const conf = keepalivedConf(c, c.hosts[0]!);
    expect(conf).toMatch(/^\s+vrrp_version 3$/m);
    expect(conf).toContain('advert_int 0.3\n');
    expect(conf).not.toContain('auth_pass');
    expect(conf).toMatch(/^\s+nopreempt$/m);
    expect(keepalivedConf(cluster({ advertInt: 1 }), c.hosts[0]!)).not.toContain('vrrp_version');
  });

  it('notify.sh signals a synchronised follower at once (shell), and only then', async () => {
    const c = cluster({ mode: 'hot' });
    const h = c.hosts[1]!;
    writeKit(c);
    const sleeper = spawn('bash', ['-c', 'trap "echo got-usr2; exit 0" USR2; echo ready; sleep 30 & wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sleeper.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => sleeper.once('exit', () => r()));
    try {
      for (let k = 0; k < 500 && !out.includes('ready'); k++) await new Promise((r) => setTimeout(r, 10)); // the trap is set
      mkdirSync(h.masterDataPath, { recursive: true });
      writeFileSync(join(h.masterDataPath, '.mfsmaster.lock'), `${sleeper.pid}\n`);
      writeRole(h, 'follower');
      const script = readFileSync(join(h.kitDir, 'notify.sh'), 'utf8');
      // Run only the fast path (the rest would start the kit).
      const fast = script.slice(0, script.indexOf('mkdir -p'));
      writeFileSync(join(h.masterDataPath, 'follower.json'), JSON.stringify({ state: 'downloading', synced: false }));
      expect(spawnSync('sh', ['-c', fast, 'notify', 'master']).status).toBe(0);
      writeFileSync(join(h.masterDataPath, 'follower.json'), JSON.stringify({ state: 'following', synced: true }));
      expect(spawnSync('sh', ['-c', fast, 'notify', 'backup']).status).toBe(0);
      spawnSync('sleep', ['0.3']);
      expect(out).toBe('ready\n');
      expect(spawnSync('sh', ['-c', fast, 'notify', 'master']).status).toBe(0);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      expect(out).toContain('got-usr2');
    } finally {
      setTimeout(() => sleeper.kill('SIGKILL'), 6000).unref();
    }
  });

  it('a hot follower is healthy only while running, reporting and synchronised', async () => {
    const c = cluster({ mode: 'hot' });
    const h = c.hosts[1]!;
    const node = new FailoverNode(c, h, () => {});
    writeRole(h, 'follower');
    expect(await node.evaluate()).toMatchObject({ ok: false, detail: 'hot follower not running' });
    const p = spawn('bash', ['-c', 'exec -a mfsmaster-ts sleep 60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => p.once('spawn', r));
      for (let k = 0; k < 100 && !readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('mfsmaster'); k++) await new Promise((r) => setTimeout(r, 10));
      mkdirSync(h.masterDataPath, { recursive: true });
      writeFileSync(join(h.masterDataPath, '.mfsmaster.lock'), `${p.pid}\n`);
      const st = (o: Record<string, unknown>) => writeFileSync(join(h.masterDataPath, 'follower.json'), JSON.stringify({ state: 'following', synced: true, metaversion: '7', at: Date.now(), ...o }));
      expect(await node.evaluate()).toMatchObject({ ok: false, detail: 'hot follower status missing or stale' });
      st({ at: Date.now() - 10_000 });
      expect((await node.evaluate()).ok).toBe(false);
      st({ state: 'downloading', synced: false });
      expect(await node.evaluate()).toMatchObject({ ok: false });
      st({});
      expect(await node.evaluate()).toMatchObject({ ok: true, detail: 'hot follower synchronised at 7' });
      st({ state: 'leader', synced: false });
      expect((await node.evaluate()).ok).toBe(true); // promoted by notify.sh before the kit's notify ran
    } finally {
      p.kill('SIGKILL');
    }
  });
});
