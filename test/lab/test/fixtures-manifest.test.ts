// protocol-fixtures/ as scripts/capture-fixtures.ts leaves it: every manifest entry names a whole
// packet whose header agrees with it, names and ids agree with the id table, nothing is orphaned,
// and the set stays small and broad. (Decoding them is the protocol package's test.)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@mfs-ts/lab';
import { MESSAGE_IDS } from '../../../packages/protocol/src/ids.js';

const DIR = join(REPO_ROOT, 'protocol-fixtures');
const LINKS = new Set(['CLTOMA', 'MATOCL', 'CSTOMA', 'MATOCS', 'ANTOMA', 'MATOAN', 'CLTOCS', 'CSTOCL', 'CSTOCS']);

interface Entry {
  file: string;
  link: string;
  name: string;
  id: number;
  probe?: true;
  expect?: Record<string, number | string>;
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Entry[];

describe('protocol-fixtures manifest', () => {
  it('describes each file correctly', () => {
    const ids = new Map(MESSAGE_IDS.map((e) => [e.name, e.id]));
    for (const e of manifest) {
      const pkt = readFileSync(join(DIR, e.file));
      expect(pkt.length, e.file).toBeGreaterThanOrEqual(8);
      expect(pkt.readUInt32BE(0), e.file).toBe(e.id);
      expect(pkt.readUInt32BE(4) + 8, e.file).toBe(pkt.length);
      expect(ids.get(e.name), e.file).toBe(e.id);
      expect(LINKS.has(e.link), e.file).toBe(true);
      expect(e.file.startsWith(`${e.link}/${e.name}`), e.file).toBe(true);
      expect(pkt.length - 8, e.file).toBeLessThanOrEqual(65536 + 64);
      for (const v of Object.values(e.expect ?? {})) expect(['number', 'string']).toContain(typeof v);
    }
  });

  it('has no file the manifest does not list, and no duplicates', () => {
    const listed = manifest.map((e) => e.file);
    expect(new Set(listed).size).toBe(listed.length);
    const onDisk = readdirSync(DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(DIR, d.name)).map((f) => `${d.name}/${f}`));
    expect(onDisk.sort()).toEqual([...listed].sort());
  });

  it('is broad and small', () => {
    const names = new Set(manifest.map((e) => e.name));
    expect(names.size).toBeGreaterThanOrEqual(90);
    const bytes = manifest.reduce((n, e) => n + statSync(join(DIR, e.file)).size, 0);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    // The core of a session on every link.
    for (const n of ['CLTOMA_FUSE_REGISTER', 'MATOCL_FUSE_REGISTER', 'CLTOMA_FUSE_LOOKUP', 'MATOCL_FUSE_WRITE_CHUNK', 'CLTOCS_WRITE_DATA', 'CSTOCL_READ_DATA', 'CSTOMA_REGISTER', 'MATOCS_MASTER_ACK', 'ANTOMA_REGISTER', 'MATOAN_METACHANGES_LOG', 'ANTOCS_GET_CHUNK_BLOCKS']) {
      expect(names.has(n), n).toBe(true);
    }
  });
});
