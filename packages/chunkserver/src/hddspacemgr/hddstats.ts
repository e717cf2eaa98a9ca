/**
 * Per-disk I/O statistics as mfscli shows them (hddspacemgr.c `hddstats`): data bytes and operations
 * with their total and longest times, for reads, writes and fsyncs. The current minute accumulates;
 * every minute it joins a 24-hour ring, from which CSTOCL_HDD_LIST reports the last minute, hour and day.
 */
export class HddStats {
  rbytes = 0;
  wbytes = 0;
  rnsec = 0;
  wnsec = 0;
  fnsec = 0;
  rops = 0;
  wops = 0;
  fops = 0;
  rmax = 0;
  wmax = 0;
  fmax = 0;

  add(o: HddStats): void {
    this.rbytes += o.rbytes;
    this.wbytes += o.wbytes;
    this.rnsec += o.rnsec;
    this.wnsec += o.wnsec;
    this.fnsec += o.fnsec;
    this.rops += o.rops;
    this.wops += o.wops;
    this.fops += o.fops;
    this.rmax = Math.max(this.rmax, o.rmax);
    this.wmax = Math.max(this.wmax, o.wmax);
    this.fmax = Math.max(this.fmax, o.fmax);
  }

  /** hdd_stats_binary_pack: 64 bytes, times in microseconds. */
  pack(b: Buffer, o: number): number {
    b.writeBigUInt64BE(BigInt(this.rbytes), o);
    b.writeBigUInt64BE(BigInt(this.wbytes), o + 8);
    b.writeBigUInt64BE(BigInt(Math.floor(this.rnsec / 1000)), o + 16);
    b.writeBigUInt64BE(BigInt(Math.floor(this.wnsec / 1000)), o + 24);
    b.writeBigUInt64BE(BigInt(Math.floor(this.fnsec / 1000)), o + 32);
    b.writeUInt32BE(this.rops >>> 0, o + 40);
    b.writeUInt32BE(this.wops >>> 0, o + 44);
    b.writeUInt32BE(this.fops >>> 0, o + 48);
    b.writeUInt32BE(Math.min(0xffffffff, Math.floor(this.rmax / 1000)), o + 52);
    b.writeUInt32BE(Math.min(0xffffffff, Math.floor(this.wmax / 1000)), o + 56);
    b.writeUInt32BE(Math.min(0xffffffff, Math.floor(this.fmax / 1000)), o + 60);
    return o + 64;
  }
}

const HISTORY = 24 * 60;

export class DiskStats {
  cur = new HddStats();
  /** Every completed minute added up (with `cur`: everything since start, for the charts). */
  readonly done = new HddStats();
  private readonly ring: HddStats[] = Array.from({ length: HISTORY }, () => new HddStats());
  private pos = 0;

  read(bytes: number, nsec: number): void {
    const c = this.cur;
    c.rbytes += bytes;
    c.rops++;
    c.rnsec += nsec;
    if (nsec > c.rmax) c.rmax = nsec;
  }

  write(bytes: number, nsec: number): void {
    const c = this.cur;
    c.wbytes += bytes;
    c.wops++;
    c.wnsec += nsec;
    if (nsec > c.wmax) c.wmax = nsec;
  }

  fsync(nsec: number): void {
    const c = this.cur;
    c.fops++;
    c.fnsec += nsec;
    if (nsec > c.fmax) c.fmax = nsec;
  }

  /** hdd_diskinfo_movestats, once a minute. */
  rotate(): void {
    this.pos = (this.pos + HISTORY - 1) % HISTORY;
    this.ring[this.pos] = this.cur;
    this.done.add(this.cur);
    this.cur = new HddStats();
  }

  /** The sum of the last `minutes` completed minutes. */
  last(minutes: number): HddStats {
    const s = new HddStats();
    for (let i = 0; i < minutes; i++) s.add(this.ring[(this.pos + i) % HISTORY]!);
    return s;
  }
}

/** Nanoseconds since `t0` (a process.hrtime.bigint() value). */
export function since(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0);
}
