import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { HDD_ENTRY, messageById, messageByName, PATHS_LIST, Reader, VERSHEX, type Link } from '../src/index.js';

// Real MooseFS 3.0.117 packets captured in the lab (scripts/capture-fixtures.ts, protocol-fixtures/README.md):
// the authority for every layout. Each must decode with its definition and re-encode to the same bytes.

interface Entry {
  file: string;
  link: string;
  name: string;
  id: number;
  expect?: Record<string, number | string>;
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../protocol-fixtures');
const MANIFEST = join(DIR, 'manifest.json');
const entries: Entry[] = existsSync(MANIFEST) ? (JSON.parse(readFileSync(MANIFEST, 'utf8')) as Entry[]) : [];

function at(v: unknown, path: string): unknown {
  let cur: any = v;
  for (const k of path.split('.')) cur = cur?.[k];
  if (Buffer.isBuffer(cur)) return cur.toString('utf8').replace(/\0$/, '');
  if (typeof cur === 'bigint') return Number(cur);
  return cur;
}

const str = (b: Buffer) => b.toString('utf8');
const decodesExactly = (f: { read(r: Reader): unknown }, b: Buffer) => {
  const r = new Reader(b);
  const v = f.read(r);
  expect(r.remaining).toBe(0);
  return v as any;
};
const dataPiece = (v: any) => {
  expect(v.size).toBe(v.data.length);
  expect(crc32(v.data)).toBe(v.crc);
  expect(v.blocknum).toBeLessThan(1024);
  expect(v.offset + v.size).toBeLessThanOrEqual(65536);
};

/**
 * Beyond the byte round trip: values the daemons must have meant (their version word, CRCs that match,
 * lengths that agree), so a field read at a wrong offset shows up even where the bytes round-trip.
 */
const CHECKS: Record<string, (v: any) => void> = {
  MATOCL_INFO: (v) => expect(v.version).toBe(VERSHEX),
  MATOCL_CSERV_LIST: (v) => {
    for (const s of v.servers) {
      expect(s.flagsVersion & 0xffffff).toBe(VERSHEX);
      expect(s.totalspace >= s.usedspace).toBe(true);
      expect(s.port).toBeGreaterThan(0);
    }
  },
  MATOCL_SESSION_LIST: (v) => {
    expect(v.$v).toBe('v4');
    for (const s of v.sessions) {
      expect(s.version).toBe(VERSHEX);
      expect(['/', '.']).toContain(str(s.path)[0]);
    }
  },
  MATOCL_EXPORTS_INFO: (v) => {
    expect(v.$v).toBe('v3');
    for (const e of v.exports) {
      expect(['/', '.']).toContain(str(e.path)[0]);
      expect(e.toip >= e.fromip).toBe(true);
    }
  },
  MATOCL_MLOG_LIST: (v) => v.loggers.forEach((l: any) => expect(l.version).toBe(VERSHEX)),
  MATOCL_FUSE_REGISTER: (v) => {
    if (v.$v === 'session' || v.$v === 'metasession') expect(v.version).toBe(VERSHEX);
  },
  CSTOMA_REGISTER: (v) => {
    if (v.$v === 'begin' || v.$v === 'beginAuth') expect(v.version).toBe(VERSHEX);
  },
  MATOCS_MASTER_ACK: (v) => {
    if ('version' in v) expect(v.version).toBe(VERSHEX);
  },
  ANTOMA_REGISTER: (v) => expect(v.version).toBe(VERSHEX),
  ANTOAN_VERSION: (v) => {
    expect(v.version).toBe(VERSHEX);
    expect(str(v.vstring)).toBe('3.0.117-1');
  },
  CSTOMA_SPACE: (v) => expect(v.totalspace >= v.usedspace).toBe(true),
  MATOCL_FUSE_READDIR: (v) => {
    expect(str(v.entries[0].name)).toBe('.');
    expect(str(v.entries[1].name)).toBe('..');
  },
  MATOCL_FUSE_LOOKUP: (v) => {
    if (v.$v === 'chunk') expect(v.lflags & 0x100).toBe(0x100);
  },
  MATOCL_FUSE_READ_CHUNK: (v) => v.servers?.forEach((s: any) => expect(s.csver).toBe(VERSHEX)),
  MATOCL_FUSE_WRITE_CHUNK: (v) => v.servers?.forEach((s: any) => expect(s.csver).toBe(VERSHEX)),
  MATOCL_FUSE_CHECK: (v) => v.copies?.forEach((c: any) => expect(c.port).toBeGreaterThan(0)),
  MATOCL_FUSE_GETSCLASS: (v) => v.nodes.flat().forEach((n: any) => expect(n.tag === 255 || (n.tag >= 1 && n.tag <= 9)).toBe(true)),
  CLTOCS_WRITE_DATA: dataPiece,
  CSTOCL_READ_DATA: dataPiece,
  MATOAN_DOWNLOAD_DATA: (v) => {
    expect(v.leng).toBe(v.data.length);
    expect(crc32(v.data)).toBe(v.crc);
  },
  MATOAN_METACHANGES_LOG: (v) => {
    if (v.$v === 'change') expect(str(v.data)).toMatch(/^\d+\|[A-Z]+\(.*\0$/s);
  },
  CSTOCL_HDD_LIST: (v) => {
    for (const d of v.disks) {
      const e = decodesExactly(HDD_ENTRY, d);
      expect(e.total >= e.used).toBe(true);
      expect(e.path.length).toBeGreaterThan(0);
    }
  },
  MATOCL_MASS_RESOLVE_PATHS: (v) => {
    for (const e of v.entries) for (const p of decodesExactly(PATHS_LIST, e.paths)) expect(p.length).toBeGreaterThan(0);
  },
  MATOCL_QUOTA_INFO: (v) => v.quotas.forEach((q: any) => expect(str(q.path)[0]).toBe('/')),
  MATOCL_SCLASS_INFO: (v) => v.classes.forEach((c: any) => expect(c.id).toBeGreaterThan(0)),
  MATOCL_MEMORY_INFO: (v) => v.usage.forEach((u: any) => expect(u.used <= u.allocated).toBe(true)),
};

/** Every ATTR inside a decoded value must have a real node type. */
function checkAttrs(v: unknown): number {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return 0;
  if ('nlink' in v && 'winattr' in v && 'type' in v) {
    expect((v as any).type).toBeGreaterThanOrEqual(1);
    expect((v as any).type).toBeLessThanOrEqual(7);
    return 1;
  }
  let n = 0;
  for (const x of Object.values(v)) n += checkAttrs(x);
  return n;
}

describe('protocol fixtures', () => {
  it('manifest exists and covers at least 60 distinct messages', () => {
    expect(existsSync(MANIFEST), `${MANIFEST} is missing`).toBe(true);
    expect(new Set(entries.map((e) => e.name)).size).toBeGreaterThanOrEqual(60);
  });

  it.each(entries.map((e) => [`${e.link} ${e.file}`, e] as const))('%s', (_label, e) => {
    const packet = readFileSync(join(DIR, e.file));
    expect(packet.length).toBeGreaterThanOrEqual(8);
    expect(packet.readUInt32BE(0)).toBe(e.id);
    expect(packet.readUInt32BE(4)).toBe(packet.length - 8);
    const m = messageByName(e.name);
    expect(m, `no definition for ${e.name}`).toBeDefined();
    expect(messageById(e.id, e.link as Link)?.name, `messageById(${e.id}, ${e.link})`).toBe(e.name);
    expect(m!.id).toBe(e.id);
    const r = m!.decode(packet.subarray(8));
    if (!r.ok) throw new Error(`${e.name} (${e.file}): ${r.error.message}; payload ${packet.subarray(8, 200).toString('hex')}`);
    expect(m!.encode(r.value).toString('hex')).toBe(packet.toString('hex'));
    for (const [k, want] of Object.entries(e.expect ?? {})) {
      expect(at(r.value, k), `${e.name} ${k}`).toBe(want);
    }
    CHECKS[e.name]?.(r.value);
    checkAttrs(r.value);
  });
});
