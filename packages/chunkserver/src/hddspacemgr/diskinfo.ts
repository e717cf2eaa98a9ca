import type { HddSpaceMgr } from './index.js';

/** Bytes of one stats block in CSTOCL_HDD_LIST (hdd_stats_binary_pack). */
const STATS = 64;

/**
 * The CSTOCL_HDD_LIST payload (hdd_diskinfo_data): per disk `entrysize:16 plen:8 path flags:8
 * lasterrchunkid:64 lasterrtime:32 used:64 total:64 chunks:32` + three 64-byte stats blocks (last
 * minute, hour, day). flags: 1 marked for removal, 2 damaged, 4 scan in progress. While a disk is
 * scanned MooseFS puts the scan progress in `used` and 0 in `total`.
 */
export function diskInfo(hdd: HddSpaceMgr): Buffer {
  const parts: Buffer[] = [];
  for (const f of hdd.folders) {
    let p = Buffer.from(f.path);
    if (p.length > 255) p = Buffer.concat([Buffer.from('(...)'), p.subarray(p.length - 250)]);
    const e = Buffer.alloc(2 + 1 + p.length + 33 + 3 * STATS);
    let o = 0;
    e.writeUInt16BE(34 + 3 * STATS + p.length, o);
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
    o = f.stats.last(1).pack(e, o);
    o = f.stats.last(60).pack(e, o);
    f.stats.last(24 * 60).pack(e, o);
    parts.push(e);
  }
  return Buffer.concat(parts);
}
