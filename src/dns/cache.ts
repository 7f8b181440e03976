/**
 * The answer cache: (lower-cased question name, type, class) -> pre-encoded answer.
 *
 * An entry lives until a catalog change touches one of its topics (`svc:<name>`, `node:<name>`,
 * `table:*`), until the catalog's revision moves without a change notification (a re-list after
 * compaction: everything is dropped), or until it is the oldest entry when the cache is full.
 * Answers are never served stale: the change listener runs synchronously when the catalog
 * applies a batch, before any later query is read.
 */
import type { Topic } from '../catalog/index.js';
import type { CachedAnswer } from './assemble.js';

export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
  invalidations: number;
  evictions: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private readonly byTopic = new Map<Topic, Set<string>>();
  private revision: number;
  hits = 0;
  misses = 0;
  invalidations = 0;
  evictions = 0;

  /** @param maxEntries floor 16. @param revision the catalog revision the cache starts at. */
  constructor(
    private readonly maxEntries: number,
    revision: number,
  ) {
    this.maxEntries = Math.max(16, maxEntries);
    this.revision = revision;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The entry for `key`, if fresh. `catalogRevision` is the catalog's current revision: a value
   * other than the last one a change notification announced means the view was reloaded
   * without notifications, and every entry is dropped.
   */
  get(key: string, catalogRevision: number): CachedAnswer | undefined {
    if (catalogRevision !== this.revision) {
      this.clear();
      this.revision = catalogRevision;
    }
    const e = this.entries.get(key);
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  set(key: string, entry: CachedAnswer): void {
    if (this.entries.has(key)) this.remove(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
      this.evictions++;
    }
    this.entries.set(key, entry);
    for (const t of entry.topics) {
      let s = this.byTopic.get(t);
      if (!s) this.byTopic.set(t, (s = new Set()));
      s.add(key);
    }
  }

  /** Drops the entries of every topic in `topics`; `revision` is the revision of the change. */
  invalidate(topics: ReadonlySet<Topic>, revision: number): void {
    this.revision = revision;
    for (const t of topics) {
      const keys = this.byTopic.get(t);
      if (!keys) continue;
      for (const k of [...keys]) {
        if (this.remove(k)) this.invalidations++;
      }
      this.byTopic.delete(t);
    }
  }

  clear(): void {
    this.invalidations += this.entries.size;
    this.entries.clear();
    this.byTopic.clear();
  }

  private remove(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    for (const t of e.topics) {
      const s = this.byTopic.get(t);
      if (s) {
        s.delete(key);
        if (s.size === 0) this.byTopic.delete(t);
      }
    }
    return true;
  }

  stats(): CacheStats {
    return { entries: this.entries.size, hits: this.hits, misses: this.misses, invalidations: this.invalidations, evictions: this.evictions };
  }
}
