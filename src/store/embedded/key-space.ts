/**
 * The embedded store's key space in memory, in two layers:
 * - committed: what is durable on disk; every read (get, range) answers from it;
 * - staged: writes given a revision but not yet committed (at most one event-loop tick's worth);
 *   writes and txn compares see committed + staged, so revisions apply in the order assigned.
 * A group commit writes the staged layer to disk and then promotes it into the committed one.
 */
import type { KeyValue } from '../types.js';
import { SortedKeys } from './sorted-keys.js';

export class KeySpace {
  private readonly committed: Map<string, KeyValue>;
  private readonly sorted: SortedKeys;
  /** Latest staged state per key; null means deleted. */
  readonly staged = new Map<string, KeyValue | null>();

  constructor(kvs: readonly KeyValue[] = []) {
    this.committed = new Map(kvs.map((kv) => [kv.key, Object.freeze(kv)]));
    this.sorted = SortedKeys.fromSorted([...this.committed.keys()].sort());
  }

  /** Committed keys. */
  get size(): number {
    return this.committed.size;
  }

  /** The committed value of `key`. */
  get(key: string): KeyValue | undefined {
    return this.committed.get(key);
  }

  /** Committed keys starting with `prefix`, sorted by key. */
  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    this.sorted.forEachWithPrefix(prefix, (key) => out.push(this.committed.get(key)!));
    return out;
  }

  /** The value of `key` as the next write sees it (staged, else committed). */
  current(key: string): KeyValue | undefined {
    const s = this.staged.get(key);
    if (s === undefined) return this.committed.get(key);
    return s === null ? undefined : s;
  }

  /** Keys starting with `prefix` as the next write sees them, sorted. */
  currentKeysWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    this.sorted.forEachWithPrefix(prefix, (key) => {
      if (this.staged.get(key) !== null) out.push(key);
    });
    let added = false;
    for (const [key, kv] of this.staged) {
      if (kv !== null && !this.committed.has(key) && key.startsWith(prefix)) {
        out.push(key);
        added = true;
      }
    }
    if (added) out.sort();
    return out;
  }

  /** Stages the new state of `key` (null: deleted). */
  stage(key: string, kv: KeyValue | null): void {
    this.staged.set(key, kv);
  }

  /** Makes every staged change committed (call after it is on disk). */
  promote(): void {
    for (const [key, kv] of this.staged) {
      if (kv === null) {
        if (this.committed.delete(key)) this.sorted.remove(key);
      } else {
        if (!this.committed.has(key)) this.sorted.insert(key);
        this.committed.set(key, kv);
      }
    }
    this.staged.clear();
  }
}
