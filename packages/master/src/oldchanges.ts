// The changes kept for metaloggers that reconnect and ask from a version (MATOAN_LOG_PRESERVE_SECONDS;
// the old_changes blocks of mfsmaster/changelog.c): records packed into 64 KiB blocks, each record
// its text and the NUL the wire form carries, consecutive versions from the block's first. A block
// goes once its newest record is older than the preserve time, so expiry is per block, as in C.

const BLOCK_BYTES = 64 * 1024;
const BLOCK_RECORDS = 4096;

interface Block {
  first: bigint;
  count: number;
  /** Time (ms) of the block's newest record. */
  last: number;
  buf: Buffer;
  used: number;
  /** ends[i]: end offset of record i (its start is ends[i - 1], or 0). */
  ends: Uint32Array;
}

export class OldChanges {
  private blocks: Block[] = [];
  private head = 0;

  constructor(private readonly preserveMs: () => number) {}

  /**
   * Stores one record (versions come in order without gaps; a gap starts a new block) and returns
   * the wire bytes (text + NUL), valid until the next add.
   */
  add(version: bigint, text: string, now: number): Buffer {
    this.expire(now);
    const need = text.length + 1;
    let b = this.blocks.length > this.head ? this.blocks[this.blocks.length - 1]! : undefined;
    if (b === undefined || b.count === BLOCK_RECORDS || b.used + need > b.buf.length || b.first + BigInt(b.count) !== version) {
      b = { first: version, count: 0, last: now, buf: Buffer.allocUnsafeSlow(Math.max(BLOCK_BYTES, need)), used: 0, ends: new Uint32Array(BLOCK_RECORDS) };
      this.blocks.push(b);
    }
    const start = b.used;
    b.used += b.buf.write(text, start, 'latin1');
    b.buf[b.used++] = 0;
    b.ends[b.count++] = b.used;
    b.last = now;
    return b.buf.subarray(start, b.used);
  }

  /** The oldest version kept, if any. */
  get minVersion(): bigint | undefined {
    return this.blocks.length > this.head ? this.blocks[this.head]!.first : undefined;
  }

  /** Every kept record from `from` on, oldest first. */
  *since(from: bigint): Generator<{ version: bigint; data: Buffer }> {
    for (let i = this.head; i < this.blocks.length; i++) {
      const b = this.blocks[i]!;
      const lastVersion = b.first + BigInt(b.count - 1);
      if (lastVersion < from) continue;
      const k0 = from > b.first ? Number(from - b.first) : 0;
      for (let k = k0; k < b.count; k++) yield { version: b.first + BigInt(k), data: b.buf.subarray(k === 0 ? 0 : b.ends[k - 1]!, b.ends[k]!) };
    }
  }

  private expire(now: number): void {
    const keepFrom = now - this.preserveMs();
    while (this.head < this.blocks.length && this.blocks[this.head]!.last < keepFrom) this.blocks[this.head++] = undefined as unknown as Block;
    if (this.head > 64 && this.head * 2 > this.blocks.length) {
      this.blocks = this.blocks.slice(this.head);
      this.head = 0;
    }
  }
}
