// The catalogue against the real MooseFS 3.0.117 daemons, for the messages the traffic captures in
// protocol-fixtures/ do not contain (version/config/module-info probes, charts, storage class
// administration, the meta session's trash operations, reconnect, checksums on a chunkserver):
// requests built with our encoders, replies produced by the real master and chunkserver, each reply
// decoded with our definition, re-encoded byte for byte, and checked for what the daemon meant.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { expect, it } from 'vitest';
import { waitFor, type Host } from '@mfs-ts/lab';
import { describeLab, withLab } from '@mfs-ts/lab/vitest';
import {
  FUSE_REGISTER_BLOB_ACL, MFS_ERROR_ACTIVE, messageByName, SCLASS_LIST_LONG, SCLASS_LIST_SHORT, VERSHEX, Reader, type MessageDef,
} from '../../src/index.js';

// A relay run inside the lab host's network namespace: stdin lines `S <hex>` send a packet, `R`
// returns the next non-NOP packet as hex (the master sends NOPs to idle clients).
const RELAY = String.raw`
import socket,sys,struct,binascii
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=20)
buf=b''
def packet():
    global buf
    while True:
        if len(buf)>=8:
            t,l=struct.unpack('>II',buf[:8])
            if len(buf)>=8+l:
                p=buf[:8+l]; buf=buf[8+l:]; return p
        d=s.recv(1<<20)
        if not d: raise EOFError('connection closed')
        buf+=d
for line in sys.stdin:
    line=line.strip()
    try:
        if line.startswith('S '):
            s.sendall(binascii.unhexlify(line[2:])); print('OK',flush=True)
        elif line=='R':
            while True:
                p=packet()
                if struct.unpack('>I',p[:4])[0]!=0: break
            print(binascii.hexlify(p).decode(),flush=True)
    except Exception as e:
        print('E '+repr(e).replace('\n',' '),flush=True)
`;

/** Replies decoded from real bytes; requests the real daemons accepted (answered, connection kept). */
const verified = new Set<string>();
const accepted = new Set<string>();

function def(name: string): MessageDef<any> {
  const m = messageByName(name);
  if (!m) throw new Error(`no definition for ${name}`);
  return m;
}

/** Decodes a real packet with its definition and checks the byte-exact round trip. */
function check(name: string, packet: Buffer): any {
  const m = def(name);
  expect(packet.readUInt32BE(0), `${name} type`).toBe(m.id);
  const r = m.decode(packet.subarray(8));
  if (!r.ok) throw new Error(`${name}: ${r.error.message} (${packet.subarray(8, 120).toString('hex')})`);
  expect(m.encode(r.value).toString('hex'), `${name} round trip`).toBe(packet.toString('hex'));
  verified.add(name);
  return r.value;
}

