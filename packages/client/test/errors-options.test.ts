import { describe, expect, it } from 'vitest';
import { constants } from 'node:os';
import { MFS_STATUS, passwordDigest } from '@mfs-ts/protocol';
import { errnoNumber, statusError, statusToErrno } from '../src/errors.js';
import { DEFAULT_OPTIONS, OptionError, clientOptions, fuseOptionList, parseMountArgs } from '../src/options.js';

describe('status -> errno (mfs_errorconv in mfsclient/mfs_fuse.c)', () => {
  it('maps the statuses mfsmount maps, everything else to EINVAL', () => {
    const expected: Record<number, string> = {
      1: 'EPERM', 2: 'ENOTDIR', 3: 'ENOENT', 4: 'EACCES', 5: 'EEXIST', 6: 'EINVAL', 7: 'ENOTEMPTY', 8: 'ENXIO',
      10: 'EFBIG', 12: 'ENOSPC', 17: 'EBADF', 21: 'ENOSPC', 22: 'EIO', 33: 'EROFS', 34: 'EDQUOT', 38: 'ENODATA',
      39: 'ENOTSUP', 40: 'ERANGE', 43: 'ENXIO', 45: 'EAGAIN', 46: 'EINTR', 47: 'ECANCELED', 48: 'ENOENT',
    };
    for (const s of MFS_STATUS) {
      if (s.code === 0) continue;
      expect([s.name, statusToErrno(s.code)]).toEqual([s.name, expected[s.code] ?? 'EINVAL']);
    }
    expect(statusToErrno(250)).toBe('EINVAL');
  });

  it('errors carry code, errno number, status and MooseFS message', () => {
    const e = statusError(3, 'stat', '/a/b');
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(-constants.errno.ENOENT);
    expect(e.status).toBe(3);
    expect(e.message).toBe("ENOENT: stat '/a/b': No such file or directory");
    expect(errnoNumber('ENOTEMPTY')).toBe(-constants.errno.ENOTEMPTY);
  });
});

describe('mfsmount-ts command line', () => {
  it('takes mfsmount option letters and -o names', () => {
    const a = parseMountArgs(['/mnt/x', '-H', '10.1.2.3', '-P9521', '-S', 'sub/dir', '-f', '-o', 'mfsioretries=4,mfscachemode=DIRECT,big_writes,max_write=131072,ro']);
    expect(a.mountpoint).toBe('/mnt/x');
    expect(a.foreground).toBe(true);
    expect(a.options.host).toBe('10.1.2.3');
    expect(a.options.port).toBe(9521);
    expect(a.options.subfolder).toBe('/sub/dir');
    expect(a.options.ioRetries).toBe(4);
    expect(a.options.cacheMode).toBe('DIRECT');
    expect(a.options.readOnly).toBe(true);
    expect(a.fuseOptions).toEqual(['big_writes', 'max_write=131072', 'ro']);
    expect(Object.isFrozen(a.options)).toBe(true);
  });

  it('has mfsmount defaults', () => {
    const a = parseMountArgs(['/m']);
    expect(a.options.host).toBe('mfsmaster');
    expect(a.options.port).toBe(9421);
    expect(a.options.ioRetries).toBe(30);
    expect(a.options.attrCacheTo).toBe(1);
    expect(a.options.writeCacheSize).toBe(256 * 1024 * 1024);
    expect(a.options.writeWorker).toBe(true);
    expect(parseMountArgs(['-o', 'mfswriteworker=0', '/m']).options.writeWorker).toBe(false);
    expect(clientOptions({ writeWorker: false }).writeWorker).toBe(false);
    expect(() => parseMountArgs(['-o', 'mfswriteworker=2', '/m'])).toThrow(/mfswriteworker/);
    expect(a.foreground).toBe(false);
  });

  it('mfspassword is kept as its MD5, mfsmd5pass as given, -o mfsmaster= / mfsport= / mfssubfolder=', () => {
    const a = parseMountArgs(['-o', 'mfsmaster=m1,mfsport=1234,mfssubfolder=/x,mfspassword=secret', '/m']);
    expect(a.options.passwordDigest?.equals(passwordDigest('secret'))).toBe(true);
    expect([a.options.host, a.options.port, a.options.subfolder]).toEqual(['m1', 1234, '/x']);
    const hex = passwordDigest('secret').toString('hex');
    expect(parseMountArgs(['-o', `mfsmd5pass=${hex}`, '/m']).options.passwordDigest?.toString('hex')).toBe(hex);
  });

  it('rejects bad values and unknown mfs options', () => {
    expect(() => parseMountArgs(['-o', 'mfsport=abc', '/m'])).toThrow(OptionError);
    expect(() => parseMountArgs(['-o', 'mfsport=70000', '/m'])).toThrow(OptionError);
    expect(() => parseMountArgs(['-o', 'mfscachemode=SOMETIMES', '/m'])).toThrow(/cachemode/);
    expect(() => parseMountArgs(['-o', 'mfsbogus=1', '/m'])).toThrow(/unknown option/);
    expect(() => parseMountArgs(['-o', 'mfsmd5pass=xyz', '/m'])).toThrow(OptionError);
    expect(() => parseMountArgs([])).toThrow(/mount point/);
    expect(() => parseMountArgs(['-H'])).toThrow(/argument/);
  });

  it('Node API options', () => {
    const o = clientOptions({ host: 'h', port: 1, subfolder: 'a', password: 'p', ioRetries: 2 });
    expect([o.host, o.port, o.subfolder, o.ioRetries]).toEqual(['h', 1, '/a', 2]);
    expect(o.passwordDigest?.equals(passwordDigest('p'))).toBe(true);
    expect(clientOptions({}).port).toBe(DEFAULT_OPTIONS.port);
  });

  it('libfuse options: large I/O, use_ino, caches from mfs options, user options win', () => {
    const a = parseMountArgs(['/m', '-H', 'h', '-o', 'mfsattrcacheto=2.5,mfscachemode=DIRECT,max_write=65536,ro']);
    const l = fuseOptionList(a.options, a.fuseOptions);
    expect(l).toEqual(expect.arrayContaining(['big_writes', 'max_read=131072', 'use_ino', 'fsname=mfs#h:9421', 'attr_timeout=2.5', 'entry_timeout=0', 'direct_io', 'ro']));
    expect(l).toContain('max_write=65536');
    expect(l).not.toContain('max_write=131072');
    expect(fuseOptionList(parseMountArgs(['/m']).options, [])).toContain('auto_cache');
    expect(fuseOptionList(parseMountArgs(['/m']).options, [])).toEqual(expect.arrayContaining(['allow_other', 'default_permissions']));
    const nd = parseMountArgs(['/m', '-o', 'nodefault_permissions']);
    expect(fuseOptionList(nd.options, nd.fuseOptions)).not.toContain('default_permissions');
    expect(fuseOptionList(nd.options, nd.fuseOptions)).not.toContain('nodefault_permissions');
    expect(fuseOptionList(parseMountArgs(['/m', '-o', 'mfscachemode=YES']).options, [])).toContain('kernel_cache');
  });
});
