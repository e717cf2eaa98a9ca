import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { messageByName } from '../src/index.js';

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
    expect(m!.id).toBe(e.id);
    const r = m!.decode(packet.subarray(8));
    if (!r.ok) throw new Error(`${e.name} (${e.file}): ${r.error.message}; payload ${packet.subarray(8, 200).toString('hex')}`);
    expect(m!.encode(r.value).toString('hex')).toBe(packet.toString('hex'));
    for (const [k, want] of Object.entries(e.expect ?? {})) {
      expect(at(r.value, k), `${e.name} ${k}`).toBe(want);
    }
  });
});