class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting: ((l: string) => void) | undefined;

  constructor(host: Host, ip: string, port: number) {
    const argv = host.wrap(['python3', '-c', RELAY, ip, String(port)]);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (l) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(l);
      else this.queue.push(l);
    });
  }

  private line(): Promise<string> {
    const l = this.queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('relay timed out')), 25_000);
      this.waiting = (x) => {
        clearTimeout(t);
        resolve(x);
      };
    });
  }

  private async cmd(c: string): Promise<string> {
    this.child.stdin.write(`${c}\n`);
    const l = await this.line();
    if (l.startsWith('E ')) throw new Error(`relay: ${l.slice(2)}`);
    return l;
  }

  async send(name: string, value: unknown): Promise<void> {
    const pkt = def(name).encode(value);
    expect(await this.cmd(`S ${pkt.toString('hex')}`)).toBe('OK');
  }

  /** The next packet of type `name` (other packets, e.g. unsolicited notices, are skipped). */
  async recv(name: string): Promise<any> {
    return (await this.recvAny([name])).value;
  }

  /** The next packet whose type is one of `names`, with the name it was decoded as. */
  async recvAny(names: string[]): Promise<{ name: string; value: any }> {
    for (;;) {
      const pkt = Buffer.from(await this.cmd('R'), 'hex');
      const name = names.find((n) => def(n).id === pkt.readUInt32BE(0));
      if (name) return { name, value: check(name, pkt) };
    }
  }

  async call(req: string, value: unknown, reply: string): Promise<any> {
    await this.send(req, value);
    const v = await this.recv(reply);
    accepted.add(req);
    return v;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

const b = (s: string) => Buffer.from(s);
const str = (x: Buffer) => x.toString('utf8');
const anyLabel = [[0, 0, 0, 0]];

describeLab('protocol catalogue against the real 3.0.117 master and chunkserver', () => {
  it('decodes and re-encodes every reply byte for byte', async () => {
    await withLab({ hosts: ['master', 'cs', 'client'] }, async (lab) => {
      const master = await lab.startMaster({ host: 'master' });
      const cs = await lab.startChunkserver({ host: 'cs', master });
      const mnt = await lab.mount({ host: 'client', master });
      writeFileSync(mnt.path('f.txt'), 'hello chunkserver\n');
      writeFileSync(mnt.path('gone.txt'), 'to the trash\n');
      writeFileSync(mnt.path('gone2.txt'), 'to be purged\n');
      unlinkSync(mnt.path('gone.txt'));
      unlinkSync(mnt.path('gone2.txt'));
      const client = lab.host('client');
      const peers: Peer[] = [];
      const peer = (ip: string, port: number) => {
        const p = new Peer(client, ip, port);
        peers.push(p);
        return p;
      };
      try {
        // --- unregistered requests to the master (matoclserv_gotpacket, first switch) ---
        const a = peer(master.addr, master.ports.cl);
        const v1 = await a.call('ANTOAN_GET_VERSION', { $v: 'msgid', msgid: 5 }, 'ANTOAN_VERSION');
        expect(v1).toMatchObject({ $v: 'msgid', msgid: 5, version: VERSHEX });
        expect(str(v1.vstring)).toBe('3.0.117-1');
        const v0 = await a.call('ANTOAN_GET_VERSION', { $v: 'bare' }, 'ANTOAN_VERSION');
        expect(v0).toMatchObject({ $v: 'bare', version: VERSHEX });
        const cfg = await a.call('ANTOAN_GET_CONFIG', { msgid: 6, name: b('WORKING_USER') }, 'ANTOAN_CONFIG_VALUE');
        expect(cfg.msgid).toBe(6);
        expect(str(cfg.value)).toBe('root'); // the lab's mfsmaster.cfg
        const mi0 = await a.call('CLTOAN_MODULE_INFO', { $v: 'bare' }, 'ANTOCL_MODULE_INFO');
        expect(mi0).toMatchObject({ $v: 'bare', moduletype: 1, version: VERSHEX });
        const mi1 = await a.call('CLTOAN_MODULE_INFO', { $v: 'msgid', msgid: 9 }, 'ANTOCL_MODULE_INFO');
        expect(mi1).toMatchObject({ $v: 'msgid', msgid: 9, moduletype: 1, metaid: mi0.metaid });
        const cd = await a.call('CLTOAN_CHART_DATA', { $v: 'limited', chartid: 0, maxentries: 5 }, 'ANTOCL_CHART_DATA');
        if (cd.$v === 'data') expect(cd.values.length).toBeLessThanOrEqual(5);
        await a.call('CLTOAN_MONOTONIC_DATA', {}, 'ANTOCL_MONOTONIC_DATA');
        const png = await a.call('CLTOAN_CHART', { $v: 'sized', chartid: 0, width: 200, height: 100 }, 'ANTOCL_CHART');
        if (png.png.length > 0) expect(png.png.subarray(1, 4).toString()).toBe('PNG');

        // --- a mount session (REGISTER_NEWSESSION) ---
        const s = peer(master.addr, master.ports.cl);
        const reg = await s.call(
          'CLTOMA_FUSE_REGISTER',
          { $v: 'newsession', blob: FUSE_REGISTER_BLOB_ACL, rcode: 2, version: VERSHEX, info: b('protocol-probe\0'), path: b('/\0') },
          'MATOCL_FUSE_REGISTER',
        );
        expect(reg).toMatchObject({ $v: 'session', version: VERSHEX });
        expect(reg.sessionid).toBeGreaterThan(0);
        const lk = await s.call('CLTOMA_FUSE_LOOKUP', { $v: 'single', msgid: 1, inode: 1, name: b('f.txt'), uid: 0, gid: 0 }, 'MATOCL_FUSE_LOOKUP');
        expect(lk.attr).toMatchObject({ type: 1, length: 18 });
        const rc = await s.call('CLTOMA_FUSE_READ_CHUNK', { $v: 'full', msgid: 2, inode: lk.inode, indx: 0, chunkopflags: 0 }, 'MATOCL_FUSE_READ_CHUNK');
        expect(rc).toMatchObject({ $v: 'ok', msgid: 2, length: 18 });
        expect(rc.servers).toEqual([{ ip: rc.servers[0].ip, port: cs.port, csver: VERSHEX, labelmask: 0 }]);
        const par = await s.call('CLTOMA_FUSE_PARENTS', { msgid: 3, inode: lk.inode }, 'MATOCL_FUSE_PARENTS');
        expect(par).toMatchObject({ $v: 'ok', parents: [1] });
        // (NODE_INFO is listed for unregistered connections too, but there it reads a NULL session.)
        const ni = await s.call('CLTOMA_NODE_INFO', { $v: 'msgid', msgid: 11, inode: 1, maxentries: 10, continueid: 0n }, 'MATOCL_NODE_INFO');
        expect(ni.data.readUInt32BE(0)).toBe(11);
        const labels = [anyLabel, anyLabel, anyLabel];
        const scFields = { fver: 0, adminOnly: 0, mode: 0, archDelay: 24, labels };
        expect(await s.call('CLTOMA_SCLASS_CREATE', { msgid: 4, name: b('probe_sc'), ...scFields }, 'MATOCL_SCLASS_CREATE')).toEqual({ msgid: 4, status: 0 });
        const ls0 = await s.call('CLTOMA_SCLASS_LIST', { msgid: 5, longmode: 0 }, 'MATOCL_SCLASS_LIST');
        const short = SCLASS_LIST_SHORT.read(new Reader(ls0.data)).map(str);
        expect(short).toContain('probe_sc');
        const ls1 = await s.call('CLTOMA_SCLASS_LIST', { msgid: 6, longmode: 1 }, 'MATOCL_SCLASS_LIST');
        const r1 = new Reader(ls1.data);
        const long = SCLASS_LIST_LONG.read(r1);
        expect(r1.remaining).toBe(0);
        expect(long.find((c) => str(c.name) === 'probe_sc')).toMatchObject({ archDelay: 24, labels });
        const show = await s.call('CLTOMA_SCLASS_CHANGE', { msgid: 7, name: b('probe_sc'), chgmask: 0, ...scFields }, 'MATOCL_SCLASS_CHANGE');
        expect(show).toMatchObject({ $v: 'ok', msgid: 7, archDelay: 24, labels });
        expect(await s.call('CLTOMA_SCLASS_DUPLICATE', { msgid: 8, src: b('probe_sc'), dst: b('probe_sc2') }, 'MATOCL_SCLASS_DUPLICATE')).toEqual({ msgid: 8, status: 0 });
        expect(await s.call('CLTOMA_SCLASS_RENAME', { msgid: 9, src: b('probe_sc2'), dst: b('probe_sc3') }, 'MATOCL_SCLASS_RENAME')).toEqual({ msgid: 9, status: 0 });
        expect(await s.call('CLTOMA_SCLASS_DELETE', { msgid: 10, name: b('probe_sc3') }, 'MATOCL_SCLASS_DELETE')).toEqual({ msgid: 10, status: 0 });

        // --- the chunkserver's data port: probes and checksums of that chunk (csserv.c) ---
        const d = peer(cs.host.ip, cs.port);
        expect(await d.call('ANTOAN_GET_VERSION', { $v: 'msgid', msgid: 1 }, 'ANTOAN_VERSION')).toMatchObject({ msgid: 1, version: VERSHEX });
        const cmi = await d.call('CLTOAN_MODULE_INFO', { $v: 'bare' }, 'ANTOCL_MODULE_INFO');
        expect(cmi).toMatchObject({ moduletype: 2, version: VERSHEX, metaid: mi0.metaid, port: master.ports.cs });
        const ck = await d.call('ANTOCS_GET_CHUNK_CHECKSUM', { chunkid: rc.chunkid, version: rc.version }, 'CSTOAN_CHUNK_CHECKSUM');
        expect(ck).toMatchObject({ $v: 'ok', chunkid: rc.chunkid, version: rc.version });
        const tab = await d.call('ANTOCS_GET_CHUNK_CHECKSUM_TAB', { chunkid: rc.chunkid, version: rc.version }, 'CSTOAN_CHUNK_CHECKSUM_TAB');
        expect(tab.$v).toBe('ok');
        expect(tab.crctab.readUInt32BE(4)).toBe(0xd7978eeb); // block 1 never written: crc of 64 KiB zeros
        const bad = await d.call('ANTOCS_GET_CHUNK_CHECKSUM', { chunkid: rc.chunkid, version: rc.version + 7 }, 'CSTOAN_CHUNK_CHECKSUM');
        expect(bad.$v).toBe('status');
        expect(bad.status).not.toBe(0);
        const blk = await d.call('ANTOCS_GET_CHUNK_BLOCKS', { chunkid: rc.chunkid, version: rc.version }, 'CSTOAN_CHUNK_BLOCKS');
        expect(blk).toMatchObject({ blocks: 1, status: 0 });

        // --- unsolicited notices: this session opens f.txt, the mount appends to it ---
        const op = await s.call('CLTOMA_FUSE_OPEN', { $v: 'single', msgid: 12, inode: lk.inode, uid: 0, gid: 0, flags: 1 }, 'MATOCL_FUSE_OPEN');
        expect(op).toMatchObject({ $v: 'ok', msgid: 12 });
        const fd = openSync(mnt.path('f.txt'), 'a');
        writeSync(fd, 'more\n');
        fsyncSync(fd);
        closeSync(fd);
        const chg = await s.recv('MATOCL_FUSE_CHUNK_HAS_CHANGED');
        expect(chg).toMatchObject({ msgid: 0, inode: lk.inode, chindx: 0, chunkid: rc.chunkid, truncateflag: 0 });
        truncateSync(mnt.path('f.txt'), 100); // a truncate that needs no chunk operation
        // the write's notices (WRITE_CHUNK, WRITE_CHUNK_END) come first; then the truncate's: a plain
        // length notice, or a chunk notice when the master had to truncate the chunk
        const seen: string[] = [];
        for (;;) {
          const n = await s.recvAny(['MATOCL_FUSE_FLENG_HAS_CHANGED', 'MATOCL_FUSE_CHUNK_HAS_CHANGED']);
          seen.push(`${n.name}(${n.value.fleng})`);
          expect(n.value).toMatchObject({ msgid: 0, inode: lk.inode });
          expect([23, 100]).toContain(n.value.fleng);
          if (n.value.fleng === 100) break;
          expect(seen.length).toBeLessThan(6);
        }
        // growing past the last chunk needs no chunk operation: a plain length notice
        truncateSync(mnt.path('f.txt'), 128 * 1024 * 1024);
        for (;;) {
          const n = await s.recvAny(['MATOCL_FUSE_FLENG_HAS_CHANGED', 'MATOCL_FUSE_CHUNK_HAS_CHANGED']);
          seen.push(`${n.name}(${n.value.fleng})`);
          if (n.name === 'MATOCL_FUSE_FLENG_HAS_CHANGED') {
            expect(n.value).toEqual({ msgid: 0, inode: lk.inode, fleng: 128 * 1024 * 1024 });
            break;
          }
          expect(seen.length).toBeLessThan(8);
        }
        console.log(`[protocol] notices: ${seen.join(' ')}`);

        // --- reconnect and random from fresh connections (REGISTER_RECONNECT / GETRANDOM) ---
        const rcn = peer(master.addr, master.ports.cl);
        const re = await rcn.call('CLTOMA_FUSE_REGISTER', { $v: 'reconnect', blob: FUSE_REGISTER_BLOB_ACL, rcode: 3, sessionid: reg.sessionid, version: VERSHEX }, 'MATOCL_FUSE_REGISTER');
        expect(re).toMatchObject({ $v: 'reconnect', version: VERSHEX, status: 0 });
        const rnd = peer(master.addr, master.ports.cl);
        expect((await rnd.call('CLTOMA_FUSE_REGISTER', { $v: 'getrandom', blob: FUSE_REGISTER_BLOB_ACL, rcode: 1 }, 'MATOCL_FUSE_REGISTER')).$v).toBe('random');

        // --- the meta session: trash (matoclserv_fuse_gettrash ... purge) ---
        const m = peer(master.addr, master.ports.cl);
        const mreg = await m.call('CLTOMA_FUSE_REGISTER', { $v: 'newmetasession', blob: FUSE_REGISTER_BLOB_ACL, rcode: 5, version: VERSHEX, info: b('protocol-probe-meta\0') }, 'MATOCL_FUSE_REGISTER');
        expect(mreg).toMatchObject({ $v: 'metasession', version: VERSHEX });
        const trash = await m.call('CLTOMA_FUSE_GETTRASH', { $v: 'all', msgid: 1 }, 'MATOCL_FUSE_GETTRASH');
        const byName = new Map(trash.entries.map((e: any) => [str(e.name), e.inode]));
        const gone = byName.get('gone.txt') as number;
        const gone2 = byName.get('gone2.txt') as number;
        expect(gone).toBeGreaterThan(0);
        expect(gone2).toBeGreaterThan(0);
        const da = await m.call('CLTOMA_FUSE_GETDETACHEDATTR', { $v: 'typed', msgid: 2, inode: gone, dtype: 1 }, 'MATOCL_FUSE_GETDETACHEDATTR');
        expect(da.attr).toMatchObject({ type: 1, length: 13 });
        const tp = await m.call('CLTOMA_FUSE_GETTRASHPATH', { msgid: 3, inode: gone }, 'MATOCL_FUSE_GETTRASHPATH');
        expect(str(tp.path)).toBe('gone.txt');
        expect(await m.call('CLTOMA_FUSE_SETTRASHPATH', { msgid: 4, inode: gone, path: b('back.txt\0') }, 'MATOCL_FUSE_SETTRASHPATH')).toEqual({ msgid: 4, status: 0 });
        expect(await m.call('CLTOMA_FUSE_UNDEL', { msgid: 5, inode: gone }, 'MATOCL_FUSE_UNDEL')).toEqual({ msgid: 5, status: 0 });
        expect(await m.call('CLTOMA_FUSE_PURGE', { msgid: 6, inode: gone2 }, 'MATOCL_FUSE_PURGE')).toEqual({ msgid: 6, status: 0 });
        const sus = await m.call('CLTOMA_FUSE_GETSUSTAINED', { msgid: 7 }, 'MATOCL_FUSE_GETSUSTAINED');
        expect(sus.$v).toBe('ok');
        expect(existsSync(mnt.path('back.txt'))).toBe(true);

        // --- drop the probe session (mfscli -ST) ---
        const adm = peer(master.addr, master.ports.cl);
        const remove = () => adm.call('CLTOMA_SESSION_COMMAND', { cmd: 0, sessionid: reg.sessionid }, 'MATOCL_SESSION_COMMAND');
        expect(await remove()).toEqual({ status: MFS_ERROR_ACTIVE }); // still connected
        s.close();
        rcn.close();
        await waitFor('the probe session to be removable', async () => (await remove()).status === 0, { timeoutMs: 20_000 });
      } finally {
        for (const p of peers) p.close();
      }
      console.log(`[protocol] replies verified on real bytes (${verified.size}): ${[...verified].sort().join(' ')}`);
      console.log(`[protocol] requests accepted by the real daemons (${accepted.size}): ${[...accepted].sort().join(' ')}`);
      expect(verified.size).toBe(31);
      expect(accepted.size).toBe(29);
    });
  }, 180_000);
});
