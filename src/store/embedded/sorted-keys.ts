/**
 * An ordered set of keys for prefix ranges: sorted blocks of at most {@link MAX_BLOCK} keys.
 * Insert and remove cost a binary search plus a splice inside one small block, so keeping
 * 100,000+ keys ordered under a steady stream of new keys stays cheap (a single sorted array
 * would move the whole array on every insert).
 *
 * Keys compare as JavaScript strings (UTF-16 code units). That equals etcd's byte order for
 * every key without characters above U+E000, and in every case keys sharing a prefix are
 * contiguous, which is all a prefix range needs.
 */
const MAX_BLOCK = 1024;
const HALF_BLOCK = MAX_BLOCK / 2;

export class SortedKeys {
  private blocks: string[][] = [];
  private count = 0;

  /** Builds from keys already sorted and unique. */
  static fromSorted(keys: readonly string[]): SortedKeys {
    const s = new SortedKeys();
    for (let i = 0; i < keys.length; i += HALF_BLOCK) s.blocks.push(keys.slice(i, i + HALF_BLOCK));
    s.count = keys.length;
    return s;
  }

  get size(): number {
    return this.count;
  }

  /** Adds `key` if absent. */
  insert(key: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      this.count = 1;
      return;
    }
    const bi = this.blockFor(key);
    const block = this.blocks[bi];
    const pos = lowerBound(block, key);
    if (block[pos] === key) return;
    block.splice(pos, 0, key);
    this.count++;
    if (block.length > MAX_BLOCK) this.blocks.splice(bi + 1, 0, block.splice(HALF_BLOCK));
  }

  /** Removes `key` if present. */
  remove(key: string): void {
    if (this.blocks.length === 0) return;
    const bi = this.blockFor(key);
    const block = this.blocks[bi];
    const pos = lowerBound(block, key);
    if (block[pos] !== key) return;
    block.splice(pos, 1);
    this.count--;
    if (block.length === 0) this.blocks.splice(bi, 1);
  }

  /** Calls `fn` for every key starting with `prefix`, in order. */
  forEachWithPrefix(prefix: string, fn: (key: string) => void): void {
    if (this.blocks.length === 0) return;
    let bi = prefix === '' ? 0 : this.blockFor(prefix);
    let pos = prefix === '' ? 0 : lowerBound(this.blocks[bi], prefix);
    for (; bi < this.blocks.length; bi++, pos = 0) {
      const block = this.blocks[bi];
      for (; pos < block.length; pos++) {
        const key = block[pos];
        if (!key.startsWith(prefix)) return;
        fn(key);
      }
    }
  }

  /** Index of the first block whose last key is >= key (or the last block). */
  private blockFor(key: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid];
      if (block[block.length - 1] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
