// The inode -> node table (nodehash in mfsmaster/filesystem.c). Inode numbers are handed out densely
// from 1 (fsnodes_get_next_id), so the table is an array of 4096-slot pages indexed by inode: 8 bytes
// a node and no rehashing, instead of a Map entry (about 40) and a table that doubles as it grows.
// It has the Map methods the master uses; iteration is in inode order and, like a Map's, sees the
// table as it is when each step is taken (a node removed before it is reached is not visited).

const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const MASK = PAGE - 1;

export class NodeTable<N extends { readonly inode: number }> {
  private pages: Array<Array<N | undefined> | undefined> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(inode: number): N | undefined {
    return this.pages[inode >>> PAGE_BITS]?.[inode & MASK];
  }

  has(inode: number): boolean {
    return this.get(inode) !== undefined;
  }

  set(inode: number, node: N): this {
    if (!Number.isInteger(inode) || inode < 0 || inode > 0xffffffff) throw new RangeError(`inode ${inode} out of range`);
    const pi = inode >>> PAGE_BITS;
    while (this.pages.length <= pi) this.pages.push(undefined);
    let page = this.pages[pi];
    if (page === undefined) this.pages[pi] = page = new Array<N | undefined>(PAGE).fill(undefined);
    if (page[inode & MASK] === undefined) this.count++;
    page[inode & MASK] = node;
    return this;
  }

  delete(inode: number): boolean {
    const page = this.pages[inode >>> PAGE_BITS];
    if (page === undefined || page[inode & MASK] === undefined) return false;
    page[inode & MASK] = undefined;
    this.count--;
    return true;
  }

  clear(): void {
    this.pages = [];
    this.count = 0;
  }

  *values(): IterableIterator<N> {
    for (let pi = 0; pi < this.pages.length; pi++) {
      const page = this.pages[pi];
      if (page === undefined) continue;
      for (let i = 0; i < PAGE; i++) {
        const n = page[i];
        if (n !== undefined) yield n;
      }
    }
  }

  *keys(): IterableIterator<number> {
    for (const n of this.values()) yield n.inode;
  }

  *entries(): IterableIterator<[number, N]> {
    for (const n of this.values()) yield [n.inode, n];
  }

  [Symbol.iterator](): IterableIterator<[number, N]> {
    return this.entries();
  }
}
