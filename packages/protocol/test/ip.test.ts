import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipToU32, u32ToIp } from '../src/index.js';

describe('ip:32 addresses', () => {
  it('converts dotted quads both ways, unwrapping IPv4-mapped IPv6', () => {
    expect(ipToU32('10.200.1.2')).toBe(0x0ac80102);
    expect(ipToU32('::ffff:127.0.0.1')).toBe(0x7f000001);
    expect(u32ToIp(0xc0a80001)).toBe('192.168.0.1');
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => ipToU32(u32ToIp(n)) === n));
  });
  it('refuses what is not an IPv4 address', () => {
    for (const s of [undefined, '', '::1', 'host', '1.2.3', '1.2.3.256', '1.2.3.4.5', '01.2.3.x']) expect(ipToU32(s)).toBeUndefined();
  });
});
