import { describe, expect, it } from 'vitest';
import { applyCfgSchema, bool, ConfigError, int, parseCfgText, str, uint } from '../src/index.js';

describe('MooseFS cfg files', () => {
  it('parses KEY = VALUE lines as mfscommon/cfg.c does', () => {
    const { values, warnings } = parseCfgText(
      ['# comment', 'WORKING_USER = mfs', '  DATA_PATH=/var/lib/mfs  ', 'EMPTY =', 'NAME = a # not a comment', 'garbage line', 'DATA_PATH = /other'].join('\n'),
    );
    expect(values.get('WORKING_USER')).toBe('mfs');
    expect(values.get('DATA_PATH')).toBe('/other'); // a later line wins
    expect(values.get('EMPTY')).toBe('');
    expect(values.get('NAME')).toBe('a # not a comment');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.line).toBe(6);
  });

  it('applies defaults, converts numbers like strtol base 0, names the key of a bad value', () => {
    const schema = { A: uint(5), B: int(-1), C: str('x'), D: bool(false), E: uint(0) };
    const { values, unknown } = applyCfgSchema(schema, new Map([['B', '0x10'], ['D', '1'], ['E', '010'], ['Z', '1']]));
    expect(values).toEqual({ A: 5, B: 16, C: 'x', D: true, E: 8 });
    expect(unknown).toEqual(['Z']);
    expect(() => applyCfgSchema(schema, new Map([['A', '12abc']]))).toThrow(ConfigError);
    try {
      applyCfgSchema(schema, new Map([['A', '-3']]));
    } catch (e) {
      expect((e as ConfigError).key).toBe('A');
      expect((e as Error).message).toContain('A');
    }
  });

  it('runs per-key checks', () => {
    const schema = { T: uint(10, { check: (v) => (v < 10 ? 'must be at least 10' : undefined) }) };
    expect(() => applyCfgSchema(schema, new Map([['T', '5']]))).toThrow(/T = '5': must be at least 10/);
  });
});

describe('listenTcp', () => {
  it('binds, reports the port, and names host:port when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const { listenTcp, ListenError } = await import('../src/index.js');
    const a = createServer();
    const addr = await listenTcp(a, '127.0.0.1', 0);
    expect(addr.port).toBeGreaterThan(0);
    const b = createServer();
    await expect(listenTcp(b, '127.0.0.1', addr.port)).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${addr.port}: address already in use`));
    await expect(listenTcp(createServer(), '*', addr.port)).rejects.toBeInstanceOf(ListenError);
    await new Promise((r) => a.close(r));
  });
});
