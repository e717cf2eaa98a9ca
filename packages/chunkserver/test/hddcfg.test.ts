import { describe, expect, it } from 'vitest';
import { parseHddCfg, parseMfsSize } from '../src/hddspacemgr/hddcfg.js';
import { chunkserverConfig, masterTimeout, parseLabels } from '../src/cfg.js';

describe('mfshdd.cfg', () => {
  it('parses disks, prefixes, limits and comments', () => {
    const { disks, warnings } = parseHddCfg(
      [
        '# data disks',
        '/mnt/hdd1',
        '*/mnt/hdd2/',
        '~/mnt/hdd3 \t',
        '>/mnt/hdd4',
        '*</mnt/hdd5',
        '/mnt/hdd6 100GiB',
        '/mnt/hdd7\t-5GiB',
        '/mnt/hdd8 1.5T',
        '/mnt/my disk',
        '',
        '   ',
        '/mnt/hdd9 12Kx',
        '/mnt/hdd10 -7',
        '#/mnt/commented',
        '/mnt/crlf\r',
      ].join('\n'),
    );
    const by = Object.fromEntries(disks.map((d) => [d.path, d]));
    expect(disks.map((d) => d.path)).toEqual([
      '/mnt/hdd1/',
      '/mnt/hdd2/',
      '/mnt/hdd3/',
      '/mnt/hdd4/',
      '/mnt/hdd5/',
      '/mnt/hdd6/',
      '/mnt/hdd7/',
      '/mnt/hdd8/',
      '/mnt/my disk/',
      '/mnt/hdd9 12Kx/',
      '/mnt/hdd10/',
      '/mnt/crlf/',
    ]);
    expect(by['/mnt/hdd1/']).toMatchObject({ markedForRemoval: false, ignoreSize: false, rebalance: 'std', sizeLimit: 0, leaveFree: undefined });
    expect(by['/mnt/hdd2/']!.markedForRemoval).toBe(true);
    expect(by['/mnt/hdd3/']!.ignoreSize).toBe(true);
    expect(by['/mnt/hdd4/']!.rebalance).toBe('dst');
    expect(by['/mnt/hdd5/']).toMatchObject({ markedForRemoval: true, rebalance: 'src' });
    expect(by['/mnt/hdd6/']!.sizeLimit).toBe(100 * 2 ** 30);
    expect(by['/mnt/hdd7/']!.leaveFree).toBe(5 * 2 ** 30);
    expect(by['/mnt/hdd8/']!.sizeLimit).toBe(1.5e12);
    expect(by['/mnt/hdd10/']!.leaveFree).toBe(7);
    expect(warnings.length).toBe(1);
  });

  it('sizes follow sizestr.h: k=10^3, Ki=2^10, bare K is not a suffix, optional B', () => {
    expect(parseMfsSize('256MiB')).toBe(256 * 2 ** 20);
    expect(parseMfsSize('10k')).toBe(10000);
    expect(parseMfsSize('10Ki')).toBe(10240);
    expect(parseMfsSize('10K')).toBeUndefined();
    expect(parseMfsSize('2GB')).toBe(2e9);
    expect(parseMfsSize('.5Mi')).toBe(2 ** 19);
    expect(parseMfsSize('7')).toBe(7);
    expect(parseMfsSize('x')).toBeUndefined();
    expect(parseMfsSize('')).toBeUndefined();
  });
});

describe('mfschunkserver.cfg', () => {
  it('has MooseFS defaults', () => {
    const c = chunkserverConfig();
    expect(c.MASTER_HOST).toBe('mfsmaster');
    expect(c.MASTER_PORT).toBe('9420');
    expect(c.CSSERV_LISTEN_PORT).toBe('9422');
    expect(c.MASTER_RECONNECTION_DELAY).toBe(5);
    expect(c.HDD_LEAVE_SPACE_DEFAULT).toBe('256MiB');
    expect(c.HDD_CONF_FILENAME).toBe('/etc/mfs/mfshdd.cfg');
    expect(c.FILE_UMASK).toBe(0o27);
    expect(chunkserverConfig({ FILE_UMASK: '002' }).FILE_UMASK).toBe(2);
    expect(masterTimeout(0)).toBe(0);
    expect(masterTimeout(3)).toBe(10);
    expect(masterTimeout(70000)).toBe(65535);
  });

  it('LABELS become a bit mask', () => {
    expect(parseLabels('A,b;C')).toEqual({ mask: 0b111, warnings: [] });
    expect(parseLabels('').mask).toBe(0);
    expect(parseLabels('Z').mask).toBe(1 << 25);
    expect(parseLabels('AB').warnings.length).toBeGreaterThan(0);
    expect(parseLabels('A,A').warnings).toContain('LABELS: found duplicate label A');
  });
});
