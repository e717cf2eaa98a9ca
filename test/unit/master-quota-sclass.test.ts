// Quota control and storage class administration on the master's client link, sent by our Node
// client's master connection (what mfsmount's tools proxy forwards): the admin / remapped-root rules
// of matoclserv.c, the reply layouts, and EQUOTA from the namespace once a hard limit is reached.
import {
  CltomaFuseQuotacontrol,
  CltomaSclassCreate,
  CltomaSclassDelete,
  CltomaSclassList,
  CltomaFuseSetsclass,
  MatoclFuseSetsclass,
  MatoclFuseQuotacontrol,
  MatoclSclassCreate,
  MatoclSclassDelete,
  MatoclSclassList,
  MFS_ERROR_CLASSEXISTS,
  MFS_ERROR_CLASSINUSE,
  MFS_ERROR_EACCES,
  MFS_ERROR_EPERM,
  MFS_ERROR_EPERM_NOTADMIN,
  MFS_ERROR_QUOTA,
  MFS_STATUS_OK,
  SCLASS_LIST_SHORT,
  Reader,
} from '@mfs-ts/protocol';
import { MfsClient } from '@mfs-ts/client';
import { Master } from '@mfs-ts/master';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = { uid: 0, gids: [0] };
let master: Master;
let admin: MfsClient;
let plain: MfsClient;
let remapped: MfsClient;

beforeAll(async () => {
  master = new Master({
    cfg: { MATOCL_LISTEN_HOST: '127.0.0.1', MATOCL_LISTEN_PORT: '0', MATOCS_LISTEN_HOST: '127.0.0.1', MATOCS_LISTEN_PORT: '0', MATOML_LISTEN_HOST: '127.0.0.1', MATOML_LISTEN_PORT: '0' },
    // "/" as admin; /p rw without admin (root kept); /r rw with root mapped to 999 (the default)
    exportsText: ['* / rw,admin,maproot=0:0', '* /p rw,maproot=0:0', '* /r rw'].join('\n'),
  });
  await master.start();
  const port = master.ports.cl;
  admin = await MfsClient.connect({ host: '127.0.0.1', port });
  for (const d of ['p', 'r', 'q']) await admin.mkdir(`/${d}`, { mode: 0o777 });
  plain = await MfsClient.connect({ host: '127.0.0.1', port, subfolder: '/p' });
  remapped = await MfsClient.connect({ host: '127.0.0.1', port, subfolder: '/r' });
});

afterAll(async () => {
  for (const c of [admin, plain, remapped]) await c?.close();
  await master?.stop();
});

type Limits = { sinodes: number; hinodes: number; slength: bigint; hlength: bigint; ssize: bigint; hsize: bigint; srealsize: bigint; hrealsize: bigint };
const none: Limits = { sinodes: 0, hinodes: 0, slength: 0n, hlength: 0n, ssize: 0n, hsize: 0n, srealsize: 0n, hrealsize: 0n };

