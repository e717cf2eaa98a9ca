import { afterEach, describe, expect, it } from 'vitest';
import {
  ANTOAN_UNKNOWN_COMMAND,
  CltomaFuseGetattr,
  CltomaFuseLookup,
  MatoclFuseFlengHasChanged,
  MatoclFuseChunkHasChanged,
  CltomaFuseSustainedInodes,
  MatoclFuseTimeSync,
  MatoclFuseGetattr,
  MatoclFuseLookup,
  CLTOMA_FUSE_GETATTR,
  CLTOMA_FUSE_LOOKUP,
  type Attr,
} from '@mfs-ts/protocol';
import { silentLogger } from '@mfs-ts/common';
import { clientOptions } from '../src/options.js';
import { MasterConn, RegisterError } from '../src/mastercomm.js';
import { FsOps, ROOT_CREDS } from '../src/fsops.js';
import { MfsClientError } from '../src/errors.js';
import { StatusError } from '../src/errors.js';
import { FakeMaster, type FakeConn } from './fake-master.js';

const attr = (uid: number): Attr => ({ flags: 0, type: 1, mode: 0o644, uid, gid: 0, atime: 1, mtime: 2, ctime: 3, nlink: 1, length: uid * 10, rdev: 0, winattr: 0 });

let master: FakeMaster | undefined;
let conn: MasterConn | undefined;
afterEach(async () => {
  await conn?.close();
  await master?.close();
  conn = undefined;
  master = undefined;
});

async function start(opts: ConstructorParameters<typeof FakeMaster>[0], copts: Parameters<typeof clientOptions>[0] = {}) {
  master = await new FakeMaster(opts).listen();
  conn = await MasterConn.connect(clientOptions({ host: '127.0.0.1', port: master.port, ...copts }), silentLogger());
  return { master, conn, fs: new FsOps(conn) };
}

describe('MasterConn registration', () => {
  it('registers with the password challenge and gets a session', async () => {
    const { conn, master } = await start({ password: 'pw' }, { password: 'pw' });
    expect(master.registers).toEqual(['getrandom', 'newsession_pass']);
    expect(conn.session?.sessionid).toBe(7);
    expect(conn.session?.metaid).toBe(0x1234n);
  });

  it('a wrong password is MooseFS "Incorrect password", no password "Password is needed"', async () => {
    master = await new FakeMaster({ password: 'pw' }).listen();
    const o = { host: '127.0.0.1', port: master.port };
    const e1 = await MasterConn.connect(clientOptions({ ...o, password: 'nope' }), silentLogger()).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RegisterError);
    expect((e1 as RegisterError).code).toBe('EACCES');
    expect((e1 as RegisterError).status).toBe(37);
    expect((e1 as Error).message).toBe('mfsmaster register error: Incorrect password');
    const e2 = await MasterConn.connect(clientOptions(o), silentLogger()).catch((e: unknown) => e);
    expect((e2 as RegisterError).status).toBe(36);
    expect((e2 as Error).message).toContain('Password is needed');
  });
});

