import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTR_RECORD_SIZE, authCodePasscode, clientPasscode, decodeAttr, dirLengthCode, dirLengthFromCode, encodeAttr,
  formatVersion, formatVersionString, FUSE_REGISTER_BLOB_ACL, parseVersionInt, parseVersionString, passwordDigest, putAttr, VERSHEX,
  versionAtLeast, versionToInt, VERSSTR,
} from '../src/index.js';

describe('ATTR record', () => {
  it('any 36 bytes with a length below 2^53 round-trip exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 36, maxLength: 36 }), (a) => {
        const b = Buffer.from(a);
        const type = b[1]! >> 4;
        if (type !== 5 && type !== 6) {
          // keep the 64-bit length below 2^53 so it is exact as a number
          b[27] = 0;
          b[28] = b[28]! & 0x1f;
        }
        const r = decodeAttr(b);
        if (!r.ok) throw r.error;
        expect(encodeAttr(r.value).equals(b)).toBe(true);
        const c = Buffer.alloc(40);
        expect(putAttr(c, 2, r.value)).toBe(38);
        expect(c.subarray(2, 38).equals(b)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects wrong sizes and lengths beyond 2^53 as values', () => {
    expect(decodeAttr(Buffer.alloc(35)).ok).toBe(false);
    const b = Buffer.alloc(ATTR_RECORD_SIZE);
    b.writeUInt16BE(0x1000, 1);
    b[27] = 0xff;
    const r = decodeAttr(b);
    expect(r.ok).toBe(false);
  });

  it('directory length codes follow fsnodes_fill_attr', () => {
    expect(dirLengthCode(0)).toBe(1);
    expect(dirLengthCode(12)).toBe(1200);
    expect(dirLengthCode(1023)).toBe(102300);
    expect(dirLengthCode(1024)).toBe(1000100);
    expect(dirLengthCode(234 * 1024 + 440)).toBe(1023442);
    expect(dirLengthCode(523 * 1024 * 1024 + 126 * 1024)).toBe(2052312);
    expect(dirLengthCode(12n * 1024n ** 3n + 1000n * 1024n ** 2n)).toBe(3001297);
    expect(dirLengthCode(2n ** 50n)).toBe(5000100);
    expect(dirLengthCode(2n ** 61n)).toBe(6000200);
    expect(dirLengthFromCode(1200)).toBe(12);
    expect(dirLengthFromCode(1000100)).toBe(1024);
  });
});

describe('version words', () => {
  it('3.0.117 is 0x0300EA and prints back', () => {
    expect(VERSHEX).toBe(0x0300ea);
    expect(versionToInt(3, 0, 117)).toBe(0x0300ea);
    expect(parseVersionInt(0x0300ea)).toEqual({ major: 3, mid: 0, minor: 117, pro: false });
    expect(parseVersionInt(0x0300eb).pro).toBe(true);
    expect(formatVersion(0x0300ea)).toBe('3.0.117');
    expect(formatVersionString(VERSHEX)).toBe(VERSSTR);
    expect(parseVersionString(VERSSTR)).toBe(0x0300ea);
    expect(parseVersionString('3.0.117')).toBe(0x0300ea);
    expect(parseVersionString('1.6.27')).toBe(0x01061b);
    expect(parseVersionString('3.0.x')).toBeUndefined();
    expect(versionAtLeast(0x0300ea, 3, 0, 113)).toBe(true);
    expect(versionAtLeast(0x0300ea, 3, 0, 118)).toBe(false);
  });
  it('parse/format round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 127 }), (a, b, c) => {
        expect(parseVersionString(formatVersion(versionToInt(a, b, c)))).toBe(versionToInt(a, b, c));
      }),
    );
  });
});

describe('auth', () => {
  const md5 = (...p: Buffer[]) => createHash('md5').update(Buffer.concat(p)).digest();
  it('client passcode = md5(rnd[0:16] + md5(password) + rnd[16:32]) (exports_check)', () => {
    const rnd = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const dig = passwordDigest('secret');
    expect(dig.equals(md5(Buffer.from('secret')))).toBe(true);
    expect(clientPasscode(rnd, dig).equals(md5(rnd.subarray(0, 16), dig, rnd.subarray(16)))).toBe(true);
    expect(authCodePasscode(rnd, 'code').equals(md5(rnd.subarray(0, 16), Buffer.from('code'), rnd.subarray(16)))).toBe(true);
    expect(() => clientPasscode(rnd.subarray(1), dig)).toThrow(RangeError);
  });
  it('register blob is the 64-byte FUSE_REGISTER_BLOB_ACL', () => {
    expect(FUSE_REGISTER_BLOB_ACL.length).toBe(64);
    expect(FUSE_REGISTER_BLOB_ACL.toString('latin1').startsWith('DjI1GAQDULI5d2Yj')).toBe(true);
  });
});
