/**
 * Reusable fixed-size buffers (64 KiB blocks, read packets), so the data path allocates nothing per
 * block once warm. `take` hands out a buffer that is the caller's until `give`.
 */
export class BufferPool {
  private free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep = 64,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  give(b: Buffer): void {
    if (b.length === this.size && this.free.length < this.keep) this.free.push(b);
  }

  get idle(): number {
    return this.free.length;
  }
}
