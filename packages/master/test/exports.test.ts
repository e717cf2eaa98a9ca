import { describe, expect, it } from 'vitest';
import {
  MFS_ERROR_BADPASSWORD,
  MFS_ERROR_EACCES,
  MFS_ERROR_NOPASSWORD,
  MFS_STATUS_OK,
  SESFLAG_ADMIN,
  SESFLAG_DYNAMICIP,
  SESFLAG_IGNOREGID,
  SESFLAG_MAPALL,
  SESFLAG_READONLY,
  clientPasscode,
  passwordDigest,
} from '@mfs-ts/protocol';
import {
  Exports,
  disableMask,
  parseExports,
  parseMinVersion,
  parseNet,
  parseTime,
  type Accounts,
} from '../src/exports.js';
import { oldExportsInfo } from '../src/handlers/listings.js';

// Rules from mfsmaster/exports.c (3.0.117): exports_parsenet, exports_parsetime, exports_parseline /
// exports_parseoptions defaults, and the ranking in exports_check.

const acc: Accounts = {
  userByName: (n) => (n === 'alice' ? { uid: 1001, gid: 1002 } : n === 'nobody' ? { uid: 65534, gid: 65534 } : undefined),
  userById: (id) => (id === 1001 ? { uid: 1001, gid: 1002 } : id === 0 ? { uid: 0, gid: 0 } : undefined),
  groupByName: (n) => (n === 'staff' ? 50 : undefined),
};
const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
const V3 = 0x0300ea;

describe('exports: networks', () => {
  it('parses *, single addresses, /bits, /mask and ranges', () => {
    expect(parseNet('*')).toEqual([0, 0xffffffff]);
    expect(parseNet('192.168.1.7')).toEqual([ip('192.168.1.7'), ip('192.168.1.7')]);
    expect(parseNet('192.168.1.7/24')).toEqual([ip('192.168.1.0'), ip('192.168.1.255')]);
    expect(parseNet('10.0.0.0/255.255.0.0')).toEqual([ip('10.0.0.0'), ip('10.0.255.255')]);
    expect(parseNet('10.0.0.5-10.0.0.9')).toEqual([ip('10.0.0.5'), ip('10.0.0.9')]);
    expect(parseNet('0.0.0.0/0')).toEqual([0, 0xffffffff]);
    expect(parseNet('1.2.3.4/32')).toEqual([ip('1.2.3.4'), ip('1.2.3.4')]);
  });
  it('refuses malformed networks', () => {
    for (const bad of ['1.2.3', '256.1.1.1', '1.2.3.4/33', '1.2.3.4/', 'a.b.c.d', '1.2.3.4-5', '1.2.3.4x', '']) expect(parseNet(bad)).toBeUndefined();
  });
});

