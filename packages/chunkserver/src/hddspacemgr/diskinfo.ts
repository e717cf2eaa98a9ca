import type { HddSpaceMgr } from './index.js';
import type { Folder } from './folder.js';
import { HddStats } from './hddstats.js';

/** Bytes of one stats block in CSTOCL_HDD_LIST (hdd_stats_binary_pack). */
const STATS = 64;

/**
 * The CSTOCL_HDD_LIST payload (hdd_diskinfo_data): per disk `entrysize:16 plen:8 path flags:8
 * lasterrchunkid:64 lasterrtime:32 used:64 total:64 chunks:32` + three 64-byte stats blocks (last
 * minute, hour, day). flags: 1 marked for removal, 2 damaged, 4 scan in progress. While a disk is
 * scanned MooseFS puts the scan progress in `used` and 0 in `total`.
 */
export function diskInfo(hdd: HddSpaceMgr, blocks: (f: Folder) => HddStats[] = (f) => [f.stats.last(1), f.stats.last(60), f.stats.last(24 * 60)]): Buffer {
  const parts: Buffer[] = [];
  for (const f of hdd.folders) {
    let p = Buffer.from(f.path);
    if (p.length > 255) p = Buffer.concat([Buffer.from('(...)'), p.subarray(p.length - 250)]);
    const st = blocks(f);
    const e = Buffer.alloc(2 + 1 + p.length + 33 + st.length * STATS);
    let o = 0;
    e.writeUInt16BE(34 + st.length * STATS + p.length, o);
    o += 2;
    e[o++] = p.length;
    p.copy(e, o);
    o += p.length;
    e[o++] = (f.markedForRemoval ? 1 : 0) | (f.damaged ? 2 : 0) | (f.scanning ? 4 : 0);
    const le = f.lastErrors[f.lastErrors.length - 1];
    e.writeBigUInt64BE(BigInt(le?.chunkId ?? 0), o);
    e.writeUInt32BE(le?.time ?? 0, o + 8);
    o += 12;
    let n = 0;
    for (const c of f.chunks) if (c.state === 'avail') n++;
    e.writeBigUInt64BE(BigInt(f.scanning ? 0 : Math.max(0, f.total - f.avail)), o);
    e.writeBigUInt64BE(BigInt(f.scanning ? 0 : f.total), o + 8);
    e.writeUInt32BE(n, o + 16);
    o += 20;
    for (const b of st) o = b.pack(e, o);
    parts.push(e);
  }
  return Buffer.concat(parts);
}

/**
 * The disks' part of ANTOCL_MONOTONIC_DATA (hdd_diskinfo_monotonic_data): `n:16`, then per disk the
 * CSTOCL_HDD_LIST entry with one stats block, everything since start.
 */
export function diskMonotonic(hdd: HddSpaceMgr): Buffer {
  const n = Buffer.alloc(2);
  n.writeUInt16BE(hdd.folders.length);
  const body = diskInfo(hdd, (f) => {
    const t = new HddStats();
    t.add(f.stats.done);
    t.add(f.stats.cur);
    return [t];
  });
  return Buffer.concat([n, body]);
}