async function quota(c: MfsClient, inode: number, form: 'get' | 'full', flags: number, lim: Partial<Limits> = {}) {
  const p = await c.core.master.call(
    (msgid) => CltomaFuseQuotacontrol.encode(form === 'get' ? { $v: 'get', msgid, inode, flags } : { $v: 'full', msgid, inode, flags, graceperiod: 0, ...none, ...lim }),
    MatoclFuseQuotacontrol.id,
  );
  const r = MatoclFuseQuotacontrol.decode(p);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('QUOTACONTROL (mfssetquota / mfsgetquota / mfsdelquota)', () => {
  it('sets, reads and deletes limits; a full directory refuses new entries with EQUOTA', async () => {
    const q = (await admin.stat('/q')).ino;
    const set = await quota(admin, q, 'full', 0x10 | 0x20, { hinodes: 2, hlength: 100n });
    expect(set).toMatchObject({ $v: 'ok', flags: 0x30, hinodes: 2, hlength: 100n, curinodes: 0 });
    await admin.writeFile('/q/a', '');
    await admin.writeFile('/q/b', '');
    const fs = admin.core.fs;
    const st = await fs.create(q, Buffer.from('c'), 0o644, 0, ROOT).then(() => MFS_STATUS_OK, (e: { status: number }) => e.status);
    expect(st).toBe(MFS_ERROR_QUOTA);
    // growing a file past the length limit is refused too (fs_truncate's quota test)
    const a = (await admin.stat('/q/a')).ino;
    expect(await fs.truncate(a, 101, ROOT).then(() => MFS_STATUS_OK, (e: { status: number }) => e.status)).toBe(MFS_ERROR_QUOTA);
    await fs.truncate(a, 100, ROOT);
    // flags 0 = read: anyone may; the usage is the directory's
    expect(await quota(plain, 1, 'full', 0)).toMatchObject({ $v: 'ok', flags: 0, curinodes: 0 });
    expect(await quota(admin, q, 'full', 0)).toMatchObject({ $v: 'ok', flags: 0x30, curinodes: 2, curlength: 100n });
    // the 9-byte form removes the flagged limits
    expect(await quota(admin, q, 'get', 0x10)).toMatchObject({ $v: 'ok', flags: 0x20, hinodes: 0, hlength: 100n });
    await admin.writeFile('/q/c', '');
    expect(await quota(admin, q, 'get', 0xff)).toMatchObject({ $v: 'ok', flags: 0 });
    expect(master.ns.quotaList()).toEqual([]);
  });

  it('changing needs an admin session (EPERM) whose root is not remapped (EACCES)', async () => {
    expect(await quota(plain, 1, 'full', 0x10, { hinodes: 5 })).toMatchObject({ $v: 'status', status: MFS_ERROR_EPERM });
    expect(await quota(remapped, 1, 'full', 0x10, { hinodes: 5 })).toMatchObject({ $v: 'status', status: MFS_ERROR_EACCES });
    expect(await quota(plain, 1, 'get', 0x10)).toMatchObject({ $v: 'status', status: MFS_ERROR_EPERM });
  });
});

describe('storage class administration (mfsscadmin)', () => {
  const labels = [[[0, 0, 0, 0]], [[0, 0, 0, 0], [0, 0, 0, 0]], [[0, 0, 0, 0]]];
  const create = async (c: MfsClient, name: string) =>
    MatoclSclassCreate.decode(await c.core.master.call((msgid) => CltomaSclassCreate.encode({ msgid, name: Buffer.from(name), fver: 0, adminOnly: 0, mode: 1, archDelay: 0, labels }), MatoclSclassCreate.id));
  const list = async (c: MfsClient) => {
    const r = MatoclSclassList.decode(await c.core.master.call((msgid) => CltomaSclassList.encode({ msgid, longmode: 0 }), MatoclSclassList.id));
    if (!r.ok) throw new Error(r.error.message);
    return SCLASS_LIST_SHORT.read(new Reader(r.value.data)).map((b) => b.toString());
  };

  it('an admin creates and deletes (one record each); others only list; a class in use (trash included) stays', async () => {
    const before = master.metaversion;
    expect(await create(admin, 'gold')).toMatchObject({ ok: true, value: { status: MFS_STATUS_OK } });
    expect(master.metaversion).toBe(before + 1n);
    expect(await create(admin, 'gold')).toMatchObject({ ok: true, value: { status: MFS_ERROR_CLASSEXISTS } });
    expect(await create(plain, 'tin')).toMatchObject({ ok: true, value: { status: MFS_ERROR_EPERM_NOTADMIN } });
    expect(await list(plain)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', 'gold']);
    // a named class is usable by files and gives them its copies
    await admin.writeFile('/g', '');
    const g = (await admin.stat('/g')).ino;
    const asAdmin = { uid: 0, gids: [0], sesflags: 0x08, rootinode: 1 };
    expect(master.ns.setsclass(asAdmin, g, 10, 10, 0).ok).toBe(true);
    expect(await admin.getGoal('/g')).toBe('gold');
    const del = async (c: MfsClient, name: string) => MatoclSclassDelete.decode(await c.core.master.call((msgid) => CltomaSclassDelete.encode({ msgid, name: Buffer.from(name) }), MatoclSclassDelete.id));
    expect(await del(plain, 'gold')).toMatchObject({ ok: true, value: { status: MFS_ERROR_EPERM_NOTADMIN } });
    // in use while a file has it, in the trash too (sclass files counter)
    await admin.unlink('/g');
    expect(await del(admin, 'gold')).toMatchObject({ ok: true, value: { status: MFS_ERROR_CLASSINUSE } });
    expect(master.ns.setsclass(asAdmin, g, 2, 2, 0).ok).toBe(true);
    expect(await del(admin, 'gold')).toMatchObject({ ok: true, value: { status: MFS_STATUS_OK } });
    expect(await list(admin)).not.toContain('gold');
  });

  it('an admin-only class is refused to a session without the admin flag, in and out (mfssetsclass)', async () => {
    const mk = await admin.core.master.call(
      (msgid) => CltomaSclassCreate.encode({ msgid, name: Buffer.from('vip'), fver: 0, adminOnly: 1, mode: 1, archDelay: 0, labels }),
      MatoclSclassCreate.id,
    );
    expect(MatoclSclassCreate.decode(mk)).toMatchObject({ ok: true, value: { status: MFS_STATUS_OK } });
    await admin.writeFile('/p/v', '');
    const set = async (c: MfsClient, inode: number) => {
      const r = MatoclFuseSetsclass.decode(
        await c.core.master.call((msgid) => CltomaFuseSetsclass.encode({ $v: 'named', msgid, inode, uid: 0, setid: 0xff, smode: 0, dst: Buffer.from('vip') }), MatoclFuseSetsclass.id),
      );
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    const v = (await admin.stat('/p/v')).ino;
    expect(await set(plain, v)).toMatchObject({ $v: 'status', status: MFS_ERROR_EPERM });
    expect(await set(admin, v)).toMatchObject({ $v: 'ok', changed: 1 });
    expect(await admin.getGoal('/p/v')).toBe('vip');
    // nor may it take a file out of such a class
    const out = MatoclFuseSetsclass.decode(
      await plain.core.master.call((msgid) => CltomaFuseSetsclass.encode({ $v: 'goal', msgid, inode: v, uid: 0, setid: 2, smode: 0 }), MatoclFuseSetsclass.id),
    );
    expect(out).toMatchObject({ ok: true, value: { $v: 'status', status: MFS_ERROR_EPERM } });
    expect(await admin.getGoal('/p/v')).toBe('vip');
  });
});