describe('exports: times and versions', () => {
  it('reads [#w][#d][#h][#m][#[s]] in that order, or plain seconds', () => {
    expect(parseTime('3600')).toBe(3600);
    expect(parseTime('1w2d3h4m5s')).toBe(604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    expect(parseTime('2h')).toBe(7200);
    expect(parseTime('1d12h')).toBe(86400 + 43200);
    expect(parseTime('5M')).toBe(300); // case-insensitive
    expect(parseTime('1h1d')).toBeUndefined(); // out of order
    expect(parseTime('1h2h')).toBeUndefined(); // twice
    expect(parseTime('1h30')).toBeUndefined(); // bare number after a unit
    expect(parseTime('x')).toBeUndefined();
  });
  it('reads minversion x, x.y, x.y.z', () => {
    expect(parseMinVersion('3')).toBe(0x030000);
    expect(parseMinVersion('2.1')).toBe(0x020100);
    expect(parseMinVersion('1.6.27')).toBe(0x01061b);
    expect(parseMinVersion('1.256')).toBeUndefined();
    expect(parseMinVersion('1.2.3.4')).toBeUndefined();
  });
});

describe('exports: line parsing', () => {
  it('applies MooseFS defaults: ro, maproot 999:999, goals 1..9, trash 0..max', () => {
    const { entries, warnings } = parseExports('*  /', acc);
    expect(warnings).toEqual([]);
    const e = entries[0]!;
    expect(e.sesflags).toBe(SESFLAG_READONLY);
    expect([e.rootuid, e.rootgid, e.mapalluid, e.mapallgid]).toEqual([999, 999, 999, 999]);
    expect([e.mingoal, e.maxgoal, e.mintrashtime, e.maxtrashtime]).toEqual([1, 9, 0, 0xffffffff]);
    expect(e.alldirs).toBe(false);
    expect(e.path.length).toBe(0);
  });
  it('parses every option', () => {
    const { entries, warnings } = parseExports(
      '10.0.0.0/8 /a/b/ rw,alldirs,dynamicip,ignoregid,admin,maproot=alice,mapall=nobody:staff,mingoal=2,maxgoal=3,mintrashtime=1h,maxtrashtime=2d,umask=0027,minversion=3.0.100,disable=chown:rmdir:write',
      acc,
    );
    expect(warnings).toEqual([]);
    const e = entries[0]!;
    expect(e.path.toString()).toBe('a/b');
    expect(e.sesflags).toBe(SESFLAG_DYNAMICIP | SESFLAG_IGNOREGID | SESFLAG_ADMIN | SESFLAG_MAPALL);
    expect(e.alldirs).toBe(true);
    expect([e.rootuid, e.rootgid]).toEqual([1001, 1002]);
    expect([e.mapalluid, e.mapallgid]).toEqual([65534, 50]);
    expect([e.mingoal, e.maxgoal, e.mintrashtime, e.maxtrashtime, e.umask]).toEqual([2, 3, 3600, 172800, 0o027]);
    expect(e.minversion).toBe(0x030064);
    expect(e.disables).toBe((disableMask('chown') | disableMask('rmdir') | disableMask('write')) >>> 0);
  });
  it('mapall without maproot maps root too; maproot=uid looks up the gid', () => {
    const e = parseExports('* / mapall=1001:7', acc).entries[0]!;
    expect([e.rootuid, e.rootgid]).toEqual([1001, 7]);
    const f = parseExports('* / maproot=1001', acc).entries[0]!;
    expect([f.rootuid, f.rootgid]).toEqual([1001, 1002]);
  });
  it('meta entries (".") default root to 0 and ignore path options', () => {
    const { entries, warnings } = parseExports('* . rw,alldirs', acc);
    expect(entries[0]!.meta).toBe(true);
    expect([entries[0]!.rootuid, entries[0]!.rootgid]).toEqual([0, 0]);
    expect(entries[0]!.alldirs).toBe(false);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('meta option ignored: alldirs')]);
  });
  it('skips bad lines with a warning and keeps the good ones; DEFAULTS sets later lines\' options', () => {
    const text = [
      '# comment',
      '',
      'DEFAULTS rw,maxgoal=4',
      '1.2.3.4',
      '1.2.3.999 / rw',
      '* / mingoal=5',
      '* / md5pass=abc',
      '* / maproot=nosuchuser',
      '* /x',
      '* /y bogus',
    ].join('\n');
    const { entries, warnings } = parseExports(text, acc);
    expect(entries.map((e) => e.path.toString())).toEqual(['x', 'y']);
    expect(entries.every((e) => (e.sesflags & SESFLAG_READONLY) === 0 && e.maxgoal === 4)).toBe(true);
    expect(warnings.map((w) => w.lineno)).toEqual([4, 5, 6, 7, 8, 10]);
    expect(warnings[5]!.message).toMatch(/unknown option 'bogus'/);
  });
  it('password= stores MD5(password); md5pass= takes the hex digest', () => {
    const a = parseExports('* / password=secret', acc).entries[0]!;
    const b = parseExports(`* / md5pass=${passwordDigest('secret').toString('hex').toUpperCase()}`, acc).entries[0]!;
    expect(a.needpassword && b.needpassword).toBe(true);
    expect(a.passwordDigest.equals(passwordDigest('secret'))).toBe(true);
    expect(b.passwordDigest.equals(a.passwordDigest)).toBe(true);
  });
});