describe('MasterConn requests', () => {
  it('multiplexes by msgid: answers in reverse order reach the right callers', async () => {
    const held: Array<{ c: FakeConn; msgid: number; inode: number }> = [];
    const { fs } = await start({
      onRequest: (c, type, payload) => {
        if (type !== CLTOMA_FUSE_GETATTR) return;
        const r = CltomaFuseGetattr.decode(payload);
        if (!r.ok) throw r.error;
        held.push({ c, msgid: r.value.msgid, inode: r.value.inode });
        if (held.length === 5) {
          for (const h of held.reverse()) h.c.send(MatoclFuseGetattr.encode({ $v: 'ok', msgid: h.msgid, attr: attr(h.inode) }));
        }
      },
    });
    const inodes = [11, 12, 13, 14, 15];
    const got = await Promise.all(inodes.map((i) => fs.getattr(i, ROOT_CREDS)));
    expect(got.map((a) => a.uid)).toEqual(inodes);
    expect(new Set(held.map((h) => h.msgid)).size).toBe(5);
  });

  it('a status answer becomes a StatusError with the MooseFS status', async () => {
    const { fs } = await start({
      onRequest: (c, type, payload) => {
        if (type !== CLTOMA_FUSE_LOOKUP) return;
        const r = CltomaFuseLookup.decode(payload);
        if (!r.ok) throw r.error;
        c.send(MatoclFuseLookup.encode({ $v: 'status', msgid: r.value.msgid, status: 3 }));
      },
    });
    const e = await fs.lookup(1, Buffer.from('x'), ROOT_CREDS).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StatusError);
    expect((e as StatusError).status).toBe(3);
  });

  it('ANTOAN_UNKNOWN_COMMAND with the msgid means ENOTSUP', async () => {
    const { fs } = await start({
      onRequest: (c, type, payload) => {
        if (type !== CLTOMA_FUSE_GETATTR) return;
        const b = Buffer.alloc(12);
        b.writeUInt32BE(ANTOAN_UNKNOWN_COMMAND, 0);
        b.writeUInt32BE(4, 4);
        payload.copy(b, 8, 0, 4);
        c.send(b);
      },
    });
    const e = await fs.getattr(1, ROOT_CREDS).catch((x: unknown) => x);
    expect((e as StatusError).status).toBe(39);
  });

  it('after the master drops the link, reconnects with the same session and resends', async () => {
    let first = true;
    const { fs, master, conn } = await start({
      onRequest: (c, type, payload) => {
        if (type !== CLTOMA_FUSE_GETATTR) return;
        if (first) {
          first = false;
          c.sock.destroy(); // lost with the request in flight
          return;
        }
        const r = CltomaFuseGetattr.decode(payload);
        if (!r.ok) throw r.error;
        c.send(MatoclFuseGetattr.encode({ $v: 'ok', msgid: r.value.msgid, attr: attr(42) }));
      },
    });
    const a = await fs.getattr(5, ROOT_CREDS);
    expect(a.uid).toBe(42);
    expect(master.registers).toEqual(['newsession', 'reconnect_meta']);
    expect(conn.session?.sessionid).toBe(7);
  }, 15_000);

  it('a dead master gives EIO after mfsioretries, not an endless wait', async () => {
    const { master: m, fs } = await start({ onRequest: () => undefined }, { ioRetries: 3 });
    await m.close(); // nothing listens any more
    const t0 = Date.now();
    const e = await fs.getattr(1, ROOT_CREDS).catch((x: unknown) => x);
    expect(MfsClientError.is(e)).toBe(true);
    expect((e as MfsClientError).code).toBe('EIO');
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 15_000);

  it('a silent master (no NOPs) is dropped after 10 s and the request fails after its retries', async () => {
    const { fs } = await start({ onRequest: () => undefined }, { ioRetries: 1 });
    const e = await fs.getattr(1, ROOT_CREDS).catch((x: unknown) => x);
    expect((e as MfsClientError).code).toBe('EIO');
  }, 20_000);

  it('keeps the link alive: TIME_SYNC at once, NOP (msgid 0) after 2 s idle; answers TIME_SYNC into the clock offset', async () => {
    const seen: Array<{ type: number; len: number; msgid: number; at: number }> = [];
    const t0 = Date.now();
    const { conn } = await start({
      onRequest: (c, type, payload) => {
        seen.push({ type, len: payload.length, msgid: payload.length >= 4 ? payload.readUInt32BE(0) : -1, at: Date.now() - t0 });
        if (type === 704) c.send(MatoclFuseTimeSync.encode({ $v: 'withMsgid', msgid: 0, usec: BigInt(Date.now() + 5000) * 1000n }));
      },
    });
    await new Promise((r) => setTimeout(r, 3200));
    const ts = seen.find((x) => x.type === 704);
    expect(ts).toMatchObject({ len: 4, msgid: 0 });
    const nop = seen.find((x) => x.type === 0);
    expect(nop).toMatchObject({ len: 4, msgid: 0 });
    expect(nop!.at).toBeGreaterThanOrEqual(2000);
    expect(conn.clockOffsetUs).toBeGreaterThan(4_000_000);
    expect(conn.clockOffsetUs).toBeLessThan(6_000_000);
  }, 10_000);

  it('close() gives up after 500 ms on a master that never answers CLOSESESSION (fs_close_session)', async () => {
    const { conn, master } = await start({ silentClose: true });
    const t0 = Date.now();
    await conn.close();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(master.registers).toContain('closesession_meta');
  });

  it('sends the inodes it holds as CLTOMA_FUSE_SUSTAINED_INODES at once and every 60 s', async () => {
    const got = new Promise<number[]>((resolve) => {
      void start({
        onRequest: (_c, type, payload) => {
          if (type !== 700) return;
          const r = CltomaFuseSustainedInodes.decode(payload);
          if (r.ok) resolve(r.value.inodes);
        },
      }).then(({ conn }) => {
        conn.sustainedInodes = () => [5, 9, 77];
      });
    });
    expect(await got).toEqual([5, 9, 77]);
  });

  it('hands CHUNK_HAS_CHANGED (msgid 0) to listeners', async () => {
    const { conn, master } = await start({ onRequest: () => undefined });
    const got = new Promise<number[]>((r) => conn.once('chunkChanged', (...a) => r(a)));
    for (const s of master.conns) {
      s.write(MatoclFuseChunkHasChanged.encode({ msgid: 0, inode: 12, chindx: 3, chunkid: 0xabcdef, version: 4, fleng: 999, truncateflag: 1 }));
    }
    expect(await got).toEqual([12, 3, 0xabcdef, 4, 999, 1]);
  });

  it('hands FLENG_HAS_CHANGED (msgid 0) to listeners', async () => {
    const { conn, master } = await start({ onRequest: () => undefined });
    const got = new Promise<[number, number]>((r) => conn.once('flengChanged', (i, l) => r([i, l])));
    for (const s of master.conns) s.write(MatoclFuseFlengHasChanged.encode({ msgid: 0, inode: 99, fleng: 123456 }));
    expect(await got).toEqual([99, 123456]);
  });
});
