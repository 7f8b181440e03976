/**
 * The embedded store's key space in memory: keys and their metadata only — values live in
 * SQLite and are read on demand (sqlite-file.ts). Two layers:
 * - committed: what is durable on disk (metadata here, values in the database);
 * - staged: writes given a revision but not yet committed (at most one event-loop tick's worth),
 *   held whole, value included; writes and txn compares see committed + staged, so revisions
 *   apply in the order assigned.
 * A group commit writes the staged layer to disk and then promotes it into the committed one,
 * keeping only the metadata of each staged entry.
 */
import type { KeyValue, LeaseId } from '../types.js';
import { SortedKeys } from './sorted-keys.js';

/** What the key space keeps of a committed key: everything but its value. */
export interface KeyMeta {
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: LeaseId;
}

/** A key's current state as a write sees it: a staged entry (value included) or committed metadata. */
export type CurrentEntry = KeyMeta & { readonly value?: string };

export class KeySpace {
  private readonly committed = new Map<string, KeyMeta>();
  private sorted = new SortedKeys();
  /** Latest staged state per key; null means deleted. */
  readonly staged = new Map<string, KeyValue | null>();

  /** Adds a committed key while loading (call {@link finishLoad} after the last one). */
  load(key: string, meta: KeyMeta): void {
    this.committed.set(key, meta);
  }

  /** Builds the ordered key index once every key is loaded. */
  finishLoad(): void {
    this.sorted = SortedKeys.fromSorted([...this.committed.keys()].sort());
  }

  /** Committed keys. */
  get size(): number {
    return this.committed.size;
  }

  /** How many committed keys start with `prefix`. */
  countWithPrefix(prefix: string): number {
    if (prefix === '') return this.committed.size;
    let n = 0;
    this.sorted.forEachWithPrefix(prefix, () => n++);
    return n;
  }

  /** The committed metadata of `key`. */
  get(key: string): KeyMeta | undefined {
    return this.committed.get(key);
  }

  /** The state of `key` as the next write sees it (staged, else committed). */
  current(key: string): CurrentEntry | undefined {
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

  /** Drops every staged change (its commit failed): the key space is the committed state again. */
  discard(): void {
    this.staged.clear();
  }

  /** Makes every staged change committed (call after it is on disk); values are not kept. */
  promote(): void {
    for (const [key, kv] of this.staged) {
      if (kv === null) {
        if (this.committed.delete(key)) this.sorted.remove(key);
      } else {
        if (!this.committed.has(key)) this.sorted.insert(key);
        this.committed.set(key, { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease });
      }
    }
    this.staged.clear();
  }
}