describe('exports: matching (exports_check)', () => {
  const ex = (text: string) => Exports.parse(text, acc).exports;
  it('matches ip range, path, alldirs and meta', () => {
    const e = ex(['192.168.0.0/16 /data rw', '* /pub', '* .'].join('\n'));
    expect(e.check(ip('192.168.5.5'), V3, '/data').status).toBe(MFS_STATUS_OK);
    expect(e.check(ip('192.168.5.5'), V3, 'data/').status).toBe(MFS_STATUS_OK); // slashes trimmed
    expect(e.check(ip('10.0.0.1'), V3, '/data').status).toBe(MFS_ERROR_EACCES);
    expect(e.check(ip('192.168.5.5'), V3, '/data/sub').status).toBe(MFS_ERROR_EACCES); // no alldirs
    expect(e.check(ip('192.168.5.5'), V3, '/').status).toBe(MFS_ERROR_EACCES);
    expect(e.check(ip('1.1.1.1'), V3, null).status).toBe(MFS_STATUS_OK); // meta
    const a = ex('* /data alldirs');
    expect(a.check(1, V3, '/data/sub/x').status).toBe(MFS_STATUS_OK);
    expect(a.check(1, V3, '/database').status).toBe(MFS_ERROR_EACCES); // prefix must end at '/'
    expect(ex('* / alldirs').check(1, V3, '/any/where').status).toBe(MFS_STATUS_OK);
  });
  it('ranks several matching lines: rw, then root unmapped, then admin, then password, then longer path', () => {
    const pick = (text: string, path = '/a/b') => {
      const r = ex(text).check(1, V3, path);
      return r.grant?.entry.lineno;
    };
    expect(pick('* / alldirs\n* / alldirs,rw')).toBe(2);
    expect(pick('* / alldirs,rw\n* / alldirs')).toBe(1);
    expect(pick('* / alldirs,maproot=1001\n* / alldirs,maproot=0')).toBe(2);
    expect(pick('* / alldirs,maproot=0\n* / alldirs,maproot=0,admin')).toBe(2);
    expect(pick('* / alldirs,maproot=0\n* /a alldirs,maproot=0')).toBe(2);
    expect(pick('* /a alldirs,maproot=0\n* / alldirs,maproot=0')).toBe(1);
    // Each rule is checked only against the current best, in order (not a total order).
    expect(pick('* / alldirs,rw,maproot=1001\n* / alldirs,maproot=0')).toBe(2);
  });
  it('password lines: none given -> NOPASSWORD, wrong -> BADPASSWORD, right -> OK', () => {
    const e = ex('* / rw,password=sesame');
    expect(e.check(1, V3, '/').status).toBe(MFS_ERROR_NOPASSWORD);
    const rnd = Buffer.alloc(32, 7);
    expect(e.check(1, V3, '/', rnd, clientPasscode(rnd, passwordDigest('nope'))).status).toBe(MFS_ERROR_BADPASSWORD);
    expect(e.check(1, V3, '/', rnd, clientPasscode(rnd, passwordDigest('sesame'))).status).toBe(MFS_STATUS_OK);
    // An all-zero challenge counts as none.
    const zero = Buffer.alloc(32);
    expect(e.check(1, V3, '/', zero, clientPasscode(zero, passwordDigest('sesame'))).status).toBe(MFS_ERROR_NOPASSWORD);
    // A non-password line that matches wins when the password is missing.
    expect(ex('* / rw,password=sesame\n* / ro').check(1, V3, '/').status).toBe(MFS_STATUS_OK);
  });
  it('minversion filters old clients', () => {
    const e = ex('* / minversion=3.0.100');
    expect(e.check(1, 0x030064, '/').status).toBe(MFS_STATUS_OK);
    expect(e.check(1, 0x020100, '/').status).toBe(MFS_ERROR_EACCES);
  });
  it('the checksum changes when any entry changes', () => {
    const a = ex('* / rw').checksum;
    expect(ex('* / rw').checksum).toBe(a);
    expect(ex('* / ro').checksum).not.toBe(a);
    expect(ex('* /x rw').checksum).not.toBe(a);
  });
  it('EXPORTS_INFO records for the older vmodes: 35 bytes (+10 limits at vmode 1, +2 umask at vmode 2) plus the path', () => {
    const e = ex('* /data rw\n* .');
    expect(oldExportsInfo(0, e.entries).length).toBe(35 + 4 + 35);
    expect(oldExportsInfo(1, e.entries).length).toBe(45 + 4 + 45);
    const b = oldExportsInfo(2, e.entries);
    expect(b.length).toBe(47 + 4 + 47);
    expect(b.readUInt32BE(8)).toBe(5); // "/data"
    expect(b.subarray(12, 17).toString()).toBe('/data');
  });
});
